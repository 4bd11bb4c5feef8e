// Task management and the sender's own Data-Out still owed, end to end over
// loopback TCP. RFC 7143 §11.5.1: for ABORT TASK SET and CLEAR TASK SET "the
// issuing initiator MUST continue to respond to all valid Target Transfer
// Tags ... related to the affected task set, even after issuing the task
// management request", and "the target on its part MUST wait for responses
// on all affected Target Transfer Tags before acting on either of these two
// task management requests"; §4.2.3.3 asks the same wait for LOGICAL UNIT
// RESET and the target resets. So the Task Management Function Response
// comes only once the session has answered its outstanding R2T up to the F
// bit; the task solicits nothing more meanwhile, its data is taken and
// dropped (never written), and it ends without a response. An initiator that
// never answers loses its connection once the ping timeout has passed
// (§11.5.1: the target "may drop the connection to complete the requested
// task set function"), as one that never answers a ping does; the other
// sessions go on. PDUs are built from RFC 7143's tables (initiator.ts).

import { afterEach, describe, expect, it } from 'vitest';
import { TestInitiator, bhsOf, field32, ittOf, opcodeOf, pdu } from './initiator.js';
import { BS, read10, readBlock, senseOfTur as ua, sessionsTargets, tmf, tmfResponse, writeAwaitingData, type SessionsTarget } from './two-sessions.js';
import { createStack, type Stack } from '../../src/stack.js';
import { MemoryBackend } from '../../src/virtio/device/backends/memory.js';
import { IscsiServer } from '../../src/iscsi/server.js';

const IQN = 'iqn.2026-11.org.vtcam:tmf-data-out';
/** Opcodes (§11.2.1.2): SCSI Response, Task Management Function Response, NOP-In, Logout Response, Reject. */
const SCSI_RESPONSE = 0x21;
const TMF_RESPONSE = 0x22;
const NOP_IN = 0x20;
const LOGOUT_RESPONSE = 0x26;
const REJECT = 0x3f;
/** Task Management Function Request functions (§11.5.1). */
const ABORT_TASK_SET = 2;
const CLEAR_TASK_SET = 4;
const LOGICAL_UNIT_RESET = 5;
/** Bursts of two blocks: a three-block WRITE is solicited by two R2Ts, one at a time (MaxOutstandingR2T 1). */
const BURSTS = { MaxBurstLength: String(2 * BS), FirstBurstLength: String(2 * BS) };

const target = sessionsTargets(IQN);
const opened: TestInitiator[] = [];
afterEach(() => {
  for (const s of opened.splice(0)) s.close();
});

/** A session of `port`'s target `iqn` with two-block bursts, its power-on unit attention seen. */
async function login(port: number, iqn: string, isid: bigint): Promise<TestInitiator> {
  const ini = await TestInitiator.connect(port);
  opened.push(ini);
  expect((await ini.login(iqn, BURSTS, isid)).bhs[36]).toBe(0);
  expect(await ua(ini)).toEqual([0x06, 0x29, 0x00]);
  return ini;
}

describe('a task management function waits for the sender’s Data-Out', () => {
  it.each([
    ['ABORT TASK SET', ABORT_TASK_SET],
    ['CLEAR TASK SET', CLEAR_TASK_SET],
    ['LOGICAL UNIT RESET', LOGICAL_UNIT_RESET],
  ] as const)('%s: the response comes after the R2T is answered up to its F bit; no second R2T; the WRITE ends without a response and writes nothing', async (_name, fn) => {
    const t: SessionsTarget = await target(false);
    const a = await login(t.server.address.port, IQN, 0x23d0_0000_00a1n);
    const w = await writeAwaitingData(a, 8, 3, 2);
    tmf(a, fn, 930);
    expect(await a.silence((p) => ittOf(p) === 930, 150)).toBe(true);
    // The first half of the burst: the tag is still owed its F bit.
    a.dataOut({ itt: w.itt, ttt: w.ttt, dataSN: 0, offset: 0, data: new Uint8Array(BS).fill(0xdd), final: false });
    expect(await a.silence((p) => ittOf(p) === 930, 150)).toBe(true);
    a.dataOut({ itt: w.itt, ttt: w.ttt, dataSN: 1, offset: BS, data: new Uint8Array(BS).fill(0xdd), final: true });
    expect(await tmfResponse(a, 930)).toBe(0);
    // Nothing more for the WRITE: no R2T for its third block, no response; its Data-Out was taken without a Reject.
    expect(await a.silence((p) => ittOf(p) === w.itt || opcodeOf(p) === REJECT)).toBe(true);
    for (const lba of [8, 9, 10]) expect(await readBlock(a, lba)).toEqual(new Uint8Array(BS));
  });

  it('the other session’s WRITE waiting for Data-Out is not waited for: CLEAR TASK SET answers as soon as the sender’s own are', async () => {
    const t = await target(false);
    const a = await login(t.server.address.port, IQN, 0x23d0_0000_00a1n);
    const b = await login(t.server.address.port, IQN, 0x23d0_0000_00b2n);
    const wb = await writeAwaitingData(b, 12, 3, 2);
    tmf(a, CLEAR_TASK_SET, 931);
    expect(await tmfResponse(a, 931)).toBe(0);
    expect(await b.silence((p) => ittOf(p) === wb.itt && opcodeOf(p) === SCSI_RESPONSE, 100)).toBe(true);
    expect(await ua(b)).toEqual([0x06, 0x2f, 0x00]);
  });
});

