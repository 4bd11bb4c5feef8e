// MODE SENSE (6)/(10) and MODE SELECT (6)/(10) CDBs. Spec: SPC-5 (MODE SENSE and
// MODE SELECT CDB tables). The mode parameter header differs between the 6- and
// 10-byte forms, so a caller of the encoders reads the chosen form from
// cdb.length (or pins it with minLength).

import type { Decoded } from '../sense.js';
import { ScsiOp } from '../opcodes.js';
import type { CommandDescriptor } from './registry.js';
import { assertUint, checkCdb, DEFAULT_MIN_LENGTH, newCdb, pickLength, U16_MAX, type EncodeOptions } from './codec.js';

/** PC (page control) values, MODE SENSE byte 2 bits 7..6. */
export const ModePageControl = {
  CURRENT: 0b00,
  CHANGEABLE: 0b01,
  DEFAULT: 0b10,
  SAVED: 0b11,
} as const;
export type ModePageControl = (typeof ModePageControl)[keyof typeof ModePageControl];

/** A decoded MODE SENSE (6) or (10) CDB. */
export interface ModeSenseCdb {
  /** DBD (byte 1 bit 3): no block descriptors. */
  readonly dbd: boolean;
  /** LLBAA (byte 1 bit 4, MODE SENSE (10) only): long LBA block descriptors allowed. */
  readonly llbaa: boolean;
  /** PC (byte 2 bits 7..6). SAVED without saved pages is the emulator's to reject (39h/00h). */
  readonly pc: ModePageControl;
  /** PAGE CODE (byte 2 bits 5..0); 3Fh = all pages. */
  readonly pageCode: number;
  /** SUBPAGE CODE (byte 3); FFh = all subpages. */
  readonly subpageCode: number;
  /** ALLOCATION LENGTH (8 bits in (6), 16 in (10)). */
  readonly allocationLength: number;
}

/** A decoded MODE SELECT (6) or (10) CDB. */
export interface ModeSelectCdb {
  /** PF (byte 1 bit 4): pages follow the standard page format. */
  readonly pf: boolean;
  /** SP (byte 1 bit 0): save pages. */
  readonly sp: boolean;
  /** PARAMETER LIST LENGTH (8 bits in (6), 16 in (10)). */
  readonly parameterListLength: number;
}

const DBD = 0x08; // byte 1 bit 3
const LLBAA = 0x10; // byte 1 bit 4 (10 only)
const PC_SHIFT = 6; // byte 2 bits 7..6
const PAGE_CODE = 0x3f; // byte 2 bits 5..0
const PF = 0x10; // byte 1 bit 4
const SP = 0x01; // byte 1 bit 0

/** Encodes MODE SENSE: the 6-byte CDB unless LLBAA, allocationLength > 255 or minLength needs (10). */
export function encodeModeSense(
  cmd: Pick<ModeSenseCdb, 'pageCode' | 'allocationLength'> & Partial<ModeSenseCdb>,
  opts: EncodeOptions = {},
): Uint8Array {
  const llbaa = cmd.llbaa ?? false;
  const pc = cmd.pc ?? ModePageControl.CURRENT;
  const subpageCode = cmd.subpageCode ?? 0;
  assertUint('pc', pc, 3);
  assertUint('pageCode', cmd.pageCode, PAGE_CODE);
  assertUint('subpageCode', subpageCode, 0xff);
  assertUint('allocationLength', cmd.allocationLength, U16_MAX);
  const length = pickLength('encodeModeSense', [6, 10], opts.minLength ?? DEFAULT_MIN_LENGTH, (len) =>
    len === 10 || (!llbaa && cmd.allocationLength <= 0xff),
  );
  const { cdb, v } = newCdb(length, length === 6 ? ScsiOp.MODE_SENSE_6 : ScsiOp.MODE_SENSE_10);
  v.setUint8(1, (cmd.dbd === true ? DBD : 0) | (llbaa ? LLBAA : 0));
  v.setUint8(2, (pc << PC_SHIFT) | cmd.pageCode);
  v.setUint8(3, subpageCode);
  if (length === 6) v.setUint8(4, cmd.allocationLength);
  else v.setUint16(7, cmd.allocationLength);
  return cdb;
}

/** Decodes MODE SENSE (6) or (10) (reserved bits only; page support is the emulator's). */
export function decodeModeSense(cdb: Uint8Array, commands?: readonly CommandDescriptor[]): Decoded<ModeSenseCdb> {
  const checked = checkCdb(cdb, 'decodeModeSense', [ScsiOp.MODE_SENSE_6, ScsiOp.MODE_SENSE_10], commands);
  if (!checked.ok) return checked;
  const { v, desc } = checked.value;
  const b1 = v.getUint8(1);
  const b2 = v.getUint8(2);
  const ten = desc.cdbLength === 10;
  return {
    ok: true,
    value: {
      dbd: (b1 & DBD) !== 0,
      llbaa: ten && (b1 & LLBAA) !== 0,
      pc: (b2 >> PC_SHIFT) as ModePageControl,
      pageCode: b2 & PAGE_CODE,
      subpageCode: v.getUint8(3),
      allocationLength: ten ? v.getUint16(7) : v.getUint8(4),
    },
  };
}

/** Encodes MODE SELECT: the 6-byte CDB unless parameterListLength > 255 or minLength needs (10). */
export function encodeModeSelect(
  cmd: Pick<ModeSelectCdb, 'parameterListLength'> & Partial<ModeSelectCdb>,
  opts: EncodeOptions = {},
): Uint8Array {
  assertUint('parameterListLength', cmd.parameterListLength, U16_MAX);
  const length = pickLength('encodeModeSelect', [6, 10], opts.minLength ?? DEFAULT_MIN_LENGTH, (len) =>
    len === 10 || cmd.parameterListLength <= 0xff,
  );
  const { cdb, v } = newCdb(length, length === 6 ? ScsiOp.MODE_SELECT_6 : ScsiOp.MODE_SELECT_10);
  v.setUint8(1, (cmd.pf === true ? PF : 0) | (cmd.sp === true ? SP : 0));
  if (length === 6) v.setUint8(4, cmd.parameterListLength);
  else v.setUint16(7, cmd.parameterListLength);
  return cdb;
}

/** Decodes MODE SELECT (6) or (10) (reserved bits only; PF/SP support is the emulator's). */
export function decodeModeSelect(cdb: Uint8Array, commands?: readonly CommandDescriptor[]): Decoded<ModeSelectCdb> {
  const checked = checkCdb(cdb, 'decodeModeSelect', [ScsiOp.MODE_SELECT_6, ScsiOp.MODE_SELECT_10], commands);
  if (!checked.ok) return checked;
  const { v, desc } = checked.value;
  const b1 = v.getUint8(1);
  return {
    ok: true,
    value: {
      pf: (b1 & PF) !== 0,
      sp: (b1 & SP) !== 0,
      parameterListLength: desc.cdbLength === 10 ? v.getUint16(7) : v.getUint8(4),
    },
  };
}
