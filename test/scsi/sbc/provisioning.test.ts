// Logical block provisioning commands through SbcEmulator.execute: WRITE SAME
// (10) 41h / (16) 93h, UNMAP 42h and GET LBA STATUS 9Eh/12h. CDBs and parameter
// lists are written byte by byte from the SBC-4 tables; expected parameter data
// is built from the same tables, never by the code under test.

import { describe, expect, test, vi } from 'vitest';
import type { BlockRange } from '../../../src/scsi/sbc/block-command-set.js';
import type { MemoryBlockOp } from '../../../src/scsi/sbc/memory-block-set.js';
import {
  DATA_PROTECT,
  ILLEGAL_REQUEST,
  MEDIUM_ERROR,
  block,
  bytes,
  expectGood,
  expectSense,
  hex,
  unit,
  unmapList,
  type Unit,
} from './harness.js';

const BS = 512;
const PATTERN = block(BS, 0x5a, true);
const ZERO = new Uint8Array(BS);

/** A fault hook failing every `op` with an I/O error. */
const failing = (op: MemoryBlockOp) => (o: MemoryBlockOp) => (o === op ? ('io-error' as const) : undefined);

/** Writes `n` blocks of `fill` at `lba` with WRITE (16) (93h is not involved). */
async function writeBlocks(u: Unit, lba: number, n: number, fill: number): Promise<void> {
  const cdb = new Uint8Array(16);
  const v = new DataView(cdb.buffer);
  v.setUint8(0, 0x8a); // WRITE (16)
  v.setBigUint64(2, BigInt(lba));
  v.setUint32(10, n);
  expectGood(await u.run(cdb, { dataOut: new Uint8Array(n * BS).fill(fill) }));
}

function ops(u: Unit, op: MemoryBlockOp): { lba: bigint | undefined; blocks: number | undefined; unmap: boolean | undefined }[] {
  return u.disk.calls.filter((c) => c.op === op).map(({ lba, blocks, unmap }) => ({ lba, blocks, unmap }));
}

function expectBlocks(u: Unit, from: number, to: number, want: Uint8Array): void {
  for (let lba = from; lba < to; lba++) expect(hex(u.disk.peek(BigInt(lba))), `block ${lba}`).toBe(hex(want));
}

/** UNMAP CDB with PARAMETER LIST LENGTH `len` (bytes 7..8). */
const unmapCdb = (len: number, b1 = 0): string => `42 ${hex(Uint8Array.of(b1))} 00 00 00 00 00 ${hex(Uint8Array.of(len >> 8, len & 0xff))} 00`;