describe('a command sent after a task-set function is not one it covers', () => {
  it.each([
    ['ABORT TASK SET', ABORT_TASK_SET, false],
    ['CLEAR TASK SET', CLEAR_TASK_SET, false],
    ['LOGICAL UNIT RESET', LOGICAL_UNIT_RESET, false],
    ['ABORT TASK SET', ABORT_TASK_SET, true],
  ] as const)('%s: a READ (immediate: %s) sent while the function waits for Data-Out runs after its response and is answered', async (_name, fn, immediate) => {
    const t = await target(false);
    const a = await login(t.server.address.port, IQN, 0x23d0_0000_00a1n);
    const w = await writeAwaitingData(a, 8, 3, 2);
    tmf(a, fn, 934);
    // The device would hold the READ: at the unit when the function acts, the unit's abort would take it.
    t.held.on = true;
    const read = a.command({ cdb: read10(20), read: true, edtl: BS, immediate });
    expect(await a.silence((p) => ittOf(p) === 934 || ittOf(p) === read, 100)).toBe(true);
    a.dataOut({ itt: w.itt, ttt: w.ttt, dataSN: 0, offset: 0, data: new Uint8Array(2 * BS).fill(0xdd), final: true });
    expect(await tmfResponse(a, 934)).toBe(0);
    t.held.on = false;
    t.probe.releaseHeld();
    const r = await a.result(read);
    // Answered: after LOGICAL UNIT RESET with the reset's unit attention (CHECK CONDITION), else with the block.
    expect({ status: r.status, bytes: r.data.length }).toEqual(fn === LOGICAL_UNIT_RESET ? { status: 0x02, bytes: 0 } : { status: 0, bytes: BS });
  });
});

describe('what a task-set function does not hold back', () => {
  it('a NOP-Out sent while ABORT TASK SET waits for Data-Out is answered before the function is; a held READ keeps its place in the window', async () => {
    const t = await target(false);
    const a = await login(t.server.address.port, IQN, 0x23d0_0000_00a1n);
    const w = await writeAwaitingData(a, 8, 3, 2);
    // NOP-Out (§11.18), not immediate: it takes a CmdSN, so it is delivered in CmdSN order. Its NOP-In carries MaxCmdSN at 32.
    const ping = async (itt: number): Promise<number> => {
      a.send(pdu(bhsOf([[0, 0x00, 1], [1, 0x80, 1], [16, itt, 4], [20, 0xffffffff, 4], [24, a.cmdSN, 4], [28, a.expStatSN, 4]]), Uint8Array.of(7, 7)));
      a.cmdSN = (a.cmdSN + 1) >>> 0;
      const nopIn = await a.next((p) => opcodeOf(p) === NOP_IN && ittOf(p) === itt);
      expect([...nopIn.data]).toEqual([7, 7]);
      return field32(nopIn, 32);
    };
    const before = await ping(4343);
    tmf(a, ABORT_TASK_SET, 935);
    const read = a.command({ cdb: read10(30), read: true, edtl: BS });
    // The ping's CmdSN opens the window by one; the held READ's does not, as a running task's would not.
    expect(await ping(4344)).toBe((before + 1) >>> 0);
    expect(await a.silence((p) => ittOf(p) === 935 || ittOf(p) === read, 50)).toBe(true);
    a.dataOut({ itt: w.itt, ttt: w.ttt, dataSN: 0, offset: 0, data: new Uint8Array(2 * BS), final: true });
    expect(await tmfResponse(a, 935)).toBe(0);
    expect((await a.result(read)).status).toBe(0);
  });
});

describe('Logout and a held command', () => {
  it('a READ held back by ABORT TASK SET is answered before the Logout sent after it', async () => {
    const t = await target(false);
    const a = await login(t.server.address.port, IQN, 0x23d0_0000_00a1n);
    const w = await writeAwaitingData(a, 8, 3, 2);
    tmf(a, ABORT_TASK_SET, 936);
    const read = a.command({ cdb: read10(30), read: true, edtl: BS });
    // Logout Request (§11.14), immediate, reason 0: close the session.
    a.send(pdu(bhsOf([[0, 0x06 | 0x40, 1], [1, 0x80, 1], [16, 937, 4], [24, a.cmdSN, 4], [28, a.expStatSN, 4]])));
    expect(await a.silence((p) => opcodeOf(p) === LOGOUT_RESPONSE, 100)).toBe(true);
    a.dataOut({ itt: w.itt, ttt: w.ttt, dataSN: 0, offset: 0, data: new Uint8Array(2 * BS), final: true });
    expect(await tmfResponse(a, 936)).toBe(0);
    expect((await a.result(read)).status).toBe(0);
    expect((await a.next((p) => opcodeOf(p) === LOGOUT_RESPONSE)).bhs[2]).toBe(0);
  });
});

