// Issue 4 stress, through the whole stack (createStack: da and pass → XPT
// devq → vtblk SIM → virtio-blk driver → device model → backend), and issue 6's
// "runs unchanged on worker with 1, 2 and 4 queues": the same body on
// transport `local` (device on this thread, over a ProbeBackend around a
// MemoryBackend) and on transport `worker` (the device's queues in worker
// threads, over a SharedMemoryBackend).
//
// Random I/O at a queue depth of 256 (4× a 64-entry ring): da reads and writes
// of 4 KiB–256 KiB (da splits those above the 64 KiB maximum I/O), flushes,
// discards, write-zeroes, pass READ/WRITE, pass COMPARE AND WRITE (matching
// and miscomparing), and now and then a pass WRITE with an ORDERED tag. Every
// result is checked against a shadow copy of the medium (discarded blocks are
// "unknown": virtio discard does not promise zeros, the unit says LBPRZ 0),
// and the whole medium is read back at the end, through the device and
// straight from the medium on this thread.
//
// Checked on every configuration, from this thread, after every completion
// and at the end: the devq never charges more descriptors than the ring
// budget (charged, maxCharged ≤ capacity), active ≤ tag limit; on every
// request queue no SIM request ever waits for ring room (the budget really
// bounds each ring: driver.waiting(q)), no ring holds more requests than
// entries, and the SIM's charges to each queue stay within its ring; every
// XPT_SCSI_IO CCB handed to xpt.action completes exactly once, every caller's
// promise settles; at the end nothing is active, queued, held or frozen,
// nothing is in flight in the driver or at the device, and the guest allocator
// is back to its baseline.
//
// ORDERED tags are checked where each configuration lets them be seen. At the
// SIM and the rings, everywhere (OrderedWatch): when an ORDERED CCB reaches the
// SIM nothing else is active there or in the devq and no device request is in
// any ring, and no other CCB reaches the SIM until it is done. At the backend,
// on `local` only (a worker opens the medium itself, so a ProbeBackend cannot
// go there): while the ORDERED write runs there, nothing else runs there, and
// it lingers a few turns so that anything let past the barrier would show.
//
// Ops: VTCAM_STRESS_OPS per configuration (default 12 000 on `local`: 2–4 s
// each on a 2-core machine; 6 000 on `worker`: 1.5–3.5 s each). VTCAM_STRESS_OPS=1000000
// runs the 1M (measured on `local`: 93 s direct, 146 s indirect;
// 200 000 took 19 s each; on `worker`, 100 000 took 7–12 s and 300 000 took
// 34–42 s each), and then says how long each took. Separate tests cross the 16-bit ring index (more
// than 65 536 device requests on one ring, no reset, used.idx seen wrapping)
// on `local`, on `worker`, and on one queue of a two-queue `worker` device.

import { describe, expect, test } from 'vitest';
import { createStack, type Stack } from '../../src/stack.js';
import { MemoryBackend } from '../../src/virtio/device/backends/memory.js';
import { SharedMemoryBackend } from '../../src/virtio/device/backends/shared-memory.js';
import { VIRTIO_BLK_DRIVER_FEATURES } from '../../src/virtio/blk-driver.js';
import { VIRTIO_F_INDIRECT_DESC, featureMask } from '../../src/virtio/blk-features.js';
import { CamError } from '../../src/cam/periph/errors.js';
import { XptFunc } from '../../src/cam/ccb.js';
import {
  BlockLocks,
  OrderedWatch,
  ProbeBackend,
  QueueWatch,
  RingIndexWatch,
  Shadow,
  compareAndWrite,
  drainUnitAttentions,
  resetDevice,
  rw10,
  senseTriple,
  stamp,
  turns,
  until,
  watchCcbs,
  xorshift,
  type ProbeOp,
} from './helpers.js';

const OPS = Number(process.env['VTCAM_STRESS_OPS'] ?? 12_000);
/** Long runs say how long they took (the default run stays quiet). */
const LOG = process.env['VTCAM_STRESS_OPS'] !== undefined;
/** About 0.3 ms an op on a 2-core machine; generous, for slow CI. */
const TIMEOUT_MS = Math.max(60_000, OPS * 3);
const BS = 512;
/** 64 MiB: room for 256 non-overlapping commands of up to 256 KiB. */
const BLOCKS = 1 << 17;
const QD = 256;
/** size_max 4 KiB × seg_max 16: 64 KiB per CCB, so da splits anything larger. */
const DEVICE = { sizeMax: 4096, segMax: 16 } as const;
const MAX_IO_BLOCKS = (4096 * 16) / BS;
const DIRECT = VIRTIO_BLK_DRIVER_FEATURES & ~featureMask(VIRTIO_F_INDIRECT_DESC);

