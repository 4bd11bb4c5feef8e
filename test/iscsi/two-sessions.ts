// The fixture of the many-session iSCSI tests (task-set, task-aborted-status,
// preempt-abort, tmf-data-out, cut-short): one target whose LUN runs on a
// backend that can hold READs at the device, logins that clear the power-on
// unit attention, Task Management Function Requests and Responses built from
// RFC 7143's tables (§11.5, §11.6), a WRITE held at its first R2T (§11.8), and
// a READ past unit attentions.

import { afterEach, expect } from 'vitest';
import { createStack, type Stack } from '../../src/stack.js';
import { MemoryBackend } from '../../src/virtio/device/backends/memory.js';
import { IscsiServer } from '../../src/iscsi/server.js';
import { TestInitiator, bhsOf, field32, ittOf, opcodeOf, pdu } from './initiator.js';
import { ProbeBackend } from '../stack/helpers.js';

export const BS = 512;
/** TEST UNIT READY. */
export const tur = new Uint8Array(6);
/** Task Management Function Response and R2T (§11.2.1.2). */
const TMF_RESPONSE = 0x22;
const R2T = 0x31;
/** READ (10) of one block at `lba` (< 256). */
export const read10 = (lba: number): Uint8Array => Uint8Array.of(0x28, 0, 0, 0, 0, lba, 0, 0, 1, 0);
const write10 = (lba: number, blocks: number): Uint8Array => Uint8Array.of(0x2a, 0, 0, 0, 0, lba, 0, 0, blocks, 0);

export interface SessionsTarget {
  readonly probe: ProbeBackend;
  /** While `on`, READs wait at the device (ProbeBackend.holdIf). */
  readonly held: { on: boolean };
  readonly stack: Stack;
  readonly server: IscsiServer;
  /**
   * A session with ISID `isid` (InitialR2T=Yes: a WRITE without immediate data
   * waits for an R2T's Data-Out), its power-on unit attention (29h/00h) seen
   * and cleared, so the next command is GOOD.
   */
  readonly login: (isid: bigint) => Promise<TestInitiator>;
  /** Closes every session, the server and the stack. */
  readonly close: () => Promise<void>;
}

/** A target `iqn` over a 2048-block memory disk whose unit has TAS `tas`. */
export async function sessionsTarget(iqn: string, tas: boolean): Promise<SessionsTarget> {
  const probe = new ProbeBackend(new MemoryBackend({ blocks: 2048, blockSize: BS }));
  const held = { on: false };
  probe.holdIf = (op) => held.on && op.kind === 'read';
  const stack = await createStack({ backend: probe, queueSize: 64, ...(tas ? { emulator: { taskAbortedStatus: true } } : {}) });
  const server = await IscsiServer.listen({ port: 0, targets: [{ name: iqn, luns: [{ lun: 0, pass: stack.pass(0) }] }] });
  const sessions: TestInitiator[] = [];
  return {
    probe,
    held,
    stack,
    server,
    login: async (isid) => {
      const ini = await TestInitiator.connect(server.address.port);
      sessions.push(ini);
      const status = (await ini.login(iqn, {}, isid)).bhs[36];
      if (status !== 0) throw new Error(`login refused: status class ${String(status)}`);
      const first = await senseOfTur(ini);
      if (first?.join() !== '6,41,0') throw new Error(`expected the power-on unit attention 06h/29h/00h, got ${String(first)}`);
      const next = await senseOfTur(ini);
      if (next !== undefined) throw new Error(`TEST UNIT READY after the power-on unit attention: ${next.join()}`);
      return ini;
    },
    close: async () => {
      for (const s of sessions) s.close();
      await server.close();
      await stack.close();
    },
  };
}

/**
 * For a test file: registers an afterEach that closes the target its test
 * opened, and returns the opener (TAS as given) for target `iqn`.
 */
export function sessionsTargets(iqn: string): (tas: boolean) => Promise<SessionsTarget> {
  let open: SessionsTarget | undefined;
  afterEach(async () => {
    await open?.close();
    open = undefined;
  });
  return async (tas) => {
    open = await sessionsTarget(iqn, tas);
    return open;
  };
}

/** TEST UNIT READY: undefined for GOOD, else the fixed sense's key, ASC, ASCQ (after the 2-byte SenseLength). */
export async function senseOfTur(ini: TestInitiator): Promise<number[] | undefined> {
  const r = await ini.result(ini.command({ cdb: tur, edtl: 0 }));
  if (r.status === 0) return undefined;
  if (r.status !== 2) throw new Error(`TEST UNIT READY: status ${r.status}, neither GOOD nor CHECK CONDITION`);
  const sense = r.response.data.subarray(2);
  return [sense[2] ?? -1, sense[12] ?? -1, sense[13] ?? -1];
}

/** Sends a Task Management Function Request (§11.5): immediate, F | function, LUN 0, ITT, RTT FFFFFFFFh, CmdSN, ExpStatSN. */
export function tmf(ini: TestInitiator, fn: number, itt: number): void {
  ini.send(pdu(bhsOf([[0, 0x02 | 0x40, 1], [1, 0x80 | fn, 1], [16, itt, 4], [20, 0xffffffff, 4], [24, ini.cmdSN, 4], [28, ini.expStatSN, 4]])));
}

/** The Task Management Function Response for `itt`: its Response field (byte 2). */
export async function tmfResponse(ini: TestInitiator, itt: number): Promise<number> {
  return (await ini.next((p) => opcodeOf(p) === TMF_RESPONSE && ittOf(p) === itt)).bhs[2] ?? -1;
}

/**
 * A WRITE (10) of `blocks` blocks at `lba` without immediate data, held at its first R2T, which asks for
 * `firstBurst` blocks (MaxBurstLength): the ITT and the R2T's Target Transfer Tag.
 */
export async function writeAwaitingData(ini: TestInitiator, lba: number, blocks = 1, firstBurst = blocks): Promise<{ itt: number; ttt: number }> {
  const itt = ini.command({ cdb: write10(lba, blocks), write: true, edtl: blocks * BS });
  const r2t = await ini.next((p) => opcodeOf(p) === R2T && ittOf(p) === itt);
  // R2T (§11.8): Buffer Offset at 40, Desired Data Transfer Length at 44.
  expect([field32(r2t, 40), field32(r2t, 44)]).toEqual([0, firstBurst * BS]);
  return { itt, ttt: field32(r2t, 20) };
}

/** READ (10) of one block through `ini`, past any unit attention. */
export async function readBlock(ini: TestInitiator, lba: number): Promise<Uint8Array> {
  for (let i = 0; i < 3; i++) {
    const r = await ini.result(ini.command({ cdb: read10(lba), read: true, edtl: BS }));
    if (r.status === 0) return r.data;
  }
  throw new Error(`READ of LBA ${lba} did not succeed`);
}
