// TAS (Control mode page, SPC-5; SAM-5 aborting commands) for tasks that have
// not reached the logical unit, end to end over loopback TCP: two sessions on
// one LUN, session B with a WRITE whose R2T it has received but whose Data-Out
// it has not sent. When session A's CLEAR TASK SET, LOGICAL UNIT RESET or
// TARGET WARM RESET aborts it, B gets a SCSI Response of TASK ABORTED (40h)
// when the unit's TAS is 1 and nothing when it is 0; A never gets a response
// for its own aborted tasks (RFC 7143 §11.5.1 task management functions), and
// none of B's data reaches the medium. A answers its own R2T after sending the
// function, as §11.5.1 asks; the target waits for that (tmf-data-out.test.ts)
// and drops the data. A TARGET COLD RESET is a power on as
// well: B's connection ends and its task gets no response. A command B holds
// back for an earlier CmdSN is not in the task set yet (§4.2.2.1): it runs
// after the abort. With TAS 0, B's I_T nexus gets COMMANDS CLEARED BY
// ANOTHER INITIATOR (2Fh/00h) after A's CLEAR TASK SET, although its WRITE
// never reached the unit (the target holds that part of the task set).
// `vtcam serve --task-aborted-status` serves a TAS 1 unit.
// PDUs are built from RFC 7143's tables (initiator.ts).

import { describe, expect, it } from 'vitest';
import { TestInitiator, bhsOf, field32, ittOf, opcodeOf, pdu, type RawPdu } from './initiator.js';
import { IscsiServer } from '../../src/iscsi/server.js';
import { BS, read10, senseOfTur as ua, sessionsTargets, tmf, tmfResponse, tur } from './two-sessions.js';
import { until } from '../stack/helpers.js';
import { runServe, type ShutdownSignal } from '../../src/cli/serve.js';
import { parseServeCli } from '../../src/cli/serve-args.js';
import { capture } from '../cli/capture.js';

const IQN = 'iqn.2026-11.org.vtcam:tas';
const write10 = (lba: number): Uint8Array => Uint8Array.of(0x2a, 0, 0, 0, 0, lba, 0, 0, 1, 0);
/** MODE SENSE (6) (SPC-5): DBD 1 (byte 1 bit 3), PC 00b and PAGE CODE 0Ah (Control), ALLOCATION LENGTH 64. */
const MODE_SENSE_CONTROL = Uint8Array.of(0x1a, 0x08, 0x0a, 0, 64, 0);
/** Task Management Function Request functions (§11.5.1). */
const CLEAR_TASK_SET = 4;
const LOGICAL_UNIT_RESET = 5;
const TARGET_WARM_RESET = 6;
const TARGET_COLD_RESET = 7;
/** SCSI status TASK ABORTED (SAM-5). */
const TASK_ABORTED = 0x40;
/** Opcodes (§11.2.1.2): SCSI Response, R2T. */
const SCSI_RESPONSE = 0x21;
const R2T = 0x31;

/** Opens a target whose unit has TAS `tas`, over a backend that holds READs while `held.on`. */
const target = sessionsTargets(IQN);

/** A one-block WRITE (10) without immediate data, held at its R2T: the ITT and the R2T's Target Transfer Tag. */
async function writeAwaitingData(ini: TestInitiator, lba: number): Promise<{ itt: number; ttt: number }> {
  const itt = ini.command({ cdb: write10(lba), write: true, edtl: BS });
  const r2t = await ini.next((p) => opcodeOf(p) === R2T && ittOf(p) === itt);
  // R2T (§11.8): Buffer Offset at 40, Desired Data Transfer Length at 44.
  expect([field32(r2t, 40), field32(r2t, 44)]).toEqual([0, BS]);
  return { itt, ttt: field32(r2t, 20) };
}

/** Fields of a SCSI Response (§11.4): flags (byte 1), Response, Status, ExpDataSN, Residual Count. */
function responseFields(p: RawPdu): { flags: number; response: number; status: number; expDataSN: number; residual: number; senseBytes: number } {
  return { flags: p.bhs[1] ?? -1, response: p.bhs[2] ?? -1, status: p.bhs[3] ?? -1, expDataSN: field32(p, 36), residual: field32(p, 44), senseBytes: p.data.length };
}