const REQ_CMP = 0x01; // CAM_REQ_CMP
const SCSI_STATUS_ERROR = 0x0c; // CAM_SCSI_STATUS_ERROR
const DEV_QFRZN = 0x40; // CAM_DEV_QFRZN
const AUTOSNS_VALID = 0x80; // CAM_AUTOSNS_VALID

type OpKind = 'read' | 'write' | 'passRead' | 'passWrite' | 'flush' | 'discard' | 'writeZeroes' | 'caw' | 'ordered';

/** Weights of each operation, per 1000. */
const MIX: readonly (readonly [OpKind, number])[] = [
  ['read', 380],
  ['write', 380],
  ['passRead', 50],
  ['passWrite', 50],
  ['flush', 30],
  ['discard', 40],
  ['writeZeroes', 40],
  ['caw', 25],
  ['ordered', 5],
];

interface StressConfig {
  readonly seed: number;
  readonly ops: number;
  readonly queueSize: number;
  readonly features?: bigint;
  /** Where the device runs (default 'local', over a ProbeBackend; 'worker' over a SharedMemoryBackend). */
  readonly transport?: 'local' | 'worker';
  /** Request queues (default 1). */
  readonly queues?: number;
  /** Transport `worker`: device worker threads (default one per queue) and doorbell polling (default none). */
  readonly workers?: number;
  readonly pollUs?: number;
  /** Weights override (for the ring-wrap run). */
  readonly mix?: readonly (readonly [OpKind, number])[];
  /** Largest command in blocks (default 512: 256 KiB). */
  readonly maxBlocks?: number;
}

interface QueueResult {
  readonly requests: number;
  readonly maxInFlight: number;
  readonly used: number;
  readonly wraps: number;
}

interface StressResult {
  readonly stack: Stack;
  readonly counts: Map<OpKind, number>;
  /** ORDERED writes seen starting at the backend (local only: a worker's backend cannot be watched). */
  readonly orderedStarts: number;
  /** ORDERED CCBs seen reaching the SIM. */
  readonly orderedDispatches: number;
  /** Per request queue: requests the SIM issued on it, most in its ring at once, and during the run (used.idx followed) device requests completed on it and how often its used.idx wrapped. */
  readonly perQueue: readonly QueueResult[];
  readonly ms: number;
}

function chooser(random: () => number, mix: readonly (readonly [OpKind, number])[]): () => OpKind {
  const total = mix.reduce((s, [, w]) => s + w, 0);
  return () => {
    let r = random() * total;
    for (const [k, w] of mix) {
      r -= w;
      if (r < 0) return k;
    }
    return 'read';
  };
}

