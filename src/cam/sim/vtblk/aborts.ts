// Aborting the vtblk SIM's CCBs for PERSISTENT RESERVE OUT PREEMPT AND ABORT
// and task management (the SBC emulator's TaskAborter). Spec: SPC-5, SAM-5.
//
// PERSISTENT RESERVE OUT PREEMPT AND ABORT (SPC-5; SAM-5 aborting commands)
// aborts the preempted I_T nexuses' CCBs (the emulator's TaskAborter, called
// while the PROUT executes): those waiting in the device queue complete
// CAM_REQ_ABORTED at once (the XPT's abortQueued, as XPT_ABORT does); those
// here may have requests on the ring, which virtio-blk cannot cancel, so they
// are marked and complete CAM_REQ_ABORTED when the device has answered (SAM-5
// lets an aborted command have done part of its work); no device reset. A
// command the emulator carries out in several requests (EXTENDED COPY, WRITE
// SAME, UNMAP, COMPARE AND WRITE, …) sees
// the mark (ExecuteOptions.aborted) and issues no more, so the abort waits for
// the request in flight, not for the rest of the command; a request still
// waiting for guest memory (data-buffers.ts), for an overlapping one
// (overlap-order.ts) or, a FLUSH, for earlier writes (flush-order.ts) before
// the ring is answered unsent, as a CCB waiting in
// the device queue is (a READ's or WRITE's only where the set's queues run on
// several device threads or it left the emulator's fast path: elsewhere it
// carries no abort check, see sim.ts). The
// PROUT completes after all of them. A CCB the SIM has handed back unstarted
// (CAM_REQUEUE_REQ for a ring shortage or a recovery, CAM_UNREC_HBA_ERROR for a
// broken ring) is active in the device queue until that completion runs on a
// later turn: it is aborted too, and completes CAM_REQ_ABORTED instead. A
// recovery meanwhile completes a marked CCB CAM_REQ_ABORTED rather than
// re-issuing it, even the one it is for (a timeout gives an aborted command no
// status either), and leaves the waiting PROUT alone (it has nothing on the
// ring, and re-issued it would preempt again). XPT_ABORT_TASK_SET and
// XPT_CLEAR_TASK_SET (SAM-5 task management) abort the same way, the logical
// unit naming whose commands; they complete after all of them. Where the unit
// says so (TAS 1, another I_T nexus's commands), an aborted CCB completes with
// TASK ABORTED status (CAM_SCSI_STATUS_ERROR) instead of CAM_REQ_ABORTED.

import type { AbortedCommandEnd, TaskAbortResult } from '../../../scsi/sbc/task-abort.js';
import { ScsiStatus } from '../../../scsi/status.js';
import { CamStatus, type ScsiIoCcb } from '../../xpt/sim-api.js';
import type { ActiveCcbs } from './active.js';
import type { AbortWait, Active, GivenBack } from './entries.js';

/** Where the SIM's TaskAborter looks for the CCBs to abort. */
export interface AbortScope {
  /** The CCB whose command the emulator is starting (a TaskAborter call from within it leaves it alone). */
  readonly starting: Active | undefined;
  readonly active: ActiveCcbs<Active>;
  /** CCBs handed back unstarted whose completion has not run yet. */
  readonly givenBack: ActiveCcbs<GivenBack>;
  /** The I_T nexus of CCBs that name no initiator (CcbInitiator). */
  readonly nexus: string;
  /** The XPT's abortQueued on the SIM's path: aborts the CCBs `match` picks that wait in the device queue. */
  readonly abortQueued: (match: (ccb: ScsiIoCcb) => boolean, scsiStatus?: number) => void;
}

/** Marks `e` aborted for `wait`, to end as `how` says: the first abort decides how it ends. */
function markAborted(e: Active | GivenBack, how: AbortedCommandEnd, wait: AbortWait): void {
  if (e.aborted === undefined && how === 'task-aborted') e.abortStatus = ScsiStatus.TASK_ABORTED;
  (e.aborted ??= []).push(wait);
  wait.pending += 1;
}

/** `e` completed: the aborts waiting for it learn so. */
export function settleAborts(e: Active | GivenBack): void {
  if (e.aborted === undefined) return;
  for (const w of e.aborted) if (--w.pending === 0) w.resolve();
}

/**
 * The emulator's TaskAborter (PREEMPT AND ABORT, task management): every
 * CCB whose I_T nexus `end` names (a CCB naming no initiator is the SIM's
 * own nexus), but the one starting when a command calls it, ending as `end`
 * says. See the file header.
 */
export function abortCcbs(end: (nexus: string) => AbortedCommandEnd | undefined, scope: AbortScope): TaskAbortResult {
  const self = scope.starting;
  const had = new Set<string>();
  const how = (ccb: ScsiIoCcb): AbortedCommandEnd | undefined => {
    const nexus = ccb.initiator?.id ?? scope.nexus;
    const ending = end(nexus);
    if (ending !== undefined) had.add(nexus);
    return ending;
  };
  const wait: AbortWait = { pending: 0, resolve: () => undefined };
  const done = new Promise<void>((r) => {
    wait.resolve = r;
  });
  for (const e of scope.active.values()) {
    const ending = e === self ? undefined : how(e.ccb);
    if (ending === undefined) continue;
    markAborted(e, ending, wait);
    if (e.captured !== undefined) e.final = CamStatus.REQ_ABORTED;
  }
  for (const e of scope.givenBack.values()) {
    const ending = how(e.ccb);
    if (ending !== undefined) markAborted(e, ending, wait);
  }
  if (wait.pending === 0) wait.resolve();
  else if (self !== undefined) self.awaits = wait;
  scope.abortQueued((ccb) => how(ccb) === 'no-status');
  scope.abortQueued((ccb) => how(ccb) === 'task-aborted', ScsiStatus.TASK_ABORTED);
  return { nexuses: [...had], done };
}
