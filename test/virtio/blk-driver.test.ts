// The virtio-blk driver over the local transport: initialization (§3.1.1),
// descriptor accounting, batching, waiting for room, reset, and the device
// misbehaving.

import { describe, expect, test } from 'vitest';
import { stack, until } from './harness.js';
import { GuestMemory } from '../../src/virtio/guest-memory.js';
import { GuestAllocator } from '../../src/virtio/guest-allocator.js';
import { VirtioBlkDevice } from '../../src/virtio/device/blk-device.js';
import { MemoryBackend } from '../../src/virtio/device/backends/memory.js';
import { FaultyBackend } from '../../src/virtio/device/backends/faulty.js';
import { LocalTransport } from '../../src/virtio/transport/local.js';
import type { VirtioInterrupt } from '../../src/virtio/transport/transport.js';
import type { BlockBackend } from '../../src/virtio/device/backend.js';
import { VIRTIO_BLK_DRIVER_FEATURES, VirtioBlkDriver } from '../../src/virtio/blk-driver.js';
import type { BlkCompletion, BlkRequest } from '../../src/virtio/blk-request.js';
import { VIRTIO_BLK_T_DISCARD, VIRTIO_BLK_T_FLUSH, VIRTIO_BLK_T_GET_ID, VIRTIO_BLK_T_IN, VIRTIO_BLK_T_OUT, VIRTIO_BLK_T_WRITE_ZEROES } from '../../src/virtio/blk-wire.js';
import { VIRTIO_F_EVENT_IDX, VIRTIO_F_INDIRECT_DESC, VIRTIO_F_VERSION_1, featureMask } from '../../src/virtio/blk-features.js';

const OK: BlkCompletion = { kind: 'done', status: 0, len: 1 };

/** A local transport that can refuse FEATURES_OK and lets tests raise interrupts. */
class SpyTransport extends LocalTransport {
  refuseFeaturesOk = false;
  handler: ((irq: VirtioInterrupt) => void) | undefined;
  override setStatus(status: number): void {
    super.setStatus(this.refuseFeaturesOk ? status & ~8 : status);
  }
  override onInterrupt(handler: (irq: VirtioInterrupt) => void): void {
    this.handler = handler;
    super.onInterrupt(handler);
  }
}

/**
 * A local transport that catches what the driver's interrupt handler throws
 * (where a real transport would crash), lets tests raise interrupts, and can
 * make config reads show another seg_max.
 */
class CatchingTransport extends LocalTransport {
  readonly errors: unknown[] = [];
  handler: ((irq: VirtioInterrupt) => void) | undefined;
  segMax: number | undefined;
  override onInterrupt(handler: (irq: VirtioInterrupt) => void): void {
    this.handler = (irq) => {
      try {
        handler(irq);
      } catch (e) {
        this.errors.push(e);
      }
    };
    super.onInterrupt(this.handler);
  }
  override readConfig(offset: number, len: number): Uint8Array {
    const bytes = super.readConfig(offset, len);
    // seg_max: le32 at byte 12 of struct virtio_blk_config (VIRTIO 1.2 §5.2.4).
    if (this.segMax !== undefined && offset <= 12 && offset + len >= 16) new DataView(bytes.buffer, bytes.byteOffset).setUint32(12 - offset, this.segMax, true);
    return bytes;
  }
}

async function catching(backend: BlockBackend, queueSize: number, segMax?: number) {
  const mem = GuestMemory.create(1 << 22);
  const alloc = new GuestAllocator(0, mem.size);
  const transport = new CatchingTransport(new VirtioBlkDevice({ memory: mem, backend, ...(segMax === undefined ? {} : { segMax }) }));
  const driver = await VirtioBlkDriver.attach({ transport, allocator: alloc, queueSize });
  if (!(driver instanceof VirtioBlkDriver)) throw new Error(driver.reason);
  return { alloc, transport, driver };
}

function spy(backend: BlockBackend = new MemoryBackend({ blocks: 256 })) {
  const mem = GuestMemory.create(1 << 22);
  const alloc = new GuestAllocator(0, mem.size);
  const dev = new VirtioBlkDevice({ memory: mem, backend });
  return { mem, alloc, dev, transport: new SpyTransport(dev) };
}

