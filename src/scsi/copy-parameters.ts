// EXTENDED COPY (LID1) parameter list and the RECEIVE COPY RESULTS (LID1)
// parameter data. Spec: SPC-5 (EXTENDED COPY (LID1) parameter list; CSCD
// descriptors: the identification descriptor CSCD descriptor E4h; segment
// descriptors: block device to block device 02h; RECEIVE COPY STATUS (LID1)
// and RECEIVE COPY OPERATING PARAMETERS parameter data).
//
// Parameter list: LIST IDENTIFIER (0), byte 1 STR (5) LIST ID USAGE (4..3)
// PRIORITY (2..0), CSCD DESCRIPTOR LIST LENGTH (2..3), reserved (4..7),
// SEGMENT DESCRIPTOR LIST LENGTH (8..11), INLINE DATA LENGTH (12..15), then
// the CSCD descriptors, the segment descriptors and inline data.

import { Asc, invalidFieldInParameterList, senseIllegalRequest, type Decoded, type SenseData } from './sense.js';

export const XCOPY_HEADER_LENGTH = 16;
/** Identification descriptor CSCD descriptor: a designation descriptor names the logical unit. */
export const CSCD_IDENTIFICATION = 0xe4;
/** Block device to block device segment descriptor. */
export const SEGMENT_BLOCK_TO_BLOCK = 0x02;
const CSCD_LENGTH = 32;
const B2B_DESCRIPTOR_LENGTH = 0x18; // DESCRIPTOR LENGTH (n - 3) of a 02h segment descriptor

/** LIST ID USAGE (byte 1 bits 4..3); 01b is reserved. */
export const ListIdUsage = { HOLD: 0b00, NO_HOLD: 0b10, NO_LIST_ID: 0b11 } as const;
export type ListIdUsage = (typeof ListIdUsage)[keyof typeof ListIdUsage];

/** What the copy manager accepts (RECEIVE COPY OPERATING PARAMETERS reports the same numbers). */
export interface CopyLimits {
  readonly maxCscdDescriptors: number;
  readonly maxSegmentDescriptors: number;
  /** MAXIMUM DESCRIPTOR LIST LENGTH: CSCD plus segment descriptor bytes. */
  readonly maxDescriptorListLength: number;
  /** MAXIMUM SEGMENT LENGTH in bytes. */
  readonly maxSegmentBytes: number;
}

/** An identification descriptor CSCD descriptor (E4h). */
export interface IdentificationCscd {
  /** PERIPHERAL DEVICE TYPE (byte 1 bits 4..0). */
  readonly peripheralType: number;
  /** The designation descriptor: its 4-byte header and designator, as in the Device Identification VPD page. */
  readonly designation: Uint8Array;
  /** DISK BLOCK LENGTH (bytes 29..31), for a direct-access CSCD. */
  readonly blockLength: number;
}

/** Where the fields of a block device to block device segment descriptor (02h) begin, from its byte 0. */
export const BlockToBlockField = {
  SOURCE_CSCD_DESCRIPTOR_ID: 4,
  DESTINATION_CSCD_DESCRIPTOR_ID: 6,
  BLOCK_DEVICE_NUMBER_OF_BLOCKS: 10,
  SOURCE_LOGICAL_BLOCK_ADDRESS: 12,
  DESTINATION_LOGICAL_BLOCK_ADDRESS: 20,
} as const;

/** A block device to block device segment descriptor (02h). */
export interface BlockToBlockSegment {
  readonly source: number;
  readonly destination: number;
  /** BLOCK DEVICE NUMBER OF BLOCKS. */
  readonly blocks: number;
  readonly sourceLba: bigint;
  readonly destinationLba: bigint;
}

export interface ExtendedCopyList {
  readonly listId: number;
  readonly listIdUsage: ListIdUsage;
  readonly cscds: readonly IdentificationCscd[];
  readonly segments: readonly BlockToBlockSegment[];
}

const PARAMETER_LIST_LENGTH_ERROR: SenseData = senseIllegalRequest(Asc.PARAMETER_LIST_LENGTH_ERROR);
const fault = (s: SenseData): { ok: false; fault: SenseData } => ({ ok: false, fault: s });

/** CSCD descriptor length by type code: E0h..E9h are 32 bytes, EAh/EBh (IPv6, IP copy service) 64. */
function cscdLength(type: number): number | undefined {
  if (type >= 0xe0 && type <= 0xe9) return CSCD_LENGTH;
  if (type === 0xea || type === 0xeb) return 2 * CSCD_LENGTH;
  return undefined;
}

/** Walks descriptors from `start` to `end`; `length` gives each one's size or a fault. Offsets, or a fault. */
function walk(start: number, end: number, length: (at: number) => number | SenseData): number[] | SenseData {
  const at: number[] = [];
  for (let o = start; o < end; ) {
    const n = length(o);
    if (typeof n !== 'number') return n;
    if (o + n > end) return invalidFieldInParameterList(o);
    at.push(o);
    o += n;
  }
  return at;
}

