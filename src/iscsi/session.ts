// One iSCSI session in full feature phase (RFC 7143 §3.2, §4.2.2): the
// command window (CmdSN / ExpCmdSN / MaxCmdSN), delivery of non-immediate
// commands in CmdSN order, the task table, and the session-level PDUs
// (NOP-Out, Text, Logout, Task Management). One connection per session
// (MaxConnections=1 is what the target negotiates), ErrorRecoveryLevel 0.
//
// The window is the device queue's: MaxCmdSN is opened only as far as the
// LUNs' openings at login plus a bounded queue allow (`depth`), so an
// initiator that honours it never has more commands outstanding than the
// devq runs plus that queue. The depth stays fixed for the session: initiators
// ignore a MaxCmdSN that moves backwards (§4.2.2.1), and openings that shrink
// later (QUEUE FULL) only lengthen the devq's own queue, which stays bounded.

import { snAdd, snLe, snLt } from './serial.js';
import { ScsiTask, type TaskAbortEnd, type TaskLimits, type TaskOutput } from './task.js';
import { lunNumber } from './nexus.js';
import { RejectReason, RESERVED_TAG, type DataOutPdu, type NopOutPdu, type ScsiCommandPdu, type TaskMgmtRequestPdu } from './pdu-types.js';
import type { LunPort } from './lun.js';
import { syntheticAnswer } from './no-lun.js';
import { TmfFunction, TmfResponse } from './tmf.js';

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
  /** Every LUN number of the target (what REPORT LUNS lists, see no-lun.ts). */
  readonly luns: readonly number[];
  /**
   * The tasks of the other sessions on a LUN (`lun` undefined: every LUN) as of now, for CLEAR TASK SET and
   * resets to end once the logical unit has acted (Session.tasksOn).
   */
  othersTasks(lun: number | undefined): OthersTasks;
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

/**
 * Whose action aborts a session's tasks, which decides how each ends (SAM-5
 * aborting commands): the session's own task management — no response;
 * another session's — TASK ABORTED status when the unit's TAS is 1, else no
 * response; a power on (TARGET COLD RESET, RFC 7143 §11.5.1) — no response,
 * as the connections end.
 */
export type AbortedBy = 'this-session' | 'another-session' | 'power-on';

/**
 * Tasks as a task management function found them when it arrived: those it
 * covers. A command that comes in while the function waits for the logical
 * unit is not one of them (RFC 7143 §4.2.3, affected tasks: those received
 * before the function), and must not be aborted by it.
 */
export interface TaskSnapshot {
  /**
   * Whether one of them waits for Data-Out: started (in CmdSN order), its data not all in, so not handed to the
   * logical unit yet — a task runs there as soon as its data is complete (task.ts). Such a task is in the unit's
   * task set all the same (SAM-5: the target holds that part of it).
   */
  readonly awaitsData: boolean;
  /** Aborts those still running, each ending as `by` and its unit's TAS say; resolves when they have ended. */
  end(by: AbortedBy): Promise<void>;
}

/** The other sessions' TaskSnapshots, taken together (SessionHost.othersTasks). */
export interface OthersTasks {
  /** The I_T nexus ids of the sessions whose snapshot awaitsData: what a CLEAR TASK SET aborts of theirs before it reaches the unit. */
  readonly awaitingData: readonly string[];
  /** Aborts every snapshot's tasks as TaskSnapshot.end does; resolves when they have all ended. */
  end(by: AbortedBy): Promise<void>;
}

/** A missing LUN moves at most its small synthetic answers (no-lun.ts). */
const NO_LUN_GEOMETRY = { blockSize: 512, maxCommandBytes: 64 * 1024 };

export class Session {
  readonly #host: SessionHost;
  readonly #limits: TaskLimits;
  readonly #depth: number;
  readonly #send: (o: SessionOutput) => void;
  #expCmdSN: number;
  /** Non-immediate PDUs that arrived ahead of ExpCmdSN, by CmdSN (§4.2.2.1: delivered in order). */
  readonly #waiting = new Map<number, () => void>();
  readonly #tasks = new Map<number, ScsiTask>();
  #closed = false;

