// Transport `local`: the doorbell schedules the device on a later turn
// (setImmediate) instead of running it inside the driver's kick, so the driver
// sees its completions the way it would from a device of its own.

import { expect, test } from 'vitest';
import { stack } from '../harness.js';
import { MemoryBackend } from '../../../src/virtio/device/backends/memory.js';
import { VIRTIO_BLK_T_IN } from '../../../src/virtio/blk-wire.js';
import { VirtioBlkDriver } from '../../../src/virtio/blk-driver.js';
import type { BlkCompletion } from '../../../src/virtio/blk-request.js';
import { VirtioBlkDevice } from '../../../src/virtio/device/blk-device.js';
import { GuestMemory } from '../../../src/virtio/guest-memory.js';
import { GuestAllocator } from '../../../src/virtio/guest-allocator.js';
import { LocalTransport } from '../../../src/virtio/transport/local.js';

test('a kick does not run the device: used.idx and the completion wait for the next turn', async () => {
  // A backend that completes at once (readSync): a device run inside the kick would answer before kick() returns.
  const s = await stack({ backend: new MemoryBackend({ blocks: 64 }) });
  const addrs = s.dev.queueAddrs(0);
  const buf = s.alloc.alloc(512, 512);
  if (addrs === undefined || buf === undefined) throw new Error('rig setup failed');
  // used.idx: le16 at offset 2 of the used ring (VIRTIO 1.2 §2.7.8), read as raw bytes.
  const usedIdx = (): number => new DataView(s.mem.buffer, addrs.used).getUint16(2, true);
  const done: BlkCompletion[] = [];
  expect(s.driver.submit({ type: VIRTIO_BLK_T_IN, sector: 0n, data: [buf] }, (c) => done.push(c))).toBe(true);
  s.driver.kick();

  expect([usedIdx(), done.length, s.transport.doorbells]).toEqual([0, 0, 0]);
  // Not on a microtask either: a whole turn.
  for (let i = 0; i < 10; i++) await Promise.resolve();
  expect([usedIdx(), done.length, s.transport.doorbells]).toEqual([0, 0, 0]);

  await new Promise((resolve) => setImmediate(resolve));
  expect([usedIdx(), s.transport.doorbells]).toEqual([1, 1]);
  expect(done).toEqual([{ kind: 'done', status: 0, len: 513 }]);
  await s.driver.close();
});

test('a reset the backend holds past resetTimeoutMs loses the device; a reset it does not hold leaves no timer behind', async () => {
  const inner = new MemoryBackend({ blocks: 64 });
  let hang = false;
  let hung = 0;
  // No readSync: every read goes through the promise, which hangs on demand.
  const backend = {
    size: inner.size,
    readOnly: false,
    read: (offset: number, dst: Uint8Array) => {
      if (!hang) return inner.read(offset, dst);
      hung++;
      return new Promise<never>(() => undefined);
    },
    write: (offset: number, src: Uint8Array) => inner.write(offset, src),
    flush: () => inner.flush(),
    discard: (offset: number, length: number) => inner.discard(offset, length),
    writeZeroes: (offset: number, length: number, unmap: boolean) => inner.writeZeroes(offset, length, unmap),
    close: () => inner.close(),
  };
  const memory = GuestMemory.create(1 << 20);
  const allocator = new GuestAllocator(0, memory.size);
  const transport = new LocalTransport(new VirtioBlkDevice({ memory, backend }), { resetTimeoutMs: 40 });
  const driver = await VirtioBlkDriver.attach({ transport, allocator, queueSize: 8 });
  if (!(driver instanceof VirtioBlkDriver)) throw new Error(driver.reason);
  const buf = allocator.alloc(512, 512);
  if (buf === undefined) throw new Error('no guest memory');

  // A reset with nothing outstanding: done at once, and its timer does not fire later.
  expect(await driver.restart()).toBeUndefined();
  await new Promise((resolve) => setTimeout(resolve, 80));
  expect(transport.lost()).toBeUndefined();

  hang = true;
  const got = driver.request({ type: VIRTIO_BLK_T_IN, sector: 0n, data: [buf] });
  while (hung === 0) await new Promise((resolve) => setImmediate(resolve));
  const t0 = Date.now();
  expect(await driver.restart()).toEqual({ ok: false, reason: 'device reset still waiting for backend I/O after 40 ms' });
  expect(Date.now() - t0).toBeGreaterThanOrEqual(35);
  expect(await got).toEqual({ kind: 'aborted', reason: 'device reset' });
  expect(driver.broken).toBe('device reset still waiting for backend I/O after 40 ms');
  // Lost for good: resets return at once, and the doorbell reaches nothing.
  const t1 = Date.now();
  await transport.reset();
  expect(Date.now() - t1).toBeLessThan(35);
  const doorbells = transport.doorbells;
  transport.notify(0);
  await new Promise((resolve) => setImmediate(resolve));
  expect(transport.doorbells).toBe(doorbells);
});

test('resetTimeoutMs must be a positive number', () => {
  const dev = new VirtioBlkDevice({ memory: GuestMemory.create(1 << 16), backend: new MemoryBackend({ blocks: 8 }) });
  for (const bad of [0, -5, Number.NaN, 2 ** 31, Number.POSITIVE_INFINITY]) expect(() => new LocalTransport(dev, { resetTimeoutMs: bad })).toThrow(new RangeError(`resetTimeoutMs must be a positive number of milliseconds up to 2147483647, got ${bad}`));
});
