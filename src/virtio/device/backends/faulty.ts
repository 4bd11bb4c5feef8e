// Fault-injecting wrapper around any BlockBackend, for tests of the layers above.
//
// Faults are parameters, not mocks (SPDK's _xfer_test(poolFull) idiom): a test
// fails a byte range for chosen operations, adds latency, completes operations out
// of order, or holds them until it says so. Randomness comes from a seeded
// xorshift32, so a failing interleaving can be replayed from its seed.

import type { AllocationExtent, BackendStatus, BlockBackend } from '../backend.js';
import { assertDiskRange } from './ram-disk.js';

/** Upper bound (exclusive) on the event-loop turns a reordered operation waits when no latency is set. */
const REORDER_TURNS = 16;
/** Seed used when none is given: runs are reproducible by default. */
const DEFAULT_SEED = 0x2545f491;

/** The operations a fault can target. */
export type FaultyOp = 'read' | 'write' | 'flush' | 'discard' | 'writeZeroes';

/** A failed range, as passed to {@link FaultyBackend.failRange}. */
export interface FaultSpec {
  /** First byte of the failed range. */
  readonly offset: number;
  /** Length of the failed range in bytes. */
  readonly length: number;
  /** Operations that fail when they touch the range. `flush` has no range and fails whenever it is listed. */
  readonly ops: readonly FaultyOp[];
  /**
   * What the failed operation completes with; `io-error` by default. `ok` makes a
   * lying device: the operation reports success and does nothing.
   */
  readonly status?: BackendStatus;
}

/** Options for {@link FaultyBackend}. */
export interface FaultyBackendOptions {
  /** PRNG seed for latency and reordering; a fixed default when omitted. */
  readonly seed?: number;
  /** Each operation waits a whole number of milliseconds drawn uniformly from [minMs, maxMs]. */
  readonly latency?: { readonly minMs: number; readonly maxMs: number };
  /**
   * Complete operations independently, hence out of submission order. Without it,
   * operations with latency complete in submission order (a FIFO device). With it
   * and no latency, each operation waits a random number of event-loop turns, which
   * reorders without spending wall-clock time.
   */
  readonly reorder?: boolean;
}

/** Operations submitted per kind, plus how many were answered by an injected fault. */
export interface FaultyStats {
  readonly read: number;
  readonly write: number;
  readonly flush: number;
  readonly discard: number;
  readonly writeZeroes: number;
  readonly allocation: number;
  readonly failed: number;
}

interface Fault {
  readonly id: number;
  readonly offset: number;
  readonly length: number;
  readonly ops: ReadonlySet<FaultyOp>;
  readonly status: BackendStatus;
}

/**
 * xorshift32 (G. Marsaglia, "Xorshift RNGs", J. Stat. Softw. 8(14), 2003, triple 13/17/5),
 * returning floats in [0, 1). Not for anything but test scheduling.
 */
function xorshift32(seed: number): () => number {
  // Zero is the generator's fixed point; any other 32-bit value is a valid state.
  let x = seed >>> 0 || DEFAULT_SEED;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 0x1_0000_0000;
  };
}

const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const settled = (): void => undefined;

/**
 * Wraps a backend and injects faults, latency, reordering and stalls.
 *
 * Everything an operation will experience (fault, delay) is decided when it is
 * submitted, so the random sequence depends only on submission order. An
 * operation touching a failed range completes with the fault's status without
 * reaching the inner backend: a failed write writes nothing, a failed read leaves
 * `dst` untouched. `size`, `readOnly` and `allocation` pass through.
 */
export class FaultyBackend implements BlockBackend {
  /** Present exactly when the inner backend has it; passes through without faults or delay. */
  declare readonly allocation?: (offset: number, length: number) => Promise<readonly AllocationExtent[] | BackendStatus>;

  readonly inner: BlockBackend;
  readonly #random: () => number;
  readonly #latency: { readonly minMs: number; readonly maxMs: number } | undefined;
  readonly #reorder: boolean;
  readonly #faults: Fault[] = [];
  #nextFaultId = 1;
  #stalled = false;
  readonly #held: (() => void)[] = [];
  /** Completion of the last operation, for FIFO completion under latency. */
  #tail: Promise<void> = Promise.resolve();
  readonly #stats = { read: 0, write: 0, flush: 0, discard: 0, writeZeroes: 0, allocation: 0, failed: 0 };

  constructor(inner: BlockBackend, options: FaultyBackendOptions = {}) {
    this.inner = inner;
    const { latency } = options;
    if (latency !== undefined) {
      const { minMs, maxMs } = latency;
      if (!Number.isSafeInteger(minMs) || !Number.isSafeInteger(maxMs) || minMs < 0 || maxMs < minMs) {
        throw new RangeError(`FaultyBackend: latency needs integers 0 <= minMs <= maxMs, got minMs ${minMs} maxMs ${maxMs}`);
      }
    }
    this.#latency = latency;
    this.#reorder = options.reorder ?? false;
    this.#random = xorshift32(options.seed ?? DEFAULT_SEED);
    if (inner.allocation) {
      const allocation = inner.allocation.bind(inner);
      Object.defineProperty(this, 'allocation', {
        value: (offset: number, length: number) => {
          this.#stats.allocation++;
          return allocation(offset, length);
        },
        enumerable: true,
      });
    }
  }

