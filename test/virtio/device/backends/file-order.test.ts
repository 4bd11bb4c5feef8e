import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type * as FsPromises from 'node:fs/promises';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { FileBackend, type FileBackendOpenOptions } from '../../../../src/virtio/device/backends/file.js';

// A pread(2) beside an overlapping pwrite(2) can copy a page while the write is
// copying into it. That race is made certain here: an armed hold makes the next
// read or write on a handle move its first `split` bytes, stop until released,
// then move the rest, as the kernel's copy does when the other side's copy runs
// in between. The backend must keep the other kind of operation out of that gap.
// `calls` counts the reads and writes issued on handles.
const hold = vi.hoisted(() => ({
  calls: 0,
  armed: undefined as { kind: 'read' | 'write'; split: number; reached: () => void; released: Promise<void> } | undefined,
}));
vi.mock('node:fs/promises', async (importOriginal) => {
  const actual = await importOriginal<typeof FsPromises>();
  type Io = (buf: Uint8Array, at: number, length: number, position: number) => Promise<{ bytesRead?: number; bytesWritten?: number }>;
  const halves = (io: Io, kind: 'read' | 'write'): Io => async (buf, at, length, position) => {
    hold.calls++;
    const h = hold.armed;
    if (h?.kind !== kind || length <= h.split) return io(buf, at, length, position);
    hold.armed = undefined;
    const first = await io(buf, at, h.split, position);
    h.reached();
    await h.released;
    const rest = await io(buf, at + h.split, length - h.split, position + h.split);
    const moved = (r: { bytesRead?: number; bytesWritten?: number }): number => r.bytesRead ?? r.bytesWritten ?? 0;
    const n = moved(first) + moved(rest);
    return kind === 'read' ? { bytesRead: n } : { bytesWritten: n };
  };
  const held = (fh: FsPromises.FileHandle): FsPromises.FileHandle =>
    new Proxy(fh, {
      get(target, prop) {
        const value: unknown = Reflect.get(target, prop, target);
        if (typeof value !== 'function') return value;
        const bound = (value as (...args: unknown[]) => unknown).bind(target);
        if (prop === 'read') return halves(bound as Io, 'read');
        if (prop === 'write') return halves(bound as Io, 'write');
        return bound;
      },
    });
  return { ...actual, open: async (...args: Parameters<typeof actual.open>) => held(await actual.open(...args)) };
});

/** Arms the hold for the next `kind` call: it stops after `split` bytes until release(). */
function armHold(kind: 'read' | 'write', split: number): { reached: Promise<void>; release: () => void } {
  let release = (): void => undefined;
  const released = new Promise<void>((resolve) => { release = resolve; });
  let reached = (): void => undefined;
  const wasReached = new Promise<void>((resolve) => { reached = resolve; });
  hold.armed = { kind, split, reached, released };
  return { reached: wasReached, release };
}

const BLOCK = 512;
const LEN = 8 * BLOCK;
/** Bytes in the middle of the first block: a stop there splits a logical block. */
const SPLIT = 200;
const OLD = 0x11;
const NEW = 0x22;

/** The blocks of `buf` that are not one value throughout: a mix of two writes. */
function tornBlocks(buf: Uint8Array): number[] {
  const torn: number[] = [];
  for (let b = 0; b * BLOCK < buf.length; b++) {
    const blk = buf.subarray(b * BLOCK, (b + 1) * BLOCK);
    if (blk.some((v) => v !== blk[0])) torn.push(b);
  }
  return torn;
}

/** Whether `p` has settled after every ready reaction ran. */
async function settled(p: Promise<unknown>): Promise<boolean> {
  let done = false;
  void p.then(() => { done = true; }, () => { done = true; });
  await new Promise((resolve) => setImmediate(resolve));
  return done;
}

let dir: string;
const opened: FileBackend[] = [];

async function openImage(options: FileBackendOpenOptions = {}): Promise<FileBackend> {
  const path = join(dir, 'disk.img');
  await writeFile(path, new Uint8Array(4 * LEN).fill(OLD));
  const r = await FileBackend.open(path, options);
  if (!r.ok) throw new Error(`expected a backend, got ${r.code}: ${r.message}`);
  opened.push(r);
  return r;
}

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vtcam-file-order-'));
});

afterEach(async () => {
  hold.armed = undefined;
  for (const b of opened.splice(0)) await b.close();
  await rm(dir, { recursive: true, force: true });
});

