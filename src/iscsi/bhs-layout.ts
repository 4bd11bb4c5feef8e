// The iSCSI Basic Header Segment: where each field sits (one table, from the
// PDU figures of RFC 7143 §11), one accessor over the 48 bytes, and the header
// readers a dispatcher needs before it picks a decoder. Multi-byte fields are
// big-endian. The RFC numbers bits 0..7 from the most significant, so "byte 1
// bit 0" is the mask 0x80.

import { SlabCutter } from '../scsi/slab.js';

/** RFC 7143 §11.2.1: a BHS is 48 bytes. */
export const BHS_LENGTH = 48;

/** RFC 7143 §11.2.1.6: DataSegmentLength is 24 bits. */
export const MAX_DATA_SEGMENT_LENGTH = 0xff_ffff;

/** RFC 7143 §11.2.1.5: TotalAHSLength counts 4-byte words in one byte, so at most 1020 AHS bytes. */
export const MAX_TOTAL_AHS_BYTES = 255 * 4;

/**
 * Byte offsets of every BHS field vtcam reads or writes, per PDU, as drawn in
 * the RFC 7143 figures. Fields not listed are reserved (sent as 0).
 */
export const BhsField = {
  /** §11.2.1: byte 0 = I bit + opcode, 1 = flags, 4 = TotalAHSLength, 5..7 = DataSegmentLength, 8..15 LUN, 16..19 ITT. */
  common: { opcode: 0, flags: 1, totalAhsLength: 4, dataSegmentLength: 5, lun: 8, itt: 16 },
  /** §11.3 SCSI Command (the CDB field is bytes 32..47). */
  scsiCommand: { expectedDataTransferLength: 20, cmdSN: 24, expStatSN: 28, cdb: 32 },
  /** §11.4 SCSI Response. */
  scsiResponse: {
    response: 2, status: 3, snackTag: 20, statSN: 24, expCmdSN: 28, maxCmdSN: 32, expDataSN: 36,
    bidiReadResidualCount: 40, residualCount: 44,
  },
  /** §11.5 Task Management Function Request. */
  taskMgmtRequest: { referencedTaskTag: 20, cmdSN: 24, expStatSN: 28, refCmdSN: 32, expDataSN: 36 },
  /** §11.6 Task Management Function Response. */
  taskMgmtResponse: { response: 2, statSN: 24, expCmdSN: 28, maxCmdSN: 32 },
  /** §11.7 SCSI Data-Out. */
  dataOut: { ttt: 20, expStatSN: 28, dataSN: 36, bufferOffset: 40 },
  /** §11.7 SCSI Data-In (status, StatSN and Residual Count only with the S bit). */
  dataIn: { status: 3, ttt: 20, statSN: 24, expCmdSN: 28, maxCmdSN: 32, dataSN: 36, bufferOffset: 40, residualCount: 44 },
  /** §11.8 Ready To Transfer (R2T). */
  r2t: { ttt: 20, statSN: 24, expCmdSN: 28, maxCmdSN: 32, r2tSN: 36, bufferOffset: 40, desiredDataTransferLength: 44 },
  /** §11.9 Asynchronous Message (ITT is 0xffffffff). */
  asyncMessage: { statSN: 24, expCmdSN: 28, maxCmdSN: 32, asyncEvent: 36, asyncVCode: 37, parameter1: 38, parameter2: 40, parameter3: 42 },
  /** §11.10 Text Request. */
  textRequest: { ttt: 20, cmdSN: 24, expStatSN: 28 },
  /** §11.11 Text Response. */
  textResponse: { ttt: 20, statSN: 24, expCmdSN: 28, maxCmdSN: 32 },
  /** §11.12 Login Request (ISID is 6 bytes, TSIH 2). */
  loginRequest: { versionMax: 2, versionMin: 3, isid: 8, tsih: 14, cid: 20, cmdSN: 24, expStatSN: 28 },
  /** §11.13 Login Response. */
  loginResponse: {
    versionMax: 2, versionActive: 3, isid: 8, tsih: 14, statSN: 24, expCmdSN: 28, maxCmdSN: 32, statusClass: 36, statusDetail: 37,
  },
  /** §11.14 Logout Request (CID is 2 bytes). */
  logoutRequest: { cid: 20, cmdSN: 24, expStatSN: 28 },
  /** §11.15 Logout Response (Time2Wait, Time2Retain are 2 bytes each). */
  logoutResponse: { response: 2, statSN: 24, expCmdSN: 28, maxCmdSN: 32, time2Wait: 40, time2Retain: 42 },
  /** §11.16 SNACK Request (TTT may carry the SNACK Tag). */
  snackRequest: { ttt: 20, expStatSN: 28, begRun: 40, runLength: 44 },
  /** §11.17 Reject (ITT is 0xffffffff). */
  reject: { reason: 2, statSN: 24, expCmdSN: 28, maxCmdSN: 32, dataSN: 36 },
  /** §11.18 NOP-Out. */
  nopOut: { ttt: 20, cmdSN: 24, expStatSN: 28 },
  /** §11.19 NOP-In. */
  nopIn: { ttt: 20, statSN: 24, expCmdSN: 28, maxCmdSN: 32 },
} as const;

