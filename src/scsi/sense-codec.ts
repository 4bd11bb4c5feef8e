// Sense data on the wire: fixed format (response codes 70h/71h) and descriptor
// format (72h/73h), both directions. Spec: SPC-5 §4.4 (sense data: fixed format
// sense data; descriptor format sense data with the Information, Command-specific
// information, Sense key specific and Field replaceable unit descriptors).
// Semantics cross-checked against FreeBSD sys/cam/scsi/scsi_all.h (struct
// scsi_sense_data_fixed / _desc, SSD_FIXED_IS_FILLED), read, not ported.

import { SenseKey, isSenseKey, type FieldPointer, type SegmentPointer, type SenseData } from './sense.js';
import { BIT_POINTER, BPV, C_D, CSI_DESC, DESC, FIXED, FRU_DESC, HEADER_SIZE, INFO_DESC, RESPONSE_CODE_MASK, SD, SENSE_KEY_MASK, SKSV, SKS_DESC, VALID } from './sense-layout.js';

/** RESPONSE CODE (byte 0, bits 6..0): format and current vs deferred. */
export const SenseResponseCode = {
  CURRENT_FIXED: 0x70,
  DEFERRED_FIXED: 0x71,
  CURRENT_DESCRIPTOR: 0x72,
  DEFERRED_DESCRIPTOR: 0x73,
} as const;
export type SenseResponseCode = (typeof SenseResponseCode)[keyof typeof SenseResponseCode];

/** DESCRIPTOR TYPE of the sense data descriptors vtcam reads and writes. */
export const SenseDescriptorType = {
  INFORMATION: 0x00,
  COMMAND_SPECIFIC_INFORMATION: 0x01,
  SENSE_KEY_SPECIFIC: 0x02,
  FIELD_REPLACEABLE_UNIT: 0x03,
} as const;
export type SenseDescriptorType = (typeof SenseDescriptorType)[keyof typeof SenseDescriptorType];

/** Which of the two SPC sense data formats. */
export type SenseFormat = 'fixed' | 'descriptor';

/** A decoded sense buffer: the value plus what the wire said about it. */
export interface DecodedSense {
  readonly format: SenseFormat;
  readonly responseCode: SenseResponseCode;
  readonly sense: SenseData;
  /**
   * False when the sense data ended before the ASC/ASCQ pair (short buffer or
   * a small ADDITIONAL SENSE LENGTH); `sense.asc`/`sense.ascq` then read 00h/00h.
   */
  readonly hasAsc: boolean;
  /**
   * The ADDITIONAL SENSE CODE when the sense data ends right after it, before
   * the ASCQ (`hasAsc` is false): the pair cannot be named, the ASC is still
   * what the device said.
   */
  readonly ascWithoutAscq?: number;
  /** True when the buffer is shorter than the 8-byte header plus ADDITIONAL SENSE LENGTH. */
  readonly truncated: boolean;
}

/** Where each format keeps SENSE KEY, ASC and ASCQ (SPC-5 §4.4.2 descriptor, §4.4.3 fixed), to say which one short sense data lacks. */
export const SENSE_FIELD_BYTES: Readonly<Record<SenseFormat, { readonly senseKey: number; readonly asc: number; readonly ascq: number }>> = {
  fixed: { senseKey: FIXED.SENSE_KEY, asc: FIXED.ADDITIONAL_SENSE_CODE, ascq: FIXED.ADDITIONAL_SENSE_CODE_QUALIFIER },
  descriptor: { senseKey: DESC.SENSE_KEY, asc: DESC.ADDITIONAL_SENSE_CODE, ascq: DESC.ADDITIONAL_SENSE_CODE_QUALIFIER },
};

/** Why `decodeSenseFull` gives undefined for some bytes. */
export type SenseRejection =
  | { readonly reason: 'empty' }
  /** RESPONSE CODE (byte 0 bits 6..0) is not 70h..73h. */
  | { readonly reason: 'response-code'; readonly responseCode: number }
  /** The bytes end before the format's SENSE KEY byte (SENSE_FIELD_BYTES). */
  | { readonly reason: 'short'; readonly format: SenseFormat; readonly responseCode: SenseResponseCode; readonly length: number }
  /** SENSE KEY 0Ch, obsolete. */
  | { readonly reason: 'sense-key'; readonly format: SenseFormat; readonly responseCode: SenseResponseCode; readonly key: number };

