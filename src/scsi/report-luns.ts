// REPORT LUNS parameter data and the 8-byte LUN format. Spec: SPC-5 (INCITS
// 502) REPORT LUNS; SAM-5 (INCITS 515) logical unit numbers: single level
// LUN structure, peripheral device addressing method (00b) and flat space
// addressing method (01b).
//
// LUN n < 256 uses peripheral device addressing with BUS IDENTIFIER 0 (what
// Linux scsilun and FreeBSD CAM emit for small LUNs), 256..16383 flat space.

import { Asc, invalidFieldInCdb, senseIllegalRequest, type Decoded } from './sense.js';

/** SELECT REPORT values (REPORT LUNS CDB byte 2) vtcam supports. */
export const SelectReport = {
  /** 00h: logical units, excluding well-known logical units. */
  LOGICAL_UNITS: 0x00,
  /** 01h: well-known logical units only. vtcam has none, so the list is empty. */
  WELL_KNOWN_LOGICAL_UNITS: 0x01,
  /** 02h: all logical units. */
  ALL_LOGICAL_UNITS: 0x02,
} as const;
export type SelectReport = (typeof SelectReport)[keyof typeof SelectReport];

/** ADDRESS METHOD (byte 0 bits 7..6 of a first-level LUN). */
export const AddressMethod = { PERIPHERAL_DEVICE: 0b00, FLAT_SPACE: 0b01, LOGICAL_UNIT: 0b10, EXTENDED_LOGICAL_UNIT: 0b11 } as const;
export type AddressMethod = (typeof AddressMethod)[keyof typeof AddressMethod];

/** Largest LUN the flat space method can carry (14 bits). */
export const MAX_FLAT_SPACE_LUN = 0x3fff;
/** LUNs below this use the peripheral device method (TARGET OR LUN is one byte). */
const PERIPHERAL_DEVICE_LIMIT = 0x100;
const LUN_LENGTH = 8;
const HEADER = 8; // LUN LIST LENGTH (4) + reserved (4)
/** REPORT LUNS CDB byte 2: SELECT REPORT. */
const CDB_SELECT_REPORT_BYTE = 2;

function assertLun(n: number): void {
  if (!Number.isInteger(n) || n < 0 || n > MAX_FLAT_SPACE_LUN) {
    throw new RangeError(`LUN must be an integer in 0..${MAX_FLAT_SPACE_LUN}, got ${n}`);
  }
}

/**
 * Encodes LUN `n` as an 8-byte single level LUN: peripheral device addressing
 * (`00 nn 00 00 00 00 00 00`) below 256, flat space (`4h|n>>8 n&ff 00 …`) up to
 * 16383. Throws RangeError outside 0..16383.
 */
export function encodeLun(n: number): Uint8Array {
  assertLun(n);
  const out = new Uint8Array(LUN_LENGTH);
  const v = new DataView(out.buffer);
  if (n < PERIPHERAL_DEVICE_LIMIT) {
    v.setUint8(0, AddressMethod.PERIPHERAL_DEVICE << 6); // BUS IDENTIFIER 0: this level
    v.setUint8(1, n); // TARGET OR LUN
  } else {
    v.setUint16(0, (AddressMethod.FLAT_SPACE << 14) | n); // FLAT SPACE LUN (13..0)
  }
  return out;
}

/**
 * Decodes an 8-byte LUN into a LUN number. Accepted: single level peripheral
 * device addressing with BUS IDENTIFIER 0, and single level flat space
 * addressing (any value 0..16383, so `40 05 …` is LUN 5 too). Anything else —
 * a second level, a non-zero bus, logical unit or extended addressing (which
 * includes the well-known LUNs) — is ILLEGAL REQUEST, LOGICAL UNIT NOT
 * SUPPORTED (25h/00h), the sense SAM-5 gives for an unknown LUN. Throws
 * RangeError if `bytes` is not 8 bytes long.
 */
export function decodeLun(bytes: Uint8Array): Decoded<number> {
  if (bytes.length !== LUN_LENGTH) throw new RangeError(`a LUN is ${LUN_LENGTH} bytes, got ${bytes.length}`);
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const unsupported = { ok: false, fault: senseIllegalRequest(Asc.LOGICAL_UNIT_NOT_SUPPORTED) } as const;
  if (v.getUint16(2) !== 0 || v.getUint32(4) !== 0) return unsupported; // second to fourth level present
  const first = v.getUint16(0);
  switch (first >> 14) {
    case AddressMethod.PERIPHERAL_DEVICE:
      return (first & 0x3f00) === 0 ? { ok: true, value: first & 0xff } : unsupported; // BUS IDENTIFIER must be 0
    case AddressMethod.FLAT_SPACE:
      return { ok: true, value: first & MAX_FLAT_SPACE_LUN };
    default:
      return unsupported;
  }
}

/**
 * REPORT LUNS parameter data for `luns` (in the order given) and SELECT REPORT
 * `select`: LUN LIST LENGTH (bytes of LUN list, n - 7), 4 reserved bytes, one
 * 8-byte LUN each. 00h and 02h list every LUN (vtcam has no well-known logical
 * units, so they are the same list); 01h returns an empty list. Any other
 * SELECT REPORT (including the administrative-LU values 10h..12h, since vtcam
 * has no LU conglomerates) is INVALID FIELD IN CDB at byte 2. Throws RangeError
 * for a LUN outside 0..16383, a repeated LUN, or a `select` that is not a byte.
 */
export function reportLuns(luns: readonly number[], select: number): Decoded<Uint8Array> {
  if (!Number.isInteger(select) || select < 0 || select > 0xff) throw new RangeError(`SELECT REPORT must be a byte, got ${select}`);
  luns.forEach(assertLun);
  if (new Set(luns).size !== luns.length) throw new RangeError(`LUNs must be distinct, got [${luns.join(', ')}]`);
  let listed: readonly number[];
  switch (select) {
    case SelectReport.LOGICAL_UNITS:
    case SelectReport.ALL_LOGICAL_UNITS:
      listed = luns;
      break;
    case SelectReport.WELL_KNOWN_LOGICAL_UNITS:
      listed = [];
      break;
    default:
      return { ok: false, fault: invalidFieldInCdb(CDB_SELECT_REPORT_BYTE) };
  }
  const out = new Uint8Array(HEADER + LUN_LENGTH * listed.length);
  new DataView(out.buffer).setUint32(0, LUN_LENGTH * listed.length); // LUN LIST LENGTH
  listed.forEach((n, i) => {
    out.set(encodeLun(n), HEADER + LUN_LENGTH * i);
  });
  return { ok: true, value: out };
}
