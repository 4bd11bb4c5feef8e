// VIRTIO_BLK_F_MQ on the CAM side: the vtblk SIM and its block set spread
// requests over every request queue the driver set up, keep each queue's
// in-flight load within its own ring, order FLUSH after the writes issued
// before it on any queue (VIRTIO 1.2 §5.2.6.2), and keep the issue 4
// device-side ring-shortage detection working across queues. Through
// createStack with small rings at a queue depth of 256, with data checked
// against a shadow; a hand-built stack for rings of different sizes.

import { describe, expect, test } from 'vitest';
import { createStack, type Stack } from '../../../src/stack.js';
import { MemoryBackend } from '../../../src/virtio/device/backends/memory.js';
import { VIRTIO_BLK_DRIVER_FEATURES, VirtioBlkDriver } from '../../../src/virtio/blk-driver.js';
import { VIRTIO_BLK_F_MQ, VIRTIO_F_INDIRECT_DESC, featureMask } from '../../../src/virtio/blk-features.js';
import { VIRTIO_BLK_T_FLUSH, VIRTIO_BLK_T_IN, VIRTIO_BLK_T_OUT } from '../../../src/virtio/blk-wire.js';
import { GuestMemory } from '../../../src/virtio/guest-memory.js';
import { GuestAllocator } from '../../../src/virtio/guest-allocator.js';
import { VirtioBlkDevice } from '../../../src/virtio/device/blk-device.js';
import { LocalTransport } from '../../../src/virtio/transport/local.js';
import { attachLocalVirtioBlk } from '../../../src/virtio/local-stack.js';
import { VtblkSim } from '../../../src/cam/sim/vtblk/sim.js';
import { VirtioBlockCommandSet } from '../../../src/cam/sim/vtblk/translate.js';
import type { BlkQueueStats } from '../../../src/cam/sim/vtblk/queue-load.js';
import { Xpt } from '../../../src/cam/xpt/xpt.js';
import { DaPeriph } from '../../../src/cam/periph/da.js';
import { CamStatus } from '../../../src/cam/status.js';
import { CamDir, newScsiIo, type ScsiIoCcb } from '../../../src/cam/ccb.js';
import { AsyncCode } from '../../../src/cam/async.js';
import { ProbeBackend, Shadow, drainUnitAttentions, stamp, turns, until, watchCcbs, xorshift, type ProbeOp } from '../../stack/helpers.js';
import { FakeHandle } from './harness.js';

const BS = 512;
const RING = 16;
const QD = 256;
/** Each of the QD workers owns this many blocks: commands in flight together never overlap. */
const REGION = 16;
const BLOCKS = QD * REGION;
const DIRECT = VIRTIO_BLK_DRIVER_FEATURES & ~featureMask(VIRTIO_F_INDIRECT_DESC);
const REQ_CMP = 0x01; // CAM_REQ_CMP
const TASK_SET_FULL = 0x28;

interface Mq {
  readonly stack: Stack;
  readonly probe: ProbeBackend;
  readonly shadow: Shadow;
}

async function mq(queues: number, features?: bigint, blocks = BLOCKS): Promise<Mq> {
  const probe = new ProbeBackend(new MemoryBackend({ blocks, blockSize: BS }));
  const stack = await createStack({ backend: probe, queueSize: RING, queues, ...(features === undefined ? {} : { features }) });
  return { stack, probe, shadow: new Shadow(blocks, BS) };
}

/** The queue of every request the block set hands the driver, in order (instruments the driver in place). */
function watchQueues(stack: Stack): { type: number; q: number }[] {
  const sent: { type: number; q: number }[] = [];
  const driver = stack.virtio.driver;
  const enqueue = driver.enqueue.bind(driver);
  driver.enqueue = (req, done, q) => {
    sent.push({ type: req.type, q: q ?? 0 });
    enqueue(req, done, q);
  };
  return sent;
}

/** `block@lba` for data operations, the kind alone for a flush. */
const opName = (op: ProbeOp): string => (op.kind === 'flush' ? 'flush' : `${op.kind}@${op.offset / BS}`);

