// What a device reset does to the commands it catches, through the whole
// stack (createStack: da/pass → XPT → vtblk SIM → SBC emulator → virtio-blk →
// device → backend). The SIM's recovery (a timeout, XPT_RESET_DEV,
// XPT_RESET_BUS) resets the virtio-blk device and gives the other in-flight
// CCBs back CAM_REQUEUE_REQ for the XPT to issue again; SAM-5 has a logical
// unit reset abort the task set, so what the unit does for a command caught by
// the reset must be that command's last act:
// - the emulator's first execution of a re-issued command stops before its
//   next block operation (here: ORWRITEs waiting for the range lock behind a
//   WRITE the device holds), so the re-issued CCB is the only one acting;
// - a re-issued command is the command the reset caught, not its initiator's
//   next one (its first execution may have reached the medium): it runs and
//   answers as itself, and the reset's unit attention waits for the
//   initiator's next command (SAM-5 unit attention condition);
// - a command whose second execution would not end as one does (COMPARE AND
//   WRITE, PERSISTENT RESERVE OUT) is not issued again: the reset may have let
//   part of it through (a COMPARE AND WRITE's write reaches the medium while
//   the reset waits for the device), so it ends with what cut it short
//   (CAM_BDR_SENT for a device reset, CAM_SCSI_BUS_RESET for a bus reset or a
//   timeout's reset), which da does not retry for such a command, and it does
//   nothing more.
// CDBs are written from the SBC-4/SPC-5 tables; CAM status words from FreeBSD
// cam.h.

import { describe, expect, test } from 'vitest';
import { XptFunc, newCcb } from '../../src/cam/ccb.js';
import type { ScsiResult } from '../../src/cam/periph/request.js';
import type { Stack } from '../../src/stack.js';
import { TUR, compareAndWrite, resetDevice, rw10, senseTriple, stamp, until } from './helpers.js';
import { BS, camErrorOf, counter, fill, rig, touching, type Rig } from './fault-rig.js';
import { A, READ_KEYS, list, prout, run, settle } from './pr-fixtures.js';

const REQ_CMP = 0x01;
const CMD_TIMEOUT = 0x0b;
const SCSI_BUS_RESET = 0x0e;
const BDR_SENT = 0x17;
const SCSI_STATUS_ERROR = 0x0c;
const STATUS_MASK = 0x3f;
const LBA = 10;
/** Byte offset of LBA 10 at the backend. */
const AT = LBA * BS;

/** ORWRITE (16) (SBC-4): 8Bh; bytes 2..9 LOGICAL BLOCK ADDRESS; bytes 10..13 TRANSFER LENGTH. */
function orWrite16(lba: number, blocks: number): Uint8Array {
  const cdb = new Uint8Array(16);
  const v = new DataView(cdb.buffer);
  cdb[0] = 0x8b;
  v.setBigUint64(2, BigInt(lba));
  v.setUint32(10, blocks);
  return cdb;
}

/** COMPARE AND WRITE's Data-Out Buffer: the verify block, then the write block. */
function verifyThenWrite(verify: Uint8Array, write: Uint8Array): Uint8Array {
  const out = new Uint8Array(verify.length + write.length);
  out.set(verify);
  out.set(write, verify.length);
  return out;
}

/** Sends XPT_RESET_BUS through the XPT; resolves with the CCB's final status word. */
function resetBus(stack: Stack): Promise<number> {
  return new Promise((resolve) => {
    stack.xpt.action(newCcb(XptFunc.RESET_BUS, stack.da(0).path, (c) => { resolve(c.status); }));
  });
}

/** Backend operations of `kind` of exactly one block at LBA 10 from now on. */
/**
 * A two-block WRITE over LBA 10 carrying `data`, held by the device: its shared range lock makes later commands on
 * LBA 10 wait. The getter gives its answer once it has one.
 */
async function holdWriteAt10(r: Rig, data: Uint8Array): Promise<() => ScsiResult | undefined> {
  r.probe.holdIf = touching('write', LBA);
  let w: ScsiResult | undefined;
  r.stack.pass(0).submit({ cdb: rw10('write', LBA, 2), direction: 'out', data }, (x) => { w = x; });
  await until(() => r.probe.heldCount === 1, 'WRITE held by the device');
  r.probe.holdIf = undefined;
  return () => w;
}

/** XPT_RESET_DEV while the held WRITE is on the ring: the WRITE is let go once the recovery runs; resolves when the reset is done. */
async function resetReleasingWrite(r: Rig): Promise<void> {
  const reset = resetDevice(r.stack);
  await until(() => r.stack.stats(0).simFrozen === 1, 'recovery started');
  r.probe.releaseHeld();
  expect((await reset) & STATUS_MASK).toBe(REQ_CMP);
}

const oneBlockAt10 = (r: Rig, kind: 'read' | 'write'): { readonly n: number } => counter(r.probe, (op) => op.kind === kind && op.offset === AT && op.length === BS);

