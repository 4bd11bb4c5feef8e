// Data-integrity stress: random 512 B – 128 KiB reads and writes through the
// whole local stack (driver → split ring → device → backend), verified against
// a shadow copy, with far more requests outstanding than the ring holds (the
// caller waits for space). Runs on the memory, file and faulty backends.
// VTCAM_STRESS_OPS overrides the request count (default 200k per backend).

import { afterAll, describe, expect, test } from 'vitest';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stack } from './harness.js';
import { MemoryBackend } from '../../src/virtio/device/backends/memory.js';
import { FileBackend } from '../../src/virtio/device/backends/file.js';
import { FaultyBackend } from '../../src/virtio/device/backends/faulty.js';
import type { BlockBackend } from '../../src/virtio/device/backend.js';
import type { GuestRange } from '../../src/virtio/guest-memory.js';
import { VIRTIO_BLK_T_IN, VIRTIO_BLK_T_OUT, VIRTIO_BLK_S_OK, VIRTIO_BLK_S_IOERR } from '../../src/virtio/blk-wire.js';
import { VIRTIO_F_INDIRECT_DESC, featureMask } from '../../src/virtio/blk-features.js';
import { VIRTIO_BLK_DRIVER_FEATURES } from '../../src/virtio/blk-driver.js';

const DEFAULT_OPS = 200_000;
const OPS = Number(process.env['VTCAM_STRESS_OPS'] ?? DEFAULT_OPS);
const DISK_SECTORS = 1 << 17; // 64 MiB
const OUTSTANDING = 256; // requests in flight from the caller's side, ring holds far fewer

/** xorshift32: reproducible sizes and offsets. */
function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13; x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5; x >>>= 0;
    return x;
  };
}

interface Outcome {
  ops: number; reads: number; writes: number; failed: number; maxInFlight: number; maxWaiting: number; ringSize: number;
  /** Completions that came back after a later-submitted request's (request ids are submission order). */
  overtaken: number;
  /** The largest id gap between a completing request and the newest one already completed. */
  maxOvertake: number;
}

async function stress(backend: BlockBackend, opts: { seed: number; qsz: number; indirect: boolean; faultSectors?: [number, number] }): Promise<Outcome> {
  const features = opts.indirect ? VIRTIO_BLK_DRIVER_FEATURES : VIRTIO_BLK_DRIVER_FEATURES & ~featureMask(VIRTIO_F_INDIRECT_DESC);
  const s = await stack({ backend, memSize: 64 << 20, driver: { queueSize: opts.qsz, features } });
  const { mem, alloc, driver } = s;
  const shadow = new Uint8Array(DISK_SECTORS * 512);
  const known = new Uint8Array(DISK_SECTORS).fill(1); // 0 after a failed write: contents unknown
  const busy: [number, number][] = [];
  const next = rng(opts.seed);
  let reads = 0, writes = 0, failed = 0, maxInFlight = 0, maxWaiting = 0, issued = 0, overtaken = 0, maxOvertake = 0, newestDone = -1;

  const overlaps = (a: number, n: number) => busy.some(([b, m]) => a < b + m && b < a + n);

  async function one(id: number): Promise<void> {
    // Log-uniform 1..256 sectors: small requests dominate, 128 KiB ones still occur.
    const sectors = Math.max(1, Math.min(256, Math.floor(2 ** ((next() % 8001) / 1000))));
    let start = next() % (DISK_SECTORS - sectors + 1);
    while (overlaps(start, sectors)) start = next() % (DISK_SECTORS - sectors + 1);
    const span: [number, number] = [start, sectors];
    busy.push(span);
    const bytes = sectors * 512;
    const buf = alloc.alloc(bytes, 512);
    if (buf === undefined) throw new Error('guest memory exhausted');
    // Split into 1..4 data descriptors at sector boundaries.
    const parts = 1 + (next() % Math.min(4, sectors));
    const data: GuestRange[] = [];
    for (let i = 0, at = 0; i < parts; i++) {
      const n = i === parts - 1 ? sectors - at : 1 + (next() % (sectors - at - (parts - 1 - i)));
      data.push({ addr: buf.addr + at * 512, len: n * 512 });
      at += n;
    }
    const write = (next() & 1) === 1;
    const view = mem.view(buf.addr, bytes) as Uint8Array;
    if (write) {
      view.fill(id & 0xff);
      const dv = new DataView(view.buffer, view.byteOffset, bytes);
      for (let i = 0; i < sectors; i++) { dv.setUint32(i * 512, id); dv.setUint32(i * 512 + 4, start + i); }
    } else {
      view.fill(0xa5);
    }
    const pending = driver.request({ type: write ? VIRTIO_BLK_T_OUT : VIRTIO_BLK_T_IN, sector: BigInt(start), data });
    maxWaiting = Math.max(maxWaiting, driver.waiting());
    const c = await pending;
    // one() reaches driver.request() without an await and waiters go in FIFO order, so ids are
    // submission order; promises resume in the order the driver drained the used ring.
    if (id < newestDone) {
      overtaken++;
      maxOvertake = Math.max(maxOvertake, newestDone - id);
    } else {
      newestDone = id;
    }
    maxInFlight = Math.max(maxInFlight, driver.inFlight());
    if (c.kind !== 'done') throw new Error(`request aborted: ${c.reason}`);
    const inFault = opts.faultSectors !== undefined && start < opts.faultSectors[0] + opts.faultSectors[1] && opts.faultSectors[0] < start + sectors;
    if (c.status !== VIRTIO_BLK_S_OK) {
      if (!inFault || c.status !== VIRTIO_BLK_S_IOERR) throw new Error(`unexpected status ${c.status} at ${start}+${sectors}`);
      failed++;
      if (write) known.fill(0, start, start + sectors);
    } else {
      if (inFault) throw new Error(`request over the failed range ${start}+${sectors} succeeded`);
      if (write) {
        shadow.set(view, start * 512);
        known.fill(1, start, start + sectors);
        writes++;
      } else {
        for (let i = 0; i < sectors; i++) {
          if (known[start + i] === 0) continue;
          const got = view.subarray(i * 512, i * 512 + 512);
          const want = shadow.subarray((start + i) * 512, (start + i + 1) * 512);
          if (Buffer.compare(got, want) !== 0) throw new Error(`data mismatch at sector ${start + i} (request ${id})`);
        }
        reads++;
      }
    }
    alloc.free(buf.addr);
    busy.splice(busy.indexOf(span), 1);
  }

  async function worker(): Promise<void> {
    while (issued < OPS) await one(issued++);
  }
  await Promise.all(Array.from({ length: OUTSTANDING }, worker));
  const ringSize = driver.queueSize();
  expect(driver.inFlight()).toBe(0);
  await driver.close();
  // Every indirect table, discard array and ring area went back to the allocator.
  expect(alloc.liveCount).toBe(0);
  // The caller really did wait for ring space.
  expect(maxWaiting).toBeGreaterThan(OUTSTANDING / 2);
  return { ops: issued, reads, writes, failed, maxInFlight, maxWaiting, ringSize, overtaken, maxOvertake };
}

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

