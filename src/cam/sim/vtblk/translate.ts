// The SBC emulator's block device, on a virtio-blk driver: each BlockCommandSet
// operation becomes one virtio-blk request (VIRTIO 1.2 §5.2.6: IN, OUT, FLUSH,
// GET_ID, DISCARD, WRITE_ZEROES), its data staged in guest memory, on whichever
// of the driver's request queues has the most room (VIRTIO_BLK_F_MQ). Geometry and
// limits come from the device configuration (§5.2.4) as the negotiated
// features (§5.2.3) make its fields valid. Cf. FreeBSD sys/dev/virtio/block/
// virtio_blk.c (vtblk_read_config, vtblk_request_execute) and Linux
// drivers/block/virtio_blk.c (virtblk_probe, virtblk_get_cache_mode).
//
// This file owns the set's operations and its transfer path (READ and WRITE
// staged through guest memory). How a request reaches a queue (charging it to
// its queue while it is out, the reset fence) is request-queues.ts. The status
// mapping (one place) is block-status.ts. What the config says (block size,
// segments, geometry, the write cache) is geometry.ts; guest data buffers
// (spares, waiting for memory, quarantine) are data-buffers.ts; when a FLUSH
// is issued is flush-request.ts, flush ordering across queues flush-order.ts;
// the per-queue load and the queue choice are queue-load.ts; DISCARD,
// WRITE_ZEROES and GET_ID are other-requests.ts.

import type { BlockCommandSet, BlockGeometry, BlockRange, BlockStatus, OperationAborted } from '../../../scsi/sbc/block-command-set.js';
import type { GuestAllocator } from '../../../virtio/guest-allocator.js';
import type { GuestMemory, GuestRange } from '../../../virtio/guest-memory.js';
import type { VirtioBlkDriver } from '../../../virtio/blk-driver.js';
import type { BlkCompletion } from '../../../virtio/blk-request.js';
import { VIRTIO_BLK_T_IN, VIRTIO_BLK_T_OUT } from '../../../virtio/blk-wire.js';
import { DataLimits, blockGeometry, deviceReadOnly, setWriteCache, writeCacheEnabled } from './geometry.js';
import { DataBufferPool } from './data-buffers.js';
import { FlushOrder, type WriteEpoch } from './flush-order.js';
import { startFlush } from './flush-request.js';
import { queueLoads, type BlkQueueStats, type QueueLoad } from './queue-load.js';
import { blockStatus } from './block-status.js';
import { OtherRequests, type RequestPath } from './other-requests.js';
import { FreeList } from '../../../scsi/free-list.js';
import { Transfer, promised } from './request-records.js';
import { RequestQueues, queueLoad } from './request-queues.js';

/** What a {@link VirtioBlockCommandSet} runs on. */
export interface VirtioBlockCommandSetOptions {
  readonly driver: VirtioBlkDriver;
  /** Guest memory the driver's transport shares with the device. */
  readonly memory: GuestMemory;
  /** Allocator over that memory (the driver's), for data buffers. */
  readonly allocator: GuestAllocator;
  /** Request queues to spread requests over: the driver's first `queues` (default all it set up). */
  readonly queues?: number;
  /**
   * Most data segments one request may carry, below the driver's own bound
   * (seg_max and the ring): the SIM keeps every request's descriptor cost within
   * its devq budget this way. Default: the driver's bound.
   */
  readonly maxDataSegments?: number;
}

/**
 * BlockCommandSet over a virtio-blk driver. Operations never fail for lack of
 * ring room (they wait, in order, through `driver.request`) nor for lack of
 * guest memory while other transfers hold some (they wait for it, in order);
 * a transfer guest memory cannot hold once nothing of the set holds any ends
 * `no-resources`.
 */
export class VirtioBlockCommandSet implements BlockCommandSet {
  readonly driver: VirtioBlkDriver;
  readonly memory: GuestMemory;
  readonly allocator: GuestAllocator;
  readonly #maxDataSegments: number | undefined;
  /** Per request queue; the ring sizes are the same after every reset (same device, same options). */
  readonly #loads: readonly QueueLoad[];
  readonly #queues: RequestQueues;
  readonly #flushOrder = new FlushOrder();
  readonly #limits: DataLimits;
  readonly #data: DataBufferPool;
  readonly #other: OtherRequests;
  /** Free records (request-records.ts): one per transfer the set ever had out at once. */
  readonly #transfers = new FreeList<Transfer>();

