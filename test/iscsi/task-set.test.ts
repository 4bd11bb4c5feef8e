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

import { afterEach, describe, expect, it } from 'vitest';
import { createStack, type Stack } from '../../src/stack.js';
import { MemoryBackend } from '../../src/virtio/device/backends/memory.js';
import { IscsiServer } from '../../src/iscsi/server.js';
import { TestInitiator, bhsOf, ittOf, opcodeOf, pdu } from './initiator.js';
import { ProbeBackend, until } from '../stack/helpers.js';

const IQN = 'iqn.2026-11.org.vtcam:task-set';
const BS = 512;
const tur = new Uint8Array(6);
const read10 = (lba: number): Uint8Array => Uint8Array.of(0x28, 0, 0, 0, 0, lba, 0, 0, 1, 0);
/** Task Management Function Request functions (§11.5.1). */
const ABORT_TASK_SET = 2;
const CLEAR_TASK_SET = 4;
/** SCSI status TASK ABORTED (SAM-5). */
const TASK_ABORTED = 0x40;

let open: { stack: Stack; server: IscsiServer; sessions: TestInitiator[] } | undefined;
afterEach(async () => {
  for (const s of open?.sessions ?? []) s.close();
  await open?.server.close();
  await open?.stack.close();
  open = undefined;
});

/** A target over a backend that holds READs while `held.on`; `tas` is the unit's TAS. */
async function target(tas: boolean): Promise<{ probe: ProbeBackend; held: { on: boolean }; login: (isid: bigint) => Promise<TestInitiator> }> {
  const probe = new ProbeBackend(new MemoryBackend({ blocks: 2048, blockSize: BS }));
  const held = { on: false };
  probe.holdIf = (op) => held.on && op.kind === 'read';
  const stack = await createStack({ backend: probe, queueSize: 64, ...(tas ? { emulator: { taskAbortedStatus: true } } : {}) });
  const server = await IscsiServer.listen({ port: 0, targets: [{ name: IQN, luns: [{ lun: 0, pass: stack.pass(0) }] }] });
  const sessions: TestInitiator[] = [];
  open = { stack, server, sessions };
  const login = async (isid: bigint): Promise<TestInitiator> => {
    const ini = await TestInitiator.connect(server.address.port);
    sessions.push(ini);
    expect((await ini.login(IQN, {}, isid)).bhs[36]).toBe(0);
    // The power-on unit attention first (29h/00h), then GOOD.
    expect(await ua(ini)).toEqual([0x06, 0x29, 0x00]);
    expect((await ini.result(ini.command({ cdb: tur, edtl: 0 }))).status).toBe(0);
    return ini;
  };
  return { probe, held, login };
}

/** TEST UNIT READY: undefined for GOOD, else the fixed sense's key, ASC, ASCQ (after the 2-byte SenseLength). */
async function ua(ini: TestInitiator): Promise<number[] | undefined> {
  const r = await ini.result(ini.command({ cdb: tur, edtl: 0 }));
  if (r.status === 0) return undefined;
  expect(r.status).toBe(2);
  const sense = r.response.data.subarray(2);
  return [sense[2] ?? -1, sense[12] ?? -1, sense[13] ?? -1];
}

/** Sends a Task Management Function Request (§11.5): immediate, F | function, LUN 0, ITT, RTT FFFFFFFFh, CmdSN, ExpStatSN. */
function tmf(ini: TestInitiator, fn: number, itt: number): void {
  ini.send(pdu(bhsOf([[0, 0x02 | 0x40, 1], [1, 0x80 | fn, 1], [16, itt, 4], [20, 0xffffffff, 4], [24, ini.cmdSN, 4], [28, ini.expStatSN, 4]])));
}

/** The Task Management Function Response (22h) for `itt`: its Response field (byte 2). */
async function tmfResponse(ini: TestInitiator, itt: number): Promise<number> {
  return (await ini.next((p) => opcodeOf(p) === 0x22 && ittOf(p) === itt)).bhs[2] ?? -1;
}

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
