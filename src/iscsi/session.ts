// One iSCSI session in full feature phase (RFC 7143 §3.2, §4.2.2): its
// commands and the task table, and the session-level PDUs (NOP-Out, Text,
// Logout, Task Management). The command window (CmdSN / ExpCmdSN / MaxCmdSN,
// the session's depth) and the delivery of non-immediate PDUs in CmdSN order
// are session-window.ts. A Task Management request is ordered and fences its
// task set here; what the function then does, and which of the session's
// tasks a function covers and how each ends, is session-tmf.ts. What the
// session and the rest of the target exchange (its LUNs, its host, what it
// sends) is session-types.ts. One connection per session (MaxConnections=1 is
// what the target negotiates), ErrorRecoveryLevel 0.
//
// A command that must wait for its turn (an earlier CmdSN, or a task-set
// function) is made a task as it comes, which keeps its immediate data only
// in a buffer the Data-Out budget counts (#hold).

import { ScsiTask } from './task.js';
import type { DataOutDiscard, TaskAbortEnd, TaskHooks, TaskLimits } from './task-types.js';
import { lunNumber } from './nexus.js';
import { RejectReason, RESERVED_TAG, type DataOutHeader, type DataOutPdu, type NopOutPdu, type ScsiCommandPdu, type TaskMgmtRequestPdu } from './pdu-types.js';
import type { SessionHost, SessionOutput } from './session-types.js';
import { syntheticAnswer } from './no-lun.js';
import { TmfFunction, type TaskSnapshot } from './tmf.js';
import { abortEndOf, performTmf, snapshotTasks, type TmfScope } from './session-tmf.js';
import { ProgressWatchdog, dataOutProgress } from './progress-watchdog.js';
import { LateDataOut } from './late-data-out.js';
import { TaskSetOrder } from './task-set-order.js';
import { SessionWindow } from './session-window.js';

/** A missing LUN moves at most its small synthetic answers (no-lun.ts); a WRITE to it still collects its Data-Out. */
export const NO_LUN_GEOMETRY = { blockSize: 512, maxCommandBytes: 64 * 1024 } as const;
/** Sent each time a task ends: one object for all of them. */
const WINDOW: SessionOutput = { kind: 'window' };
/** The functions that act on a whole task set, during which the session holds new commands to it back (#fences): one LUN's, or every LUN's. */
const TASK_SET_FUNCTIONS: ReadonlyMap<number, 'lun' | 'all'> = new Map([
  [TmfFunction.ABORT_TASK_SET, 'lun'],
  [TmfFunction.CLEAR_TASK_SET, 'lun'],
  [TmfFunction.LOGICAL_UNIT_RESET, 'lun'],
  [TmfFunction.TARGET_WARM_RESET, 'all'],
  [TmfFunction.TARGET_COLD_RESET, 'all'],
]);

export class Session {
  readonly #host: SessionHost;
  readonly #limits: TaskLimits;
  readonly #depth: number;
  readonly #send: (o: SessionOutput) => void;
  /** What every task of the session reports to (one object, not closures per command). */
  readonly #hooks: TaskHooks;
  /** What this session's task management functions act through (session-tmf.ts). */
  readonly #tmfScope: TmfScope;
  /**
   * Data-Out owed with none coming for a whole timeout drops the connection (a CmdSN gap left open does too,
   * session-window.ts); while the portal closes, it ends its tasks instead (drainClosing).
   */
  #watchdog: ProgressWatchdog;
  /** The command window, and the PDUs waiting for an earlier CmdSN: a SCSI Command as its task, made as it came (#hold). */
  readonly #window: SessionWindow;
  readonly #tasks = new Map<number, ScsiTask>();
  /** The Data-Out sequences of tasks that ended before their data was all in, for at most `depth` ITTs. */
  readonly #late: LateDataOut;
  /**
   * The task sets that functions of this session are acting on (TASK_SET_FUNCTIONS): a LUN number, or
   * undefined for every LUN, once per running function. A command for one of them waits in #deferred: sent
   * after the function, it is not one the function covers (RFC 7143 §4.2.3, affected tasks), yet once at the
   * logical unit the unit's own abort would take it, and it would end with no response. Held back, it runs
   * after the function's response instead, in the order it came. It was received all the same: an ABORT
   * TASK naming it, and a task-set function or reset sent after it, end it before it runs (#endDeferred).
   * A deferred command counts against the window as a task does (maxCmdSN), so what waits stays bounded by
   * the session depth; other LUNs' commands and the other PDUs go on. Its task is made as it is held back (#hold).
   */
  readonly #fences: (number | undefined)[] = [];
  readonly #deferred: ScsiTask[] = [];
  /** Woken when a task-set function ends (drain: the commands it held back are started then). */
  readonly #unfenced: (() => void)[] = [];
  #closed = false;

