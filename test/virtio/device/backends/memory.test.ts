import { describe, expect, it } from 'vitest';
import { MemoryBackend, type MemoryBackendOptions } from '../../../../src/virtio/device/backends/memory.js';
import { byteDiff, pattern, readBack, zeros } from './bytes.js';

const KiB = 1024;
const CHUNK = 64 * KiB; // the documented allocation granule, written out independently


describe('MemoryBackend construction', () => {
  it('computes size from blocks and blockSize', () => {
    expect(new MemoryBackend({ blocks: 8 }).size).toBe(4096);
    const b = new MemoryBackend({ blocks: 8, blockSize: 4096, readOnly: true });
    expect(b.size).toBe(32768);
    expect(b.blockSize).toBe(4096);
    expect(b.readOnly).toBe(true);
    expect(MemoryBackend.chunkSize).toBe(65536);
  });

  it.each([
    [{ blocks: 0 }, /blocks must be a positive integer, got 0/],
    [{ blocks: -1 }, /got -1/],
    [{ blocks: 1.5 }, /got 1\.5/],
    [{ blocks: Number.NaN }, /got NaN/],
    [{ blocks: 2 ** 53 }, /got 9007199254740992/],
    [{ blocks: 2 ** 44 }, /17592186044416 blocks of 512 bytes exceed Number.MAX_SAFE_INTEGER/],
    [{ blocks: 2 ** 41, blockSize: 4096 }, /2199023255552 blocks of 4096 bytes/],
    [{ blocks: 1, blockSize: 1024 }, /blockSize must be 512 or 4096, got 1024/],
  ] as [MemoryBackendOptions, RegExp][])('rejects %o', (options, message) => {
    expect(() => new MemoryBackend(options)).toThrow(RangeError);
    expect(() => new MemoryBackend(options)).toThrow(message);
  });

  it('accepts the largest safe size', () => {
    // 2^44 - 1 blocks of 512 bytes is 2^53 - 512 bytes.
    expect(new MemoryBackend({ blocks: 2 ** 44 - 1 }).size).toBe(2 ** 53 - 512);
  });
});

describe('MemoryBackend I/O', () => {
  it('reads zeros from a fresh disk and allocates nothing', async () => {
    const b = new MemoryBackend({ blocks: 1024 });
    expect(byteDiff(await readBack(b, 0, b.size), zeros(b.size))).toBeUndefined();
    expect(b.allocatedBytes).toBe(0);
  });

  it('round-trips a write that spans three chunks', async () => {
    const b = new MemoryBackend({ blocks: 1024 }); // 512 KiB
    const offset = CHUNK - 1024; // starts 2 sectors before the first boundary
    const data = pattern(CHUNK + 2048, 3); // ends 1 KiB into the third chunk
    expect(await b.write(offset, data)).toBe('ok');
    expect(byteDiff(await readBack(b, offset, data.length), data)).toBeUndefined();
    // Neighbours stay zero.
    expect(byteDiff(await readBack(b, offset - 512, 512), zeros(512))).toBeUndefined();
    expect(byteDiff(await readBack(b, offset + data.length, 512), zeros(512))).toBeUndefined();
    // A read straddling the written edge sees both.
    const edge = await readBack(b, offset - 512, 1024);
    expect(byteDiff(edge.subarray(0, 512), zeros(512))).toBeUndefined();
    expect(byteDiff(edge.subarray(512), data.subarray(0, 512))).toBeUndefined();
    expect(b.allocatedBytes).toBe(3 * CHUNK);
  });

  it('copies the source: later changes to the caller buffer do not leak in', async () => {
    const b = new MemoryBackend({ blocks: 8 });
    const src = pattern(512, 1);
    await b.write(0, src);
    src.fill(0);
    expect(byteDiff(await readBack(b, 0, 512), pattern(512, 1))).toBeUndefined();
  });

  it('overwrites in place and handles subarray views', async () => {
    const b = new MemoryBackend({ blocks: 256 });
    const big = pattern(4096, 9);
    await b.write(0, big.subarray(1024, 3072));
    const dstBuffer = new Uint8Array(4096).fill(0xee);
    expect(await b.read(0, dstBuffer.subarray(512, 2560))).toBe('ok');
    expect(byteDiff(dstBuffer.subarray(512, 2560), big.subarray(1024, 3072))).toBeUndefined();
    expect(dstBuffer[511]).toBe(0xee); // untouched outside the view
    expect(dstBuffer[2560]).toBe(0xee);
  });

  it('zero-length operations are no-ops, also at the very end', async () => {
    const b = new MemoryBackend({ blocks: 8 });
    expect(await b.write(b.size, new Uint8Array(0))).toBe('ok');
    expect(await b.read(b.size, new Uint8Array(0))).toBe('ok');
    expect(await b.discard(b.size, 0)).toBe('ok');
    expect(await b.allocation(b.size, 0)).toEqual([]);
    expect(b.allocatedBytes).toBe(0);
  });

  it('keeps a 1 TiB disk sparse and serves its last sectors', async () => {
    const b = new MemoryBackend({ blocks: 2 ** 31 }); // 2^31 × 512 = 1 TiB
    expect(b.size).toBe(2 ** 40);
    expect(b.allocatedBytes).toBe(0);
    const last = b.size - 4096;
    const data = pattern(4096, 77);
    expect(await b.write(last, data)).toBe('ok');
    expect(byteDiff(await readBack(b, last, 4096), data)).toBeUndefined();
    expect(byteDiff(await readBack(b, last - 4096, 4096), zeros(4096))).toBeUndefined();
    expect(b.allocatedBytes).toBe(CHUNK);
    expect(await b.allocation(0, b.size)).toEqual([
      { offset: 0, length: b.size - CHUNK, allocated: false },
      { offset: b.size - CHUNK, length: CHUNK, allocated: true },
    ]);
    // Whole-disk discard walks allocated chunks, not sixteen million indexes.
    expect(await b.discard(0, b.size)).toBe('ok');
    expect(b.allocatedBytes).toBe(0);
  });

  it('allocates a short last chunk when the size is not a multiple of the chunk', async () => {
    const b = new MemoryBackend({ blocks: 130 }); // 65 KiB: one full chunk + 1 KiB
    await b.write(b.size - 512, pattern(512, 5));
    expect(b.allocatedBytes).toBe(1024);
    expect(await b.allocation(0, b.size)).toEqual([
      { offset: 0, length: CHUNK, allocated: false },
      { offset: CHUNK, length: 1024, allocated: true },
    ]);
  });

  it('flush and close succeed; data stays readable after close', async () => {
    const b = new MemoryBackend({ blocks: 8 });
    await b.write(0, pattern(512, 2));
    expect(await b.flush()).toBe('ok');
    await b.close();
    await b.close();
    expect(byteDiff(await readBack(b, 0, 512), pattern(512, 2))).toBeUndefined();
  });
});

