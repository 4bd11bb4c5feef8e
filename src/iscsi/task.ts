// One SCSI task of a session (RFC 7143 §3.2.x, §11.3–§11.8): the SCSI
// Command PDU, its Data-Out, its execution through the logical unit's pass
// periph, and its Data-In and status. The task owns the command's life and
// how it ends. A Data-Out that breaks its sequence (DataSN order, Buffer
// Offset, more data than asked for) ends the task with CHECK CONDITION
// (ABORTED COMMAND), as ERL 0 cannot recover within the command (§7.1.4.2);
// for a task made ahead of its turn (session.ts), as it starts. So does a
// burst whose F bit comes before all it asked for (§11.8.4, §11.7.1), and the
// unit never gets a buffer with bytes the initiator did not send.
// A Data-Out the connection discarded (its data digest failed, or its segment
// was over MaxRecvDataSegmentLength) ends it with CHECK CONDITION once the
// data still owed is in, as §7.8 and §11.17.1 ask. A
// task management function about to abort the task may hold it short of the
// unit while its outstanding R2Ts are answered (§4.2.3.3); a task that ends
// with Data-Out still owed says which sequences, so that the session drops
// what still comes on them. A task whose data is in goes to the unit once its
// connection's Data-In gate, its session's task set order (older tasks first
// across an ORDERED one) and its port (the target may hold the LUN's
// commands back a while, preempt-gate.ts) admit it; until then it counts as
// not at the unit. Asking them is the task's base, TaskAdmission
// (task-admission.ts). A task whose Data-Out buffer waits for the target's Data-Out budget
// solicits nothing and does not go to the unit until granted, and one that
// brings unsolicited data the budget cannot hold now ends TASK SET FULL;
// whichever way the task ends, the reservation is given back once (#finish).
// What the SCSI Command PDU fixed (ITT, LUN, attribute, EDTL, the planned
// transfer) and what the unit reads of it is the base of that, TaskCommand
// (task-command.ts); how the Data-Out is collected (bursts, R2Ts, the buffer
// and its reservation) is in task-data-out.ts; what the task and its session
// exchange (limits, outputs, hooks), in task-types.ts; how its answer is laid
// out as Data-In PDUs and a SCSI Response, and the responses it gives of its
// own, in task-answer.ts.

import { ScsiStatus } from '../scsi/status.js';
import { residualOf } from './transfer.js';
import { INTERNAL_TARGET_FAILURE_SENSE, TASK_ABORTED_ANSWER, sendDataPhaseError, sendReadAnswer, sendResponse, sendUnkeptResponse, takeDataInRoom } from './task-answer.js';
import type { DataOutHeader, DataOutPdu, ScsiCommandPdu } from './pdu-types.js';
import type { LunCall, LunCommand, LunPort, ScsiAnswer } from './lun.js';
import type { DataOutDiscard, DataOutFault, TaskAbortEnd, TaskHooks, TaskLimits } from './task-types.js';
import type { DataOutClaim } from './data-out-budget.js';
import { deferred, type Deferred } from './deferred.js';
import { DataOutCollection } from './task-data-out.js';
import { TaskAdmission } from './task-admission.js';

/**
 * The task is its own LunCommand, OrderedTask and DataOutClaim: the logical unit reads the command from it
 * and answers it, its session's task set order and its port admit it, the Data-Out budget grants it its
 * buffer, with no command object or callback made per command.
 */
export class ScsiTask extends TaskAdmission implements LunCommand, DataOutClaim {
  readonly #limits: TaskLimits;
  readonly #port: LunPort;
  /** Kept whole, not one field per hook: a session passes the same object to every task it starts. */
  readonly #hooks: TaskHooks;
  /** The command while the logical unit runs it (ABORT TASK goes through it). */
  #call: LunCall | undefined;
  /**
   * The Data-Out collected, for a command that may carry some (a WRITE, or W set); undefined for the rest,
   * reads above all, which make no collection.
   */
  readonly #dataOut: DataOutCollection | undefined;
  #started = false;
  /** Handed to the logical unit (LunPort.start returned with the command running there). */
  #submitted = false;
  #finished = false;
  /** How the task ends once aborted; undefined while it is not. */
  #abortEnd: TaskAbortEnd | undefined;

  /** Made only when someone waits (see done): most tasks end with nobody waiting, and cost no promise. */
  #done: Deferred | undefined;

