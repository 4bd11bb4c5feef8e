// ScsiTask under task management, without a network: hold() (RFC 7143
// §4.2.3.3, a function that will abort the task waits for the Data-Out
// answering its outstanding R2Ts first), the Data-Out an ended task still owed
// (onDataOwed), and the preempted nexuses a PERSISTENT RESERVE OUT's answer
// names (onPreempted), told before its status goes out.

import { describe, expect, it } from 'vitest';
import { ScsiTask } from '../../src/iscsi/task.js';
import type { TaskHooks, TaskLimits, TaskOutput } from '../../src/iscsi/task-types.js';
import type { LunCommand, LunPort, ScsiAnswer } from '../../src/iscsi/lun.js';
import { RESERVED_TAG, type ScsiCommandPdu } from '../../src/iscsi/pdu-types.js';
import { cmd, dataOut, runTask, tttAt } from './task-harness.js';

const BS = 512;
/** Bursts of two blocks, one R2T outstanding at a time. */
const LIMITS: TaskLimits = { initialR2T: true, immediateData: true, firstBurstLength: 2 * BS, maxBurstLength: 2 * BS, maxOutstandingR2T: 1, maxSendDataSegmentLength: 8192 };
const write10 = (blocks: number): Uint8Array => Uint8Array.of(0x2a, 0, 0, 0, 0, 9, 0, 0, blocks, 0);


/** A LUN that records the commands it was given and answers each with `answer`, a turn later. */
function recordingLun(answer: ScsiAnswer = { status: 0, aborted: false }): LunPort & { started: number } {
  const lun = {
    started: 0,
    start: (c: LunCommand) => {
      lun.started++;
      queueMicrotask(() => {
        c.answered(answer);
      });
      return { abort: () => undefined };
    },
  };
  return lun;
}

const run = (c: ScsiCommandPdu, lun: LunPort, hooks: Partial<TaskHooks> = {}, limits = LIMITS): ReturnType<typeof runTask> => runTask(c, lun, limits, hooks);


/** Whether `p` has settled by the end of this turn's microtasks. */
async function settled(p: Promise<void> | undefined): Promise<boolean> {
  if (p === undefined) return true;
  let done = false;
  void p.then(() => (done = true));
  await new Promise((r) => setImmediate(r));
  return done;
}

describe('ScsiTask.hold', () => {
  it('settles once the outstanding R2T is answered up to its F bit; no further R2T; the task never reaches the unit and ends without a response when aborted', async () => {
    const lun = recordingLun();
    const { task, out } = run(cmd({ cdb: write10(3), expectedDataTransferLength: 3 * BS }), lun);
    const ttt = tttAt(out, 0);
    const held = task.hold();
    expect(held).toBeDefined();
    expect(task.beforeUnit).toBe(true);
    expect(task.dataOut(dataOut({ ttt, dataSN: 0, bufferOffset: 0, final: false }))).toBeUndefined();
    expect(await settled(held)).toBe(false);
    expect(task.dataOut(dataOut({ ttt, dataSN: 1, bufferOffset: BS, final: true }))).toBeUndefined();
    expect(await settled(held)).toBe(true);
    expect(out).toHaveLength(1);
    task.abort();
    await task.done;
    expect({ started: lun.started, out: out.length }).toEqual({ started: 0, out: 1 });
  });

  it('a task whose data comes in full while held is not executed', async () => {
    const lun = recordingLun();
    const { task, out } = run(cmd({ cdb: write10(2), expectedDataTransferLength: 2 * BS }), lun);
    const held = task.hold();
    task.dataOut(dataOut({ ttt: tttAt(out, 0), dataSN: 0, bufferOffset: 0, final: true, bytes: 2 * BS }));
    expect(await settled(held)).toBe(true);
    expect(task.dataComplete).toBe(true);
    expect(task.beforeUnit).toBe(true);
    expect(lun.started).toBe(0);
  });

  it('nothing outstanding: undefined, and the task is held all the same (its unsolicited data completes it, it does not run)', async () => {
    const lun = recordingLun();
    const { task } = run(cmd({ cdb: write10(1), expectedDataTransferLength: BS, final: false }), lun, {}, { ...LIMITS, initialR2T: false });
    expect(task.hold()).toBeUndefined();
    task.dataOut(dataOut({ ttt: RESERVED_TAG, dataSN: 0, bufferOffset: 0, final: true }));
    await new Promise((r) => setImmediate(r));
    expect({ dataComplete: task.dataComplete, started: lun.started }).toEqual({ dataComplete: true, started: 0 });
  });

  it('a task at the unit, or ended, is not held', async () => {
    const lun = recordingLun();
    const { task, out } = run(cmd({ cdb: write10(2), expectedDataTransferLength: 2 * BS, data: new Uint8Array(2 * BS), final: true }), lun);
    expect(task.beforeUnit).toBe(false);
    expect(task.hold()).toBeUndefined();
    await task.done;
    expect(out.map((o) => o.kind)).toEqual(['response']);
    expect(task.hold()).toBeUndefined();
  });

  it('a Data-Out that breaks the sequence ends a held task without a response (its session is aborting it); the hold settles', async () => {
    const { task, out } = run(cmd({ cdb: write10(2), expectedDataTransferLength: 2 * BS }), recordingLun());
    const held = task.hold();
    expect(task.dataOut(dataOut({ ttt: tttAt(out, 0), dataSN: 5, bufferOffset: 0, final: false }))).toBe('bad-datasn');
    expect(await settled(held)).toBe(true);
    await task.done;
    expect(out.map((o) => o.kind)).toEqual(['r2t']);
  });

  it('the connection ending (abort) settles the hold', async () => {
    const { task } = run(cmd({ cdb: write10(2), expectedDataTransferLength: 2 * BS }), recordingLun());
    const held = task.hold();
    task.abort();
    expect(await settled(held)).toBe(true);
  });
});