describe('initialization', () => {
  test('negotiates the intersection and reads the config space', async () => {
    const s = await stack({ backend: new MemoryBackend({ blocks: 1000 }), driver: { features: featureMask(VIRTIO_F_VERSION_1, VIRTIO_F_EVENT_IDX) } });
    expect(s.driver.features).toBe(featureMask(VIRTIO_F_VERSION_1, VIRTIO_F_EVENT_IDX));
    expect(s.driver.config.capacity).toBe(1000n);
    expect(s.dev.getStatus()).toBe(1 | 2 | 4 | 8);
  });

  test('a driver that will not speak VERSION_1 fails with a reason, device marked FAILED', async () => {
    const { alloc, transport } = spy();
    const d = await VirtioBlkDriver.attach({ transport, allocator: alloc, features: featureMask(VIRTIO_F_EVENT_IDX) });
    expect(d).toMatchObject({ ok: false, reason: expect.stringMatching(/VERSION_1/) as unknown });
    expect(transport.getStatus() & 128).toBe(128);
  });

  test('a device that clears FEATURES_OK is refused', async () => {
    const { alloc, transport } = spy();
    transport.refuseFeaturesOk = true;
    const d = await VirtioBlkDriver.attach({ transport, allocator: alloc });
    expect(d).toMatchObject({ ok: false, reason: expect.stringMatching(/FEATURES_OK/) as unknown });
  });

  test('guest memory too small for the rings is an error value, and nothing leaks', async () => {
    const mem = GuestMemory.create(4096);
    const alloc = new GuestAllocator(0, mem.size);
    const dev = new VirtioBlkDevice({ memory: mem, backend: new MemoryBackend({ blocks: 8 }) });
    const d = await VirtioBlkDriver.attach({ transport: new LocalTransport(dev), allocator: alloc, queueSize: 256 });
    expect(d).toMatchObject({ ok: false, reason: expect.stringMatching(/too small/) as unknown });
    expect(alloc.liveCount).toBe(0);
  });

  test('queue size is capped by the device maximum', async () => {
    const s = await stack({ device: { queueMaxSize: 64 }, driver: { queueSize: 1024 } });
    expect(s.driver.queueSize()).toBe(64);
  });
});

