// PERSISTENT RESERVE OUT PREEMPT AND ABORT (SPC-5) from one session reaching
// another session's task that has not reached the logical unit, end to end
// over loopback TCP: session B's WRITE has had its R2T but B has not sent the
// Data-Out when session A preempts B's registration and aborts its commands.
// B's WRITE ends as the unit's TAS says (SAM-5 aborting commands): no
// response with TAS 0, a SCSI Response of TASK ABORTED (40h) with TAS 1; A's
// command is GOOD; the Data-Out B sends afterwards is taken and dropped
// without a Reject (the initiator was answering a valid R2T) and never
// reaches the medium; B's next command meets REGISTRATIONS PREEMPTED
// (2Ah/05h), then — TAS 0 only — COMMANDS CLEARED BY ANOTHER INITIATOR
// (2Fh/00h), once, as it would had the unit held the WRITE (SAM-5 5.6; the
// target tells the unit, pass.transportAborted); the sender and a session
// that was not preempted get neither. While the PERSISTENT RESERVE OUT is at
// the unit, waiting for a preempted command the device is running, the other
// sessions' commands are held back (preempt-gate.ts): a preempted session's
// WRITE whose Data-Out comes then is aborted with its other tasks rather than
// reaching the unit, and nothing of it meets the unit before its unit
// attentions are there. PREEMPT without abort leaves B's task alone. A
// Data-Out that names no live sequence — one after the aborted task's F bit,
// or with a Target Transfer Tag the target never gave — is still refused with
// a Reject, Invalid PDU field (RFC 7143 §11.17.1, 09h), and the connection
// goes on.
// Below the target, the pass periph's result for a GOOD PREEMPT AND ABORT
// names the preempted I_T nexuses (ScsiResult.preempted), which is how the
// sending session learns whose tasks to end.
// PDUs are built from RFC 7143's tables (initiator.ts); PERSISTENT RESERVE OUT
// CDBs and parameter lists from SPC-5's.

import { describe, expect, it } from 'vitest';
import { field32, ittOf, opcodeOf, type RawPdu, type TestInitiator } from './initiator.js';
import { BS, read10, readBlock, senseOfTur as ua, sessionsTargets, tur, writeAwaitingData } from './two-sessions.js';
import { until } from '../stack/helpers.js';
import { initiatorPort } from '../../src/iscsi/nexus.js';
import { CamStatus } from '../../src/cam/status.js';
import type { PassPeriph } from '../../src/cam/periph/pass.js';

const IQN = 'iqn.2026-11.org.vtcam:preempt-abort';
/** Opcodes (§11.2.1.2): SCSI Response, Reject. */
const SCSI_RESPONSE = 0x21;
const REJECT = 0x3f;
/** SCSI status TASK ABORTED (SAM-5). */
const TASK_ABORTED = 0x40;
/** PERSISTENT RESERVE IN, READ KEYS, ALLOCATION LENGTH 100h (SPC-5). */
const READ_KEYS = Uint8Array.of(0x5e, 0x00, 0, 0, 0, 0, 0, 0x01, 0x00, 0);
/** Sense key UNIT ATTENTION with REGISTRATIONS PREEMPTED (2Ah/05h) and COMMANDS CLEARED BY ANOTHER INITIATOR (2Fh/00h) (SPC-5). */
const REGISTRATIONS_PREEMPTED = [0x06, 0x2a, 0x05];
const COMMANDS_CLEARED = [0x06, 0x2f, 0x00];
/** PERSISTENT RESERVE OUT service actions (SPC-5): REGISTER, PREEMPT, PREEMPT AND ABORT. */
const REGISTER = 0x00;
const PREEMPT = 0x04;
const PREEMPT_AND_ABORT = 0x05;
/** Persistent reservation TYPE 1h, Write Exclusive (SPC-5). */
const WRITE_EXCLUSIVE = 0x1;
const KEY_A = 0xaaaa_0000_0000_000an;
const KEY_B = 0xbbbb_0000_0000_000bn;
const KEY_D = 0xdddd_0000_0000_000dn;

const target = sessionsTargets(IQN);

/**
 * PERSISTENT RESERVE OUT (SPC-5): 5Fh, SERVICE ACTION (byte 1 bits 4..0), SCOPE 0h LU_SCOPE (byte 2 bits
 * 7..4) and TYPE (bits 3..0), PARAMETER LIST LENGTH 18h (bytes 5..8); its 24-byte parameter list:
 * RESERVATION KEY (bytes 0..7), SERVICE ACTION RESERVATION KEY (bytes 8..15), the rest zero.
 */
