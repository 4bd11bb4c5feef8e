// A logical unit as the iSCSI target sees it: the pass periph of one CAM
// path, driven for one I_T nexus. CAM's answer is mapped to what goes in a
// SCSI Response (RFC 7143 §11.4): the SCSI status and sense the device gave,
// or, when CAM itself failed the CCB, the status a SCSI target reports for
// that condition (SAM-5 §5.3; the same mapping FreeBSD's CTL front ends make
// for a backend that could not run the command).

import { CamStatus, CAM_STATUS_MASK } from '../cam/status.js';
import type { PassPeriph } from '../cam/periph/pass.js';
import type { ScsiResult } from '../cam/periph/request.js';
import { ScsiStatus } from '../scsi/status.js';
import { encodeSense } from '../scsi/sense-codec.js';
import { Asc, SenseKey, sense, senseIllegalRequest } from '../scsi/sense.js';

/** What the task needs from the command's execution. */
export interface ScsiAnswer {
  readonly status: number;
  readonly sense?: Uint8Array;
  readonly data?: Uint8Array;
  /**
   * Someone aborted the command (ABORT TASK, a task management reset, PREEMPT
   * AND ABORT): no response is sent for it. A command the target's own
   * recovery cut short is answered (CHECK CONDITION).
   */
  readonly aborted: boolean;
  /**
   * PERSISTENT RESERVE OUT PREEMPT AND ABORT that preempted: the I_T nexuses it preempted
   * (ScsiResult.preempted), whatever it ended with — also aborted, the preemption stands.
   */
  readonly preempted?: readonly string[];
  /**
   * The device behind the LUN is gone (CAM_DEV_NOT_THERE, CAM_SEL_TIMEOUT; CAM_PATH_INVALID, its bus
   * detached): the answer is LOGICAL UNIT NOT SUPPORTED, and the target port answers INQUIRY, REPORT LUNS and
   * REQUEST SENSE as for a LUN it does not have (no-lun.ts).
   */
  readonly lunGone?: true;
}

/** SAM-5 task attributes as CAM tags them (RFC 7143 §11.3.1 ATTR: untagged and ACA run as simple here). */
export type TaskAttribute = 'simple' | 'ordered' | 'head';

/**
 * A command as a task hands it to its logical unit, with where its answer goes. The task is its own
 * LunCommand (task.ts): nothing is built per command to carry it to the unit.
 */
export interface LunCommand {
  readonly cdb: Uint8Array;
  readonly direction: 'in' | 'out' | 'none';
  /** The Data-Out Buffer ('out'). */
  readonly dataOutBuffer: Uint8Array | undefined;
  /** The Data-In room ('in'). */
  readonly dataInLength: number | undefined;
  /** Where the Data-In is to land ('in'), at least dataInLength bytes; absent: wherever the unit puts it. */
  readonly dataInRoom?: Uint8Array | undefined;
  readonly tag: TaskAttribute;
  /** The answer; called once, possibly before LunPort.start returns. */
  answered(a: ScsiAnswer): void;
}

/** A command waiting to be admitted (LunPort.admit). */
export interface LunAdmittable {
  /** It may go to the logical unit now. */
  admitted(): void;
}

/** A command the logical unit is running: abort() is SAM-5 ABORT TASK (the answer then says aborted, unless it had finished). */
export interface LunCall {
  abort(): void;
}

/** One LUN for one I_T nexus. */
export interface LunPort {
  /** Runs `cmd`; its answered() is called once with the answer, possibly before start() returns. */
  start(cmd: LunCommand): LunCall;
  /**
   * Whether a command may go to the logical unit now (start it then): undefined when it may. Otherwise the
   * target holds it back (preempt-gate.ts), `cmd.admitted()` is called once when it may, and the function
   * returned withdraws it meanwhile. Absent: always now.
   */
  admit?(cmd: LunAdmittable): (() => void) | undefined;
}

/** `cmd` with its answer going to `answered` instead: for a port that acts on the answer before passing it on (rare commands). */
export function answeringTo(cmd: LunCommand, answered: (a: ScsiAnswer) => void): LunCommand {
  return { cdb: cmd.cdb, direction: cmd.direction, dataOutBuffer: cmd.dataOutBuffer, dataInLength: cmd.dataInLength, dataInRoom: cmd.dataInRoom, tag: cmd.tag, answered };
}

// Sense (fixed format) for CAM failures that carry none.
const INTERNAL_TARGET_FAILURE = encodeSense(sense(SenseKey.HARDWARE_ERROR, Asc.INTERNAL_TARGET_FAILURE), 'fixed');
/** The SIM gave up on the device. */
const COMMAND_TIMEOUT = encodeSense(sense(SenseKey.ABORTED_COMMAND, Asc.COMMAND_TIMEOUT_DURING_PROCESSING), 'fixed');
/**
 * The SIM's recovery reset the device (or the bus) under the command, and
 * the command may not be re-issued (its second execution would not end as one
 * does): CAM_BDR_SENT / CAM_SCSI_BUS_RESET. Nobody aborted it, so the
 * initiator gets an answer, and the most fitting one SPC-5 has: ABORTED
 * COMMAND (the device server ended it; the initiator may send it again, after
 * looking at what it did), 2Eh/03h, the command ended during processing
 * because of the target's own error recovery. Not 2Eh/02h, which a timeout of
 * the command itself gets; not 29h/xx, the reset's unit attention, which the
 * next command reports. Linux's SCSI midlayer fails a command on
 * ABORTED COMMAND 2Eh/01h..03h without retrying it (scsi_check_sense), which
 * is what a command that must not run twice needs.
 */
