// Helpers for the SPC command tests (spc*.test.ts): common CDBs, expected
// parameter data written as hex with zero runs and ASCII fields spelled out,
// and Data-In assertions that compare hex strings (readable diffs).

import { expect } from 'vitest';
import type { SbcResult } from '../../../src/scsi/sbc/execute-api.js';
import { bytes, expectGood, hex } from './harness.js';

/** `n` zero bytes as hex ("00 00 …"); empty for 0. */
export function z(n: number): string {
  return Array.from({ length: n }, () => '00').join(' ');
}

/** An ASCII string as hex bytes. */
export function ascii(s: string): string {
  return Array.from(s, (c) => c.charCodeAt(0).toString(16).padStart(2, '0')).join(' ');
}

/** Joins hex fragments, normalising the spacing. */
export function cat(...parts: readonly string[]): string {
  return hex(bytes(parts.filter((p) => p.trim() !== '').join(' ')));
}

/** GOOD with exactly `want` as Data-In. */
export function expectData(r: SbcResult, want: string): void {
  expectGood(r);
  expect(hex(r.data)).toBe(cat(want));
}

/** GOOD; returns the Data-In bytes (empty when none). */
export function dataOf(r: SbcResult): Uint8Array {
  expectGood(r);
  return r.data ?? new Uint8Array(0);
}

/** A 32-bit big-endian value as 4 hex bytes. */
export function u32(n: number): string {
  return hex(Uint8Array.of(n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff));
}

// Common CDBs and expected data, from the SPC-5 tables.
export const TUR = '00 00 00 00 00 00';
export const STOP = '1b 00 00 00 00 00'; // START STOP UNIT, START 0
export const REQUEST_SENSE = '03 00 00 00 fc 00'; // ALLOCATION LENGTH 252
export const INQUIRY_STD = '12 00 00 00 ff 00';
export const REPORT_LUNS = 'a0 00 00 00 00 00 00 00 01 00 00 00'; // ALLOCATION LENGTH 256
export const vpd = (page: number, alloc = 255): string => cat('12 01', page.toString(16).padStart(2, '0'), u32(alloc).slice(6), '00');
/** Fixed-format sense data (70h, ADDITIONAL SENSE LENGTH 0Ah) with only key/ASC/ASCQ. */
export const fixed = (key: number, asc: number, ascq: number): string =>
  cat('70 00', key.toString(16).padStart(2, '0'), z(4), '0a', z(4), asc.toString(16).padStart(2, '0'), ascq.toString(16).padStart(2, '0'), z(4));

// Standard INQUIRY data (SPC-5): PDT 00h, RMB 0, VERSION 06h (SPC-4), HISUP | RESPONSE DATA FORMAT 2,
// ADDITIONAL LENGTH 5Bh (96 - 5), 3PC (byte 5 bit 3: EXTENDED COPY), CMDQUE, identification, version
// descriptors SAM-5 00A0h, SPC-5 05C0h, SPC-4 0460h, SBC-4 0600h, SBC-3 04C0h.
export const STD_INQUIRY = cat(
  '00 00 06 12 5b 08 00 02',
  ascii('VTCAM   '), ascii('VIRTIO-BLK      '), ascii('0001'),
  z(22), '00 a0 05 c0 04 60 06 00 04 c0', z(6), z(22),
);

