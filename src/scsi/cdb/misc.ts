// The small fixed-length CDBs: TEST UNIT READY, REQUEST SENSE, START STOP UNIT,
// PREVENT ALLOW MEDIUM REMOVAL, FORMAT UNIT and SEND DIAGNOSTIC.
// Spec: SPC-5 (TEST UNIT READY, REQUEST SENSE, SEND DIAGNOSTIC, PREVENT ALLOW
// MEDIUM REMOVAL CDB tables), SBC-4 (START STOP UNIT and its POWER CONDITION /
// POWER CONDITION MODIFIER table, PREVENT field, FORMAT UNIT).

import { invalidFieldInCdb, type Decoded } from '../sense.js';
import { ScsiOp } from '../opcodes.js';
import type { CommandDescriptor } from './registry.js';
import { assertUint, checkCdb, newCdb, U16_MAX } from './codec.js';

/** A CDB with no fields of its own (every bit but the operation code is reserved). */
export type NoFieldsCdb = Readonly<Record<string, never>>;

/** Encodes TEST UNIT READY. */
export function encodeTestUnitReady(): Uint8Array {
  return newCdb(6, ScsiOp.TEST_UNIT_READY).cdb;
}

/** Decodes TEST UNIT READY (reserved bits only). */
export function decodeTestUnitReady(cdb: Uint8Array, commands?: readonly CommandDescriptor[]): Decoded<NoFieldsCdb> {
  const checked = checkCdb(cdb, 'decodeTestUnitReady', [ScsiOp.TEST_UNIT_READY], commands);
  return checked.ok ? { ok: true, value: {} } : checked;
}

/** A decoded REQUEST SENSE CDB. */
export interface RequestSenseCdb {
  /** DESC (byte 1 bit 0): descriptor-format sense wanted. */
  readonly desc: boolean;
  /** ALLOCATION LENGTH (byte 4). */
  readonly allocationLength: number;
}

const DESC = 0x01; // byte 1 bit 0

/** Encodes REQUEST SENSE. */
export function encodeRequestSense(cmd: Pick<RequestSenseCdb, 'allocationLength'> & Partial<RequestSenseCdb>): Uint8Array {
  assertUint('allocationLength', cmd.allocationLength, 0xff);
  const { cdb, v } = newCdb(6, ScsiOp.REQUEST_SENSE);
  v.setUint8(1, cmd.desc === true ? DESC : 0);
  v.setUint8(4, cmd.allocationLength);
  return cdb;
}

/** Decodes REQUEST SENSE (reserved bits only; DESC support is the emulator's). */
export function decodeRequestSense(cdb: Uint8Array, commands?: readonly CommandDescriptor[]): Decoded<RequestSenseCdb> {
  const checked = checkCdb(cdb, 'decodeRequestSense', [ScsiOp.REQUEST_SENSE], commands);
  if (!checked.ok) return checked;
  const { v } = checked.value;
  return { ok: true, value: { desc: (v.getUint8(1) & DESC) !== 0, allocationLength: v.getUint8(4) } };
}

/** START STOP UNIT POWER CONDITION values (SBC-4); 5h is obsolete, the rest reserved. */
export const PowerCondition = {
  START_VALID: 0x0,
  ACTIVE: 0x1,
  IDLE: 0x2,
  STANDBY: 0x3,
  LU_CONTROL: 0x7,
  FORCE_IDLE_0: 0xa,
  FORCE_STANDBY_0: 0xb,
} as const;
export type PowerCondition = (typeof PowerCondition)[keyof typeof PowerCondition];

/** Highest POWER CONDITION MODIFIER each POWER CONDITION allows (idle_a/b/c, standby_z/y). */
const MAX_MODIFIER: ReadonlyMap<number, number> = new Map([
  [PowerCondition.START_VALID, 0],
  [PowerCondition.ACTIVE, 0],
  [PowerCondition.IDLE, 2],
  [PowerCondition.STANDBY, 1],
  [PowerCondition.LU_CONTROL, 0],
  [PowerCondition.FORCE_IDLE_0, 2],
  [PowerCondition.FORCE_STANDBY_0, 1],
]);