/**
 * Each way of starting a recovery while the device holds a request: what it
 * returns once the recovery is under way (the timeout's victim is a READ of
 * its own, far from LBA 10), and the CAM status of the CCBs it cuts short
 * (FreeBSD cam.h: CAM_BDR_SENT for a bus device reset, CAM_SCSI_BUS_RESET for
 * a bus reset; the timeout's reset is reported as a bus reset, AC_BUS_RESET).
 */
const TRIGGERS = {
  'XPT_RESET_DEV': { start: (r: Rig): Promise<unknown> => resetDevice(r.stack), cutShort: BDR_SENT },
  'XPT_RESET_BUS': { start: (r: Rig): Promise<unknown> => resetBus(r.stack), cutShort: SCSI_BUS_RESET },
  'another CCB timed out': {
    start: (r: Rig): Promise<unknown> => {
      const prev = r.probe.holdIf;
      r.probe.holdIf = (op) => touching('read', 500)(op) || (prev?.(op) ?? false);
      return r.stack.pass(0).scsi({ cdb: rw10('read', 500, 1), direction: 'in', length: BS, timeoutMs: 50 }).then((v) => {
        expect(v.camStatus & STATUS_MASK).toBe(CMD_TIMEOUT);
      });
    },
    cutShort: SCSI_BUS_RESET,
  },
} as const;

describe('a COMPARE AND WRITE whose write the reset let through', () => {
  for (const [name, { start: trigger, cutShort }] of Object.entries(TRIGGERS)) {
    test(`${name}: ends with what cut it short (0x${cutShort.toString(16)}), da does not retry it, and it never runs again`, async () => {
      const r = await rig(1024);
      await fill(r, LBA, 1, 1);
      const before = stamp(LBA, 1, BS, 1);
      const after = stamp(LBA, 1, BS, 2);
      const reads = oneBlockAt10(r, 'read');
      const writes = oneBlockAt10(r, 'write');
      r.probe.holdIf = touching('write', LBA);
      const caw = camErrorOf(r.stack.da(0).scsi({ cdb: compareAndWrite(LBA, 1), direction: 'out', data: verifyThenWrite(before, after) }));
      await until(() => r.probe.heldCount === 1, 'the COMPARE AND WRITE write held by the device');
      const recovering = trigger(r);
      await until(() => r.stack.stats(0).simFrozen === 1, 'recovery started', 2000);
      // The reset waits for the device, which now finishes the write: it reaches the medium.
      r.probe.holdIf = undefined;
      r.probe.releaseHeld();
      await recovering;
      const e = await caw;
      // Cut short, and da gave up at once: a retry would compare against the command's own write (MISCOMPARE).
      expect({ cam: e.camStatus, scsi: e.scsiStatus, retries: e.retries }).toEqual({ cam: cutShort, scsi: 0, retries: 0 });
      expect({ reads: reads.n, writes: writes.n }).toEqual({ reads: 1, writes: 1 });
      // The medium holds the write, once; nothing ran the command again.
      expect(Buffer.from(await r.stack.da(0).read(BigInt(LBA), 1)).equals(after)).toBe(true);
      expect({ reads: reads.n, writes: writes.n }).toEqual({ reads: 2, writes: 1 });
      await r.stack.close();
    });
  }
});

test('COMPARE AND WRITEs waiting for the range lock when the reset came end CAM_BDR_SENT and never touch the medium afterwards', async () => {
  const r = await rig(1024);
  await fill(r, LBA, 1, 1);
  const before = stamp(LBA, 1, BS, 1);
  // The COMPARE AND WRITEs queue behind the held WRITE for their exclusive lock. Enough of them that the later ones
  // only get the lock once the reset is over.
  const w = await holdWriteAt10(r, stamp(LBA, 2, BS, 1));
  const n = 8;
  const answers: ScsiResult[] = [];
  for (let i = 0; i < n; i++) {
    const data = verifyThenWrite(before, stamp(LBA, 1, BS, 100 + i));
    r.stack.pass(0).submit({ cdb: compareAndWrite(LBA, 1), direction: 'out', data }, (x) => answers.push(x));
  }
  await until(() => r.stack.sim.emulator.locks.waiting === n, 'COMPARE AND WRITEs waiting for the lock');
  const reads = oneBlockAt10(r, 'read');
  const writes = oneBlockAt10(r, 'write');
  await resetReleasingWrite(r);
  await until(() => w() !== undefined && answers.length === n, 'all answered');
  expect(answers.map((a) => a.camStatus & STATUS_MASK)).toEqual(Array<number>(n).fill(BDR_SENT));
  // Cut short means done: once the unit has let go of every lock, none of them has read or written LBA 10 since the reset.
  const locks = r.stack.sim.emulator.locks;
  await until(() => locks.held === 0 && locks.waiting === 0, 'range locks released');
  expect({ reads: reads.n, writes: writes.n }).toEqual({ reads: 0, writes: 0 });
  await r.stack.close();
});

