// ABORT TASK SET and CLEAR TASK SET through CAM (pass.abortTaskSet /
// pass.clearTaskSet; SAM-5 task management functions, SAM-5 aborting
// commands), and TAS for PREEMPT AND ABORT. CLEAR TASK SET aborts the commands
// of every I_T nexus on the logical unit, ABORT TASK SET those of the sender's
// only: waiting in the device queue they complete at once, at the device once
// it has answered (no device reset); the function completes after all of them.
// The sender's commands end without status (CAM_REQ_ABORTED). Another nexus's:
// with TAS 0 in the Control mode page, without status, and that nexus gets
// COMMANDS CLEARED BY ANOTHER INITIATOR (2Fh/00h) if it had commands aborted;
// with TAS 1 (the `tas` option), with TASK ABORTED status (40h:
// CAM_SCSI_STATUS_ERROR) and no unit attention. A CLEAR TASK SET may name
// other nexuses whose commands the front end aborted before they reached the
// unit: with TAS 0 they get 2Fh/00h too. CAM status words from FreeBSD
// cam.h; CDBs from the SPC-5 tables.

import { afterEach, describe, expect, test } from 'vitest';
import { createStack, type Stack } from '../../src/stack.js';
import { MemoryBackend } from '../../src/virtio/device/backends/memory.js';
import type { ScsiResult } from '../../src/cam/periph/request.js';
import { ProbeBackend, until } from './helpers.js';
import { expectIdle } from './fault-rig.js';
import { A, B, C, ProutAction, READ_1, TUR, bytes, list, prout, run, settle, track } from './pr-fixtures.js';

const REQ_CMP = 0x01;
const REQ_ABORTED = 0x02;
const SCSI_STATUS_ERROR = 0x0c;
const STATUS_MASK = 0x3f;
/** SCSI status TASK ABORTED (SAM-5). */
const TASK_ABORTED = 0x40;
/** MODE SENSE (6), DBD 1, the Control mode page (0Ah), ALLOCATION LENGTH FFh. */
const MODE_SENSE_CONTROL = bytes('1a 08 0a 00 ff 00');
/** TYPE 1h: Write Exclusive. */
const WE = 1;

let stack: Stack | undefined;
afterEach(async () => {
  await stack?.close();
  stack = undefined;
});

/** A stack over a backend that holds every READ while `held.on`; `tas` is the unit's TAS. */
async function open(tas = false): Promise<{ s: Stack; probe: ProbeBackend; held: { on: boolean } }> {
  const probe = new ProbeBackend(new MemoryBackend({ blocks: 4096 }));
  const held = { on: false };
  probe.holdIf = (op) => held.on && op.kind === 'read';
  stack = await createStack({ backend: probe, queueSize: 64, ...(tas ? { emulator: { taskAbortedStatus: true } } : {}) });
  for (const who of [A, B, C]) await settle(stack, who);
  return { s: stack, probe, held };
}

/** CAM status (without flags) and SCSI status, no sense and no data: what an aborted command ends with. */
const ending = (r: ScsiResult): { cam: number; scsi: number; sense: Uint8Array | undefined; data: Uint8Array | undefined } => ({
  cam: r.camStatus & STATUS_MASK,
  scsi: r.scsiStatus,
  sense: r.sense,
  data: r.data,
});
const NO_STATUS = { cam: REQ_ABORTED, scsi: 0, sense: undefined, data: undefined };
const ABORTED_STATUS = { cam: SCSI_STATUS_ERROR, scsi: TASK_ABORTED, sense: undefined, data: undefined };

/**
 * A's and B's READs at the device, B's ORDERED TEST UNIT READY waiting behind them in the device queue, C with
 * nothing in flight; then CLEAR TASK SET from A. Returns how each ended, and the completion order.
 */