/** Bit masks in bytes 0 and 1, from the same figures. */
export const BhsFlag = {
  /** Byte 0: bit 1 I (§11.2.1.1), bits 2..7 opcode (§11.2.1.2); bit 0 reserved. */
  IMMEDIATE: 0x40,
  OPCODE: 0x3f,
  /** Byte 1 bit 0: F (§11.2.1.3); always 1 on PDUs that are never split. */
  FINAL: 0x80,
  /** §11.3.1: R, W, ATTR (bits 5..7). */
  scsiCommand: { READ: 0x40, WRITE: 0x20, ATTR: 0x07 },
  /** §11.4.1: o, u (bidirectional read residual), O, U. */
  scsiResponse: { BIDI_OVERFLOW: 0x10, BIDI_UNDERFLOW: 0x08, OVERFLOW: 0x04, UNDERFLOW: 0x02 },
  /** §11.7: A (acknowledge), O, U, S (status). */
  dataIn: { ACK: 0x40, OVERFLOW: 0x04, UNDERFLOW: 0x02, STATUS: 0x01 },
  /** §11.10.2 / §11.11.2: C (continue). */
  text: { CONTINUE: 0x40 },
  /** §11.12.1–§11.12.3 / §11.13: T (transit), C (continue), CSG (bits 4..5), NSG (bits 6..7). */
  login: { TRANSIT: 0x80, CONTINUE: 0x40, CSG: 0x0c, NSG: 0x03 },
  /** §11.5.1: Function, bits 1..7. */
  taskMgmtFunction: 0x7f,
  /** §11.14.1: Reason Code, bits 1..7. */
  logoutReason: 0x7f,
  /** §11.16.1: Type, bits 4..7. */
  snackType: 0x0f,
} as const;

/**
 * Target BHSs are cut from slabs of this many headers (scsi/slab.ts), each 48-byte slice handed out once (a
 * PDU queued for writing keeps its own): a header costs a view, not a view, an ArrayBuffer and its bytes.
 */
const BHS_PER_SLAB = 256;
const headers = new SlabCutter(BHS_PER_SLAB * BHS_LENGTH);

/** 48 zeroed bytes for a BHS being encoded. */
function newBhs(): Uint8Array {
  return headers.cut(BHS_LENGTH);
}

/** The last 64-bit field getBigUint64 read, as its two 32-bit halves and as a bigint. */
let lastHigh = 0;
let lastLow = 0;
let lastUint64 = 0n;

/**
 * Big-endian access to one BHS by byte offset, with DataView's method names.
 * Not a DataView: a small Uint8Array may live on V8's heap, and a DataView
 * over its buffer moves it off first. Stores check their value: an encoder
 * handed a field that does not fit is a caller bug (RangeError), not a wrap.
 */
export class BhsView {
  /** Moved only by BhsView.over, on the shared view. */
  #b: Uint8Array;

  constructor(bhs: Uint8Array) {
    if (bhs.length !== BHS_LENGTH) throw new RangeError(`a BHS is ${BHS_LENGTH} bytes, not ${bhs.length}`);
    this.#b = bhs;
  }

