// The virtio-blk driver (guest side). Spec: VIRTIO 1.2 §3.1.1 (driver
// initialization), §5.2 (block device). Cf. FreeBSD sys/dev/virtio/block/
// virtio_blk.c and Linux drivers/block/virtio_blk.c.
//
// A request is a header (16 bytes, device-readable), data buffers, and a status
// byte (device-writable). The driver preallocates one header and one status
// byte per ring slot, so submitting costs no allocation besides an indirect
// table (from the guest allocator) and, for discard/write-zeroes, the segment
// array. Completion is a value (status or "aborted"), never an exception.
//
// This file owns the request path (submit, kick, the interrupt handler,
// waiting for ring room) and the state it reads. The request and completion
// types are blk-request.ts; a queue's slots, setup and used-buffer collection
// are blk-queue.ts; completing a request and running the handler's
// completions is blk-completion.ts; a request's descriptor chain is
// blk-chain.ts; attaching, initialization, config changes and teardown are
// blk-lifecycle.ts, with the status handshake and config reading of
// initialization in blk-init.ts.

import type { SplitVirtqDriver } from './split-ring-driver.js';
import type { VirtioTransport } from './transport/transport.js';
import { VirtioBlkReqHeader } from './blk-wire.js';
import type { VirtioBlkConfig } from './blk-config.js';
import { VIRTIO_BLK_F_SEG_MAX, hasFeature } from './blk-features.js';
import type { BlkCompletion, BlkRequest } from './blk-request.js';
import { STATUS_UNWRITTEN, appendAborted, collectUsed, type Queue, type Slot } from './blk-queue.js';
import { BlkChainBuilder, dataBuffers } from './blk-chain.js';
import { callBack, completeList, completeSlot, type CallbackFailure } from './blk-completion.js';
import { BlkLifecycle, type BlkDriverError, type BlkDriverOptions } from './blk-lifecycle.js';

export { VIRTIO_BLK_DRIVER_FEATURES, type BlkDriverError, type BlkDriverOptions } from './blk-lifecycle.js';

/** The guest-side virtio-blk driver over any {@link VirtioTransport}. */
export class VirtioBlkDriver {
  readonly transport: VirtioTransport;
  readonly #publishEvery: number;
  #features = 0n;
  /**
   * The negotiated features as two 32-bit words: hasFeature runs on every
   * request (segment size, block size, seg_max), and a BigInt shift per call
   * costs more than the rest of it.
   */
  #featuresLo = 0;
  #featuresHi = 0;
  /** By queue index; changed in place, never replaced (the lifecycle sets it up and tears it down). */
  readonly #queues: Queue[] = [];
  /** Per queue, the microtask that publishes a turn's requests, made once (see #scheduleKick). */
  #kickTasks: (() => void)[] = [];
  #config: VirtioBlkConfig | undefined;
  #broken: string | undefined;
  #notifies = 0;
  readonly #chains: BlkChainBuilder;
  /** One DataView over guest memory for the request headers (the driver's own, always in bounds). */
  readonly #view: DataView;
  readonly #lifecycle: BlkLifecycle;

  private constructor(opts: BlkDriverOptions) {
    this.transport = opts.transport;
    this.#publishEvery = opts.publishEvery ?? Infinity;
    if (!(this.#publishEvery >= 1) || (Number.isFinite(this.#publishEvery) && !Number.isInteger(this.#publishEvery))) {
      throw new RangeError(`publishEvery must be a positive integer, got ${opts.publishEvery}`);
    }
    this.#view = new DataView(opts.transport.memory.buffer);
    this.#chains = new BlkChainBuilder(opts.transport, opts.allocator);
    this.#lifecycle = new BlkLifecycle(opts, {
      driver: this,
      queues: this.#queues,
      interrupt: (irq) => {
        if (irq.kind === 'queue') this.#drain(irq.queue);
        else this.#lifecycle.configChanged();
      },
      negotiated: (features) => {
        this.#features = features;
        this.#featuresLo = Number(features & 0xffff_ffffn);
        this.#featuresHi = Number(features >> 32n);
      },
      configured: (config) => {
        this.#config = config;
      },
      queueReady: (q, queue) => {
        this.#queues[q] = queue;
        this.#kickTasks[q] = () => {
          queue.kickScheduled = false;
          if (this.#queues[q] === queue) this.kick(q);
        };
      },
      complete: (queue, slot, c) => {
        completeSlot(queue, this.#chains, slot, c);
      },
      fail: (reason) => {
        this.#broken = reason;
      },
      stop: (reason) => {
        this.#broken ??= reason;
      },
    });
  }

  /** Runs the §3.1.1 initialization sequence and sets up the queues. */
  static async attach(opts: BlkDriverOptions): Promise<VirtioBlkDriver | BlkDriverError> {
    const d = new VirtioBlkDriver(opts);
    const err = await d.#init();
    return err ?? d;
  }

  /** Negotiated features. */
  get features(): bigint {
    return this.#features;
  }

