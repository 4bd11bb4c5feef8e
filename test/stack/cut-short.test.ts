// A command that must not run twice (COMPARE AND WRITE) next to one that may
// (READ), caught by the vtblk SIM's recovery, through the whole stack
// (createStack: da/pass → XPT → vtblk SIM → SBC emulator → virtio-blk →
// device → backend):
// - caught in flight by XPT_RESET_DEV that nobody aimed at it, a COMPARE AND
//   WRITE completes CAM_BDR_SENT (FreeBSD cam.h: the CCB ended because a bus
//   device reset was sent), once, and is not dispatched again; the medium holds
//   its write at most once;
// - the CCB an XPT_ABORT names still ends CAM_REQ_ABORTED: someone asked;
// - a READ caught the same way is dispatched again (CAM_REQUEUE_REQ) and da
//   gets its data at once, the reset's unit attention left for the next
//   command;
// - through da, a COMPARE AND WRITE whose own CCB times out fails with a
//   CamError carrying CAM_CMD_TIMEOUT, sent once (its write may have landed: a
//   retry would miscompare against it); a READ that times out is retried.
// CDBs are written from the SBC-4 tables; CAM status words from FreeBSD cam.h.

import { expect, test } from 'vitest';
import type { ScsiResult } from '../../src/cam/periph/request.js';
import { compareAndWrite, drainUnitAttentions, resetDevice, rw10, stamp, until } from './helpers.js';
import { BS, camErrorOf, counter, dispatchesOf, fill, rig, touching, type Rig } from './fault-rig.js';

const REQ_CMP = 0x01;
const REQ_ABORTED = 0x02;
const CMD_TIMEOUT = 0x0b;
const BDR_SENT = 0x17;
const STATUS_MASK = 0x3f;
/** Operation codes (SBC-4): COMPARE AND WRITE, READ (10). */
const COMPARE_AND_WRITE = 0x89;
const READ_10 = 0x28;
const LBA = 10;


/** Backend operations of `kind` of exactly block LBA. */
const oneBlockAtLba = (r: Rig, kind: 'read' | 'write'): { readonly n: number } =>
  counter(r.probe, (op) => op.kind === kind && op.offset === LBA * BS && op.length === BS);

/** COMPARE AND WRITE's Data-Out Buffer for one block at LBA: what to verify (stamp 1), what to write (stamp 2). */
function cawData(): Uint8Array {
  const out = new Uint8Array(2 * BS);
  out.set(stamp(LBA, 1, BS, 1));
  out.set(stamp(LBA, 1, BS, 2), BS);
  return out;
}

/** A rig whose block LBA holds stamp 1, with the device holding every write of it from now on. */
async function holdingWritesAtLba(): Promise<Rig> {
  const r = await rig(1024);
  await fill(r, LBA, 1, 1);
  r.probe.holdIf = touching('write', LBA);
  return r;
}

/** Once the recovery has frozen the SIM queue, the device lets what it holds go (the reset waits for it). */
async function releaseOnceRecovering(r: Rig): Promise<void> {
  await until(() => r.stack.stats(0).simFrozen === 1, 'recovery started', 2000);
  r.probe.holdIf = undefined;
  r.probe.releaseHeld();
}

const outcome = (x: ScsiResult): { cam: number; scsi: number; sense: Uint8Array | undefined } => ({ cam: x.camStatus & STATUS_MASK, scsi: x.scsiStatus, sense: x.sense });

test('XPT_RESET_DEV catches a COMPARE AND WRITE at the device: pass gets CAM_BDR_SENT, once; it is not dispatched again; its write lands once', async () => {
  const r = await holdingWritesAtLba();
  const caws = dispatchesOf(r, COMPARE_AND_WRITE);
  const writes = oneBlockAtLba(r, 'write');
  const answers: ScsiResult[] = [];
  r.stack.pass(0).submit({ cdb: compareAndWrite(LBA, 1), direction: 'out', data: cawData() }, (x) => answers.push(x));
  await until(() => r.probe.heldCount === 1, 'the COMPARE AND WRITE write held by the device');
  const reset = resetDevice(r.stack);
  await releaseOnceRecovering(r);
  expect((await reset) & STATUS_MASK).toBe(REQ_CMP);
  await until(() => answers.length === 1, 'COMPARE AND WRITE answered');
  expect(answers.map(outcome)).toEqual([{ cam: BDR_SENT, scsi: 0, sense: undefined }]);
  // da reads past the reset's unit attention: the medium holds the write, which reached the device once.
  expect(Buffer.from(await r.stack.da(0).read(BigInt(LBA), 1)).equals(stamp(LBA, 1, BS, 2))).toBe(true);
  expect({ caws: caws.n, writes: writes.n, answers: answers.length, doubles: r.ledger.doubles }).toEqual({ caws: 1, writes: 1, answers: 1, doubles: 0 });
  await r.stack.close();
});

