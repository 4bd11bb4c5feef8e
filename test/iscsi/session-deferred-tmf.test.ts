// A Session's commands held back behind a task-set function (session.ts
// #fences) and the task management that ends them, without a network: what
// the session counts for them is given back once. A held non-immediate
// command fills the command window as a running one does (MaxCmdSN, RFC 7143
// §4.2.2.1); an immediate one takes no CmdSN, so no room (§3.2.2.1). Ended by
// ABORT TASK or by a function sent after it (§11.5.1, §4.2.3), neither is
// ever started nor answered, MaxCmdSN opens by exactly the room they took,
// activeTasks and the Data-Out budget come back to idle, and a later command
// runs. tmf-deferred.test.ts has the same over TCP.

import { describe, expect, it } from 'vitest';
import { Session } from '../../src/iscsi/session.js';
import { DataOutBudget } from '../../src/iscsi/data-out-budget.js';
import type { SessionOutput } from '../../src/iscsi/session-types.js';
import type { TaskLimits } from '../../src/iscsi/task-types.js';
import type { LunCommand, LunPort } from '../../src/iscsi/lun.js';
import type { ScsiCommandPdu, TaskMgmtRequestPdu } from '../../src/iscsi/pdu-types.js';
import { sessionOn } from './session-harness.js';

const BS = 512;
const DEPTH = 8;
const LIMITS: TaskLimits = { initialR2T: true, immediateData: true, firstBurstLength: 64 * 1024, maxBurstLength: 64 * 1024, maxOutstandingR2T: 1, maxSendDataSegmentLength: 8192 };
/** Task Management Function Request functions (§11.5.1). */
const ABORT_TASK = 1;
const ABORT_TASK_SET = 2;
const LOGICAL_UNIT_RESET = 5;

/** A session of depth DEPTH from CmdSN 1 on a unit that answers every command GOOD at once, counting those it ran. */
function session(): { s: Session; budget: DataOutBudget; out: SessionOutput[]; ran: number[] } {
  const ran: number[] = [];
  const port: LunPort = {
    start(cmd: LunCommand) {
      ran.push(cmd.cdb[0] ?? -1);
      cmd.answered({ status: 0, aborted: false });
      return { abort: () => undefined };
    },
  };
  const { s, budget, out } = sessionOn(port, { limits: LIMITS, depth: DEPTH, budgetBytes: 1024 * 1024 });
  if (budget === undefined) throw new Error('the rig was given a budget');
  return { s, budget, out, ran };
}

/** READ (10) of one block, CmdSN `cmdSN`. */
const read = (itt: number, cmdSN: number, immediate = false): ScsiCommandPdu => ({
  opcode: 1,
  immediate,
  itt,
  final: true,
  read: true,
  write: false,
  attr: 1,
  lun: 0n,
  cmdSN,
  expStatSN: 1,
  cdb: Uint8Array.of(0x28, 0, 0, 0, 0, 0, 0, 0, 1, 0),
  expectedDataTransferLength: BS,
  data: new Uint8Array(0),
});
/** WRITE (10) of one block, CmdSN `cmdSN`: its block as immediate data, or none (then an R2T asks for it). */
const write = (itt: number, cmdSN: number, immediateData: boolean): ScsiCommandPdu => ({
  ...read(itt, cmdSN),
  read: false,
  write: true,
  cdb: Uint8Array.of(0x2a, 0, 0, 0, 0, 0, 0, 0, 1, 0),
  data: immediateData ? new Uint8Array(BS).fill(0xcd) : new Uint8Array(0),
});
/** An immediate Task Management Function Request on LUN 0 (§11.5); `ref` names the task ABORT TASK aborts. */
const tmf = (fn: number, itt: number, cmdSN: number, ref?: { itt: number; cmdSN: number }): TaskMgmtRequestPdu => ({
  opcode: 2,
  immediate: true,
  itt,
  function: fn,
  lun: 0n,
  referencedTaskTag: ref?.itt ?? 0xffff_ffff,
  cmdSN,
  expStatSN: 1,
  refCmdSN: ref?.cmdSN ?? 0,
  expDataSN: 0,
});