/**
 * Decodes an EXTENDED COPY (LID1) parameter list, checking it in the order
 * SPC-5 makes observable: lengths (PARAMETER LIST LENGTH ERROR for a list cut
 * short or longer than MAXIMUM DESCRIPTOR LIST LENGTH), header fields, the
 * number of CSCD and segment descriptors (TOO MANY TARGET / SEGMENT
 * DESCRIPTORS), then each descriptor (UNSUPPORTED TARGET / SEGMENT DESCRIPTOR
 * TYPE CODE for anything but E4h and 02h, INVALID FIELD IN PARAMETER LIST at
 * a bad field). Which logical unit a CSCD names, and the ranges, are the
 * copy manager's to judge.
 */
export function decodeExtendedCopyList(list: Uint8Array, limits: CopyLimits): Decoded<ExtendedCopyList> {
  if (list.length < XCOPY_HEADER_LENGTH) return fault(PARAMETER_LIST_LENGTH_ERROR);
  const v = new DataView(list.buffer, list.byteOffset, list.byteLength);
  const cscdBytes = v.getUint16(2);
  const segmentBytes = v.getUint32(8);
  const inlineBytes = v.getUint32(12);
  if (XCOPY_HEADER_LENGTH + cscdBytes + segmentBytes + inlineBytes > list.length) return fault(PARAMETER_LIST_LENGTH_ERROR);
  if (cscdBytes + segmentBytes > limits.maxDescriptorListLength) return fault(PARAMETER_LIST_LENGTH_ERROR);
  const b1 = v.getUint8(1);
  if ((b1 & 0xc0) !== 0) return fault(invalidFieldInParameterList(1, 31 - Math.clz32(b1 & 0xc0)));
  const usage = (b1 >> 3) & 0b11;
  if (usage === 0b01) return fault(invalidFieldInParameterList(1, 4));
  const listId = v.getUint8(0);
  if (usage === ListIdUsage.NO_LIST_ID && listId !== 0) return fault(invalidFieldInParameterList(0));
  for (let i = 4; i < 8; i++) if (v.getUint8(i) !== 0) return fault(invalidFieldInParameterList(i));
  // MAXIMUM INLINE DATA LENGTH is 0: no segment descriptor type that uses inline data is implemented.
  if (inlineBytes !== 0) return fault(invalidFieldInParameterList(12));

  const cscdEnd = XCOPY_HEADER_LENGTH + cscdBytes;
  const cscdAt = walk(XCOPY_HEADER_LENGTH, cscdEnd, (o) => cscdLength(v.getUint8(o)) ?? senseIllegalRequest(Asc.UNSUPPORTED_TARGET_DESCRIPTOR_TYPE_CODE));
  if (!Array.isArray(cscdAt)) return fault(cscdAt);
  const segmentEnd = cscdEnd + segmentBytes;
  const segmentAt = walk(cscdEnd, segmentEnd, (o) => (o + 4 > segmentEnd ? invalidFieldInParameterList(o) : 4 + v.getUint16(o + 2)));
  if (!Array.isArray(segmentAt)) return fault(segmentAt);
  if (cscdAt.length > limits.maxCscdDescriptors) return fault(senseIllegalRequest(Asc.TOO_MANY_TARGET_DESCRIPTORS));
  if (segmentAt.length > limits.maxSegmentDescriptors) return fault(senseIllegalRequest(Asc.TOO_MANY_SEGMENT_DESCRIPTORS));

  const cscds: IdentificationCscd[] = [];
  for (const o of cscdAt) {
    if (v.getUint8(o) !== CSCD_IDENTIFICATION) return fault(senseIllegalRequest(Asc.UNSUPPORTED_TARGET_DESCRIPTOR_TYPE_CODE));
    // Byte 1: LU ID TYPE (7..6) and NUL (5) are ignored (SPC-4 made them reserved / obsolete for E4h).
    const designatorLength = v.getUint8(o + 7);
    if (designatorLength > 16) return fault(invalidFieldInParameterList(o + 7));
    cscds.push({
      peripheralType: v.getUint8(o + 1) & 0x1f,
      designation: list.slice(o + 4, o + 8 + designatorLength),
      blockLength: (v.getUint8(o + 29) << 16) | v.getUint16(o + 30),
    });
  }
  const segments: BlockToBlockSegment[] = [];
  for (const o of segmentAt) {
    if (v.getUint8(o) !== SEGMENT_BLOCK_TO_BLOCK) return fault(senseIllegalRequest(Asc.UNSUPPORTED_SEGMENT_DESCRIPTOR_TYPE_CODE));
    if (v.getUint16(o + 2) !== B2B_DESCRIPTOR_LENGTH) return fault(invalidFieldInParameterList(o + 2));
    // Byte 1: DC (1) and CAT (0) change nothing when source and destination share one block length.
    if ((v.getUint8(o + 1) & 0xfc) !== 0) return fault(invalidFieldInParameterList(o + 1, 31 - Math.clz32(v.getUint8(o + 1) & 0xfc)));
    const f = BlockToBlockField;
    segments.push({
      source: v.getUint16(o + f.SOURCE_CSCD_DESCRIPTOR_ID),
      destination: v.getUint16(o + f.DESTINATION_CSCD_DESCRIPTOR_ID),
      blocks: v.getUint16(o + f.BLOCK_DEVICE_NUMBER_OF_BLOCKS),
      sourceLba: v.getBigUint64(o + f.SOURCE_LOGICAL_BLOCK_ADDRESS),
      destinationLba: v.getBigUint64(o + f.DESTINATION_LOGICAL_BLOCK_ADDRESS),
    });
  }
  return { ok: true, value: { listId, listIdUsage: usage as ListIdUsage, cscds, segments } };
}

