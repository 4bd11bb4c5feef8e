// SerialQueue: sections one at a time, in arrival order, whatever the one
// before ended with; one queued while the queue is idle starts in the caller's turn.

import { describe, expect, test } from 'vitest';
import { SerialQueue } from '../../../src/scsi/sbc/serial-queue.js';

describe('SerialQueue', () => {
  test('an idle queue runs the section at once, before run() returns', () => {
    const q = new SerialQueue();
    const seen: string[] = [];
    void q.run(() => {
      seen.push('ran');
      return Promise.resolve();
    });
    seen.push('returned');
    expect(seen).toEqual(['ran', 'returned']);
  });

  test('a section waits for the one before to end, even when that one rejects', async () => {
    const q = new SerialQueue();
    const seen: string[] = [];
    let open = (): void => undefined;
    const gate = new Promise<void>((resolve) => {
      open = resolve;
    });
    const first = q.run(async () => {
      seen.push('first begins');
      await gate;
      seen.push('first ends');
      throw new RangeError('first failed');
    });
    const second = q.run(() => {
      seen.push('second');
      return Promise.resolve(2);
    });
    await Promise.resolve();
    expect(seen).toEqual(['first begins']);
    open();
    await expect(first).rejects.toThrow('first failed');
    expect(await second).toBe(2);
    expect(seen).toEqual(['first begins', 'first ends', 'second']);
  });

  test('once the queue has drained, the next section runs at once again', async () => {
    const q = new SerialQueue();
    await q.run(() => Promise.resolve());
    await new Promise((resolve) => setImmediate(resolve)); // past the queue's own bookkeeping
    let ran = false;
    void q.run(() => {
      ran = true;
      return Promise.resolve();
    });
    expect(ran).toBe(true);
  });
});
