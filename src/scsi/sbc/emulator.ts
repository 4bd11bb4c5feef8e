// The SBC device server: executes CDBs against a BlockCommandSet and answers
// with SCSI status, sense and Data-In, as a direct-access block device would.
// Spec: SAM-5 (unit attention, status), SPC-5 (sense formats, D_SENSE), SBC-4 (block commands).
//
// Every command goes through the steps of command-steps.ts (the generic path),
// except READ and WRITE (10)/(16) in the ordinary case, as fast-path-admission.ts
// decides it: this class's fast path answers those as the steps would, without
// their objects and promise steps. The class also holds the unit's state that
// path reads (started, mode parameters, description, per-nexus conditions) and
// the operations that change it; carrying out a MODE SELECT is mode-changes.ts's,
// and task management, LOGICAL UNIT RESET and I_T nexus loss beyond the mode
// parameters are task-management.ts's. What a transport passes with a command
// and gets back is in execute-api.ts.

import { decodeCdb } from '../cdb/decode.js';
import { decodeReadWrite, type ReadWriteFields } from '../cdb/rw.js';
import { executesOnce, type CommandDescriptor } from '../cdb/registry.js';
import type { TaskManagementFunction } from '../cdb/rsoc.js';
import type { AscAscq, SenseData } from '../sense.js';
import type { LogicalUnitInfo } from '../device-info.js';
import type { ModeState } from '../mode-pages.js';
import type { BlockCommandSet, BlockGeometry, BlockStatus, OperationAborted } from './block-command-set.js';
import { IMPLEMENTATION_FAILURE, UnitAttention, blockFailureSense, type BlockOperation } from './errors.js';
import { RangeLock, type RangeHold } from './range-lock.js';
import { DataInPool } from './data-in-pool.js';
import { ACROSS_RESETS, NEVER_ABORTED, checkCondition, type CommandOutcome, type IssueEpoch, type LogicalUnit, type ModeSelection } from './context.js';
import { toSbcResult, type ExecuteOptions, type SbcResult, type StartOptions } from './execute-api.js';
import { Reservations } from './reservations.js';
import { registrationLimit } from './persistent-reserve-out.js';
import { Medium } from './medium.js';
import { mediumAccessFault } from './medium-access.js';
import { CopyManager } from './copy-manager.js';
import { Sanitizer } from './sanitize.js';
import { BackgroundFlush } from './background-flush.js';
import { acrossResets } from './across-resets.js';
import { computeMaxTransferBlocks, describeUnit, unitCommandTable, type SbcEmulatorOptions } from './unit-description.js';
import { configChanges, serialFromId } from './device-config.js';
import { NexusConditions, type NexusState } from './nexus-state.js';
import type { TaskAborter } from './task-abort.js';
import { DEFAULT_TASK_MANAGEMENT_FUNCTIONS, TaskManagement } from './task-management.js';
import { Prepared, type PreparedCdb } from './prepared-cdb.js';
import { handlerOf, runCommandSteps } from './command-steps.js';
import { answerWhenSettled, failLater, resolveWith } from './fast-io.js';
import { FastPath } from './fast-path.js';
import { fastPathHold } from './fast-path-admission.js';
import { ModeChanges } from './mode-changes.js';

const NO_DATA = new Uint8Array(0);
const DEFAULT_NEXUS = 'local';
/** run()'s answer when its caller maps nothing: the sense as it is (one function for every call). */
const AS_IS = (failed: SenseData | undefined): SenseData | undefined => failed;