async function clearWithCommands(tas: boolean): Promise<{ s: Stack; a: ScsiResult; b: ScsiResult; bQueued: ScsiResult; order: string[] }> {
  const { s, probe, held } = await open(tas);
  const order: string[] = [];
  held.on = true;
  const a = track(run(s, A, READ_1), order, 'A READ');
  const b = track(run(s, B, READ_1), order, 'B READ');
  await until(() => probe.heldCount === 2, 'A’s and B’s READs at the backend');
  const bQueued = track(run(s, B, TUR, undefined, 'ordered'), order, 'B ORDERED TUR');
  expect(s.stats(0).queued).toBe(1);
  const started = probe.started;
  const clear = track(s.pass(0).clearTaskSet(A), order, 'CLEAR TASK SET');
  await until(() => bQueued.done(), 'B’s queued command aborted');
  // The READs are still at the device: the function waits for them.
  await new Promise((r) => setTimeout(r, 20));
  expect(clear.done()).toBe(false);
  held.on = false;
  probe.releaseHeld();
  await clear.p;
  // Nothing went to the device again: no reset re-issued the READs.
  expect(probe.started).toBe(started);
  return { s, a: await a.p, b: await b.p, bQueued: await bQueued.p, order };
}

describe('CLEAR TASK SET', () => {
  test('TAS 0: every nexus’s commands end without status, queued ones at once, those at the device once it answered (no reset); the function completes last; only B gets 2Fh/00h', async () => {
    const { s, a, b, bQueued, order } = await clearWithCommands(false);
    expect([ending(a), ending(b), ending(bQueued)]).toEqual([NO_STATUS, NO_STATUS, NO_STATUS]);
    expect(order[0]).toBe('B ORDERED TUR');
    expect(order.at(-1)).toBe('CLEAR TASK SET');
    // No reset unit attention for anyone; 2Fh/00h for B alone (C had nothing aborted, A sent it).
    expect(await settle(s, B)).toEqual(['6,47,0']);
    expect(await settle(s, A)).toEqual([]);
    expect(await settle(s, C)).toEqual([]);
    // The default unit reports TAS 0: the Control mode page (PAGE CODE 0Ah after the 4-byte header), byte 5 bit 6 clear.
    const control = await run(s, A, MODE_SENSE_CONTROL);
    expect([control.data?.[4], (control.data?.[9] ?? 0) & 0x40]).toEqual([0x0a, 0]);
    expectIdle(s);
  });

  test('TAS 1 (MODE SENSE shows it): B’s commands end with TASK ABORTED status, A’s without status; no unit attention for anyone', async () => {
    const { s, a, b, bQueued } = await clearWithCommands(true);
    expect([ending(a), ending(b), ending(bQueued)]).toEqual([NO_STATUS, ABORTED_STATUS, ABORTED_STATUS]);
    expect(await settle(s, B)).toEqual([]);
    expect(await settle(s, A)).toEqual([]);
    // Control mode page byte 5 (after the 4-byte header, at 4 + 5): TAS is bit 6.
    const control = await run(s, A, MODE_SENSE_CONTROL);
    expect(((control.data?.[9] ?? 0) & 0x40) !== 0).toBe(true);
    expectIdle(s);
  });

  test.each([false, true])('nothing in flight (TAS %s): it completes, and nobody gets a unit attention', async (tas) => {
    const { s } = await open(tas);
    await s.pass(0).clearTaskSet(A);
    for (const who of [A, B, C]) expect(await settle(s, who)).toEqual([]);
    expectIdle(s);
  });

  test('B with only a queued command: that nexus is told too', async () => {
    const { s, probe, held } = await open();
    held.on = true;
    const aRead = run(s, A, READ_1);
    await until(() => probe.heldCount === 1, 'A’s READ at the backend');
    const bQueued = run(s, B, TUR, undefined, 'ordered');
    const clear = s.pass(0).clearTaskSet(C);
    expect(ending(await bQueued)).toEqual(NO_STATUS);
    held.on = false;
    probe.releaseHeld();
    await clear;
    expect(ending(await aRead)).toEqual(NO_STATUS);
    expect(await settle(s, A)).toEqual(['6,47,0']);
    expect(await settle(s, B)).toEqual(['6,47,0']);
    expect(await settle(s, C)).toEqual([]);
    expectIdle(s);
  });
});

