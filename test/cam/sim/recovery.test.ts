// The vtblk SIM when things go wrong: a device holding ring descriptors
// (QUEUE FULL → CAM_REQUEUE_REQ), a stalled device (timeout → quarantine →
// reset → CMD_TIMEOUT once, REQUEUE_REQ for the rest, 29h/00h once), XPT_ABORT,
// XPT_RESET_DEV / XPT_RESET_BUS, a device that needs a reset or breaks the
// ring, config changes (capacity, read-only, write cache), and detach.

import { describe, expect, test } from 'vitest';
import { CamStatus } from '../../../src/cam/status.js';
import { AsyncCode } from '../../../src/cam/async.js';
import { CamDir, XptFunc, newCcb, newNexusLost, newScsiIo, newTaskSet, type AbortCcb, type Ccb, type ScsiIoCcb } from '../../../src/cam/ccb.js';
import { VIRTIO_BLK_DRIVER_FEATURES, VirtioBlkDriver } from '../../../src/virtio/blk-driver.js';
import { VIRTIO_F_INDIRECT_DESC, featureMask } from '../../../src/virtio/blk-features.js';
import { VIRTIO_BLK_T_IN } from '../../../src/virtio/blk-wire.js';
import { GuestMemory } from '../../../src/virtio/guest-memory.js';
import { GuestAllocator } from '../../../src/virtio/guest-allocator.js';
import { VirtioBlkDevice } from '../../../src/virtio/device/blk-device.js';
import { MemoryBackend } from '../../../src/virtio/device/backends/memory.js';
import { FaultyBackend } from '../../../src/virtio/device/backends/faulty.js';
import { LocalTransport } from '../../../src/virtio/transport/local.js';
import type { VirtioInterrupt } from '../../../src/virtio/transport/transport.js';
import { VtblkSim } from '../../../src/cam/sim/vtblk/sim.js';
import { FakeHandle, bytes, hex, pattern, rig, senseOf, turns, until, type Rig } from './harness.js';

const DIRECT = VIRTIO_BLK_DRIVER_FEATURES & ~featureMask(VIRTIO_F_INDIRECT_DESC);
const TUR = '00 00 00 00 00 00';
const DEVICE = { bus: 0, target: 0, lun: 0 };
const BUS = { bus: 0, target: -1, lun: -1 };
const read10 = (lba: number, blocks: number): string => hex(Uint8Array.of(0x28, 0, 0, 0, lba >> 8, lba & 0xff, 0, 0, blocks, 0));
const write10 = (lba: number, blocks: number): string => `2a${read10(lba, blocks).slice(2)}`;

/** Starts a CCB without waiting for it. */
function launch(r: Rig, c: Ccb): void {
  r.sim.action(c);
}

/** An XPT_ABORT CCB for `target`. */
function abortOf(target: Ccb): AbortCcb {
  return { ...newCcb(XptFunc.NOOP, DEVICE), func: XptFunc.ABORT, abort: target };
}

/**
 * Someone else's requests a device sits on: its backend stalled, five one-segment READs of the driver's own,
 * 3 of 16 descriptors each (queue 16, direct descriptors), all at the backend when this resolves.
 */
async function holdDescriptors(r: Rig): Promise<Promise<unknown>[]> {
  const buf = r.stack.allocator.alloc(512) as { addr: number; len: number };
  r.backend.stall();
  const foreign = Array.from({ length: 5 }, () => r.stack.driver.request({ type: VIRTIO_BLK_T_IN, sector: 0n, data: [buf] }));
  await until(() => r.backend.stalledCount === 5);
  return foreign;
}

/** Expects exactly one unit attention `asc/ascq` on the next command, then GOOD. */
async function expectUnitAttentionOnce(r: Rig, asc: number, ascq: number): Promise<void> {
  expect(senseOf(await r.run(TUR))).toEqual({ key: 0x06, asc, ascq });
  expect((await r.run(TUR)).status).toBe(CamStatus.REQ_CMP);
}

