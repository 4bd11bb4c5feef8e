// Mode parameters for MODE SENSE (6)/(10) and MODE SELECT (6)/(10) on a
// direct-access logical unit: the mode parameter list in both directions.
// Spec: SPC-5 (INCITS 502) mode parameters (mode parameter list, mode parameter
// headers); SBC-4 (INCITS 506) mode parameters (device-specific parameter,
// short and long LBA block descriptors). The pages in the list are
// mode-page-layouts.ts (the T10 field tables) and mode-page-values.ts (what
// the fields hold, and the mode state MODE SELECT changes); this module
// re-exports what callers need of both.

import { Asc, invalidFieldInCdb, invalidFieldInParameterList, senseIllegalRequest, type Decoded, type SenseData } from './sense.js';
import { assertLogicalUnitInfo, type LogicalUnitInfo } from './device-info.js';
import { findModePageLayout, MODE_PAGE_LAYOUTS, ModePageCode, ModeSubpageCode, type ModePageLayout } from './mode-page-layouts.js';
import { applyModePage, buildModePage, type ModeState, type PageControl } from './mode-page-values.js';

export { MODE_PAGE_LAYOUTS, ModePageCode, ModeSubpageCode, type ModeField, type ModePageLayout } from './mode-page-layouts.js';
export { defaultModeState, type ModeState, type PageControl } from './mode-page-values.js';

/** Decoded MODE SENSE (6)/(10) CDB fields. */
export interface ModeSenseRequest {
  /** MODE SENSE (6) rather than (10). */
  readonly six: boolean;
  /** DBD: no block descriptor. */
  readonly dbd: boolean;
  /** LLBAA (MODE SENSE (10) only): long LBA block descriptor allowed; vtcam then always returns one. */
  readonly llbaa: boolean;
  readonly pc: PageControl;
  /** PAGE CODE, 00h..3Fh. */
  readonly page: number;
  /** SUBPAGE CODE, 00h..FFh. */
  readonly subpage: number;
}

/** Decoded MODE SELECT (6)/(10) CDB fields. */
export interface ModeSelectRequest {
  /** MODE SELECT (6) rather than (10). */
  readonly six: boolean;
  /** PF: the data after the block descriptors is in page format. */
  readonly pf: boolean;
  /** SP: save pages. */
  readonly sp: boolean;
}

// Mode parameter headers and block descriptors (SPC-5 / SBC-4).
const HEADER_6 = 4;
const HEADER_10 = 8;
const SHORT_BLOCK_DESCRIPTOR = 8; // NUMBER OF LOGICAL BLOCKS (4) | reserved (1) | LOGICAL BLOCK LENGTH (3)
const LONG_BLOCK_DESCRIPTOR = 16; // NUMBER OF LOGICAL BLOCKS (8) | reserved (4) | LOGICAL BLOCK LENGTH (4)
const WP = 0x80; // DEVICE-SPECIFIC PARAMETER bit 7: write protected
const DPOFUA = 0x10; // DEVICE-SPECIFIC PARAMETER bit 4: DPO and FUA bits supported
const LONGLBA = 0x01; // mode parameter header (10) byte 4 bit 0
const SHORT_NUMBER_OF_BLOCKS_MAX = 0xffff_ffffn;

// CDB field positions (same in the 6- and 10-byte forms).
const CDB_PC_PAGE_CODE = 2; // PC (7..6) | PAGE CODE (5..0)
const CDB_SUBPAGE_CODE = 3;
const CDB_PF_SP = 1; // PF (bit 4) … SP (bit 0)
const PF_BIT = 4;
const SP_BIT = 0;

/** NUMBER OF LOGICAL BLOCKS as a short block descriptor reports it (FFFFFFFFh when it does not fit). */
function shortNumberOfBlocks(info: LogicalUnitInfo): bigint {
  return info.blocks > SHORT_NUMBER_OF_BLOCKS_MAX ? SHORT_NUMBER_OF_BLOCKS_MAX : info.blocks;
}