describe('WRITE SAME', () => {
  test('(10): the block lands on every LBA of the range and nowhere else', async () => {
    const u = await unit();
    expectGood(await u.run('41 00 00 00 00 0a 00 00 04 00', { dataOut: PATTERN })); // LBA 10, 4 blocks
    expectBlocks(u, 10, 14, PATTERN);
    expectBlocks(u, 9, 10, ZERO);
    expectBlocks(u, 14, 15, ZERO);
    expect(ops(u, 'write')).toEqual([{ lba: 10n, blocks: 4, unmap: undefined }]);
  });

  test('a Data-Out longer or shorter than the one block is 0Eh/03h and writes nothing', async () => {
    const u = await unit();
    for (const data of [block(2 * BS, 0x11, true), block(BS / 2, 0x11, true)]) {
      expectSense(await u.run('41 00 00 00 00 0a 00 00 04 00', { dataOut: data }), { key: ILLEGAL_REQUEST, asc: 0x0e, ascq: 0x03 });
      expectSense(await u.run('93 00 00 00 00 00 00 00 00 0a 00 00 00 04 00 00', { dataOut: data }), { key: ILLEGAL_REQUEST, asc: 0x0e, ascq: 0x03 });
    }
    expect(ops(u, 'write')).toEqual([]);
    expectBlocks(u, 10, 14, ZERO);
  });

  test('(16): the block lands on every LBA, up to the last one', async () => {
    const u = await unit();
    expectGood(await u.run('93 00 00 00 00 00 00 00 03 fd 00 00 00 03 00 00', { dataOut: PATTERN })); // 1021..1023
    expectBlocks(u, 1021, 1024, PATTERN);
    expectBlocks(u, 1020, 1021, ZERO);
  });

  test('a large WRITE SAME with a non-zero block is written in chunks of at most 1 MiB', async () => {
    const u = await unit({ blocks: 8192 });
    expectGood(await u.run('93 00 00 00 00 00 00 00 00 64 00 00 13 88 00 00', { dataOut: PATTERN })); // LBA 100, 5000
    const w = ops(u, 'write');
    expect(w.length).toBeGreaterThanOrEqual(3);
    let next = 100n;
    for (const c of w) {
      expect(c.lba).toBe(next);
      expect((c.blocks ?? 0) * BS).toBeLessThanOrEqual(1024 * 1024);
      next += BigInt(c.blocks ?? 0);
    }
    expect(next).toBe(5100n);
    for (const lba of [100, 101, 2147, 2148, 4000, 5099]) expectBlocks(u, lba, lba + 1, PATTERN);
    expectBlocks(u, 99, 100, ZERO);
    expectBlocks(u, 5100, 5101, ZERO);
    expect(u.disk.mappedBlocks).toBe(5000);
  });

  test('chunks also respect the device transfer limit (4096-byte blocks)', async () => {
    const big = block(4096, 0x33, true);
    const u = await unit({ blockSize: 4096, maxTransferBlocks: 100 });
    expectGood(await u.run('41 00 00 00 00 00 00 00 fa 00', { dataOut: big })); // 250 blocks
    expect(ops(u, 'write').map((c) => c.blocks)).toEqual([100, 100, 50]);
    expect(hex(u.disk.peek(249n))).toBe(hex(big));
  });

  test('a zero block with UNMAP = 1 is write-zeroes with unmap: the blocks are deallocated and read as zeros', async () => {
    const u = await unit();
    await writeBlocks(u, 0, 8, 0xee);
    expectGood(await u.run('41 08 00 00 00 00 00 00 08 00', { dataOut: ZERO }));
    expect(ops(u, 'write-zeroes')).toEqual([{ lba: 0n, blocks: 8, unmap: true }]);
    expect(u.disk.mappedBlocks).toBe(0);
    const r = await u.run('28 00 00 00 00 00 00 00 08 00');
    expectGood(r);
    expect(r.data).toEqual(new Uint8Array(8 * BS));
  });

  test('a zero block without UNMAP is write-zeroes without unmap (blocks stay mapped)', async () => {
    const u = await unit();
    await writeBlocks(u, 0, 8, 0xee);
    expectGood(await u.run('93 00 00 00 00 00 00 00 00 00 00 00 00 08 00 00', { dataOut: ZERO }));
    expect(ops(u, 'write-zeroes')).toEqual([{ lba: 0n, blocks: 8, unmap: false }]);
    expect(u.disk.mappedBlocks).toBe(8);
    expectBlocks(u, 0, 8, ZERO);
  });

  test('write-zeroes is split to the device limit', async () => {
    const u = await unit({ writeZeroes: { maxBlocks: 3, mayUnmap: true } });
    expectGood(await u.run('41 08 00 00 00 10 00 00 08 00', { dataOut: ZERO }));
    expect(ops(u, 'write-zeroes')).toEqual([
      { lba: 16n, blocks: 3, unmap: true },
      { lba: 19n, blocks: 3, unmap: true },
      { lba: 22n, blocks: 2, unmap: true },
    ]);
  });

  test('a zero block with UNMAP = 1 and no write-zeroes is a discard when discarded blocks read as zeros', async () => {
    const u = await unit({ writeZeroes: false });
    await writeBlocks(u, 4, 4, 0xee);
    expectGood(await u.run('93 08 00 00 00 00 00 00 00 04 00 00 00 04 00 00', { dataOut: ZERO }));
    expect(ops(u, 'discard').map((c) => [c.lba, c.blocks])).toEqual([[4n, 4]]);
    expect(ops(u, 'write')).toHaveLength(1); // the setup write only
    expect(u.disk.mappedBlocks).toBe(0);
  });

  test('a zero block with UNMAP = 1 deallocates by discard when write-zeroes may not unmap', async () => {
    const u = await unit({ writeZeroes: { maxBlocks: 65536, mayUnmap: false } });
    await writeBlocks(u, 4, 4, 0xee);
    expectGood(await u.run('41 08 00 00 00 04 00 00 04 00', { dataOut: ZERO }));
    expect(u.disk.mappedBlocks).toBe(0);
    expectBlocks(u, 4, 8, ZERO);
  });

  test('a zero block with UNMAP = 1 is written when discard does not read back zeros and there is no write-zeroes', async () => {
    const u = await unit({ writeZeroes: false, discard: { maxBlocks: 65536, maxSegments: 64, granularity: 0, zeroes: false } });
    await writeBlocks(u, 4, 2, 0xee);
    expectGood(await u.run('41 08 00 00 00 04 00 00 02 00', { dataOut: ZERO }));
    expect(ops(u, 'discard')).toEqual([]);
    expectBlocks(u, 4, 6, ZERO);
  });

  test('non-zero data with UNMAP = 1 is written', async () => {
    const u = await unit();
    expectGood(await u.run('41 08 00 00 00 20 00 00 02 00', { dataOut: PATTERN }));
    expectBlocks(u, 32, 34, PATTERN);
    expect(ops(u, 'discard')).toEqual([]);
  });

  test('(16) NDOB = 1: zeros without a Data-Out Buffer (with and without UNMAP)', async () => {
    const u = await unit();
    await writeBlocks(u, 0, 6, 0xee);
    expect(u.lu.dataOutLength(bytes('93 09 00 00 00 00 00 00 00 00 00 00 00 03 00 00'))).toBe(0);
    expect(u.lu.dataOutLength(bytes('93 00 00 00 00 00 00 00 00 00 00 00 00 03 00 00'))).toBe(BS);
    expectGood(await u.run('93 09 00 00 00 00 00 00 00 00 00 00 00 03 00 00'));
    expectGood(await u.run('93 01 00 00 00 00 00 00 00 03 00 00 00 03 00 00'));
    expectBlocks(u, 0, 6, ZERO);
    expect(u.disk.mappedBlocks).toBe(3); // 3..5 zeroed in place, 0..2 deallocated
  });

  test('NUMBER OF LOGICAL BLOCKS 0 (WSNZ = 0) writes from the LBA to the end of the medium; at LBA = capacity nothing', async () => {
    const u = await unit();
    expectGood(await u.run('41 00 00 00 03 f0 00 00 00 00', { dataOut: PATTERN })); // LBA 1008: 16 blocks
    expectBlocks(u, 1008, 1024, PATTERN);
    expect(hex(u.disk.peek(1007n))).toBe(hex(ZERO));
    expectGood(await u.run('93 00 00 00 00 00 00 00 03 fc 00 00 00 00 00 00', { dataOut: ZERO })); // (16) LBA 1020: 4 blocks
    expectBlocks(u, 1020, 1024, ZERO);
    u.disk.calls.length = 0;
    expectGood(await u.run('41 00 00 00 04 00 00 00 00 00', { dataOut: PATTERN }));
    expect(u.disk.calls).toEqual([]);
  });

  test('NUMBER OF LOGICAL BLOCKS 0 counts the rest of the medium against MAXIMUM WRITE SAME LENGTH', async () => {
    const u = await unit({}, { maxWriteSameBlocks: 16 });
    expectSense(await u.run('41 00 00 00 03 ef 00 00 00 00', { dataOut: PATTERN }), { key: ILLEGAL_REQUEST, asc: 0x24, ascq: 0, field: { byte: 7 } }); // 17 left
    expectSense(await u.run('93 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00', { dataOut: PATTERN }), { key: ILLEGAL_REQUEST, asc: 0x24, ascq: 0, field: { byte: 10 } });
    expect(u.disk.calls).toEqual([]);
    expectGood(await u.run('41 00 00 00 03 f0 00 00 00 00', { dataOut: PATTERN })); // 16 left
    expectBlocks(u, 1008, 1024, PATTERN);
  });

  test('more blocks than maxWriteSameBlocks → INVALID FIELD IN CDB at the length field', async () => {
    const u = await unit({}, { maxWriteSameBlocks: 16 });
    expectSense(await u.run('41 00 00 00 00 00 00 00 11 00', { dataOut: PATTERN }), { key: ILLEGAL_REQUEST, asc: 0x24, ascq: 0, field: { byte: 7 } });
    expectSense(await u.run('93 00 00 00 00 00 00 00 00 00 00 00 00 11 00 00', { dataOut: PATTERN }), {
      key: ILLEGAL_REQUEST, asc: 0x24, ascq: 0, field: { byte: 10 },
    });
    expect(u.disk.calls).toEqual([]);
    expectGood(await u.run('41 00 00 00 00 00 00 00 10 00', { dataOut: PATTERN }));
    expectBlocks(u, 15, 16, PATTERN);
  });

  test('out of range → LBA OUT OF RANGE, before the length checks', async () => {
    const u = await unit({}, { maxWriteSameBlocks: 16 });
    const oor = { key: ILLEGAL_REQUEST, asc: 0x21, ascq: 0 };
    expectSense(await u.run('41 00 00 00 03 fc 00 00 05 00', { dataOut: PATTERN }), oor); // 1020 + 5 > 1024
    expectSense(await u.run('41 00 00 00 03 fc 00 01 00 00', { dataOut: PATTERN }), oor); // also above the max
    expectSense(await u.run('41 00 00 00 04 01 00 00 00 00', { dataOut: PATTERN }), oor); // LBA 1025, 0 blocks
    expectSense(await u.run('93 00 ff ff ff ff ff ff ff ff 00 00 00 01 00 00', { dataOut: PATTERN }), oor);
    expectSense(await u.run('93 00 80 00 00 00 00 00 00 00 00 00 00 01 00 00', { dataOut: PATTERN }), oor);
    expect(u.disk.calls).toEqual([]);
    expectGood(await u.run('41 00 00 00 03 fc 00 00 04 00', { dataOut: PATTERN }));
  });

  test('UNMAP = 1 on a fully provisioned unit → INVALID FIELD IN CDB byte 1 bit 3, nothing written', async () => {
    const u = await unit({ discard: false, writeZeroes: false });
    const field = { key: ILLEGAL_REQUEST, asc: 0x24, ascq: 0, field: { byte: 1, bit: 3 } };
    expectSense(await u.run('41 08 00 00 00 00 00 00 01 00', { dataOut: PATTERN }), field);
    expectSense(await u.run('93 08 00 00 00 00 00 00 00 00 00 00 00 01 00 00', { dataOut: ZERO }), field);
    expectSense(await u.run('93 09 00 00 00 00 00 00 00 00 00 00 00 01 00 00'), field);
    expect(u.disk.calls).toEqual([]);
    expectGood(await u.run('41 00 00 00 00 00 00 00 01 00', { dataOut: PATTERN }));
    expectBlocks(u, 0, 1, PATTERN);
  });

  test.each([
    ['ANCHOR with UNMAP', 4, '41 18'],
    ['ANCHOR alone', 4, '41 10'],
    ['PBDATA (obsolete)', 2, '41 04'],
    ['LBDATA (obsolete)', 1, '41 02'],
    ['PBDATA and LBDATA', 2, '41 06'],
    ['byte 1 bit 0 of the 10-byte CDB (obsolete)', 0, '41 01'],
    // WRPROTECT (bits 7..5) is one field: pointed at by its first bit, bit 7 (SPC-5 4.4.2.4.2).
    ['WRPROTECT 1', 7, '41 20'],
    ['WRPROTECT 7', 7, '41 e0'],
    ['(16) ANCHOR with UNMAP', 4, '93 18'],
    ['(16) LBDATA', 1, '93 02'],
    ['(16) WRPROTECT 3', 7, '93 60'],
  ])('%s → INVALID FIELD IN CDB at byte 1 bit %i', async (_name, bit, head) => {
    const u = await unit();
    const cdb = head.startsWith('41') ? `${head} 00 00 00 00 00 00 01 00` : `${head} 00 00 00 00 00 00 00 00 00 00 00 01 00 00`;
    expectSense(await u.run(cdb, { dataOut: PATTERN }), { key: ILLEGAL_REQUEST, asc: 0x24, ascq: 0, field: { byte: 1, bit } });
    expect(u.disk.calls).toEqual([]);
  });

  test('read-only: DATA PROTECT, WRITE PROTECTED, even with UNMAP = 1 and no Data-Out', async () => {
    const u = await unit({ readOnly: true });
    const wp = { key: DATA_PROTECT, asc: 0x27, ascq: 0 };
    expectSense(await u.run('41 00 00 00 00 00 00 00 01 00', { dataOut: PATTERN }), wp);
    expectSense(await u.run('41 08 00 00 00 00 00 00 01 00'), wp);
    expectSense(await u.run('93 08 00 00 00 00 00 00 00 00 00 00 00 01 00 00'), wp);
    expectSense(await u.run('93 09 00 00 00 00 00 00 00 00 00 00 00 01 00 00'), wp);
    expectSense(await u.run('41 00 00 00 00 00 00 00 00 00'), wp); // before the NUMBER OF LOGICAL BLOCKS check
    expect(u.disk.calls).toEqual([]);
  });

  test('Data-Out shorter than one block → INVALID FIELD IN COMMAND INFORMATION UNIT, nothing written', async () => {
    const u = await unit();
    const short = { key: ILLEGAL_REQUEST, asc: 0x0e, ascq: 0x03 };
    expectSense(await u.run('41 00 00 00 00 00 00 00 02 00', { dataOut: PATTERN.subarray(0, BS - 1) }), short);
    expectSense(await u.run('41 08 00 00 00 00 00 00 02 00'), short);
    expectSense(await u.run('93 00 00 00 00 00 00 00 00 00 00 00 00 02 00 00', { dataOut: new Uint8Array(BS / 2) }), short);
    expect(u.disk.calls).toEqual([]);
  });

  test('device failures: write → 03h/0Ch/00h, write-zeroes → 03h/0Ch/00h, out of space → 07h/27h/07h', async () => {
    const w = await unit({ fault: failing('write') });
    // One block: the failing block is known; two: the device does not say which (VALID 0).
    expectSense(await w.run('41 00 00 00 00 05 00 00 01 00', { dataOut: PATTERN }), { key: MEDIUM_ERROR, asc: 0x0c, ascq: 0, information: 5 });
    expectSense(await w.run('41 00 00 00 00 05 00 00 02 00', { dataOut: PATTERN }), { key: MEDIUM_ERROR, asc: 0x0c, ascq: 0, information: 'invalid' });
    expect(w.disk.mappedBlocks).toBe(0);
    const z = await unit({ fault: failing('write-zeroes') });
    expectSense(await z.run('41 08 00 00 00 07 00 00 02 00', { dataOut: ZERO }), { key: MEDIUM_ERROR, asc: 0x0c, ascq: 0, information: 'invalid' });
    expectSense(await z.run('41 08 00 00 00 07 00 00 01 00', { dataOut: ZERO }), { key: MEDIUM_ERROR, asc: 0x0c, ascq: 0, information: 7 });
    const full = await unit({ fault: (op) => (op === 'write' ? 'no-space' : undefined) });
    expectSense(await full.run('41 00 00 00 00 00 00 00 01 00', { dataOut: PATTERN }), { key: DATA_PROTECT, asc: 0x27, ascq: 0x07 });
    // The units still work for what does not fail.
    expectGood(await w.run('41 00 00 00 00 05 00 00 02 00', { dataOut: ZERO }));
    expectGood(await z.run('41 00 00 00 00 07 00 00 01 00', { dataOut: PATTERN }));
  });
});