async function stress(cfg: StressConfig): Promise<StressResult> {
  const random = xorshift(cfg.seed);
  const pick = chooser(random, cfg.mix ?? MIX);
  const maxBlocks = cfg.maxBlocks ?? 512;
  const queues = cfg.queues ?? 1;
  // A worker opens the medium itself: only a shareable backend crosses, so there is no ProbeBackend there.
  const local = (cfg.transport ?? 'local') === 'local';
  const probe = local ? new ProbeBackend(new MemoryBackend({ blocks: BLOCKS })) : undefined;
  const medium = probe?.inner ?? new SharedMemoryBackend({ blocks: BLOCKS });
  const stack = await createStack({
    backend: probe ?? medium,
    transport: local ? 'local' : 'worker',
    queues,
    ...(cfg.workers === undefined ? {} : { workers: cfg.workers }),
    ...(cfg.pollUs === undefined ? {} : { pollUs: cfg.pollUs }),
    queueSize: cfg.queueSize,
    device: DEVICE,
    ...(cfg.features === undefined ? {} : { features: cfg.features }),
  });
  const ledger = watchCcbs(stack);
  const watch = new QueueWatch(stack);
  const ordered = new OrderedWatch(stack);
  const rings = Array.from({ length: queues }, (_, q) => new RingIndexWatch(stack, q));
  // The ring keeps freed indirect tables for reuse until the next reset: the
  // allocator baseline is taken after a reset, and compared after another.
  expect(await resetDevice(stack)).toBe(REQ_CMP);
  expect(await drainUnitAttentions(stack)).toEqual([[0x06, 0x29, 0x03]]); // BUS DEVICE RESET FUNCTION OCCURRED
  const baseline = stack.virtio.allocator.liveCount;
  expect(rings.map((r) => r.usedIdx)).toEqual(rings.map(() => 0));
  const da = stack.da(0);
  const pass = stack.pass(0);
  const shadow = new Shadow(BLOCKS, BS);
  const locks = new BlockLocks(BLOCKS);
  const problems: string[] = [];
  const problem = (p: string): void => {
    if (problems.length < 20) problems.push(p);
  };

  // ORDERED writes in flight, by byte offset (their blocks are locked, so no other write is there meanwhile).
  const orderedAt = new Set<number>();
  let orderedStarts = 0;
  // At the backend, where it can be watched (local): while an ORDERED write runs there nothing else does.
  // Everywhere, at the SIM and the rings (OrderedWatch): nothing active and no device request in any ring
  // when it reaches the SIM, and no other CCB handed to the SIM until it is done.
  if (probe !== undefined) {
    let exclusive: ProbeOp | undefined;
    probe.onStart = (op) => {
      if (exclusive !== undefined) problem(`${op.kind} at byte ${op.offset} started while the ORDERED write at ${exclusive.offset} ran`);
      if (op.kind !== 'write' || !orderedAt.has(op.offset)) return;
      orderedStarts++;
      const s = stack.stats(0);
      if (probe.running !== 1 || stack.sim.activeCount !== 1 || s.active !== 1) {
        problem(`ORDERED write started with ${probe.running - 1} other backend op(s), ${stack.sim.activeCount} CCB(s) at the SIM, ${s.active} active in the devq`);
      }
      exclusive = op;
    };
    probe.onEnd = (op) => {
      if (op === exclusive) exclusive = undefined;
    };
    // The ORDERED write lingers a few turns: anything dispatched past the barrier would start meanwhile.
    probe.delayTurns = (op) => (op === exclusive ? 3 : 0);
  }

  const counts = new Map<OpKind, number>();
  let outstanding = 0;
  let settled = 0;
  let wake: (() => void) | undefined;
  let tag = 1;

  const blocksFor = (): number => Math.min(maxBlocks, Math.round(8 * 2 ** (random() * Math.log2(maxBlocks / 8))));
  const lockSome = (n: number): number | undefined => {
    for (let i = 0; i < 8; i++) {
      const lba = Math.floor(random() * (BLOCKS - n));
      if (locks.tryLock(lba, n)) return lba;
    }
    return undefined;
  };

  const run = async (kind: OpKind, lba: number, n: number): Promise<void> => {
    switch (kind) {
      case 'read': {
        const got = await da.read(BigInt(lba), n);
        if (got.length !== n * BS) problem(`da.read ${lba}+${n}: ${got.length} bytes`);
        const bad = shadow.mismatch(lba, got);
        if (bad !== undefined) problem(`da.read ${lba}+${n}: ${bad}`);
        return;
      }
      case 'write': {
        const data = stamp(lba, n, BS, tag++);
        shadow.forget(lba, n);
        await da.write(BigInt(lba), data);
        shadow.write(lba, data);
        return;
      }
      case 'passRead': {
        const r = await pass.scsi({ cdb: rw10('read', lba, n), direction: 'in', length: n * BS });
        if (r.camStatus !== REQ_CMP || r.scsiStatus !== 0 || r.resid !== 0 || r.data === undefined) {
          problem(`pass READ ${lba}+${n}: status 0x${r.camStatus.toString(16)}/${r.scsiStatus} resid ${r.resid}`);
          return;
        }
        const bad = shadow.mismatch(lba, r.data);
        if (bad !== undefined) problem(`pass READ ${lba}+${n}: ${bad}`);
        return;
      }
      case 'passWrite':
      case 'ordered': {
        const data = stamp(lba, n, BS, tag++);
        shadow.forget(lba, n);
        if (kind === 'ordered') orderedAt.add(lba * BS);
        const r = await pass.scsi({ cdb: rw10('write', lba, n), direction: 'out', data, tagAction: kind === 'ordered' ? 'ordered' : 'simple' });
        orderedAt.delete(lba * BS);
        if (r.camStatus !== REQ_CMP || r.resid !== 0) problem(`pass WRITE ${lba}+${n}: status 0x${r.camStatus.toString(16)}`);
        else shadow.write(lba, data);
        return;
      }
      case 'flush':
        await da.flush();
        return;
      case 'discard':
        await da.discard(BigInt(lba), n);
        shadow.forget(lba, n);
        return;
      case 'writeZeroes':
        shadow.forget(lba, n);
        await da.writeZeroes(BigInt(lba), n);
        shadow.zero(lba, n);
        return;
      case 'caw': {
        if (!shadow.allKnown(lba, n)) {
          await run('read', lba, n);
          return;
        }
        const verify = shadow.slice(lba, n);
        const data = stamp(lba, n, BS, tag++);
        // One in four miscompares on purpose, at a chosen byte.
        const off = random() < 0.25 ? Math.floor(random() * verify.length) : -1;
        if (off >= 0) verify[off] = (verify[off] ?? 0) ^ 0x5a;
        const out = new Uint8Array(2 * n * BS);
        out.set(verify);
        out.set(data, n * BS);
        const r = await pass.scsi({ cdb: compareAndWrite(lba, n), direction: 'out', data: out });
        if (off < 0) {
          if (r.camStatus !== REQ_CMP) problem(`COMPARE AND WRITE ${lba}+${n}: status 0x${r.camStatus.toString(16)} sense ${String(senseTriple(r.sense))}`);
          else shadow.write(lba, data);
          return;
        }
        // MISCOMPARE 0Eh/1Dh/00h, INFORMATION the offset of the first differing byte; nothing written.
        const want = `0x${(SCSI_STATUS_ERROR | DEV_QFRZN | AUTOSNS_VALID).toString(16)} 2 14,29,0 ${off}`;
        const got = `0x${r.camStatus.toString(16)} ${r.scsiStatus} ${String(senseTriple(r.sense))} ${String(r.senseData?.information)}`;
        if (got !== want) problem(`miscompare COMPARE AND WRITE ${lba}+${n}: got ${got}, want ${want}`);
        return;
      }
    }
  };

  const launch = (kind: OpKind, lba: number, n: number): void => {
    outstanding++;
    counts.set(kind, (counts.get(kind) ?? 0) + 1);
    run(kind, lba, n)
      .catch((e: unknown) => {
        problem(`${kind} ${lba}+${n} failed: ${e instanceof CamError ? e.message : String(e)}`);
      })
      .finally(() => {
        locks.unlock(lba, n);
        outstanding--;
        settled++;
        watch.sample();
        ordered.sample();
        for (const r of rings) r.sample();
        const w = wake;
        wake = undefined;
        w?.();
      });
  };
  const settle = (): Promise<void> => new Promise((resolve) => (wake = resolve));

  const t0 = performance.now();
  for (let issued = 0; issued < cfg.ops; ) {
    if (outstanding >= QD) {
      await settle();
      continue;
    }
    const kind = pick();
    const n = kind === 'flush' ? 0 : kind === 'caw' || kind === 'ordered' ? 1 + Math.floor(random() * 8) : kind.startsWith('pass') ? Math.min(MAX_IO_BLOCKS, blocksFor()) : blocksFor();
    const lba = n === 0 ? 0 : lockSome(n);
    if (lba === undefined) {
      await settle();
      continue;
    }
    issued++;
    launch(kind, lba, n);
    // Keep the submit path honest: let completions interleave with submissions now and then.
    if ((issued & 63) === 0) await turns(1);
  }
  while (outstanding > 0) await settle();
  const ms = performance.now() - t0;
  // The device side has nothing in progress either (a worker reports its count on every pass of its loop).
  await until(() => stack.virtio.device.inflight === 0, 'the device idle');
  for (const r of rings) r.sample();
  const ringCounts = rings.map((r) => ({ used: r.total, wraps: r.wraps }));

  // Everything settled, every CCB completed once.
  expect(problems).toEqual([]);
  expect(settled).toBe(cfg.ops);
  expect(ledger.doubles).toBe(0);
  expect(ledger.completions).toBe(ledger.actions);
  expect(watch.violations).toEqual([]);
  expect(ordered.violations).toEqual([]);
  expect(watch.samples).toBe(cfg.ops);
  expect(ledger.byStatus.get(REQ_CMP)).toBeGreaterThanOrEqual(cfg.ops);

  // The whole medium, read back in maximum-size pieces through the device, and straight from the medium on
  // this thread (what a worker wrote is in the shared medium, not only on the device's side).
  const direct = new Uint8Array(2048 * BS);
  for (let lba = 0; lba < BLOCKS; lba += 2048) {
    const got = await da.read(BigInt(lba), 2048);
    expect(shadow.mismatch(lba, got), `final read at ${lba}`).toBeUndefined();
    expect(await medium.read(lba * BS, direct)).toBe('ok');
    expect(shadow.mismatch(lba, direct), `medium at ${lba}`).toBeUndefined();
  }

  const s = stack.stats(0);
  expect({ active: s.active, queued: s.queued, held: s.held, frozen: s.frozen, simFrozen: s.simFrozen, charged: s.charged }).toEqual({
    active: 0,
    queued: 0,
    held: 0,
    frozen: 0,
    simFrozen: 0,
    charged: 0,
  });
  expect(s.maxCharged).toBeLessThanOrEqual(s.capacity);
  expect(s.maxActive).toBeLessThanOrEqual(s.capacity);
  expect(watch.maxActive).toBeGreaterThan(1);
  expect(da.outstanding).toBe(0);
  expect(stack.sim.activeCount).toBe(0);
  expect(stack.virtio.driver.stats.inFlight).toBe(0);
  expect(probe?.running ?? 0).toBe(0);
  // Each request queue stayed within its ring (the SIM's charges), and every one was used.
  const loads = stack.sim.bcs.queueStats();
  expect(loads).toHaveLength(queues);
  for (const l of loads) {
    expect(l.maxHeld, `queue ${l.queue}`).toBeLessThanOrEqual(l.ringSize);
    expect(l.requests, `queue ${l.queue}`).toBeGreaterThan(0);
  }
  expect(await resetDevice(stack)).toBe(REQ_CMP);
  expect(stack.virtio.allocator.liveCount).toBe(baseline);
  expect(await drainUnitAttentions(stack)).toEqual([[0x06, 0x29, 0x03]]);
  const perQueue = loads.map((l) => ({ requests: l.requests, maxInFlight: watch.maxInFlight[l.queue] ?? 0, used: 0, wraps: 0, ...ringCounts[l.queue] }));
  return { stack, counts, orderedStarts, orderedDispatches: ordered.dispatched, perQueue, ms };
}

