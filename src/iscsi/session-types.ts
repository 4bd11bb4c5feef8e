// What a session (session.ts) and the rest of the target exchange: the LUNs
// its initiator port reaches (SessionLun: what its tasks need of a unit, and
// task management through CAM); what it needs of its portal and target
// (SessionHost: the LUN numbers, its connection's Data-In rooms and share of
// the Data-Out budget, the other sessions' tasks, preemption, the Data-Out
// timeout, dropping its connection or, for a cold reset, every one of the
// target, the log); and the target PDUs it asks its connection to send
// (SessionOutput: a task's R2T, Data-In and SCSI Response, RFC 7143 §11.8,
// §11.7, §11.4; NOP-In, §11.19; Task Management Function Response, §11.6;
// and the window a task's end opens, §4.2.2.1), which the connection stamps
// and encodes (stamp.ts). Its own module, as task-types.ts is for a task:
// the contract apart from the session's state, which the portal (server.ts)
// implements, and stamp.ts and the task management functions
// (session-tmf.ts) use without the session itself.

import type { LunPort } from './lun.js';
import type { DataOutAccount } from './data-out-budget.js';
import type { DataInGate } from './data-in-gate.js';
import type { OthersTasks } from './tmf.js';
import type { TaskOutput } from './task-types.js';

/** A LUN of the session's target. */
export interface SessionLun {
  readonly port: LunPort;
  readonly blockSize: number;
  /** The most data one command may move (see probe.ts). */
  readonly maxCommandBytes: number;
  /** The unit's TAS (Control mode page, see probe.ts): how a task that another session aborts ends. */
  readonly taskAbortedStatus: boolean;
  /** LOGICAL UNIT RESET through CAM (XPT_RESET_DEV); resolves when done. */
  reset(): Promise<void>;
  /** ABORT TASK SET from this session's I_T nexus through CAM (XPT_ABORT_TASK_SET); resolves once its commands there have ended. */
  abortTaskSet(): Promise<void>;
  /**
   * CLEAR TASK SET from this session's I_T nexus through CAM (XPT_CLEAR_TASK_SET); resolves once every nexus's
   * commands there have ended. `transportAborted`: the I_T nexuses of other sessions whose tasks the target
   * aborts itself, not having handed them to the unit (OthersTasks.awaitingData).
   */
  clearTaskSet(transportAborted: readonly string[]): Promise<void>;
}

/** What the session needs from the rest of the target. */
export interface SessionHost {
  /** The LUNs this session's initiator port reaches. */
  lun(n: number): SessionLun | undefined;
  /** A Data-In room of its connection (TaskHooks.dataInRoom); absent: none. */
  dataInRoom?(bytes: number): Uint8Array | undefined;
  /** Its connection's gate for commands with Data-In (TaskHooks.dataInGate); absent: none. */
  readonly dataInGate?: DataInGate;
  /** This session's account of the target's Data-Out budget (TaskHooks.dataOutBudget); absent: unbounded. */
  readonly dataOutBudget?: DataOutAccount;
  /** Every LUN number of the target (what REPORT LUNS lists, see no-lun.ts). */
  readonly luns: readonly number[];
  /**
   * The tasks of the other sessions on a LUN (`lun` undefined: every LUN) as of now, for CLEAR TASK SET and
   * resets to end once the logical unit has acted (Session.tasksOn).
   */
  othersTasks(lun: number | undefined): OthersTasks;
  /**
   * This session's PERSISTENT RESERVE OUT PREEMPT AND ABORT ended on LUN `lun` — GOOD, or aborted itself
   * while it waited — the logical unit having preempted the I_T nexuses `nexuses` and aborted the commands it
   * held of theirs (SPC-5). The tasks
   * of their sessions on that LUN that have not reached the unit (Session.tasksOn 'before-unit') end now as
   * the unit's own did: this session's without a response, another session's as the unit's TAS says, and the
   * unit is told whose those were (TAS 0: COMMANDS CLEARED BY ANOTHER INITIATOR) before this session's answer.
   */
  preempted(lun: number, nexuses: readonly string[]): void;
  /**
   * How long the session may owe Data-Out without sending any, or leave a CmdSN gap open (progress-watchdog.ts), and how long a task
   * management function waits for the Data-Out answering the sender's outstanding R2Ts (RFC 7143 §11.5.1),
   * before the connection is dropped: the time an initiator has to answer a ping.
   */
  readonly dataOutTimeoutMs: number;
  /** Drops this session's connection (logged with `reason`); its tasks are aborted as the connection ends. */
  drop(reason: string): void;
  /** TARGET COLD RESET: drop every connection of the target once the response is out. */
  coldReset(): void;
  /** Where faults below the transport are reported (the command itself ends CHECK CONDITION). */
  log(line: string): void;
}

/** Target PDUs the session asks its connection to send; the connection stamps StatSN/ExpCmdSN/MaxCmdSN. */
export type SessionOutput =
  | TaskOutput
  | { readonly kind: 'nop-in'; readonly itt: number; readonly lun: bigint; readonly data: Uint8Array }
  | { readonly kind: 'tmf-response'; readonly itt: number; readonly response: number }
  | { readonly kind: 'window' };
