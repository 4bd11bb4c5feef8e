// Issue 4 faults through the whole stack, I/O side (createStack over the
// fault rig), each with exact outcomes:
// - IOERR on chosen LBAs: da fails with MEDIUM ERROR and the LBA after its
//   retries (counted at the backend); pass returns the error raw, one attempt;
// - a split da request that fails in one piece settles only once its other
//   pieces are done, so a rewrite of the range cannot be overtaken by them;
// - a device that stalls: the CCB times out, the SIM resets the device, the
//   other in-flight CCBs are requeued and re-run, 29h/00h is seen once;
// - device resets (XPT_RESET_DEV) during heavy load: every I/O completes once,
//   with the right data.
// The device side (ring full, capacity change, read-only flip) is in
// faults-device.test.ts.

import { describe, expect, test } from 'vitest';
import { AsyncCode } from '../../src/cam/async.js';
import { QueueWatch, compareBytes, resetDevice, rw10, senseTriple, stamp, turns, until, watchSimDispatches, xorshift } from './helpers.js';
import {
  AUTOSNS_VALID,
  BS,
  CHECK_CONDITION,
  CMD_TIMEOUT,
  DEV_QFRZN,
  REQ_CMP,
  SCSI_STATUS_ERROR,
  camErrorOf,
  counter,
  expectIdle,
  fill,
  rig,
  touching,
  triple,
} from './fault-rig.js';

describe('IOERR on chosen LBAs', () => {
  test('da.read: MEDIUM ERROR 03h/11h/00h after 4 retries (5 device reads), the LBA when the command names it; pass: raw, one attempt', async () => {
    const r = await rig(4096, { device: { sizeMax: 4096, segMax: 16 } });
    const da = r.stack.da(0);
    await fill(r, 0, 1024, 1);
    r.faulty.failRange({ offset: 300 * BS, length: BS, ops: ['read'] });
    const reads = counter(r.probe, touching('read', 300));

    // One CCB of 8 blocks: a virtio-blk IOERR names the request, not the sector, so INFORMATION names no
    // block (VALID 0) rather than the good block 296; a one-block command names its block (pass, below).
    const e = await camErrorOf(da.read(296n, 8));
    expect({ cam: e.camStatus, scsi: e.scsiStatus, sense: triple(e.senseData), lba: e.lba, retries: e.retries }).toEqual({
      cam: SCSI_STATUS_ERROR,
      scsi: CHECK_CONDITION,
      sense: [0x03, 0x11, 0x00],
      lba: undefined,
      retries: 4,
    });
    expect(e.status & AUTOSNS_VALID).toBe(AUTOSNS_VALID);
    expect(reads.n).toBe(5);
    expect(r.faulty.stats.failed).toBe(5);

    // Split (max I/O 64 KiB = 128 blocks): the piece [256, 384) fails; the others are read once.
    const before = r.ledger.actions;
    const split = await camErrorOf(da.read(0n, 512));
    expect({ sense: triple(split.senseData), lba: split.lba, retries: split.retries }).toEqual({ sense: [0x03, 0x11, 0x00], lba: undefined, retries: 4 });
    expect(reads.n).toBe(10);
    expect(r.ledger.actions - before).toBe(4 + 4); // four pieces, four retries of one of them

    // pass: exactly what the device said, CAM_DEV_QFRZN included (pass released it), no retry.
    const p = await r.stack.pass(0).scsi({ cdb: rw10('read', 300, 1), direction: 'in', length: BS });
    expect({ cam: p.camStatus, scsi: p.scsiStatus, sense: senseTriple(p.sense), info: p.senseData?.information, resid: p.resid }).toEqual({
      cam: SCSI_STATUS_ERROR | DEV_QFRZN | AUTOSNS_VALID,
      scsi: CHECK_CONDITION,
      sense: [0x03, 0x11, 0x00],
      info: 300n,
      resid: BS,
    });
    expect(reads.n).toBe(11);

    // Neighbours are fine, and the block itself once the fault is gone.
    expect(r.shadow.mismatch(301, await da.read(301n, 100))).toBeUndefined();
    r.faulty.clearFaults();
    expect(r.shadow.mismatch(0, await da.read(0n, 1024))).toBeUndefined();
    expect(r.ledger.doubles).toBe(0);
    expect(r.ledger.completions).toBe(r.ledger.actions);
    expectIdle(r.stack);
    await r.stack.close();
  });

  test('da.write: MEDIUM ERROR 03h/0Ch/00h (WRITE ERROR) after 4 retries; the other blocks are written', async () => {
    const r = await rig(4096);
    const da = r.stack.da(0);
    r.faulty.failRange({ offset: 40 * BS, length: 4 * BS, ops: ['write'] });
    const writes = counter(r.probe, touching('write', 40));
    const e = await camErrorOf(da.write(40n, stamp(40, 4, BS, 9)));
    expect({ cam: e.camStatus, sense: triple(e.senseData), lba: e.lba, retries: e.retries }).toEqual({ cam: SCSI_STATUS_ERROR, sense: [0x03, 0x0c, 0x00], lba: undefined, retries: 4 });
    expect(writes.n).toBe(5);
    await fill(r, 44, 4, 10);
    expect(r.shadow.mismatch(44, await da.read(44n, 4))).toBeUndefined();
    // The failed write wrote nothing (FaultyBackend fails before the medium): the blocks still read as zeros.
    expect(compareBytes(await da.read(40n, 4), new Uint8Array(4 * BS))).toBe('equal');
    expectIdle(r.stack);
    await r.stack.close();
  });
});