/** Starts and ends of backend operations, in order. */
function logOps(probe: ProbeBackend): string[] {
  const log: string[] = [];
  probe.onStart = (op) => log.push(`start ${opName(op)}`);
  probe.onEnd = (op) => log.push(`end ${opName(op)}`);
  return log;
}

/** A promise's state, without waiting for it. */
function settled(p: Promise<unknown>): () => boolean {
  let done = false;
  void p.finally(() => {
    done = true;
  });
  return () => done;
}

describe.each([2, 4])('%i queues of 16 descriptors, 256 commands outstanding', (queues) => {
  test.each([
    ['indirect', undefined],
    ['direct', DIRECT],
  ])('%s descriptors: every queue used, each within its ring, no request waits for ring room, data intact', async (_name, features) => {
    const { stack, probe, shadow } = await mq(queues, features);
    const driver = stack.virtio.driver;
    const bcs = stack.sim.bcs;
    expect(driver.queueCount).toBe(queues);
    expect(bcs.queueCount).toBe(queues);
    // The devq budget: every ring minus the reserve of two flushes, summed, less (queues − 1) × (largest
    // request − 1) so that whatever it admits fits one ring (nothing with indirect descriptors: every request costs 1).
    const reserve = 2 * driver.descriptorCost(0);
    const largest = stack.sim.requestCost(bcs.maxDataSegments);
    expect(largest).toBe(features === undefined ? 1 : RING - reserve);
    const capacity = queues * (RING - reserve) - (queues - 1) * (largest - 1);
    expect(stack.stats(0).capacity).toBe(capacity);
    expect(stack.sim.pathInq().openings).toBe(capacity);
    const ledger = watchCcbs(stack);
    const random = xorshift(queues * 7919 + (features === undefined ? 1 : 2));
    // The device takes 0..3 turns per operation: completions come back out of order, across queues.
    probe.delayTurns = () => Math.floor(random() * 4);
    const violations: string[] = [];
    let maxActive = 0;
    const sample = (): void => {
      const s = stack.stats(0);
      maxActive = Math.max(maxActive, s.active);
      if (s.charged > s.capacity) violations.push(`charged ${s.charged} > capacity ${s.capacity}`);
      for (let q = 0; q < queues; q++) {
        if (driver.waiting(q) > 0) violations.push(`queue ${q}: ${driver.waiting(q)} request(s) waiting for ring room`);
        if (driver.inFlight(q) > RING) violations.push(`queue ${q}: ${driver.inFlight(q)} in flight`);
      }
    };
    let ops = 0;
    const worker = async (w: number): Promise<void> => {
      for (let i = 0; i < 8; i++) {
        const blocks = 1 + Math.floor(random() * 8);
        const lba = w * REGION + Math.floor(random() * (REGION - blocks + 1));
        if (random() < 0.5) {
          const data = stamp(lba, blocks, BS, w * 100 + i);
          await stack.da(0).write(BigInt(lba), data);
          shadow.write(lba, data);
        } else {
          const got = await stack.da(0).read(BigInt(lba), blocks);
          expect(shadow.mismatch(lba, got)).toBeUndefined();
        }
        ops++;
        sample();
      }
    };
    await Promise.all(Array.from({ length: QD }, (_, w) => worker(w)));
    expect(ops).toBe(QD * 8);
    expect(violations.slice(0, 5)).toEqual([]);
    // The whole budget was in use at once: with indirect descriptors more than one ring's worth (in CCBs and
    // in descriptors); with direct ones on rings this small the one-ring guarantee leaves about one ring's.
    expect(maxActive).toBeGreaterThanOrEqual(Math.floor(capacity / driver.descriptorCost(1)));
    expect(stack.stats(0).maxCharged).toBeGreaterThan(capacity - driver.descriptorCost(1));
    if (features === undefined) expect(stack.stats(0).maxCharged).toBeGreaterThan(RING - reserve);
    const stats = bcs.queueStats();
    const total = stats.reduce((n, s) => n + s.requests, 0);
    expect(total).toBeGreaterThanOrEqual(QD * 8);
    for (const s of stats) {
      // Spread evenly: every queue took at least half its even share, and ran several requests at once.
      expect(s.requests, `queue ${s.queue}`).toBeGreaterThanOrEqual(total / queues / 2);
      expect(s.maxInFlight, `queue ${s.queue}`).toBeGreaterThan(1);
      // Within its own ring: what was charged to it (waiting included) never exceeded the ring.
      expect(s.maxHeld, `queue ${s.queue}`).toBeLessThanOrEqual(s.ringSize);
      expect(s.maxInFlight, `queue ${s.queue}`).toBeLessThanOrEqual(s.ringSize);
      expect({ held: s.held, inFlight: s.inFlight, ringSize: s.ringSize }).toEqual({ held: 0, inFlight: 0, ringSize: RING });
    }
    expect(bcs.heldDescriptors).toBe(0);
    expect(ledger.doubles).toBe(0);
    expect(ledger.completions).toBe(ledger.actions);
    probe.delayTurns = undefined;
    const all = await stack.da(0).read(0n, BLOCKS);
    expect(shadow.mismatch(0, all)).toBeUndefined();
    const s = stack.stats(0);
    expect({ active: s.active, queued: s.queued, charged: s.charged }).toEqual({ active: 0, queued: 0, charged: 0 });
    expect(s.maxCharged).toBeLessThanOrEqual(s.capacity);
    await stack.close();
    expect(stack.virtio.allocator.liveCount).toBe(0);
  });
});

