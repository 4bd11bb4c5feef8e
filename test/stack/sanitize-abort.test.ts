// A SANITIZE OVERWRITE without IMMED aborted by ABORT TASK SET or CLEAR TASK
// SET (SAM-5 task management) while it writes: the operation goes on to the
// end of the medium (SBC-4: aborting the SANITIZE command does not stop its
// sanitize operation), but the function completes once the command is
// aborted, before the overwrite's next write, not after the whole erase (an
// initiator's TMF timeout is far shorter than an overwrite of a large disk).
// The command ends as the abort says (no status; TASK ABORTED with TAS 1 for
// another I_T nexus's function), and the unit answers SANITIZE IN PROGRESS
// (02h/04h/1Bh) until the overwrite is done. The backend holds the
// overwrite's writes from the third on, so each step is deterministic: with
// the function waiting for the erase, it never completes while one is held.
// CDBs from the SBC-4 tables; CAM status words from FreeBSD cam.h.

import { afterEach, expect, test } from 'vitest';
import type { ScsiResult } from '../../src/cam/periph/request.js';
import { senseTriple, until } from './helpers.js';
import { BS, rig, type Rig } from './fault-rig.js';
import { A, B, run, settle, track, type Who } from './pr-fixtures.js';

const BLOCKS = 16_384;
const STATUS_MASK = 0x3f;
const REQ_ABORTED = 0x02;
const SCSI_STATUS_ERROR = 0x0c;
/** SCSI status TASK ABORTED (SAM-5). */
const TASK_ABORTED = 0x40;
const PATTERN = [0xde, 0xad, 0xbe, 0xef];

/** SANITIZE (SBC-4): 48h; byte 1 IMMED 0, SERVICE ACTION 01h (OVERWRITE); bytes 7..8 PARAMETER LIST LENGTH 8. */
const SANITIZE_OVERWRITE = Uint8Array.of(0x48, 0x01, 0, 0, 0, 0, 0, 0, 8, 0);
/** OVERWRITE parameter list: OVERWRITE COUNT 1; INITIALIZATION PATTERN LENGTH 4; the pattern. */
const OVERWRITE_PARAMETERS = Uint8Array.of(0x01, 0x00, 0x00, 0x04, ...PATTERN);
const TUR = new Uint8Array(6);

let r: Rig | undefined;
afterEach(async () => {
  if (r !== undefined) {
    r.probe.holdIf = undefined;
    r.probe.releaseHeld();
    await r.stack.close();
  }
  r = undefined;
});

const tripleOf = (res: ScsiResult): string => senseTriple(res.sense)?.map((n) => n.toString(16).padStart(2, '0')).join('/') ?? `status ${res.scsiStatus}`;

/**
 * A's SANITIZE OVERWRITE (no IMMED) sent with A and B past their unit
 * attentions, its third write held at the backend; every later write is held
 * too once that one is let go.
 */
async function overwriteHeld(tas: boolean): Promise<{ rg: Rig; sanitize: ReturnType<typeof track<ScsiResult>> }> {
  const rg = await rig(BLOCKS, tas ? { emulator: { taskAbortedStatus: true } } : {});
  r = rg;
  for (const who of [A, B]) await settle(rg.stack, who);
  let writes = 0;
  rg.probe.holdIf = (op) => op.kind === 'write' && ++writes >= 3;
  const sanitize = track(run(rg.stack, A, SANITIZE_OVERWRITE, OVERWRITE_PARAMETERS), [], 'SANITIZE');
  await until(() => rg.probe.heldCount === 1, 'the third sanitize write held');
  return { rg, sanitize };
}

/**
 * Lets the held write go: the function must complete while the overwrite's
 * next write is held. Then `by` sees SANITIZE IN PROGRESS, and the overwrite,
 * let run, has covered the whole medium with the pattern.
 */
async function expectAnsweredWhileErasing(rg: Rig, fn: { done: () => boolean }, by: Who): Promise<void> {
  expect(rg.probe.releaseHeld()).toBe(1);
  await until(() => fn.done(), 'the task management function completed');
  await until(() => rg.probe.heldCount === 1, 'the overwrite’s next write held');
  expect(rg.stack.sim.emulator.sanitizer.running).toBe(true);
  expect(tripleOf(await run(rg.stack, by, TUR))).toBe('02/04/1b');
  rg.probe.holdIf = undefined;
  rg.probe.releaseHeld();
  await until(() => !rg.stack.sim.emulator.sanitizer.running, 'the overwrite finished');
  expect(rg.stack.sim.emulator.sanitizer.active).toBe(false);
  for (let lba = 0; lba < BLOCKS; lba += 2048) {
    const got = new Uint8Array(2048 * BS);
    expect(await rg.disk.read(lba * BS, got)).toBe('ok');
    const bad = got.findIndex((b, i) => b !== PATTERN[i % 4]);
    expect(bad, `block ${lba + Math.floor(bad / BS)}`).toBe(-1);
  }
}

test('ABORT TASK SET from A: completes once the SANITIZE is aborted, the overwrite goes on to the end; the SANITIZE ends without status', async () => {
  const { rg, sanitize } = await overwriteHeld(false);
  const fn = track(rg.stack.pass(0).abortTaskSet(A), [], 'ABORT TASK SET');
  await expectAnsweredWhileErasing(rg, fn, A);
  const res = await sanitize.p;
  expect([res.camStatus & STATUS_MASK, res.scsiStatus]).toEqual([REQ_ABORTED, 0]);
});

test.each([false, true])('CLEAR TASK SET from B (TAS %s): completes once A’s SANITIZE is aborted, the overwrite goes on to the end', async (tas) => {
  const { rg, sanitize } = await overwriteHeld(tas);
  const fn = track(rg.stack.pass(0).clearTaskSet(B), [], 'CLEAR TASK SET');
  await expectAnsweredWhileErasing(rg, fn, B);
  const res = await sanitize.p;
  expect([res.camStatus & STATUS_MASK, res.scsiStatus]).toEqual(tas ? [SCSI_STATUS_ERROR, TASK_ABORTED] : [REQ_ABORTED, 0]);
});