  constructor(opts: VirtioBlockCommandSetOptions) {
    const max = opts.maxDataSegments;
    if (max !== undefined && (!Number.isInteger(max) || max < 1)) throw new RangeError(`maxDataSegments must be a positive integer, got ${max}`);
    const driver = opts.driver;
    const loads = queueLoads(driver, opts.queues);
    this.driver = driver;
    this.memory = opts.memory;
    this.allocator = opts.allocator;
    this.#maxDataSegments = max;
    this.#limits = new DataLimits(driver);
    this.#data = new DataBufferPool(opts.allocator, this.#limits);
    const blockBytes = this.#limits.blockBytes;
    if (this.#data.maxTransferBytes < blockBytes) {
      throw new RangeError(
        `guest memory too small: ${opts.allocator.freeBytes} of its ${opts.allocator.size} bytes are left after the rings, and one transfer may use half of that, less than one ${blockBytes}-byte block`,
      );
    }
    this.#loads = loads;
    this.#queues = new RequestQueues(driver, loads, this.#data);
    const path: RequestPath = {
      request: (req, aborted) => this.#queues.request(req, aborted),
      release: (r, c) => {
        this.#release(r, c);
      },
    };
    this.#other = new OtherRequests(path, opts.memory, this.#data, this.#limits, this.#flushOrder);
  }

  // ---- what the SIM needs beyond BlockCommandSet ----

  /** Request queues this set spreads its requests over (queues 0..queueCount − 1). */
  get queueCount(): number {
    return this.#loads.length;
  }