describe('Logout terminates pending commands (§11.14) and names its connection (§11.15.1)', () => {
  /** A Logout Request (§11.14), immediate: reason code in byte 1 bits 6..0, ITT at 16, CID at 20..21. */
  const logout = (ini: TestInitiator, itt: number, reason: number, cid = 0): void => {
    ini.send(pdu(bhsOf([[0, 0x06 | 0x40, 1], [1, 0x80 | reason, 1], [16, itt, 4], [20, cid, 2], [24, ini.cmdSN, 4], [28, ini.expStatSN, 4]])));
  };

  it.each([
    ['close the session', 0],
    ['close the connection', 1],
  ] as const)('%s while a WRITE waits for its Data-Out: the WRITE ends without a response, nothing is written, the Logout is answered and the connection closes', async (_name, reason) => {
    const t = await target(false);
    const a = await login(t.server.address.port, IQN, 0x23d0_0000_00a1n);
    const w = await writeAwaitingData(a, 16, 3, 2);
    logout(a, 938, reason);
    const r = await a.next((p) => opcodeOf(p) === LOGOUT_RESPONSE);
    // Logout Response (§11.15): Response at byte 2, 0 = closed successfully; ITT echoed at 16.
    expect([r.bhs[2], field32(r, 16)]).toEqual([0, 938]);
    await a.closedWithin();
    expect(await a.silence((p) => opcodeOf(p) === SCSI_RESPONSE && ittOf(p) === w.itt, 50)).toBe(true);
    const b = await login(t.server.address.port, IQN, 0x23d0_0000_00b2n);
    for (const lba of [16, 17, 18]) expect(await readBlock(b, lba)).toEqual(new Uint8Array(BS));
  });

  it('close the connection naming another CID: Response 1 (CID not found), the connection and its WRITE go on', async () => {
    const t = await target(false);
    const a = await login(t.server.address.port, IQN, 0x23d0_0000_00a1n);
    const w = await writeAwaitingData(a, 20, 2, 2);
    logout(a, 939, 1, 0x55);
    const r = await a.next((p) => opcodeOf(p) === LOGOUT_RESPONSE);
    expect([r.bhs[2], field32(r, 16)]).toEqual([1, 939]);
    a.dataOut({ itt: w.itt, ttt: w.ttt, dataSN: 0, offset: 0, data: new Uint8Array(2 * BS).fill(0x5a), final: true });
    expect((await a.result(w.itt)).status).toBe(0);
    expect(await readBlock(a, 21)).toEqual(new Uint8Array(BS).fill(0x5a));
  });

  it('reason 2 (remove the connection for recovery) needs ERL 2: Response 2, the connection stays', async () => {
    const t = await target(false);
    const a = await login(t.server.address.port, IQN, 0x23d0_0000_00a1n);
    logout(a, 940, 2);
    const r = await a.next((p) => opcodeOf(p) === LOGOUT_RESPONSE);
    expect([r.bhs[2], field32(r, 16)]).toEqual([2, 940]);
    expect(await readBlock(a, 0)).toEqual(new Uint8Array(BS));
  });
});

describe('a sender that never answers its R2T', () => {
  let stack: Stack | undefined;
  let server: IscsiServer | undefined;
  afterEach(async () => {
    await server?.close();
    await stack?.close();
    server = undefined;
    stack = undefined;
  });

  it('loses its connection once the ping timeout has passed, without a Task Management response; nothing is written; the other session goes on', async () => {
    stack = await createStack({ backend: new MemoryBackend({ blocks: 64, blockSize: BS }), queueSize: 16 });
    const logged: string[] = [];
    server = await IscsiServer.listen({
      port: 0,
      targets: [{ name: IQN, luns: [{ lun: 0, pass: stack.pass(0) }] }],
      timers: { pingTimeoutMs: 300 },
      log: (l) => logged.push(l),
    });
    const a = await login(server.address.port, IQN, 0x23d0_0000_00a1n);
    const b = await login(server.address.port, IQN, 0x23d0_0000_00b2n);
    const w = await writeAwaitingData(a, 20, 3, 2);
    const sent = Date.now();
    tmf(a, ABORT_TASK_SET, 933);
    await a.closedWithin(3000);
    expect(Date.now() - sent).toBeGreaterThanOrEqual(250);
    expect(await a.silence((p) => opcodeOf(p) === TMF_RESPONSE || ittOf(p) === w.itt, 50)).toBe(true);
    expect(logged.some((l) => l.includes('R2T'))).toBe(true);
    for (const lba of [20, 21, 22]) expect(await readBlock(b, lba)).toEqual(new Uint8Array(BS));
  });
});
