// Initiator PDU vectors written by hand from the PDU figures of RFC 7143 §11,
// one 4-byte row per line as the RFC draws them (bit 0 of a byte is its most
// significant bit). Byte arrays in the expected values are hex strings.

import { ZERO_ROW, rows } from './hex.js';

export type DecodeKind = 'scsiCommand' | 'dataOut' | 'nopOut' | 'taskMgmtRequest' | 'loginRequest' | 'textRequest' | 'logoutRequest' | 'snackRequest';

export interface DecodeVector {
  readonly name: string;
  readonly kind: DecodeKind;
  readonly bhs: string;
  readonly ahs?: string;
  readonly data?: string;
  /** The decoded value; Uint8Array fields as hex strings. */
  readonly value: Readonly<Record<string, unknown>>;
}

export const READ10_COMMAND_BHS = rows(
  '01 c1 00 00', //  0: I=0, opcode 01h; F=1 R=1 W=0 ATTR=1 (simple); reserved
  '00 00 00 00', //  4: TotalAHSLength 0, DataSegmentLength 0
  '00 01 00 00', //  8: LUN 1
  '00 00 00 00',
  '12 34 56 78', // 16: Initiator Task Tag
  '00 00 10 00', // 20: Expected Data Transfer Length 4096
  '00 00 00 07', // 24: CmdSN
  '00 00 00 03', // 28: ExpStatSN
  '28 00 00 00', // 32: CDB, READ (10) LBA 0, 8 blocks
  '00 00 00 00',
  '08 00 00 00',
  '00 00 00 00',
);

const READ32_FIRST_16 = rows('7f 00 00 00', '00 00 00 18', '00 09 00 00', ZERO_ROW);