function prout(sa: number, type: number, key: bigint, sark: bigint): { cdb: Uint8Array; data: Uint8Array } {
  const data = new Uint8Array(24);
  const v = new DataView(data.buffer);
  v.setBigUint64(0, key);
  v.setBigUint64(8, sark);
  return { cdb: Uint8Array.of(0x5f, sa, type, 0, 0, 0, 0, 0, 24, 0), data };
}

/** Sends a PERSISTENT RESERVE OUT with its parameter list as immediate data; its ITT. */
function sendProut(ini: TestInitiator, p: { cdb: Uint8Array; data: Uint8Array }): number {
  return ini.command({ cdb: p.cdb, write: true, edtl: p.data.length, data: p.data });
}

/** Registers `key` for `ini`'s I_T nexus (REGISTER, RESERVATION KEY 0). */
async function register(ini: TestInitiator, key: bigint): Promise<void> {
  expect((await ini.result(sendProut(ini, prout(REGISTER, 0, 0n, key)))).status).toBe(0);
}

/** Fields of a SCSI Response (§11.4): flags (byte 1), Response, Status, ExpDataSN, Residual Count, data segment length. */
function responseFields(p: RawPdu): { flags: number; response: number; status: number; expDataSN: number; residual: number; senseBytes: number } {
  return { flags: p.bhs[1] ?? -1, response: p.bhs[2] ?? -1, status: p.bhs[3] ?? -1, expDataSN: field32(p, 36), residual: field32(p, 44), senseBytes: p.data.length };
}

/** Two sessions of the target, A and B, each registered with its key; `login` opens more. */
async function registeredAB(tas: boolean): Promise<{ login: Awaited<ReturnType<typeof target>>['login']; a: TestInitiator; b: TestInitiator }> {
  const { login } = await target(tas);
  const a = await login(0x23d0_0000_00a1n);
  const b = await login(0x23d0_0000_00b2n);
  await register(a, KEY_A);
  await register(b, KEY_B);
  return { login, a, b };
}

/** registeredAB, and B's one-block WRITE at LBA 4 waits for Data-Out. */
async function registeredWithWriteAwaitingData(tas: boolean): Promise<{ a: TestInitiator; b: TestInitiator; writeB: { itt: number; ttt: number } }> {
  const { a, b } = await registeredAB(tas);
  return { a, b, writeB: await writeAwaitingData(b, 4) };
}

