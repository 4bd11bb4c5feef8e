// Decoders for the PDUs an initiator sends (RFC 7143 §11.3, §11.5, §11.7,
// §11.10, §11.12, §11.14, §11.16, §11.18), from framed `Pdu`s to the values of
// pdu-types.ts. A decoder returns the value, or for a malformed field
// `{ reject, message }` (test with `'reject' in result`): the Reject reason
// (§11.17.1) the connection answers with; RFC 7143
// §7.7 calls these format errors and lets the connection escalate (close) after
// the Reject. A Pdu whose lengths disagree with its own BHS, or a decoder
// called for the wrong opcode, is a caller bug and throws.
//
// Checked here: AHS structure and types, segments a PDU must not carry, and
// the field MUSTs that need nothing but the PDU itself. Login-phase rules (T
// with C, stage codes, versions) are the login code's: it answers them with a
// Login Response status, not a Reject (§11.13.5).

import { BhsField, BhsFlag, BhsView, padded } from './bhs-layout.js';
import {
  IscsiOpcode,
  RejectReason,
  RESERVED_TAG,
  type DataOutHeader,
  type DataOutPdu,
  type LoginRequestPdu,
  type LogoutRequestPdu,
  type NopOutPdu,
  type Pdu,
  type ScsiCommandPdu,
  type SnackRequestPdu,
  type TaskMgmtRequestPdu,
  type TextRequestPdu,
} from './pdu-types.js';

/** A PDU field that is not allowed: the Reject reason and what was wrong. */
export interface PduReject {
  readonly reject: RejectReason;
  readonly message: string;
}

/** A decoded PDU, or why it is rejected (`'reject' in result`). */
export type PduDecoded<T> = T | PduReject;

/** RFC 7143 §11.2.2.1: AHSType codes (bits 2..7 of the AHSType byte). */
export const AhsType = {
  EXTENDED_CDB: 1,
  BIDIRECTIONAL_READ_EXPECTED_DATA_TRANSFER_LENGTH: 2,
} as const;
export type AhsType = (typeof AhsType)[keyof typeof AhsType];

/** RFC 7143 §11.2.2.1: codes 60..63 are for non-iSCSI extensions; 0 and 3..59 are reserved. */
const NON_ISCSI_AHS_TYPES = { first: 60, last: 63 } as const;
const AHS_TYPE_CODE = 0x3f; // AHSType bits 2..7; bits 0..1 are reserved
/** RFC 7143 §11.2.2: AHSLength (2 bytes) and AHSType (1 byte) precede the AHSLength bytes. */
const AHS_PREFIX = 3;
/** RFC 7143 §11.2.2.4: the reserved byte plus the 4-byte length. */
const BIDI_AHS_LENGTH = 5;
/** RFC 7143 §11.3.5: the BHS holds a CDB of up to 16 bytes. */
const BHS_CDB_LENGTH = 16;

const fault = (message: string, reject: RejectReason = RejectReason.INVALID_PDU_FIELD): PduReject => ({ reject, message });

/** Checks the opcode and that the Pdu's segments match its BHS (the framing guarantees both). */
function open(pdu: Pdu, opcode: IscsiOpcode, name: string): BhsView {
  // The shared view (BhsView.over): a decoder is done with it before it returns.
  const v = BhsView.over(pdu.bhs);
  if (v.opcode !== opcode) throw new RangeError(`decode ${name}: opcode 0x${v.opcode.toString(16)} is not 0x${opcode.toString(16)}`);
  if (pdu.ahs.length !== v.totalAhsBytes) throw new RangeError(`decode ${name}: ${pdu.ahs.length} AHS bytes, TotalAHSLength says ${v.totalAhsBytes}`);
  if (pdu.data.length !== v.dataSegmentLength) {
    throw new RangeError(`decode ${name}: ${pdu.data.length} data bytes, DataSegmentLength says ${v.dataSegmentLength}`);
  }
  return v;
}

/** Only the SCSI Command has AHS types defined (§11.2.2.1); on any other PDU an AHS is an invalid field. */
function refuseAhs(v: BhsView, name: string): PduReject | undefined {
  return v.totalAhsBytes === 0 ? undefined : fault(`${name}: TotalAHSLength ${v.totalAhsBytes / 4}, but this PDU has no AHS`);
}

/** For PDUs whose figure marks DataSegmentLength "MBZ" or that carry no data (§11.5, §11.14, §11.16). */
function refuseData(v: BhsView, name: string): PduReject | undefined {
  return v.dataSegmentLength === 0 ? undefined : fault(`${name}: DataSegmentLength ${v.dataSegmentLength}, but this PDU carries no data`);
}

