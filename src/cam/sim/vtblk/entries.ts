// What the vtblk SIM keeps for each XPT_SCSI_IO CCB it holds: one it is
// working on (Active), or one it handed back unstarted whose completion has
// not run yet (GivenBack). The entry records the recovery that took the CCB
// over (recovery.ts) and the aborts that marked it (aborts.ts).

import type { Ccb } from '../../xpt/sim-api.js';
import type { ActiveCcb } from './active.js';

/** A recovery in progress: the CCBs it took over, and the XPT_ABORT / XPT_RESET_* CCBs to complete when done. */
export interface Recovery {
  readonly entries: Active[];
  readonly requesters: Ccb[];
}

/** A PREEMPT AND ABORT's or task management function's wait for the CCBs it aborted here. */
export interface AbortWait {
  pending: number;
  resolve: () => void;
}

/** A CCB the SIM is working on. */
export interface Active extends ActiveCcb {
  /** Set once a recovery took the CCB over; `final` is what it will complete with. */
  captured: Recovery | undefined;
  final: number;
  /** Set once PREEMPT AND ABORT or task management aborted it: it completes aborted (#finishAborted), and these waits learn of it. */
  aborted: AbortWait[] | undefined;
  /** The SCSI status it then completes with (TASK ABORTED, TAS 1); absent: CAM_REQ_ABORTED, no status. */
  abortStatus?: number;
  /** Set on the PREEMPT AND ABORT itself while it waits for what it aborted. */
  awaits: AbortWait | undefined;
  /** Data-Out bytes the command takes (what a GOOD answer leaves of the CCB's Data-Out). */
  taken: number;
}

/** A CCB handed back unstarted (DeferredCompletions.giveBack, deferred.ts) until its completion runs. */
export interface GivenBack extends ActiveCcb {
  /** Set once PREEMPT AND ABORT, task management or XPT_ABORT (no wait then) aborted it: it completes aborted, and these waits learn of it. */
  aborted: AbortWait[] | undefined;
  abortStatus?: number;
}
