// Task attributes against tasks the target still holds (SAM-5 §8.6; RFC 7143
// §3.2.2.1: the task set order is CmdSN order), end to end over loopback TCP:
// an ORDERED command waits for every older command, a SIMPLE one for every
// older ORDERED one, even while the older one is a WRITE waiting for its
// Data-Out at an R2T (§11.8), which CAM has not seen yet; HEAD OF QUEUE
// waits for nothing. A task held so ends as others that have not reached the
// unit do: by ABORT TASK (§11.5.1), and when the connection drops. PDUs are
// built from RFC 7143's tables (initiator.ts).

import { describe, expect, it } from 'vitest';
import { bhsOf, field32, ittOf, opcodeOf, pdu, type TestInitiator } from './initiator.js';
import { BS, read10, readBlock, sessionsTargets, tmfResponse } from './two-sessions.js';
import { turns, until, watchCcbs } from '../stack/helpers.js';

const IQN = 'iqn.2026-11.org.vtcam:task-set-order';
/** ATTR (§11.3.1.2). */
const SIMPLE = 1;
const ORDERED = 2;
const HEAD_OF_QUEUE = 3;
/** SCSI Response, SCSI Data-In, R2T (§11.2.1.2). */
const SCSI_RESPONSE = 0x21;
const DATA_IN = 0x25;
const R2T = 0x31;
const write10 = (lba: number): Uint8Array => Uint8Array.of(0x2a, 0, 0, 0, 0, lba, 0, 0, 1, 0);
const NEW_DATA = 0xee;

const target = sessionsTargets(IQN);

/** A one-block WRITE (10) of `lba` with ATTR `attr`, held at its R2T: its ITT and the R2T's Target Transfer Tag. */
async function writeAwaitingData(ini: TestInitiator, lba: number, attr: number): Promise<{ itt: number; ttt: number; cmdSN: number }> {
  const cmdSN = ini.cmdSN;
  const itt = ini.command({ cdb: write10(lba), write: true, edtl: BS, attr });
  const r2t = await ini.next((p) => opcodeOf(p) === R2T && ittOf(p) === itt);
  return { itt, ttt: field32(r2t, 20), cmdSN };
}

/** The WRITE's one Data-Out, all NEW_DATA. */
function sendData(ini: TestInitiator, w: { itt: number; ttt: number }): void {
  ini.dataOut({ itt: w.itt, ttt: w.ttt, dataSN: 0, offset: 0, data: new Uint8Array(BS).fill(NEW_DATA), final: true });
}

/** The ITT of the first status (SCSI Response, or Data-In with S) for one of `itts`. */
async function firstStatus(ini: TestInitiator, itts: readonly number[]): Promise<number> {
  const p = await ini.next((x) => itts.includes(ittOf(x)) && (opcodeOf(x) === SCSI_RESPONSE || (opcodeOf(x) === DATA_IN && ((x.bhs[1] ?? 0) & 0x01) !== 0)));
  return ittOf(p);
}

/** ABORT TASK (§11.5.1 function 1) of `ref`, immediate: RTT and RefCmdSN name it. */
function abortTask(ini: TestInitiator, itt: number, ref: { itt: number; cmdSN: number }): void {
  ini.send(pdu(bhsOf([[0, 0x02 | 0x40, 1], [1, 0x80 | 1, 1], [16, itt, 4], [20, ref.itt, 4], [24, ini.cmdSN, 4], [28, ini.expStatSN, 4], [32, ref.cmdSN, 4]])));
}

