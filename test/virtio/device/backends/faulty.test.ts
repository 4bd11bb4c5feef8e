import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { BackendStatus } from '../../../../src/virtio/device/backend.js';
import { FaultyBackend, type FaultyBackendOptions } from '../../../../src/virtio/device/backends/faulty.js';
import { FileBackend } from '../../../../src/virtio/device/backends/file.js';
import { MemoryBackend } from '../../../../src/virtio/device/backends/memory.js';

const block = (value: number, length = 512): Uint8Array => new Uint8Array(length).fill(value);

async function readInner(inner: MemoryBackend, offset: number, length: number): Promise<Uint8Array> {
  const dst = new Uint8Array(length);
  expect(await inner.read(offset, dst)).toBe('ok');
  return dst;
}

/** Lets pending promise callbacks and immediates run. */
const settle = async (turns = 20): Promise<void> => {
  for (let i = 0; i < turns; i++) await new Promise((resolve) => setImmediate(resolve));
};

describe('FaultyBackend failed ranges', () => {
  it('a write touching a failed range returns the status and writes nothing, not even outside the range', async () => {
    const inner = new MemoryBackend({ blocks: 64 });
    const f = new FaultyBackend(inner);
    f.failRange({ offset: 4096, length: 512, ops: ['write'] });
    // Sectors 7..8: only sector 8 is in the failed range.
    expect(await f.write(3584, block(0xaa, 1024))).toBe('io-error');
    expect(await readInner(inner, 3584, 1024)).toEqual(block(0, 1024));
    expect(inner.allocatedBytes).toBe(0);
    // Just below the range: passes through.
    expect(await f.write(3584, block(0xbb))).toBe('ok');
    expect(await readInner(inner, 3584, 512)).toEqual(block(0xbb));
    // Just above it too.
    expect(await f.write(4608, block(0xcc))).toBe('ok');
    expect(f.stats).toEqual({ read: 0, write: 3, flush: 0, discard: 0, writeZeroes: 0, allocation: 0, failed: 1 });
  });

  it('a failed read returns the status and leaves dst untouched', async () => {
    const inner = new MemoryBackend({ blocks: 64 });
    await inner.write(0, block(0x11, 4096));
    const f = new FaultyBackend(inner);
    f.failRange({ offset: 1024, length: 1024, ops: ['read'], status: 'no-space' });
    const dst = block(0xee, 4096);
    expect(await f.read(0, dst)).toBe('no-space');
    expect(dst).toEqual(block(0xee, 4096));
    // Writes are not in the fault's ops.
    expect(await f.write(1024, block(0x22))).toBe('ok');
    expect(await readInner(inner, 1024, 512)).toEqual(block(0x22));
  });

  it('discard, writeZeroes and flush faults, and an ok-status fault that drops a write', async () => {
    const inner = new MemoryBackend({ blocks: 64 });
    await inner.write(0, block(0x33, 8192));
    const f = new FaultyBackend(inner);
    f.failRange({ offset: 0, length: 512, ops: ['discard', 'writeZeroes'] });
    expect(await f.discard(0, 1024)).toBe('io-error');
    expect(await f.writeZeroes(0, 512, true)).toBe('io-error');
    expect(await readInner(inner, 0, 1024)).toEqual(block(0x33, 1024));
    expect(await f.flush()).toBe('ok');
    f.failRange({ offset: 7 * 512, length: 512, ops: ['flush'] });
    expect(await f.flush()).toBe('io-error'); // flush has no range: any flush fault fires
    f.failRange({ offset: 6144, length: 512, ops: ['write'], status: 'ok' });
    expect(await f.write(6144, block(0x44))).toBe('ok');
    expect(await readInner(inner, 6144, 512)).toEqual(block(0x33));
  });

  it('the oldest matching fault wins; clearFault and clearFaults restore service', async () => {
    const inner = new MemoryBackend({ blocks: 64 });
    const f = new FaultyBackend(inner);
    const a = f.failRange({ offset: 0, length: 4096, ops: ['write'], status: 'no-space' });
    const b = f.failRange({ offset: 0, length: 512, ops: ['write'], status: 'unsupported' });
    expect(await f.write(0, block(1))).toBe('no-space');
    expect(f.clearFault(a)).toBe(true);
    expect(f.clearFault(a)).toBe(false);
    expect(await f.write(0, block(1))).toBe('unsupported');
    expect(await f.write(512, block(1))).toBe('ok');
    f.failRange({ offset: 0, length: 512, ops: ['read'] });
    f.clearFaults();
    expect(f.clearFault(b)).toBe(false);
    expect(await f.write(0, block(2))).toBe('ok');
    expect(await f.read(0, new Uint8Array(512))).toBe('ok');
    expect(await readInner(inner, 0, 512)).toEqual(block(2));
  });

  it('a zero-length operation touches no range', async () => {
    const f = new FaultyBackend(new MemoryBackend({ blocks: 8 }));
    f.failRange({ offset: 0, length: 4096, ops: ['read', 'discard'] });
    expect(await f.read(512, new Uint8Array(0))).toBe('ok');
    expect(await f.discard(512, 0)).toBe('ok');
  });

  it('rejects nonsense faults and out-of-range operations with RangeError', () => {
    const f = new FaultyBackend(new MemoryBackend({ blocks: 8 }));
    expect(() => f.failRange({ offset: -1, length: 512, ops: ['read'] })).toThrow(/offset -1 length 512/);
    expect(() => f.failRange({ offset: 0, length: 0, ops: ['read'] })).toThrow(RangeError);
    expect(() => f.failRange({ offset: 0, length: 512, ops: [] })).toThrow(/ops is empty/);
    expect(() => f.read(4096, new Uint8Array(512))).toThrow(/offset 4096 length 512 is not a 512-aligned range inside the 4096-byte disk/);
    expect(() => f.discard(0, 100)).toThrow(RangeError);
    expect(() => new FaultyBackend(new MemoryBackend({ blocks: 8 }), { latency: { minMs: 5, maxMs: 1 } })).toThrow(
      /minMs 5 maxMs 1/,
    );
    expect(f.stats.read).toBe(0); // a rejected call is not counted
  });
});