const flag = (v: BhsView, mask: number): boolean => (v.flags & mask) !== 0;

/**
 * §11.2.1.8: the initiator never assigns ITT FFFFFFFFh to a task: it marks a target's NOP-In ping and the
 * NOP-Out answering it, so a command, a function, a Text or Logout Request under it, and its Data-Out, would
 * be taken for those.
 */
function refuseReservedItt(v: BhsView, name: string): PduReject | undefined {
  return v.itt === RESERVED_TAG ? fault(`${name}: Initiator Task Tag FFFFFFFFh is reserved`) : undefined;
}

interface CommandAhs {
  readonly extendedCdb?: Uint8Array;
  readonly bidiReadLength?: number;
}

/** A SCSI Command without AHS, as nearly all are. */
const NO_AHS: CommandAhs = {};

/** Walks the AHS list of a SCSI Command (RFC 7143 §11.2.2). */
function parseCommandAhs(ahs: Uint8Array): PduDecoded<CommandAhs> {
  if (ahs.length === 0) return NO_AHS;
  let extendedCdb: Uint8Array | undefined;
  let bidiReadLength: number | undefined;
  for (let at = 0; at < ahs.length; ) {
    const ahsLength = ((ahs[at] ?? 0) << 8) | (ahs[at + 1] ?? 0);
    const type = (ahs[at + 2] ?? 0) & AHS_TYPE_CODE;
    const size = padded(AHS_PREFIX + ahsLength);
    if (at + size > ahs.length) {
      return fault(`SCSI Command: AHS at byte ${at} has AHSLength ${ahsLength} (${size} bytes padded), past TotalAHSLength (${ahs.length} bytes)`);
    }
    if (type === AhsType.EXTENDED_CDB) {
      if (extendedCdb !== undefined) return fault(`SCSI Command: a second Extended CDB AHS at byte ${at}`);
      // §11.2.2.3: AHSLength = CDBLength - 15 (it counts the reserved byte), and only for CDBs over 16 bytes.
      if (ahsLength < 2) return fault(`SCSI Command: Extended CDB AHS with AHSLength ${ahsLength}, so a CDB of ${ahsLength + 15} bytes`);
      extendedCdb = ahs.subarray(at + AHS_PREFIX + 1, at + AHS_PREFIX + ahsLength);
    } else if (type === AhsType.BIDIRECTIONAL_READ_EXPECTED_DATA_TRANSFER_LENGTH) {
      if (bidiReadLength !== undefined) return fault(`SCSI Command: a second Bidirectional Read Expected Data Transfer Length AHS at byte ${at}`);
      if (ahsLength !== BIDI_AHS_LENGTH) return fault(`SCSI Command: Bidirectional Read AHS with AHSLength ${ahsLength}, not 5`);
      bidiReadLength = (((ahs[at + 4] ?? 0) << 24) | ((ahs[at + 5] ?? 0) << 16) | ((ahs[at + 6] ?? 0) << 8) | (ahs[at + 7] ?? 0)) >>> 0;
    } else if (type < NON_ISCSI_AHS_TYPES.first || type > NON_ISCSI_AHS_TYPES.last) {
      return fault(`SCSI Command: AHSType ${type} at byte ${at} is reserved`);
    }
    // Types 60..63 belong to extensions vtcam does not implement; they carry nothing it needs.
    at += size;
  }
  return { ...(extendedCdb === undefined ? {} : { extendedCdb }), ...(bidiReadLength === undefined ? {} : { bidiReadLength }) };
}