  /**
   * `out` sends what the task produces; `onFault` hears of exceptions (logged
   * by the caller): one from the logical unit ends the command CHECK
   * CONDITION, one while its answer was being sent ends it without more (what
   * went out may be partial; the initiator's timeout recovers); `onFinish`
   * runs once when the task has ended, if it had started.
   */
  constructor(cmd: ScsiCommandPdu, lun: { readonly blockSize: number; readonly maxCommandBytes: number }, limits: TaskLimits, port: LunPort, hooks: TaskHooks) {
    super(cmd, lun);
    this.#limits = limits;
    this.#port = port;
    this.#hooks = hooks;
    const out = this.plan.direction === 'out';
    // Unsolicited data comes only with W set (§3.2.4.2); a block WRITE is 'out' whatever its flags (transfer.ts).
    this.#dataOut = out || cmd.write ? new DataOutCollection(this, cmd, out ? this.plan.length : 0, limits, hooks) : undefined;
  }

  /** True once nothing more is expected from the initiator for this task. */
  get dataComplete(): boolean {
    return this.#dataOut?.complete ?? true;
  }

  /** Whether the initiator may still send Data-Out for the task: an unanswered R2T, or its open unsolicited burst. */
  get owesDataOut(): boolean {
    return !this.#finished && this.#dataOut?.open === true;
  }

  /**
   * Started, not ended, and not handed to the logical unit: waiting for Data-Out, for older tasks
   * (task-set-order.ts), for its port to admit it, or held (see hold). The target aborts such a task itself;
   * the unit never saw it.
   */
  get beforeUnit(): boolean {
    return this.#started && !this.#finished && !this.#executing;
  }

  /** Whether a task management function holds the task short of the unit (hold): that function ends it. */
  get held(): boolean {
    return this.#held !== undefined;
  }

  /** OrderedTask: started, and neither at the unit nor ended (unlike beforeUnit, also while its answer goes out). */
  get unsubmitted(): boolean {
    return this.#started && !this.#submitted && !this.#finished;
  }

