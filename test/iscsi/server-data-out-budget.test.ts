// The target's Data-Out budget end to end over loopback TCP
// (data-out-budget.ts): a session that opens WRITEs and never sends their data
// holds at most half the budget; its further WRITEs get no R2T (RFC 7143
// §11.8) until its own end, while another session's WRITEs are solicited and
// complete. Ending a session, by dropping its connection or by Logout
// (§11.14), gives its bytes back, and so does a session that owes Data-Out
// and sends none for the ping timeout (progress-watchdog.ts), pings answered
// or not, and Data-Out the target Rejects sent or not. A WRITE whose immediate data the budget cannot hold at once ends
// TASK SET FULL, holding nothing, and so does one that must wait for its turn
// (an earlier CmdSN, §4.2.2.1, or a task management function): it takes its
// buffer as it arrives. PDUs are built from RFC 7143's tables (initiator.ts).

import { afterEach, describe, expect, it } from 'vitest';
import { TestInitiator, bhsOf, field32, ittOf, opcodeOf, pdu } from './initiator.js';
import { BS, readBlock, senseOfTur, tmf, tmfResponse, tur, writeAwaitingData } from './two-sessions.js';
import { createStack, type Stack } from '../../src/stack.js';
import { MemoryBackend } from '../../src/virtio/device/backends/memory.js';
import { IscsiServer } from '../../src/iscsi/server.js';

const IQN = 'iqn.2026-11.org.vtcam:data-out-budget';
/** R2T, Logout Response and NOP-In opcodes (§11.2.1.2). */
const R2T = 0x31;
const LOGOUT_RESPONSE = 0x26;
const NOP_IN = 0x20;
const REJECT = 0x3f;
/** SCSI status TASK SET FULL (SAM-5). */
const TASK_SET_FULL = 0x28;
/** Task Management Function Request function ABORT TASK SET (§11.5.1). */
const ABORT_TASK_SET = 2;
/** The LUN's MAXIMUM TRANSFER LENGTH: 32 blocks (16 KiB); the budget holds four such commands, a session two. */
const MAX_TRANSFER = 32 * BS;
const BUDGET = 64 * 1024;
/** WRITE (10) of `blocks` blocks at `lba` (< 256). */
const write10 = (lba: number, blocks: number): Uint8Array => Uint8Array.of(0x2a, 0, 0, 0, 0, lba, 0, 0, blocks, 0);
/** NOP-Out (§11.18), immediate, ITT `itt`, TTT reserved: a ping the target answers with a NOP-In. */
const nopOut = (ini: TestInitiator, itt: number): Uint8Array => pdu(bhsOf([[0, 0x00 | 0x40, 1], [1, 0x80, 1], [16, itt, 4], [20, 0xffffffff, 4], [24, ini.cmdSN, 4], [28, ini.expStatSN, 4]]));
/** Resolves once the target has answered a ping sent now: it has taken every PDU sent before. */
async function pinged(ini: TestInitiator, itt: number): Promise<void> {
  ini.send(nopOut(ini, itt));
  await ini.next((p) => opcodeOf(p) === NOP_IN && ittOf(p) === itt);
}

let stack: Stack | undefined;
let server: IscsiServer | undefined;
const opened: TestInitiator[] = [];
afterEach(async () => {
  for (const s of opened.splice(0)) s.close();
  await server?.close();
  await stack?.close();
  server = undefined;
  stack = undefined;
});

async function serve(dataOutBudget: number | undefined, pingTimeoutMs?: number): Promise<IscsiServer> {
  stack = await createStack({ backend: new MemoryBackend({ blocks: 2048, blockSize: BS }), queueSize: 64, emulator: { maxTransferBytes: MAX_TRANSFER } });
  server = await IscsiServer.listen({
    port: 0,
    targets: [{ name: IQN, luns: [{ lun: 0, pass: stack.pass(0) }] }],
    ...(dataOutBudget === undefined ? {} : { dataOutBudget }),
    ...(pingTimeoutMs === undefined ? {} : { timers: { pingTimeoutMs } }),
  });
  return server;
}