  get size(): number {
    return this.inner.size;
  }

  get readOnly(): boolean {
    return this.inner.readOnly;
  }

  /** Operations submitted so far, per kind (a snapshot). */
  get stats(): FaultyStats {
    return { ...this.#stats };
  }

  /** Operations currently held by {@link stall}. */
  get stalledCount(): number {
    return this.#held.length;
  }

  /**
   * Makes `ops` touching [offset, offset+length) complete with `status` (default
   * `io-error`) without reaching the inner backend. When several faults match, the
   * oldest wins. Returns an id for {@link clearFault}.
   */
  failRange(spec: FaultSpec): number {
    const { offset, length, ops } = spec;
    if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length <= 0) {
      throw new RangeError(`FaultyBackend.failRange: offset ${offset} length ${length} is not a non-empty range`);
    }
    if (ops.length === 0) throw new RangeError('FaultyBackend.failRange: ops is empty, so the fault could never fire');
    const id = this.#nextFaultId++;
    this.#faults.push({ id, offset, length, ops: new Set(ops), status: spec.status ?? 'io-error' });
    return id;
  }

  /** Removes one fault; false when `id` is not (or no longer) registered. */
  clearFault(id: number): boolean {
    const at = this.#faults.findIndex((f) => f.id === id);
    if (at < 0) return false;
    this.#faults.splice(at, 1);
    return true;
  }

  /** Removes every fault. Operations already submitted keep the fault they drew. */
  clearFaults(): void {
    this.#faults.length = 0;
  }

  /** Holds every operation submitted from now on until {@link release}. */
  stall(): void {
    this.#stalled = true;
  }

  /**
   * Without `count`: ends the stall and lets every held operation go. With
   * `count`: lets the `count` oldest held operations go and keeps stalling.
   * Returns how many were let go.
   */
  release(count?: number): number {
    if (count === undefined) this.#stalled = false;
    const go = this.#held.splice(0, count ?? this.#held.length);
    for (const resume of go) resume();
    return go.length;
  }

  read(offset: number, dst: Uint8Array): Promise<BackendStatus> {
    this.#assertRange('read', offset, dst.length);
    return this.#submit('read', offset, dst.length, () => this.inner.read(offset, dst));
  }

  write(offset: number, src: Uint8Array): Promise<BackendStatus> {
    this.#assertRange('write', offset, src.length);
    return this.#submit('write', offset, src.length, () => this.inner.write(offset, src));
  }

  flush(): Promise<BackendStatus> {
    return this.#submit('flush', 0, 0, () => this.inner.flush());
  }

  discard(offset: number, length: number): Promise<BackendStatus> {
    this.#assertRange('discard', offset, length);
    return this.#submit('discard', offset, length, () => this.inner.discard(offset, length));
  }

  writeZeroes(offset: number, length: number, unmap: boolean): Promise<BackendStatus> {
    this.#assertRange('writeZeroes', offset, length);
    return this.#submit('writeZeroes', offset, length, () => this.inner.writeZeroes(offset, length, unmap));
  }

  /** Closes the inner backend. Held operations stay held: a test that stalls must release. */
  close(): Promise<void> {
    return this.inner.close();
  }

  #submit(op: FaultyOp, offset: number, length: number, perform: () => Promise<BackendStatus>): Promise<BackendStatus> {
    this.#stats[op]++;
    const fault = this.#match(op, offset, length);
    const wait = this.#drawWait();
    const fifo = this.#latency !== undefined && !this.#reorder;
    const previous = this.#tail;
    const done = (async (): Promise<BackendStatus> => {
      // Runs synchronously up to the first await, so stalledCount counts this op on return.
      if (this.#stalled) await new Promise<void>((resolve) => this.#held.push(resolve));
      await wait();
      if (fifo) await previous;
      if (fault) {
        this.#stats.failed++;
        return fault.status;
      }
      return perform();
    })();
    if (fifo) this.#tail = done.then(settled, settled);
    return done;
  }

  /** The oldest fault that fails `op` on [offset, offset+length). A zero-length range touches nothing. */
  #match(op: FaultyOp, offset: number, length: number): Fault | undefined {
    return this.#faults.find((f) =>
      f.ops.has(op) && (op === 'flush' || (length > 0 && offset < f.offset + f.length && f.offset < offset + length)),
    );
  }

  /** Draws this operation's delay now, so the random sequence follows submission order. */
  #drawWait(): () => Promise<void> {
    if (this.#latency) {
      const { minMs, maxMs } = this.#latency;
      const ms = minMs + Math.floor(this.#random() * (maxMs - minMs + 1));
      return () => sleep(ms);
    }
    if (!this.#reorder) return () => Promise.resolve();
    const turns = Math.floor(this.#random() * REORDER_TURNS);
    return async () => {
      for (let i = 0; i < turns; i++) await nextTurn();
    };
  }

  #assertRange(op: string, offset: number, length: number): void {
    assertDiskRange('FaultyBackend', op, offset, length, this.inner.size);
  }
}
