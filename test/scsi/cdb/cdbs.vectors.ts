// Vectors for every CDB format other than READ/WRITE/VERIFY, written by hand
// from the SPC-5 and SBC-4 CDB tables (operation codes and field positions as
// printed there; numbers below are literals, not the module's constants):
//   READ CAPACITY(10) 25h: LBA 2..5, PMI 8.0     SERVICE ACTION IN(16) 9Eh: SA 1.4..0
//   READ CAPACITY(16) SA 10h: LBA 2..9, ALLOCATION LENGTH 10..13, PMI 14.0
//   GET LBA STATUS SA 12h: STARTING LBA 2..9, ALLOCATION LENGTH 10..13, REPORT TYPE 14
//   INQUIRY 12h: EVPD 1.0, PAGE CODE 2, ALLOCATION LENGTH 3..4
//   SYNCHRONIZE CACHE 35h/91h, PRE-FETCH 34h/90h: IMMED 1.1, LBA, GROUP 6 / 14, count 7..8 / 10..13
//   UNMAP 42h: ANCHOR 1.0, GROUP 6, PARAMETER LIST LENGTH 7..8
//   WRITE SAME 41h/93h: WRPROTECT 1.7..5, ANCHOR 1.4, UNMAP 1.3, NDOB 1.0 (16 only)
//   COMPARE AND WRITE 89h: WRPROTECT DPO FUA byte 1, LBA 2..9, NUMBER OF LBs 13, GROUP 14
//   MODE SENSE 1Ah/5Ah: LLBAA 1.4 (10), DBD 1.3, PC 2.7..6, PAGE 2.5..0, SUBPAGE 3, ALLOC 4 / 7..8
//   MODE SELECT 15h/55h: PF 1.4, SP 1.0, PARAMETER LIST LENGTH 4 / 7..8
//   REPORT LUNS A0h: SELECT REPORT 2, ALLOCATION LENGTH 6..9
//   REQUEST SENSE 03h: DESC 1.0, ALLOC 4   START STOP UNIT 1Bh: IMMED 1.0, PCM 3.3..0,
//   POWER CONDITION 4.7..4, NO_FLUSH 4.2, LOEJ 4.1, START 4.0
//   PREVENT ALLOW 1Eh: PREVENT 4.1..0   FORMAT UNIT 04h: FMTPINFO LONGLIST FMTDATA CMPLST DLF byte 1
//   SEND DIAGNOSTIC 1Dh: SELF-TEST CODE 1.7..5 PF 1.4 SELFTEST 1.2 DEVOFFL 1.1 UNITOFFL 1.0, PLL 3..4
//   RESERVE/RELEASE 16h/17h/56h/57h; PERSISTENT RESERVE IN 5Eh (SA, ALLOC 7..8),
//   OUT 5Fh (SA, SCOPE 2.7..4, TYPE 2.3..0, PLL 5..8)
//   MAINTENANCE IN A3h SA 0Ch (RSOC): RCTD 2.7, REPORTING OPTIONS 2.2..0, OPCODE 3, SA 4..5, ALLOC 6..9
//   MAINTENANCE IN A3h SA 0Dh (RSTMF): REPD 2.7, ALLOC 6..9
//   READ DEFECT DATA 37h: REQ_PLIST 2.4 REQ_GLIST 2.3 FORMAT 2.2..0, ALLOC 7..8; B7h: the same in byte 1,
//   ADDRESS DESCRIPTOR INDEX 2..5, ALLOC 6..9   ORWRITE(16) 8Bh: ORPROTECT DPO FUA byte 1, LBA 2..9, LENGTH 10..13, GROUP 14
//   SANITIZE 48h: IMMED 1.7 AUSE 1.5 SA 1.4..0, PARAMETER LIST LENGTH 7..8
//   THIRD-PARTY COPY OUT 83h SA 00h (EXTENDED COPY LID1): PLL 10..13; IN 84h SA 00h/03h: LIST ID 2, ALLOC 10..13

import type { CdbFields } from '../../../src/scsi/cdb/decode.js';

export interface CdbVector {
  readonly name: string;
  readonly hex: string;
  readonly cdb: CdbFields;
  readonly minLength?: number;
}

const Z8 = '00 00 00 00 00 00 00 00';

