import { readdirSync } from 'node:fs';
import { mkdtemp, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type * as Fs from 'node:fs';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { FileBackend, type FileBackendOpenOptions } from '../../../../src/virtio/device/backends/file.js';
import { byteDiff, pattern } from './bytes.js';

// The sync mode calls fs.readSync / fs.writeSync. While `injected.code` is set they
// throw that error code, as the kernel would on a failing disk or a full file
// system; `injected.cap` bounds the bytes one call moves (short reads and writes);
// `injected.zeroWrite` makes pwrite(2) report 0 bytes written; each call moves
// `injected.clock` (the io 'auto' gate's clock) on by `injected.takesMs`.
const injected = vi.hoisted(() => ({
  code: undefined as string | undefined,
  cap: Number.POSITIVE_INFINITY,
  zeroWrite: false,
  calls: 0,
  clock: 0,
  takesMs: 0,
}));
vi.mock('node:fs', async (importOriginal) => {
  const actual = await importOriginal<typeof Fs>();
  const fail = (): void => {
    injected.calls++;
    injected.clock += injected.takesMs;
    if (injected.code !== undefined) throw Object.assign(new Error(`injected ${injected.code}`), { code: injected.code });
  };
  return {
    ...actual,
    readSync: (fd: number, buf: Uint8Array, at: number, length: number, position: number): number => {
      fail();
      return actual.readSync(fd, buf, at, Math.min(length, injected.cap), position);
    },
    writeSync: (fd: number, buf: Uint8Array, at: number, length: number, position: number): number => {
      fail();
      if (injected.zeroWrite) return 0;
      return actual.writeSync(fd, buf, at, Math.min(length, injected.cap), position);
    },
  };
});

type SyncIo = Required<Pick<FileBackend, 'readSync' | 'writeSync'>>;

function hasSyncIo(b: FileBackend): b is FileBackend & SyncIo {
  return b.readSync !== undefined && b.writeSync !== undefined;
}

let dir: string;
const opened: FileBackend[] = [];

async function openSync(path: string, options: FileBackendOpenOptions = {}): Promise<FileBackend & SyncIo> {
  const r = await FileBackend.open(path, { ...options, io: 'sync' });
  if (!r.ok) throw new Error(`expected a backend, got ${r.code}: ${r.message}`);
  opened.push(r);
  if (!hasSyncIo(r)) throw new Error('io: sync gave no readSync/writeSync');
  return r;
}

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vtcam-file-sync-'));
});

afterEach(async () => {
  injected.code = undefined;
  injected.cap = Number.POSITIVE_INFINITY;
  injected.zeroWrite = false;
  injected.calls = 0;
  injected.takesMs = 0;
  for (const b of opened.splice(0)) await b.close();
  await rm(dir, { recursive: true, force: true });
});

