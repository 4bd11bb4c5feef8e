// CAM Control Blocks: the request every layer of CAM passes around. Function
// codes, tag actions, direction and flag bits keep FreeBSD's cam_ccb.h values;
// the CCBs are plain objects discriminated by `func`. Spec for the SCSI side:
// SAM-5 (task attributes), SPC-5.

import type { SenseData } from '../scsi/sense.js';

// Function code flags (cam_ccb.h xpt_opcode): bits above 0xff. The codes
// below are written out with them folded in, so each has a literal type.
const XPT_FC_QUEUED = 0x100;
const XPT_FC_DEV_QUEUED = 0x800 | XPT_FC_QUEUED;

/** XPT function codes (cam_ccb.h xpt_opcode), those vtcam implements. */
export const XptFunc = {
  NOOP: 0x00,
  /** 0x01 | XPT_FC_DEV_QUEUED */
  SCSI_IO: 0x901,
  GDEV_TYPE: 0x02,
  PATH_INQ: 0x04,
  REL_SIMQ: 0x05,
  /** 0x08 | XPT_FC_QUEUED | XPT_FC_USER_CCB | XPT_FC_XPT_ONLY */
  SCAN_BUS: 0x708,
  GDEV_STATS: 0x0c,
  /** 0x0f | XPT_FC_QUEUED | XPT_FC_USER_CCB | XPT_FC_XPT_ONLY */
  ASYNC: 0x70f,
  ABORT: 0x10,
  /** 0x11 | XPT_FC_XPT_ONLY */
  RESET_BUS: 0x411,
  /** 0x12 | XPT_FC_DEV_QUEUED */
  RESET_DEV: 0x912,
  /** 0x14 | XPT_FC_QUEUED | XPT_FC_USER_CCB | XPT_FC_XPT_ONLY */
  SCAN_LUN: 0x714,
  /**
   * vtcam's own, in cam_ccb.h's vendor-unique range (XPT_VUNIQUE 0x80): an
   * initiator's I_T nexus is gone (SAM-5 I_T nexus loss; a front end's session
   * ended). Straight to the SIM, like XPT_RESET_DEV.
   */
  IT_NEXUS_LOST: 0x80,
  /**
   * vtcam's own: SAM-5 ABORT TASK SET from an initiator (a front end's task
   * management function): that I_T nexus's commands on the logical unit are
   * aborted. Straight to the SIM, like XPT_IT_NEXUS_LOST.
   */
  ABORT_TASK_SET: 0x81,
  /** vtcam's own: SAM-5 CLEAR TASK SET from an initiator: the commands of every I_T nexus on the logical unit are aborted. */
  CLEAR_TASK_SET: 0x82,
  /**
   * vtcam's own: for a command of an initiator the logical unit completed (a
   * PERSISTENT RESERVE OUT PREEMPT AND ABORT, ScsiIoCcb.preempted), the front
   * end aborted commands of other I_T nexuses that had not reached the unit;
   * the unit tells those nexuses as a CLEAR TASK SET's transportAborted, and
   * aborts nothing. Straight to the SIM, like XPT_CLEAR_TASK_SET.
   */
  TRANSPORT_ABORTED: 0x83,
} as const;
export type XptFunc = (typeof XptFunc)[keyof typeof XptFunc];

/** True for function codes that pass through the device queue (XPT_FC_IS_DEV_QUEUED). */
export function isDevQueued(func: number): boolean {
  return (func & XPT_FC_DEV_QUEUED) === XPT_FC_DEV_QUEUED;
}

/** SAM-5 task attributes as SCSI-2 queue tag messages (MSG_*_Q_TAG), the values CAM uses. */
export const TagAction = {
  SIMPLE: 0x20,
  HEAD_OF_QUEUE: 0x21,
  ORDERED: 0x22,
} as const;
export type TagAction = (typeof TagAction)[keyof typeof TagAction];

