// ABORT TASK SET and CLEAR TASK SET (RFC 7143 §11.5.1 functions 2 and 4;
// SAM-5 task management) across two sessions of one target, end to end over
// loopback TCP. CLEAR TASK SET aborts the commands of every I_T nexus on the
// logical unit: the sender's end without a response; another session's end
// without a response and that nexus gets COMMANDS CLEARED BY ANOTHER INITIATOR
// (2Fh/00h) when the Control mode page's TAS is 0, or with a SCSI Response of
// TASK ABORTED (40h) and no unit attention when TAS is 1. ABORT TASK SET
// aborts only the sender's commands and establishes no unit attention. Neither
// resets the device: a command at the device is aborted once the device has
// answered it. PDUs are built from RFC 7143's tables (initiator.ts).

import { describe, expect, it } from 'vitest';
import { field32, ittOf, opcodeOf } from './initiator.js';
import { BS, read10, senseOfTur as ua, sessionsTargets, tmf, tmfResponse } from './two-sessions.js';
import { until } from '../stack/helpers.js';

const IQN = 'iqn.2026-11.org.vtcam:task-set';
const write10 = (lba: number): Uint8Array => Uint8Array.of(0x2a, 0, 0, 0, 0, lba, 0, 0, 1, 0);
/** R2T opcode (§11.2.1.2). */
const R2T = 0x31;
/** Task Management Function Request functions (§11.5.1). */
const ABORT_TASK_SET = 2;
const CLEAR_TASK_SET = 4;
/** SCSI status TASK ABORTED (SAM-5). */
const TASK_ABORTED = 0x40;

/** Opens a target over a backend that holds READs while `held.on`; `tas` is the unit's TAS. */
const target = sessionsTargets(IQN);

describe('CLEAR TASK SET', () => {
  it('TAS 0: both sessions’ READs at the device end without a response once the device answers; the TMF completes after them; only the other session sees 2Fh/00h', async () => {
    const { probe, held, login } = await target(false);
    const a = await login(0x23d0_0000_00a1n);
    const b = await login(0x23d0_0000_00b2n);
    // Nothing in flight: nobody's commands are aborted and nobody gets a unit attention.
    tmf(a, CLEAR_TASK_SET, 900);
    expect(await tmfResponse(a, 900)).toBe(0);
    expect(await ua(b)).toBeUndefined();
    expect(await ua(a)).toBeUndefined();
    held.on = true;
    const readA = a.command({ cdb: read10(5), read: true, edtl: BS });
    const readB = b.command({ cdb: read10(6), read: true, edtl: BS });
    await until(() => probe.heldCount === 2, 'both READs at the backend');
    tmf(a, CLEAR_TASK_SET, 901);
    // The device still has the READs: the TMF waits for them.
    expect(await a.silence((p) => ittOf(p) === 901, 100)).toBe(true);
    held.on = false;
    probe.releaseHeld();
    expect(await tmfResponse(a, 901)).toBe(0);
    expect(await a.silence((p) => ittOf(p) === readA)).toBe(true);
    expect(await b.silence((p) => ittOf(p) === readB)).toBe(true);
    // COMMANDS CLEARED BY ANOTHER INITIATOR for the other session only; no reset's unit attention for anyone.
    expect(await ua(b)).toEqual([0x06, 0x2f, 0x00]);
    expect(await ua(b)).toBeUndefined();
    expect(await ua(a)).toBeUndefined();
    expect((await b.result(b.command({ cdb: read10(6), read: true, edtl: BS }))).status).toBe(0);
  });

  it('a command that arrives while CLEAR TASK SET waits for the unit is not one it covers: it runs, and the unit answers it with the clear’s unit attention', async () => {
    const { probe, held, login } = await target(false);
    const a = await login(0x23d0_0000_00a1n);
    const b = await login(0x23d0_0000_00b2n);
    held.on = true;
    const readB = b.command({ cdb: read10(6), read: true, edtl: BS });
    await until(() => probe.heldCount === 1, 'B’s READ at the backend');
    tmf(a, CLEAR_TASK_SET, 903);
    expect(await a.silence((p) => ittOf(p) === 903, 100)).toBe(true);
    // After the TMF: a WRITE without immediate data, held at its R2T while the unit still clears.
    const writeB = b.command({ cdb: write10(7), write: true, edtl: BS });
    const r2t = await b.next((p) => opcodeOf(p) === R2T && ittOf(p) === writeB);
    held.on = false;
    probe.releaseHeld();
    expect(await tmfResponse(a, 903)).toBe(0);
    expect(await b.silence((p) => ittOf(p) === readB)).toBe(true);
    // The WRITE was left alone: its Data-Out is taken, and it reaches the unit after the clear (06h/2Fh/00h).
    b.dataOut({ itt: writeB, ttt: field32(r2t, 20), dataSN: 0, offset: 0, data: new Uint8Array(BS).fill(0x77), final: true });
    const w = await b.result(writeB);
    const sense = w.response.data.subarray(2);
    expect([w.status, sense[2], sense[12], sense[13]]).toEqual([2, 0x06, 0x2f, 0x00]);
    expect((await b.result(b.command({ cdb: write10(7), write: true, edtl: BS, data: new Uint8Array(BS).fill(0x77) }))).status).toBe(0);
    expect((await a.result(a.command({ cdb: read10(7), read: true, edtl: BS }))).data).toEqual(new Uint8Array(BS).fill(0x77));
  });

  it('TAS 1: the other session’s READ gets a SCSI Response of TASK ABORTED, the sender’s none; no unit attention for either', async () => {
    const { probe, held, login } = await target(true);
    const a = await login(0x23d0_0000_00a1n);
    const b = await login(0x23d0_0000_00b2n);
    held.on = true;
    const readA = a.command({ cdb: read10(5), read: true, edtl: BS });
    const readB = b.command({ cdb: read10(6), read: true, edtl: BS });
    await until(() => probe.heldCount === 2, 'both READs at the backend');
    tmf(a, CLEAR_TASK_SET, 902);
    await new Promise((r) => setTimeout(r, 50));
    held.on = false;
    probe.releaseHeld();
    expect(await tmfResponse(a, 902)).toBe(0);
    const r = await b.result(readB);
    expect({ status: r.status, data: r.data.length }).toEqual({ status: TASK_ABORTED, data: 0 });
    expect(await a.silence((p) => ittOf(p) === readA)).toBe(true);
    expect(await ua(b)).toBeUndefined();
    expect(await ua(a)).toBeUndefined();
  });
});

describe('ABORT TASK SET', () => {
  it('only the sender’s READ is aborted (no response); the other session’s READ completes GOOD; no unit attention for either', async () => {
    const { probe, held, login } = await target(false);
    const a = await login(0x23d0_0000_00a1n);
    const b = await login(0x23d0_0000_00b2n);
    held.on = true;
    const readA = a.command({ cdb: read10(5), read: true, edtl: BS });
    const readB = b.command({ cdb: read10(6), read: true, edtl: BS });
    await until(() => probe.heldCount === 2, 'both READs at the backend');
    tmf(a, ABORT_TASK_SET, 903);
    await new Promise((r) => setTimeout(r, 50));
    held.on = false;
    probe.releaseHeld();
    expect(await tmfResponse(a, 903)).toBe(0);
    expect((await b.result(readB)).status).toBe(0);
    expect(await a.silence((p) => ittOf(p) === readA)).toBe(true);
    expect(await ua(b)).toBeUndefined();
    expect(await ua(a)).toBeUndefined();
  });
});
