import { describe, expect, it } from 'vitest';
import { LatencyRecorder, runClosedLoop, runSyncLoop } from '../../bench/measure.js';

/** Deterministic Fisher–Yates shuffle (LCG), so insertion order is not sorted order. */
function shuffled(values: readonly number[], seed = 12345): number[] {
  const out = [...values];
  let s = seed;
  for (let i = out.length - 1; i > 0; i--) {
    s = (s * 1103515245 + 12345) >>> 0;
    const j = s % (i + 1);
    [out[i], out[j]] = [out[j] as number, out[i] as number];
  }
  return out;
}

const range = (from: number, to: number): number[] => Array.from({ length: to - from + 1 }, (_, k) => from + k);
const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe('LatencyRecorder', () => {
  it('nearest-rank percentiles of 1..100 inserted out of order', () => {
    const rec = new LatencyRecorder();
    for (const v of shuffled(range(1, 100))) rec.record(v);
    expect(rec.count).toBe(100);
    // rank = ceil(p * n / 100), at least 1
    expect(rec.percentile(0)).toBe(1);
    expect(rec.percentile(1)).toBe(1);
    expect(rec.percentile(7)).toBe(7); // 0.07 * 100 = 7.000000000000001 must not round up to rank 8
    expect(rec.percentile(29)).toBe(29);
    expect(rec.percentile(50)).toBe(50);
    expect(rec.percentile(50.5)).toBe(51);
    expect(rec.percentile(99)).toBe(99);
    expect(rec.percentile(99.9)).toBe(100);
    expect(rec.percentile(100)).toBe(100);
    expect(rec.min).toBe(1);
    expect(rec.max).toBe(100);
    expect(rec.mean).toBe(50.5);
  });

  it('nearest-rank percentiles of ten samples (the textbook example)', () => {
    const rec = new LatencyRecorder();
    for (const v of shuffled([10, 20, 30, 40, 50, 60, 70, 80, 90, 100])) rec.record(v);
    expect([0, 5, 10, 11, 50, 51, 90, 91, 95, 99, 100].map((p) => rec.percentile(p))).toEqual([
      10, 10, 10, 20, 50, 60, 90, 100, 100, 100, 100,
    ]);
  });

  it('a single sample is every percentile, the mean, min and max', () => {
    const rec = new LatencyRecorder();
    rec.record(1234);
    for (const p of [0, 1, 50, 99, 100]) expect(rec.percentile(p)).toBe(1234);
    expect([rec.count, rec.mean, rec.min, rec.max]).toEqual([1, 1234, 1234, 1234]);
  });

  it('duplicates and a zero sample', () => {
    const rec = new LatencyRecorder();
    for (const v of [5, 0, 5, 5, 9]) rec.record(v);
    expect([0, 20, 21, 80, 81, 100].map((p) => rec.percentile(p))).toEqual([0, 0, 5, 5, 9, 9]);
  });

  it('grows past its initial capacity without losing samples', () => {
    const rec = new LatencyRecorder(2);
    const values = shuffled(range(1, 10_000), 7);
    for (const v of values) rec.record(v);
    expect(rec.count).toBe(10_000);
    expect(rec.percentile(0)).toBe(1);
    expect(rec.percentile(50)).toBe(5000);
    expect(rec.percentile(99)).toBe(9900);
    expect(rec.percentile(100)).toBe(10_000);
    expect(rec.mean).toBe(5000.5);
  });

  it('percentiles follow samples recorded after a query (no stale sorted copy)', () => {
    const rec = new LatencyRecorder();
    rec.record(10);
    expect(rec.percentile(100)).toBe(10);
    rec.record(3);
    rec.record(20);
    expect([rec.percentile(0), rec.percentile(50), rec.percentile(100)]).toEqual([3, 10, 20]);
  });

  it('empty gives NaN; reset empties and the recorder still works', () => {
    const rec = new LatencyRecorder();
    expect([rec.count, rec.percentile(50), rec.mean, rec.min, rec.max]).toEqual([0, NaN, NaN, NaN, NaN]);
    rec.record(1);
    rec.record(100);
    rec.reset();
    expect([rec.count, rec.percentile(50), rec.mean, rec.min, rec.max]).toEqual([0, NaN, NaN, NaN, NaN]);
    rec.record(42);
    expect([rec.count, rec.percentile(0), rec.percentile(100), rec.mean]).toEqual([1, 42, 42, 42]);
  });

  it('rejects caller bugs: p outside 0..100, negative or non-finite samples', () => {
    const rec = new LatencyRecorder();
    rec.record(1);
    for (const p of [-1, 100.0001, NaN, Infinity]) expect(() => rec.percentile(p)).toThrow(RangeError);
    for (const ns of [-1, NaN, Infinity]) expect(() => { rec.record(ns); }).toThrow(RangeError);
    expect(() => new LatencyRecorder(0)).toThrow(RangeError);
    expect(rec.count).toBe(1); // the bad samples were not stored
  });
});

