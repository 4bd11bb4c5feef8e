import { chmod, mkdtemp, readFile, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type * as FsPromises from 'node:fs/promises';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { FileBackend, type FileBackendError } from '../../../../src/virtio/device/backends/file.js';
import { byteDiff, pattern } from './bytes.js';

// Fault injection for the fs layer: while `injected.code` is set, every read,
// write and datasync on a handle from open() rejects with that error code, as
// the kernel would on a failing disk or a full file system.
// While `injected.openCode` is set, open() itself rejects with that code;
// `createCode` does that only to the open that creates an image ('wx+'), and
// `truncateCode` makes a handle's truncate (ftruncate) reject.
const injected = vi.hoisted(() => ({
  code: undefined as string | undefined,
  openCode: undefined as string | undefined,
  createCode: undefined as string | undefined,
  truncateCode: undefined as string | undefined,
}));
vi.mock('node:fs/promises', async (importOriginal) => {
  const actual = await importOriginal<typeof FsPromises>();
  const FAILABLE = new Set<string | symbol>(['read', 'write', 'datasync']);
  const failing = (fh: FsPromises.FileHandle): FsPromises.FileHandle =>
    new Proxy(fh, {
      get(target, prop) {
        const value: unknown = Reflect.get(target, prop, target);
        if (typeof value !== 'function') return value;
        return (...args: unknown[]): unknown => {
          if (injected.code !== undefined && FAILABLE.has(prop)) {
            return Promise.reject(Object.assign(new Error(`injected ${injected.code}`), { code: injected.code }));
          }
          if (injected.truncateCode !== undefined && prop === 'truncate') {
            // As Node words a system error: the code first.
            return Promise.reject(Object.assign(new Error(`${injected.truncateCode}: injected, ftruncate`), { code: injected.truncateCode }));
          }
          return Reflect.apply(value, target, args);
        };
      },
    });
  return {
    ...actual,
    open: async (...args: Parameters<typeof actual.open>) => {
      if (injected.openCode !== undefined) {
        throw Object.assign(new Error(`injected ${injected.openCode}`), { code: injected.openCode });
      }
      if (injected.createCode !== undefined && args[1] === 'wx+') {
        throw Object.assign(new Error(`injected ${injected.createCode}`), { code: injected.createCode });
      }
      return failing(await actual.open(...args));
    },
  };
});

const MiB = 1024 * 1024;

function expectBackend(r: FileBackend | FileBackendError): FileBackend {
  if (!r.ok) throw new Error(`expected a backend, got ${r.code}: ${r.message}`);
  return r;
}

function expectError(r: FileBackend | FileBackendError): FileBackendError {
  if (r.ok) throw new Error(`expected an error, got a ${r.size}-byte backend`);
  return r;
}

let dir: string;
const opened: FileBackend[] = [];

async function openOk(path: string, options?: Parameters<typeof FileBackend.open>[1]): Promise<FileBackend> {
  const b = expectBackend(await FileBackend.open(path, options));
  opened.push(b);
  return b;
}

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vtcam-file-'));
});

afterEach(async () => {
  for (const b of opened.splice(0)) await b.close();
  await rm(dir, { recursive: true, force: true });
});

