// Helpers for the reservation tests: PERSISTENT RESERVE IN/OUT CDBs and the
// PERSISTENT RESERVE OUT parameter list built byte by byte from the SPC-5
// tables (not with vtcam's encoders), the TYPE codes written out, and a unit
// driven as several I_T nexuses.

import { expect } from 'vitest';
import type { SbcResult } from '../../../src/scsi/sbc/execute-api.js';
import type { SbcEmulatorOptions } from '../../../src/scsi/sbc/unit-description.js';
import { bytes, hex, unit, type Unit } from './harness.js';
import { z } from './spc-helpers.js';

// TYPE codes (SPC-5 PERSISTENT RESERVE OUT, Persistent reservation type codes).
export const WE = 0x1;
export const EA = 0x3;
export const WE_RO = 0x5;
export const EA_RO = 0x6;
export const WE_AR = 0x7;
export const EA_AR = 0x8;
export const TYPES = [WE, EA, WE_RO, EA_RO, WE_AR, EA_AR] as const;
export const ALL_REGISTRANTS: ReadonlySet<number> = new Set([WE_AR, EA_AR]);

// PERSISTENT RESERVE OUT service actions.
export const REGISTER = 0x0;
export const RESERVE = 0x1;
export const RELEASE = 0x2;
export const CLEAR = 0x3;
export const PREEMPT = 0x4;
export const PREEMPT_AND_ABORT = 0x5;
export const REGISTER_AND_IGNORE = 0x6;

// PERSISTENT RESERVE IN service actions.
export const READ_KEYS = 0x0;
export const READ_RESERVATION = 0x1;
export const REPORT_CAPABILITIES = 0x2;
export const READ_FULL_STATUS = 0x3;

export const RESERVATION_CONFLICT = 0x18;

const h2 = (n: number): string => n.toString(16).padStart(2, '0');
/** A 64-bit key as 8 hex bytes. */
export const key8 = (k: bigint): string => k.toString(16).padStart(16, '0').replace(/(..)(?!$)/g, '$1 ');

/**
 * PERSISTENT RESERVE OUT CDB: 5Fh, SERVICE ACTION (byte 1 bits 4..0), SCOPE |
 * TYPE (byte 2), reserved (3..4), PARAMETER LIST LENGTH (5..8), CONTROL.
 */
export function proutCdb(sa: number, type = 0, length = 24, scope = 0): Uint8Array {
  return bytes(`5f ${h2(sa)} ${h2((scope << 4) | type)} 00 00 ${length.toString(16).padStart(8, '0').replace(/(..)(?!$)/g, '$1 ')} 00`);
}

/**
 * The 24-byte parameter list: RESERVATION KEY (0..7), SERVICE ACTION
 * RESERVATION KEY (8..15), obsolete (16..19), SPEC_I_PT (20 bit 3) | ALL_TG_PT
 * (20 bit 2) | APTPL (20 bit 0), reserved (21), obsolete (22..23).
 */
export function proutList(rk: bigint, sark = 0n, byte20 = 0, byte21 = 0): Uint8Array {
  return bytes(`${key8(rk)} ${key8(sark)} ${z(4)} ${h2(byte20)} ${h2(byte21)} 00 00`);
}

/** PERSISTENT RESERVE IN CDB: 5Eh, SERVICE ACTION, reserved (2..6), ALLOCATION LENGTH (7..8), CONTROL. */
export function prinCdb(sa: number, allocation = 0x1000): Uint8Array {
  return bytes(`5e ${h2(sa)} 00 00 00 00 00 ${h2(allocation >> 8)} ${h2(allocation & 0xff)} 00`);
}

export const READ10_LBA1 = bytes('28 00 00 00 00 01 00 00 01 00');
export const WRITE10_LBA1 = bytes('2a 00 00 00 00 01 00 00 01 00');
export const TUR = bytes('00 00 00 00 00 00');
export const RESERVE6 = bytes('16 00 00 00 00 00');
export const RELEASE6 = bytes('17 00 00 00 00 00');
export const RESERVE10 = bytes('56 00 00 00 00 00 00 00 00 00');
export const RELEASE10 = bytes('57 00 00 00 00 00 00 00 00 00');

/** A unit and commands sent as I_T nexus `nexus`. */
export interface Nexuses {
  readonly u: Unit;
  as(nexus: string, cdb: Uint8Array | string, dataOut?: Uint8Array): Promise<SbcResult>;
  prout(nexus: string, sa: number, list: Uint8Array, type?: number): Promise<SbcResult>;
  prin(nexus: string, sa: number): Promise<Uint8Array>;
}

/** A fresh unit (1024 blocks of 512 bytes, no power-on unit attention), with options `emu`. */
export async function nexuses(emu: SbcEmulatorOptions = {}): Promise<Nexuses> {
  const u = await unit({}, emu);
  const as = (nexus: string, cdb: Uint8Array | string, dataOut?: Uint8Array): Promise<SbcResult> =>
    u.run(cdb, dataOut === undefined ? { nexus } : { nexus, dataOut });
  return {
    u,
    as,
    prout: (nexus, sa, list, type = 0) => as(nexus, proutCdb(sa, type), list),
    prin: async (nexus, sa) => {
      const r = await as(nexus, prinCdb(sa));
      expect(r.status, `PRIN ${sa}: sense ${hex(r.sense)}`).toBe(0);
      return r.data ?? new Uint8Array(0);
    },
  };
}

/** GOOD, no sense. */
export function good(r: SbcResult): void {
  expect(r.status, `sense ${hex(r.sense)}`).toBe(0);
}

/** RESERVATION CONFLICT: status 18h, no sense, no data (SAM-5). */
export function conflict(r: SbcResult): void {
  expect([r.status, r.sense, r.data]).toEqual([RESERVATION_CONFLICT, undefined, undefined]);
}

/** PRGENERATION of PERSISTENT RESERVE IN data. */
export const generation = (data: Uint8Array): number => new DataView(data.buffer, data.byteOffset, data.byteLength).getUint32(0);

/** The keys READ KEYS lists. */
export function keysOf(data: Uint8Array): bigint[] {
  const v = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const n = v.getUint32(4) / 8;
  return Array.from({ length: n }, (_, i) => v.getBigUint64(8 + 8 * i));
}
