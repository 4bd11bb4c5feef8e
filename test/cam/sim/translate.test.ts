// VirtioBlockCommandSet over the real local virtio stack: geometry from the
// config space per negotiated feature (VIRTIO 1.2 §5.2.4), data staged through
// guest memory in size_max segments, the status mapping, the write cache, GET_ID,
// waiting for guest memory, the fence, and the driver's freeDescriptors().

import { describe, expect, test } from 'vitest';
import { attachLocalVirtioBlk, type LocalVirtioBlk, type LocalVirtioBlkOptions } from '../../../src/virtio/local-stack.js';
import { MemoryBackend } from '../../../src/virtio/device/backends/memory.js';
import { FaultyBackend } from '../../../src/virtio/device/backends/faulty.js';
import { VIRTIO_BLK_DRIVER_FEATURES } from '../../../src/virtio/blk-driver.js';
import {
  VIRTIO_BLK_F_CONFIG_WCE,
  VIRTIO_BLK_F_DISCARD,
  VIRTIO_BLK_F_FLUSH,
  VIRTIO_BLK_F_SIZE_MAX,
  VIRTIO_BLK_F_TOPOLOGY,
  VIRTIO_BLK_F_WRITE_ZEROES,
  VIRTIO_F_INDIRECT_DESC,
  featureMask,
} from '../../../src/virtio/blk-features.js';
import { VIRTIO_BLK_T_IN } from '../../../src/virtio/blk-wire.js';
import { VirtioBlockCommandSet } from '../../../src/cam/sim/vtblk/translate.js';
import { blockStatus } from '../../../src/cam/sim/vtblk/block-status.js';
import { pattern, until } from './harness.js';

interface Setup {
  readonly s: LocalVirtioBlk;
  readonly disk: MemoryBackend;
  readonly backend: FaultyBackend;
  readonly bcs: VirtioBlockCommandSet;
}

async function setup(o: { blocks?: number; blockSize?: 512 | 4096; features?: bigint; queueSize?: number; memorySize?: number; device?: LocalVirtioBlkOptions['device']; maxDataSegments?: number } = {}): Promise<Setup> {
  const disk = new MemoryBackend({ blocks: o.blocks ?? 1024, blockSize: o.blockSize ?? 512 });
  const backend = new FaultyBackend(disk);
  const s = await attachLocalVirtioBlk({
    backend,
    queueSize: o.queueSize ?? 64,
    memorySize: o.memorySize ?? 1 << 22,
    ...(o.features === undefined ? {} : { features: o.features }),
    device: { blockSize: o.blockSize ?? 512, serial: 'SER-123', ...o.device },
  });
  if (!('driver' in s)) throw new Error(s.reason);
  const bcs = new VirtioBlockCommandSet({ driver: s.driver, memory: s.memory, allocator: s.allocator, ...(o.maxDataSegments === undefined ? {} : { maxDataSegments: o.maxDataSegments }) });
  return { s, disk, backend, bcs };
}

/** Guest memory that holds a 62 MiB transfer (half of what the ring leaves): limits other than memory show. */
const BIG_MEMORY = 1 << 27;

const without = (...bits: number[]): bigint => VIRTIO_BLK_DRIVER_FEATURES & ~featureMask(...bits);

