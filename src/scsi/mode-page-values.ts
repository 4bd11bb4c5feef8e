// What the supported mode pages hold: default, current and changeable values,
// the page bytes built from them, and the mode state a MODE SELECT page folds
// into. Spec: SPC-5 (INCITS 502) mode parameters (page_0 format, PC page
// control values, Control and Informational Exceptions Control mode pages);
// SBC-4 (INCITS 506) mode parameters (Read-Write Error Recovery and Caching
// mode pages). The field tables are mode-page-layouts.ts.
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

import type { LogicalUnitInfo } from './device-info.js';
import { ModePageCode, type ModeField, type ModePageLayout } from './mode-page-layouts.js';

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

/**
 * One page's bytes (PAGE CODE through PAGE LENGTH+1) for PC current, changeable
 * (a mask: all ones in each changeable field) or default; `state` matters only
 * for current. Saved values do not exist here (nothing is savable).
 */
export function buildModePage(layout: ModePageLayout, pc: Exclude<PageControl, 'saved'>, state: ModeState, info: LogicalUnitInfo): Uint8Array {
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

function readBit(v: DataView, byte: number, bit: number): boolean {
  return ((v.getUint8(byte) >> bit) & 1) === 1;
}

/** Folds an accepted page into the state: only the changeable fields are read. */
export function applyModePage(code: number, state: ModeState, page: DataView): ModeState {
  switch (code) {
    case ModePageCode.CACHING:
      return { ...state, wce: readBit(page, 2, 2) }; // WCE
    case ModePageCode.CONTROL:
      return { ...state, dSense: readBit(page, 2, 2), swp: readBit(page, 4, 3) }; // D_SENSE, SWP
    default:
      return state;
  }
}