describe('descriptor accounting', () => {
  test('direct: 2 + data buffers per request; indirect: 1', async () => {
    const direct = await stack({ driver: { queueSize: 16, features: VIRTIO_BLK_DRIVER_FEATURES & ~featureMask(VIRTIO_F_INDIRECT_DESC) } });
    expect(direct.driver.descriptorCost(3)).toBe(5);
    expect(direct.driver.fits(3)).toBe(3);
    expect(direct.driver.fits(0)).toBe(8);
    const indirect = await stack({ driver: { queueSize: 16 } });
    expect(indirect.driver.descriptorCost(3)).toBe(1);
    expect(indirect.driver.fits(3)).toBe(16);
  });

  test('a request with more data buffers than seg_max or the ring allows is a caller bug', async () => {
    const s = await stack({ device: { segMax: 4 }, driver: { queueSize: 16 } });
    expect(s.driver.maxDataBuffers()).toBe(4);
    const b = s.alloc.alloc(512 * 5) as { addr: number; len: number };
    const five = Array.from({ length: 5 }, (_, i) => ({ addr: b.addr + i * 512, len: 512 }));
    expect(() => s.driver.submit({ type: VIRTIO_BLK_T_IN, sector: 0n, data: five }, () => undefined)).toThrow(/at most 4/);
    expect(s.driver.inFlight()).toBe(0);
    const small = await stack({ device: { segMax: 126 }, driver: { queueSize: 4 } });
    expect(small.driver.maxDataBuffers()).toBe(2);
    expect(await small.driver.request({ type: VIRTIO_BLK_T_IN, sector: 0n, data: five.slice(0, 2) })).toEqual({ kind: 'done', status: 0, len: 1025 });
  });

  test('submit on a full ring returns false, enqueues nothing and never calls back', async () => {
    const backend = new FaultyBackend(new MemoryBackend({ blocks: 64 }));
    const s = await stack({ backend, driver: { queueSize: 4, features: VIRTIO_BLK_DRIVER_FEATURES & ~featureMask(VIRTIO_F_INDIRECT_DESC) } });
    const buf = s.alloc.alloc(512) as { addr: number; len: number };
    const calls: BlkCompletion[] = [];
    expect(s.driver.submit({ type: VIRTIO_BLK_T_IN, sector: 0n, data: [buf] }, (c) => calls.push(c))).toBe(true);
    expect(s.driver.fits(1)).toBe(0);
    expect(s.driver.submit({ type: VIRTIO_BLK_T_IN, sector: 0n, data: [buf] }, (c) => calls.push(c))).toBe(false);
    expect(s.driver.inFlight()).toBe(1);
    s.driver.kick();
    await until(() => calls.length === 1);
    await new Promise((r) => setTimeout(r, 10));
    expect(calls).toEqual([{ kind: 'done', status: 0, len: 513 }]);
  });

  test('a submit that throws takes nothing: no ring slot, no segment memory, however often it is called', async () => {
    const s = await stack({ device: { segMax: 2 }, driver: { queueSize: 4 } });
    const buf = s.alloc.alloc(512) as { addr: number; len: number };
    const outside = { addr: s.mem.size - 256, len: 512 };
    const seg = { sector: 0n, numSectors: 1, unmap: false };
    const bad: [string, BlkRequest][] = [
      ['GET_ID buffer under 20 bytes', { type: VIRTIO_BLK_T_GET_ID, data: { addr: buf.addr, len: 8 } }],
      ['GET_ID buffer outside guest memory', { type: VIRTIO_BLK_T_GET_ID, data: outside }],
      ['sector -1', { type: VIRTIO_BLK_T_IN, sector: -1n, data: [buf] }],
      ['sector 2^64', { type: VIRTIO_BLK_T_OUT, sector: 1n << 64n, data: [buf] }],
      ['data buffer outside guest memory', { type: VIRTIO_BLK_T_IN, sector: 0n, data: [buf, outside] }],
      ['more data buffers than seg_max', { type: VIRTIO_BLK_T_IN, sector: 0n, data: [buf, buf, buf] }],
      ['DISCARD without segments', { type: VIRTIO_BLK_T_DISCARD, segments: [] }],
      ['DISCARD num_sectors -1', { type: VIRTIO_BLK_T_DISCARD, segments: [seg, { ...seg, numSectors: -1 }] }],
      ['WRITE_ZEROES sector 2^64', { type: VIRTIO_BLK_T_WRITE_ZEROES, segments: [{ ...seg, sector: 1n << 64n }] }],
      // A JavaScript caller's request of no type virtio-blk defines would otherwise wait for room for ever.
      ['type 99', { type: 99, sector: 0n, data: [buf] } as unknown as BlkRequest],
    ];
    const fits = s.driver.fits(1);
    const live = s.alloc.liveCount;
    expect(fits).toBe(4);
    for (const [name, req] of bad) {
      // More calls than the ring has slots: a leak of one slot per call would leave none.
      for (let i = 0; i < 5; i++) expect(() => s.driver.submit(req, () => undefined), name).toThrow(RangeError);
      expect(s.driver.fits(1), name).toBe(fits);
      expect(s.alloc.liveCount, name).toBe(live);
    }
    expect(s.driver.inFlight()).toBe(0);
    const ok = await Promise.all(Array.from({ length: 5 }, (_, i) => s.driver.request({ type: VIRTIO_BLK_T_IN, sector: BigInt(i), data: [buf] })));
    expect(ok).toEqual(Array(5).fill({ kind: 'done', status: 0, len: 513 }));
  });
});

describe('batching and notification suppression', () => {
  test('a batch of requests costs one publish and one doorbell; interrupts are coalesced', async () => {
    const s = await stack({ driver: { queueSize: 128 } });
    const buf = s.alloc.alloc(4096) as { addr: number; len: number };
    const all = await Promise.all(Array.from({ length: 100 }, (_, i) => s.driver.request({ type: VIRTIO_BLK_T_IN, sector: BigInt(i * 8), data: [buf] })));
    expect(all.every((c) => c.kind === 'done' && c.status === 0)).toBe(true);
    expect(s.driver.stats.notifies).toBe(1);
    expect(s.transport.doorbells).toBe(1);
    const irq = s.dev.interruptStats(0);
    expect(irq?.interrupted).toBe(1);
  });

  test('with EVENT_IDX, each batch published after the device went idle rings exactly once', async () => {
    const backend = new FaultyBackend(new MemoryBackend({ blocks: 64 }));
    const s = await stack({ backend, driver: { queueSize: 64 } });
    const buf = s.alloc.alloc(512) as { addr: number; len: number };
    backend.stall();
    const first = Promise.all(Array.from({ length: 4 }, () => s.driver.request({ type: VIRTIO_BLK_T_IN, sector: 0n, data: [buf] })));
    await until(() => backend.stalledCount === 4);
    const second = Promise.all(Array.from({ length: 4 }, () => s.driver.request({ type: VIRTIO_BLK_T_IN, sector: 0n, data: [buf] })));
    await until(() => backend.stalledCount === 8);
    expect(s.driver.stats.notifies).toBe(2);
    backend.release();
    await Promise.all([first, second]);
    expect(s.transport.doorbells).toBe(2);
  });
});

