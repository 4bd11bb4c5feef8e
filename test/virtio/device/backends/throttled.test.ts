// ThrottledBackend: the bucket's arithmetic under fake timers (the clock only
// moves when a test moves it, so start times are exact, not sampled), FIFO
// order, errors passing through, and close() with operations waiting. One
// test uses real timers to show close() leaves no timer keeping the process up.

import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { BackendStatus, BlockBackend } from '../../../../src/virtio/device/backend.js';
import { FaultyBackend } from '../../../../src/virtio/device/backends/faulty.js';
import { MemoryBackend } from '../../../../src/virtio/device/backends/memory.js';
import { ThrottledBackend } from '../../../../src/virtio/device/backends/throttled.js';
import { byteDiff, pattern, readBack } from './bytes.js';

const KiB = 1024;
const MiB = 1024 * KiB;

interface Started {
  readonly op: string;
  readonly offset: number;
  readonly length: number;
  /** performance.now() when the operation reached the inner backend. */
  readonly at: number;
}

/** A MemoryBackend that logs when each operation reaches it, and can be made to throw or reject. */
class Recording implements BlockBackend {
  readonly log: Started[] = [];
  readonly mem: MemoryBackend;
  closes = 0;
  /** The next write rejects with this (once). */
  rejectNextWrite: Error | undefined;
  /** The next write throws this synchronously (once). */
  throwNextWrite: Error | undefined;

  constructor(blocks = 16_384) {
    this.mem = new MemoryBackend({ blocks });
  }

  get size(): number {
    return this.mem.size;
  }

  get readOnly(): boolean {
    return this.mem.readOnly;
  }

  #note(op: string, offset: number, length: number): void {
    this.log.push({ op, offset, length, at: performance.now() });
  }

  read(offset: number, dst: Uint8Array): Promise<BackendStatus> {
    this.#note('read', offset, dst.length);
    return this.mem.read(offset, dst);
  }

  write(offset: number, src: Uint8Array): Promise<BackendStatus> {
    this.#note('write', offset, src.length);
    const thrown = this.throwNextWrite;
    this.throwNextWrite = undefined;
    if (thrown !== undefined) throw thrown;
    const rejected = this.rejectNextWrite;
    this.rejectNextWrite = undefined;
    if (rejected !== undefined) return Promise.reject(rejected);
    return this.mem.write(offset, src);
  }

  flush(): Promise<BackendStatus> {
    this.#note('flush', 0, 0);
    return this.mem.flush();
  }

  discard(offset: number, length: number): Promise<BackendStatus> {
    this.#note('discard', offset, length);
    return this.mem.discard(offset, length);
  }

  writeZeroes(offset: number, length: number, unmap: boolean): Promise<BackendStatus> {
    this.#note('writeZeroes', offset, length);
    return this.mem.writeZeroes(offset, length, unmap);
  }

  close(): Promise<void> {
    this.closes++;
    return this.mem.close();
  }
}

type Outcome = BackendStatus | 'pending' | 'rejected';

/**
 * Each operation's outcome, filled in as it settles: a test reads them after
 * moving the clock, so one that never settles fails the test instead of
 * hanging it.
 */
function outcomes(ops: readonly Promise<BackendStatus>[]): Outcome[] {
  const out: Outcome[] = ops.map(() => 'pending');
  ops.forEach((op, i) => {
    op.then(
      (s) => {
        out[i] = s;
      },
      () => {
        out[i] = 'rejected';
      },
    );
  });
  return out;
}

