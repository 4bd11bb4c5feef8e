// Aborting CCBs that still wait in a device queue (FreeBSD XPT_ABORT of a
// queued CCB in xpt_action_default): one by XPT_ABORT, or the commands of
// some I_T nexuses by PREEMPT AND ABORT and task management. A CCB already
// active is the SIM's to abort (its recovery), so only the waiting ones end
// here. Its own module because none of it runs per I/O; the queue (devq.ts)
// hands it the waiting CCBs and the two steps of completing one through
// WaitingCcbs, so its own completion path pays nothing for the split.

import type { ScsiIoCcb } from './ccb.js';
import { CamStatus } from './status.js';
import type { CamQueue } from './queue.js';
import type { AbortOutcome } from './devq-api.js';
import { entryOf, type DevqEntry } from './devq-entry.js';
import type { OrderedFence } from './devq-fence.js';
import type { DeviceQueue } from './devq.js';

/** A device queue's waiting CCBs as its aborts reach them. */
export interface WaitingCcbs {
  readonly owner: DeviceQueue;
  /** What is free to run. */
  readonly queue: CamQueue<DevqEntry>;
  /** What waits behind an ORDERED CCB. */
  readonly fence: OrderedFence;
  /** Sets the final status (an error one freezes the queue for the periph). */
  readonly settle: (e: DevqEntry, status: number) => void;
  /** Runs the queue, then hands the CCB back. */
  readonly deliver: (e: DevqEntry) => void;
}

/** XPT_ABORT of `ccb`: one still waiting completes CAM_REQ_ABORTED now; an active one is the SIM's. */
export function abortQueued(w: WaitingCcbs, ccb: ScsiIoCcb): AbortOutcome {
  const e = entryOf(ccb);
  if (e?.queue !== w.owner) return 'unknown';
  if (e.activeIndex >= 0) return 'active';
  withdraw(w, e);
  w.settle(e, CamStatus.REQ_ABORTED);
  w.deliver(e);
  return 'aborted';
}

/**
 * Aborts the waiting CCBs `match` picks (PREEMPT AND ABORT, task management:
 * the commands of some I_T nexuses): each completes CAM_REQ_ABORTED now, as
 * XPT_ABORT completes one (freezing the queue for its periph), or with
 * `scsiStatus` CAM_SCSI_STATUS_ERROR with that SCSI status (TASK ABORTED),
 * in queue order; the others keep their order. Returns the aborted CCBs.
 * `match` sees the queue intact: if it throws, nothing is aborted and the
 * queue is as it was.
 */
export function abortWaiting(w: WaitingCcbs, match: (ccb: ScsiIoCcb) => boolean, scsiStatus?: number): ScsiIoCcb[] {
  if (w.queue.size === 0 && w.fence.size === 0) return [];
  // A snapshot in run order, put back before `match` runs. Inserted in run order, no entry moves up; each
  // keeps its priority and generation, and so its place. Behind the free ones, those the fence holds.
  const free = w.queue.drain();
  for (const e of free) w.queue.insert(e);
  const aborted = [...free, ...w.fence.entries()].filter((e) => match(e.ccb));
  for (const e of aborted) withdraw(w, e);
  for (const e of aborted) {
    if (scsiStatus !== undefined) e.ccb.scsiStatus = scsiStatus;
    w.settle(e, scsiStatus === undefined ? CamStatus.REQ_ABORTED : CamStatus.SCSI_STATUS_ERROR);
  }
  for (const e of aborted) w.deliver(e);
  return aborted.map((e) => e.ccb);
}

/** Takes waiting `e` out of the heap or the fence (an ORDERED CCB's leaving frees what it held back). */
function withdraw(w: WaitingCcbs, e: DevqEntry): void {
  if (w.queue.has(e)) w.queue.remove(e);
  else if (!w.fence.remove(e, w.queue)) throw new Error('devq abort: a waiting CCB is neither queued nor held behind an ORDERED CCB');
}