describe('geometry from the config space', () => {
  test('512-byte device, every feature: capacity, limits in blocks, discard never promises zeros', async () => {
    // Guest memory for a 62 MiB transfer: the ring and seg_max × size_max bound it here, not memory.
    const { bcs } = await setup({ memorySize: BIG_MEMORY, device: { physicalBlockExp: 3, maxDiscardSectors: 4096, maxDiscardSeg: 16, maxWriteZeroesSectors: 2048 } });
    expect(bcs.geometry()).toEqual({
      blocks: 1024n,
      blockSize: 512,
      physicalBlockExp: 3,
      lowestAlignedLba: 0,
      // seg_max 126, but a 64-entry ring carries at most 62 data buffers; size_max 1 MiB.
      maxTransferBlocks: (62 * (1 << 20)) / 512,
      optimalTransferBlocks: 0,
      flush: true,
      writeCacheChangeable: true,
      discard: { maxBlocks: 4096, maxSegments: 16, granularity: 1, zeroes: false },
      writeZeroes: { maxBlocks: 2048, mayUnmap: true },
    });
    expect(bcs.readOnly).toBe(false);
    expect(bcs.writeCacheEnabled()).toBe(true);
  });

  test('4096-byte device: sectors become blocks (capacity, discard, write zeroes, alignment)', async () => {
    const { bcs } = await setup({ blockSize: 4096, blocks: 256, memorySize: BIG_MEMORY, device: { maxDiscardSectors: 4096, maxWriteZeroesSectors: 4097 } });
    const g = bcs.geometry();
    expect(g.blocks).toBe(256n);
    expect(g.blockSize).toBe(4096);
    expect(g.discard).toEqual({ maxBlocks: 512, maxSegments: 256, granularity: 1, zeroes: false });
    expect(g.writeZeroes).toEqual({ maxBlocks: 512, mayUnmap: true }); // 4097 sectors: 512 whole blocks
    expect(g.maxTransferBlocks).toBe((62 * (1 << 20)) / 4096);
  });

  test('seg_max × size_max bound the transfer; the SIM can lower the segment count further', async () => {
    const a = await setup({ device: { segMax: 4, sizeMax: 4096 } });
    expect(a.bcs.segmentBytes).toBe(4096);
    expect(a.bcs.maxDataSegments).toBe(4);
    expect(a.bcs.geometry().maxTransferBlocks).toBe(32);
    const b = await setup({ device: { segMax: 4, sizeMax: 4096 }, maxDataSegments: 2 });
    expect(b.bcs.geometry().maxTransferBlocks).toBe(16);
    // size_max that is not a whole number of blocks rounds down to blocks; below a block, to sectors.
    const c = await setup({ blockSize: 4096, blocks: 64, device: { sizeMax: 10_000 } });
    expect(c.bcs.segmentBytes).toBe(8192);
    const d = await setup({ blockSize: 4096, blocks: 64, device: { sizeMax: 1500 } });
    expect(d.bcs.segmentBytes).toBe(1024);
    expect(d.bcs.dataSegments(4096)).toBe(4);
    expect(d.bcs.dataSegments(0)).toBe(0);
  });

  test('without SIZE_MAX one segment carries any transfer: guest memory alone bounds it', async () => {
    const { s, bcs } = await setup({ features: without(VIRTIO_BLK_F_SIZE_MAX) });
    expect(bcs.segmentBytes).toBe(Infinity);
    expect(bcs.dataSegments(1 << 24)).toBe(1);
    expect(bcs.geometry().maxTransferBlocks).toBe(Math.floor(s.allocator.freeBytes / 2 / 512));
  });

  test('guest memory bounds the transfer to half of what the rings leave, and a transfer of that size runs', async () => {
    const { s, backend, bcs } = await setup({ memorySize: 1 << 20 });
    const free = s.allocator.freeBytes;
    // 1 MiB less the 64-entry ring (descriptors, avail, used, headers, status bytes).
    expect(free).toBeGreaterThan((1 << 20) - 8192);
    expect(bcs.maxDataBytes).toBe(Math.floor(free / 2));
    const max = bcs.geometry().maxTransferBlocks;
    expect(max).toBe(Math.floor(free / 2 / 512));
    const data = pattern(max, 512, 5);
    expect(await bcs.write(0n, data)).toBe('ok');
    const back = new Uint8Array(max * 512);
    expect(await bcs.read(0n, back)).toBe('ok');
    expect(Buffer.compare(back, data)).toBe(0);
    expect(backend.stats.write).toBe(1);
  });

  test('guest memory that cannot hold one block of data after the rings is refused', async () => {
    const disk = new MemoryBackend({ blocks: 64, blockSize: 4096 });
    const s = await attachLocalVirtioBlk({ backend: disk, queueSize: 64, memorySize: 10 * 1024, device: { blockSize: 4096 } });
    if (!('driver' in s)) throw new Error(s.reason);
    const free = s.allocator.freeBytes;
    expect(free).toBeLessThan(2 * 4096);
    expect(() => new VirtioBlockCommandSet({ driver: s.driver, memory: s.memory, allocator: s.allocator })).toThrow(
      new RangeError(`guest memory too small: ${free} of its 10240 bytes are left after the rings, and one transfer may use half of that, less than one 4096-byte block`),
    );
  });

  test('features off: no discard, no write zeroes, no flush, no switchable cache, topology ignored', async () => {
    const { s, bcs } = await setup({
      features: without(VIRTIO_BLK_F_DISCARD, VIRTIO_BLK_F_WRITE_ZEROES, VIRTIO_BLK_F_FLUSH, VIRTIO_BLK_F_CONFIG_WCE, VIRTIO_BLK_F_TOPOLOGY),
      device: { physicalBlockExp: 3 },
    });
    const g = bcs.geometry();
    expect(g.discard).toBeUndefined();
    expect(g.writeZeroes).toBeUndefined();
    expect(g).toMatchObject({ flush: false, writeCacheChangeable: false, physicalBlockExp: 0 });
    // No CONFIG_WCE: write-back exactly when there is a FLUSH (none here), and the device agrees (VIRTIO 1.2 §5.2.6.2).
    expect(bcs.writeCacheEnabled()).toBe(false);
    expect(s.device.writeback).toBe(false);
    expect(await bcs.setWriteCache(true)).toBe('unsupported');
  });

  test('CONFIG_WCE on but FLUSH off: write-through (writeback 0, §5.2.5.2), and WCE cannot be switched on', async () => {
    const { s, bcs } = await setup({ features: without(VIRTIO_BLK_F_FLUSH) });
    expect(bcs.geometry()).toMatchObject({ flush: false, writeCacheChangeable: false });
    expect(bcs.writeCacheEnabled()).toBe(false);
    expect(s.device.writeback).toBe(false);
    expect(await bcs.setWriteCache(true)).toBe('unsupported');
    expect(s.device.writeback).toBe(false);
  });

  test('CONFIG_WCE off but FLUSH on: a write-back cache that cannot be switched', async () => {
    const { bcs } = await setup({ features: without(VIRTIO_BLK_F_CONFIG_WCE) });
    expect(bcs.writeCacheEnabled()).toBe(true);
    expect(await bcs.setWriteCache(false)).toBe('unsupported');
  });

  test('a device read-only from the start that becomes writable is seen as writable', async () => {
    const disk = new MemoryBackend({ blocks: 64 });
    const s = await attachLocalVirtioBlk({ backend: disk, queueSize: 16, memorySize: 1 << 22 });
    if (!('driver' in s)) throw new Error(s.reason);
    s.device.setReadOnly(true);
    expect(await s.driver.restart()).toBeUndefined(); // RO negotiated
    const bcs = new VirtioBlockCommandSet({ driver: s.driver, memory: s.memory, allocator: s.allocator });
    expect(bcs.readOnly).toBe(true);
    s.device.setReadOnly(false);
    expect(bcs.readOnly).toBe(false);
  });

  test('a device that flips VIRTIO_BLK_F_RO is seen at once', async () => {
    const { s, bcs } = await setup();
    expect(bcs.readOnly).toBe(false);
    s.device.setReadOnly(true);
    expect(bcs.readOnly).toBe(true);
    s.device.setReadOnly(false);
    expect(bcs.readOnly).toBe(false);
  });

  test('capacity follows a config change', async () => {
    const { s, disk, bcs } = await setup({ blocks: 100 });
    disk.resize(300);
    s.device.refreshCapacity();
    expect(bcs.geometry().blocks).toBe(300n);
  });
});