describe('UNMAP', () => {
  test('deallocates every block of every descriptor and nothing else', async () => {
    const u = await unit();
    await writeBlocks(u, 0, 16, 0x77);
    const list = bytes('00 26 00 20 00 00 00 00' +
      ' 00 00 00 00 00 00 00 02 00 00 00 03 00 00 00 00' + // LBA 2, 3 blocks
      ' 00 00 00 00 00 00 00 0a 00 00 00 02 00 00 00 00'); // LBA 10, 2 blocks
    expect(hex(list)).toBe(hex(unmapList([[2n, 3], [10n, 2]])));
    expectGood(await u.run(unmapCdb(40), { dataOut: list }));
    expect(u.disk.mappedBlocks).toBe(11);
    expectBlocks(u, 2, 5, ZERO);
    expectBlocks(u, 10, 12, ZERO);
    for (const lba of [0, 1, 5, 9, 12, 15]) expectBlocks(u, lba, lba + 1, new Uint8Array(BS).fill(0x77));
  });

  test('descriptors with 0 blocks (also at LBA = capacity), an empty list and PARAMETER LIST LENGTH 0 → GOOD, no discard', async () => {
    const u = await unit();
    const spy = vi.spyOn(u.disk, 'discard');
    expectGood(await u.run(unmapCdb(40), { dataOut: unmapList([[0n, 0], [1024n, 0]]) }));
    expectGood(await u.run(unmapCdb(8), { dataOut: bytes('00 06 00 00 00 00 00 00') }));
    expectGood(await u.run(unmapCdb(0)));
    expect(u.lu.dataOutLength(bytes(unmapCdb(0)))).toBe(0);
    expect(spy).not.toHaveBeenCalled();
  });

  test.each([1, 2, 7])('a %i-byte parameter list → PARAMETER LIST LENGTH ERROR', async (n) => {
    const u = await unit();
    await writeBlocks(u, 0, 1, 0x77);
    expectSense(await u.run(unmapCdb(n), { dataOut: unmapList([[0n, 1]]).subarray(0, n) }), { key: ILLEGAL_REQUEST, asc: 0x1a, ascq: 0 });
    expect(u.disk.mappedBlocks).toBe(1);
  });

  test('PARAMETER LIST LENGTH 1..7, or a list that arrives without its header → PARAMETER LIST LENGTH ERROR', async () => {
    const u = await unit();
    await writeBlocks(u, 0, 1, 0x77);
    const err = { key: ILLEGAL_REQUEST, asc: 0x1a, ascq: 0 };
    expectSense(await u.run(unmapCdb(7)), err);
    expectSense(await u.run(unmapCdb(1), { dataOut: unmapList([[0n, 1]]) }), err); // only 1 byte is the list
    expectSense(await u.run(unmapCdb(24)), err);
    expectSense(await u.run(unmapCdb(24), { dataOut: unmapList([[0n, 1]]).subarray(0, 4) }), err);
    expect(u.disk.mappedBlocks).toBe(1);
  });

  // The header arrived, the descriptors it announces did not (all or in part): nothing is unmapped.
  test.each([
    [24, 8],
    [24, 16],
    [24, 23],
    [40, 24],
    [40, 39],
  ])('PARAMETER LIST LENGTH %i with %i bytes of Data-Out → PARAMETER LIST LENGTH ERROR, nothing unmapped', async (len, sent) => {
    const u = await unit();
    await writeBlocks(u, 0, 8, 0x77);
    const list = unmapList([[5n, 1], [6n, 1]]).subarray(0, len);
    list[1] = len - 2; // UNMAP DATA LENGTH
    list[3] = len - 8; // UNMAP BLOCK DESCRIPTOR DATA LENGTH
    expectSense(await u.run(unmapCdb(len), { dataOut: list.subarray(0, sent) }), { key: ILLEGAL_REQUEST, asc: 0x1a, ascq: 0 });
    expect(ops(u, 'discard')).toEqual([]);
    expect(u.disk.mappedBlocks).toBe(8);
    expectGood(await u.run(unmapCdb(len), { dataOut: list }));
    expect(u.disk.mappedBlocks).toBe(8 - (len - 8) / 16);
  });

  test('a trailing partial descriptor (UNMAP BLOCK DESCRIPTOR DATA LENGTH not a multiple of 16) is ignored', async () => {
    const u = await unit();
    await writeBlocks(u, 0, 4, 0x77);
    const list = new Uint8Array(36);
    list.set(unmapList([[0n, 1], [1n, 1]]).subarray(0, 36));
    list[1] = 34; // UNMAP DATA LENGTH
    list[3] = 28; // UNMAP BLOCK DESCRIPTOR DATA LENGTH: one whole descriptor and 12 bytes
    expectGood(await u.run(unmapCdb(36), { dataOut: list }));
    expect(u.disk.mappedBlocks).toBe(3);
    expectBlocks(u, 0, 1, ZERO);
  });

  test('a non-zero reserved byte → INVALID FIELD IN PARAMETER LIST, C/D = 0, nothing unmapped', async () => {
    const u = await unit();
    await writeBlocks(u, 0, 4, 0x77);
    const cases: [number, number, number][] = [[4, 0x80, 7], [7, 0x01, 0], [8 + 12, 0x10, 4], [8 + 16 + 15, 0x02, 1]];
    for (const [at, value, bit] of cases) {
      const list = unmapList([[0n, 1], [1n, 1]]);
      list[at] = value;
      expectSense(await u.run(unmapCdb(40), { dataOut: list }), { key: ILLEGAL_REQUEST, asc: 0x26, ascq: 0, field: { byte: at, bit, cdb: false } });
    }
    expect(u.disk.mappedBlocks).toBe(4);
  });

  test('more descriptors than maxUnmapBlockDescriptors → 26h/00h at UNMAP BLOCK DESCRIPTOR DATA LENGTH', async () => {
    const u = await unit({}, { maxUnmapBlockDescriptors: 2 });
    await writeBlocks(u, 0, 4, 0x77);
    expectSense(await u.run(unmapCdb(56), { dataOut: unmapList([[0n, 1], [1n, 1], [2n, 1]]) }), {
      key: ILLEGAL_REQUEST, asc: 0x26, ascq: 0, field: { byte: 2, cdb: false },
    });
    expect(u.disk.mappedBlocks).toBe(4);
    expectGood(await u.run(unmapCdb(40), { dataOut: unmapList([[0n, 1], [1n, 1]]) }));
    expect(u.disk.mappedBlocks).toBe(2);
  });

  test('more blocks in total than maxUnmapLbaCount → 26h/00h at the NUMBER OF LOGICAL BLOCKS that crossed it', async () => {
    const u = await unit({}, { maxUnmapLbaCount: 10 });
    await writeBlocks(u, 0, 32, 0x77);
    expectSense(await u.run(unmapCdb(56), { dataOut: unmapList([[0n, 4], [10n, 4], [20n, 4]]) }), {
      key: ILLEGAL_REQUEST, asc: 0x26, ascq: 0, field: { byte: 8 + 16 * 2 + 8, cdb: false },
    });
    expectSense(await u.run(unmapCdb(24), { dataOut: unmapList([[0n, 11]]) }), {
      key: ILLEGAL_REQUEST, asc: 0x26, ascq: 0, field: { byte: 16, cdb: false },
    });
    expect(u.disk.mappedBlocks).toBe(32);
    expectGood(await u.run(unmapCdb(40), { dataOut: unmapList([[0n, 4], [10n, 6]]) }));
    expect(u.disk.mappedBlocks).toBe(22);
  });

  test('an out-of-range descriptor → LBA OUT OF RANGE and nothing is unmapped, not even earlier descriptors', async () => {
    const u = await unit();
    await writeBlocks(u, 0, 8, 0x77);
    const spy = vi.spyOn(u.disk, 'discard');
    const oor = { key: ILLEGAL_REQUEST, asc: 0x21, ascq: 0 };
    expectSense(await u.run(unmapCdb(40), { dataOut: unmapList([[0n, 4], [1022n, 3]]) }), oor);
    expectSense(await u.run(unmapCdb(40), { dataOut: unmapList([[0n, 4], [0xffff_ffff_ffff_ffffn, 1]]) }), oor);
    expectSense(await u.run(unmapCdb(24), { dataOut: unmapList([[1025n, 0]]) }), oor);
    expect(spy).not.toHaveBeenCalled();
    expect(u.disk.mappedBlocks).toBe(8);
  });

  test('a descriptor is discarded in pieces within the device maxBlocks / maxSegments', async () => {
    const u = await unit({ discard: { maxBlocks: 4, maxSegments: 2, granularity: 0, zeroes: true } });
    await writeBlocks(u, 0, 12, 0x77);
    const spy = vi.spyOn(u.disk, 'discard'); // calls through
    expectGood(await u.run(unmapCdb(24), { dataOut: unmapList([[1n, 10]]) }));
    const seen: (readonly BlockRange[])[] = spy.mock.calls.map(([ranges]) => ranges);
    expect(seen).toEqual([
      [{ lba: 1n, blocks: 4 }, { lba: 5n, blocks: 4 }],
      [{ lba: 9n, blocks: 2 }],
    ]);
    expect(u.disk.mappedBlocks).toBe(2);
  });

  test('one segment per call: every piece is its own discard', async () => {
    const u = await unit({ discard: { maxBlocks: 3, maxSegments: 1, granularity: 0, zeroes: true } });
    await writeBlocks(u, 0, 12, 0x77);
    expectGood(await u.run(unmapCdb(24), { dataOut: unmapList([[1n, 10]]) }));
    expect(ops(u, 'discard').map((c) => [c.lba, c.blocks])).toEqual([[1n, 3], [4n, 3], [7n, 3], [10n, 1]]);
    expect(u.disk.mappedBlocks).toBe(2); // 0 and 11
  });

  // Calls of (1..8) and (9): a failed call names its block in INFORMATION only when it covered that one block.
  test.each([
    [5n, 'invalid' as const],
    [9n, 9],
  ])('a discard failing at LBA %i: INFORMATION %s', async (bad, info) => {
    const u = await unit({
      discard: { maxBlocks: 4, maxSegments: 2, granularity: 0, zeroes: true },
      fault: (op, lba) => (op === 'discard' && lba === bad ? 'io-error' : undefined),
    });
    await writeBlocks(u, 0, 12, 0x77);
    expectSense(await u.run(unmapCdb(24), { dataOut: unmapList([[1n, 9]]) }), { key: MEDIUM_ERROR, asc: 0x0c, ascq: 0, information: info });
  });

  test('ANCHOR → INVALID FIELD IN CDB byte 1 bit 0 (ANC_SUP 0)', async () => {
    const u = await unit();
    expectSense(await u.run(unmapCdb(24, 0x01), { dataOut: unmapList([[0n, 1]]) }), { key: ILLEGAL_REQUEST, asc: 0x24, ascq: 0, field: { byte: 1, bit: 0 } });
  });

  test('without a discard capability UNMAP is an unsupported operation code', async () => {
    const u = await unit({ discard: false });
    expectSense(await u.run(unmapCdb(24), { dataOut: unmapList([[0n, 1]]) }), { key: ILLEGAL_REQUEST, asc: 0x20, ascq: 0, field: { byte: 0 } });
    expect(u.disk.calls).toEqual([]);
  });

  test('read-only → DATA PROTECT, WRITE PROTECTED, whatever the list', async () => {
    const u = await unit({ readOnly: true });
    const wp = { key: DATA_PROTECT, asc: 0x27, ascq: 0 };
    expectSense(await u.run(unmapCdb(24), { dataOut: unmapList([[0n, 1]]) }), wp);
    expectSense(await u.run(unmapCdb(24)), wp);
    expectSense(await u.run(unmapCdb(3), { dataOut: bytes('00 00 00') }), wp);
    expect(u.disk.calls).toEqual([]);
  });

  test('a discard failure → MEDIUM ERROR, WRITE ERROR; the unit still works', async () => {
    let fail = true;
    const u = await unit({ fault: (op) => (op === 'discard' && fail ? 'io-error' : undefined) });
    await writeBlocks(u, 0, 4, 0x77);
    expectSense(await u.run(unmapCdb(24), { dataOut: unmapList([[2n, 2]]) }), { key: MEDIUM_ERROR, asc: 0x0c, ascq: 0, information: 'invalid' });
    expect(u.disk.mappedBlocks).toBe(4);
    fail = false;
    expectGood(await u.run(unmapCdb(24), { dataOut: unmapList([[2n, 2]]) }));
    expect(u.disk.mappedBlocks).toBe(2);
  });
});

