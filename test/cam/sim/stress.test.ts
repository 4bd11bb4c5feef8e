// Random I/O through the vtblk SIM under a minimal stand-in for the XPT's
// device queue (charge cost() against capacity(), re-issue CAM_REQUEUE_REQ,
// honour SIM queue freezes), on a small ring with a reordering backend and
// timeouts injected mid-flight. Checks: every CCB completes exactly once (the
// handle throws otherwise) with an expected status, reads match a shadow copy,
// the budget is never exceeded and no request ever waits for ring room (the
// budget really bounds the ring). VTCAM_STRESS_OPS sets the number of CCBs.

import { describe, expect, test } from 'vitest';
import { CamStatus, CAM_STATUS_MASK } from '../../../src/cam/status.js';
import { CamDir, newScsiIo, type Ccb, type ScsiIoCcb } from '../../../src/cam/ccb.js';
import type { SimHandle } from '../../../src/cam/xpt/sim-api.js';
import { VtblkSim } from '../../../src/cam/sim/vtblk/sim.js';
import { attachLocalVirtioBlk } from '../../../src/virtio/local-stack.js';
import { MemoryBackend } from '../../../src/virtio/device/backends/memory.js';
import { FaultyBackend } from '../../../src/virtio/device/backends/faulty.js';
import { VIRTIO_BLK_DRIVER_FEATURES } from '../../../src/virtio/blk-driver.js';
import { VIRTIO_F_INDIRECT_DESC, featureMask } from '../../../src/virtio/blk-features.js';

const OPS = Number(process.env['VTCAM_STRESS_OPS'] ?? 3000);
const BLOCKS = 256;
const BS = 512;
const DEVICE = { bus: 0, target: 0, lun: 0 };

function xorshift(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 0x1_0000_0000;
  };
}

/** The parts of the XPT's devq the SIM relies on: budget, FIFO, requeue, SIM queue freezes. */
class MiniDevq implements SimHandle {
  readonly bus = 0;
  readonly #waiting: ScsiIoCcb[] = [];
  readonly #charge = new Map<ScsiIoCcb, number>();
  readonly #done = new Map<ScsiIoCcb, (c: ScsiIoCcb) => void>();
  #charged = 0;
  #frozen = 0;
  maxCharged = 0;
  maxWaitingForRing = 0;
  requeued = 0;
  events = 0;
  sim: VtblkSim | undefined;

  submit(ccb: ScsiIoCcb): Promise<ScsiIoCcb> {
    return new Promise((resolve) => {
      this.#done.set(ccb, resolve);
      this.#waiting.push(ccb);
      this.#pump();
    });
  }