describe('task set order across a WRITE waiting for Data-Out', () => {
  it.each([
    ['an ORDERED READ after a SIMPLE WRITE', SIMPLE, ORDERED, 0x23d0_0000_0c01n, 10],
    ['a SIMPLE READ after an ORDERED WRITE', ORDERED, SIMPLE, 0x23d0_0000_0c02n, 11],
  ])('%s of its block waits for the WRITE’s data, completes after it, and reads what it wrote', async (_name, writeAttr, readAttr, isid, lba) => {
    const { login } = await target(false);
    const ini = await login(isid);
    const w = await writeAwaitingData(ini, lba, writeAttr);
    const r = ini.command({ cdb: read10(lba), read: true, edtl: BS, attr: readAttr });
    expect(await ini.silence((p) => ittOf(p) === r, 200)).toBe(true);
    sendData(ini, w);
    expect(await firstStatus(ini, [w.itt, r])).toBe(w.itt);
    const read = await ini.result(r);
    expect(read.status).toBe(0);
    expect(read.data[0]).toBe(NEW_DATA);
  });

  it('HEAD OF QUEUE waits for nothing: it completes while a SIMPLE READ sent before it waits behind an ORDERED WRITE', async () => {
    const { login } = await target(false);
    const ini = await login(0x23d0_0000_0c03n);
    const w = await writeAwaitingData(ini, 12, ORDERED);
    const simple = ini.command({ cdb: read10(12), read: true, edtl: BS, attr: SIMPLE });
    const head = ini.command({ cdb: read10(12), read: true, edtl: BS, attr: HEAD_OF_QUEUE });
    const first = await ini.result(head);
    expect(first.status).toBe(0);
    // Older data: the WRITE has not had its Data-Out.
    expect(first.data[0]).toBe(0);
    expect(await ini.silence((p) => ittOf(p) === simple, 100)).toBe(true);
    sendData(ini, w);
    expect((await ini.result(w.itt)).status).toBe(0);
    expect((await ini.result(simple)).data[0]).toBe(NEW_DATA);
  });

  it('an ORDERED READ held behind a WRITE that ABORT TASK ends goes on, and reads the old data', async () => {
    const { login } = await target(false);
    const ini = await login(0x23d0_0000_0c04n);
    const w = await writeAwaitingData(ini, 13, SIMPLE);
    const r = ini.command({ cdb: read10(13), read: true, edtl: BS, attr: ORDERED });
    expect(await ini.silence((p) => ittOf(p) === r, 200)).toBe(true);
    abortTask(ini, 950, w);
    expect(await tmfResponse(ini, 950)).toBe(0);
    const read = await ini.result(r);
    expect(read.status).toBe(0);
    expect(read.data[0]).toBe(0);
    // The aborted WRITE ended without a response.
    expect(await ini.silence((p) => ittOf(p) === w.itt, 100)).toBe(true);
  });

  it('an ORDERED READ that ABORT TASK ends while it is held never reaches the unit; the WRITE it waited for runs', async () => {
    const { login, stack } = await target(false);
    const ini = await login(0x23d0_0000_0c05n);
    const ccbs = watchCcbs(stack);
    const w = await writeAwaitingData(ini, 14, SIMPLE);
    const cmdSN = ini.cmdSN;
    const r = ini.command({ cdb: read10(14), read: true, edtl: BS, attr: ORDERED });
    expect(await ini.silence((p) => ittOf(p) === r, 200)).toBe(true);
    const actions = ccbs.actions;
    abortTask(ini, 951, { itt: r, cmdSN });
    expect(await tmfResponse(ini, 951)).toBe(0);
    sendData(ini, w);
    expect((await ini.result(w.itt)).status).toBe(0);
    // The WRITE alone reached CAM; the READ ended without a response.
    expect(ccbs.actions).toBe(actions + 1);
    expect(await ini.silence((p) => ittOf(p) === r, 100)).toBe(true);
  });

  it('the connection dropping ends held tasks with the WRITE they wait for: none reaches the unit, and the unit goes on', async () => {
    const { login, stack, server } = await target(false);
    const ini = await login(0x23d0_0000_0c06n);
    const ccbs = watchCcbs(stack);
    await writeAwaitingData(ini, 15, SIMPLE);
    const r = ini.command({ cdb: read10(15), read: true, edtl: BS, attr: ORDERED });
    const behind = ini.command({ cdb: read10(16), read: true, edtl: BS, attr: SIMPLE });
    expect(await ini.silence((p) => ittOf(p) === r || ittOf(p) === behind, 200)).toBe(true);
    const actions = ccbs.actions;
    ini.close();
    await until(() => server.sessions === 0, 'the session gone');
    // Every task has ended: the WRITE's Data-Out buffer is given back, and none of those it held reached CAM
    // (ended in one sweep with the WRITE: none let go as the WRITE ended, only to be aborted there).
    await until(() => server.dataOutBudget.held === 0, 'the WRITE ended');
    await turns(20);
    expect(ccbs.actions).toBe(actions);
    const again = await login(0x23d0_0000_0c07n);
    expect((await readBlock(again, 15))[0]).toBe(0);
  });
});