/**
 * What a one-block WRITE aborted after its R2T, before any Data-Out, answers with TAS 1: F and U (underflow)
 * set, Command Completed at Target, TASK ABORTED, one R2T sent (ExpDataSN 1), none of the 512 bytes
 * moved, no sense.
 */
const ABORTED_WRITE = { flags: 0x80 | 0x02, response: 0, status: TASK_ABORTED, expDataSN: 1, residual: BS, senseBytes: 0 };

/** Sends the Data-Out a session still owes (full of 0xbb) after its task was aborted; its bytes must not reach the medium. */
function lateDataOut(ini: TestInitiator, w: { itt: number; ttt: number }): void {
  ini.dataOut({ itt: w.itt, ttt: w.ttt, dataSN: 0, offset: 0, data: new Uint8Array(BS).fill(0xbb), final: true });
}

/** READ (10) of one block through `ini`, past any unit attention. */
async function readBlock(ini: TestInitiator, lba: number): Promise<Uint8Array> {
  for (let i = 0; i < 3; i++) {
    const r = await ini.result(ini.command({ cdb: read10(lba), read: true, edtl: BS }));
    if (r.status === 0) return r.data;
  }
  throw new Error(`READ of LBA ${lba} did not succeed`);
}

describe('TAS 1: another session’s task waiting for Data-Out', () => {
  it('MODE SENSE of the Control mode page over the session reports TAS 1 (byte 5 bit 6)', async () => {
    const { login } = await target(true);
    const a = await login(0x23d0_0000_00a1n);
    const r = await a.result(a.command({ cdb: MODE_SENSE_CONTROL, read: true, edtl: 64 }));
    expect(r.status).toBe(0);
    // Mode parameter header (6) with BLOCK DESCRIPTOR LENGTH 0, then the page: 0Ah, PAGE LENGTH 0Ah.
    expect([r.data[3], r.data[4], r.data[5]]).toEqual([0, 0x0a, 0x0a]);
    expect((r.data[4 + 5] ?? 0) & 0x40).toBe(0x40);
  });

  it.each([
    ['CLEAR TASK SET', CLEAR_TASK_SET, undefined],
    ['LOGICAL UNIT RESET', LOGICAL_UNIT_RESET, [0x06, 0x29, 0x03]],
    ['TARGET WARM RESET', TARGET_WARM_RESET, [0x06, 0x29, 0x03]],
  ] as const)('%s: B’s WRITE ends with a SCSI Response of TASK ABORTED, A’s own none; A’s TMF completes; nothing of either is written', async (_name, fn, unitAttention) => {
    const { login } = await target(true);
    const a = await login(0x23d0_0000_00a1n);
    const b = await login(0x23d0_0000_00b2n);
    const writeA = await writeAwaitingData(a, 3);
    const writeB = await writeAwaitingData(b, 4);
    tmf(a, fn, 900);
    lateDataOut(a, writeA);
    expect(await tmfResponse(a, 900)).toBe(0);
    const r = await b.next((p) => opcodeOf(p) === SCSI_RESPONSE && ittOf(p) === writeB.itt);
    expect(responseFields(r)).toEqual(ABORTED_WRITE);
    // The sender's own aborted task: no response (SAM-5), even with TAS 1.
    expect(await a.silence((p) => ittOf(p) === writeA.itt)).toBe(true);
    // Data-Out sent after the abort changes nothing; both sessions go on (TAS 1: no COMMANDS CLEARED unit attention).
    lateDataOut(b, writeB);
    expect(await ua(b)).toEqual(unitAttention);
    expect(await ua(a)).toEqual(unitAttention);
    expect(await readBlock(b, 3)).toEqual(new Uint8Array(BS));
    expect(await readBlock(b, 4)).toEqual(new Uint8Array(BS));
  });

  it('a WRITE that had sent part of its data: TASK ABORTED with the residual of what it did not send, ExpDataSN of its R2Ts', async () => {
    const { login } = await target(true);
    const a = await login(0x23d0_0000_00a1n);
    const b = await login(0x23d0_0000_00b2n);
    // Two blocks, one R2T for both (MaxBurstLength 256 KiB); B sends the first block, not the final PDU.
    const itt = b.command({ cdb: Uint8Array.of(0x2a, 0, 0, 0, 0, 8, 0, 0, 2, 0), write: true, edtl: 2 * BS });
    const r2t = await b.next((p) => opcodeOf(p) === R2T && ittOf(p) === itt);
    b.dataOut({ itt, ttt: field32(r2t, 20), dataSN: 0, offset: 0, data: new Uint8Array(BS).fill(0xbb), final: false });
    // The Data-Out is in before the TMF: a NOP-Out ping on B is answered after it.
    b.send(pdu(bhsOf([[0, 0x00 | 0x40, 1], [1, 0x80, 1], [8, 0n, 8], [16, 77, 4], [20, 0xffffffff, 4], [24, b.cmdSN, 4], [28, b.expStatSN, 4]])));
    await b.next((p) => opcodeOf(p) === 0x20 && ittOf(p) === 77);
    tmf(a, CLEAR_TASK_SET, 901);
    expect(await tmfResponse(a, 901)).toBe(0);
    const r = await b.next((p) => opcodeOf(p) === SCSI_RESPONSE && ittOf(p) === itt);
    expect(responseFields(r)).toEqual({ ...ABORTED_WRITE, residual: BS });
    expect(await readBlock(a, 8)).toEqual(new Uint8Array(BS));
  });

  it('LOGICAL UNIT RESET: B’s READ the device is running ends with TASK ABORTED too', async () => {
    const { probe, held, login } = await target(true);
    const a = await login(0x23d0_0000_00a1n);
    const b = await login(0x23d0_0000_00b2n);
    held.on = true;
    const readB = b.command({ cdb: read10(6), read: true, edtl: BS });
    await until(() => probe.heldCount === 1, 'B’s READ at the backend');
    tmf(a, LOGICAL_UNIT_RESET, 902);
    await new Promise((r) => setTimeout(r, 50));
    held.on = false;
    probe.releaseHeld();
    expect(await tmfResponse(a, 902)).toBe(0);
    const r = await b.next((p) => opcodeOf(p) === SCSI_RESPONSE && ittOf(p) === readB);
    expect({ status: r.bhs[3], senseBytes: r.data.length }).toEqual({ status: TASK_ABORTED, senseBytes: 0 });
    expect(await b.silence((p) => opcodeOf(p) === 0x25 && ittOf(p) === readB)).toBe(true);
    expect(await ua(b)).toEqual([0x06, 0x29, 0x03]);
  });

  it('TARGET COLD RESET: the sessions end; B’s WRITE gets no response before its connection closes', async () => {
    const { login } = await target(true);
    const a = await login(0x23d0_0000_00a1n);
    const b = await login(0x23d0_0000_00b2n);
    const writeB = await writeAwaitingData(b, 4);
    tmf(a, TARGET_COLD_RESET, 903);
    expect(await tmfResponse(a, 903)).toBe(0);
    await b.closedWithin();
    await a.closedWithin();
    expect(await b.silence((p) => ittOf(p) === writeB.itt, 50)).toBe(true);
  });

  it('a command B holds for an earlier CmdSN is not aborted: it runs once the gap is filled', async () => {
    const { login } = await target(true);
    const a = await login(0x23d0_0000_00a1n);
    const b = await login(0x23d0_0000_00b2n);
    const gap = b.cmdSN;
    const heldRead = b.command({ cdb: read10(9), read: true, edtl: BS, cmdSN: (gap + 1) >>> 0 });
    tmf(a, CLEAR_TASK_SET, 904);
    expect(await tmfResponse(a, 904)).toBe(0);
    expect(await b.silence((p) => ittOf(p) === heldRead, 100)).toBe(true);
    const first = b.command({ cdb: tur, edtl: 0 });
    b.cmdSN = (gap + 2) >>> 0;
    expect((await b.result(first)).status).toBe(0);
    const r = await b.result(heldRead);
    expect({ status: r.status, data: r.data }).toEqual({ status: 0, data: new Uint8Array(BS) });
  });
});

