// Split virtqueue, what the driver side and the device side share. Spec: VIRTIO 1.2 §2.7.
//
// Both sides keep their private state (free list, tokens, shadow indices) in
// TypeScript fields, never in ring memory: ring memory is shared with a peer
// that may be buggy or hostile, so it is written to be read, never read back to
// decide something we already knew.
//
// Memory ordering (§2.7.13 "Supplying Buffers to The Device", §2.7.14
// "Receiving Used Buffers From The Device"): every ring index and every
// event/flags field is accessed with Atomics on a Uint16Array alias. Atomics
// are sequentially consistent, so a plain store to a descriptor or ring entry
// that precedes an `Atomics.store` of the index is visible to a peer that
// `Atomics.load`s that index and sees the new value (the analogue of
// virtio_wmb before the idx store, virtio_rmb after the idx load, and
// virtio_mb between publishing and reading the other side's event field).
// On a plain ArrayBuffer the same calls are merely ordinary accesses.
//
// Why a notification cannot be lost when driver and device run on different
// threads (transport `worker`): each side stores its own index (avail.idx,
// used.idx) and then loads the other's event field (avail_event, used_event),
// while the other side stores that event field and then re-loads the index
// (enableNotifications / enableInterrupts re-check). All four accesses are
// Atomics, hence in one total order: if the publisher's load missed the new
// event value, the re-check that follows the event store comes later in that
// order and sees the published index, so the sleeping side goes on working
// instead of waiting for a kick or an interrupt nobody sends. The doorbell and
// interrupt counters themselves (transport/worker-signals.ts) are Atomics.add
// before Atomics.notify, and every waiter reads the counter before it drains
// the ring and waits on that value, so a bump between the two is seen.
//
// This module owns what both sides share: the little-endian host check, the
// areas' guest addresses and sizes, and the check of a queue configuration.
// The driver side is split-ring-driver.ts, the device side split-ring-device.ts.

import type { GuestMemory } from './guest-memory.js';
import { VirtqAlign, VirtqAvail, VirtqDesc, VirtqUsed, isValidQueueSize } from './ring-layout.js';

if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) {
  // The Atomics aliases of both sides read le16 fields in host order.
  throw new Error('vtcam virtio rings require a little-endian host');
}

/** Guest addresses of the three areas of one split virtqueue (§2.7: they need not be contiguous). */
export interface SplitRingAddrs {
  readonly desc: number;
  readonly avail: number;
  readonly used: number;
}

/** Bytes each area occupies for a queue of `qsz` entries (with the event fields). */
export function splitRingAreaSizes(qsz: number): { desc: number; avail: number; used: number } {
  return {
    desc: VirtqDesc.SIZE * qsz,
    avail: VirtqAvail.ring + VirtqAvail.ENTRY_SIZE * qsz + 2,
    used: VirtqUsed.ring + VirtqUsed.ENTRY_SIZE * qsz + 2,
  };
}

/**
 * Checks a queue's size and area addresses against the memory: a reason string
 * when they are unusable, undefined when fine. Used by the device to refuse a
 * bad queue configuration instead of faulting later.
 */
export function checkSplitRing(mem: GuestMemory, qsz: number, addrs: SplitRingAddrs): string | undefined {
  if (!isValidQueueSize(qsz)) return `queue size ${qsz} is not a power of two in 1..32768`;
  const sizes = splitRingAreaSizes(qsz);
  for (const area of ['desc', 'avail', 'used'] as const) {
    const addr = addrs[area];
    if (addr % VirtqAlign[area] !== 0) return `${area} area at ${addr} is not ${VirtqAlign[area]}-byte aligned`;
    if (!mem.contains(addr, sizes[area])) return `${area} area [${addr}, +${sizes[area]}) is outside guest memory (${mem.size} bytes)`;
  }
  return undefined;
}

/** Throws RangeError with {@link checkSplitRing}'s reason: a ring built on a bad configuration is a caller bug. */
export function assertRing(mem: GuestMemory, qsz: number, addrs: SplitRingAddrs): void {
  const why = checkSplitRing(mem, qsz, addrs);
  if (why !== undefined) throw new RangeError(why);
}
