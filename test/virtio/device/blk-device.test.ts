// The virtio-blk device model against raw chains: every malformed request gets
// the status §5.2.6 calls for (or DEVICE_NEEDS_RESET when it cannot be
// answered), nothing outside the chain is written, and the device keeps serving.

import { describe, expect, test } from 'vitest';
import { rawRig, rd, stack, wr, until, type RawRig } from '../harness.js';
import type { BackendStatus, BlockBackend } from '../../../src/virtio/device/backend.js';
import { MemoryBackend } from '../../../src/virtio/device/backends/memory.js';
import { FaultyBackend } from '../../../src/virtio/device/backends/faulty.js';
import { VirtioBlkDevice } from '../../../src/virtio/device/blk-device.js';
import { GuestMemory } from '../../../src/virtio/guest-memory.js';
import { encodeDiscardSegments } from '../../../src/virtio/blk-wire.js';
import type { BlkCompletion } from '../../../src/virtio/blk-request.js';
import { VIRTIO_BLK_F_CONFIG_WCE, VIRTIO_BLK_F_DISCARD, VIRTIO_BLK_F_FLUSH, VIRTIO_BLK_F_RO, VIRTIO_F_VERSION_1, featureMask } from '../../../src/virtio/blk-features.js';

// Spec values written out (VIRTIO 1.2 §5.2.6, §2.1), not imported, so a wrong constant fails here.
const T_IN = 0, T_OUT = 1, T_FLUSH = 4, T_GET_ID = 8, T_GET_LIFETIME = 10, T_DISCARD = 11, T_WRITE_ZEROES = 13;
const S_OK = 0, S_IOERR = 1, S_UNSUPP = 2;
const NEEDS_RESET = 64, FEATURES_OK = 8, DRIVER_OK = 4;

describe('reads and writes', () => {
  test('write then read back across two data descriptors', async () => {
    const r = rawRig();
    const data = r.buf(1024, 0x5a);
    const st = r.status();
    expect(await r.run([rd(r.header(T_OUT, 10n)), rd(data), wr(st)])).toEqual({ len: 1 });
    expect(r.mem.readU8(st.addr)).toBe(S_OK);
    const a = r.buf(512), b = r.buf(512), st2 = r.status();
    expect(await r.run([rd(r.header(T_IN, 10n)), wr(a), wr(b), wr(st2)])).toEqual({ len: 1025 });
    expect(r.mem.readU8(st2.addr)).toBe(S_OK);
    expect([...r.mem.view(a.addr, 512) ?? []].every((x) => x === 0x5a)).toBe(true);
    expect([...r.mem.view(b.addr, 512) ?? []].every((x) => x === 0x5a)).toBe(true);
  });

  test('header split over two descriptors and status sharing the data descriptor (any layout)', async () => {
    const r = rawRig();
    const hdr = r.header(T_IN, 0n);
    const inout = r.buf(513, 0xee);
    const res = await r.run([rd({ addr: hdr.addr, len: 5 }), rd({ addr: hdr.addr + 5, len: 11 }), wr(inout)]);
    expect(res.len).toBe(513);
    expect(r.mem.readU8(inout.addr + 512)).toBe(S_OK);
    expect(r.mem.readU8(inout.addr)).toBe(0);
  });

  test('a READ through an indirect table at an 8-byte-aligned address (§2.7.5.3: a table may be anywhere in memory)', async () => {
    const F_NEXT = 1, F_WRITE = 2, F_INDIRECT = 4;
    const backend = new MemoryBackend({ blocks: 64 });
    await backend.write(0, new Uint8Array(512).fill(0x3c));
    const r = rawRig({ backend });
    const hdr = r.header(T_IN, 0n), data = r.buf(512), st = r.status();
    const table = r.buf(8 + 48).addr + 8;
    [[hdr.addr, 16, F_NEXT, 1], [data.addr, 512, F_WRITE | F_NEXT, 2], [st.addr, 1, F_WRITE, 0]].forEach(([addr = 0, len = 0, flags = 0, next = 0], i) => {
      r.mem.writeU64(table + 16 * i, BigInt(addr));
      r.mem.writeU32(table + 16 * i + 8, len);
      r.mem.writeU16(table + 16 * i + 12, flags);
      r.mem.writeU16(table + 16 * i + 14, next);
    });
    r.forge([{ index: 0, addr: table, len: 48, flags: F_INDIRECT, next: 0 }], 0);
    await until(() => r.used(0).idx === 1);
    expect(r.dev.needsResetReason).toBeUndefined();
    expect(r.used(0)).toEqual({ idx: 1, id: 0, len: 513 });
    expect(r.mem.readU8(st.addr)).toBe(S_OK);
    expect(r.mem.view(data.addr, 512)?.every((b) => b === 0x3c)).toBe(true);
  });

  test.each([
    ['last sector', 2047n, 512, S_OK],
    ['one past the end', 2047n, 1024, S_IOERR],
    ['sector = capacity', 2048n, 512, S_IOERR],
    ['sector 2^64-1 (no wrap)', 0xffff_ffff_ffff_ffffn, 512, S_IOERR],
    ['length not a multiple of 512', 0n, 511, S_IOERR],
  ])('IN range: %s', async (_name, sector, len, want) => {
    const r = rawRig();
    const data = r.buf(len, 0x11), st = r.status();
    await r.run([rd(r.header(T_IN, sector)), wr(data), wr(st)]);
    expect(r.mem.readU8(st.addr)).toBe(want);
    if (want !== S_OK) expect(r.mem.readU8(data.addr)).toBe(0x11);
  });

  test('IN with device-readable data after the header is a direction error', async () => {
    const r = rawRig();
    const st = r.status();
    await r.run([rd(r.header(T_IN, 0n)), rd(r.buf(512)), wr(st)]);
    expect(r.mem.readU8(st.addr)).toBe(S_IOERR);
  });

  test('OUT with a device-writable data buffer is a direction error and writes nothing', async () => {
    const backend = new MemoryBackend({ blocks: 64 });
    const r = rawRig({ backend });
    const st = r.status();
    await r.run([rd(r.header(T_OUT, 0n)), rd(r.buf(512, 1)), wr(r.buf(512)), wr(st)]);
    expect(r.mem.readU8(st.addr)).toBe(S_IOERR);
    expect(backend.allocatedBytes).toBe(0);
  });

  test('4096-byte logical blocks: misaligned sector or length is IOERR', async () => {
    const r = rawRig({ backend: new MemoryBackend({ blocks: 64, blockSize: 4096 }), blockSize: 4096 });
    for (const [sector, len, want] of [[8n, 4096, S_OK], [1n, 4096, S_IOERR], [0n, 512, S_IOERR]] as const) {
      const st = r.status();
      await r.run([rd(r.header(T_IN, sector)), wr(r.buf(len)), wr(st)]);
      expect(r.mem.readU8(st.addr)).toBe(want);
    }
  });

  test('header shorter than 16 bytes is IOERR and the device keeps serving', async () => {
    const r = rawRig();
    const st = r.status();
    await r.run([rd({ addr: r.header(T_IN, 0n).addr, len: 8 }), wr(st)]);
    expect(r.mem.readU8(st.addr)).toBe(S_IOERR);
    const st2 = r.status();
    await r.run([rd(r.header(T_IN, 0n)), wr(r.buf(512)), wr(st2)]);
    expect(r.mem.readU8(st2.addr)).toBe(S_OK);
  });
});

