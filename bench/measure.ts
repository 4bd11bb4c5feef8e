// In-process latency and throughput measurement for `npm run bench`.
//
// Clock: process.hrtime.bigint() (monotonic, ns). Timestamps are kept as
// doubles counting ns since this module loaded, which stay exact integers for
// 2^53 ns (about 104 days), so sample arithmetic never needs BigInt.
//
// A benchmark that fails must not report numbers: errors from the measured
// operation reject the run after every outstanding operation has settled.

const ORIGIN = process.hrtime.bigint();
const NS_PER_MS = 1e6;
const NS_PER_US = 1e3;
const NS_PER_S = 1e9;

/** Monotonic time in ns since this module loaded (exact up to 2^53 ns). */
export function nowNs(): number {
  return Number(process.hrtime.bigint() - ORIGIN);
}

/**
 * Per-operation latencies in ns, stored in a growable Float64Array: recording
 * a sample allocates nothing unless the buffer doubles.
 */
export class LatencyRecorder {
  #buf: Float64Array;
  #n = 0;
  #sum = 0;
  #min = Infinity;
  #max = -Infinity;
  /** Sorted copy of the samples, built on the first percentile() after a change. */
  #sorted: Float64Array | undefined;

  /** @param initialCapacity samples held before the first doubling. */
  constructor(initialCapacity = 4096) {
    if (!Number.isInteger(initialCapacity) || initialCapacity < 1) {
      throw new RangeError(`initialCapacity must be a positive integer, got ${initialCapacity}`);
    }
    this.#buf = new Float64Array(initialCapacity);
  }

