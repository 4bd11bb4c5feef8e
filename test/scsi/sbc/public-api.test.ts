// The README's SBC example, through the package entry point: the names it
// imports exist and behave as the README says.

import { describe, expect, test } from 'vitest';
import { SbcEmulator, MemoryBlockSet, encodeRw, describeSense, executesOnce, ScsiStatus } from '../../../src/index.js';

describe('README example', () => {
  test('a READ past the end reports the power-on unit attention first, then LBA OUT OF RANGE', async () => {
    const lu = await SbcEmulator.create(new MemoryBlockSet({ blocks: 2048, blockSize: 512 }));
    const cdb = encodeRw({ op: 'READ', lba: 4096n, blocks: 1 }, { minLength: 10 });
    expect(Array.from(cdb)).toEqual([0x28, 0, 0, 0, 0x10, 0, 0, 0, 1, 0]);
    const first = await lu.execute(cdb);
    expect(first.status).toBe(ScsiStatus.CHECK_CONDITION);
    expect(first.senseData && { key: first.senseData.key, asc: first.senseData.asc, ascq: first.senseData.ascq }).toEqual({ key: 6, asc: 0x29, ascq: 0 });
    const second = await lu.execute(cdb);
    expect(second.senseData && { key: second.senseData.key, asc: second.senseData.asc, ascq: second.senseData.ascq }).toEqual({ key: 5, asc: 0x21, ascq: 0 });
    expect(second.senseData && describeSense(second.senseData)).toMatch(/ILLEGAL REQUEST.*LOGICAL BLOCK ADDRESS OUT OF RANGE/);
  });
});

describe('executesOnce, for an initiator\'s own retry policy', () => {
  test('COMPARE AND WRITE and PERSISTENT RESERVE OUT must not be sent again after a timeout; READ may', () => {
    // COMPARE AND WRITE 89h; PERSISTENT RESERVE OUT 5Fh, service action 00h REGISTER (SPC-5); READ (10) 28h.
    expect(executesOnce(Uint8Array.of(0x89, 0, 0, 0, 0, 0, 0, 0, 0, 7, 0, 0, 0, 1, 0, 0))).toBe(true);
    expect(executesOnce(Uint8Array.of(0x5f, 0, 0, 0, 0, 0, 0, 0, 0x18, 0))).toBe(true);
    expect(executesOnce(Uint8Array.of(0x28, 0, 0, 0, 0, 7, 0, 0, 1, 0))).toBe(false);
  });
});