/** GET LBA STATUS (16): 9Eh, SERVICE ACTION 12h, STARTING LBA (2..9), ALLOCATION LENGTH (10..13), REPORT TYPE (14). */
function glsCdb(lba: bigint, alloc: number, reportType = 0): Uint8Array {
  const cdb = new Uint8Array(16);
  const v = new DataView(cdb.buffer);
  v.setUint8(0, 0x9e);
  v.setUint8(1, 0x12);
  v.setBigUint64(2, lba);
  v.setUint32(10, alloc);
  v.setUint8(14, reportType);
  return cdb;
}

/**
 * Expected GET LBA STATUS parameter data, from the SBC-4 tables: PARAMETER DATA
 * LENGTH (bytes 0..3, n − 3), 3 reserved, byte 7 COMPLETION CONDITION (bits
 * 3..1, 000b: no indication) and RTP (bit 0, 1: REPORT TYPE processed); per
 * descriptor LBA (8), NUMBER OF LOGICAL BLOCKS (4), PROVISIONING STATUS (byte
 * 12 bits 3..0), 3 reserved.
 */
function lbaStatusData(ds: readonly (readonly [bigint, number, number])[]): string {
  const out = new Uint8Array(8 + 16 * ds.length);
  const v = new DataView(out.buffer);
  v.setUint32(0, out.length - 4);
  v.setUint8(7, 0x01);
  ds.forEach(([lba, n, status], k) => {
    v.setBigUint64(8 + 16 * k, lba);
    v.setUint32(16 + 16 * k, n);
    v.setUint8(20 + 16 * k, status);
  });
  return hex(out);
}

