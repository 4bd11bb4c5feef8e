// REPORT LUNS CDB. Spec: SPC-5 (REPORT LUNS CDB table, SELECT REPORT field).
// SPC-5 says the allocation length "should be at least 16" and notes that SPC
// (SPC-1) device servers return INVALID FIELD IN CDB below 16; vtcam keeps that
// behaviour (so do QEMU and SPDK), pointing at the ALLOCATION LENGTH field.

import { invalidFieldInCdb, type Decoded } from '../sense.js';
import { ScsiOp } from '../opcodes.js';
import type { CommandDescriptor } from './registry.js';
import { assertUint, checkCdb, newCdb, U32_MAX } from './codec.js';

/** SELECT REPORT values (SPC-5); the others are reserved. */
export const SelectReport = {
  /** Logical units except well-known ones. */
  LOGICAL_UNITS: 0x00,
  WELL_KNOWN_LOGICAL_UNITS: 0x01,
  ALL_LOGICAL_UNITS: 0x02,
  ADMINISTRATIVE_LOGICAL_UNITS: 0x10,
  SUBSIDIARY_LOGICAL_UNITS_OF_ADMINISTRATIVE_LU: 0x11,
  SUBSIDIARY_LOGICAL_UNITS_OF_SAME_ADMINISTRATIVE_LU: 0x12,
} as const;
export type SelectReport = (typeof SelectReport)[keyof typeof SelectReport];
const SELECT_REPORTS: readonly number[] = Object.values(SelectReport);

/** A decoded REPORT LUNS CDB. */
export interface ReportLunsCdb {
  /** SELECT REPORT (byte 2). */
  readonly selectReport: number;
  /** ALLOCATION LENGTH (bytes 6..9); at least 16. */
  readonly allocationLength: number;
}

const SELECT_REPORT_BYTE = 2;
const ALLOCATION_LENGTH_BYTE = 6;
/** Smallest ALLOCATION LENGTH vtcam accepts: the 8-byte header plus one LUN. */
export const REPORT_LUNS_MIN_ALLOCATION_LENGTH = 16;

/** Encodes REPORT LUNS. Throws RangeError for a reserved SELECT REPORT. */
export function encodeReportLuns(cmd: Pick<ReportLunsCdb, 'allocationLength'> & Partial<ReportLunsCdb>): Uint8Array {
  const selectReport = cmd.selectReport ?? SelectReport.LOGICAL_UNITS;
  if (!SELECT_REPORTS.includes(selectReport)) throw new RangeError(`selectReport ${selectReport} is reserved`);
  assertUint('allocationLength', cmd.allocationLength, U32_MAX);
  const { cdb, v } = newCdb(12, ScsiOp.REPORT_LUNS);
  v.setUint8(SELECT_REPORT_BYTE, selectReport);
  v.setUint32(ALLOCATION_LENGTH_BYTE, cmd.allocationLength);
  return cdb;
}

/**
 * Decodes REPORT LUNS. A reserved SELECT REPORT → INVALID FIELD IN CDB, byte 2;
 * ALLOCATION LENGTH < 16 → INVALID FIELD IN CDB, byte 6.
 */
export function decodeReportLuns(cdb: Uint8Array, commands?: readonly CommandDescriptor[]): Decoded<ReportLunsCdb> {
  const checked = checkCdb(cdb, 'decodeReportLuns', [ScsiOp.REPORT_LUNS], commands);
  if (!checked.ok) return checked;
  const { v } = checked.value;
  const selectReport = v.getUint8(SELECT_REPORT_BYTE);
  if (!SELECT_REPORTS.includes(selectReport)) return { ok: false, fault: invalidFieldInCdb(SELECT_REPORT_BYTE) };
  const allocationLength = v.getUint32(ALLOCATION_LENGTH_BYTE);
  if (allocationLength < REPORT_LUNS_MIN_ALLOCATION_LENGTH) return { ok: false, fault: invalidFieldInCdb(ALLOCATION_LENGTH_BYTE) };
  return { ok: true, value: { selectReport, allocationLength } };
}