export const decodeVectors: readonly DecodeVector[] = [
  {
    name: 'SCSI Command: READ (10), simple',
    kind: 'scsiCommand',
    bhs: READ10_COMMAND_BHS,
    value: {
      opcode: 0x01, immediate: false, itt: 0x12345678, final: true, read: true, write: false, attr: 1,
      lun: 0x0001_0000_0000_0000n, expectedDataTransferLength: 4096, cmdSN: 7, expStatSN: 3,
      cdb: '28 00 00 00 00 00 00 00 08 00 00 00 00 00 00 00', data: '',
    },
  },
  {
    name: 'SCSI Command: WRITE (10), immediate delivery, ordered, 8 bytes of immediate data, CmdSN FFFFFFFFh',
    kind: 'scsiCommand',
    bhs: rows(
      '41 a2 00 00', //  0: I=1, opcode 01h; F=1 R=0 W=1 ATTR=2 (ordered)
      '00 00 00 08', //  4: DataSegmentLength 8
      ZERO_ROW, ZERO_ROW, //  8: LUN 0
      '00 00 00 01', // 16: ITT
      '00 00 02 00', // 20: Expected Data Transfer Length 512
      'ff ff ff ff', // 24: CmdSN
      '00 00 00 00', // 28: ExpStatSN
      '2a 00 00 00', '00 10 00 00', '01 00 00 00', ZERO_ROW, // 32: WRITE (10) LBA 10h, 1 block
    ),
    data: 'de ad be ef 01 02 03 04',
    value: {
      opcode: 0x01, immediate: true, itt: 1, final: true, read: false, write: true, attr: 2, lun: 0n,
      expectedDataTransferLength: 512, cmdSN: 0xffff_ffff, expStatSN: 0,
      cdb: '2a 00 00 00 00 10 00 00 01 00 00 00 00 00 00 00', data: 'de ad be ef 01 02 03 04',
    },
  },
  {
    name: 'SCSI Command: 32-byte CDB, Extended CDB AHS (AHSLength 17 = 32 - 15)',
    kind: 'scsiCommand',
    bhs: rows(
      '01 c1 00 00', //  0: F=1 R=1 ATTR=1
      '05 00 00 00', //  4: TotalAHSLength 5 words
      ZERO_ROW, ZERO_ROW,
      '00 00 00 10', // 16: ITT
      '00 00 02 00', // 20: EDTL 512
      '00 00 00 08', // 24: CmdSN
      '00 00 00 04', // 28: ExpStatSN
      READ32_FIRST_16, // 32: CDB bytes 0..15
    ),
    // AHSLength 0011h, AHSType 1, reserved, CDB bytes 16..31 (20 bytes, no padding)
    ahs: '00 11 01 00  10 11 12 13  14 15 16 17  18 19 1a 1b  1c 1d 1e 1f',
    value: {
      opcode: 0x01, immediate: false, itt: 16, final: true, read: true, write: false, attr: 1, lun: 0n,
      expectedDataTransferLength: 512, cmdSN: 8, expStatSN: 4,
      cdb: `${READ32_FIRST_16} 10 11 12 13 14 15 16 17 18 19 1a 1b 1c 1d 1e 1f`, data: '',
    },
  },
  {
    name: 'SCSI Command: 17-byte CDB, the shortest Extended CDB AHS (AHSLength 2, 3 bytes of padding)',
    kind: 'scsiCommand',
    bhs: rows('01 80 00 00', '02 00 00 00', ZERO_ROW, ZERO_ROW, '00 00 00 11', ZERO_ROW, '00 00 00 09', ZERO_ROW, READ32_FIRST_16),
    ahs: '00 02 01 00  aa 00 00 00',
    value: {
      opcode: 0x01, immediate: false, itt: 0x11, final: true, read: false, write: false, attr: 0, lun: 0n,
      expectedDataTransferLength: 0, cmdSN: 9, expStatSN: 0, cdb: `${READ32_FIRST_16} aa`, data: '',
    },
  },
  {
    name: 'SCSI Command: bidirectional, Extended CDB AHS (20-byte CDB) then Bidirectional Read AHS',
    kind: 'scsiCommand',
    bhs: rows(
      '01 e1 00 00', //  0: F=1 R=1 W=1 ATTR=1
      '04 00 00 00', //  4: TotalAHSLength 4 words
      '00 03 00 00', ZERO_ROW, //  8: LUN 3
      '00 00 00 12', '00 00 10 00', '00 00 00 0a', '00 00 00 05',
      READ32_FIRST_16,
    ),
    // Extended CDB: AHSLength 5, type 1, reserved, 4 CDB bytes; Bidirectional Read: AHSLength 5, type 2, reserved, length 2000h
    ahs: '00 05 01 00  a0 a1 a2 a3  00 05 02 00  00 00 20 00',
    value: {
      opcode: 0x01, immediate: false, itt: 0x12, final: true, read: true, write: true, attr: 1, lun: 0x0003_0000_0000_0000n,
      expectedDataTransferLength: 0x1000, cmdSN: 10, expStatSN: 5, cdb: `${READ32_FIRST_16} a0 a1 a2 a3`, bidiReadLength: 0x2000, data: '',
    },
  },
  {
    name: 'SCSI Command: a non-iSCSI extension AHS (type 60) is skipped',
    kind: 'scsiCommand',
    bhs: rows('01 c1 00 00', '01 00 00 00', ZERO_ROW, ZERO_ROW, '00 00 00 13', '00 00 00 00', '00 00 00 0b', ZERO_ROW, READ32_FIRST_16),
    ahs: '00 01 3c 00',
    value: {
      opcode: 0x01, immediate: false, itt: 0x13, final: true, read: true, write: false, attr: 1, lun: 0n,
      expectedDataTransferLength: 0, cmdSN: 11, expStatSN: 0, cdb: READ32_FIRST_16, data: '',
    },
  },
  {
    name: 'SCSI Data-Out: final, solicited, 5 bytes',
    kind: 'dataOut',
    bhs: rows(
      '05 80 00 00', //  0: opcode 05h; F=1
      '00 00 00 05', //  4: DataSegmentLength 5
      '00 02 00 00', ZERO_ROW, //  8: LUN 2
      '00 00 00 01', // 16: ITT
      '00 00 00 99', // 20: Target Transfer Tag
      ZERO_ROW, //      24: reserved
      '00 00 00 04', // 28: ExpStatSN
      ZERO_ROW, //      32: reserved
      '00 00 00 02', // 36: DataSN
      '00 00 02 00', // 40: Buffer Offset 512
      ZERO_ROW, //      44: reserved
    ),
    data: '01 02 03 04 05',
    value: {
      opcode: 0x05, immediate: false, itt: 1, final: true, lun: 0x0002_0000_0000_0000n, ttt: 0x99, expStatSN: 4,
      dataSN: 2, bufferOffset: 512, data: '01 02 03 04 05',
    },
  },
  {
    name: 'SCSI Data-Out: unsolicited (TTT FFFFFFFFh), not final, Buffer Offset FFFFFFFFh',
    kind: 'dataOut',
    bhs: rows('05 00 00 00', '00 00 00 01', ZERO_ROW, ZERO_ROW, '00 00 00 02', 'ff ff ff ff', ZERO_ROW, ZERO_ROW, ZERO_ROW, ZERO_ROW, 'ff ff ff ff', ZERO_ROW),
    data: '7e',
    value: { opcode: 0x05, immediate: false, itt: 2, final: false, lun: 0n, ttt: 0xffff_ffff, expStatSN: 0, dataSN: 0, bufferOffset: 0xffff_ffff, data: '7e' },
  },
  {
    name: 'NOP-Out: ping with data, immediate',
    kind: 'nopOut',
    bhs: rows(
      '40 80 00 00', //  0: I=1, opcode 00h; F=1
      '00 00 00 04', //  4: DataSegmentLength 4
      ZERO_ROW, ZERO_ROW, //  8: LUN
      '00 00 00 0a', // 16: ITT
      'ff ff ff ff', // 20: Target Transfer Tag (none)
      '00 00 00 05', // 24: CmdSN
      '00 00 00 06', // 28: ExpStatSN
      ZERO_ROW, ZERO_ROW, ZERO_ROW, ZERO_ROW,
    ),
    data: '70 69 6e 67',
    value: { opcode: 0x00, immediate: true, itt: 10, lun: 0n, ttt: 0xffff_ffff, cmdSN: 5, expStatSN: 6, data: '70 69 6e 67' },
  },
  {
    name: 'NOP-Out: answer to a target ping (ITT FFFFFFFFh, the NOP-In TTT)',
    kind: 'nopOut',
    bhs: rows('40 80 00 00', ZERO_ROW, '00 01 00 00', ZERO_ROW, 'ff ff ff ff', '00 00 00 01', '00 00 00 05', '00 00 00 07', ZERO_ROW, ZERO_ROW, ZERO_ROW, ZERO_ROW),
    value: { opcode: 0x00, immediate: true, itt: 0xffff_ffff, lun: 0x0001_0000_0000_0000n, ttt: 1, cmdSN: 5, expStatSN: 7, data: '' },
  },
  {
    name: 'Task Management Function Request: ABORT TASK',
    kind: 'taskMgmtRequest',
    bhs: rows(
      '42 81 00 00', //  0: I=1, opcode 02h; F=1, Function 1
      ZERO_ROW, //       4: TotalAHSLength, DataSegmentLength (MBZ)
      '00 01 00 00', ZERO_ROW, //  8: LUN 1
      '00 00 00 20', // 16: ITT
      '12 34 56 78', // 20: Referenced Task Tag
      '00 00 00 09', // 24: CmdSN
      '00 00 00 0a', // 28: ExpStatSN
      '00 00 00 07', // 32: RefCmdSN
      '00 00 00 0c', // 36: ExpDataSN
      ZERO_ROW, ZERO_ROW,
    ),
    value: {
      opcode: 0x02, immediate: true, itt: 0x20, function: 1, lun: 0x0001_0000_0000_0000n, referencedTaskTag: 0x12345678,
      cmdSN: 9, expStatSN: 10, refCmdSN: 7, expDataSN: 12,
    },
  },
  {
    name: 'Task Management Function Request: TASK REASSIGN (8), function bits all read',
    kind: 'taskMgmtRequest',
    bhs: rows('02 88 00 00', ZERO_ROW, ZERO_ROW, ZERO_ROW, '00 00 00 21', 'ff ff ff ff', '00 00 00 09', '00 00 00 0a', ZERO_ROW, ZERO_ROW, ZERO_ROW, ZERO_ROW),
    value: {
      opcode: 0x02, immediate: false, itt: 0x21, function: 8, lun: 0n, referencedTaskTag: 0xffff_ffff, cmdSN: 9, expStatSN: 10, refCmdSN: 0, expDataSN: 0,
    },
  },
  {
    name: 'Login Request: T=1, operational stage to full feature phase',
    kind: 'loginRequest',
    bhs: rows(
      '43 87 00 00', //  0: I=1, opcode 03h; T=1 C=0 CSG=1 NSG=3; Version-max 0, Version-min 0
      '00 00 00 04', //  4: DataSegmentLength 4
      '80 12 34 56', //  8: ISID
      '78 9a 00 00', // 12: ISID (cont.), TSIH 0
      ZERO_ROW, //      16: ITT 0
      '00 01 00 00', // 20: CID 1, reserved
      '00 00 00 01', // 24: CmdSN
      ZERO_ROW, //      28: ExpStatSN
      ZERO_ROW, ZERO_ROW, ZERO_ROW, ZERO_ROW,
    ),
    data: '61 3d 62 00',
    value: {
      opcode: 0x03, immediate: true, itt: 0, transit: true, cont: false, csg: 1, nsg: 3, versionMax: 0, versionMin: 0,
      isid: 0x8012_3456_789an, tsih: 0, cid: 1, cmdSN: 1, expStatSN: 0, data: '61 3d 62 00',
    },
  },
  {
    name: 'Login Request: C=1, security stage, versions, TSIH and CID',
    kind: 'loginRequest',
    bhs: rows('43 41 05 02', ZERO_ROW, 'ff ff ff ff', 'ff ff 12 34', '00 00 00 01', 'ff fe 00 00', '00 00 00 02', '00 00 00 03', ZERO_ROW, ZERO_ROW, ZERO_ROW, ZERO_ROW),
    value: {
      opcode: 0x03, immediate: true, itt: 1, transit: false, cont: true, csg: 0, nsg: 1, versionMax: 5, versionMin: 2,
      isid: 0xffff_ffff_ffffn, tsih: 0x1234, cid: 0xfffe, cmdSN: 2, expStatSN: 3, data: '',
    },
  },
  {
    name: 'Text Request: SendTargets=All',
    kind: 'textRequest',
    bhs: rows(
      '44 80 00 00', //  0: I=1, opcode 04h; F=1 C=0
      '00 00 00 10', //  4: DataSegmentLength 16
      ZERO_ROW, ZERO_ROW, //  8: LUN
      '00 00 00 02', // 16: ITT
      'ff ff ff ff', // 20: Target Transfer Tag
      '00 00 00 03', // 24: CmdSN
      '00 00 00 04', // 28: ExpStatSN
      ZERO_ROW, ZERO_ROW, ZERO_ROW, ZERO_ROW,
    ),
    data: '53 65 6e 64 54 61 72 67 65 74 73 3d 41 6c 6c 00',
    value: {
      opcode: 0x04, immediate: true, itt: 2, final: true, cont: false, lun: 0n, ttt: 0xffff_ffff, cmdSN: 3, expStatSN: 4,
      data: '53 65 6e 64 54 61 72 67 65 74 73 3d 41 6c 6c 00',
    },
  },
  {
    name: 'Text Request: C=1 (text continues), F=0',
    kind: 'textRequest',
    bhs: rows('04 40 00 00', '00 00 00 02', ZERO_ROW, ZERO_ROW, '00 00 00 03', '00 00 01 00', '00 00 00 04', '00 00 00 05', ZERO_ROW, ZERO_ROW, ZERO_ROW, ZERO_ROW),
    data: '61 3d',
    value: { opcode: 0x04, immediate: false, itt: 3, final: false, cont: true, lun: 0n, ttt: 0x100, cmdSN: 4, expStatSN: 5, data: '61 3d' },
  },
  {
    name: 'Logout Request: close the connection',
    kind: 'logoutRequest',
    bhs: rows(
      '46 81 00 00', //  0: I=1, opcode 06h; F=1, Reason Code 1
      ZERO_ROW, ZERO_ROW, ZERO_ROW, //  4: MBZ; 8: reserved
      '00 00 00 30', // 16: ITT
      '00 02 00 00', // 20: CID 2, reserved
      '00 00 00 0b', // 24: CmdSN
      '00 00 00 0c', // 28: ExpStatSN
      ZERO_ROW, ZERO_ROW, ZERO_ROW, ZERO_ROW,
    ),
    value: { opcode: 0x06, immediate: true, itt: 0x30, reasonCode: 1, cid: 2, cmdSN: 11, expStatSN: 12 },
  },
  {
    name: 'Logout Request: close the session',
    kind: 'logoutRequest',
    bhs: rows('06 80 00 00', ZERO_ROW, ZERO_ROW, ZERO_ROW, '00 00 00 31', ZERO_ROW, '00 00 00 0d', '00 00 00 0e', ZERO_ROW, ZERO_ROW, ZERO_ROW, ZERO_ROW),
    value: { opcode: 0x06, immediate: false, itt: 0x31, reasonCode: 0, cid: 0, cmdSN: 13, expStatSN: 14 },
  },
  {
    name: 'SNACK Request: Status SNACK',
    kind: 'snackRequest',
    bhs: rows(
      '10 81 00 00', //  0: opcode 10h; F=1, Type 1 (Status)
      ZERO_ROW, ZERO_ROW, ZERO_ROW, //  4: lengths; 8: LUN
      'ff ff ff ff', // 16: ITT (reserved for a Status SNACK)
      'ff ff ff ff', // 20: Target Transfer Tag
      ZERO_ROW, //      24: reserved
      '00 00 00 0d', // 28: ExpStatSN
      ZERO_ROW, ZERO_ROW, // 32: reserved
      '00 00 00 05', // 40: BegRun
      '00 00 00 02', // 44: RunLength
    ),
    value: { opcode: 0x10, immediate: false, itt: 0xffff_ffff, type: 1, lun: 0n, ttt: 0xffff_ffff, expStatSN: 13, begRun: 5, runLength: 2 },
  },
  {
    name: 'SNACK Request: DataACK with its TTT and LUN',
    kind: 'snackRequest',
    bhs: rows('10 82 00 00', ZERO_ROW, '00 04 00 00', ZERO_ROW, '00 00 00 07', '00 00 00 77', ZERO_ROW, '00 00 00 0e', ZERO_ROW, ZERO_ROW, '00 00 00 03', ZERO_ROW),
    value: { opcode: 0x10, immediate: false, itt: 7, type: 2, lun: 0x0004_0000_0000_0000n, ttt: 0x77, expStatSN: 14, begRun: 3, runLength: 0 },
  },
];