describe('data', () => {
  test('write then read across size_max segments: bytes land where they belong, guest memory is returned', async () => {
    // Direct descriptors: indirect tables would stay allocated in the driver's table cache.
    const { s, disk, backend, bcs } = await setup({ device: { sizeMax: 1024, segMax: 8 }, features: without(VIRTIO_F_INDIRECT_DESC) });
    const live = s.allocator.liveCount - bcs.spareBuffers;
    const data = pattern(8, 512);
    expect(await bcs.write(10n, data)).toBe('ok');
    // One request of four 1 KiB segments: the device does one backend write per segment.
    expect(backend.stats.write).toBe(4);
    const direct = new Uint8Array(8 * 512);
    expect(await disk.read(10 * 512, direct)).toBe('ok');
    expect(direct).toEqual(data);
    const back = new Uint8Array(8 * 512);
    expect(await bcs.read(10n, back)).toBe('ok');
    expect(back).toEqual(data);
    // Freed data buffers stay allocated as spares for the next transfer.
    expect(s.allocator.liveCount - bcs.spareBuffers).toBe(live);
    expect(bcs.heldDescriptors).toBe(0);
  });

  test('4096-byte blocks: LBA n is sector 8n', async () => {
    const { disk, bcs } = await setup({ blockSize: 4096, blocks: 64 });
    const data = pattern(2, 4096, 9);
    expect(await bcs.write(5n, data)).toBe('ok');
    const direct = new Uint8Array(2 * 4096);
    expect(await disk.read(5 * 4096, direct)).toBe('ok');
    expect(direct).toEqual(data);
  });

  test('a transfer needing more segments than one request carries is a caller bug', async () => {
    const { bcs } = await setup({ device: { sizeMax: 512, segMax: 2 } });
    await expect(bcs.read(0n, new Uint8Array(3 * 512))).rejects.toThrow(/needs 3 segments; one request carries at most 2/);
  });

  test('IOERR → io-error on read (buffer untouched) and write (nothing written)', async () => {
    const { disk, backend, bcs } = await setup();
    const old = pattern(1, 512, 3);
    await disk.write(7 * 512, old);
    backend.failRange({ offset: 7 * 512, length: 512, ops: ['read', 'write'] });
    const into = new Uint8Array(512).fill(0xee);
    expect(await bcs.read(7n, into)).toBe('io-error');
    expect(into.every((b) => b === 0xee)).toBe(true);
    expect(await bcs.write(7n, new Uint8Array(512).fill(1))).toBe('io-error');
    const direct = new Uint8Array(512);
    await disk.read(7 * 512, direct);
    expect(direct).toEqual(old);
  });

  test('flush, discard and write zeroes reach the backend in sectors', async () => {
    const { disk, backend, bcs } = await setup({ blockSize: 4096, blocks: 64 });
    await disk.write(0, new Uint8Array(64 * 4096).fill(0xaa));
    expect(await bcs.flush()).toBe('ok');
    expect(await bcs.discard([{ lba: 1n, blocks: 2 }, { lba: 10n, blocks: 1 }])).toBe('ok');
    expect(await bcs.writeZeroes({ lba: 20n, blocks: 3 }, true)).toBe('ok');
    expect(backend.stats).toMatchObject({ flush: 1, discard: 2, writeZeroes: 1 });
    const read = async (lba: number, n: number): Promise<Uint8Array> => {
      const b = new Uint8Array(n * 4096);
      await disk.read(lba * 4096, b);
      return b;
    };
    expect((await read(1, 2)).every((b) => b === 0)).toBe(true);
    expect((await read(3, 1)).every((b) => b === 0xaa)).toBe(true);
    expect((await read(10, 1)).every((b) => b === 0)).toBe(true);
    expect((await read(20, 3)).every((b) => b === 0)).toBe(true);
    expect((await read(23, 1)).every((b) => b === 0xaa)).toBe(true);
  });

  test('UNSUPP → unsupported: discard on a driver that did not negotiate it', async () => {
    const { bcs } = await setup({ features: without(VIRTIO_BLK_F_DISCARD) });
    expect(await bcs.discard([{ lba: 0n, blocks: 1 }])).toBe('unsupported');
  });

  test('the status mapping table', () => {
    expect(blockStatus({ kind: 'done', status: 0, len: 1 })).toBe('ok');
    expect(blockStatus({ kind: 'done', status: 1, len: 1 })).toBe('io-error');
    expect(blockStatus({ kind: 'done', status: 2, len: 1 })).toBe('unsupported');
    expect(blockStatus({ kind: 'aborted', reason: 'device reset' })).toBe('io-error');
  });
});