/** The Response field of the Task Management Function Response for `itt`, once the function has answered. */
async function tmfResponse(out: readonly SessionOutput[], itt: number): Promise<number> {
  for (let turn = 0; turn < 50; turn++) {
    const r = out.find((o) => o.kind === 'tmf-response' && o.itt === itt);
    if (r?.kind === 'tmf-response') return r.response;
    await new Promise((resolve) => setImmediate(resolve));
  }
  throw new Error(`no Task Management Function Response for ITT ${itt}`);
}

/** The ITTs the session sent a status for (SCSI Response, or Data-In with status). */
const answered = (out: readonly SessionOutput[]): number[] => out.filter((o) => o.kind === 'response' || (o.kind === 'data-in' && o.status !== undefined)).map((o) => ('itt' in o ? o.itt : -1));

describe('Session: commands held back behind ABORT TASK SET and the task management that ends them', () => {
  it('ABORT TASK of a held READ and of a held immediate READ, then LOGICAL UNIT RESET over a held WRITE: none runs or is answered; the window, activeTasks and the budget come back to idle', async () => {
    const { s, budget, out, ran } = session();
    // A WRITE waiting for the Data-Out its R2T asked for: ABORT TASK SET waits for that.
    expect(s.command(write(1, 1, false))).toBeUndefined();
    const r2t = out.find((o) => o.kind === 'r2t');
    if (r2t?.kind !== 'r2t') throw new Error('no R2T for the WRITE');
    s.taskManagement(tmf(ABORT_TASK_SET, 100, 2));
    expect(s.command(read(2, 2))).toBeUndefined();
    expect(s.command(read(3, 3, true))).toBeUndefined();
    expect(s.command(write(4, 3, true))).toBeUndefined();
    // Three in the window (CmdSN 1, 2, 3), the immediate READ outside it; only the first WRITE started.
    expect([s.expCmdSN, s.maxCmdSN, s.activeTasks]).toEqual([4, 4 + DEPTH - 3 - 1, 1]);
    expect(budget.state.held).toBe(2 * BS);

    s.taskManagement(tmf(ABORT_TASK, 101, 4, { itt: 2, cmdSN: 2 }));
    expect(await tmfResponse(out, 101)).toBe(0);
    expect(s.maxCmdSN).toBe(4 + DEPTH - 2 - 1);
    s.taskManagement(tmf(ABORT_TASK, 102, 4, { itt: 3, cmdSN: 4 }));
    expect(await tmfResponse(out, 102)).toBe(0);
    expect(s.maxCmdSN).toBe(4 + DEPTH - 2 - 1);
    // Aborted, they exist no more: a second ABORT TASK finds nothing (RefCmdSN 2 is below ExpCmdSN).
    s.taskManagement(tmf(ABORT_TASK, 103, 4, { itt: 2, cmdSN: 2 }));
    expect(await tmfResponse(out, 103)).toBe(1);

    s.taskManagement(tmf(LOGICAL_UNIT_RESET, 104, 4));
    expect(s.dataOut({ opcode: 5, immediate: false, itt: 1, lun: 0n, expStatSN: 1, ttt: r2t.ttt, dataSN: 0, bufferOffset: 0, final: true, data: new Uint8Array(BS) })).toBeUndefined();
    expect([await tmfResponse(out, 100), await tmfResponse(out, 104)]).toEqual([0, 0]);
    expect(answered(out)).toEqual([]);
    expect(ran).toEqual([]);
    expect([s.expCmdSN, s.maxCmdSN, s.activeTasks]).toEqual([4, 4 + DEPTH - 1, 0]);
    expect(budget.state.held).toBe(0);

    // The session goes on: the next command runs and is answered.
    s.command(read(5, 4));
    expect(answered(out)).toEqual([5]);
    expect(ran).toEqual([0x28]);
    expect(s.maxCmdSN).toBe(5 + DEPTH - 1);
  });
});