/** A decoded START STOP UNIT CDB. */
export interface StartStopUnitCdb {
  /** IMMED (byte 1 bit 0). */
  readonly immed: boolean;
  /** POWER CONDITION MODIFIER (byte 3 bits 3..0). */
  readonly powerConditionModifier: number;
  /** POWER CONDITION (byte 4 bits 7..4); when ≠ 0, START and LOEJ are ignored. */
  readonly powerCondition: PowerCondition;
  /** NO_FLUSH (byte 4 bit 2). */
  readonly noFlush: boolean;
  /** LOEJ (byte 4 bit 1). */
  readonly loej: boolean;
  /** START (byte 4 bit 0). */
  readonly start: boolean;
}

const IMMED = 0x01; // byte 1 bit 0
const PCM_MASK = 0x0f; // byte 3 bits 3..0
const PC_SHIFT = 4; // byte 4 bits 7..4
const NO_FLUSH = 0x04; // byte 4 bit 2
const LOEJ = 0x02; // byte 4 bit 1
const START = 0x01; // byte 4 bit 0
const POWER_CONDITION_FIELD = { byte: 4, bit: 7 } as const;
const POWER_CONDITION_MODIFIER_FIELD = { byte: 3, bit: 3 } as const;

/** Encodes START STOP UNIT. Throws RangeError for a reserved power condition / modifier pair. */
export function encodeStartStopUnit(cmd: Partial<StartStopUnitCdb>): Uint8Array {
  const pc = cmd.powerCondition ?? PowerCondition.START_VALID;
  const pcm = cmd.powerConditionModifier ?? 0;
  const max = MAX_MODIFIER.get(pc);
  if (max === undefined || !Number.isInteger(pcm) || pcm < 0 || pcm > max) {
    throw new RangeError(`START STOP UNIT: power condition ${pc} with modifier ${pcm} is reserved`);
  }
  const { cdb, v } = newCdb(6, ScsiOp.START_STOP_UNIT);
  v.setUint8(1, cmd.immed === true ? IMMED : 0);
  v.setUint8(3, pcm);
  v.setUint8(4, (pc << PC_SHIFT) | (cmd.noFlush === true ? NO_FLUSH : 0) | (cmd.loej === true ? LOEJ : 0) | (cmd.start === true ? START : 0));
  return cdb;
}

/**
 * Decodes START STOP UNIT. A reserved or obsolete POWER CONDITION → INVALID FIELD
 * IN CDB at byte 4 bit 7; a POWER CONDITION MODIFIER that condition does not
 * define → INVALID FIELD IN CDB at byte 3 bit 3.
 */
export function decodeStartStopUnit(cdb: Uint8Array, commands?: readonly CommandDescriptor[]): Decoded<StartStopUnitCdb> {
  const checked = checkCdb(cdb, 'decodeStartStopUnit', [ScsiOp.START_STOP_UNIT], commands);
  if (!checked.ok) return checked;
  const { v } = checked.value;
  const b4 = v.getUint8(4);
  const pc = b4 >> PC_SHIFT;
  const pcm = v.getUint8(3) & PCM_MASK;
  const max = MAX_MODIFIER.get(pc);
  if (max === undefined) return { ok: false, fault: invalidFieldInCdb(POWER_CONDITION_FIELD.byte, POWER_CONDITION_FIELD.bit) };
  if (pcm > max) {
    return { ok: false, fault: invalidFieldInCdb(POWER_CONDITION_MODIFIER_FIELD.byte, POWER_CONDITION_MODIFIER_FIELD.bit) };
  }
  return {
    ok: true,
    value: {
      immed: (v.getUint8(1) & IMMED) !== 0,
      powerConditionModifier: pcm,
      powerCondition: pc as PowerCondition,
      noFlush: (b4 & NO_FLUSH) !== 0,
      loej: (b4 & LOEJ) !== 0,
      start: (b4 & START) !== 0,
    },
  };
}

/** A decoded PREVENT ALLOW MEDIUM REMOVAL CDB. */
export interface PreventAllowCdb {
  /** PREVENT (byte 4 bits 1..0): 00b allow, 01b prevent; 10b and 11b are obsolete in SBC-4. */
  readonly prevent: 0 | 1;
}

const PREVENT_MASK = 0x03; // byte 4 bits 1..0
const PREVENT_FIELD = { byte: 4, bit: 1 } as const;

