// Split virtqueue, driver side. Spec: VIRTIO 1.2 §2.7 (supplying buffers
// §2.7.13, receiving used buffers §2.7.14, used buffer notification
// suppression §2.7.7).
// Memory ordering and why no notification is lost: see split-ring.ts.

import type { GuestMemory } from './guest-memory.js';
import type { GuestAllocator } from './guest-allocator.js';
import {
  VirtqAlign,
  VirtqAvail,
  VirtqDesc,
  VirtqUsed,
  VirtqUsedElem,
  VIRTQ_AVAIL_F_NO_INTERRUPT,
  VIRTQ_DESC_F_INDIRECT,
  VIRTQ_DESC_F_NEXT,
  VIRTQ_DESC_F_WRITE,
  VIRTQ_USED_F_NO_NOTIFY,
  needEvent,
} from './ring-layout.js';
import { assertRing, splitRingAreaSizes, type SplitRingAddrs } from './split-ring.js';

/** A buffer handed to the device: guest range plus direction (`write`: the device writes it). */
export interface VirtqBuffer {
  readonly addr: number;
  readonly len: number;
  readonly write: boolean;
}

/** Options of the driver side, from the negotiated features. */
export interface DriverRingOptions {
  /** VIRTIO_F_INDIRECT_DESC negotiated: multi-buffer requests may use one ring slot. */
  readonly indirect?: boolean;
  /** VIRTIO_F_EVENT_IDX negotiated: used_event / avail_event suppression. */
  readonly eventIdx?: boolean;
  /** Where indirect tables come from (required with `indirect`). */
  readonly allocator?: GuestAllocator;
  /** Longest indirect table the driver builds (default qsz). */
  readonly indirectMax?: number;
}

/** A used-ring entry handed back to the driver. */
export interface UsedBuffer<T> {
  readonly token: T;
  /** Bytes the device says it wrote (used_elem.len). */
  readonly len: number;
}

const NO_CHAIN = 0xffff;

/**
 * Driver side of a split virtqueue: add buffers, publish them in batches, take
 * back used buffers. Cf. Linux drivers/virtio/virtio_ring.c (split part) and
 * FreeBSD sys/dev/virtio/virtqueue.c.
 */
export class SplitVirtqDriver<T> {
  readonly size: number;
  readonly indirect: boolean;
  readonly eventIdx: boolean;
  readonly #mem: GuestMemory;
  readonly #view: DataView;
  readonly #u16: Uint16Array;
  readonly #addrs: SplitRingAddrs;
  readonly #allocator: GuestAllocator | undefined;
  readonly #indirectMax: number;
  /** Private free list and chain links (never read back from ring memory). */
  readonly #next: Uint16Array;
  #freeHead = 0;
  #numFree: number;
  /** Per head: token, descriptors charged, indirect table address (-1 when direct). */
  readonly #tokens: (T | undefined)[];
  readonly #cost: Uint16Array;
  readonly #table: Float64Array;
  /**
   * Freed indirect tables by entry count, reused before asking the allocator:
   * a first-fit allocation per request costs more than the rest of add().
   */
  readonly #tableCache = new Map<number, number[]>();
  readonly #tableLen: Uint16Array;
  /** Next avail index to fill, and the one last published. */
  #availShadow = 0;
  #availPublished = 0;
  #lastUsed = 0;
  /** used_elem.len of the buffer takeUsed returned last. */
  #usedLen = 0;
  #inFlight = 0;
  #broken: string | undefined;
  #notifications = 0;
  #suppressed = 0;

