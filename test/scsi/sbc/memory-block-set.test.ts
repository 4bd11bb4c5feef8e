// MemoryBlockSet: the in-memory sparse BlockCommandSet the SBC emulator tests
// run on. What it must get right for those tests to mean anything: unwritten
// and discarded blocks read as zeros, a failed operation (fault hook, read-only)
// changes nothing, a call beyond its limits is a caller bug (throws), and the
// call log records what was asked.

import { describe, expect, test } from 'vitest';
import { MemoryBlockSet, type MemoryBlockOp } from '../../../src/scsi/sbc/memory-block-set.js';
import type { BlockFailure } from '../../../src/scsi/sbc/block-command-set.js';
import { block } from './harness.js';

const BS = 512;

/** `n` blocks of `size` bytes, block k filled with `fill + k`. */
function blocks(n: number, fill: number, size = BS): Uint8Array {
  const out = new Uint8Array(n * size);
  for (let k = 0; k < n; k++) out.fill((fill + k) & 0xff, k * size, (k + 1) * size);
  return out;
}

async function readBack(d: MemoryBlockSet, lba: bigint, n: number, size = BS): Promise<Uint8Array> {
  const buf = new Uint8Array(n * size).fill(0xee); // not zero, so a read that fills nothing is seen
  expect(await d.read(lba, buf)).toBe('ok');
  return buf;
}

describe('MemoryBlockSet geometry and options', () => {
  test('defaults: 512-byte blocks, flush, discard 65536 × 64 zeroing, write-zeroes 65536 may unmap, no transfer limit', () => {
    const d = new MemoryBlockSet({ blocks: 100 });
    expect(d.geometry()).toEqual({
      blocks: 100n,
      blockSize: 512,
      physicalBlockExp: 0,
      lowestAlignedLba: 0,
      maxTransferBlocks: 0,
      optimalTransferBlocks: 0,
      flush: true,
      writeCacheChangeable: true,
      discard: { maxBlocks: 65536, maxSegments: 64, granularity: 0, zeroes: true },
      writeZeroes: { maxBlocks: 65536, mayUnmap: true },
    });
    expect(d.readOnly).toBe(false);
    expect(d.writeCacheEnabled()).toBe(true);
    expect(d.mapping).toBeTypeOf('function');
    expect(d.mappedBlocks).toBe(0);
  });

  test('capabilities can be taken away: discard, write-zeroes, flush, mapping', async () => {
    const d = new MemoryBlockSet({ blocks: 8, discard: false, writeZeroes: false, flush: false, mapping: false });
    const g = d.geometry();
    expect('discard' in g).toBe(false);
    expect('writeZeroes' in g).toBe(false);
    expect(g.flush).toBe(false);
    expect(d.mapping).toBeUndefined();
    expect(await d.discard([{ lba: 0n, blocks: 1 }])).toBe('unsupported');
    expect(await d.writeZeroes({ lba: 0n, blocks: 1 }, false)).toBe('unsupported');
    expect(await d.flush()).toBe('unsupported');
  });

  test('capacity below one block is a caller bug', () => {
    expect(() => new MemoryBlockSet({ blocks: 0 })).toThrow(RangeError);
    expect(() => new MemoryBlockSet({ blocks: -1n })).toThrow(RangeError);
    expect(new MemoryBlockSet({ blocks: 1n }).geometry().blocks).toBe(1n);
  });

  test('GET_ID: MEM0001 by default, else the configured serial', async () => {
    expect(await new MemoryBlockSet({ blocks: 1 }).getId()).toBe('MEM0001');
    expect(await new MemoryBlockSet({ blocks: 1, serial: 'S/N 42' }).getId()).toBe('S/N 42');
  });
});