const U32_MAX = 0xffff_ffffn;
const U64_MAX = 0xffff_ffff_ffff_ffffn;

/** The three SENSE KEY SPECIFIC bytes, as byte 0 flags plus the 16-bit value in bytes 1..2. */
interface SenseKeySpecific {
  readonly flags: number;
  readonly value: number;
}

/**
 * Encodes sense data in the fixed (18 bytes) or descriptor format (8-byte
 * header plus descriptors in type order 00h, 01h, 02h, 03h).
 *
 * Fixed format holds 32-bit INFORMATION and COMMAND-SPECIFIC INFORMATION fields:
 * a larger INFORMATION value is dropped with VALID = 0 (as SBC-4 asks for an LBA
 * past 32 bits), a larger command-specific value is dropped (zero); use the
 * descriptor format to keep them. FILEMARK, EOM, ILI and SDAT_OVFL are 0.
 *
 * @throws RangeError on a value that does not fit its field, or sense-key-specific
 *   data the key does not allow (a field pointer needs ILLEGAL REQUEST; progress
 *   needs NO SENSE or NOT READY; a segment pointer needs COPY ABORTED).
 */
export function encodeSense(s: SenseData, format: SenseFormat): Uint8Array {
  const sks = checkSense(s);
  switch (format) {
    case 'fixed':
      return encodeFixed(s, sks);
    case 'descriptor':
      return encodeDescriptor(s, sks);
  }
}

function encodeFixed(s: SenseData, sks: SenseKeySpecific | undefined): Uint8Array {
  const out = new Uint8Array(FIXED.SIZE);
  const v = new DataView(out.buffer);
  const info = s.information !== undefined && s.information <= U32_MAX ? s.information : undefined;
  const code = s.deferred === true ? SenseResponseCode.DEFERRED_FIXED : SenseResponseCode.CURRENT_FIXED;
  v.setUint8(FIXED.RESPONSE_CODE, (info === undefined ? 0 : VALID) | code);
  v.setUint8(FIXED.SENSE_KEY, s.key);
  if (info !== undefined) v.setUint32(FIXED.INFORMATION, Number(info));
  v.setUint8(FIXED.ADDITIONAL_SENSE_LENGTH, FIXED.SIZE - HEADER_SIZE);
  if (s.commandSpecific !== undefined && s.commandSpecific <= U32_MAX) {
    v.setUint32(FIXED.COMMAND_SPECIFIC_INFORMATION, Number(s.commandSpecific));
  }
  v.setUint8(FIXED.ADDITIONAL_SENSE_CODE, s.asc);
  v.setUint8(FIXED.ADDITIONAL_SENSE_CODE_QUALIFIER, s.ascq);
  v.setUint8(FIXED.FIELD_REPLACEABLE_UNIT_CODE, s.fru ?? 0);
  if (sks !== undefined) {
    v.setUint8(FIXED.SENSE_KEY_SPECIFIC, sks.flags);
    v.setUint16(FIXED.SENSE_KEY_SPECIFIC + 1, sks.value);
  }
  return out;
}

