import { Worker } from 'node:worker_threads';
import { describe, expect, it, vi } from 'vitest';
import {
  SharedMemoryBackend,
  type SharedMemoryBackendOptions,
  type SharedMemoryShare,
} from '../../../../src/virtio/device/backends/shared-memory.js';
import { byteDiff, pattern, readBack, zeros } from './bytes.js';

const KiB = 1024;
const G = 4 * KiB; // the documented allocation granule, written out independently


describe('SharedMemoryBackend construction', () => {
  it('computes size from blocks and blockSize and allocates shared buffers of the right size', () => {
    expect(new SharedMemoryBackend({ blocks: 8 }).size).toBe(4096);
    const b = new SharedMemoryBackend({ blocks: 100, blockSize: 4096, readOnly: true });
    expect(b.size).toBe(409_600);
    expect(b.blockSize).toBe(4096);
    expect(b.readOnly).toBe(true);
    expect(SharedMemoryBackend.granuleSize).toBe(4096);
    const share = b.share();
    expect(share.kind).toBe('shared-memory');
    expect(share.data).toBeInstanceOf(SharedArrayBuffer);
    expect(share.data.byteLength).toBe(409_600);
    // 100 granules need 100 bits: four 32-bit words.
    expect(share.map.byteLength).toBe(16);
    expect(share.readOnly).toBe(true);
    expect(share.blockSize).toBe(4096);
  });

  it.each([
    [{ blocks: 0 }, /blocks must be a positive integer, got 0/],
    [{ blocks: -8 }, /got -8/],
    [{ blocks: 1.5 }, /got 1\.5/],
    [{ blocks: Number.NaN }, /got NaN/],
    [{ blocks: 1, blockSize: 1024 }, /blockSize must be 512 or 4096, got 1024/],
    // One shared buffer is one Uint8Array: 2^32 bytes at most on 64-bit Node.
    [{ blocks: 2 ** 23 + 1 }, /8388609 blocks of 512 bytes \(4294967808 bytes\) exceed the 4294967296-byte limit of one shared buffer/],
    [{ blocks: 2 ** 40, blockSize: 4096 }, /exceed the 4294967296-byte limit/],
  ] as [SharedMemoryBackendOptions, RegExp][])('rejects %o with RangeError', (options, message) => {
    expect(() => new SharedMemoryBackend(options)).toThrow(RangeError);
    expect(() => new SharedMemoryBackend(options)).toThrow(message);
  });

  it('says so with RangeError when the system cannot provide the shared memory', () => {
    // What V8 throws when the OS will not back the buffer.
    vi.stubGlobal('SharedArrayBuffer', function refusing(bytes: number): never {
      throw new RangeError(`Array buffer allocation failed (${bytes})`);
    });
    try {
      expect(() => new SharedMemoryBackend({ blocks: 2048 })).toThrow(
        'SharedMemoryBackend: cannot allocate 1048576 bytes of shared memory for the data: Array buffer allocation failed (1048576)',
      );
    } finally {
      vi.unstubAllGlobals();
    }
  });

  it('opens a share of another backend over the same buffers', async () => {
    const a = new SharedMemoryBackend({ blocks: 64 });
    const b = new SharedMemoryBackend(a.share());
    expect(b.size).toBe(a.size);
    expect(b.share().data).toBe(a.share().data);
    expect(await a.write(4096, pattern(1024, 1))).toBe('ok');
    expect(byteDiff(await readBack(b, 4096, 1024), pattern(1024, 1))).toBeUndefined();
    expect(await b.allocation(0, b.size)).toEqual([
      { offset: 0, length: G, allocated: false },
      { offset: G, length: G, allocated: true },
      { offset: 2 * G, length: 6 * G, allocated: false },
    ]);
    expect(await b.discard(4096, 4096)).toBe('ok');
    expect(a.allocatedBytes).toBe(0);
  });

  it.each([
    ['a data size that is not a block multiple', { data: new SharedArrayBuffer(4096 + 512), blockSize: 4096 }, /shared data of 4608 bytes is not a positive multiple of 4096/],
    ['empty data', { data: new SharedArrayBuffer(0) }, /shared data of 0 bytes/],
    ['a short map', { map: new SharedArrayBuffer(0) }, /shared map of 0 bytes, want 4 for 8192 bytes of data/],
    ['a map that is not shared', { map: new ArrayBuffer(4) }, /as SharedArrayBuffers/],
    ['a bad block size', { blockSize: 2048 }, /blockSize must be 512 or 4096, got 2048/],
  ])('refuses a share with %s', (_what, patch, message) => {
    const good = new SharedMemoryBackend({ blocks: 16 }).share();
    const bad = { ...good, ...patch } as unknown as SharedMemoryShare;
    expect(() => new SharedMemoryBackend(bad)).toThrow(RangeError);
    expect(() => new SharedMemoryBackend(bad)).toThrow(message);
  });
});