/** Data direction (ccb_flags CAM_DIR_*). */
export const CamDir = {
  IN: 0x40,
  OUT: 0x80,
  NONE: 0xc0,
} as const;
export type CamDir = (typeof CamDir)[keyof typeof CamDir];

/** ccb_flags bits vtcam honours. */
export const CcbFlag = {
  DIR_MASK: 0xc0,
  /** Do not freeze the device queue when this CCB fails. */
  DEV_QFRZDIS: 0x400,
  TAG_ACTION_VALID: 0x8000,
} as const;

/**
 * Priorities (cam.h CAM_PRIORITY_*): run level in the high byte, lower is
 * more urgent. Probe and recovery work (DEV, OOB) goes ahead of NORMAL I/O.
 */
export const CamPriority = {
  HOST: 0x080,
  BUS: 0x180,
  XPT: 0x280,
  OOB: 0x300,
  DEV: 0x380,
  NORMAL: 0x480,
} as const;

/** bus:target:lun. */
export interface CamPath {
  readonly bus: number;
  readonly target: number;
  readonly lun: number;
}

export const pathString = (p: CamPath): string => `${p.bus}:${p.target}:${p.lun}`;

/**
 * A target or LUN that matches every target or LUN (cam.h CAM_TARGET_WILDCARD,
 * CAM_LUN_WILDCARD): the path of bus-wide async events, and of subscriptions
 * to a whole bus.
 */
export const CAM_TARGET_WILDCARD = -1;
export const CAM_LUN_WILDCARD = -1;

/** Where a CCB is (STYLE §7): transitions are made by the queue that owns it. */
export type CcbState = 'free' | 'queued' | 'active' | 'done';

/** Fields every CCB has (struct ccb_hdr). */
export interface CcbHeader {
  path: CamPath;
  /** CamStatus OR'ed with CAM_DEV_QFRZN / CAM_AUTOSNS_VALID. */
  status: number;
  priority: number;
  /** Hard timeout in milliseconds (0: none). */
  timeoutMs: number;
  /** Retries the periph may still spend (cam_periph_error). */
  retryCount: number;
  flags: number;
  /** Completion callback (cbfcnp); called exactly once. */
  done: ((ccb: Ccb) => void) | undefined;
  state: CcbState;
  /**
   * The XPT's link to the CCB's place in a device queue (FreeBSD
   * ccb_h.xpt_links): set while the CCB is queued or active, cleared when it
   * completes; nobody else touches it. A field rather than a map keyed by
   * CCB: a hash table churned on every I/O makes V8's scavenger keep garbage
   * alive through the tables it has outgrown, and promote it.
   */
  xptPriv?: unknown;
  /** The SIM's own state for a CCB active at it (FreeBSD ccb_h.spriv_ptr0); cleared when it completes. */
  simPriv?: unknown;
  /**
   * The issuing periph's own state (FreeBSD ccb_h.periph_priv): with it, one
   * `done` callback per periph serves every CCB, where a closure per CCB would
   * be one more object for every I/O. Nobody else touches it.
   */
  periphPriv?: unknown;
}

/**
 * Who sent a SCSI command, for a SIM fronting many initiators: the I_T nexus
 * (SAM-5) the logical unit keeps unit attentions and reservations by, and its
 * TransportID (SPC-5, what PERSISTENT RESERVE IN READ FULL STATUS reports).
 */
export interface CcbInitiator {
  /** The I_T nexus id: the same for every command of one initiator port (e.g. iSCSI "iqn…,i,0x<ISID>"). */
  readonly id: string;
  /** TransportID bytes: at least 24, a multiple of 4. */
  readonly transportId: Uint8Array;
}

