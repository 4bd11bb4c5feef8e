// What a SCSI task (task.ts) and its session exchange: the negotiated limits
// its data phase follows (RFC 7143 §13), what it asks its connection to send
// (R2T, Data-In, SCSI Response: §11.8, §11.7, §11.4), the hooks through which
// it reports faults, owed Data-Out, preemptions and its end, and why a
// Data-Out PDU was refused (§11.17.1).

import type { Residual } from './pdu-types.js';
import type { DataOutAccount } from './data-out-budget.js';
import type { DataInGate } from './data-in-gate.js';
import type { TaskSetOrder } from './task-set-order.js';

/** The negotiated values a task's data phase follows (RFC 7143 §13). */
export interface TaskLimits {
  readonly initialR2T: boolean;
  readonly immediateData: boolean;
  readonly firstBurstLength: number;
  readonly maxBurstLength: number;
  readonly maxOutstandingR2T: number;
  /** The initiator's MaxRecvDataSegmentLength: the largest Data-In segment we may send. */
  readonly maxSendDataSegmentLength: number;
}

/**
 * What a task asks its connection to send (the connection stamps StatSN,
 * ExpCmdSN, MaxCmdSN), with the command's ITT and LUN already in: the session
 * passes it on as it is.
 */
export type TaskOutput = { readonly itt: number; readonly lun: bigint } & (
  | { readonly kind: 'r2t'; readonly r2tSN: number; readonly ttt: number; readonly bufferOffset: number; readonly length: number }
  | {
      readonly kind: 'data-in';
      readonly dataSN: number;
      readonly bufferOffset: number;
      readonly data: Uint8Array;
      /** The 48 bytes in front of `data` for its BHS when `data` is a Data-In room's, whole (data-in-rooms.ts). */
      readonly header: Uint8Array | undefined;
      readonly final: boolean;
      readonly status: { readonly scsiStatus: number; readonly residual: Residual } | undefined;
    }
  | { readonly kind: 'response'; readonly status: number; readonly residual: Residual; readonly sense: Uint8Array | undefined; readonly expDataSN: number }
);

/**
 * How an aborted task ends (SAM-5 aborting commands): without a response, or
 * with a SCSI Response of TASK ABORTED status (the unit's TAS is 1 and
 * another I_T nexus aborted it).
 */
export type TaskAbortEnd = 'no-status' | 'task-aborted';

/** The task a hook runs for (ScsiTask): which command of the session it is. */
export interface TaskIdentity {
  readonly itt: number;
  /** The LUN field, as the command carried it. */
  readonly lun: bigint;
  /** The command's operation code. */
  readonly opcode: number;
  /** Sent with the I bit: outside the command window (RFC 7143 §3.2.2.1). */
  readonly immediate: boolean;
}

/**
 * Where a task sends what it produces, where its buffers come from, and whom it tells of faults and of its
 * end. Each hook but `out` is told which task it runs for, so that one hooks object can serve every task of
 * a session (none is made per command).
 */
export interface TaskHooks {
  readonly out: (o: TaskOutput) => void;
  /**
   * A Data-In room of `bytes` (data-in-rooms.ts) for a READ one Data-In PDU will carry back, so that its
   * header goes in front of its data; undefined (or absent) when the connection would copy the PDU anyway.
   */
  readonly dataInRoom?: (bytes: number) => Uint8Array | undefined;
  /**
   * The connection's gate for commands with Data-In (data-in-gate.ts): a task with Data-In passes it before
   * its task set order and port, and its bytes count until it ends. Absent: no bound (unit tests of one task).
   */
  readonly dataInGate?: DataInGate;
  /**
   * The session's account of the target's Data-Out budget (data-out-budget.ts): a task that collects
   * Data-Out reserves its buffer there before it makes it or sends an R2T, and gives it back as it ends.
   * Absent: buffers are not bounded (unit tests of the data phase alone).
   */
  readonly dataOutBudget?: DataOutAccount;
  /**
   * The session's task set order (task-set-order.ts): a task tells it as it starts, is let go to the unit by
   * it (after older tasks, across an ORDERED one), and tells it as it reaches the unit or ends. Absent: each
   * task goes as soon as its data is in (unit tests of one task).
   */
  readonly taskSetOrder?: TaskSetOrder;
  readonly onFault?: (e: unknown, task: TaskIdentity) => void;
  /** The task has ended, once; not for one aborted before it started (it never entered its session's task table). */
  readonly onFinish?: (task: TaskIdentity) => void;
  /**
   * The task ended with Data-Out still owed (it was aborted, or failed, before its data was all in): the
   * Target Transfer Tags of its unanswered R2Ts, RESERVED_TAG for its unsolicited data. The initiator may
   * still send that Data-Out. Runs just before onFinish.
   */
  readonly onDataOwed?: (ttts: readonly number[], task: TaskIdentity) => void;
  /**
   * The logical unit answered the command having preempted these I_T nexuses and aborted their commands
   * (PERSISTENT RESERVE OUT PREEMPT AND ABORT, SPC-5; ScsiAnswer.preempted): GOOD, or aborted itself while
   * it waited for those (the preemption stands). Runs before the task's status goes out (or it ends
   * without one), while the task is still at the unit.
   */
  readonly onPreempted?: (nexuses: readonly string[], task: TaskIdentity) => void;
}

/**
 * Why the connection discarded a Data-Out PDU after its Reject: its data digest failed (RFC 7143 §7.8, Reject
 * 02h), or its data segment was over the target's MaxRecvDataSegmentLength (§13.12, Reject 04h). Either way
 * its header still counts in its sequence, and the task ends CHECK CONDITION once its sequences close
 * (§11.17.1, §7.3: a Reject ends no task by itself).
 */
export type DataOutDiscard = 'data-digest' | 'segment-too-long';

/**
 * Why a Data-Out was not accepted: 'unknown-ttt' names no burst of the task, and the connection answers it with
 * a Reject (RFC 7143 §11.17.1 reason 09h); the others break the task's sequence and end it (task.ts), the last
 * one a burst whose F bit came before all it asked for (§11.8.4, §11.7.1).
 */
export type DataOutFault = 'unknown-ttt' | 'bad-datasn' | 'bad-offset' | 'too-much-data' | 'short-burst';
