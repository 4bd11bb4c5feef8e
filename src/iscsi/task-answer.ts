// A task's answer on the wire (RFC 7143 §11.4 SCSI Response, §11.7 Data-In):
// a READ's data cut into Data-In PDUs — sequences of at most MaxBurstLength
// bytes (§13.13), each ended by its F bit, PDUs of at most the initiator's
// MaxRecvDataSegmentLength (§13.12) — with the status in the last one when
// GOOD and without sense, else a SCSI Response after them; whether a READ's
// data may land in a Data-In room of the connection (data-in-rooms.ts), which
// needs one PDU to carry it whole; and the answers a task gives of its own:
// TASK ABORTED, INTERNAL TARGET FAILURE, and the SCSI Response of a task
// whose Data-Out broke its sequence or was not kept. Its own module: this is
// what goes back, apart from the task's state (task.ts), which says when and
// passes what it needs; nothing is made per command.

import { ScsiStatus } from '../scsi/status.js';
import { encodeSense } from '../scsi/sense-codec.js';
import { Asc, SenseKey, sense, senseAbortedCommand } from '../scsi/sense.js';
import { headerRoomOf } from './data-in-rooms.js';
import type { Residual } from './pdu-types.js';
import type { ScsiAnswer } from './lun.js';
import type { DataOutDiscard, TaskHooks, TaskIdentity, TaskLimits } from './task-types.js';
import type { TaskCommand } from './task-command.js';
import type { DataOutCollection } from './task-data-out.js';
import { residualOf, type TransferPlan } from './transfer.js';

/** ABORTED COMMAND, DATA PHASE ERROR (4Bh/00h), fixed format: the answer to a broken Data-Out sequence. */
const DATA_PHASE_ERROR_SENSE = encodeSense(sense(SenseKey.ABORTED_COMMAND, Asc.DATA_PHASE_ERROR), 'fixed');

/**
 * ABORTED COMMAND, PROTOCOL SERVICE CRC ERROR (47h/05h), fixed format: the iSCSI condition "protocol service
 * CRC error" (RFC 7143 §11.4.7.2), how a task ends whose Data-Out failed its data digest (§7.8).
 */
const PROTOCOL_SERVICE_CRC_ERROR_SENSE = encodeSense(senseAbortedCommand(Asc.PROTOCOL_SERVICE_CRC_ERROR), 'fixed');

/** The sense of a task whose Data-Out the connection discarded, by why (DataOutDiscard). */
const DISCARDED_SENSE: Readonly<Record<DataOutDiscard, Uint8Array>> = {
  'data-digest': PROTOCOL_SERVICE_CRC_ERROR_SENSE,
  'segment-too-long': DATA_PHASE_ERROR_SENSE,
};

/** HARDWARE ERROR, INTERNAL TARGET FAILURE (44h/00h): the command failed inside the target. */
export const INTERNAL_TARGET_FAILURE_SENSE = encodeSense(sense(SenseKey.HARDWARE_ERROR, Asc.INTERNAL_TARGET_FAILURE), 'fixed');

/** What an aborted task that ends with status answers: TASK ABORTED, no sense, no data. */
export const TASK_ABORTED_ANSWER: ScsiAnswer = { status: ScsiStatus.TASK_ABORTED, aborted: false };

const EMPTY = new Uint8Array(0);

/**
 * A room for the task's Data-In (hooks.dataInRoom) when one Data-In PDU can carry the whole transfer back
 * (within MaxRecvDataSegmentLength and MaxBurstLength, §13.12, §13.13) and what goes (at most EDTL) needs no
 * padding (§11.1: PDUs are padded to 4 bytes); undefined otherwise.
 */
export function takeDataInRoom(plan: TransferPlan, edtl: number, limits: TaskLimits, hooks: TaskHooks): Uint8Array | undefined {
  const bytes = plan.length;
  const sent = Math.min(bytes, edtl);
  if (plan.direction !== 'in' || sent === 0 || sent % 4 !== 0) return undefined;
  if (bytes > limits.maxSendDataSegmentLength || bytes > limits.maxBurstLength) return undefined;
  return hooks.dataInRoom?.(bytes);
}

