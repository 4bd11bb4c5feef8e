// Mode parameters for MODE SENSE (6)/(10) and MODE SELECT (6)/(10) on a
// direct-access logical unit. Spec: SPC-5 (INCITS 502) mode parameters (mode
// parameter list, headers, page_0 format, Control and Informational Exceptions
// Control mode pages); SBC-4 (INCITS 506) mode parameters (device-specific
// parameter, short and long LBA block descriptors, Read-Write Error Recovery and
// Caching mode pages). Field layouts cross-checked against sdparm's tables.
//
// Each page is a T10 table below: every bit of bytes 2..n is covered by exactly
// one field (reserved and obsolete runs included), so a MODE SELECT that
// touches a non-changeable bit is reported at the start of the field holding it
// (SPC-5 field pointer rule: a multi-bit field is pointed at by its most
// significant bit; whole-byte fields get no bit pointer).
//
// Changeable fields: WCE (Caching; unless `info.writeCacheChangeable` is false),
// D_SENSE and SWP (Control: software write protection, which the emulator
// enforces with DATA PROTECT 27h/02h and reports as WP). Nothing is savable
// (PS 0; PC 11b and SP 1 are rejected). Why the others stay fixed: QERR, TST,
// TAS, UA_INTLCK_CTRL and QUEUE ALGORITHM MODIFIER describe the task manager
// (the CAM devq), which this layer cannot re-shape (TAS is the unit's
// `info.taskAbortedStatus`, 0 by default: a command that another I_T nexus's
// CLEAR TASK SET or PREEMPT AND ABORT aborts ends without status, and its nexus
// gets COMMANDS CLEARED BY ANOTHER INITIATOR, see task-abort.ts); RCD and the pre-fetch
// fields have no virtio-blk counterpart; the Informational Exceptions page
// describes a device that never raises informational exceptions; the error
// recovery knobs have no meaning over virtio-blk.

import { Asc, invalidFieldInCdb, invalidFieldInParameterList, senseIllegalRequest, type Decoded, type SenseData } from './sense.js';
import { assertLogicalUnitInfo, type LogicalUnitInfo } from './device-info.js';

/** PAGE CODE values (SPC-5 / SBC-4) vtcam supports, plus the "return all pages" code. */
export const ModePageCode = {
  READ_WRITE_ERROR_RECOVERY: 0x01,
  CACHING: 0x08,
  CONTROL: 0x0a,
  INFORMATIONAL_EXCEPTIONS_CONTROL: 0x1c,
  /** MODE SENSE only: all supported pages, ascending. */
  ALL_PAGES: 0x3f,
} as const;
export type ModePageCode = (typeof ModePageCode)[keyof typeof ModePageCode];

/** SUBPAGE CODE values MODE SENSE accepts: page_0 (00h) and "all subpages" (FFh). */
export const ModeSubpageCode = { PAGE_0: 0x00, ALL_SUBPAGES: 0xff } as const;
export type ModeSubpageCode = (typeof ModeSubpageCode)[keyof typeof ModeSubpageCode];

/** PC (page control) field of MODE SENSE, by its SPC-5 meaning: 00b, 01b, 10b, 11b. */
export type PageControl = 'current' | 'changeable' | 'default' | 'saved';

/** Current values of the changeable mode parameters (everything else is fixed). */
export interface ModeState {
  /** WCE, Caching mode page byte 2 bit 2: write cache enabled. */
  readonly wce: boolean;
  /** D_SENSE, Control mode page byte 2 bit 2: report descriptor-format sense data. */
  readonly dSense: boolean;
  /** SWP, Control mode page byte 4 bit 3: software write protect (the medium may not be written). */
  readonly swp: boolean;
}

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

/** One field of a mode page: `byte` counted from the page start (the PAGE CODE byte), `msb` its top bit there, `bits` its width. */
export interface ModeField {
  readonly name: string;
  readonly byte: number;
  readonly msb: number;
  readonly bits: number;
}

/** A supported mode page: its PAGE LENGTH and the T10 table of bytes 2..PAGE LENGTH+1. */
export interface ModePageLayout {
  readonly code: number;
  readonly name: string;
  readonly pageLength: number;
  readonly fields: readonly ModeField[];
}

const f = (name: string, byte: number, msb: number, bits: number): ModeField => ({ name, byte, msb, bits });

