// What periph drivers (da, pass) may use of the XPT: the only XPT surface
// periphs import (STYLE §2, §12). Periphs build CCBs, hand them to action(),
// get them back through the CCB's completion callback, and own the device
// queue freezes their error completions carry (CAM_DEV_QFRZN).

import type { CamPath, Ccb } from '../ccb.js';
import type { AsyncCode } from '../async.js';
import type { DeviceQueueStats } from '../devq-api.js';

export type { CamPath, Ccb, CcbInitiator, ScsiIoCcb, ScsiIoInit, PathInq } from '../ccb.js';
export {
  XptFunc,
  TagAction,
  CamDir,
  CcbFlag,
  CamPriority,
  RelSim,
  newScsiIo,
  newCcb,
  newAbort,
  newNexusLost,
  newTaskSet,
  pathString,
  DEFAULT_TIMEOUT_MS,
  CAM_TARGET_WILDCARD,
  CAM_LUN_WILDCARD,
} from '../ccb.js';
export { CamStatus, CAM_AUTOSNS_VALID, CAM_DEV_QFRZN, CAM_STATUS_MASK, camStatus, camStatusName } from '../status.js';
export { AsyncCode } from '../async.js';
export { coarseNow } from '../clock.js';

/** What the bus scan learned about a logical unit (the probe's INQUIRY, VPD and READ CAPACITY data). */
export interface CamDeviceInfo {
  readonly path: CamPath;
  /** The SIM driving it, e.g. `vtblk0`. */
  readonly sim: string;
  /** Standard INQUIRY: PERIPHERAL DEVICE TYPE and the identification strings, trimmed. */
  readonly inquiry: { readonly deviceType: number; readonly vendor: string; readonly product: string; readonly revision: string; readonly data: Uint8Array };
  /** VPD pages the unit lists (00h). */
  readonly vpdPages: readonly number[];
  /** Unit serial number (VPD 80h), trimmed; '' when absent. */
  readonly serial: string;
  /** First NAA designator (VPD 83h), if any. */
  readonly naa: bigint | undefined;
  /** READ CAPACITY (16) (or (10)) data. */
  readonly capacity: {
    readonly blocks: bigint;
    readonly blockSize: number;
    readonly physicalBlockExp: number;
    readonly lbpme: boolean;
    readonly lbprz: boolean;
  };
  /** Block Limits VPD (B0h), when the unit has it. */
  readonly blockLimits: {
    readonly maxTransferBlocks: number;
    readonly optimalTransferBlocks: number;
    readonly maxUnmapLbaCount: number;
    readonly maxUnmapBlockDescriptors: number;
    readonly maxWriteSameBlocks: number;
    readonly maxCompareAndWriteBlocks: number;
    readonly wsnz: boolean;
  } | undefined;
  /** Logical Block Provisioning VPD (B2h), when the unit has it. */
  readonly provisioning: { readonly lbpu: boolean; readonly lbpws: boolean; readonly lbpws10: boolean; readonly lbprz: boolean } | undefined;
}

/** Device queue state (XPT_GDEV_STATS and more): the devq's own statistics, as periphs see them. */
export type DevqStats = DeviceQueueStats;

export type AsyncCallback = (code: AsyncCode, path: CamPath, arg: unknown) => void;

/** The XPT as a periph sees it. */
export interface PeriphXpt {
  /** xpt_action: route a CCB (queued ones complete through their callback). */
  action(ccb: Ccb): void;
  /** xpt_freeze_devq. */
  freezeDevq(path: CamPath, count: number): void;
  /** xpt_release_devq: drop `count` freezes; `runQueue` dispatches what can go now. */
  releaseDevq(path: CamPath, count: number, runQueue: boolean): void;
  /** The scanned device at `path`. */
  device(path: CamPath): CamDeviceInfo | undefined;
  /** Every scanned device, by bus then LUN. */
  devices(): readonly CamDeviceInfo[];
  stats(path: CamPath): DevqStats | undefined;
  /** Subscribes to the events in `mask` (for `path`, or every path); returns the unsubscribe function. */
  onAsync(mask: number, path: CamPath | undefined, cb: AsyncCallback): () => void;
}