  constructor(host: SessionHost, limits: TaskLimits, depth: number, initialCmdSN: number, send: (o: SessionOutput) => void) {
    this.#host = host;
    this.#limits = limits;
    this.#depth = Math.max(1, depth);
    this.#expCmdSN = initialCmdSN >>> 0;
    this.#send = send;
  }

  get expCmdSN(): number {
    return this.#expCmdSN;
  }

  /**
   * MaxCmdSN: ExpCmdSN plus the room left under the depth, minus one (a closed window is MaxCmdSN = ExpCmdSN − 1).
   * Commands waiting for a gap in CmdSN are inside the window already and do not shrink it, so MaxCmdSN never
   * moves backwards: a started task raises ExpCmdSN and the task count together.
   */
  get maxCmdSN(): number {
    const room = Math.max(0, this.#depth - this.#tasks.size);
    return snAdd(this.#expCmdSN, room - 1);
  }

  get activeTasks(): number {
    return this.#tasks.size;
  }

  /** A SCSI Command PDU. Answers itself (status or silence); returns a Reject reason when the PDU is refused. */
  command(cmd: ScsiCommandPdu): number | undefined {
    if (this.#tasks.has(cmd.itt)) return RejectReason.TASK_IN_PROGRESS;
    // Immediate commands bypass the window (§3.2.2.1); past the session depth they are refused (§11.17.1 06h).
    if (cmd.immediate && this.#tasks.size >= this.#depth) return RejectReason.IMMEDIATE_COMMAND_REJECT;
    // §13.11: immediate data only when ImmediateData=Yes; never more than FirstBurstLength.
    if (cmd.data.length > 0 && (!this.#limits.immediateData || !cmd.write)) return RejectReason.PROTOCOL_ERROR;
    if (cmd.data.length > Math.min(this.#limits.firstBurstLength, cmd.expectedDataTransferLength)) return RejectReason.PROTOCOL_ERROR;
    if (!cmd.final && (this.#limits.initialR2T || !cmd.write)) return RejectReason.PROTOCOL_ERROR;
    this.#inOrder(cmd.cmdSN, cmd.immediate, () => {
      this.#run(cmd);
    });
    return undefined;
  }

  /** A Data-Out PDU: handed to its task; a Reject reason when it matches none or breaks the data rules. */
  dataOut(pdu: DataOutPdu): number | undefined {
    const task = this.#tasks.get(pdu.itt);
    if (task === undefined) return RejectReason.INVALID_PDU_FIELD;
    // A Data-Out that breaks the sequence rules ends its task with CHECK CONDITION (task.ts); only one that
    // names no burst of the task is rejected as a PDU. ERL 0 recovers no further (§7.1.4.2).
    return task.dataOut(pdu) === 'unknown-ttt' ? RejectReason.INVALID_PDU_FIELD : undefined;
  }

  /** A NOP-Out (§11.18): a ping gets a NOP-In echoing its data; a reply to our ping needs no answer. */
  nopOut(pdu: NopOutPdu): void {
    if (pdu.itt === RESERVED_TAG) {
      if (!pdu.immediate) this.#inOrder(pdu.cmdSN, false, () => undefined);
      return;
    }
    this.#inOrder(pdu.cmdSN, pdu.immediate, () => {
      this.#send({ kind: 'nop-in', itt: pdu.itt, lun: pdu.lun, data: pdu.data });
    });
  }

  /** A Task Management Function Request (§11.5). */
  taskManagement(req: TaskMgmtRequestPdu): void {
    this.#inOrder(req.cmdSN, req.immediate, () => {
      void this.#tmf(req).then((response) => {
        this.#send({ kind: 'tmf-response', itt: req.itt, response });
      });
    });
  }

  /** Orders a non-immediate PDU that takes a CmdSN; false when it is outside the window and was dropped. */
  ordered(cmdSN: number, immediate: boolean, run: () => void): boolean {
    return this.#inOrder(cmdSN, immediate, run);
  }

  /** Waits for every task to end (Logout, §11.14: commands before the Logout complete first). */
  async drain(): Promise<void> {
    while (this.#tasks.size > 0) await Promise.all([...this.#tasks.values()].map((t) => t.done));
  }

  /**
   * Aborts every task of this session on a LUN (or all LUNs), each ending as
   * `by` and its unit's TAS say (ERL 0); resolves when they have ended. Only
   * tasks the session has started count: a command still waiting for an
   * earlier CmdSN has not been delivered (§4.2.2.1), so it is not in the task
   * set yet, and runs after the abort (RFC 7143 task management: only the
   * instantiated tasks of a third-party session are affected).
   */
  abortTasks(lun: number | undefined, by: AbortedBy = 'this-session'): Promise<void> {
    return this.tasksOn(lun).end(by);
  }

  /** This session's started tasks on a LUN (or all LUNs) as of now, to abort later (see abortTasks). */
  tasksOn(lun: number | undefined): TaskSnapshot {
    const hit = [...this.#tasks.values()].filter((t) => lun === undefined || lunNumber(t.lun) === lun);
    return {
      awaitsData: hit.some((t) => !t.dataComplete),
      end: async (by) => {
        for (const t of hit) t.abort(this.#abortEnd(t.lun, by));
        await Promise.all(hit.map((t) => t.done));
      },
    };
  }

  /** How a task on LUN field `lun` that `by` aborts ends. */
  #abortEnd(lun: bigint, by: AbortedBy): TaskAbortEnd {
    if (by !== 'another-session') return 'no-status';
    const n = lunNumber(lun);
    return n !== undefined && this.#host.lun(n)?.taskAbortedStatus === true ? 'task-aborted' : 'no-status';
  }

  /** The connection is gone: nothing more is sent; tasks are aborted. */
  close(): void {
    this.#closed = true;
    this.#waiting.clear();
    for (const t of this.#tasks.values()) t.abort();
  }

  #inOrder(cmdSN: number, immediate: boolean, run: () => void): boolean {
    if (immediate) {
      run();
      return true;
    }
    // §4.2.2.1: a non-immediate PDU outside [ExpCmdSN, MaxCmdSN] is silently ignored.
    if (snLt(cmdSN, this.#expCmdSN) || snLt(this.maxCmdSN, cmdSN) || this.#waiting.has(cmdSN)) return false;
    this.#waiting.set(cmdSN, run);
    this.#drainInOrder();
    return true;
  }

  /** Delivers waiting PDUs from ExpCmdSN on, as long as there is no gap. */
  #drainInOrder(): void {
    for (let next = this.#waiting.get(this.#expCmdSN); next !== undefined; next = this.#waiting.get(this.#expCmdSN)) {
      this.#waiting.delete(this.#expCmdSN);
      this.#expCmdSN = snAdd(this.#expCmdSN, 1);
      next();
    }
  }

  #run(cmd: ScsiCommandPdu): void {
    if (this.#closed) return;
    const n = lunNumber(cmd.lun);
    const lun = n === undefined ? undefined : this.#host.lun(n);
    const { itt } = cmd;
    const task = new ScsiTask(cmd, lun ?? NO_LUN_GEOMETRY, this.#limits, lun?.port ?? syntheticAnswer(this.#host.luns), {
      out: (o) => {
        if (!this.#closed) this.#send(o);
      },
      onFault: (e) => {
        this.#host.log(`iscsi: command ${(cmd.cdb[0] ?? 0).toString(16).padStart(2, '0')}h failed inside the target: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
      },
      onFinish: () => {
        this.#tasks.delete(itt);
        // A task ending opens the window; the connection tells an initiator that saw it closed (§4.2.2.1).
        if (!this.#closed) this.#send({ kind: 'window' });
      },
    });
    this.#tasks.set(itt, task);
    task.start();
  }

  async #tmf(req: TaskMgmtRequestPdu): Promise<number> {
    const fn = req.function;
    if (fn === TmfFunction.TASK_REASSIGN) return TmfResponse.REASSIGNMENT_NOT_SUPPORTED;
    if (fn === TmfFunction.CLEAR_ACA) return TmfResponse.NOT_SUPPORTED;
    if (fn === TmfFunction.TARGET_WARM_RESET || fn === TmfFunction.TARGET_COLD_RESET) {
      // A warm reset is a LOGICAL UNIT RESET of every LUN (SAM-5); a cold one is a power on as well, which
      // ends every session's connection after this response: their tasks end without responses.
      const others = this.#host.othersTasks(undefined);
      await this.abortTasks(undefined);
      await others.end(fn === TmfFunction.TARGET_COLD_RESET ? 'power-on' : 'another-session');
      await Promise.all(this.#host.luns.flatMap((n) => this.#host.lun(n)?.reset() ?? []));
      if (fn === TmfFunction.TARGET_COLD_RESET) this.#host.coldReset();
      return TmfResponse.COMPLETE;
    }
    const n = lunNumber(req.lun);
    const lun = n === undefined ? undefined : this.#host.lun(n);
    if (n === undefined || lun === undefined) return TmfResponse.LUN_DOES_NOT_EXIST;
    switch (fn) {
      case TmfFunction.ABORT_TASK: {
        const task = this.#tasks.get(req.referencedTaskTag);
        if (task !== undefined && lunNumber(task.lun) === n) {
          task.abort();
          await task.done;
          return TmfResponse.COMPLETE;
        }
        // §11.5.1: a referenced command not received yet — RefCmdSN inside the window and before the TMF's own
        // CmdSN — is considered received (it will never run) and the abort is complete. One received and
        // already finished no longer exists.
        const ref = req.refCmdSN;
        if (snLe(this.#expCmdSN, ref) && snLe(ref, this.maxCmdSN) && snLt(ref, req.cmdSN)) {
          this.#waiting.set(ref, () => undefined);
          this.#drainInOrder();
          return TmfResponse.COMPLETE;
        }
        return TmfResponse.TASK_DOES_NOT_EXIST;
      }
      // SAM-5: the logical unit aborts the commands it holds — without a device reset, and telling the other
      // I_T nexuses as its TAS says (CLEAR TASK SET) — then the tasks that have not reached it end here: the
      // sender's without responses, the other sessions' as the same TAS says. The tasks covered are those
      // received before the function (RFC 7143 §4.2.3, affected tasks): taken before the unit is waited for,
      // so a command that arrives meanwhile is left alone.
      case TmfFunction.ABORT_TASK_SET: {
        const mine = this.tasksOn(n);
        await lun.abortTaskSet();
        await mine.end('this-session');
        return TmfResponse.COMPLETE;
      }
      // The other sessions' tasks that have not reached the unit are named before it clears: with TAS 0 their
      // I_T nexuses get COMMANDS CLEARED BY ANOTHER INITIATOR as the unit's own do (SAM-5, SPC-5 Control mode page).
      case TmfFunction.CLEAR_TASK_SET: {
        const mine = this.tasksOn(n);
        const others = this.#host.othersTasks(n);
        await lun.clearTaskSet(others.awaitingData);
        await mine.end('this-session');
        await others.end('another-session');
        return TmfResponse.COMPLETE;
      }
      case TmfFunction.LOGICAL_UNIT_RESET: {
        const others = this.#host.othersTasks(n);
        await this.abortTasks(n);
        await others.end('another-session');
        await lun.reset();
        return TmfResponse.COMPLETE;
      }
      default:
        return TmfResponse.NOT_SUPPORTED;
    }
  }
}