/** RFC 7143 §11.3: SCSI Command, with the Extended CDB (type 1) and Bidirectional Read (type 2) AHS. */
export function decodeScsiCommand(pdu: Pdu): PduDecoded<ScsiCommandPdu> {
  const name = 'SCSI Command';
  const v = open(pdu, IscsiOpcode.SCSI_COMMAND, name);
  const F = BhsField.scsiCommand;
  const reserved = refuseReservedItt(v, name);
  if (reserved) return reserved;
  const parsed = parseCommandAhs(pdu.ahs);
  if ('reject' in parsed) return parsed;
  const extendedCdb = parsed.extendedCdb;
  const bidiReadLength = parsed.bidiReadLength;
  const final = flag(v, BhsFlag.FINAL);
  const read = flag(v, BhsFlag.scsiCommand.READ);
  const write = flag(v, BhsFlag.scsiCommand.WRITE);
  const expectedDataTransferLength = v.getUint32(F.expectedDataTransferLength);
  // §11.3.1: at least one of W and F; R or W whenever a transfer length is not 0.
  if (!final && !write) return fault(`${name}: neither F nor W is set`);
  if (!read && !write && (expectedDataTransferLength !== 0 || (bidiReadLength ?? 0) !== 0)) {
    return fault(`${name}: Expected Data Transfer Length ${expectedDataTransferLength} with neither R nor W set`);
  }
  // §11.3.6: the data segment is immediate write data.
  if (!write && pdu.data.length !== 0) return fault(`${name}: ${pdu.data.length} bytes of immediate data without W`);
  const bhsCdb = pdu.bhs.subarray(F.cdb, F.cdb + BHS_CDB_LENGTH);
  let cdb = bhsCdb;
  if (extendedCdb !== undefined) {
    cdb = new Uint8Array(BHS_CDB_LENGTH + extendedCdb.length);
    cdb.set(bhsCdb);
    cdb.set(extendedCdb, BHS_CDB_LENGTH);
  }
  const command: ScsiCommandPdu = {
    opcode: v.opcode,
    immediate: v.immediate,
    itt: v.itt,
    final,
    read,
    write,
    attr: v.flags & BhsFlag.scsiCommand.ATTR,
    lun: v.lun,
    expectedDataTransferLength,
    cmdSN: v.getUint32(F.cmdSN),
    expStatSN: v.getUint32(F.expStatSN),
    cdb,
    data: pdu.data,
  };
  // Built without a spread for the common case (every command passes here); a bidirectional one is rare.
  return bidiReadLength === undefined ? command : { ...command, bidiReadLength };
}

/** RFC 7143 §11.7: SCSI Data-Out. */
export function decodeDataOut(pdu: Pdu): PduDecoded<DataOutPdu> {
  const name = 'SCSI Data-Out';
  const v = open(pdu, IscsiOpcode.SCSI_DATA_OUT, name);
  const bad = refuseAhs(v, name);
  if (bad) return bad;
  return { ...dataOutFields(v), data: pdu.data };
}

/** What a Data-Out's BHS says (§11.7), but for its data segment. */
function dataOutFields(v: BhsView): Omit<DataOutHeader, 'dataSegmentLength'> {
  const F = BhsField.dataOut;
  return {
    opcode: v.opcode,
    immediate: v.immediate,
    itt: v.itt,
    final: flag(v, BhsFlag.FINAL),
    lun: v.lun,
    ttt: v.getUint32(F.ttt),
    expStatSN: v.getUint32(F.expStatSN),
    dataSN: v.getUint32(F.dataSN),
    bufferOffset: v.getUint32(F.bufferOffset),
  };
}

/**
 * RFC 7143 §11.7: a SCSI Data-Out from its BHS alone, for a PDU whose data segment was discarded (digest
 * error, or over MaxRecvDataSegmentLength): the same checks as decodeDataOut, the length from the header.
 * @throws RangeError when `bhs` is not a Data-Out's (a caller bug).
 */
export function decodeDataOutHeader(bhs: Uint8Array): PduDecoded<DataOutHeader> {
  const name = 'SCSI Data-Out';
  const v = BhsView.over(bhs);
  if (v.opcode !== IscsiOpcode.SCSI_DATA_OUT) throw new RangeError(`decode ${name} header: opcode 0x${v.opcode.toString(16)} is not 0x5`);
  const bad = refuseAhs(v, name);
  if (bad) return bad;
  return { ...dataOutFields(v), dataSegmentLength: v.dataSegmentLength };
}

/** RFC 7143 §11.18: NOP-Out (the data segment is ping data to echo). */
export function decodeNopOut(pdu: Pdu): PduDecoded<NopOutPdu> {
  const name = 'NOP-Out';
  const v = open(pdu, IscsiOpcode.NOP_OUT, name);
  const F = BhsField.nopOut;
  const bad = refuseAhs(v, name);
  if (bad) return bad;
  return {
    opcode: v.opcode,
    immediate: v.immediate,
    itt: v.itt,
    lun: v.lun,
    ttt: v.getUint32(F.ttt),
    cmdSN: v.getUint32(F.cmdSN),
    expStatSN: v.getUint32(F.expStatSN),
    data: pdu.data,
  };
}