function encodeDescriptor(s: SenseData, sks: SenseKeySpecific | undefined): Uint8Array {
  // A command-specific 0 still gets its descriptor: EXTENDED COPY reports the number of the segment it
  // failed in there (handlers-copy.ts inSegment), and segment 0 is a number. Fixed format cannot tell 0
  // from none; this one can.
  const cs = s.commandSpecific;
  const fru = s.fru === 0 ? undefined : s.fru;
  const size =
    HEADER_SIZE +
    (s.information === undefined ? 0 : 2 + INFO_DESC.ADDITIONAL_LENGTH) +
    (cs === undefined ? 0 : 2 + CSI_DESC.ADDITIONAL_LENGTH) +
    (sks === undefined ? 0 : 2 + SKS_DESC.ADDITIONAL_LENGTH) +
    (fru === undefined ? 0 : 2 + FRU_DESC.ADDITIONAL_LENGTH);
  const out = new Uint8Array(size);
  const v = new DataView(out.buffer);
  v.setUint8(DESC.RESPONSE_CODE, s.deferred === true ? SenseResponseCode.DEFERRED_DESCRIPTOR : SenseResponseCode.CURRENT_DESCRIPTOR);
  v.setUint8(DESC.SENSE_KEY, s.key);
  v.setUint8(DESC.ADDITIONAL_SENSE_CODE, s.asc);
  v.setUint8(DESC.ADDITIONAL_SENSE_CODE_QUALIFIER, s.ascq);
  v.setUint8(DESC.ADDITIONAL_SENSE_LENGTH, size - HEADER_SIZE);
  let at: number = DESC.DESCRIPTORS;
  const header = (type: SenseDescriptorType, additionalLength: number): number => {
    v.setUint8(at, type);
    v.setUint8(at + 1, additionalLength);
    const start = at;
    at += 2 + additionalLength;
    return start;
  };
  if (s.information !== undefined) {
    const d = header(SenseDescriptorType.INFORMATION, INFO_DESC.ADDITIONAL_LENGTH);
    v.setUint8(d + INFO_DESC.VALID_BYTE, VALID);
    v.setBigUint64(d + INFO_DESC.INFORMATION, s.information);
  }
  if (cs !== undefined) {
    const d = header(SenseDescriptorType.COMMAND_SPECIFIC_INFORMATION, CSI_DESC.ADDITIONAL_LENGTH);
    v.setBigUint64(d + CSI_DESC.COMMAND_SPECIFIC_INFORMATION, cs);
  }
  if (sks !== undefined) {
    const d = header(SenseDescriptorType.SENSE_KEY_SPECIFIC, SKS_DESC.ADDITIONAL_LENGTH);
    v.setUint8(d + SKS_DESC.SENSE_KEY_SPECIFIC, sks.flags);
    v.setUint16(d + SKS_DESC.SENSE_KEY_SPECIFIC + 1, sks.value);
  }
  if (fru !== undefined) {
    const d = header(SenseDescriptorType.FIELD_REPLACEABLE_UNIT, FRU_DESC.ADDITIONAL_LENGTH);
    v.setUint8(d + FRU_DESC.FIELD_REPLACEABLE_UNIT_CODE, fru);
  }
  return out;
}

/** Validates `s` and returns its SENSE KEY SPECIFIC bytes, if any. */
function checkSense(s: SenseData): SenseKeySpecific | undefined {
  if (!isSenseKey(s.key)) throw new RangeError(`sense key ${String(s.key)} is not an SPC-5 sense key`);
  checkInt('ASC', s.asc, 0xff);
  checkInt('ASCQ', s.ascq, 0xff);
  if (s.information !== undefined) checkU64('INFORMATION', s.information);
  if (s.commandSpecific !== undefined) checkU64('COMMAND-SPECIFIC INFORMATION', s.commandSpecific);
  if (s.fru !== undefined) checkInt('FIELD REPLACEABLE UNIT CODE', s.fru, 0xff);
  if (s.field !== undefined && s.progress !== undefined) {
    throw new RangeError('sense carries both a field pointer and a progress indication; SENSE KEY SPECIFIC holds one');
  }
  if (s.segment !== undefined) {
    if (s.key !== SenseKey.COPY_ABORTED) throw new RangeError(`segment pointer with sense key ${s.key}: only COPY ABORTED (Ah) carries one`);
    if (s.field !== undefined || s.progress !== undefined) throw new RangeError('sense carries a segment pointer and another sense-key-specific value; SENSE KEY SPECIFIC holds one');
    return pointerBytes(s.segment.segmentDescriptor ? SD : 0, s.segment);
  }
  if (s.field !== undefined) {
    if (s.key !== SenseKey.ILLEGAL_REQUEST) throw new RangeError(`field pointer with sense key ${s.key}: only ILLEGAL REQUEST (5h) carries one`);
    return pointerBytes(s.field.cdb ? C_D : 0, s.field);
  }
  if (s.progress !== undefined) {
    if (s.key !== SenseKey.NO_SENSE && s.key !== SenseKey.NOT_READY) {
      throw new RangeError(`progress indication with sense key ${s.key}: only NO SENSE (0h) and NOT READY (2h) carry one`);
    }
    checkInt('PROGRESS INDICATION', s.progress, 0xffff);
    return { flags: SKSV, value: s.progress };
  }
  return undefined;
}

