// ScsiTask and a port that does not admit it at once (LunPort.admit, the
// gate a PERSISTENT RESERVE OUT PREEMPT AND ABORT closes, preempt-gate.ts),
// without a network: a task whose data is in waits short of the unit and
// counts as not there (what the target aborts itself); it goes when
// admitted; aborted meanwhile it is withdrawn and never reaches the unit;
// held by a task management function meanwhile it is not executed when
// admitted (RFC 7143 §4.2.3.3).

import { describe, expect, it } from 'vitest';
import { ScsiTask } from '../../src/iscsi/task.js';
import type { TaskLimits, TaskOutput } from '../../src/iscsi/task-types.js';
import type { LunAdmittable, LunCommand, LunPort } from '../../src/iscsi/lun.js';
import type { ScsiCommandPdu } from '../../src/iscsi/pdu-types.js';

const BS = 512;
const LIMITS: TaskLimits = { initialR2T: false, immediateData: true, firstBurstLength: BS, maxBurstLength: BS, maxOutstandingR2T: 1, maxSendDataSegmentLength: 8192 };
/** WRITE (10) of one block at LBA 9, its data as immediate data: complete on arrival. */
const WRITE: ScsiCommandPdu = {
  opcode: 1,
  immediate: false,
  itt: 7,
  final: true,
  read: false,
  write: true,
  attr: 1,
  lun: 0n,
  cmdSN: 1,
  expStatSN: 1,
  cdb: Uint8Array.of(0x2a, 0, 0, 0, 0, 9, 0, 0, 1, 0),
  expectedDataTransferLength: BS,
  data: new Uint8Array(BS).fill(0xdd),
};

/** A port that admits nothing until go() opens it; counts starts and withdrawals; answers GOOD at once. */
function closedPort(): LunPort & { started: number; withdrawn: number; go: () => void } {
  let open = false;
  let waiting = (): void => undefined;
  const port = {
    started: 0,
    withdrawn: 0,
    go: (): void => {
      open = true;
      waiting();
    },
    admit: (cmd: LunAdmittable) => {
      if (open) return undefined;
      waiting = () => {
        cmd.admitted();
      };
      return () => {
        port.withdrawn++;
      };
    },
    start: (c: LunCommand) => {
      port.started++;
      c.answered({ status: 0, aborted: false });
      return { abort: () => undefined };
    },
  };
  return port;
}

function run(port: LunPort): { task: ScsiTask; out: TaskOutput[] } {
  const out: TaskOutput[] = [];
  const task = new ScsiTask(WRITE, { blockSize: BS, maxCommandBytes: 2 ** 20 }, LIMITS, port, { out: (o) => out.push(o) });
  task.start();
  return { task, out };
}

describe('ScsiTask and LunPort.admit', () => {
  it('waits, not at the unit, until admitted; then runs and answers', async () => {
    const port = closedPort();
    const { task, out } = run(port);
    expect({ started: port.started, beforeUnit: task.beforeUnit, out: out.length }).toEqual({ started: 0, beforeUnit: true, out: 0 });
    port.go();
    await task.done;
    expect({ started: port.started, withdrawn: port.withdrawn, out: out.map((o) => [o.kind, o.kind === 'response' ? o.status : -1]) }).toEqual({ started: 1, withdrawn: 0, out: [['response', 0]] });
  });

  it.each([
    ['no-status', []],
    ['task-aborted', [['response', 0x40]]],
  ] as const)('aborted while waiting (%s): withdrawn, ends as its abort says, never reaches the unit, even if admitted later', async (end, answers) => {
    const port = closedPort();
    const { task, out } = run(port);
    task.abort(end);
    await task.done;
    port.go();
    expect({ started: port.started, withdrawn: port.withdrawn, beforeUnit: task.beforeUnit }).toEqual({ started: 0, withdrawn: 1, beforeUnit: false });
    expect(out.map((o) => [o.kind, o.kind === 'response' ? o.status : -1])).toEqual(answers);
  });

  it('held while waiting (a task management function will abort it): nothing is owed, and admitted it is still not executed', () => {
    const port = closedPort();
    const { task } = run(port);
    expect(task.hold()).toBeUndefined();
    port.go();
    expect({ started: port.started, beforeUnit: task.beforeUnit }).toEqual({ started: 0, beforeUnit: true });
    task.abort();
    expect({ started: port.started, withdrawn: port.withdrawn, beforeUnit: task.beforeUnit }).toEqual({ started: 0, withdrawn: 0, beforeUnit: false });
  });
});
