// Issue 4 faults through the whole stack, device side (createStack over the
// fault rig), each with exact outcomes:
// - ring-full from a device that holds descriptors behind the SIM's back:
//   CAM_REQUEUE_REQ / QUEUE FULL, openings shrink and grow back, nothing lost;
// - capacity change mid-run: 2Ah/09h, AC_GETDEV_CHANGED, da.capacity follows;
//   and during a device reset (the recovery posts AC_GETDEV_CHANGED);
// - read-only flip: DATA PROTECT 07h/27h/00h on writes, reads fine, and back.

import { describe, expect, test } from 'vitest';
import { VIRTIO_BLK_T_IN } from '../../src/virtio/blk-wire.js';
import { AsyncCode } from '../../src/cam/async.js';
import type { CamDeviceInfo } from '../../src/cam/xpt/periph-api.js';
import type { SenseData } from '../../src/scsi/sense.js';
import { QueueWatch, drainUnitAttentions, rw10, senseTriple, stamp, turns, until, watchSimDispatches } from './helpers.js';
import {
  AUTOSNS_VALID,
  BS,
  CHECK_CONDITION,
  CMD_TIMEOUT,
  DEV_QFRZN,
  DIRECT,
  REQ_ABORTED,
  REQ_CMP,
  SCSI_STATUS_ERROR,
  camErrorOf,
  dispatchesOf,
  expectIdle,
  fill,
  rig,
  triple,
} from './fault-rig.js';

describe('ring full from a device that holds descriptors', () => {
  test('QUEUE FULL / CAM_REQUEUE_REQ: openings shrink while the holder sits on its descriptors, grow back after, nothing lost', async () => {
    const r = await rig(65_536, { features: DIRECT, xpt: { tuning: { growAfter: 4 } } });
    const da = r.stack.da(0);
    const driver = r.stack.virtio.driver;
    const capacity = r.stack.stats(0).capacity;
    expect(capacity).toBe(60); // 64 descriptors minus two flushes' worth (2 × 2)
    // Someone else's requests, past block 60000, that the device sits on: 18 × 3 = 54 descriptors.
    r.probe.holdIf = (op) => op.offset >= 60_000 * BS;
    const buf = r.stack.virtio.allocator.alloc(BS);
    if (buf === undefined) throw new Error('no guest memory');
    const foreign = Array.from({ length: 18 }, (_, i) => driver.request({ type: VIRTIO_BLK_T_IN, sector: BigInt(60_000 + i), data: [buf] }));
    await until(() => r.probe.heldCount === 18, 'foreign requests at the device');
    expect(driver.freeDescriptors()).toBe(10);

    const watch = new QueueWatch(r.stack, false);
    const sim = watchSimDispatches(r.stack);
    const run = (n: number, base: number): Promise<void>[] =>
      Array.from({ length: n }, (_, i) => {
        const lba = base + i * 8;
        const data = stamp(lba, 8, BS, base + i);
        return da
          .write(BigInt(lba), data)
          .then(() => {
            r.shadow.write(lba, data);
            return da.read(BigInt(lba), 8);
          })
          .then((got) => {
            expect(r.shadow.mismatch(lba, got)).toBeUndefined();
          })
          .finally(() => {
            watch.sample();
          });
      });
    const during = run(200, 0);
    // While the holder sits, 3 of our 3-descriptor requests fit in the 10 free descriptors: openings shrink
    // to 3 on QUEUE FULL, and try 4 again after every 4 successes.
    await until(() => r.stack.stats(0).tagLimit < capacity, 'openings shrink');
    await turns(200);
    const squeezed = r.stack.stats(0);
    expect(squeezed.tagLimit).toBeLessThanOrEqual(4);
    expect(squeezed.active).toBeLessThanOrEqual(4);
    expect(r.probe.heldCount).toBe(18);
    // The SIM sent CCBs back CAM_REQUEUE_REQ with TASK SET FULL (28h); the XPT re-issued them, da never saw them fail.
    expect(sim.redispatches).toBeGreaterThan(0);
    expect([...sim.requeuedWith.keys()]).toEqual([0x28]);
    expect(r.ledger.byStatus.get(SCSI_STATUS_ERROR)).toBeUndefined();

    // The holder lets go: its requests complete, everything of ours completes.
    r.probe.releaseHeld();
    r.probe.holdIf = undefined;
    expect((await Promise.all(foreign)).map((c) => c.kind)).toEqual(Array.from({ length: 18 }, () => 'done'));
    r.stack.virtio.allocator.free(buf.addr);
    await Promise.all(during);
    // Openings grow back (one per 4 successes) to the whole budget.
    await Promise.all(run(400, 20_000));
    const after = r.stack.stats(0);
    expect(after.tagLimit).toBe(capacity);
    expect(watch.minTagLimit).toBe(3);
    // And the whole budget is used again: 20 CCBs of 3 descriptors.
    expect(watch.maxActive).toBe(20);
    expect(watch.violations).toEqual([]);
    expect(r.ledger.doubles).toBe(0);
    expect(r.ledger.completions).toBe(r.ledger.actions);
    expect(r.ledger.byStatus.get(REQ_CMP)).toBe(r.ledger.actions);
    expectIdle(r.stack);
    await r.stack.close();
  });
});