describe('other request types', () => {
  test('FLUSH: OK when negotiated, UNSUPP when not', async () => {
    const yes = rawRig();
    const st = yes.status();
    await yes.run([rd(yes.header(T_FLUSH, 0n)), wr(st)]);
    expect(yes.mem.readU8(st.addr)).toBe(S_OK);
    const no = rawRig({ driverFeatures: ~featureMask(VIRTIO_BLK_F_FLUSH) });
    const st2 = no.status();
    await no.run([rd(no.header(T_FLUSH, 0n)), wr(st2)]);
    expect(no.mem.readU8(st2.addr)).toBe(S_UNSUPP);
  });

  test('GET_ID writes 20 NUL-padded bytes; used len counts them and the status', async () => {
    const r = rawRig({ serial: 'disk-7' });
    const id = r.buf(20, 0xcc), st = r.status();
    expect(await r.run([rd(r.header(T_GET_ID, 0n)), wr(id), wr(st)])).toEqual({ len: 21 });
    const bytes = r.mem.view(id.addr, 20) ?? new Uint8Array();
    expect(Buffer.from(bytes).toString('hex')).toBe('6469736b2d37' + '00'.repeat(14));
  });

  test.each([[T_GET_LIFETIME], [99], [0xffffffff]])('type %i is UNSUPP', async (type) => {
    const r = rawRig();
    const st = r.status();
    await r.run([rd(r.header(type, 0n)), wr(r.buf(512)), wr(st)]);
    expect(r.mem.readU8(st.addr)).toBe(S_UNSUPP);
  });

  test('DISCARD and WRITE_ZEROES: segment validation and effect', async () => {
    const backend = new MemoryBackend({ blocks: 2048 });
    const r = rawRig({ backend, maxDiscardSeg: 2, maxDiscardSectors: 64 });
    await backend.write(0, new Uint8Array(64 * 512).fill(7));
    const send = async (type: number, payload: Uint8Array): Promise<number | undefined> => {
      const seg = r.buf(Math.max(payload.length, 1));
      r.mem.copyIn(seg.addr, payload);
      const st = r.status();
      await r.run([rd(r.header(type, 0n)), rd({ addr: seg.addr, len: payload.length }), wr(st)]);
      return r.mem.readU8(st.addr);
    };
    const seg = (sector: bigint, numSectors: number, unmap = false) => encodeDiscardSegments([{ sector, numSectors, unmap }]);
    expect(await send(T_DISCARD, seg(0n, 8, true))).toBe(S_UNSUPP);
    const reserved = seg(0n, 8);
    reserved[12] = 0x02; // flags bit 1: reserved
    expect(await send(T_DISCARD, reserved)).toBe(S_UNSUPP);
    expect(await send(T_DISCARD, encodeDiscardSegments([
      { sector: 0n, numSectors: 1, unmap: false }, { sector: 1n, numSectors: 1, unmap: false }, { sector: 2n, numSectors: 1, unmap: false },
    ]))).toBe(S_UNSUPP);
    expect(await send(T_DISCARD, seg(0n, 65))).toBe(S_IOERR);
    expect(await send(T_DISCARD, seg(2047n, 2))).toBe(S_IOERR);
    expect(await send(T_DISCARD, seg(0n, 8).subarray(0, 12))).toBe(S_IOERR);
    expect(await send(T_DISCARD, seg(0n, 8))).toBe(S_OK);
    expect(await send(T_WRITE_ZEROES, seg(8n, 8, true))).toBe(S_OK);
    const back = new Uint8Array(24 * 512);
    await backend.read(0, back);
    expect(back.subarray(0, 16 * 512).every((x) => x === 0)).toBe(true);
    expect(back.subarray(16 * 512).every((x) => x === 7)).toBe(true);
    const noDiscard = rawRig({ driverFeatures: ~featureMask(VIRTIO_BLK_F_DISCARD) });
    const st = noDiscard.status();
    const p = noDiscard.buf(16);
    noDiscard.mem.copyIn(p.addr, seg(0n, 1));
    await noDiscard.run([rd(noDiscard.header(T_DISCARD, 0n)), rd(p), wr(st)]);
    expect(noDiscard.mem.readU8(st.addr)).toBe(S_UNSUPP);
  });
});