describe('CLEAR TASK SET naming nexuses the front end aborted commands of (transportAborted)', () => {
  test('TAS 0: a listed nexus with nothing at the unit gets 2Fh/00h; one also aborted at the unit gets it once; the sender, though listed, none', async () => {
    const { s, probe, held } = await open();
    held.on = true;
    const bRead = run(s, B, READ_1);
    await until(() => probe.heldCount === 1, 'B’s READ at the backend');
    const clear = s.pass(0).clearTaskSet(A, [A.id, B.id, C.id]);
    held.on = false;
    probe.releaseHeld();
    await clear;
    expect(ending(await bRead)).toEqual(NO_STATUS);
    expect(await settle(s, B)).toEqual(['6,47,0']);
    expect(await settle(s, C)).toEqual(['6,47,0']);
    expect(await settle(s, A)).toEqual([]);
    expectIdle(s);
  });

  test('TAS 1: nobody gets a unit attention', async () => {
    const { s } = await open(true);
    await s.pass(0).clearTaskSet(A, [B.id, C.id]);
    for (const who of [A, B, C]) expect(await settle(s, who)).toEqual([]);
    expectIdle(s);
  });

  test.each([
    ['not an array', 'x', 'pass.clearTaskSet: transportAborted must be an array of initiator ids, got x'],
    ['an empty id', [B.id, ''], "pass.clearTaskSet: transportAborted[1] must be a non-empty string, got ''"],
    ['a non-string id', [7], 'pass.clearTaskSet: transportAborted[0] must be a non-empty string, got 7'],
  ])('%s: RangeError, nothing is sent, and the unit still works', async (_name, bad, message) => {
    const { s } = await open();
    expect(() => s.pass(0).clearTaskSet(A, bad as unknown as readonly string[])).toThrow(new RangeError(message));
    for (const who of [A, B, C]) expect(await settle(s, who)).toEqual([]);
    expectIdle(s);
  });
});

describe('ABORT TASK SET', () => {
  test.each([false, true])('only the sender’s commands end, without status (TAS %s); B’s READ completes GOOD with its data; no unit attention for anyone', async (tas) => {
    const { s, probe, held } = await open(tas);
    const block = Uint8Array.from({ length: 512 }, (_, i) => (i * 5) & 0xff);
    expect((await run(s, B, bytes('2a 00 00 00 00 01 00 00 01 00'), block)).camStatus).toBe(REQ_CMP);
    held.on = true;
    const aRead = run(s, A, READ_1);
    const bRead = run(s, B, READ_1);
    await until(() => probe.heldCount === 2, 'A’s and B’s READs at the backend');
    const aQueued = run(s, A, TUR, undefined, 'ordered');
    const abort = s.pass(0).abortTaskSet(A);
    expect(ending(await aQueued)).toEqual(NO_STATUS);
    held.on = false;
    probe.releaseHeld();
    await abort;
    expect(ending(await aRead)).toEqual(NO_STATUS);
    const rb = await bRead;
    expect(rb.camStatus).toBe(REQ_CMP);
    expect(rb.data?.subarray(0, 512)).toEqual(block);
    for (const who of [A, B, C]) expect(await settle(s, who)).toEqual([]);
    expectIdle(s);
  });
});

describe('PREEMPT AND ABORT with TAS 1', () => {
  test('B’s READ at the device ends with TASK ABORTED status; B gets REGISTRATIONS PREEMPTED and no 2Fh/00h', async () => {
    const { s, probe, held } = await open(true);
    expect((await run(s, B, prout(ProutAction.REGISTER_AND_IGNORE), list(0, 0xb2))).camStatus).toBe(REQ_CMP);
    expect((await run(s, A, prout(ProutAction.REGISTER_AND_IGNORE), list(0, 0xa1))).camStatus).toBe(REQ_CMP);
    expect((await run(s, A, prout(ProutAction.RESERVE, WE), list(0xa1, 0))).camStatus).toBe(REQ_CMP);
    held.on = true;
    const bRead = run(s, B, READ_1);
    await until(() => probe.heldCount === 1, 'B’s READ at the backend');
    const pa = run(s, A, prout(ProutAction.PREEMPT_AND_ABORT, WE), list(0xa1, 0xb2));
    await new Promise((r) => setTimeout(r, 20));
    held.on = false;
    probe.releaseHeld();
    expect(ending(await bRead)).toEqual(ABORTED_STATUS);
    expect((await pa).camStatus).toBe(REQ_CMP);
    expect(await settle(s, B)).toEqual(['6,42,5']);
    expect(await settle(s, A)).toEqual([]);
    expectIdle(s);
  });
});