export interface RejectVector {
  readonly name: string;
  readonly kind: DecodeKind;
  readonly bhs: string;
  readonly ahs?: string;
  readonly data?: string;
  readonly reject: number;
  readonly message: RegExp;
}

const cmd = (byte1: string, ahsWords: string, dsl: string, edtl = ZERO_ROW): string =>
  rows(`01 ${byte1} 00 00`, `${ahsWords} ${dsl}`, ZERO_ROW, ZERO_ROW, '00 00 00 01', edtl, ZERO_ROW, ZERO_ROW, READ32_FIRST_16);
const tail8 = (first: string, lengths: string): string => rows(first, lengths, ZERO_ROW, ZERO_ROW, '00 00 00 01', ZERO_ROW, ZERO_ROW, ZERO_ROW, ZERO_ROW, ZERO_ROW, ZERO_ROW, ZERO_ROW);

/** Malformed initiator PDUs: each gets Reject reason 09h (Invalid PDU field, RFC 7143 §11.17.1). */
export const rejectVectors: readonly RejectVector[] = [
  { name: 'AHSLength runs past TotalAHSLength (truncated AHS)', kind: 'scsiCommand', bhs: cmd('c1', '01', '00 00 00'), ahs: '00 11 01 00', reject: 0x09, message: /AHSLength 17 .*past TotalAHSLength \(4 bytes\)/ },
  { name: 'second AHS runs past the end', kind: 'scsiCommand', bhs: cmd('c1', '03', '00 00 00'), ahs: '00 05 01 00  a0 a1 a2 a3  00 05 02 00', reject: 0x09, message: /AHS at byte 8/ },
  { name: 'AHSType 0 (reserved)', kind: 'scsiCommand', bhs: cmd('c1', '01', '00 00 00'), ahs: '00 01 00 00', reject: 0x09, message: /AHSType 0 at byte 0 is reserved/ },
  { name: 'AHSType 3 (reserved)', kind: 'scsiCommand', bhs: cmd('c1', '02', '00 00 00'), ahs: '00 05 03 00  00 00 00 00', reject: 0x09, message: /AHSType 3 .*reserved/ },
  { name: 'AHSType 59 (reserved, just below the extension range)', kind: 'scsiCommand', bhs: cmd('c1', '01', '00 00 00'), ahs: '00 01 3b 00', reject: 0x09, message: /AHSType 59/ },
  { name: 'Extended CDB AHS with AHSLength 1 (a 16-byte CDB)', kind: 'scsiCommand', bhs: cmd('c1', '01', '00 00 00'), ahs: '00 01 01 00', reject: 0x09, message: /Extended CDB AHS with AHSLength 1/ },
  { name: 'two Extended CDB AHS', kind: 'scsiCommand', bhs: cmd('c1', '04', '00 00 00'), ahs: '00 02 01 00  aa 00 00 00  00 02 01 00  bb 00 00 00', reject: 0x09, message: /second Extended CDB AHS at byte 8/ },
  { name: 'Bidirectional Read AHS with AHSLength 4', kind: 'scsiCommand', bhs: cmd('e1', '02', '00 00 00'), ahs: '00 04 02 00  00 00 20 00', reject: 0x09, message: /AHSLength 4, not 5/ },
  { name: 'two Bidirectional Read AHS', kind: 'scsiCommand', bhs: cmd('e1', '04', '00 00 00'), ahs: '00 05 02 00  00 00 20 00  00 05 02 00  00 00 20 00', reject: 0x09, message: /second Bidirectional/ },
  { name: 'neither F nor W', kind: 'scsiCommand', bhs: cmd('41', '00', '00 00 00', '00 00 02 00'), reject: 0x09, message: /neither F nor W/ },
  { name: 'a transfer length with neither R nor W', kind: 'scsiCommand', bhs: cmd('81', '00', '00 00 00', '00 00 02 00'), reject: 0x09, message: /Expected Data Transfer Length 512 with neither R nor W/ },
  { name: 'a bidirectional read length with neither R nor W', kind: 'scsiCommand', bhs: cmd('81', '02', '00 00 00'), ahs: '00 05 02 00  00 00 00 01', reject: 0x09, message: /neither R nor W/ },
  { name: 'immediate data without W', kind: 'scsiCommand', bhs: cmd('c1', '00', '00 00 02', '00 00 02 00'), data: 'aa bb', reject: 0x09, message: /2 bytes of immediate data without W/ },
  {
    name: 'SCSI Command under ITT FFFFFFFFh (reserved, §11.2.1.8)',
    kind: 'scsiCommand',
    bhs: rows('01 c1 00 00', ZERO_ROW, ZERO_ROW, ZERO_ROW, 'ff ff ff ff', '00 00 02 00', '00 00 00 07', ZERO_ROW, '28 00 00 00', '00 00 00 00', '01 00 00 00', ZERO_ROW),
    reject: 0x09,
    message: /^SCSI Command: Initiator Task Tag FFFFFFFFh is reserved$/,
  },
  {
    name: 'Task Management Function Request under ITT FFFFFFFFh (reserved, §11.2.1.8)',
    kind: 'taskMgmtRequest',
    bhs: rows('42 81 00 00', ZERO_ROW, '00 01 00 00', ZERO_ROW, 'ff ff ff ff', '12 34 56 78', '00 00 00 09', '00 00 00 0a', '00 00 00 07', ZERO_ROW, ZERO_ROW, ZERO_ROW),
    reject: 0x09,
    message: /^Task Management Function Request: Initiator Task Tag FFFFFFFFh is reserved$/,
  },
  {
    name: 'Text Request under ITT FFFFFFFFh (reserved, §11.2.1.8)',
    kind: 'textRequest',
    bhs: rows('44 80 00 00', ZERO_ROW, ZERO_ROW, ZERO_ROW, 'ff ff ff ff', 'ff ff ff ff', '00 00 00 03', '00 00 00 04', ZERO_ROW, ZERO_ROW, ZERO_ROW, ZERO_ROW),
    reject: 0x09,
    message: /^Text Request: Initiator Task Tag FFFFFFFFh is reserved$/,
  },
  {
    name: 'Logout Request under ITT FFFFFFFFh (reserved, §11.2.1.8)',
    kind: 'logoutRequest',
    bhs: rows('46 80 00 00', ZERO_ROW, ZERO_ROW, ZERO_ROW, 'ff ff ff ff', ZERO_ROW, '00 00 00 0b', '00 00 00 0c', ZERO_ROW, ZERO_ROW, ZERO_ROW, ZERO_ROW),
    reject: 0x09,
    message: /^Logout Request: Initiator Task Tag FFFFFFFFh is reserved$/,
  },
  { name: 'Data-Out with an AHS', kind: 'dataOut', bhs: tail8('05 80 00 00', '01 00 00 00'), ahs: '00 01 3c 00', reject: 0x09, message: /TotalAHSLength 1, but this PDU has no AHS/ },
  { name: 'NOP-Out with an AHS', kind: 'nopOut', bhs: tail8('40 80 00 00', '01 00 00 00'), ahs: '00 01 3c 00', reject: 0x09, message: /NOP-Out: TotalAHSLength 1/ },
  { name: 'Task Management Function Request with data (MBZ)', kind: 'taskMgmtRequest', bhs: tail8('02 81 00 00', '00 00 00 01'), data: '00', reject: 0x09, message: /DataSegmentLength 1, but this PDU carries no data/ },
  { name: 'Task Management Function Request with an AHS (MBZ)', kind: 'taskMgmtRequest', bhs: tail8('02 81 00 00', '01 00 00 00'), ahs: '00 01 3c 00', reject: 0x09, message: /TotalAHSLength 1/ },
  { name: 'Login Request with an AHS', kind: 'loginRequest', bhs: tail8('43 87 00 00', '01 00 00 00'), ahs: '00 01 3c 00', reject: 0x09, message: /Login Request: TotalAHSLength 1/ },
  { name: 'Text Request with both F and C', kind: 'textRequest', bhs: tail8('04 c0 00 00', '00 00 00 00'), reject: 0x09, message: /both F and C/ },
  { name: 'Text Request with an AHS', kind: 'textRequest', bhs: tail8('04 80 00 00', '01 00 00 00'), ahs: '00 01 3c 00', reject: 0x09, message: /Text Request: TotalAHSLength 1/ },
  { name: 'Logout Request with data (MBZ)', kind: 'logoutRequest', bhs: tail8('06 80 00 00', '00 00 00 04'), data: '00 00 00 00', reject: 0x09, message: /Logout Request: DataSegmentLength 4/ },
  { name: 'SNACK Request with data', kind: 'snackRequest', bhs: tail8('10 81 00 00', '00 00 00 01'), data: 'ff', reject: 0x09, message: /SNACK Request: DataSegmentLength 1/ },
  { name: 'SNACK Request with an AHS', kind: 'snackRequest', bhs: tail8('10 81 00 00', '01 00 00 00'), ahs: '00 01 3c 00', reject: 0x09, message: /SNACK Request: TotalAHSLength 1/ },
];