/**
 * MODE SENSE (6)/(10) parameter data: mode parameter header, an optional block
 * descriptor, then the requested pages.
 *
 * - Header: MODE DATA LENGTH, MEDIUM TYPE 00h, DEVICE-SPECIFIC PARAMETER (WP
 *   when `info.readOnly` or SWP is set, DPOFUA always), BLOCK DESCRIPTOR LENGTH; (10) adds
 *   LONGLBA. Header and block descriptor always carry current values (SPC-5:
 *   PC only affects the mode pages).
 * - Block descriptor unless DBD: long (16 bytes, LONGLBA 1) when MODE SENSE
 *   (10) has LLBAA, else short (8 bytes, NUMBER OF LOGICAL BLOCKS FFFFFFFFh when
 *   the capacity does not fit).
 * - PAGE CODE 3Fh returns every supported page, ascending; SUBPAGE CODE 00h and
 *   FFh are equivalent here because no page has subpages.
 *
 * Faults (ILLEGAL REQUEST), checked in this order: unsupported PAGE CODE →
 * INVALID FIELD IN CDB, byte 2 bit 5 (top bit of the 6-bit PAGE CODE field);
 * SUBPAGE CODE other than 00h/FFh → INVALID FIELD IN CDB, byte 3; PC saved →
 * SAVING PARAMETERS NOT SUPPORTED (39h/00h), field pointer byte 2 bit 7 (PC).
 * Throws RangeError for out-of-range request fields or LLBAA with MODE SENSE (6)
 * (its CDB has no such bit).
 */
export function buildModeSense(req: ModeSenseRequest, state: ModeState, info: LogicalUnitInfo): Decoded<Uint8Array> {
  assertLogicalUnitInfo(info);
  if (!Number.isInteger(req.page) || req.page < 0 || req.page > 0x3f) throw new RangeError(`PAGE CODE must be 00h..3Fh, got ${req.page}`);
  if (!Number.isInteger(req.subpage) || req.subpage < 0 || req.subpage > 0xff) throw new RangeError(`SUBPAGE CODE must be a byte, got ${req.subpage}`);
  if (req.six && req.llbaa) throw new RangeError('MODE SENSE (6) has no LLBAA bit');

  const one = findModePageLayout(req.page);
  if (req.page !== ModePageCode.ALL_PAGES && one === undefined) return fail(invalidFieldInCdb(CDB_PC_PAGE_CODE, 5));
  if (req.subpage !== ModeSubpageCode.PAGE_0 && req.subpage !== ModeSubpageCode.ALL_SUBPAGES) return fail(invalidFieldInCdb(CDB_SUBPAGE_CODE));
  if (req.pc === 'saved') {
    return fail(senseIllegalRequest(Asc.SAVING_PARAMETERS_NOT_SUPPORTED, { cdb: true, byte: CDB_PC_PAGE_CODE, bit: 7 }));
  }
  const pc = req.pc;
  const pages = (one === undefined ? MODE_PAGE_LAYOUTS : [one]).map((l) => buildModePage(l, pc, state, info));

  const headerLength = req.six ? HEADER_6 : HEADER_10;
  const longLba = !req.six && req.llbaa;
  const descriptorLength = req.dbd ? 0 : longLba ? LONG_BLOCK_DESCRIPTOR : SHORT_BLOCK_DESCRIPTOR;
  const total = headerLength + descriptorLength + pages.reduce((n, p) => n + p.length, 0);
  const out = new Uint8Array(total);
  const v = new DataView(out.buffer);
  const deviceSpecific = (info.readOnly || state.swp ? WP : 0) | DPOFUA;
  if (req.six) {
    if (total - 1 > 0xff) throw new Error(`mode data of ${total} bytes cannot be described by MODE SENSE (6)`);
    v.setUint8(0, total - 1); // MODE DATA LENGTH
    v.setUint8(1, 0x00); // MEDIUM TYPE
    v.setUint8(2, deviceSpecific); // DEVICE-SPECIFIC PARAMETER
    v.setUint8(3, descriptorLength); // BLOCK DESCRIPTOR LENGTH
  } else {
    v.setUint16(0, total - 2); // MODE DATA LENGTH
    v.setUint8(2, 0x00); // MEDIUM TYPE
    v.setUint8(3, deviceSpecific); // DEVICE-SPECIFIC PARAMETER
    v.setUint8(4, descriptorLength === LONG_BLOCK_DESCRIPTOR ? LONGLBA : 0); // reserved (7..1) | LONGLBA: only with long descriptors present
    v.setUint16(6, descriptorLength); // BLOCK DESCRIPTOR LENGTH
  }
  if (descriptorLength === SHORT_BLOCK_DESCRIPTOR) {
    v.setUint32(headerLength, Number(shortNumberOfBlocks(info))); // NUMBER OF LOGICAL BLOCKS
    v.setUint32(headerLength + 4, info.blockSize); // reserved (1) | LOGICAL BLOCK LENGTH (3)
  } else if (descriptorLength === LONG_BLOCK_DESCRIPTOR) {
    v.setBigUint64(headerLength, info.blocks); // NUMBER OF LOGICAL BLOCKS
    v.setUint32(headerLength + 12, info.blockSize); // LOGICAL BLOCK LENGTH (bytes 8..11 reserved)
  }
  let o = headerLength + descriptorLength;
  for (const p of pages) {
    out.set(p, o);
    o += p.length;
  }
  return { ok: true, value: out };
}