/** A session with ISID `isid`, its power-on unit attention seen and cleared. */
async function login(s: IscsiServer, isid: bigint): Promise<TestInitiator> {
  const ini = await TestInitiator.connect(s.address.port);
  opened.push(ini);
  expect((await ini.login(IQN, {}, isid)).bhs[36]).toBe(0);
  expect(await senseOfTur(ini)).toEqual([0x06, 0x29, 0x00]);
  expect(await senseOfTur(ini)).toBeUndefined();
  return ini;
}

/** Resolves once `f` holds (polled), or fails after `ms`. */
async function until(f: () => boolean, ms = 3000): Promise<void> {
  for (const end = Date.now() + ms; !f(); ) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Sends the whole Data-Out of a WRITE that its one R2T solicited, and waits for its status. */
async function complete(ini: TestInitiator, w: { itt: number; ttt: number }, data: Uint8Array): Promise<number> {
  ini.dataOut({ itt: w.itt, ttt: w.ttt, dataSN: 0, offset: 0, data, final: true });
  return (await ini.result(w.itt)).status;
}

describe('the Data-Out budget bounds what WRITEs without data hold', () => {
  it('a session that sends no data holds at most half; its further WRITEs wait without an R2T; another session’s WRITEs run; its end gives everything back', async () => {
    const s = await serve(BUDGET);
    expect(s.dataOutBudget).toEqual({ bytes: BUDGET, sessionBytes: BUDGET / 2, held: 0, waiting: 0, waitingBytes: 0 });
    const hostile = await login(s, 0x23d0_0000_0001n);
    const other = await login(s, 0x23d0_0000_0002n);

    const h1 = await writeAwaitingData(hostile, 0, 32);
    await writeAwaitingData(hostile, 32, 32);
    const h3 = hostile.command({ cdb: write10(64, 32), write: true, edtl: MAX_TRANSFER });
    hostile.command({ cdb: write10(96, 32), write: true, edtl: MAX_TRANSFER });
    expect(await hostile.silence((p) => opcodeOf(p) === R2T, 200)).toBe(true);
    expect(s.dataOutBudget).toMatchObject({ held: BUDGET / 2, waiting: 2, waitingBytes: 2 * MAX_TRANSFER });

    // The other half is the other session's: both its WRITEs are solicited at once, and complete.
    const g1 = await writeAwaitingData(other, 128, 32);
    const g2 = await writeAwaitingData(other, 160, 32);
    expect(s.dataOutBudget).toMatchObject({ held: BUDGET, waiting: 2 });
    const data = Uint8Array.from({ length: MAX_TRANSFER }, (_, i) => (i * 13) & 0xff);
    expect(await complete(other, g1, data)).toBe(0);
    expect(await complete(other, g2, data)).toBe(0);
    expect(await readBlock(other, 128 + 31)).toEqual(data.subarray(31 * BS));
    expect(s.dataOutBudget).toMatchObject({ held: BUDGET / 2, waiting: 2 });

    // The hostile session's own WRITE ending lets its next one have its buffer: that one's R2T comes now.
    expect(await complete(hostile, h1, data)).toBe(0);
    const r2t = await hostile.next((p) => opcodeOf(p) === R2T);
    expect([ittOf(r2t), field32(r2t, 40), field32(r2t, 44)]).toEqual([h3, 0, MAX_TRANSFER]);
    expect(s.dataOutBudget).toMatchObject({ held: BUDGET / 2, waiting: 1, waitingBytes: MAX_TRANSFER });

    hostile.close();
    await until(() => s.dataOutBudget.held === 0 && s.dataOutBudget.waiting === 0);
    expect(await readBlock(other, 0)).toEqual(data.subarray(0, BS));
  });

  it('Logout (§11.14) ends the WRITEs that hold a buffer or wait for one: the budget is whole again', async () => {
    const s = await serve(BUDGET);
    const ini = await login(s, 0x23d0_0000_0003n);
    await writeAwaitingData(ini, 0, 32);
    await writeAwaitingData(ini, 32, 32);
    ini.command({ cdb: write10(64, 32), write: true, edtl: MAX_TRANSFER });
    await until(() => s.dataOutBudget.waiting === 1);
    // Logout Request, immediate, reason 0 (close the session): byte 1 F | reason, ITT at 16, CmdSN, ExpStatSN.
    ini.send(pdu(bhsOf([[0, 0x06 | 0x40, 1], [1, 0x80, 1], [16, 900, 4], [24, ini.cmdSN, 4], [28, ini.expStatSN, 4]])));
    expect((await ini.next((p) => opcodeOf(p) === LOGOUT_RESPONSE)).bhs[2]).toBe(0);
    expect(s.dataOutBudget).toMatchObject({ held: 0, waiting: 0, waitingBytes: 0 });
  });
});

describe('immediate data counts against the budget', () => {
  it('a WRITE with immediate data past its session’s half ends TASK SET FULL (28h) and holds nothing; sent again once there is room, it runs', async () => {
    const s = await serve(BUDGET);
    const ini = await login(s, 0x23d0_0000_0004n);
    const w1 = await writeAwaitingData(ini, 0, 32);
    await writeAwaitingData(ini, 32, 32);
    const data = Uint8Array.from({ length: MAX_TRANSFER }, (_, i) => (i * 7 + 1) & 0xff);
    const refused = await ini.result(ini.command({ cdb: write10(64, 32), write: true, edtl: MAX_TRANSFER, data }));
    expect(refused.status).toBe(0x28);
    expect(s.dataOutBudget).toMatchObject({ held: BUDGET / 2, waiting: 0, waitingBytes: 0 });
    expect(await complete(ini, w1, data)).toBe(0);
    expect((await ini.result(ini.command({ cdb: write10(64, 32), write: true, edtl: MAX_TRANSFER, data }))).status).toBe(0);
    expect(await readBlock(ini, 64 + 31)).toEqual(data.subarray(31 * BS));
    expect(s.dataOutBudget).toMatchObject({ held: MAX_TRANSFER, waiting: 0 });
  });
});

describe('a command waiting for its turn holds its immediate data within the budget', () => {
  const block = (i: number): Uint8Array => Uint8Array.from({ length: MAX_TRANSFER }, (_, j) => (j * 3 + i * 41 + 1) & 0xff);
  const zeros = new Uint8Array(BS);

  it('WRITEs after a CmdSN gap (§4.2.2.1) take their buffers as they come, within the session’s half; once the gap is filled the first two end GOOD, the others TASK SET FULL writing nothing; the budget is whole again', async () => {
    const s = await serve(BUDGET);
    const ini = await login(s, 0x23d0_0000_0021n);
    const gap = ini.cmdSN;
    // Four WRITEs of a whole command of immediate data each, CmdSN gap+1..gap+4: none can run before gap.
    const writes = [0, 1, 2, 3].map((i) => ini.command({ cdb: write10(32 * i, 32), write: true, edtl: MAX_TRANSFER, data: block(i), cmdSN: (gap + 1 + i) >>> 0 }));
    await pinged(ini, 0x7001);
    expect(s.dataOutBudget).toEqual({ bytes: BUDGET, sessionBytes: BUDGET / 2, held: BUDGET / 2, waiting: 0, waitingBytes: 0 });
    expect(await ini.silence((p) => writes.includes(ittOf(p)), 100)).toBe(true);

    const filler = ini.command({ cdb: tur, edtl: 0 });
    ini.cmdSN = (gap + 5) >>> 0;
    expect((await ini.result(filler)).status).toBe(0);
    const statuses: number[] = [];
    for (const itt of writes) statuses.push((await ini.result(itt)).status);
    expect(statuses).toEqual([0, 0, TASK_SET_FULL, TASK_SET_FULL]);
    expect(s.dataOutBudget).toMatchObject({ held: 0, waiting: 0, waitingBytes: 0 });
    expect(await readBlock(ini, 31)).toEqual(block(0).subarray(31 * BS));
    expect(await readBlock(ini, 32)).toEqual(block(1).subarray(0, BS));
    expect(await readBlock(ini, 64)).toEqual(zeros);
    expect(await readBlock(ini, 127)).toEqual(zeros);

    // The session goes on: the refused WRITE sent again runs.
    expect((await ini.result(ini.command({ cdb: write10(64, 32), write: true, edtl: MAX_TRANSFER, data: block(2) }))).status).toBe(0);
    expect(await readBlock(ini, 64)).toEqual(block(2).subarray(0, BS));
    expect(s.dataOutBudget).toMatchObject({ held: 0, waiting: 0 });
  });

  it('a session that ends with WRITEs still waiting for an earlier CmdSN gives their bytes back', async () => {
    const s = await serve(BUDGET);
    const ini = await login(s, 0x23d0_0000_0023n);
    for (const i of [1, 2]) ini.command({ cdb: write10(32 * i, 32), write: true, edtl: MAX_TRANSFER, data: block(i), cmdSN: (ini.cmdSN + i) >>> 0 });
    await pinged(ini, 0x7003);
    expect(s.dataOutBudget).toMatchObject({ held: BUDGET / 2 });
    ini.close();
    await until(() => s.dataOutBudget.held === 0);
    expect(s.dataOutBudget).toMatchObject({ held: 0, waiting: 0, waitingBytes: 0 });
  });

  it('ABORT TASK (§11.5.1) for a WRITE still waiting for an earlier CmdSN gives its bytes back; it never runs', async () => {
    const s = await serve(BUDGET);
    const ini = await login(s, 0x23d0_0000_0024n);
    const gap = ini.cmdSN;
    const held = ini.command({ cdb: write10(32, 32), write: true, edtl: MAX_TRANSFER, data: block(1), cmdSN: (gap + 1) >>> 0 });
    await pinged(ini, 0x7004);
    expect(s.dataOutBudget).toMatchObject({ held: MAX_TRANSFER });
    // Immediate ABORT TASK, RTT the held WRITE, RefCmdSN its CmdSN (byte 32), CmdSN the next to use.
    ini.send(pdu(bhsOf([[0, 0x02 | 0x40, 1], [1, 0x80 | 1, 1], [16, 0x901, 4], [20, held, 4], [24, (gap + 2) >>> 0, 4], [28, ini.expStatSN, 4], [32, (gap + 1) >>> 0, 4]])));
    expect(await tmfResponse(ini, 0x901)).toBe(0);
    expect(s.dataOutBudget).toMatchObject({ held: 0, waiting: 0 });
    const filler = ini.command({ cdb: tur, edtl: 0 });
    ini.cmdSN = (gap + 2) >>> 0;
    expect((await ini.result(filler)).status).toBe(0);
    expect(await ini.silence((p) => ittOf(p) === held, 100)).toBe(true);
    expect(await readBlock(ini, 32)).toEqual(zeros);
  });

  it('a command under the ITT of one waiting for an earlier CmdSN gets Reject, Task in progress (07h), and takes no CmdSN; the first WRITE keeps its ITT and its bytes go back as the session ends', async () => {
    const s = await serve(BUDGET);
    const ini = await login(s, 0x23d0_0000_0026n);
    const gap = ini.cmdSN;
    const itt = ini.command({ cdb: write10(0, 32), write: true, edtl: MAX_TRANSFER, cmdSN: (gap + 1) >>> 0 });
    ini.command({ cdb: write10(32, 32), write: true, edtl: MAX_TRANSFER, cmdSN: (gap + 2) >>> 0, itt });
    // Reject (§11.17): Reason at byte 2; the rejected PDU's header is its data.
    const reject = await ini.next((p) => opcodeOf(p) === REJECT);
    expect([reject.bhs[2], ittOf({ bhs: reject.data, data: new Uint8Array(0) })]).toEqual([0x07, itt]);

    expect((await ini.result(ini.command({ cdb: tur, edtl: 0 }))).status).toBe(0);
    const r2t = await ini.next((p) => opcodeOf(p) === R2T && ittOf(p) === itt);
    expect([field32(r2t, 40), field32(r2t, 44)]).toEqual([0, MAX_TRANSFER]);
    // gap + 2 is free: a command there runs.
    ini.cmdSN = (gap + 2) >>> 0;
    expect((await ini.result(ini.command({ cdb: tur, edtl: 0 }))).status).toBe(0);
    expect(s.dataOutBudget).toMatchObject({ held: MAX_TRANSFER, waiting: 0 });
    ini.close();
    await until(() => s.dataOutBudget.held === 0);
  });

  it('a WRITE held back while ABORT TASK SET waits for the sender’s Data-Out holds its immediate data in the budget; it runs after the function', async () => {
    const s = await serve(BUDGET);
    const ini = await login(s, 0x23d0_0000_0022n);
    const covered = await writeAwaitingData(ini, 0, 32);
    tmf(ini, ABORT_TASK_SET, 0x900);
    const later = ini.command({ cdb: write10(32, 32), write: true, edtl: MAX_TRANSFER, data: block(1) });
    await pinged(ini, 0x7002);
    expect(s.dataOutBudget).toMatchObject({ held: 2 * MAX_TRANSFER, waiting: 0 });
    expect(await ini.silence((p) => ittOf(p) === later, 100)).toBe(true);

    // The covered WRITE's data answers its R2T: the function acts (that WRITE ends without a response), then the held one runs.
    ini.dataOut({ itt: covered.itt, ttt: covered.ttt, dataSN: 0, offset: 0, data: block(0), final: true });
    expect(await tmfResponse(ini, 0x900)).toBe(0);
    expect((await ini.result(later)).status).toBe(0);
    expect(await readBlock(ini, 32)).toEqual(block(1).subarray(0, BS));
    expect(await readBlock(ini, 0)).toEqual(zeros);
    expect(s.dataOutBudget).toMatchObject({ held: 0, waiting: 0 });
  });
});

describe('a session that owes Data-Out and sends none is dropped (progress-watchdog.ts)', () => {
  /** The Data-Out timeout: the ping timeout (the ping itself only comes after 30 s of quiet). */
  const TIMEOUT = 400;

  it('answering pings does not keep it: its connection ends a timeout after the R2T, and the WRITE waiting behind it is solicited', async () => {
    const s = await serve(BUDGET, TIMEOUT);
    const hostile = await login(s, 0x23d0_0000_0011n);
    const other = await login(s, 0x23d0_0000_0012n);
    await writeAwaitingData(hostile, 0, 32);
    await writeAwaitingData(hostile, 32, 32);
    const g1 = await writeAwaitingData(other, 64, 32);
    await writeAwaitingData(other, 96, 32);
    // The budget is full: the other session's third WRITE waits for a buffer, without an R2T.
    const waiting = other.command({ cdb: write10(128, 32), write: true, edtl: MAX_TRANSFER });
    await until(() => s.dataOutBudget.waiting === 1);
    const since = Date.now();
    // The other session keeps sending its data slowly: 4 PDUs of 4 KiB, a little under the timeout apart in all.
    const data = Uint8Array.from({ length: MAX_TRANSFER }, (_, i) => (i * 7) & 0xff);
    const quarter = MAX_TRANSFER / 4;
    const pings = setInterval(() => {
      hostile.send(nopOut(hostile, 0x7000));
    }, TIMEOUT / 4);
    try {
      for (let i = 0; i < 4; i++) {
        other.dataOut({ itt: g1.itt, ttt: g1.ttt, dataSN: i, offset: i * quarter, data: data.subarray(i * quarter, (i + 1) * quarter), final: i === 3 });
        await new Promise((r) => setTimeout(r, TIMEOUT * 0.4));
      }
      expect((await other.result(g1.itt)).status).toBe(0);
      await hostile.closedWithin(3 * TIMEOUT);
    } finally {
      clearInterval(pings);
    }
    const after = Date.now() - since;
    expect(after).toBeGreaterThanOrEqual(TIMEOUT * 0.9);
    // The hostile session's half came back: the waiting WRITE has its R2T; the other session was never dropped.
    const r2t = await other.next((p) => opcodeOf(p) === R2T && ittOf(p) === waiting);
    expect([field32(r2t, 40), field32(r2t, 44)]).toEqual([0, MAX_TRANSFER]);
    expect(other.closed).toBe(false);
    expect(await complete(other, { itt: waiting, ttt: field32(r2t, 20) }, data)).toBe(0);
    expect(await readBlock(other, 64 + 31)).toEqual(data.subarray(31 * BS));
  });

  it('Data-Out the target Rejects does not keep it either: two such sessions holding the whole budget are dropped, and the WRITE waiting behind them is solicited', async () => {
    const s = await serve(BUDGET, TIMEOUT);
    const hostile: { ini: TestInitiator; w: { itt: number; ttt: number } }[] = [];
    for (const isid of [0x23d0_0000_0015n, 0x23d0_0000_0016n]) {
      const ini = await login(s, isid);
      hostile.push({ ini, w: await writeAwaitingData(ini, 0, 32) });
      await writeAwaitingData(ini, 32, 32);
    }
    const victim = await login(s, 0x23d0_0000_0017n);
    const waiting = victim.command({ cdb: write10(128, 32), write: true, edtl: MAX_TRANSFER });
    await until(() => s.dataOutBudget.waiting === 1);
    // Every TIMEOUT/4, from each hostile session, a Data-Out under the reserved ITT (naming no task) and one
    // under a TTT no R2T of its WRITE gave: each gets Reject, Invalid PDU field (09h), and moves no burst on.
    const junk = setInterval(() => {
      for (const { ini, w } of hostile) {
        ini.dataOut({ itt: 0xffff_ffff, ttt: w.ttt, dataSN: 0, offset: 0, data: new Uint8Array(0), final: true });
        ini.dataOut({ itt: w.itt, ttt: (w.ttt + 1000) >>> 0, dataSN: 0, offset: 0, data: new Uint8Array(BS), final: true });
      }
    }, TIMEOUT / 4);
    try {
      for (const { ini } of hostile) expect((await ini.next((p) => opcodeOf(p) === REJECT)).bhs[2]).toBe(0x09);
      for (const { ini } of hostile) await ini.closedWithin(4 * TIMEOUT);
    } finally {
      clearInterval(junk);
    }
    const r2t = await victim.next((p) => opcodeOf(p) === R2T && ittOf(p) === waiting);
    expect([field32(r2t, 40), field32(r2t, 44)]).toEqual([0, MAX_TRANSFER]);
  });

  it('a session owing nothing stays however long it is quiet', async () => {
    const s = await serve(BUDGET, TIMEOUT);
    const ini = await login(s, 0x23d0_0000_0014n);
    await new Promise((r) => setTimeout(r, 3 * TIMEOUT));
    expect(ini.closed).toBe(false);
    expect(await readBlock(ini, 0)).toHaveLength(BS);
  });
});

describe('IscsiServerOptions.dataOutBudget', () => {
  it('defaults to 256 MiB (twice the largest command would be less)', async () => {
    const s = await serve(undefined);
    expect(s.dataOutBudget).toEqual({ bytes: 256 * 2 ** 20, sessionBytes: 128 * 2 ** 20, held: 0, waiting: 0, waitingBytes: 0 });
  });

  it.each([
    ['less than the LUN’s largest command (128 KiB)', 128 * 1024, 128 * 1024 - 1, 131072],
    ['less than a WRITE to a missing LUN may collect (64 KiB)', MAX_TRANSFER, MAX_TRANSFER, 65536],
    ['not a whole number', MAX_TRANSFER, BUDGET + 0.5, 65536],
    ['zero', MAX_TRANSFER, 0, 65536],
  ])('%s: RangeError naming the option and the least it may be', async (_name, maxTransferBytes, bytes, least) => {
    stack = await createStack({ backend: new MemoryBackend({ blocks: 2048, blockSize: BS }), queueSize: 64, emulator: { maxTransferBytes } });
    const pass = stack.pass(0);
    await expect(IscsiServer.listen({ port: 0, targets: [{ name: IQN, luns: [{ lun: 0, pass }] }], dataOutBudget: bytes })).rejects.toThrow(
      new RangeError(`iSCSI server: dataOutBudget must be a whole number of bytes, at least the largest command a LUN takes (${least}), got ${bytes}`),
    );
  });
});