describe('ring full from the device side', () => {
  test('a device holding descriptors → REQUEUE_REQ with TASK SET FULL, nothing executed; room again → it runs', async () => {
    const r = await rig({ queueSize: 16, features: DIRECT });
    const d = r.stack.driver;
    const foreign = await holdDescriptors(r);
    expect(d.freeDescriptors()).toBe(1);
    const c = await r.run(read10(0, 1), { dataIn: 512 });
    expect(c.status).toBe(CamStatus.REQUEUE_REQ);
    expect(c.scsiStatus).toBe(0x28); // TASK SET FULL
    expect(c.dataIn).toBeUndefined();
    expect(r.backend.stats.read).toBe(5);
    expect(d.inFlight()).toBe(5);
    expect(r.sim.activeCount).toBe(0);
    // A command that never touches the ring is not held up.
    expect((await r.run('12 00 00 00 24 00', { dataIn: 36 })).status).toBe(CamStatus.REQ_CMP);
    // One foreign request done: 4 free, still fewer than expected, but room for a 3-descriptor READ.
    r.backend.release(1);
    await foreign[0];
    expect(d.freeDescriptors()).toBe(4);
    const again = r.ccb(read10(0, 1), { dataIn: 512 });
    const done = r.start(again);
    await until(() => r.backend.stalledCount === 5, 'the READ reached the backend');
    r.backend.release();
    expect((await done).status).toBe(CamStatus.REQ_CMP);
    await Promise.all(foreign);
  });
});

describe('timeout recovery', () => {
  test('stalled device: the timed-out CCB waits in quarantine until the reset, then CMD_TIMEOUT once; the rest REQUEUE_REQ; 29h/00h once', async () => {
    const r = await rig({ queueSize: 16 });
    await r.disk.write(0, pattern(16, 512, 4));
    expect((await r.run(TUR)).status).toBe(CamStatus.REQ_CMP);
    // Guest memory in use, not counting freed data buffers the SIM keeps as spares.
    const inUse = (): number => r.stack.allocator.liveCount - r.sim.bcs.spareBuffers;
    const baseline = inUse();
    r.backend.stall();
    const a = r.ccb(read10(0, 1), { dataIn: 512 });
    const b = r.ccb(write10(8, 2), { dataOut: pattern(2, 512, 9) });
    launch(r, a);
    launch(r, b);
    await until(() => r.backend.stalledCount === 2);
    const held = inUse();
    expect(held).toBeGreaterThan(baseline);
    // Active too, but answered by the unit without the ring while the reset is under way.
    const c = r.ccb('12 00 00 00 24 00', { dataIn: 36 });
    launch(r, c);
    r.sim.timeout(a);
    await turns();
    // The device still owns the buffers: nothing completed, nothing freed, the SIM queue frozen.
    expect(r.handle.count(a) + r.handle.count(b) + r.handle.count(c)).toBe(0);
    expect(inUse()).toBe(held);
    expect(r.handle.simFrozen).toBe(1);
    // New work meanwhile is sent back to be re-issued.
    const late = await r.run(read10(0, 1), { dataIn: 512 });
    expect(late.status).toBe(CamStatus.REQUEUE_REQ);
    r.backend.release();
    await until(() => r.handle.count(a) === 1 && r.handle.count(b) === 1, 'recovery');
    expect(a.status).toBe(CamStatus.CMD_TIMEOUT);
    expect(b.status).toBe(CamStatus.REQUEUE_REQ);
    // Captured by the recovery, so re-issued rather than answered mid-reset.
    expect([r.handle.count(c), c.status, c.dataIn]).toEqual([1, CamStatus.REQUEUE_REQ, undefined]);
    const order = r.handle.completions.map((x) => x.ccb).filter((x) => x === a || x === b || x === c);
    expect(order).toEqual([a, b, c]);
    expect(r.handle.events).toEqual([{ code: AsyncCode.BUS_RESET, path: BUS, arg: undefined }]);
    expect(r.handle.simFrozen).toBe(0);
    // The emulator's late answers for a and b are dropped.
    await turns();
    expect(r.handle.count(a)).toBe(1);
    expect(r.handle.count(b)).toBe(1);
    expect(r.sim.activeCount).toBe(0);
    await expectUnitAttentionOnce(r, 0x29, 0x00);
    // The XPT re-issues b; the unit works again.
    r.handle.reissued.add(b);
    expect((await r.start(b)).status).toBe(CamStatus.REQ_CMP);
    const back = await r.run(read10(8, 2), { dataIn: 1024 });
    expect(back.dataIn).toEqual(pattern(2, 512, 9));
    expect(inUse()).toBe(baseline);
  });

  test('a CCB still waiting for guest memory when the reset starts never reaches the device that comes back', async () => {
    const r = await rig({ memorySize: 1 << 20 });
    // Guest memory for exactly one 64 KiB transfer.
    expect(r.stack.allocator.alloc(r.stack.allocator.freeBytes - 64 * 1024 - 512, 1)).toBeDefined();
    r.backend.stall();
    const a = r.ccb('2a 00 00 00 00 00 00 00 80 00', { dataOut: pattern(128, 512, 1) });
    const b = r.ccb('2a 00 00 00 01 00 00 00 80 00', { dataOut: pattern(128, 512, 2) });
    launch(r, a);
    launch(r, b);
    await until(() => r.backend.stalledCount === 1);
    r.sim.timeout(a);
    r.backend.release();
    await until(() => r.handle.count(a) === 1 && r.handle.count(b) === 1);
    await turns();
    expect([a.status, b.status]).toEqual([CamStatus.CMD_TIMEOUT, CamStatus.REQUEUE_REQ]);
    expect(r.backend.stats.write).toBe(1);
  });

  test('timeout of a CCB that already completed does nothing', async () => {
    const r = await rig();
    const c = await r.run(read10(0, 1), { dataIn: 512 });
    r.sim.timeout(c);
    await turns();
    expect(r.handle.simFrozen).toBe(0);
    expect(r.handle.events).toEqual([]);
    expect(r.handle.count(c)).toBe(1);
  });

  test('a second timeout during the recovery is folded into it: both CMD_TIMEOUT, one reset, one unit attention', async () => {
    const r = await rig();
    expect((await r.run(TUR)).status).toBe(CamStatus.REQ_CMP);
    r.backend.stall();
    const a = r.ccb(read10(0, 1), { dataIn: 512 });
    const b = r.ccb(read10(1, 1), { dataIn: 512 });
    launch(r, a);
    launch(r, b);
    await until(() => r.backend.stalledCount === 2);
    r.sim.timeout(a);
    r.sim.timeout(b);
    r.backend.release();
    await until(() => r.handle.count(a) === 1 && r.handle.count(b) === 1);
    expect([a.status, b.status]).toEqual([CamStatus.CMD_TIMEOUT, CamStatus.CMD_TIMEOUT]);
    expect(r.handle.events.length).toBe(1);
    await expectUnitAttentionOnce(r, 0x29, 0x00);
  });
});

