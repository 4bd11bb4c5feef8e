// INQUIRY CDB. Spec: SPC-5 (INQUIRY command CDB table). Byte 1 bit 1 (formerly
// CMDDT) is obsolete and treated as reserved: setting it is INVALID FIELD IN CDB.

import { invalidFieldInCdb, type Decoded } from '../sense.js';
import { ScsiOp } from '../opcodes.js';
import type { CommandDescriptor } from './registry.js';
import { assertUint, checkCdb, newCdb, U16_MAX } from './codec.js';

/** A decoded INQUIRY CDB. */
export interface InquiryCdb {
  /** EVPD (byte 1 bit 0): return the VPD page named by pageCode. */
  readonly evpd: boolean;
  /** PAGE CODE; must be 0 when evpd is false. */
  readonly pageCode: number;
  /** ALLOCATION LENGTH (16 bits since SPC-3). */
  readonly allocationLength: number;
}

const EVPD = 0x01; // byte 1 bit 0
const PAGE_CODE_BYTE = 2;

/** Encodes INQUIRY. Throws RangeError for a page code without EVPD (the device would reject it). */
export function encodeInquiry(cmd: Pick<InquiryCdb, 'allocationLength'> & Partial<InquiryCdb>): Uint8Array {
  const evpd = cmd.evpd ?? false;
  const pageCode = cmd.pageCode ?? 0;
  assertUint('pageCode', pageCode, 0xff);
  assertUint('allocationLength', cmd.allocationLength, U16_MAX);
  if (!evpd && pageCode !== 0) throw new RangeError(`INQUIRY page code ${pageCode} needs EVPD`);
  const { cdb, v } = newCdb(6, ScsiOp.INQUIRY);
  v.setUint8(1, evpd ? EVPD : 0);
  v.setUint8(PAGE_CODE_BYTE, pageCode);
  v.setUint16(3, cmd.allocationLength);
  return cdb;
}

/** Decodes INQUIRY. EVPD = 0 with PAGE CODE ≠ 0 → INVALID FIELD IN CDB, byte 2 (SPC-5). */
export function decodeInquiry(cdb: Uint8Array, commands?: readonly CommandDescriptor[]): Decoded<InquiryCdb> {
  const checked = checkCdb(cdb, 'decodeInquiry', [ScsiOp.INQUIRY], commands);
  if (!checked.ok) return checked;
  const { v } = checked.value;
  const evpd = (v.getUint8(1) & EVPD) !== 0;
  const pageCode = v.getUint8(PAGE_CODE_BYTE);
  if (!evpd && pageCode !== 0) return { ok: false, fault: invalidFieldInCdb(PAGE_CODE_BYTE) };
  return { ok: true, value: { evpd, pageCode, allocationLength: v.getUint16(3) } };
}
