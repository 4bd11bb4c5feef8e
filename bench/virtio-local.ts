// Benchmark: 4 KiB random reads through the virtio-blk driver on the local
// transport, memory backend — queue depth 1/32/128, ring 128/256, direct vs
// indirect descriptors — against a bare loop doing only the 4 KiB memory copy
// the device must do for each read (the floor any transport pays).

import { MemoryBackend } from '../src/virtio/device/backends/memory.js';
import { attachLocalVirtioBlk } from '../src/virtio/local-stack.js';
import { VIRTIO_BLK_DRIVER_FEATURES } from '../src/virtio/blk-driver.js';
import { VIRTIO_BLK_S_OK, VIRTIO_BLK_T_IN, VIRTIO_BLK_T_OUT } from '../src/virtio/blk-wire.js';
import { VIRTIO_F_INDIRECT_DESC, featureMask } from '../src/virtio/blk-features.js';
import type { GuestRange } from '../src/virtio/guest-memory.js';
import { xorshift } from './rng.js';
import { runClosedLoop, runSyncLoop } from './measure.js';
import type { BenchRow } from './report.js';

const BLOCK = 4096;
const DISK = 256 * 2 ** 20;
const BLOCKS = DISK / BLOCK;
const BASELINE = 'memcpy 4 KiB';

export interface VirtioLocalOptions {
  readonly durationMs: number;
  readonly warmupMs: number;
  readonly onStep?: (msg: string) => void;
}

export const VIRTIO_LOCAL_CASES = (() => {
  const cases: { qd: number; ring: number; indirect: boolean }[] = [];
  for (const indirect of [false, true]) for (const ring of [128, 256]) for (const qd of [1, 32, 128]) cases.push({ qd, ring, indirect });
  return cases;
})();

/** The baseline: copy 4 KiB from a random place of a 256 MiB source into a fixed destination. */
function memcpyBaseline(opts: VirtioLocalOptions): BenchRow {
  const src = new Uint8Array(DISK);
  for (let i = 0; i < DISK; i += 4096) src[i] = i & 0xff;
  const dst = new Uint8Array(BLOCK);
  const next = xorshift(7);
  const r = runSyncLoop({
    warmupMs: opts.warmupMs,
    durationMs: opts.durationMs,
    op: () => {
      const at = (next() % BLOCKS) * BLOCK;
      dst.set(src.subarray(at, at + BLOCK));
    },
  });
  return { group: 'virtio-local', name: BASELINE, params: { bs: BLOCK }, opsPerSec: r.opsPerSec, p50Us: r.nsPerOp / 1000 };
}

async function oneCase(c: { qd: number; ring: number; indirect: boolean }, opts: VirtioLocalOptions): Promise<BenchRow> {
  const backend = new MemoryBackend({ blocks: DISK / 512 });
  const features = c.indirect ? VIRTIO_BLK_DRIVER_FEATURES : VIRTIO_BLK_DRIVER_FEATURES & ~featureMask(VIRTIO_F_INDIRECT_DESC);
  const s = await attachLocalVirtioBlk({ backend, queueSize: c.ring, features });
  if (!('driver' in s)) throw new Error(`attach failed: ${s.reason}`);
  // Fill the disk so reads copy real chunks, not holes.
  const fill = s.allocator.alloc(1 << 20, 4096) as GuestRange;
  s.memory.fill(fill.addr, fill.len, 0x5a);
  for (let off = 0; off < DISK; off += fill.len) {
    const w = await s.driver.request({ type: VIRTIO_BLK_T_OUT, sector: BigInt(off / 512), data: [fill] });
    if (w.kind !== 'done' || w.status !== VIRTIO_BLK_S_OK) throw new Error('fill failed');
  }
  s.allocator.free(fill.addr);
  const buffers: GuestRange[] = [];
  for (let i = 0; i < c.qd; i++) buffers.push(s.allocator.alloc(BLOCK, BLOCK) as GuestRange);
  const next = xorshift(c.qd * 1000 + c.ring);
  const r = await runClosedLoop({
    depth: c.qd,
    warmupMs: opts.warmupMs,
    durationMs: opts.durationMs,
    op: async () => {
      const buf = buffers.pop() as GuestRange;
      const done = await s.driver.request({ type: VIRTIO_BLK_T_IN, sector: BigInt((next() % BLOCKS) * (BLOCK / 512)), data: [buf] });
      buffers.push(buf);
      if (done.kind !== 'done' || done.status !== VIRTIO_BLK_S_OK) throw new Error(`read failed: ${JSON.stringify(done)}`);
    },
  });
  await s.driver.close();
  return {
    group: 'virtio-local',
    name: `${c.indirect ? 'indirect' : 'direct'} ring ${c.ring} qd ${c.qd}`,
    params: { desc: c.indirect ? 'indirect' : 'direct', ring: c.ring, qd: c.qd },
    opsPerSec: r.opsPerSec,
    p50Us: r.p50Us,
    p99Us: r.p99Us,
    baseline: BASELINE,
  };
}

export async function benchVirtioLocal(opts: VirtioLocalOptions): Promise<BenchRow[]> {
  opts.onStep?.('baseline: memcpy');
  const rows: BenchRow[] = [memcpyBaseline(opts)];
  for (const c of VIRTIO_LOCAL_CASES) {
    opts.onStep?.(`${c.indirect ? 'indirect' : 'direct'} ring ${c.ring} qd ${c.qd}`);
    rows.push(await oneCase(c, opts));
  }
  return rows;
}
