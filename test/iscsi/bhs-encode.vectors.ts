// Target PDU vectors written by hand from the PDU figures of RFC 7143 §11,
// one 4-byte row per line as the RFC draws them (bit 0 of a byte is its most
// significant bit).

import type {
  AsyncMessageFields,
  DataInFields,
  LoginResponseFields,
  LogoutResponseFields,
  NopInFields,
  R2tFields,
  RejectFields,
  ScsiResponseFields,
  TaskMgmtResponseFields,
  TextResponseFields,
} from '../../src/iscsi/pdu-types.js';
import { READ10_COMMAND_BHS } from './bhs-decode.vectors.js';
import { ZERO_ROW, bytes, rows } from './hex.js';

export type EncodeVector =
  | { readonly name: string; readonly kind: 'scsiResponse'; readonly fields: ScsiResponseFields; readonly bhs: string; readonly data: string }
  | { readonly name: string; readonly kind: 'dataIn'; readonly fields: DataInFields; readonly bhs: string; readonly data: string }
  | { readonly name: string; readonly kind: 'r2t'; readonly fields: R2tFields; readonly bhs: string; readonly data: string }
  | { readonly name: string; readonly kind: 'nopIn'; readonly fields: NopInFields; readonly bhs: string; readonly data: string }
  | { readonly name: string; readonly kind: 'taskMgmtResponse'; readonly fields: TaskMgmtResponseFields; readonly bhs: string; readonly data: string }
  | { readonly name: string; readonly kind: 'loginResponse'; readonly fields: LoginResponseFields; readonly bhs: string; readonly data: string }
  | { readonly name: string; readonly kind: 'textResponse'; readonly fields: TextResponseFields; readonly bhs: string; readonly data: string }
  | { readonly name: string; readonly kind: 'logoutResponse'; readonly fields: LogoutResponseFields; readonly bhs: string; readonly data: string }
  | { readonly name: string; readonly kind: 'reject'; readonly fields: RejectFields; readonly bhs: string; readonly data: string }
  | { readonly name: string; readonly kind: 'asyncMessage'; readonly fields: AsyncMessageFields; readonly bhs: string; readonly data: string };

const NO_RESIDUAL = { overflow: false, underflow: false, count: 0 } as const;
/** Fixed format sense, ILLEGAL REQUEST, 24h/00h INVALID FIELD IN CDB (SPC-5). */
const SENSE_INVALID_FIELD = '70 00 05 00 00 00 00 0a 00 00 00 00 24 00 00 00 00 00';
/** Fixed format sense, UNIT ATTENTION, 2Ah/09h CAPACITY DATA HAS CHANGED. */
const SENSE_CAPACITY_CHANGED = '70 00 06 00 00 00 00 0a 00 00 00 00 2a 09 00 00 00 00';