/** XPT_SCSI_IO (struct ccb_scsiio). */
export interface ScsiIoCcb extends CcbHeader {
  readonly func: typeof XptFunc.SCSI_IO;
  cdb: Uint8Array;
  tagAction: TagAction;
  /** Data-Out Buffer (CAM_DIR_OUT). */
  dataOut: Uint8Array | undefined;
  /** Bytes expected to move (dxfer_len): the Data-Out length or the Data-In room. */
  dxferLen: number;
  /**
   * Data-In Buffer the issuer supplied (ccb_scsiio data_ptr), at least
   * dxferLen bytes, or undefined for one the SIM provides. The SIM moves
   * Data-In into its first dxferLen bytes, never past them, and `dataIn` is
   * then a view of it; after an error those bytes are unspecified (part of
   * a transfer may have landed).
   */
  readonly dataPtr: Uint8Array | undefined;
  /** Data-In received (CAM_DIR_IN), at most dxferLen bytes: a view of dataPtr when there is one. */
  dataIn: Uint8Array | undefined;
  /** dxferLen minus the bytes actually moved. */
  resid: number;
  /** SCSI status byte. */
  scsiStatus: number;
  /** Autosense data (CAM_AUTOSNS_VALID). */
  sense: Uint8Array | undefined;
  senseData: SenseData | undefined;
  /** The initiator the command came from; undefined: the SIM's own (one-initiator) nexus. */
  readonly initiator: CcbInitiator | undefined;
  /**
   * Output of a PERSISTENT RESERVE OUT PREEMPT AND ABORT that preempted: the
   * CcbInitiator.ids of the I_T nexuses it preempted, whose commands the
   * logical unit aborted (SPC-5). Set as it preempts, so it is there whatever
   * status the CCB completes with: CAM_REQ_CMP, or CAM_REQ_ABORTED when the
   * command was itself aborted while it waited for those (the preemption
   * stands). A front end that holds commands of theirs the unit has not seen
   * yet (an iSCSI WRITE waiting for Data-Out) aborts those as well; the mirror
   * of TaskSetCcb.transportAborted. Undefined for every other command.
   */
  preempted: readonly string[] | undefined;
  /**
   * Set by the SIM when it gives the CCB back CAM_REQUEUE_REQ because a
   * device reset caught it in flight: its command was received before the
   * reset and may already have reached the medium, so each later run of it
   * is that command re-issued, not the initiator's next one, and does not
   * take the reset's unit attention (SAM-5), which stays for that next one.
   * False from newScsiIo; only a SIM sets it.
   */
  reissued: boolean;
}

/** XPT_PATH_INQ (struct ccb_pathinq), the fields vtcam reports. */
export interface PathInqCcb extends CcbHeader {
  readonly func: typeof XptFunc.PATH_INQ;
  result: PathInq | undefined;
}

export interface PathInq {
  readonly simName: string;
  readonly unit: number;
  readonly bus: number;
  readonly maxTarget: number;
  readonly maxLun: number;
  /** Largest transfer one CCB may carry (maxio). */
  readonly maxIoBytes: number;
  /** Openings the SIM's ring gives right now. */
  readonly openings: number;
  readonly simVendor: string;
  readonly hbaVendor: string;
  readonly tagAble: boolean;
}

/** XPT_GDEV_TYPE / XPT_GDEV_STATS / XPT_SCAN_BUS / XPT_SCAN_LUN / XPT_RESET_BUS / XPT_RESET_DEV / XPT_NOOP: header only. */
export interface PlainCcb extends CcbHeader {
  readonly func:
    | typeof XptFunc.NOOP
    | typeof XptFunc.GDEV_TYPE
    | typeof XptFunc.GDEV_STATS
    | typeof XptFunc.SCAN_BUS
    | typeof XptFunc.SCAN_LUN
    | typeof XptFunc.RESET_BUS
    | typeof XptFunc.RESET_DEV;
}

/** XPT_ABORT (struct ccb_abort). */
export interface AbortCcb extends CcbHeader {
  readonly func: typeof XptFunc.ABORT;
  readonly abort: Ccb;
}