describe('abort and resets', () => {
  test('XPT_ABORT of an active CCB: the device is reset, the CCB CAM_REQ_ABORTED, the abort CAM_REQ_CMP, AC_SENT_BDR', async () => {
    const r = await rig();
    expect((await r.run(TUR)).status).toBe(CamStatus.REQ_CMP);
    r.backend.stall();
    const a = r.ccb(read10(0, 1), { dataIn: 512 });
    launch(r, a);
    await until(() => r.backend.stalledCount === 1);
    const ab = abortOf(a);
    const aborted = r.handle.next(ab);
    r.sim.action(ab);
    r.backend.release();
    await aborted;
    expect(a.status).toBe(CamStatus.REQ_ABORTED);
    expect(ab.status).toBe(CamStatus.REQ_CMP);
    expect(r.handle.completions.map((c) => c.ccb).slice(-2)).toEqual([a, ab]);
    expect(r.handle.events).toEqual([{ code: AsyncCode.SENT_BDR, path: DEVICE, arg: undefined }]);
    await expectUnitAttentionOnce(r, 0x29, 0x00);
  });

  test('XPT_ABORT of a CCB the SIM does not hold → CAM_UA_ABORT, no reset', async () => {
    const r = await rig();
    const done = await r.run(TUR);
    const ab = abortOf(done);
    const finished = r.handle.next(ab);
    r.sim.action(ab);
    await finished;
    expect(ab.status).toBe(CamStatus.UA_ABORT);
    expect(r.handle.events).toEqual([]);
    expect(r.handle.maxSimFrozen).toBe(0);
  });

  test('XPT_ABORT of a CCB handed back unstarted (TASK SET FULL): CAM_REQ_ABORTED, not re-issued, nothing written; the abort CAM_REQ_CMP after it, no reset', async () => {
    const r = await rig({ queueSize: 16, features: DIRECT });
    const foreign = await holdDescriptors(r);
    const w = r.ccb(write10(4, 1), { dataOut: pattern(1, 512) });
    const written = r.handle.next(w);
    launch(r, w);
    // Handed back: its completion runs on a later turn. The abort comes first.
    const ab = abortOf(w);
    const aborted = r.handle.next(ab);
    r.sim.action(ab);
    await Promise.all([written, aborted]);
    expect([w.status & 0x3f, ab.status]).toEqual([CamStatus.REQ_ABORTED, CamStatus.REQ_CMP]);
    expect(r.handle.completions.map((c) => c.ccb)).toEqual([w, ab]);
    expect(r.handle.events).toEqual([]);
    expect(r.handle.maxSimFrozen).toBe(0);
    r.backend.release();
    await Promise.all(foreign);
    await turns();
    expect(r.handle.count(w)).toBe(1);
    expect(r.backend.stats.write).toBe(0);
    const back = new Uint8Array(512).fill(0xee);
    await r.disk.read(4 * 512, back);
    expect(back).toEqual(new Uint8Array(512));
  });

  test('XPT_RESET_DEV → 29h/03h BUS DEVICE RESET FUNCTION OCCURRED and AC_SENT_BDR; mode parameters back to defaults', async () => {
    const r = await rig();
    expect((await r.run(TUR)).status).toBe(CamStatus.REQ_CMP);
    // D_SENSE on (Control mode page), then the reset must turn it off again.
    const control = '00 00 00 00 0a 0a 06 10 00 00 00 00 00 00 00 00';
    expect((await r.run('15 10 00 00 10 00', { dataOut: bytes(control) })).status).toBe(CamStatus.REQ_CMP);
    const reset = newCcb(XptFunc.RESET_DEV, DEVICE);
    const done = r.handle.next(reset);
    r.sim.action(reset);
    await done;
    expect(reset.status).toBe(CamStatus.REQ_CMP);
    expect(r.handle.events).toEqual([{ code: AsyncCode.SENT_BDR, path: DEVICE, arg: undefined }]);
    await expectUnitAttentionOnce(r, 0x29, 0x03); // fixed format again: D_SENSE is off
  });

  // WRITE (10) takes the emulator's fast path; with FUA (byte 1 bit 3) the generic command steps.
  test.each([
    ['WRITE (10)', write10(4, 2)],
    ['WRITE (10) FUA', `2a 08${write10(4, 2).slice(5)}`],
  ])('%s the reset gave back runs again as the command it was: GOOD, its data there; 29h/03h waits for the next command, once', async (_, cdb) => {
    const r = await rig();
    expect((await r.run(TUR)).status).toBe(CamStatus.REQ_CMP);
    r.backend.stall();
    const data = pattern(2, 512, 7);
    const w = r.ccb(cdb, { dataOut: data });
    expect(w.reissued).toBe(false);
    launch(r, w);
    await until(() => r.backend.stalledCount === 1);
    const reset = newCcb(XptFunc.RESET_DEV, DEVICE);
    const done = r.handle.next(reset);
    r.sim.action(reset);
    r.backend.release();
    await done;
    expect([w.status, w.reissued]).toEqual([CamStatus.REQUEUE_REQ, true]);
    // The XPT issues it again before the initiator's next command: it was received before the reset.
    r.handle.reissued.add(w);
    const again = await r.start(w);
    expect([again.status, again.scsiStatus, again.resid]).toEqual([CamStatus.REQ_CMP, 0, 0]);
    await expectUnitAttentionOnce(r, 0x29, 0x03);
    expect((await r.run(read10(4, 2), { dataIn: 1024 })).dataIn).toEqual(data);
  });

  test('XPT_RESET_BUS → 29h/00h and AC_BUS_RESET on the whole bus; in-flight CCBs REQUEUE_REQ', async () => {
    const r = await rig();
    expect((await r.run(TUR)).status).toBe(CamStatus.REQ_CMP);
    r.backend.stall();
    const a = r.ccb(read10(0, 1), { dataIn: 512 });
    launch(r, a);
    await until(() => r.backend.stalledCount === 1);
    const reset = newCcb(XptFunc.RESET_BUS, DEVICE);
    const done = r.handle.next(reset);
    r.sim.action(reset);
    r.backend.release();
    await done;
    expect(a.status).toBe(CamStatus.REQUEUE_REQ);
    expect(r.handle.events).toEqual([{ code: AsyncCode.BUS_RESET, path: BUS, arg: undefined }]);
    await expectUnitAttentionOnce(r, 0x29, 0x00);
  });
});

