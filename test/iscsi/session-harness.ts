// Session without a network, for the session-level tests: one LUN (0) on a
// LUN port the test gives, a host with no other sessions, what the session
// sends collected, and the connection drops it asks for recorded.

import { Session } from '../../src/iscsi/session.js';
import { DataOutBudget } from '../../src/iscsi/data-out-budget.js';
import type { SessionHost, SessionLun, SessionOutput } from '../../src/iscsi/session-types.js';
import type { TaskLimits } from '../../src/iscsi/task-types.js';
import type { LunPort } from '../../src/iscsi/lun.js';

export interface SessionRig {
  readonly s: Session;
  /** The target's Data-Out budget, when the rig was given one. */
  readonly budget: DataOutBudget | undefined;
  readonly out: SessionOutput[];
  readonly drops: string[];
}

/**
 * A session of depth `depth` (default 8) from CmdSN 1 on LUN 0 served by `port` (512-byte blocks, 1 MiB per
 * command, TAS 0), with `limits`, a Data-Out budget of `budgetBytes` (none: unbounded) and a Data-Out
 * watchdog of `dataOutTimeoutMs` (default 1 s).
 */
export function sessionOn(port: LunPort, o: { readonly limits: TaskLimits; readonly depth?: number; readonly budgetBytes?: number; readonly dataOutTimeoutMs?: number }): SessionRig {
  const done = (): Promise<void> => Promise.resolve();
  const unit: SessionLun = { port, blockSize: 512, maxCommandBytes: 2 ** 20, taskAbortedStatus: false, reset: done, abortTaskSet: done, clearTaskSet: done };
  const budget = o.budgetBytes === undefined ? undefined : new DataOutBudget(o.budgetBytes);
  const out: SessionOutput[] = [];
  const drops: string[] = [];
  const host: SessionHost = {
    lun: (n) => (n === 0 ? unit : undefined),
    luns: [0],
    ...(budget === undefined ? {} : { dataOutBudget: budget.account() }),
    othersTasks: () => ({ awaitingData: [], end: () => Promise.resolve() }),
    preempted: () => undefined,
    dataOutTimeoutMs: o.dataOutTimeoutMs ?? 1000,
    drop: (reason) => drops.push(reason),
    coldReset: () => undefined,
    log: () => undefined,
  };
  return { s: new Session(host, o.limits, o.depth ?? 8, 1, (p) => out.push(p)), budget, out, drops };
}