describe('MemoryBackend discard and write-zeroes', () => {
  /** A disk with chunks 0..3 fully written. */
  async function fourChunks(): Promise<MemoryBackend> {
    const b = new MemoryBackend({ blocks: (8 * CHUNK) / 512 });
    await b.write(0, pattern(4 * CHUNK, 11));
    expect(b.allocatedBytes).toBe(4 * CHUNK);
    return b;
  }

  it('discard frees whole chunks and zeroes partial ones', async () => {
    const b = await fourChunks();
    // From the middle of chunk 0 to the middle of chunk 3: chunks 1 and 2 go.
    const from = CHUNK / 2, to = 3 * CHUNK + CHUNK / 2;
    expect(await b.discard(from, to - from)).toBe('ok');
    expect(b.allocatedBytes).toBe(2 * CHUNK);
    const all = await readBack(b, 0, 4 * CHUNK);
    const expected = pattern(4 * CHUNK, 11);
    expected.fill(0, from, to);
    expect(byteDiff(all, expected)).toBeUndefined();
    expect(await b.allocation(0, 8 * CHUNK)).toEqual([
      { offset: 0, length: CHUNK, allocated: true },
      { offset: CHUNK, length: 2 * CHUNK, allocated: false },
      { offset: 3 * CHUNK, length: CHUNK, allocated: true },
      { offset: 4 * CHUNK, length: 4 * CHUNK, allocated: false },
    ]);
  });

  it('discard of a hole allocates nothing', async () => {
    const b = new MemoryBackend({ blocks: 1024 });
    expect(await b.discard(512, 4096)).toBe('ok');
    expect(b.allocatedBytes).toBe(0);
  });

  it('writeZeroes with unmap behaves like discard', async () => {
    const b = await fourChunks();
    expect(await b.writeZeroes(512, 2 * CHUNK, true)).toBe('ok');
    // Chunk 1 is covered entirely; chunks 0 and 2 partially.
    expect(b.allocatedBytes).toBe(3 * CHUNK);
    const expected = pattern(4 * CHUNK, 11);
    expected.fill(0, 512, 512 + 2 * CHUNK);
    expect(byteDiff(await readBack(b, 0, 4 * CHUNK), expected)).toBeUndefined();
    expect((await b.allocation(CHUNK, CHUNK))[0]).toEqual({ offset: CHUNK, length: CHUNK, allocated: false });
  });

  it('writeZeroes without unmap zeroes in place and neither frees nor allocates', async () => {
    const b = await fourChunks();
    expect(await b.writeZeroes(0, 6 * CHUNK, false)).toBe('ok');
    expect(byteDiff(await readBack(b, 0, 6 * CHUNK), zeros(6 * CHUNK))).toBeUndefined();
    expect(b.allocatedBytes).toBe(4 * CHUNK);
    expect(await b.allocation(0, 8 * CHUNK)).toEqual([
      { offset: 0, length: 4 * CHUNK, allocated: true },
      { offset: 4 * CHUNK, length: 4 * CHUNK, allocated: false },
    ]);
  });

  it('reads zeros after rewriting a discarded chunk only where not rewritten', async () => {
    const b = await fourChunks();
    await b.discard(CHUNK, CHUNK);
    await b.write(CHUNK + 1024, pattern(512, 99));
    const got = await readBack(b, CHUNK, CHUNK);
    const expected = zeros(CHUNK);
    expected.set(pattern(512, 99), 1024);
    expect(byteDiff(got, expected)).toBeUndefined();
  });
});