/** XPT_IT_NEXUS_LOST: the initiator whose I_T nexus is gone. */
export interface NexusLostCcb extends CcbHeader {
  readonly func: typeof XptFunc.IT_NEXUS_LOST;
  /** CcbInitiator.id of the lost nexus. */
  readonly initiatorId: string;
}

/** XPT_REL_SIMQ (struct ccb_relsim): release the device queue now, after a timeout, after completions. */
export interface RelSimqCcb extends CcbHeader {
  readonly func: typeof XptFunc.REL_SIMQ;
  /** RELSIM_* flags. */
  releaseFlags: number;
  /** New openings for RELSIM_ADJUST_OPENINGS. */
  openings: number;
  /** Milliseconds for RELSIM_RELEASE_AFTER_TIMEOUT. */
  releaseTimeoutMs: number;
  /** Freezes dropped when it runs. */
  releaseCount: number;
  /** Frozen count left (output). */
  qfrozenCount: number;
}

/** XPT_REL_SIMQ release_flags (cam_ccb.h RELSIM_*). */
export const RelSim = {
  ADJUST_OPENINGS: 0x01,
  RELEASE_AFTER_TIMEOUT: 0x02,
  RELEASE_AFTER_CMDCMPLT: 0x04,
  RELEASE_AFTER_QEMPTY: 0x08,
} as const;

/**
 * XPT_ABORT_TASK_SET / XPT_CLEAR_TASK_SET: the initiator whose task
 * management function it is; XPT_TRANSPORT_ABORTED: the initiator whose
 * command the front end aborted other nexuses' commands for.
 */
export interface TaskSetCcb extends CcbHeader {
  readonly func: typeof XptFunc.ABORT_TASK_SET | typeof XptFunc.CLEAR_TASK_SET | typeof XptFunc.TRANSPORT_ABORTED;
  /** CcbInitiator.id of the I_T nexus the function (or command) came from. */
  readonly initiatorId: string;
  /**
   * XPT_CLEAR_TASK_SET: CcbInitiator.ids of other I_T nexuses whose commands
   * the front end aborted before they reached the logical unit (an iSCSI
   * WRITE waiting for its Data-Out). They were in the unit's task set all the
   * same (SAM-5: the target holds part of it), so the unit tells those nexuses
   * as it tells the ones whose commands it aborted itself. Empty for
   * XPT_ABORT_TASK_SET. XPT_TRANSPORT_ABORTED: the same, for the command.
   */
  readonly transportAborted: readonly string[];
}

export type Ccb = ScsiIoCcb | PathInqCcb | PlainCcb | AbortCcb | RelSimqCcb | NexusLostCcb | TaskSetCcb;

/** What {@link newScsiIo} needs; everything else gets CAM's defaults. */
export interface ScsiIoInit {
  readonly path: CamPath;
  readonly cdb: Uint8Array;
  readonly dir: CamDir;
  /** Data-Out bytes (CAM_DIR_OUT). */
  readonly dataOut?: Uint8Array | undefined;
  /** Data-In room in bytes (CAM_DIR_IN); default dataInto's length. */
  readonly dataInLength?: number | undefined;
  /** Data-In Buffer (CAM_DIR_IN) the SIM fills, at least the room's length; default one the SIM provides. */
  readonly dataInto?: Uint8Array | undefined;
  readonly tagAction?: TagAction | undefined;
  readonly priority?: number | undefined;
  readonly timeoutMs?: number | undefined;
  readonly retryCount?: number;
  readonly flags?: number;
  readonly done?: (ccb: Ccb) => void;
  readonly initiator?: CcbInitiator | undefined;
}

/** Default hard timeout of a SCSI I/O CCB (da uses 60 s, as FreeBSD's da_default_timeout). */
export const DEFAULT_TIMEOUT_MS = 60_000;

/**
 * A fresh XPT_SCSI_IO CCB (xpt_alloc_ccb + cam_fill_csio).
 * @throws RangeError when `dataInto` is shorter than the Data-In room.
 */