/** A field or segment pointer: SKSV, the C/D or SD bit given, BPV and BIT POINTER, FIELD POINTER. */
function pointerBytes(where: number, f: FieldPointer | SegmentPointer): SenseKeySpecific {
  checkInt('FIELD POINTER', f.byte, 0xffff);
  let flags = SKSV | where;
  if (f.bit !== undefined) {
    checkInt('BIT POINTER', f.bit, 7);
    flags |= BPV | f.bit;
  }
  return { flags, value: f.byte };
}

function checkInt(field: string, n: number, max: number): void {
  if (!Number.isInteger(n) || n < 0 || n > max) throw new RangeError(`${field} ${n} is not an integer in 0..${max}`);
}

function checkU64(field: string, n: bigint): void {
  if (n < 0n || n > U64_MAX) throw new RangeError(`${field} ${n.toString()} does not fit 64 bits`);
}

/** Decodes fixed or descriptor sense data; see `decodeSenseFull`. */
export function decodeSense(bytes: Uint8Array): SenseData | undefined {
  return decodeSenseFull(bytes)?.sense;
}

/**
 * Decodes fixed (70h/71h) or descriptor (72h/73h) sense data. Never throws.
 *
 * Tolerant of short sense: anything that reaches the SENSE KEY (3 bytes fixed,
 * 2 bytes descriptor) decodes, and each later field is reported only if it lies
 * within both the buffer and the ADDITIONAL SENSE LENGTH. A missing ASC/ASCQ
 * reads as 00h/00h with `hasAsc` false (and an ASC without its ASCQ in
 * `ascWithoutAscq`).
 *
 * Returns undefined for an empty buffer, a response code other than 70h..73h
 * (including 7Fh, vendor specific), bytes that end before the SENSE KEY, or the
 * obsolete sense key 0Ch; `decodeSenseResult` says which.
 * Sense-key-specific data is decoded as a field pointer (ILLEGAL REQUEST), a
 * progress indication (NO SENSE, NOT READY) or a segment pointer (COPY
 * ABORTED); the other SKS formats (actual retry count, unit attention queue
 * overflow) are skipped, as
 * are descriptor types other than 00h..03h. A zero COMMAND-SPECIFIC INFORMATION
 * or FRU code reads as absent; so does INFORMATION with VALID = 0.
 */
export function decodeSenseFull(bytes: Uint8Array): DecodedSense | undefined {
  const r = decodeSenseResult(bytes);
  return r.ok ? r.value : undefined;
}

/** `decodeSenseFull`, saying why when the bytes do not decode. Never throws. */
export function decodeSenseResult(bytes: Uint8Array): { readonly ok: true; readonly value: DecodedSense } | { readonly ok: false; readonly rejection: SenseRejection } {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const h = readHeader(v);
  if (!h.ok) return h;
  return { ok: true, value: h.format === 'fixed' ? decodeFixed(v, h.responseCode, h.key) : decodeDescriptor(v, h.responseCode, h.key) };
}

type SenseHeader =
  | { readonly ok: true; readonly format: SenseFormat; readonly responseCode: SenseResponseCode; readonly key: SenseKey }
  | { readonly ok: false; readonly rejection: SenseRejection };

const FORMAT_OF: Readonly<Record<SenseResponseCode, SenseFormat>> = {
  [SenseResponseCode.CURRENT_FIXED]: 'fixed',
  [SenseResponseCode.DEFERRED_FIXED]: 'fixed',
  [SenseResponseCode.CURRENT_DESCRIPTOR]: 'descriptor',
  [SenseResponseCode.DEFERRED_DESCRIPTOR]: 'descriptor',
};
const isResponseCode = (n: number): n is SenseResponseCode => Object.hasOwn(FORMAT_OF, n);

