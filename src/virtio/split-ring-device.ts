// Split virtqueue, device side. Spec: VIRTIO 1.2 §2.7 (descriptor chains
// §2.7.4-§2.7.5, available ring §2.7.6, used ring §2.7.8, available buffer
// notification suppression §2.7.10).
// Memory ordering and why no notification is lost: see split-ring.ts.

import type { GuestMemory, GuestRange } from './guest-memory.js';
import {
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
import { assertRing, type SplitRingAddrs } from './split-ring.js';
import { RangeList } from './range-list.js';

/** Options of the device side, from the negotiated features. */
export interface DeviceRingOptions {
  readonly indirect?: boolean;
  readonly eventIdx?: boolean;
}

/**
 * Why a chain cannot be used. `ring` faults mean the ring itself is corrupt
 * (the device must stop and ask for a reset: DEVICE_NEEDS_RESET, §2.1.2);
 * `buffer` faults leave the ring intact and are answered per request.
 */
export type ChainFault =
  | { readonly kind: 'ring'; readonly reason: string }
  | { readonly kind: 'buffer'; readonly reason: string };

/** A chain taken from the available ring. */
export interface AvailChain {
  readonly head: number;
  /** Device-readable buffers, in chain order. */
  readonly readable: readonly GuestRange[];
  /** Device-writable buffers, in chain order. */
  readonly writable: readonly GuestRange[];
  /** Set when some buffer is unusable; the chain must then be answered with an error. */
  readonly fault?: ChainFault;
}

/** Result of {@link SplitVirtqDevice.pop}: a chain, nothing pending, or a corrupt ring. */
export type PopResult = AvailChain | undefined | { readonly corrupt: string };

/**
 * A chain as {@link SplitVirtqDevice.popView} lends it: the object, its lists
 * and their ranges are the ring's own, overwritten by the next pop.
 */
export interface ChainView {
  readonly head: number;
  readonly readable: readonly GuestRange[];
  readonly writable: readonly GuestRange[];
  readonly fault: ChainFault | undefined;
}

/** Result of {@link SplitVirtqDevice.popView}. */
export type PopViewResult = ChainView | undefined | { readonly corrupt: string };

interface MutableChainView {
  head: number;
  readable: readonly GuestRange[];
  writable: readonly GuestRange[];
  fault: ChainFault | undefined;
}

/**
 * Device side of a split virtqueue: take available chains, validate them, put
 * used buffers back, and decide whether to interrupt. Every descriptor is
 * validated before anything is trusted: index in range, chain bounded (no
 * loops), buffers inside guest memory, readable before writable (§2.7.4.2),
 * indirect tables well-formed (§2.7.5.3).
 */
export class SplitVirtqDevice {
  readonly size: number;
  readonly indirect: boolean;
  readonly eventIdx: boolean;
  readonly #mem: GuestMemory;
  readonly #view: DataView;
  readonly #u16: Uint16Array;
  readonly #addrs: SplitRingAddrs;
  #lastAvail = 0;
  #usedShadow = 0;
  #usedPublished = 0;
  #interrupts = 0;
  #suppressed = 0;
  /** #walk's lists of the chain last popped (what popView lends, what pop copies). */
  readonly #readable = new RangeList();
  readonly #writable = new RangeList();
  readonly #chain: MutableChainView = { head: 0, readable: [], writable: [], fault: undefined };
  /** The descriptor #readDesc read last (fields, not an object per descriptor). */
  #descAddr = 0;
  #descLen = 0;
  #descFlags = 0;
  #descNext = 0;

  constructor(mem: GuestMemory, qsz: number, addrs: SplitRingAddrs, opts: DeviceRingOptions = {}) {
    assertRing(mem, qsz, addrs);
    this.size = qsz;
    this.indirect = opts.indirect ?? false;
    this.eventIdx = opts.eventIdx ?? false;
    this.#mem = mem;
    this.#view = new DataView(mem.buffer);
    this.#u16 = new Uint16Array(mem.buffer);
    this.#addrs = addrs;
  }

  /** Publishes that raised an interrupt, and those the driver suppressed. */
  get interruptStats(): { interrupted: number; suppressed: number } {
    return { interrupted: this.#interrupts, suppressed: this.#suppressed };
  }

  /** Chains the driver has published that the device has not popped yet. */
  get availPending(): number {
    return (Atomics.load(this.#u16, (this.#addrs.avail + VirtqAvail.idx) >> 1) - this.#lastAvail) & 0xffff;
  }

  /**
   * Takes the next available chain. Returns undefined when none is pending and
   * `{ corrupt }` when the ring cannot be trusted any more (avail.idx more than
   * a ring ahead, head or next index out of range, a loop, a malformed
   * indirect table); after that the caller must stop using the queue.
   */
  pop(): PopResult {
    const r = this.popView();
    if (r === undefined || 'corrupt' in r) return r;
    // The caller keeps this one: fresh lists and ranges, not the ring's.
    const chain = { head: r.head, readable: copyRanges(r.readable), writable: copyRanges(r.writable) };
    return r.fault === undefined ? chain : { ...chain, fault: r.fault };
  }

  /**
   * {@link pop} without the copy, for a caller done with the chain before it
   * pops again (the device's request path): the chain, its lists and their
   * ranges are lent, valid until the next pop or popView.
   */
  popView(): PopViewResult {
    const pending = this.availPending;
    if (pending === 0) return undefined;
    if (pending > this.size) return { corrupt: `avail.idx moved ${pending} entries ahead of a ${this.size}-entry ring` };
    // Barrier: the idx load above precedes reading the ring entry and descriptors.
    const slot = this.#lastAvail & (this.size - 1);
    const head = this.#view.getUint16(this.#addrs.avail + VirtqAvail.ring + slot * VirtqAvail.ENTRY_SIZE, true);
    if (head >= this.size) return { corrupt: `avail ring entry ${slot} names head ${head} ≥ queue size ${this.size}` };
    this.#lastAvail = (this.#lastAvail + 1) & 0xffff;
    return this.#walk(head);
  }

  /**
   * Records a used buffer (§2.7.8): `len` is the number of bytes written into
   * the chain's writable buffers. Not visible to the driver until {@link publish}.
   */
  push(head: number, len: number): void {
    const elem = this.#addrs.used + VirtqUsed.ring + (this.#usedShadow & (this.size - 1)) * VirtqUsed.ENTRY_SIZE;
    this.#view.setUint32(elem + VirtqUsedElem.id, head, true);
    this.#view.setUint32(elem + VirtqUsedElem.len, len, true);
    this.#usedShadow = (this.#usedShadow + 1) & 0xffff;
  }

  /**
   * Publishes pushed used buffers with one used.idx store and says whether to
   * interrupt (§2.7.10): with EVENT_IDX when the index crossed used_event,
   * otherwise unless avail.flags has VIRTQ_AVAIL_F_NO_INTERRUPT.
   */
  publish(): boolean {
    const old = this.#usedPublished;
    const now = this.#usedShadow;
    if (old === now) return false;
    // Barrier: used elements are written before idx (seq-cst store).
    Atomics.store(this.#u16, (this.#addrs.used + VirtqUsed.idx) >> 1, now);
    this.#usedPublished = now;
    const interrupt = this.eventIdx
      ? needEvent(Atomics.load(this.#u16, (this.#addrs.avail + VirtqAvail.ring + VirtqAvail.ENTRY_SIZE * this.size) >> 1), now, old)
      : (Atomics.load(this.#u16, (this.#addrs.avail + VirtqAvail.flags) >> 1) & VIRTQ_AVAIL_F_NO_INTERRUPT) === 0;
    if (interrupt) this.#interrupts++;
    else this.#suppressed++;
    return interrupt;
  }

  /** Asks the driver not to notify while the device is already processing (§2.7.10). */
  disableNotifications(): void {
    if (!this.eventIdx) Atomics.store(this.#u16, (this.#addrs.used + VirtqUsed.flags) >> 1, VIRTQ_USED_F_NO_NOTIFY);
    // With EVENT_IDX, leaving avail_event behind lastAvail suppresses notifications by itself.
  }

  /**
   * Asks to be notified of the next publish. Returns true when chains are
   * already pending, so the device must keep processing instead of sleeping.
   */
  enableNotifications(): boolean {
    if (this.eventIdx) Atomics.store(this.#u16, (this.#addrs.used + VirtqUsed.ring + VirtqUsed.ENTRY_SIZE * this.size) >> 1, this.#lastAvail);
    else Atomics.store(this.#u16, (this.#addrs.used + VirtqUsed.flags) >> 1, 0);
    return this.availPending > 0;
  }

  #walk(head: number): PopViewResult {
    const readable = this.#readable;
    const writable = this.#writable;
    readable.clear();
    writable.clear();
    let fault: ChainFault | undefined;
    let table = this.#addrs.desc;
    let entries = this.size;
    let inIndirect = false;
    let idx = head;
    // §2.7.5.3.1: a chain, indirect entries included, is at most queue-size
    // descriptors long. Counting against that bound also catches loops, with
    // work bounded by the ring, not by the size of a hostile indirect table.
    for (let count = 0; ; ) {
      this.#readDesc(table, idx);
      const addr = this.#descAddr;
      const len = this.#descLen;
      const flags = this.#descFlags;
      const next = this.#descNext;
      if ((flags & VIRTQ_DESC_F_INDIRECT) !== 0) {
        // §2.7.5.3.2: a (direct) chain may end in one indirect descriptor; its WRITE flag is ignored.
        if (inIndirect) return { corrupt: `indirect table of head ${head} nests another indirect descriptor (§2.7.5.3.1)` };
        if (!this.indirect) return { corrupt: `head ${head} uses an indirect descriptor but VIRTIO_F_INDIRECT_DESC was not negotiated` };
        if ((flags & VIRTQ_DESC_F_NEXT) !== 0) return { corrupt: `descriptor ${idx} of head ${head} sets both INDIRECT and NEXT (§2.7.5.3.1)` };
        if (len === 0 || len % VirtqDesc.SIZE !== 0) return { corrupt: `indirect table of head ${head} has length ${len}, not a non-zero multiple of 16` };
        // §2.7.5.3: the table may be "anywhere in memory"; the 16-byte alignment of §2.7 is the queue's own descriptor table's.
        if (!this.#mem.contains(addr, len)) return { corrupt: `indirect table of head ${head} at [${addr}, +${len}) is outside guest memory` };
        table = addr;
        entries = len / VirtqDesc.SIZE;
        inIndirect = true;
        idx = 0;
        continue;
      }
      if (++count > this.size) return { corrupt: `chain of head ${head} is longer than the queue size ${this.size} (a loop?)` };
      if ((flags & VIRTQ_DESC_F_WRITE) !== 0) {
        writable.add(addr, len);
      } else {
        if (writable.length > 0) fault ??= { kind: 'buffer', reason: `descriptor ${idx} is device-readable after a device-writable one (§2.7.4.2)` };
        readable.add(addr, len);
      }
      if (!this.#mem.contains(addr, len)) {
        fault ??= { kind: 'buffer', reason: `descriptor ${idx} buffer [${addr}, +${len}) is outside guest memory` };
      }
      if ((flags & VIRTQ_DESC_F_NEXT) === 0) break;
      if (next >= entries) return { corrupt: `descriptor ${idx} of head ${head} links to ${next}, beyond ${entries} entries` };
      idx = next;
    }
    const chain = this.#chain;
    chain.head = head;
    chain.readable = readable.ranges();
    chain.writable = writable.ranges();
    chain.fault = fault;
    return chain;
  }

  /** Reads descriptor `i` of the table at `table` into the #desc* fields. */
  #readDesc(table: number, i: number): void {
    const at = table + i * VirtqDesc.SIZE;
    const v = this.#view;
    const lo = v.getUint32(at + VirtqDesc.addr, true);
    const hi = v.getUint32(at + VirtqDesc.addr + 4, true);
    // Above 2^53 the address is certainly outside guest memory; keep it unsafe so contains() rejects it.
    this.#descAddr = hi >= 0x200000 ? Number.MAX_VALUE : hi * 0x1_0000_0000 + lo;
    this.#descLen = v.getUint32(at + VirtqDesc.len, true);
    this.#descFlags = v.getUint16(at + VirtqDesc.flags, true);
    this.#descNext = v.getUint16(at + VirtqDesc.next, true);
  }
}

function copyRanges(ranges: readonly GuestRange[]): GuestRange[] {
  return ranges.map((r) => ({ addr: r.addr, len: r.len }));
}