/** SBC-4 Read-Write Error Recovery mode page (01h), PAGE LENGTH 0Ah. */
const READ_WRITE_ERROR_RECOVERY: ModePageLayout = {
  code: ModePageCode.READ_WRITE_ERROR_RECOVERY,
  name: 'Read-Write Error Recovery',
  pageLength: 0x0a,
  fields: [
    f('AWRE', 2, 7, 1), f('ARRE', 2, 6, 1), f('TB', 2, 5, 1), f('RC', 2, 4, 1),
    f('EER', 2, 3, 1), f('PER', 2, 2, 1), f('DTE', 2, 1, 1), f('DCR', 2, 0, 1), // EER, DCR obsolete in SBC-4
    f('READ RETRY COUNT', 3, 7, 8),
    f('Obsolete (CORRECTION SPAN)', 4, 7, 8),
    f('Obsolete (HEAD OFFSET COUNT)', 5, 7, 8),
    f('Obsolete (DATA STROBE OFFSET COUNT)', 6, 7, 8),
    f('LBPERE', 7, 7, 1), f('MWR', 7, 6, 2), f('Reserved', 7, 4, 5),
    f('WRITE RETRY COUNT', 8, 7, 8),
    f('Reserved', 9, 7, 8),
    f('RECOVERY TIME LIMIT', 10, 7, 16),
  ],
};

/** SBC-4 Caching mode page (08h), PAGE LENGTH 12h. */
const CACHING: ModePageLayout = {
  code: ModePageCode.CACHING,
  name: 'Caching',
  pageLength: 0x12,
  fields: [
    f('IC', 2, 7, 1), f('ABPF', 2, 6, 1), f('CAP', 2, 5, 1), f('DISC', 2, 4, 1),
    f('SIZE', 2, 3, 1), f('WCE', 2, 2, 1), f('MF', 2, 1, 1), f('RCD', 2, 0, 1),
    f('DEMAND READ RETENTION PRIORITY', 3, 7, 4), f('WRITE RETENTION PRIORITY', 3, 3, 4),
    f('DISABLE PRE-FETCH TRANSFER LENGTH', 4, 7, 16),
    f('MINIMUM PRE-FETCH', 6, 7, 16),
    f('MAXIMUM PRE-FETCH', 8, 7, 16),
    f('MAXIMUM PRE-FETCH CEILING', 10, 7, 16),
    f('FSW', 12, 7, 1), f('LBCSS', 12, 6, 1), f('DRA', 12, 5, 1), f('Vendor specific', 12, 4, 2),
    f('SYNC_PROG', 12, 2, 2), f('NV_DIS', 12, 0, 1),
    f('NUMBER OF CACHE SEGMENTS', 13, 7, 8),
    f('CACHE SEGMENT SIZE', 14, 7, 16),
    f('Reserved', 16, 7, 8),
    f('Obsolete (NON-CACHE SEGMENT SIZE)', 17, 7, 24),
  ],
};

/** SPC-5 Control mode page (0Ah), PAGE LENGTH 0Ah. */
const CONTROL: ModePageLayout = {
  code: ModePageCode.CONTROL,
  name: 'Control',
  pageLength: 0x0a,
  fields: [
    f('TST', 2, 7, 3), f('TMF_ONLY', 2, 4, 1), f('DPICZ', 2, 3, 1), f('D_SENSE', 2, 2, 1), f('GLTSD', 2, 1, 1), f('RLEC', 2, 0, 1),
    f('QUEUE ALGORITHM MODIFIER', 3, 7, 4), f('NUAR', 3, 3, 1), f('QERR', 3, 2, 2), f('Obsolete (DQUE)', 3, 0, 1),
    f('VS', 4, 7, 1), f('RAC', 4, 6, 1), f('UA_INTLCK_CTRL', 4, 5, 2), f('SWP', 4, 3, 1), f('Obsolete', 4, 2, 3),
    f('ATO', 5, 7, 1), f('TAS', 5, 6, 1), f('ATMPE', 5, 5, 1), f('RWWP', 5, 4, 1), f('SBLP', 5, 3, 1), f('AUTOLOAD MODE', 5, 2, 3),
    f('Obsolete (READY AER HOLDOFF PERIOD)', 6, 7, 16),
    f('BUSY TIMEOUT PERIOD', 8, 7, 16),
    f('EXTENDED SELF-TEST COMPLETION TIME', 10, 7, 16),
  ],
};

