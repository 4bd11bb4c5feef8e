// Transport `worker` on a slow medium: a device worker blocked in a backend
// call (pread on a throttled or network disk) is waiting, not hung. The
// command completes however long the medium takes, as on transport local; only
// a device reset still waiting for it after resetTimeoutMs gives the device up,
// as local's reset does. A worker spinning outside a backend call is still
// hung (the 'hang' fault in worker.test.ts). The slow medium is the
// slowBackendMs fault: the worker's next blocking call waits inside it.

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { attachWorkerVirtioBlk } from '../../../src/virtio/worker-stack.js';
import { WorkerTransport } from '../../../src/virtio/transport/worker.js';
import { SharedMemoryBackend } from '../../../src/virtio/device/backends/shared-memory.js';
import { FileBackend } from '../../../src/virtio/device/backends/file.js';
import { VIRTIO_BLK_S_OK, VIRTIO_BLK_T_IN } from '../../../src/virtio/blk-wire.js';
import { createStack } from '../../../src/stack.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A worker-transport virtio-blk device (reset bound 300 ms, closed after the test) and a 512-byte guest buffer. */
async function attached(opts: { hangTimeoutMs?: number }) {
  const v = await attachWorkerVirtioBlk({ backend: new SharedMemoryBackend({ blocks: 2048 }), queueSize: 64, memorySize: 8 << 20, ...opts, resetTimeoutMs: 300 });
  if (!('driver' in v)) throw new Error(v.reason);
  cleanups.push(async () => {
    await v.driver.close();
    await v.transport.close();
  });
  const buf = v.allocator.alloc(512);
  if (buf === undefined) throw new Error('guest memory exhausted');
  return { v, buf };
}

/**
 * Makes worker 0's next blocking backend call take `ms` longer. Control messages take effect between
 * ring passes (worker-device.ts): the wait lets one that is running end, so the next request gets the fault.
 */
async function slowNextCall(t: WorkerTransport, ms: number): Promise<void> {
  t.injectFault(0, { slowBackendMs: ms });
  await new Promise((resolve) => setTimeout(resolve, 100));
}

describe('a device worker blocked in a backend call', () => {
  test('a pread longer than hangTimeoutMs is no hang: the READ completes GOOD and the device stays', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'vtcam-worker-slow-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const fb = await FileBackend.open(join(dir, 'disk.img'), { create: { size: 1 << 20 } });
    if (!(fb instanceof FileBackend)) throw new Error(fb.message);
    const stack = await createStack({ backend: fb, transport: 'worker', queueSize: 32, memorySize: 16 << 20, hangTimeoutMs: 400 });
    cleanups.push(() => stack.close());
    const t = stack.virtio.transport;
    if (!(t instanceof WorkerTransport)) throw new Error('not a worker transport');
    const data = new Uint8Array(4096).map((_, i) => (i * 13) & 0xff);
    await stack.da(0).write(8n, data);
    // Four times the watchdog's patience, spent in one call.
    await slowNextCall(t, 1600);
    const started = Date.now();
    expect(Buffer.from(await stack.da(0).read(8n, 8))).toEqual(Buffer.from(data));
    expect(Date.now() - started).toBeGreaterThanOrEqual(1500);
    expect(t.lost()).toBeUndefined();
    // The watchdog still sees a live worker once the call has returned.
    await new Promise((resolve) => setTimeout(resolve, 600));
    expect(t.lost()).toBeUndefined();
    expect(Buffer.from(await stack.da(0).read(8n, 8))).toEqual(Buffer.from(data));
  }, 10_000);

  test('a device reset still waiting on the call after resetTimeoutMs loses the device, as on transport local', async () => {
    const { v, buf } = await attached({});
    const lostWith = new Promise<string>((resolve) => {
      v.transport.onLost(resolve);
    });
    await slowNextCall(v.transport, 5000);
    const read = v.driver.request({ type: VIRTIO_BLK_T_IN, sector: 0n, data: [buf] });
    // Under the default hangTimeoutMs (5000): only the reset's bound can end this.
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(v.transport.lost()).toBeUndefined();
    const started = Date.now();
    const restarted = await v.driver.restart();
    expect(Date.now() - started).toBeLessThan(2000);
    const why = /^device reset still waiting for backend I\/O after 300 ms \(device worker 0, in a backend call for \d+ ms\)$/;
    expect(restarted).toMatchObject({ ok: false, reason: expect.stringMatching(why) as unknown });
    expect(v.transport.lost()).toMatch(why);
    expect(await lostWith).toBe(v.transport.lost());
    expect(await read).toMatchObject({ kind: 'aborted' });
  }, 10_000);

  test('createStack hands its resetTimeoutMs to transport worker: a reset stuck on a blocking call gives up after it', async () => {
    const stack = await createStack({ backend: new SharedMemoryBackend({ blocks: 2048 }), transport: 'worker', queueSize: 32, memorySize: 8 << 20, resetTimeoutMs: 250 });
    cleanups.push(() => stack.close());
    const t = stack.virtio.transport;
    if (!(t instanceof WorkerTransport)) throw new Error('not a worker transport');
    const buf = stack.virtio.allocator.alloc(512);
    if (buf === undefined) throw new Error('guest memory exhausted');
    await slowNextCall(t, 5000);
    const read = stack.virtio.driver.request({ type: VIRTIO_BLK_T_IN, sector: 0n, data: [buf] });
    await new Promise((resolve) => setTimeout(resolve, 200));
    const restarted = await stack.virtio.driver.restart();
    expect(restarted).toMatchObject({ ok: false, reason: expect.stringMatching(/^device reset still waiting for backend I\/O after 250 ms /) as unknown });
    expect(await read).toMatchObject({ kind: 'aborted' });
  }, 10_000);

  test.each([0, -5, Number.NaN])('resetTimeoutMs %s is a RangeError, as on transport local', async (bad) => {
    await expect(createStack({ backend: new SharedMemoryBackend({ blocks: 64 }), transport: 'worker', resetTimeoutMs: bad })).rejects.toThrow(
      new RangeError(`resetTimeoutMs must be a positive number of milliseconds up to 2147483647, got ${bad}`),
    );
  });

  test('without a reset, a call far longer than hangTimeoutMs still completes', async () => {
    const { v, buf } = await attached({ hangTimeoutMs: 200 });
    await slowNextCall(v.transport, 1200);
    const started = Date.now();
    expect(await v.driver.request({ type: VIRTIO_BLK_T_IN, sector: 0n, data: [buf] })).toEqual({ kind: 'done', status: VIRTIO_BLK_S_OK, len: 513 });
    expect(Date.now() - started).toBeGreaterThanOrEqual(1100);
    expect(v.transport.lost()).toBeUndefined();
  }, 10_000);
});