describe('read-only devices', () => {
  test('writes, discards and write-zeroes are IOERR and change nothing; RO is offered', async () => {
    const backend = new MemoryBackend({ blocks: 64, readOnly: true });
    const r = rawRig({ backend });
    expect(r.dev.getDeviceFeatures() & featureMask(VIRTIO_BLK_F_RO)).not.toBe(0n);
    const st = r.status();
    await r.run([rd(r.header(T_OUT, 0n)), rd(r.buf(512, 9)), wr(st)]);
    expect(r.mem.readU8(st.addr)).toBe(S_IOERR);
    const p = r.buf(16);
    r.mem.copyIn(p.addr, encodeDiscardSegments([{ sector: 0n, numSectors: 1, unmap: true }]));
    const st2 = r.status();
    await r.run([rd(r.header(T_WRITE_ZEROES, 0n)), rd(p), wr(st2)]);
    expect(r.mem.readU8(st2.addr)).toBe(S_IOERR);
    expect(backend.allocatedBytes).toBe(0);
  });

  test('setReadOnly at run time: config interrupt, RO in device_feature, writes refused', async () => {
    const r = rawRig();
    const gen = r.dev.configGeneration();
    r.dev.setReadOnly(true);
    expect(r.irqs).toContainEqual({ kind: 'config' });
    expect(r.dev.configGeneration()).not.toBe(gen);
    expect(r.dev.getDeviceFeatures() & featureMask(VIRTIO_BLK_F_RO)).not.toBe(0n);
    const st = r.status();
    await r.run([rd(r.header(T_OUT, 0n)), rd(r.buf(512)), wr(st)]);
    expect(r.mem.readU8(st.addr)).toBe(S_IOERR);
  });
});

describe('malformed chains', () => {
  test('a data buffer outside guest memory: IOERR in the status byte, nothing else written', async () => {
    const r = rawRig();
    const hdr = r.header(T_IN, 0n);
    const st = r.status();
    r.forge([
      { index: 0, addr: hdr.addr, len: 16, flags: 1, next: 1 },
      { index: 1, addr: r.mem.size - 100, len: 512, flags: 1 | 2, next: 2 },
      { index: 2, addr: st.addr, len: 1, flags: 2, next: 0 },
    ], 0, false);
    const before = Buffer.from(r.mem.bytes);
    r.dev.notify(0);
    await until(() => r.used(0).idx === 1);
    expect(r.used(0)).toEqual({ idx: 1, id: 0, len: 1 });
    expect(r.mem.readU8(st.addr)).toBe(S_IOERR);
    // Only the status byte and the used ring changed.
    const after = Buffer.from(r.mem.bytes);
    const changed: number[] = [];
    for (let i = 0; i < after.length; i++) if (after[i] !== before[i]) changed.push(i);
    const usedArea = (a: number) => a >= r.addrs.used && a < r.addrs.used + 4 + 16 * 8 + 2;
    expect(changed.filter((a) => a !== st.addr && !usedArea(a))).toEqual([]);
    expect(r.dev.getStatus() & NEEDS_RESET).toBe(0);
  });

  test('a status descriptor outside guest memory cannot be answered: NEEDS_RESET', () => {
    const r = rawRig();
    r.forge([
      { index: 0, addr: r.header(T_FLUSH, 0n).addr, len: 16, flags: 1, next: 1 },
      { index: 1, addr: r.mem.size, len: 1, flags: 2, next: 0 },
    ], 0);
    expect(r.dev.getStatus() & NEEDS_RESET).toBe(NEEDS_RESET);
  });

  test('a ring-level corruption (head out of range) sets NEEDS_RESET and stops the queue', async () => {
    const r = rawRig();
    r.forge([], 999);
    expect(r.dev.getStatus() & NEEDS_RESET).toBe(NEEDS_RESET);
    expect(r.dev.needsResetReason).toMatch(/head 999/);
    // Later notifications are ignored: nothing is processed until a reset.
    const st = r.status();
    r.forge([{ index: 1, addr: r.header(T_FLUSH, 0n).addr, len: 16, flags: 1, next: 2 }, { index: 2, addr: st.addr, len: 1, flags: 2, next: 0 }], 1);
    for (let i = 0; i < 10; i++) await new Promise((res) => setImmediate(res));
    expect(r.mem.readU8(st.addr)).toBe(0xff);
  });

  test('no writable descriptor at all: the device asks for a reset', () => {
    const r = rawRig();
    r.ring.add([rd(r.header(T_FLUSH, 0n))], 1);
    r.ring.publish();
    r.dev.notify(0);
    expect(r.dev.getStatus() & NEEDS_RESET).toBe(NEEDS_RESET);
    expect(r.irqs).toContainEqual({ kind: 'config' });
    expect(r.dev.needsResetReason).toMatch(/no writable status byte/);
  });

  test('the same head made available twice while in flight: NEEDS_RESET, first request still answered', async () => {
    const backend = new FaultyBackend(new MemoryBackend({ blocks: 64 }));
    const r = rawRig({ backend });
    backend.stall();
    const st = r.status();
    const head = r.ring.add([rd(r.header(T_IN, 0n)), wr(r.buf(512)), wr(st)], 1) as number;
    r.ring.publish();
    r.dev.notify(0);
    expect(backend.stalledCount).toBe(1);
    r.forge([], head);
    expect(r.dev.getStatus() & NEEDS_RESET).toBe(NEEDS_RESET);
    expect(r.dev.needsResetReason).toMatch(/again while in flight/);
    backend.release();
    await until(() => r.ring.usedPending > 0);
    expect(r.mem.readU8(st.addr)).toBe(S_OK);
  });
});

