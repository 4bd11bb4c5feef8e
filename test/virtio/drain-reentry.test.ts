// The driver's completion list (blk-queue.ts collectUsed, blk-completion.ts completeList, run by blk-driver.ts #drain)
// when a completion callback re-enters: it submits, runs the device synchronously and so triggers a nested
// interrupt (a nested #drain of the same queue) while the outer drain still holds the rest of its list.
// Every request must complete exactly once with its own status and data.
import { describe, expect, test } from 'vitest';
import { GuestMemory } from '../../src/virtio/guest-memory.js';
import { GuestAllocator } from '../../src/virtio/guest-allocator.js';
import { VirtioBlkDevice } from '../../src/virtio/device/blk-device.js';
import { MemoryBackend } from '../../src/virtio/device/backends/memory.js';
import { LocalTransport } from '../../src/virtio/transport/local.js';
import type { VirtioInterrupt } from '../../src/virtio/transport/transport.js';
import { VirtioBlkDriver, VIRTIO_BLK_DRIVER_FEATURES } from '../../src/virtio/blk-driver.js';
import { VIRTIO_BLK_T_IN, VIRTIO_BLK_T_OUT, VIRTIO_BLK_S_OK } from '../../src/virtio/blk-wire.js';
import { VIRTIO_F_EVENT_IDX, featureMask } from '../../src/virtio/blk-features.js';
import type { BlkCompletion } from '../../src/virtio/blk-request.js';

async function setup(eventIdx: boolean) {
  const mem = GuestMemory.create(1 << 22, false);
  const alloc = new GuestAllocator(0, mem.size);
  const backend = new MemoryBackend({ blocks: 4096 });
  const dev = new VirtioBlkDevice({ memory: mem, backend });
  let driverIrq: ((irq: VirtioInterrupt) => void) | undefined;
  const nest = { now: 0, max: 0 };
  const orig = dev.setInterruptHandler.bind(dev);
  dev.setInterruptHandler = (fn) => {
    driverIrq = fn;
    orig((irq) => {
      nest.now++;
      nest.max = Math.max(nest.max, nest.now);
      try { driverIrq?.(irq); } finally { nest.now--; }
    });
  };
  const transport = new LocalTransport(dev);
  const features = eventIdx ? VIRTIO_BLK_DRIVER_FEATURES : VIRTIO_BLK_DRIVER_FEATURES & ~featureMask(VIRTIO_F_EVENT_IDX);
  const driver = await VirtioBlkDriver.attach({ transport, allocator: alloc, queueSize: 8, features });
  if (!(driver instanceof VirtioBlkDriver)) throw new Error('attach failed');
  return { mem, alloc, dev, driver, backend, nest };
}

describe('review: nested drain from a completion callback', () => {
  test.each([false, true])('eventIdx %s', async (eventIdx) => {
    const { mem, alloc, dev, driver, backend, nest } = await setup(eventIdx);
    // Fill the disk: sector s holds byte s & 0xff.
    for (let s = 0; s < 64; s++) await backend.write(s * 512, new Uint8Array(512).fill(s & 0xff));
    const calls = new Map<number, BlkCompletion[]>();
    const bufs = new Map<number, { addr: number; sector: number }>();
    let nextId = 0;
    let depth = 0;
    const read = (sector: number, onDone?: () => void): number => {
      const id = nextId++;
      const b = alloc.alloc(512, 512);
      if (b === undefined) throw new Error('oom');
      bufs.set(id, { addr: b.addr, sector });
      calls.set(id, []);
      const ok = driver.submit({ type: VIRTIO_BLK_T_IN, sector: BigInt(sector), data: [{ addr: b.addr, len: 512 }] }, (c) => {
        calls.get(id)?.push(c);
        onDone?.();
      });
      if (!ok) throw new Error('ring full');
      return id;
    };
    // Re-entry: submit two more, make the device run them now (nested interrupt → nested #drain).
    const reenter = (): void => {
      if (depth >= 3) return;
      depth++;
      read(40 + depth, reenter);
      read(50 + depth);
      driver.kick();
      dev.notify(0);
      depth--;
    };
    read(1, reenter);
    read(2);
    read(3, reenter);
    read(4);
    driver.kick();
    for (let i = 0; i < 20 && [...calls.values()].some((c) => c.length === 0); i++) await new Promise((r) => setImmediate(r));
    for (const [id, cs] of calls) {
      expect(cs.length, `request ${id}`).toBe(1);
      const c = cs[0] as BlkCompletion;
      expect(c.kind === 'done' && c.status === VIRTIO_BLK_S_OK, `request ${id} ${JSON.stringify(c)}`).toBe(true);
      const { addr, sector } = bufs.get(id) as { addr: number; sector: number };
      expect(mem.view(addr, 512)?.[0], `request ${id} data`).toBe(sector & 0xff);
    }
    expect(calls.size).toBeGreaterThan(6);
    expect(driver.inFlight()).toBe(0);
    expect(nest.max, 'nested interrupts happened').toBeGreaterThanOrEqual(3);
    // Writes still work afterwards.
    const w = alloc.alloc(512, 512);
    if (w === undefined) throw new Error('oom');
    mem.view(w.addr, 512)?.fill(0xab);
    const c = await driver.request({ type: VIRTIO_BLK_T_OUT, sector: 7n, data: [{ addr: w.addr, len: 512 }] });
    expect(c).toEqual({ kind: 'done', status: VIRTIO_BLK_S_OK, len: 1 });
  });
});