/** SPC-5 Informational Exceptions Control mode page (1Ch), PAGE LENGTH 0Ah. */
const INFORMATIONAL_EXCEPTIONS_CONTROL: ModePageLayout = {
  code: ModePageCode.INFORMATIONAL_EXCEPTIONS_CONTROL,
  name: 'Informational Exceptions Control',
  pageLength: 0x0a,
  fields: [
    f('PERF', 2, 7, 1), f('Reserved', 2, 6, 1), f('EBF', 2, 5, 1), f('EWASC', 2, 4, 1),
    f('DEXCPT', 2, 3, 1), f('TEST', 2, 2, 1), f('EBACKERR', 2, 1, 1), f('LOGERR', 2, 0, 1),
    f('Reserved', 3, 7, 4), f('MRIE', 3, 3, 4),
    f('INTERVAL TIMER', 4, 7, 32),
    f('REPORT COUNT', 8, 7, 32),
  ],
};

/** The supported mode pages, ascending by PAGE CODE (the order of a 3Fh request). */
export const MODE_PAGE_LAYOUTS: readonly ModePageLayout[] = [READ_WRITE_ERROR_RECOVERY, CACHING, CONTROL, INFORMATIONAL_EXCEPTIONS_CONTROL];

type FieldValues = Readonly<Record<string, number>>;

/** Default (power-on) values of the non-zero fields; every other field is zero. */
function defaultValues(code: number, info: LogicalUnitInfo): FieldValues {
  switch (code) {
    case ModePageCode.READ_WRITE_ERROR_RECOVERY:
      // The backend (host file system / memory) remaps defects below us: from the
      // initiator's side that is automatic reallocation on both paths.
      return { AWRE: 1, ARRE: 1 };
    case ModePageCode.CACHING:
      return { WCE: info.writeCacheEnabled ? 1 : 0 };
    case ModePageCode.CONTROL:
      // QAM 1h: SIMPLE commands may be reordered (virtio-blk completes out of order);
      // GLTSD 1: no log parameters are ever saved implicitly; TAS as the unit was set up.
      return { 'QUEUE ALGORITHM MODIFIER': 1, GLTSD: 1, TAS: info.taskAbortedStatus === true ? 1 : 0 };
    case ModePageCode.INFORMATIONAL_EXCEPTIONS_CONTROL:
      // DEXCPT 1, MRIE 0h: informational exception operations disabled (there are none).
      return { DEXCPT: 1 };
    default:
      return {};
  }
}

function currentValues(code: number, state: ModeState, info: LogicalUnitInfo): FieldValues {
  const values = defaultValues(code, info);
  switch (code) {
    case ModePageCode.CACHING:
      return { ...values, WCE: state.wce ? 1 : 0 };
    case ModePageCode.CONTROL:
      return { ...values, D_SENSE: state.dSense ? 1 : 0, SWP: state.swp ? 1 : 0 };
    default:
      return values;
  }
}

const CHANGEABLE: Readonly<Record<number, readonly string[]>> = {
  [ModePageCode.CACHING]: ['WCE'],
  [ModePageCode.CONTROL]: ['D_SENSE', 'SWP'],
};

function changeableValues(layout: ModePageLayout, info: LogicalUnitInfo): FieldValues {
  const out: Record<string, number> = {};
  for (const name of CHANGEABLE[layout.code] ?? []) {
    // A device that cannot switch its cache (no VIRTIO_BLK_F_CONFIG_WCE) keeps WCE fixed.
    if (name === 'WCE' && info.writeCacheChangeable === false) continue;
    const field = layout.fields.find((x) => x.name === name);
    if (field === undefined) throw new Error(`changeable field ${name} is not in the ${layout.name} table`);
    out[name] = 2 ** field.bits - 1;
  }
  return out;
}

function writeField(v: DataView, field: ModeField, value: number): void {
  if (field.bits <= field.msb + 1) {
    const shift = field.msb + 1 - field.bits;
    const mask = ((1 << field.bits) - 1) << shift;
    v.setUint8(field.byte, (v.getUint8(field.byte) & ~mask) | ((value << shift) & mask));
    return;
  }
  // Byte-aligned multi-byte field, big-endian (msb 7, bits a multiple of 8).
  const n = field.bits / 8;
  for (let k = 0; k < n; k++) v.setUint8(field.byte + k, Math.floor(value / 2 ** (8 * (n - 1 - k))) & 0xff);
}