describe('status sequence (§3.1.1) and reset', () => {
  const fresh = () => {
    const mem = GuestMemory.create(1 << 20);
    const dev = new VirtioBlkDevice({ memory: mem, backend: new MemoryBackend({ blocks: 64 }) });
    const irqs: unknown[] = [];
    dev.setInterruptHandler((i) => irqs.push(i));
    return { mem, dev, irqs };
  };

  test('FEATURES_OK is refused for an unoffered feature bit and for a missing VERSION_1', () => {
    const { dev } = fresh();
    dev.setStatus(1 | 2);
    dev.setDriverFeatures(featureMask(VIRTIO_F_VERSION_1, 50));
    dev.setStatus(1 | 2 | FEATURES_OK);
    expect(dev.getStatus() & FEATURES_OK).toBe(0);
    const b = fresh().dev;
    b.setStatus(1 | 2);
    b.setDriverFeatures(featureMask(VIRTIO_BLK_F_FLUSH));
    b.setStatus(1 | 2 | FEATURES_OK);
    expect(b.getStatus() & FEATURES_OK).toBe(0);
  });

  test.each([
    ['wider than 64 bits', (offered: bigint) => offered | (1n << 64n)],
    ['negative', () => -1n],
  ])('a driver feature value %s gets FEATURES_OK refused, not an exception (§3.1.1 step 6)', (_name, value) => {
    const { dev } = fresh();
    dev.setStatus(1 | 2);
    dev.setDriverFeatures(value(dev.getDeviceFeatures()));
    expect(() => { dev.writeConfig(32, Uint8Array.of(0)); }).not.toThrow();
    expect(() => { dev.setStatus(1 | 2 | FEATURES_OK); }).not.toThrow();
    expect(dev.getStatus()).toBe(1 | 2);
    expect(dev.readConfig(32, 1)[0]).toBe(1);
    // The driver may try again with a proper set.
    dev.setDriverFeatures(featureMask(VIRTIO_F_VERSION_1));
    dev.setStatus(1 | 2 | FEATURES_OK);
    expect(dev.getStatus()).toBe(1 | 2 | FEATURES_OK);
  });

  test('features written after FEATURES_OK are ignored', () => {
    const { dev } = fresh();
    dev.setStatus(3);
    dev.setDriverFeatures(featureMask(VIRTIO_F_VERSION_1));
    dev.setStatus(3 | FEATURES_OK);
    dev.setDriverFeatures(featureMask(VIRTIO_F_VERSION_1, VIRTIO_BLK_F_FLUSH));
    expect(dev.driverFeatures).toBe(featureMask(VIRTIO_F_VERSION_1));
  });

  test('DRIVER_OK without FEATURES_OK, or a queue before FEATURES_OK, sets NEEDS_RESET', () => {
    const a = fresh();
    a.dev.setStatus(1 | 2 | DRIVER_OK);
    expect(a.dev.getStatus() & NEEDS_RESET).toBe(NEEDS_RESET);
    expect(a.irqs).toContainEqual({ kind: 'config' });
    const b = fresh();
    b.dev.setStatus(3);
    b.dev.enableQueue(0, 8, { desc: 0, avail: 128, used: 256 });
    expect(b.dev.getStatus() & NEEDS_RESET).toBe(NEEDS_RESET);
  });

  test.each([
    ['size not a power of two', 6, { desc: 0, avail: 4096, used: 8192 }],
    ['size above the maximum', 2048, { desc: 0, avail: 65536, used: 131072 }],
    ['misaligned descriptor table', 8, { desc: 8, avail: 4096, used: 8192 }],
    ['used ring outside memory', 8, { desc: 0, avail: 4096, used: (1 << 20) - 8 }],
  ])('a bad queue (%s) sets NEEDS_RESET', (_n, size, addrs) => {
    const { dev } = fresh();
    dev.setStatus(3);
    dev.setDriverFeatures(featureMask(VIRTIO_F_VERSION_1));
    dev.setStatus(3 | FEATURES_OK);
    dev.enableQueue(0, size, addrs);
    expect(dev.getStatus() & NEEDS_RESET).toBe(NEEDS_RESET);
    expect(dev.needsResetReason).toMatch(/queue 0/);
  });

  test('reset waits for in-flight backend I/O, then clears status and features', async () => {
    const backend = new FaultyBackend(new MemoryBackend({ blocks: 64 }));
    const r = rawRig({ backend });
    backend.stall();
    r.ring.add([rd(r.header(T_IN, 0n)), wr(r.buf(512)), wr(r.status())], 1);
    r.ring.publish();
    r.dev.notify(0);
    expect(r.dev.inflight).toBe(1);
    let done = false;
    const p = r.dev.reset().then(() => { done = true; });
    await until(() => backend.stalledCount === 1);
    for (let i = 0; i < 20; i++) await new Promise((res) => setImmediate(res));
    expect(done).toBe(false);
    backend.release();
    await p;
    expect(r.dev.getStatus()).toBe(0);
    expect(r.dev.driverFeatures).toBe(0n);
    // The answer of the request that straddled the reset is dropped: the used ring is untouched.
    expect(r.ring.usedPending).toBe(0);
  });

  test('a publish scheduled before a reset does not swallow the first asynchronous answer after it', async () => {
    // The device's deferred publishes run when the test says (the `schedule` option), not on the next turn.
    const tasks: (() => void)[] = [];
    const runTasks = (): void => { for (const t of tasks.splice(0)) t(); };
    const backend = new FaultyBackend(new MemoryBackend({ blocks: 64 }));
    const s = await stack({ backend, device: { schedule: (fn) => tasks.push(fn) } });
    const buf = s.alloc.alloc(512) as { addr: number; len: number };
    const first = s.driver.request({ type: T_IN, sector: 0n, data: [buf] });
    await until(() => tasks.length === 1); // answered, its publish scheduled and not yet run
    expect(await s.driver.restart()).toBeUndefined();
    expect(await first).toEqual({ kind: 'aborted', reason: 'device reset' });
    let second: BlkCompletion | undefined;
    backend.stall();
    void s.driver.request({ type: T_IN, sector: 1n, data: [buf] }).then((c) => { second = c; });
    await until(() => backend.stalledCount === 1);
    backend.release();
    await until(() => s.dev.inflight === 0); // answered (used entry pushed), before the old task runs
    await until(() => { runTasks(); return second !== undefined; }, 200);
    expect(second).toEqual({ kind: 'done', status: S_OK, len: 513 });
  });
});