describe('ThrottledBackend construction', () => {
  it.each([0, -1, -4096, Number.NaN, 1.5, Number.POSITIVE_INFINITY, 2 ** 53])('bytesPerSecond %s is a RangeError', (rate) => {
    expect(() => new ThrottledBackend(new MemoryBackend({ blocks: 8 }), { bytesPerSecond: rate })).toThrow(
      new RangeError(`ThrottledBackend: bytesPerSecond must be a positive whole number of bytes, got ${rate}`),
    );
  });

  it('1 byte/s is the smallest rate; the bucket is a tenth of a second of it, at least one byte', () => {
    expect(new ThrottledBackend(new MemoryBackend({ blocks: 8 }), { bytesPerSecond: 1 }).burstBytes).toBe(1);
    expect(new ThrottledBackend(new MemoryBackend({ blocks: 8 }), { bytesPerSecond: 16 * MiB }).burstBytes).toBe(1_677_722);
  });

  it('passes size, readOnly and allocation through, and offers no synchronous I/O and no share()', async () => {
    const inner = new MemoryBackend({ blocks: 64, readOnly: true });
    const t: BlockBackend = new ThrottledBackend(inner, { bytesPerSecond: MiB });
    expect(t.size).toBe(64 * 512);
    expect(t.readOnly).toBe(true);
    // The inner one has them; the wrapper must not, or the device would go around the bucket.
    expect('readSync' in inner && 'writeSync' in inner).toBe(true);
    expect(['readSync', 'writeSync', 'share'].filter((k) => k in t)).toEqual([]);
    expect(await t.allocation?.(0, 1024)).toEqual([{ offset: 0, length: 1024, allocated: false }]);
    // Without an allocation query inside, there is none outside.
    expect(new ThrottledBackend(new Recording(), { bytesPerSecond: MiB }).allocation).toBeUndefined();
  });

  it('a range outside the disk or not 512-aligned throws at once, before queueing', () => {
    const t = new ThrottledBackend(new MemoryBackend({ blocks: 8 }), { bytesPerSecond: MiB });
    expect(() => t.write(4096, new Uint8Array(512))).toThrow(
      new RangeError('ThrottledBackend.write: offset 4096 length 512 is not a 512-aligned range inside the 4096-byte disk'),
    );
    expect(() => t.read(1, new Uint8Array(512))).toThrow(/ThrottledBackend\.read: offset 1 length 512/);
    expect(() => t.discard(0, 100)).toThrow(/ThrottledBackend\.discard: offset 0 length 100/);
    expect(() => t.writeZeroes(-512, 512, false)).toThrow(/ThrottledBackend\.writeZeroes: offset -512/);
    expect(t.waiting).toBe(0);
  });
});

