// Shared helpers for the SBC emulator tests: a unit over an in-memory block
// set, CDB bytes from hex, and sense assertions that read the sense bytes
// (fixed format offsets from SPC-5: key byte 2 bits 3..0, ASC 12, ASCQ 13,
// SKSV byte 15 bit 7, C/D bit 6, BPV bit 3, bit pointer 2..0, field pointer 16..17).

import { expect } from 'vitest';
import { SbcEmulator } from '../../../src/scsi/sbc/emulator.js';
import type { ExecuteOptions, SbcResult } from '../../../src/scsi/sbc/execute-api.js';
import type { SbcEmulatorOptions } from '../../../src/scsi/sbc/unit-description.js';
import { MemoryBlockSet, type MemoryBlockSetOptions } from '../../../src/scsi/sbc/memory-block-set.js';

export interface Unit {
  readonly lu: SbcEmulator;
  readonly disk: MemoryBlockSet;
  run(cdb: Uint8Array | string, opts?: ExecuteOptions): Promise<SbcResult>;
}

/** CDB or parameter bytes from a hex string ("28 00 …"). */
export function bytes(hex: string): Uint8Array {
  const t = hex.trim();
  return t === '' ? new Uint8Array(0) : Uint8Array.from(t.split(/\s+/), (x) => parseInt(x, 16));
}

export function hex(b: Uint8Array | undefined): string {
  return Array.from(b ?? [], (x) => x.toString(16).padStart(2, '0')).join(' ');
}

/**
 * A unit over a fresh MemoryBlockSet (default 1024 blocks of 512 bytes). The
 * power-on unit attention is off unless `emu.powerOnUnitAttention` is set, so
 * each test sees only what it provokes.
 */
export async function unit(disk: Partial<MemoryBlockSetOptions> = {}, emu: SbcEmulatorOptions = {}): Promise<Unit> {
  const d = new MemoryBlockSet({ blocks: 1024, ...disk });
  const lu = await SbcEmulator.create(d, { powerOnUnitAttention: false, ...emu });
  return { lu, disk: d, run: (cdb, opts) => lu.execute(typeof cdb === 'string' ? bytes(cdb) : cdb, opts) };
}

export interface ExpectedSense {
  readonly key: number;
  readonly asc: number;
  readonly ascq: number;
  /** Field pointer: byte, optional bit, C/D (default true). Absent: SKSV must be 0. */
  readonly field?: { readonly byte: number; readonly bit?: number; readonly cdb?: boolean };
  /** INFORMATION (VALID = 1) in fixed format; 'invalid': VALID = 0 (no block named). */
  readonly information?: number | 'invalid';
}

/** Asserts CHECK CONDITION with fixed-format sense matching `want`, byte by byte. */
export function expectSense(r: SbcResult, want: ExpectedSense): void {
  expect(r.status, `status with sense ${hex(r.sense)}`).toBe(0x02);
  const s = r.sense;
  if (s === undefined) throw new Error('no sense');
  expect(s.length).toBe(18);
  const v = new DataView(s.buffer, s.byteOffset, s.byteLength);
  expect(v.getUint8(0) & 0x7f).toBe(0x70);
  expect({ key: v.getUint8(2) & 0x0f, asc: v.getUint8(12), ascq: v.getUint8(13) }).toEqual({ key: want.key, asc: want.asc, ascq: want.ascq });
  if (want.field === undefined) {
    expect(v.getUint8(15) & 0x80, 'SKSV').toBe(0);
  } else {
    const { byte, bit, cdb = true } = want.field;
    const b15 = 0x80 | (cdb ? 0x40 : 0) | (bit === undefined ? 0 : 0x08 | bit);
    expect(hex(s.subarray(15, 18))).toBe(hex(Uint8Array.of(b15, byte >> 8, byte & 0xff)));
  }
  if (want.information === 'invalid') {
    expect(v.getUint8(0) & 0x80, 'VALID').toBe(0);
    expect(v.getUint32(3), 'INFORMATION').toBe(0);
  } else if (want.information !== undefined) {
    expect(v.getUint8(0) & 0x80, 'VALID').toBe(0x80);
    expect(v.getUint32(3)).toBe(want.information);
  }
}

export function expectGood(r: SbcResult): void {
  expect(r.status, `sense ${hex(r.sense)}`).toBe(0x00);
  expect(r.sense).toBeUndefined();
}

/** A block of `size` bytes, every byte `fill` (or a pattern seeded by `fill` when `pattern`). */
export function block(size: number, fill: number, pattern = false): Uint8Array {
  const b = new Uint8Array(size);
  for (let i = 0; i < size; i++) b[i] = pattern ? (fill + i * 7) & 0xff : fill;
  return b;
}

// Sense keys and ASC/ASCQ written out from SPC-5 (not imported, so a wrong constant fails here).
export const ILLEGAL_REQUEST = 0x5;
export const MEDIUM_ERROR = 0x3;
export const HARDWARE_ERROR = 0x4;
export const NOT_READY = 0x2;
export const UNIT_ATTENTION = 0x6;
export const DATA_PROTECT = 0x7;
export const MISCOMPARE = 0xe;
export const NO_SENSE = 0x0;

/**
 * UNMAP parameter list from the SBC-4 table: UNMAP DATA LENGTH (bytes 0..1,
 * n − 1), UNMAP BLOCK DESCRIPTOR DATA LENGTH (bytes 2..3), 4 reserved bytes,
 * then per descriptor UNMAP LOGICAL BLOCK ADDRESS (8), NUMBER OF LOGICAL
 * BLOCKS (4) and 4 reserved bytes.
 */
export function unmapList(ds: readonly (readonly [bigint, number])[]): Uint8Array {
  const out = new Uint8Array(8 + 16 * ds.length);
  const v = new DataView(out.buffer);
  v.setUint16(0, out.length - 2);
  v.setUint16(2, 16 * ds.length);
  ds.forEach(([lba, n], k) => {
    v.setBigUint64(8 + 16 * k, lba);
    v.setUint32(16 + 16 * k, n);
  });
  return out;
}