function fail<T>(fault: SenseData): Decoded<T> {
  return { ok: false, fault };
}

const PARAMETER_LIST_LENGTH_ERROR = senseIllegalRequest(Asc.PARAMETER_LIST_LENGTH_ERROR);

/** Where a MODE SELECT page differs from the current page in a bit the application client may not change. */
function firstUnchangeableDifference(layout: ModePageLayout, sent: DataView, current: DataView, mask: DataView): { byte: number; bit?: number } | undefined {
  for (let i = 2; i < 2 + layout.pageLength; i++) {
    const diff = (sent.getUint8(i) ^ current.getUint8(i)) & ~mask.getUint8(i) & 0xff;
    if (diff === 0) continue;
    const bit = 31 - Math.clz32(diff); // the most significant differing bit comes first on the wire
    const position = i * 8 + (7 - bit);
    const field = layout.fields.find((x) => {
      const start = x.byte * 8 + (7 - x.msb);
      return position >= start && position < start + x.bits;
    });
    if (field === undefined) return { byte: i, bit };
    const wholeBytes = field.msb === 7 && field.bits % 8 === 0;
    return wholeBytes ? { byte: field.byte } : { byte: field.byte, bit: field.msb };
  }
  return undefined;
}

/**
 * Parses a MODE SELECT (6)/(10) parameter list (`params` is exactly the
 * PARAMETER LIST LENGTH bytes transferred) and returns the new state; nothing
 * is applied unless the whole list is valid. `changed` tells whether WCE or
 * D_SENSE or SWP actually changed (for the MODE PARAMETERS CHANGED unit attention
 * and a flush when WCE goes to zero).
 *
 * Checks, in order, each an ILLEGAL REQUEST:
 * 1. SP 1 → INVALID FIELD IN CDB, byte 1 bit 0 (no saved pages).
 * 2. An empty list is not an error (SPC-5): state unchanged.
 * 3. Header shorter than 4 (6) / 8 (10) bytes → PARAMETER LIST LENGTH ERROR.
 *    MODE DATA LENGTH, MEDIUM TYPE and DEVICE-SPECIFIC PARAMETER are ignored
 *    (reserved or meaningless for MODE SELECT; initiators echo MODE SENSE data).
 * 4. BLOCK DESCRIPTOR LENGTH not 0 or one descriptor (8; 16 with LONGLBA) →
 *    INVALID FIELD IN PARAMETER LIST at byte 3 (6) / byte 6 (10); descriptor
 *    past the end → PARAMETER LIST LENGTH ERROR.
 * 5. Block descriptor: NUMBER OF LOGICAL BLOCKS other than 0 (keep) or the
 *    value MODE SENSE reports → INVALID FIELD IN PARAMETER LIST at its first
 *    byte (no FORMAT UNIT, so the capacity cannot change); LOGICAL BLOCK LENGTH
 *    other than the current block size → INVALID FIELD IN PARAMETER LIST at its
 *    first byte.
 * 6. Page data with PF 0 → INVALID FIELD IN CDB, byte 1 bit 4: vtcam defines
 *    no vendor-specific (PF 0) format, so only header and block descriptor may
 *    be sent without PF.
 * 7. Per page: fewer than 2 bytes left → PARAMETER LIST LENGTH ERROR;
 *    unsupported PAGE CODE → INVALID FIELD IN PARAMETER LIST at the page's byte
 *    0 bit 5; SPF 1 (sub_page format: vtcam has no subpages) → at the SUBPAGE
 *    CODE byte; PAGE LENGTH not the page's → at the PAGE LENGTH byte; page past
 *    the end → PARAMETER LIST LENGTH ERROR; a non-changeable bit differing from
 *    its current value → at the field holding the first such bit (C/D 0).
 *    The PS bit is reserved in MODE SELECT and ignored.
 * Throws RangeError only if `info` does not fit.
 */