describe('ThrottledBackend rate (fake timers)', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('a full bucket lets a burst through at once; after that writes start at the rate, and the data lands', async () => {
    const rate = MiB;
    const inner = new Recording();
    const t = new ThrottledBackend(inner, { bytesPerSecond: rate });
    const t0 = performance.now();
    const n = 64;
    const size = 64 * KiB;
    const done = outcomes(Array.from({ length: n }, (_, i) => t.write(i * size, pattern(size, i))));
    // The bucket holds 104858 bytes: one 64 KiB write, not two.
    expect(inner.log).toHaveLength(1);
    expect(t.waiting).toBe(n - 1);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(done).toEqual(new Array<Outcome>(n).fill('ok'));
    expect(inner.log.map((s) => s.offset)).toEqual(Array.from({ length: n }, (_, i) => i * size));

    // Write k (from 0) starts once the bytes before it minus what the bucket
    // held are paid for: (k + 1) * size - burst bytes at the rate, rounded up
    // to the timer's whole milliseconds, never accumulating.
    const starts = inner.log.map((s) => s.at - t0);
    starts.forEach((at, k) => {
      const earliest = Math.max(0, (((k + 1) * size - t.burstBytes) * 1000) / rate);
      expect(at, `write ${k}`).toBeGreaterThanOrEqual(earliest);
      expect(at, `write ${k}`).toBeLessThanOrEqual(earliest + 1);
    });
    // 4 MiB at 1 MiB/s, a tenth of a second of it banked: the last write starts at 3.9 s.
    expect(starts[n - 1]).toBeGreaterThanOrEqual(3899.9);
    expect(starts[n - 1]).toBeLessThanOrEqual(3901);

    // Over every window, what started is at most the rate times the window plus the bucket.
    for (let i = 0; i < n; i++) {
      for (let j = i; j < n; j++) {
        const bytes = (j - i + 1) * size;
        const allowed = (rate * ((starts[j] ?? 0) - (starts[i] ?? 0))) / 1000 + t.burstBytes;
        expect(bytes, `writes ${i}..${j}`).toBeLessThanOrEqual(allowed);
      }
    }
    for (let i = 0; i < n; i++) expect(byteDiff(await readBack(inner.mem, i * size, size), pattern(size, i)), `block ${i}`).toBeUndefined();
    expect(vi.getTimerCount()).toBe(0);
  });

  it('nothing starts before its time: the inner backend sees the operations as the clock reaches them', async () => {
    const inner = new Recording();
    // 10 KiB/s, a 1024-byte bucket: each 2 KiB write waits 200 ms after the one before.
    const t = new ThrottledBackend(inner, { bytesPerSecond: 10 * KiB });
    const done = outcomes([0, 1, 2, 3].map((i) => t.write(i * 2048, pattern(2048, i))));
    // The first starts at once (larger than the bucket, which was full) and leaves it in debt.
    expect(inner.log).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(199);
    expect(inner.log).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(inner.log).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(199);
    expect(inner.log).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(201);
    expect(inner.log).toHaveLength(4);
    expect(done).toEqual(['ok', 'ok', 'ok', 'ok']);
  });

  it('an idle spell refills the bucket up to its size, no further', async () => {
    const inner = new Recording();
    const t = new ThrottledBackend(inner, { bytesPerSecond: 10 * KiB });
    // 1024-byte bucket: two 512-byte reads empty it.
    await Promise.all([t.read(0, new Uint8Array(512)), t.read(512, new Uint8Array(512))]);
    await vi.advanceTimersByTimeAsync(60_000);
    const t1 = performance.now();
    const reads = outcomes([0, 1, 2, 3].map((i) => t.read(i * 512, new Uint8Array(512))));
    // A minute idle banks one bucket (two reads), not 600 KiB.
    expect(inner.log).toHaveLength(4);
    await vi.advanceTimersByTimeAsync(1000);
    expect(reads).toEqual(['ok', 'ok', 'ok', 'ok']);
    expect(inner.log.slice(4).map((s) => s.at - t1)).toEqual([50, 100]);
  });

  it('read, write and writeZeroes count their bytes; discard and flush cost nothing', async () => {
    const inner = new Recording();
    const t = new ThrottledBackend(inner, { bytesPerSecond: 10 * KiB });
    const t0 = performance.now();
    const ops = outcomes([
      t.writeZeroes(0, 4096, true), // 4096 bytes: the bucket (1024) goes 3072 into debt
      t.discard(0, inner.size), // free, but waits out the debt behind it: 300 ms
      t.flush(), // free: right after
      t.read(0, new Uint8Array(1024)), // the bucket is empty again: 100 ms to refill it
      t.write(0, new Uint8Array(512)), // 50 ms more
    ]);
    await vi.advanceTimersByTimeAsync(1000);
    expect(ops).toEqual(['ok', 'ok', 'ok', 'ok', 'ok']);
    expect(inner.log.map((s) => [s.op, s.at - t0])).toEqual([
      ['writeZeroes', 0],
      ['discard', 300],
      ['flush', 300],
      ['read', 400],
      ['write', 450],
    ]);
  });

  it('FIFO: a small operation the bucket could take waits behind a large one, and a flush does not overtake a write', async () => {
    const inner = new Recording();
    const t = new ThrottledBackend(inner, { bytesPerSecond: 100 * KiB });
    // Bucket 10240 bytes. The first 8 KiB write fits; the 64 KiB one waits; the rest queue behind it.
    const order: string[] = [];
    const track = (name: string, p: Promise<BackendStatus>): Promise<BackendStatus> =>
      p.then((s) => {
        order.push(name);
        return s;
      });
    const done = outcomes([
      track('w8k', t.write(0, pattern(8192, 1))),
      track('w64k', t.write(8192, pattern(65_536, 2))),
      track('r512', t.read(0, new Uint8Array(512))),
      track('flush', t.flush()),
      track('w512', t.write(1 * MiB, pattern(512, 3))),
    ]);
    expect(inner.log.map((s) => s.op)).toEqual(['write']);
    expect(t.waiting).toBe(4);
    await vi.advanceTimersByTimeAsync(5000);
    expect(done).toEqual(['ok', 'ok', 'ok', 'ok', 'ok']);
    expect(inner.log.map((s) => `${s.op}@${s.offset}+${s.length}`)).toEqual(['write@0+8192', 'write@8192+65536', 'read@0+512', 'flush@0+0', 'write@1048576+512']);
    expect(order).toEqual(['w8k', 'w64k', 'r512', 'flush', 'w512']);
    // Nothing was lost or mixed up on the way.
    expect(byteDiff(await readBack(inner.mem, 8192, 65_536), pattern(65_536, 2))).toBeUndefined();
    expect(byteDiff(await readBack(inner.mem, MiB, 512), pattern(512, 3))).toBeUndefined();
  });

  it('statuses and errors of the inner backend pass through, on the direct path and from the queue', async () => {
    const mem = new MemoryBackend({ blocks: 64 });
    const faulty = new FaultyBackend(mem);
    faulty.failRange({ offset: 0, length: 512, ops: ['write', 'read'], status: 'no-space' });
    const t = new ThrottledBackend(faulty, { bytesPerSecond: 10 * KiB });
    // Direct (the bucket is full), then queued behind it.
    const first = t.write(0, new Uint8Array(512));
    const queued = outcomes([t.write(512, new Uint8Array(1024)), t.read(0, new Uint8Array(512)), t.write(0, new Uint8Array(512))]);
    expect(await first).toBe('no-space');
    expect(t.waiting).toBe(3);
    await vi.advanceTimersByTimeAsync(1000);
    expect(queued).toEqual(['ok', 'no-space', 'no-space']);

    const inner = new Recording();
    const r = new ThrottledBackend(inner, { bytesPerSecond: 10 * KiB });
    const boom = new Error('inner rejected');
    inner.rejectNextWrite = boom;
    await expect(r.write(0, new Uint8Array(512))).rejects.toBe(boom);
    // Queued: the bucket is half empty now, and a 1024-byte write waits for it.
    const bug = new RangeError('inner threw');
    inner.throwNextWrite = bug;
    const thrown = r.write(0, new Uint8Array(1024));
    const rejected = r.write(1024, new Uint8Array(512));
    inner.rejectNextWrite = boom;
    const after = r.write(2048, new Uint8Array(512));
    const checks = [expect(thrown).rejects.toBe(bug), expect(rejected).rejects.toBe(boom), expect(after).resolves.toBe('ok')];
    expect(r.waiting).toBe(3);
    await vi.advanceTimersByTimeAsync(1000);
    await Promise.all(checks);
    // The bucket kept counting through the failures: each started at its time.
    expect(inner.log.map((s) => s.length)).toEqual([512, 1024, 512, 512]);
    expect(r.waiting).toBe(0);
  });

  it('close() completes waiting operations io-error without reaching the inner backend, clears its timer, and closes the inner', async () => {
    const inner = new Recording();
    const t = new ThrottledBackend(inner, { bytesPerSecond: 10 * KiB });
    // The first starts at once; the other three wait.
    const ops = outcomes([t.write(0, pattern(1024, 1)), t.write(1024, pattern(1024, 2)), t.flush(), t.read(0, new Uint8Array(512))]);
    expect(vi.getTimerCount()).toBe(1);
    await t.close();
    await vi.advanceTimersByTimeAsync(0);
    expect(ops).toEqual(['ok', 'io-error', 'io-error', 'io-error']);
    expect(inner.log.map((s) => s.op)).toEqual(['write']);
    expect(t.waiting).toBe(0);
    expect(vi.getTimerCount()).toBe(0);
    expect(inner.closes).toBe(1);
    // Later operations fail too, and nothing reaches the inner backend or sets a timer.
    const later = outcomes([t.write(0, new Uint8Array(512)), t.discard(0, 512)]);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(later).toEqual(['io-error', 'io-error']);
    expect(inner.log).toHaveLength(1);
    expect(vi.getTimerCount()).toBe(0);
    // Idempotent: a second close passes to the inner, whose close is idempotent.
    await t.close();
    expect(inner.closes).toBe(2);
    expect(byteDiff(await readBack(inner.mem, 0, 1024), pattern(1024, 1))).toBeUndefined();
  });
});

describe('ThrottledBackend timers (real)', () => {
  const timeouts = (): number => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;

  it('operations waiting hold one timer, which close() releases', async () => {
    const before = timeouts();
    const t = new ThrottledBackend(new MemoryBackend({ blocks: 64 }), { bytesPerSecond: 512 });
    // 512 B/s: each 512-byte write after the first waits a second. Nothing here waits for that.
    const writes = outcomes([0, 1, 2, 3].map((i) => t.write(i * 512, new Uint8Array(512))));
    expect(t.waiting).toBe(3);
    expect(timeouts()).toBe(before + 1);
    await t.close();
    expect(timeouts()).toBe(before);
    await new Promise((resolve) => setImmediate(resolve));
    expect(writes).toEqual(['ok', 'io-error', 'io-error', 'io-error']);
  });
});
