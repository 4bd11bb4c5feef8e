// Split virtqueue, device side. Spec: VIRTIO 1.2 §2.7 (descriptor chains
// §2.7.4-§2.7.5, available ring §2.7.6, used ring §2.7.8, available buffer
// notification suppression §2.7.10).
// Memory ordering and why no notification is lost: see split-ring.ts.

import type { GuestMemory, GuestRange } from './guest-memory.js';
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
import { assertRing, type SplitRingAddrs } from './split-ring.js';

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
  /** #walk's working lists (see there). */
  readonly #readable: GuestRange[] = [];
  readonly #writable: GuestRange[] = [];

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

  #walk(head: number): PopResult {
    // Collected in arrays reused from walk to walk (written by index: setting
    // an array's length is a slow builtin), then copied at their exact length:
    // an array grown from empty reserves 17 slots, and a chain has 3.
    const readable = this.#readable;
    const writable = this.#writable;
    let nr = 0;
    let nw = 0;
    let fault: ChainFault | undefined;
    let table = this.#addrs.desc;
    let entries = this.size;
    let inIndirect = false;
    let idx = head;
    // §2.7.5.3.1: a chain, indirect entries included, is at most queue-size
    // descriptors long. Counting against that bound also catches loops, with
    // work bounded by the ring, not by the size of a hostile indirect table.
    for (let count = 0; ; ) {
      const d = this.#readDesc(table, idx);
      if ((d.flags & VIRTQ_DESC_F_INDIRECT) !== 0) {
        // §2.7.5.3.2: a (direct) chain may end in one indirect descriptor; its WRITE flag is ignored.
        if (inIndirect) return { corrupt: `indirect table of head ${head} nests another indirect descriptor (§2.7.5.3.1)` };
        if (!this.indirect) return { corrupt: `head ${head} uses an indirect descriptor but VIRTIO_F_INDIRECT_DESC was not negotiated` };
        if ((d.flags & VIRTQ_DESC_F_NEXT) !== 0) return { corrupt: `descriptor ${idx} of head ${head} sets both INDIRECT and NEXT (§2.7.5.3.1)` };
        if (d.len === 0 || d.len % VirtqDesc.SIZE !== 0) return { corrupt: `indirect table of head ${head} has length ${d.len}, not a non-zero multiple of 16` };
        if (d.addr % VirtqAlign.desc !== 0 || !this.#mem.contains(d.addr, d.len)) {
          return { corrupt: `indirect table of head ${head} at [${d.addr}, +${d.len}) is misaligned or outside guest memory` };
        }
        table = d.addr;
        entries = d.len / VirtqDesc.SIZE;
        inIndirect = true;
        idx = 0;
        continue;
      }
      if (++count > this.size) return { corrupt: `chain of head ${head} is longer than the queue size ${this.size} (a loop?)` };
      const range = { addr: d.addr, len: d.len };
      if ((d.flags & VIRTQ_DESC_F_WRITE) !== 0) {
        writable[nw++] = range;
      } else {
        if (nw > 0) fault ??= { kind: 'buffer', reason: `descriptor ${idx} is device-readable after a device-writable one (§2.7.4.2)` };
        readable[nr++] = range;
      }
      if (!this.#mem.contains(d.addr, d.len)) {
        fault ??= { kind: 'buffer', reason: `descriptor ${idx} buffer [${d.addr}, +${d.len}) is outside guest memory` };
      }
      if ((d.flags & VIRTQ_DESC_F_NEXT) === 0) break;
      if (d.next >= entries) return { corrupt: `descriptor ${idx} of head ${head} links to ${d.next}, beyond ${entries} entries` };
      idx = d.next;
    }
    const chain = { head, readable: readable.slice(0, nr), writable: writable.slice(0, nw) };
    return fault === undefined ? chain : { ...chain, fault };
  }

  #readDesc(table: number, i: number): { addr: number; len: number; flags: number; next: number } {
    const at = table + i * VirtqDesc.SIZE;
    const v = this.#view;
    const lo = v.getUint32(at + VirtqDesc.addr, true);
    const hi = v.getUint32(at + VirtqDesc.addr + 4, true);
    // Above 2^53 the address is certainly outside guest memory; keep it unsafe so contains() rejects it.
    const addr = hi >= 0x200000 ? Number.MAX_VALUE : hi * 0x1_0000_0000 + lo;
    return { addr, len: v.getUint32(at + VirtqDesc.len, true), flags: v.getUint16(at + VirtqDesc.flags, true), next: v.getUint16(at + VirtqDesc.next, true) };
  }
}