describe('PREEMPT AND ABORT and another session’s WRITE waiting for Data-Out', () => {
  it('TAS 0: B’s WRITE ends without a response, its late Data-Out is dropped without a Reject and not written; A’s command is GOOD; B sees REGISTRATIONS PREEMPTED', async () => {
    const { a, b, writeB } = await registeredWithWriteAwaitingData(false);
    const r = await a.result(sendProut(a, prout(PREEMPT_AND_ABORT, WRITE_EXCLUSIVE, KEY_A, KEY_B)));
    expect(r.status).toBe(0);
    b.dataOut({ itt: writeB.itt, ttt: writeB.ttt, dataSN: 0, offset: 0, data: new Uint8Array(BS).fill(0xbb), final: true });
    expect(await b.silence((p) => ittOf(p) === writeB.itt || opcodeOf(p) === REJECT)).toBe(true);
    expect(await ua(b)).toEqual([0x06, 0x2a, 0x05]);
    expect(await readBlock(a, 4)).toEqual(new Uint8Array(BS));
    expect(await readBlock(b, 4)).toEqual(new Uint8Array(BS));
  });

  it('TAS 1: B’s WRITE gets a SCSI Response of TASK ABORTED before A’s GOOD; its late Data-Out is dropped without a Reject and not written', async () => {
    const { a, b, writeB } = await registeredWithWriteAwaitingData(true);
    const proutItt = sendProut(a, prout(PREEMPT_AND_ABORT, WRITE_EXCLUSIVE, KEY_A, KEY_B));
    const aborted = await b.next((p) => opcodeOf(p) === SCSI_RESPONSE && ittOf(p) === writeB.itt);
    // F and U (underflow), Command Completed at Target, TASK ABORTED, one R2T sent, none of the 512 bytes moved, no sense.
    expect(responseFields(aborted)).toEqual({ flags: 0x80 | 0x02, response: 0, status: TASK_ABORTED, expDataSN: 1, residual: BS, senseBytes: 0 });
    expect((await a.result(proutItt)).status).toBe(0);
    b.dataOut({ itt: writeB.itt, ttt: writeB.ttt, dataSN: 0, offset: 0, data: new Uint8Array(BS).fill(0xbb), final: true });
    expect(await b.silence((p) => ittOf(p) === writeB.itt || opcodeOf(p) === REJECT)).toBe(true);
    expect(await ua(b)).toEqual([0x06, 0x2a, 0x05]);
    // TASK ABORTED told B: no COMMANDS CLEARED BY ANOTHER INITIATOR with TAS 1 (SAM-5 5.6).
    expect(await ua(b)).toBeUndefined();
    expect(await readBlock(a, 4)).toEqual(new Uint8Array(BS));
  });

  it('PREEMPT without abort leaves B’s WRITE alone: its Data-Out is taken, and the unit answers it with REGISTRATIONS PREEMPTED', async () => {
    const { a, b, writeB } = await registeredWithWriteAwaitingData(false);
    expect((await a.result(sendProut(a, prout(PREEMPT, WRITE_EXCLUSIVE, KEY_A, KEY_B)))).status).toBe(0);
    expect(await b.silence((p) => ittOf(p) === writeB.itt, 100)).toBe(true);
    b.dataOut({ itt: writeB.itt, ttt: writeB.ttt, dataSN: 0, offset: 0, data: new Uint8Array(BS).fill(0xbb), final: true });
    const w = await b.result(writeB.itt);
    const sense = w.response.data.subarray(2);
    expect([w.status, sense[2], sense[12], sense[13]]).toEqual([2, 0x06, 0x2a, 0x05]);
  });

  it('A preempting B’s key leaves C’s WRITE waiting for Data-Out alone: it is written', async () => {
    const { login, a } = await registeredAB(false);
    const c = await login(0x23d0_0000_00c3n);
    const writeC = await writeAwaitingData(c, 5);
    expect((await a.result(sendProut(a, prout(PREEMPT_AND_ABORT, WRITE_EXCLUSIVE, KEY_A, KEY_B)))).status).toBe(0);
    c.dataOut({ itt: writeC.itt, ttt: writeC.ttt, dataSN: 0, offset: 0, data: new Uint8Array(BS).fill(0xcc), final: true });
    expect((await c.result(writeC.itt)).status).toBe(0);
    expect(await readBlock(a, 5)).toEqual(new Uint8Array(BS).fill(0xcc));
  });
});

/** The reservation keys a READ KEYS parameter list holds (SPC-5: PRGENERATION, ADDITIONAL LENGTH, then 8 bytes a key). */
function keysOf(data: Uint8Array): bigint[] {
  const v = new DataView(data.buffer, data.byteOffset, data.byteLength);
  return Array.from({ length: v.getUint32(4) / 8 }, (_, i) => v.getBigUint64(8 + 8 * i));
}

/** Sends the one Data-Out PDU a one-block WRITE's R2T asked for, every byte `fill`. */
function answerR2t(ini: TestInitiator, w: { itt: number; ttt: number }, fill: number): void {
  ini.dataOut({ itt: w.itt, ttt: w.ttt, dataSN: 0, offset: 0, data: new Uint8Array(BS).fill(fill), final: true });
}

describe('PREEMPT AND ABORT, TAS 0, and a nexus whose only aborted command the target held', () => {
  it('B, whose WRITE waited for Data-Out, gets REGISTRATIONS PREEMPTED, then COMMANDS CLEARED BY ANOTHER INITIATOR once; A, the sender, and C, not preempted, get neither; C’s WRITE is written, B’s never', async () => {
    const { login, a, b } = await registeredAB(false);
    const c = await login(0x23d0_0000_00c3n);
    const writeB = await writeAwaitingData(b, 4);
    const writeC = await writeAwaitingData(c, 5);
    expect((await a.result(sendProut(a, prout(PREEMPT_AND_ABORT, WRITE_EXCLUSIVE, KEY_A, KEY_B)))).status).toBe(0);
    answerR2t(b, writeB, 0xbb);
    answerR2t(c, writeC, 0xcc);
    expect((await c.result(writeC.itt)).status).toBe(0);
    expect(await b.silence((p) => ittOf(p) === writeB.itt || opcodeOf(p) === REJECT)).toBe(true);
    expect(await ua(b)).toEqual(REGISTRATIONS_PREEMPTED);
    expect(await ua(b)).toEqual(COMMANDS_CLEARED);
    expect(await ua(b)).toBeUndefined();
    expect(await ua(a)).toBeUndefined();
    expect(await ua(c)).toBeUndefined();
    expect(await readBlock(a, 4)).toEqual(new Uint8Array(BS));
    expect(await readBlock(a, 5)).toEqual(new Uint8Array(BS).fill(0xcc));
  });
});

