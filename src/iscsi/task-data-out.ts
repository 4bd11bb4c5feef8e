// The Data-Out a SCSI task collects (RFC 7143 §3.2.4.2, §11.7, §11.8): its
// immediate data and unsolicited burst (InitialR2T=No: at most
// FirstBurstLength in all, §13.10, §13.11, §13.14), then solicited bursts,
// each asked for by an R2T of at most MaxBurstLength (§13.13) with at most
// MaxOutstandingR2T unanswered (§13.17). It owns the sequence rules: DataSN
// order within each burst, Buffer Offsets exactly where the burst has got to
// (DataPDUInOrder=Yes), no more data than the burst asked for and, by its F
// bit, no less (§11.8.4: an R2T asks for exactly its Desired Data Transfer
// Length; §11.7.1: F ends the sequence that answers it); and the
// buffer: reserved from the target's Data-Out budget (data-out-budget.ts)
// as the task starts, before anything is solicited, made at the first data
// that goes into it, given back once as the task ends. A command that brings
// unsolicited data cannot wait for its buffer, as that data comes anyway: it
// has it at once, as the collection is made (as the command arrives, for one
// held for an earlier CmdSN: session.ts), or none, 'refused', and then the
// task ends TASK SET FULL (the SAM-5 status for a command the target lacks
// the resources to take; lun.ts answers CAM's RESRC_UNAVAIL so too). So a
// task keeps no data outside a buffer the budget counts. After a Data-Out the
// connection discarded (a data digest error, §7.8, or a segment over
// MaxRecvDataSegmentLength, §13.12), counted by its header, or refused a
// buffer, it follows the sequences only and keeps nothing.
// Its own module: the task (task.ts) decides what a broken sequence or a
// discarded Data-Out means for the command; only a task that may receive
// Data-Out makes one.

import { RESERVED_TAG, type DataOutHeader, type DataOutPdu, type ScsiCommandPdu } from './pdu-types.js';
import type { DataOutClaim } from './data-out-budget.js';
import type { DataOutDiscard, DataOutFault, TaskHooks, TaskIdentity, TaskLimits } from './task-types.js';

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
 * One task's Data-Out: its bursts, its buffer and its part in the Data-Out budget. The task is the budget's
 * claim (it hears granted() and passes it on here) and the R2Ts carry its ITT and LUN.
 */
export class DataOutCollection {
  readonly #task: TaskIdentity & DataOutClaim;
  readonly #limits: TaskLimits;
  readonly #hooks: TaskHooks;
  /** Bytes of Data-Out kept, and solicited: the plan's length for 'out'; 0 otherwise (what comes is dropped). */
  readonly #length: number;
  /**
   * Data-Out collected, #length bytes; empty until the first of it comes with the budget's grant in hand
   * (a WRITE whose initiator never sends its data makes the target allocate nothing).
   */
  #data: Uint8Array = EMPTY;
  /** Where the buffer stands with the budget (hooks.dataOutBudget); undefined: it has no part in it. */
  #reservation: 'waiting' | 'granted' | 'refused' | undefined;
  /**
   * Bytes of Data-Out put into the buffer, each counted once (the offsets are checked in order): all #length of
   * them before the unit gets the buffer (whole), so that no byte the initiator did not send is written.
   */
  #kept = 0;
  /** The unsolicited burst (immediate data counts into it), if the initiator may still send some. */
  #unsolicited: Burst | undefined;
  /** The R2Ts not yet answered to their F bit, by TTT; made at the first R2T (most writes never solicit). */
  #bursts: Map<number, Burst> | undefined;
  #nextSolicit = 0;
  #r2tSN = 0;
  /** Why the connection first discarded a Data-Out of the task (receiveDiscarded): since, the sequences are followed and nothing is kept. */
  #discarded: DataOutDiscard | undefined;