describe('a split request that fails in one piece', () => {
  // The CCBs of a split request are joined only once every piece has
  // completed (FreeBSD completes a split bio when all its children are done):
  // a request that settled early would let the caller rewrite the range while
  // a late piece of the old request could still land on top of it.
  test('da.write rejects only once its other pieces are done, so a rewrite of the range sticks', async () => {
    const r = await rig(4096, { device: { sizeMax: 4096, segMax: 16 } });
    const da = r.stack.da(0);
    expect(da.maxTransferBlocks).toBe(128);
    // Piece [0, 128) fails (five times); the device sits on piece [128, 256) (its 16 segment writes) for a while.
    r.faulty.failRange({ offset: 0, length: BS, ops: ['write'] });
    let held = 0;
    r.probe.holdIf = (op) => op.kind === 'write' && op.offset >= 128 * BS && held++ < 16;
    const fallback = setTimeout(() => r.probe.releaseHeld(), 300);
    try {
      const e = await camErrorOf(da.write(0n, stamp(0, 256, BS, 1)));
      expect({ sense: triple(e.senseData), lba: e.lba }).toEqual({ sense: [0x03, 0x0c, 0x00], lba: undefined });
      const stillAtDevice = r.probe.heldCount;
      // The caller writes the second half again, then the device lets go of whatever it still had.
      const again = stamp(128, 128, BS, 2);
      await da.write(128n, again);
      r.probe.releaseHeld();
      await until(() => r.stack.stats(0).active === 0 && da.outstanding === 0, 'all done');
      expect(compareBytes(await da.read(128n, 128), again)).toBe('equal');
      expect(stillAtDevice).toBe(0);
    } finally {
      clearTimeout(fallback);
      await r.stack.close();
    }
  });
});