describe('PREEMPT AND ABORT waiting at the unit for a preempted READ the device runs', () => {
  // B and C are registered with KEY_B, D with KEY_D; there is no reservation, so A's PREEMPT AND ABORT of KEY_B
  // removes B's and C's registrations and aborts their commands: B's READ at the device (the unit waits for
  // the device to answer it, and the PERSISTENT RESERVE OUT with it) and B's and C's WRITEs waiting for Data-Out.
  // While it waits, C's Data-Out and a TEST UNIT READY come in, and D's Data-Out: C's are aborted with its other
  // tasks, never reaching the unit (which would answer the WRITE REGISTRATIONS PREEMPTED); D's WRITE runs once
  // the PERSISTENT RESERVE OUT is done. B and C then see REGISTRATIONS PREEMPTED and, with TAS 0, COMMANDS
  // CLEARED BY ANOTHER INITIATOR, once each; with TAS 1 their aborted commands end TASK ABORTED instead.
  it.each([
    ['TAS 0', false],
    ['TAS 1', true],
  ])('%s: C’s WRITE whose Data-Out came meanwhile is aborted, not answered by the unit; B and C see their unit attentions in order, once; A and D none', async (_name, tas) => {
    const { login, held, probe } = await target(tas);
    const a = await login(0x23d0_0000_00a1n);
    const b = await login(0x23d0_0000_00b2n);
    const c = await login(0x23d0_0000_00c3n);
    const d = await login(0x23d0_0000_00d4n);
    for (const [ini, key] of [[a, KEY_A], [b, KEY_B], [c, KEY_B], [d, KEY_D]] as const) await register(ini, key);
    const writeB = await writeAwaitingData(b, 4);
    const writeC = await writeAwaitingData(c, 5);
    const writeD = await writeAwaitingData(d, 6);
    held.on = true;
    const readB = b.command({ cdb: read10(7), read: true, edtl: BS });
    await until(() => probe.heldCount === 1, 'B’s READ at the device');
    const proutItt = sendProut(a, prout(PREEMPT_AND_ABORT, WRITE_EXCLUSIVE, KEY_A, KEY_B));
    let turC = 0;
    try {
      // The preempt is made (A's own commands go on): only A and D are registered; the command waits for B's READ.
      const keys = await a.result(a.command({ cdb: READ_KEYS, read: true, edtl: 256 }));
      expect(keysOf(keys.data)).toEqual([KEY_A, KEY_D]);
      expect(await a.silence((p) => ittOf(p) === proutItt, 50)).toBe(true);
      answerR2t(c, writeC, 0xcc);
      turC = c.command({ cdb: tur, edtl: 0 });
      answerR2t(d, writeD, 0xdd);
      expect(await c.silence((p) => ittOf(p) === writeC.itt || ittOf(p) === turC, 100)).toBe(true);
    } finally {
      held.on = false;
      probe.releaseHeld();
    }
    expect((await a.result(proutItt)).status).toBe(0);
    expect((await d.result(writeD.itt)).status).toBe(0);
    const aborted = [[b, readB], [b, writeB.itt], [c, writeC.itt], [c, turC]] as const;
    if (tas) for (const [ini, itt] of aborted) expect((await ini.result(itt)).status).toBe(TASK_ABORTED);
    else for (const [ini, itt] of aborted) expect(await ini.silence((p) => ittOf(p) === itt, 100)).toBe(true);
    const told = tas ? [REGISTRATIONS_PREEMPTED] : [REGISTRATIONS_PREEMPTED, COMMANDS_CLEARED];
    for (const ini of [b, c]) {
      for (const t of told) expect(await ua(ini)).toEqual(t);
      expect(await ua(ini)).toBeUndefined();
    }
    expect(await ua(a)).toBeUndefined();
    expect(await ua(d)).toBeUndefined();
    expect(await readBlock(a, 4)).toEqual(new Uint8Array(BS));
    expect(await readBlock(a, 5)).toEqual(new Uint8Array(BS));
    expect(await readBlock(a, 6)).toEqual(new Uint8Array(BS).fill(0xdd));
  });
});