test('queue depth 1: queues with equal room take turns', async () => {
  const { stack } = await mq(4);
  const before = stack.sim.bcs.queueStats().map((s) => s.requests);
  for (let i = 0; i < 12; i++) await stack.da(0).read(BigInt(i), 1);
  const after = stack.sim.bcs.queueStats().map((s, q) => s.requests - (before[q] ?? 0));
  expect(after).toEqual([3, 3, 3, 3]);
  await stack.close();
});

describe('FLUSH ordering across queues', () => {
  test('a FLUSH reaches the backend only after the writes submitted before it, on both queues, completed; a write after it does not hold it back', async () => {
    const { stack, probe } = await mq(2);
    const da = stack.da(0);
    const sent = watchQueues(stack);
    const log = logOps(probe);
    const heldWrites = new Set([100, 110, 200]);
    probe.holdIf = (op) => op.kind === 'write' && heldWrites.has(op.offset / BS);
    // A and A' sit at the backend, one on each queue (each goes to the roomier).
    const a = da.write(100n, stamp(100, 1, BS, 1));
    const a2 = da.write(110n, stamp(110, 1, BS, 2));
    await until(() => probe.heldCount === 2, "writes A and A' at the backend");
    expect(sent.map((r) => r.q).sort()).toEqual([0, 1]);
    const flush = da.flush();
    const flushed = settled(flush);
    await until(() => stack.sim.bcs.flushesWaiting === 1, 'the FLUSH waiting');
    // Writes after the FLUSH: B sits at the backend, C completes.
    const b = da.write(200n, stamp(200, 1, BS, 3));
    await until(() => probe.heldCount === 3, 'write B at the backend');
    await da.write(300n, stamp(300, 1, BS, 4));
    await turns(50);
    expect(flushed()).toBe(false);
    // A completes: A' is still out on the other queue, the FLUSH still waits.
    expect(probe.releaseHeld(1)).toBe(1);
    await a;
    await turns(50);
    expect(flushed()).toBe(false);
    expect(log.filter((e) => e.includes('flush'))).toEqual([]);
    expect(sent.filter((r) => r.type === VIRTIO_BLK_T_FLUSH)).toEqual([]);
    // A' completes: the FLUSH goes, while B (issued after it) still sits at the backend.
    expect(probe.releaseHeld(1)).toBe(1);
    await a2;
    await flush;
    expect(probe.heldCount).toBe(1);
    expect(stack.sim.bcs.flushesWaiting).toBe(0);
    expect(log.indexOf('end write@100')).toBeLessThan(log.indexOf('start flush'));
    expect(log.indexOf('end write@110')).toBeLessThan(log.indexOf('start flush'));
    expect(log.indexOf('end flush')).toBeGreaterThan(log.indexOf('start flush'));
    expect(log).not.toContain('end write@200');
    // Whichever queue the FLUSH took, it waited for a write on the other one.
    const writeQueues = sent.filter((r) => r.type === VIRTIO_BLK_T_OUT).slice(0, 2).map((r) => r.q);
    const flushQueue = sent.find((r) => r.type === VIRTIO_BLK_T_FLUSH)?.q;
    expect(writeQueues.filter((q) => q !== flushQueue)).toHaveLength(1);
    probe.releaseHeld();
    probe.holdIf = undefined;
    await b;
    for (const [lba, tag] of [[100, 1], [110, 2], [200, 3], [300, 4]] as const) {
      expect(await da.read(BigInt(lba), 1)).toEqual(stamp(lba, 1, BS, tag));
    }
    await stack.close();
  });

  test('epochs: FLUSHes wait for every write before them and no later one; DISCARD and WRITE_ZEROES count as writes, reads do not', async () => {
    // Two holders, so that a later write can be let go before an earlier one (each lets its oldest go first).
    const inner = new ProbeBackend(new MemoryBackend({ blocks: 1024, blockSize: BS }));
    const probe = new ProbeBackend(inner);
    const stack = await createStack({ backend: probe, queueSize: RING, queues: 2 });
    const bcs = stack.sim.bcs;
    const log = logOps(probe);
    const flushes = (): number => log.filter((e) => e === 'start flush').length;
    const held = new Set<number>();
    probe.holdIf = (op) => held.has(op.offset / BS);
    const block = (tag: number): Uint8Array => new Uint8Array(BS).fill(tag);

    // A read in flight does not hold a FLUSH back.
    held.add(10);
    const read = bcs.read(10n, new Uint8Array(BS));
    await until(() => probe.heldCount === 1, 'read at the backend');
    expect(await bcs.flush()).toBe('ok');
    expect(flushes()).toBe(1);
    probe.releaseHeld();
    expect(await read).toBe('ok');

    // F1 waits for A; F2 (after B) waits for A and B; F3, with no write since F2, waits with F2.
    held.add(20);
    inner.holdIf = (op) => op.offset === 30 * BS;
    const a = bcs.write(20n, block(1));
    await until(() => probe.heldCount === 1, 'A at the backend');
    const f1 = bcs.flush();
    const b = bcs.write(30n, block(2));
    await until(() => inner.heldCount === 1, 'B at the backend');
    const f2 = bcs.flush();
    const f3 = bcs.flush();
    const done = [settled(f1), settled(f2), settled(f3)];
    expect(bcs.flushesWaiting).toBe(3);
    // B completes first: nothing goes, A (older than all three) is still out.
    expect(inner.releaseHeld()).toBe(1);
    expect(await b).toBe('ok');
    await turns(20);
    expect(done.map((d) => d())).toEqual([false, false, false]);
    expect(flushes()).toBe(1);
    // A completes: all three go.
    expect(probe.releaseHeld()).toBe(1);
    expect(await Promise.all([a, f1, f2, f3])).toEqual(['ok', 'ok', 'ok', 'ok']);
    expect(flushes()).toBe(4);
    expect(bcs.flushesWaiting).toBe(0);

    // DISCARD and WRITE_ZEROES in flight hold a FLUSH back like a write.
    held.add(40).add(50);
    const discard = bcs.discard([{ lba: 40n, blocks: 1 }]);
    const zeroes = bcs.writeZeroes({ lba: 50n, blocks: 1 }, false);
    await until(() => probe.heldCount === 2, 'DISCARD and WRITE_ZEROES at the backend');
    const f4 = bcs.flush();
    const f4done = settled(f4);
    await turns(20);
    expect(f4done()).toBe(false);
    probe.releaseHeld(1);
    await turns(20);
    expect(f4done()).toBe(false);
    probe.releaseHeld();
    expect(await Promise.all([discard, zeroes, f4])).toEqual(['ok', 'ok', 'ok']);
    expect(flushes()).toBe(5);
    await stack.close();
  });

  test('one queue: a FLUSH goes at once, beside a write still in flight (unchanged single-queue behaviour)', async () => {
    const { stack, probe } = await mq(1);
    expect(stack.sim.bcs.queueCount).toBe(1);
    expect(stack.stats(0).capacity).toBe(RING - 2 * stack.virtio.driver.descriptorCost(0));
    const log = logOps(probe);
    probe.holdIf = (op) => op.kind === 'write';
    const a = stack.sim.bcs.write(7n, new Uint8Array(BS).fill(7));
    await until(() => probe.heldCount === 1, 'write at the backend');
    expect(await stack.sim.bcs.flush()).toBe('ok');
    expect(log).toEqual(['start write@7', 'start flush', 'end flush']);
    probe.releaseHeld();
    expect(await a).toBe('ok');
    await stack.close();
  });
});