describe('MemoryBlockSet data', () => {
  test('a block never written reads as zeros and is not mapped', async () => {
    const d = new MemoryBlockSet({ blocks: 16 });
    expect(await readBack(d, 0n, 16)).toEqual(new Uint8Array(16 * BS));
    expect(d.mappedBlocks).toBe(0);
    expect(d.peek(15n)).toEqual(new Uint8Array(BS));
  });

  test('write then read, several blocks, around untouched ones', async () => {
    const d = new MemoryBlockSet({ blocks: 16 });
    expect(await d.write(3n, blocks(3, 0x10))).toBe('ok');
    const got = await readBack(d, 2n, 5);
    expect(got.subarray(0, BS)).toEqual(new Uint8Array(BS));
    expect(got.subarray(BS, 4 * BS)).toEqual(blocks(3, 0x10));
    expect(got.subarray(4 * BS)).toEqual(new Uint8Array(BS));
    expect(d.mappedBlocks).toBe(3);
    expect(d.peek(4n)).toEqual(block(BS, 0x11));
  });

  test('stored blocks are copies: changing the source or a peek does not change the medium', async () => {
    const d = new MemoryBlockSet({ blocks: 4 });
    const src = block(BS, 0x5a);
    await d.write(1n, src);
    src.fill(0);
    d.peek(1n).fill(0);
    expect(d.peek(1n)).toEqual(block(BS, 0x5a));
  });

  test('the last block can be written and read; one past it is a caller bug', async () => {
    const d = new MemoryBlockSet({ blocks: 8 });
    expect(await d.write(7n, block(BS, 1))).toBe('ok');
    expect(d.peek(7n)).toEqual(block(BS, 1));
    expect(() => d.write(7n, new Uint8Array(2 * BS))).toThrow(RangeError);
    expect(() => d.read(8n, new Uint8Array(BS))).toThrow(RangeError);
    expect(() => d.read(-1n, new Uint8Array(BS))).toThrow(RangeError);
    expect(d.calls).toEqual([{ op: 'write', lba: 7n, blocks: 1 }]); // rejected calls are not logged
  });

  test('a buffer that is not whole blocks is a caller bug', () => {
    const d = new MemoryBlockSet({ blocks: 8 });
    expect(() => d.read(0n, new Uint8Array(BS + 1))).toThrow(RangeError);
    expect(() => d.write(0n, new Uint8Array(100))).toThrow(RangeError);
    expect(d.mappedBlocks).toBe(0);
  });

  test('4096-byte blocks', async () => {
    const d = new MemoryBlockSet({ blocks: 4, blockSize: 4096 });
    expect(d.geometry().blockSize).toBe(4096);
    expect(await d.write(2n, blocks(2, 0x40, 4096))).toBe('ok');
    expect(await readBack(d, 1n, 3, 4096)).toEqual(Uint8Array.from([...new Uint8Array(4096), ...blocks(2, 0x40, 4096)]));
    expect(() => d.write(0n, new Uint8Array(512))).toThrow(RangeError);
    expect(d.calls).toEqual([{ op: 'write', lba: 2n, blocks: 2 }, { op: 'read', lba: 1n, blocks: 3 }]);
  });

  test('record: false keeps no call log (long runs) and changes nothing else', async () => {
    const d = new MemoryBlockSet({ blocks: 4, record: false, fault: (op) => (op === 'flush' ? 'io-error' : undefined) });
    expect(await d.write(1n, blocks(1, 0x11))).toBe('ok');
    expect(await d.flush()).toBe('io-error');
    expect(d.calls).toEqual([]);
    expect(d.peek(1n)).toEqual(blocks(1, 0x11));
  });
});