test('XPT_ABORT of a COMPARE AND WRITE at the device: it ends CAM_REQ_ABORTED (someone asked), once', async () => {
  const r = await holdingWritesAtLba();
  const caws = dispatchesOf(r, COMPARE_AND_WRITE);
  const abort = new AbortController();
  const answer = r.stack.pass(0).scsi({ cdb: compareAndWrite(LBA, 1), direction: 'out', data: cawData(), signal: abort.signal });
  await until(() => r.probe.heldCount === 1, 'the COMPARE AND WRITE write held by the device');
  abort.abort();
  await releaseOnceRecovering(r);
  expect(outcome(await answer)).toEqual({ cam: REQ_ABORTED, scsi: 0, sense: undefined });
  expect({ caws: caws.n, doubles: r.ledger.doubles }).toEqual({ caws: 1, doubles: 0 });
  await r.stack.close();
});

test('XPT_RESET_DEV catches a READ at the device: it is dispatched again (CAM_REQUEUE_REQ) and da gets its data', async () => {
  const r = await rig(1024);
  await fill(r, LBA, 1, 3);
  const reads = dispatchesOf(r, READ_10);
  r.probe.holdIf = touching('read', LBA);
  const got = r.stack.da(0).scsi({ cdb: rw10('read', LBA, 1), direction: 'in', length: BS });
  await until(() => r.probe.heldCount === 1, 'the READ held by the device');
  const reset = resetDevice(r.stack);
  await releaseOnceRecovering(r);
  expect((await reset) & STATUS_MASK).toBe(REQ_CMP);
  const res = await got;
  expect({ cam: res.camStatus & STATUS_MASK, data: Buffer.from(res.data ?? []).equals(stamp(LBA, 1, BS, 3)) }).toEqual({ cam: REQ_CMP, data: true });
  // Held, then re-dispatched and GOOD: received before the reset, it is not the next command, which gets the reset's
  // unit attention (06h/29h/03h) instead.
  expect(reads.n).toBe(2);
  expect(r.ledger.doubles).toBe(0);
  expect(await drainUnitAttentions(r.stack)).toEqual([[0x06, 0x29, 0x03]]);
  await r.stack.close();
});

test('da: a COMPARE AND WRITE whose CCB times out rejects with CAM_CMD_TIMEOUT and is sent once; its write is on the medium once', async () => {
  const r = await holdingWritesAtLba();
  const caws = dispatchesOf(r, COMPARE_AND_WRITE);
  const writes = oneBlockAtLba(r, 'write');
  const failed = camErrorOf(r.stack.da(0).scsi({ cdb: compareAndWrite(LBA, 1), direction: 'out', data: cawData(), timeoutMs: 100 }));
  await releaseOnceRecovering(r);
  const e = await failed;
  expect({ cam: e.camStatus, scsi: e.scsiStatus, retries: e.retries }).toEqual({ cam: CMD_TIMEOUT, scsi: 0, retries: 0 });
  expect(Buffer.from(await r.stack.da(0).read(BigInt(LBA), 1)).equals(stamp(LBA, 1, BS, 2))).toBe(true);
  expect({ caws: caws.n, writes: writes.n }).toEqual({ caws: 1, writes: 1 });
  await r.stack.close();
});

test('da: a READ whose CCB times out is retried and returns the data', async () => {
  const r = await rig(1024);
  await fill(r, LBA, 1, 4);
  const reads = dispatchesOf(r, READ_10);
  // Only the first read of the block stalls.
  let first = true;
  r.probe.holdIf = (op) => {
    const hit = first && touching('read', LBA)(op);
    if (hit) first = false;
    return hit;
  };
  const got = r.stack.da(0).scsi({ cdb: rw10('read', LBA, 1), direction: 'in', length: BS, timeoutMs: 100 });
  await releaseOnceRecovering(r);
  const res = await got;
  expect({ cam: res.camStatus & STATUS_MASK, data: Buffer.from(res.data ?? []).equals(stamp(LBA, 1, BS, 4)) }).toEqual({ cam: REQ_CMP, data: true });
  // Timed out, retried into the reset's unit attention, retried again: GOOD.
  expect({ reads: reads.n, timeouts: r.ledger.byStatus.get(CMD_TIMEOUT) }).toEqual({ reads: 3, timeouts: 1 });
  await r.stack.close();
});
