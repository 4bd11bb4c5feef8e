// One SCSI task of a session (RFC 7143 §3.2.x, §11.3–§11.8): the SCSI
// Command PDU, its Data-Out (immediate data, an unsolicited burst, then
// solicited bursts answered to R2Ts), its execution through the logical
// unit's pass periph, and its Data-In and status. The task owns the data
// rules: DataSN order within each sequence, Buffer Offsets inside what was
// solicited, no more data than asked for. A Data-Out that breaks them ends
// the task with CHECK CONDITION (ABORTED COMMAND), as ERL 0 cannot recover
// within the command (§7.1.4.2). A Data-Out that failed its data digest
// (discarded by the connection) ends it the same way once the data still owed
// is in, as §7.8 asks. A task management function about to abort
// the task may hold it short of the unit while its outstanding R2Ts are
// answered (§4.2.3.3); a task that ends with Data-Out still owed says which
// sequences, so that the session drops what still comes on them. A task whose
// data is in goes to the unit once its port admits it (LunPort.admit: the
// target may hold the LUN's commands back a while, preempt-gate.ts); until
// then it counts as not at the unit. A task that collects Data-Out first
// reserves its buffer from the target's Data-Out budget (data-out-budget.ts)
// and, until granted, solicits nothing and does not go to the unit; what
// comes unsolicited meanwhile (immediate data, InitialR2T=No bursts: at most
// FirstBurstLength, §13.14) is kept and copied in at the grant. Whichever way
// the task ends, the reservation is given back once (#finish). What the task
// and its session exchange (limits, outputs, hooks) is in task-types.ts; how
// its answer is laid out as Data-In PDUs and a SCSI Response, in
// task-answer.ts.

import { ScsiStatus } from '../scsi/status.js';
import { planTransfer, residualOf, type TransferPlan } from './transfer.js';
import { DATA_PHASE_ERROR_SENSE, INTERNAL_TARGET_FAILURE_SENSE, PROTOCOL_SERVICE_CRC_ERROR_SENSE, TASK_ABORTED_ANSWER, sendReadAnswer, sendResponse, takeDataInRoom } from './task-answer.js';
import { RESERVED_TAG, type DataOutPdu, type Residual, type ScsiCommandPdu } from './pdu-types.js';
import type { LunAdmittable, LunCall, LunCommand, LunPort, ScsiAnswer, TaskAttribute } from './lun.js';
import type { DataOutFault, TaskAbortEnd, TaskHooks, TaskLimits } from './task-types.js';
import type { DataOutClaim } from './data-out-budget.js';
import { deferred, type Deferred } from './deferred.js';

/** RFC 7143 §11.3.1.2 ATTR → SAM-5 task attribute: 0 untagged and 4 ACA run as simple (no ACA support). */
const ATTR_TAGS: readonly (TaskAttribute | undefined)[] = ['simple', 'simple', 'ordered', 'head', 'simple'];

const EMPTY = new Uint8Array(0);

/** One outstanding solicitation: the R2T's window and the DataSN expected next in it. */
interface Burst {
  readonly ttt: number;
  readonly offset: number;
  readonly length: number;
  received: number;
  nextDataSN: number;
}

let tttCounter = 0;
/** Target Transfer Tags, unique per target process, never 0xFFFFFFFF (§11.8.1.5 reserves it). */
function nextTtt(): number {
  tttCounter = tttCounter === 0xffff_fffe ? 1 : tttCounter + 1;
  return tttCounter;
}

/**
 * The task is its own LunCommand, LunAdmittable and DataOutClaim: the logical unit reads the command from it
 * and answers it, the port admits it, the Data-Out budget grants it its buffer, with no command object or
 * callback made per command.
 */