  /** A zeroed BHS with its opcode byte and flags byte set. */
  static create(opcodeByte: number, flags: number): BhsView {
    const v = new BhsView(newBhs());
    v.setUint8(BhsField.common.opcode, opcodeByte);
    v.setUint8(BhsField.common.flags, flags);
    return v;
  }

  static readonly #shared = new BhsView(new Uint8Array(BHS_LENGTH));

  /**
   * The one shared view, moved onto `bhs`: for a decoder or encoder that is done with it before it returns
   * (every PDU passes through one; a view each would cost an object). Valid until the next over() or fresh().
   */
  static over(bhs: Uint8Array): BhsView {
    if (bhs.length !== BHS_LENGTH) throw new RangeError(`a BHS is ${BHS_LENGTH} bytes, not ${bhs.length}`);
    const v = BhsView.#shared;
    v.#b = bhs;
    return v;
  }

  /**
   * create() on the shared view (see over): a zeroed BHS, its opcode byte and flags byte set; in `into` (48
   * bytes, zeroed first) when given, else in a new one.
   */
  static fresh(opcodeByte: number, flags: number, into?: Uint8Array): BhsView {
    const v = BhsView.over(into === undefined ? newBhs() : into.fill(0));
    v.setUint8(BhsField.common.opcode, opcodeByte);
    v.setUint8(BhsField.common.flags, flags);
    return v;
  }

  get bytes(): Uint8Array {
    return this.#b;
  }

  get opcode(): number {
    return this.getUint8(BhsField.common.opcode) & BhsFlag.OPCODE;
  }

  get immediate(): boolean {
    return (this.getUint8(BhsField.common.opcode) & BhsFlag.IMMEDIATE) !== 0;
  }

  get flags(): number {
    return this.getUint8(BhsField.common.flags);
  }

  /** TotalAHSLength in bytes (the field counts 4-byte words). */
  get totalAhsBytes(): number {
    return this.getUint8(BhsField.common.totalAhsLength) * 4;
  }

  get dataSegmentLength(): number {
    return this.getUint24(BhsField.common.dataSegmentLength);
  }

  get lun(): bigint {
    return this.getBigUint64(BhsField.common.lun);
  }

  get itt(): number {
    return this.getUint32(BhsField.common.itt);
  }

  getUint8(at: number): number {
    return this.#b[this.#at(at, 1)] ?? 0;
  }

