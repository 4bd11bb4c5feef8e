// When a backend whose synchronous I/O may block (an image file read with
// pread(2) on the event loop) should use it. From the page cache a 4 KiB
// pread takes a few microseconds, less than the hop to libuv's thread pool
// and back; from the disk it takes a device's latency, during which the
// event loop, and so every session, waits. The kernel's way to ask "would
// this block?" (preadv2 with RWF_NOWAIT) is not reachable from Node 20, so
// the gate judges after the fact: it times each synchronous operation, and
// when enough of them in a window took longer than the page cache would, or
// they held the event loop longer than a budget (a slow disk's few misses
// cost more than many fast ones), it closes for a back-off period, during
// which the device takes the
// asynchronous path. It then opens again to probe; each close that follows
// a probe at once doubles the back-off, so a medium that keeps missing the
// cache costs a few stalls per back-off, not one per request.

/** What counts as slow, and how the gate backs off; every field has a default (see DEFAULT_SYNC_GATE). */
export interface SyncGateOptions {
  /** Monotonic milliseconds; performance.now() by default. */
  readonly now?: () => number;
  /** An operation is slow when it took longer than this many milliseconds plus `msPerByte` per byte. */
  readonly slowBaseMs?: number;
  /** Per-byte allowance in milliseconds: 1e-6 is 1 GB/s, far below a page-cache copy. */
  readonly msPerByte?: number;
  /** Operations per window: `slowLimit` slow ones within a window close the gate. */
  readonly window?: number;
  /** Slow operations in one window that close the gate (1 or more). */
  readonly slowLimit?: number;
  /** Milliseconds spent in slow operations in one window that close the gate, however few they were. */
  readonly slowBudgetMs?: number;
  /** The first back-off in milliseconds; doubled on each close right after a probe. */
  readonly backoffMs?: number;
  /** The longest back-off in milliseconds. */
  readonly maxBackoffMs?: number;
  /**
   * Called after the gate closes, with why and for how long (a server's log
   * line: why its image I/O went to the thread pool). Called from a
   * microtask, so that nothing it does can fail the I/O that closed the gate;
   * a throw is an uncaught exception, as from a timer.
   */
  readonly onClose?: (closed: SyncGateClose) => void;
}

/** What {@link SyncGateOptions.onClose} is told. */
export interface SyncGateClose {
  readonly backoffMs: number;
  /** Slow operations in the window that closed it, and how many operations it held. */
  readonly slow: number;
  readonly ops: number;
  /** Milliseconds those slow operations held the thread. */
  readonly slowMs: number;
}

/**
 * The gate's defaults. 50 µs is ten times a cached 4 KiB pread on a busy
 * machine and below an NVMe read (~80 µs and up), so a cache miss counts as
 * slow. A thread preempted inside the call looks slow too: serving iscsi-perf
 * at QD 8 on this project's two-core machine, 0.1 % of cached preads took
 * over 50 µs, in bursts, and a limit of 3 in 128 closed the gate every few
 * seconds. 16 in 128 (an eighth) is far above that and is reached within
 * 16 requests when the image is cold, where nearly every call is slow. 10 ms
 * of slow calls in a window closes it too: one or two misses on a hard disk
 * or network storage, where the count alone would let 15 in 128 through.
 */
export const DEFAULT_SYNC_GATE = {
  slowBaseMs: 0.05,
  msPerByte: 1e-6,
  window: 128,
  slowLimit: 16,
  slowBudgetMs: 10,
  backoffMs: 1_000,
  maxBackoffMs: 16_000,
} as const;

/** Observable state, for tests and statistics. */
export interface SyncGateState {
  readonly open: boolean;
  /** Times the gate has closed. */
  readonly closes: number;
  /** The back-off the next close will use, in milliseconds. */
  readonly backoffMs: number;
}

export class SyncGate {
  readonly #now: () => number;
  readonly #slowBaseMs: number;
  readonly #msPerByte: number;
  readonly #window: number;
  readonly #slowLimit: number;
  readonly #slowBudgetMs: number;
  readonly #firstBackoffMs: number;
  readonly #maxBackoffMs: number;
  readonly #onClose: ((closed: SyncGateClose) => void) | undefined;
  #backoffMs: number;
  /** When the gate opens again; undefined while it is open (so open() reads no clock). */
  #closedUntil: number | undefined;
  /** Whether the current window began with a probe (the gate just reopened). */
  #probing = false;
  #ops = 0;
  #slow = 0;
  #slowMs = 0;
  #closes = 0;