  /**
   * The buffer is `length` bytes (the plan's length for 'out', else 0). A command that brings unsolicited data
   * takes it from the budget now, or is refused, and its immediate data is kept (copied into the buffer) or
   * dropped: nothing of the PDU is kept, so a task made ahead of its turn (session.ts) pins no receive chunk.
   * One that brings none reserves its buffer as the task starts (reserve).
   */
  constructor(task: TaskIdentity & DataOutClaim, cmd: ScsiCommandPdu, length: number, limits: TaskLimits, hooks: TaskHooks) {
    this.#task = task;
    this.#limits = limits;
    this.#hooks = hooks;
    this.#length = length;
    // §3.2.4.2, §13.10, §13.11: unsolicited data is the immediate data, plus — when InitialR2T=No and the
    // command PDU is not final — unsolicited Data-Out PDUs up to min(FirstBurstLength, EDTL) in all.
    const unsolicited = !cmd.write ? 0 : cmd.final ? cmd.data.length : Math.min(cmd.expectedDataTransferLength, limits.firstBurstLength);
    const budget = hooks.dataOutBudget;
    if (length > 0 && budget !== undefined && unsolicited > 0) this.#reservation = budget.take(length) ? 'granted' : 'refused';
    if (unsolicited > 0) {
      const burst: Burst = { ttt: RESERVED_TAG, offset: 0, length: unsolicited, received: 0, nextDataSN: 0 };
      if (cmd.data.length > 0) this.#accept(burst, 0, cmd.data.length, cmd.data);
      if (!cmd.final) this.#unsolicited = burst;
    }
    this.#nextSolicit = Math.min(unsolicited, length);
  }