describe('GET LBA STATUS', () => {
  test('a fully unmapped disk is one deallocated descriptor', async () => {
    const u = await unit();
    const r = await u.run('9e 12 00 00 00 00 00 00 00 00 00 00 01 00 00 00');
    expectGood(r);
    expect(hex(r.data)).toBe('00 00 00 14 00 00 00 01 00 00 00 00 00 00 00 00 00 00 04 00 01 00 00 00');
  });

  // SBC-4 GET LBA STATUS parameter data header: PARAMETER DATA LENGTH (0..3),
  // reserved (4..6), byte 7 reserved (7..4), COMPLETION CONDITION (3..1) 000b,
  // RTP (0) 1, for every REPORT TYPE the unit processes (descriptors or not).
  test.each([
    [0x00, '00 00 00 54 00 00 00 01'], // all: 5 descriptors, 8 + 80 − 4 bytes
    [0x01, '00 00 00 34 00 00 00 01'], // non-zero provisioning status: 3
    [0x02, '00 00 00 24 00 00 00 01'], // mapped: 2
    [0x03, '00 00 00 34 00 00 00 01'], // deallocated: 3
    [0x04, '00 00 00 04 00 00 00 01'], // anchored: none
  ])('REPORT TYPE %i: the parameter data header is %s', async (reportType, header) => {
    const u = await unit();
    await writeBlocks(u, 10, 10, 0x11);
    await writeBlocks(u, 30, 1, 0x22);
    const r = await u.run(glsCdb(0n, 256, reportType));
    expectGood(r);
    expect(hex(r.data?.subarray(0, 8))).toBe(header);
  });

  async function fragmented(): Promise<Unit> {
    const u = await unit();
    await writeBlocks(u, 10, 10, 0x11); // 10..19 mapped
    await writeBlocks(u, 30, 1, 0x22); // 30 mapped
    return u;
  }

  test('mapped and deallocated runs; the first descriptor starts at the requested LBA inside a run', async () => {
    const u = await fragmented();
    const r = await u.run(glsCdb(15n, 256));
    expectGood(r);
    expect(hex(r.data)).toBe(lbaStatusData([[15n, 5, 0], [20n, 10, 1], [30n, 1, 0], [31n, 993, 1]]));
    expect(hex(r.data?.subarray(0, 4))).toBe('00 00 00 44');
    const r0 = await u.run(glsCdb(0n, 256));
    expect(hex(r0.data)).toBe(lbaStatusData([[0n, 10, 1], [10n, 10, 0], [20n, 10, 1], [30n, 1, 0], [31n, 993, 1]]));
    const last = await u.run(glsCdb(1023n, 256));
    expect(hex(last.data)).toBe(lbaStatusData([[1023n, 1, 1]]));
  });

  test('the ALLOCATION LENGTH limits the descriptors (PARAMETER DATA LENGTH counts those returned)', async () => {
    const u = await fragmented();
    expect(hex((await u.run(glsCdb(0n, 40))).data)).toBe(lbaStatusData([[0n, 10, 1], [10n, 10, 0]]));
    expect(hex((await u.run(glsCdb(0n, 24))).data)).toBe(lbaStatusData([[0n, 10, 1]]));
    expect(hex((await u.run(glsCdb(0n, 39))).data)).toBe(lbaStatusData([[0n, 10, 1]]));
    expect(hex((await u.run(glsCdb(0n, 12))).data)).toBe(lbaStatusData([[0n, 10, 1]]).slice(0, 12 * 3 - 1));
    const none = await u.run(glsCdb(0n, 0));
    expectGood(none);
    expect(none.data?.length ?? 0).toBe(0);
  });

  test('STARTING LBA at or past the capacity → LBA OUT OF RANGE', async () => {
    const u = await unit();
    for (const lba of [1024n, 1025n, 1n << 63n, 0xffff_ffff_ffff_ffffn]) {
      expectSense(await u.run(glsCdb(lba, 24)), { key: ILLEGAL_REQUEST, asc: 0x21, ascq: 0 });
    }
    expect(u.disk.calls).toEqual([]);
  });

  test('REPORT TYPE 02h (mapped), 03h (deallocated) and 01h (non-zero status) filter the descriptors', async () => {
    const u = await fragmented();
    expect(hex((await u.run(glsCdb(0n, 256, 0x02))).data)).toBe(lbaStatusData([[10n, 10, 0], [30n, 1, 0]]));
    const dealloc = lbaStatusData([[0n, 10, 1], [20n, 10, 1], [31n, 993, 1]]);
    expect(hex((await u.run(glsCdb(0n, 256, 0x03))).data)).toBe(dealloc);
    expect(hex((await u.run(glsCdb(0n, 256, 0x01))).data)).toBe(dealloc);
    expect(hex((await u.run(glsCdb(0n, 256, 0x04))).data)).toBe(lbaStatusData([])); // nothing is anchored
    expectSense(await u.run(glsCdb(0n, 256, 0x05)), { key: ILLEGAL_REQUEST, asc: 0x24, ascq: 0, field: { byte: 14 } });
  });

  test('without an allocation query: one "mapped or unknown" descriptor to the end', async () => {
    const u = await unit({ mapping: false });
    expect(hex((await u.run(glsCdb(100n, 256))).data)).toBe(lbaStatusData([[100n, 924, 0]]));
    const huge = await unit({ mapping: false, blocks: 1n << 40n });
    expect(hex((await huge.run(glsCdb(0n, 40))).data)).toBe(lbaStatusData([[0n, 0xffff_ffff, 0], [0xffff_ffffn, 0xffff_ffff, 0]]));
  });

  test('a mapping failure → MEDIUM ERROR, UNRECOVERED READ ERROR', async () => {
    const u = await unit({ fault: failing('mapping') });
    expectSense(await u.run(glsCdb(7n, 24)), { key: MEDIUM_ERROR, asc: 0x11, ascq: 0, information: 7 });
  });
});