  get active(): readonly ScsiIoCcb[] {
    return [...this.#charge.keys()];
  }

  done(ccb: Ccb): void {
    if (ccb.func !== 0x901) throw new Error('only SCSI I/O here');
    const cost = this.#charge.get(ccb);
    if (cost === undefined) throw new Error(`done() for a CCB that is not active (status 0x${ccb.status.toString(16)})`);
    this.#charge.delete(ccb);
    this.#charged -= cost;
    if ((ccb.status & CAM_STATUS_MASK) === CamStatus.REQUEUE_REQ) {
      this.requeued++;
      this.#waiting.unshift(ccb);
    } else {
      const resolve = this.#done.get(ccb);
      this.#done.delete(ccb);
      resolve?.(ccb);
    }
    this.#pump();
  }

  freezeSimq(count: number): void {
    this.#frozen += count;
  }

  releaseSimq(count: number, run: boolean): void {
    this.#frozen -= count;
    if (this.#frozen < 0) throw new Error('SIM queue released more than frozen');
    if (run) this.#pump();
  }

  async(): void {
    this.events++;
  }

  run(): void {
    this.#pump();
  }

  /** No PREEMPT AND ABORT here: nothing waiting is ever aborted. */
  abortQueued(): readonly ScsiIoCcb[] {
    return [];
  }

  #pump(): void {
    const sim = this.sim;
    if (sim === undefined) return;
    while (this.#frozen === 0 && this.#waiting.length > 0) {
      const ccb = this.#waiting[0] as ScsiIoCcb;
      const cost = sim.cost(ccb);
      if (this.#charged + cost > sim.capacity()) return;
      this.#waiting.shift();
      this.#charge.set(ccb, cost);
      this.#charged += cost;
      this.maxCharged = Math.max(this.maxCharged, this.#charged);
      this.maxWaitingForRing = Math.max(this.maxWaitingForRing, sim.driver.waiting());
      sim.action(ccb);
    }
  }
}

async function stress(seed: number, features: bigint): Promise<void> {
  const random = xorshift(seed);
  const disk = new MemoryBackend({ blocks: BLOCKS });
  const backend = new FaultyBackend(disk, { reorder: true, seed });
  const stack = await attachLocalVirtioBlk({ backend, queueSize: 16, memorySize: 1 << 22, features, device: { sizeMax: 1024 } });
  if (!('driver' in stack)) throw new Error(stack.reason);
  const sim = await VtblkSim.create(stack, { emulator: { powerOnUnitAttention: false } });
  const devq = new MiniDevq();
  sim.bind(devq);
  devq.sim = sim;
  // Shadow: the byte every block is filled with; undefined once a timed-out write leaves it unknown.
  const shadow: (number | undefined)[] = Array<number | undefined>(BLOCKS).fill(0);
  const statuses = new Map<number, number>();
  let issued = 0;
  let timeouts = 0;

  // Concurrent commands never overlap (SCSI does not order them): each holds its blocks while it runs.
  const busy = new Uint8Array(BLOCKS);
  const pick = async (): Promise<{ lba: number; blocks: number }> => {
    for (;;) {
      const lba = Math.floor(random() * (BLOCKS - 8));
      const blocks = 1 + Math.floor(random() * 8);
      if (busy.subarray(lba, lba + blocks).every((b) => b === 0)) {
        busy.fill(1, lba, lba + blocks);
        return { lba, blocks };
      }
      await new Promise((r) => setImmediate(r));
    }
  };

  const one = async (): Promise<void> => {
    const { lba, blocks } = await pick();
    try {
      await io(lba, blocks);
    } finally {
      busy.fill(0, lba, lba + blocks);
    }
  };

  const io = async (lba: number, blocks: number): Promise<void> => {
    const write = random() < 0.5;
    const fill = Math.floor(random() * 255) + 1;
    const cdb = Uint8Array.of(write ? 0x2a : 0x28, 0, 0, 0, lba >> 8, lba & 0xff, 0, 0, blocks, 0);
    const ccb = write
      ? newScsiIo({ path: DEVICE, cdb, dir: CamDir.OUT, dataOut: new Uint8Array(blocks * BS).fill(fill) })
      : newScsiIo({ path: DEVICE, cdb, dir: CamDir.IN, dataInLength: blocks * BS });
    // A write makes its blocks unknown until it completes (a timed-out one leaves them so).
    if (write) for (let b = lba; b < lba + blocks; b++) shadow[b] = undefined;
    for (;;) {
      const c = await devq.submit(ccb);
      const st = c.status & CAM_STATUS_MASK;
      statuses.set(st, (statuses.get(st) ?? 0) + 1);
      if (st === CamStatus.SCSI_STATUS_ERROR && c.sense?.[12] === 0x29) continue; // the reset's unit attention: retry
      if (st === CamStatus.CMD_TIMEOUT) return; // a timed-out write may or may not have landed: blocks stay unknown
      expect(st).toBe(CamStatus.REQ_CMP);
      if (write) {
        for (let b = lba; b < lba + blocks; b++) shadow[b] = fill;
      } else {
        for (let b = 0; b < blocks; b++) {
          const want = shadow[lba + b];
          if (want !== undefined) expect(c.dataIn?.[b * BS], `block ${lba + b}`).toBe(want);
        }
      }
      return;
    }
  };

  const workers = Array.from({ length: 40 }, async () => {
    while (issued < OPS) {
      issued++;
      if (issued % 250 === 0) {
        const active = devq.active;
        const victim = active[Math.floor(random() * active.length)];
        if (victim !== undefined) {
          timeouts++;
          sim.timeout(victim);
        }
      }
      await one();
    }
  });
  await Promise.all(workers);
  expect(devq.maxCharged).toBeLessThanOrEqual(sim.capacity());
  expect(devq.maxWaitingForRing).toBe(0);
  expect(sim.activeCount).toBe(0);
  expect(timeouts).toBeGreaterThan(0);
  expect(statuses.get(CamStatus.REQ_CMP)).toBeGreaterThan(OPS / 2);
  // Each reset reported itself once (a timeout during a reset joins it).
  expect(devq.events).toBeGreaterThan(0);
  expect(devq.events).toBeLessThanOrEqual(timeouts);
  expect(devq.requeued).toBeGreaterThan(0);
  await sim.detach();
  expect(stack.allocator.liveCount).toBe(0);
}

describe('random I/O with timeouts, exactly-once and data integrity', () => {
  test('direct descriptors', async () => {
    await stress(0x1234, VIRTIO_BLK_DRIVER_FEATURES & ~featureMask(VIRTIO_F_INDIRECT_DESC));
  });

  test('indirect descriptors', async () => {
    await stress(0xbeef, VIRTIO_BLK_DRIVER_FEATURES);
  });
});