describe('MemoryBlockSet discard and write-zeroes', () => {
  test('discard deallocates: zeros on read, no longer mapped', async () => {
    const d = new MemoryBlockSet({ blocks: 16 });
    await d.write(0n, blocks(8, 1));
    expect(await d.discard([{ lba: 1n, blocks: 2 }, { lba: 6n, blocks: 1 }])).toBe('ok');
    expect(d.mappedBlocks).toBe(5);
    expect(d.peek(1n)).toEqual(new Uint8Array(BS));
    expect(d.peek(2n)).toEqual(new Uint8Array(BS));
    expect(d.peek(3n)).toEqual(block(BS, 4));
    expect(d.peek(6n)).toEqual(new Uint8Array(BS));
    expect(d.calls.slice(1)).toEqual([
      { op: 'discard', lba: 1n, blocks: 2 },
      { op: 'discard', lba: 6n, blocks: 1 },
    ]);
  });

  test('discard past its limits (segments, blocks per segment, capacity) throws and changes nothing', async () => {
    const d = new MemoryBlockSet({ blocks: 64, discard: { maxBlocks: 4, maxSegments: 2, granularity: 0, zeroes: true } });
    await d.write(0n, blocks(8, 1));
    const one = { lba: 0n, blocks: 1 };
    expect(() => d.discard([one, { lba: 1n, blocks: 1 }, { lba: 2n, blocks: 1 }])).toThrow(/3 segments, limit 2/);
    expect(() => d.discard([one, { lba: 2n, blocks: 5 }])).toThrow(/5 blocks in one segment, limit 4/);
    expect(() => d.discard([one, { lba: 62n, blocks: 3 }])).toThrow(RangeError);
    expect(await d.discard([{ lba: 0n, blocks: 4 }, { lba: 4n, blocks: 4 }])).toBe('ok'); // exactly at both limits
    expect(d.mappedBlocks).toBe(0);
  });

  test('write-zeroes with unmap deallocates when the device may; otherwise it writes zeros', async () => {
    const may = new MemoryBlockSet({ blocks: 8 });
    await may.write(0n, blocks(4, 1));
    expect(await may.writeZeroes({ lba: 0n, blocks: 2 }, true)).toBe('ok');
    expect(may.mappedBlocks).toBe(2);
    expect(await may.writeZeroes({ lba: 2n, blocks: 2 }, false)).toBe('ok');
    expect(may.mappedBlocks).toBe(2); // written zeros stay mapped
    expect(await readBack(may, 0n, 4)).toEqual(new Uint8Array(4 * BS));

    const mayNot = new MemoryBlockSet({ blocks: 8, writeZeroes: { maxBlocks: 8, mayUnmap: false } });
    await mayNot.write(0n, blocks(2, 1));
    expect(await mayNot.writeZeroes({ lba: 0n, blocks: 3 }, true)).toBe('ok');
    expect(mayNot.mappedBlocks).toBe(3);
    expect(mayNot.peek(1n)).toEqual(new Uint8Array(BS));
    expect(mayNot.calls.at(-1)).toEqual({ op: 'write-zeroes', lba: 0n, blocks: 3, unmap: true });
  });

  test('write-zeroes over its limit or past the capacity throws and changes nothing', async () => {
    const d = new MemoryBlockSet({ blocks: 16, writeZeroes: { maxBlocks: 4, mayUnmap: true } });
    await d.write(0n, blocks(5, 1));
    expect(() => d.writeZeroes({ lba: 0n, blocks: 5 }, false)).toThrow(/5 blocks, limit 4/);
    expect(() => d.writeZeroes({ lba: 14n, blocks: 3 }, false)).toThrow(RangeError);
    expect(d.mappedBlocks).toBe(5);
    expect(d.peek(4n)).toEqual(block(BS, 5));
  });
});

describe('MemoryBlockSet mapping (GET LBA STATUS source)', () => {
  test('runs of mapped and unmapped blocks, cut at maxBlocks', async () => {
    const d = new MemoryBlockSet({ blocks: 12 });
    await d.write(2n, blocks(3, 1)); // 2..4 mapped
    await d.write(7n, blocks(1, 9)); // 7 mapped
    const map = d.mapping;
    if (map === undefined) throw new Error('mapping expected');
    expect(await map(0n, 12)).toEqual({ mapped: false, blocks: 2 });
    expect(await map(2n, 10)).toEqual({ mapped: true, blocks: 3 });
    expect(await map(3n, 1)).toEqual({ mapped: true, blocks: 1 });
    expect(await map(5n, 7)).toEqual({ mapped: false, blocks: 2 });
    expect(await map(7n, 5)).toEqual({ mapped: true, blocks: 1 });
    expect(await map(8n, 4)).toEqual({ mapped: false, blocks: 4 });
    expect(await map(8n, 2)).toEqual({ mapped: false, blocks: 2 });
    expect(await map(8n, 100)).toEqual({ mapped: false, blocks: 4 }); // the run stops at the capacity
    expect(await map(11n, 0xffff_ffff)).toEqual({ mapped: false, blocks: 1 });
    expect(() => map(12n, 1)).toThrow(RangeError);
    await d.discard([{ lba: 3n, blocks: 1 }]);
    expect(await map(2n, 10)).toEqual({ mapped: true, blocks: 1 });
    expect(await map(3n, 9)).toEqual({ mapped: false, blocks: 1 });
  });
});

describe('MemoryBlockSet resize', () => {
  test('shrinking drops the blocks past the new end; growing adds blocks that read as zeros', async () => {
    const d = new MemoryBlockSet({ blocks: 8 });
    await d.write(0n, blocks(8, 1));
    d.resize(4n);
    expect(d.geometry().blocks).toBe(4n);
    expect(d.mappedBlocks).toBe(4);
    expect(() => d.read(4n, new Uint8Array(BS))).toThrow(RangeError);
    d.resize(10n);
    expect(d.geometry().blocks).toBe(10n);
    expect(await readBack(d, 3n, 7)).toEqual(Uint8Array.from([...block(BS, 4), ...new Uint8Array(6 * BS)]));
  });

  test('resizing to no blocks is a caller bug and changes nothing', () => {
    const d = new MemoryBlockSet({ blocks: 8 });
    expect(() => { d.resize(0n); }).toThrow(RangeError);
    expect(d.geometry().blocks).toBe(8n);
  });
});

