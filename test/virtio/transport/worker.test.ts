// Transport `worker` (issue 6): the virtio-blk queues run in worker threads
// over shared guest memory. Driver-level round trips and notification
// batching, option errors, a ring the worker finds corrupt, the file backend
// opened in the worker, and the loss of a worker (exit and hang) through the
// whole stack: in-flight CCBs complete once with CAM_DEV_NOT_THERE, AC_LOST_DEVICE
// says why, and a new device attaches on the same medium.

import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, test, vi } from 'vitest';
import { attachWorkerVirtioBlk, type WorkerVirtioBlk } from '../../../src/virtio/worker-stack.js';
import { WorkerTransport } from '../../../src/virtio/transport/worker.js';
import { SharedMemoryBackend } from '../../../src/virtio/device/backends/shared-memory.js';
import { MemoryBackend } from '../../../src/virtio/device/backends/memory.js';
import { FileBackend } from '../../../src/virtio/device/backends/file.js';
import { GuestMemory } from '../../../src/virtio/guest-memory.js';
import { VIRTIO_BLK_S_OK, VIRTIO_BLK_T_FLUSH, VIRTIO_BLK_T_IN, VIRTIO_BLK_T_OUT } from '../../../src/virtio/blk-wire.js';
import { VIRTIO_CONFIG_S_NEEDS_RESET } from '../../../src/virtio/device-status.js';
import { VIRTIO_BLK_DRIVER_FEATURES } from '../../../src/virtio/blk-driver.js';
import { VIRTIO_BLK_F_MQ, VIRTIO_F_INDIRECT_DESC, featureMask } from '../../../src/virtio/blk-features.js';
import { VirtqAvail } from '../../../src/virtio/ring-layout.js';
import { createStack, type Stack } from '../../../src/stack.js';
import { AsyncCode } from '../../../src/cam/xpt/sim-api.js';
import { CamError } from '../../../src/cam/periph/errors.js';
import type { GuestRange } from '../../../src/virtio/guest-memory.js';
import { stamp } from '../../stack/helpers.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function workerBlk(backend: SharedMemoryBackend, queues = 1): Promise<WorkerVirtioBlk> {
  const v = await attachWorkerVirtioBlk({ backend, queues, queueSize: 64, memorySize: 8 << 20 });
  if (!('driver' in v)) throw new Error(v.reason);
  cleanups.push(async () => {
    await v.driver.close();
    await v.transport.close();
  });
  return v;
}

function alloc(v: WorkerVirtioBlk, len: number): GuestRange {
  const r = v.allocator.alloc(len);
  if (r === undefined) throw new Error('guest memory exhausted');
  return r;
}

