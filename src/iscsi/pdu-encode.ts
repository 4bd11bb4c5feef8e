// Encoders for the PDUs a target sends (RFC 7143 §11.4, §11.6–§11.9, §11.11,
// §11.13, §11.15, §11.17, §11.19), from the values of pdu-types.ts to framed
// `Pdu`s: a fresh BHS with TotalAHSLength 0 and DataSegmentLength set, and the
// data segment unpadded (`serializePdu` pads and adds digests). A field that
// does not fit, or a flag combination the RFC forbids a sender, is a caller
// bug and throws RangeError.

import { BhsField, BhsFlag, BhsView, MAX_DATA_SEGMENT_LENGTH, bitField } from './bhs-layout.js';
import {
  IscsiOpcode,
  RESERVED_TAG,
  type AsyncMessageFields,
  type DataInFields,
  type LoginResponseFields,
  type LogoutResponseFields,
  type NopInFields,
  type Pdu,
  type R2tFields,
  type RejectFields,
  type Residual,
  type ScsiResponseFields,
  type TargetSequence,
  type TaskMgmtResponseFields,
  type TextResponseFields,
} from './pdu-types.js';

const EMPTY = new Uint8Array(0);
/** RFC 7143 §11.4.7 / §11.9: SenseLength is 2 bytes. */
const SENSE_LENGTH_BYTES = 2;
const MAX_SENSE_LENGTH = 0xffff;
/** RFC 7143 §11.17: the data segment of a Reject is the rejected PDU's BHS. */
const REJECTED_HEADER_LENGTH = 48;
/**
 * RFC 7143 §11.7.3: status rides on Data-In only for a command that completed
 * without an exception — GOOD, CONDITION MET, INTERMEDIATE, INTERMEDIATE-CONDITION
 * MET — because sense data cannot go with it.
 */
const DATA_IN_STATUSES: readonly number[] = [0x00, 0x04, 0x10, 0x14];

function finish(v: BhsView, data: Uint8Array, name: string): Pdu {
  if (data.length > MAX_DATA_SEGMENT_LENGTH) throw new RangeError(`${name}: ${data.length} data bytes exceed DataSegmentLength's 24 bits`);
  v.setUint24(BhsField.common.dataSegmentLength, data.length);
  return { bhs: v.bytes, ahs: EMPTY, data };
}

/** StatSN, ExpCmdSN, MaxCmdSN: bytes 24, 28, 32 in every target PDU that has them. */
function setSequence(v: BhsView, at: { readonly statSN: number; readonly expCmdSN: number; readonly maxCmdSN: number }, f: TargetSequence): void {
  v.setUint32(at.statSN, f.statSN);
  v.setUint32(at.expCmdSN, f.expCmdSN);
  v.setUint32(at.maxCmdSN, f.maxCmdSN);
}

/** The O/U (or o/u) bits of a residual; the RFC makes the pair mutually exclusive (§11.4.1). */
function residualBits(r: Residual, overflow: number, underflow: number, name: string): number {
  if (r.overflow && r.underflow) throw new RangeError(`${name}: a residual cannot be both overflow and underflow`);
  return (r.overflow ? overflow : 0) | (r.underflow ? underflow : 0);
}

/** RFC 7143 §11.4.7: SenseLength (2 bytes) then the sense data. */
function senseSegment(sense: Uint8Array | undefined, name: string): Uint8Array {
  if (sense === undefined) return EMPTY;
  if (sense.length > MAX_SENSE_LENGTH) throw new RangeError(`${name}: ${sense.length} sense bytes exceed SenseLength's 16 bits`);
  const out = new Uint8Array(SENSE_LENGTH_BYTES + sense.length);
  out[0] = sense.length >>> 8;
  out[1] = sense.length;
  out.set(sense, SENSE_LENGTH_BYTES);
  return out;
}

