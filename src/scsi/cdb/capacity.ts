// READ CAPACITY (10), and the SERVICE ACTION IN (16) commands READ CAPACITY (16)
// and GET LBA STATUS. Spec: SBC-4 (READ CAPACITY (10)/(16), GET LBA STATUS (16)
// CDB tables). SBC-4 made PMI and the LOGICAL BLOCK ADDRESS of both READ
// CAPACITY CDBs obsolete; vtcam still accepts them with SBC-3's rule (PMI = 0
// requires LBA = 0) because initiators built against SBC-3 send them.

import { invalidFieldInCdb, type Decoded } from '../sense.js';
import { ScsiOp, ServiceActionIn16Sa } from '../opcodes.js';
import type { CommandDescriptor } from './registry.js';
import { assertBigUint, assertUint, checkCdb, newCdb, U32_MAX, U32_MAX_N, U64_MAX_N } from './codec.js';

/** READ CAPACITY (10). */
export interface ReadCapacity10Cdb {
  /** LOGICAL BLOCK ADDRESS (obsolete in SBC-4); must be 0 unless pmi. */
  readonly lba: bigint;
  /** PMI (byte 8 bit 0; obsolete in SBC-4). */
  readonly pmi: boolean;
}

/** READ CAPACITY (16). */
export interface ReadCapacity16Cdb {
  /** LOGICAL BLOCK ADDRESS (obsolete in SBC-4); must be 0 unless pmi. */
  readonly lba: bigint;
  /** PMI (byte 14 bit 0; obsolete in SBC-4). */
  readonly pmi: boolean;
  /** ALLOCATION LENGTH. */
  readonly allocationLength: number;
}

/** GET LBA STATUS (16). */
export interface GetLbaStatusCdb {
  /** STARTING LOGICAL BLOCK ADDRESS. */
  readonly startingLba: bigint;
  /** ALLOCATION LENGTH. */
  readonly allocationLength: number;
  /** REPORT TYPE (byte 14). */
  readonly reportType: number;
}

/** GET LBA STATUS REPORT TYPE values (SBC-4); the rest are reserved. */
export const GetLbaStatusReportType = {
  ALL: 0x00,
  NONZERO_PROVISIONING_STATUS: 0x01,
  MAPPED: 0x02,
  DEALLOCATED: 0x03,
  ANCHORED: 0x04,
  MAY_RETURN_UNRECOVERED_ERRORS: 0x10,
} as const;
export type GetLbaStatusReportType = (typeof GetLbaStatusReportType)[keyof typeof GetLbaStatusReportType];
const REPORT_TYPES: readonly number[] = Object.values(GetLbaStatusReportType);

const RC10_PMI = 0x01; // byte 8 bit 0
const RC16_PMI = 0x01; // byte 14 bit 0
const LBA_FIELD_BYTE = 2; // both CDBs: LOGICAL BLOCK ADDRESS starts at byte 2
const REPORT_TYPE_BYTE = 14;

/** Encodes READ CAPACITY (10). Throws RangeError for lba > 2^32 − 1. */
export function encodeReadCapacity10(cmd: Partial<ReadCapacity10Cdb> = {}): Uint8Array {
  const lba = cmd.lba ?? 0n;
  assertBigUint('lba', lba, U32_MAX_N);
  const { cdb, v } = newCdb(10, ScsiOp.READ_CAPACITY_10);
  v.setUint32(2, Number(lba));
  v.setUint8(8, cmd.pmi === true ? RC10_PMI : 0);
  return cdb;
}

/** Decodes READ CAPACITY (10). PMI = 0 with LBA ≠ 0 → INVALID FIELD IN CDB, byte 2. */
export function decodeReadCapacity10(cdb: Uint8Array, commands?: readonly CommandDescriptor[]): Decoded<ReadCapacity10Cdb> {
  const checked = checkCdb(cdb, 'decodeReadCapacity10', [ScsiOp.READ_CAPACITY_10], commands);
  if (!checked.ok) return checked;
  const { v } = checked.value;
  const lba = BigInt(v.getUint32(2));
  const pmi = (v.getUint8(8) & RC10_PMI) !== 0;
  if (!pmi && lba !== 0n) return { ok: false, fault: invalidFieldInCdb(LBA_FIELD_BYTE) };
  return { ok: true, value: { lba, pmi } };
}

