// A Session's commands held for an earlier CmdSN (RFC 7143 §4.2.2.1) and
// their unsolicited Data-Out, without a network. With InitialR2T=No a WRITE
// whose command PDU is not final is followed at once by Data-Out with TTT
// FFFFFFFFh (§3.2.4.2, §11.7.4), which carries no CmdSN: it belongs to the
// command whether that has had its turn or not. Kept in the buffer the
// command took from the Data-Out budget as it came, or, the budget having
// refused it, followed to its F bit and dropped (TASK SET FULL); a Data-Out
// that breaks its sequence ends the command DATA PHASE ERROR in its turn. The
// `vtcam serve` target never negotiates InitialR2T=No, so this is where these
// branches are exercised.

import { describe, expect, it } from 'vitest';
import { Session } from '../../src/iscsi/session.js';
import { DataOutBudget } from '../../src/iscsi/data-out-budget.js';
import type { SessionOutput } from '../../src/iscsi/session-types.js';
import type { TaskLimits } from '../../src/iscsi/task-types.js';
import type { LunCommand, LunPort } from '../../src/iscsi/lun.js';
import type { DataOutPdu, ScsiCommandPdu } from '../../src/iscsi/pdu-types.js';
import { sessionOn } from './session-harness.js';

const BS = 512;
const LIMITS: TaskLimits = { initialR2T: false, immediateData: true, firstBurstLength: 64 * 1024, maxBurstLength: 64 * 1024, maxOutstandingR2T: 1, maxSendDataSegmentLength: 8192 };
const UNSOLICITED = 0xffff_ffff;
/** SCSI statuses (SAM-5): GOOD, CHECK CONDITION, TASK SET FULL. */
const GOOD = 0;
const CHECK_CONDITION = 2;
const TASK_SET_FULL = 0x28;
const pattern = (bytes: number, seed: number): Uint8Array => Uint8Array.from({ length: bytes }, (_, i) => (i * 5 + seed) & 0xff);

/** A session on a unit that answers every command GOOD at once, recording the Data-Out each WRITE brought. */
function session(budgetBytes: number): { s: Session; budget: DataOutBudget; out: SessionOutput[]; written: Map<number, Uint8Array> } {
  const written = new Map<number, Uint8Array>();
  const port: LunPort = {
    start(cmd: LunCommand) {
      if (cmd.dataOutBuffer !== undefined) written.set(cmd.cdb[5] ?? -1, Uint8Array.from(cmd.dataOutBuffer));
      cmd.answered({ status: GOOD, aborted: false });
      return { abort: () => undefined };
    },
  };
  const { s, budget, out } = sessionOn(port, { limits: LIMITS, budgetBytes });
  if (budget === undefined) throw new Error('the rig was given a budget');
  return { s, budget, out, written };
}

/** WRITE (10) of 2 blocks at LBA `lba` (< 256), CmdSN `cmdSN`, its first block immediate, F 0: the second to come as unsolicited Data-Out. */
const write = (itt: number, lba: number, cmdSN: number): ScsiCommandPdu => ({
  opcode: 1,
  immediate: false,
  itt,
  final: false,
  read: false,
  write: true,
  attr: 1,
  lun: 0n,
  cmdSN,
  expStatSN: 1,
  cdb: Uint8Array.of(0x2a, 0, 0, 0, 0, lba, 0, 0, 2, 0),
  expectedDataTransferLength: 2 * BS,
  data: pattern(BS, lba),
});
/** The second block of `write(itt, lba, …)`: unsolicited Data-Out, DataSN `dataSN`, F 1. */
const second = (itt: number, lba: number, dataSN = 0): DataOutPdu => ({ opcode: 5, immediate: false, itt, lun: 0n, expStatSN: 1, ttt: UNSOLICITED, dataSN, bufferOffset: BS, final: true, data: pattern(BS, lba + 1) });
/** TEST UNIT READY, CmdSN `cmdSN`. */
const tur = (itt: number, cmdSN: number): ScsiCommandPdu => ({ ...write(itt, 0, cmdSN), final: true, write: false, cdb: new Uint8Array(6), expectedDataTransferLength: 0, data: new Uint8Array(0) });

const statusOf = (out: readonly SessionOutput[], itt: number): number | undefined => {
  const r = out.find((o) => o.kind === 'response' && o.itt === itt);
  return r?.kind === 'response' ? r.status : undefined;
};
const joined = (lba: number): Uint8Array => Uint8Array.of(...pattern(BS, lba), ...pattern(BS, lba + 1));

describe('Session: unsolicited Data-Out of a command waiting for an earlier CmdSN', () => {
  it('is the command’s: kept in the buffer it took as it came, and written once the gap is filled', () => {
    const { s, budget, out, written } = session(64 * 1024);
    expect(s.command(write(7, 10, 2))).toBeUndefined();
    expect(s.dataOut(second(7, 10))).toBeUndefined();
    expect(budget.state.held).toBe(2 * BS);
    expect(out).toEqual([]);
    expect(s.command(tur(8, 1))).toBeUndefined();
    expect([statusOf(out, 8), statusOf(out, 7)]).toEqual([GOOD, GOOD]);
    expect(written.get(10)).toEqual(joined(10));
    expect(budget.state.held).toBe(0);
  });

  it('one the budget refused follows it to its F bit, keeping nothing, and ends TASK SET FULL in its turn', () => {
    // The session's half holds one command: the second WRITE held is refused.
    const { s, budget, out, written } = session(4 * BS);
    s.command(write(7, 10, 2));
    s.command(write(9, 20, 3));
    expect(budget.state.held).toBe(2 * BS);
    expect(s.dataOut(second(9, 20))).toBeUndefined();
    expect(s.dataOut(second(7, 10))).toBeUndefined();
    s.command(tur(8, 1));
    expect([statusOf(out, 8), statusOf(out, 7), statusOf(out, 9)]).toEqual([GOOD, GOOD, TASK_SET_FULL]);
    expect([...written.keys()]).toEqual([10]);
    expect(budget.state.held).toBe(0);
  });

  it('one that breaks its sequence (DataSN 1 first, §11.7.5) ends CHECK CONDITION, DATA PHASE ERROR (4Bh/00h), in its turn, writing nothing', () => {
    const { s, budget, out, written } = session(64 * 1024);
    s.command(write(7, 10, 2));
    expect(s.dataOut(second(7, 10, 1))).toBeUndefined();
    expect(out).toEqual([]);
    s.command(tur(8, 1));
    const r = out.find((o) => o.kind === 'response' && o.itt === 7);
    expect(r?.kind === 'response' ? [r.status, r.sense?.[2], r.sense?.[12], r.sense?.[13]] : undefined).toEqual([CHECK_CONDITION, 0x0b, 0x4b, 0x00]);
    expect(written.size).toBe(0);
    expect(budget.state.held).toBe(0);
    // The session goes on: the same ITT, in order, runs.
    s.command(write(7, 30, 3));
    s.dataOut(second(7, 30));
    expect(written.get(30)).toEqual(joined(30));
  });
});