describe('SEND DIAGNOSTIC self-tests in a full ring', () => {
  test('their reads are charged: the ring never holds more than the budget, nothing waits for ring room, all complete GOOD', async () => {
    const r = await rig(65_536, { features: DIRECT });
    const driver = r.stack.virtio.driver;
    const { capacity } = r.stack.stats(0);
    expect(capacity).toBe(60); // 64 descriptors minus two flushes' worth (2 × 2)
    const watch = new QueueWatch(r.stack);
    let maxInRing = 0;
    const sample = (): void => {
      watch.sample();
      maxInRing = Math.max(maxInRing, driver.queueSize(0) - driver.freeDescriptors());
    };
    r.faulty.stall();
    // 20 one-block READs of 3 descriptors fill the budget; each self-test reads LBA 0 and the last LBA (SPC-5).
    const pass = r.stack.pass(0);
    const reads = Array.from({ length: 20 }, (_, i) => pass.scsi({ cdb: rw10('read', i, 1), direction: 'in', length: BS }));
    const selfTests = Array.from({ length: 3 }, () => pass.scsi({ cdb: Uint8Array.of(0x1d, 0x04, 0, 0, 0, 0), direction: 'none' }));
    await until(() => r.faulty.stalledCount >= 20, 'the READs at the backend');
    await turns(20);
    sample();
    expect(r.stack.stats(0).charged).toBe(capacity);
    // Let the device go one operation at a time, sampling between.
    for (let i = 0; i < 500 && r.ledger.completions < r.ledger.actions; i++) {
      r.faulty.release(1);
      await turns(2);
      sample();
    }
    r.faulty.release();
    const all = await Promise.all([...reads, ...selfTests]);
    expect(all.map((x) => x.camStatus & 0x3f)).toEqual(all.map(() => REQ_CMP));
    expect(maxInRing).toBeLessThanOrEqual(capacity);
    expect(watch.violations).toEqual([]);
    expectIdle(r.stack);
    await r.stack.close();
  });
});

describe('an abort while the SIM hands a command back for ring room', () => {
  test('pass.scsi WRITE aborted by its signal as it is handed back (TASK SET FULL): CAM_REQ_ABORTED, never re-issued, nothing written', async () => {
    const r = await rig(65_536, { features: DIRECT });
    const driver = r.stack.virtio.driver;
    await fill(r, 100, 1, 1);
    // Someone else's requests the device sits on: 21 × 3 of the 64 descriptors, 1 left.
    r.probe.holdIf = (op) => op.offset >= 60_000 * BS;
    const buf = r.stack.virtio.allocator.alloc(BS);
    if (buf === undefined) throw new Error('no guest memory');
    const foreign = Array.from({ length: 21 }, (_, i) => driver.request({ type: VIRTIO_BLK_T_IN, sector: BigInt(60_000 + i), data: [buf] }));
    await until(() => r.probe.heldCount === 21, 'foreign requests at the device');
    const writes = dispatchesOf(r, 0x2a);
    const ac = new AbortController();
    const w = r.stack.pass(0).scsi({ cdb: rw10('write', 100, 1), direction: 'out', data: new Uint8Array(BS).fill(0xab), signal: ac.signal });
    // The SIM has handed it back (its completion runs on a later turn): the abort reaches it there.
    ac.abort();
    // The device keeps sitting on its descriptors a while, then lets go: had the WRITE gone back to the queue, it runs now.
    await turns(50);
    r.probe.releaseHeld();
    r.probe.holdIf = undefined;
    expect((await w).camStatus & 0x3f).toBe(REQ_ABORTED);
    await Promise.all(foreign);
    r.stack.virtio.allocator.free(buf.addr);
    await turns(20);
    expect(writes.n).toBe(1);
    expect(r.shadow.mismatch(100, await r.stack.da(0).read(100n, 1))).toBeUndefined();
    expect(r.ledger.doubles).toBe(0);
    expectIdle(r.stack);
    await r.stack.close();
  });
});