describe(`random I/O through the whole stack at QD ${QD} (${OPS} ops)`, () => {
  test('indirect descriptors, ring 64', async () => {
    const r = await stress({ seed: 0x5eed_0001, ops: OPS, queueSize: 64 });
    expect(r.orderedStarts).toBeGreaterThanOrEqual(r.counts.get('ordered') ?? 0);
    expect(r.counts.get('ordered')).toBeGreaterThan(0);
    const s = r.stack.stats(0);
    // Indirect: a request costs 1 descriptor, so the devq's limit is the budget itself.
    expect(s.maxActive).toBe(s.capacity);
    if (LOG) console.log(`indirect: ${OPS} ops in ${r.ms.toFixed(0)} ms, ${r.perQueue[0]?.used} device requests (${r.perQueue[0]?.wraps} index wraps), ${JSON.stringify([...r.counts])}`);
    await r.stack.close();
    // Closed: every guest allocation (rings, slots, tables, data) is back.
    expect(r.stack.virtio.allocator.liveCount).toBe(0);
  }, TIMEOUT_MS);

  test('direct descriptors, ring 128', async () => {
    const r = await stress({ seed: 0x5eed_0002, ops: OPS, queueSize: 128, features: DIRECT });
    const s = r.stack.stats(0);
    // 16 data segments + header + status: a 64 KiB CCB costs 18 of the 124-descriptor budget.
    expect(s.capacity).toBe(124);
    expect(s.maxCharged).toBeGreaterThan(s.capacity - 18);
    if (LOG) console.log(`direct: ${OPS} ops in ${r.ms.toFixed(0)} ms, ${r.perQueue[0]?.used} device requests`);
    await r.stack.close();
  }, TIMEOUT_MS);
});

