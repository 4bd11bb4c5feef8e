// The flush of a SYNCHRONIZE CACHE with IMMED=1 (SBC-4: GOOD once the CDB is
// checked, the flush after) across vtcam's own device resets. The SIM resets
// the virtio-blk device for an ABORT TASK of any command and for a LOGICAL
// UNIT RESET, and the reset fails the FLUSH it finds on the ring although
// nothing failed: the flush is issued again once the device is back (the data
// written before is still in the backend), and the initiator hears of it only
// if that one fails (SPC-5 deferred errors: none for an error recovered
// without external intervention). A device that does not come back fails it.
// Before, the flush cut short, and the one waiting behind it, were not issued
// again: the initiator had GOOD for a flush that never happened, and a
// deferred error or nothing, depending on whether the failure reached the unit
// before or after the reset dropped its deferred errors.

import { expect, test } from 'vitest';
import type { ScsiResult } from '../../src/cam/periph/request.js';
import { resetDevice, senseTriple, turns, until, type ProbeOp } from './helpers.js';
import { counter, rig, type Rig } from './fault-rig.js';
import { A, B, READ_1, TUR, run, settle, type Who } from './pr-fixtures.js';

/** SYNCHRONIZE CACHE (10): byte 1 bit 1 IMMED; LBA 0 and NUMBER OF LOGICAL BLOCKS 0, the whole medium. */
const SYNC10_IMMED = Uint8Array.of(0x35, 0x02, 0, 0, 0, 0, 0, 0, 0, 0);

/** TEST UNIT READY as `who` until GOOD: each CHECK CONDITION's RESPONSE CODE and sense key/ASC/ASCQ (hex). */
async function sensesUntilGood(r: Rig, who: Who): Promise<string[]> {
  const seen: string[] = [];
  for (let i = 0; i < 8; i++) {
    const t = await run(r.stack, who, TUR);
    if (t.scsiStatus === 0) return seen;
    const code = ((t.sense?.[0] ?? 0) & 0x7f).toString(16);
    seen.push(`${code} ${senseTriple(t.sense)?.map((n) => n.toString(16).padStart(2, '0')).join('/') ?? '-'}`);
  }
  throw new Error(`still not GOOD: ${seen.join(', ')}`);
}

/** A's SYNCHRONIZE CACHE IMMED answered GOOD, its FLUSH held at the backend; then B's, whose FLUSH waits for A's (background-flush.ts). */
async function immedFlushHeld(r: Rig): Promise<void> {
  for (const who of [A, B]) await settle(r.stack, who);
  const prev = r.probe.holdIf;
  r.probe.holdIf = (op) => op.kind === 'flush' || prev?.(op) === true;
  for (const who of [A, B]) {
    const answered = await run(r.stack, who, SYNC10_IMMED);
    expect([answered.camStatus & 0x3f, answered.scsiStatus]).toEqual([0x01, 0]);
    if (who === A) await until(() => r.probe.running === (prev === undefined ? 1 : 2), 'A’s FLUSH at the backend');
  }
}

/** Lets what the backend holds go once the device reset runs (it waits for them), holding from then on only what `hold` says. */
async function releaseInReset(r: Rig, hold?: (op: ProbeOp) => boolean): Promise<void> {
  await until(() => r.stack.stats(0).simFrozen === 1, 'recovery started');
  r.probe.holdIf = hold;
  r.probe.releaseHeld();
}

/** The recovery over, and the FLUSHes at the backend and their answers through the ring to the unit. */
async function flushesEnded(r: Rig): Promise<void> {
  await until(() => r.stack.stats(0).simFrozen === 0 && r.probe.running === 0, 'the FLUSHes ended');
  await turns(10);
}

test('ABORT TASK of B’s READ resets the device under A’s IMMED flush, B’s waiting: both flushes are issued after the reset, and neither gets a deferred error', async () => {
  const r = await rig(1024);
  r.probe.holdIf = (op) => op.kind === 'read';
  await settle(r.stack, B);
  let readB: ScsiResult | undefined;
  const cmd = r.stack.pass(0).submit({ cdb: READ_1, initiator: B, direction: 'in', length: 512 }, (res) => {
    readB = res;
  });
  await until(() => r.probe.heldCount === 1, 'B’s READ at the backend');
  await immedFlushHeld(r);
  const flushes = counter(r.probe, (op) => op.kind === 'flush');
  cmd.abort();
  await releaseInReset(r);
  await until(() => readB !== undefined, 'B’s READ ended');
  expect(readB?.camStatus !== undefined ? readB.camStatus & 0x3f : undefined).toBe(0x02);
  await flushesEnded(r);
  expect([await sensesUntilGood(r, A), await sensesUntilGood(r, B)]).toEqual([['70 06/29/00'], ['70 06/29/00']]);
  expect(flushes.n).toBe(2);
  await r.stack.close();
});

test('LOGICAL UNIT RESET under A’s IMMED flush, B’s waiting: both flushes are issued after the reset, and neither gets a deferred error', async () => {
  const r = await rig(1024);
  await immedFlushHeld(r);
  const flushes = counter(r.probe, (op) => op.kind === 'flush');
  const reset = resetDevice(r.stack);
  await releaseInReset(r);
  expect((await reset) & 0x3f).toBe(0x01);
  await flushesEnded(r);
  expect([await sensesUntilGood(r, A), await sensesUntilGood(r, B)]).toEqual([['70 06/29/03'], ['70 06/29/03']]);
  expect(flushes.n).toBe(2);
  await r.stack.close();
});

test('the flush issued again after the reset fails (IOERR): that is a real failure, a deferred error for A only', async () => {
  const r = await rig(1024);
  await settle(r.stack, B);
  await settle(r.stack, A);
  r.probe.holdIf = (op) => op.kind === 'flush';
  const answered = await run(r.stack, A, SYNC10_IMMED);
  expect([answered.camStatus & 0x3f, answered.scsiStatus]).toEqual([0x01, 0]);
  await until(() => r.probe.heldCount === 1, 'A’s FLUSH at the backend');
  const reset = resetDevice(r.stack);
  await releaseInReset(r, (op) => op.kind === 'flush');
  expect((await reset) & 0x3f).toBe(0x01);
  await until(() => r.probe.heldCount === 1, 'the FLUSH issued again');
  r.faulty.failRange({ offset: 0, length: 1, ops: ['flush'] });
  r.probe.holdIf = undefined;
  r.probe.releaseHeld();
  await until(() => r.faulty.stats.failed === 1 && r.probe.running === 0, 'the FLUSH issued again failed');
  await turns(10); // its answer through the ring to the unit
  expect([await sensesUntilGood(r, A), await sensesUntilGood(r, B)]).toEqual([['70 06/29/03', '71 04/44/00'], ['70 06/29/03']]);
  await r.stack.close();
});

test('the device is lost in the reset: the flush fails for A rather than wait for a device that never comes back', async () => {
  const r = await rig(1024, { resetTimeoutMs: 100 });
  await immedFlushHeld(r);
  void resetDevice(r.stack);
  await until(() => r.stack.virtio.transport.lost() !== undefined, 'device lost');
  await until(() => r.stack.sim.emulator.takePendingSense(A.id)?.deferred === true, 'A’s deferred error');
  r.probe.releaseHeld();
  await r.stack.close();
});