/** RFC 7143 §11.4: SCSI Response; sense goes in the data segment behind its SenseLength. */
export function encodeScsiResponse(f: ScsiResponseFields): Pdu {
  const name = 'SCSI Response';
  const S = BhsFlag.scsiResponse;
  const bidi = f.bidiReadResidual;
  const flags =
    BhsFlag.FINAL |
    residualBits(f.residual, S.OVERFLOW, S.UNDERFLOW, name) |
    (bidi === undefined ? 0 : residualBits(bidi, S.BIDI_OVERFLOW, S.BIDI_UNDERFLOW, name));
  const v = BhsView.fresh(IscsiOpcode.SCSI_RESPONSE, flags);
  const at = BhsField.scsiResponse;
  v.setUint8(at.response, f.response);
  v.setUint8(at.status, f.status);
  v.setUint32(BhsField.common.itt, f.itt);
  // SNACK Tag stays 0: vtcam accepts no R-Data SNACK (ErrorRecoveryLevel 0).
  setSequence(v, at, f);
  v.setUint32(at.expDataSN, f.expDataSN);
  v.setUint32(at.bidiReadResidualCount, bidi?.count ?? 0);
  v.setUint32(at.residualCount, f.residual.count);
  return finish(v, senseSegment(f.sense, name), name);
}

/** RFC 7143 §11.7: SCSI Data-In; with `status` it carries the S bit (F must be set too). */
export function encodeDataIn(f: DataInFields): Pdu {
  const name = 'SCSI Data-In';
  const D = BhsFlag.dataIn;
  const s = f.status;
  if (s !== undefined && !f.final) throw new RangeError(`${name}: the S bit needs the F bit`);
  if (s !== undefined && !DATA_IN_STATUSES.includes(s.scsiStatus)) {
    throw new RangeError(`${name}: status 0x${s.scsiStatus.toString(16)} must go in a SCSI Response`);
  }
  const flags =
    (f.final ? BhsFlag.FINAL : 0) |
    (f.ack ? D.ACK : 0) |
    (s === undefined ? 0 : D.STATUS | residualBits(s.residual, D.OVERFLOW, D.UNDERFLOW, name));
  const v = BhsView.fresh(IscsiOpcode.SCSI_DATA_IN, flags, f.bhs);
  const at = BhsField.dataIn;
  v.setBigUint64(BhsField.common.lun, f.lun);
  v.setUint32(BhsField.common.itt, f.itt);
  v.setUint32(at.ttt, f.ttt);
  v.setUint32(at.expCmdSN, f.expCmdSN);
  v.setUint32(at.maxCmdSN, f.maxCmdSN);
  v.setUint32(at.dataSN, f.dataSN);
  v.setUint32(at.bufferOffset, f.bufferOffset);
  if (s !== undefined) {
    v.setUint8(at.status, s.scsiStatus);
    v.setUint32(at.statSN, s.statSN);
    v.setUint32(at.residualCount, s.residual.count);
  }
  return finish(v, f.data, name);
}

/** RFC 7143 §11.8: Ready To Transfer. */
export function encodeR2t(f: R2tFields): Pdu {
  const v = BhsView.fresh(IscsiOpcode.R2T, BhsFlag.FINAL);
  const at = BhsField.r2t;
  v.setBigUint64(BhsField.common.lun, f.lun);
  v.setUint32(BhsField.common.itt, f.itt);
  v.setUint32(at.ttt, f.ttt);
  setSequence(v, at, f);
  v.setUint32(at.r2tSN, f.r2tSN);
  v.setUint32(at.bufferOffset, f.bufferOffset);
  v.setUint32(at.desiredDataTransferLength, f.desiredDataTransferLength);
  return finish(v, EMPTY, 'R2T');
}

/** RFC 7143 §11.19: NOP-In (a reply echoes the NOP-Out's ping data). */
export function encodeNopIn(f: NopInFields): Pdu {
  const v = BhsView.fresh(IscsiOpcode.NOP_IN, BhsFlag.FINAL);
  const at = BhsField.nopIn;
  v.setBigUint64(BhsField.common.lun, f.lun);
  v.setUint32(BhsField.common.itt, f.itt);
  v.setUint32(at.ttt, f.ttt);
  setSequence(v, at, f);
  return finish(v, f.data, 'NOP-In');
}

/** RFC 7143 §11.6: Task Management Function Response. */
export function encodeTaskMgmtResponse(f: TaskMgmtResponseFields): Pdu {
  const v = BhsView.fresh(IscsiOpcode.TASK_MGMT_RESPONSE, BhsFlag.FINAL);
  const at = BhsField.taskMgmtResponse;
  v.setUint8(at.response, f.response);
  v.setUint32(BhsField.common.itt, f.itt);
  setSequence(v, at, f);
  return finish(v, EMPTY, 'Task Management Function Response');
}

