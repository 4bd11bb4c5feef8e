// A PERSISTENT RESERVE OUT PREEMPT AND ABORT (SPC-5) whose own task is
// aborted while it waits at the logical unit for a preempted READ the device
// runs — by its sender's ABORT TASK (RFC 7143 §11.5.1 function 1), by its
// sender's connection dropping, or by another session's CLEAR TASK SET
// (function 4) — end to end over loopback TCP. The preempt stands, so the
// preempted sessions' tasks the target holds short of the unit end as the
// unit's own did, whether the WRITE still waits for Data-Out or its data came
// in while the LUN's gate held it back (preempt-gate.ts); neither is written,
// and neither runs when the gate opens. For ABORT TASK and the dropped
// connection the SIM aborts the command at the device by resetting it (29h/00h
// for every I_T nexus, superseding the REGISTRATIONS PREEMPTED the preempt
// gave); the preempted nexuses then get COMMANDS CLEARED BY ANOTHER INITIATOR
// (2Fh/00h), once. A CLEAR TASK SET resets nothing: the unit waits for the
// device's answer (SAM-5 CLEAR TASK SET, aborting commands). With TAS 0 none of
// the aborted tasks gets a response, and every I_T nexus that had commands
// aborted but the clear's sender gets 2Fh/00h once — the PREEMPT AND ABORT's
// sender, and the preempted nexuses after their REGISTRATIONS PREEMPTED
// (2Ah/05h); with TAS 1 they end with TASK ABORTED status (40h) instead, and
// the preempted nexuses are told 2Ah/05h only. PDUs are built from RFC 7143's
// tables (initiator.ts); PERSISTENT RESERVE OUT CDBs and parameter lists from
// SPC-5's.

import { describe, expect, it } from 'vitest';
import { bhsOf, ittOf, opcodeOf, pdu, type TestInitiator } from './initiator.js';
import { BS, read10, readBlock, senseOfTur as ua, sessionsTargets, tmf, tmfResponse, writeAwaitingData, type SessionsTarget } from './two-sessions.js';
import { until } from '../stack/helpers.js';

const IQN = 'iqn.2026-11.org.vtcam:preempt-abort-aborted';
/** Reject opcode (§11.2.1.2). */
const REJECT = 0x3f;
/** Task Management Function Request function CLEAR TASK SET (§11.5.1). */
const CLEAR_TASK_SET = 4;
/** SCSI status TASK ABORTED (SAM-5). */
const TASK_ABORTED = 0x40;
/**
 * Sense key UNIT ATTENTION with POWER ON, RESET, OR BUS DEVICE RESET OCCURRED (29h/00h), REGISTRATIONS
 * PREEMPTED (2Ah/05h) and COMMANDS CLEARED BY ANOTHER INITIATOR (2Fh/00h) (SPC-5).
 */
const RESET_OCCURRED = [0x06, 0x29, 0x00];
const REGISTRATIONS_PREEMPTED = [0x06, 0x2a, 0x05];
const COMMANDS_CLEARED = [0x06, 0x2f, 0x00];
/** PERSISTENT RESERVE IN, READ KEYS, ALLOCATION LENGTH 100h (SPC-5). */
const READ_KEYS = Uint8Array.of(0x5e, 0x00, 0, 0, 0, 0, 0, 0x01, 0x00, 0);
const KEY_A = 0xaaaa_0000_0000_000an;
const KEY_B = 0xbbbb_0000_0000_000bn;
const KEY_D = 0xdddd_0000_0000_000dn;

const target = sessionsTargets(IQN);

/**
 * PERSISTENT RESERVE OUT (SPC-5) with its 24-byte parameter list as immediate data: 5Fh, SERVICE ACTION
 * (byte 1), SCOPE 0h | TYPE (byte 2), PARAMETER LIST LENGTH 18h; RESERVATION KEY (bytes 0..7), SERVICE
 * ACTION RESERVATION KEY (bytes 8..15). Service actions REGISTER 0h, PREEMPT AND ABORT 5h; TYPE 1h Write Exclusive.
 */
function sendProut(ini: TestInitiator, sa: 0x0 | 0x5, key: bigint, sark: bigint): number {
  const data = new Uint8Array(24);
  const v = new DataView(data.buffer);
  v.setBigUint64(0, key);
  v.setBigUint64(8, sark);
  return ini.command({ cdb: Uint8Array.of(0x5f, sa, sa === 0x5 ? 0x1 : 0, 0, 0, 0, 0, 0, 24, 0), write: true, edtl: 24, data });
}