export function applyModeSelect(
  params: Uint8Array,
  req: ModeSelectRequest,
  state: ModeState,
  info: LogicalUnitInfo,
): Decoded<{ state: ModeState; changed: boolean }> {
  assertLogicalUnitInfo(info);
  if (req.sp) return fail(invalidFieldInCdb(CDB_PF_SP, SP_BIT));
  if (params.length === 0) return { ok: true, value: { state, changed: false } };
  const v = new DataView(params.buffer, params.byteOffset, params.byteLength);

  const headerLength = req.six ? HEADER_6 : HEADER_10;
  if (params.length < headerLength) return fail(PARAMETER_LIST_LENGTH_ERROR);
  const longLba = !req.six && (v.getUint8(4) & LONGLBA) !== 0;
  const descriptorLength = req.six ? v.getUint8(3) : v.getUint16(6);
  const oneDescriptor = longLba ? LONG_BLOCK_DESCRIPTOR : SHORT_BLOCK_DESCRIPTOR;
  if (descriptorLength !== 0 && descriptorLength !== oneDescriptor) return fail(invalidFieldInParameterList(req.six ? 3 : 6));
  if (headerLength + descriptorLength > params.length) return fail(PARAMETER_LIST_LENGTH_ERROR);
  if (descriptorLength !== 0) {
    const d = headerLength;
    const numberOfBlocks = longLba ? v.getBigUint64(d) : BigInt(v.getUint32(d));
    const reported = longLba ? info.blocks : shortNumberOfBlocks(info);
    if (numberOfBlocks !== 0n && numberOfBlocks !== reported) return fail(invalidFieldInParameterList(d));
    const lengthOffset = longLba ? d + 12 : d + 5;
    const blockLength = longLba ? v.getUint32(lengthOffset) : (v.getUint8(lengthOffset) << 16) | v.getUint16(lengthOffset + 1);
    if (blockLength !== info.blockSize) return fail(invalidFieldInParameterList(lengthOffset));
  }

  let o = headerLength + descriptorLength;
  if (o < params.length && !req.pf) return fail(invalidFieldInCdb(CDB_PF_SP, PF_BIT));
  let pending = state;
  while (o < params.length) {
    if (params.length - o < 2) return fail(PARAMETER_LIST_LENGTH_ERROR);
    const b0 = v.getUint8(o); // PS (7, reserved here) | SPF (6) | PAGE CODE (5..0)
    const layout = findModePageLayout(b0 & 0x3f);
    if (layout === undefined) return fail(invalidFieldInParameterList(o, 5));
    if ((b0 & 0x40) !== 0) return fail(invalidFieldInParameterList(o + 1)); // SUBPAGE CODE
    if (v.getUint8(o + 1) !== layout.pageLength) return fail(invalidFieldInParameterList(o + 1)); // PAGE LENGTH
    const size = 2 + layout.pageLength;
    if (params.length - o < size) return fail(PARAMETER_LIST_LENGTH_ERROR);
    const sent = new DataView(params.buffer, params.byteOffset + o, size);
    const current = new DataView(buildModePage(layout, 'current', pending, info).buffer);
    const mask = new DataView(buildModePage(layout, 'changeable', pending, info).buffer);
    const at = firstUnchangeableDifference(layout, sent, current, mask);
    if (at !== undefined) return fail(invalidFieldInParameterList(o + at.byte, at.bit));
    pending = applyModePage(layout.code, pending, sent);
    o += size;
  }
  const changed = pending.wce !== state.wce || pending.dSense !== state.dSense || pending.swp !== state.swp;
  return { ok: true, value: { state: changed ? pending : state, changed } };
}