describe('FileBackend.open', () => {
  it('reports a missing image as ENOENT with a way to fix it', async () => {
    const path = join(dir, 'missing.img');
    const err = expectError(await FileBackend.open(path));
    expect(err.code).toBe('ENOENT');
    expect(err.path).toBe(path);
    expect(err.message).toContain(path);
    expect(err.message).toBe(`image ${path} not found; pass the create option with a size to create it`);
  });

  it('creates a missing image sparse when given a size', async () => {
    const path = join(dir, 'new.img');
    const size = 256 * MiB;
    const b = await openOk(path, { create: { size } });
    expect(b.size).toBe(size);
    expect(b.readOnly).toBe(false);
    const st = await stat(path);
    expect(st.size).toBe(size);
    // Sparse: far fewer 512-byte blocks allocated than the size needs.
    expect(st.blocks * 512).toBeLessThan(MiB);
    const dst = new Uint8Array(4096).fill(0xee);
    expect(await b.read(size - 4096, dst)).toBe('ok');
    expect(byteDiff(dst, new Uint8Array(4096))).toBeUndefined();
  });

  it('keeps the size of an existing image even when a create size is given', async () => {
    const path = join(dir, 'existing.img');
    await writeFile(path, pattern(8192, 1));
    const b = await openOk(path, { create: { size: MiB } });
    expect(b.size).toBe(8192);
    expect((await stat(path)).size).toBe(8192);
  });

  it.each([0, -512, 1000, 1.5])('refuses to create an image of %d bytes', async (size) => {
    const path = join(dir, 'bad.img');
    const err = expectError(await FileBackend.open(path, { create: { size } }));
    expect(err.code).toBe('EINVAL');
    expect(err.message).toContain(`of ${size} bytes: the size must be a positive multiple of 512`);
    await expect(stat(path)).rejects.toThrow(/ENOENT/); // nothing left behind
  });

  it('refuses a create size that is not a multiple of a 4096 block size', async () => {
    const err = expectError(await FileBackend.open(join(dir, 'x.img'), { create: { size: 4608 }, blockSize: 4096 }));
    expect(err.code).toBe('EINVAL');
    expect(err.message).toContain('positive multiple of 4096');
  });

  it('reports a missing parent directory when creating', async () => {
    const path = join(dir, 'no-such-dir', 'x.img');
    const err = expectError(await FileBackend.open(path, { create: { size: 4096 } }));
    expect(err.code).toBe('ENOENT');
    expect(err.message).toContain(`directory ${join(dir, 'no-such-dir')} does not exist`);
  });

  it('rejects an image whose size is not a multiple of 512, saying how to pad it', async () => {
    const path = join(dir, 'odd.img');
    await writeFile(path, new Uint8Array(1000));
    const err = expectError(await FileBackend.open(path));
    expect(err.code).toBe('EINVAL');
    expect(err.message).toBe(`image ${path} is 1000 bytes, not a multiple of 512; pad it with \`truncate -s 1024 ${path}\``);
  });

  it('rejects a short image (under one sector)', async () => {
    const path = join(dir, 'short.img');
    await writeFile(path, new Uint8Array(100));
    const err = expectError(await FileBackend.open(path, { readOnly: true }));
    expect(err.code).toBe('EINVAL');
    expect(err.message).toContain('truncate -s 512');
  });

  it('rejects an empty image', async () => {
    const path = join(dir, 'empty.img');
    await writeFile(path, new Uint8Array(0));
    const err = expectError(await FileBackend.open(path));
    expect(err.code).toBe('EINVAL');
    expect(err.message).toMatch(/is empty \(0 bytes\)/);
  });

  it('checks the size against a 4096 block size', async () => {
    const path = join(dir, 'b4k.img');
    await writeFile(path, new Uint8Array(4096 + 512));
    const err = expectError(await FileBackend.open(path, { blockSize: 4096 }));
    expect(err.code).toBe('EINVAL');
    expect(err.message).toContain('not a multiple of the 4096-byte block size; pad it with `truncate -s 8192');
    const ok = await openOk(path); // fine with 512-byte blocks
    expect(ok.blockSize).toBe(512);
  });

  it.each([false, true])('rejects a directory as EISDIR (readOnly %s)', async (readOnly) => {
    const err = expectError(await FileBackend.open(dir, { readOnly }));
    expect(err.code).toBe('EISDIR');
    expect(err.message).toContain('is a directory, not a disk image');
  });

  it.skipIf(process.getuid?.() === 0)('reports EACCES and suggests read-only for an unwritable image', async () => {
    const path = join(dir, 'ro.img');
    await writeFile(path, new Uint8Array(4096));
    await chmod(path, 0o444);
    const err = expectError(await FileBackend.open(path));
    expect(err.code).toBe('EACCES');
    expect(err.message).toContain('make it writable, or open it with readOnly if it is readable');
    expect((await openOk(path, { readOnly: true })).size).toBe(4096);
  });

  it('throws RangeError for a block size that is neither 512 nor 4096', async () => {
    await expect(FileBackend.open(join(dir, 'x'), { blockSize: 1024 as 512 })).rejects.toThrow(
      /blockSize must be 512 or 4096, got 1024/,
    );
  });

  it('errors are values, never exceptions, for a path under a regular file', async () => {
    const file = join(dir, 'plain');
    await writeFile(file, 'x');
    const err = expectError(await FileBackend.open(join(file, 'x.img')));
    expect(err.code).toBe('EIO'); // ENOTDIR is not one of ours; the message keeps it
    expect(err.message).toContain('ENOTDIR');
  });
});