describe('SharedMemoryBackend I/O', () => {
  it('reads zeros from a fresh disk and allocates nothing', async () => {
    const b = new SharedMemoryBackend({ blocks: 256 });
    expect(byteDiff(await readBack(b, 0, b.size), zeros(b.size))).toBeUndefined();
    expect(b.allocatedBytes).toBe(0);
    expect(await b.allocation(0, b.size)).toEqual([{ offset: 0, length: b.size, allocated: false }]);
  });

  it('round-trips a write spanning granules and allocates exactly the granules it touched', async () => {
    const b = new SharedMemoryBackend({ blocks: 1024 }); // 512 KiB, 128 granules
    const offset = 3 * G - 1024; // 2 sectors before a granule boundary
    const data = pattern(2 * G + 2048, 3); // ends 1 KiB into the fourth granule touched
    expect(await b.write(offset, data)).toBe('ok');
    expect(byteDiff(await readBack(b, offset, data.length), data)).toBeUndefined();
    expect(byteDiff(await readBack(b, offset - 512, 512), zeros(512))).toBeUndefined();
    expect(byteDiff(await readBack(b, offset + data.length, 512), zeros(512))).toBeUndefined();
    expect(b.allocatedBytes).toBe(4 * G);
    expect(await b.allocation(0, b.size)).toEqual([
      { offset: 0, length: 2 * G, allocated: false },
      { offset: 2 * G, length: 4 * G, allocated: true },
      { offset: 6 * G, length: b.size - 6 * G, allocated: false },
    ]);
  });

  it('copies the source: later changes to the caller buffer do not leak in', async () => {
    const b = new SharedMemoryBackend({ blocks: 8 });
    const src = pattern(512, 1);
    await b.write(0, src);
    src.fill(0);
    expect(byteDiff(await readBack(b, 0, 512), pattern(512, 1))).toBeUndefined();
  });

  it('zero-length operations are no-ops, also at the very end and at unaligned granule offsets', async () => {
    const b = new SharedMemoryBackend({ blocks: 9 });
    expect(await b.write(b.size, new Uint8Array(0))).toBe('ok');
    expect(await b.read(b.size, new Uint8Array(0))).toBe('ok');
    expect(await b.discard(512, 0)).toBe('ok');
    expect(await b.writeZeroes(512, 0, true)).toBe('ok');
    expect(await b.allocation(512, 0)).toEqual([]);
    expect(await b.allocation(b.size, 0)).toEqual([]);
    expect(b.allocatedBytes).toBe(0);
  });

  it('counts a short last granule by its real length', async () => {
    const b = new SharedMemoryBackend({ blocks: 10 }); // 5 KiB: one granule + 1 KiB
    expect(await b.write(b.size - 512, pattern(512, 5))).toBe('ok');
    expect(b.allocatedBytes).toBe(1024);
    expect(await b.allocation(0, b.size)).toEqual([
      { offset: 0, length: G, allocated: false },
      { offset: G, length: 1024, allocated: true },
    ]);
    // A discard reaching the end of the disk covers the short granule entirely.
    expect(await b.discard(G, 1024)).toBe('ok');
    expect(b.allocatedBytes).toBe(0);
  });

  it('readSync and writeSync work at an index of the buffer and touch nothing else', async () => {
    const b = new SharedMemoryBackend({ blocks: 256 });
    const data = pattern(3 * G, 5);
    const src = new Uint8Array(data.length + 1000).fill(0x77);
    src.set(data, 600);
    expect(b.writeSync(G / 2, src, 600, data.length)).toBe('ok');
    expect(byteDiff(await readBack(b, G / 2, data.length), data)).toBeUndefined();
    const dst = new Uint8Array(data.length + 1000).fill(0xee);
    expect(b.readSync(G / 2, dst, 300, data.length)).toBe('ok');
    expect(byteDiff(dst.subarray(300, 300 + data.length), data)).toBeUndefined();
    expect([dst[299], dst[300 + data.length]]).toEqual([0xee, 0xee]);
    expect(() => b.readSync(0, new Uint8Array(512), 1, 512)).toThrow('[1, +512) is outside the 512-byte buffer');
    expect(() => b.writeSync(0, new Uint8Array(512), -1, 512)).toThrow(RangeError);
  });

  it('flush and close succeed; data stays readable after close', async () => {
    const b = new SharedMemoryBackend({ blocks: 8 });
    await b.write(0, pattern(512, 2));
    expect(await b.flush()).toBe('ok');
    await b.close();
    await b.close();
    expect(byteDiff(await readBack(b, 0, 512), pattern(512, 2))).toBeUndefined();
  });
});