  /**
   * Runs the task: reserves its Data-Out buffer, solicits what is missing, executes when all data is in. Call
   * once, in CmdSN order. A task made ahead of its turn (session.ts) holds only its unsolicited data until then.
   */
  start(): void {
    this.#started = true;
    this.#hooks.taskSetOrder?.enter(this);
    if (this.#brokenEarly) this.#fail();
    else {
      this.#dataOut?.reserve();
      this.advance();
    }
  }

  /**
   * A task management function covers the task and will abort it (RFC 7143
   * §4.2.3.3): it is held short of the logical unit — no further R2T, and
   * not executed when its data is in — while the Data-Out answering its
   * outstanding R2Ts is taken (and dropped with the task). Returns a promise
   * that settles once none of its R2Ts is outstanding (each answered up to its
   * F bit) or the task has ended; undefined when none is outstanding now. A
   * task at the unit is not held (the unit aborts it), nor is one that ended.
   */
  hold(): Promise<void> | undefined {
    if (!this.beforeUnit) return undefined;
    this.#held ??= deferred();
    if (this.#r2tsOutstanding()) return this.#held.promise;
    this.#held.resolve();
    return undefined;
  }

  /** A Data-Out PDU for this task (matched by ITT). */
  dataOut(pdu: DataOutPdu): DataOutFault | undefined {
    if (this.#finished) return undefined;
    return this.#took(this.#dataOut === undefined ? 'unknown-ttt' : this.#dataOut.receive(pdu));
  }

  /**
   * A Data-Out PDU for this task that the connection Rejected and discarded, `why`: its data digest failed (RFC
   * 7143 §7.8), or its segment was over MaxRecvDataSegmentLength (§13.12). It cannot be sent again (ERL 0 has
   * no recovery R2T), so the task never reaches the unit and ends CHECK CONDITION (PROTOCOL SERVICE CRC ERROR,
   * §11.4.7.2; DATA PHASE ERROR), sent only once all the data is in (§7.8, §11.17.1: each outstanding R2T
   * answered up to its F bit, and the unsolicited burst); a Reject alone ends no task (§7.3). Meanwhile it
   * solicits nothing and keeps nothing, and a task management function may end it first. The PDU counts in
   * its sequence by its header (DataSN, Buffer Offset, DataSegmentLength, F bit) as dataOut() has it; one that
   * names no burst of the task changes nothing ('unknown-ttt').
   */
  dataDiscarded(header: DataOutHeader, why: DataOutDiscard): DataOutFault | undefined {
    if (this.#finished) return undefined;
    return this.#took(this.#dataOut === undefined ? 'unknown-ttt' : this.#dataOut.receiveDiscarded(header, why));
  }

  /** What a Data-Out PDU the collection took or refused does to the task; returns `fault`. */
  #took(fault: DataOutFault | undefined): DataOutFault | undefined {
    if (fault === undefined) this.advance();
    // One that names no burst of the task is refused and changes nothing; any other breaks the sequence.
    else if (fault !== 'unknown-ttt') this.#fail();
    return fault;
  }

  /**
   * ABORT TASK and friends (ERL 0): the task ends without a response, or with
   * TASK ABORTED status for `'task-aborted'` (SAM-5: TAS 1, a command another
   * I_T nexus aborted). A command the logical unit is running is asked to
   * stop, and the task ends so once the unit has answered, whatever the
   * answer. A task that is aborted already keeps the ending it was given.
   */
  abort(end: TaskAbortEnd = 'no-status'): void {
    if (this.#finished) return;
    this.#abortEnd ??= end;
    if (this.#executing) this.#call?.abort();
    else this.#endAborted();
  }

  get aborted(): boolean {
    return this.#abortEnd !== undefined;
  }

  #executing = false;

  /** TaskAdmission's: what withdraws the task from the gate, order or port that keeps it; undefined otherwise. */
  protected admission: (() => void) | undefined;
  /** TaskAdmission's: the Data-In bytes the connection's gate counts for the task since it passed it; 0 before. */
  protected dataInGateBytes = 0;

  /** LunCommand: the Data-Out collected ('out'); read when the task goes to the unit, all of it in by then. */
  get dataOutBuffer(): Uint8Array | undefined {
    return this.plan.direction === 'out' ? this.#dataOut?.buffer : undefined;
  }

  /** LunCommand: where the Data-In lands, when the connection gave a room for it (takeDataInRoom). */
  get dataInRoom(): Uint8Array | undefined {
    return this.#room;
  }

  /** A Data-In room from the connection (hooks.dataInRoom), taken as the task goes to the unit. */
  #room: Uint8Array | undefined;

  /** Set by hold(): settles when the task owes no R2T answer any more. */
  #held: Deferred | undefined;

  /** TaskAdmission: moves the task on as far as it goes now, short of the unit while a gate keeps it. */
  protected advance(): void {
    if (!this.#started || this.#finished || this.#executing || this.admission !== undefined) return;
    if (this.#held !== undefined) {
      if (!this.#r2tsOutstanding()) this.#held.resolve();
      return;
    }
    const data = this.#dataOut;
    if (data !== undefined) {
      if (data.discarded !== undefined || data.refused) {
        this.#endUnkept(data);
        return;
      }
      // No R2T and not to the unit without the buffer; granted() comes back here.
      if (data.waiting) return;
      data.solicit();
      // receive() already ends a burst answered short; this keeps any other hole from being written as zeros.
      if (data.complete && !data.whole) {
        this.#fail();
        return;
      }
    }
    // Executes now if the gates admit the task; else once they do (admitted), if it is still to run then.
    if (this.dataComplete && this.admit(this.#hooks, this.#port)) this.#execute();
  }

  /** DataOutClaim: the budget grants the task its buffer. */
  granted(): void {
    this.#dataOut?.granted();
    this.advance();
  }

  #execute(): void {
    this.#executing = true;
    try {
      // Inside: a room that cannot be had (an allocation failing) fails this command like the unit's faults.
      this.#room = takeDataInRoom(this.plan, this.edtl, this.#limits, this.#hooks);
      const call = this.#port.start(this);
      // An answer given inside start() has ended the command already: nothing to keep. An abort that came
      // while start() ran found no call yet; it is sent now.
      if (this.#isExecuting()) {
        this.#call = call;
        this.#submitted = true;
        if (this.#abortEnd !== undefined) call.abort();
      }
    } catch (e) {
      // A fault below the transport (a bug, not anything the initiator sent) fails this command only: the
      // target keeps serving every other task and session.
      this.#fault(e);
      this.answered({ status: ScsiStatus.CHECK_CONDITION, sense: INTERNAL_TARGET_FAILURE_SENSE, aborted: false });
    }
    // Only now, so that the tasks it lets go reach the unit behind it. One that ended inside has told it (#finish).
    if (this.#submitted) this.#hooks.taskSetOrder?.leave(this, false);
  }

  /** LunCommand: the logical unit's answer (once; a second one, after a fault, is ignored). */
  answered(answer: ScsiAnswer): void {
    if (!this.#executing) return;
    // Told while the task still counts as at the unit, so that ending the preempted nexuses' tasks that have
    // not reached it leaves this one alone (it is the PERSISTENT RESERVE OUT, and its own nexus may be one).
    // Told however it ended: aborted by its sender (ABORT TASK, the connection dropping) or by a task set
    // function while it waited, the preemption stands, and their held tasks must not run. A function that
    // ends those tasks itself finds them ended (ending one twice does nothing), and the unit raises each
    // COMMANDS CLEARED BY ANOTHER INITIATOR once.
    if (answer.preempted !== undefined) this.#tellPreempted(answer.preempted);
    this.#executing = false;
    this.#call = undefined;
    if (this.#abortEnd !== undefined || answer.aborted) this.#endAborted();
    else this.#answer(answer);
  }

  #tellPreempted(nexuses: readonly string[]): void {
    try {
      this.#hooks.onPreempted?.(nexuses, this);
    } catch (e) {
      // Inside the logical unit's completion path: reported, and the command still gets its status.
      this.#fault(e);
    }
  }

  /** Ends an aborted task as its abort said (the unit's own abort of the command: without a response). */
  #endAborted(): void {
    if (this.#abortEnd === 'task-aborted') this.#answer(TASK_ABORTED_ANSWER);
    else this.#finish();
  }

  /** Sends the command's status (and Data-In); the task ends. */
  #answer(answer: ScsiAnswer): void {
    try {
      this.#respond(answer);
    } catch (e) {
      // Never into the logical unit's completion path (nor a task manager's): the fault is reported, the task ends.
      this.#fault(e);
      this.#finish();
    }
  }

  /** Whether the logical unit still owes an answer (a method, so that checks after a call are not narrowed away). */
  #isExecuting(): boolean {
    return this.#executing;
  }

  /** Settles when the task has sent its status (or was aborted). */
  get done(): Promise<void> {
    if (this.#finished) return Promise.resolve();
    this.#done ??= deferred();
    return this.#done.promise;
  }

  #respond(a: ScsiAnswer): void {
    const room = this.#room;
    this.#room = undefined;
    if (this.plan.direction === 'in') sendReadAnswer(this, this.#hooks, this.#limits, a, this.edtl, this.plan.commandLength, room, this.#r2tSN());
    // Only an 'out' collection keeps any of its data (task-data-out.ts).
    else sendResponse(this, this.#hooks, a.status, residualOf(this.edtl, this.plan.commandLength, this.#dataOut?.kept ?? 0), a.sense, this.#r2tSN());
    this.#finish();
  }

  /**
   * A task whose Data-Out is not kept, after a discarded Data-Out (dataDiscarded) or refused a buffer by the
   * Data-Out budget, answered once none is owed (the initiator sends its unsolicited data to the F bit in any
   * case; sendUnkeptResponse).
   */
  #endUnkept(data: DataOutCollection): void {
    if (data.open) return;
    sendUnkeptResponse(this, this.#hooks, data);
    this.#finish();
  }

  /** A Data-Out broke its sequence before the task started: it ends DATA PHASE ERROR as it starts, in its turn. */
  #brokenEarly = false;

  #fail(): void {
    if (this.#executing || this.#finished) return;
    if (!this.#started) {
      this.#brokenEarly = true;
      return;
    }
    // A held task is being aborted by its own session's task management: it ends without a response (SAM-5).
    if (this.#held === undefined) sendDataPhaseError(this, this.#hooks, this.#r2tSN());
    this.#finish();
  }

  #finish(): void {
    if (this.#finished) return;
    this.#finished = true;
    this.withdraw();
    if (this.#started && !this.#submitted) this.#hooks.taskSetOrder?.leave(this, true);
    const data = this.#dataOut;
    if (data?.open === true) this.#hooks.onDataOwed?.(data.openTtts(), this);
    data?.close();
    this.#done?.resolve();
    this.#held?.resolve();
    // One aborted before it started (made ahead of its turn) was never in its session's task table.
    if (this.#started) this.#hooks.onFinish?.(this);
    // Last, as a grant it makes, or the gate it leaves, may start another task at once.
    data?.giveBack();
    this.leaveDataInGate(this.#hooks.dataInGate);
  }

  /** Whether an R2T of the task is sent and not answered to its F bit. */
  #r2tsOutstanding(): boolean {
    return (this.#dataOut?.outstandingR2ts ?? 0) > 0;
  }

  /** The R2Ts the task sent (none without a collection): ExpDataSN of a response after no Data-In. */
  #r2tSN(): number {
    return this.#dataOut?.r2tSN ?? 0;
  }

  #fault(e: unknown): void {
    this.#hooks.onFault?.(e, this);
  }
}