describe('runClosedLoop', () => {
  /** An op that tracks how many calls are outstanding; completes after a mix of immediates and timers. */
  function instrumented(): { op: (i: number) => Promise<void>; outstanding: () => number; max: () => number; issued: number[] } {
    let outstanding = 0;
    let max = 0;
    const issued: number[] = [];
    const op = async (i: number): Promise<void> => {
      issued.push(i);
      outstanding++;
      max = Math.max(max, outstanding);
      try {
        if (i % 3 === 0) await sleep(1);
        else await tick();
      } finally {
        outstanding--;
      }
    };
    return { op, outstanding: () => outstanding, max: () => max, issued };
  }

  for (const depth of [1, 4, 16]) {
    it(`keeps at most ${depth} ops outstanding and reaches ${depth}`, async () => {
      const probe = instrumented();
      const r = await runClosedLoop({ depth, warmupMs: 10, durationMs: 40, op: probe.op });
      expect(probe.max()).toBe(depth);
      expect(probe.outstanding()).toBe(0); // drained before resolving
      // i counts issued ops from 0 without gaps or repeats
      expect(probe.issued).toEqual(range(0, probe.issued.length - 1));
      expect(r.ops).toBeGreaterThan(0);
      expect(r.ops).toBeLessThanOrEqual(probe.issued.length);
    });
  }

  it('reaches depth immediately even when ops resolve synchronously', async () => {
    let outstanding = 0;
    let max = 0;
    const op = (): Promise<void> => {
      outstanding++;
      max = Math.max(max, outstanding);
      const p = Promise.resolve();
      return p.then(() => {
        outstanding--;
      });
    };
    await runClosedLoop({ depth: 8, warmupMs: 0, durationMs: 5, op });
    expect(max).toBe(8);
    expect(outstanding).toBe(0);
  });

  it('reports consistent numbers', async () => {
    const r = await runClosedLoop({ depth: 2, warmupMs: 5, durationMs: 30, op: () => sleep(1) });
    expect(r.ops).toBeGreaterThan(0);
    expect(r.opsPerSec).toBeCloseTo(r.ops / (r.elapsedNs / 1e9), 6);
    expect(r.p50Us).toBeGreaterThan(0);
    expect(r.p50Us).toBeLessThanOrEqual(r.p99Us);
    expect(r.meanUs).toBeGreaterThan(0);
  });

  it('honours durationMs roughly and does not count warmup ops', async () => {
    const probe = instrumented();
    const t0 = performance.now();
    const r = await runClosedLoop({ depth: 2, warmupMs: 30, durationMs: 60, op: probe.op });
    const wallMs = performance.now() - t0;
    // Only ordering, not speed: the run cannot end before warmup + duration,
    // and the window is not stretched to, say, ten times its length.
    expect(wallMs).toBeGreaterThanOrEqual(30 + 60 - 1);
    expect(wallMs).toBeLessThan(10 * (30 + 60) + 1000);
    expect(r.elapsedNs).toBeGreaterThanOrEqual(60e6 * 0.99);
    expect(r.ops).toBeLessThan(probe.issued.length); // warmup ops were issued but not counted
  });

  it('rejects with the error of a failing op, after outstanding ops settle, and issues no more', async () => {
    const probe = instrumented();
    const boom = new Error('op 10 failed');
    const op = async (i: number): Promise<void> => {
      if (i === 10) throw boom;
      await probe.op(i);
    };
    await expect(runClosedLoop({ depth: 4, warmupMs: 0, durationMs: 10_000, op })).rejects.toBe(boom);
    expect(probe.outstanding()).toBe(0);
    expect(probe.issued.length).toBeLessThan(10 + 4); // stopped issuing at once, well before the deadline
  });

  it('rejects when op throws synchronously or rejects during warmup', async () => {
    const syncThrow = (i: number): Promise<void> => {
      if (i === 3) throw new TypeError('sync');
      return tick();
    };
    await expect(runClosedLoop({ depth: 2, warmupMs: 10_000, durationMs: 10, op: syncThrow })).rejects.toThrow(
      TypeError,
    );
    const rejectLater = async (i: number): Promise<void> => {
      await tick();
      if (i === 5) throw new Error('async');
    };
    await expect(runClosedLoop({ depth: 3, warmupMs: 10_000, durationMs: 10, op: rejectLater })).rejects.toThrow(
      'async',
    );
  });

  it('refuses to report when no op was issued inside the window', async () => {
    await expect(runClosedLoop({ depth: 1, warmupMs: 5, durationMs: 5, op: () => sleep(60) })).rejects.toThrow(
      /no operation was issued/,
    );
  });

  it('rejects bad options', async () => {
    const op = (): Promise<void> => Promise.resolve();
    for (const depth of [0, -1, 1.5, NaN]) {
      await expect(runClosedLoop({ depth, warmupMs: 0, durationMs: 1, op })).rejects.toThrow(RangeError);
    }
    await expect(runClosedLoop({ depth: 1, warmupMs: -1, durationMs: 1, op })).rejects.toThrow(RangeError);
    await expect(runClosedLoop({ depth: 1, warmupMs: 0, durationMs: 0, op })).rejects.toThrow(RangeError);
  });
});