  /** Adds one sample. `ns` must be finite and ≥ 0 (anything else is a caller bug). */
  record(ns: number): void {
    if (!Number.isFinite(ns) || ns < 0) {
      throw new RangeError(`latency must be a finite ns count >= 0, got ${ns}`);
    }
    if (this.#n === this.#buf.length) {
      const grown = new Float64Array(this.#buf.length * 2);
      grown.set(this.#buf);
      this.#buf = grown;
    }
    this.#buf[this.#n++] = ns;
    this.#sum += ns;
    if (ns < this.#min) this.#min = ns;
    if (ns > this.#max) this.#max = ns;
    this.#sorted = undefined;
  }

  /** Number of samples recorded since construction or the last reset(). */
  get count(): number {
    return this.#n;
  }

  /** Arithmetic mean in ns; NaN when empty. */
  get mean(): number {
    return this.#n === 0 ? NaN : this.#sum / this.#n;
  }

  /** Smallest sample in ns; NaN when empty. */
  get min(): number {
    return this.#n === 0 ? NaN : this.#min;
  }

  /** Largest sample in ns; NaN when empty. */
  get max(): number {
    return this.#n === 0 ? NaN : this.#max;
  }

  /**
   * Nearest-rank percentile: the smallest sample such that at least p% of the
   * samples are ≤ it (rank ⌈p·n/100⌉, at least 1, so p0 is the minimum and
   * p100 the maximum). Always returns a recorded value, never an
   * interpolation. NaN when empty.
   * @param p percentile in 0..100
   */
  percentile(p: number): number {
    if (!(p >= 0 && p <= 100)) {
      throw new RangeError(`percentile must be in 0..100, got ${p}`);
    }
    const n = this.#n;
    if (n === 0) return NaN;
    this.#sorted ??= this.#buf.slice(0, n).sort();
    return this.#sorted[nearestRank(p, n) - 1] ?? NaN;
  }

  /** Forgets all samples; the buffer keeps its capacity. */
  reset(): void {
    this.#n = 0;
    this.#sum = 0;
    this.#min = Infinity;
    this.#max = -Infinity;
    this.#sorted = undefined;
  }
}

/** 1-based nearest rank ⌈p·n/100⌉ clamped to 1..n. */
function nearestRank(p: number, n: number): number {
  const x = (p * n) / 100;
  // p·n/100 is exact when p is an integer, but a fractional p such as 99.9
  // is not representable and x can land a hair above an integer (99900.00000000001),
  // which a bare ceil would push one rank too high.
  const r = Math.round(x);
  const rank = Math.abs(x - r) <= 1e-9 * Math.max(1, x) ? r : Math.ceil(x);
  return Math.min(n, Math.max(1, rank));
}

/** Options of {@link runClosedLoop}. */
export interface ClosedLoopOptions {
  /** Operations kept outstanding at all times (a positive integer). */
  depth: number;
  /** Run for this long first and discard what it measured. */
  warmupMs: number;
  /** Measurement window; no operation is issued after it ends. */
  durationMs: number;
  /** The measured operation; `i` counts issued operations from 0, warmup included. */
  op: (i: number) => Promise<void>;
}

/** Result of {@link runClosedLoop}; latencies cover exactly the `ops` counted. */
export interface ClosedLoopResult {
  /** Operations issued inside the measurement window (all of them completed). */
  ops: number;
  /** From the start of the window to the completion of the last counted op. */
  elapsedNs: number;
  opsPerSec: number;
  p50Us: number;
  p99Us: number;
  meanUs: number;
}

/**
 * Closed-loop benchmark: `depth` independent slots each issue an operation,
 * await it and issue the next one at once, so exactly `depth` operations are
 * outstanding until the deadline. Latency runs from issue to completion.
 *
 * An operation counts if it was issued inside the measurement window
 * (after warmup, before the deadline); after the deadline no slot issues
 * more, and the run waits for every outstanding operation. The ≤ depth
 * warmup operations still completing when the window opens are not counted,
 * which biases throughput low by at most depth/ops.
 *
 * If `op` throws or rejects, no slot issues another operation, the run waits
 * for the outstanding ones and then rejects with the first error.
 */
export async function runClosedLoop(opts: ClosedLoopOptions): Promise<ClosedLoopResult> {
  const { depth, warmupMs, durationMs, op } = opts;
  if (!Number.isInteger(depth) || depth < 1) {
    throw new RangeError(`depth must be a positive integer, got ${depth}`);
  }
  checkDurations(warmupMs, durationMs);

  const rec = new LatencyRecorder();
  const windowStart = nowNs() + warmupMs * NS_PER_MS;
  const deadline = windowStart + durationMs * NS_PER_MS;
  const errors: unknown[] = [];
  let issued = 0;
  let lastDone = windowStart;

  const slot = async (): Promise<void> => {
    // The completion time of one op is the issue time of the next: no gap
    // between them, and one clock read per operation.
    let t0 = nowNs();
    while (t0 < deadline && errors.length === 0) {
      try {
        await op(issued++);
      } catch (error) {
        errors.push(error);
        return;
      }
      const t1 = nowNs();
      if (t0 >= windowStart) {
        rec.record(t1 - t0);
        if (t1 > lastDone) lastDone = t1;
      }
      t0 = t1;
    }
  };

  const slots: Promise<void>[] = [];
  for (let s = 0; s < depth; s++) slots.push(slot());
  await Promise.all(slots); // a slot never rejects: errors are collected
  if (errors.length > 0) throw errors[0];

  if (rec.count === 0) {
    throw new Error(
      `runClosedLoop: no operation was issued in the ${durationMs} ms window after ${warmupMs} ms of warmup ` +
        `(${issued} issued in total); each op outlasts the window, so lengthen durationMs`,
    );
  }
  const elapsedNs = Math.max(1, lastDone - windowStart);
  return {
    ops: rec.count,
    elapsedNs,
    opsPerSec: rec.count / (elapsedNs / NS_PER_S),
    p50Us: rec.percentile(50) / NS_PER_US,
    p99Us: rec.percentile(99) / NS_PER_US,
    meanUs: rec.mean / NS_PER_US,
  };
}

/** Options of {@link runSyncLoop}. */
export interface SyncLoopOptions {
  warmupMs: number;
  durationMs: number;
  op: () => void;
  /**
   * Calls between clock reads. Omitted: starts at 1 and doubles while a batch
   * takes under 1 ms (or 1% of the duration), so the clock costs nothing
   * measurable and the deadline is overshot by at most about two batches.
   */
  batch?: number;
}

/** Result of {@link runSyncLoop}. */
export interface SyncLoopResult {
  ops: number;
  elapsedNs: number;
  opsPerSec: number;
  nsPerOp: number;
}

/**
 * Tight synchronous loop for baselines (a bare memory copy, say): calls `op`
 * in batches until the deadline, reading the clock only between batches.
 * At least one batch is measured. Exceptions from `op` propagate.
 */
export function runSyncLoop(opts: SyncLoopOptions): SyncLoopResult {
  const { warmupMs, durationMs, op } = opts;
  checkDurations(warmupMs, durationMs);
  if (opts.batch !== undefined && (!Number.isInteger(opts.batch) || opts.batch < 1)) {
    throw new RangeError(`batch must be a positive integer, got ${opts.batch}`);
  }
  const adaptive = opts.batch === undefined;
  const targetBatchNs = Math.min(NS_PER_MS, (durationMs * NS_PER_MS) / 100);
  let batch = opts.batch ?? 1;

  const runBatch = (from: number): number => {
    for (let k = 0; k < batch; k++) op();
    const t = nowNs();
    if (adaptive && t - from < targetBatchNs && batch < 2 ** 30) batch *= 2;
    return t;
  };

  let t = nowNs();
  const warmupEnd = t + warmupMs * NS_PER_MS;
  while (t < warmupEnd) t = runBatch(t);

  // The window opens when the last warmup batch ends, which may be past
  // warmupEnd, and lasts the full duration from there.
  const t0 = t;
  const deadline = t0 + durationMs * NS_PER_MS;
  let ops = 0;
  do {
    const n = batch; // runBatch may double `batch` after running it
    t = runBatch(t);
    ops += n;
  } while (t < deadline);

  const elapsedNs = Math.max(1, t - t0);
  return { ops, elapsedNs, opsPerSec: ops / (elapsedNs / NS_PER_S), nsPerOp: elapsedNs / ops };
}

function checkDurations(warmupMs: number, durationMs: number): void {
  if (!(Number.isFinite(warmupMs) && warmupMs >= 0)) {
    throw new RangeError(`warmupMs must be finite and >= 0, got ${warmupMs}`);
  }
  if (!(Number.isFinite(durationMs) && durationMs > 0)) {
    throw new RangeError(`durationMs must be finite and > 0, got ${durationMs}`);
  }
}