describe('driver over transport worker', () => {
  test('writes land in the shared medium the main thread reads, and reads return what the main thread wrote', async () => {
    const backend = new SharedMemoryBackend({ blocks: 2048 });
    const v = await workerBlk(backend, 2);
    expect(v.driver.queueCount).toBe(2);
    const buf = alloc(v, 4096);
    for (let q = 0; q < 2; q++) {
      v.memory.bytes.fill(0x30 + q, buf.addr, buf.addr + 4096);
      const c = await v.driver.request({ type: VIRTIO_BLK_T_OUT, sector: BigInt(8 * q), data: [buf] }, q);
      expect(c).toEqual({ kind: 'done', status: VIRTIO_BLK_S_OK, len: 1 });
      const seen = new Uint8Array(4096);
      expect(await backend.read(4096 * q, seen)).toBe('ok');
      expect(seen.every((b) => b === 0x30 + q)).toBe(true);
    }
    const mine = new Uint8Array(4096).fill(0xc7);
    expect(await backend.write(512 * 1024, mine)).toBe('ok');
    const c = await v.driver.request({ type: VIRTIO_BLK_T_IN, sector: 1024n, data: [buf] }, 1);
    expect(c).toEqual({ kind: 'done', status: VIRTIO_BLK_S_OK, len: 4097 });
    expect(v.memory.bytes.subarray(buf.addr, buf.addr + 4096).every((b) => b === 0xc7)).toBe(true);
    // FLUSH goes through the worker's async path (a promise, the loop's waitAsync).
    expect(await v.driver.request({ type: VIRTIO_BLK_T_FLUSH })).toEqual({ kind: 'done', status: VIRTIO_BLK_S_OK, len: 1 });
  });

  test('a batch of 48 requests published at once costs one doorbell and one interrupt', async () => {
    const backend = new SharedMemoryBackend({ blocks: 2048 });
    const v = await workerBlk(backend);
    const bufs = Array.from({ length: 48 }, () => alloc(v, 512));
    const done: Promise<unknown>[] = [];
    const before = v.driver.stats.notifies;
    for (let i = 0; i < bufs.length; i++) {
      const buf = bufs[i] as GuestRange;
      done.push(new Promise((resolve) => {
        expect(v.driver.submit({ type: VIRTIO_BLK_T_IN, sector: BigInt(i), data: [buf] }, resolve)).toBe(true);
      }));
    }
    v.driver.kick();
    await Promise.all(done);
    expect(v.driver.stats.notifies - before).toBe(1);
    // The worker woke once, served all 48 in one pass and published them with one used.idx store. (It copies
    // its counters to the shared words after the pass: wait for the copy, then make sure no second one comes.)
    await vi.waitFor(() => {
      expect(v.device.interruptStats(0)?.interrupted).toBe(1);
    });
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(v.device.interruptStats(0)).toEqual({ interrupted: 1, suppressed: 0 });
  });

  test('a corrupt avail entry (head past the ring) makes the worker report DEVICE_NEEDS_RESET', async () => {
    const backend = new SharedMemoryBackend({ blocks: 2048 });
    const v = await workerBlk(backend);
    const buf = alloc(v, 512);
    expect((await v.driver.request({ type: VIRTIO_BLK_T_IN, sector: 0n, data: [buf] })).kind).toBe('done');
    const broken = new Promise<void>((resolve) => {
      v.driver.onConfigChange(() => {
        resolve();
      });
    });
    // The next avail slot gets head 999 (queue size 64), and avail.idx moves past it.
    const avail = ringAvail(v);
    const idx = v.memory.readU16(avail + VirtqAvail.idx) ?? 0;
    v.memory.writeU16(avail + VirtqAvail.ring + 2 * (idx % 64), 999);
    v.memory.writeU16(avail + VirtqAvail.idx, (idx + 1) & 0xffff);
    v.transport.notify(0);
    await broken;
    expect(v.device.getStatus() & VIRTIO_CONFIG_S_NEEDS_RESET).toBe(VIRTIO_CONFIG_S_NEEDS_RESET);
    expect(v.device.needsResetReason).toMatch(/queue 0: .*999/);
    // A reset brings it back.
    expect(await v.driver.restart()).toBeUndefined();
    expect((await v.driver.request({ type: VIRTIO_BLK_T_IN, sector: 0n, data: [buf] })).kind).toBe('done');
  });
});

/** Threads of this process (Linux: /proc/self/task), settled after workers had a moment to end. */
async function openWorkers(): Promise<number> {
  await new Promise((resolve) => setTimeout(resolve, 100));
  return (await readdir('/proc/self/task')).length;
}

/** Guest address of queue 0's available ring, read back from the device's queue registers. */
function ringAvail(v: WorkerVirtioBlk): number {
  const addrs = v.device.queueAddrs(0);
  if (addrs === undefined) throw new Error('queue 0 not set up');
  return addrs.avail;
}