describe('write cache and identity', () => {
  test('setWriteCache writes `writeback` through the transport', async () => {
    const { s, bcs } = await setup();
    expect(await bcs.setWriteCache(false)).toBe('ok');
    expect(s.device.writeback).toBe(false);
    expect(bcs.writeCacheEnabled()).toBe(false);
    expect(await bcs.setWriteCache(true)).toBe('ok');
    expect(s.device.writeback).toBe(true);
  });

  test('GET_ID: the serial without its NUL padding; all 20 bytes when it fills them; none when empty', async () => {
    expect(await (await setup()).bcs.getId()).toBe('SER-123');
    expect(await (await setup({ device: { serial: '01234567890123456789' } })).bcs.getId()).toBe('01234567890123456789');
    expect(await (await setup({ device: { serial: '' } })).bcs.getId()).toBeUndefined();
  });
});

describe('resources', () => {
  test('a transfer waits for guest memory other transfers hold, in order, and then runs', async () => {
    const { s, backend, bcs } = await setup({ memorySize: 1 << 20 });
    // Leave room for exactly one 64 KiB transfer.
    const filler = s.allocator.alloc(s.allocator.freeBytes - 64 * 1024 - 512, 1);
    expect(filler).toBeDefined();
    backend.stall();
    const first = bcs.write(0n, new Uint8Array(64 * 1024).fill(1));
    const second = bcs.write(128n, new Uint8Array(64 * 1024).fill(2));
    await until(() => backend.stalledCount === 1, 'first write at the backend');
    expect(s.driver.inFlight()).toBe(1);
    backend.release();
    expect(await first).toBe('ok');
    expect(await second).toBe('ok');
    expect(backend.stats.write).toBe(2);
  });

  // no-resources, not io-error: the emulator makes io-error a MEDIUM ERROR, and nothing is wrong with the medium.
  test('a transfer that cannot fit even with nothing else holding memory fails at once (no-resources), and the set still works', async () => {
    const { s, backend, bcs } = await setup({ memorySize: 1 << 20 });
    expect(await bcs.read(0n, new Uint8Array(1 << 20))).toBe('no-resources');
    expect(await bcs.write(0n, new Uint8Array(1 << 20))).toBe('no-resources');
    expect([backend.stats.read, backend.stats.write]).toEqual([0, 0]);
    expect(s.driver.inFlight()).toBe(0);
    // Within the maximum transfer, only memory someone else holds leaves a transfer there.
    const max = bcs.geometry().maxTransferBlocks * 512;
    const filler = s.allocator.alloc(s.allocator.freeBytes - 4096, 1);
    expect(filler).toBeDefined();
    expect(await bcs.write(0n, new Uint8Array(max))).toBe('no-resources');
    if (filler !== undefined) s.allocator.free(filler.addr);
    expect(await bcs.write(0n, new Uint8Array(max).fill(6))).toBe('ok');
    expect(backend.stats.write).toBe(1);
  });

  test('a transfer waiting for memory that ends up never fitting (the last holder freed it) ends no-resources', async () => {
    const { s, backend, bcs } = await setup({ memorySize: 1 << 20 });
    // Room for one 64 KiB transfer: a second waits for it; a third of 128 KiB waits behind, and can never fit.
    const filler = s.allocator.alloc(s.allocator.freeBytes - 64 * 1024 - 512, 1);
    expect(filler).toBeDefined();
    backend.stall();
    const first = bcs.write(0n, new Uint8Array(64 * 1024).fill(1));
    const big = bcs.read(0n, new Uint8Array(128 * 1024));
    await until(() => backend.stalledCount === 1, 'first write at the backend');
    backend.release();
    expect(await first).toBe('ok');
    expect(await big).toBe('no-resources');
    expect(backend.stats.read).toBe(0);
  });

  test('a transfer waiting for memory whose command is aborted ends io-error unsent (dropAborted), and the one behind it that fits goes; one aborted already never waits', async () => {
    const { s, backend, bcs } = await setup({ memorySize: 1 << 20 });
    // Room for one 64 KiB transfer and one of 4 KiB.
    const filler = s.allocator.alloc(s.allocator.freeBytes - 68 * 1024 - 512, 1);
    expect(filler).toBeDefined();
    backend.stall();
    const holding = bcs.write(0n, new Uint8Array(64 * 1024).fill(1));
    await until(() => backend.stalledCount === 1, 'the first write at the backend');
    const abort = { on: false };
    const answered: string[] = [];
    const waiting = bcs.read(0n, new Uint8Array(64 * 1024), () => abort.on).then((st) => answered.push(`waiting ${st}`));
    // Fits now, but waits in order behind the one before it.
    const behind = bcs.read(200n, new Uint8Array(4096)).then((st) => answered.push(`behind ${st}`));
    bcs.dropAborted();
    await new Promise((resolve) => setImmediate(resolve));
    expect(answered).toEqual([]);
    abort.on = true;
    bcs.dropAborted();
    await until(() => answered.length > 0, 'the waiting READ answered');
    await until(() => backend.stalledCount === 2, 'the READ behind it at the backend, the first write still held');
    expect(await bcs.write(300n, new Uint8Array(64 * 1024), () => true)).toBe('io-error');
    expect([answered, backend.stalledCount]).toEqual([['waiting io-error'], 2]);
    backend.release();
    expect(await holding).toBe('ok');
    await Promise.all([waiting, behind]);
    expect(answered).toEqual(['waiting io-error', 'behind ok']);
    expect([backend.stats.read, backend.stats.write]).toEqual([1, 1]);
    expect(await bcs.read(0n, new Uint8Array(64 * 1024))).toBe('ok');
  });

  test('fenced: operations fail at once without touching the ring; memory waiters give up', async () => {
    const { s, backend, bcs } = await setup({ memorySize: 1 << 20 });
    const filler = s.allocator.alloc(s.allocator.freeBytes - 64 * 1024 - 512, 1);
    expect(filler).toBeDefined();
    backend.stall();
    const holding = bcs.write(0n, new Uint8Array(64 * 1024));
    const waiting = bcs.write(128n, new Uint8Array(64 * 1024));
    await until(() => backend.stalledCount === 1);
    bcs.fence();
    expect(await waiting).toBe('io-error');
    expect(await bcs.flush()).toBe('io-error');
    expect(await bcs.read(0n, new Uint8Array(512))).toBe('io-error');
    expect(s.driver.inFlight()).toBe(1);
    backend.release();
    expect(await holding).toBe('ok');
    bcs.unfence();
    expect(await bcs.flush()).toBe('ok');
  });

  test('freed data buffers are reused by the next transfer of their length, given back at a fence and when an allocation finds no room', async () => {
    const { s, bcs } = await setup({ memorySize: 1 << 20 });
    expect(await bcs.write(0n, new Uint8Array(16 * 1024).fill(3))).toBe('ok');
    const live = s.allocator.liveCount;
    expect(bcs.spareBuffers).toBe(1);
    // The same length again: the spare, not a new allocation.
    expect(await bcs.read(0n, new Uint8Array(16 * 1024))).toBe('ok');
    expect([s.allocator.liveCount, bcs.spareBuffers]).toEqual([live, 1]);
    bcs.fence();
    expect([s.allocator.liveCount, bcs.spareBuffers]).toEqual([live - 1, 0]);
    bcs.unfence();
    expect(await bcs.write(0n, new Uint8Array(16 * 1024).fill(4))).toBe('ok');
    expect(bcs.spareBuffers).toBe(1);
    // Memory full but for the spare: an 8 KiB transfer gets the spare's room back.
    for (let n = 1 << 20; n >= 1; n >>= 1) while (s.allocator.alloc(n, 1) !== undefined);
    expect(s.allocator.freeBytes).toBe(0);
    const fillers = s.allocator.liveCount - live;
    const back = new Uint8Array(8 * 1024);
    expect(await bcs.read(0n, back)).toBe('ok');
    expect(back.every((x) => x === 4)).toBe(true);
    // The 8 KiB buffer is kept as a spare in its turn; the 16 KiB one went back to the allocator.
    expect([bcs.spareBuffers, s.allocator.liveCount - fillers]).toEqual([1, live]);
  });

  test('startRead and startWrite call back exactly once and never before they return, fenced or not', async () => {
    const { bcs } = await setup({ device: { sizeMax: 512, segMax: 2 } });
    const calls: [string, boolean][] = [];
    let returned = false;
    const note = (st: string): void => {
      calls.push([st, returned]);
    };
    bcs.startWrite(4n, pattern(1, 512, 7), note);
    returned = true;
    await until(() => calls.length === 1);
    returned = false;
    bcs.startRead(4n, new Uint8Array(512), note);
    returned = true;
    await until(() => calls.length === 2);
    bcs.fence();
    returned = false;
    bcs.startRead(4n, new Uint8Array(512), note);
    returned = true;
    await until(() => calls.length === 3);
    expect(calls).toEqual([['ok', true], ['ok', true], ['io-error', true]]);
    expect(() => {
      bcs.startRead(0n, new Uint8Array(3 * 512), note);
    }).toThrow(/needs 3 segments/);
  });

  test('driver.freeDescriptors counts the table: a request takes its descriptor cost, completion gives it back', async () => {
    const { s, backend } = await setup({ queueSize: 16, features: without(VIRTIO_F_INDIRECT_DESC) });
    const d = s.driver;
    expect(d.freeDescriptors()).toBe(16);
    const buf = s.allocator.alloc(1024) as { addr: number; len: number };
    backend.stall();
    const p = d.request({ type: VIRTIO_BLK_T_IN, sector: 0n, data: [{ addr: buf.addr, len: 512 }, { addr: buf.addr + 512, len: 512 }] });
    expect(d.freeDescriptors()).toBe(12);
    backend.release();
    expect(await p).toMatchObject({ kind: 'done', status: 0 });
    expect(d.freeDescriptors()).toBe(16);
    expect(() => d.freeDescriptors(1)).toThrow(/queue 1 is not set up/);
  });
});