describe(`stress: ${OPS} random requests per backend, verified`, () => {
  test('memory backend, direct descriptors, 32-entry ring', async () => {
    const r = await stress(new MemoryBackend({ blocks: DISK_SECTORS }), { seed: 1, qsz: 32, indirect: false });
    expect(r.reads + r.writes).toBe(OPS);
    // Direct chains cost 3–6 descriptors: the ring never held more than qsz/3 requests.
    expect(r.maxInFlight).toBeLessThanOrEqual(Math.floor(r.ringSize / 3));
  }, 600_000);

  test('file backend, indirect descriptors, 64-entry ring', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'vtcam-stress-'));
    dirs.push(dir);
    const fb = await FileBackend.open(join(dir, 'disk.img'), { create: { size: DISK_SECTORS * 512 } });
    if (!(fb instanceof FileBackend)) throw new Error(fb.message);
    const r = await stress(fb, { seed: 2, qsz: 64, indirect: true });
    expect(r.reads + r.writes).toBe(OPS);
    expect(r.maxInFlight).toBeLessThanOrEqual(r.ringSize);
    await fb.close();
  }, 600_000);

  test('faulty backend: reordered completions and an EIO range', async () => {
    const fault: [number, number] = [5000, 64];
    const backend = new FaultyBackend(new MemoryBackend({ blocks: DISK_SECTORS }), { reorder: true, seed: 3 });
    backend.failRange({ offset: fault[0] * 512, length: fault[1] * 512, ops: ['read', 'write'] });
    const r = await stress(backend, { seed: 3, qsz: 16, indirect: true, faultSectors: fault });
    expect(r.reads + r.writes + r.failed).toBe(OPS);
    expect(r.overtaken).toBeGreaterThan(0);
    // The seeded default run (200k requests) is long enough to hit the EIO range and a long overtake; a run
    // shortened with VTCAM_STRESS_OPS may be too short for either, so these two hold at the default only.
    if (OPS >= DEFAULT_OPS) {
      // The faults really fired (IOERR, checked per request above).
      expect(r.failed).toBeGreaterThan(0);
      // Within one doorbell pass requests can swap anyway (more segments, more promise steps), but
      // never by a ring's worth: at most qsz are in flight. A gap of qsz or more means a held operation
      // was overtaken across passes, which is what the backend's `reorder` adds.
      expect(r.maxOvertake).toBeGreaterThanOrEqual(r.ringSize);
    }
  }, 600_000);
});