/**
 * The same stress with the device's queues in worker threads over a
 * SharedMemoryBackend. Defaults to fewer ops than local (each op crosses
 * threads, and on 2 cores the workers compete with this thread);
 * VTCAM_STRESS_OPS sets both.
 */
const WORKER_OPS = Number(process.env['VTCAM_STRESS_OPS'] ?? 6_000);

describe(`random I/O with the device in worker threads at QD ${QD} (${WORKER_OPS} ops)`, () => {
  // One worker per queue (named: the default caps workers at the CPUs beside this thread), except the last:
  // four queues on two workers (queue q on worker q mod 2) that poll their doorbell for 50 µs before sleeping.
  const configs = [
    { queues: 1, queueSize: 128, features: DIRECT, seed: 0x5eed_0011, workers: 1 },
    { queues: 2, queueSize: 64, features: DIRECT, seed: 0x5eed_0012, workers: 2 },
    { queues: 4, queueSize: 64, seed: 0x5eed_0014, workers: 4 },
    { queues: 4, queueSize: 64, seed: 0x5eed_0024, workers: 2, pollUs: 50 },
  ] as const;
  for (const c of configs) {
    const threads = 'pollUs' in c ? `${c.workers} polling workers` : `${c.workers} worker(s)`;
    const features = 'features' in c ? c.features : undefined;
    test(`${c.queues} queue(s) on ${threads}, ${features === undefined ? 'indirect' : 'direct'} descriptors, ring ${c.queueSize}`, async () => {
      const r = await stress({ ...c, transport: 'worker', ops: WORKER_OPS });
      expect(r.counts.get('ordered')).toBeGreaterThan(0);
      expect(r.orderedDispatches).toBeGreaterThanOrEqual(r.counts.get('ordered') ?? 0);
      // Every queue was busy at some point, not merely used once.
      for (const q of r.perQueue) expect(q.maxInFlight).toBeGreaterThan(1);
      const s = r.stack.stats(0);
      // The budget was used: with one queue, within a 64 KiB CCB's 18 descriptors of the whole of it; with
      // more, beyond what one ring holds (the rings were loaded at the same time).
      // With direct descriptors on several queues the budget keeps any request within one ring (less of it).
      if (c.queues === 1 || features !== undefined) expect(s.maxCharged).toBeGreaterThan(s.capacity - 18);
      else expect(s.maxCharged).toBeGreaterThan(s.capacity / c.queues);
      if (LOG) console.log(`worker, ${c.queues} queue(s) on ${threads}: ${WORKER_OPS} ops in ${r.ms.toFixed(0)} ms, requests per queue ${r.perQueue.map((q) => q.requests).join('/')}`);
      await r.stack.close();
    }, TIMEOUT_MS);
  }
});

