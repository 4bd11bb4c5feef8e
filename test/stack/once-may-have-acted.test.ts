// Through the whole stack (createStack: da → XPT → vtblk SIM → SBC emulator →
// virtio-blk → device → backend), a COMPARE AND WRITE that ends in a way that
// leaves it open whether it acted is sent once, and da.scsi rejects with a
// CamError carrying how it ended; READ (10) and WRITE (10) ending the same way
// are retried:
// - CLEAR TASK SET from another initiator with TAS 1 (SAM-5: TASK ABORTED
//   status for a command another I_T nexus aborted) while the device holds
//   the COMPARE AND WRITE's write: the write lands when the device lets it go,
//   so a retry would miscompare against it (SBC-4);
// - the backend fails the write (virtio-blk IOERR: MEDIUM ERROR): a retry
//   would run the compare and the write again.
// CDBs from the SBC-4 tables; CAM status words from FreeBSD cam.h.

import { expect, test } from 'vitest';
import { XptFunc } from '../../src/cam/ccb.js';
import { compareAndWrite, rw10, stamp, until } from './helpers.js';
import { BS, CHECK_CONDITION, REQ_CMP, SCSI_STATUS_ERROR, camErrorOf, counter, dispatchesOf, expectIdle, fill, rig, touching, triple, type Rig } from './fault-rig.js';
import { A, settle } from './pr-fixtures.js';

const STATUS_MASK = 0x3f;
/** SCSI status TASK ABORTED (SAM-5). */
const TASK_ABORTED = 0x40;
/** Operation codes (SBC-4). */
const COMPARE_AND_WRITE = 0x89;
const READ_10 = 0x28;
const WRITE_10 = 0x2a;
/** Sense key MEDIUM ERROR (SPC-5). */
const MEDIUM_ERROR = 0x3;
const LBA = 10;
const WHY = ': it may have acted, and executing it again would not end as executing it once';


/** How each XPT_SCSI_IO CCB with operation code `op` handed to the XPT ended: [CAM status, SCSI status], in completion order. */
function endingsOf(r: Rig, op: number): [number, number][] {
  const seen: [number, number][] = [];
  const xpt = r.stack.xpt;
  const action = xpt.action.bind(xpt);
  xpt.action = (ccb) => {
    if (ccb.func === XptFunc.SCSI_IO && ccb.cdb[0] === op) {
      const done = ccb.done;
      ccb.done = (c) => {
        seen.push([c.status & STATUS_MASK, ccb.scsiStatus]);
        done?.(c);
      };
    }
    action(ccb);
  };
  return seen;
}

/** COMPARE AND WRITE's Data-Out Buffer for one block at LBA: what to verify (stamp 1), what to write (stamp 2). */
function cawData(): Uint8Array {
  const out = new Uint8Array(2 * BS);
  out.set(stamp(LBA, 1, BS, 1));
  out.set(stamp(LBA, 1, BS, 2), BS);
  return out;
}

const holds = (r: Rig, want: Uint8Array): Promise<boolean> => r.stack.da(0).read(BigInt(LBA), 1).then((got) => Buffer.from(got).equals(want));

/** A TAS 1 unit whose block LBA holds stamp 1; initiator A past its power-on unit attention; the device holds `kind` of LBA. */
async function tasRig(kind: 'read' | 'write'): Promise<Rig> {
  const r = await rig(1024, { emulator: { taskAbortedStatus: true } });
  await fill(r, LBA, 1, 1);
  await settle(r.stack, A);
  r.probe.holdIf = touching(kind, LBA);
  return r;
}

/** CLEAR TASK SET from A once the device holds one operation; the device lets it go while the function waits for it. */
async function clearTaskSetFromA(r: Rig): Promise<void> {
  await until(() => r.probe.heldCount === 1, 'the device holds the command');
  const clear = r.stack.pass(0).clearTaskSet(A);
  r.probe.holdIf = undefined;
  r.probe.releaseHeld();
  await clear;
}

