// lbaRangeFault (SBC-4 LOGICAL BLOCK ADDRESS OUT OF RANGE): the range
// [lba, lba + blocks) must fit the medium. Checked at the edges of the medium,
// on media below and above 2^52 blocks (number arithmetic below, bigint above),
// and with bigint counts.

import { describe, expect, test } from 'vitest';
import { LBA_OUT_OF_RANGE, lbaRangeFault } from '../../../src/scsi/sbc/checks.js';
import type { LogicalUnit } from '../../../src/scsi/sbc/context.js';

/** Only `info.blocks` is read. */
const unitOf = (blocks: bigint): LogicalUnit => ({ info: { blocks } }) as unknown as LogicalUnit;

describe('lbaRangeFault', () => {
  const cases: readonly bigint[] = [1024n, 2n ** 52n - 1n, 2n ** 52n, 2n ** 64n - 1n];
  test.each(cases)('capacity %s: the last block fits, one past does not', (cap) => {
    const lu = unitOf(cap);
    expect(lbaRangeFault(lu, cap - 1n, 1)).toBeUndefined();
    expect(lbaRangeFault(lu, cap - 1n, 1n)).toBeUndefined();
    expect(lbaRangeFault(lu, 0n, 0)).toBeUndefined();
    // A zero-length range at the capacity touches no block; one past it is out of range.
    expect(lbaRangeFault(lu, cap, 0)).toBeUndefined();
    expect(lbaRangeFault(lu, cap + 1n, 0)).toBe(LBA_OUT_OF_RANGE);
    expect(lbaRangeFault(lu, cap - 1n, 2)).toBe(LBA_OUT_OF_RANGE);
    expect(lbaRangeFault(lu, cap - 1n, 2n)).toBe(LBA_OUT_OF_RANGE);
    expect(lbaRangeFault(lu, cap, 1)).toBe(LBA_OUT_OF_RANGE);
    expect(lbaRangeFault(lu, 0n, 0xffff_ffff)).toBe(cap >= 0xffff_ffffn ? undefined : LBA_OUT_OF_RANGE);
  });

  test('a count past 2^52 on a small medium, and one that only a bigint sum tells apart', () => {
    expect(lbaRangeFault(unitOf(1024n), 0n, 2 ** 53)).toBe(LBA_OUT_OF_RANGE);
    // 2^52 − 1 blocks from LBA 1 ends exactly at the capacity 2^52 (not below the number threshold).
    expect(lbaRangeFault(unitOf(2n ** 52n), 1n, 2 ** 52 - 1)).toBeUndefined();
    expect(lbaRangeFault(unitOf(2n ** 52n), 2n, 2 ** 52 - 1)).toBe(LBA_OUT_OF_RANGE);
    // Below the threshold: the largest exact sums.
    expect(lbaRangeFault(unitOf(2n ** 52n - 1n), 1n, 2 ** 52 - 2)).toBeUndefined();
    expect(lbaRangeFault(unitOf(2n ** 52n - 1n), 2n, 2 ** 52 - 2)).toBe(LBA_OUT_OF_RANGE);
  });

  test('a fractional count is a caller bug, as before (BigInt throws)', () => {
    expect(() => lbaRangeFault(unitOf(1024n), 0n, 1.5)).toThrow(RangeError);
  });
});