describe('ring index wrap', () => {
  // Small I/O so that the count is reached quickly; each da op is one device request. With two queues,
  // twice the ops: however the SIM spreads them, the busier queue gets at least half.
  const configs = [
    { transport: 'local', queues: 1, ops: 68_000, seed: 0x5eed_0003 },
    { transport: 'worker', queues: 1, ops: 68_000, seed: 0x5eed_0013 },
    { transport: 'worker', queues: 2, ops: 140_000, seed: 0x5eed_0023 },
  ] as const;
  for (const c of configs) {
    const on = c.queues === 1 ? 'one ring' : `one of ${c.queues} rings`;
    test(`${c.transport}: more than 65 536 device requests on ${on}, verified, no reset`, async () => {
      const r = await stress({
        transport: c.transport,
        queues: c.queues,
        seed: c.seed,
        ops: c.ops,
        queueSize: 64,
        maxBlocks: 8,
        mix: [
          ['read', 450],
          ['write', 450],
          ['flush', 50],
          ['ordered', 2],
          ['writeZeroes', 48],
        ],
      });
      const busiest = r.perQueue.reduce((a, b) => (b.used > a.used ? b : a));
      expect(busiest.used).toBeGreaterThan(65_536);
      // used.idx started at 0 after the reset: seen wrapping once per 65 536 completions, never skipped.
      for (const q of r.perQueue) expect(q.wraps).toBe(Math.floor(q.used / 65_536));
      if (LOG) console.log(`ring wrap (${c.transport}, ${on}): ${c.ops} ops in ${r.ms.toFixed(0)} ms, device requests per queue ${r.perQueue.map((q) => q.used).join('/')}`);
      await r.stack.close();
    });
  }
});