describe('FaultyBackend scheduling', () => {
  /** Submits n reads at once and returns the order they completed in. */
  async function completionOrder(options: FaultyBackendOptions, n = 16): Promise<number[]> {
    const f = new FaultyBackend(new MemoryBackend({ blocks: 64 }), options);
    const order: number[] = [];
    const ops = Array.from({ length: n }, (_, i) =>
      f.read((i % 64) * 512, new Uint8Array(512)).then((status: BackendStatus) => {
        expect(status).toBe('ok');
        order.push(i);
      }),
    );
    await Promise.all(ops);
    return order;
  }

  const inOrder = (n: number): number[] => Array.from({ length: n }, (_, i) => i);
  const sorted = (a: number[]): number[] => [...a].sort((x, y) => x - y);

  it('without options, completes in submission order', async () => {
    expect(await completionOrder({})).toEqual(inOrder(16));
  });

  it('reorder without latency completes out of order, reproducibly for a seed', async () => {
    const first = await completionOrder({ reorder: true, seed: 7 });
    expect(first).not.toEqual(inOrder(16));
    expect(sorted(first)).toEqual(inOrder(16)); // every op completed once
    expect(await completionOrder({ reorder: true, seed: 7 })).toEqual(first);
  });

  // Wall-clock timers on a loaded machine may swap two delays a millisecond
  // apart, so only the turn-based reorder above is asserted to be reproducible.
  it('latency with reorder completes out of order, every op once', async () => {
    const options = { reorder: true, seed: 1234, latency: { minMs: 1, maxMs: 30 } };
    const first = await completionOrder(options);
    expect(first).not.toEqual(inOrder(16));
    expect(sorted(first)).toEqual(inOrder(16));
  });

  it('latency without reorder is a FIFO device: random delays, submission order', async () => {
    const started = performance.now();
    expect(await completionOrder({ seed: 1234, latency: { minMs: 1, maxMs: 30 } })).toEqual(inOrder(16));
    expect(performance.now() - started).toBeGreaterThanOrEqual(1);
  });

  it('latency delays every operation by at least minMs', async () => {
    const f = new FaultyBackend(new MemoryBackend({ blocks: 8 }), { latency: { minMs: 40, maxMs: 40 } });
    const started = performance.now();
    expect(await f.flush()).toBe('ok');
    // Timers may fire up to a millisecond early relative to performance.now().
    expect(performance.now() - started).toBeGreaterThanOrEqual(39);
  });

  it('a failed operation is delayed like any other', async () => {
    const inner = new MemoryBackend({ blocks: 8 });
    const f = new FaultyBackend(inner, { latency: { minMs: 40, maxMs: 40 } });
    f.failRange({ offset: 0, length: 512, ops: ['write'] });
    const started = performance.now();
    expect(await f.write(0, block(9))).toBe('io-error');
    expect(performance.now() - started).toBeGreaterThanOrEqual(39);
    expect(inner.allocatedBytes).toBe(0);
  });
});