/** Encodes PREVENT ALLOW MEDIUM REMOVAL. */
export function encodePreventAllow(cmd: PreventAllowCdb): Uint8Array {
  assertUint('prevent', cmd.prevent, 1);
  const { cdb, v } = newCdb(6, ScsiOp.PREVENT_ALLOW_MEDIUM_REMOVAL);
  v.setUint8(4, cmd.prevent);
  return cdb;
}

/** Decodes PREVENT ALLOW MEDIUM REMOVAL. The obsolete PREVENT values 10b/11b → INVALID FIELD IN CDB, byte 4 bit 1. */
export function decodePreventAllow(cdb: Uint8Array, commands?: readonly CommandDescriptor[]): Decoded<PreventAllowCdb> {
  const checked = checkCdb(cdb, 'decodePreventAllow', [ScsiOp.PREVENT_ALLOW_MEDIUM_REMOVAL], commands);
  if (!checked.ok) return checked;
  const prevent = checked.value.v.getUint8(4) & PREVENT_MASK;
  if (prevent > 1) return { ok: false, fault: invalidFieldInCdb(PREVENT_FIELD.byte, PREVENT_FIELD.bit) };
  return { ok: true, value: { prevent: prevent as 0 | 1 } };
}

/** A decoded FORMAT UNIT CDB (byte 1; the vendor-specific byte 2 and FFMT are not implemented). */
export interface FormatUnitCdb {
  /** FMTPINFO (byte 1 bits 7..6). */
  readonly fmtpinfo: number;
  /** LONGLIST (byte 1 bit 5): long parameter list header. */
  readonly longlist: boolean;
  /** FMTDATA (byte 1 bit 4): a parameter list follows. */
  readonly fmtdata: boolean;
  /** CMPLST (byte 1 bit 3). */
  readonly cmplst: boolean;
  /** DEFECT LIST FORMAT (byte 1 bits 2..0). */
  readonly defectListFormat: number;
}

const FMTPINFO_SHIFT = 6; // byte 1 bits 7..6
const LONGLIST = 0x20; // byte 1 bit 5
const FMTDATA = 0x10; // byte 1 bit 4
const CMPLST = 0x08; // byte 1 bit 3
const DEFECT_LIST_FORMAT = 0x07; // byte 1 bits 2..0

/** Encodes FORMAT UNIT. */
export function encodeFormatUnit(cmd: Partial<FormatUnitCdb> = {}): Uint8Array {
  const fmtpinfo = cmd.fmtpinfo ?? 0;
  const defectListFormat = cmd.defectListFormat ?? 0;
  assertUint('fmtpinfo', fmtpinfo, 3);
  assertUint('defectListFormat', defectListFormat, DEFECT_LIST_FORMAT);
  const { cdb, v } = newCdb(6, ScsiOp.FORMAT_UNIT);
  v.setUint8(
    1,
    (fmtpinfo << FMTPINFO_SHIFT) |
      (cmd.longlist === true ? LONGLIST : 0) |
      (cmd.fmtdata === true ? FMTDATA : 0) |
      (cmd.cmplst === true ? CMPLST : 0) |
      defectListFormat,
  );
  return cdb;
}

/** Decodes FORMAT UNIT (reserved bits only: with FMTDATA = 0, CMPLST and the list format are ignored, not errors). */
export function decodeFormatUnit(cdb: Uint8Array, commands?: readonly CommandDescriptor[]): Decoded<FormatUnitCdb> {
  const checked = checkCdb(cdb, 'decodeFormatUnit', [ScsiOp.FORMAT_UNIT], commands);
  if (!checked.ok) return checked;
  const b1 = checked.value.v.getUint8(1);
  return {
    ok: true,
    value: {
      fmtpinfo: b1 >> FMTPINFO_SHIFT,
      longlist: (b1 & LONGLIST) !== 0,
      fmtdata: (b1 & FMTDATA) !== 0,
      cmplst: (b1 & CMPLST) !== 0,
      defectListFormat: b1 & DEFECT_LIST_FORMAT,
    },
  };
}

