// Split virtqueue layout. Spec: VIRTIO 1.2 §2.7 (Split Virtqueues):
// descriptor table §2.7.5, available ring §2.7.6, used ring §2.7.8.
// The only module that computes ring offsets.

/** struct virtq_desc: le64 addr; le32 len; le16 flags; le16 next. */
export const VirtqDesc = { addr: 0, len: 8, flags: 12, next: 14, SIZE: 16 } as const;

/** struct virtq_avail: le16 flags; le16 idx; le16 ring[qsz]; le16 used_event. */
export const VirtqAvail = { flags: 0, idx: 2, ring: 4, ENTRY_SIZE: 2 } as const;

/** struct virtq_used: le16 flags; le16 idx; struct virtq_used_elem ring[qsz]; le16 avail_event. */
export const VirtqUsed = { flags: 0, idx: 2, ring: 4, ENTRY_SIZE: 8 } as const;

/** struct virtq_used_elem: le32 id; le32 len. */
export const VirtqUsedElem = { id: 0, len: 4 } as const;

// §2.7.5: descriptor flags.
export const VIRTQ_DESC_F_NEXT = 1;
export const VIRTQ_DESC_F_WRITE = 2;
export const VIRTQ_DESC_F_INDIRECT = 4;
// §2.7.7: the driver asks the device not to interrupt.
export const VIRTQ_AVAIL_F_NO_INTERRUPT = 1;
// §2.7.10: the device asks the driver not to notify.
export const VIRTQ_USED_F_NO_NOTIFY = 1;

/** §2.7 "Alignment requirements": desc 16, avail 2, used 4. */
export const VirtqAlign = { desc: 16, avail: 2, used: 4 } as const;

/** Largest queue size a split virtqueue may have (§2.7: "Queue Size … maximum 32768"). */
export const VIRTQ_MAX_SIZE = 32768;

/** Byte offsets of each part of a contiguous split ring, relative to its start. */
export interface SplitRingLayout {
  readonly desc: number;
  readonly avail: number;
  readonly usedEvent: number;
  readonly used: number;
  readonly availEvent: number;
  /** Total bytes from `desc` to the end of `avail_event`. */
  readonly size: number;
}

export const isValidQueueSize = (qsz: number): boolean =>
  Number.isInteger(qsz) && qsz >= 1 && qsz <= VIRTQ_MAX_SIZE && (qsz & (qsz - 1)) === 0;

/** A power of two small enough for 32-bit bit tests (2^30 at most); rejects NaN, Infinity and fractions. */
export const isPowerOfTwo = (n: number): boolean => Number.isInteger(n) && n >= 1 && n <= 2 ** 30 && (n & (n - 1)) === 0;

const alignUp = (n: number, a: number): number => Math.ceil(n / a) * a;

/**
 * Offsets of the legacy contiguous layout (§2.7.2 "Legacy Interfaces"; the same
 * arithmetic as Linux `vring_init`/`vring_size`), with the used ring aligned to
 * `usedAlign`. Modern transports may place the three areas anywhere; this gives
 * one valid placement.
 */
export function splitRingLayout(qsz: number, usedAlign = 4): SplitRingLayout {
  if (!isValidQueueSize(qsz)) throw new RangeError(`queue size must be a power of two in 1..${VIRTQ_MAX_SIZE}, got ${qsz}`);
  if (!isPowerOfTwo(usedAlign) || usedAlign < VirtqAlign.used) throw new RangeError(`used ring alignment must be a power of two ≥ 4, got ${usedAlign}`);
  const avail = VirtqDesc.SIZE * qsz;
  const usedEvent = avail + VirtqAvail.ring + VirtqAvail.ENTRY_SIZE * qsz;
  const used = alignUp(usedEvent + 2, usedAlign);
  const availEvent = used + VirtqUsed.ring + VirtqUsed.ENTRY_SIZE * qsz;
  return { desc: 0, avail, usedEvent, used, availEvent, size: availEvent + 2 };
}

/**
 * §2.7.10 / Linux `vring_need_event`: with VIRTIO_F_EVENT_IDX, notify when the
 * index moved from `old` to `next` across `event`. All arithmetic is mod 2^16.
 */
export const needEvent = (event: number, next: number, old: number): boolean =>
  ((next - event - 1) & 0xffff) < ((next - old) & 0xffff);