describe('waiting for room', () => {
  test('requests beyond the ring wait and are admitted in FIFO order', async () => {
    const backend = new FaultyBackend(new MemoryBackend({ blocks: 64 }));
    const s = await stack({ backend, driver: { queueSize: 4 } });
    const buf = s.alloc.alloc(512) as { addr: number; len: number };
    backend.stall();
    const order: number[] = [];
    const ps = Array.from({ length: 12 }, (_, i) => s.driver.request({ type: VIRTIO_BLK_T_IN, sector: BigInt(i), data: [buf] }).then((c) => { order.push(i); return c; }));
    await until(() => backend.stalledCount === 4);
    expect(s.driver.waiting()).toBe(8);
    expect(s.driver.inFlight()).toBe(4);
    for (let round = 0; round < 3; round++) {
      backend.release();
      await until(() => backend.stalledCount === 4 || order.length === 12);
    }
    const all = await Promise.all(ps);
    expect(all.every((c) => c.kind === 'done' && c.status === 0)).toBe(true);
    expect(order).toEqual([...Array(12).keys()]);
  });
});

describe('enqueue: request() with a callback', () => {
  test('shares request()\'s FIFO: callbacks once each, in order, mixed with request() callers; a reset aborts the waiting ones', async () => {
    const backend = new FaultyBackend(new MemoryBackend({ blocks: 64 }));
    const s = await stack({ backend, driver: { queueSize: 4 } });
    const buf = s.alloc.alloc(512) as { addr: number; len: number };
    backend.stall();
    const order: string[] = [];
    const got = new Map<string, BlkCompletion[]>();
    const note = (name: string) => (c: BlkCompletion): void => {
      order.push(name);
      got.set(name, [...(got.get(name) ?? []), c]);
    };
    for (let i = 0; i < 6; i++) {
      if (i % 2 === 0) s.driver.enqueue({ type: VIRTIO_BLK_T_IN, sector: BigInt(i), data: [buf] }, note(`e${i}`));
      else void s.driver.request({ type: VIRTIO_BLK_T_IN, sector: BigInt(i), data: [buf] }).then(note(`r${i}`));
    }
    await until(() => backend.stalledCount === 4);
    expect([s.driver.inFlight(), s.driver.waiting()]).toEqual([4, 2]);
    backend.release(2);
    await until(() => order.length === 2 && backend.stalledCount === 4);
    expect(order).toEqual(['e0', 'r1']);
    const restarted = s.driver.restart();
    backend.release();
    expect(await restarted).toBeUndefined();
    await until(() => order.length === 6);
    expect([...got.values()].every((cs) => cs.length === 1)).toBe(true);
    expect(got.get('e4')).toEqual([{ kind: 'aborted', reason: 'device reset' }]);
    expect(got.get('e0')).toEqual([{ kind: 'done', status: 0, len: 513 }]); // 512 bytes read + the status byte
  });

  test('a completion callback that throws costs no other request its completion; the error reaches the interrupt handler', async () => {
    const { alloc, transport, driver } = await catching(new MemoryBackend({ blocks: 64 }), 8);
    const buf = alloc.alloc(512) as { addr: number; len: number };
    const got: string[] = [];
    const bug = new Error('bug in a completion callback');
    driver.enqueue({ type: VIRTIO_BLK_T_IN, sector: 0n, data: [buf] }, () => {
      got.push('a');
      throw bug;
    });
    driver.enqueue({ type: VIRTIO_BLK_T_IN, sector: 1n, data: [buf] }, (c) => {
      got.push(`b ${c.kind}`);
    });
    await until(() => got.length === 2);
    expect(got).toEqual(['a', 'b done']);
    expect(transport.errors).toEqual([bug]);
    expect(driver.inFlight()).toBe(0);
    expect(await driver.request({ type: VIRTIO_BLK_T_IN, sector: 2n, data: [buf] })).toEqual({ kind: 'done', status: 0, len: 513 });
  });

  test('a request no queue can carry throws at once (request() rejects with it)', async () => {
    const s = await stack({ driver: { queueSize: 4 } });
    const buf = s.alloc.alloc(512) as { addr: number; len: number };
    const data = Array.from({ length: 8 }, () => buf);
    expect(() => { s.driver.enqueue({ type: VIRTIO_BLK_T_IN, sector: 0n, data }, () => undefined); }).toThrow(RangeError);
    await expect(s.driver.request({ type: VIRTIO_BLK_T_IN, sector: 0n, data })).rejects.toThrow(RangeError);
  });

  test('a request that must wait for room is checked before it waits: request() rejects, enqueue() throws, and those behind it go on', async () => {
    const backend = new FaultyBackend(new MemoryBackend({ blocks: 64 }));
    const { alloc, transport, driver } = await catching(backend, 4);
    const buf = alloc.alloc(512) as { addr: number; len: number };
    backend.stall();
    const reads = Array.from({ length: 4 }, (_, i) => driver.request({ type: VIRTIO_BLK_T_IN, sector: BigInt(i), data: [buf] }));
    await until(() => backend.stalledCount === 4);
    // One waiting already: the next request queues behind it without trying the ring.
    const waiting = driver.request({ type: VIRTIO_BLK_T_IN, sector: 4n, data: [buf] });
    const shortId: BlkRequest = { type: VIRTIO_BLK_T_GET_ID, data: { addr: buf.addr, len: 8 } };
    const refused = driver.request(shortId);
    expect(() => { driver.enqueue(shortId, () => undefined); }).toThrow(/GET_ID needs a 20-byte buffer, got 8/);
    expect(driver.waiting()).toBe(1);
    await expect(refused).rejects.toThrow(/GET_ID needs a 20-byte buffer, got 8/);
    const behind = driver.request({ type: VIRTIO_BLK_T_IN, sector: 5n, data: [buf] });
    expect(driver.waiting()).toBe(2);
    backend.release();
    await until(() => driver.waiting() === 0 && driver.inFlight() === 0);
    expect(transport.errors).toEqual([]);
    expect(await Promise.all([...reads, waiting, behind])).toEqual(Array(6).fill({ kind: 'done', status: 0, len: 513 }));
  });

  test('a waiting request a config change made too long is refused when its turn comes, out of no interrupt handler; those behind it go on', async () => {
    const backend = new FaultyBackend(new MemoryBackend({ blocks: 64 }));
    const { alloc, transport, driver } = await catching(backend, 8, 4);
    const buf = alloc.alloc(3 * 512) as { addr: number; len: number };
    const one = { addr: buf.addr, len: 512 };
    const three = [0, 1, 2].map((i) => ({ addr: buf.addr + i * 512, len: 512 }));
    backend.stall();
    const reads = Array.from({ length: 8 }, (_, i) => driver.request({ type: VIRTIO_BLK_T_IN, sector: BigInt(i), data: [one] }));
    await until(() => backend.stalledCount === 8);
    const long = driver.request({ type: VIRTIO_BLK_T_IN, sector: 0n, data: three });
    long.catch(() => undefined); // handled below, after it rejects
    const byCallback: BlkCompletion[] = [];
    driver.enqueue({ type: VIRTIO_BLK_T_IN, sector: 0n, data: three }, (c) => byCallback.push(c));
    const behind = driver.request({ type: VIRTIO_BLK_T_IN, sector: 8n, data: [one] });
    expect(driver.waiting()).toBe(3);
    transport.segMax = 2;
    transport.handler?.({ kind: 'config' });
    expect(driver.maxDataBuffers()).toBe(2);
    backend.release();
    await until(() => driver.waiting() === 0 && driver.inFlight() === 0);
    expect(transport.errors).toEqual([]);
    await expect(long).rejects.toThrow(/3 data buffers; this queue takes at most 2/);
    expect(byCallback).toEqual([{ kind: 'aborted', reason: expect.stringMatching(/3 data buffers; this queue takes at most 2/) as unknown }]);
    expect(await Promise.all([...reads, behind])).toEqual(Array(9).fill({ kind: 'done', status: 0, len: 513 }));
  });
});