describe('XPT_RESET_DEV with work on every queue', () => {
  test('pass.resetDevice(): CCBs in flight on all queues (and a FLUSH waiting for them) are requeued; nothing lost, data intact', async () => {
    const queues = 4;
    const { stack, probe, shadow } = await mq(queues);
    const da = stack.da(0);
    const bcs = stack.sim.bcs;
    const ledger = watchCcbs(stack);
    const uas: [number, number, number][] = [];
    da.onUnitAttention((s) => uas.push([s.key, s.asc, s.ascq]));
    const bdrs: number[] = [];
    stack.xpt.onAsync(AsyncCode.SENT_BDR, undefined, (code) => bdrs.push(code));
    // Every backend operation sits until released: 12 commands of 1 descriptor (indirect), 3 on each queue;
    // then a FLUSH (waiting for the writes among them); then more than the rest of the budget.
    probe.holdIf = () => true;
    const io: Promise<void>[] = [];
    const issue = (i: number): void => {
      const lba = i * REGION;
      const data = stamp(lba, 4, BS, 500 + i);
      io.push(
        i % 2 === 0
          ? da.write(BigInt(lba), data).then(() => {
              shadow.write(lba, data);
            })
          : da.read(BigInt(lba), 4).then((got) => {
              expect(shadow.mismatch(lba, got)).toBeUndefined();
            }),
      );
    };
    for (let i = 0; i < 12; i++) issue(i);
    await until(() => probe.heldCount === 12, 'twelve commands at the backend');
    const flush = da.flush();
    await until(() => bcs.flushesWaiting === 1, 'a FLUSH waiting for the writes');
    for (let i = 12; i < 64; i++) issue(i);
    // 56 descriptors of budget, 4 × (16 − 2): 12 + 1 FLUSH (1) leave room for 43 more of 1.
    expect(stack.stats(0).capacity).toBe(56);
    await until(() => probe.heldCount === 55, 'the budget in flight');
    expect(stack.stats(0).queued).toBe(64 - 55);
    const before = bcs.queueStats();
    for (const s of before) expect(s.inFlight, `queue ${s.queue}`).toBeGreaterThan(0);
    const reset = stack.pass(0).resetDevice();
    // The device reset waits for its backend operations: let them go (their completions are dropped by the reset).
    await turns(5);
    probe.holdIf = undefined;
    probe.releaseHeld();
    await reset;
    await Promise.all([...io, flush]);
    expect(bdrs).toEqual([AsyncCode.SENT_BDR]);
    expect(uas).toEqual([[0x06, 0x29, 0x03]]);
    // The requeued commands ran again, on every queue.
    const after = bcs.queueStats();
    for (const [q, s] of after.entries()) {
      expect(s.requests, `queue ${q}`).toBeGreaterThan(requestsOf(before, q));
      expect({ held: s.held, inFlight: s.inFlight }).toEqual({ held: 0, inFlight: 0 });
      expect(s.maxHeld).toBeLessThanOrEqual(s.ringSize);
    }
    expect(bcs.flushesWaiting).toBe(0);
    expect(ledger.doubles).toBe(0);
    expect(ledger.completions).toBe(ledger.actions);
    expect(await drainUnitAttentions(stack)).toEqual([]);
    expect(shadow.mismatch(0, await da.read(0n, 64 * REGION))).toBeUndefined();
    await stack.close();
    expect(stack.virtio.allocator.liveCount).toBe(0);
  });
});