describe('MemoryBlockSet fault hook and call log', () => {
  test('the hook sees (op, lba, blocks); a failure status fails the call without effect', async () => {
    const seen: [MemoryBlockOp, bigint | undefined, number | undefined][] = [];
    let failWith: BlockFailure | undefined;
    const d = new MemoryBlockSet({
      blocks: 16,
      writeCache: false,
      fault: (op, lba, n) => {
        seen.push([op, lba, n]);
        return failWith;
      },
    });
    await d.write(0n, blocks(4, 1));
    for (const status of ['io-error', 'unsupported', 'no-space'] as const) {
      failWith = status;
      const buf = new Uint8Array(BS).fill(0xee);
      expect(await d.read(0n, buf)).toBe(status);
      expect(buf).toEqual(new Uint8Array(BS).fill(0xee));
      expect(await d.write(0n, block(BS, 0x77))).toBe(status);
      expect(await d.discard([{ lba: 1n, blocks: 1 }])).toBe(status);
      expect(await d.writeZeroes({ lba: 2n, blocks: 2 }, true)).toBe(status);
      expect(await d.flush()).toBe(status);
      expect(await d.setWriteCache(true)).toBe(status);
      const map = d.mapping;
      if (map === undefined) throw new Error('mapping expected');
      expect(await map(0n, 4)).toBe(status);
    }
    failWith = undefined;
    expect(d.writeCacheEnabled()).toBe(false);
    expect(d.mappedBlocks).toBe(4);
    expect(await readBack(d, 0n, 4)).toEqual(blocks(4, 1));
    expect(seen.slice(1, 8)).toEqual([
      ['read', 0n, 1],
      ['write', 0n, 1],
      ['discard', 1n, 1],
      ['write-zeroes', 2n, 2],
      ['flush', undefined, undefined],
      ['write-cache', undefined, undefined],
      ['mapping', 0n, 4],
    ]);
  });

  test('a discard fails as a whole when the hook fails any of its segments', async () => {
    const d = new MemoryBlockSet({ blocks: 16, fault: (op, lba) => (op === 'discard' && lba === 5n ? 'io-error' : undefined) });
    await d.write(0n, blocks(8, 1));
    expect(await d.discard([{ lba: 0n, blocks: 2 }, { lba: 5n, blocks: 1 }])).toBe('io-error');
    expect(d.mappedBlocks).toBe(8);
  });

  test('failed calls are logged too', async () => {
    const d = new MemoryBlockSet({ blocks: 4, fault: () => 'io-error' });
    await d.write(1n, block(BS, 1));
    await d.flush();
    expect(d.calls).toEqual([{ op: 'write', lba: 1n, blocks: 1 }, { op: 'flush' }]);
  });
});

describe('MemoryBlockSet read-only, flush and write cache', () => {
  test('read-only: reads work, every change fails as io-error and nothing changes', async () => {
    const d = new MemoryBlockSet({ blocks: 8, readOnly: true });
    expect(d.readOnly).toBe(true);
    expect(await d.write(0n, block(BS, 1))).toBe('io-error');
    expect(await d.discard([{ lba: 0n, blocks: 1 }])).toBe('io-error');
    expect(await d.writeZeroes({ lba: 0n, blocks: 1 }, false)).toBe('io-error');
    expect(d.mappedBlocks).toBe(0);
    expect(await readBack(d, 0n, 8)).toEqual(new Uint8Array(8 * BS));
    expect(await d.flush()).toBe('ok');
  });

  test('write cache: set by the initiator side unless not changeable; the device side can change it', async () => {
    const d = new MemoryBlockSet({ blocks: 1 });
    expect(await d.setWriteCache(false)).toBe('ok');
    expect(d.writeCacheEnabled()).toBe(false);
    d.deviceSetsWriteCache(true);
    expect(d.writeCacheEnabled()).toBe(true);

    const fixed = new MemoryBlockSet({ blocks: 1, writeCache: false, writeCacheChangeable: false });
    expect(await fixed.setWriteCache(true)).toBe('unsupported');
    expect(fixed.writeCacheEnabled()).toBe(false);
    expect(fixed.calls).toEqual([{ op: 'write-cache' }]);
  });
});