const CUT_SHORT_BY_RECOVERY = encodeSense(sense(SenseKey.ABORTED_COMMAND, Asc.COMMAND_TIMEOUT_DURING_PROCESSING_DUE_TO_ERROR_RECOVERY), 'fixed');
/** The device behind the LUN is gone: the LUN no longer exists (SAM-5 §5.9.x). */
const LUN_GONE = encodeSense(senseIllegalRequest(Asc.LOGICAL_UNIT_NOT_SUPPORTED), 'fixed');

/** CAM status → SCSI status + sense, for CCBs CAM completed without a SCSI status of their own. */
const CAM_TO_SCSI: ReadonlyMap<number, { readonly status: number; readonly sense?: Uint8Array }> = new Map([
  [CamStatus.BUSY, { status: ScsiStatus.BUSY }],
  [CamStatus.SCSI_BUSY, { status: ScsiStatus.BUSY }],
  [CamStatus.REQUEUE_REQ, { status: ScsiStatus.TASK_SET_FULL }],
  [CamStatus.RESRC_UNAVAIL, { status: ScsiStatus.TASK_SET_FULL }],
  [CamStatus.CMD_TIMEOUT, { status: ScsiStatus.CHECK_CONDITION, sense: COMMAND_TIMEOUT }],
  [CamStatus.BDR_SENT, { status: ScsiStatus.CHECK_CONDITION, sense: CUT_SHORT_BY_RECOVERY }],
  [CamStatus.SCSI_BUS_RESET, { status: ScsiStatus.CHECK_CONDITION, sense: CUT_SHORT_BY_RECOVERY }],
]);
/** The answer for a command whose device is gone. */
const GONE: ScsiAnswer = { status: ScsiStatus.CHECK_CONDITION, sense: LUN_GONE, aborted: false, lunGone: true };

/** Maps a pass result to the SCSI Response contents. */
export function answerOf(r: ScsiResult): ScsiAnswer {
  const cam = r.camStatus & CAM_STATUS_MASK;
  if (cam === CamStatus.REQ_CMP) {
    if (r.preempted !== undefined) return { status: ScsiStatus.GOOD, preempted: r.preempted, aborted: false };
    return r.data === undefined ? { status: ScsiStatus.GOOD, aborted: false } : { status: ScsiStatus.GOOD, data: r.data, aborted: false };
  }
  const a = failedAnswerOf(r, cam);
  // A PREEMPT AND ABORT aborted while it waited for the commands it aborted has preempted all the same.
  return r.preempted === undefined ? a : { ...a, preempted: r.preempted };
}

/** answerOf for a CCB that did not complete CAM_REQ_CMP (`cam`: its status without flags). */
function failedAnswerOf(r: ScsiResult, cam: number): ScsiAnswer {
  if (cam === CamStatus.SCSI_STATUS_ERROR) {
    return { status: r.scsiStatus, ...(r.sense === undefined ? {} : { sense: r.sense }), ...(r.data === undefined ? {} : { data: r.data }), aborted: false };
  }
  if (cam === CamStatus.REQ_ABORTED || cam === CamStatus.SCSI_IT_NEXUS_LOST) return { status: ScsiStatus.TASK_ABORTED, aborted: true };
  // A pass periph's path was valid when it attached, so the XPT answers PATH_INVALID for it only once its bus
  // is detached (Xpt.action): the stack closed under the server, and the unit is gone as for a lost device.
  if (cam === CamStatus.DEV_NOT_THERE || cam === CamStatus.SEL_TIMEOUT || cam === CamStatus.PATH_INVALID) return GONE;
  const mapped = CAM_TO_SCSI.get(cam) ?? { status: ScsiStatus.CHECK_CONDITION, sense: INTERNAL_TARGET_FAILURE };
  return { ...mapped, aborted: false };
}

/** A LunPort over a pass periph for one initiator (I_T nexus id and TransportID). */
export function passLun(pass: PassPeriph, initiator: { readonly id: string; readonly transportId: Uint8Array }): LunPort {
  return {
    start(cmd) {
      const { cdb, direction, tag: tagAction } = cmd;
      // pass.submit takes a function: the one closure a command costs on its way to the unit.
      const answer = (r: ScsiResult): void => {
        cmd.answered(answerOf(r));
      };
      if (direction === 'in') {
        const length = cmd.dataInLength ?? 0;
        const into = cmd.dataInRoom;
        return pass.submit(into === undefined ? { cdb, direction, length, initiator, tagAction } : { cdb, direction, length, into, initiator, tagAction }, answer);
      }
      if (direction === 'out') return pass.submit({ cdb, direction, data: cmd.dataOutBuffer ?? EMPTY, initiator, tagAction }, answer);
      return pass.submit({ cdb, direction, initiator, tagAction }, answer);
    },
  };
}

const EMPTY = new Uint8Array(0);