function requestsOf(stats: readonly BlkQueueStats[], q: number): number {
  return stats[q]?.requests ?? Number.NaN;
}

describe('createStack({ queues })', () => {
  test.each([0, 1.5, 65_536, -1, Number.NaN])('queues %s: RangeError naming the option, before anything is built', async (queues) => {
    const backend = new MemoryBackend({ blocks: 64 });
    await expect(createStack({ backend, queues })).rejects.toThrow(new RangeError(`queues must be an integer in 1..65535, got ${queues}`));
  });

  test('more queues than the device offers: RangeError saying what it offers', async () => {
    await expect(createStack({ backend: new MemoryBackend({ blocks: 64 }), queues: 4, device: { numQueues: 2 } })).rejects.toThrow(
      new RangeError('queues 4: the device offers 2 request queue(s)'),
    );
    // Without VIRTIO_BLK_F_MQ negotiated the driver takes one queue (§5.2.3: num_queues is only valid with it).
    const noMq = VIRTIO_BLK_DRIVER_FEATURES & ~featureMask(VIRTIO_BLK_F_MQ);
    await expect(createStack({ backend: new MemoryBackend({ blocks: 64 }), queues: 2, features: noMq })).rejects.toThrow(
      new RangeError('queues 2: the device offers 1 request queue(s)'),
    );
  });

  test('queues 1 is the default; the largest device queue count works', async () => {
    const one = await createStack({ backend: new MemoryBackend({ blocks: 64 }), queueSize: RING, queues: 1 });
    expect(one.sim.bcs.queueCount).toBe(1);
    // Indirect descriptors: a flush costs 1, the reserve is 2.
    expect(one.stats(0).capacity).toBe(RING - 2);
    await one.close();
    const many = await createStack({ backend: new MemoryBackend({ blocks: 64 }), queueSize: RING, queues: 64 });
    expect(many.sim.bcs.queueCount).toBe(64);
    expect(many.stats(0).capacity).toBe(64 * (RING - 2));
    const data = stamp(3, 2, BS, 9);
    await many.da(0).write(3n, data);
    expect(await many.da(0).read(3n, 2)).toEqual(data);
    await many.close();
  });

  test('the SIM and the block set refuse queues the driver did not set up', async () => {
    const s = await attachLocalVirtioBlk({ backend: new MemoryBackend({ blocks: 64 }), queueSize: RING, memorySize: 1 << 22, queues: 2 });
    if (!('driver' in s)) throw new Error(s.reason);
    for (const queues of [0, 3, 1.5]) {
      await expect(VtblkSim.create(s, { queues })).rejects.toThrow(new RangeError(`queues must be an integer in 1..2 (the queues the driver set up), got ${queues}`));
      expect(() => new VirtioBlockCommandSet({ driver: s.driver, memory: s.memory, allocator: s.allocator, queues })).toThrow(
        new RangeError(`queues must be an integer in 1..2 (the queues the driver set up), got ${queues}`),
      );
    }
    // One queue of two: the SIM keeps to it.
    const sim = await VtblkSim.create(s, { queues: 1, emulator: { powerOnUnitAttention: false } });
    expect(sim.capacity()).toBe(RING - 2);
    expect(() => sim.bcs.ringSize(1)).toThrow(new RangeError("queue 1 is not one of this set's 1"));
    await sim.detach();
  });
});