describe('a device that needs a reset or breaks the ring', () => {
  test('DEVICE_NEEDS_RESET: the SIM resets it on its own; in-flight CCBs REQUEUE_REQ; 29h/00h', async () => {
    const r = await rig();
    expect((await r.run(TUR)).status).toBe(CamStatus.REQ_CMP);
    r.backend.stall();
    const a = r.ccb(read10(0, 1), { dataIn: 512 });
    launch(r, a);
    await until(() => r.backend.stalledCount === 1);
    // An invalid queue size makes the device set DEVICE_NEEDS_RESET and raise a config interrupt.
    r.stack.device.enableQueue(0, 3, { desc: 0, avail: 0, used: 0 });
    expect(r.stack.driver.broken).toMatch(/needs a reset/);
    expect(r.handle.simFrozen).toBe(1);
    r.backend.release();
    await until(() => r.handle.count(a) === 1);
    expect(a.status).toBe(CamStatus.REQUEUE_REQ);
    expect(r.handle.events).toEqual([{ code: AsyncCode.BUS_RESET, path: BUS, arg: undefined }]);
    expect(r.stack.driver.broken).toBeUndefined();
    await expectUnitAttentionOnce(r, 0x29, 0x00);
    expect((await r.run(read10(0, 1), { dataIn: 512 })).status).toBe(CamStatus.REQ_CMP);
  });

  test('a used id the driver never handed out: the CCB fails UNREC_HBA_ERROR, its buffer stays quarantined until the reset', async () => {
    class SpyTransport extends LocalTransport {
      handler: ((irq: VirtioInterrupt) => void) | undefined;
      override onInterrupt(handler: (irq: VirtioInterrupt) => void): void {
        this.handler = handler;
        super.onInterrupt(handler);
      }
    }
    const backend = new FaultyBackend(new MemoryBackend({ blocks: 64 }));
    const memory = GuestMemory.create(1 << 22);
    const allocator = new GuestAllocator(0, memory.size);
    const transport = new SpyTransport(new VirtioBlkDevice({ memory, backend }));
    const driver = await VirtioBlkDriver.attach({ transport, allocator, queueSize: 8 });
    if (!(driver instanceof VirtioBlkDriver)) throw new Error(driver.reason);
    const sim = await VtblkSim.create({ driver, memory, allocator }, { emulator: { powerOnUnitAttention: false } });
    const handle = new FakeHandle();
    sim.bind(handle);
    const run = async (c: ScsiIoCcb): Promise<ScsiIoCcb> => {
      const done = handle.next(c);
      sim.action(c);
      await done;
      return c;
    };
    expect((await run(scsiIo(TUR, 0))).status).toBe(CamStatus.REQ_CMP);
    backend.stall();
    const a = scsiIo(read10(0, 1), 512);
    const done = handle.next(a);
    sim.action(a);
    await until(() => backend.stalledCount === 1);
    // Forge the next used element {id 7, len 1} and bump used.idx (the used ring follows desc and avail from address 0).
    const used = Math.ceil((16 * 8 + 4 + 2 * 8 + 2) / 4) * 4;
    const idx = memory.readU16(used + 2) ?? 0;
    memory.writeU32(used + 4 + 8 * (idx % 8), 7);
    memory.writeU32(used + 8 + 8 * (idx % 8), 1);
    memory.writeU16(used + 2, idx + 1);
    transport.handler?.({ kind: 'queue', queue: 0 });
    await done;
    expect(a.status).toBe(CamStatus.UNREC_HBA_ERROR);
    expect(sim.bcs.quarantined).toBe(1);
    expect(handle.simFrozen).toBe(1);
    backend.release();
    await until(() => handle.simFrozen === 0, 'recovery');
    expect(sim.bcs.quarantined).toBe(0);
    expect(handle.events).toEqual([{ code: AsyncCode.BUS_RESET, path: BUS, arg: undefined }]);
    const ua = await run(scsiIo(TUR, 0));
    expect(ua.sense?.[12]).toBe(0x29);
    expect((await run(scsiIo(read10(0, 1), 512))).status).toBe(CamStatus.REQ_CMP);
  });
});