export const cdbVectors: readonly CdbVector[] = [
  { name: 'READ CAPACITY(10)', hex: '25 00 00 00 00 00 00 00 00 00', cdb: { kind: 'readCapacity10', fields: { lba: 0n, pmi: false } } },
  {
    name: 'READ CAPACITY(10) PMI with LBA',
    hex: '25 00 00 00 12 34 00 00 01 00',
    cdb: { kind: 'readCapacity10', fields: { lba: 0x1234n, pmi: true } },
  },
  {
    name: 'READ CAPACITY(16) alloc 32',
    hex: `9e 10 ${Z8} 00 00 00 20 00 00`,
    cdb: { kind: 'readCapacity16', fields: { lba: 0n, pmi: false, allocationLength: 32 } },
  },
  {
    name: 'READ CAPACITY(16) PMI, LBA 2^33, alloc max',
    hex: '9e 10 00 00 00 02 00 00 00 00 ff ff ff ff 01 00',
    cdb: { kind: 'readCapacity16', fields: { lba: 0x2_0000_0000n, pmi: true, allocationLength: 0xffff_ffff } },
  },
  {
    name: 'GET LBA STATUS',
    hex: '9e 12 00 00 00 00 00 00 10 00 00 00 10 00 00 00',
    cdb: { kind: 'getLbaStatus', fields: { startingLba: 0x1000n, allocationLength: 0x1000, reportType: 0 } },
  },
  {
    name: 'GET LBA STATUS REPORT TYPE 10h',
    hex: `9e 12 ${Z8} 00 00 00 18 10 00`,
    cdb: { kind: 'getLbaStatus', fields: { startingLba: 0n, allocationLength: 24, reportType: 0x10 } },
  },
  { name: 'INQUIRY standard, 36', hex: '12 00 00 00 24 00', cdb: { kind: 'inquiry', fields: { evpd: false, pageCode: 0, allocationLength: 36 } } },
  { name: 'INQUIRY VPD 83h, 256', hex: '12 01 83 01 00 00', cdb: { kind: 'inquiry', fields: { evpd: true, pageCode: 0x83, allocationLength: 256 } } },
  { name: 'INQUIRY VPD 00h, 65535', hex: '12 01 00 ff ff 00', cdb: { kind: 'inquiry', fields: { evpd: true, pageCode: 0, allocationLength: 0xffff } } },
  {
    name: 'SYNCHRONIZE CACHE(10) whole medium',
    hex: '35 00 00 00 00 00 00 00 00 00',
    cdb: { kind: 'syncCache', fields: { immed: false, lba: 0n, blocks: 0, groupNumber: 0 } },
  },
  {
    name: 'SYNCHRONIZE CACHE(10) IMMED, range, group 63',
    hex: '35 02 00 00 10 00 3f 00 08 00',
    cdb: { kind: 'syncCache', fields: { immed: true, lba: 0x1000n, blocks: 8, groupNumber: 63 } },
  },
  {
    name: 'SYNCHRONIZE CACHE lba 2^32 → (16)',
    hex: `91 00 00 00 00 01 00 00 00 00 00 00 00 00 00 00`,
    cdb: { kind: 'syncCache', fields: { immed: false, lba: 0x1_0000_0000n, blocks: 0, groupNumber: 0 } },
  },
  {
    name: 'SYNCHRONIZE CACHE(16) minLength 16, IMMED, 65536 blocks',
    hex: `91 02 ${Z8} 00 01 00 00 00 00`,
    cdb: { kind: 'syncCache', fields: { immed: true, lba: 0n, blocks: 0x10000, groupNumber: 0 } },
    minLength: 16,
  },
  {
    name: 'PRE-FETCH(10) IMMED, group 3 (libiscsi Prefetch10.flags)',
    hex: '34 02 00 00 00 00 03 00 01 00',
    cdb: { kind: 'prefetch', fields: { immed: true, lba: 0n, blocks: 1, groupNumber: 3 } },
  },
  {
    name: 'PRE-FETCH(16) maxima',
    hex: '90 00 ff ff ff ff ff ff ff ff ff ff ff ff 00 00',
    cdb: { kind: 'prefetch', fields: { immed: false, lba: 0xffff_ffff_ffff_ffffn, blocks: 0xffff_ffff, groupNumber: 0 } },
  },
  { name: 'UNMAP one descriptor', hex: '42 00 00 00 00 00 00 00 18 00', cdb: { kind: 'unmap', fields: { anchor: false, groupNumber: 0, parameterListLength: 24 } } },
  {
    name: 'UNMAP ANCHOR, group 63, max length',
    hex: '42 01 00 00 00 00 3f ff ff 00',
    cdb: { kind: 'unmap', fields: { anchor: true, groupNumber: 63, parameterListLength: 0xffff } },
  },
  {
    name: 'WRITE SAME(10) UNMAP',
    hex: '41 08 00 00 00 00 00 00 01 00',
    cdb: { kind: 'writeSame', fields: { lba: 0n, blocks: 1, unmap: true, anchor: false, ndob: false, protect: 0, groupNumber: 0 } },
  },
  {
    name: 'WRITE SAME(10) ANCHOR + UNMAP',
    hex: '41 18 00 00 00 00 00 00 01 00',
    cdb: { kind: 'writeSame', fields: { lba: 0n, blocks: 1, unmap: true, anchor: true, ndob: false, protect: 0, groupNumber: 0 } },
  },
  {
    name: 'WRITE SAME(10) WRPROTECT 7, group 5',
    hex: '41 e0 00 00 00 01 05 00 10 00',
    cdb: { kind: 'writeSame', fields: { lba: 1n, blocks: 16, unmap: false, anchor: false, ndob: false, protect: 7, groupNumber: 5 } },
  },
  {
    name: 'WRITE SAME NDOB → (16)',
    hex: `93 01 ${Z8} 00 00 00 01 00 00`,
    cdb: { kind: 'writeSame', fields: { lba: 0n, blocks: 1, unmap: false, anchor: false, ndob: true, protect: 0, groupNumber: 0 } },
  },
  {
    name: 'WRITE SAME lba 2^32, 65536 blocks → (16)',
    hex: '93 08 00 00 00 01 00 00 00 00 00 01 00 00 00 00',
    cdb: {
      kind: 'writeSame',
      fields: { lba: 0x1_0000_0000n, blocks: 0x10000, unmap: true, anchor: false, ndob: false, protect: 0, groupNumber: 0 },
    },
  },
  {
    name: 'COMPARE AND WRITE 1 block',
    hex: '89 00 00 00 00 00 00 00 00 10 00 00 00 01 00 00',
    cdb: { kind: 'compareAndWrite', fields: { lba: 0x10n, blocks: 1, dpo: false, fua: false, protect: 0, groupNumber: 0 } },
  },
  {
    name: 'COMPARE AND WRITE maxima, DPO, FUA',
    hex: '89 18 ff ff ff ff ff ff ff ff 00 00 00 ff 3f 00',
    cdb: {
      kind: 'compareAndWrite',
      fields: { lba: 0xffff_ffff_ffff_ffffn, blocks: 255, dpo: true, fua: true, protect: 0, groupNumber: 63 },
    },
  },
  {
    name: 'MODE SENSE(6) all pages',
    hex: '1a 00 3f 00 ff 00',
    cdb: { kind: 'modeSense', fields: { dbd: false, llbaa: false, pc: 0, pageCode: 0x3f, subpageCode: 0, allocationLength: 255 } },
  },
  {
    name: 'MODE SENSE(6) DBD, changeable, control page',
    hex: '1a 08 4a 00 c0 00',
    cdb: { kind: 'modeSense', fields: { dbd: true, llbaa: false, pc: 1, pageCode: 0x0a, subpageCode: 0, allocationLength: 192 } },
  },
  {
    name: 'MODE SENSE LLBAA → (10), default values, all subpages',
    hex: '5a 18 bf ff 00 00 00 10 00 00',
    cdb: { kind: 'modeSense', fields: { dbd: true, llbaa: true, pc: 2, pageCode: 0x3f, subpageCode: 0xff, allocationLength: 0x1000 } },
  },
  {
    name: 'MODE SENSE(10) minLength 10',
    hex: '5a 00 08 00 00 00 00 00 14 00',
    cdb: { kind: 'modeSense', fields: { dbd: false, llbaa: false, pc: 0, pageCode: 8, subpageCode: 0, allocationLength: 20 } },
    minLength: 10,
  },
  { name: 'MODE SELECT(6) PF', hex: '15 10 00 00 18 00', cdb: { kind: 'modeSelect', fields: { pf: true, sp: false, parameterListLength: 24 } } },
  {
    name: 'MODE SELECT 256 bytes → (10), PF SP',
    hex: '55 11 00 00 00 00 00 01 00 00',
    cdb: { kind: 'modeSelect', fields: { pf: true, sp: true, parameterListLength: 256 } },
  },
  { name: 'REPORT LUNS alloc 16', hex: 'a0 00 00 00 00 00 00 00 00 10 00 00', cdb: { kind: 'reportLuns', fields: { selectReport: 0, allocationLength: 16 } } },
  {
    name: 'REPORT LUNS all LUs, 4096',
    hex: 'a0 00 02 00 00 00 00 00 10 00 00 00',
    cdb: { kind: 'reportLuns', fields: { selectReport: 2, allocationLength: 4096 } },
  },
  { name: 'TEST UNIT READY', hex: '00 00 00 00 00 00', cdb: { kind: 'testUnitReady', fields: {} } },
  { name: 'REQUEST SENSE DESC 252', hex: '03 01 00 00 fc 00', cdb: { kind: 'requestSense', fields: { desc: true, allocationLength: 252 } } },
  { name: 'REQUEST SENSE fixed 18', hex: '03 00 00 00 12 00', cdb: { kind: 'requestSense', fields: { desc: false, allocationLength: 18 } } },
  {
    name: 'START STOP UNIT start',
    hex: '1b 00 00 00 01 00',
    cdb: { kind: 'startStopUnit', fields: { immed: false, powerConditionModifier: 0, powerCondition: 0, noFlush: false, loej: false, start: true } },
  },
  {
    name: 'START STOP UNIT IMMED LOEJ',
    hex: '1b 01 00 00 02 00',
    cdb: { kind: 'startStopUnit', fields: { immed: true, powerConditionModifier: 0, powerCondition: 0, noFlush: false, loej: true, start: false } },
  },
  {
    name: 'START STOP UNIT IDLE idle_c NO_FLUSH',
    hex: '1b 00 00 02 24 00',
    cdb: { kind: 'startStopUnit', fields: { immed: false, powerConditionModifier: 2, powerCondition: 2, noFlush: true, loej: false, start: false } },
  },
  {
    name: 'START STOP UNIT FORCE_STANDBY_0 standby_y',
    hex: '1b 00 00 01 b0 00',
    cdb: { kind: 'startStopUnit', fields: { immed: false, powerConditionModifier: 1, powerCondition: 0xb, noFlush: false, loej: false, start: false } },
  },
  { name: 'PREVENT ALLOW prevent', hex: '1e 00 00 00 01 00', cdb: { kind: 'preventAllow', fields: { prevent: 1 } } },
  { name: 'PREVENT ALLOW allow', hex: '1e 00 00 00 00 00', cdb: { kind: 'preventAllow', fields: { prevent: 0 } } },
  {
    name: 'FORMAT UNIT plain',
    hex: '04 00 00 00 00 00',
    cdb: { kind: 'formatUnit', fields: { fmtpinfo: 0, longlist: false, fmtdata: false, cmplst: false, defectListFormat: 0 } },
  },
  {
    name: 'FORMAT UNIT FMTPINFO 3, FMTDATA, CMPLST',
    hex: '04 d8 00 00 00 00',
    cdb: { kind: 'formatUnit', fields: { fmtpinfo: 3, longlist: false, fmtdata: true, cmplst: true, defectListFormat: 0 } },
  },
  {
    name: 'FORMAT UNIT LONGLIST FMTDATA DLF 6',
    hex: '04 36 00 00 00 00',
    cdb: { kind: 'formatUnit', fields: { fmtpinfo: 0, longlist: true, fmtdata: true, cmplst: false, defectListFormat: 6 } },
  },
  {
    name: 'SEND DIAGNOSTIC default self-test',
    hex: '1d 04 00 00 00 00',
    cdb: { kind: 'sendDiagnostic', fields: { selfTestCode: 0, pf: false, selfTest: true, devOffL: false, unitOffL: false, parameterListLength: 0 } },
  },
  {
    name: 'SEND DIAGNOSTIC PF with a page',
    hex: '1d 10 00 00 08 00',
    cdb: { kind: 'sendDiagnostic', fields: { selfTestCode: 0, pf: true, selfTest: false, devOffL: false, unitOffL: false, parameterListLength: 8 } },
  },
  {
    name: 'SEND DIAGNOSTIC foreground short, DEVOFFL UNITOFFL',
    hex: '1d a3 00 00 00 00',
    cdb: { kind: 'sendDiagnostic', fields: { selfTestCode: 5, pf: false, selfTest: false, devOffL: true, unitOffL: true, parameterListLength: 0 } },
  },
  { name: 'RESERVE(6)', hex: '16 00 00 00 00 00', cdb: { kind: 'reserveRelease', fields: { op: 'RESERVE' } } },
  { name: 'RELEASE(10) minLength 10', hex: '57 00 00 00 00 00 00 00 00 00', cdb: { kind: 'reserveRelease', fields: { op: 'RELEASE' } }, minLength: 10 },
  {
    name: 'PERSISTENT RESERVE IN READ KEYS',
    hex: '5e 00 00 00 00 00 00 20 00 00',
    cdb: { kind: 'persistentReserveIn', fields: { serviceAction: 0, allocationLength: 0x2000 } },
  },
  {
    name: 'PERSISTENT RESERVE IN READ FULL STATUS',
    hex: '5e 03 00 00 00 00 00 ff ff 00',
    cdb: { kind: 'persistentReserveIn', fields: { serviceAction: 3, allocationLength: 0xffff } },
  },
  {
    name: 'PERSISTENT RESERVE OUT RESERVE exclusive access',
    hex: '5f 01 03 00 00 00 00 00 18 00',
    cdb: { kind: 'persistentReserveOut', fields: { serviceAction: 1, scope: 0, type: 3, parameterListLength: 24 } },
  },
  {
    name: 'PERSISTENT RESERVE OUT REGISTER AND IGNORE EXISTING KEY',
    hex: '5f 06 00 00 00 00 00 00 18 00',
    cdb: { kind: 'persistentReserveOut', fields: { serviceAction: 6, scope: 0, type: 0, parameterListLength: 24 } },
  },
  {
    name: 'RSOC all, 1024',
    hex: 'a3 0c 00 00 00 00 00 00 04 00 00 00',
    cdb: { kind: 'rsoc', fields: { rctd: false, reportingOptions: 0, requestedOperationCode: 0, requestedServiceAction: 0, allocationLength: 1024 } },
  },
  {
    name: 'RSOC RCTD, opcode + SA, READ(10)',
    hex: 'a3 0c 82 28 00 00 00 00 ff ff 00 00',
    cdb: { kind: 'rsoc', fields: { rctd: true, reportingOptions: 2, requestedOperationCode: 0x28, requestedServiceAction: 0, allocationLength: 0xffff } },
  },
  {
    name: 'RSOC option 011b, 9Eh/10h',
    hex: 'a3 0c 03 9e 00 10 00 01 00 00 00 00',
    cdb: { kind: 'rsoc', fields: { rctd: false, reportingOptions: 3, requestedOperationCode: 0x9e, requestedServiceAction: 0x10, allocationLength: 0x10000 } },
  },
  { name: 'RSTMF basic', hex: 'a3 0d 00 00 00 00 00 00 00 04 00 00', cdb: { kind: 'rstmf', fields: { repd: false, allocationLength: 4 } } },
  { name: 'RSTMF REPD', hex: 'a3 0d 80 00 00 00 00 00 00 10 00 00', cdb: { kind: 'rstmf', fields: { repd: true, allocationLength: 16 } } },
  {
    name: 'READ DEFECT DATA(10) PLIST GLIST, long block format',
    hex: '37 00 1b 00 00 00 00 01 00 00',
    cdb: { kind: 'readDefectData', fields: { reqPlist: true, reqGlist: true, format: 3, addressDescriptorIndex: 0, allocationLength: 0x100 } },
  },
  {
    name: 'READ DEFECT DATA(12) index and a 32-bit length',
    hex: 'b7 14 00 00 01 00 00 01 00 00 00 00',
    cdb: { kind: 'readDefectData', fields: { reqPlist: true, reqGlist: false, format: 4, addressDescriptorIndex: 0x100, allocationLength: 0x10000 } },
  },
  {
    name: 'READ DEFECT DATA(12) by minLength',
    minLength: 12,
    hex: 'b7 08 00 00 00 00 00 00 00 20 00 00',
    cdb: { kind: 'readDefectData', fields: { reqPlist: false, reqGlist: true, format: 0, addressDescriptorIndex: 0, allocationLength: 32 } },
  },
  {
    name: 'ORWRITE(16) ORPROTECT DPO FUA, group',
    hex: '8b f8 01 02 03 04 05 06 07 08 00 01 00 00 3f 00',
    cdb: { kind: 'orWrite', fields: { lba: 0x0102030405060708n, blocks: 0x10000, protect: 7, dpo: true, fua: true, groupNumber: 0x3f } },
  },
  {
    name: 'SANITIZE OVERWRITE IMMED AUSE',
    hex: '48 a1 00 00 00 00 00 02 04 00',
    cdb: { kind: 'sanitize', fields: { immed: true, ause: true, serviceAction: 1, parameterListLength: 0x204 } },
  },
  { name: 'SANITIZE EXIT FAILURE MODE', hex: '48 1f 00 00 00 00 00 00 00 00', cdb: { kind: 'sanitize', fields: { immed: false, ause: false, serviceAction: 0x1f, parameterListLength: 0 } } },
  {
    name: 'EXTENDED COPY (LID1)',
    hex: '83 00 00 00 00 00 00 00 00 00 01 02 03 04 00 00',
    cdb: { kind: 'extendedCopy', fields: { parameterListLength: 0x01020304 } },
  },
  {
    name: 'RECEIVE COPY STATUS (LID1)',
    hex: '84 00 07 00 00 00 00 00 00 00 00 00 04 00 00 00',
    cdb: { kind: 'receiveCopyResults', fields: { serviceAction: 0, listId: 7, allocationLength: 0x400 } },
  },
  {
    name: 'RECEIVE COPY OPERATING PARAMETERS',
    hex: '84 03 00 00 00 00 00 00 00 00 ff ff ff ff 00 00',
    cdb: { kind: 'receiveCopyResults', fields: { serviceAction: 3, listId: 0, allocationLength: 0xffff_ffff } },
  },
];

