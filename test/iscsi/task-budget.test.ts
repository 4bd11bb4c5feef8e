// ScsiTask and the target's Data-Out budget, without a network
// (data-out-budget.ts): a WRITE reserves its buffer before it makes it or
// sends an R2T (RFC 7143 §11.8); one the budget cannot hold waits, soliciting
// nothing and not going to the unit. One that brings unsolicited data
// (immediate data, §11.3; Data-Out with TTT FFFFFFFFh, §11.7.4) cannot wait,
// as that data comes anyway: without its buffer at once it keeps nothing and
// ends TASK SET FULL. However the task ends, its bytes go back, once.

import { describe, expect, it } from 'vitest';
import { ScsiTask } from '../../src/iscsi/task.js';
import { DataOutBudget, type DataOutAccount } from '../../src/iscsi/data-out-budget.js';
import type { TaskHooks, TaskLimits, TaskOutput } from '../../src/iscsi/task-types.js';
import type { LunCommand, LunPort, ScsiAnswer } from '../../src/iscsi/lun.js';
import type { DataOutPdu, ScsiCommandPdu } from '../../src/iscsi/pdu-types.js';
import { headerOf } from './task-harness.js';

const BS = 512;
/** One R2T may ask for a whole test command; InitialR2T=Yes. */
const LIMITS: TaskLimits = { initialR2T: true, immediateData: true, firstBurstLength: 64 * 1024, maxBurstLength: 64 * 1024, maxOutstandingR2T: 1, maxSendDataSegmentLength: 8192 };
/** The Target Transfer Tag of unsolicited Data-Out (§11.7.4). */
const UNSOLICITED = 0xffff_ffff;
const write10 = (blocks: number): Uint8Array => Uint8Array.of(0x2a, 0, 0, 0, 0, 9, 0, 0, blocks, 0);
const read10 = (blocks: number): Uint8Array => Uint8Array.of(0x28, 0, 0, 0, 0, 9, 0, 0, blocks, 0);
const pattern = (bytes: number, seed: number): Uint8Array => Uint8Array.from({ length: bytes }, (_, i) => (i * 7 + seed) & 0xff);

function writeCmd(itt: number, blocks: number, o: Partial<ScsiCommandPdu> = {}): ScsiCommandPdu {
  return { opcode: 1, immediate: false, itt, final: true, read: false, write: true, attr: 1, lun: 0n, cmdSN: 1, expStatSN: 1, cdb: write10(blocks), expectedDataTransferLength: blocks * BS, data: new Uint8Array(0), ...o };
}
const dataOut = (itt: number, o: { ttt: number; bufferOffset: number; data: Uint8Array; dataSN?: number; final?: boolean }): DataOutPdu => ({
  opcode: 5,
  immediate: false,
  itt,
  lun: 0n,
  expStatSN: 1,
  dataSN: o.dataSN ?? 0,
  final: o.final ?? true,
  ttt: o.ttt,
  bufferOffset: o.bufferOffset,
  data: o.data,
});

/** A LUN that records what it is given and answers when the test says (answer), or throws (fail). */
class HeldLun implements LunPort {
  readonly commands: { cmd: LunCommand; data: Uint8Array | undefined; aborted: boolean }[] = [];
  fail = false;
  start(cmd: LunCommand): { abort: () => void } {
    if (this.fail) throw new Error('the unit broke');
    const entry = { cmd, data: cmd.dataOutBuffer === undefined ? undefined : Uint8Array.from(cmd.dataOutBuffer), aborted: false };
    this.commands.push(entry);
    return {
      abort: () => {
        entry.aborted = true;
        queueMicrotask(() => {
          cmd.answered({ status: 0, aborted: true });
        });
      },
    };
  }
  answer(i: number, a: Partial<ScsiAnswer> = {}): void {
    this.commands[i]?.cmd.answered({ status: 0, aborted: false, ...a });
  }
}

