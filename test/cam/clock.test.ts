// coarseClock: one read of the underlying clock per run of synchronous code.

import { describe, expect, test } from 'vitest';
import { coarseClock } from '../../src/cam/clock.js';

describe('coarseClock', () => {
  test('reads the clock once per run of synchronous code, afresh after a microtask boundary', async () => {
    let t = 100;
    let reads = 0;
    const now = coarseClock(() => {
      reads++;
      return t;
    });
    expect(now()).toBe(100);
    t = 200;
    expect([now(), reads]).toEqual([100, 1]);
    await Promise.resolve();
    expect([now(), reads]).toEqual([200, 2]);
    t = 300;
    await new Promise((resolve) => setImmediate(resolve));
    expect([now(), now(), reads]).toEqual([300, 300, 3]);
  });

  test('never reads the clock until asked', async () => {
    let reads = 0;
    const now = coarseClock(() => ++reads);
    await new Promise((resolve) => setImmediate(resolve));
    expect(reads).toBe(0);
    expect(now()).toBe(1);
  });
});
