// Guest memory for the data of virtio-blk requests (the data buffers between a
// request's header and its status byte, VIRTIO 1.2 §5.2.6), as the
// VirtioBlockCommandSet stages transfers through it: one allocation per data
// segment, freed buffers kept as spares for the next transfer, transfers
// waiting in order while others hold the memory they need, and a quarantine.
// A waiting transfer whose command is aborted (ABORT TASK SET, CLEAR TASK SET,
// PREEMPT AND ABORT: SAM-5 aborting commands) leaves the wait unsent, as a
// command still waiting in the device queue ends without being started
// (dropAborted): the abort does not wait for memory another command's
// requests hold.
//
// Guest memory for data is freed when the request completes, aborted ones
// included: the driver aborts a request only after the device reset returned
// (the device no longer touches memory) or before it reached the ring. The one
// exception is a ring the driver declared broken: the device may still be
// writing, so those buffers are quarantined until the next reset.

import type { OperationAborted } from '../../../scsi/sbc/block-command-set.js';
import type { GuestAllocator } from '../../../virtio/guest-allocator.js';
import type { GuestRange } from '../../../virtio/guest-memory.js';
import { VIRTIO_BLK_SECTOR_SIZE } from '../../../virtio/blk-wire.js';
import type { DataLimits } from './geometry.js';

/** Guest buffers for data are aligned like a sector, so a device doing direct I/O on them can. */
const DATA_ALIGN = VIRTIO_BLK_SECTOR_SIZE;
/** Freed data buffers kept for reuse: 256 of the usual 4 KiB, enough for a full ring. */
const SPARE_BYTES = 1 << 20;

/** One transfer's data may count on 1/TRANSFER_SHARE of what the rings leave (DataBufferPool.maxTransferBytes). */
const TRANSFER_SHARE = 2;

/**
 * Why {@link DataBufferPool.alloc} gives a transfer no memory: a device reset
 * began (`fenced`), nothing of ours holds any and it still does not fit
 * (`never-fits`: nothing will free any for it), or its command was aborted
 * while it would wait (`aborted`).
 */
export type NoDataMemory = 'fenced' | 'never-fits' | 'aborted';

interface MemoryWaiter {
  readonly bytes: number;
  /** Whether the transfer's command has been aborted (absent: it never is). */
  readonly aborted: OperationAborted | undefined;
  readonly resolve: (r: GuestRange[] | NoDataMemory) => void;
}

/**
 * The data buffers of one VirtioBlockCommandSet, in segments of its
 * DataLimits. Fenced along with the set (a device reset): it then hands out
 * nothing, keeps no spares, and sends the transfers waiting for memory away.
 */
export class DataBufferPool {
  readonly #allocator: GuestAllocator;
  readonly #limits: DataLimits;
  #fenced = false;
  #liveData = 0;
  readonly #memoryWaiters: MemoryWaiter[] = [];
  readonly #quarantine: GuestRange[] = [];
  /**
   * Data buffers freed by completed transfers, by length, reused before the
   * allocator is asked (as the ring reuses indirect tables): a first-fit
   * allocation and a free per I/O cost more than the rest of a transfer. At
   * most SPARE_BYTES (and 1/64 of the allocator's memory), all given back as
   * soon as an allocation finds no room, and at every fence (a device reset,
   * a detach: nothing is left allocated behind a detached SIM).
   */
  readonly #spare = new Map<number, GuestRange[]>();
  #spareBytes = 0;
  /**
   * Bytes of data one transfer can count on once the transfers before it
   * are done: half of the guest memory free when the pool is made, which is
   * after the driver set up its rings (their headers and status bytes
   * included; a device reset gives them back and takes the same again). The
   * other half is for what requests hold beside their data (indirect tables,
   * the driver's cache of them, DISCARD segment lists) and for the holes a
   * first-fit allocator leaves between them. The default 64 MiB of guest
   * memory gives about 32 MiB, far above the unit's 8 MiB maximum transfer,
   * which this bounds only when guest memory is small.
   */
  readonly maxTransferBytes: number;

  constructor(allocator: GuestAllocator, limits: DataLimits) {
    this.#allocator = allocator;
    this.#limits = limits;
    this.maxTransferBytes = Math.floor(allocator.freeBytes / TRANSFER_SHARE);
  }