describe('MemoryBackend allocation map', () => {
  it('clips extents to the queried range and merges neighbours', async () => {
    const b = new MemoryBackend({ blocks: (10 * CHUNK) / 512 });
    await b.write(2 * CHUNK, pattern(512, 1)); // chunk 2
    await b.write(3 * CHUNK + 4096, pattern(512, 1)); // chunk 3
    await b.write(6 * CHUNK, pattern(512, 1)); // chunk 6
    expect(await b.allocation(2 * CHUNK + 512, 5 * CHUNK - 1024)).toEqual([
      { offset: 2 * CHUNK + 512, length: 2 * CHUNK - 512, allocated: true },
      { offset: 4 * CHUNK, length: 2 * CHUNK, allocated: false },
      { offset: 6 * CHUNK, length: CHUNK - 512, allocated: true },
    ]);
    // A range inside one hole.
    expect(await b.allocation(8 * CHUNK + 512, 1024)).toEqual([{ offset: 8 * CHUNK + 512, length: 1024, allocated: false }]);
    // A range inside one allocated chunk.
    expect(await b.allocation(6 * CHUNK + 1024, 512)).toEqual([{ offset: 6 * CHUNK + 1024, length: 512, allocated: true }]);
  });

  it('gives the same map whichever walk it takes', async () => {
    // Many chunks mapped, small range (walks the range) vs few mapped, large range (walks the Map).
    const b = new MemoryBackend({ blocks: (64 * CHUNK) / 512 });
    for (let i = 0; i < 64; i += 3) await b.write(i * CHUNK, pattern(512, i));
    const wide = await b.allocation(0, b.size);
    const narrow = await b.allocation(5 * CHUNK, 4 * CHUNK);
    expect(wide.filter((e) => e.allocated).map((e) => e.offset / CHUNK)).toEqual(
      Array.from({ length: 22 }, (_, k) => 3 * k),
    );
    expect(narrow).toEqual([
      { offset: 5 * CHUNK, length: CHUNK, allocated: false },
      { offset: 6 * CHUNK, length: CHUNK, allocated: true },
      { offset: 7 * CHUNK, length: 2 * CHUNK, allocated: false },
    ]);
    // Extents tile the range exactly.
    let cursor = 0;
    for (const e of wide) {
      expect(e.offset).toBe(cursor);
      cursor += e.length;
    }
    expect(cursor).toBe(b.size);
  });
});