describe('FileBackend: a read overlapping a write returns each block whole', () => {
  it('a read that arrives while an overlapping write is half-way waits for it, and reads the new data whole', async () => {
    const b = await openImage();
    const h = armHold('write', SPLIT);
    const w = b.write(0, new Uint8Array(LEN).fill(NEW));
    await h.reached;
    const dst = new Uint8Array(LEN);
    const r = b.read(0, dst);
    expect(await settled(r)).toBe(false);
    h.release();
    expect(await Promise.all([w, r])).toEqual(['ok', 'ok']);
    expect(tornBlocks(dst)).toEqual([]);
    expect(dst[0]).toBe(NEW);
  });

  it('a write that arrives while an overlapping read is half-way waits for it: the read gets the old data whole', async () => {
    const b = await openImage();
    const h = armHold('read', SPLIT);
    const dst = new Uint8Array(LEN);
    const r = b.read(0, dst);
    await h.reached;
    const w = b.write(BLOCK * 4, new Uint8Array(LEN).fill(NEW)); // overlaps the read's last four blocks
    const w0 = b.write(0, new Uint8Array(BLOCK).fill(NEW)); // the block the read stopped in
    expect(await settled(w0)).toBe(false);
    h.release();
    expect(await Promise.all([r, w, w0])).toEqual(['ok', 'ok', 'ok']);
    expect(tornBlocks(dst)).toEqual([]);
    expect(dst.every((v) => v === OLD)).toBe(true);
    const after = await readFile(join(dir, 'disk.img'));
    expect([after[0], after[BLOCK * 4], after[LEN + 4 * BLOCK - 1], after[LEN + 4 * BLOCK]]).toEqual([NEW, NEW, NEW, OLD]);
  });

  it.each([
    ['write-zeroes', (b: FileBackend) => b.writeZeroes(0, LEN, false)],
    ['discard', (b: FileBackend) => b.discard(0, LEN)],
    ['write-zeroes with unmap', (b: FileBackend) => b.writeZeroes(0, LEN, true)],
  ])('a read overlapping a %s half-way waits for it and reads zeros whole', async (_name, zero) => {
    const b = await openImage();
    const h = armHold('write', SPLIT);
    const z = zero(b);
    await h.reached;
    const dst = new Uint8Array(LEN).fill(0xee);
    const r = b.read(0, dst);
    expect(await settled(r)).toBe(false);
    h.release();
    expect(await Promise.all([z, r])).toEqual(['ok', 'ok']);
    expect(dst.every((v) => v === 0)).toBe(true);
  });

  it('a discard that arrives while an overlapping read is half-way waits for it', async () => {
    const b = await openImage();
    const h = armHold('read', SPLIT);
    const dst = new Uint8Array(LEN);
    const r = b.read(0, dst);
    await h.reached;
    const calls = hold.calls;
    const d = b.discard(0, LEN);
    expect(await settled(d)).toBe(false);
    // Not even its first pread (it reads the range for data to zero) was issued.
    expect(hold.calls).toBe(calls);
    h.release();
    expect(await Promise.all([r, d])).toEqual(['ok', 'ok']);
    expect(dst.every((v) => v === OLD)).toBe(true);
  });

  it('overlapping reads do not wait for each other, nor writes for writes, nor a read for a write elsewhere', async () => {
    const b = await openImage();
    const hr = armHold('read', SPLIT);
    const held = b.read(0, new Uint8Array(LEN));
    await hr.reached;
    const beside = new Uint8Array(LEN);
    expect(await b.read(0, beside)).toBe('ok');
    expect(beside.every((v) => v === OLD)).toBe(true);
    hr.release();
    expect(await held).toBe('ok');

    const hw = armHold('write', SPLIT);
    const heldWrite = b.write(0, new Uint8Array(LEN).fill(NEW));
    await hw.reached;
    expect(await b.write(0, new Uint8Array(BLOCK).fill(0x33))).toBe('ok');
    const elsewhere = new Uint8Array(LEN);
    expect(await b.read(LEN, elsewhere)).toBe('ok');
    expect(elsewhere.every((v) => v === OLD)).toBe(true);
    hw.release();
    expect(await heldWrite).toBe('ok');
  });

  it('a read arriving after a write that waits for an earlier read waits for that write (no starvation)', async () => {
    const b = await openImage();
    const h = armHold('read', SPLIT);
    const first = new Uint8Array(LEN);
    const r1 = b.read(0, first);
    await h.reached;
    const w = b.write(0, new Uint8Array(LEN).fill(NEW));
    const later = new Uint8Array(LEN);
    const r2 = b.read(0, later);
    expect([await settled(w), await settled(r2)]).toEqual([false, false]);
    h.release();
    expect(await Promise.all([r1, w, r2])).toEqual(['ok', 'ok', 'ok']);
    expect([first.every((v) => v === OLD), later.every((v) => v === NEW)]).toEqual([true, true]);
  });
});

describe('FileBackend syncReady: no blocking call beside an asynchronous read or write', () => {
  it.each([
    ['read', (b: FileBackend) => b.read(0, new Uint8Array(LEN))],
    ['write', (b: FileBackend) => b.write(0, new Uint8Array(LEN).fill(NEW))],
    ['discard', (b: FileBackend) => b.discard(0, LEN)],
  ] as const)("io 'sync': says no while an asynchronous %s is in flight, yes once it ended", async (kind, op) => {
    const b = await openImage({ io: 'sync' });
    expect(b.syncReady?.()).toBe(true);
    const h = armHold(kind === 'read' ? 'read' : 'write', SPLIT);
    const p = op(b);
    await h.reached;
    expect(b.syncReady?.()).toBe(false);
    h.release();
    expect(await p).toBe('ok');
    expect(b.syncReady?.()).toBe(true);
  });

  it("io 'auto': says no while an asynchronous write is in flight without touching the gate, and yes after", async () => {
    const b = await openImage({ io: 'auto' });
    const h = armHold('write', SPLIT);
    const p = b.writeZeroes(0, LEN, false);
    await h.reached;
    expect(b.syncReady?.()).toBe(false);
    expect(b.syncGate).toEqual({ open: true, closes: 0, backoffMs: 1000 });
    h.release();
    expect(await p).toBe('ok');
    expect(b.syncReady?.()).toBe(true);
  });

  it("flush is not a read or a write: syncReady stays yes while one runs", async () => {
    const b = await openImage({ io: 'sync' });
    const f = b.flush();
    expect(b.syncReady?.()).toBe(true);
    expect(await f).toBe('ok');
  });
});