function start(c: ScsiCommandPdu, lun: LunPort, budget: DataOutAccount | undefined, o: { limits?: TaskLimits; hooks?: Partial<TaskHooks> } = {}): { task: ScsiTask; out: TaskOutput[] } {
  const out: TaskOutput[] = [];
  const hooks: TaskHooks = { out: (x) => out.push(x), ...(budget === undefined ? {} : { dataOutBudget: budget }), ...o.hooks };
  const task = new ScsiTask(c, { blockSize: BS, maxCommandBytes: 2 ** 20 }, o.limits ?? LIMITS, lun, hooks);
  task.start();
  return { task, out };
}

function r2tAt(out: readonly TaskOutput[], i: number): { ttt: number; bufferOffset: number; length: number } {
  const r = out[i];
  if (r?.kind !== 'r2t') throw new Error(`expected an R2T at ${i}, got ${r?.kind ?? 'nothing'}`);
  return r;
}

function statusAt(out: readonly TaskOutput[], i: number): number {
  const r = out[i];
  if (r?.kind !== 'response') throw new Error(`expected a response at ${i}, got ${r?.kind ?? 'nothing'}`);
  return r.status;
}

const IDLE = { held: 0, waiting: 0, waitingBytes: 0 };

/**
 * A budget of 16 blocks, and a first WRITE of 16 blocks from another session that holds all of it, its R2T
 * out and not yet answered: what a second task reserves waits until `finishFirst` ends the first one.
 */
function fullBudget(lun: HeldLun): { budget: DataOutBudget; mine: DataOutAccount; finishFirst: () => Promise<void> } {
  const budget = new DataOutBudget(16 * BS);
  const first = start(writeCmd(1, 16), lun, budget.account());
  const r2t = r2tAt(first.out, 0);
  return {
    budget,
    mine: budget.account(),
    finishFirst: async () => {
      first.task.dataOut(dataOut(1, { ttt: r2t.ttt, bufferOffset: 0, data: new Uint8Array(16 * BS) }));
      lun.answer(lun.commands.findIndex((c) => c.cmd === first.task));
      await first.task.done;
    },
  };
}