describe('FileBackend I/O', () => {
  it('round-trips data and it lands at the right file offset', async () => {
    const path = join(dir, 'rt.img');
    const b = await openOk(path, { create: { size: 4 * MiB } });
    const data = pattern(3 * MiB + 512, 5); // more than the 1 MiB zero chunk, odd sector count
    expect(await b.write(512, data)).toBe('ok');
    const dst = new Uint8Array(data.length);
    expect(await b.read(512, dst)).toBe('ok');
    expect(byteDiff(dst, data)).toBeUndefined();
    expect(await b.flush()).toBe('ok');
    const onDisk = await readFile(path);
    expect(byteDiff(onDisk.subarray(512, 512 + data.length), data)).toBeUndefined();
    expect(byteDiff(onDisk.subarray(0, 512), new Uint8Array(512))).toBeUndefined();
  });

  it('runs concurrent operations without sharing a file position', async () => {
    const b = await openOk(join(dir, 'cc.img'), { create: { size: MiB } });
    const writes = Array.from({ length: 16 }, (_, i) => b.write(i * 4096, pattern(4096, i)));
    expect(await Promise.all(writes)).toEqual(Array(16).fill('ok'));
    for (let i = 0; i < 16; i++) {
      const dst = new Uint8Array(4096);
      await b.read(i * 4096, dst);
      expect(byteDiff(dst, pattern(4096, i))).toBeUndefined();
    }
  });

  it('discard and writeZeroes write zeros across several zero chunks', async () => {
    const path = join(dir, 'z.img');
    await writeFile(path, pattern(4 * MiB, 3));
    const b = await openOk(path);
    expect(await b.discard(512, 2 * MiB + 1024)).toBe('ok');
    expect(await b.writeZeroes(3 * MiB, 4096, false)).toBe('ok');
    expect(await b.writeZeroes(3 * MiB + 8192, 512, true)).toBe('ok');
    const want = pattern(4 * MiB, 3);
    want.fill(0, 512, 512 + 2 * MiB + 1024);
    want.fill(0, 3 * MiB, 3 * MiB + 4096);
    want.fill(0, 3 * MiB + 8192, 3 * MiB + 8704);
    expect(byteDiff(await readFile(path), want)).toBeUndefined();
  });

  it('reads zeros past an end of file that moved after open', async () => {
    const path = join(dir, 'shrunk.img');
    await writeFile(path, pattern(8192, 4));
    const b = await openOk(path);
    await truncate(path, 5120); // someone cut the image behind our back
    const dst = new Uint8Array(4096).fill(0xee);
    expect(await b.read(4096, dst)).toBe('ok');
    const want = new Uint8Array(4096);
    want.set(pattern(8192, 4).subarray(4096, 5120));
    expect(byteDiff(dst, want)).toBeUndefined();
    expect(b.size).toBe(8192);
  });

  it('has no allocation query (Node cannot SEEK_DATA/SEEK_HOLE)', async () => {
    const b = await openOk(join(dir, 'a.img'), { create: { size: 4096 } });
    expect('allocation' in b).toBe(false);
  });

  it('a read-only image refuses writes with io-error and stays unchanged', async () => {
    const path = join(dir, 'ro.img');
    await writeFile(path, pattern(4096, 8));
    const b = await openOk(path, { readOnly: true });
    expect(b.readOnly).toBe(true);
    expect(await b.write(0, new Uint8Array(512))).toBe('io-error');
    expect(await b.discard(0, 512)).toBe('io-error');
    expect(await b.writeZeroes(0, 512, true)).toBe('io-error');
    expect(await b.flush()).toBe('ok');
    const dst = new Uint8Array(4096);
    expect(await b.read(0, dst)).toBe('ok');
    expect(byteDiff(dst, pattern(4096, 8))).toBeUndefined();
    expect(byteDiff(await readFile(path), pattern(4096, 8))).toBeUndefined();
  });

  it('operations after close complete io-error; close is idempotent', async () => {
    const b = await openOk(join(dir, 'c.img'), { create: { size: 4096 } });
    await b.close();
    await b.close();
    expect(await b.read(0, new Uint8Array(512))).toBe('io-error');
    expect(await b.write(0, new Uint8Array(512))).toBe('io-error');
    expect(await b.flush()).toBe('io-error');
    expect(await b.discard(0, 512)).toBe('io-error');
    expect(await b.writeZeroes(0, 512, false)).toBe('io-error');
  });

  it('a write in flight when close is called still completes', async () => {
    const path = join(dir, 'inflight.img');
    const b = await openOk(path, { create: { size: MiB } });
    const pending = b.write(0, pattern(MiB, 2));
    await b.close();
    expect(await pending).toBe('ok');
    expect(byteDiff(await readFile(path), pattern(MiB, 2))).toBeUndefined();
  });

  it.each([
    ['past the end', 4096, 512],
    ['negative', -512, 512],
    ['unaligned', 256, 512],
  ])('throws RangeError for a range %s, even after close', async (_what, offset, length) => {
    const b = await openOk(join(dir, 'r.img'), { create: { size: 4096 } });
    expect(() => b.read(offset, new Uint8Array(length))).toThrow(`offset ${offset} length ${length} is not a 512-aligned range inside the 4096-byte image`);
    expect(() => b.discard(offset, length)).toThrow(RangeError);
    await b.close();
    expect(() => b.write(offset, new Uint8Array(length))).toThrow(RangeError);
  });

});

