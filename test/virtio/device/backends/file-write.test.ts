// FileBackend discard and write-zeroes on a sparse image (file-write.ts): an
// unmap makes the range read as zeros and allocates nothing, a hole staying a
// hole; a write-zeroes without unmap maps what it zeroes. Allocation is what
// stat(2) reports in st_blocks.

import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FileBackend } from '../../../../src/virtio/device/backends/file.js';
import { byteDiff, pattern } from './bytes.js';

const MiB = 1024 * 1024;
const SIZE = 16 * MiB;

let dir: string;
let path: string;
let b: FileBackend;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vtcam-file-write-'));
  path = join(dir, 'thin.img');
  const r = await FileBackend.open(path, { create: { size: SIZE } });
  if (!r.ok) throw new Error(r.message);
  b = r;
});

afterEach(async () => {
  await b.close();
  await rm(dir, { recursive: true, force: true });
});

const allocated = async (): Promise<number> => (await stat(path)).blocks * 512;

/** Data at 1 MiB - 1 KiB (a run across a piece boundary), and single sectors with zero sectors between them. */
async function writeData(): Promise<Uint8Array> {
  const want = new Uint8Array(SIZE);
  const put = async (offset: number, data: Uint8Array): Promise<void> => {
    expect(await b.write(offset, data)).toBe('ok');
    want.set(data, offset);
  };
  await put(MiB - 1024, pattern(8192, 1));
  await put(5 * MiB, pattern(512, 2));
  await put(5 * MiB + 1024, pattern(512, 3));
  // Data that holds zero sectors inside it, as a file system's blocks do.
  const mixed = pattern(16384, 4);
  mixed.fill(0, 4096, 8192);
  await put(9 * MiB + 512, mixed);
  expect(await b.flush()).toBe('ok');
  return want;
}

describe('FileBackend unmap on a sparse image', () => {
  it.each([
    ['discard', (o: number, n: number) => b.discard(o, n)],
    ['writeZeroes with unmap', (o: number, n: number) => b.writeZeroes(o, n, true)],
  ] as const)('%s of the whole disk allocates nothing and the data reads back as zeros', async (_op, unmap) => {
    await writeData();
    const before = await allocated();
    expect(before).toBeGreaterThan(0);
    expect(await unmap(0, SIZE)).toBe('ok');
    expect(await b.flush()).toBe('ok');
    expect(await allocated()).toBeLessThanOrEqual(before);
    expect(byteDiff(await readFile(path), new Uint8Array(SIZE))).toBeUndefined();
  });

  it('discard of a hole range leaves the allocation exactly as it was', async () => {
    const want = await writeData();
    const before = await allocated();
    expect(await b.discard(10 * MiB, 6 * MiB)).toBe('ok');
    expect(await b.flush()).toBe('ok');
    expect(await allocated()).toBe(before);
    expect(byteDiff(await readFile(path), want)).toBeUndefined();
  });

  it('a discard that cuts through data zeroes exactly its sectors and keeps the rest', async () => {
    const want = await writeData();
    // Ends inside the first run and starts inside the mixed one: runs cut at both ends.
    expect(await b.discard(MiB + 2048, 8 * MiB - 1024)).toBe('ok');
    want.fill(0, MiB + 2048, 9 * MiB + 1024);
    expect(byteDiff(await readFile(path), want)).toBeUndefined();
  });

  it('writeZeroes without unmap writes its zeros: the range ends up allocated', async () => {
    const before = await allocated();
    expect(await b.writeZeroes(4 * MiB, MiB, false)).toBe('ok');
    expect(await b.flush()).toBe('ok');
    expect(await allocated()).toBeGreaterThanOrEqual(before + MiB);
    expect(byteDiff(await readFile(path), new Uint8Array(SIZE))).toBeUndefined();
  });
});