/** The reservation keys a READ KEYS parameter list holds (PRGENERATION, ADDITIONAL LENGTH, then 8 bytes a key). */
function keysOf(data: Uint8Array): bigint[] {
  const v = new DataView(data.buffer, data.byteOffset, data.byteLength);
  return Array.from({ length: v.getUint32(4) / 8 }, (_, i) => v.getBigUint64(8 + 8 * i));
}

/** Sends the one Data-Out PDU a one-block WRITE's R2T asked for, every byte `fill`. */
function answerR2t(ini: TestInitiator, w: { itt: number; ttt: number }, fill: number): void {
  ini.dataOut({ itt: w.itt, ttt: w.ttt, dataSN: 0, offset: 0, data: new Uint8Array(BS).fill(fill), final: true });
}

/** ABORT TASK (§11.5): opcode 02h immediate, F | function 1, ITT, Referenced Task Tag, CmdSN, ExpStatSN, RefCmdSN. */
function abortTask(ini: TestInitiator, itt: number, ref: { itt: number; cmdSN: number }): void {
  ini.send(pdu(bhsOf([[0, 0x02 | 0x40, 1], [1, 0x80 | 1, 1], [16, itt, 4], [20, ref.itt, 4], [24, ini.cmdSN, 4], [28, ini.expStatSN, 4], [32, ref.cmdSN, 4]])));
}

/** The four sessions while A's PREEMPT AND ABORT waits at the unit, and the tasks it preempted. */
interface Waiting {
  readonly a: TestInitiator;
  readonly b: TestInitiator;
  readonly c: TestInitiator;
  readonly d: TestInitiator;
  readonly writeB: { itt: number; ttt: number };
  readonly writeC: { itt: number; ttt: number };
  readonly readB: number;
  readonly prout: { itt: number; cmdSN: number };
}

/**
 * A, B, C registered (B and C with KEY_B), D with KEY_D, no reservation: A's PREEMPT AND ABORT of KEY_B removes
 * B's and C's registrations and aborts their commands, and waits for B's READ at the device. B's WRITE still
 * waits for Data-Out; C's Data-Out comes in meanwhile, and the gate holds it back from the unit. Then `abort`
 * aborts A's task; the held READ is let go once it returns (or anything fails).
 */
async function preemptAborted(t: SessionsTarget, abort: (w: Waiting) => Promise<void>): Promise<Waiting> {
  const { login, held, probe } = t;
  const a = await login(0x23d0_0000_00a1n);
  const b = await login(0x23d0_0000_00b2n);
  const c = await login(0x23d0_0000_00c3n);
  const d = await login(0x23d0_0000_00d4n);
  for (const [ini, key] of [[a, KEY_A], [b, KEY_B], [c, KEY_B], [d, KEY_D]] as const) expect((await ini.result(sendProut(ini, 0x0, 0n, key))).status).toBe(0);
  const writeB = await writeAwaitingData(b, 4);
  const writeC = await writeAwaitingData(c, 5);
  held.on = true;
  try {
    const readB = b.command({ cdb: read10(7), read: true, edtl: BS });
    await until(() => probe.heldCount === 1, 'B’s READ at the device');
    const prout = { cmdSN: a.cmdSN, itt: sendProut(a, 0x5, KEY_A, KEY_B) };
    // The preempt is made; the command waits for B's READ, and C's WRITE, its data in, waits at the gate.
    expect(keysOf((await a.result(a.command({ cdb: READ_KEYS, read: true, edtl: 256 }))).data)).toEqual([KEY_A, KEY_D]);
    answerR2t(c, writeC, 0xcc);
    expect(await c.silence((p) => ittOf(p) === writeC.itt, 100)).toBe(true);
    const w = { a, b, c, d, writeB, writeC, readB, prout };
    await abort(w);
    return w;
  } finally {
    held.on = false;
    probe.releaseHeld();
  }
}