describe('transport worker options', () => {
  test('refuses memory that is not shared, a backend no worker can open, and bad worker counts', async () => {
    const backend = new SharedMemoryBackend({ blocks: 64 });
    await expect(WorkerTransport.start({ device: { memory: GuestMemory.create(1 << 20), backend } })).rejects.toThrow(/SharedArrayBuffer/);
    await expect(WorkerTransport.start({ device: { memory: GuestMemory.create(1 << 20, true), backend: new MemoryBackend({ blocks: 64 }) } })).rejects.toThrow(
      /cannot be opened from a device worker: use SharedMemoryBackend or FileBackend/,
    );
    const memory = GuestMemory.create(1 << 20, true);
    await expect(WorkerTransport.start({ device: { memory, backend, numQueues: 2 }, workers: 3 })).rejects.toThrow(/workers must be an integer in 1\.\.2/);
    await expect(WorkerTransport.start({ device: { memory, backend }, workers: 0 })).rejects.toThrow(/workers must be/);
    await expect(WorkerTransport.start({ device: { memory, backend }, pollUs: -1 })).rejects.toThrow(/pollUs/);
    await expect(WorkerTransport.start({ device: { memory, backend }, hangTimeoutMs: 10 })).rejects.toThrow(/hangTimeoutMs must be 200\.\.2147483647, got 10/);
    // Checked every quarter of it: past Node's longest timer that check would run every millisecond.
    await expect(WorkerTransport.start({ device: { memory, backend }, hangTimeoutMs: 2 ** 33 })).rejects.toThrow(/hangTimeoutMs must be 200\.\.2147483647, got 8589934592/);
    await expect(WorkerTransport.start({ device: { memory, backend }, resetTimeoutMs: 2 ** 31 })).rejects.toThrow(/resetTimeoutMs must be a positive number of milliseconds up to 2147483647, got 2147483648/);
  });

  test('createStack on workers refuses a queue count the driver cannot use (no VIRTIO_BLK_F_MQ) and leaves no worker behind', async () => {
    const backend = new SharedMemoryBackend({ blocks: 64 });
    const features = VIRTIO_BLK_DRIVER_FEATURES & ~featureMask(VIRTIO_BLK_F_MQ);
    const before = await openWorkers();
    await expect(createStack({ backend, transport: 'worker', queues: 2, features })).rejects.toThrow('queues 2: the device offers 1 request queue(s)');
    expect(await openWorkers()).toBe(before);
  });

  test('options refused after the workers started (a ring size that is no power of two, a reserve the ring cannot spare) leave no worker behind', async () => {
    const backend = new SharedMemoryBackend({ blocks: 64 });
    const before = await openWorkers();
    await expect(createStack({ backend, transport: 'worker', queueSize: 100 })).rejects.toThrow(RangeError);
    const direct = VIRTIO_BLK_DRIVER_FEATURES & ~featureMask(VIRTIO_F_INDIRECT_DESC);
    await expect(createStack({ backend, transport: 'worker', queueSize: 16, reserve: 15, features: direct })).rejects.toThrow(
      'reserve 15 leaves 1 of the 16-descriptor ring; a one-segment request needs 3',
    );
    await expect(WorkerTransport.start({ device: { memory: GuestMemory.create(1 << 20, true), backend }, pollUs: 200_000, hangTimeoutMs: 400 })).rejects.toThrow(
      'pollUs 200000 must be at most a quarter of hangTimeoutMs (400 ms)',
    );
    expect(await openWorkers()).toBe(before);
  });

  test('createStack names the transports it has', async () => {
    const backend = new SharedMemoryBackend({ blocks: 64 });
    await expect(createStack({ backend, transport: 'vhost' as 'worker' })).rejects.toThrow("transport must be 'local' or 'worker', got 'vhost'");
  });
});