test('ORWRITEs waiting for the range lock when the reset came are re-issued, and each ORs its data in exactly once', async () => {
  const r = await rig(1024);
  await fill(r, LBA, 1, 0);
  const w = await holdWriteAt10(r, new Uint8Array(2 * BS));
  // Each ORWRITE sets one bit of every byte: what the medium ends with says which ones ran.
  const n = 8;
  const answers = new Map<number, ScsiResult>();
  for (let i = 0; i < n; i++) {
    r.stack.pass(0).submit({ cdb: orWrite16(LBA, 1), direction: 'out', data: new Uint8Array(BS).fill(1 << i) }, (x) => answers.set(i, x));
  }
  await until(() => r.stack.sim.emulator.locks.waiting === n, 'ORWRITEs waiting for the lock');
  const reads = oneBlockAt10(r, 'read');
  const writes = oneBlockAt10(r, 'write');
  await resetReleasingWrite(r);
  await until(() => w() !== undefined && answers.size === n, 'all answered');
  const locks = r.stack.sim.emulator.locks;
  await until(() => locks.held === 0 && locks.waiting === 0, 'range locks released');
  // Re-issued, each is the command the reset caught, not its initiator's next one: the held WRITE and every ORWRITE
  // run, and none takes the reset's unit attention (06h/29h/03h), which the next command gets.
  expect([w()?.camStatus, ...[...answers.values()].map((a) => a.camStatus)].map((c) => (c ?? 0) & STATUS_MASK)).toEqual(Array<number>(n + 1).fill(REQ_CMP));
  // One read and one write per ORWRITE, from its re-issued execution: the first executions stopped.
  expect({ reads: reads.n, writes: writes.n }).toEqual({ reads: n, writes: n });
  const tur = await r.stack.pass(0).scsi({ cdb: TUR, direction: 'none' });
  expect([tur.camStatus & STATUS_MASK, senseTriple(tur.sense)]).toEqual([SCSI_STATUS_ERROR, [6, 0x29, 3]]);
  expect(new Set(await r.stack.da(0).read(BigInt(LBA), 1))).toEqual(new Set([0xff]));
  await r.stack.close();
});

test('a WRITE the device held when the reset came is re-issued and answers GOOD, its data there; its initiator then gets 29h/03h once', async () => {
  const r = await rig(1024);
  expect(await settle(r.stack, A)).toEqual(['6,41,0']);
  const data = stamp(LBA, 2, BS, 7);
  r.probe.holdIf = touching('write', LBA);
  const written = run(r.stack, A, rw10('write', LBA, 2), data);
  await until(() => r.probe.heldCount === 1, 'WRITE held by the device');
  r.probe.holdIf = undefined;
  await resetReleasingWrite(r);
  const w = await written;
  // Not CHECK CONDITION, UNIT ATTENTION: that would say the WRITE was not executed, and the medium holds it.
  expect([w.camStatus & STATUS_MASK, w.scsiStatus, w.sense]).toEqual([REQ_CMP, 0, undefined]);
  expect(await settle(r.stack, A)).toEqual(['6,41,3']);
  expect(Buffer.from((await run(r.stack, A, rw10('read', LBA, 2))).data ?? []).equals(data)).toBe(true);
  await r.stack.close();
});

test('a PERSISTENT RESERVE OUT the reset caught before its answer ends CAM_BDR_SENT: registered once, not twice', async () => {
  const r = await rig(1024);
  await settle(r.stack, A);
  let answer: ScsiResult | undefined;
  // REGISTER (service action 00h): RESERVATION KEY 0, SERVICE ACTION RESERVATION KEY 11h. It runs as it reaches
  // the unit; the reset comes before its answer is delivered.
  r.stack.pass(0).submit({ cdb: prout(0), direction: 'out', data: list(0, 0x11), initiator: A }, (x) => { answer = x; });
  expect(r.stack.sim.activeCount).toBe(1);
  const reset = resetDevice(r.stack);
  expect((await reset) & STATUS_MASK).toBe(REQ_CMP);
  await until(() => answer !== undefined, 'PROUT answered');
  expect(answer?.camStatus !== undefined ? answer.camStatus & STATUS_MASK : undefined).toBe(BDR_SENT);
  // The reset's unit attention, then the one registration: key 11h (PRgeneration 1, ADDITIONAL LENGTH 8).
  expect((await settle(r.stack, A)).length).toBeGreaterThan(0);
  const keys = await run(r.stack, A, READ_KEYS);
  expect(Array.from(keys.data ?? [])).toEqual([0, 0, 0, 1, 0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0, 0x11]);
  // Sent again by the initiator, the same REGISTER now conflicts (its RESERVATION KEY is no longer the one held):
  // what a second execution by the SIM would have answered.
  const again = await run(r.stack, A, prout(0), list(0, 0x11));
  expect(again.scsiStatus).toBe(0x18);
  await r.stack.close();
});