  constructor(options: SyncGateOptions = {}) {
    const o = { ...DEFAULT_SYNC_GATE, ...options };
    for (const [name, v] of [['slowBaseMs', o.slowBaseMs], ['msPerByte', o.msPerByte], ['slowBudgetMs', o.slowBudgetMs], ['backoffMs', o.backoffMs], ['maxBackoffMs', o.maxBackoffMs]] as const) {
      if (!(Number.isFinite(v) && v >= 0)) throw new RangeError(`SyncGate: ${name} must be a finite number >= 0, got ${v}`);
    }
    if (!Number.isInteger(o.window) || o.window < 1) throw new RangeError(`SyncGate: window must be a whole number >= 1, got ${o.window}`);
    if (!Number.isInteger(o.slowLimit) || o.slowLimit < 1 || o.slowLimit > o.window) {
      throw new RangeError(`SyncGate: slowLimit must be a whole number in 1..window (${o.window}), got ${o.slowLimit}`);
    }
    if (o.maxBackoffMs < o.backoffMs) throw new RangeError(`SyncGate: maxBackoffMs (${o.maxBackoffMs}) is less than backoffMs (${o.backoffMs})`);
    this.#now = options.now ?? (() => performance.now());
    this.#slowBaseMs = o.slowBaseMs;
    this.#msPerByte = o.msPerByte;
    this.#window = o.window;
    this.#slowLimit = o.slowLimit;
    this.#slowBudgetMs = o.slowBudgetMs;
    this.#firstBackoffMs = o.backoffMs;
    this.#maxBackoffMs = o.maxBackoffMs;
    this.#backoffMs = o.backoffMs;
    this.#onClose = options.onClose;
  }

  /** Whether the next operation should be synchronous. */
  open(): boolean {
    if (this.#closedUntil === undefined) return true;
    if (this.#now() < this.#closedUntil) return false;
    this.#closedUntil = undefined;
    this.#probing = true;
    return true;
  }

  /** The clock the gate times operations with: read it before a synchronous operation and pass the value to {@link took}. */
  now(): number {
    return this.#now();
  }

  /** Records a synchronous operation of `bytes` bytes that began at `startMs` (from {@link now}) and has just ended. */
  took(startMs: number, bytes: number): void {
    // A request's later segments after an earlier one closed the gate: the next probe starts afresh.
    if (this.#closedUntil !== undefined) return;
    const end = this.#now();
    const ms = end - startMs;
    this.#ops++;
    if (ms > this.#slowBaseMs + bytes * this.#msPerByte) {
      this.#slow++;
      this.#slowMs += ms;
      if (this.#slow >= this.#slowLimit || this.#slowMs >= this.#slowBudgetMs) {
        this.#close(end);
        return;
      }
    }
    if (this.#ops < this.#window) return;
    // A whole window without closing: the medium answers from the cache again.
    this.#ops = 0;
    this.#slow = 0;
    this.#slowMs = 0;
    this.#probing = false;
    this.#backoffMs = this.#firstBackoffMs;
  }

  get state(): SyncGateState {
    return { open: this.#closedUntil === undefined || this.#now() >= this.#closedUntil, closes: this.#closes, backoffMs: this.#backoffMs };
  }

  #close(at: number): void {
    // Closing again within the window that probed: the medium still misses, so wait longer.
    if (this.#probing) this.#backoffMs = Math.min(this.#backoffMs * 2, this.#maxBackoffMs);
    const closed: SyncGateClose = { backoffMs: this.#backoffMs, slow: this.#slow, ops: this.#ops, slowMs: this.#slowMs };
    this.#closedUntil = at + closed.backoffMs;
    this.#probing = false;
    this.#ops = 0;
    this.#slow = 0;
    this.#slowMs = 0;
    this.#closes++;
    const onClose = this.#onClose;
    if (onClose !== undefined) queueMicrotask(() => { onClose(closed); });
  }
}
