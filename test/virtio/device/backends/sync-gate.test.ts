import { describe, expect, it } from 'vitest';
import { DEFAULT_SYNC_GATE, SyncGate, type SyncGateOptions } from '../../../../src/virtio/device/backends/sync-gate.js';

/** A gate on a hand-driven clock; `op(ms, bytes)` records one synchronous operation that took `ms`. */
function rig(options: SyncGateOptions = {}): { gate: SyncGate; op: (ms: number, bytes?: number) => void; advance: (ms: number) => void } {
  let t = 1_000;
  const gate = new SyncGate({ now: () => t, ...options });
  return {
    gate,
    op(ms, bytes = 4096) {
      const t0 = gate.now();
      t += ms;
      gate.took(t0, bytes);
    },
    advance(ms) {
      t += ms;
    },
  };
}

const SLOW_4K = 0.2; // over 0.05 ms + 4096 bytes at 1 GB/s (0.0041 ms)
const FAST_4K = 0.005;

describe('SyncGate', () => {
  it('is open at first and stays open while operations come at page-cache speed', () => {
    const { gate, op } = rig();
    for (let i = 0; i < 1_000; i++) op(FAST_4K);
    expect(gate.open()).toBe(true);
    expect(gate.state).toEqual({ open: true, closes: 0, backoffMs: DEFAULT_SYNC_GATE.backoffMs });
  });

  it('closes after slowLimit slow operations in one window, for the back-off, then opens again', () => {
    const { gate, op, advance } = rig();
    for (let i = 1; i < DEFAULT_SYNC_GATE.slowLimit; i++) {
      op(SLOW_4K);
      op(FAST_4K);
    }
    expect(gate.open()).toBe(true);
    op(SLOW_4K);
    expect(gate.open()).toBe(false);
    expect(gate.state.closes).toBe(1);
    advance(DEFAULT_SYNC_GATE.backoffMs - 1);
    expect(gate.open()).toBe(false);
    advance(1);
    expect(gate.open()).toBe(true);
  });

  it('forgets slow operations at the end of a window, so rare ones never close it', () => {
    const { gate, op } = rig({ window: 10, slowLimit: 3 });
    for (let w = 0; w < 50; w++) {
      op(SLOW_4K);
      op(SLOW_4K);
      for (let i = 0; i < 8; i++) op(FAST_4K);
    }
    expect(gate.open()).toBe(true);
    expect(gate.state.closes).toBe(0);
  });

  it('closes on the time slow operations held the thread, however few: two 6 ms misses of a hard disk among fast hits', () => {
    const { gate, op } = rig();
    for (let i = 0; i < 50; i++) op(FAST_4K);
    op(6);
    expect(gate.open()).toBe(true);
    op(FAST_4K);
    op(6);
    expect(gate.open()).toBe(false);
  });

  it('tells onClose why: the slow operations, the operations in the window and the time they held', async () => {
    const told: unknown[] = [];
    const { op } = rig({ onClose: (c) => told.push(c) });
    for (let i = 0; i < 5; i++) op(FAST_4K);
    op(4);
    op(7);
    await Promise.resolve();
    expect(told).toEqual([{ backoffMs: DEFAULT_SYNC_GATE.backoffMs, slow: 2, ops: 7, slowMs: 11 }]);
  });

  it('ignores operations recorded while it is closed (a request’s later segments), so the next probe starts afresh', () => {
    const { gate, op, advance } = rig({ slowLimit: 2, backoffMs: 10 });
    op(SLOW_4K);
    op(SLOW_4K);
    expect(gate.state.closes).toBe(1);
    op(SLOW_4K);
    op(SLOW_4K);
    expect(gate.state.closes).toBe(1);
    advance(10);
    expect(gate.open()).toBe(true);
    op(SLOW_4K);
    expect(gate.open()).toBe(true);
  });

  it('allows time in proportion to the bytes moved: 1 MiB in 0.5 ms is fast, 4 KiB in 0.5 ms is slow', () => {
    const { gate, op } = rig({ slowLimit: 1 });
    op(0.5, 1 << 20);
    expect(gate.open()).toBe(true);
    op(0.5, 4096);
    expect(gate.open()).toBe(false);
  });

  it('doubles the back-off when it closes again right after reopening, up to the most, and resets after a clean window', () => {
    const { gate, op, advance } = rig({ slowLimit: 1, window: 4, backoffMs: 100, maxBackoffMs: 350 });
    const closeFor = (): number => {
      op(SLOW_4K);
      expect(gate.open()).toBe(false);
      let waited = 0;
      while (!gate.open()) {
        advance(1);
        waited++;
      }
      return waited;
    };
    expect([closeFor(), closeFor(), closeFor(), closeFor()]).toEqual([100, 200, 350, 350]);
    for (let i = 0; i < 4; i++) op(FAST_4K);
    expect(gate.state.backoffMs).toBe(100);
    expect(closeFor()).toBe(100);
    expect(gate.state.closes).toBe(5);
  });

  it('tells onClose the back-off it closed for, from a microtask: a throwing listener cannot fail the I/O', async () => {
    const told: number[] = [];
    const { gate, op, advance } = rig({
      slowLimit: 1,
      backoffMs: 10,
      onClose: (c) => {
        told.push(c.backoffMs);
        throw new Error('listener bug');
      },
    });
    const failures: unknown[] = [];
    const onError = (e: unknown): void => {
      failures.push(e);
    };
    process.on('uncaughtException', onError);
    try {
      expect(() => { op(SLOW_4K); }).not.toThrow();
      expect(told).toEqual([]);
      await Promise.resolve();
      expect(told).toEqual([10]);
      advance(10);
      expect(gate.open()).toBe(true);
      op(SLOW_4K);
      await new Promise((r) => setImmediate(r));
      expect(told).toEqual([10, 20]);
      expect(failures).toHaveLength(2);
    } finally {
      process.off('uncaughtException', onError);
    }
  });

  it('reads no clock to say it is open', () => {
    let reads = 0;
    const gate = new SyncGate({
      now: () => {
        reads++;
        return 0;
      },
    });
    for (let i = 0; i < 10; i++) gate.open();
    expect(reads).toBe(0);
  });

  it.each<[string, SyncGateOptions, string]>([
    ['a negative slowBaseMs', { slowBaseMs: -1 }, 'SyncGate: slowBaseMs must be a finite number >= 0, got -1'],
    ['a NaN msPerByte', { msPerByte: Number.NaN }, 'SyncGate: msPerByte must be a finite number >= 0, got NaN'],
    ['an infinite backoffMs', { backoffMs: Infinity }, 'SyncGate: backoffMs must be a finite number >= 0, got Infinity'],
    ['a negative slowBudgetMs', { slowBudgetMs: -0.5 }, 'SyncGate: slowBudgetMs must be a finite number >= 0, got -0.5'],
    ['a fractional window', { window: 1.5 }, 'SyncGate: window must be a whole number >= 1, got 1.5'],
    ['a zero window', { window: 0 }, 'SyncGate: window must be a whole number >= 1, got 0'],
    ['a slowLimit over the window', { window: 4, slowLimit: 5 }, 'SyncGate: slowLimit must be a whole number in 1..window (4), got 5'],
    ['a zero slowLimit', { slowLimit: 0 }, 'SyncGate: slowLimit must be a whole number in 1..window (128), got 0'],
    ['a fractional slowLimit', { slowLimit: 2.5 }, 'SyncGate: slowLimit must be a whole number in 1..window (128), got 2.5'],
    ['a most back-off under the first', { backoffMs: 10, maxBackoffMs: 5 }, 'SyncGate: maxBackoffMs (5) is less than backoffMs (10)'],
  ])('refuses %s with a RangeError', (_what, options, message) => {
    expect(() => new SyncGate(options)).toThrow(new RangeError(message));
  });
});