describe('FaultyBackend stall and release', () => {
  it('holds operations until released, one at a time or all at once', async () => {
    const inner = new MemoryBackend({ blocks: 64 });
    const f = new FaultyBackend(inner);
    f.stall();
    const done: number[] = [];
    const ops = [0, 1, 2].map((i) => f.write(i * 512, block(i + 1)).then(() => done.push(i)));
    expect(f.stalledCount).toBe(3);
    await settle();
    expect(done).toEqual([]);
    expect(inner.allocatedBytes).toBe(0); // nothing reached the inner backend

    expect(f.release(1)).toBe(1);
    await settle();
    expect(done).toEqual([0]);
    expect(f.stalledCount).toBe(2);
    // Still stalled: a new op is held too.
    const late = f.flush();
    expect(f.stalledCount).toBe(3);

    expect(f.release()).toBe(3);
    await Promise.all(ops);
    expect(await late).toBe('ok');
    expect(done).toEqual([0, 1, 2]);
    expect(f.stalledCount).toBe(0);
    expect(await readInner(inner, 0, 1536)).toEqual(new Uint8Array([...block(1), ...block(2), ...block(3)]));
    // The stall is over: new ops pass straight through.
    expect(await f.read(0, new Uint8Array(512))).toBe('ok');
    expect(f.stats).toEqual({ read: 1, write: 3, flush: 1, discard: 0, writeZeroes: 0, allocation: 0, failed: 0 });
  });

  it('a fault drawn at submission survives clearFaults while stalled', async () => {
    const inner = new MemoryBackend({ blocks: 8 });
    const f = new FaultyBackend(inner);
    f.failRange({ offset: 0, length: 512, ops: ['write'] });
    f.stall();
    const pending = f.write(0, block(5));
    f.clearFaults();
    f.release();
    expect(await pending).toBe('io-error');
    expect(inner.allocatedBytes).toBe(0);
  });
});

describe('FaultyBackend pass-through', () => {
  it('passes size, readOnly and allocation through from a memory backend', async () => {
    const inner = new MemoryBackend({ blocks: 256, readOnly: false });
    await inner.write(65536, block(1));
    const f = new FaultyBackend(inner);
    expect(f.size).toBe(131072);
    expect(f.readOnly).toBe(false);
    expect(typeof f.allocation).toBe('function');
    expect(await f.allocation?.(0, 131072)).toEqual([
      { offset: 0, length: 65536, allocated: false },
      { offset: 65536, length: 65536, allocated: true },
    ]);
    expect(f.stats.allocation).toBe(1);
    inner.resize(512);
    expect(f.size).toBe(262144); // live, not a copy taken at construction
    expect(new FaultyBackend(new MemoryBackend({ blocks: 8, readOnly: true })).readOnly).toBe(true);
  });

  it('has no allocation over a backend without one, and close closes the inner backend', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'vtcam-faulty-'));
    try {
      const file = await FileBackend.open(join(dir, 'x.img'), { create: { size: 4096 } });
      if (!file.ok) throw new Error(file.message);
      const f = new FaultyBackend(file);
      expect(f.allocation).toBeUndefined();
      expect('allocation' in f).toBe(false);
      expect(await f.write(0, block(3))).toBe('ok');
      await f.close();
      expect(await file.read(0, new Uint8Array(512))).toBe('io-error');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
