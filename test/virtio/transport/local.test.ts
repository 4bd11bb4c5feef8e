// Transport `local`: the doorbell schedules the device on a later turn
// (setImmediate) instead of running it inside the driver's kick, so the driver
// sees its completions the way it would from a device of its own.

import { expect, test } from 'vitest';
import { stack } from '../harness.js';
import { MemoryBackend } from '../../../src/virtio/device/backends/memory.js';
import { VIRTIO_BLK_T_IN } from '../../../src/virtio/blk-wire.js';
import type { BlkCompletion } from '../../../src/virtio/blk-driver.js';

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
