// A bandwidth limit around any BlockBackend, as a hypervisor's block
// throttling gives a guest disk (QEMU's bps-total): a token bucket over the
// bytes the operations move. A sanitize, a copy or a scrub then takes as long
// as it would on a unit with that write bandwidth, which is what a test of
// "the operation is still running" needs, and what a noisy-neighbour setup
// wants to cap.
//
// What counts: read and write move their buffer's length; writeZeroes counts
// its whole range, since a backend may write every zero (FileBackend does) and
// virtio-blk lets the device choose (VIRTIO 1.2 §5.2.6.2). Discard and flush
// move no data and cost nothing, but they queue like the rest: nothing passes
// what was submitted before it. allocation() is a query and passes straight
// through.
//
// The bucket holds BURST_SECONDS of the rate and starts full. An operation
// starts when the bucket holds its bytes; one larger than the bucket starts
// when the bucket is full and leaves it in debt, which later operations wait
// out. So over any interval of t seconds, what starts is at most
// rate·t + max(bucket, largest operation) bytes. Operations start in
// submission order (a FIFO: a small one waits behind a large one even when
// the bucket could take it) and then run on the inner backend as they would
// unthrottled; they may complete in any order, as the inner's do.
//
// No readSync/writeSync, so the device takes its asynchronous path, where an
// operation can wait; and no share(): a device worker would open the medium
// on its own, outside this thread's bucket.

import type { AllocationExtent, BackendStatus, BlockBackend } from '../backend.js';
import { assertDiskRange } from './ram-disk.js';

/**
 * The bucket's size in seconds of the rate: enough that requests of a few
 * KiB at a modest rate rarely wait for one another, small enough that the
 * limit already holds over a fraction of a second.
 */
const BURST_SECONDS = 0.1;
const MS_PER_SECOND = 1000;

/** Options for {@link ThrottledBackend}. */
export interface ThrottledBackendOptions {
  /** The sustained rate: bytes per second, a positive safe integer. */
  readonly bytesPerSecond: number;
}

interface Waiting {
  /** Bytes the operation moves. */
  readonly cost: number;
  readonly perform: () => Promise<BackendStatus>;
  readonly resolve: (result: BackendStatus | Promise<BackendStatus>) => void;
  readonly reject: (reason: unknown) => void;
}

/**
 * Wraps a backend and limits the bytes per second its operations move (see
 * the file header for what counts and the bound that holds). An operation
 * is charged when it starts, whatever the inner backend answers (a write a
 * read-only backend refuses included). `size`, `readOnly` and `allocation`
 * pass through. After {@link close}, operations still waiting and any
 * submitted later complete `io-error` without reaching the inner backend.
 */
export class ThrottledBackend implements BlockBackend {
  /** Present exactly when the inner backend has it; passes through, unthrottled. */
  declare readonly allocation?: (offset: number, length: number) => Promise<readonly AllocationExtent[] | BackendStatus>;

  readonly inner: BlockBackend;
  readonly bytesPerSecond: number;
  /** The bucket's size in bytes. */
  readonly burstBytes: number;
  readonly #msPerByte: number;
  /**
   * When the bucket is full again (performance.now() scale): it lacks
   * (fullAt - now) / msPerByte bytes, and is full once that is not positive.
   */
  #fullAt: number;
  readonly #queue: Waiting[] = [];
  #timer: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(inner: BlockBackend, options: ThrottledBackendOptions) {
    const rate = options.bytesPerSecond;
    if (!Number.isSafeInteger(rate) || rate <= 0) {
      throw new RangeError(`ThrottledBackend: bytesPerSecond must be a positive whole number of bytes, got ${rate}`);
    }
    this.inner = inner;
    this.bytesPerSecond = rate;
    this.burstBytes = Math.max(1, Math.ceil(rate * BURST_SECONDS));
    this.#msPerByte = MS_PER_SECOND / rate;
    this.#fullAt = performance.now();
    if (inner.allocation) {
      const allocation = inner.allocation.bind(inner);
      Object.defineProperty(this, 'allocation', { value: allocation, enumerable: true });
    }
  }

  get size(): number {
    return this.inner.size;
  }

  get readOnly(): boolean {
    return this.inner.readOnly;
  }

  /** Operations submitted and not yet started. */
  get waiting(): number {
    return this.#queue.length;
  }

  read(offset: number, dst: Uint8Array): Promise<BackendStatus> {
    this.#assertRange('read', offset, dst.length);
    return this.#submit(dst.length, () => this.inner.read(offset, dst));
  }

  write(offset: number, src: Uint8Array): Promise<BackendStatus> {
    this.#assertRange('write', offset, src.length);
    return this.#submit(src.length, () => this.inner.write(offset, src));
  }

  flush(): Promise<BackendStatus> {
    return this.#submit(0, () => this.inner.flush());
  }

  discard(offset: number, length: number): Promise<BackendStatus> {
    this.#assertRange('discard', offset, length);
    return this.#submit(0, () => this.inner.discard(offset, length));
  }

  writeZeroes(offset: number, length: number, unmap: boolean): Promise<BackendStatus> {
    this.#assertRange('writeZeroes', offset, length);
    return this.#submit(length, () => this.inner.writeZeroes(offset, length, unmap));
  }

  /**
   * Completes every waiting operation `io-error` (none of them reached the
   * inner backend), stops the timer, and closes the inner backend, which
   * finishes what already started there. Idempotent.
   */
  close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    for (const w of this.#queue.splice(0)) w.resolve('io-error');
    return this.inner.close();
  }

  #submit(cost: number, perform: () => Promise<BackendStatus>): Promise<BackendStatus> {
    if (this.#closed) return Promise.resolve('io-error');
    if (this.#queue.length === 0 && this.#startAt(cost) <= performance.now()) {
      this.#charge(cost);
      return perform();
    }
    return new Promise((resolve, reject) => {
      this.#queue.push({ cost, perform, resolve, reject });
      if (this.#timer === undefined) this.#arm();
    });
  }

  /** When an operation of `cost` bytes may start: once the bucket holds min(cost, bucket) bytes. */
  #startAt(cost: number): number {
    return this.#fullAt - (this.burstBytes - Math.min(cost, this.burstBytes)) * this.#msPerByte;
  }

  #charge(cost: number): void {
    this.#fullAt = Math.max(this.#fullAt, performance.now()) + cost * this.#msPerByte;
  }

  /** Starts the operations at the head of the queue that may start now; sets the timer for the next one. */
  #drain(): void {
    this.#timer = undefined;
    for (let head = this.#queue[0]; head !== undefined; head = this.#queue[0]) {
      if (this.#startAt(head.cost) > performance.now()) break;
      this.#queue.shift();
      this.#charge(head.cost);
      try {
        head.resolve(head.perform());
      } catch (e) {
        head.reject(e);
      }
    }
    if (this.#queue.length > 0 && !this.#closed) this.#arm();
  }

  #arm(): void {
    const head = this.#queue[0];
    if (head === undefined) return;
    // Whole milliseconds, rounded up, and at least one: a timer that fired a
    // fraction early must not spin. Not unref'd: an operation waiting is work
    // pending, and the process stays up for it until it starts or close() ends it.
    const delay = Math.max(1, Math.ceil(this.#startAt(head.cost) - performance.now()));
    this.#timer = setTimeout(() => {
      this.#drain();
    }, delay);
  }

  #assertRange(op: string, offset: number, length: number): void {
    assertDiskRange('ThrottledBackend', op, offset, length, this.inner.size);
  }
}