/** SEND DIAGNOSTIC SELF-TEST CODE values (SPC-5); 011b and 111b are reserved. */
export const SelfTestCode = {
  /** With SELFTEST = 1: the default self-test; with SELFTEST = 0: process the parameter list. */
  DEFAULT: 0b000,
  BACKGROUND_SHORT: 0b001,
  BACKGROUND_EXTENDED: 0b010,
  ABORT_BACKGROUND: 0b100,
  FOREGROUND_SHORT: 0b101,
  FOREGROUND_EXTENDED: 0b110,
} as const;
export type SelfTestCode = (typeof SelfTestCode)[keyof typeof SelfTestCode];
const SELF_TEST_CODES: readonly number[] = Object.values(SelfTestCode);

/** A decoded SEND DIAGNOSTIC CDB. */
export interface SendDiagnosticCdb {
  /** SELF-TEST CODE (byte 1 bits 7..5). */
  readonly selfTestCode: SelfTestCode;
  /** PF (byte 1 bit 4). */
  readonly pf: boolean;
  /** SELFTEST (byte 1 bit 2): run the default self-test. */
  readonly selfTest: boolean;
  /** DEVOFFL (byte 1 bit 1). */
  readonly devOffL: boolean;
  /** UNITOFFL (byte 1 bit 0). */
  readonly unitOffL: boolean;
  /** PARAMETER LIST LENGTH (bytes 3..4). */
  readonly parameterListLength: number;
}

const SELF_TEST_CODE_SHIFT = 5; // byte 1 bits 7..5
const DIAG_PF = 0x10; // byte 1 bit 4
const SELFTEST = 0x04; // byte 1 bit 2
const DEVOFFL = 0x02; // byte 1 bit 1
const UNITOFFL = 0x01; // byte 1 bit 0
const SELF_TEST_CODE_FIELD = { byte: 1, bit: 7 } as const;

/** Encodes SEND DIAGNOSTIC. Throws RangeError for a reserved code, or a code together with SELFTEST. */
export function encodeSendDiagnostic(cmd: Partial<SendDiagnosticCdb> = {}): Uint8Array {
  const code = cmd.selfTestCode ?? SelfTestCode.DEFAULT;
  const parameterListLength = cmd.parameterListLength ?? 0;
  assertUint('parameterListLength', parameterListLength, U16_MAX);
  if (!SELF_TEST_CODES.includes(code)) throw new RangeError(`SELF-TEST CODE ${code} is reserved`);
  if (cmd.selfTest === true && code !== SelfTestCode.DEFAULT) throw new RangeError('SELFTEST = 1 needs SELF-TEST CODE 000b');
  const { cdb, v } = newCdb(6, ScsiOp.SEND_DIAGNOSTIC);
  v.setUint8(
    1,
    (code << SELF_TEST_CODE_SHIFT) |
      (cmd.pf === true ? DIAG_PF : 0) |
      (cmd.selfTest === true ? SELFTEST : 0) |
      (cmd.devOffL === true ? DEVOFFL : 0) |
      (cmd.unitOffL === true ? UNITOFFL : 0),
  );
  v.setUint16(3, parameterListLength);
  return cdb;
}

/**
 * Decodes SEND DIAGNOSTIC. A reserved SELF-TEST CODE, or a non-zero one with
 * SELFTEST = 1, → INVALID FIELD IN CDB at byte 1 bit 7 (SPC-5). Which self-tests
 * and diagnostic pages exist is the emulator's.
 */
export function decodeSendDiagnostic(cdb: Uint8Array, commands?: readonly CommandDescriptor[]): Decoded<SendDiagnosticCdb> {
  const checked = checkCdb(cdb, 'decodeSendDiagnostic', [ScsiOp.SEND_DIAGNOSTIC], commands);
  if (!checked.ok) return checked;
  const { v } = checked.value;
  const b1 = v.getUint8(1);
  const code = b1 >> SELF_TEST_CODE_SHIFT;
  const selfTest = (b1 & SELFTEST) !== 0;
  if (!SELF_TEST_CODES.includes(code) || (selfTest && code !== SelfTestCode.DEFAULT)) {
    return { ok: false, fault: invalidFieldInCdb(SELF_TEST_CODE_FIELD.byte, SELF_TEST_CODE_FIELD.bit) };
  }
  return {
    ok: true,
    value: {
      selfTestCode: code as SelfTestCode,
      pf: (b1 & DIAG_PF) !== 0,
      selfTest,
      devOffL: (b1 & DEVOFFL) !== 0,
      unitOffL: (b1 & UNITOFFL) !== 0,
      parameterListLength: v.getUint16(3),
    },
  };
}