/** An XPT_SCSI_IO CCB for 0:0:0 outside a rig. */
function scsiIo(cdb: string, dataIn: number): ScsiIoCcb {
  return newScsiIo({ path: DEVICE, cdb: bytes(cdb), dir: dataIn > 0 ? CamDir.IN : CamDir.NONE, dataInLength: dataIn });
}

describe('a device that does not come back', () => {
  test('re-initialisation fails: in-flight CCBs DEV_NOT_THERE, the reset CCB REQ_CMP_ERR, AC_LOST_DEVICE; then everything DEV_NOT_THERE', async () => {
    const r = await rig();
    r.backend.stall();
    const a = r.ccb(read10(0, 1), { dataIn: 512 });
    launch(r, a);
    await until(() => r.backend.stalledCount === 1);
    // From now on the device refuses FEATURES_OK (§3.1.1 step 6), so the driver cannot initialise it again.
    const t = r.stack.transport;
    const setStatus = t.setStatus.bind(t);
    t.setStatus = (status: number): void => {
      setStatus(status & ~0x08);
    };
    const reset = newCcb(XptFunc.RESET_DEV, DEVICE);
    const done = r.handle.next(reset);
    r.sim.action(reset);
    r.backend.release();
    await done;
    expect(reset.status).toBe(CamStatus.REQ_CMP_ERR);
    expect([a.status, r.handle.count(a)]).toEqual([CamStatus.DEV_NOT_THERE, 1]);
    expect(r.handle.events).toEqual([{ code: AsyncCode.LOST_DEVICE, path: DEVICE, arg: expect.stringMatching(/FEATURES_OK/) as unknown }]);
    expect(r.handle.simFrozen).toBe(0);
    expect((await r.run(TUR)).status).toBe(CamStatus.DEV_NOT_THERE);
    await r.sim.detach();
  });
});