describe('config space and config-change interrupts', () => {
  test('capacity change after a backend resize', () => {
    const backend = new MemoryBackend({ blocks: 64 });
    const r = rawRig({ backend });
    const gen = r.dev.configGeneration();
    backend.resize(128);
    r.dev.refreshCapacity();
    expect(r.irqs).toContainEqual({ kind: 'config' });
    expect(r.dev.configGeneration()).toBeGreaterThan(gen);
    expect(Buffer.from(r.dev.readConfig(0, 8)).toString('hex')).toBe('8000000000000000');
  });

  test('writeback: device-side change interrupts; driver write needs CONFIG_WCE', () => {
    const r = rawRig();
    expect(r.dev.readConfig(32, 1)[0]).toBe(1);
    r.dev.setWriteback(false);
    expect(r.dev.readConfig(32, 1)[0]).toBe(0);
    expect(r.irqs).toContainEqual({ kind: 'config' });
    r.dev.writeConfig(32, Uint8Array.of(1));
    expect(r.dev.readConfig(32, 1)[0]).toBe(1);
    const noWce = rawRig({ driverFeatures: ~featureMask(VIRTIO_BLK_F_CONFIG_WCE) });
    noWce.dev.writeConfig(32, Uint8Array.of(0));
    expect(noWce.dev.readConfig(32, 1)[0]).toBe(1);
  });

  /** Counts the writes the backend has taken and not yet flushed, and the flushes. */
  class FlushCounting extends MemoryBackend {
    unflushed = 0;
    flushes = 0;
    override writeSync(offset: number, src: Uint8Array, at: number, length: number): BackendStatus {
      this.unflushed++;
      return super.writeSync(offset, src, at, length);
    }
    override flush(): Promise<BackendStatus> {
      this.flushes++;
      this.unflushed = 0;
      return super.flush();
    }
  }

  /** One OUT of a sector; the backend's unflushed writes when it completed. */
  async function writeOne(r: RawRig, backend: FlushCounting): Promise<number> {
    const st = r.status();
    await r.run([rd(r.header(T_OUT, 0n)), rd(r.buf(512, 0x77)), wr(st)]);
    expect(r.mem.readU8(st.addr)).toBe(S_OK);
    return backend.unflushed;
  }

  test.each([
    ['CONFIG_WCE negotiated, FLUSH not', featureMask(VIRTIO_BLK_F_FLUSH)],
    ['neither CONFIG_WCE nor FLUSH', featureMask(VIRTIO_BLK_F_FLUSH, VIRTIO_BLK_F_CONFIG_WCE)],
  ])('without FLUSH negotiated (%s) the device is write-through: writeback 0, each write stable before it completes (§5.2.5.2, §5.2.6.2)', async (_name, off) => {
    const backend = new FlushCounting({ blocks: 64 });
    const r = rawRig({ backend, driverFeatures: ~off });
    expect(r.dev.readConfig(32, 1)[0]).toBe(0);
    expect(r.dev.writeback).toBe(false);
    expect(await writeOne(r, backend)).toBe(0);
    expect(backend.flushes).toBe(1);
    // Neither the driver (CONFIG_WCE) nor the device side can turn write-back on now.
    r.dev.writeConfig(32, Uint8Array.of(1));
    r.dev.setWriteback(true);
    expect(r.dev.readConfig(32, 1)[0]).toBe(0);
    expect(await writeOne(r, backend)).toBe(0);
    // A reset brings the default (write-back) back, for a driver that negotiates FLUSH.
    await r.dev.reset();
    expect(r.dev.readConfig(32, 1)[0]).toBe(1);
    r.dev.setStatus(1 | 2);
    r.dev.setDriverFeatures(r.dev.getDeviceFeatures());
    r.dev.setStatus(1 | 2 | FEATURES_OK);
    expect(r.dev.getStatus()).toBe(1 | 2 | FEATURES_OK);
    expect(r.dev.readConfig(32, 1)[0]).toBe(1);
  });

  test('in write-through mode DISCARD and WRITE_ZEROES are stable before they complete too; in write-back mode they wait for FLUSH', async () => {
    for (const writeback of [false, true]) {
      const backend = new FlushCounting({ blocks: 64 });
      const r = rawRig({ backend, writeback });
      for (const type of [T_DISCARD, T_WRITE_ZEROES]) {
        const flushes = backend.flushes;
        const payload = encodeDiscardSegments([{ sector: 0n, numSectors: 8, unmap: false }]);
        const seg = r.buf(payload.length);
        r.mem.copyIn(seg.addr, payload);
        const st = r.status();
        await r.run([rd(r.header(type, 0n)), rd(seg), wr(st)]);
        expect(r.mem.readU8(st.addr)).toBe(S_OK);
        expect(backend.flushes - flushes, `writeback ${writeback}, type ${type}`).toBe(writeback ? 0 : 1);
      }
    }
  });

  test('with FLUSH negotiated a write-back device leaves writes to FLUSH; CONFIG_WCE switches it to write-through', async () => {
    const backend = new FlushCounting({ blocks: 64 });
    const r = rawRig({ backend });
    expect(r.dev.readConfig(32, 1)[0]).toBe(1);
    expect(await writeOne(r, backend)).toBe(1);
    expect(backend.flushes).toBe(0);
    r.dev.writeConfig(32, Uint8Array.of(0));
    expect(await writeOne(r, backend)).toBe(0);
    r.dev.writeConfig(32, Uint8Array.of(1));
    expect(r.dev.readConfig(32, 1)[0]).toBe(1);
  });

  test('a device offering CONFIG_WCE without FLUSH is refused when made (§5.2.5.2); one offering neither is fine', () => {
    const memory = GuestMemory.create(1 << 16);
    const backend = new MemoryBackend({ blocks: 8 });
    const all = new VirtioBlkDevice({ memory, backend }).getDeviceFeatures();
    expect(() => new VirtioBlkDevice({ memory, backend, features: all & ~featureMask(VIRTIO_BLK_F_FLUSH) })).toThrow(/VIRTIO_BLK_F_CONFIG_WCE without VIRTIO_BLK_F_FLUSH/);
    const neither = new VirtioBlkDevice({ memory, backend, features: all & ~featureMask(VIRTIO_BLK_F_FLUSH, VIRTIO_BLK_F_CONFIG_WCE) });
    expect(neither.getDeviceFeatures() & featureMask(VIRTIO_BLK_F_FLUSH, VIRTIO_BLK_F_CONFIG_WCE)).toBe(0n);
  });

  test('reads past the config space are zero, never an exception', () => {
    const r = rawRig();
    expect([...r.dev.readConfig(70, 8)].slice(2)).toEqual([0, 0, 0, 0, 0, 0]);
    expect(r.dev.readConfig(-4, 2).length).toBe(2);
  });
});