  constructor(mem: GuestMemory, qsz: number, addrs: SplitRingAddrs, opts: DriverRingOptions = {}) {
    assertRing(mem, qsz, addrs);
    if (opts.indirect === true && opts.allocator === undefined) throw new RangeError('indirect descriptors need an allocator for their tables');
    this.size = qsz;
    this.indirect = opts.indirect ?? false;
    this.eventIdx = opts.eventIdx ?? false;
    this.#mem = mem;
    this.#view = new DataView(mem.buffer);
    this.#u16 = new Uint16Array(mem.buffer);
    this.#addrs = addrs;
    this.#allocator = opts.allocator;
    this.#indirectMax = opts.indirectMax ?? qsz;
    // §2.7.5.3.1: no chain, indirect or not, may be longer than the queue.
    if (!Number.isInteger(this.#indirectMax) || this.#indirectMax < 1 || this.#indirectMax > qsz) {
      throw new RangeError(`indirectMax must be 1..${qsz} (the queue size), got ${this.#indirectMax}`);
    }
    this.#next = new Uint16Array(qsz);
    for (let i = 0; i < qsz; i++) this.#next[i] = i + 1 < qsz ? i + 1 : NO_CHAIN;
    this.#numFree = qsz;
    this.#tokens = new Array<T | undefined>(qsz).fill(undefined);
    this.#cost = new Uint16Array(qsz);
    this.#table = new Float64Array(qsz).fill(-1);
    this.#tableLen = new Uint16Array(qsz);
    // A fresh ring: idx fields and flags zero, used_event 0.
    mem.fill(addrs.desc, splitRingAreaSizes(qsz).desc);
    mem.fill(addrs.avail, splitRingAreaSizes(qsz).avail);
    mem.fill(addrs.used, splitRingAreaSizes(qsz).used);
  }

  /** Free descriptors in the table. */
  get numFree(): number {
    return this.#numFree;
  }

  /** Requests added and not yet taken back. */
  get inFlight(): number {
    return this.#inFlight;
  }

  /** Why the ring was declared broken (device misbehaved), or undefined. */
  get broken(): string | undefined {
    return this.#broken;
  }

  /** Freed indirect tables kept for reuse (still allocated from the guest allocator). */
  get cachedIndirectTables(): number {
    let n = 0;
    for (const list of this.#tableCache.values()) n += list.length;
    return n;
  }

  /** Publishes that asked for a notification, and those the device suppressed. */
  get notifyStats(): { notified: number; suppressed: number } {
    return { notified: this.#notifications, suppressed: this.#suppressed };
  }

  /** Used entries the device has published that the driver has not taken yet. */
  get usedPending(): number {
    return (Atomics.load(this.#u16, (this.#addrs.used + VirtqUsed.idx) >> 1) - this.#lastUsed) & 0xffff;
  }

  /**
   * Descriptors a request of `buffers` buffers costs: 1 when it goes indirect,
   * else one per buffer. (Linux uses indirect only for more than one buffer.)
   */
  descriptorCost(buffers: number): number {
    return this.indirect && buffers > 1 && buffers <= this.#indirectMax ? 1 : buffers;
  }

  /**
   * How many more requests of `buffers` buffers fit in the descriptor table now.
   * Counts descriptors only: when the allocator cannot supply an indirect table,
   * add() falls back to a direct chain and may still find no room.
   */
  fits(buffers: number): number {
    if (this.#broken !== undefined || buffers < 1) return 0;
    return Math.floor(this.#numFree / this.descriptorCost(buffers));
  }

  /**
   * Adds one chain: device-readable buffers first, then device-writable ones
   * (§2.7.4.2 "The driver MUST place any device-writable descriptor elements
   * after any device-readable descriptor elements"). Returns the head index, or
   * undefined when the ring has no room. Not visible to the device until
   * {@link publish}.
   */
  add(buffers: readonly VirtqBuffer[], token: T): number | undefined {
    const n = buffers.length;
    if (n === 0) throw new RangeError('a virtqueue request needs at least one buffer');
    // undefined marks a free head in #tokens; as a token it would be lost.
    if (token === undefined) throw new RangeError('a virtqueue token must not be undefined');
    let seenWrite = false;
    for (const b of buffers) {
      if (!this.#mem.contains(b.addr, b.len) || b.len > 0xffffffff) throw new RangeError(`buffer [${b.addr}, +${b.len}) is outside guest memory`);
      if (b.write) seenWrite = true;
      else if (seenWrite) throw new RangeError('device-readable buffer after a device-writable one');
    }
    // §2.7.5.3.1: no chain, indirect or not, may be longer than the queue; such a chain never fits.
    if (this.#broken !== undefined || n > this.size) return undefined;
    let cost = this.descriptorCost(n);
    // The indirect table's guest address, or -1 for a direct chain.
    let table = -1;
    if (cost === 1 && n > 1) {
      table = this.#allocTable(n);
      // No memory for the table: fall back to a direct chain, as Linux does.
      if (table < 0) cost = n;
    }
    if (cost > this.#numFree) {
      if (table >= 0) this.#freeTable(table, n);
      return undefined;
    }
    const head = this.#freeHead;
    if (table >= 0) {
      for (let i = 0; i < n; i++) {
        const b = buffers[i] as VirtqBuffer;
        this.#writeDesc(table + i * VirtqDesc.SIZE, b.addr, b.len,
          (b.write ? VIRTQ_DESC_F_WRITE : 0) | (i + 1 < n ? VIRTQ_DESC_F_NEXT : 0), i + 1 < n ? i + 1 : 0);
      }
      this.#writeDesc(this.#addrs.desc + head * VirtqDesc.SIZE, table, n * VirtqDesc.SIZE, VIRTQ_DESC_F_INDIRECT, 0);
      this.#freeHead = this.#next[head] ?? NO_CHAIN;
    } else {
      let d = head;
      for (let i = 0; i < n; i++) {
        const b = buffers[i] as VirtqBuffer;
        const next = this.#next[d] ?? NO_CHAIN;
        const last = i + 1 === n;
        this.#writeDesc(this.#addrs.desc + d * VirtqDesc.SIZE, b.addr, b.len,
          (b.write ? VIRTQ_DESC_F_WRITE : 0) | (last ? 0 : VIRTQ_DESC_F_NEXT), last ? 0 : next);
        if (last) this.#freeHead = next;
        d = next;
      }
    }
    this.#numFree -= cost;
    this.#tokens[head] = token;
    this.#cost[head] = cost;
    this.#table[head] = table;
    this.#tableLen[head] = table < 0 ? 0 : n;
    const slot = this.#availShadow & (this.size - 1);
    this.#view.setUint16(this.#addrs.avail + VirtqAvail.ring + slot * VirtqAvail.ENTRY_SIZE, head, true);
    this.#availShadow = (this.#availShadow + 1) & 0xffff;
    this.#inFlight++;
    return head;
  }

  /**
   * Publishes every chain added since the last publish by storing avail.idx once,
   * and says whether the device asked to be notified (§2.7.13.4): with EVENT_IDX
   * when the new index crossed avail_event, otherwise unless used.flags has
   * VIRTQ_USED_F_NO_NOTIFY. Cf. Linux virtqueue_kick_prepare.
   */
  publish(): boolean {
    const old = this.#availPublished;
    const now = this.#availShadow;
    if (old === now) return false;
    // Barrier: ring entries and descriptors are written before idx (seq-cst store).
    Atomics.store(this.#u16, (this.#addrs.avail + VirtqAvail.idx) >> 1, now);
    this.#availPublished = now;
    // Barrier: the idx store above precedes this load of the device's event field.
    const notify = this.eventIdx
      ? needEvent(Atomics.load(this.#u16, (this.#addrs.used + VirtqUsed.ring + VirtqUsed.ENTRY_SIZE * this.size) >> 1), now, old)
      : (Atomics.load(this.#u16, (this.#addrs.used + VirtqUsed.flags) >> 1) & VIRTQ_USED_F_NO_NOTIFY) === 0;
    if (notify) this.#notifications++;
    else this.#suppressed++;
    return notify;
  }

  /**
   * Takes the next used buffer, or undefined when none is pending. A used id
   * that is out of range or not an outstanding head marks the ring broken
   * (the device is untrusted, §2.7.8; Linux BAD_RING) and returns undefined.
   */
  getUsed(): UsedBuffer<T> | undefined {
    const token = this.takeUsed();
    return token === undefined ? undefined : { token, len: this.#usedLen };
  }

  /**
   * {@link getUsed} without the object: the token, with its used_elem.len in
   * {@link usedLen} until the next call.
   */
  takeUsed(): T | undefined {
    if (this.#broken !== undefined) return undefined;
    const usedIdx = Atomics.load(this.#u16, (this.#addrs.used + VirtqUsed.idx) >> 1);
    if (usedIdx === this.#lastUsed) return undefined;
    if (((usedIdx - this.#lastUsed) & 0xffff) > this.#inFlight) {
      this.#broken = `used.idx ${usedIdx} ran ${(usedIdx - this.#lastUsed) & 0xffff} entries ahead with only ${this.#inFlight} in flight`;
      return undefined;
    }
    const elem = this.#addrs.used + VirtqUsed.ring + (this.#lastUsed & (this.size - 1)) * VirtqUsed.ENTRY_SIZE;
    const id = this.#view.getUint32(elem + VirtqUsedElem.id, true);
    const len = this.#view.getUint32(elem + VirtqUsedElem.len, true);
    const token = id < this.size ? this.#tokens[id] : undefined;
    if (token === undefined) {
      this.#broken = `used id ${id} is not an outstanding head`;
      return undefined;
    }
    this.#lastUsed = (this.#lastUsed + 1) & 0xffff;
    this.#release(id);
    this.#usedLen = len;
    return token;
  }

  /** Bytes the device says it wrote (used_elem.len) into the buffer {@link takeUsed} returned last. */
  get usedLen(): number {
    return this.#usedLen;
  }

  /** Asks the device not to interrupt (§2.7.7); with EVENT_IDX, parks used_event far away. */
  disableInterrupts(): void {
    if (this.eventIdx) this.#setUsedEvent((this.#lastUsed - 1) & 0xffff);
    else Atomics.store(this.#u16, (this.#addrs.avail + VirtqAvail.flags) >> 1, VIRTQ_AVAIL_F_NO_INTERRUPT);
  }

  /**
   * Re-enables interrupts for the next used buffer. Returns true when used
   * buffers are already pending, so the caller must drain again instead of
   * waiting (the race Linux virtqueue_enable_cb closes).
   */
  enableInterrupts(): boolean {
    if (this.eventIdx) this.#setUsedEvent(this.#lastUsed);
    else Atomics.store(this.#u16, (this.#addrs.avail + VirtqAvail.flags) >> 1, 0);
    return this.usedPending > 0;
  }

  /**
   * Takes back every outstanding chain without the device (after a device reset):
   * returns their tokens in head order so the caller can complete or requeue them.
   */
  detachAll(): T[] {
    const tokens: T[] = [];
    for (let head = 0; head < this.size; head++) {
      const token = this.#tokens[head];
      if (token === undefined) continue;
      tokens.push(token);
      this.#release(head);
    }
    this.#flushTableCache();
    return tokens;
  }

  /** Returns cached indirect tables to the allocator (detachAll does this too). */
  #flushTableCache(): void {
    for (const list of this.#tableCache.values()) for (const addr of list) this.#allocator?.free(addr);
    this.#tableCache.clear();
  }

  /** An indirect table of `n` entries: its guest address, or -1 when there is no memory for one. */
  #allocTable(n: number): number {
    const cached = this.#tableCache.get(n)?.pop();
    if (cached !== undefined) return cached;
    return this.#allocator?.alloc(n * VirtqDesc.SIZE, VirtqAlign.desc)?.addr ?? -1;
  }

  #freeTable(addr: number, n: number): void {
    let list = this.#tableCache.get(n);
    if (list === undefined) {
      list = [];
      this.#tableCache.set(n, list);
    }
    // Bounded: never more cached tables of one size than the ring has heads.
    if (list.length < this.size) list.push(addr);
    else this.#allocator?.free(addr);
  }

  #setUsedEvent(value: number): void {
    Atomics.store(this.#u16, (this.#addrs.avail + VirtqAvail.ring + VirtqAvail.ENTRY_SIZE * this.size) >> 1, value);
  }

  #writeDesc(at: number, addr: number, len: number, flags: number, next: number): void {
    const v = this.#view;
    v.setUint32(at + VirtqDesc.addr, addr >>> 0, true);
    v.setUint32(at + VirtqDesc.addr + 4, Math.floor(addr / 0x1_0000_0000), true);
    v.setUint32(at + VirtqDesc.len, len, true);
    v.setUint16(at + VirtqDesc.flags, flags, true);
    v.setUint16(at + VirtqDesc.next, next, true);
  }

  /** Returns a head's descriptors to the free list, following our private links. */
  #release(head: number): void {
    const cost = this.#cost[head] ?? 0;
    const table = this.#table[head] ?? -1;
    if (table >= 0) this.#freeTable(table, this.#tableLen[head] ?? 0);
    let tail = head;
    for (let i = 1; i < cost; i++) tail = this.#next[tail] ?? NO_CHAIN;
    this.#next[tail] = this.#freeHead;
    this.#freeHead = head;
    this.#numFree += cost;
    this.#tokens[head] = undefined;
    this.#table[head] = -1;
    this.#inFlight--;
  }
}