/** The SBC device server over one BlockCommandSet. Create with {@link SbcEmulator.create}. */
export class SbcEmulator implements LogicalUnit {
  readonly bcs: BlockCommandSet;
  readonly locks = new RangeLock();
  readonly dataIn = new DataInPool();
  readonly reservations: Reservations;
  readonly taskManagementFunctions: readonly TaskManagementFunction[];
  /** Stopped (START STOP UNIT START 0); always true while a removable unit has no medium. */
  stopped = false;
  readonly medium: Medium;
  /** SWP (Control mode page): the medium may not be written (DATA PROTECT 27h/02h), until a MODE SELECT or a reset clears it. */
  softwareWriteProtect = false;
  readonly sanitizer = new Sanitizer();
  readonly copies = new CopyManager();
  readonly backgroundFlush = new BackgroundFlush(
    () => acrossResets(this.bcs, () => this.run(ACROSS_RESETS, 'flush', () => this.bcs.flush())),
    (nexus, failed) => {
      this.deferError(nexus, failed);
    },
  );
  #info: LogicalUnitInfo;
  #geometry: BlockGeometry;
  #commands: readonly CommandDescriptor[];
  #maxTransferBlocks: number;
  #dSense = false;
  #luns: readonly number[];
  #lastWce: boolean;
  readonly #opts: SbcEmulatorOptions;
  readonly #serial: string;
  readonly #nexuses = new Map<string, NexusState>();
  readonly #conditions: NexusConditions;
  readonly #tasks: TaskManagement;
  /** READ and WRITE's block operations on the fast path (fast-path.ts). */
  readonly #fast: FastPath;
  /** MODE SELECTs (mode-changes.ts); what they changed lands here through its ModeCommit. */
  readonly #modeChanges = new ModeChanges(this, (next, from) => {
    if (next.wce !== from.wce) this.#lastWce = next.wce;
    if (next.dSense !== from.dSense) this.#dSense = next.dSense;
    if (next.swp !== from.swp) this.softwareWriteProtect = next.swp;
  });

  private constructor(bcs: BlockCommandSet, serial: string, opts: SbcEmulatorOptions) {
    this.bcs = bcs;
    this.#fast = new FastPath(bcs, this.locks, () => this.#dSense, () => this.#geometry.blockSize);
    this.#opts = opts;
    this.#serial = serial;
    this.#conditions = new NexusConditions(this.#nexuses, opts);
    this.#tasks = new TaskManagement(this, this.#conditions);
    this.reservations = new Reservations(
      (nexus, code) => {
        this.#conditions.raiseFor(nexus, code);
      },
      (nexuses, from) => this.#tasks.preemptAndAbort(nexuses, from),
      (nexus) => {
        this.medium.setPrevent(nexus, false);
      },
      registrationLimit(opts.maxRegistrations),
    );
    this.#luns = opts.luns ?? [0];
    this.taskManagementFunctions = opts.taskManagementFunctions ?? DEFAULT_TASK_MANAGEMENT_FUNCTIONS;
    this.medium = new Medium(opts.removable === true);
    this.#geometry = bcs.geometry();
    this.#maxTransferBlocks = computeMaxTransferBlocks(opts, this.#geometry);
    this.#info = describeUnit(opts, serial, this.#geometry, this.#maxTransferBlocks, bcs, this.medium.removable);
    this.#commands = unitCommandTable(opts, this.#info, this.#geometry, bcs);
    this.#lastWce = bcs.writeCacheEnabled();
  }

  /** Reads the device serial (GET_ID) and builds the logical unit. Throws RangeError for options that do not fit. */
  static async create(bcs: BlockCommandSet, opts: SbcEmulatorOptions = {}): Promise<SbcEmulator> {
    return new SbcEmulator(bcs, opts.serial ?? serialFromId(await bcs.getId()), opts);
  }

  get info(): LogicalUnitInfo {
    return this.#info;
  }

  get geometry(): BlockGeometry {
    return this.#geometry;
  }

  get luns(): readonly number[] {
    return this.#luns;
  }

  /**
   * Changes the LUN inventory REPORT LUNS reports; when it differs, every
   * I_T nexus gets REPORTED LUNS DATA HAS CHANGED (SPC-5), which its next
   * REPORT LUNS clears.
   */
  setLuns(luns: readonly number[]): void {
    const same = luns.length === this.#luns.length && luns.every((n, i) => n === this.#luns[i]);
    this.#luns = [...luns];
    if (!same) this.raiseUnitAttention(UnitAttention.REPORTED_LUNS_DATA_HAS_CHANGED);
  }

  get commands(): readonly CommandDescriptor[] {
    return this.#commands;
  }

  get maxTransferBlocks(): number {
    return this.#maxTransferBlocks;
  }

  modeState(): ModeState {
    return { wce: this.bcs.writeCacheEnabled(), dSense: this.#dSense, swp: this.softwareWriteProtect };
  }

  /** LogicalUnit.dropAbortedWaits: RangeLock.dropAborted and ModeChanges.dropAborted. */
  dropAbortedWaits(): void {
    this.locks.dropAborted();
    this.#modeChanges.dropAborted();
  }

  /** LogicalUnit.changeMode: ModeChanges.change, mode-changes.ts. */
  changeMode(select: ModeSelection, nexus: string, since: IssueEpoch, aborted: OperationAborted): Promise<SenseData | undefined> {
    return this.#modeChanges.change(select, nexus, since, aborted);
  }

  /**
   * Re-reads the device's geometry and write-cache state (call it on a virtio
   * config-change interrupt). A new capacity or block size raises CAPACITY DATA
   * HAS CHANGED, a write-cache change MODE PARAMETERS CHANGED, for every I_T
   * nexus. Returns true when anything reported changed.
   */
  refreshGeometry(): boolean {
    const g = this.bcs.geometry();
    const old = this.#geometry;
    this.#geometry = g;
    this.#maxTransferBlocks = computeMaxTransferBlocks(this.#opts, g);
    this.#info = describeUnit(this.#opts, this.#serial, g, this.#maxTransferBlocks, this.bcs, this.medium.removable);
    this.#commands = unitCommandTable(this.#opts, this.#info, g, this.bcs);
    const wce = this.bcs.writeCacheEnabled();
    const raised = configChanges(old, g, this.#lastWce, wce);
    this.#lastWce = wce;
    for (const code of raised) this.raiseUnitAttention(code);
    return raised.length > 0;
  }

  /**
   * LOGICAL UNIT RESET (SAM-5), also what a hard reset (target reset) does to
   * the unit: mode parameters (D_SENSE, SWP) go back to their defaults, then
   * the rest (TaskManagement.logicalUnitReset, task-management.ts).
   */
  resetLogicalUnit(): void {
    this.#dSense = false;
    this.softwareWriteProtect = false;
    this.#tasks.logicalUnitReset();
  }

  /** I_T nexus loss (logout, dropped connection): TaskManagement.nexusLost, task-management.ts. */
  forgetNexus(nexus: string): void {
    this.#tasks.nexusLost(nexus);
  }

  /** Why medium access is refused now, or undefined: mediumAccessFault, medium-access.ts. */
  mediumFault(): SenseData | undefined {
    return mediumAccessFault(this);
  }

  raiseUnitAttention(code: AscAscq, except?: string): void {
    this.#conditions.raise(code, except);
  }

  /** How the transport aborts this unit's commands: TaskManagement.onAbortTasks. */
  onAbortTasks(aborter: TaskAborter): void {
    this.#tasks.onAbortTasks(aborter);
  }

  /** Whom a PREEMPT AND ABORT preempted, as it preempts: TaskManagement.onPreempted. */
  onPreempted(hook: (nexuses: readonly string[], from: string) => void): void {
    this.#tasks.onPreempted(hook);
  }

  /** SAM-5 ABORT TASK SET from `nexus`: TaskManagement.abortTaskSet. */
  abortTaskSet(nexus: string): Promise<void> {
    return this.#tasks.abortTaskSet(nexus);
  }

  /** SAM-5 CLEAR TASK SET from `nexus`: TaskManagement.clearTaskSet. */
  clearTaskSet(nexus: string, transportAborted: readonly string[] = []): Promise<void> {
    return this.#tasks.clearTaskSet(nexus, transportAborted);
  }

  /** Commands a PREEMPT AND ABORT's transport aborted short of the unit: TaskManagement.transportAborted. */
  transportAborted(from: string, nexuses: readonly string[]): void {
    this.#tasks.transportAborted(from, nexuses);
  }

  clearUnitAttention(nexus: string, code: AscAscq): void {
    this.#conditions.clear(nexus, code);
  }

  takePendingSense(nexus: string): SenseData | undefined {
    return this.#conditions.takePending(nexus);
  }

  deferError(nexus: string, s: SenseData): void {
    this.#conditions.defer(nexus, s);
  }

  // Not an async function: every block operation outside the READ/WRITE fast
  // path (fast-path.ts) passes here, READ and WRITE ones included, and each
  // async frame costs a promise and a turn. A throw from `f` is caught all the same.
  run(since: IssueEpoch, op: BlockOperation, f: () => Promise<BlockStatus>, lba?: bigint): Promise<SenseData | undefined>;
  run<T>(since: IssueEpoch, op: BlockOperation, f: () => Promise<BlockStatus>, lba: bigint | undefined, then: (failed: SenseData | undefined) => T): Promise<T>;
  run(since: IssueEpoch, op: BlockOperation, f: () => Promise<BlockStatus>, lba?: bigint, then?: (failed: SenseData | undefined) => unknown): Promise<unknown> {
    const map = then ?? AS_IS;
    // A device reset since the command began aborted it (SAM-5: a logical unit
    // reset aborts the task set), and its transport has given it back for
    // re-issue or ended it: this execution must not act again, or the medium
    // would see the command twice (a COMPARE AND WRITE's write landing before
    // its retry compares). Between a reset and its end the block set fails
    // every operation; after it, only the command can tell its operations from
    // its retry's. The answer is never delivered.
    if (since !== undefined && this.bcs.resetEpoch !== since) return Promise.resolve(blockFailureSense(op, 'io-error', lba)).then(map);
    let pending: Promise<BlockStatus>;
    try {
      pending = Promise.resolve(f());
    } catch {
      return Promise.resolve(IMPLEMENTATION_FAILURE).then(map);
    }
    return pending.then(
      (status) => map(status === 'ok' ? undefined : blockFailureSense(op, status, lba)),
      () => map(IMPLEMENTATION_FAILURE),
    );
  }

  /**
   * How many Data-Out bytes `cdb` needs (0 for commands without Data-Out, and
   * for CDBs that will be rejected): what a transport should solicit.
   */
  dataOutLength(cdb: Uint8Array): number {
    return this.prepare(cdb).dataOutLength;
  }

  /**
   * Whether a transport may execute `cdb` again on its own after a device
   * reset cut it short (re-issue it rather than end it with what cut it
   * short): false for the commands whose second execution would not end as
   * one does (CommandDescriptor.once in this unit's command table, the table
   * a periph's recovery reads too).
   */
  mayReissue(cdb: Uint8Array): boolean {
    return !executesOnce(cdb, this.#commands);
  }

  /**
   * Decodes `cdb` once for both {@link dataOutLength} and {@link execute}:
   * pass the result to execute() instead of the CDB. It executes the CDB as it
   * was when prepared (against the command table of the moment; a table
   * changed since, by refreshGeometry, makes execute decode it again).
   */
  prepare(cdb: Uint8Array): PreparedCdb {
    return this.#prepare(cdb);
  }

  /** Executes one CDB (or one prepare()d). Never throws for anything a initiator can send. */
  execute(cdb: Uint8Array | PreparedCdb, opts: ExecuteOptions = {}): Promise<SbcResult> {
    try {
      const p = cdb instanceof Prepared && cdb.commands === this.#commands ? cdb : this.#prepare(cdb instanceof Uint8Array ? cdb : cdb.cdb);
      const dataOut = opts.dataOut ?? NO_DATA;
      const nexus = opts.nexus ?? DEFAULT_NEXUS;
      const rw = p.rw;
      const reissued = opts.reissued === true;
      const hold = rw === undefined ? undefined : fastPathHold(this, this.#nexuses.get(nexus), rw, p.dataOutLength, dataOut, reissued);
      if (rw !== undefined && hold !== undefined) {
        return new Promise((resolve) => {
          this.#fastRun(rw, p.dataOutLength, dataOut, opts.dataIn, hold, opts.aborted, resolveWith, resolve);
        });
      }
      const outcome = runCommandSteps(this, this.#conditions, p, dataOut, nexus, opts.transportId, reissued, opts.aborted ?? NEVER_ABORTED);
      // Sense is encoded a turn later, as the handler's answer would be: D_SENSE
      // as it stands once commands issued in the same turn (a MODE SELECT) ran.
      if (!(outcome instanceof Promise)) return Promise.resolve(outcome).then(this.#toResult);
      return outcome.then(this.#toResult, this.#failed);
    } catch (e) {
      return Promise.reject(e instanceof Error ? e : new Error(String(e)));
    }
  }

  /**
   * {@link execute} with a callback, for a transport that completes commands
   * from callbacks (the SIM): READ and WRITE on the fast path, over a
   * BlockCommandSet with startRead/startWrite, then take no promise at all.
   * `done` is called exactly once, never before start() returns, with the
   * result, or with undefined where execute() would have rejected (a bug
   * below the emulator). With `ctx`, `done` gets it as its second argument,
   * so that one function can serve every command (no closure per command);
   * a READ or WRITE off the fast path asks its abortedOf (StartOptions).
   * `opts` is read before start() returns: the caller may reuse it.
   */
  start(cdb: Uint8Array | PreparedCdb, opts: ExecuteOptions, done: (r: SbcResult | undefined) => void): void;
  start<C>(cdb: Uint8Array | PreparedCdb, opts: StartOptions<C>, done: (r: SbcResult | undefined, ctx: C) => void, ctx: C): void;
  start(cdb: Uint8Array | PreparedCdb, opts: StartOptions<unknown>, done: (r: SbcResult | undefined, ctx: unknown) => void, ctx?: unknown): void {
    let p: Prepared;
    let hold: RangeHold | undefined;
    const dataOut = opts.dataOut ?? NO_DATA;
    try {
      p = cdb instanceof Prepared && cdb.commands === this.#commands ? cdb : this.#prepare(cdb instanceof Uint8Array ? cdb : cdb.cdb);
      hold = p.rw === undefined ? undefined : fastPathHold(this, this.#nexuses.get(opts.nexus ?? DEFAULT_NEXUS), p.rw, p.dataOutLength, dataOut, opts.reissued === true);
    } catch {
      failLater(done, ctx);
      return;
    }
    if (p.rw !== undefined && hold !== undefined) {
      this.#fastRun(p.rw, p.dataOutLength, dataOut, opts.dataIn, hold, opts.aborted, done, ctx);
      return;
    }
    const of = opts.abortedOf;
    answerWhenSettled(this.execute(p, p.rw === undefined || of === undefined ? opts : { ...opts, aborted: () => of(ctx) }), done, ctx);
  }

  /** A READ's Data-In: the transport's room when it holds the whole transfer (no copy later), else a pooled buffer. */
  #dataInBuffer(bytes: number, room: Uint8Array | undefined): Uint8Array {
    if (room === undefined || room.length < bytes) return this.dataIn.alloc(bytes);
    return room.length === bytes ? room : room.subarray(0, bytes);
  }

  // Bound once: execute() attaches them to every command's promise.
  readonly #toResult = (o: CommandOutcome): SbcResult => toSbcResult(o, this.#dSense);
  readonly #failed = (): SbcResult => toSbcResult(checkCondition(IMPLEMENTATION_FAILURE), this.#dSense);

  #prepare(cdb: Uint8Array): Prepared {
    const commands = this.#commands;
    const rw = decodeReadWrite(cdb, commands);
    // The READ/WRITE handler's dataOutLength for these: the blocks for a WRITE, nothing for a READ.
    if (rw !== undefined) return new Prepared(cdb, rw.write ? rw.blocks * this.#info.blockSize : 0, commands, rw, undefined);
    const decoded = decodeCdb(cdb, commands);
    const entry = handlerOf(decoded);
    const need = decoded.ok ? (entry?.dataOutLength?.(this, decoded.value.fields) ?? 0) : 0;
    return new Prepared(cdb, need, commands, undefined, decoded);
  }

  /**
   * The fast path's block operation under the lock fastPathHold took (fast-path.ts);
   * `done` gets what the generic path would answer (with `ctx`), never before
   * #fastRun returns.
   */
  #fastRun(
    rw: ReadWriteFields,
    need: number,
    dataOut: Uint8Array,
    room: Uint8Array | undefined,
    hold: RangeHold,
    aborted: OperationAborted | undefined,
    done: (r: SbcResult, ctx: unknown) => void,
    ctx: unknown,
  ): void {
    const { lba, write } = rw;
    const buf = write ? (dataOut.length === need ? dataOut : dataOut.subarray(0, need)) : this.#dataInBuffer(rw.blocks * this.#info.blockSize, room);
    this.#fast.run(write, lba, buf, hold, aborted, done, ctx);
  }
}