describe('rings of different sizes', () => {
  test('capacity sums ring − reserve per queue; segments per request from the smallest ring; each queue kept within its ring', async () => {
    const memory = GuestMemory.create(1 << 22, false);
    const allocator = new GuestAllocator(0, memory.size);
    const device = new VirtioBlkDevice({ memory, backend: new MemoryBackend({ blocks: 4096 }), numQueues: 2, queueMaxSize: 16, sizeMax: 4096 });
    const transport = new LocalTransport(device);
    // Queue 1 of this device holds 8 descriptors, queue 0 holds 16.
    const maxSize = transport.queueMaxSize.bind(transport);
    transport.queueMaxSize = (q) => (q === 1 ? 8 : maxSize(q));
    const driver = await VirtioBlkDriver.attach({ transport, allocator, queueSize: 16, queues: 2, features: DIRECT });
    if (!(driver instanceof VirtioBlkDriver)) throw new Error(driver.reason);
    expect([driver.queueSize(0), driver.queueSize(1)]).toEqual([16, 8]);
    // A reserve that leaves the small ring no room for one request names that queue.
    await expect(VtblkSim.create({ driver, memory, allocator }, { reserve: 6 })).rejects.toThrow(
      new RangeError('reserve 6 leaves 2 of the 8-descriptor ring of queue 1; a one-segment request needs 3: use a queue of at least 9 descriptors (queueSize, a power of two) or a smaller reserve'),
    );
    const sim = await VtblkSim.create({ driver, memory, allocator });
    // Reserve 2 × 2 per queue: (16 − 4) + (8 − 4), less (2 − 1) × (4 − 1) for the largest request (below).
    expect(sim.capacity()).toBe(13);
    // The 8-descriptor ring's budget of 4 takes a header, 2 data segments and a status byte.
    expect(sim.bcs.maxDataSegments).toBe(2);
    expect(sim.requestCost(2)).toBe(4);
    expect(sim.emulator.maxTransferBlocks).toBe((2 * 4096) / BS);

    const xpt = new Xpt();
    const handle = xpt.registerBus(sim);
    sim.bind(handle);
    const [info] = await xpt.scan(handle.bus);
    if (info === undefined) throw new Error('no unit');
    const da = new DaPeriph(xpt, info.path, { maxIoBytes: sim.pathInq().maxIoBytes });
    const shadow = new Shadow(4096, BS);
    const random = xorshift(5);
    let waited = 0;
    const worker = async (w: number): Promise<void> => {
      for (let i = 0; i < 10; i++) {
        // 1..16 blocks: one or two 4 KiB segments.
        const blocks = 1 + Math.floor(random() * 16);
        const lba = w * 32 + Math.floor(random() * (32 - blocks + 1));
        const data = stamp(lba, blocks, BS, w * 10 + i);
        await da.write(BigInt(lba), data);
        shadow.write(lba, data);
        expect(shadow.mismatch(lba, await da.read(BigInt(lba), blocks))).toBeUndefined();
        waited = Math.max(waited, driver.waiting(0), driver.waiting(1));
      }
    };
    await Promise.all(Array.from({ length: 128 }, (_, w) => worker(w)));
    expect(waited).toBe(0);
    const [q0, q1] = sim.bcs.queueStats();
    expect(q0?.ringSize).toBe(16);
    expect(q1?.ringSize).toBe(8);
    for (const s of [q0, q1]) {
      if (s === undefined) throw new Error('missing queue');
      expect(s.requests).toBeGreaterThan(0);
      expect(s.maxHeld).toBeLessThanOrEqual(s.ringSize);
    }
    // The roomier ring took more.
    expect(q0?.requests ?? 0).toBeGreaterThan(q1?.requests ?? 0);
    await xpt.deregisterBus(handle.bus);
  });
});