describe('runSyncLoop', () => {
  it('counts every call in the measured window and reports consistent rates', () => {
    let calls = 0;
    const r = runSyncLoop({ warmupMs: 5, durationMs: 20, op: () => { calls++; } });
    expect(r.ops).toBeGreaterThan(0);
    expect(r.ops).toBeLessThan(calls); // warmup calls are not counted
    expect(r.elapsedNs).toBeGreaterThanOrEqual(20e6 * 0.99);
    expect(r.nsPerOp).toBeCloseTo(r.elapsedNs / r.ops, 6);
    expect(r.opsPerSec).toBeCloseTo(r.ops / (r.elapsedNs / 1e9), 3);
  });

  it('a fixed batch makes ops a multiple of it', () => {
    let calls = 0;
    const r = runSyncLoop({ warmupMs: 0, durationMs: 5, op: () => { calls++; }, batch: 7 });
    expect(r.ops % 7).toBe(0);
    expect(calls % 7).toBe(0);
  });

  it('propagates exceptions from op and rejects bad options', () => {
    expect(() => runSyncLoop({ warmupMs: 0, durationMs: 5, op: () => { throw new Error('copy failed'); } })).toThrow(
      'copy failed',
    );
    const op = (): void => undefined;
    expect(() => runSyncLoop({ warmupMs: 0, durationMs: 5, op, batch: 0 })).toThrow(RangeError);
    expect(() => runSyncLoop({ warmupMs: NaN, durationMs: 5, op })).toThrow(RangeError);
  });
});