describe('TAS 0: another session’s task waiting for Data-Out', () => {
  it('MODE SENSE of the Control mode page reports TAS 0', async () => {
    const { login } = await target(false);
    const a = await login(0x23d0_0000_00a1n);
    const r = await a.result(a.command({ cdb: MODE_SENSE_CONTROL, read: true, edtl: 64 }));
    expect(r.status).toBe(0);
    expect(r.data[4]).toBe(0x0a);
    expect((r.data[4 + 5] ?? 0) & 0x40).toBe(0);
  });

  it.each([
    ['CLEAR TASK SET', CLEAR_TASK_SET],
    ['LOGICAL UNIT RESET', LOGICAL_UNIT_RESET],
  ] as const)('%s: B’s WRITE ends without a response, as A’s; A’s TMF completes; nothing is written', async (_name, fn) => {
    const { login } = await target(false);
    const a = await login(0x23d0_0000_00a1n);
    const b = await login(0x23d0_0000_00b2n);
    const writeA = await writeAwaitingData(a, 3);
    const writeB = await writeAwaitingData(b, 4);
    tmf(a, fn, 910);
    lateDataOut(a, writeA);
    expect(await tmfResponse(a, 910)).toBe(0);
    expect(await b.silence((p) => ittOf(p) === writeB.itt)).toBe(true);
    expect(await a.silence((p) => ittOf(p) === writeA.itt)).toBe(true);
    lateDataOut(b, writeB);
    expect(await readBlock(a, 4)).toEqual(new Uint8Array(BS));
    expect(await readBlock(b, 3)).toEqual(new Uint8Array(BS));
  });

  it('CLEAR TASK SET: B, whose WRITE never reached the unit, gets COMMANDS CLEARED BY ANOTHER INITIATOR (06h/2Fh/00h) once; A, the sender, and C, with no task, get none', async () => {
    const { login } = await target(false);
    const a = await login(0x23d0_0000_00a1n);
    const b = await login(0x23d0_0000_00b2n);
    const c = await login(0x23d0_0000_00c3n);
    const writeA = await writeAwaitingData(a, 3);
    const writeB = await writeAwaitingData(b, 4);
    tmf(a, CLEAR_TASK_SET, 911);
    lateDataOut(a, writeA);
    expect(await tmfResponse(a, 911)).toBe(0);
    expect(await b.silence((p) => ittOf(p) === writeB.itt)).toBe(true);
    expect(await a.silence((p) => ittOf(p) === writeA.itt)).toBe(true);
    expect(await ua(b)).toEqual([0x06, 0x2f, 0x00]);
    expect(await ua(b)).toBeUndefined();
    expect(await ua(a)).toBeUndefined();
    expect(await ua(c)).toBeUndefined();
  });
});

