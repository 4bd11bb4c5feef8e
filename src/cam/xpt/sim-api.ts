// What a SIM (an "HBA driver") implements and what the XPT hands it when it
// registers a bus: the only XPT surface SIMs may import (STYLE §2, §12). The
// XPT owns the device queue; a SIM declares what its ring can hold and what
// each CCB costs, and never queues CCBs itself.

import type { CamPath, Ccb, PathInq, ScsiIoCcb } from '../ccb.js';
import type { AsyncCode } from '../async.js';

export type { CamPath, Ccb, PathInq, ScsiIoCcb } from '../ccb.js';
export { XptFunc, TagAction, CamDir, CcbFlag, CAM_TARGET_WILDCARD, CAM_LUN_WILDCARD } from '../ccb.js';
export { CamStatus, CAM_AUTOSNS_VALID, CAM_DEV_QFRZN, CAM_STATUS_MASK } from '../status.js';
export { AsyncCode } from '../async.js';

/** A SIM: one bus with one target and its LUNs (vtcam SIMs front one virtio-blk device each). */
export interface Sim {
  /** Driver name (`vtblk`), as XPT_PATH_INQ and devlist show it. */
  readonly name: string;
  readonly unit: number;
  /**
   * Descriptor budget the devq may hand out across active CCBs: the ring's
   * descriptors minus a reserve the SIM keeps for its own flushes and
   * recovery. Read on every dispatch; a change takes effect at the next one.
   */
  capacity(): number;
  /**
   * What `ccb` holds of the budget while active: its descriptor cost (2 +
   * data segments, or 1 with indirect descriptors), 0 for a command that never
   * touches the ring. Must not exceed capacity().
   */
  cost(ccb: ScsiIoCcb): number;
  /** XPT_PATH_INQ data. */
  pathInq(): PathInq;
  /**
   * Starts a CCB the XPT routed to this SIM: XPT_SCSI_IO, XPT_RESET_DEV,
   * XPT_RESET_BUS, XPT_ABORT of an active CCB. The SIM completes it later with
   * handle.done(ccb), exactly once, setting `status` (and the SCSI fields).
   * It may complete it before action() returns. A second done() for the same
   * CCB, or done() for a CCB it was not given, throws (a SIM bug).
   *
   * XPT_SCSI_IO statuses the XPT acts on:
   * - `CAM_REQUEUE_REQ`: the CCB goes back to the head of its device queue and
   *   is dispatched again; the caller never sees it. If the SIM queue is not
   *   frozen this means "device full" (ring-full from the device side, QUEUE
   *   FULL): openings shrink to what is still active and grow back after
   *   successes; with nothing else active the device queue pauses briefly.
   *   A SIM returning its in-flight CCBs for reissue during recovery (reset)
   *   freezes its queue first (handle.freezeSimq) so openings do not shrink,
   *   and releases it when the ring is usable again.
   * - SCSI status TASK SET FULL (28h) or BUSY (08h) with other CCBs active
   *   shrinks openings the same way (the CCB itself goes back to the periph).
   * - Any status but `CAM_REQ_CMP` freezes the device queue for the periph
   *   (`CAM_DEV_QFRZN`, unless the CCB has CcbFlag.DEV_QFRZDIS). SIMs never
   *   set `CAM_DEV_QFRZN` themselves; the XPT clears it.
   *
   * XPT_ABORT (`ccb.abort` active at this SIM): complete the victim
   * `CAM_REQ_ABORTED` once its ring slot is safe (or with its real status if
   * it finished first), and the abort CCB `CAM_REQ_CMP` (`CAM_UA_ABORT` if the
   * victim had already completed). XPT_RESET_DEV / XPT_RESET_BUS reach the SIM
   * even while device or SIM queues are frozen; the SIM reports AC_SENT_BDR /
   * AC_BUS_RESET through handle.async.
   *
   * XPT_IT_NEXUS_LOST (`ccb.initiatorId`): the initiator's I_T nexus is gone;
   * the SIM tells its logical unit (SAM-5 I_T nexus loss: unit attentions
   * forgotten, SPC-2 reservation released) and completes it CAM_REQ_CMP.
   * XPT_ABORT_TASK_SET / XPT_CLEAR_TASK_SET (`ccb.initiatorId`): SAM-5 ABORT
   * TASK SET / CLEAR TASK SET from that initiator; the SIM aborts the commands
   * its logical unit says (as for PREEMPT AND ABORT) and completes the CCB
   * CAM_REQ_CMP once they have all completed. A CLEAR TASK SET's
   * `ccb.transportAborted` names the other nexuses whose commands the front
   * end aborted before they reached the unit: the unit tells them as it tells
   * those whose commands it aborted.
   * XPT_TRANSPORT_ABORTED (`ccb.initiatorId`, `ccb.transportAborted`): the
   * front end aborted those nexuses' commands for a PREEMPT AND ABORT of that
   * initiator the unit completed; the SIM tells its logical unit, which tells
   * them as for a CLEAR TASK SET, before action() returns (the front end
   * relies on that), and completes the CCB CAM_REQ_CMP.
   * XPT_SCSI_IO CCBs name their initiator in `ccb.initiator` (undefined: the
   * SIM's own single nexus).
   */
  action(ccb: Ccb): void;
  /**
   * `ccb` (an XPT_SCSI_IO given to action()) outlived its `timeoutMs`; the
   * XPT arms the timer at dispatch and calls this once per dispatch. The SIM
   * recovers — the device may still own the buffers, so the request is
   * quarantined and the device reset — and then completes `ccb` with
   * `CAM_CMD_TIMEOUT` (or with its real status if it completed meanwhile).
   * Other in-flight CCBs may come back `CAM_REQUEUE_REQ` (with the SIM queue
   * frozen, see action()). The CCB keeps its share of the budget until done.
   */
  timeout(ccb: ScsiIoCcb): void;
  /** Stops the SIM: every active CCB is completed (CAM_DEV_NOT_THERE) before this resolves. */
  detach(): Promise<void>;
}