describe('ScsiTask: onDataOwed', () => {
  it('an aborted task names the sequences still open: its outstanding R2Ts and its unsolicited data', () => {
    const owed: (readonly number[])[] = [];
    const { task, out } = run(cmd({ cdb: write10(4), expectedDataTransferLength: 4 * BS, final: false }), recordingLun(), { onDataOwed: (t) => owed.push(t) }, { ...LIMITS, initialR2T: false, firstBurstLength: BS, maxOutstandingR2T: 2 });
    task.abort();
    expect(owed).toEqual([[tttAt(out, 0), tttAt(out, 1), RESERVED_TAG]]);
  });

  it('a task that ends with its data all in owes nothing', async () => {
    const owed: (readonly number[])[] = [];
    const { task, out } = run(cmd({ cdb: write10(2), expectedDataTransferLength: 2 * BS }), recordingLun(), { onDataOwed: (t) => owed.push(t) });
    task.dataOut(dataOut({ ttt: tttAt(out, 0), dataSN: 0, bufferOffset: 0, final: true, bytes: 2 * BS }));
    await task.done;
    expect(owed).toEqual([]);
  });
});

describe('ScsiTask: onPreempted', () => {
  it('told before the GOOD status goes out, while the task still counts as at the unit', async () => {
    const seen: unknown[] = [];
    const out: TaskOutput[] = [];
    const lun = recordingLun({ status: 0, aborted: false, preempted: ['iqn.x,i,0x000000000002'] });
    const task: ScsiTask = new ScsiTask(cmd({ cdb: Uint8Array.of(0x5f, 5, 1, 0, 0, 0, 0, 0, 24, 0), expectedDataTransferLength: 24, data: new Uint8Array(24) }), { blockSize: BS, maxCommandBytes: 2 ** 20 }, LIMITS, lun, {
      out: (o) => out.push(o),
      onPreempted: (n) => seen.push({ nexuses: n, responses: out.length, beforeUnit: task.beforeUnit }),
    });
    task.start();
    await task.done;
    expect(seen).toEqual([{ nexuses: ['iqn.x,i,0x000000000002'], responses: 0, beforeUnit: false }]);
    expect(out.map((o) => (o.kind === 'response' ? o.status : o.kind))).toEqual([0]);
  });

  it('a hook that throws is reported and the command still gets its status', async () => {
    const faults: unknown[] = [];
    const boom = new Error('boom');
    const { task, out } = run(cmd({ cdb: Uint8Array.of(0x5f, 5, 1, 0, 0, 0, 0, 0, 24, 0), expectedDataTransferLength: 24, data: new Uint8Array(24) }), recordingLun({ status: 0, aborted: false, preempted: ['n'] }), {
      onPreempted: () => {
        throw boom;
      },
      onFault: (e) => faults.push(e),
    });
    await task.done;
    expect(faults).toEqual([boom]);
    expect(out.map((o) => o.kind)).toEqual(['response']);
  });

  it('an aborted answer naming preempted nexuses tells them (the preemption stands), while at the unit, and sends no response', async () => {
    const seen: unknown[] = [];
    const { task, out } = run(cmd({ cdb: Uint8Array.of(0x5f, 5, 1, 0, 0, 0, 0, 0, 24, 0), expectedDataTransferLength: 24, data: new Uint8Array(24) }), recordingLun({ status: 0x40, aborted: true, preempted: ['n'] }), {
      onPreempted: (n) => seen.push({ nexuses: n, beforeUnit: task.beforeUnit }),
    });
    await task.done;
    expect(seen).toEqual([{ nexuses: ['n'], beforeUnit: false }]);
    expect(out).toEqual([]);
  });

  it('a task its sender aborted at the unit tells the preempted nexuses its unit’s answer names, and ends without a response', async () => {
    const seen: unknown[] = [];
    let answer: (a: ScsiAnswer) => void = () => undefined;
    let aborts = 0;
    const lun: LunPort = {
      start: (c) => {
        answer = (a) => {
          c.answered(a);
        };
        return {
          abort: () => {
            aborts++;
          },
        };
      },
    };
    const { task, out } = run(cmd({ cdb: Uint8Array.of(0x5f, 5, 1, 0, 0, 0, 0, 0, 24, 0), expectedDataTransferLength: 24, data: new Uint8Array(24) }), lun, { onPreempted: (n) => seen.push(n) });
    task.abort();
    expect(aborts).toBe(1);
    answer({ status: 0x40, aborted: true, preempted: ['n'] });
    await task.done;
    expect(seen).toEqual([['n']]);
    expect(out).toEqual([]);
  });

  it('an answer without preempted nexuses tells nothing', async () => {
    const seen: unknown[] = [];
    const a = run(cmd({ cdb: Uint8Array.of(0x5f, 5, 1, 0, 0, 0, 0, 0, 24, 0), expectedDataTransferLength: 24, data: new Uint8Array(24) }), recordingLun({ status: 0x40, aborted: true }), { onPreempted: (n) => seen.push(n) });
    const b = run(cmd({ cdb: write10(1), expectedDataTransferLength: BS, data: new Uint8Array(BS) }), recordingLun(), { onPreempted: (n) => seen.push(n) });
    await Promise.all([a.task.done, b.task.done]);
    expect(seen).toEqual([]);
  });
});
