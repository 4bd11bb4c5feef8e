// Task management and the commands a session holds back behind a task-set
// function, end to end over loopback TCP. A command sent while ABORT TASK SET
// waits for the sender's Data-Out is held back until the function has
// answered (session.ts #fences), yet it was received: ExpCmdSN moved past it,
// and it is in the task set. So an ABORT TASK naming it finds it and answers
// FUNCTION COMPLETE (RFC 7143 §11.5.1, §11.6.1), and a task-set function or
// reset sent after it covers it (§4.2.3, SAM-5: the tasks received before the
// function); either way it never runs and gets no SCSI Response, and what the
// session kept for it (its place in the command window, its Data-Out buffer)
// is given back. Another session's PERSISTENT RESERVE OUT PREEMPT AND ABORT
// (SPC-5) ends it too, as it ends the preempted session's tasks that have not
// reached the unit: no response with TAS 0, TASK ABORTED with TAS 1. A
// command still waiting for an earlier CmdSN was not received (§4.2.2.1): a
// function leaves it alone. PDUs are built from RFC 7143's tables
// (initiator.ts); PERSISTENT RESERVE OUT from SPC-5's.

import { describe, expect, it } from 'vitest';
import { bhsOf, field32, ittOf, opcodeOf, pdu, type TestInitiator } from './initiator.js';
import { BS, read10, readBlock, senseOfTur, sessionsTargets, tmf, tmfResponse, tur, writeAwaitingData, type SessionsTarget } from './two-sessions.js';

const IQN = 'iqn.2026-11.org.vtcam:tmf-deferred';
/** Opcodes (§11.2.1.2): SCSI Response, Data-In. */
const SCSI_RESPONSE = 0x21;
const DATA_IN = 0x25;
/** Task Management Function Request functions (§11.5.1). */
const ABORT_TASK = 1;
const ABORT_TASK_SET = 2;
const CLEAR_TASK_SET = 4;
const LOGICAL_UNIT_RESET = 5;
const TARGET_WARM_RESET = 6;
/** SCSI status TASK ABORTED (SAM-5). */
const TASK_ABORTED = 0x40;
/** Where the held WRITE would write, and what. */
const HELD_LBA = 200;
const HELD_BYTE = 0xcd;
const zeros = new Uint8Array(BS);

const write10 = (lba: number, blocks: number): Uint8Array => Uint8Array.of(0x2a, 0, 0, 0, lba >> 8, lba & 0xff, 0, 0, blocks, 0);

const target = sessionsTargets(IQN);

/** ABORT TASK (§11.5.1), immediate: ITT, Referenced Task Tag at 20, CmdSN the next to use, RefCmdSN at 32. */
function abortTask(ini: TestInitiator, itt: number, ref: { itt: number; cmdSN: number }): void {
  ini.send(pdu(bhsOf([[0, 0x02 | 0x40, 1], [1, 0x80 | ABORT_TASK, 1], [16, itt, 4], [20, ref.itt, 4], [24, ini.cmdSN, 4], [28, ini.expStatSN, 4], [32, ref.cmdSN, 4]])));
}

/** A command the session will hold back: a one-block WRITE to HELD_LBA with immediate data, or a READ; its ITT and CmdSN. */
function heldCommand(ini: TestInitiator, kind: 'write' | 'read'): { itt: number; cmdSN: number } {
  const cmdSN = ini.cmdSN;
  const itt =
    kind === 'write'
      ? ini.command({ cdb: write10(HELD_LBA, 1), write: true, edtl: BS, data: new Uint8Array(BS).fill(HELD_BYTE) })
      : ini.command({ cdb: read10(20), read: true, edtl: BS });
  return { itt, cmdSN };
}

/** What a response says of the command window (§11.4): MaxCmdSN (byte 32) − ExpCmdSN (byte 28) + 1, of a TEST UNIT READY's. */
async function windowRoom(ini: TestInitiator): Promise<number> {
  const r = await ini.result(ini.command({ cdb: tur, edtl: 0 }));
  expect(r.status).toBe(0);
  return (field32(r.response, 32) - field32(r.response, 28) + 1) >>> 0;
}

/** No SCSI Response nor Data-In for `itt`. */
const noAnswer = (ini: TestInitiator, itt: number): Promise<boolean> => ini.silence((p) => ittOf(p) === itt && (opcodeOf(p) === SCSI_RESPONSE || opcodeOf(p) === DATA_IN), 150);

/**
 * Nothing the session kept is left: the Data-Out budget is whole, the window as wide as before, and an
 * eight-block WRITE solicited by R2T ends GOOD and reads back.
 */