/** The XPT side a registered SIM talks to (xpt_done, xpt_freeze_simq, xpt_async, …). */
export interface SimHandle {
  readonly bus: number;
  /** Completes a CCB the SIM was given (xpt_done). */
  done(ccb: Ccb): void;
  /** Freezes the SIM queue: nothing more is dispatched to this SIM until released. */
  freezeSimq(count: number): void;
  /** Drops `count` SIM queue freezes; `run` re-runs the device queues. */
  releaseSimq(count: number, run: boolean): void;
  /**
   * Reports an asynchronous event on `path` (xpt_async); subscribers get it
   * after the current call stack. Bus-wide events (AC_BUS_RESET) use
   * CAM_TARGET_WILDCARD / CAM_LUN_WILDCARD. AC_GETDEV_CHANGED (e.g. a virtio
   * config-change interrupt with a new capacity) makes the XPT re-read READ
   * CAPACITY through the device queue first; subscribers then get the updated
   * CamDeviceInfo as `arg` (the SIM's arg is not used). AC_LOST_DEVICE drops
   * the device (waiting CCBs complete CAM_DEV_NOT_THERE); AC_FOUND_DEVICE
   * probes the LUN. Other codes are passed on as given.
   */
  async(code: AsyncCode, path: CamPath, arg?: unknown): void;
  /**
   * The budget (capacity) changed, or the SIM can take work again after a
   * capacity() of 0: re-run the device queues.
   */
  run(): void;
  /**
   * Completes CAM_REQ_ABORTED, now, every XPT_SCSI_IO waiting in the device
   * queue of `path` that `match` picks, as XPT_ABORT does each (a SIM whose
   * logical unit aborts commands: PREEMPT AND ABORT, task management); with
   * `scsiStatus`, CAM_SCSI_STATUS_ERROR with that SCSI status instead (TASK
   * ABORTED, SAM-5 TAS 1). Returns them. Their callbacks may run before this
   * returns.
   */
  abortQueued(path: CamPath, match: (ccb: ScsiIoCcb) => boolean, scsiStatus?: number): readonly ScsiIoCcb[];
}