  constructor(host: SessionHost, limits: TaskLimits, depth: number, initialCmdSN: number, send: (o: SessionOutput) => void) {
    this.#host = host;
    this.#limits = limits;
    this.#window = new SessionWindow(depth, initialCmdSN, host, (task) => {
      this.#enter(task);
    });
    this.#depth = this.#window.depth;
    this.#late = new LateDataOut(this.#depth);
    this.#send = send;
    this.#hooks = {
      out: (o) => {
        if (this.#closed) return;
        if (o.kind === 'r2t') this.#watchdog.owing();
        this.#send(o);
      },
      dataInRoom: (bytes) => this.#host.dataInRoom?.(bytes),
      ...(host.dataInGate === undefined ? {} : { dataInGate: host.dataInGate }),
      ...(host.dataOutBudget === undefined ? {} : { dataOutBudget: host.dataOutBudget }),
      taskSetOrder: new TaskSetOrder(this.#tasks),
      onFault: (e, task) => {
        this.#host.log(`iscsi: command ${task.opcode.toString(16).padStart(2, '0')}h failed inside the target: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
      },
      onFinish: (task) => {
        this.#tasks.delete(task.itt);
        if (!task.immediate) this.#window.left();
        // A task ending opens the window; the connection tells an initiator that saw it closed (§4.2.2.1).
        if (!this.#closed) this.#send(WINDOW);
      },
      onDataOwed: (ttts, task) => {
        if (!this.#closed) this.#late.remember(task.itt, ttts);
      },
      onPreempted: (nexuses, task) => {
        const n = lunNumber(task.lun);
        if (n !== undefined) this.#host.preempted(n, nexuses);
      },
    };
    this.#watchdog = new ProgressWatchdog(host.dataOutTimeoutMs, {
      owed: () => this.#owesDataOut(),
      expired: () => {
        host.drop(`no Data-Out for ${host.dataOutTimeoutMs / 1000} s while the initiator owed some (R2Ts unanswered or unsolicited data not sent)`);
      },
    });
    this.#tmfScope = {
      host,
      tasks: this.#tasks,
      deferred: () => this.#deferred,
      endDeferred: (task, end) => this.#endDeferred(task, end),
      expCmdSN: () => this.#window.expCmdSN,
      maxCmdSN: () => this.#window.maxCmdSN,
      skip: (cmdSN) => {
        this.#window.skip(cmdSN);
      },
    };
  }

  get expCmdSN(): number {
    return this.#window.expCmdSN;
  }

  /** MaxCmdSN (SessionWindow.maxCmdSN): it never moves backwards (§4.2.2.1). */
  get maxCmdSN(): number {
    return this.#window.maxCmdSN;
  }

  get activeTasks(): number {
    return this.#tasks.size;
  }

  /** A SCSI Command PDU. Answers itself (status or silence); returns a Reject reason when the PDU is refused. */
  command(cmd: ScsiCommandPdu): number | undefined {
    if (this.#tasks.has(cmd.itt) || this.#heldTask(cmd.itt) !== undefined) return RejectReason.TASK_IN_PROGRESS;
    // Immediate commands bypass the window (§3.2.2.1); past the session depth they are refused (§11.17.1 06h),
    // so with the window's own at most twice the depth are outstanding.
    if (cmd.immediate && this.#tasks.size + this.#deferred.length >= this.#depth) return RejectReason.IMMEDIATE_COMMAND_REJECT;
    // §13.11: immediate data only when ImmediateData=Yes; never more than FirstBurstLength.
    if (cmd.data.length > 0 && (!this.#limits.immediateData || !cmd.write)) return RejectReason.PROTOCOL_ERROR;
    if (cmd.data.length > Math.min(this.#limits.firstBurstLength, cmd.expectedDataTransferLength)) return RejectReason.PROTOCOL_ERROR;
    if (!cmd.final && (this.#limits.initialR2T || !cmd.write)) return RejectReason.PROTOCOL_ERROR;
    // Nearly every command is immediate or the next in order (inside the window, none waiting): it runs at
    // once, as ordered() would run it, but with no closure and no entry among the waiting PDUs.
    if (cmd.immediate) this.#deliver(cmd);
    else if (this.#window.next(cmd.cmdSN)) {
      this.#deliver(cmd);
      this.#window.deliver();
    } else if (this.#window.takes(cmd.cmdSN)) this.#window.wait(cmd.cmdSN, this.#hold(cmd));
    return undefined;
  }

  /** A command whose turn has come, as it arrives: its task runs, or is held back behind a task-set function (#enter). */
  #deliver(cmd: ScsiCommandPdu): void {
    this.#enter(this.#fences.length > 0 && this.#fenced(lunNumber(cmd.lun)) ? this.#hold(cmd) : this.#task(cmd));
  }

  /** A task whose turn has come: it runs, or is held back behind a task-set function acting on its LUN (#fences). */
  #enter(task: ScsiTask): void {
    if (!task.immediate) this.#window.entered();
    if (this.#fences.length > 0 && this.#fenced(lunNumber(task.lun))) this.#deferred.push(task);
    else this.#run(task);
  }

  /**
   * A Data-Out PDU (no CmdSN, §11.7): handed to its task, one waiting for its turn included; a Reject reason
   * when it matches none or breaks the data rules.
   */
  dataOut(pdu: DataOutPdu): number | undefined {
    const task = this.#tasks.get(pdu.itt) ?? this.#heldTask(pdu.itt);
    if (task === undefined) return this.#late.take(pdu);
    const owed = task.owesDataOut;
    // A Data-Out that breaks the sequence rules ends its task with CHECK CONDITION (task.ts); only one that
    // names no burst of the task is rejected as a PDU. ERL 0 recovers no further (§7.1.4.2).
    const fault = task.dataOut(pdu);
    if (dataOutProgress(owed, fault === undefined, pdu.data.length, pdu.final)) this.#watchdog.heard();
    return fault === 'unknown-ttt' ? RejectReason.INVALID_PDU_FIELD : undefined;
  }

  /**
   * A Data-Out PDU the connection Rejected and discarded, `why` (its data digest, RFC 7143 §7.8; its length,
   * §13.12), known by its header: its task still counts it and ends CHECK CONDITION once the rest is in
   * (ScsiTask.dataDiscarded); for a task that has ended it counts as late Data-Out does. Nothing more is sent
   * for the PDU itself.
   */
  dataDiscarded(header: DataOutHeader, why: DataOutDiscard): void {
    const task = this.#tasks.get(header.itt) ?? this.#heldTask(header.itt);
    if (task === undefined) {
      this.#late.take(header);
      return;
    }
    const owed = task.owesDataOut;
    const fault = task.dataDiscarded(header, why);
    if (dataOutProgress(owed, fault === undefined, header.dataSegmentLength, header.final)) this.#watchdog.heard();
  }

  /** A NOP-Out (§11.18): a ping gets a NOP-In echoing its data; a reply to our ping needs no answer. */
  nopOut(pdu: NopOutPdu): void {
    if (pdu.itt === RESERVED_TAG) {
      if (!pdu.immediate) this.#window.ordered(pdu.cmdSN, false, () => undefined);
      return;
    }
    this.#window.ordered(pdu.cmdSN, pdu.immediate, () => {
      this.#send({ kind: 'nop-in', itt: pdu.itt, lun: pdu.lun, data: pdu.data });
    });
  }

  /** A Task Management Function Request (§11.5). */
  taskManagement(req: TaskMgmtRequestPdu): void {
    this.#window.ordered(req.cmdSN, req.immediate, () => {
      const scope = TASK_SET_FUNCTIONS.get(req.function);
      // A LUN field that names no LUN fences nothing: the function answers LUN DOES NOT EXIST at once.
      const fence = scope === undefined ? null : scope === 'all' ? undefined : (lunNumber(req.lun) ?? null);
      if (fence !== null) this.#fences.push(fence);
      void performTmf(req, this.#tmfScope)
        .then((response) => {
          this.#send({ kind: 'tmf-response', itt: req.itt, response });
        })
        .finally(() => {
          if (fence !== null) this.#unfence(fence);
        });
    });
  }

  /** Orders a non-immediate PDU that takes a CmdSN; false when it is outside the window and was dropped. */
  ordered(cmdSN: number, immediate: boolean, run: () => void): boolean {
    return this.#window.ordered(cmdSN, immediate, run);
  }

  /**
   * Logout (§11.14: the target terminates all pending commands of the session it closes): ends, without a
   * response, every task that has not reached the logical unit — one waiting for Data-Out the initiator has
   * stopped sending, or for its port — unless a task management function holds it, which ends it itself.
   * Tasks at the unit finish (drain).
   */
  terminatePending(): void {
    for (const t of this.#tasks.values()) if (t.beforeUnit && !t.held) t.abort(abortEndOf(this.#host, t.lun, 'this-session'));
  }

  /** Waits for every task to end, held commands included (Logout, §11.14: commands before the Logout complete first). */
  async drain(): Promise<void> {
    for (;;) {
      if (this.#tasks.size > 0) await Promise.all([...this.#tasks.values()].map((t) => t.done));
      else if (this.#deferred.length > 0) await new Promise<void>((resolve) => this.#unfenced.push(resolve));
      else return;
    }
  }

  /**
   * drain() while the portal closes (IscsiServer.close): Data-Out still comes for the tasks (§11.8), but owed
   * with none coming for `quietMs` (if under the Data-Out timeout), or not all in once the Data-Out timeout
   * has passed since this call, every task still owed some ends without a response, as at Logout
   * (terminatePending), held ones too, and gives its budget back; the others finish. Resolves with the number
   * of tasks so ended.
   */
  async drainClosing(quietMs: number): Promise<number> {
    if (this.#closed) return 0;
    let ended = 0;
    const endOwing = (): void => {
      const owing = [...this.#tasks.values()].filter((t) => t.owesDataOut);
      ended += owing.length;
      for (const t of owing) t.abort(abortEndOf(this.#host, t.lun, 'this-session'));
    };
    this.#watchdog.stop();
    this.#watchdog = new ProgressWatchdog(Math.min(quietMs, this.#host.dataOutTimeoutMs), { owed: () => this.#owesDataOut(), expired: endOwing });
    // However it trickles, what is owed must be in within the Data-Out timeout of the close's start: a peer
    // sending a few bytes every second would otherwise hold the close (and vtcam serve's exit) open for hours.
    const deadline = setTimeout(endOwing, this.#host.dataOutTimeoutMs);
    if (this.#owesDataOut()) this.#watchdog.owing();
    try {
      await this.drain();
    } finally {
      clearTimeout(deadline);
      this.#watchdog.stop();
    }
    return ended;
  }


  /**
   * This session's tasks on a LUN (or all LUNs) as of now, to hold and abort later, each ending as the `by`
   * of end() and its unit's TAS say (ERL 0); with 'before-unit', only those that have not reached the
   * logical unit. Only tasks the session has delivered count, started or held back behind a task-set
   * function (#fences): a command still waiting for an earlier CmdSN has not been delivered (§4.2.2.1), so
   * it is not in the task set yet, and runs after the abort (RFC 7143 task management: only the
   * instantiated tasks of a third-party session are affected).
   */
  tasksOn(lun: number | undefined, only?: 'before-unit'): TaskSnapshot {
    return snapshotTasks(this.#tmfScope, lun, only);
  }

  /** The connection is gone: nothing more is sent; tasks are aborted. */
  close(): void {
    this.#closed = true;
    this.#watchdog.stop();
    this.#window.close();
    for (const t of this.#deferred.splice(0)) t.abort();
    for (const wake of this.#unfenced.splice(0)) wake();
    for (const t of this.#tasks.values()) t.abort();
    this.#late.clear();
  }

  /** Whether a started task may still receive Data-Out: an unanswered R2T, or its open unsolicited burst. */
  #owesDataOut(): boolean {
    for (const t of this.#tasks.values()) if (t.owesDataOut) return true;
    return false;
  }

  /**
   * The task with this ITT made ahead of its turn (#hold), if any: its Data-Out is its own (dataOut). One ITT
   * names one task of the session while it exists (RFC 7143 §11.2.1.8): a second command under it, run in
   * its turn, would take the first one's place in the task table, leaving it beyond reach of its Data-Out,
   * of aborts and of the session's end, its Data-Out buffer never given back.
   */
  #heldTask(itt: number): ScsiTask | undefined {
    return this.#window.heldTask(itt) ?? (this.#deferred.length === 0 ? undefined : this.#deferred.find((t) => t.itt === itt));
  }

  /**
   * Ends `task` as `end` says if it is held back behind a task-set function (#deferred), before it ever runs:
   * false when it is not. Never started, it is in no task table and its task tells nobody it finished
   * (ScsiTask onFinish), so its place in the window is given back here, once.
   */
  #endDeferred(task: ScsiTask, end: TaskAbortEnd): boolean {
    const i = this.#deferred.indexOf(task);
    if (i < 0) return false;
    this.#deferred.splice(i, 1);
    task.abort(end);
    if (!task.immediate) this.#window.left();
    if (!this.#closed) this.#send(WINDOW);
    return true;
  }

  /** Whether a task-set function of this session is acting on LUN `lun`'s task set. */
  #fenced(lun: number | undefined): boolean {
    return this.#fences.some((f) => f === undefined || f === lun);
  }

  /** A task-set function has answered: the commands it held back and no other holds run, in the order they came. */
  #unfence(fence: number | undefined): void {
    this.#fences.splice(this.#fences.indexOf(fence), 1);
    const held = this.#deferred.splice(0);
    for (const task of held) {
      if (this.#fenced(lunNumber(task.lun))) this.#deferred.push(task);
      else this.#run(task);
    }
    for (const wake of this.#unfenced.splice(0)) wake();
  }

  /** A command's task, on its LUN or answered as for a missing one (no-lun.ts). */
  #task(cmd: ScsiCommandPdu): ScsiTask {
    const n = lunNumber(cmd.lun);
    const lun = n === undefined ? undefined : this.#host.lun(n);
    return new ScsiTask(cmd, lun ?? NO_LUN_GEOMETRY, this.#limits, lun?.port ?? syntheticAnswer(this.#host.luns), this.#hooks);
  }

  /**
   * The task of a command that waits for its turn (an earlier CmdSN, or a task-set function on its LUN), made
   * as it comes so that it keeps nothing of the PDU, whose views pin whole receive chunks (framing.ts): its
   * immediate data is copied into a buffer the Data-Out budget counts, taken at once, or dropped if the
   * budget refuses it, and then the task ends TASK SET FULL (task-data-out.ts); its CDB is copied. Without
   * that, what a session holds would be bounded only by its window times FirstBurstLength, or times a chunk.
   */
  #hold(cmd: ScsiCommandPdu): ScsiTask {
    return this.#task({ ...cmd, cdb: cmd.cdb.slice() });
  }

  #run(task: ScsiTask): void {
    if (this.#closed) {
      task.abort();
      return;
    }
    this.#tasks.set(task.itt, task);
    task.start();
    // Its unsolicited burst is owed from now on (R2Ts arm the watchdog as they go out).
    if (task.owesDataOut) this.#watchdog.owing();
  }
}