describe('capacity change mid-run', () => {
  test('grow: 2Ah/09h seen by da, AC_GETDEV_CHANGED with the new capacity, da.capacity follows, I/O continues past the old end', async () => {
    const r = await rig(8192, {}, 16_384);
    const da = r.stack.da(0);
    const uas: [number, number, number][] = [];
    da.onUnitAttention((s) => uas.push([s.key, s.asc, s.ascq]));
    const posted: [number, number, number][] = [];
    const changed: bigint[] = [];
    r.stack.xpt.onAsync(AsyncCode.UNIT_ATTENTION | AsyncCode.GETDEV_CHANGED, undefined, (code, _path, arg) => {
      if (code === AsyncCode.GETDEV_CHANGED) changed.push((arg as CamDeviceInfo).capacity.blocks);
      else posted.push(triple(arg as SenseData) ?? [0, 0, 0]);
    });
    // Background load on the first 4096 blocks, QD 32, until told to stop (each worker on its own 128 blocks).
    let stop = false;
    let done = 0;
    const worker = async (w: number): Promise<void> => {
      for (let i = 0; !stop; i++) {
        const lba = w * 128 + (i % 16) * 8;
        const data = stamp(lba, 8, BS, i);
        await da.write(BigInt(lba), data);
        r.shadow.write(lba, data);
        expect(r.shadow.mismatch(lba, await da.read(BigInt(lba), 8))).toBeUndefined();
        done++;
      }
    };
    const workers = Array.from({ length: 32 }, (_, w) => worker(w));
    await until(() => done > 200, 'load running');
    r.disk.resize(16_384);
    r.stack.virtio.device.refreshCapacity();
    // A command issued at once starts at once (32 outstanding, 62 openings): it is the first to meet the
    // unit attention, before the XPT's READ CAPACITY (posted after this call stack) and the load.
    const first = da.read(5000n, 8);
    await until(() => da.capacity.blocks === 16_384n, 'da.capacity updated');
    expect(r.shadow.mismatch(5000, await first)).toBeUndefined();
    const mark = done;
    await until(() => done > mark + 200, 'load continues');
    stop = true;
    await Promise.all(workers);
    expect(uas).toEqual([[0x06, 0x2a, 0x09]]);
    expect(posted).toEqual([[0x06, 0x2a, 0x09]]);
    expect(changed).toEqual([16_384n]);
    expect(r.stack.devices()[0]?.blocks).toBe(16_384n);
    // The new blocks are usable through da and pass.
    await fill(r, 16_376, 8, 77);
    expect(r.shadow.mismatch(16_376, await da.read(16_376n, 8))).toBeUndefined();
    const p = await r.stack.pass(0).scsi({ cdb: rw10('read', 16_383, 1), direction: 'in', length: BS });
    expect(p.camStatus).toBe(REQ_CMP);
    expect(r.ledger.doubles).toBe(0);
    expectIdle(r.stack);
    await r.stack.close();
  });

  test('shrink: past the new end is LOGICAL BLOCK ADDRESS OUT OF RANGE 05h/21h/00h, with no retry', async () => {
    const r = await rig(8192);
    const da = r.stack.da(0);
    await fill(r, 4000, 8, 1);
    const uas: [number, number, number][] = [];
    da.onUnitAttention((s) => uas.push([s.key, s.asc, s.ascq]));
    r.disk.resize(4096);
    r.stack.virtio.device.refreshCapacity();
    // The first command after the change meets the unit attention; da retries it and re-reads the capacity.
    expect(r.shadow.mismatch(4000, await da.read(4000n, 8))).toBeUndefined();
    expect(uas).toEqual([[0x06, 0x2a, 0x09]]);
    await until(() => da.capacity.blocks === 4096n, 'da.capacity updated');
    const e = await camErrorOf(da.read(4090n, 8));
    expect({ cam: e.camStatus, sense: triple(e.senseData), retries: e.retries }).toEqual({ cam: SCSI_STATUS_ERROR, sense: [0x05, 0x21, 0x00], retries: 0 });
    expectIdle(r.stack);
    await r.stack.close();
  });
});