describe('SharedMemoryBackend discard and write-zeroes', () => {
  /** A 64-granule disk with granules 0..39 written (crossing a 32-bit map word). */
  async function written(): Promise<SharedMemoryBackend> {
    const b = new SharedMemoryBackend({ blocks: (64 * G) / 512 });
    expect(await b.write(0, pattern(40 * G, 11))).toBe('ok');
    expect(b.allocatedBytes).toBe(40 * G);
    return b;
  }

  it('discard deallocates whole granules and zeroes partial ones, which stay allocated', async () => {
    const b = await written();
    // From the middle of granule 1 to the middle of granule 35: granules 2..34 go.
    const from = G + G / 2, to = 35 * G + G / 2;
    expect(await b.discard(from, to - from)).toBe('ok');
    expect(b.allocatedBytes).toBe(7 * G);
    const want = pattern(40 * G, 11);
    want.fill(0, from, to);
    expect(byteDiff(await readBack(b, 0, 40 * G), want)).toBeUndefined();
    expect(await b.allocation(0, b.size)).toEqual([
      { offset: 0, length: 2 * G, allocated: true },
      { offset: 2 * G, length: 33 * G, allocated: false },
      { offset: 35 * G, length: 5 * G, allocated: true },
      { offset: 40 * G, length: 24 * G, allocated: false },
    ]);
  });

  it('a discard inside one granule deallocates nothing', async () => {
    const b = await written();
    expect(await b.discard(G + 512, G - 1024)).toBe('ok');
    expect(b.allocatedBytes).toBe(40 * G);
    const want = pattern(2 * G, 11);
    want.fill(0, G + 512, 2 * G - 512);
    expect(byteDiff(await readBack(b, 0, 2 * G), want)).toBeUndefined();
  });

  it('discard of a hole allocates nothing', async () => {
    const b = new SharedMemoryBackend({ blocks: 1024 });
    expect(await b.discard(512, 4 * G)).toBe('ok');
    expect(b.allocatedBytes).toBe(0);
  });

  it('writeZeroes with unmap behaves like discard', async () => {
    const b = await written();
    expect(await b.writeZeroes(512, 2 * G, true)).toBe('ok');
    // Granule 1 is covered entirely; granules 0 and 2 partially.
    expect(b.allocatedBytes).toBe(39 * G);
    const want = pattern(40 * G, 11);
    want.fill(0, 512, 512 + 2 * G);
    expect(byteDiff(await readBack(b, 0, 40 * G), want)).toBeUndefined();
    expect(await b.allocation(0, 3 * G)).toEqual([
      { offset: 0, length: G, allocated: true },
      { offset: G, length: G, allocated: false },
      { offset: 2 * G, length: G, allocated: true },
    ]);
  });

  it('writeZeroes without unmap zeroes in place and neither deallocates nor allocates', async () => {
    const b = await written();
    expect(await b.writeZeroes(0, 50 * G, false)).toBe('ok');
    expect(byteDiff(await readBack(b, 0, 50 * G), zeros(50 * G))).toBeUndefined();
    expect(b.allocatedBytes).toBe(40 * G);
    expect(await b.allocation(0, b.size)).toEqual([
      { offset: 0, length: 40 * G, allocated: true },
      { offset: 40 * G, length: 24 * G, allocated: false },
    ]);
  });

  it('a whole-disk discard leaves every granule a hole and every byte zero', async () => {
    const b = await written();
    expect(await b.discard(0, b.size)).toBe('ok');
    expect(b.allocatedBytes).toBe(0);
    expect(byteDiff(await readBack(b, 0, b.size), zeros(b.size))).toBeUndefined();
    expect(await b.write(33 * G + 512, pattern(512, 99))).toBe('ok');
    const want = zeros(G);
    want.set(pattern(512, 99), 512);
    expect(byteDiff(await readBack(b, 33 * G, G), want)).toBeUndefined();
  });
});