describe('MemoryBackend read-only and range checks', () => {
  it('refuses writes, discards and write-zeroes with io-error and changes nothing', async () => {
    const b = new MemoryBackend({ blocks: 8, readOnly: true });
    expect(await b.write(0, pattern(512, 1))).toBe('io-error');
    expect(await b.discard(0, 512)).toBe('io-error');
    expect(await b.writeZeroes(0, 512, true)).toBe('io-error');
    expect(await b.writeZeroes(0, 512, false)).toBe('io-error');
    expect(b.allocatedBytes).toBe(0);
    expect(byteDiff(await readBack(b, 0, 512), zeros(512))).toBeUndefined();
    expect(await b.flush()).toBe('ok');
  });

  it.each([
    ['past the end', 4096, 512],
    ['straddling the end', 3584, 1024],
    ['negative', -512, 512],
    ['unaligned offset', 100, 512],
    ['unaligned length', 0, 100],
    ['fractional', 0.5, 512],
  ])('throws RangeError for a range %s', (_what, offset, length) => {
    const b = new MemoryBackend({ blocks: 8 });
    const message = `offset ${offset} length ${length} is not a 512-aligned range inside the 4096-byte disk`;
    expect(() => b.read(offset, new Uint8Array(length))).toThrow(message);
    expect(() => b.write(offset, new Uint8Array(length))).toThrow(RangeError);
    expect(() => b.discard(offset, length)).toThrow(RangeError);
    expect(() => b.writeZeroes(offset, length, false)).toThrow(RangeError);
    expect(() => b.allocation(offset, length)).toThrow(RangeError);
    // The instance still works afterwards.
    expect(b.allocatedBytes).toBe(0);
  });

  it('readSync and writeSync: the same bytes and outcomes as read and write, at an index of the buffer, done before they return', async () => {
    const b = new MemoryBackend({ blocks: 1024 });
    const data = pattern(3 * CHUNK, 5);
    // From the middle of a larger buffer, straddling two chunk boundaries, starting inside a chunk.
    const src = new Uint8Array(data.length + 1000).fill(0x77);
    src.set(data, 600);
    expect(b.writeSync(CHUNK / 2, src, 600, data.length)).toBe('ok');
    expect(byteDiff(await readBack(b, CHUNK / 2, data.length), data)).toBeUndefined();
    const dst = new Uint8Array(data.length + 1000).fill(0xee);
    expect(b.readSync(CHUNK / 2, dst, 300, data.length)).toBe('ok');
    expect(byteDiff(dst.subarray(300, 300 + data.length), data)).toBeUndefined();
    // Nothing outside the asked part of the buffer is touched.
    expect([dst[299], dst[300 + data.length]]).toEqual([0xee, 0xee]);
    // A hole (a chunk never written) reads as zeros.
    const hole = new Uint8Array(512).fill(0xee);
    expect(b.readSync(900 * 512, hole, 0, 512)).toBe('ok');
    expect(byteDiff(hole, zeros(512))).toBeUndefined();
    const ro = new MemoryBackend({ blocks: 8, readOnly: true });
    expect(ro.writeSync(0, pattern(512, 1), 0, 512)).toBe('io-error');
    expect(ro.allocatedBytes).toBe(0);
    expect(() => b.readSync(1024 * 512, new Uint8Array(512), 0, 512)).toThrow(RangeError);
    expect(() => b.writeSync(100, new Uint8Array(512), 0, 512)).toThrow(RangeError);
    expect(() => b.readSync(0, new Uint8Array(512), 1, 512)).toThrow('[1, +512) is outside the 512-byte buffer');
    expect(() => b.writeSync(0, new Uint8Array(512), -1, 512)).toThrow(RangeError);
  });

  it('range checks come before the read-only refusal', () => {
    const b = new MemoryBackend({ blocks: 8, readOnly: true });
    expect(() => b.write(8192, new Uint8Array(512))).toThrow(RangeError);
  });
});

describe('MemoryBackend resize', () => {
  it('grows: old data stays, the new space reads as zeros', async () => {
    const b = new MemoryBackend({ blocks: 130 }); // short last chunk of 1 KiB
    await b.write(CHUNK, pattern(1024, 4));
    b.resize(256);
    expect(b.size).toBe(2 * CHUNK);
    expect(b.allocatedBytes).toBe(CHUNK); // the short chunk widened to a full one
    const got = await readBack(b, CHUNK, CHUNK);
    const expected = zeros(CHUNK);
    expected.set(pattern(1024, 4));
    expect(byteDiff(got, expected)).toBeUndefined();
    expect(await b.write(2 * CHUNK - 512, pattern(512, 8))).toBe('ok');
  });

  it('shrinks: data past the end is dropped and does not come back on regrow', async () => {
    const b = new MemoryBackend({ blocks: 512 }); // 4 chunks
    await b.write(0, pattern(4 * CHUNK, 6));
    b.resize(136); // 68 KiB: chunk 0 plus 4 KiB of chunk 1
    expect(b.size).toBe(68 * KiB);
    expect(b.allocatedBytes).toBe(68 * KiB);
    expect(() => b.read(68 * KiB, new Uint8Array(512))).toThrow(RangeError);
    b.resize(512);
    const got = await readBack(b, 0, 4 * CHUNK);
    const expected = pattern(4 * CHUNK, 6);
    expected.fill(0, 68 * KiB);
    expect(byteDiff(got, expected)).toBeUndefined();
  });

  it('rejects a nonsense size and keeps the old one', () => {
    const b = new MemoryBackend({ blocks: 8, blockSize: 4096 });
    expect(() => { b.resize(0); }).toThrow(/blocks must be a positive integer, got 0/);
    expect(b.size).toBe(32768);
  });
});