describe('ScsiTask and the Data-Out budget', () => {
  it('a 4 KiB WRITE with immediate data is granted at once: counted while at the unit, given back with its status', async () => {
    const budget = new DataOutBudget(16 * BS);
    const lun = new HeldLun();
    const payload = pattern(8 * BS, 1);
    const { task, out } = start(writeCmd(7, 8, { data: payload }), lun, budget.account());
    expect(budget.state).toMatchObject({ held: 8 * BS, waiting: 0 });
    expect(lun.commands[0]?.data).toEqual(payload);
    lun.answer(0);
    await task.done;
    expect(statusAt(out, 0)).toBe(0);
    expect(budget.state).toMatchObject(IDLE);
  });

  it('a WRITE the budget cannot hold sends no R2T and does not go to the unit until another task ends; then it is solicited from offset 0', async () => {
    const lun = new HeldLun();
    const { budget, mine, finishFirst } = fullBudget(lun);
    const payload = pattern(4 * BS, 2);
    const { task, out } = start(writeCmd(7, 4), lun, mine);
    expect(out).toEqual([]);
    expect(budget.state).toMatchObject({ held: 16 * BS, waiting: 1, waitingBytes: 4 * BS });
    expect(task.dataComplete).toBe(false);
    await finishFirst();
    expect(budget.state).toMatchObject({ held: 4 * BS, waiting: 0 });
    expect(out).toEqual([{ kind: 'r2t', itt: 7, lun: 0n, r2tSN: 0, ttt: expect.any(Number) as number, bufferOffset: 0, length: 4 * BS }]);
    task.dataOut(dataOut(7, { ttt: r2tAt(out, 0).ttt, bufferOffset: 0, data: payload }));
    expect(lun.commands[1]?.data).toEqual(payload);
    lun.answer(1);
    await task.done;
    expect(statusAt(out, 1)).toBe(0);
    expect(budget.state).toMatchObject(IDLE);
  });

  it('a WRITE with immediate data the budget cannot hold now ends TASK SET FULL at once: nothing held, kept or waiting, no R2T, never at the unit', async () => {
    const lun = new HeldLun();
    const { budget, mine, finishFirst } = fullBudget(lun);
    const { task, out } = start(writeCmd(7, 4, { data: pattern(BS, 3) }), lun, mine);
    expect(out).toEqual([{ kind: 'response', itt: 7, lun: 0n, status: 0x28, residual: { overflow: false, underflow: true, count: 4 * BS }, sense: undefined, expDataSN: 0 }]);
    await task.done;
    expect(budget.state).toMatchObject({ held: 16 * BS, waiting: 0, waitingBytes: 0 });
    expect(mine.held).toBe(0);
    await finishFirst();
    expect(out).toHaveLength(1);
    expect(lun.commands).toHaveLength(1);
    expect(budget.state).toMatchObject(IDLE);
  });

  it('immediate data does not pass a reservation that waits: refused although its bytes fit; the one waiting keeps its place', async () => {
    const budget = new DataOutBudget(16 * BS);
    const lun = new HeldLun();
    start(writeCmd(1, 12), lun, budget.account());
    const waiting = start(writeCmd(2, 8), lun, budget.account());
    expect(budget.state).toMatchObject({ held: 12 * BS, waiting: 1, waitingBytes: 8 * BS });
    const { task, out } = start(writeCmd(3, 2, { data: pattern(2 * BS, 4) }), lun, budget.account());
    expect(statusAt(out, 0)).toBe(0x28);
    await task.done;
    expect(budget.state).toMatchObject({ held: 12 * BS, waiting: 1, waitingBytes: 8 * BS });
    expect(waiting.out).toEqual([]);
  });

  it('InitialR2T=No, refused: its unsolicited Data-Out is taken to the F bit and dropped, then TASK SET FULL', async () => {
    const lun = new HeldLun();
    const { budget, mine, finishFirst } = fullBudget(lun);
    const limits: TaskLimits = { ...LIMITS, initialR2T: false, firstBurstLength: 2 * BS };
    const { task, out } = start(writeCmd(7, 4, { final: false, data: pattern(BS, 5) }), lun, mine, { limits });
    expect(out).toEqual([]);
    expect(task.owesDataOut).toBe(true);
    expect(task.dataOut(dataOut(7, { ttt: UNSOLICITED, bufferOffset: BS, data: pattern(BS, 6) }))).toBeUndefined();
    expect(out.map((o) => o.kind)).toEqual(['response']);
    expect(statusAt(out, 0)).toBe(0x28);
    await task.done;
    expect(budget.state).toMatchObject({ held: 16 * BS, waiting: 0 });
    await finishFirst();
    expect(lun.commands).toHaveLength(1);
    expect(budget.state).toMatchObject(IDLE);
  });

  it.each([
    ['without a response', 'no-status', []],
    ['TASK ABORTED (another session aborted it, TAS 1)', 'task-aborted', ['response']],
  ] as const)('aborted while it waits: ends %s, leaves the queue, and is never granted', async (_name, end, kinds) => {
    const lun = new HeldLun();
    const { budget, mine, finishFirst } = fullBudget(lun);
    const { task, out } = start(writeCmd(7, 4), lun, mine);
    expect(budget.state).toMatchObject({ waiting: 1 });
    task.abort(end);
    await task.done;
    expect(budget.state).toMatchObject({ held: 16 * BS, waiting: 0, waitingBytes: 0 });
    await finishFirst();
    expect(out.map((o) => o.kind)).toEqual(kinds);
    expect(lun.commands).toHaveLength(1);
    expect(mine.held).toBe(0);
    expect(budget.state).toMatchObject(IDLE);
  });

  it('held by a task management function while it waits: nothing to wait for; a grant meanwhile sends no R2T; the abort gives the bytes back', async () => {
    const lun = new HeldLun();
    const { budget, mine, finishFirst } = fullBudget(lun);
    const { task, out } = start(writeCmd(7, 4), lun, mine);
    expect(task.beforeUnit).toBe(true);
    expect(task.hold()).toBeUndefined();
    await finishFirst();
    expect(budget.state).toMatchObject({ held: 4 * BS, waiting: 0 });
    expect(out).toEqual([]);
    task.abort();
    await task.done;
    expect(budget.state).toMatchObject(IDLE);
  });

  it('a READ takes nothing from the budget', async () => {
    const budget = new DataOutBudget(16 * BS);
    const lun = new HeldLun();
    const { task } = start({ ...writeCmd(7, 64), write: false, read: true, cdb: read10(64) }, lun, budget.account());
    expect(lun.commands).toHaveLength(1);
    expect(budget.state).toMatchObject(IDLE);
    lun.answer(0, { data: new Uint8Array(64 * BS) });
    await task.done;
    expect(budget.state).toMatchObject(IDLE);
  });
});