export class ScsiTask implements LunCommand, LunAdmittable, DataOutClaim {
  readonly itt: number;
  readonly lun: bigint;
  readonly plan: TransferPlan;
  readonly #edtl: number;
  readonly #tag: TaskAttribute;
  readonly #limits: TaskLimits;
  readonly #port: LunPort;
  /** Kept whole, not one field per hook: a session passes the same object to every task it starts. */
  readonly #hooks: TaskHooks;
  /** The command while the logical unit runs it (ABORT TASK goes through it). */
  #call: LunCall | undefined;
  /** Bytes of Data-Out the task keeps: plan.length for 'out'; 0 otherwise (what comes is dropped). */
  readonly #outLength: number;
  /**
   * Data-Out collected, #outLength bytes; empty until the first of it comes with the budget's grant in hand
   * (a WRITE whose initiator never sends its data makes the target allocate nothing).
   */
  #data: Uint8Array = EMPTY;
  /** Where the task's buffer stands with the budget (hooks.dataOutBudget); undefined: it has no part in it. */
  #reservation: 'waiting' | 'granted' | undefined;
  /** Data-Out accepted while the reservation waits, copied into #data at the grant. */
  #early: { readonly offset: number; readonly data: Uint8Array }[] | undefined;
  #have = 0;
  /** The unsolicited burst (immediate data counts into it), if the initiator may still send some. */
  #unsolicited: Burst | undefined;
  /** The R2Ts not yet answered to their F bit, by TTT; made at the first R2T (reads and most writes never solicit). */
  #bursts: Map<number, Burst> | undefined;
  #nextSolicit = 0;
  #r2tSN = 0;
  #started = false;
  #finished = false;
  /** How the task ends once aborted; undefined while it is not. */
  #abortEnd: TaskAbortEnd | undefined;
  /** A Data-Out of the task failed its data digest (dataDigestError): it ends CHECK CONDITION once its data is in. */
  #digestError = false;

  /** Made only when someone waits (see done): most tasks end with nobody waiting, and cost no promise. */
  #done: Deferred | undefined;