describe('SharedMemoryBackend allocation map', () => {
  it('clips extents to the queried range and merges neighbours across map words', async () => {
    const b = new SharedMemoryBackend({ blocks: (100 * G) / 512 });
    await b.write(30 * G, pattern(4 * G, 1)); // granules 30..33 straddle map words 0 and 1
    await b.write(64 * G + 512, pattern(512, 1)); // granule 64, first bit of word 2
    await b.write(99 * G, pattern(G, 1)); // the very last granule
    expect(await b.allocation(30 * G + 512, 70 * G - 1024)).toEqual([
      { offset: 30 * G + 512, length: 4 * G - 512, allocated: true },
      { offset: 34 * G, length: 30 * G, allocated: false },
      { offset: 64 * G, length: G, allocated: true },
      { offset: 65 * G, length: 34 * G, allocated: false },
      { offset: 99 * G, length: G - 512, allocated: true },
    ]);
    expect(await b.allocation(40 * G + 512, 1024)).toEqual([{ offset: 40 * G + 512, length: 1024, allocated: false }]);
    expect(await b.allocation(31 * G + 1024, 512)).toEqual([{ offset: 31 * G + 1024, length: 512, allocated: true }]);
    // Extents tile the disk exactly, alternating kinds.
    const all = await b.allocation(0, b.size);
    let cursor = 0;
    for (const [i, e] of all.entries()) {
      expect(e.offset).toBe(cursor);
      if (i > 0) expect(e.allocated).not.toBe(all[i - 1]?.allocated);
      cursor += e.length;
    }
    expect(cursor).toBe(b.size);
  });

  it('a fully allocated run of several map words is one extent', async () => {
    const b = new SharedMemoryBackend({ blocks: (128 * G) / 512 });
    await b.write(G, pattern(126 * G, 4));
    expect(await b.allocation(0, b.size)).toEqual([
      { offset: 0, length: G, allocated: false },
      { offset: G, length: 126 * G, allocated: true },
      { offset: 127 * G, length: G, allocated: false },
    ]);
  });
});