  /** Freed data buffers kept for reuse (still allocated from the guest allocator; see #spare). */
  get spareBuffers(): number {
    let n = 0;
    for (const list of this.#spare.values()) n += list.length;
    return n;
  }

  /** Guest data buffers waiting for a device reset before they may be reused. */
  get quarantined(): number {
    return this.#quarantine.length;
  }

  /**
   * Guest memory for a transfer of `bytes` when it is free now and no transfer
   * waits before this one; undefined otherwise (then wait with {@link alloc}),
   * and while fenced.
   */
  allocNow(bytes: number): GuestRange[] | undefined {
    return this.#fenced || this.#memoryWaiters.length > 0 ? undefined : this.#tryAlloc(bytes);
  }

  /**
   * Guest memory for a transfer of `bytes`, one allocation per segment. Waits
   * (FIFO) while other transfers hold the memory it needs, until its command
   * is aborted (`aborted`, asked now and at {@link dropAborted}); else why not
   * (NoDataMemory).
   */
  alloc(bytes: number, aborted?: OperationAborted): Promise<GuestRange[] | NoDataMemory> {
    if (this.#fenced) return Promise.resolve('fenced');
    if (this.#memoryWaiters.length === 0) {
      const got = this.#tryAlloc(bytes);
      if (got !== undefined) return Promise.resolve(got);
      if (this.#liveData === 0) return Promise.resolve('never-fits');
    }
    if (aborted?.() === true) return Promise.resolve('aborted');
    return new Promise((resolve) => this.#memoryWaiters.push({ bytes, aborted, resolve }));
  }

  /**
   * Commands have been aborted: each transfer of theirs still waiting for
   * memory gives up (`aborted`), and those behind it that fit now go.
   */
  dropAborted(): void {
    const waiters = this.#memoryWaiters;
    let kept = 0;
    for (const w of waiters) {
      if (w.aborted?.() === true) w.resolve('aborted');
      else waiters[kept++] = w;
    }
    if (kept === waiters.length) return;
    waiters.length = kept;
    this.#admitWaiters();
  }

  /** Frees a data buffer whose request completed (kept as a spare when there is room), and lets waiting transfers in. */
  free(r: GuestRange): void {
    if (this.#fenced || this.#spareBytes + r.len > Math.min(SPARE_BYTES, this.#allocator.size / 64)) {
      this.#allocator.free(r.addr);
    } else {
      let list = this.#spare.get(r.len);
      if (list === undefined) {
        list = [];
        this.#spare.set(r.len, list);
      }
      list.push(r);
      this.#spareBytes += r.len;
    }
    this.#liveData--;
    this.#admitWaiters();
  }

  /** Hands memory to the waiting transfers in order, as far as it goes. */
  #admitWaiters(): void {
    while (this.#memoryWaiters.length > 0) {
      const w = this.#memoryWaiters[0] as MemoryWaiter;
      const got = this.#tryAlloc(w.bytes);
      if (got === undefined) {
        // Nothing left to wait for: nothing of ours will be freed again.
        if (this.#liveData > 0) break;
        this.#memoryWaiters.shift();
        w.resolve('never-fits');
        continue;
      }
      this.#memoryWaiters.shift();
      w.resolve(got);
    }
  }

  /** Holds a data buffer the device may still write (its ring broke under it) until {@link unfence}. */
  quarantine(r: GuestRange): void {
    this.#quarantine.push(r);
  }

  /** A device reset begins: spares go back to the allocator, and transfers waiting for memory give up ('fenced'). */
  fence(): void {
    this.#fenced = true;
    this.#returnSpares();
    for (const w of this.#memoryWaiters.splice(0)) w.resolve('fenced');
  }

  /** The device reset is over: quarantined buffers are safe to reuse now. */
  unfence(): void {
    this.#fenced = false;
    for (const r of this.#quarantine.splice(0)) this.free(r);
  }

  #tryAlloc(bytes: number): GuestRange[] | undefined {
    const seg = this.#limits.segmentBytes;
    if (bytes <= seg) {
      // One segment (nearly every transfer): no list to grow.
      const r = this.#allocSegment(bytes);
      if (r === undefined) return undefined;
      this.#liveData += 1;
      return [r];
    }
    const out: GuestRange[] = [];
    for (let at = 0; at < bytes; at += seg) {
      const r = this.#allocSegment(Math.min(seg, bytes - at));
      if (r === undefined) {
        for (const got of out) this.#allocator.free(got.addr);
        return undefined;
      }
      out.push(r);
    }
    this.#liveData += out.length;
    return out;
  }

  /** One data buffer: a spare of that length, else the allocator's (after the spares went back, if it had no room). */
  #allocSegment(len: number): GuestRange | undefined {
    const spare = this.#spare.get(len)?.pop();
    if (spare !== undefined) {
      this.#spareBytes -= len;
      return spare;
    }
    const r = this.#allocator.alloc(len, DATA_ALIGN);
    if (r !== undefined || this.#spareBytes === 0) return r;
    this.#returnSpares();
    return this.#allocator.alloc(len, DATA_ALIGN);
  }

  #returnSpares(): void {
    for (const list of this.#spare.values()) for (const r of list) this.#allocator.free(r.addr);
    this.#spare.clear();
    this.#spareBytes = 0;
  }
}