  /**
   * As the task starts: a buffer no unsolicited data took reserves its bytes, granted now or waiting. Not
   * before, so that within a session the budget is asked in the order the commands run (CmdSN order), not
   * the order they came: a command waiting for an earlier CmdSN that reserved first would keep that earlier
   * one waiting for bytes it cannot give back before the earlier one has run.
   */
  reserve(): void {
    const budget = this.#hooks.dataOutBudget;
    if (this.#length > 0 && budget !== undefined && this.#reservation === undefined) this.#reservation = budget.reserve(this.#task, this.#length) ? 'granted' : 'waiting';
  }

  /** True once nothing more is expected from the initiator. */
  get complete(): boolean {
    return this.#unsolicited === undefined && this.outstandingR2ts === 0 && this.#nextSolicit >= this.#length;
  }

  /** Whether the initiator may still send Data-Out on a burst: an unanswered R2T, or the unsolicited one. */
  get open(): boolean {
    return this.outstandingR2ts > 0 || this.#unsolicited !== undefined;
  }

  /** R2Ts sent and not answered to their F bit. */
  get outstandingR2ts(): number {
    return this.#bursts?.size ?? 0;
  }

  /** The R2Ts sent: the R2TSN of the next one, and the ExpDataSN of a response that follows no Data-In (sendResponse). */
  get r2tSN(): number {
    return this.#r2tSN;
  }

  /** The reservation waits for the budget: nothing is solicited, and the task does not go to the unit. */
  get waiting(): boolean {
    return this.#reservation === 'waiting';
  }

  /** The budget had no buffer for a command that brings unsolicited data: nothing is kept or solicited, and the task ends TASK SET FULL. */
  get refused(): boolean {
    return this.#reservation === 'refused';
  }

  /** Why the connection discarded a Data-Out of the task, if it did (receiveDiscarded): nothing is kept since. */
  get discarded(): DataOutDiscard | undefined {
    return this.#discarded;
  }

  /** The Data-Out kept: all #length bytes once whole (the task hands it to the unit only then). */
  get buffer(): Uint8Array {
    return this.#data;
  }

  /** Bytes kept: what the command moved, for its residual. */
  get kept(): number {
    return this.#kept;
  }

  /** Every byte of the buffer came from the initiator: what a complete collection must be before the unit gets it. */
  get whole(): boolean {
    return this.#kept === this.#length;
  }

  /**
   * A Data-Out PDU: checked against the burst it names; undefined when accepted (its data kept). Its F bit ends
   * the burst, which must then hold all it asked for: one ended short ('short-burst', the burst closed) would
   * leave a hole no R2T asks for again.
   */
  receive(pdu: DataOutPdu): DataOutFault | undefined {
    return this.#receive(pdu, pdu.data.length, pdu.data);
  }

  /**
   * A Data-Out the connection Rejected and discarded, `why` (§7.8, §13.12): it counts in its burst by its header
   * (DataSN, Buffer Offset, DataSegmentLength, F bit), as receive() has it, and from now on the sequences are
   * followed and nothing is kept. 'unknown-ttt', changing nothing, when it names no burst of the task.
   */
  receiveDiscarded(header: DataOutHeader, why: DataOutDiscard): DataOutFault | undefined {
    if (this.#burstOf(header.ttt) === undefined) return 'unknown-ttt';
    this.#discarded ??= why;
    return this.#receive(header, header.dataSegmentLength, undefined);
  }

  /** Sends the R2Ts the limits allow for what is still to solicit. */
  solicit(): void {
    // §13.17: at most MaxOutstandingR2T R2Ts unanswered; each asks for at most MaxBurstLength (§13.13).
    while (this.#nextSolicit < this.#length && this.outstandingR2ts < this.#limits.maxOutstandingR2T) {
      const length = Math.min(this.#limits.maxBurstLength, this.#length - this.#nextSolicit);
      const burst: Burst = { ttt: nextTtt(), offset: this.#nextSolicit, length, received: 0, nextDataSN: 0 };
      this.#bursts ??= new Map();
      this.#bursts.set(burst.ttt, burst);
      this.#nextSolicit += length;
      this.#hooks.out({ kind: 'r2t', itt: this.#task.itt, lun: this.#task.lun, r2tSN: this.#r2tSN++, ttt: burst.ttt, bufferOffset: burst.offset, length });
    }
  }

  /** The budget granted the buffer (DataOutClaim.granted, through the task); no Data-Out came while it waited (none was unsolicited or asked for). */
  granted(): void {
    this.#reservation = 'granted';
  }

  /** The Target Transfer Tags the initiator may still send Data-Out on (RESERVED_TAG: the unsolicited burst). */
  openTtts(): number[] {
    const ttts = this.#bursts === undefined ? [] : [...this.#bursts.keys()];
    if (this.#unsolicited !== undefined) ttts.push(RESERVED_TAG);
    return ttts;
  }

  /** The task ended: no burst stays open. */
  close(): void {
    this.#bursts?.clear();
    this.#unsolicited = undefined;
  }

  /**
   * Ends the part in the Data-Out budget: a waiting reservation leaves the queue, a granted one is released,
   * after the buffer is dropped so that the bytes the budget counts free are free. The task calls it last as
   * it ends, as a grant it makes may start another task at once.
   */
  giveBack(): void {
    const reservation = this.#reservation;
    this.#reservation = undefined;
    this.#data = EMPTY;
    if (reservation === 'waiting') this.#hooks.dataOutBudget?.withdraw(this.#task);
    else if (reservation === 'granted') this.#hooks.dataOutBudget?.release(this.#length);
  }

  /** The burst a Data-Out with Target Transfer Tag `ttt` belongs to: the unsolicited one, or an R2T's. */
  #burstOf(ttt: number): Burst | undefined {
    return ttt === RESERVED_TAG ? this.#unsolicited : this.#bursts?.get(ttt);
  }

  /** A Data-Out of `length` bytes, `data` (none when discarded), checked against the burst it names. */
  #receive(pdu: Omit<DataOutPdu, 'data'>, length: number, data: Uint8Array | undefined): DataOutFault | undefined {
    const burst = this.#burstOf(pdu.ttt);
    if (burst === undefined) return 'unknown-ttt';
    const fault = pdu.dataSN !== burst.nextDataSN ? 'bad-datasn' : this.#accept(burst, pdu.bufferOffset, length, data);
    if (fault !== undefined) return fault;
    burst.nextDataSN++;
    if (!pdu.final) return undefined;
    if (burst === this.#unsolicited) this.#unsolicited = undefined;
    else this.#bursts?.delete(burst.ttt);
    return burst.received === burst.length ? undefined : 'short-burst';
  }

  #accept(burst: Burst, offset: number, length: number, data: Uint8Array | undefined): DataOutFault | undefined {
    // §11.7.5: Buffer Offset is absolute; with DataPDUInOrder=Yes it is exactly where the burst has got to.
    if (offset !== burst.offset + burst.received) return 'bad-offset';
    if (burst.received + length > burst.length) return 'too-much-data';
    burst.received += length;
    // After a discarded Data-Out, or refused a buffer, only the sequence is followed: nothing is kept.
    if (data === undefined || this.#discarded !== undefined || this.#reservation === 'refused') return undefined;
    // Data past what the command uses (an EDTL larger than the command) is accepted and dropped.
    const room = this.#length - offset;
    if (room <= 0 || data.length === 0) return undefined;
    const kept = room >= data.length ? data : data.subarray(0, room);
    this.#buffer().set(kept, offset);
    this.#kept += kept.length;
    return undefined;
  }

  /** The Data-Out buffer, made at the first data that goes into it. */
  #buffer(): Uint8Array {
    if (this.#data.length === 0) this.#data = new Uint8Array(this.#length);
    return this.#data;
  }
}