describe('config changes', () => {
  test('capacity change → CAPACITY DATA HAS CHANGED 2Ah/09h once and AC_GETDEV_CHANGED; READ CAPACITY sees it', async () => {
    const r = await rig({ blocks: 1024 });
    expect((await r.run(TUR)).status).toBe(CamStatus.REQ_CMP);
    r.disk.resize(4096);
    r.stack.device.refreshCapacity();
    expect(r.handle.events).toEqual([{ code: AsyncCode.GETDEV_CHANGED, path: DEVICE, arg: undefined }]);
    await expectUnitAttentionOnce(r, 0x2a, 0x09);
    const cap = await r.run('25 00 00 00 00 00 00 00 00 00', { dataIn: 8 });
    expect(hex(cap.dataIn)).toBe('00 00 0f ff 00 00 02 00');
    expect((await r.run(read10(4000, 1), { dataIn: 512 })).status).toBe(CamStatus.REQ_CMP);
  });

  test('read-only flip → 2Ah/01h, AC_GETDEV_CHANGED, writes DATA PROTECT 27h/00h, WP in MODE SENSE; and back', async () => {
    const r = await rig();
    expect((await r.run(TUR)).status).toBe(CamStatus.REQ_CMP);
    r.stack.device.setReadOnly(true);
    expect(r.handle.events).toEqual([{ code: AsyncCode.GETDEV_CHANGED, path: DEVICE, arg: undefined }]);
    await expectUnitAttentionOnce(r, 0x2a, 0x01);
    const w = await r.run(write10(0, 1), { dataOut: pattern(1, 512) });
    expect(senseOf(w)).toEqual({ key: 0x07, asc: 0x27, ascq: 0x00 });
    expect(r.backend.stats.write).toBe(0);
    const ms = await r.run('1a 08 08 00 ff 00', { dataIn: 255 });
    expect((ms.dataIn?.[2] ?? 0) & 0x80).toBe(0x80); // DEVICE-SPECIFIC PARAMETER: WP
    r.stack.device.setReadOnly(false);
    await expectUnitAttentionOnce(r, 0x2a, 0x01);
    expect((await r.run(write10(0, 1), { dataOut: pattern(1, 512) })).status).toBe(CamStatus.REQ_CMP);
  });

  test('the device switching its write cache → MODE PARAMETERS CHANGED and AC_GETDEV_CHANGED', async () => {
    const r = await rig();
    expect((await r.run(TUR)).status).toBe(CamStatus.REQ_CMP);
    r.stack.device.setWriteback(false);
    expect(r.handle.events.map((e) => e.code)).toEqual([AsyncCode.GETDEV_CHANGED]);
    await expectUnitAttentionOnce(r, 0x2a, 0x01);
    // Caching mode page (DBD): WCE (page byte 2 bit 2) is off now.
    const ms = await r.run('1a 08 08 00 ff 00', { dataIn: 255 });
    expect(hex(ms.dataIn?.subarray(4, 7))).toBe('08 12 00');
  });
});