describe('Data-Out for a task PREEMPT AND ABORT ended', () => {
  it('the rest of its sequence is dropped without a Reject; a Data-Out past its F bit, or with a tag the target never gave, gets a Reject 09h; the connection goes on', async () => {
    const { a, b } = await registeredAB(false);
    // Two blocks, one R2T for both (MaxBurstLength 256 KiB): B owes two 512-byte Data-Out PDUs on that tag.
    const writeB = await writeAwaitingData(b, 6, 2);
    expect((await a.result(sendProut(a, prout(PREEMPT_AND_ABORT, WRITE_EXCLUSIVE, KEY_A, KEY_B)))).status).toBe(0);
    const late = (dataSN: number, offset: number, final: boolean, ttt = writeB.ttt): void => {
      b.dataOut({ itt: writeB.itt, ttt, dataSN, offset, data: new Uint8Array(BS).fill(0xbb), final });
    };
    late(0, 0, false);
    late(1, BS, true);
    expect(await b.silence((p) => opcodeOf(p) === REJECT || ittOf(p) === writeB.itt)).toBe(true);
    // The sequence ended at its F bit: the tag names nothing now.
    late(2, 2 * BS, true);
    const past = await b.next((p) => opcodeOf(p) === REJECT);
    // Reject (§11.17): Reason at byte 2; the data segment is the rejected PDU's header (its ITT at 16, TTT at 20).
    expect([past.bhs[2], field32({ bhs: past.data, data: new Uint8Array(0) }, 16)]).toEqual([0x09, writeB.itt]);
    late(0, 0, true, (writeB.ttt ^ 0x5a5a) >>> 0);
    const never = await b.next((p) => opcodeOf(p) === REJECT);
    expect([never.bhs[2], field32({ bhs: never.data, data: new Uint8Array(0) }, 20)]).toEqual([0x09, (writeB.ttt ^ 0x5a5a) >>> 0]);
    expect(b.closed).toBe(false);
    expect(await ua(b)).toEqual([0x06, 0x2a, 0x05]);
    expect(await readBlock(b, 6)).toEqual(new Uint8Array(BS));
    expect(await readBlock(b, 7)).toEqual(new Uint8Array(BS));
  });
});

describe('the pass result of PERSISTENT RESERVE OUT names the nexuses PREEMPT AND ABORT preempted', () => {
  const x = initiatorPort('iqn.2026-11.org.vtcam:x', 0x1n);
  const y = initiatorPort('iqn.2026-11.org.vtcam:y', 0x2n);
  const z = initiatorPort('iqn.2026-11.org.vtcam:z', 0x3n);
  const send = (pass: PassPeriph, who: typeof x, p: { cdb: Uint8Array; data: Uint8Array }): ReturnType<PassPeriph['scsi']> => pass.scsi({ cdb: p.cdb, direction: 'out', data: p.data, initiator: who });

  /** X, Y and Z registered with KEY_A, KEY_B and KEY_B, their power-on unit attentions seen. */
  async function registered(): Promise<PassPeriph> {
    const { stack } = await target(false);
    const pass = stack.pass(0);
    for (const [who, key] of [[x, KEY_A], [y, KEY_B], [z, KEY_B]] as const) {
      expect((await pass.scsi({ cdb: tur, direction: 'none', initiator: who })).scsiStatus).toBe(2);
      expect((await send(pass, who, prout(REGISTER, 0, 0n, key))).camStatus).toBe(CamStatus.REQ_CMP);
    }
    return pass;
  }

  it('GOOD: every nexus registered with the SERVICE ACTION RESERVATION KEY, by initiator id', async () => {
    const pass = await registered();
    const r = await send(pass, x, prout(PREEMPT_AND_ABORT, WRITE_EXCLUSIVE, KEY_A, KEY_B));
    expect({ camStatus: r.camStatus, preempted: r.preempted }).toEqual({ camStatus: CamStatus.REQ_CMP, preempted: [y.id, z.id] });
  });

  it('PREEMPT, a PREEMPT AND ABORT that conflicts, and other commands name none', async () => {
    const pass = await registered();
    const conflict = await send(pass, x, prout(PREEMPT_AND_ABORT, WRITE_EXCLUSIVE, KEY_B, KEY_A));
    expect({ scsiStatus: conflict.scsiStatus, preempted: conflict.preempted }).toEqual({ scsiStatus: 0x18, preempted: undefined });
    const preempt = await send(pass, x, prout(PREEMPT, WRITE_EXCLUSIVE, KEY_A, KEY_B));
    expect({ camStatus: preempt.camStatus, preempted: preempt.preempted }).toEqual({ camStatus: CamStatus.REQ_CMP, preempted: undefined });
    expect((await pass.scsi({ cdb: read10(0), direction: 'in', length: BS, initiator: x })).preempted).toBeUndefined();
  });
});