  hasFeature(bit: number): boolean {
    if (!Number.isInteger(bit) || bit < 0 || bit >= 64) return hasFeature(this.#features, bit); // throws the RangeError
    return ((bit < 32 ? this.#featuresLo >>> bit : this.#featuresHi >>> (bit - 32)) & 1) === 1;
  }

  /** The device configuration as last read (re-read on every config interrupt). */
  get config(): VirtioBlkConfig {
    if (this.#config === undefined) throw new Error('driver is not attached');
    return this.#config;
  }

  get queueCount(): number {
    return this.#queues.length;
  }

  /** The negotiated ring size of queue `q`. */
  queueSize(q = 0): number {
    return this.#ring(q).size;
  }

  /** Why the driver stopped (ring broken, device needs reset), or undefined while healthy. */
  get broken(): string | undefined {
    return this.#broken;
  }

  /** Doorbells rung, and per-queue publish counters. */
  get stats(): { notifies: number; suppressed: number; inFlight: number } {
    let suppressed = 0;
    let inFlight = 0;
    for (const q of this.#queues) {
      suppressed += q.ring.notifyStats.suppressed;
      inFlight += q.ring.inFlight;
    }
    return { notifies: this.#notifies, suppressed, inFlight };
  }

  onConfigChange(fn: (cfg: VirtioBlkConfig) => void): void {
    this.#lifecycle.onConfigChange(fn);
  }

  /** Data buffers a request carries (what its descriptor cost depends on). */
  static readonly dataBuffers: (req: BlkRequest) => number = dataBuffers;

  /**
   * Most data buffers one request may carry on queue `q`: the device's seg_max
   * (when negotiated) and the ring (header + data + status ≤ queue size, §2.7.5.3.1).
   */
  maxDataBuffers(q = 0): number {
    const ring = this.#ring(q).size - 2;
    return this.hasFeature(VIRTIO_BLK_F_SEG_MAX) ? Math.min(ring, this.config.segMax) : ring;
  }

  /** Descriptors a request with `dataBuffers` data buffers costs: header + data + status, or 1 indirect. */
  descriptorCost(dataBuffers: number, q = 0): number {
    return this.#ring(q).descriptorCost(dataBuffers + 2);
  }

  /** How many more requests with `dataBuffers` data buffers fit in queue `q` right now. */
  fits(dataBuffers: number, q = 0): number {
    const queue = this.#queue(q);
    return Math.min(queue.ring.fits(dataBuffers + 2), queue.freeSlots.length);
  }

  /**
   * Free descriptors in queue `q`'s table right now. A SIM compares it with
   * what its own requests should have left free to see descriptors it does not
   * account for (a device holding chains, an indirect table that fell back to
   * a direct chain).
   */
  freeDescriptors(q = 0): number {
    return this.#ring(q).numFree;
  }

  /** Callers of {@link request} waiting for ring room on queue `q`. */
  waiting(q = 0): number {
    return this.#queue(q).waiters.length;
  }

  /** Requests in flight on queue `q`. */
  inFlight(q = 0): number {
    return this.#ring(q).inFlight;
  }

  /**
   * Adds a request to queue `q` without notifying the device (call {@link kick}
   * once per batch). Returns false, with nothing enqueued, when the ring has no
   * room; `done` is called exactly once otherwise. Throws RangeError, with
   * nothing taken, for a request this queue can never carry (a caller bug).
   */
  submit(req: BlkRequest, done: (c: BlkCompletion) => void, q = 0): boolean {
    const queue = this.#queue(q);
    if (this.#broken !== undefined) {
      done({ kind: 'aborted', reason: this.#broken });
      return true;
    }
    this.#chains.check(req, this.maxDataBuffers(q));
    return this.#add(queue, req, done);
  }

  /**
   * submit() for a request that passed BlkChainBuilder.check: every throw
   * comes before the slot is taken, and build() and ring.add() meet no caller
   * bug after it.
   */
  #add(queue: Queue, req: BlkRequest, done: (c: BlkCompletion) => void): boolean {
    const slotIndex = queue.freeSlots.pop();
    if (slotIndex === undefined) return false;
    const slot = queue.slots[slotIndex] as Slot;
    const buffers = this.#chains.build(req, slot);
    if (buffers === undefined) {
      queue.freeSlots.push(slotIndex);
      return false;
    }
    const sector = 'sector' in req ? req.sector : 0n;
    // The header and status byte are the slot's own, inside guest memory since setup.
    const v = this.#view;
    v.setUint32(slot.header + VirtioBlkReqHeader.type, req.type, true);
    v.setUint32(slot.header + VirtioBlkReqHeader.reserved, 0, true);
    v.setBigUint64(slot.header + VirtioBlkReqHeader.sector, sector, true);
    v.setUint8(slot.status, STATUS_UNWRITTEN);
    if (queue.ring.add(buffers, slot) === undefined) {
      this.#chains.freeExtra(slot);
      queue.freeSlots.push(slotIndex);
      return false;
    }
    slot.done = done;
    return true;
  }

  /** Publishes what was submitted on queue `q` and rings the doorbell if the device wants it. */
  kick(q = 0): void {
    const queue = this.#queue(q);
    queue.unpublished = 0;
    if (queue.ring.publish()) {
      this.#notifies++;
      this.transport.notify(q);
    }
  }

  /**
   * Submits and resolves with the completion, waiting (in FIFO order) for ring
   * room when the ring is full. Kicks are batched: requests issued in the same
   * turn share one publish.
   */
  request(req: BlkRequest, q = 0): Promise<BlkCompletion> {
    const queue = this.#queue(q);
    return new Promise((resolve, reject) => {
      this.#enqueue(queue, q, req, resolve, reject);
    });
  }

  /**
   * {@link request} with a callback instead of a promise, for a caller that
   * builds its own promise around the completion (one promise step per
   * request instead of two): waits for ring room in the same FIFO, kicks the
   * same way, and calls `done` exactly once. Throws (synchronously) what
   * request() rejects with.
   */
  enqueue(req: BlkRequest, done: (c: BlkCompletion) => void, q = 0): void {
    this.#enqueue(this.#queue(q), q, req, done, undefined);
  }

  #enqueue(queue: Queue, q: number, req: BlkRequest, done: (c: BlkCompletion) => void, reject: ((error: unknown) => void) | undefined): void {
    // The common case (nobody waiting, room in the ring) needs no waiter object.
    if (queue.waiters.length === 0 && this.submit(req, done, q)) {
      this.#scheduleKick(queue, q);
      return;
    }
    // Checked before it waits: a caller bug throws here, to the caller, and
    // not later out of the interrupt handler that lets the request in.
    this.#chains.check(req, this.maxDataBuffers(q));
    queue.waiters.push({ req, done, reject });
  }

  /**
   * Resets the device (waiting until it no longer touches guest memory), aborts
   * every outstanding request, and runs initialization again.
   */
  async restart(): Promise<BlkDriverError | undefined> {
    await this.#lifecycle.teardown('device reset');
    return this.#init();
  }

  /** Resets the device and aborts everything outstanding. The driver is unusable afterwards. */
  async close(): Promise<void> {
    await this.#lifecycle.teardown('driver closed');
    this.#broken = 'driver closed';
  }

  #init(): Promise<BlkDriverError | undefined> {
    this.#broken = undefined;
    return this.#lifecycle.init();
  }

  #scheduleKick(queue: Queue, q: number): void {
    if (++queue.unpublished >= this.#publishEvery) this.kick(q);
    if (queue.kickScheduled) return;
    queue.kickScheduled = true;
    queueMicrotask(this.#kickTasks[q] as () => void);
  }

  /**
   * Interrupt handler for queue `q`: collect every used buffer first, then run
   * completions (so a callback's new I/O never re-enters the ring walk), then
   * let waiting requests in. A callback that throws (a bug above) does not
   * cost the others theirs: every one runs, then the first error is rethrown.
   */
  #drain(q: number): void {
    const queue = this.#queues[q];
    if (queue === undefined) return;
    // The completions, in order, as a list linked through the slots.
    let first = collectUsed(queue, this.transport.memory);
    if (queue.ring.broken !== undefined) {
      this.#broken ??= `queue ${q}: ${queue.ring.broken}`;
      first = appendAborted(first, queue.ring.detachAll(), this.#broken);
    }
    let failure = completeList(queue, this.#chains, first);
    const late = this.#admitWaiters(queue, q);
    failure ??= late;
    if (failure !== undefined) throw failure.error;
  }

  /**
   * Lets waiting requests in, in FIFO order, until one finds no room; once the
   * driver is broken, aborts them. A waiter leaves the FIFO before any callback
   * of its runs, so nothing it throws strands the ones behind it; returns the
   * first error a callback threw (see #drain).
   */
  #admitWaiters(queue: Queue, q: number): CallbackFailure | undefined {
    let failure: CallbackFailure | undefined;
    for (let w = queue.waiters[0]; w !== undefined; w = queue.waiters[0]) {
      const broken = this.#broken;
      if (broken !== undefined) {
        queue.waiters.shift();
        const late = callBack(w.done, { kind: 'aborted', reason: broken });
        failure ??= late;
        continue;
      }
      try {
        this.#chains.check(w.req, this.maxDataBuffers(q));
      } catch (error) {
        // It passed when it began to wait; a config change since may have
        // lowered seg_max (§5.2.4). It ends here, and the FIFO goes on.
        queue.waiters.shift();
        const late = w.reject !== undefined ? callBack(w.reject, error) : callBack(w.done, { kind: 'aborted', reason: `request refused: ${String(error)}` });
        failure ??= late;
        continue;
      }
      if (!this.#add(queue, w.req, w.done)) break;
      queue.waiters.shift();
      this.#scheduleKick(queue, q);
    }
    if (this.#broken === undefined) this.#scheduleKick(queue, q);
    return failure;
  }

  #queue(q: number): Queue {
    const queue = this.#queues[q];
    if (queue === undefined) throw new RangeError(`queue ${q} is not set up (driver has ${this.#queues.length})`);
    return queue;
  }

  #ring(q: number): SplitVirtqDriver<Slot> {
    return this.#queue(q).ring;
  }
}
