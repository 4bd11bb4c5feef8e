// ProgressWatchdog (progress-watchdog.ts): a session owing Data-Out and
// sending none is dropped between one and one and a half timeouts after the
// last it sent; data that keeps coming, however slowly, keeps it; nothing is
// checked while nothing is owed. Fake timers: the checks run at timeout / 2.

import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ProgressWatchdog } from '../../src/iscsi/progress-watchdog.js';

const TIMEOUT = 1000;

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

function watched(initiallyOwed = true): { dog: ProgressWatchdog; expired: number[]; owed: { value: boolean } } {
  const expired: number[] = [];
  const owed = { value: initiallyOwed };
  const dog = new ProgressWatchdog(TIMEOUT, {
    owed: () => owed.value,
    expired: () => expired.push(Date.now()),
  });
  return { dog, expired, owed };
}

describe('ProgressWatchdog', () => {
  it('fires once, a whole timeout after Data-Out began to be owed, when none came', () => {
    const { dog, expired } = watched();
    const start = Date.now();
    dog.owing();
    vi.advanceTimersByTime(TIMEOUT - 1);
    expect(expired).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(expired).toEqual([start + TIMEOUT]);
    vi.advanceTimersByTime(10 * TIMEOUT);
    expect(expired).toHaveLength(1);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('keeps a session whose Data-Out keeps coming, each PDU less than a timeout after the one before', () => {
    const { dog, expired } = watched();
    dog.owing();
    for (let i = 0; i < 20; i++) {
      vi.advanceTimersByTime(0.9 * TIMEOUT);
      dog.heard();
    }
    expect(expired).toEqual([]);
  });

  it('counts the silence from the last Data-Out: fires after one to one and a half timeouts of it', () => {
    const { dog, expired } = watched();
    dog.owing();
    vi.advanceTimersByTime(0.3 * TIMEOUT);
    dog.heard();
    const last = Date.now();
    vi.advanceTimersByTime(TIMEOUT);
    expect(expired).toEqual([]);
    vi.advanceTimersByTime(0.5 * TIMEOUT);
    expect(expired).toHaveLength(1);
    const silence = (expired[0] ?? 0) - last;
    expect(silence).toBeGreaterThan(TIMEOUT);
    expect(silence).toBeLessThanOrEqual(1.5 * TIMEOUT);
  });

  it('stops checking once nothing is owed, and starts counting afresh when something is again', () => {
    const { dog, expired, owed } = watched();
    dog.owing();
    vi.advanceTimersByTime(0.5 * TIMEOUT);
    owed.value = false;
    vi.advanceTimersByTime(0.5 * TIMEOUT);
    expect(vi.getTimerCount()).toBe(0);
    vi.advanceTimersByTime(5 * TIMEOUT);
    owed.value = true;
    dog.owing();
    vi.advanceTimersByTime(TIMEOUT - 1);
    expect(expired).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(expired).toHaveLength(1);
  });

  it('arms one timer however often owing() is called', () => {
    const { dog } = watched();
    dog.owing();
    dog.owing();
    dog.owing();
    expect(vi.getTimerCount()).toBe(1);
  });

  it('never checks after stop(), even when owing() comes later', () => {
    const { dog, expired } = watched();
    dog.owing();
    dog.stop();
    dog.owing();
    expect(vi.getTimerCount()).toBe(0);
    vi.advanceTimersByTime(5 * TIMEOUT);
    expect(expired).toEqual([]);
  });

  it.each([0, -1, Number.NaN, Number.POSITIVE_INFINITY])('rejects a timeout of %s', (ms) => {
    expect(() => new ProgressWatchdog(ms, { owed: () => true, expired: () => undefined })).toThrow(
      new RangeError(`ProgressWatchdog: timeoutMs must be positive and finite, got ${ms}`),
    );
  });
});