/** COPY MANAGER STATUS (RECEIVE COPY STATUS (LID1) byte 4 bits 6..0). */
export const CopyManagerStatus = { IN_PROGRESS: 0x00, COMPLETED: 0x01, COMPLETED_WITH_ERRORS: 0x02 } as const;
export type CopyManagerStatus = (typeof CopyManagerStatus)[keyof typeof CopyManagerStatus];

/** What RECEIVE COPY STATUS (LID1) reports for one list identifier. */
export interface CopyStatus {
  readonly status: CopyManagerStatus;
  readonly segmentsProcessed: number;
  /** Bytes written to the destination so far. */
  readonly bytes: bigint;
}

/**
 * RECEIVE COPY STATUS (LID1) parameter data, 12 bytes: AVAILABLE DATA (8),
 * HDD 0 | COPY MANAGER STATUS, SEGMENTS PROCESSED, TRANSFER COUNT UNITS and
 * TRANSFER COUNT in the smallest unit (bytes, KiB, MiB …) where it fits 32 bits.
 */
export function buildCopyStatus(s: CopyStatus): Uint8Array {
  const out = new Uint8Array(12);
  const v = new DataView(out.buffer);
  v.setUint32(0, out.length - 4); // AVAILABLE DATA
  v.setUint8(4, s.status); // HDD 0: no held data
  v.setUint16(5, Math.min(s.segmentsProcessed, 0xffff)); // SEGMENTS PROCESSED
  let units = 0;
  let count = s.bytes;
  while (count > 0xffff_ffffn) {
    count >>= 10n;
    units++;
  }
  v.setUint8(7, units); // TRANSFER COUNT UNITS: 00h bytes, 01h KiB, 02h MiB, …
  v.setUint32(8, Number(count)); // TRANSFER COUNT
  return out;
}

/** Descriptor type codes the copy manager implements, in the order RECEIVE COPY OPERATING PARAMETERS lists them. */
export const IMPLEMENTED_DESCRIPTOR_TYPES: readonly number[] = [SEGMENT_BLOCK_TO_BLOCK, CSCD_IDENTIFICATION];

/**
 * RECEIVE COPY OPERATING PARAMETERS data: SNLID 1 (LIST ID USAGE 11b is
 * accepted), the limits, no inline or held data (MAXIMUM INLINE DATA LENGTH,
 * HELD DATA LIMIT 0), no stream devices, one copy processed at a time (TOTAL /
 * MAXIMUM CONCURRENT COPIES 1), granularities 0, and the implemented
 * descriptor type codes.
 */
export function buildCopyOperatingParameters(l: CopyLimits): Uint8Array {
  const out = new Uint8Array(44 + IMPLEMENTED_DESCRIPTOR_TYPES.length);
  const v = new DataView(out.buffer);
  v.setUint32(0, out.length - 4); // AVAILABLE DATA
  v.setUint8(4, 0x01); // SNLID
  v.setUint16(8, l.maxCscdDescriptors); // MAXIMUM CSCD DESCRIPTOR COUNT
  v.setUint16(10, l.maxSegmentDescriptors); // MAXIMUM SEGMENT DESCRIPTOR COUNT
  v.setUint32(12, l.maxDescriptorListLength); // MAXIMUM DESCRIPTOR LIST LENGTH
  v.setUint32(16, l.maxSegmentBytes); // MAXIMUM SEGMENT LENGTH
  v.setUint16(34, 1); // TOTAL CONCURRENT COPIES
  v.setUint8(36, 1); // MAXIMUM CONCURRENT COPIES
  v.setUint8(43, IMPLEMENTED_DESCRIPTOR_TYPES.length); // IMPLEMENTED DESCRIPTOR LIST LENGTH
  out.set(IMPLEMENTED_DESCRIPTOR_TYPES, 44);
  return out;
}