describe('requests of every type', () => {
  test('write, read, flush, get-id, discard, write-zeroes', async () => {
    const s = await stack({ device: { serial: 'S/N 42' } });
    const b = s.alloc.alloc(1024) as { addr: number; len: number };
    s.mem.fill(b.addr, 1024, 0x77);
    expect(await s.driver.request({ type: VIRTIO_BLK_T_OUT, sector: 4n, data: [b] })).toEqual(OK);
    expect(await s.driver.request({ type: VIRTIO_BLK_T_FLUSH })).toEqual(OK);
    expect(await s.driver.request({ type: VIRTIO_BLK_T_DISCARD, segments: [{ sector: 4n, numSectors: 1, unmap: false }] })).toEqual(OK);
    expect(await s.driver.request({ type: VIRTIO_BLK_T_WRITE_ZEROES, segments: [{ sector: 5n, numSectors: 1, unmap: true }] })).toEqual(OK);
    s.mem.fill(b.addr, 1024, 0xff);
    expect(await s.driver.request({ type: VIRTIO_BLK_T_IN, sector: 4n, data: [b] })).toEqual({ kind: 'done', status: 0, len: 1025 });
    expect(s.mem.view(b.addr, 1024)?.every((x) => x === 0)).toBe(true);
    const id = s.alloc.alloc(20) as { addr: number; len: number };
    expect(await s.driver.request({ type: VIRTIO_BLK_T_GET_ID, data: id })).toEqual({ kind: 'done', status: 0, len: 21 });
    expect(Buffer.from(s.mem.view(id.addr, 6) ?? []).toString()).toBe('S/N 42');
    expect(() => s.driver.submit({ type: VIRTIO_BLK_T_GET_ID, data: { addr: id.addr, len: 8 } }, () => undefined)).toThrow(RangeError);
    expect(() => s.driver.submit({ type: VIRTIO_BLK_T_DISCARD, segments: [] }, () => undefined)).toThrow(/at least one segment/);
  });
});