describe('vtcam serve --task-aborted-status, end to end', () => {
  it('the served unit reports TAS 1, and another session’s WRITE waiting for Data-Out ends TASK ABORTED', async () => {
    const parsed = parseServeCli(['--task-aborted-status', '--size', '16M', '--port', '0']);
    if (!parsed.ok) throw new Error(parsed.message);
    const io = capture();
    let stop: ((s: ShutdownSignal) => void) | undefined;
    const run = runServe(parsed.args, io, {
      listen: (o) => IscsiServer.listen(o),
      onSignal: (h) => {
        stop = h;
        return () => undefined;
      },
      exit: () => undefined,
    });
    await until(() => io.lines.some((l) => l.startsWith('READY ')), 'READY from vtcam serve');
    const port = Number(/:(\d+)\//.exec(io.lines.at(-1) ?? '')?.[1]);
    const sessions: TestInitiator[] = [];
    try {
      const login = async (isid: bigint): Promise<TestInitiator> => {
        const ini = await TestInitiator.connect(port);
        sessions.push(ini);
        expect((await ini.login('iqn.2026-11.org.vtcam:disk0', {}, isid)).bhs[36]).toBe(0);
        expect(await ua(ini)).toEqual([0x06, 0x29, 0x00]);
        return ini;
      };
      const a = await login(0x23d0_0000_00a1n);
      const b = await login(0x23d0_0000_00b2n);
      const ms = await a.result(a.command({ cdb: MODE_SENSE_CONTROL, read: true, edtl: 64 }));
      expect([ms.status, ms.data[4], (ms.data[4 + 5] ?? 0) & 0x40]).toEqual([0, 0x0a, 0x40]);
      const writeB = await writeAwaitingData(b, 4);
      tmf(a, CLEAR_TASK_SET, 920);
      expect(await tmfResponse(a, 920)).toBe(0);
      expect(responseFields(await b.next((p) => opcodeOf(p) === SCSI_RESPONSE && ittOf(p) === writeB.itt))).toEqual(ABORTED_WRITE);
    } finally {
      for (const s of sessions) s.close();
      stop?.('SIGTERM');
    }
    expect(await run).toBe(0);
  });
});