describe('capacity change while a device reset is under way', () => {
  // A config change that arrives while the SIM recovers waits for the
  // recovery; the reset's POWER ON unit attention replaces 2Ah/09h (SAM-5 reset
  // conditions), so the SIM posts AC_GETDEV_CHANGED when the recovery found a
  // new capacity, and the XPT re-reads it for da and the devlist.
  test('the new capacity reaches da and the devlist once the reset is over', async () => {
    const r = await rig(8192);
    const da = r.stack.da(0);
    const changed: bigint[] = [];
    r.stack.xpt.onAsync(AsyncCode.GETDEV_CHANGED, undefined, (_code, _path, arg) => changed.push((arg as CamDeviceInfo).capacity.blocks));
    try {
      r.probe.holdIf = () => true;
      const victim = r.stack.pass(0).scsi({ cdb: rw10('read', 0, 1), direction: 'in', length: BS, timeoutMs: 50 });
      await until(() => r.stack.stats(0).simFrozen === 1, 'recovery started', 2000);
      r.disk.resize(16_384);
      r.stack.virtio.device.refreshCapacity();
      r.probe.holdIf = undefined;
      r.probe.releaseHeld();
      expect((await victim).camStatus).toBe(CMD_TIMEOUT | DEV_QFRZN);
      await da.read(0n, 8);
      // The unit itself knows: READ CAPACITY (10) returns LAST LOGICAL BLOCK ADDRESS 16383.
      const rc = await r.stack.pass(0).scsi({ cdb: Uint8Array.of(0x25, 0, 0, 0, 0, 0, 0, 0, 0, 0), direction: 'in', length: 8 });
      expect(rc.data === undefined ? undefined : new DataView(rc.data.buffer, rc.data.byteOffset).getUint32(0)).toBe(16_383);
      await until(() => da.capacity.blocks === 16_384n, 'da.capacity updated', 1000);
      expect(changed).toEqual([16_384n]);
      expect(r.stack.devices()[0]?.blocks).toBe(16_384n);
    } finally {
      await r.stack.close();
    }
  });
});

describe('read-only flip', () => {
  test('writes fail DATA PROTECT 07h/27h/00h (da and pass), reads work; flipping back makes writes work again', async () => {
    const r = await rig(4096);
    const da = r.stack.da(0);
    const pass = r.stack.pass(0);
    await fill(r, 0, 64, 1);
    const uas: [number, number, number][] = [];
    da.onUnitAttention((s) => uas.push([s.key, s.asc, s.ascq]));
    const changed: number[] = [];
    r.stack.xpt.onAsync(AsyncCode.GETDEV_CHANGED, undefined, (code) => changed.push(code));

    r.stack.virtio.device.setReadOnly(true);
    // The first command meets 2Ah/01h MODE PARAMETERS CHANGED (the WP bit), retried, then DATA PROTECT: not retried.
    const e = await camErrorOf(da.write(8n, stamp(8, 8, BS, 2)));
    expect({ cam: e.camStatus, scsi: e.scsiStatus, sense: triple(e.senseData), retries: e.retries }).toEqual({
      cam: SCSI_STATUS_ERROR,
      scsi: CHECK_CONDITION,
      sense: [0x07, 0x27, 0x00],
      retries: 1,
    });
    expect(uas).toEqual([[0x06, 0x2a, 0x01]]);
    const p = await pass.scsi({ cdb: rw10('write', 8, 1), direction: 'out', data: stamp(8, 1, BS, 3) });
    expect({ cam: p.camStatus, sense: senseTriple(p.sense) }).toEqual({ cam: SCSI_STATUS_ERROR | DEV_QFRZN | AUTOSNS_VALID, sense: [0x07, 0x27, 0x00] });
    await expect(camErrorOf(da.writeZeroes(0n, 8))).resolves.toMatchObject({ camStatus: SCSI_STATUS_ERROR });
    expect(r.shadow.mismatch(0, await da.read(0n, 64))).toBeUndefined();

    r.stack.virtio.device.setReadOnly(false);
    await fill(r, 8, 8, 4);
    expect(uas).toEqual([
      [0x06, 0x2a, 0x01],
      [0x06, 0x2a, 0x01],
    ]);
    expect(r.shadow.mismatch(0, await da.read(0n, 64))).toBeUndefined();
    await turns(2);
    expect(changed).toEqual([AsyncCode.GETDEV_CHANGED, AsyncCode.GETDEV_CHANGED]);
    expect(await drainUnitAttentions(r.stack)).toEqual([]);
    expect(r.ledger.doubles).toBe(0);
    expectIdle(r.stack);
    await r.stack.close();
  });
});