describe('reset, device errors, config changes', () => {
  test('restart aborts requests the device still held, exactly once, and the driver works again', async () => {
    const backend = new FaultyBackend(new MemoryBackend({ blocks: 64 }));
    const s = await stack({ backend, driver: { queueSize: 8 } });
    const buf = s.alloc.alloc(512) as { addr: number; len: number };
    backend.stall();
    const results: BlkCompletion[] = [];
    const ps = Array.from({ length: 3 }, () => s.driver.request({ type: VIRTIO_BLK_T_IN, sector: 0n, data: [buf] }).then((c) => results.push(c)));
    await until(() => backend.stalledCount === 3);
    const restarted = s.driver.restart();
    backend.release();
    expect(await restarted).toBeUndefined();
    await Promise.all(ps);
    expect(results).toEqual(Array(3).fill({ kind: 'aborted', reason: 'device reset' }));
    expect(await s.driver.request({ type: VIRTIO_BLK_T_IN, sector: 0n, data: [buf] })).toEqual({ kind: 'done', status: 0, len: 513 });
  });

  test('restart also aborts callers still waiting for ring room, and only them', async () => {
    const backend = new FaultyBackend(new MemoryBackend({ blocks: 64 }));
    const s = await stack({ backend, driver: { queueSize: 4 } });
    const buf = s.alloc.alloc(512) as { addr: number; len: number };
    backend.stall();
    const ps = Array.from({ length: 6 }, () => s.driver.request({ type: VIRTIO_BLK_T_IN, sector: 0n, data: [buf] }));
    await until(() => backend.stalledCount === 4);
    expect(s.driver.waiting()).toBe(2);
    const restarted = s.driver.restart();
    backend.release();
    expect(await restarted).toBeUndefined();
    expect(await Promise.all(ps)).toEqual(Array(6).fill({ kind: 'aborted', reason: 'device reset' }));
    expect(s.driver.broken).toBeUndefined();
    expect(await s.driver.request({ type: VIRTIO_BLK_T_FLUSH })).toEqual(OK);
  });

  test('a used id that is not outstanding breaks the ring: everything outstanding is aborted', async () => {
    const backend = new FaultyBackend(new MemoryBackend({ blocks: 64 }));
    const { mem, alloc, transport } = spy(backend);
    const d = await VirtioBlkDriver.attach({ transport, allocator: alloc, queueSize: 8 });
    if (!(d instanceof VirtioBlkDriver)) throw new Error(d.reason);
    const buf = alloc.alloc(512) as { addr: number; len: number };
    backend.stall();
    const p = d.request({ type: VIRTIO_BLK_T_IN, sector: 0n, data: [buf] });
    await until(() => backend.stalledCount === 1);
    // Forge used[0] = {id 7, len 1}, used.idx 1: head 7 was never handed out.
    const usedAddr = usedRingAddr(8);
    mem.writeU32(usedAddr + 4, 7);
    mem.writeU32(usedAddr + 8, 1);
    mem.writeU16(usedAddr + 2, 1);
    transport.handler?.({ kind: 'queue', queue: 0 });
    const c = await p;
    expect(c).toMatchObject({ kind: 'aborted', reason: expect.stringMatching(/used id 7/) as unknown });
    expect(d.broken).toMatch(/used id 7/);
    expect(await d.request({ type: VIRTIO_BLK_T_FLUSH })).toMatchObject({ kind: 'aborted' });
    backend.release();
  });

  test('DEVICE_NEEDS_RESET marks the driver broken and tells config listeners', async () => {
    const s = await stack();
    const seen: bigint[] = [];
    s.driver.onConfigChange((cfg) => seen.push(cfg.capacity));
    s.dev.enableQueue(0, 3, { desc: 0, avail: 0, used: 0 });
    expect(s.driver.broken).toMatch(/needs a reset/);
    expect(seen.length).toBe(1);
    expect(await s.driver.request({ type: VIRTIO_BLK_T_FLUSH })).toMatchObject({ kind: 'aborted' });
    expect(await s.driver.restart()).toBeUndefined();
    expect(await s.driver.request({ type: VIRTIO_BLK_T_FLUSH })).toEqual(OK);
  });

  test('capacity change reaches config listeners', async () => {
    const backend = new MemoryBackend({ blocks: 64 });
    const s = await stack({ backend });
    const seen: bigint[] = [];
    s.driver.onConfigChange((cfg) => seen.push(cfg.capacity));
    backend.resize(96);
    s.dev.refreshCapacity();
    expect(seen).toEqual([96n]);
    expect(s.driver.config.capacity).toBe(96n);
  });
});