/** RFC 7143 §11.5: Task Management Function Request (TotalAHSLength and DataSegmentLength are MBZ). */
export function decodeTaskMgmtRequest(pdu: Pdu): PduDecoded<TaskMgmtRequestPdu> {
  const name = 'Task Management Function Request';
  const v = open(pdu, IscsiOpcode.TASK_MGMT_REQUEST, name);
  const F = BhsField.taskMgmtRequest;
  const bad = refuseAhs(v, name) ?? refuseData(v, name) ?? refuseReservedItt(v, name);
  if (bad) return bad;
  return {
    opcode: v.opcode,
    immediate: v.immediate,
    itt: v.itt,
    function: v.flags & BhsFlag.taskMgmtFunction,
    lun: v.lun,
    referencedTaskTag: v.getUint32(F.referencedTaskTag),
    cmdSN: v.getUint32(F.cmdSN),
    expStatSN: v.getUint32(F.expStatSN),
    refCmdSN: v.getUint32(F.refCmdSN),
    expDataSN: v.getUint32(F.expDataSN),
  };
}

/** RFC 7143 §11.12: Login Request (the data segment is text key=value pairs). */
export function decodeLoginRequest(pdu: Pdu): PduDecoded<LoginRequestPdu> {
  const name = 'Login Request';
  const v = open(pdu, IscsiOpcode.LOGIN_REQUEST, name);
  const F = BhsField.loginRequest;
  const bad = refuseAhs(v, name);
  if (bad) return bad;
  return {
    opcode: v.opcode,
    immediate: v.immediate,
    itt: v.itt,
    transit: flag(v, BhsFlag.login.TRANSIT),
    cont: flag(v, BhsFlag.login.CONTINUE),
    csg: (v.flags & BhsFlag.login.CSG) >> 2,
    nsg: v.flags & BhsFlag.login.NSG,
    versionMax: v.getUint8(F.versionMax),
    versionMin: v.getUint8(F.versionMin),
    isid: v.getBigUint48(F.isid),
    tsih: v.getUint16(F.tsih),
    cid: v.getUint16(F.cid),
    cmdSN: v.getUint32(F.cmdSN),
    expStatSN: v.getUint32(F.expStatSN),
    data: pdu.data,
  };
}

/** RFC 7143 §11.10: Text Request. */
export function decodeTextRequest(pdu: Pdu): PduDecoded<TextRequestPdu> {
  const name = 'Text Request';
  const v = open(pdu, IscsiOpcode.TEXT_REQUEST, name);
  const F = BhsField.textRequest;
  const bad = refuseAhs(v, name) ?? refuseReservedItt(v, name);
  if (bad) return bad;
  const final = flag(v, BhsFlag.FINAL);
  const cont = flag(v, BhsFlag.text.CONTINUE);
  // §11.10.2: a request whose text continues in the next PDU cannot be the final one.
  if (final && cont) return fault(`${name}: both F and C are set`);
  return {
    opcode: v.opcode,
    immediate: v.immediate,
    itt: v.itt,
    final,
    cont,
    lun: v.lun,
    ttt: v.getUint32(F.ttt),
    cmdSN: v.getUint32(F.cmdSN),
    expStatSN: v.getUint32(F.expStatSN),
    data: pdu.data,
  };
}

/** RFC 7143 §11.14: Logout Request (TotalAHSLength and DataSegmentLength are MBZ). */
export function decodeLogoutRequest(pdu: Pdu): PduDecoded<LogoutRequestPdu> {
  const name = 'Logout Request';
  const v = open(pdu, IscsiOpcode.LOGOUT_REQUEST, name);
  const F = BhsField.logoutRequest;
  const bad = refuseAhs(v, name) ?? refuseData(v, name) ?? refuseReservedItt(v, name);
  if (bad) return bad;
  return {
    opcode: v.opcode,
    immediate: v.immediate,
    itt: v.itt,
    reasonCode: v.flags & BhsFlag.logoutReason,
    cid: v.getUint16(F.cid),
    cmdSN: v.getUint32(F.cmdSN),
    expStatSN: v.getUint32(F.expStatSN),
  };
}

/** RFC 7143 §11.16: SNACK Request (no data segment). */
export function decodeSnackRequest(pdu: Pdu): PduDecoded<SnackRequestPdu> {
  const name = 'SNACK Request';
  const v = open(pdu, IscsiOpcode.SNACK_REQUEST, name);
  const F = BhsField.snackRequest;
  const bad = refuseAhs(v, name) ?? refuseData(v, name);
  if (bad) return bad;
  return {
    opcode: v.opcode,
    immediate: v.immediate,
    itt: v.itt,
    type: v.flags & BhsFlag.snackType,
    lun: v.lun,
    ttt: v.getUint32(F.ttt),
    expStatSN: v.getUint32(F.expStatSN),
    begRun: v.getUint32(F.begRun),
    runLength: v.getUint32(F.runLength),
  };
}