describe('completing in the doorbell pass', () => {
  /** Adds `n` 512-byte reads, publishes them, rings once; returns their status buffers. */
  function batch(r: ReturnType<typeof rawRig>, n: number): { addr: number; len: number }[] {
    const statuses = [];
    for (let i = 0; i < n; i++) {
      const st = r.status();
      if (r.ring.add([rd(r.header(T_IN, BigInt(i))), wr(r.buf(512)), wr(st)], i + 1) === undefined) throw new Error('ring full');
      statuses.push(st);
    }
    r.ring.publish();
    r.dev.notify(0);
    return statuses;
  }

  test('a backend that completes at once (readSync): every request answered and published before notify returns, one interrupt', () => {
    const r = rawRig();
    const statuses = batch(r, 5);
    expect(r.used(0).idx).toBe(5);
    expect(statuses.map((st) => r.mem.readU8(st.addr))).toEqual([S_OK, S_OK, S_OK, S_OK, S_OK]);
    expect(r.irqs).toEqual([{ kind: 'queue', queue: 0 }]);
    expect(r.dev.interruptStats(0)).toEqual({ interrupted: 1, suppressed: 0 });
  });

  test('a backend without the synchronous forms: answered on a later turn, published once', async () => {
    const r = rawRig({ backend: new FaultyBackend(new MemoryBackend({ blocks: 64 })) });
    const statuses = batch(r, 5);
    expect(r.used(0).idx).toBe(0);
    expect(r.irqs).toEqual([]);
    await until(() => r.used(0).idx === 5);
    expect(statuses.map((st) => r.mem.readU8(st.addr))).toEqual([S_OK, S_OK, S_OK, S_OK, S_OK]);
    expect(r.irqs).toEqual([{ kind: 'queue', queue: 0 }]);
  });

  test('a synchronous backend whose syncReady says no: that request takes the asynchronous path, the next one the synchronous', async () => {
    const backend = new MemoryBackend({ blocks: 64 });
    let ready = false;
    const calls: string[] = [];
    const readSync = backend.readSync.bind(backend);
    Object.assign(backend, {
      syncReady: () => ready,
      readSync: (offset: number, dst: Uint8Array, at: number, length: number) => (calls.push('sync'), readSync(offset, dst, at, length)),
      read: (offset: number, dst: Uint8Array) => (calls.push('async'), Promise.resolve(readSync(offset, dst, 0, dst.length))),
    });
    const r = rawRig({ backend });
    const [first] = batch(r, 1);
    expect(r.used(0).idx).toBe(0);
    await until(() => r.used(0).idx === 1);
    ready = true;
    const [second] = batch(r, 1);
    expect(r.used(0).idx).toBe(2);
    expect([first, second].map((st) => r.mem.readU8(st?.addr ?? -1))).toEqual([S_OK, S_OK]);
    expect(calls).toEqual(['async', 'sync']);
  });

  test('a synchronous backend that throws is IOERR for that request, and the device keeps serving', async () => {
    const backend = new MemoryBackend({ blocks: 64 });
    const r = rawRig({ backend });
    backend.readSync = () => {
      throw new Error('bug in the backend');
    };
    const st = r.status();
    await r.run([rd(r.header(T_IN, 0n)), wr(r.buf(512)), wr(st)]);
    expect(r.mem.readU8(st.addr)).toBe(S_IOERR);
    const ok = r.status();
    await r.run([rd(r.header(T_OUT, 0n)), rd(r.buf(512)), wr(ok)]);
    expect(r.mem.readU8(ok.addr)).toBe(S_OK);
  });
});