/** The driver allocates desc (16·qsz), avail, then used from address 0 of a fresh allocator. */
function usedRingAddr(qsz: number): number {
  const availEnd = 16 * qsz + 4 + 2 * qsz + 2;
  return Math.ceil(availEnd / 4) * 4;
}

describe('publishEvery', () => {
  test('a burst of 10 requests is published at 4, 8 and at the end of the turn; the device asked for one kick', async () => {
    const { alloc, transport, mem } = spy();
    const d = await VirtioBlkDriver.attach({ transport, allocator: alloc, publishEvery: 4 });
    if (!(d instanceof VirtioBlkDriver)) throw new Error(d.reason);
    const avail = transport.device.queueAddrs(0)?.avail ?? -1;
    const seen: number[] = [];
    const bufs = Array.from({ length: 10 }, () => alloc.alloc(512));
    const done = bufs.map((b, i) => {
      if (b === undefined) throw new Error('guest memory exhausted');
      const p = d.request({ type: VIRTIO_BLK_T_IN, sector: BigInt(i), data: [b] });
      seen.push(mem.readU16(avail + 2) ?? -1);
      return p;
    });
    // avail.idx as each request was added: published after the 4th and the 8th, the rest at the turn's end.
    expect(seen).toEqual([0, 0, 0, 4, 4, 4, 4, 8, 8, 8]);
    expect(await Promise.all(done)).toEqual(bufs.map(() => ({ kind: 'done', status: 0, len: 513 })));
    expect(d.stats.notifies).toBe(1);
    expect(d.stats.suppressed).toBe(2);
  });

  test('publishEvery must be a positive integer', async () => {
    const { alloc, transport } = spy();
    for (const bad of [0, -1, 1.5, Number.NaN]) {
      await expect(VirtioBlkDriver.attach({ transport, allocator: alloc, publishEvery: bad })).rejects.toThrow(`publishEvery must be a positive integer, got ${bad}`);
    }
  });
});
