// SANITIZE CDB and the OVERWRITE parameter list. Spec: SBC-4 (SANITIZE CDB
// table: IMMED byte 1 bit 7, AUSE bit 5, SERVICE ACTION bits 4..0, PARAMETER
// LIST LENGTH bytes 7..8; OVERWRITE service action parameter list: INVERT
// byte 0 bit 7, TEST bits 6..5, OVERWRITE COUNT bits 4..0, INITIALIZATION
// PATTERN LENGTH bytes 2..3, INITIALIZATION PATTERN from byte 4).

import { Asc, invalidFieldInParameterList, senseIllegalRequest, type Decoded } from '../sense.js';
import { ScsiOp } from '../opcodes.js';
import type { CommandDescriptor } from './registry.js';
import { assertUint, checkCdb, newCdb, U16_MAX } from './codec.js';

/** A decoded SANITIZE CDB. */
export interface SanitizeCdb {
  /** IMMED (byte 1 bit 7): status once the CDB and parameter list are checked, before the sanitize ends. */
  readonly immed: boolean;
  /** AUSE (byte 1 bit 5): if this sanitize fails, EXIT FAILURE MODE may end the failure mode. */
  readonly ause: boolean;
  /** SERVICE ACTION (byte 1 bits 4..0), one of SanitizeSa. */
  readonly serviceAction: number;
  /** PARAMETER LIST LENGTH (bytes 7..8). */
  readonly parameterListLength: number;
}

const IMMED = 0x80; // byte 1 bit 7
const AUSE = 0x20; // byte 1 bit 5
const SA_MASK = 0x1f; // byte 1 bits 4..0
/** PARAMETER LIST LENGTH (bytes 7..8): where a length the service action cannot take points. */
export const SANITIZE_PLL_BYTE = 7;

/** Encodes SANITIZE. */
export function encodeSanitize(cmd: Pick<SanitizeCdb, 'serviceAction'> & Partial<SanitizeCdb>): Uint8Array {
  const pll = cmd.parameterListLength ?? 0;
  assertUint('serviceAction', cmd.serviceAction, SA_MASK);
  assertUint('parameterListLength', pll, U16_MAX);
  const { cdb, v } = newCdb(10, ScsiOp.SANITIZE);
  v.setUint8(1, (cmd.immed === true ? IMMED : 0) | (cmd.ause === true ? AUSE : 0) | cmd.serviceAction);
  v.setUint16(SANITIZE_PLL_BYTE, pll);
  return cdb;
}

/** Decodes SANITIZE (service action and reserved bits are the command table's). */
export function decodeSanitize(cdb: Uint8Array, commands?: readonly CommandDescriptor[]): Decoded<SanitizeCdb> {
  const checked = checkCdb(cdb, 'decodeSanitize', [ScsiOp.SANITIZE], commands);
  if (!checked.ok) return checked;
  const { v } = checked.value;
  const b1 = v.getUint8(1);
  return {
    ok: true,
    value: { immed: (b1 & IMMED) !== 0, ause: (b1 & AUSE) !== 0, serviceAction: b1 & SA_MASK, parameterListLength: v.getUint16(SANITIZE_PLL_BYTE) },
  };
}

/** The OVERWRITE service action parameter list. */
export interface OverwriteParameters {
  /** INVERT: the pattern is inverted between consecutive passes. */
  readonly invert: boolean;
  /** OVERWRITE COUNT: passes over the medium, 1..31. */
  readonly count: number;
  /** INITIALIZATION PATTERN, 1 .. logical block length bytes, repeated over each block. */
  readonly pattern: Uint8Array;
}

/** OVERWRITE parameter list header: byte 0, reserved byte 1, INITIALIZATION PATTERN LENGTH 2..3. */
export const OVERWRITE_HEADER = 4;
const INVERT = 0x80; // byte 0 bit 7
const TEST_MASK = 0x60; // byte 0 bits 6..5
const COUNT_MASK = 0x1f; // byte 0 bits 4..0

/** Encodes an OVERWRITE parameter list (TEST 00b). */
export function encodeOverwriteParameters(p: OverwriteParameters): Uint8Array {
  assertUint('count', p.count, COUNT_MASK);
  assertUint('pattern length', p.pattern.length, U16_MAX);
  const out = new Uint8Array(OVERWRITE_HEADER + p.pattern.length);
  const v = new DataView(out.buffer);
  v.setUint8(0, (p.invert ? INVERT : 0) | p.count);
  v.setUint16(2, p.pattern.length);
  out.set(p.pattern, OVERWRITE_HEADER);
  return out;
}

/**
 * Decodes the OVERWRITE parameter list against the logical block length.
 * Faults (ILLEGAL REQUEST): fewer bytes than the header or than the pattern
 * length says → PARAMETER LIST LENGTH ERROR; TEST ≠ 00b (manufacturer test
 * modes, none here), OVERWRITE COUNT 0, a reserved byte 1, an INITIALIZATION
 * PATTERN LENGTH of 0 or above the block length, or one that leaves bytes of
 * the list unused → INVALID FIELD IN PARAMETER LIST at the field.
 */
export function decodeOverwriteParameters(list: Uint8Array, blockSize: number): Decoded<OverwriteParameters> {
  if (list.length < OVERWRITE_HEADER) return { ok: false, fault: senseIllegalRequest(Asc.PARAMETER_LIST_LENGTH_ERROR) };
  const v = new DataView(list.buffer, list.byteOffset, list.byteLength);
  const b0 = v.getUint8(0);
  if ((b0 & TEST_MASK) !== 0) return { ok: false, fault: invalidFieldInParameterList(0, 6) };
  const count = b0 & COUNT_MASK;
  if (count === 0) return { ok: false, fault: invalidFieldInParameterList(0, 4) };
  if (v.getUint8(1) !== 0) return { ok: false, fault: invalidFieldInParameterList(1, 31 - Math.clz32(v.getUint8(1))) };
  const length = v.getUint16(2);
  if (length === 0 || length > blockSize) return { ok: false, fault: invalidFieldInParameterList(2) };
  if (OVERWRITE_HEADER + length > list.length) return { ok: false, fault: senseIllegalRequest(Asc.PARAMETER_LIST_LENGTH_ERROR) };
  if (OVERWRITE_HEADER + length < list.length) return { ok: false, fault: invalidFieldInParameterList(2) };
  return { ok: true, value: { invert: (b0 & INVERT) !== 0, count, pattern: list.subarray(OVERWRITE_HEADER) } };
}