describe('FileBackend fs failures', () => {
  afterEach(() => {
    injected.code = undefined;
    injected.openCode = undefined;
    injected.createCode = undefined;
    injected.truncateCode = undefined;
  });

  it.each([
    ['EACCES', false, 'permission denied opening image PATH for writing; make it writable, or open it with readOnly if it is readable'],
    ['EPERM', false, 'permission denied opening image PATH for writing; make it writable, or open it with readOnly if it is readable'],
    ['EACCES', true, 'permission denied reading image PATH; fix its permissions'],
    ['EROFS', false, 'image PATH is on a read-only file system; open it with readOnly'],
  ])('open failing with %s (readOnly %s) says what to do', async (code, readOnly, message) => {
    const path = join(dir, 'p.img');
    await writeFile(path, new Uint8Array(4096));
    injected.openCode = code;
    const err = expectError(await FileBackend.open(path, { readOnly }));
    expect(err.code).toBe(code);
    expect(err.message).toBe(message.replace('PATH', path));
  });

  it.each([
    ['EACCES', 'permission denied creating image PATH: directory DIR is not writable; create it in one that is'],
    ['EROFS', 'cannot create image PATH: directory DIR is on a read-only file system; create it elsewhere'],
  ])('creating an image, open failing with %s: the directory is at fault, not the missing file', async (code, message) => {
    const path = join(dir, 'new.img');
    injected.createCode = code;
    const err = expectError(await FileBackend.open(path, { create: { size: 4096 } }));
    expect(err).toEqual({ ok: false, code, path, message: message.replace('PATH', path).replace('DIR', dir) });
  });

  it('creating an image larger than the file system allows (ftruncate EFBIG): EFBIG, a smaller size, nothing left behind', async () => {
    const path = join(dir, 'huge.img');
    injected.truncateCode = 'EFBIG';
    const err = expectError(await FileBackend.open(path, { create: { size: 4096 } }));
    expect(err).toEqual({ ok: false, code: 'EFBIG', path, message: `cannot create image ${path}: the size is more than its file system allows for one file; choose a smaller size` });
    await expect(stat(path)).rejects.toThrow(/ENOENT/);
  });

  it('another ftruncate failure names its code once', async () => {
    const path = join(dir, 'odd.img');
    injected.truncateCode = 'EOPNOTSUPP';
    const err = expectError(await FileBackend.open(path, { create: { size: 4096 } }));
    expect(err).toMatchObject({ code: 'EIO', message: `cannot open image ${path}: EOPNOTSUPP: injected, ftruncate` });
  });

  it.each([
    ['EIO', 'io-error'],
    ['EBADF', 'io-error'],
    ['ENOSPC', 'no-space'],
    ['EDQUOT', 'no-space'],
  ])('%s from the file system completes %s, never throws', async (code, status) => {
    const path = join(dir, 'f.img');
    await writeFile(path, pattern(4096, 6));
    const b = await openOk(path);
    injected.code = code;
    expect(await b.write(0, new Uint8Array(512))).toBe(status);
    expect(await b.read(0, new Uint8Array(512))).toBe(status);
    expect(await b.flush()).toBe(status);
    expect(await b.writeZeroes(0, 512, false)).toBe(status);
    injected.code = undefined;
    // Nothing was written, and the backend still works.
    const dst = new Uint8Array(4096);
    expect(await b.read(0, dst)).toBe('ok');
    expect(byteDiff(dst, pattern(4096, 6))).toBeUndefined();
  });

  it.each([
    ['EIO', 'io-error'],
    ['ENOSPC', 'no-space'],
  ])('a flush failing with %s (%s) fails every later flush, until the image is opened again', async (code, first) => {
    // As Linux does: fdatasync reports a writeback error once, then returns 0 for the lost data.
    const path = join(dir, 'lost.img');
    const b = await openOk(path, { create: { size: MiB } });
    expect(await b.write(0, pattern(4096, 7))).toBe('ok');
    injected.code = code;
    const failing = b.flush();
    injected.code = undefined;
    // Its fdatasync returns 0 after the other one's failure: the error was reported there.
    const beside = b.flush();
    expect(await failing).toBe(first);
    expect(await beside).toBe('io-error');
    expect(await b.flush()).toBe('io-error');
    expect(await b.write(4096, pattern(512, 8))).toBe('ok');
    expect(await b.flush()).toBe('io-error');
    expect(await (await openOk(path)).flush()).toBe('ok');
  });
});
