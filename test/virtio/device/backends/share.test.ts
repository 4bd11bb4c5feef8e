import { mkdtemp, readFile, rename, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { isAbsolute, join, relative } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { BlockBackend } from '../../../../src/virtio/device/backend.js';
import { FileBackend, type FileBackendError } from '../../../../src/virtio/device/backends/file.js';
import { MemoryBackend } from '../../../../src/virtio/device/backends/memory.js';
import { openSharedBackend } from '../../../../src/virtio/device/backends/share.js';
import { SharedMemoryBackend } from '../../../../src/virtio/device/backends/shared-memory.js';

function pattern(length: number, salt: number): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = ((i * 11 + salt) % 251) + 1; // never 0
  return out;
}

function isError(r: BlockBackend | FileBackendError): r is FileBackendError {
  return 'ok' in r && !r.ok;
}

let dir: string;
const opened: BlockBackend[] = [];

async function mainSide(path: string, options: Parameters<typeof FileBackend.open>[1]): Promise<FileBackend> {
  const r = await FileBackend.open(path, options);
  if (!r.ok) throw new Error(`expected a backend, got ${r.code}: ${r.message}`);
  opened.push(r);
  return r;
}

async function openOk(share: Parameters<typeof openSharedBackend>[0]): Promise<BlockBackend> {
  const r = await openSharedBackend(share);
  if (isError(r)) throw new Error(`expected a backend, got ${r.code}: ${r.message}`);
  opened.push(r);
  return r;
}

async function openErr(share: Parameters<typeof openSharedBackend>[0]): Promise<FileBackendError> {
  const r = await openSharedBackend(share);
  if (!isError(r)) {
    opened.push(r);
    throw new Error(`expected an error, got a ${r.size}-byte backend`);
  }
  return r;
}

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vtcam-share-'));
});

afterEach(async () => {
  for (const b of opened.splice(0)) await b.close();
  await rm(dir, { recursive: true, force: true });
});

describe('BlockBackend.share', () => {
  it('a MemoryBackend has none: its chunks live in one thread', () => {
    expect('share' in new MemoryBackend({ blocks: 8 })).toBe(false);
  });

  it('a FileBackend describes its image by absolute path, size and identity', async () => {
    const path = join(dir, 'id.img');
    await writeFile(path, new Uint8Array(8192));
    const b = await mainSide(relative(process.cwd(), path), { blockSize: 4096, readOnly: true });
    const st = await stat(path, { bigint: true });
    const share = b.share();
    expect(isAbsolute(share.path)).toBe(true);
    expect(share).toEqual({ kind: 'file', path, blockSize: 4096, readOnly: true, size: 8192, dev: st.dev, ino: st.ino });
  });
});

describe('openSharedBackend: shared memory', () => {
  it('opens a backend over the same memory, also from a structured clone of the share', async () => {
    const main = new SharedMemoryBackend({ blocks: 64 });
    const other = await openOk(structuredClone(main.share()));
    expect(other).toBeInstanceOf(SharedMemoryBackend);
    expect(other.size).toBe(main.size);
    expect(await other.write(8192, pattern(4096, 3))).toBe('ok');
    const dst = new Uint8Array(4096);
    expect(await main.read(8192, dst)).toBe('ok');
    expect(dst).toEqual(pattern(4096, 3));
    expect(main.allocatedBytes).toBe(4096);
  });
});

describe('openSharedBackend: image file', () => {
  it('opens its own descriptor with synchronous I/O; both sides see each other’s writes', async () => {
    const path = join(dir, 'shared.img');
    const main = await mainSide(path, { create: { size: 64 * 1024 } });
    expect(await main.write(0, pattern(4096, 1))).toBe('ok');
    const dev = await openOk(structuredClone(main.share()));
    expect(dev).toBeInstanceOf(FileBackend);
    expect(dev.readOnly).toBe(false);
    expect(dev.size).toBe(main.size);
    const got = new Uint8Array(4096);
    expect(dev.readSync?.(0, got, 0, 4096)).toBe('ok');
    expect(got).toEqual(pattern(4096, 1));
    expect(dev.writeSync?.(8192, pattern(512, 2), 0, 512)).toBe('ok');
    const back = new Uint8Array(512);
    expect(await main.read(8192, back)).toBe('ok');
    expect(back).toEqual(pattern(512, 2));
    // Closing the device side leaves the main side working.
    await dev.close();
    expect(await main.read(0, got)).toBe('ok');
  });

  it('keeps the share read-only', async () => {
    const path = join(dir, 'ro.img');
    await writeFile(path, pattern(4096, 5));
    const main = await mainSide(path, { readOnly: true });
    const dev = await openOk(main.share());
    expect(dev.readOnly).toBe(true);
    expect(dev.writeSync?.(0, new Uint8Array(512), 0, 512)).toBe('io-error');
    expect(await readFile(path)).toEqual(Buffer.from(pattern(4096, 5)));
  });

  it('never creates an image that disappeared', async () => {
    const path = join(dir, 'gone.img');
    const main = await mainSide(path, { create: { size: 4096 } });
    const share = main.share();
    await rm(path);
    const err = await openErr(share);
    expect(err.code).toBe('ENOENT');
    await expect(stat(path)).rejects.toThrow(/ENOENT/);
  });

  it.each([
    ['grew', 16384],
    ['shrank', 4096],
  ])('refuses an image that %s since it was shared, and leaves it as it is', async (_what, now) => {
    const path = join(dir, 'resized.img');
    const main = await mainSide(path, { create: { size: 8192 } });
    const share = main.share();
    await truncate(path, now);
    const err = await openErr(share);
    expect(err.code).toBe('ESTALE');
    expect(err.path).toBe(path);
    expect(err.message).toBe(`image ${path} is now ${now} bytes but was 8192 when shared; restore it with \`truncate -s 8192 ${path}\` or open it again and share that`);
    expect((await stat(path)).size).toBe(now);
  });

  it('refuses another file renamed over the shared path, even of the same size', async () => {
    const path = join(dir, 'swapped.img');
    const main = await mainSide(path, { create: { size: 8192 } });
    const share = main.share();
    const impostor = join(dir, 'impostor.img');
    await writeFile(impostor, new Uint8Array(8192));
    await rename(impostor, path);
    const err = await openErr(share);
    expect(err.code).toBe('ESTALE');
    expect(err.message).toBe(`image ${path} is no longer the file that was shared (it was replaced or renamed over); open the new image and share it again`);
  });
});