/** RFC 7143 §11.13: Login Response. */
export function encodeLoginResponse(f: LoginResponseFields): Pdu {
  const name = 'Login Response';
  const L = BhsFlag.login;
  // §11.13 (as §11.12.2): a PDU that continues its text cannot also transit.
  if (f.transit && f.cont) throw new RangeError(`${name}: T and C cannot both be set`);
  const flags = (f.transit ? L.TRANSIT : 0) | (f.cont ? L.CONTINUE : 0) | (bitField('CSG', f.csg, 2) << 2) | bitField('NSG', f.nsg, 2);
  const v = BhsView.fresh(IscsiOpcode.LOGIN_RESPONSE, flags);
  const at = BhsField.loginResponse;
  v.setUint8(at.versionMax, f.versionMax);
  v.setUint8(at.versionActive, f.versionActive);
  v.setBigUint48(at.isid, f.isid);
  v.setUint16(at.tsih, f.tsih);
  v.setUint32(BhsField.common.itt, f.itt);
  setSequence(v, at, f);
  v.setUint8(at.statusClass, f.statusClass);
  v.setUint8(at.statusDetail, f.statusDetail);
  return finish(v, f.data, name);
}

/** RFC 7143 §11.11: Text Response. */
export function encodeTextResponse(f: TextResponseFields): Pdu {
  const name = 'Text Response';
  // §11.11.2: C means more text follows, so the response cannot be final.
  if (f.final && f.cont) throw new RangeError(`${name}: F and C cannot both be set`);
  const v = BhsView.fresh(IscsiOpcode.TEXT_RESPONSE, (f.final ? BhsFlag.FINAL : 0) | (f.cont ? BhsFlag.text.CONTINUE : 0));
  const at = BhsField.textResponse;
  v.setBigUint64(BhsField.common.lun, f.lun);
  v.setUint32(BhsField.common.itt, f.itt);
  v.setUint32(at.ttt, f.ttt);
  setSequence(v, at, f);
  return finish(v, f.data, name);
}

/** RFC 7143 §11.15: Logout Response. */
export function encodeLogoutResponse(f: LogoutResponseFields): Pdu {
  const v = BhsView.fresh(IscsiOpcode.LOGOUT_RESPONSE, BhsFlag.FINAL);
  const at = BhsField.logoutResponse;
  v.setUint8(at.response, f.response);
  v.setUint32(BhsField.common.itt, f.itt);
  setSequence(v, at, f);
  v.setUint16(at.time2Wait, f.time2Wait);
  v.setUint16(at.time2Retain, f.time2Retain);
  return finish(v, EMPTY, 'Logout Response');
}

/** RFC 7143 §11.17: Reject; the data segment is the rejected PDU's 48-byte BHS. */
export function encodeReject(f: RejectFields): Pdu {
  const name = 'Reject';
  if (f.header.length !== REJECTED_HEADER_LENGTH) throw new RangeError(`${name}: the rejected header is ${f.header.length} bytes, not 48`);
  const v = BhsView.fresh(IscsiOpcode.REJECT, BhsFlag.FINAL);
  const at = BhsField.reject;
  v.setUint8(at.reason, f.reason);
  v.setUint32(BhsField.common.itt, RESERVED_TAG);
  setSequence(v, at, f);
  v.setUint32(at.dataSN, f.dataSN);
  return finish(v, f.header, name);
}

/** RFC 7143 §11.9: Asynchronous Message; event 0 carries sense behind its SenseLength. */
export function encodeAsyncMessage(f: AsyncMessageFields): Pdu {
  const name = 'Asynchronous Message';
  const v = BhsView.fresh(IscsiOpcode.ASYNC_MESSAGE, BhsFlag.FINAL);
  const at = BhsField.asyncMessage;
  v.setBigUint64(BhsField.common.lun, f.lun);
  v.setUint32(BhsField.common.itt, RESERVED_TAG);
  setSequence(v, at, f);
  v.setUint8(at.asyncEvent, f.asyncEvent);
  v.setUint8(at.asyncVCode, f.asyncVCode);
  v.setUint16(at.parameter1, f.parameter1);
  v.setUint16(at.parameter2, f.parameter2);
  v.setUint16(at.parameter3, f.parameter3);
  return finish(v, senseSegment(f.sense, name), name);
}