describe('ring shortage from the device side, across queues (issue 4)', () => {
  test('one queue short still leaves room on the other: the command runs there; both short: QUEUE FULL, nothing executed', async () => {
    const probe = new ProbeBackend(new MemoryBackend({ blocks: 65_536 }));
    const s = await attachLocalVirtioBlk({ backend: probe, queueSize: RING, memorySize: 1 << 22, features: DIRECT, queues: 2 });
    if (!('driver' in s)) throw new Error(s.reason);
    const sim = await VtblkSim.create(s, { emulator: { powerOnUnitAttention: false } });
    const handle = new FakeHandle();
    sim.bind(handle);
    const run = async (lba: number): Promise<ScsiIoCcb> => {
      const cdb = Uint8Array.of(0x28, 0, 0, 0, lba >> 8, lba & 0xff, 0, 0, 1, 0); // READ (10), 1 block
      const ccb = newScsiIo({ path: { bus: 0, target: 0, lun: 0 }, cdb, dir: CamDir.IN, dataInLength: BS });
      const done = handle.next(ccb);
      sim.action(ccb);
      await done;
      return ccb;
    };
    // Someone else's requests, past block 60000, that the device sits on: 5 × 3 descriptors of queue 0's 16.
    probe.holdIf = (op) => op.offset >= 60_000 * BS;
    const buf = s.allocator.alloc(BS);
    if (buf === undefined) throw new Error('no guest memory');
    const foreign = (q: number): Promise<unknown>[] => Array.from({ length: 5 }, (_, i) => s.driver.request({ type: VIRTIO_BLK_T_IN, sector: BigInt(60_000 + i), data: [buf] }, q));
    const on0 = foreign(0);
    await until(() => probe.heldCount === 5, 'foreign requests on queue 0');
    expect(s.driver.freeDescriptors(0)).toBe(1);
    const reads = (): number[] => sim.bcs.queueStats().map((x) => x.requests);
    const before = reads();
    expect((await run(0)).status).toBe(CamStatus.REQ_CMP);
    // It ran on queue 1.
    expect(reads()).toEqual([before[0], (before[1] ?? 0) + 1]);
    const on1 = foreign(1);
    await until(() => probe.heldCount === 10, 'foreign requests on queue 1');
    const full = await run(1);
    expect([full.status, full.scsiStatus]).toEqual([CamStatus.REQUEUE_REQ, TASK_SET_FULL]);
    expect(full.dataIn).toBeUndefined();
    expect(reads()).toEqual([before[0], (before[1] ?? 0) + 1]);
    // Queue 0's holder lets go: the READ runs there.
    expect(probe.releaseHeld(5)).toBe(5);
    await Promise.all(on0);
    expect(s.driver.freeDescriptors(0)).toBe(RING);
    expect((await run(1)).status).toBe(CamStatus.REQ_CMP);
    expect(reads()).toEqual([(before[0] ?? 0) + 1, (before[1] ?? 0) + 1]);
    probe.holdIf = undefined;
    probe.releaseHeld();
    await Promise.all([...on0, ...on1]);
    expect(handle.completions.map((c) => c.status & 0x3f)).toEqual([REQ_CMP, CamStatus.REQUEUE_REQ, REQ_CMP]);
    await sim.detach();
  });
});