describe('PREEMPT AND ABORT aborted while it waits at the unit, TAS 0', () => {
  it.each([
    ['its sender’s ABORT TASK', 'abort-task'],
    ['its sender’s connection dropping', 'drop'],
  ] as const)('%s: B’s and C’s held WRITEs end without a response and are never written; B and C see 29h/00h then 2Fh/00h, once', async (_name, how) => {
    const t = await target(false);
    const { a, b, c, d, writeB, writeC, readB, prout } = await preemptAborted(t, async ({ a: sender, prout: ref }) => {
      if (how === 'abort-task') abortTask(sender, 700, ref);
      else sender.close();
      // The SIM aborts the waiting command by resetting the device; the held READ is let go once that is under way.
      await until(() => t.stack.stats(0).simFrozen === 1, 'recovery started', 2000);
    });
    if (how === 'abort-task') {
      expect(await tmfResponse(a, 700)).toBe(0);
      expect(await a.silence((p) => ittOf(p) === prout.itt, 100)).toBe(true);
    }
    // B's late Data-Out answers a valid R2T: taken and dropped, no Reject.
    answerR2t(b, writeB, 0xbb);
    for (const [ini, itt] of [[b, writeB.itt], [b, readB], [c, writeC.itt]] as const) expect(await ini.silence((p) => ittOf(p) === itt || opcodeOf(p) === REJECT, 100)).toBe(true);
    for (const ini of [b, c]) {
      expect(await ua(ini)).toEqual(RESET_OCCURRED);
      expect(await ua(ini)).toEqual(COMMANDS_CLEARED);
      expect(await ua(ini)).toBeUndefined();
    }
    expect(await ua(d)).toEqual(RESET_OCCURRED);
    expect(await ua(d)).toBeUndefined();
    if (how === 'abort-task') {
      expect(await ua(a)).toEqual(RESET_OCCURRED);
      expect(await ua(a)).toBeUndefined();
    }
    expect(await readBlock(d, 4)).toEqual(new Uint8Array(BS));
    expect(await readBlock(d, 5)).toEqual(new Uint8Array(BS));
  });
});

describe('PREEMPT AND ABORT aborted while it waits at the unit by another session’s CLEAR TASK SET', () => {
  // D, registered and not preempted, clears the task set (SAM-5 CLEAR TASK SET): every command in it is aborted,
  // A's PERSISTENT RESERVE OUT too; the device is not reset, so the unit waits for its answer to B's READ, and
  // the function completes once that READ and A's command have ended. Each aborted task was aborted by another
  // I_T nexus than its own, so it ends as TAS says (SAM-5 aborting commands; SPC-5 Control mode page): no
  // response with TAS 0, TASK ABORTED with TAS 1. With TAS 0, A, B and C had commands aborted by another
  // initiator's actions and get COMMANDS CLEARED BY ANOTHER INITIATOR, once each whether the PREEMPT AND ABORT,
  // the CLEAR TASK SET or both aborted theirs; D, the clear's sender with nothing in the task set, gets nothing.
  it.each([
    ['TAS 0', false],
    ['TAS 1', true],
  ] as const)('%s: D’s function completes; A’s command and B’s and C’s tasks end as TAS says; B’s and C’s WRITEs are never written; each session sees its unit attentions once, in order', async (_name, tas) => {
    const t = await target(tas);
    const { a, b, c, d, writeB, writeC, readB, prout } = await preemptAborted(t, async ({ d: sender }) => {
      tmf(sender, CLEAR_TASK_SET, 701);
      // Nothing is reset: the function waits for the device to answer B's READ, and for A's command, which waits for it.
      expect(await sender.silence((p) => ittOf(p) === 701, 100)).toBe(true);
    });
    expect(await tmfResponse(d, 701)).toBe(0);
    // B's late Data-Out answers a valid R2T: taken and dropped, no Reject.
    answerR2t(b, writeB, 0xbb);
    const aborted = [[a, prout.itt], [b, readB], [b, writeB.itt], [c, writeC.itt]] as const;
    if (tas) for (const [ini, itt] of aborted) expect((await ini.result(itt)).status).toBe(TASK_ABORTED);
    else for (const [ini, itt] of aborted) expect(await ini.silence((p) => ittOf(p) === itt, 100)).toBe(true);
    for (const ini of [a, b, c]) expect(await ini.silence((p) => opcodeOf(p) === REJECT, 100)).toBe(true);
    const told = tas ? [REGISTRATIONS_PREEMPTED] : [REGISTRATIONS_PREEMPTED, COMMANDS_CLEARED];
    for (const ini of [b, c]) {
      for (const u of told) expect(await ua(ini)).toEqual(u);
      expect(await ua(ini)).toBeUndefined();
    }
    if (!tas) expect(await ua(a)).toEqual(COMMANDS_CLEARED);
    expect(await ua(a)).toBeUndefined();
    expect(await ua(d)).toBeUndefined();
    // The preempt stands: only A and D are registered.
    expect(keysOf((await d.result(d.command({ cdb: READ_KEYS, read: true, edtl: 256 }))).data)).toEqual([KEY_A, KEY_D]);
    expect(await readBlock(d, 4)).toEqual(new Uint8Array(BS));
    expect(await readBlock(d, 5)).toEqual(new Uint8Array(BS));
  });
});