describe('devq ordering, seen at the backend', () => {
  test('CCBs waiting in a frozen device queue start in FIFO order per priority; HEAD OF QUEUE first, more urgent priorities next', async () => {
    const probe = new ProbeBackend(new MemoryBackend({ blocks: 8192 }));
    const stack = await createStack({ backend: probe, queueSize: 32 });
    const path = stack.da(0).path;
    const pass = stack.pass(0);
    const starts: number[] = [];
    probe.onStart = (op) => {
      if (op.kind === 'write') starts.push(op.offset / BS);
    };
    const write = (lba: number, extra: { tagAction?: 'head'; priority?: number } = {}): Promise<number> =>
      pass.scsi({ cdb: rw10('write', lba, 1), direction: 'out', data: stamp(lba, 1, BS, lba), ...extra }).then((r) => r.camStatus);
    const range = (from: number, n: number): number[] => Array.from({ length: n }, (_, i) => from + i);
    stack.xpt.freezeDevq(path, 1);
    const results = [
      ...range(0, 100).map((lba) => write(lba)),
      // CAM_PRIORITY_OOB (0x300) is more urgent than CAM_PRIORITY_NORMAL (0x480).
      ...range(1000, 5).map((lba) => write(lba, { priority: 0x300 })),
      ...range(200, 100).map((lba) => write(lba)),
      write(5000, { tagAction: 'head' }),
    ];
    await turns(10);
    expect(starts).toEqual([]);
    expect(stack.stats(0)).toMatchObject({ queued: 206, active: 0, frozen: 1 });
    stack.xpt.releaseDevq(path, 1, true);
    expect(new Set(await Promise.all(results))).toEqual(new Set([REQ_CMP]));
    // Far more than the openings (28 with a 32-entry ring): most were dispatched from the completion path.
    expect(stack.stats(0).capacity).toBeLessThan(206);
    expect(starts).toEqual([5000, ...range(1000, 5), ...range(0, 100), ...range(200, 100)]);
    expect(stack.stats(0)).toMatchObject({ queued: 0, active: 0, frozen: 0 });
    await stack.close();
  });

  test('an ORDERED write waits for every CCB before it, runs alone, and holds back every CCB after it', async () => {
    const probe = new ProbeBackend(new MemoryBackend({ blocks: 8192 }));
    const stack = await createStack({ backend: probe, queueSize: 32 });
    const pass = stack.pass(0);
    const random = xorshift(7);
    // Writes linger 0..3 turns, so SIMPLE commands complete out of order.
    probe.delayTurns = () => Math.floor(random() * 4);
    const log: string[] = [];
    probe.onStart = (op) => {
      if (op.kind === 'write') log.push(`start ${op.offset / BS}`);
    };
    probe.onEnd = (op) => {
      if (op.kind === 'write') log.push(`end ${op.offset / BS}`);
    };
    const write = (lba: number, ordered = false): Promise<number> =>
      pass
        .scsi({ cdb: rw10('write', lba, 1), direction: 'out', data: stamp(lba, 1, BS, lba), tagAction: ordered ? 'ordered' : 'simple' })
        .then((r) => r.camStatus);
    const before = Array.from({ length: 60 }, (_, i) => write(i));
    const barrier = write(500, true);
    const after = Array.from({ length: 60 }, (_, i) => write(1000 + i));
    expect(new Set(await Promise.all([...before, barrier, ...after]))).toEqual(new Set([REQ_CMP]));
    const at = log.indexOf('start 500');
    // Nothing between the ORDERED write's start and end; everything before it had ended; nothing after it had started.
    expect(log[at + 1]).toBe('end 500');
    const earlier = log.slice(0, at);
    expect(earlier.filter((e) => e.startsWith('end')).length).toBe(60);
    expect(earlier.every((e) => Number(e.split(' ')[1]) < 60)).toBe(true);
    expect(log.slice(at + 2).every((e) => Number(e.split(' ')[1]) >= 1000)).toBe(true);
    // The SIMPLE writes did complete out of submission order (the test would prove nothing otherwise).
    const ends = earlier.filter((e) => e.startsWith('end')).map((e) => Number(e.split(' ')[1]));
    expect(ends).not.toEqual([...ends].sort((a, b) => a - b));
    await stack.close();
  });

  test('a command sent after a waiting ORDERED write starts after it ends, however urgent: a pass WRITE at CAM_PRIORITY_OOB, da re-reading the capacity', async () => {
    const probe = new ProbeBackend(new MemoryBackend({ blocks: 8192 }));
    const stack = await createStack({ backend: probe, queueSize: 32 });
    const pass = stack.pass(0);
    const watch = new OrderedWatch(stack);
    // What reaches the SIM, in order: writes by LBA, anything else by opcode.
    const starts: string[] = [];
    const action = stack.sim.action.bind(stack.sim);
    stack.sim.action = (ccb) => {
      if (ccb.func === XptFunc.SCSI_IO) starts.push(ccb.cdb[0] === 0x2a ? `write ${(ccb.cdb[5] ?? 0).toString()}` : `opcode ${(ccb.cdb[0] ?? 0).toString(16)}h`);
      action(ccb);
    };
    const write = (lba: number, extra: { tagAction?: 'ordered'; priority?: number } = {}): Promise<number> =>
      pass.scsi({ cdb: rw10('write', lba, 1), direction: 'out', data: stamp(lba, 1, BS, lba), ...extra }).then((r) => r.camStatus);
    probe.holdIf = (op) => op.kind === 'write' && op.offset === 10 * BS;
    const held = write(10);
    await until(() => probe.heldCount === 1, 'the write at LBA 10 held at the backend');
    const ordered = write(20, { tagAction: 'ordered' });
    // CAM_PRIORITY_OOB (0x300) is more urgent than the ORDERED write's CAM_PRIORITY_NORMAL (0x480); so is da's READ CAPACITY.
    const urgent = write(30, { priority: 0x300 });
    const capacity = stack.da(0).refreshCapacity();
    await turns(20);
    expect(starts).toEqual(['write 10']);
    expect(stack.stats(0)).toMatchObject({ active: 1, queued: 3 });
    probe.holdIf = undefined;
    probe.releaseHeld();
    expect(new Set(await Promise.all([held, ordered, urgent]))).toEqual(new Set([REQ_CMP]));
    expect((await capacity).blocks).toBe(8192n);
    expect(starts).toEqual(['write 10', 'write 20', 'write 30', 'opcode 9eh']);
    expect(watch.violations).toEqual([]);
    expect(watch.dispatched).toBe(1);
    await stack.close();
  });

  test('an ORDERED write waits for the less urgent commands sent before it; HEAD OF QUEUE sent after it still goes first', async () => {
    const probe = new ProbeBackend(new MemoryBackend({ blocks: 8192 }));
    const stack = await createStack({ backend: probe, queueSize: 32 });
    const path = stack.da(0).path;
    const pass = stack.pass(0);
    const log: string[] = [];
    probe.onStart = (op) => {
      if (op.kind === 'write') log.push(`start ${op.offset / BS}`);
    };
    probe.onEnd = (op) => {
      if (op.kind === 'write') log.push(`end ${op.offset / BS}`);
    };
    const write = (lba: number, extra: { tagAction?: 'ordered' | 'head'; priority?: number } = {}): Promise<number> =>
      pass.scsi({ cdb: rw10('write', lba, 1), direction: 'out', data: stamp(lba, 1, BS, lba), ...extra }).then((r) => r.camStatus);
    stack.xpt.freezeDevq(path, 1);
    const results = [
      write(1, { priority: 0x500 }),
      write(2, { priority: 0x500 }),
      write(20, { tagAction: 'ordered', priority: 0x300 }),
      write(30, { priority: 0x300 }),
      write(40, { tagAction: 'head' }),
    ];
    await turns(10);
    expect(stack.stats(0)).toMatchObject({ queued: 5, active: 0 });
    stack.xpt.releaseDevq(path, 1, true);
    expect(new Set(await Promise.all(results))).toEqual(new Set([REQ_CMP]));
    const at = log.indexOf('start 20');
    expect(log.slice(0, at).filter((e) => e.startsWith('start'))).toEqual(['start 40', 'start 1', 'start 2']);
    expect(log.slice(0, at).filter((e) => e.startsWith('end'))).toHaveLength(3);
    expect(log.slice(at)).toEqual(['start 20', 'end 20', 'start 30', 'end 30']);
    await stack.close();
  });
});