describe("FileBackend io: 'sync'", () => {
  it('the default async mode has no synchronous forms, so the device never blocks the main thread', async () => {
    const r = await FileBackend.open(join(dir, 'a.img'), { create: { size: 4096 } });
    if (!r.ok) throw new Error(r.message);
    opened.push(r);
    expect('readSync' in r).toBe(false);
    expect('writeSync' in r).toBe(false);
  });

  it('rejects an unknown io mode with RangeError', async () => {
    await expect(FileBackend.open(join(dir, 'x.img'), { io: 'direct' as 'sync' })).rejects.toThrow(
      /io must be 'async', 'sync' or 'auto', got direct/,
    );
  });

  it('round-trips at an index of the buffer, lands at the right file offset, and matches the async path', async () => {
    const path = join(dir, 'rt.img');
    const b = await openSync(path, { create: { size: 64 * 1024 } });
    const data = pattern(8192 + 512, 5);
    const src = new Uint8Array(data.length + 700).fill(0x77);
    src.set(data, 300);
    expect(b.writeSync(1024, src, 300, data.length)).toBe('ok');
    const dst = new Uint8Array(data.length + 700).fill(0xee);
    expect(b.readSync(1024, dst, 200, data.length)).toBe('ok');
    expect(byteDiff(dst.subarray(200, 200 + data.length), data)).toBeUndefined();
    expect([dst[199], dst[200 + data.length]]).toEqual([0xee, 0xee]);
    const viaAsync = new Uint8Array(data.length);
    expect(await b.read(1024, viaAsync)).toBe('ok');
    expect(byteDiff(viaAsync, data)).toBeUndefined();
    const onDisk = await readFile(path);
    expect(byteDiff(onDisk.subarray(1024, 1024 + data.length), data)).toBeUndefined();
    expect(byteDiff(onDisk.subarray(0, 1024), new Uint8Array(1024))).toBeUndefined();
  });

  it('loops over short reads and writes until every byte moved', async () => {
    const path = join(dir, 'short.img');
    const b = await openSync(path, { create: { size: 16 * 1024 } });
    injected.cap = 1000; // not even a sector: every call moves a ragged piece
    const data = pattern(8192, 7);
    expect(b.writeSync(4096, data, 0, data.length)).toBe('ok');
    expect(injected.calls).toBe(9); // ceil(8192 / 1000)
    injected.calls = 0;
    const dst = new Uint8Array(8192);
    expect(b.readSync(4096, dst, 0, dst.length)).toBe('ok');
    expect(injected.calls).toBe(9);
    expect(byteDiff(dst, data)).toBeUndefined();
    injected.cap = Number.POSITIVE_INFINITY;
    expect(byteDiff((await readFile(path)).subarray(4096, 4096 + 8192), data)).toBeUndefined();
  });

  it('reads zeros past an end of file that moved after open, as the async path does', async () => {
    const path = join(dir, 'shrunk.img');
    await writeFile(path, pattern(8192, 4));
    const b = await openSync(path);
    await truncate(path, 5120);
    const dst = new Uint8Array(4096 + 100).fill(0xee);
    expect(b.readSync(4096, dst, 100, 4096)).toBe('ok');
    const want = new Uint8Array(4096);
    want.set(pattern(8192, 4).subarray(4096, 5120));
    expect(byteDiff(dst.subarray(100), want)).toBeUndefined();
    expect(dst[99]).toBe(0xee);
  });

  it('a zero-byte pwrite completes io-error instead of looping forever', async () => {
    const b = await openSync(join(dir, 'z.img'), { create: { size: 4096 } });
    injected.zeroWrite = true;
    expect(b.writeSync(0, pattern(512, 1), 0, 512)).toBe('io-error');
    expect(injected.calls).toBe(1);
  });

  it.each([
    ['EIO', 'io-error'],
    ['EBADF', 'io-error'],
    ['ENOSPC', 'no-space'],
    ['EDQUOT', 'no-space'],
  ])('%s from the file system completes %s, never throws, and the backend still works', async (code, status) => {
    const path = join(dir, 'f.img');
    await writeFile(path, pattern(4096, 6));
    const b = await openSync(path);
    injected.code = code;
    expect(b.writeSync(0, new Uint8Array(512), 0, 512)).toBe(status);
    expect(b.readSync(0, new Uint8Array(512), 0, 512)).toBe(status);
    injected.code = undefined;
    const dst = new Uint8Array(4096);
    expect(b.readSync(0, dst, 0, 4096)).toBe('ok');
    expect(byteDiff(dst, pattern(4096, 6))).toBeUndefined();
  });

  it('async flush, discard and write-zeroes work on the same file between synchronous I/O', async () => {
    const path = join(dir, 'mixed.img');
    const b = await openSync(path, { create: { size: 3 * 1024 * 1024 } });
    const data = pattern(2 * 1024 * 1024, 3);
    expect(b.writeSync(0, data, 0, data.length)).toBe('ok');
    expect(await b.discard(4096, 1024 * 1024 + 512)).toBe('ok');
    expect(await b.writeZeroes(2 * 1024 * 1024 - 512, 512, true)).toBe('ok');
    expect(await b.flush()).toBe('ok');
    const want = data.slice();
    want.fill(0, 4096, 4096 + 1024 * 1024 + 512);
    want.fill(0, want.length - 512);
    const dst = new Uint8Array(data.length);
    expect(b.readSync(0, dst, 0, dst.length)).toBe('ok');
    expect(byteDiff(dst, want)).toBeUndefined();
    expect(byteDiff((await readFile(path)).subarray(0, data.length), want)).toBeUndefined();
  });

  it('a read-only image refuses writeSync with io-error and stays unchanged', async () => {
    const path = join(dir, 'ro.img');
    await writeFile(path, pattern(4096, 8));
    const b = await openSync(path, { readOnly: true });
    expect(b.writeSync(0, new Uint8Array(512), 0, 512)).toBe('io-error');
    expect(injected.calls).toBe(0);
    const dst = new Uint8Array(4096);
    expect(b.readSync(0, dst, 0, 4096)).toBe('ok');
    expect(byteDiff(dst, pattern(4096, 8))).toBeUndefined();
  });

  it.each([
    ['past the end', 4096, 512],
    ['negative', -512, 512],
    ['unaligned', 256, 512],
  ])('throws RangeError for a range %s', async (_what, offset, length) => {
    const b = await openSync(join(dir, 'r.img'), { create: { size: 4096 } });
    const buf = new Uint8Array(Math.max(length, 0));
    expect(() => b.readSync(offset, buf, 0, length)).toThrow(
      `FileBackend.readSync: offset ${offset} length ${length} is not a 512-aligned range inside the 4096-byte image`,
    );
    expect(() => b.writeSync(offset, buf, 0, length)).toThrow(RangeError);
    expect(injected.calls).toBe(0);
  });

  it('throws RangeError for a buffer range outside the buffer', async () => {
    const b = await openSync(join(dir, 'b.img'), { create: { size: 4096 } });
    expect(() => b.readSync(0, new Uint8Array(512), 1, 512)).toThrow('FileBackend: [1, +512) is outside the 512-byte buffer');
    expect(() => b.writeSync(0, new Uint8Array(512), -512, 512)).toThrow(RangeError);
    expect(injected.calls).toBe(0);
  });

  it('after close, synchronous I/O completes io-error without touching a descriptor', async () => {
    const b = await openSync(join(dir, 'c.img'), { create: { size: 4096 } });
    await b.close();
    expect(b.readSync(0, new Uint8Array(512), 0, 512)).toBe('io-error');
    expect(b.writeSync(0, new Uint8Array(512), 0, 512)).toBe('io-error');
    expect(injected.calls).toBe(0);
  });

  it.runIf(process.platform === 'linux')('close() closes the descriptor', async () => {
    const fds = (): number => readdirSync('/proc/self/fd').length;
    const before = fds();
    const b = await openSync(join(dir, 'fd.img'), { create: { size: 4096 } });
    expect(b.writeSync(0, pattern(512, 2), 0, 512)).toBe('ok');
    expect(fds()).toBe(before + 1);
    await b.close();
    expect(fds()).toBe(before);
  });
});