describe('a device that stalls', () => {
  test('pass CCB times out: device reset, the other in-flight CCBs requeued and re-run, 29h/00h reported once, everybody settles', async () => {
    const r = await rig(8192);
    const da = r.stack.da(0);
    await fill(r, 0, 4096, 3);
    const uas: [number, number, number][] = [];
    da.onUnitAttention((s) => uas.push([s.key, s.asc, s.ascq]));
    const events: number[] = [];
    r.stack.xpt.onAsync(AsyncCode.BUS_RESET | AsyncCode.SENT_BDR | AsyncCode.UNIT_ATTENTION, undefined, (code) => events.push(code));
    const starts = new Map<number, number>();
    r.probe.onStart = (op) => starts.set(op.offset, (starts.get(op.offset) ?? 0) + 1);
    const sim = watchSimDispatches(r.stack);

    // The device sits on everything from now on.
    let stalled = true;
    r.probe.holdIf = () => stalled;
    const victim = r.stack.pass(0).scsi({ cdb: rw10('read', 5000, 8), direction: 'in', length: 8 * BS, timeoutMs: 100 });
    // 30 more at the SIM (a 64-entry ring holds 62), 100 waiting in the devq: da's 60 s timeout never fires here.
    const io: Promise<void>[] = [];
    for (let i = 0; i < 130; i++) {
      const lba = i * 8;
      if (i % 2 === 0) {
        io.push(
          da.read(BigInt(lba), 8).then((got) => {
            expect(r.shadow.mismatch(lba, got)).toBeUndefined();
          }),
        );
      } else {
        const data = stamp(lba, 8, BS, 100 + i);
        io.push(
          da.write(BigInt(lba), data).then(() => {
            r.shadow.write(lba, data);
          }),
        );
      }
    }
    await until(() => r.stack.stats(0).active === 62 && r.probe.heldCount === 62, 'ring full of stalled requests');
    expect(r.stack.stats(0).queued).toBe(69);
    // The timeout fires: the SIM freezes its queue and resets the device, which waits for the backend.
    await until(() => r.stack.stats(0).simFrozen === 1, 'recovery started', 2000);
    await turns(20);
    expect(r.stack.stats(0)).toMatchObject({ simFrozen: 1, active: 62 });
    stalled = false;
    r.probe.releaseHeld();

    const v = await victim;
    expect({ cam: v.camStatus, scsi: v.scsiStatus, data: v.data }).toEqual({ cam: CMD_TIMEOUT | DEV_QFRZN, scsi: 0, data: undefined });
    await Promise.all(io);
    // The 61 other CCBs that were at the device ran twice: once before the reset (answer dropped), once after the requeue.
    const ranTwice = [...starts.entries()].filter(([, n]) => n === 2).map(([off]) => off / BS);
    expect(ranTwice.length).toBe(61);
    expect(ranTwice.every((lba) => lba < 130 * 8)).toBe(true);
    expect(sim.redispatches).toBe(61);
    // One reset, one unit attention (29h/00h POWER ON, RESET, OR BUS DEVICE RESET OCCURRED) seen by da and posted once.
    await turns(2);
    expect(uas).toEqual([[0x06, 0x29, 0x00]]);
    expect(events).toEqual([AsyncCode.BUS_RESET, AsyncCode.UNIT_ATTENTION]);
    // Completions: the timeout, the unit attention, and 130 + 1 (the UA retry) successes; the requeues never reached da.
    expect(Object.fromEntries(r.ledger.byStatus)).toEqual({ [REQ_CMP]: 131, [CMD_TIMEOUT]: 1, [SCSI_STATUS_ERROR]: 1 });
    expect(r.ledger.actions).toBe(133);
    expect(r.ledger.doubles).toBe(0);
    expect(r.shadow.mismatch(0, await da.read(0n, 4096))).toBeUndefined();
    expectIdle(r.stack);
    await r.stack.close();
  });

  test('da CCB times out (timeoutMs 100): retried after the reset, the caller gets its data; 29h/00h once', async () => {
    const r = await rig(4096, { da: { timeoutMs: 100 } });
    const da = r.stack.da(0);
    await fill(r, 0, 64, 5);
    const uas: [number, number, number][] = [];
    da.onUnitAttention((s) => uas.push([s.key, s.asc, s.ascq]));
    // Only the first read of block 16 stalls.
    let first = true;
    r.probe.holdIf = (op) => {
      const hit = first && touching('read', 16)(op);
      if (hit) first = false;
      return hit;
    };
    const got = da.read(16n, 8);
    await until(() => r.stack.stats(0).simFrozen === 1, 'recovery started', 2000);
    r.probe.releaseHeld();
    expect(r.shadow.mismatch(16, await got)).toBeUndefined();
    expect(uas).toEqual([[0x06, 0x29, 0x00]]);
    // The fill, then the read: CMD_TIMEOUT (retried), the unit attention (retried), GOOD.
    expect(Object.fromEntries(r.ledger.byStatus)).toEqual({ [REQ_CMP]: 2, [CMD_TIMEOUT]: 1, [SCSI_STATUS_ERROR]: 1 });
    expect(r.ledger.actions).toBe(4);
    expectIdle(r.stack);
    await r.stack.close();
  });
});