/** ILLEGAL REQUEST faults: asc 20h or 24h, field pointer byte/bit (bit absent: BPV = 0). */
export interface FaultVector {
  readonly name: string;
  readonly hex: string;
  readonly asc: 0x20 | 0x24;
  readonly byte: number;
  readonly bit?: number;
}

export const cdbFaultVectors: readonly FaultVector[] = [
  { name: 'READ CAPACITY(10) PMI = 0 with LBA ≠ 0', hex: '25 00 00 00 00 01 00 00 00 00', asc: 0x24, byte: 2 },
  { name: 'READ CAPACITY(10) obsolete RELADR', hex: '25 01 00 00 00 00 00 00 00 00', asc: 0x24, byte: 1, bit: 0 },
  { name: 'READ CAPACITY(16) PMI = 0 with LBA ≠ 0', hex: '9e 10 00 00 00 00 00 00 00 01 00 00 00 20 00 00', asc: 0x24, byte: 2 },
  { name: 'SERVICE ACTION IN(16) reserved bit above the SA', hex: `9e 30 ${Z8} 00 00 00 20 00 00`, asc: 0x24, byte: 1, bit: 5 },
  { name: 'READ CAPACITY(16) byte 14 bit 1', hex: `9e 10 ${Z8} 00 00 00 20 02 00`, asc: 0x24, byte: 14, bit: 1 },
  { name: 'GET LBA STATUS reserved REPORT TYPE 05h', hex: `9e 12 ${Z8} 00 00 00 18 05 00`, asc: 0x24, byte: 14 },
  { name: 'SERVICE ACTION IN(16) unknown SA 11h', hex: `9e 11 ${Z8} 00 00 00 20 00 00`, asc: 0x24, byte: 1, bit: 4 },
  { name: 'INQUIRY EVPD = 0 with a page code', hex: '12 00 80 00 ff 00', asc: 0x24, byte: 2 },
  { name: 'INQUIRY obsolete CMDDT', hex: '12 02 00 00 ff 00', asc: 0x24, byte: 1, bit: 1 },
  { name: 'INQUIRY reserved byte 1 bit 5', hex: '12 20 00 00 ff 00', asc: 0x24, byte: 1, bit: 5 },
  { name: 'SYNCHRONIZE CACHE(10) obsolete RELADR', hex: '35 01 00 00 00 00 00 00 00 00', asc: 0x24, byte: 1, bit: 0 },
  { name: 'PRE-FETCH(16) reserved byte 1 bit 0', hex: `90 01 ${Z8} 00 00 00 01 00 00`, asc: 0x24, byte: 1, bit: 0 },
  { name: 'UNMAP reserved byte 5', hex: '42 00 00 00 00 01 00 00 18 00', asc: 0x24, byte: 5, bit: 0 },
  { name: 'UNMAP reserved byte 6 bit 6', hex: '42 00 00 00 00 00 40 00 18 00', asc: 0x24, byte: 6, bit: 6 },
  { name: 'WRITE SAME(10) ANCHOR without UNMAP', hex: '41 10 00 00 00 00 00 00 01 00', asc: 0x24, byte: 1, bit: 4 },
  { name: 'WRITE SAME(10) obsolete LBDATA', hex: '41 02 00 00 00 00 00 00 01 00', asc: 0x24, byte: 1, bit: 1 },
  { name: 'WRITE SAME(10) obsolete PBDATA', hex: '41 04 00 00 00 00 00 00 01 00', asc: 0x24, byte: 1, bit: 2 },
  { name: 'WRITE SAME(10) PBDATA and LBDATA', hex: '41 06 00 00 00 00 00 00 01 00', asc: 0x24, byte: 1, bit: 2 },
  { name: 'WRITE SAME(10) has no NDOB', hex: '41 01 00 00 00 00 00 00 01 00', asc: 0x24, byte: 1, bit: 0 },
  { name: 'WRITE SAME(16) ANCHOR without UNMAP', hex: `93 10 ${Z8} 00 00 00 01 00 00`, asc: 0x24, byte: 1, bit: 4 },
  { name: 'COMPARE AND WRITE reserved byte 10', hex: `89 00 ${Z8} 01 00 00 01 00 00`, asc: 0x24, byte: 10, bit: 0 },
  { name: 'COMPARE AND WRITE obsolete FUA_NV', hex: `89 02 ${Z8} 00 00 00 01 00 00`, asc: 0x24, byte: 1, bit: 1 },
  { name: 'MODE SENSE(6) has no LLBAA', hex: '1a 10 3f 00 ff 00', asc: 0x24, byte: 1, bit: 4 },
  { name: 'MODE SENSE(10) reserved byte 4', hex: '5a 00 3f 00 01 00 00 00 ff 00', asc: 0x24, byte: 4, bit: 0 },
  { name: 'MODE SELECT(6) reserved byte 1 bit 1', hex: '15 02 00 00 18 00', asc: 0x24, byte: 1, bit: 1 },
  { name: 'REPORT LUNS allocation length 15', hex: 'a0 00 00 00 00 00 00 00 00 0f 00 00', asc: 0x24, byte: 6 },
  { name: 'REPORT LUNS reserved SELECT REPORT 03h', hex: 'a0 00 03 00 00 00 00 00 00 10 00 00', asc: 0x24, byte: 2 },
  { name: 'REPORT LUNS reserved byte 1', hex: 'a0 01 00 00 00 00 00 00 00 10 00 00', asc: 0x24, byte: 1, bit: 0 },
  { name: 'TEST UNIT READY NACA', hex: '00 00 00 00 00 04', asc: 0x24, byte: 5, bit: 2 },
  { name: 'START STOP UNIT obsolete POWER CONDITION 5h', hex: '1b 00 00 00 50 00', asc: 0x24, byte: 4, bit: 7 },
  { name: 'START STOP UNIT STANDBY with modifier 2', hex: '1b 00 00 02 30 00', asc: 0x24, byte: 3, bit: 3 },
  { name: 'START STOP UNIT reserved byte 4 bit 3', hex: '1b 00 00 00 08 00', asc: 0x24, byte: 4, bit: 3 },
  { name: 'START STOP UNIT reserved byte 3 bit 4', hex: '1b 00 00 10 00 00', asc: 0x24, byte: 3, bit: 4 },
  { name: 'PREVENT ALLOW obsolete PREVENT 10b', hex: '1e 00 00 00 02 00', asc: 0x24, byte: 4, bit: 1 },
  { name: 'PREVENT ALLOW reserved byte 4 bit 2', hex: '1e 00 00 00 04 00', asc: 0x24, byte: 4, bit: 2 },
  // FFMT is byte 4 bits 1..0: a multiple-bit field is pointed at by its first bit (SPC-5 4.4.2.4.2).
  { name: 'FORMAT UNIT FFMT 01b (not implemented)', hex: '04 00 00 00 01 00', asc: 0x24, byte: 4, bit: 1 },
  { name: 'FORMAT UNIT FFMT 10b (not implemented)', hex: '04 00 00 00 02 00', asc: 0x24, byte: 4, bit: 1 },
  { name: 'FORMAT UNIT vendor-specific byte 2', hex: '04 00 80 00 00 00', asc: 0x24, byte: 2, bit: 7 },
  { name: 'SEND DIAGNOSTIC reserved SELF-TEST CODE 011b', hex: '1d 60 00 00 00 00', asc: 0x24, byte: 1, bit: 7 },
  { name: 'SEND DIAGNOSTIC SELFTEST with a SELF-TEST CODE', hex: '1d 24 00 00 00 00', asc: 0x24, byte: 1, bit: 7 },
  { name: 'SEND DIAGNOSTIC reserved byte 1 bit 3', hex: '1d 08 00 00 00 00', asc: 0x24, byte: 1, bit: 3 },
  { name: 'RESERVE(10) 3RDPTY (not implemented)', hex: '56 10 00 00 00 00 00 00 00 00', asc: 0x24, byte: 1, bit: 4 },
  { name: 'RELEASE(6) obsolete extent bit', hex: '17 01 00 00 00 00', asc: 0x24, byte: 1, bit: 0 },
  { name: 'PERSISTENT RESERVE IN unknown SA 04h', hex: '5e 04 00 00 00 00 00 20 00 00', asc: 0x24, byte: 1, bit: 4 },
  { name: 'PERSISTENT RESERVE IN reserved byte 2', hex: '5e 00 01 00 00 00 00 20 00 00', asc: 0x24, byte: 2, bit: 0 },
  { name: 'PERSISTENT RESERVE OUT REGISTER AND MOVE (not implemented)', hex: '5f 07 00 00 00 00 00 00 18 00', asc: 0x24, byte: 1, bit: 4 },
  { name: 'PERSISTENT RESERVE OUT reserved byte 3', hex: '5f 00 00 80 00 00 00 00 18 00', asc: 0x24, byte: 3, bit: 7 },
  { name: 'RSOC reserved REPORTING OPTIONS 100b', hex: 'a3 0c 04 00 00 00 00 00 04 00 00 00', asc: 0x24, byte: 2, bit: 2 },
  { name: 'RSOC reserved byte 2 bit 6', hex: 'a3 0c 40 00 00 00 00 00 04 00 00 00', asc: 0x24, byte: 2, bit: 6 },
  { name: 'RSOC reserved byte 10', hex: 'a3 0c 00 00 00 00 00 00 04 00 01 00', asc: 0x24, byte: 10, bit: 0 },
  { name: 'RSTMF reserved byte 2 bit 0', hex: 'a3 0d 01 00 00 00 00 00 00 04 00 00', asc: 0x24, byte: 2, bit: 0 },
  { name: 'RSTMF reserved byte 3', hex: 'a3 0d 00 01 00 00 00 00 00 04 00 00', asc: 0x24, byte: 3, bit: 0 },
  { name: 'MAINTENANCE IN unknown SA 0Ah', hex: 'a3 0a 00 00 00 00 00 00 00 04 00 00', asc: 0x24, byte: 1, bit: 4 },
  { name: 'SANITIZE CRYPTOGRAPHIC ERASE is not implemented', hex: '48 03 00 00 00 00 00 00 00 00', asc: 0x24, byte: 1, bit: 4 },
  { name: 'SANITIZE reserved byte 1 bit 6', hex: '48 41 00 00 00 00 00 00 05 00', asc: 0x24, byte: 1, bit: 6 },
  { name: 'SANITIZE BLOCK ERASE with a PARAMETER LIST LENGTH', hex: '48 02 00 00 00 00 00 00 08 00', asc: 0x24, byte: 8, bit: 3 },
  { name: 'READ DEFECT DATA(10) reserved byte 1', hex: '37 01 00 00 00 00 00 00 04 00', asc: 0x24, byte: 1, bit: 0 },
  { name: 'READ DEFECT DATA(12) reserved byte 10', hex: 'b7 00 00 00 00 00 00 00 00 08 80 00', asc: 0x24, byte: 10, bit: 7 },
  { name: 'ORWRITE(16) obsolete FUA_NV', hex: `8b 02 ${Z8} 00 00 00 01 00 00`, asc: 0x24, byte: 1, bit: 1 },
  { name: 'EXTENDED COPY (LID4) is not implemented', hex: `83 01 ${Z8} 00 00 00 10 00 00`, asc: 0x24, byte: 1, bit: 4 },
  { name: 'EXTENDED COPY (LID1) reserved byte 2', hex: `83 00 01 00 00 00 00 00 00 00 00 00 00 10 00 00`, asc: 0x24, byte: 2, bit: 0 },
  { name: 'RECEIVE COPY OPERATING PARAMETERS with a LIST IDENTIFIER', hex: `84 03 01 00 00 00 00 00 00 00 00 00 04 00 00 00`, asc: 0x24, byte: 2, bit: 0 },
  { name: 'RECEIVE COPY FAILURE DETAILS is not implemented', hex: `84 04 ${Z8} 00 00 04 00 00 00`, asc: 0x24, byte: 1, bit: 4 },
  { name: 'unassigned opcode 02h', hex: '02 00 00 00 00 00', asc: 0x20, byte: 0 },
  { name: 'vendor-specific opcode FFh', hex: 'ff 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00', asc: 0x20, byte: 0 },
  { name: 'variable-length CDB 7Fh', hex: '7f 00 00 00 00 00 00 18 00 00 00 00 00 00 00 00', asc: 0x20, byte: 0 },
  { name: 'empty CDB', hex: '', asc: 0x20, byte: 0 },
  { name: 'SERVICE ACTION IN(16) one byte long', hex: '9e', asc: 0x24, byte: 0 },
  { name: 'INQUIRY five bytes long', hex: '12 00 00 00 24', asc: 0x24, byte: 0 },
];