  getUint16(at: number): number {
    const i = this.#at(at, 2);
    return ((this.#b[i] ?? 0) << 8) | (this.#b[i + 1] ?? 0);
  }

  getUint24(at: number): number {
    return uint24(this.#b, this.#at(at, 3));
  }

  getUint32(at: number): number {
    const i = this.#at(at, 4);
    const b = this.#b;
    return (((b[i] ?? 0) << 24) | ((b[i + 1] ?? 0) << 16) | ((b[i + 2] ?? 0) << 8) | (b[i + 3] ?? 0)) >>> 0;
  }

  /** The 6-byte ISID (RFC 7143 §11.12.5). */
  getBigUint48(at: number): bigint {
    this.#at(at, 6);
    return (BigInt(this.getUint16(at)) << 32n) | BigInt(this.getUint32(at + 2));
  }

  /** Repeated values cost no BigInt: the last one read is kept (the LUN field, the same PDU after PDU). */
  getBigUint64(at: number): bigint {
    this.#at(at, 8);
    const high = this.getUint32(at);
    const low = this.getUint32(at + 4);
    if (high !== lastHigh || low !== lastLow) {
      lastUint64 = (BigInt(high) << 32n) | BigInt(low);
      lastHigh = high;
      lastLow = low;
    }
    return lastUint64;
  }

  setUint8(at: number, value: number): void {
    this.#b[this.#at(at, 1)] = fits(value, 8, at);
  }

  setUint16(at: number, value: number): void {
    this.#setBytes(at, fits(value, 16, at), 2);
  }

  setUint24(at: number, value: number): void {
    this.#setBytes(at, fits(value, 24, at), 3);
  }

  setUint32(at: number, value: number): void {
    this.#setBytes(at, fits(value, 32, at), 4);
  }

  setBigUint48(at: number, value: bigint): void {
    if (value < 0n || value >= 1n << 48n) throw new RangeError(`BHS byte ${at}: ${value} does not fit 48 bits`);
    this.setUint16(at, Number(value >> 32n));
    this.setUint32(at + 2, Number(value & 0xffff_ffffn));
  }

  setBigUint64(at: number, value: bigint): void {
    if (value < 0n || value >= 1n << 64n) throw new RangeError(`BHS byte ${at}: ${value} does not fit 64 bits`);
    // LUN 0, in nearly every PDU: no BigInt arithmetic (each result is a heap object).
    if (value === 0n) {
      this.#setBytes(at, 0, 4);
      this.#setBytes(at + 4, 0, 4);
      return;
    }
    this.setUint32(at, Number(value >> 32n));
    this.setUint32(at + 4, Number(value & 0xffff_ffffn));
  }

  #setBytes(at: number, value: number, size: number): void {
    const i = this.#at(at, size);
    // A Uint8Array store keeps the low 8 bits of each shifted value.
    for (let k = 0; k < size; k++) this.#b[i + k] = value >>> (8 * (size - 1 - k));
  }

  #at(at: number, size: number): number {
    if (!Number.isInteger(at) || at < 0 || at + size > BHS_LENGTH) throw new RangeError(`BHS offset ${at} + ${size} is outside 48 bytes`);
    return at;
  }
}

/** The largest value of a field `bits` wide, by `bits` (8, 16, 24, 32): no power computed per store. */
const FIELD_MAX: readonly number[] = Array.from({ length: 33 }, (_, bits) => 2 ** bits - 1);

function fits(value: number, bits: number, at: number): number {
  if (!Number.isInteger(value) || value < 0 || value > (FIELD_MAX[bits] ?? -1)) {
    throw new RangeError(`BHS byte ${at}: ${value} is not a ${bits}-bit unsigned integer`);
  }
  return value;
}

/** A `bits`-wide field's value, checked (a caller bug when it does not fit). */
export function bitField(name: string, value: number, bits: number): number {
  if (!Number.isInteger(value) || value < 0 || value >= 1 << bits) throw new RangeError(`${name} ${value} does not fit ${bits} bits`);
  return value;
}

/** Bytes `at`..`at`+2 of `b` as a big-endian 24-bit number (bounds are the caller's to check). */
function uint24(b: Uint8Array, at: number): number {
  return ((b[at] ?? 0) << 16) | ((b[at + 1] ?? 0) << 8) | (b[at + 2] ?? 0);
}

function checkHeader(bhs: Uint8Array): void {
  if (bhs.length < BHS_LENGTH) throw new RangeError(`a BHS is ${BHS_LENGTH} bytes, not ${bhs.length}`);
}

function header(bhs: Uint8Array): BhsView {
  checkHeader(bhs);
  return new BhsView(bhs.length === BHS_LENGTH ? bhs : bhs.subarray(0, BHS_LENGTH));
}

/** The opcode (byte 0 bits 2..7, RFC 7143 §11.2.1.2); reads the first 48 bytes of `bhs`. Read per PDU: no view made. */
export function readOpcode(bhs: Uint8Array): number {
  checkHeader(bhs);
  return (bhs[BhsField.common.opcode] ?? 0) & BhsFlag.OPCODE;
}

/** The I bit (byte 0 bit 1, RFC 7143 §11.2.1.1). */
export function readImmediate(bhs: Uint8Array): boolean {
  return header(bhs).immediate;
}

/** The Initiator Task Tag (bytes 16..19, RFC 7143 §11.2.1.8). */
export function readItt(bhs: Uint8Array): number {
  return header(bhs).itt;
}

/** TotalAHSLength (byte 4, RFC 7143 §11.2.1.5) as on the wire: in 4-byte words. */
export function readTotalAhsLength(bhs: Uint8Array): number {
  return header(bhs).getUint8(BhsField.common.totalAhsLength);
}

/** DataSegmentLength (bytes 5..7, RFC 7143 §11.2.1.6) in bytes, padding excluded. Read per PDU: no view made. */
export function readDataSegmentLength(bhs: Uint8Array): number {
  checkHeader(bhs);
  return uint24(bhs, BhsField.common.dataSegmentLength);
}

/** `n` rounded up to a whole number of 4-byte words (RFC 7143 §11.1: PDUs are padded to 4 bytes). */
export function padded(n: number): number {
  return (n + 3) & ~3;
}