describe('backend failures', () => {
  test('EIO on a chosen LBA range is IOERR for that request only', async () => {
    const backend = new FaultyBackend(new MemoryBackend({ blocks: 64 }));
    backend.failRange({ offset: 8 * 512, length: 512, ops: ['read'] });
    const r = rawRig({ backend });
    const bad = r.status(), good = r.status();
    await r.run([rd(r.header(T_IN, 8n)), wr(r.buf(512)), wr(bad)]);
    await r.run([rd(r.header(T_IN, 9n)), wr(r.buf(512)), wr(good)]);
    expect([r.mem.readU8(bad.addr), r.mem.readU8(good.addr)]).toEqual([S_IOERR, S_OK]);
  });
});

/**
 * A backend whose reads wait until the test lets each one go, in any order: a
 * device that completes out of order. It has no readSync, so the device takes
 * the asynchronous path and pushes each request used when its read finishes.
 */
class HeldReads implements BlockBackend {
  readonly inner: MemoryBackend;
  readonly #held: (() => void)[] = [];

  constructor(inner: MemoryBackend) {
    this.inner = inner;
  }

  get size(): number {
    return this.inner.size;
  }

  get readOnly(): boolean {
    return this.inner.readOnly;
  }

  /** Reads submitted so far (released or not). */
  get heldCount(): number {
    return this.#held.length;
  }

  read(offset: number, dst: Uint8Array): Promise<BackendStatus> {
    return new Promise((resolve) => {
      this.#held.push(() => { resolve(this.inner.read(offset, dst)); });
    });
  }

  /** Lets the `i`-th read submitted (from 0) do its I/O and complete. */
  release(i: number): void {
    const go = this.#held[i];
    if (go === undefined) throw new RangeError(`no read ${i}; ${this.#held.length} submitted`);
    go();
  }

  write(offset: number, src: Uint8Array): Promise<BackendStatus> {
    return this.inner.write(offset, src);
  }

  flush(): Promise<BackendStatus> {
    return this.inner.flush();
  }