export const encodeVectors: readonly EncodeVector[] = [
  {
    name: 'SCSI Response: GOOD, no sense',
    kind: 'scsiResponse',
    fields: { itt: 0x12345678, response: 0, status: 0, statSN: 0x100, expCmdSN: 8, maxCmdSN: 0x27, expDataSN: 0, residual: NO_RESIDUAL },
    bhs: rows(
      '21 80 00 00', //  0: opcode 21h; F=1 (always); Response 00h; Status GOOD
      ZERO_ROW, ZERO_ROW, ZERO_ROW, //  4: lengths 0; 8: reserved
      '12 34 56 78', // 16: ITT
      ZERO_ROW, //      20: SNACK Tag
      '00 00 01 00', // 24: StatSN
      '00 00 00 08', // 28: ExpCmdSN
      '00 00 00 27', // 32: MaxCmdSN
      ZERO_ROW, //      36: ExpDataSN
      ZERO_ROW, //      40: Bidirectional Read Residual Count
      ZERO_ROW, //      44: Residual Count
    ),
    data: '',
  },
  {
    name: 'SCSI Response: CHECK CONDITION with sense (SenseLength 18), underflow 512',
    kind: 'scsiResponse',
    fields: {
      itt: 5, response: 0, status: 0x02, statSN: 9, expCmdSN: 10, maxCmdSN: 0x29, expDataSN: 1,
      residual: { overflow: false, underflow: true, count: 512 }, sense: bytes(SENSE_INVALID_FIELD),
    },
    bhs: rows('21 82 00 02', '00 00 00 14', ZERO_ROW, ZERO_ROW, '00 00 00 05', ZERO_ROW, '00 00 00 09', '00 00 00 0a', '00 00 00 29', '00 00 00 01', ZERO_ROW, '00 00 02 00'),
    data: `00 12 ${SENSE_INVALID_FIELD}`,
  },
  {
    name: 'SCSI Response: target failure, overflow 4, bidirectional read underflow 64, StatSN FFFFFFFFh',
    kind: 'scsiResponse',
    fields: {
      itt: 6, response: 1, status: 0, statSN: 0xffff_ffff, expCmdSN: 0, maxCmdSN: 0, expDataSN: 0,
      residual: { overflow: true, underflow: false, count: 4 }, bidiReadResidual: { overflow: false, underflow: true, count: 0x40 },
    },
    bhs: rows('21 8c 01 00', ZERO_ROW, ZERO_ROW, ZERO_ROW, '00 00 00 06', ZERO_ROW, 'ff ff ff ff', ZERO_ROW, ZERO_ROW, ZERO_ROW, '00 00 00 40', '00 00 00 04'),
    data: '',
  },
  {
    name: 'SCSI Data-In: not final, A bit, no status',
    kind: 'dataIn',
    fields: {
      final: false, ack: true, lun: 0x0001_0000_0000_0000n, itt: 7, ttt: 0x11, expCmdSN: 0x0b, maxCmdSN: 0x2b, dataSN: 0, bufferOffset: 0,
      data: bytes('01 02 03 04 05 06 07 08'),
    },
    bhs: rows(
      '25 40 00 00', //  0: opcode 25h; F=0 A=1 O=0 U=0 S=0; Status (reserved)
      '00 00 00 08', //  4: DataSegmentLength 8
      '00 01 00 00', ZERO_ROW, //  8: LUN 1
      '00 00 00 07', // 16: ITT
      '00 00 00 11', // 20: Target Transfer Tag
      ZERO_ROW, //      24: StatSN (reserved without S)
      '00 00 00 0b', // 28: ExpCmdSN
      '00 00 00 2b', // 32: MaxCmdSN
      ZERO_ROW, //      36: DataSN
      ZERO_ROW, //      40: Buffer Offset
      ZERO_ROW, //      44: Residual Count (reserved without S)
    ),
    data: '01 02 03 04 05 06 07 08',
  },
  {
    name: 'SCSI Data-In: final with status (phase collapse), underflow 16, 3 bytes',
    kind: 'dataIn',
    fields: {
      final: true, ack: false, lun: 0n, itt: 7, ttt: 0xffff_ffff, expCmdSN: 0x0b, maxCmdSN: 0x2b, dataSN: 2, bufferOffset: 0x2000,
      data: bytes('aa bb cc'), status: { statSN: 0x0c, scsiStatus: 0, residual: { overflow: false, underflow: true, count: 16 } },
    },
    bhs: rows('25 83 00 00', '00 00 00 03', ZERO_ROW, ZERO_ROW, '00 00 00 07', 'ff ff ff ff', '00 00 00 0c', '00 00 00 0b', '00 00 00 2b', '00 00 00 02', '00 00 20 00', '00 00 00 10'),
    data: 'aa bb cc',
  },
  {
    name: 'SCSI Data-In: final with CONDITION MET status and overflow',
    kind: 'dataIn',
    fields: {
      final: true, ack: false, lun: 0n, itt: 8, ttt: 0xffff_ffff, expCmdSN: 1, maxCmdSN: 2, dataSN: 0, bufferOffset: 0,
      data: bytes('00'), status: { statSN: 3, scsiStatus: 0x04, residual: { overflow: true, underflow: false, count: 1 } },
    },
    bhs: rows('25 85 00 04', '00 00 00 01', ZERO_ROW, ZERO_ROW, '00 00 00 08', 'ff ff ff ff', '00 00 00 03', '00 00 00 01', '00 00 00 02', ZERO_ROW, ZERO_ROW, '00 00 00 01'),
    data: '00',
  },
  {
    name: 'SCSI Data-In: final without status (the SCSI Response follows)',
    kind: 'dataIn',
    fields: { final: true, ack: false, lun: 0n, itt: 9, ttt: 0xffff_ffff, expCmdSN: 1, maxCmdSN: 2, dataSN: 0xffff_ffff, bufferOffset: 0xffff_fffc, data: bytes('01 02 03 04') },
    bhs: rows('25 80 00 00', '00 00 00 04', ZERO_ROW, ZERO_ROW, '00 00 00 09', 'ff ff ff ff', ZERO_ROW, '00 00 00 01', '00 00 00 02', 'ff ff ff ff', 'ff ff ff fc', ZERO_ROW),
    data: '01 02 03 04',
  },
  {
    name: 'R2T',
    kind: 'r2t',
    fields: { lun: 0x0001_0000_0000_0000n, itt: 7, ttt: 5, statSN: 0x0c, expCmdSN: 0x0b, maxCmdSN: 0x2b, r2tSN: 0, bufferOffset: 0x1000, desiredDataTransferLength: 0x10000 },
    bhs: rows(
      '31 80 00 00', //  0: opcode 31h; F=1
      ZERO_ROW, //       4: lengths 0
      '00 01 00 00', ZERO_ROW, //  8: LUN 1
      '00 00 00 07', // 16: ITT
      '00 00 00 05', // 20: Target Transfer Tag
      '00 00 00 0c', // 24: StatSN
      '00 00 00 0b', // 28: ExpCmdSN
      '00 00 00 2b', // 32: MaxCmdSN
      ZERO_ROW, //      36: R2TSN
      '00 00 10 00', // 40: Buffer Offset
      '00 01 00 00', // 44: Desired Data Transfer Length
    ),
    data: '',
  },
  {
    name: 'NOP-In: echo of a ping with data',
    kind: 'nopIn',
    fields: { lun: 0n, itt: 10, ttt: 0xffff_ffff, statSN: 0x0d, expCmdSN: 6, maxCmdSN: 0x26, data: bytes('70 69 6e 67') },
    bhs: rows('20 80 00 00', '00 00 00 04', ZERO_ROW, ZERO_ROW, '00 00 00 0a', 'ff ff ff ff', '00 00 00 0d', '00 00 00 06', '00 00 00 26', ZERO_ROW, ZERO_ROW, ZERO_ROW),
    data: '70 69 6e 67',
  },
  {
    name: 'NOP-In: target ping (ITT FFFFFFFFh, a TTT to answer)',
    kind: 'nopIn',
    fields: { lun: 0x0002_0000_0000_0000n, itt: 0xffff_ffff, ttt: 1, statSN: 0x0e, expCmdSN: 6, maxCmdSN: 0x26, data: new Uint8Array(0) },
    bhs: rows('20 80 00 00', ZERO_ROW, '00 02 00 00', ZERO_ROW, 'ff ff ff ff', '00 00 00 01', '00 00 00 0e', '00 00 00 06', '00 00 00 26', ZERO_ROW, ZERO_ROW, ZERO_ROW),
    data: '',
  },
  {
    name: 'Task Management Function Response: function not supported',
    kind: 'taskMgmtResponse',
    fields: { itt: 0x20, response: 5, statSN: 0x0e, expCmdSN: 0x0a, maxCmdSN: 0x2a },
    bhs: rows('22 80 05 00', ZERO_ROW, ZERO_ROW, ZERO_ROW, '00 00 00 20', ZERO_ROW, '00 00 00 0e', '00 00 00 0a', '00 00 00 2a', ZERO_ROW, ZERO_ROW, ZERO_ROW),
    data: '',
  },
  {
    name: 'Login Response: success, T=1 to the full feature phase',
    kind: 'loginResponse',
    fields: {
      transit: true, cont: false, csg: 1, nsg: 3, versionMax: 0, versionActive: 0, isid: 0x8012_3456_789an, tsih: 1, itt: 0,
      statSN: 0, expCmdSN: 1, maxCmdSN: 0x20, statusClass: 0, statusDetail: 0, data: bytes('61 3d 62 00'),
    },
    bhs: rows(
      '23 87 00 00', //  0: opcode 23h; T=1 C=0 CSG=1 NSG=3; Version-max, Version-active
      '00 00 00 04', //  4: DataSegmentLength 4
      '80 12 34 56', //  8: ISID
      '78 9a 00 01', // 12: ISID (cont.), TSIH 1
      ZERO_ROW, //      16: ITT
      ZERO_ROW, //      20: reserved
      ZERO_ROW, //      24: StatSN
      '00 00 00 01', // 28: ExpCmdSN
      '00 00 00 20', // 32: MaxCmdSN
      ZERO_ROW, //      36: Status-Class, Status-Detail, reserved
      ZERO_ROW, ZERO_ROW,
    ),
    data: '61 3d 62 00',
  },
  {
    name: 'Login Response: authentication failure (02h/01h)',
    kind: 'loginResponse',
    fields: {
      transit: false, cont: false, csg: 0, nsg: 0, versionMax: 0, versionActive: 0, isid: 0xffff_ffff_ffffn, tsih: 0, itt: 0xabcdef01,
      statSN: 7, expCmdSN: 1, maxCmdSN: 1, statusClass: 2, statusDetail: 1, data: new Uint8Array(0),
    },
    bhs: rows('23 00 00 00', ZERO_ROW, 'ff ff ff ff', 'ff ff 00 00', 'ab cd ef 01', ZERO_ROW, '00 00 00 07', '00 00 00 01', '00 00 00 01', '02 01 00 00', ZERO_ROW, ZERO_ROW),
    data: '',
  },
  {
    name: 'Login Response: C=1, security stage, text continues',
    kind: 'loginResponse',
    fields: {
      transit: false, cont: true, csg: 0, nsg: 1, versionMax: 0, versionActive: 0, isid: 1n, tsih: 0, itt: 2,
      statSN: 0, expCmdSN: 1, maxCmdSN: 1, statusClass: 0, statusDetail: 0, data: bytes('61'),
    },
    bhs: rows('23 41 00 00', '00 00 00 01', '00 00 00 00', '00 01 00 00', '00 00 00 02', ZERO_ROW, ZERO_ROW, '00 00 00 01', '00 00 00 01', ZERO_ROW, ZERO_ROW, ZERO_ROW),
    data: '61',
  },
  {
    name: 'Text Response: final',
    kind: 'textResponse',
    fields: { final: true, cont: false, lun: 0n, itt: 2, ttt: 0xffff_ffff, statSN: 5, expCmdSN: 4, maxCmdSN: 0x24, data: bytes('61 3d 62 00 63 3d 64 00') },
    bhs: rows('24 80 00 00', '00 00 00 08', ZERO_ROW, ZERO_ROW, '00 00 00 02', 'ff ff ff ff', '00 00 00 05', '00 00 00 04', '00 00 00 24', ZERO_ROW, ZERO_ROW, ZERO_ROW),
    data: '61 3d 62 00 63 3d 64 00',
  },
  {
    name: 'Text Response: C=1 with a TTT to continue',
    kind: 'textResponse',
    fields: { final: false, cont: true, lun: 0n, itt: 3, ttt: 0x100, statSN: 6, expCmdSN: 5, maxCmdSN: 0x25, data: bytes('61 3d') },
    bhs: rows('24 40 00 00', '00 00 00 02', ZERO_ROW, ZERO_ROW, '00 00 00 03', '00 00 01 00', '00 00 00 06', '00 00 00 05', '00 00 00 25', ZERO_ROW, ZERO_ROW, ZERO_ROW),
    data: '61 3d',
  },
  {
    name: 'Logout Response: closed, Time2Wait 2, Time2Retain 20',
    kind: 'logoutResponse',
    fields: { itt: 0x30, response: 0, statSN: 0x0f, expCmdSN: 0x0c, maxCmdSN: 0x2c, time2Wait: 2, time2Retain: 20 },
    bhs: rows(
      '26 80 00 00', //  0: opcode 26h; F=1; Response 0
      ZERO_ROW, ZERO_ROW, ZERO_ROW,
      '00 00 00 30', // 16: ITT
      ZERO_ROW, //      20: reserved
      '00 00 00 0f', // 24: StatSN
      '00 00 00 0c', // 28: ExpCmdSN
      '00 00 00 2c', // 32: MaxCmdSN
      ZERO_ROW, //      36: reserved
      '00 02 00 14', // 40: Time2Wait, Time2Retain
      ZERO_ROW,
    ),
    data: '',
  },
  {
    name: 'Reject: invalid PDU field, the rejected BHS as data',
    kind: 'reject',
    fields: { reason: 0x09, statSN: 0x10, expCmdSN: 0x0d, maxCmdSN: 0x2d, dataSN: 0, header: bytes(READ10_COMMAND_BHS) },
    bhs: rows(
      '3f 80 09 00', //  0: opcode 3Fh; F=1; Reason 09h
      '00 00 00 30', //  4: DataSegmentLength 48
      ZERO_ROW, ZERO_ROW,
      'ff ff ff ff', // 16: FFFFFFFFh
      ZERO_ROW, //      20: reserved
      '00 00 00 10', // 24: StatSN
      '00 00 00 0d', // 28: ExpCmdSN
      '00 00 00 2d', // 32: MaxCmdSN
      ZERO_ROW, //      36: DataSN/R2TSN
      ZERO_ROW, ZERO_ROW,
    ),
    data: READ10_COMMAND_BHS,
  },
  {
    name: 'Asynchronous Message: target requests logout in 10 s',
    kind: 'asyncMessage',
    fields: { lun: 0n, statSN: 0x11, expCmdSN: 0x0e, maxCmdSN: 0x2e, asyncEvent: 1, asyncVCode: 0, parameter1: 0, parameter2: 0, parameter3: 10 },
    bhs: rows(
      '32 80 00 00', //  0: opcode 32h; F=1
      ZERO_ROW, ZERO_ROW, ZERO_ROW, //  4: lengths; 8: LUN
      'ff ff ff ff', // 16: FFFFFFFFh
      ZERO_ROW, //      20: reserved
      '00 00 00 11', // 24: StatSN
      '00 00 00 0e', // 28: ExpCmdSN
      '00 00 00 2e', // 32: MaxCmdSN
      '01 00 00 00', // 36: AsyncEvent 1, AsyncVCode 0, Parameter1 0
      '00 00 00 0a', // 40: Parameter2 0, Parameter3 10
      ZERO_ROW,
    ),
    data: '',
  },
  {
    name: 'Asynchronous Message: SCSI async event with sense (UNIT ATTENTION)',
    kind: 'asyncMessage',
    fields: {
      lun: 0x0001_0000_0000_0000n, statSN: 0x12, expCmdSN: 0x0e, maxCmdSN: 0x2e, asyncEvent: 0, asyncVCode: 0x07,
      parameter1: 0x0102, parameter2: 0x0304, parameter3: 0x0506, sense: bytes(SENSE_CAPACITY_CHANGED),
    },
    bhs: rows('32 80 00 00', '00 00 00 14', '00 01 00 00', ZERO_ROW, 'ff ff ff ff', ZERO_ROW, '00 00 00 12', '00 00 00 0e', '00 00 00 2e', '00 07 01 02', '03 04 05 06', ZERO_ROW),
    data: `00 12 ${SENSE_CAPACITY_CHANGED}`,
  },
];
