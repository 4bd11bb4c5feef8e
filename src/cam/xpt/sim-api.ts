// What a SIM (an "HBA driver") implements and what the XPT hands it when it
// registers a bus: the only XPT surface SIMs may import (STYLE §2, §12). The
// XPT owns the device queue; a SIM declares what its ring can hold and what
// each CCB costs, and never queues CCBs itself.

import type { CamPath, Ccb, PathInq, ScsiIoCcb } from '../ccb.js';
import type { AsyncCode } from '../async.js';

export type { CamPath, Ccb, PathInq, ScsiIoCcb } from '../ccb.js';
export { XptFunc, TagAction, CamDir, CcbFlag } from '../ccb.js';
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
   */
  action(ccb: Ccb): void;
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
  /** Reports an asynchronous event on `path` (xpt_async). */
  async(code: AsyncCode, path: CamPath, arg?: unknown): void;
  /** The budget (capacity) changed: re-run the device queue. */
  run(): void;
}