describe('device reset during heavy load', () => {
  test('five XPT_RESET_DEVs while 100+ CCBs are at the SIM: every I/O completes once with the right data', async () => {
    const r = await rig(16_384, { queueSize: 256 });
    const da = r.stack.da(0);
    await fill(r, 0, 16_000, 7);
    const random = xorshift(42);
    // The device takes its time (0..30 turns per operation), so many requests are in flight at once.
    r.probe.delayTurns = () => Math.floor(random() * 30);
    const uas: [number, number, number][] = [];
    da.onUnitAttention((s) => uas.push([s.key, s.asc, s.ascq]));
    const bdrs: number[] = [];
    r.stack.xpt.onAsync(AsyncCode.SENT_BDR, undefined, (code) => bdrs.push(code));
    const watch = new QueueWatch(r.stack);
    let settled = 0;
    const io: Promise<void>[] = [];
    // Writes to the first half of each 16-block stride, reads of the second half (filled above): never the
    // same blocks at once, since SCSI does not order SIMPLE commands.
    for (let i = 0; i < 2000; i++) {
      const lba = (i % 1000) * 16 + (i < 1000 ? 0 : 8);
      const p =
        i < 1000
          ? da.write(BigInt(lba), stamp(lba, 8, BS, 1000 + i)).then(() => {
              r.shadow.write(lba, stamp(lba, 8, BS, 1000 + i));
            })
          : da.read(BigInt(lba), 8).then((got) => {
              expect(r.shadow.mismatch(lba, got)).toBeUndefined();
            });
      io.push(
        p.finally(() => {
          settled++;
          watch.sample();
        }),
      );
    }
    let maxActiveAtReset = 0;
    for (let k = 0; k < 5; k++) {
      // The next reset once da has heard of the last one: a reset that catches the command carrying the
      // previous unit attention requeues it, and the two resets are reported as one (SAM-5 reset conditions).
      await until(() => uas.length === k && r.stack.stats(0).active >= 100, `100 active before reset ${k}`);
      maxActiveAtReset = Math.max(maxActiveAtReset, r.stack.stats(0).active);
      expect(await resetDevice(r.stack)).toBe(REQ_CMP);
    }
    await Promise.all(io);
    expect(settled).toBe(2000);
    expect(maxActiveAtReset).toBeGreaterThanOrEqual(100);
    expect(bdrs).toEqual([AsyncCode.SENT_BDR, AsyncCode.SENT_BDR, AsyncCode.SENT_BDR, AsyncCode.SENT_BDR, AsyncCode.SENT_BDR]);
    // 29h/03h BUS DEVICE RESET FUNCTION OCCURRED once per reset (each seen by one da command, then retried).
    expect(uas).toEqual(Array.from({ length: 5 }, () => [0x06, 0x29, 0x03]));
    expect(r.ledger.doubles).toBe(0);
    expect(r.ledger.completions).toBe(r.ledger.actions);
    expect(watch.violations).toEqual([]);
    r.probe.delayTurns = undefined;
    expect(r.shadow.mismatch(0, await da.read(0n, 16_384))).toBeUndefined();
    expectIdle(r.stack);
    await r.stack.close();
    expect(r.stack.virtio.allocator.liveCount).toBe(0);
  });
});
