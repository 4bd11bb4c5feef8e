// Device-side ring shortage, as the vtblk SIM sees it before it starts an
// XPT_SCSI_IO: descriptors missing from a ring that the block set's own
// charges do not explain (the device, or another user of the queue, holds
// them). The devq budget (budget.ts) counts only the SIM's own requests, so
// this is the one way the SIM learns that a ring is fuller than the budget
// says; it then answers QUEUE FULL (SAM-5 TASK SET FULL, CAM_REQUEUE_REQ) for
// a command that does not fit. Spec: VIRTIO 1.2 §2.7 (split virtqueues),
// §5.2.2 (request queues).

import type { VirtioBlkDriver } from '../../../virtio/blk-driver.js';
import type { VirtioBlockCommandSet } from './translate.js';

/**
 * When some queue has fewer descriptors free than our own requests leave on
 * it (someone holds descriptors we do not account for), the most room any one
 * queue has (free, and no more than our charges leave), else undefined. The
 * command is then CAM's QUEUE FULL only if it does not fit in that room; a
 * shortage that still leaves room for it is not a full ring, and the command
 * goes ahead, to the roomiest queue (the block set picks by the same
 * measure). Runs for every CCB: one pass over the queues, nothing allocated.
 */
export function unexpectedlyFree(driver: VirtioBlkDriver, bcs: VirtioBlockCommandSet): number | undefined {
  let short = false;
  let room = 0;
  for (let q = 0; q < bcs.queueCount; q++) {
    const free = driver.freeDescriptors(q);
    const expected = bcs.ringSize(q) - bcs.heldOn(q);
    if (free < expected) short = true;
    room = Math.max(room, Math.min(free, expected));
  }
  return short ? room : undefined;
}
