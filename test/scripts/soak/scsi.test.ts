// The soak's CDBs as bytes (SBC-4 layouts, written out here), and how it
// reads a SCSI status: what it says about the command's effect on the disk,
// from fixed and descriptor sense alike.

import { describe, expect, test } from 'vitest';
import { classify, compareAndWriteCdb, isDeferred, rwCdb, senseTriple, syncCache10Cdb, unmapCommand, writeSameCdb, writeSameUnmapCdb } from '../../../scripts/soak/scsi.js';

const hex = (b: Buffer): string => b.toString('hex').replace(/(..)/g, '$1 ').trim();

describe('CDBs', () => {
  test.each([
    ['READ (10) lba 0x10, 1 block', rwCdb(false, 0x10, 1, false), '28 00 00 00 00 10 00 00 01 00'],
    ['WRITE (10) lba 0x123456, 0x100 blocks', rwCdb(true, 0x123456, 0x100, false), '2a 00 00 12 34 56 00 01 00 00'],
    ['READ (16) lba 2^32, 1 block', rwCdb(false, 2 ** 32, 1, true), '88 00 00 00 00 01 00 00 00 00 00 00 00 01 00 00'],
    ['WRITE (16) lba 7, 2 blocks', rwCdb(true, 7, 2, true), '8a 00 00 00 00 00 00 00 00 07 00 00 00 02 00 00'],
    ['WRITE SAME (10) lba 9, 3 blocks', writeSameCdb(9, 3, false), '41 00 00 00 00 09 00 00 03 00'],
    ['WRITE SAME (16) lba 9, 3 blocks', writeSameCdb(9, 3, true), '93 00 00 00 00 00 00 00 00 09 00 00 00 03 00 00'],
    ['COMPARE AND WRITE lba 5, 8 blocks', compareAndWriteCdb(5, 8), '89 00 00 00 00 00 00 00 00 05 00 00 00 08 00 00'],
    ['WRITE SAME (10) UNMAP lba 9, 3 blocks', writeSameUnmapCdb(9, 3, false), '41 08 00 00 00 09 00 00 03 00'],
    ['WRITE SAME (16) UNMAP lba 9, 3 blocks', writeSameUnmapCdb(9, 3, true), '93 08 00 00 00 00 00 00 00 09 00 00 00 03 00 00'],
    ['SYNCHRONIZE CACHE (10), whole medium', syncCache10Cdb(false), '35 00 00 00 00 00 00 00 00 00'],
    ['SYNCHRONIZE CACHE (10), whole medium, IMMED', syncCache10Cdb(true), '35 02 00 00 00 00 00 00 00 00'],
  ])('%s', (_name, cdb, bytes) => {
    expect(hex(cdb)).toBe(bytes);
  });

  test('UNMAP of two ranges: PARAMETER LIST LENGTH 40; header 38, 32; descriptors LBA, count, reserved', () => {
    const { cdb, parameters } = unmapCommand([{ lba: 0x10, blocks: 8 }, { lba: 2 ** 32, blocks: 0x100 }]);
    expect(hex(cdb)).toBe('42 00 00 00 00 00 00 00 28 00');
    expect(hex(parameters)).toBe(
      '00 26 00 20 00 00 00 00 ' +
      '00 00 00 00 00 00 00 10 00 00 00 08 00 00 00 00 ' +
      '00 00 00 01 00 00 00 00 00 00 01 00 00 00 00 00');
  });
});

/** Fixed-format sense (70h): key in byte 2, ASC/ASCQ in 12/13. */
const fixed = (key: number, asc: number, ascq: number): Buffer => {
  const b = Buffer.alloc(18);
  b.set([0x70, 0, key], 0);
  b.set([asc, ascq], 12);
  return b;
};
/** Descriptor-format sense (72h): key, ASC, ASCQ in bytes 1..3. */
const descriptor = (key: number, asc: number, ascq: number): Buffer => Buffer.from([0x72, key, asc, ascq, 0, 0, 0, 0]);

describe('classify', () => {
  test.each([
    [0x00, undefined, 'GOOD', 'good'],
    [0x08, undefined, 'BUSY', 'not-done'],
    [0x28, undefined, 'TASK SET FULL', 'not-done'],
    [0x40, undefined, 'TASK ABORTED', 'unknown'],
    [0x02, fixed(0x6, 0x29, 0x03), 'CHECK CONDITION 06h/29h/03h', 'not-done'],
    [0x02, descriptor(0x6, 0x2f, 0x00), 'CHECK CONDITION 06h/2fh/00h', 'not-done'],
    [0x02, fixed(0xb, 0x2e, 0x03), 'CHECK CONDITION 0bh/2eh/03h', 'unknown'],
    [0x02, fixed(0xe, 0x1d, 0x00), 'CHECK CONDITION 0eh/1dh/00h', 'miscompare'],
    [0x02, fixed(0x3, 0x11, 0x00), 'CHECK CONDITION 03h/11h/00h', 'bad'],
    [0x02, Buffer.from([0x70, 0, 6]), 'CHECK CONDITION without sense', 'bad'],
    [0x18, undefined, 'status 18h', 'bad'],
    // A deferred error (71h fixed, 73h descriptor) is about an earlier command, whatever its key: the driver judges it.
    [0x02, Buffer.from([0x71, ...fixed(0x3, 0x0c, 0x00).subarray(1)]), 'CHECK CONDITION deferred 03h/0ch/00h', 'bad'],
    [0x02, Buffer.from([0x73, 0x6, 0x29, 0x00, 0, 0, 0, 0]), 'CHECK CONDITION deferred 06h/29h/00h', 'bad'],
  ])('status %i, sense %s: %s, %s', (status, sense, name, outcome) => {
    expect(classify(status, sense)).toEqual({ name, outcome });
  });

  test('isDeferred: response codes 71h and 73h only', () => {
    expect([0x70, 0x71, 0x72, 0x73, 0xf1].map((c) => isDeferred(Buffer.from([c, 0, 0, 0])))).toEqual([false, true, false, true, true]);
    expect(isDeferred(undefined)).toBe(false);
    expect(isDeferred(Buffer.alloc(0))).toBe(false);
  });

  test('sense in neither format has no triple', () => {
    expect(senseTriple(Buffer.from([0x7f, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]))).toBeUndefined();
  });
});
