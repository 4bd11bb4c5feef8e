// One 'abort' listener per AbortSignal, however many commands wait on it (abort-signals.ts): a signal shared
// by many concurrent pass.scsi calls used to carry one listener each, and Node warned past ten.

import { getEventListeners } from 'node:events';
import { afterEach, describe, expect, test } from 'vitest';
import { whenAborted } from '../../../src/cam/periph/abort-signals.js';
import { createStack, type Stack } from '../../../src/stack.js';
import { MemoryBackend } from '../../../src/virtio/device/backends/memory.js';

describe('whenAborted', () => {
  test('one listener for many waiters; an abort reaches every one still waiting, once', () => {
    const c = new AbortController();
    const hits: number[] = [];
    const done = [0, 1, 2].map((i) => whenAborted(c.signal, () => hits.push(i)));
    expect(getEventListeners(c.signal, 'abort')).toHaveLength(1);
    done[1]?.();
    c.abort();
    c.abort();
    expect(hits).toEqual([0, 2]);
    expect(getEventListeners(c.signal, 'abort')).toHaveLength(0);
  });

  test('the listener goes with the last waiter; a later waiter adds it again', () => {
    const c = new AbortController();
    const a = whenAborted(c.signal, () => undefined);
    const b = whenAborted(c.signal, () => undefined);
    a();
    expect(getEventListeners(c.signal, 'abort')).toHaveLength(1);
    b();
    b();
    expect(getEventListeners(c.signal, 'abort')).toHaveLength(0);
    let hit = false;
    whenAborted(c.signal, () => (hit = true));
    c.abort();
    expect(hit).toBe(true);
  });
});

describe('pass.scsi with one signal for many commands', () => {
  let stack: Stack | undefined;
  afterEach(async () => {
    await stack?.close();
    stack = undefined;
  });

  test('32 concurrent commands: no MaxListenersExceededWarning, and no listener left once they are done', async () => {
    stack = await createStack({ backend: new MemoryBackend({ blocks: 1024 }), queueSize: 16 });
    const warnings: Error[] = [];
    const onWarning = (w: Error): void => {
      warnings.push(w);
    };
    process.on('warning', onWarning);
    try {
      const c = new AbortController();
      const pass = stack.pass(0);
      const all = Array.from({ length: 32 }, (_, i) =>
        pass.scsi({ cdb: Uint8Array.of(0x28, 0, 0, 0, 0, i, 0, 0, 1, 0), direction: 'in', length: 512, signal: c.signal }),
      );
      expect(getEventListeners(c.signal, 'abort').length).toBeLessThanOrEqual(1);
      for (const r of await Promise.all(all)) expect(r.camStatus & 0x3f).toBe(0x01);
      expect(getEventListeners(c.signal, 'abort')).toHaveLength(0);
      await new Promise((resolve) => setImmediate(resolve));
      expect(warnings.filter((w) => w.name === 'MaxListenersExceededWarning')).toEqual([]);
    } finally {
      process.off('warning', onWarning);
    }
  });
});
