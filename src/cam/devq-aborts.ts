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
import type { DeviceQueue } from './devq.js';

/** A device queue's waiting CCBs as its aborts reach them. */
export interface WaitingCcbs {
  readonly owner: DeviceQueue;
  readonly queue: CamQueue<DevqEntry>;
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
  w.queue.remove(e);
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
  if (w.queue.size === 0) return [];
  // A snapshot in run order, put back before `match` runs. Inserted in run order, no entry moves up; each
  // keeps its priority and generation, and so its place.
  const waiting = w.queue.drain();
  for (const e of waiting) w.queue.insert(e);
  const aborted = waiting.filter((e) => match(e.ccb));
  for (const e of aborted) w.queue.remove(e);
  for (const e of aborted) {
    if (scsiStatus !== undefined) e.ccb.scsiStatus = scsiStatus;
    w.settle(e, scsiStatus === undefined ? CamStatus.REQ_ABORTED : CamStatus.SCSI_STATUS_ERROR);
  }
  for (const e of aborted) w.deliver(e);
  return aborted.map((e) => e.ccb);
}