async function idle(t: SessionsTarget, ini: TestInitiator, room: number): Promise<void> {
  expect(t.server.dataOutBudget.held).toBe(0);
  expect(await windowRoom(ini)).toBe(room);
  const w = await writeAwaitingData(ini, 40, 8);
  const data = Uint8Array.from({ length: 8 * BS }, (_, i) => (i * 3) & 0xff);
  ini.dataOut({ itt: w.itt, ttt: w.ttt, dataSN: 0, offset: 0, data, final: true });
  expect((await ini.result(w.itt)).status).toBe(0);
  expect(await readBlock(ini, 47)).toEqual(data.subarray(7 * BS));
  expect(t.server.dataOutBudget.held).toBe(0);
}

describe('ABORT TASK of a command held back behind ABORT TASK SET', () => {
  it.each(['write', 'read'] as const)('a %s: FUNCTION COMPLETE at once; it never runs, gets no response, and gives back what it held', async (kind) => {
    const t = await target(false);
    const a = await t.login(0x23d0_0000_00a1n);
    const room = await windowRoom(a);
    const w = await writeAwaitingData(a, 8);
    tmf(a, ABORT_TASK_SET, 940);
    const held = heldCommand(a, kind);
    expect(await a.silence((p) => ittOf(p) === 940 || ittOf(p) === held.itt, 100)).toBe(true);
    abortTask(a, 941, held);
    expect(await tmfResponse(a, 941)).toBe(0);
    // The function still waits for the WRITE's Data-Out; then it ends that WRITE, and the held command stays gone.
    a.dataOut({ itt: w.itt, ttt: w.ttt, dataSN: 0, offset: 0, data: new Uint8Array(BS).fill(0xdd), final: true });
    expect(await tmfResponse(a, 940)).toBe(0);
    expect(await noAnswer(a, held.itt)).toBe(true);
    expect(await noAnswer(a, w.itt)).toBe(true);
    expect(await readBlock(a, HELD_LBA)).toEqual(zeros);
    expect(await readBlock(a, 8)).toEqual(zeros);
    await idle(t, a, room);
  });
});

describe('a task-set function sent after a held command covers it', () => {
  it.each([
    ['ABORT TASK SET', ABORT_TASK_SET],
    ['CLEAR TASK SET', CLEAR_TASK_SET],
    ['LOGICAL UNIT RESET', LOGICAL_UNIT_RESET],
    ['TARGET WARM RESET', TARGET_WARM_RESET],
  ] as const)('%s: the WRITE held behind ABORT TASK SET ends without a response once the function acts, and writes nothing', async (_name, fn) => {
    const t = await target(false);
    const a = await t.login(0x23d0_0000_00a1n);
    const room = await windowRoom(a);
    const w = await writeAwaitingData(a, 8);
    tmf(a, ABORT_TASK_SET, 950);
    const held = heldCommand(a, 'write');
    tmf(a, fn, 951);
    expect(await a.silence((p) => ittOf(p) === 950 || ittOf(p) === 951 || ittOf(p) === held.itt, 100)).toBe(true);
    a.dataOut({ itt: w.itt, ttt: w.ttt, dataSN: 0, offset: 0, data: new Uint8Array(BS).fill(0xdd), final: true });
    expect(await tmfResponse(a, 950)).toBe(0);
    expect(await tmfResponse(a, 951)).toBe(0);
    expect(await noAnswer(a, held.itt)).toBe(true);
    expect(await readBlock(a, HELD_LBA)).toEqual(zeros);
    await idle(t, a, room);
  });

  it('another session’s LOGICAL UNIT RESET, TAS 1: the READ B holds back behind its ABORT TASK SET gets TASK ABORTED, and does not run after B’s function', async () => {
    const t = await target(true);
    const a = await t.login(0x23d0_0000_00a1n);
    const b = await t.login(0x23d0_0000_00b2n);
    const room = await windowRoom(b);
    await writeAwaitingData(b, 8);
    tmf(b, ABORT_TASK_SET, 960);
    const held = heldCommand(b, 'read');
    expect(await b.silence((p) => ittOf(p) === 960 || ittOf(p) === held.itt, 100)).toBe(true);
    tmf(a, LOGICAL_UNIT_RESET, 961);
    expect(await tmfResponse(a, 961)).toBe(0);
    const r = await b.result(held.itt);
    expect({ status: r.status, data: r.data.length }).toEqual({ status: TASK_ABORTED, data: 0 });
    // B's function: its WRITE ended with the reset, so it has nothing left to wait for.
    expect(await tmfResponse(b, 960)).toBe(0);
    expect(await noAnswer(b, held.itt)).toBe(true);
    expect(await readBlock(b, 20)).toEqual(zeros);
    await idle(t, b, room);
  });
});