test('TASK ABORTED (CLEAR TASK SET, TAS 1): da sends COMPARE AND WRITE once and rejects with TASK ABORTED; its write is on the medium once', async () => {
  const r = await tasRig('write');
  const caws = dispatchesOf(r, COMPARE_AND_WRITE);
  const ended = endingsOf(r, COMPARE_AND_WRITE);
  const writes = counter(r.probe, (op) => op.kind === 'write' && op.offset === LBA * BS);
  const failed = camErrorOf(r.stack.da(0).scsi({ cdb: compareAndWrite(LBA, 1), direction: 'out', data: cawData() }));
  await clearTaskSetFromA(r);
  const e = await failed;
  expect({ cam: e.camStatus, scsi: e.scsiStatus, sense: e.senseData, retries: e.retries, reason: e.reason }).toEqual({
    cam: SCSI_STATUS_ERROR,
    scsi: TASK_ABORTED,
    sense: undefined,
    retries: 0,
    reason: `task aborted${WHY}`,
  });
  // Aborted after its write reached the device: the medium holds it. Executed again it would have miscompared.
  expect(await holds(r, stamp(LBA, 1, BS, 2))).toBe(true);
  expect({ caws: caws.n, ended, writes: writes.n }).toEqual({ caws: 1, ended: [[SCSI_STATUS_ERROR, TASK_ABORTED]], writes: 1 });
  expectIdle(r.stack);
  await r.stack.close();
});

test('TASK ABORTED (CLEAR TASK SET, TAS 1): da retries a READ (10) and returns its data', async () => {
  const r = await tasRig('read');
  const reads = dispatchesOf(r, READ_10);
  const ended = endingsOf(r, READ_10);
  const got = r.stack.da(0).scsi({ cdb: rw10('read', LBA, 1), direction: 'in', length: BS });
  await clearTaskSetFromA(r);
  const res = await got;
  expect({ cam: res.camStatus & STATUS_MASK, data: Buffer.from(res.data ?? []).equals(stamp(LBA, 1, BS, 1)) }).toEqual({ cam: REQ_CMP, data: true });
  expect({ reads: reads.n, ended }).toEqual({ reads: 2, ended: [[SCSI_STATUS_ERROR, TASK_ABORTED], [REQ_CMP, 0]] });
  expectIdle(r.stack);
  await r.stack.close();
});

test('MEDIUM ERROR on the write (backend IOERR): da sends COMPARE AND WRITE once and rejects with the sense; WRITE (10) is retried', async () => {
  const r = await rig(1024);
  await fill(r, LBA, 1, 1);
  r.faulty.failRange({ offset: LBA * BS, length: BS, ops: ['write'] });
  const caws = dispatchesOf(r, COMPARE_AND_WRITE);
  const writes10 = dispatchesOf(r, WRITE_10);
  const da = r.stack.da(0);

  const e = await camErrorOf(da.scsi({ cdb: compareAndWrite(LBA, 1), direction: 'out', data: cawData() }));
  expect({ cam: e.camStatus, scsi: e.scsiStatus, key: e.senseData?.key, retries: e.retries, reason: e.reason }).toEqual({
    cam: SCSI_STATUS_ERROR,
    scsi: CHECK_CONDITION,
    key: MEDIUM_ERROR,
    retries: 0,
    reason: `medium error${WHY}`,
  });
  expect(caws.n).toBe(1);

  // The same fault for WRITE (10): retried (da's 4 retries), then it fails with the same sense.
  const w = await camErrorOf(da.scsi({ cdb: rw10('write', LBA, 1), direction: 'out', data: stamp(LBA, 1, BS, 3) }));
  expect({ cam: w.camStatus, scsi: w.scsiStatus, sense: triple(w.senseData), retries: w.retries, reason: w.reason }).toEqual({
    cam: SCSI_STATUS_ERROR,
    scsi: CHECK_CONDITION,
    sense: triple(e.senseData),
    retries: 4,
    reason: 'retries exhausted: medium error',
  });
  expect(writes10.n).toBe(5);
  // Neither write reached the medium.
  r.faulty.clearFaults();
  expect(await holds(r, stamp(LBA, 1, BS, 1))).toBe(true);
  expectIdle(r.stack);
  await r.stack.close();
});