/** The SCSI Response of the task: its status, residual and sense; ExpDataSN counts the Data-In PDUs or R2Ts sent. */
export function sendResponse(task: TaskIdentity, hooks: TaskHooks, status: number, residual: Residual, sense: Uint8Array | undefined, expDataSN: number): void {
  hooks.out({ kind: 'response', itt: task.itt, lun: task.lun, status, residual, sense, expDataSN });
}

/**
 * A READ's answer `a`: at most EDTL of its data as Data-In PDUs, then a SCSI Response unless the status went
 * in the last of them. `room`: the room the task took (takeDataInRoom), whose header space the PDU carrying
 * all of it uses; `r2tSN`: the R2Ts the task sent.
 */
export function sendReadAnswer(task: TaskIdentity, hooks: TaskHooks, limits: TaskLimits, a: ScsiAnswer, edtl: number, commandLength: number, room: Uint8Array | undefined, r2tSN: number): void {
  const data = a.data ?? EMPTY;
  const send = data.length > edtl ? data.subarray(0, edtl) : data;
  // What the command would move: its own length for a READ (EDTL for others), or more if the device produced more.
  const residual = residualOf(edtl, Math.max(commandLength, data.length), send.length);
  const collapse = a.status === ScsiStatus.GOOD && a.sense === undefined && send.length > 0;
  const seg = limits.maxSendDataSegmentLength;
  const burst = limits.maxBurstLength;
  // The room's header space serves the Data-In PDU that carries the room's data from its start, whole.
  const header = room !== undefined && (send === room || (room.byteOffset === send.byteOffset && room.buffer === send.buffer)) ? headerRoomOf(room) : undefined;
  let dataSN = 0;
  for (let off = 0; off < send.length; ) {
    // A Data-In sequence holds at most MaxBurstLength bytes (§13.13); F ends each sequence.
    const seqEnd = Math.min(send.length, off - (off % burst) + burst);
    const end = Math.min(seqEnd, off + seg);
    const last = end === send.length;
    hooks.out({
      kind: 'data-in',
      itt: task.itt,
      lun: task.lun,
      dataSN: dataSN++,
      bufferOffset: off,
      data: end - off === send.length ? send : send.subarray(off, end),
      header: end - off === send.length ? header : undefined,
      final: end === seqEnd,
      status: last && collapse ? { scsiStatus: a.status, residual } : undefined,
    });
    off = end;
  }
  if (!collapse) sendResponse(task, hooks, a.status, residual, a.sense, dataSN || r2tSN);
}

/**
 * The SCSI Response of a task whose Data-Out broke its sequence (DataSN order, Buffer Offset, more data than
 * asked for, or less by a burst's F bit): CHECK CONDITION, DATA PHASE ERROR, as ERL 0 cannot recover within
 * the command (§7.1.4.2).
 * Nothing reached the unit; `r2tSN`: the R2Ts the task sent.
 */
export function sendDataPhaseError(task: TaskCommand, hooks: TaskHooks, r2tSN: number): void {
  sendResponse(task, hooks, ScsiStatus.CHECK_CONDITION, residualOf(task.edtl, task.plan.commandLength, 0), DATA_PHASE_ERROR_SENSE, r2tSN);
}

/**
 * The SCSI Response of a task whose Data-Out `data` was not kept (task-data-out.ts), sent once none is owed:
 * after a data digest error, the CHECK CONDITION §7.8 asks for, PROTOCOL SERVICE CRC ERROR; after a Data-Out
 * over MaxRecvDataSegmentLength (§13.12), DATA PHASE ERROR, as for the other Data-Out the target cannot take;
 * refused a buffer by the Data-Out budget, TASK SET FULL. Nothing reached the unit.
 */
export function sendUnkeptResponse(task: TaskCommand, hooks: TaskHooks, data: DataOutCollection): void {
  const residual = residualOf(task.edtl, task.plan.commandLength, 0);
  const discarded = data.discarded;
  if (discarded === undefined) sendResponse(task, hooks, ScsiStatus.TASK_SET_FULL, residual, undefined, data.r2tSN);
  else sendResponse(task, hooks, ScsiStatus.CHECK_CONDITION, residual, DISCARDED_SENSE[discarded], data.r2tSN);
}