/** PERSISTENT RESERVE OUT service actions (SPC-5): REGISTER, PREEMPT AND ABORT; TYPE 1h Write Exclusive. */
const REGISTER = 0x00;
const PREEMPT_AND_ABORT = 0x05;
const WRITE_EXCLUSIVE = 0x1;
const KEY_A = 0xaaaa_0000_0000_000an;
const KEY_B = 0xbbbb_0000_0000_000bn;

/**
 * PERSISTENT RESERVE OUT (SPC-5) with its 24-byte parameter list as immediate data: 5Fh, SERVICE ACTION
 * (byte 1), SCOPE 0h and TYPE (byte 2), PARAMETER LIST LENGTH 18h (bytes 5..8); the list's RESERVATION KEY
 * (bytes 0..7) and SERVICE ACTION RESERVATION KEY (bytes 8..15). Its ITT.
 */
function prout(ini: TestInitiator, sa: number, type: number, key: bigint, sark: bigint): number {
  const data = new Uint8Array(24);
  const v = new DataView(data.buffer);
  v.setBigUint64(0, key);
  v.setBigUint64(8, sark);
  return ini.command({ cdb: Uint8Array.of(0x5f, sa, type, 0, 0, 0, 0, 0, 24, 0), write: true, edtl: data.length, data });
}

describe('another session’s PREEMPT AND ABORT covers the commands held back', () => {
  it.each([false, true])('TAS %s: A’s WRITE held behind its ABORT TASK SET ends as A’s WRITE at the R2T does (no response; TASK ABORTED with TAS 1), and never runs', async (tas) => {
    const t = await target(tas);
    const a = await t.login(0x23d0_0000_00a1n);
    const b = await t.login(0x23d0_0000_00b2n);
    for (const [ini, key] of [[a, KEY_A], [b, KEY_B]] as const) expect((await ini.result(prout(ini, REGISTER, 0, 0n, key))).status).toBe(0);
    const room = await windowRoom(a);
    const w = await writeAwaitingData(a, 8);
    tmf(a, ABORT_TASK_SET, 980);
    const held = heldCommand(a, 'write');
    expect(await a.silence((p) => ittOf(p) === 980 || ittOf(p) === held.itt, 100)).toBe(true);
    expect((await b.result(prout(b, PREEMPT_AND_ABORT, WRITE_EXCLUSIVE, KEY_B, KEY_A))).status).toBe(0);
    if (tas) {
      for (const itt of [w.itt, held.itt]) {
        const r = await a.result(itt);
        expect({ itt, status: r.status, data: r.data.length }).toEqual({ itt, status: TASK_ABORTED, data: 0 });
      }
    }
    // A's function: the WRITE it waited for ended with the preemption, so it has nothing left to wait for.
    expect(await tmfResponse(a, 980)).toBe(0);
    expect(await noAnswer(a, held.itt)).toBe(true);
    expect(await noAnswer(a, w.itt)).toBe(true);
    expect(await readBlock(b, HELD_LBA)).toEqual(zeros);
    expect(await readBlock(b, 8)).toEqual(zeros);
    // REGISTRATIONS PREEMPTED; with TAS 0, COMMANDS CLEARED BY ANOTHER INITIATOR too, once (SAM-5 5.6).
    expect([await senseOfTur(a), await senseOfTur(a), await senseOfTur(a)]).toEqual(tas ? [[6, 0x2a, 5], undefined, undefined] : [[6, 0x2a, 5], [6, 0x2f, 0], undefined]);
    await idle(t, a, room);
  });
});

describe('a command waiting for an earlier CmdSN is not received yet (§4.2.2.1)', () => {
  it('delivered while ABORT TASK SET waits, it is not one the function covers: it runs after the function’s response', async () => {
    const t = await target(false);
    const a = await t.login(0x23d0_0000_00a1n);
    const w = await writeAwaitingData(a, 8);
    const gap = a.cmdSN;
    const waiting = a.command({ cdb: read10(20), read: true, edtl: BS, cmdSN: (gap + 1) >>> 0 });
    a.cmdSN = (gap + 2) >>> 0;
    tmf(a, ABORT_TASK_SET, 970);
    // The gap is filled while the function waits for Data-Out: both are delivered then, and held back.
    const filler = a.command({ cdb: tur, edtl: 0, cmdSN: gap });
    expect(await a.silence((p) => ittOf(p) === 970 || ittOf(p) === waiting || ittOf(p) === filler, 100)).toBe(true);
    a.dataOut({ itt: w.itt, ttt: w.ttt, dataSN: 0, offset: 0, data: new Uint8Array(BS).fill(0xdd), final: true });
    expect(await tmfResponse(a, 970)).toBe(0);
    expect((await a.result(filler)).status).toBe(0);
    const r = await a.result(waiting);
    expect({ status: r.status, data: r.data }).toEqual({ status: 0, data: zeros });
  });
});
