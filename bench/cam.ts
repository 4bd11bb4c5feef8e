// Benchmark: 4 KiB random reads and writes through the whole stack — `da`
// (block API, recovery; reads both into a fresh buffer and, with readInto,
// into the caller's) and `pass` (raw CDBs) — against the virtio driver
// alone on the same device in the same run, and against a bare 4 KiB memory
// copy (the floor any path pays), at queue depth 1/32/128/512 (512 is past
// the ring), ring 128 and 256, direct and indirect descriptors. The paths of
// one case take turns in interleaved rounds (rounds.ts): each layer's ratio
// to virtio-only is the median of per-round ratios.

import { createStack, type Stack } from '../src/stack.js';
import { MemoryBackend } from '../src/virtio/device/backends/memory.js';
import { VIRTIO_BLK_DRIVER_FEATURES } from '../src/virtio/blk-driver.js';
import { VIRTIO_BLK_S_OK, VIRTIO_BLK_T_IN, VIRTIO_BLK_T_OUT } from '../src/virtio/blk-wire.js';
import { VIRTIO_F_INDIRECT_DESC, featureMask } from '../src/virtio/blk-features.js';
import type { GuestRange } from '../src/virtio/guest-memory.js';
import { xorshift } from './rng.js';
import { runClosedLoop, runSyncLoop, type ClosedLoopResult } from './measure.js';
import { medianSlice, pairedRatio, runRounds } from './rounds.js';
import type { BenchRow } from './report.js';

const BLOCK = 4096;
const DISK = 64 * 2 ** 20;
const BLOCKS = DISK / BLOCK;
const GROUP = 'cam';
const FLOOR = 'memcpy 4 KiB';
const RINGS = [128, 256] as const;
const DESCS = ['direct', 'indirect'] as const;
const DEPTHS = [1, 32, 128, 512] as const;
type Op = 'read' | 'write';
const OPS: readonly Op[] = ['read', 'write'];

export interface CamBenchOptions {
  /** Measured time per case, split over the rounds. */
  readonly durationMs: number;
  /** Before a case's first slice; later slices only refill the queue (at most REFILL_MS). */
  readonly warmupMs: number;
  /** Interleaved rounds (rounds.ts): each path is measured once per round. */
  readonly rounds: number;
  readonly onStep?: (msg: string) => void;
}

/** Default interleaved rounds. */
export const CAM_DEFAULT_ROUNDS = 5;
/** Warmup of a case's later slices: enough to fill its queue again. */
const REFILL_MS = 50;

/** Steps, for progress: the floor, then per ring × desc × depth × op and round: virtio, da, pass, and da readInto for reads. */
export function camCases(rounds: number): number {
  return 1 + RINGS.length * DESCS.length * DEPTHS.length * (OPS.length * 3 + 1) * rounds;
}

function floor(opts: CamBenchOptions): BenchRow {
  const src = new Uint8Array(DISK);
  for (let i = 0; i < DISK; i += BLOCK) src[i] = i & 0xff;
  const dst = new Uint8Array(BLOCK);
  const next = xorshift(11);
  const r = runSyncLoop({
    warmupMs: opts.warmupMs,
    durationMs: opts.durationMs,
    op: () => {
      const at = (next() % BLOCKS) * BLOCK;
      dst.set(src.subarray(at, at + BLOCK));
    },
  });
  return { group: GROUP, name: FLOOR, params: {}, opsPerSec: r.opsPerSec, p50Us: r.nsPerOp / 1000 };
}

function cdb(op: Op, lba: number): Uint8Array {
  // READ (10) 28h / WRITE (10) 2Ah: LBA at bytes 2..5, TRANSFER LENGTH 1 at 7..8. Written by byte: a
  // DataView over a small fresh buffer would cost more than the command being measured.
  return Uint8Array.of(op === 'read' ? 0x28 : 0x2a, 0, lba >>> 24, (lba >>> 16) & 0xff, (lba >>> 8) & 0xff, lba & 0xff, 0, 0, 1, 0);
}