/** What both formats need before anything else means something: a response code of theirs and a sense key. */
function readHeader(v: DataView): SenseHeader {
  if (v.byteLength === 0) return { ok: false, rejection: { reason: 'empty' } };
  const responseCode = v.getUint8(FIXED.RESPONSE_CODE) & RESPONSE_CODE_MASK;
  if (!isResponseCode(responseCode)) return { ok: false, rejection: { reason: 'response-code', responseCode } };
  const format = FORMAT_OF[responseCode];
  const at = SENSE_FIELD_BYTES[format].senseKey;
  if (v.byteLength <= at) return { ok: false, rejection: { reason: 'short', format, responseCode, length: v.byteLength } };
  const key = v.getUint8(at) & SENSE_KEY_MASK;
  if (!isSenseKey(key)) return { ok: false, rejection: { reason: 'sense-key', format, responseCode, key } };
  return { ok: true, format, responseCode, key };
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** Bytes the sense data really holds: the buffer, cut at 8 + ADDITIONAL SENSE LENGTH once byte 7 is there. */
function senseEnd(v: DataView): { end: number; truncated: boolean } {
  if (v.byteLength < HEADER_SIZE) return { end: v.byteLength, truncated: true };
  const announced = HEADER_SIZE + v.getUint8(FIXED.ADDITIONAL_SENSE_LENGTH);
  return { end: Math.min(v.byteLength, announced), truncated: v.byteLength < announced };
}

function decodeFixed(v: DataView, code: SenseResponseCode, key: SenseKey): DecodedSense {
  const { end, truncated } = senseEnd(v);
  const has = (offset: number, size: number): boolean => offset + size <= end;
  const hasAsc = has(FIXED.ADDITIONAL_SENSE_CODE_QUALIFIER, 1);
  const ascWithoutAscq = !hasAsc && has(FIXED.ADDITIONAL_SENSE_CODE, 1) ? v.getUint8(FIXED.ADDITIONAL_SENSE_CODE) : undefined;
  const s: Mutable<SenseData> = {
    key,
    asc: hasAsc ? v.getUint8(FIXED.ADDITIONAL_SENSE_CODE) : 0,
    ascq: hasAsc ? v.getUint8(FIXED.ADDITIONAL_SENSE_CODE_QUALIFIER) : 0,
  };
  if ((v.getUint8(FIXED.RESPONSE_CODE) & VALID) !== 0 && has(FIXED.INFORMATION, 4)) {
    s.information = BigInt(v.getUint32(FIXED.INFORMATION));
  }
  if (has(FIXED.COMMAND_SPECIFIC_INFORMATION, 4)) {
    const cs = v.getUint32(FIXED.COMMAND_SPECIFIC_INFORMATION);
    if (cs !== 0) s.commandSpecific = BigInt(cs);
  }
  if (has(FIXED.FIELD_REPLACEABLE_UNIT_CODE, 1)) {
    const fru = v.getUint8(FIXED.FIELD_REPLACEABLE_UNIT_CODE);
    if (fru !== 0) s.fru = fru;
  }
  if (has(FIXED.SENSE_KEY_SPECIFIC, 3)) readSenseKeySpecific(v, FIXED.SENSE_KEY_SPECIFIC, s);
  if (code === SenseResponseCode.DEFERRED_FIXED) s.deferred = true;
  return { format: 'fixed', responseCode: code, sense: s, hasAsc, ...(ascWithoutAscq === undefined ? {} : { ascWithoutAscq }), truncated };
}

function decodeDescriptor(v: DataView, code: SenseResponseCode, key: SenseKey): DecodedSense {
  const hasAsc = v.byteLength > DESC.ADDITIONAL_SENSE_CODE_QUALIFIER;
  const ascWithoutAscq = v.byteLength === DESC.ADDITIONAL_SENSE_CODE_QUALIFIER ? v.getUint8(DESC.ADDITIONAL_SENSE_CODE) : undefined;
  const s: Mutable<SenseData> = {
    key,
    asc: hasAsc ? v.getUint8(DESC.ADDITIONAL_SENSE_CODE) : 0,
    ascq: hasAsc ? v.getUint8(DESC.ADDITIONAL_SENSE_CODE_QUALIFIER) : 0,
  };
  const { end, truncated } = senseEnd(v);
  const seen = new Set<number>();
  // Each descriptor: DESCRIPTOR TYPE, ADDITIONAL LENGTH, then that many bytes.
  // SPC allows at most one of each type used here; the first one wins.
  for (let at: number = DESC.DESCRIPTORS; at + 2 <= end; ) {
    const type = v.getUint8(at);
    const length = v.getUint8(at + 1);
    const next = at + 2 + length;
    if (next > end) break; // cut short: ignore the partial descriptor
    if (!seen.has(type)) {
      seen.add(type);
      readDescriptor(v, at, type, length, s);
    }
    at = next;
  }
  if (code === SenseResponseCode.DEFERRED_DESCRIPTOR) s.deferred = true;
  return { format: 'descriptor', responseCode: code, sense: s, hasAsc, ...(ascWithoutAscq === undefined ? {} : { ascWithoutAscq }), truncated };
}

/** Reads one complete descriptor at `at` into `s`; a descriptor with the wrong ADDITIONAL LENGTH is skipped. */
function readDescriptor(v: DataView, at: number, type: number, length: number, s: Mutable<SenseData>): void {
  switch (type) {
    case SenseDescriptorType.INFORMATION:
      if (length === INFO_DESC.ADDITIONAL_LENGTH && (v.getUint8(at + INFO_DESC.VALID_BYTE) & VALID) !== 0) {
        s.information = v.getBigUint64(at + INFO_DESC.INFORMATION);
      }
      return;
    case SenseDescriptorType.COMMAND_SPECIFIC_INFORMATION:
      if (length === CSI_DESC.ADDITIONAL_LENGTH) {
        s.commandSpecific = v.getBigUint64(at + CSI_DESC.COMMAND_SPECIFIC_INFORMATION);
      }
      return;
    case SenseDescriptorType.SENSE_KEY_SPECIFIC:
      if (length === SKS_DESC.ADDITIONAL_LENGTH) readSenseKeySpecific(v, at + SKS_DESC.SENSE_KEY_SPECIFIC, s);
      return;
    case SenseDescriptorType.FIELD_REPLACEABLE_UNIT:
      if (length === FRU_DESC.ADDITIONAL_LENGTH) {
        const fru = v.getUint8(at + FRU_DESC.FIELD_REPLACEABLE_UNIT_CODE);
        if (fru !== 0) s.fru = fru;
      }
      return;
    default:
      return; // other types (stream, block, ATA return, vendor 80h..FFh …) are not modelled
  }
}

/** Interprets the 3 SENSE KEY SPECIFIC bytes at `at` by sense key (only when SKSV = 1). */
function readSenseKeySpecific(v: DataView, at: number, s: Mutable<SenseData>): void {
  const flags = v.getUint8(at);
  if ((flags & SKSV) === 0) return;
  const value = v.getUint16(at + 1);
  if (s.key === SenseKey.ILLEGAL_REQUEST) {
    const cdb = (flags & C_D) !== 0;
    s.field = (flags & BPV) !== 0 ? { cdb, byte: value, bit: flags & BIT_POINTER } : { cdb, byte: value };
  } else if (s.key === SenseKey.NO_SENSE || s.key === SenseKey.NOT_READY) {
    s.progress = value;
  } else if (s.key === SenseKey.COPY_ABORTED) {
    const segmentDescriptor = (flags & SD) !== 0;
    s.segment = (flags & BPV) !== 0 ? { segmentDescriptor, byte: value, bit: flags & BIT_POINTER } : { segmentDescriptor, byte: value };
  }
  // Other keys' formats (actual retry count, UA queue overflow) are not modelled.
}
