// SerialQueue: sections one at a time, in arrival order, whatever the one
// before ended with; one queued while the queue is idle starts in the caller's turn.

import { describe, expect, test } from 'vitest';
import { SerialQueue } from '../../../src/scsi/sbc/serial-queue.js';
import { gate } from './hooked-block-set.js';

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
    const g = gate();
    const first = q.run(async () => {
      seen.push('first begins');
      await g.opened;
      seen.push('first ends');
      throw new RangeError('first failed');
    });
    const second = q.run(() => {
      seen.push('second');
      return Promise.resolve(2);
    });
    await Promise.resolve();
    expect(seen).toEqual(['first begins']);
    g.open();
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

  test('dropAborted: a section whose command was aborted while it waited answers at once and never runs; the one ahead keeps running, the one behind still waits for it', async () => {
    const q = new SerialQueue();
    const seen: string[] = [];
    const g = gate();
    const first = q.run(async () => {
      seen.push('first begins');
      await g.opened;
      seen.push('first ends');
      return 'first';
    });
    const flags = { second: false, third: false };
    const second = q.run(() => {
      seen.push('second');
      return Promise.resolve('second ran');
    }, { aborted: () => flags.second, answer: 'second aborted' });
    const third = q.run(() => {
      seen.push('third');
      return Promise.resolve('third ran');
    }, { aborted: () => flags.third, answer: 'third aborted' });
    let secondAnswer: string | undefined;
    void second.then((a) => (secondAnswer = a));
    q.dropAborted();
    flags.second = true;
    await new Promise((resolve) => setImmediate(resolve));
    expect(secondAnswer).toBeUndefined();
    q.dropAborted();
    await new Promise((resolve) => setImmediate(resolve));
    expect([secondAnswer, seen]).toEqual(['second aborted', ['first begins']]);
    g.open();
    expect(await first).toBe('first');
    expect(await third).toBe('third ran');
    expect(seen).toEqual(['first begins', 'first ends', 'third']);
  });

  test('dropAborted leaves alone a section that runs at once or has no abort check', async () => {
    const q = new SerialQueue();
    const g = gate();
    const running = q.run(() => g.opened.then(() => 'ran'), { aborted: () => true, answer: 'aborted' });
    const plain = q.run(() => Promise.resolve('plain ran'));
    q.dropAborted();
    g.open();
    expect([await running, await plain]).toEqual(['ran', 'plain ran']);
  });
});