  /**
   * `out` sends what the task produces; `onFault` hears of exceptions (logged
   * by the caller): one from the logical unit ends the command CHECK
   * CONDITION, one while its answer was being sent ends it without more (what
   * went out may be partial; the initiator's timeout recovers); `onFinish`
   * runs once when the task has ended.
   */
  constructor(cmd: ScsiCommandPdu, lun: { readonly blockSize: number; readonly maxCommandBytes: number }, limits: TaskLimits, port: LunPort, hooks: TaskHooks) {
    this.itt = cmd.itt;
    this.lun = cmd.lun;
    this.#edtl = cmd.expectedDataTransferLength;
    this.#tag = ATTR_TAGS[cmd.attr] ?? 'simple';
    this.#limits = limits;
    this.#port = port;
    this.#hooks = hooks;
    this.plan = planTransfer(cmd.cdb, cmd, cmd.expectedDataTransferLength, lun.blockSize, lun.maxCommandBytes);
    this.#outLength = this.plan.direction === 'out' ? this.plan.length : 0;
    if (this.#outLength > 0) {
      const budget = hooks.dataOutBudget;
      if (budget !== undefined) this.#reservation = budget.reserve(this, this.#outLength) ? 'granted' : 'waiting';
    }
    // §3.2.4.2, §13.10, §13.11: unsolicited data is the immediate data, plus — when InitialR2T=No and the
    // command PDU is not final — unsolicited Data-Out PDUs up to min(FirstBurstLength, EDTL) in all.
    const unsolicited = !cmd.write ? 0 : cmd.final ? cmd.data.length : Math.min(this.#edtl, limits.firstBurstLength);
    if (unsolicited > 0) {
      const burst: Burst = { ttt: RESERVED_TAG, offset: 0, length: unsolicited, received: 0, nextDataSN: 0 };
      if (cmd.data.length > 0) this.#accept(burst, 0, cmd.data);
      if (!cmd.final) this.#unsolicited = burst;
    }
    this.#nextSolicit = this.plan.direction === 'out' ? Math.min(unsolicited, this.plan.length) : 0;
  }

  /** True once nothing more is expected from the initiator for this task. */
  get dataComplete(): boolean {
    return this.#unsolicited === undefined && this.#outstandingR2ts() === 0 && (this.plan.direction !== 'out' || this.#nextSolicit >= this.plan.length);
  }

  /**
   * Started, not ended, and not handed to the logical unit: waiting for Data-Out, for its port to admit it,
   * or held (see hold). The target aborts such a task itself; the unit never saw it.
   */
  get beforeUnit(): boolean {
    return this.#started && !this.#finished && !this.#executing;
  }

  /** Whether a task management function holds the task short of the unit (hold): that function ends it. */
  get held(): boolean {
    return this.#held !== undefined;
  }

  /** Runs the task: solicits what is missing, executes when all data is in. Call once, in CmdSN order. */
  start(): void {
    this.#started = true;
    this.#advance();
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
    if (this.#outstandingR2ts() > 0) return this.#held.promise;
    this.#held.resolve();
    return undefined;
  }

  /** A Data-Out PDU for this task (matched by ITT). */
  dataOut(pdu: DataOutPdu): DataOutFault | undefined {
    if (this.#finished) return undefined;
    const burst = this.#burstOf(pdu.ttt);
    if (burst === undefined) return 'unknown-ttt';
    const fault = pdu.dataSN !== burst.nextDataSN ? 'bad-datasn' : this.#accept(burst, pdu.bufferOffset, pdu.data);
    if (fault !== undefined) {
      this.#fail();
      return fault;
    }
    burst.nextDataSN++;
    if (pdu.final) {
      if (burst === this.#unsolicited) this.#unsolicited = undefined;
      else this.#bursts?.delete(burst.ttt);
    }
    this.#advance();
    return undefined;
  }

  /**
   * A Data-Out PDU for this task that failed its data digest, Rejected and discarded by the connection (RFC
   * 7143 §7.8). ERL 0 has no recovery R2T, so the task never reaches the unit and ends CHECK CONDITION,
   * PROTOCOL SERVICE CRC ERROR (§11.4.7.2), sent only once all the data is in (§7.8: each outstanding R2T
   * answered up to its F bit, and the unsolicited burst); meanwhile it solicits nothing and keeps nothing, and
   * a task management function may end it first. Only its data failed, so the PDU counts in its sequence by
   * its header (DataSN, Buffer Offset, length, F bit); one that names no burst of the task changes nothing.
   */
  dataDigestError(pdu: DataOutPdu): void {
    if (this.#finished || this.#burstOf(pdu.ttt) === undefined) return;
    this.#digestError = true;
    this.dataOut(pdu);
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

  /** The command's operation code (byte 0 of its CDB). */
  get opcode(): number {
    return this.plan.cdb[0] ?? 0;
  }

  #executing = false;

  /** Withdraws the task from its port while it waits to be admitted (LunPort.admit); undefined otherwise. */
  #admission: (() => void) | undefined;

  /** LunCommand: the CDB, cut to the command's own length for a block command (transfer.ts). */
  get cdb(): Uint8Array {
    return this.plan.cdb;
  }

  get direction(): 'in' | 'out' | 'none' {
    return this.plan.direction;
  }

  /** LunCommand: the Data-Out collected ('out'); read when the task goes to the unit, all of it in by then. */
  get dataOutBuffer(): Uint8Array | undefined {
    if (this.plan.direction !== 'out') return undefined;
    return this.#have === this.#outLength ? this.#data : this.#data.subarray(0, this.#have);
  }

  /** LunCommand: the Data-In room ('in'). */
  get dataInLength(): number | undefined {
    return this.plan.direction === 'in' ? this.plan.length : undefined;
  }

  /** LunCommand: where the Data-In lands, when the connection gave a room for it (takeDataInRoom). */
  get dataInRoom(): Uint8Array | undefined {
    return this.#room;
  }

  /** A Data-In room from the connection (hooks.dataInRoom), taken as the task goes to the unit. */
  #room: Uint8Array | undefined;

  get tag(): TaskAttribute {
    return this.#tag;
  }

  /** Set by hold(): settles when the task owes no R2T answer any more. */
  #held: Deferred | undefined;

  /** The burst a Data-Out with Target Transfer Tag `ttt` belongs to: the unsolicited one, or an R2T's. */
  #burstOf(ttt: number): Burst | undefined {
    return ttt === RESERVED_TAG ? this.#unsolicited : this.#bursts?.get(ttt);
  }

  #accept(burst: Burst, offset: number, data: Uint8Array): DataOutFault | undefined {
    // §11.7.5: Buffer Offset is absolute; with DataPDUInOrder=Yes it is exactly where the burst has got to.
    if (offset !== burst.offset + burst.received) return 'bad-offset';
    if (burst.received + data.length > burst.length) return 'too-much-data';
    burst.received += data.length;
    // After a data digest error only the sequence is followed: the data never goes to the unit (dataDigestError).
    if (this.#digestError) return undefined;
    // Data past what the command uses (an EDTL larger than the command) is accepted and dropped.
    const room = this.#outLength - offset;
    if (room > 0) {
      const piece = room >= data.length ? data : data.subarray(0, room);
      // Copied while waiting: `data` is a view into the received chunk, which it would otherwise keep whole.
      if (this.#reservation === 'waiting') (this.#early ??= []).push({ offset, data: piece.slice() });
      else this.#buffer().set(piece, offset);
    }
    this.#have = Math.max(this.#have, Math.min(offset + data.length, this.#outLength));
    return undefined;
  }

  #advance(): void {
    if (!this.#started || this.#finished || this.#executing || this.#admission !== undefined) return;
    if (this.#held !== undefined) {
      if (this.#outstandingR2ts() === 0) this.#held.resolve();
      return;
    }
    if (this.#digestError) {
      this.#endDigestError();
      return;
    }
    // No R2T and not to the unit without the buffer; granted() comes back here.
    if (this.#reservation === 'waiting') return;
    if (this.plan.direction === 'out') this.#solicit();
    if (this.dataComplete) this.#admit();
  }

  /** Executes now if the port admits the task; else once it does (admitted), if the task is still to run then (#advance). */
  #admit(): void {
    const withdraw = this.#port.admit?.(this);
    if (withdraw === undefined) this.#execute();
    else this.#admission = withdraw;
  }

  /** LunAdmittable: the port lets the task go to the unit now. */
  admitted(): void {
    this.#admission = undefined;
    this.#advance();
  }

  /** DataOutClaim: the budget grants the task its buffer; the Data-Out kept meanwhile goes into it. */
  granted(): void {
    this.#reservation = 'granted';
    if (this.#early !== undefined) for (const p of this.#early) this.#buffer().set(p.data, p.offset);
    this.#early = undefined;
    this.#advance();
  }

  /** The Data-Out buffer, made at the first data that goes into it. */
  #buffer(): Uint8Array {
    if (this.#data.length === 0) this.#data = new Uint8Array(this.#outLength);
    return this.#data;
  }

  #solicit(): void {
    // §13.17: at most MaxOutstandingR2T R2Ts unanswered; each asks for at most MaxBurstLength (§13.13).
    while (this.#nextSolicit < this.plan.length && this.#outstandingR2ts() < this.#limits.maxOutstandingR2T) {
      const length = Math.min(this.#limits.maxBurstLength, this.plan.length - this.#nextSolicit);
      const burst: Burst = { ttt: nextTtt(), offset: this.#nextSolicit, length, received: 0, nextDataSN: 0 };
      this.#bursts ??= new Map();
      this.#bursts.set(burst.ttt, burst);
      this.#nextSolicit += length;
      this.#hooks.out({ kind: 'r2t', itt: this.itt, lun: this.lun, r2tSN: this.#r2tSN++, ttt: burst.ttt, bufferOffset: burst.offset, length });
    }
  }

  #execute(): void {
    this.#executing = true;
    try {
      // Inside: a room that cannot be had (an allocation failing) fails this command like the unit's faults.
      this.#room = takeDataInRoom(this.plan, this.#edtl, this.#limits, this.#hooks);
      const call = this.#port.start(this);
      // An answer given inside start() has ended the command already: nothing to keep. An abort that came
      // while start() ran found no call yet; it is sent now.
      if (this.#isExecuting()) {
        this.#call = call;
        if (this.#abortEnd !== undefined) call.abort();
      }
    } catch (e) {
      // A fault below the transport (a bug, not anything the initiator sent) fails this command only: the
      // target keeps serving every other task and session.
      this.#fault(e);
      this.answered({ status: ScsiStatus.CHECK_CONDITION, sense: INTERNAL_TARGET_FAILURE_SENSE, aborted: false });
    }
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
    if (this.plan.direction !== 'in') {
      const moved = this.plan.direction === 'out' ? this.#have : 0;
      this.#status(a.status, residualOf(this.#edtl, this.plan.commandLength, moved), a.sense, 0);
      return;
    }
    const room = this.#room;
    this.#room = undefined;
    sendReadAnswer(this, this.#hooks, this.#limits, a, this.#edtl, this.plan.commandLength, room, this.#r2tSN);
    this.#finish();
  }

  #status(status: number, residual: Residual, sense: Uint8Array | undefined, expDataSN: number): void {
    sendResponse(this, this.#hooks, status, residual, sense, expDataSN || this.#r2tSN);
    this.#finish();
  }

  /** After a data digest error (dataDigestError): the response §7.8 asks for, once no Data-Out is owed. */
  #endDigestError(): void {
    if (this.#outstandingR2ts() > 0 || this.#unsolicited !== undefined) return;
    this.#status(ScsiStatus.CHECK_CONDITION, residualOf(this.#edtl, this.plan.commandLength, 0), PROTOCOL_SERVICE_CRC_ERROR_SENSE, this.#r2tSN);
  }

  #fail(): void {
    if (this.#executing || this.#finished) return;
    // A held task is being aborted by its own session's task management: it ends without a response (SAM-5).
    if (this.#held !== undefined) {
      this.#finish();
      return;
    }
    this.#status(ScsiStatus.CHECK_CONDITION, residualOf(this.#edtl, this.plan.commandLength, 0), DATA_PHASE_ERROR_SENSE, this.#r2tSN);
  }

  #finish(): void {
    if (this.#finished) return;
    this.#finished = true;
    this.#admission?.();
    this.#admission = undefined;
    if (this.#outstandingR2ts() > 0 || this.#unsolicited !== undefined) this.#owed();
    this.#bursts?.clear();
    this.#unsolicited = undefined;
    this.#done?.resolve();
    this.#held?.resolve();
    this.#hooks.onFinish?.(this);
    this.#giveBack();
  }

  /**
   * Ends the task's part in the Data-Out budget: a waiting reservation leaves the queue, a granted one is
   * released, after the buffer is dropped so that the bytes the budget counts free are free. Last in
   * #finish, as a grant it makes may start another task at once.
   */
  #giveBack(): void {
    const reservation = this.#reservation;
    this.#reservation = undefined;
    this.#data = EMPTY;
    this.#early = undefined;
    if (reservation === 'waiting') this.#hooks.dataOutBudget?.withdraw(this);
    else if (reservation === 'granted') this.#hooks.dataOutBudget?.release(this.#outLength);
  }

  /** Tells onDataOwed which sequences the initiator may still send Data-Out on. */
  #owed(): void {
    const ttts = this.#bursts === undefined ? [] : [...this.#bursts.keys()];
    if (this.#unsolicited !== undefined) ttts.push(RESERVED_TAG);
    this.#hooks.onDataOwed?.(ttts, this);
  }

  /** R2Ts sent and not answered to their F bit. */
  #outstandingR2ts(): number {
    return this.#bursts?.size ?? 0;
  }

  #fault(e: unknown): void {
    this.#hooks.onFault?.(e, this);
  }
}