function buildPage(layout: ModePageLayout, values: FieldValues): Uint8Array {
  const out = new Uint8Array(2 + layout.pageLength);
  const v = new DataView(out.buffer);
  v.setUint8(0, layout.code); // PS 0 (nothing savable) | SPF 0 (page_0 format) | PAGE CODE
  v.setUint8(1, layout.pageLength); // PAGE LENGTH
  for (const field of layout.fields) writeField(v, field, values[field.name] ?? 0);
  return out;
}

function pageFor(layout: ModePageLayout, pc: Exclude<PageControl, 'saved'>, state: ModeState, info: LogicalUnitInfo): Uint8Array {
  switch (pc) {
    case 'current':
      return buildPage(layout, currentValues(layout.code, state, info));
    case 'changeable':
      return buildPage(layout, changeableValues(layout, info));
    case 'default':
      return buildPage(layout, defaultValues(layout.code, info));
  }
}

/** Power-on ModeState: WCE from `info.writeCacheEnabled`, D_SENSE 0 (fixed-format sense), SWP 0. */
export function defaultModeState(info: LogicalUnitInfo): ModeState {
  return { wce: info.writeCacheEnabled, dSense: false, swp: false };
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

function layoutOf(code: number): ModePageLayout | undefined {
  return MODE_PAGE_LAYOUTS.find((l) => l.code === code);
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

  const one = layoutOf(req.page);
  if (req.page !== ModePageCode.ALL_PAGES && one === undefined) return fail(invalidFieldInCdb(CDB_PC_PAGE_CODE, 5));
  if (req.subpage !== ModeSubpageCode.PAGE_0 && req.subpage !== ModeSubpageCode.ALL_SUBPAGES) return fail(invalidFieldInCdb(CDB_SUBPAGE_CODE));
  if (req.pc === 'saved') {
    return fail(senseIllegalRequest(Asc.SAVING_PARAMETERS_NOT_SUPPORTED, { cdb: true, byte: CDB_PC_PAGE_CODE, bit: 7 }));
  }
  const pc = req.pc;
  const pages = (one === undefined ? MODE_PAGE_LAYOUTS : [one]).map((l) => pageFor(l, pc, state, info));

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

function readBit(v: DataView, byte: number, bit: number): boolean {
  return ((v.getUint8(byte) >> bit) & 1) === 1;
}

/** Folds an accepted page into the state: only the changeable fields are read. */
function applyPage(code: number, state: ModeState, page: DataView): ModeState {
  switch (code) {
    case ModePageCode.CACHING:
      return { ...state, wce: readBit(page, 2, 2) }; // WCE
    case ModePageCode.CONTROL:
      return { ...state, dSense: readBit(page, 2, 2), swp: readBit(page, 4, 3) }; // D_SENSE, SWP
    default:
      return state;
  }
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
    const layout = layoutOf(b0 & 0x3f);
    if (layout === undefined) return fail(invalidFieldInParameterList(o, 5));
    if ((b0 & 0x40) !== 0) return fail(invalidFieldInParameterList(o + 1)); // SUBPAGE CODE
    if (v.getUint8(o + 1) !== layout.pageLength) return fail(invalidFieldInParameterList(o + 1)); // PAGE LENGTH
    const size = 2 + layout.pageLength;
    if (params.length - o < size) return fail(PARAMETER_LIST_LENGTH_ERROR);
    const sent = new DataView(params.buffer, params.byteOffset + o, size);
    const current = new DataView(buildPage(layout, currentValues(layout.code, pending, info)).buffer);
    const mask = new DataView(buildPage(layout, changeableValues(layout, info)).buffer);
    const at = firstUnchangeableDifference(layout, sent, current, mask);
    if (at !== undefined) return fail(invalidFieldInParameterList(o + at.byte, at.bit));
    pending = applyPage(layout.code, pending, sent);
    o += size;
  }
  const changed = pending.wce !== state.wce || pending.dSense !== state.dSense || pending.swp !== state.swp;
  return { ok: true, value: { state: changed ? pending : state, changed } };
}