describe('every way a WRITE ends gives its bytes back', () => {
  /** Drives a granted four-block WRITE (ITT 7, its R2T out) to one of its ends. */
  const ends: readonly (readonly [string, (t: { task: ScsiTask; out: TaskOutput[]; lun: HeldLun }) => void | Promise<void>])[] = [
    ['GOOD', ({ task, out, lun }) => {
      task.dataOut(dataOut(7, { ttt: r2tAt(out, 0).ttt, bufferOffset: 0, data: new Uint8Array(4 * BS) }));
      lun.answer(0);
    }],
    ['CHECK CONDITION from the unit', ({ task, out, lun }) => {
      task.dataOut(dataOut(7, { ttt: r2tAt(out, 0).ttt, bufferOffset: 0, data: new Uint8Array(4 * BS) }));
      lun.answer(0, { status: 2, sense: new Uint8Array(18) });
    }],
    ['DATA PHASE ERROR (a Data-Out at the wrong offset)', ({ task, out }) => {
      task.dataOut(dataOut(7, { ttt: r2tAt(out, 0).ttt, bufferOffset: BS, data: new Uint8Array(BS) }));
    }],
    ['PROTOCOL SERVICE CRC ERROR (a data digest error)', ({ task, out }) => {
      task.dataDiscarded(headerOf(dataOut(7, { ttt: r2tAt(out, 0).ttt, bufferOffset: 0, data: new Uint8Array(4 * BS) })), 'data-digest');
    }],
    ['aborted with its R2T outstanding', ({ task }) => {
      task.abort();
    }],
    ['aborted at the unit', ({ task, out }) => {
      task.dataOut(dataOut(7, { ttt: r2tAt(out, 0).ttt, bufferOffset: 0, data: new Uint8Array(4 * BS) }));
      task.abort();
    }],
    ['a fault of the unit (INTERNAL TARGET FAILURE)', ({ task, out, lun }) => {
      lun.fail = true;
      task.dataOut(dataOut(7, { ttt: r2tAt(out, 0).ttt, bufferOffset: 0, data: new Uint8Array(4 * BS) }));
    }],
  ];

  it.each(ends)('%s', async (_name, end) => {
    const budget = new DataOutBudget(16 * BS);
    const account = budget.account();
    const lun = new HeldLun();
    const { task, out } = start(writeCmd(7, 4), lun, account, { hooks: { onFault: () => undefined } });
    expect(budget.state).toMatchObject({ held: 4 * BS });
    await end({ task, out, lun });
    await task.done;
    expect(budget.state).toMatchObject(IDLE);
    expect(account.held).toBe(0);
    // Once only: a second end (an abort after the status) gives nothing back again, nor throws.
    task.abort();
    expect(budget.state).toMatchObject(IDLE);
  });

  it('a status that cannot be sent (the connection failing under it): the task ends all the same, its bytes back', async () => {
    const budget = new DataOutBudget(16 * BS);
    const lun = new HeldLun();
    const faults: unknown[] = [];
    const out: TaskOutput[] = [];
    const task = new ScsiTask(writeCmd(7, 4), { blockSize: BS, maxCommandBytes: 2 ** 20 }, LIMITS, lun, {
      out: (o) => {
        if (o.kind === 'response') throw new Error('socket gone');
        out.push(o);
      },
      onFault: (e) => faults.push(e),
      dataOutBudget: budget.account(),
    });
    task.start();
    task.dataOut(dataOut(7, { ttt: r2tAt(out, 0).ttt, bufferOffset: 0, data: new Uint8Array(4 * BS) }));
    lun.answer(0);
    await task.done;
    expect(faults).toHaveLength(1);
    expect(budget.state).toMatchObject(IDLE);
  });
});