/** Encodes READ CAPACITY (16) (SERVICE ACTION IN (16), SA 10h). */
export function encodeReadCapacity16(cmd: Pick<ReadCapacity16Cdb, 'allocationLength'> & Partial<ReadCapacity16Cdb>): Uint8Array {
  const lba = cmd.lba ?? 0n;
  assertBigUint('lba', lba, U64_MAX_N);
  assertUint('allocationLength', cmd.allocationLength, U32_MAX);
  const { cdb, v } = newCdb(16, ScsiOp.SERVICE_ACTION_IN_16);
  v.setUint8(1, ServiceActionIn16Sa.READ_CAPACITY_16);
  v.setBigUint64(2, lba);
  v.setUint32(10, cmd.allocationLength);
  v.setUint8(14, cmd.pmi === true ? RC16_PMI : 0);
  return cdb;
}

/** Decodes READ CAPACITY (16). PMI = 0 with LBA ≠ 0 → INVALID FIELD IN CDB, byte 2. */
export function decodeReadCapacity16(cdb: Uint8Array, commands?: readonly CommandDescriptor[]): Decoded<ReadCapacity16Cdb> {
  const checked = checkCdb(cdb, 'decodeReadCapacity16', [ScsiOp.SERVICE_ACTION_IN_16], commands);
  if (!checked.ok) return checked;
  const { v, desc } = checked.value;
  if (desc.serviceAction !== ServiceActionIn16Sa.READ_CAPACITY_16) {
    throw new RangeError(`decodeReadCapacity16: service action ${desc.serviceAction ?? 'none'} is not READ CAPACITY (16)`);
  }
  const lba = v.getBigUint64(2);
  const pmi = (v.getUint8(14) & RC16_PMI) !== 0;
  if (!pmi && lba !== 0n) return { ok: false, fault: invalidFieldInCdb(LBA_FIELD_BYTE) };
  return { ok: true, value: { lba, pmi, allocationLength: v.getUint32(10) } };
}

/** Encodes GET LBA STATUS (16) (SERVICE ACTION IN (16), SA 12h). Throws RangeError on a reserved REPORT TYPE. */
export function encodeGetLbaStatus(
  cmd: Pick<GetLbaStatusCdb, 'startingLba' | 'allocationLength'> & Partial<GetLbaStatusCdb>,
): Uint8Array {
  const reportType = cmd.reportType ?? GetLbaStatusReportType.ALL;
  assertBigUint('startingLba', cmd.startingLba, U64_MAX_N);
  assertUint('allocationLength', cmd.allocationLength, U32_MAX);
  if (!REPORT_TYPES.includes(reportType)) throw new RangeError(`reportType ${reportType} is reserved`);
  const { cdb, v } = newCdb(16, ScsiOp.SERVICE_ACTION_IN_16);
  v.setUint8(1, ServiceActionIn16Sa.GET_LBA_STATUS);
  v.setBigUint64(2, cmd.startingLba);
  v.setUint32(10, cmd.allocationLength);
  v.setUint8(REPORT_TYPE_BYTE, reportType);
  return cdb;
}

/** Decodes GET LBA STATUS (16). A reserved REPORT TYPE → INVALID FIELD IN CDB, byte 14. */
export function decodeGetLbaStatus(cdb: Uint8Array, commands?: readonly CommandDescriptor[]): Decoded<GetLbaStatusCdb> {
  const checked = checkCdb(cdb, 'decodeGetLbaStatus', [ScsiOp.SERVICE_ACTION_IN_16], commands);
  if (!checked.ok) return checked;
  const { v, desc } = checked.value;
  if (desc.serviceAction !== ServiceActionIn16Sa.GET_LBA_STATUS) {
    throw new RangeError(`decodeGetLbaStatus: service action ${desc.serviceAction ?? 'none'} is not GET LBA STATUS`);
  }
  const reportType = v.getUint8(REPORT_TYPE_BYTE);
  if (!REPORT_TYPES.includes(reportType)) return { ok: false, fault: invalidFieldInCdb(REPORT_TYPE_BYTE) };
  return { ok: true, value: { startingLba: v.getBigUint64(2), allocationLength: v.getUint32(10), reportType } };
}
