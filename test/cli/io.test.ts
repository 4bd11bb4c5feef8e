// The CLI's stdout when its reader goes away (`vtcam modepage -m 0x3f | head -1`): Node reports the closed
// pipe as an EPIPE 'error' event on the stream, which unhandled ends the process with a stack trace.

import { Writable } from 'node:stream';
import { describe, expect, test } from 'vitest';
import { tolerateClosedPipe, writeLine } from '../../src/cli/io.js';

/** A stdout whose reader has gone: every write fails EPIPE, as a pipe's does once `head` exits. */
function closedPipe(): { stream: Writable; writes: number } {
  const state = { stream: undefined as unknown as Writable, writes: 0 };
  state.stream = new Writable({
    write(_chunk, _enc, cb) {
      state.writes++;
      cb(Object.assign(new Error('write EPIPE'), { code: 'EPIPE' }));
    },
  });
  return state;
}

const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('stdout whose reader has gone', () => {
  test('tolerateClosedPipe: the first write fails quietly (unhandled, its EPIPE would end the process), the stream is destroyed, later lines are dropped unwritten', async () => {
    const p = closedPipe();
    tolerateClosedPipe(p.stream);
    writeLine(p.stream, 'first');
    await settle();
    expect(p.stream.destroyed).toBe(true);
    writeLine(p.stream, 'second');
    writeLine(p.stream, 'third');
    await settle();
    expect(p.writes).toBe(1);
  });

  test('any other error is still thrown', () => {
    const p = closedPipe();
    tolerateClosedPipe(p.stream);
    expect(() => p.stream.emit('error', Object.assign(new Error('disk on fire'), { code: 'EIO' }))).toThrow('disk on fire');
  });
});