describe('detach', () => {
  test('every active CCB completes DEV_NOT_THERE exactly once, at once; the driver is closed; guest memory all returned', async () => {
    const r = await rig();
    r.backend.stall();
    const ccbs = [r.ccb(read10(0, 1), { dataIn: 512 }), r.ccb(write10(4, 1), { dataOut: pattern(1, 512) }), r.ccb('35 00 00 00 00 00 00 00 00 00')];
    for (const c of ccbs) launch(r, c);
    await until(() => r.backend.stalledCount === 3);
    const detached = r.sim.detach();
    for (const c of ccbs) expect([r.handle.count(c), c.status]).toEqual([1, CamStatus.DEV_NOT_THERE]);
    const after = await r.run(TUR);
    expect(after.status).toBe(CamStatus.DEV_NOT_THERE);
    r.backend.release();
    await detached;
    await turns();
    for (const c of ccbs) expect(r.handle.count(c)).toBe(1);
    expect(r.stack.driver.broken).toBe('driver closed');
    expect(r.stack.allocator.liveCount).toBe(0);
    // The XPT may still read the budget and costs (stats) with the queues gone.
    expect(r.sim.capacity()).toBe(64 - 2);
    expect(r.sim.cost(r.ccb(read10(0, 8)))).toBe(1);
    expect(r.sim.pathInq().openings).toBe(62);
    await r.sim.detach();
  });

  test('detach during a recovery: the captured CCBs complete DEV_NOT_THERE once, the freeze is dropped', async () => {
    const r = await rig();
    r.backend.stall();
    const a = r.ccb(read10(0, 1), { dataIn: 512 });
    launch(r, a);
    await until(() => r.backend.stalledCount === 1);
    r.sim.timeout(a);
    const reset = newCcb(XptFunc.RESET_DEV, DEVICE);
    r.sim.action(reset);
    const detached = r.sim.detach();
    expect([a.status, r.handle.count(a)]).toEqual([CamStatus.DEV_NOT_THERE, 1]);
    expect([reset.status, r.handle.count(reset)]).toEqual([CamStatus.DEV_NOT_THERE, 1]);
    r.backend.release();
    await detached;
    await turns();
    expect(r.handle.count(a)).toBe(1);
    expect(r.handle.count(reset)).toBe(1);
    expect(r.handle.simFrozen).toBe(0);
    expect(r.handle.events).toEqual([]);
  });

  test('CCBs the SIM owes a completion on a later turn complete DEV_NOT_THERE once, at once; that turn then does nothing', async () => {
    const r = await rig();
    r.backend.stall();
    const a = r.ccb(read10(0, 1), { dataIn: 512 });
    launch(r, a);
    await until(() => r.backend.stalledCount === 1);
    r.sim.timeout(a);
    // Each answered on a later turn: a CCB handed back during the recovery (CAM_REQUEUE_REQ), XPT_PATH_INQ,
    // XPT_IT_NEXUS_LOST, a LUN the SIM lacks, and an XPT_ABORT_TASK_SET waiting for the captured CCB it aborts.
    const owed: Ccb[] = [
      r.ccb(read10(8, 1), { dataIn: 512 }),
      { ...newCcb(XptFunc.NOOP, DEVICE), func: XptFunc.PATH_INQ, result: undefined },
      newNexusLost(DEVICE, 'iqn.gone'),
      newScsiIo({ path: { ...DEVICE, lun: 1 }, cdb: bytes(TUR), dir: CamDir.NONE }),
      newTaskSet(XptFunc.ABORT_TASK_SET, DEVICE, 'cam'),
    ];
    for (const c of owed) r.sim.action(c);
    const detached = r.sim.detach();
    for (const c of [a, ...owed]) expect([r.handle.count(c), c.status & 0x3f]).toEqual([1, CamStatus.DEV_NOT_THERE]);
    r.backend.release();
    await detached;
    await turns();
    for (const c of [a, ...owed]) expect(r.handle.count(c)).toBe(1);
  });
});