  discard(offset: number, length: number): Promise<BackendStatus> {
    return this.inner.discard(offset, length);
  }

  writeZeroes(offset: number, length: number, unmap: boolean): Promise<BackendStatus> {
    return this.inner.writeZeroes(offset, length, unmap);
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}

/**
 * The used ring read as raw bytes at the offsets of VIRTIO 1.2 §2.7.8 (struct
 * virtq_used: le16 flags at +0, le16 idx at +2, ring[i] = { le32 id, le32 len }
 * at +4 + 8*i), not through the ring code under test.
 */
function usedRingBytes(r: RawRig): { idx: number; elem(i: number): { id: number; len: number } } {
  const v = new DataView(r.mem.buffer, r.addrs.used);
  return {
    idx: v.getUint16(2, true),
    elem: (i) => ({ id: v.getUint32(4 + 8 * i, true), len: v.getUint32(4 + 8 * i + 4, true) }),
  };
}

describe('completion order', () => {
  test('the second request finishing first is the first used entry (§2.7.8), and both complete OK with their own data', async () => {
    const inner = new MemoryBackend({ blocks: 64 });
    await inner.write(0, new Uint8Array(512).fill(0x11));
    await inner.write(512, new Uint8Array(512).fill(0x22));
    const backend = new HeldReads(inner);
    const r = rawRig({ backend });
    const first = r.buf(512), second = r.buf(512), stFirst = r.status(), stSecond = r.status();
    const headFirst = r.ring.add([rd(r.header(T_IN, 0n)), wr(first), wr(stFirst)], 1);
    const headSecond = r.ring.add([rd(r.header(T_IN, 1n)), wr(second), wr(stSecond)], 2);
    if (headFirst === undefined || headSecond === undefined) throw new Error('ring full');
    r.ring.publish();
    r.dev.notify(0);
    expect(backend.heldCount).toBe(2);

    backend.release(1);
    await until(() => usedRingBytes(r).idx === 1);
    expect(usedRingBytes(r).elem(0)).toEqual({ id: headSecond, len: 513 });
    expect(r.mem.readU8(stFirst.addr)).toBe(0xff);

    backend.release(0);
    await until(() => usedRingBytes(r).idx === 2);
    expect(usedRingBytes(r).elem(1)).toEqual({ id: headFirst, len: 513 });
    expect([r.mem.readU8(stFirst.addr), r.mem.readU8(stSecond.addr)]).toEqual([S_OK, S_OK]);
    expect(r.mem.view(first.addr, 512)?.every((x) => x === 0x11)).toBe(true);
    expect(r.mem.view(second.addr, 512)?.every((x) => x === 0x22)).toBe(true);
    // The driver side maps the ids back to the right requests, in used order.
    expect([r.ring.getUsed()?.token, r.ring.getUsed()?.token]).toEqual([2, 1]);
  });
});

/** A MemoryBackend that records every writeZeroes call. */
class ZeroesSpy extends MemoryBackend {
  readonly zeroes: { offset: number; length: number; unmap: boolean }[] = [];

  override writeZeroes(offset: number, length: number, unmap: boolean): Promise<BackendStatus> {
    this.zeroes.push({ offset, length, unmap });
    return super.writeZeroes(offset, length, unmap);
  }
}

describe('WRITE_ZEROES flags', () => {
  // struct virtio_blk_discard_write_zeroes (VIRTIO 1.2 §5.2.6): le64 sector, le32 num_sectors,
  // le32 flags with VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP in bit 0. Sectors 4–5 here.
  test.each([
    ['set', true, '0400000000000000' + '02000000' + '01000000'],
    ['clear', false, '0400000000000000' + '02000000' + '00000000'],
  ])('UNMAP %s reaches the backend as unmap=%s; the range reads back as zeros', async (_name, unmap, segment) => {
    const backend = new ZeroesSpy({ blocks: 64 });
    await backend.write(0, new Uint8Array(8 * 512).fill(7));
    const r = rawRig({ backend });
    const seg = r.buf(16);
    r.mem.copyIn(seg.addr, Buffer.from(segment, 'hex'));
    const st = r.status();
    expect(await r.run([rd(r.header(T_WRITE_ZEROES, 0n)), rd(seg), wr(st)])).toEqual({ len: 1 });
    expect(r.mem.readU8(st.addr)).toBe(S_OK);
    expect(backend.zeroes).toEqual([{ offset: 4 * 512, length: 2 * 512, unmap }]);
    // Read sectors 0–7 back through the device: each sector's bytes, all alike, as one value.
    const back = r.buf(8 * 512, 0xee), st2 = r.status();
    await r.run([rd(r.header(T_IN, 0n)), wr(back), wr(st2)]);
    expect(r.mem.readU8(st2.addr)).toBe(S_OK);
    const bytes = r.mem.view(back.addr, 8 * 512) ?? new Uint8Array();
    const sectors = Array.from({ length: 8 }, (_, i) => {
      const s = bytes.subarray(i * 512, (i + 1) * 512);
      return s.every((x) => x === s[0]) ? s[0] : 'mixed';
    });
    expect(sectors).toEqual([7, 7, 7, 7, 0, 0, 7, 7]);
  });
});