async function oneConfig(ring: number, desc: (typeof DESCS)[number], opts: CamBenchOptions): Promise<BenchRow[]> {
  const features = desc === 'indirect' ? VIRTIO_BLK_DRIVER_FEATURES : VIRTIO_BLK_DRIVER_FEATURES & ~featureMask(VIRTIO_F_INDIRECT_DESC);
  const stack: Stack = await createStack({
    backend: new MemoryBackend({ blocks: DISK / BLOCK, blockSize: BLOCK }),
    queueSize: ring,
    features,
    device: { blockSize: BLOCK },
    memorySize: 128 * 2 ** 20,
  });
  const rows: BenchRow[] = [];
  const { rounds } = opts;
  const sliceMs = opts.durationMs / rounds;
  try {
    const da = stack.da(0);
    const pass = stack.pass(0);
    const chunk = new Uint8Array(2 ** 20).fill(0x5a);
    for (let lba = 0n; lba < BigInt(BLOCKS); lba += BigInt(chunk.length / BLOCK)) await da.write(lba, chunk);
    const { driver, allocator, memory } = stack.virtio;
    const pattern = new Uint8Array(BLOCK).fill(0xa5);
    for (const qd of DEPTHS) {
      const params = { ring, desc, qd };
      for (const op of OPS) {
        // The virtio driver alone: one guest buffer per outstanding request, no copy in or out of it.
        const buffers: GuestRange[] = [];
        for (let i = 0; i < qd; i++) {
          const b = allocator.alloc(BLOCK, BLOCK);
          if (b === undefined) throw new Error('guest memory exhausted');
          memory.fill(b.addr, BLOCK, 0xa5);
          buffers.push(b);
        }
        const nextV = xorshift(qd * 31 + ring);
        const virtio = async (): Promise<void> => {
          const buf = buffers.pop();
          if (buf === undefined) throw new Error('no buffer');
          const sector = BigInt((nextV() % BLOCKS) * (BLOCK / 512));
          const done = await driver.request({ type: op === 'read' ? VIRTIO_BLK_T_IN : VIRTIO_BLK_T_OUT, sector, data: [buf] });
          buffers.push(buf);
          if (done.kind !== 'done' || done.status !== VIRTIO_BLK_S_OK) throw new Error(`virtio ${op} failed`);
        };
        const nextD = xorshift(qd * 37 + ring);
        const daOp = async (): Promise<void> => {
          const lba = BigInt(nextD() % BLOCKS);
          if (op === 'read') await da.read(lba, 1);
          else await da.write(lba, pattern);
        };
        // da.readInto: the caller's buffer (one per outstanding read) is the CCB's data_ptr, as a bio's bio_data.
        const mine = Array.from({ length: qd }, () => new Uint8Array(BLOCK));
        const nextI = xorshift(qd * 43 + ring);
        const daInto = async (): Promise<void> => {
          const buf = mine.pop();
          if (buf === undefined) throw new Error('no buffer');
          await da.readInto(BigInt(nextI() % BLOCKS), buf);
          mine.push(buf);
        };
        const nextP = xorshift(qd * 41 + ring);
        const passOp = async (): Promise<void> => {
          const c = cdb(op, nextP() % BLOCKS);
          const r = op === 'read' ? await pass.scsi({ cdb: c, direction: 'in', length: BLOCK }) : await pass.scsi({ cdb: c, direction: 'out', data: pattern });
          if ((r.camStatus & 0x3f) !== 0x01) throw new Error(`pass ${op} failed: status 0x${r.camStatus.toString(16)}`);
        };

        const base = `virtio-only ${op}`;
        const paths: { readonly key: string; readonly op: () => Promise<void> }[] = [
          { key: base, op: virtio },
          { key: `da ${op}`, op: daOp },
          ...(op === 'read' ? [{ key: 'da readInto', op: daInto }] : []),
          { key: `pass ${op}`, op: passOp },
        ];
        const slices = await runRounds(
          paths.map((p) => ({
            key: p.key,
            // The first round warms the code up; later ones only refill the queue.
            run: (round: number) => runClosedLoop({ depth: qd, warmupMs: round === 0 ? opts.warmupMs : Math.min(opts.warmupMs, REFILL_MS), durationMs: sliceMs, op: p.op }),
          })),
          rounds,
          (key, round) => opts.onStep?.(`${key} ring ${ring} ${desc} qd ${qd} (round ${round + 1}/${rounds})`),
        );
        for (const b of buffers) allocator.free(b.addr);
        const baseSlices = slices.get(base) as readonly ClosedLoopResult[];
        for (const p of paths) {
          const measured = slices.get(p.key) as readonly ClosedLoopResult[];
          const m = medianSlice(measured);
          const row: BenchRow = { group: GROUP, name: p.key, params, opsPerSec: m.opsPerSec, p50Us: m.p50Us, p99Us: m.p99Us, floorBaseline: FLOOR };
          rows.push(p.key === base ? row : { ...row, baseline: base, ratio: pairedRatio(measured, baseSlices) });
        }
      }
    }
    const s = stack.stats(0);
    if (s.maxCharged > s.capacity) throw new Error(`in flight exceeded the ring: charged ${s.maxCharged} > ${s.capacity}`);
  } finally {
    await stack.close();
  }
  return rows;
}

export async function benchCam(opts: CamBenchOptions): Promise<BenchRow[]> {
  opts.onStep?.('floor: memcpy');
  const rows: BenchRow[] = [floor(opts)];
  for (const ring of RINGS) for (const desc of DESCS) rows.push(...(await oneConfig(ring, desc, opts)));
  return rows;
}