describe('SharedMemoryBackend read-only and range checks', () => {
  it('refuses writes, discards and write-zeroes with io-error and changes nothing', async () => {
    const b = new SharedMemoryBackend({ blocks: 8, readOnly: true });
    expect(await b.write(0, pattern(512, 1))).toBe('io-error');
    expect(b.writeSync(0, pattern(512, 1), 0, 512)).toBe('io-error');
    expect(await b.discard(0, 512)).toBe('io-error');
    expect(await b.writeZeroes(0, 512, true)).toBe('io-error');
    expect(await b.writeZeroes(0, 512, false)).toBe('io-error');
    expect(b.allocatedBytes).toBe(0);
    expect(byteDiff(await readBack(b, 0, 512), zeros(512))).toBeUndefined();
    expect(await b.flush()).toBe('ok');
  });

  it('a read-only share of the medium sees what the writable side wrote', async () => {
    const w = new SharedMemoryBackend({ blocks: 8 });
    const r = new SharedMemoryBackend({ ...w.share(), readOnly: true });
    await w.write(512, pattern(512, 3));
    expect(byteDiff(await readBack(r, 512, 512), pattern(512, 3))).toBeUndefined();
    expect(await r.write(0, pattern(512, 4))).toBe('io-error');
    expect(byteDiff(await readBack(w, 0, 512), zeros(512))).toBeUndefined();
  });

  it.each([
    ['past the end', 4096, 512],
    ['straddling the end', 3584, 1024],
    ['negative', -512, 512],
    ['unaligned offset', 100, 512],
    ['unaligned length', 0, 100],
    ['fractional', 0.5, 512],
  ])('throws RangeError for a range %s', (_what, offset, length) => {
    const b = new SharedMemoryBackend({ blocks: 8 });
    const message = `offset ${offset} length ${length} is not a 512-aligned range inside the 4096-byte disk`;
    expect(() => b.read(offset, new Uint8Array(length))).toThrow(message);
    expect(() => b.write(offset, new Uint8Array(length))).toThrow(RangeError);
    expect(() => b.readSync(offset, new Uint8Array(length), 0, length)).toThrow(RangeError);
    expect(() => b.writeSync(offset, new Uint8Array(length), 0, length)).toThrow(RangeError);
    expect(() => b.discard(offset, length)).toThrow(RangeError);
    expect(() => b.writeZeroes(offset, length, false)).toThrow(RangeError);
    expect(() => b.allocation(offset, length)).toThrow(RangeError);
    expect(b.allocatedBytes).toBe(0);
  });

  it('range checks come before the read-only refusal', () => {
    const b = new SharedMemoryBackend({ blocks: 8, readOnly: true });
    expect(() => b.write(8192, new Uint8Array(512))).toThrow(RangeError);
  });
});

// Plain JS for a worker thread: it holds the share as workerData and touches the
// buffers the way a device worker would (plain stores to data, Atomics.or on the
// map), or reads back what the main thread wrote.
const WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const { share, op, offset, length, salt } = workerData;
const data = new Uint8Array(share.data);
if (op === 'write') {
  for (let i = 0; i < length; i++) data[offset + i] = ((i * 7 + salt) % 251) + 1;
  const map = new Uint32Array(share.map);
  for (let g = Math.floor(offset / 4096); g <= Math.floor((offset + length - 1) / 4096); g++) {
    Atomics.or(map, g >>> 5, 1 << (g & 31));
  }
  parentPort.postMessage('done');
} else {
  parentPort.postMessage(Array.from(data.subarray(offset, offset + length)));
}
`;

function runWorker(workerData: object): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(WORKER, { eval: true, workerData });
    worker.once('message', (m: unknown) => {
      resolve(m);
      void worker.terminate();
    });
    worker.once('error', reject);
  });
}

describe('SharedMemoryBackend across threads', () => {
  it('bytes and allocation bits a worker stores are what the main thread reads', async () => {
    const b = new SharedMemoryBackend({ blocks: (64 * G) / 512 });
    const offset = 33 * G - 512, length = G + 1024; // granules 32..34, across a map word
    expect(await runWorker({ share: b.share(), op: 'write', offset, length, salt: 9 })).toBe('done');
    expect(byteDiff(await readBack(b, offset, length), pattern(length, 9))).toBeUndefined();
    expect(byteDiff(await readBack(b, offset - 512, 512), zeros(512))).toBeUndefined();
    expect(b.allocatedBytes).toBe(3 * G);
    expect(await b.allocation(31 * G, 5 * G)).toEqual([
      { offset: 31 * G, length: G, allocated: false },
      { offset: 32 * G, length: 3 * G, allocated: true },
      { offset: 35 * G, length: G, allocated: false },
    ]);
  });

  it('a worker reads what the main thread wrote', async () => {
    const b = new SharedMemoryBackend({ blocks: 64 });
    expect(await b.write(8192, pattern(1024, 21))).toBe('ok');
    const seen = await runWorker({ share: b.share(), op: 'read', offset: 8192, length: 1024 });
    expect(Uint8Array.from(seen as number[])).toEqual(pattern(1024, 21));
  });
});
