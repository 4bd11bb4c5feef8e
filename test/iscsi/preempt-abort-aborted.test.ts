// A PERSISTENT RESERVE OUT PREEMPT AND ABORT (SPC-5) whose own task is
// aborted while it waits at the logical unit for a preempted READ the device
// runs — by its sender's ABORT TASK (RFC 7143 §11.5.1 function 1), or by its
// sender's connection dropping — end to end over loopback TCP. The preempt
// stands, so the preempted sessions' tasks the target holds short of the unit
// end as the unit's own did (TAS 0: no response), whether the WRITE still
// waits for Data-Out or its data came in while the LUN's gate held it back
// (preempt-gate.ts); neither is written, and neither runs when the gate
// opens. The SIM aborts a command at the device by resetting it (29h/00h for
// every I_T nexus, superseding the REGISTRATIONS PREEMPTED the preempt gave);
// the preempted nexuses then get COMMANDS CLEARED BY ANOTHER INITIATOR
// (2Fh/00h), once. PDUs are built from RFC 7143's tables (initiator.ts);
// PERSISTENT RESERVE OUT CDBs and parameter lists from SPC-5's.

import { describe, expect, it } from 'vitest';
import { bhsOf, ittOf, opcodeOf, pdu, type TestInitiator } from './initiator.js';
import { BS, read10, readBlock, senseOfTur as ua, sessionsTargets, tmfResponse, writeAwaitingData } from './two-sessions.js';
import { until } from '../stack/helpers.js';

const IQN = 'iqn.2026-11.org.vtcam:preempt-abort-aborted';
/** Reject opcode (§11.2.1.2). */
const REJECT = 0x3f;
/** Sense key UNIT ATTENTION with POWER ON, RESET, OR BUS DEVICE RESET OCCURRED (29h/00h) and COMMANDS CLEARED BY ANOTHER INITIATOR (2Fh/00h) (SPC-5). */
const RESET_OCCURRED = [0x06, 0x29, 0x00];
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

describe('PREEMPT AND ABORT aborted while it waits at the unit, TAS 0', () => {
  // A, B, C registered (B and C with KEY_B), D with KEY_D, no reservation: A's PREEMPT AND ABORT of KEY_B removes
  // B's and C's registrations and aborts their commands, and waits for B's READ at the device. B's WRITE still
  // waits for Data-Out; C's Data-Out comes in meanwhile, and the gate holds it back from the unit. Then A's task
  // is aborted.
  it.each([
    ['its sender’s ABORT TASK', 'abort-task'],
    ['its sender’s connection dropping', 'drop'],
  ] as const)('%s: B’s and C’s held WRITEs end without a response and are never written; B and C see 29h/00h then 2Fh/00h, once', async (_name, how) => {
    const { login, held, probe, stack } = await target(false);
    const a = await login(0x23d0_0000_00a1n);
    const b = await login(0x23d0_0000_00b2n);
    const c = await login(0x23d0_0000_00c3n);
    const d = await login(0x23d0_0000_00d4n);
    for (const [ini, key] of [[a, KEY_A], [b, KEY_B], [c, KEY_B], [d, KEY_D]] as const) expect((await ini.result(sendProut(ini, 0x0, 0n, key))).status).toBe(0);
    const writeB = await writeAwaitingData(b, 4);
    const writeC = await writeAwaitingData(c, 5);
    held.on = true;
    const readB = b.command({ cdb: read10(7), read: true, edtl: BS });
    await until(() => probe.heldCount === 1, 'B’s READ at the device');
    const prout = { cmdSN: a.cmdSN, itt: sendProut(a, 0x5, KEY_A, KEY_B) };
    try {
      // The preempt is made; the command waits for B's READ, and C's WRITE, its data in, waits at the gate.
      expect(keysOf((await a.result(a.command({ cdb: READ_KEYS, read: true, edtl: 256 }))).data)).toEqual([KEY_A, KEY_D]);
      answerR2t(c, writeC, 0xcc);
      expect(await c.silence((p) => ittOf(p) === writeC.itt, 100)).toBe(true);
      if (how === 'abort-task') abortTask(a, 700, prout);
      else a.close();
      // The SIM aborts the waiting command by resetting the device; the held READ is let go once that is under way.
      await until(() => stack.stats(0).simFrozen === 1, 'recovery started', 2000);
    } finally {
      held.on = false;
      probe.releaseHeld();
    }
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