  /** Descriptors of queue `q`'s ring. */
  ringSize(q: number): number {
    return queueLoad(this.#loads, q).ringSize;
  }

  /** Data segments one request may carry on any of the queues: seg_max, the smallest ring, and the SIM's budget. */
  get maxDataSegments(): number {
    let driverMax = this.driver.maxDataBuffers(0);
    for (let q = 1; q < this.#loads.length; q++) driverMax = Math.min(driverMax, this.driver.maxDataBuffers(q));
    return this.#maxDataSegments === undefined ? driverMax : Math.min(driverMax, this.#maxDataSegments);
  }

  /** Bytes of guest memory one transfer's data can count on once the transfers before it are done (see DataBufferPool). */
  get maxDataBytes(): number {
    return this.#data.maxTransferBytes;
  }

  /**
   * Bytes one data segment holds: size_max rounded down to whole logical blocks
   * (to whole sectors when size_max is below a block), or unbounded (Infinity)
   * without VIRTIO_BLK_F_SIZE_MAX.
   */
  get segmentBytes(): number {
    return this.#limits.segmentBytes;
  }

  /** Data segments a transfer of `bytes` bytes is split into (0 for none). */
  dataSegments(bytes: number): number {
    return bytes === 0 ? 0 : Math.max(1, Math.ceil(bytes / this.segmentBytes));
  }

  /** Descriptors this set's requests are charged for, from request() until completion, on all queues. */
  get heldDescriptors(): number {
    return this.#queues.held;
  }

  /** {@link heldDescriptors} of queue `q`. */
  heldOn(q: number): number {
    return queueLoad(this.#loads, q).held;
  }

  /** Each queue's load now and its high-water marks (a copy). */
  queueStats(): BlkQueueStats[] {
    return this.#loads.map((l) => ({ ...l }));
  }

  /** Requests held back behind an overlapping one on another device thread (overlap-order.ts). */
  get waitingForOverlap(): number {
    return this.#queues.waitingForOverlap;
  }

  /** Whether requests may wait for overlapping ones before the ring (several device threads; see dropAborted). */
  get ordersOverlaps(): boolean {
    return this.#queues.ordersOverlaps;
  }

  /** Commands were aborted: their requests still waiting for guest memory, an overlapping one or earlier writes (a FLUSH) end unsent, io-error. */
  dropAborted(): void {
    this.#data.dropAborted();
    this.#queues.dropAborted();
    this.#flushOrder.dropAborted();
  }

  /** FLUSHes waiting for earlier writes to complete. */
  get flushesWaiting(): number {
    return this.#flushOrder.flushesWaiting;
  }

  /** Freed data buffers kept for reuse (still allocated from the guest allocator; see DataBufferPool). */
  get spareBuffers(): number {
    return this.#data.spareBuffers;
  }

  /** Guest data buffers waiting for a device reset before they may be reused. */
  get quarantined(): number {
    return this.#data.quarantined;
  }

  /**
   * While fenced (the device is being reset) operations fail at once with
   * io-error and touch neither guest memory nor the ring, and transfers waiting
   * for guest memory give up: their commands are being requeued, and must not
   * reach the device that comes back.
   */
  fence(): void {
    this.#queues.fence();
  }

  /** Ends the fence after a device reset; quarantined buffers are safe to reuse now. */
  unfence(): void {
    this.#queues.unfence();
  }

  /** The device did not come back from its reset: the fence stays, and whoever waits for the reset learns so. */
  deviceLost(): void {
    this.#queues.deviceLost();
  }

  /** Odd while fenced (a device reset runs); see BlockCommandSet.resetEpoch. */
  get resetEpoch(): number {
    return this.#queues.resetEpoch;
  }

  afterReset(): Promise<boolean> {
    return this.#queues.afterReset();
  }

  // ---- BlockCommandSet ----

  /**
   * Write protected: VIRTIO_BLK_F_RO as the device offers it now, not as it was
   * negotiated (a device may flip it and signal a config change).
   */
  get readOnly(): boolean {
    return deviceReadOnly(this.driver);
  }

  geometry(): BlockGeometry {
    return blockGeometry(this.driver, this.#limits, this);
  }

  /** The cache mode (§5.2.5): see geometry.ts. */
  writeCacheEnabled(): boolean {
    return writeCacheEnabled(this.driver);
  }

  /** Writes `writeback` through the transport (VIRTIO_BLK_F_CONFIG_WCE) and checks that the device took it. */
  setWriteCache(enabled: boolean): Promise<BlockStatus> {
    return setWriteCache(this.driver, enabled);
  }

  read(lba: bigint, into: Uint8Array, aborted?: OperationAborted): Promise<BlockStatus> {
    return promised((done) => {
      this.startRead(lba, into, done, aborted);
    });
  }

  write(lba: bigint, data: Uint8Array, aborted?: OperationAborted): Promise<BlockStatus> {
    return promised((done) => {
      this.startWrite(lba, data, done, aborted);
    });
  }

  /** read() with a callback (the emulator's READ fast path): `done` runs once, never before startRead returns. */
  startRead(lba: bigint, into: Uint8Array, done: (s: BlockStatus) => void, aborted?: OperationAborted): void {
    this.#transfer(VIRTIO_BLK_T_IN, lba, into, done, aborted);
  }

  /** write() with a callback: `done` runs once, never before startWrite returns. */
  startWrite(lba: bigint, data: Uint8Array, done: (s: BlockStatus) => void, aborted?: OperationAborted): void {
    this.#transfer(VIRTIO_BLK_T_OUT, lba, data, done, aborted);
  }

  /** FLUSH; with several queues, once every write issued before it has completed, or unsent once `aborted` (see flush-order.ts). */
  flush(aborted?: OperationAborted): Promise<BlockStatus> {
    return promised((done) => {
      startFlush(this.#queues, this.#flushOrder, this.#loads.length, done, aborted);
    });
  }

  discard(ranges: readonly BlockRange[], aborted?: OperationAborted): Promise<BlockStatus> {
    return this.#other.discard(ranges, aborted);
  }

  writeZeroes(range: BlockRange, unmap: boolean, aborted?: OperationAborted): Promise<BlockStatus> {
    return this.#other.writeZeroes(range, unmap, aborted);
  }

  /** GET_ID: 20 bytes, NUL-padded (not terminated when all 20 are used). */
  getId(): Promise<string | undefined> {
    return this.#other.getId();
  }

  // ---- internals ----

  // The transfer path runs on callbacks, not promises: it runs for every READ
  // and WRITE, and each promise costs an object and a turn. Guest memory that
  // is free now is taken at once.
  #transfer(type: typeof VIRTIO_BLK_T_IN | typeof VIRTIO_BLK_T_OUT, lba: bigint, buf: Uint8Array, done: (s: BlockStatus) => void, aborted: OperationAborted | undefined): void {
    const segments = this.dataSegments(buf.length);
    if (segments > this.maxDataSegments) {
      throw new RangeError(`a ${buf.length}-byte transfer needs ${segments} segments; one request carries at most ${this.maxDataSegments} (maxTransferBlocks bounds it)`);
    }
    // A write counts for the FLUSHes after it from now on, waiting for guest memory included.
    const epoch = type === VIRTIO_BLK_T_OUT ? this.#flushOrder.writeStarted() : undefined;
    const now = this.#data.allocNow(buf.length);
    if (now !== undefined) this.#transferIn(type, lba, buf, now, epoch, done, aborted);
    else this.#transferWhenAllocated(type, lba, buf, epoch, done, aborted);
  }

  /**
   * #transfer once guest memory frees up (or the fence or its command's abort gives up on it). A
   * method of its own: the closure here, inside #transfer, would give every
   * transfer a context object, waiting or not.
   */
  #transferWhenAllocated(
    type: typeof VIRTIO_BLK_T_IN | typeof VIRTIO_BLK_T_OUT,
    lba: bigint,
    buf: Uint8Array,
    epoch: WriteEpoch | undefined,
    done: (s: BlockStatus) => void,
    aborted: OperationAborted | undefined,
  ): void {
    void this.#data.alloc(buf.length, aborted).then((ranges) => {
      if (typeof ranges === 'string') {
        if (epoch !== undefined) this.#flushOrder.writeDone(epoch);
        // Fenced: the command is being requeued, and the SIM says how it ends. Aborted: unsent, as the overlap
        // order drops one, and the SIM ends the command as the abort says. Never fits: the medium is fine,
        // guest memory is short (errors.ts: INSUFFICIENT RESOURCES). Within the unit's maximum transfer only
        // memory held by someone besides this set can leave a transfer there.
        done(ranges === 'never-fits' ? 'no-resources' : 'io-error');
      } else {
        this.#transferIn(type, lba, buf, ranges, epoch, done, aborted);
      }
    });
  }

  /** The transfer once its guest memory is held: stage Data-Out, request, copy Data-In back, free. */
  #transferIn(
    type: typeof VIRTIO_BLK_T_IN | typeof VIRTIO_BLK_T_OUT,
    lba: bigint,
    buf: Uint8Array,
    ranges: GuestRange[],
    epoch: WriteEpoch | undefined,
    done: (s: BlockStatus) => void,
    aborted: OperationAborted | undefined,
  ): void {
    if (type === VIRTIO_BLK_T_OUT) {
      let at = 0;
      for (const r of ranges) {
        this.memory.copyIn(r.addr, ranges.length === 1 ? buf : buf.subarray(at, at + r.len));
        at += r.len;
      }
    }
    const sectorsPerBlock = this.#limits.sectorsPerBlock;
    const t = this.#transfers.take() ?? new Transfer(this.#transferred);
    t.type = type;
    // 512-byte blocks are a sector each: no bigint product for every transfer.
    t.sector = sectorsPerBlock === 1n ? lba : lba * sectorsPerBlock;
    t.data = ranges;
    t.buf = buf;
    t.epoch = epoch;
    t.done = done;
    try {
      this.#queues.submit(t, t.completed, aborted);
    } catch (e) {
      // The record is dropped, not reused: whether the driver still answers it is anyone's guess.
      // A bug below; the write must not hold every later FLUSH back forever, and is done once: an answer
      // that still comes finds no epoch.
      if (epoch !== undefined) this.#flushOrder.writeDone(epoch);
      t.epoch = undefined;
      throw e;
    }
  }

  /** A transfer's answer: copy Data-In back, free its guest memory, and answer (the record is free again by then). */
  readonly #transferred = (t: Transfer, c: BlkCompletion): void => {
    const { type, data: ranges, buf, epoch, done } = t;
    this.#transfers.put(t.clear());
    const status = blockStatus(c);
    if (type === VIRTIO_BLK_T_IN && status === 'ok') {
      let at = 0;
      for (const r of ranges) {
        this.memory.copyOut(r.addr, ranges.length === 1 ? buf : buf.subarray(at, at + r.len));
        at += r.len;
      }
    }
    for (const r of ranges) this.#release(r, c);
    if (epoch !== undefined) this.#flushOrder.writeDone(epoch);
    done?.(status);
  };

  /** Frees a data buffer after its request completed, or quarantines it when the ring broke under it. */
  #release(r: GuestRange, c: BlkCompletion): void {
    if (c.kind === 'aborted' && this.driver.broken !== undefined) this.#data.quarantine(r);
    else this.#data.free(r);
  }
}
