// Helpers shared by the CDB codecs: the registry check every decoder runs
// first, the CDB-length choice every multi-length encoder makes, and the
// argument checks encoders throw on (a bad argument is a caller bug, STYLE §6).

import type { Decoded } from '../sense.js';
import { COMMANDS, validateCdb, type CommandDescriptor } from './registry.js';

/**
 * The index, when `size` bytes from `at` lie inside `bytes`; RangeError
 * otherwise (as DataView).
 */
function checkRange(bytes: Uint8Array, at: number, size: number): number {
  if (!Number.isInteger(at) || at < 0 || at + size > bytes.length) {
    throw new RangeError(`offset ${at} + ${size} is outside the ${bytes.length}-byte CDB`);
  }
  return at;
}

/** CdbView.getUint8 without a view: for decoders that run on every command. */
export function cdbUint8(bytes: Uint8Array, at: number): number {
  return bytes[checkRange(bytes, at, 1)] ?? 0;
}

/** CdbView.getUint16 without a view. */
export function cdbUint16(bytes: Uint8Array, at: number): number {
  const i = checkRange(bytes, at, 2);
  return ((bytes[i] ?? 0) << 8) | (bytes[i + 1] ?? 0);
}

/** CdbView.getUint32 without a view. */
export function cdbUint32(bytes: Uint8Array, at: number): number {
  const i = checkRange(bytes, at, 4);
  return (((bytes[i] ?? 0) << 24) | ((bytes[i + 1] ?? 0) << 16) | ((bytes[i + 2] ?? 0) << 8) | (bytes[i + 3] ?? 0)) >>> 0;
}

/** CdbView.getBigUint64 without a view. */
export function cdbBigUint64(bytes: Uint8Array, at: number): bigint {
  checkRange(bytes, at, 8);
  return (BigInt(cdbUint32(bytes, at)) << 32n) | BigInt(cdbUint32(bytes, at + 4));
}

/**
 * Big-endian access to a CDB's bytes with DataView's names and its RangeError
 * for an access past the end, so the codecs read like the DataView code they
 * are. Not a DataView: V8 keeps a small Uint8Array's bytes on its heap, and a
 * DataView over its `buffer` first moves them off it — more than the rest of a
 * READ's encode or decode costs, on every command. The READ/WRITE decoders,
 * which run for every I/O, use the cdbUint* functions instead: the same
 * reads, without a view object per command.
 */
export class CdbView {
  readonly #b: Uint8Array;

  constructor(bytes: Uint8Array) {
    this.#b = bytes;
  }

  get byteLength(): number {
    return this.#b.length;
  }

  getUint8(at: number): number {
    return cdbUint8(this.#b, at);
  }

  getUint16(at: number): number {
    return cdbUint16(this.#b, at);
  }

  getUint32(at: number): number {
    return cdbUint32(this.#b, at);
  }

  getBigUint64(at: number): bigint {
    return cdbBigUint64(this.#b, at);
  }

  // Stores convert like DataView's (ToUint8 of each byte, taken from the value's ToUint32).
  setUint8(at: number, value: number): void {
    this.#b[checkRange(this.#b, at, 1)] = value;
  }

  setUint16(at: number, value: number): void {
    const b = this.#b;
    const i = checkRange(b, at, 2);
    b[i] = value >>> 8;
    b[i + 1] = value;
  }

  setUint32(at: number, value: number): void {
    const b = this.#b;
    const i = checkRange(b, at, 4);
    b[i] = value >>> 24;
    b[i + 1] = value >>> 16;
    b[i + 2] = value >>> 8;
    b[i + 3] = value;
  }

  setBigUint64(at: number, value: bigint): void {
    checkRange(this.#b, at, 8);
    const v = BigInt.asUintN(64, value);
    this.setUint32(at, Number(v >> 32n));
    this.setUint32(at + 4, Number(v & 0xffff_ffffn));
  }
}

/** A CDB that passed lookup and the usage mask: its descriptor and a big-endian view. */
export interface CheckedCdb {
  readonly desc: CommandDescriptor;
  readonly v: CdbView;
}

/** Options every multi-length encoder takes: the smallest CDB length it may choose. */
export interface EncodeOptions {
  /** Smallest CDB length to use (6, 10, 12 or 16); the encoder picks the smallest that fits at or above it. */
  readonly minLength?: number;
}

/**
 * Throws RangeError when `cdb`'s operation code is not in `opcodes`: the CDB
 * was routed to the wrong decoder, a caller bug. An empty CDB passes (lookup
 * reports it).
 */
export function assertFamily(cdb: Uint8Array, family: string, opcodes: readonly number[]): void {
  const op = cdb[0];
  if (op !== undefined && !opcodes.includes(op)) {
    throw new RangeError(`${family}: operation code 0x${op.toString(16).padStart(2, '0')} is not handled here`);
  }
}

/**
 * Runs validateCdb (lookup + usage mask) for a family decoder. A CDB whose
 * operation code is not in `opcodes` was routed to the wrong decoder: a caller
 * bug, so it throws.
 */
export function checkCdb(
  cdb: Uint8Array,
  family: string,
  opcodes: readonly number[],
  commands: readonly CommandDescriptor[] = COMMANDS,
): Decoded<CheckedCdb> {
  assertFamily(cdb, family, opcodes);
  const r = validateCdb(cdb, commands);
  if (!r.ok) return r;
  return { ok: true, value: { desc: r.value, v: new CdbView(cdb) } };
}

/** A zeroed CDB of `length` bytes with `opcode` in byte 0, and its view. */
export function newCdb(length: number, opcode: number): { readonly cdb: Uint8Array; readonly v: CdbView } {
  const cdb = new Uint8Array(length);
  const v = new CdbView(cdb);
  v.setUint8(0, opcode);
  return { cdb, v };
}

/**
 * The smallest length in `lengths` (ascending) that is ≥ minLength and for which
 * `fits` holds. Throws RangeError when none does (the request cannot be encoded).
 */
export function pickLength(
  what: string,
  lengths: readonly number[],
  minLength: number,
  fits: (length: number) => boolean,
): number {
  const max = lengths[lengths.length - 1] ?? 0;
  if (!Number.isInteger(minLength) || minLength > max) throw new RangeError(`${what}: minLength ${minLength} must be an integer ≤ ${max}`);
  for (const len of lengths) if (len >= minLength && fits(len)) return len;
  throw new RangeError(`${what}: no CDB length ≥ ${minLength} can carry this request`);
}

/** Throws RangeError unless `value` is an integer in 0..max. */
export function assertUint(what: string, value: number, max: number): void {
  if (!Number.isInteger(value) || value < 0 || value > max) throw new RangeError(`${what} = ${value} is outside 0..${max}`);
}

/** Throws RangeError unless `value` is in 0..max. */
export function assertBigUint(what: string, value: bigint, max: bigint): void {
  if (value < 0n || value > max) throw new RangeError(`${what} = ${value} is outside 0..${max}`);
}

export const U16_MAX = 0xffff;
export const U32_MAX = 0xffff_ffff;
export const U32_MAX_N = 0xffff_ffffn;
export const U64_MAX_N = 0xffff_ffff_ffff_ffffn;
/** GROUP NUMBER: 6 bits (bits 5..0) in SBC-4 (5 bits in SBC-3). */
export const GROUP_NUMBER_MASK = 0x3f;
/** The CDB length for an encoder's default when it has one length below 10. */
export const DEFAULT_MIN_LENGTH = 6;