export function newScsiIo(init: ScsiIoInit): ScsiIoCcb {
  const into = init.dir === CamDir.IN ? init.dataInto : undefined;
  const dxferLen = init.dir === CamDir.OUT ? (init.dataOut?.length ?? 0) : init.dir === CamDir.IN ? (init.dataInLength ?? into?.length ?? 0) : 0;
  if (into !== undefined && into.length < dxferLen) throw new RangeError(`newScsiIo: dataInto holds ${into.length} bytes, less than the ${dxferLen}-byte Data-In room`);
  return {
    func: XptFunc.SCSI_IO,
    path: init.path,
    status: 0,
    priority: init.priority ?? CamPriority.NORMAL,
    timeoutMs: init.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    retryCount: init.retryCount ?? 0,
    flags: ((init.flags ?? 0) & ~CcbFlag.DIR_MASK) | init.dir | CcbFlag.TAG_ACTION_VALID,
    done: init.done,
    state: 'free',
    xptPriv: undefined,
    simPriv: undefined,
    periphPriv: undefined,
    cdb: init.cdb,
    tagAction: init.tagAction ?? TagAction.SIMPLE,
    dataOut: init.dir === CamDir.OUT ? init.dataOut : undefined,
    dxferLen,
    dataPtr: into,
    dataIn: undefined,
    resid: dxferLen,
    scsiStatus: 0,
    sense: undefined,
    senseData: undefined,
    initiator: init.initiator,
    preempted: undefined,
    reissued: false,
  };
}

/** A fresh header-only CCB for `func`. */
export function newCcb<F extends PlainCcb['func']>(func: F, path: CamPath, done?: (ccb: Ccb) => void, priority: number = CamPriority.NORMAL): PlainCcb & { readonly func: F } {
  return { func, ...freshHeader(path, done, priority) };
}

/** The header fields every fresh non-I/O CCB starts with (xpt_alloc_ccb + xpt_setup_ccb). */
function freshHeader(path: CamPath, done: ((ccb: Ccb) => void) | undefined, priority: number): CcbHeader {
  return { path, status: 0, priority, timeoutMs: 0, retryCount: 0, flags: 0, done, state: 'free', xptPriv: undefined, simPriv: undefined };
}

/** A fresh XPT_ABORT CCB for `victim` (xpt_alloc_ccb + abort_ccb), at OOB priority: recovery goes ahead of I/O. */
export function newAbort(path: CamPath, victim: Ccb, done?: (ccb: Ccb) => void): AbortCcb {
  return { func: XptFunc.ABORT, abort: victim, ...freshHeader(path, done, CamPriority.OOB) };
}

/** A fresh XPT_IT_NEXUS_LOST CCB: the nexus of initiator `initiatorId` is gone. */
export function newNexusLost(path: CamPath, initiatorId: string, done?: (ccb: Ccb) => void): NexusLostCcb {
  return { func: XptFunc.IT_NEXUS_LOST, initiatorId, ...freshHeader(path, done, CamPriority.OOB) };
}

/**
 * A fresh XPT_ABORT_TASK_SET, XPT_CLEAR_TASK_SET or XPT_TRANSPORT_ABORTED CCB
 * from initiator `initiatorId`, at OOB priority; `transportAborted` as
 * TaskSetCcb says.
 * @throws RangeError for an XPT_ABORT_TASK_SET with `transportAborted` (only CLEAR TASK SET reaches other nexuses).
 */
export function newTaskSet(func: TaskSetCcb['func'], path: CamPath, initiatorId: string, done?: (ccb: Ccb) => void, transportAborted: readonly string[] = []): TaskSetCcb {
  if (func === XptFunc.ABORT_TASK_SET && transportAborted.length > 0) throw new RangeError(`newTaskSet: XPT_ABORT_TASK_SET with transportAborted [${transportAborted.join(', ')}]`);
  return { func, initiatorId, transportAborted, ...freshHeader(path, done, CamPriority.OOB) };
}