describe('the whole stack on transport worker', () => {
  async function stackOn(backend: SharedMemoryBackend | FileBackend, extra: { queues?: number; workers?: number } = {}): Promise<Stack> {
    const stack = await createStack({ backend, transport: 'worker', queueSize: 32, memorySize: 16 << 20, ...extra });
    cleanups.push(() => stack.close());
    return stack;
  }

  test('the file backend opened in the worker: da writes reach the image file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'vtcam-worker-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const path = join(dir, 'disk.img');
    const fb = await FileBackend.open(path, { create: { size: 1 << 20 } });
    if (!(fb instanceof FileBackend)) throw new Error(fb.message);
    const stack = await stackOn(fb, { queues: 2, workers: 2 });
    const data = new Uint8Array(8192).map((_, i) => (i * 7) & 0xff);
    await stack.da(0).write(10n, data);
    await stack.da(0).flush();
    expect(Buffer.from(await stack.da(0).read(10n, 16))).toEqual(Buffer.from(data));
    const onDisk = await readFile(path);
    expect(Buffer.from(onDisk.subarray(5120, 5120 + 8192))).toEqual(Buffer.from(data));
  });

  for (const fault of ['exit', 'hang'] as const) {
    test(`a worker that ${fault === 'exit' ? 'exits' : 'hangs'} under load: every CCB completes once, AC_LOST_DEVICE, a new device attaches`, async () => {
      const backend = new SharedMemoryBackend({ blocks: 8192 });
      const stack = await createStack({ backend, transport: 'worker', queues: 2, workers: 2, queueSize: 32, memorySize: 16 << 20, hangTimeoutMs: 400 });
      const lost: unknown[] = [];
      stack.xpt.onAsync(AsyncCode.LOST_DEVICE, undefined, (_code, _path, arg) => {
        lost.push(arg);
      });
      const da = stack.da(0);
      const stamp = new Uint8Array(512).fill(0x5e);
      await da.write(100n, stamp);
      const outcomes = new Map<number, string>();
      let settledTwice = 0;
      const ios = Array.from({ length: 200 }, (_, i) =>
        da.read(BigInt(i * 8), 8).then(
          () => 'ok',
          (e: unknown) => (e instanceof CamError ? e.message : String(e)),
        ).then((r) => {
          if (outcomes.has(i)) settledTwice++;
          outcomes.set(i, r);
        }),
      );
      const t = stack.virtio.transport;
      if (!(t instanceof WorkerTransport)) throw new Error('not a worker transport');
      const gone = new Promise<string>((resolve) => {
        t.onLost(resolve);
      });
      t.injectFault(1, fault);
      await Promise.all(ios);
      expect(await gone).toBe(t.lost());
      expect(settledTwice).toBe(0);
      expect(outcomes.size).toBe(200);
      const failed = [...outcomes.values()].filter((r) => r !== 'ok');
      for (const r of failed) expect(r).toMatch(/CAM_DEV_NOT_THERE|CAM_CMD_TIMEOUT/);
      expect(t.lost()).toMatch(fault === 'exit' ? /device worker 1 exited \(code 70\)/ : /device worker 1 hung \(no heartbeat for \d+ ms\)/);
      // The XPT reports the device it dropped (its CamDeviceInfo); the transport says why.
      expect(lost).toHaveLength(1);
      expect(lost[0]).toMatchObject({ path: { bus: 0, target: 0, lun: 0 } });
      // Still lost: new commands fail at once rather than wait.
      await expect(da.read(0n, 1)).rejects.toThrow(/CAM_DEV_NOT_THERE/);
      await stack.close();
      // The medium survives its device: a new stack (new workers) on it reads what was written.
      const again = await stackOn(backend);
      expect((await again.da(0).read(100n, 1)).every((b) => b === 0x5e)).toBe(true);
    }, 20_000);
  }

  test('XPT_RESET_DEV under load on 2 queues in 2 workers: the workers stop and start again, every command completes once, data intact', async () => {
    const backend = new SharedMemoryBackend({ blocks: 8192 });
    const stack = await stackOn(backend, { queues: 2, workers: 2 });
    const da = stack.da(0);
    const uas: [number, number, number][] = [];
    da.onUnitAttention((s) => uas.push([s.key, s.asc, s.ascq]));
    let settled = 0;
    const ios = Array.from({ length: 300 }, (_, i) => {
      const lba = BigInt(i * 8);
      const data = stamp(i * 8, 8, 512, i);
      return da.write(lba, data).then(async () => {
        settled++;
        expect(await da.read(lba, 8)).toEqual(data);
      });
    });
    const reset = stack.pass(0).resetDevice();
    await Promise.all([reset, ...ios]);
    expect(settled).toBe(300);
    // One unit attention for the reset (29h/03h: LOGICAL UNIT RESET), seen by da once.
    expect(uas).toEqual([[0x06, 0x29, 0x03]]);
    const t = stack.virtio.transport;
    if (!(t instanceof WorkerTransport)) throw new Error('not a worker transport');
    expect(t.lost()).toBeUndefined();
    expect(stack.stats(0)).toMatchObject({ active: 0, queued: 0, frozen: 0 });
  });

  test('a device reset while a FLUSH runs at the file backend in the worker: the worker stays, the device comes back', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'vtcam-worker-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const fb = await FileBackend.open(join(dir, 'disk.img'), { create: { size: 8 << 20 } });
    if (!(fb instanceof FileBackend)) throw new Error(fb.message);
    const v = await attachWorkerVirtioBlk({ backend: fb, queueSize: 64, memorySize: 8 << 20 });
    if (!('driver' in v)) throw new Error(v.reason);
    cleanups.push(async () => {
      await v.driver.close();
      await v.transport.close();
      await fb.close();
    });
    const buf = alloc(v, 1 << 20);
    v.memory.bytes.fill(0x42, buf.addr, buf.addr + buf.len);
    for (let round = 0; round < 4; round++) {
      expect((await v.driver.request({ type: VIRTIO_BLK_T_OUT, sector: BigInt(round * 2048), data: [buf] })).kind).toBe('done');
      // The FLUSH's fdatasync is still running in the worker when the reset stops its queues.
      const flushed = v.driver.request({ type: VIRTIO_BLK_T_FLUSH });
      await new Promise((resolve) => setImmediate(resolve));
      expect(await v.driver.restart()).toBeUndefined();
      // The FLUSH either finished before the reset stopped the queue or was aborted by it; never left hanging.
      const f = await flushed;
      expect(f.kind === 'done' ? f.status : f.reason).toBe(f.kind === 'done' ? VIRTIO_BLK_S_OK : 'device reset');
      expect(v.transport.lost()).toBeUndefined();
    }
    // The worker outlives the idle time after the reset (one whose event loop ran dry would have ended).
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(v.transport.lost()).toBeUndefined();
    expect(await v.driver.request({ type: VIRTIO_BLK_T_IN, sector: 0n, data: [buf] })).toEqual({ kind: 'done', status: VIRTIO_BLK_S_OK, len: (1 << 20) + 1 });
  });

  test('an interrupt handler that throws does not stop that queue\'s later interrupts', async () => {
    const backend = new SharedMemoryBackend({ blocks: 2048 });
    const v = await workerBlk(backend);
    const buf = alloc(v, 512);
    const swallowed: unknown[] = [];
    const onRejection = (e: unknown): void => {
      swallowed.push(e);
    };
    process.on('unhandledRejection', onRejection);
    cleanups.push(() => {
      process.off('unhandledRejection', onRejection);
      return Promise.resolve();
    });
    await new Promise<void>((resolve) => {
      v.driver.submit({ type: VIRTIO_BLK_T_IN, sector: 0n, data: [buf] }, () => {
        resolve();
        throw new Error('a completion callback bug');
      });
      v.driver.kick();
    });
    const c = await Promise.race([
      v.driver.request({ type: VIRTIO_BLK_T_IN, sector: 1n, data: [buf] }),
      new Promise((resolve) => setTimeout(() => { resolve('no answer within 2 s'); }, 2000)),
    ]);
    expect(c).toEqual({ kind: 'done', status: VIRTIO_BLK_S_OK, len: 513 });
  });

  test('close() ends every device worker thread', async () => {
    const stack = await createStack({ backend: new SharedMemoryBackend({ blocks: 256 }), transport: 'worker', queues: 2, workers: 2, queueSize: 32, memorySize: 16 << 20 });
    const t = stack.virtio.transport;
    if (!(t instanceof WorkerTransport)) throw new Error('not a worker transport');
    const exits = t.threads.map((w) => new Promise<number>((resolve) => w.once('exit', resolve)));
    await stack.da(0).read(0n, 1);
    await stack.close();
    expect(await Promise.all(exits)).toEqual([0, 0]);
  });
});