describe('a request fits one ring, not the sum of them', () => {
  test('2 queues of 32, direct descriptors: a 64 KiB read that fits neither ring waits in the devq, not in a ring FIFO', async () => {
    const probe = new ProbeBackend(new MemoryBackend({ blocks: 1 << 16 }));
    const stack = await createStack({ backend: probe, queueSize: 32, queues: 2, device: { sizeMax: 4096, segMax: 16 }, features: DIRECT });
    const driver = stack.virtio.driver;
    const da = stack.da(0);
    // Budget 2 × (32 − 4) = 56, less 1 × (18 − 1) for the largest request (16 segments + header + status).
    expect(stack.stats(0).capacity).toBe(39);
    probe.holdIf = () => true;
    // 12 one-block reads of 3 descriptors, 6 on each ring: 14 descriptors left on each.
    const small = Array.from({ length: 12 }, (_, i) => da.read(BigInt(i * 8), 1));
    await until(() => probe.heldCount === 12, 'small reads at the device');
    expect([driver.freeDescriptors(0), driver.freeDescriptors(1)]).toEqual([14, 14]);
    // 36 + 18 = 54 would pass a budget of 56; against 39 the 64 KiB read waits in the devq.
    const big = da.read(1024n, 128);
    await turns(20);
    expect(stack.stats(0)).toMatchObject({ active: 12, queued: 1 });
    expect([driver.waiting(0), driver.waiting(1)]).toEqual([0, 0]);
    probe.holdIf = undefined;
    probe.releaseHeld();
    await Promise.all([...small, big]);
    expect([driver.waiting(0), driver.waiting(1)]).toEqual([0, 0]);
    await stack.close();
  });
});