describe("FileBackend io: 'auto'", () => {
  async function openAuto(path: string): Promise<FileBackend & SyncIo & { syncReady: () => boolean }> {
    const r = await FileBackend.open(path, { create: { size: 64 * 1024 }, io: 'auto', syncGate: { now: () => injected.clock, slowLimit: 2, backoffMs: 50 } });
    if (!r.ok) throw new Error(r.message);
    opened.push(r);
    const { syncReady } = r;
    if (!hasSyncIo(r) || syncReady === undefined) throw new Error("io: 'auto' gave no readSync/writeSync/syncReady");
    return Object.assign(r, { syncReady });
  }

  it('blocks while calls come from the page cache; after slow ones, says not now until the back-off ends', async () => {
    const b = await openAuto(join(dir, 'auto.img'));
    expect(b.io).toBe('auto');
    const data = pattern(4096, 9);
    injected.takesMs = 0.001;
    expect(b.writeSync(0, data, 0, 4096)).toBe('ok');
    const dst = new Uint8Array(4096);
    expect(b.readSync(0, dst, 0, 4096)).toBe('ok');
    expect(b.syncReady()).toBe(true);
    // Two reads at a disk's pace (5 ms each) close the gate.
    injected.takesMs = 5;
    expect(b.readSync(0, dst, 0, 4096)).toBe('ok');
    expect(b.syncReady()).toBe(true);
    expect(b.readSync(0, dst, 0, 4096)).toBe('ok');
    expect(b.syncReady()).toBe(false);
    expect(b.syncGate).toMatchObject({ open: false, closes: 1 });
    // Meanwhile the asynchronous path serves, untimed and unaffected.
    const viaAsync = new Uint8Array(4096);
    expect(await b.read(0, viaAsync)).toBe('ok');
    expect(byteDiff(viaAsync, data)).toBeUndefined();
    injected.clock += 50;
    expect(b.syncReady()).toBe(true);
    expect(byteDiff(dst, data)).toBeUndefined();
  });

  it('slow writes close it as slow reads do, and the gate options reach it (onClose is told)', async () => {
    const told: number[] = [];
    const r = await FileBackend.open(join(dir, 'w.img'), { create: { size: 4096 }, io: 'auto', syncGate: { now: () => injected.clock, slowLimit: 2, backoffMs: 50, onClose: (c) => told.push(c.backoffMs) } });
    if (!r.ok) throw new Error(r.message);
    opened.push(r);
    if (!hasSyncIo(r)) throw new Error("io: 'auto' gave no readSync/writeSync");
    injected.takesMs = 1;
    expect(r.writeSync(0, pattern(512, 1), 0, 512)).toBe('ok');
    expect(r.writeSync(512, pattern(512, 2), 0, 512)).toBe('ok');
    expect(r.syncReady?.()).toBe(false);
    await Promise.resolve();
    expect(told).toEqual([50]);
  });

  it("refuses gate options without io 'auto', and bad gate options, with RangeError before touching the file", async () => {
    const path = join(dir, 'never.img');
    await expect(FileBackend.open(path, { create: { size: 4096 }, io: 'sync', syncGate: {} })).rejects.toThrow("FileBackend.open: syncGate applies to io 'auto', not 'sync'");
    await expect(FileBackend.open(path, { create: { size: 4096 }, syncGate: {} })).rejects.toThrow("syncGate applies to io 'auto', not 'async'");
    await expect(FileBackend.open(path, { create: { size: 4096 }, io: 'auto', syncGate: { window: 0 } })).rejects.toThrow('SyncGate: window must be a whole number >= 1, got 0');
    expect(readdirSync(dir)).toEqual([]);
  });

  it("'sync' has no gate, and a syncReady that says yes while no asynchronous read or write is in flight", async () => {
    const s = await openSync(join(dir, 's.img'), { create: { size: 4096 } });
    expect([s.io, s.syncGate, s.syncReady?.()]).toEqual(['sync', undefined, true]);
  });

  it("'async' has no syncReady and no gate: it has no blocking forms to choose", async () => {
    const r = await FileBackend.open(join(dir, 'a.img'), { create: { size: 4096 } });
    if (!r.ok) throw new Error(r.message);
    opened.push(r);
    expect([r.io, 'syncReady' in r, r.syncGate]).toEqual(['async', false, undefined]);
  });
});
