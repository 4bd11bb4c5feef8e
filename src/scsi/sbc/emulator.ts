// The SBC device server: executes CDBs against a BlockCommandSet and answers
// with SCSI status, sense and Data-In, as a direct-access block device would.
// Spec: SAM-5 (unit attention, status), SPC-5 (sense formats, D_SENSE),
// SBC-4 (block commands).
//
// Every command goes through the same steps, in this order:
// 1. find the command (unknown operation code / service action → 20h or 24h);
//    one that conflicts with a reservation another I_T nexus holds is
//    RESERVATION CONFLICT now, ahead of a unit attention (SAM-5 status
//    precedence; the unit attention stays pending): reservation-conflicts.ts;
// 2. report a pending unit attention, then a pending deferred error, to the
//    I_T nexus (INQUIRY, REPORT LUNS and REQUEST SENSE are exempt, SAM-5);
// 3. decode the CDB against this unit's command table (usage masks, field
//    values → INVALID FIELD IN CDB with the field pointer);
// 4. medium access on a unit without its medium answers NOT READY 3Ah/00h,
//    on a stopped unit NOT READY 04h/02h;
// 5. the handler's checks that need no data, in the order libiscsi and the
//    reference targets make observable: field values, write protection, LBA
//    range, then length limits (transfer, WRITE SAME, COMPARE AND WRITE);
// 6. block data shorter than the command needs → INVALID FIELD IN COMMAND
//    INFORMATION UNIT (0Eh/03h), nothing written;
// 7. the handler itself.
// Sense is encoded per the Control mode page's D_SENSE (fixed 70h/71h or
// descriptor 72h/73h).

import { decodeCdb, type DecodedCdb } from '../cdb/decode.js';
import { decodeReadWrite, type ReadWriteFields } from '../cdb/rw.js';
import {
  COMMANDS,
  PROTECT_COMMANDS,
  PROTECT_MASK,
  lookupCommand,
  restrictUsage,
  type CommandDescriptor,
} from '../cdb/registry.js';
import { TaskManagementFunction } from '../cdb/rsoc.js';
import { UNMAP_MAX_DESCRIPTORS } from '../cdb/unmap.js';
import { encodeSense, type SenseFormat } from '../sense-codec.js';
import { Asc, SenseKey, sense, senseIllegalRequest, senseNotReady, senseUnitAttention, type AscAscq, type Decoded, type SenseData } from '../sense.js';
import { ScsiOp } from '../opcodes.js';
import { ScsiStatus } from '../status.js';
import { assertLogicalUnitInfo, naaLocallyAssigned, type LogicalUnitInfo } from '../device-info.js';
import type { ModeState } from '../mode-pages.js';
import type { BlockCommandSet, BlockGeometry, BlockStatus } from './block-command-set.js';
import { IMPLEMENTATION_FAILURE, UnitAttention, blockFailureSense, isResetCondition, type BlockOperation } from './errors.js';
import { RangeLock, type RangeHold } from './range-lock.js';
import { DataInPool } from './data-in-pool.js';
import { checkCondition, type CdbKind, type CommandOutcome, type HandlerEntry, type HandlerTable, type LogicalUnit } from './context.js';
import { lbaRangeFault, writeProtectFault } from './checks.js';
import { SPC_HANDLERS } from './handlers-spc.js';
import { SBC_HANDLERS } from './handlers-sbc.js';
import { RW_HANDLERS } from './handlers-rw.js';
import { PROVISIONING_HANDLERS } from './handlers-provisioning.js';
import { MEDIUM_HANDLERS } from './handlers-medium.js';
import { RESERVATION_HANDLERS } from './handlers-reservations.js';
import { RESERVATION_CONFLICT, Reservations } from './reservations.js';
import { MEDIUM_NOT_PRESENT, Medium } from './medium.js';
import { SANITIZE_HANDLERS, canBlockErase } from './handlers-sanitize.js';
import { COPY_HANDLERS } from './handlers-copy.js';
import { CopyManager } from './copy-manager.js';
import { SANITIZE_FAILED, Sanitizer } from './sanitize.js';

const HANDLERS: HandlerTable = { ...SPC_HANDLERS, ...SBC_HANDLERS, ...MEDIUM_HANDLERS, ...RW_HANDLERS, ...PROVISIONING_HANDLERS, ...RESERVATION_HANDLERS, ...SANITIZE_HANDLERS, ...COPY_HANDLERS };

/** Identity and limits of the logical unit, beyond what the BlockCommandSet reports. */
export interface SbcEmulatorOptions {
  /** T10 VENDOR IDENTIFICATION (≤ 8 ASCII); default `VTCAM`. */
  readonly vendor?: string;
  /** PRODUCT IDENTIFICATION (≤ 16 ASCII); default `VIRTIO-BLK`. */
  readonly product?: string;
  /** PRODUCT REVISION LEVEL (≤ 4 ASCII); default `0001`. */
  readonly revision?: string;
  /** Unit serial number; default the device's GET_ID, else `VTCAM-NOSERIAL`. */
  readonly serial?: string;
  /** 8-byte NAA designator; default NAA 3h (locally assigned) derived from the serial. */
  readonly naa?: bigint;
  /** LUNs REPORT LUNS lists; default [0]. */
  readonly luns?: readonly number[];
  /** Largest READ/WRITE in bytes, also bounding the device's own limit; default 8 MiB. */
  readonly maxTransferBytes?: number;
  /** MAXIMUM COMPARE AND WRITE LENGTH in blocks (0 removes the command); default min(255, max transfer). */
  readonly maxCompareAndWriteBlocks?: number;
  /** MAXIMUM UNMAP LBA COUNT; default FFFFFFFFh (no limit: UNMAP is split to the device's discard limits). */
  readonly maxUnmapLbaCount?: number;
  /** MAXIMUM UNMAP BLOCK DESCRIPTOR COUNT; default 4095, all one parameter list can carry. */
  readonly maxUnmapBlockDescriptors?: number;
  /** MAXIMUM WRITE SAME LENGTH in blocks; default 0 (no limit: large WRITE SAMEs are written in chunks). */
  readonly maxWriteSameBlocks?: number;
  /** MEDIUM ROTATION RATE; default 1 (non-rotating). */
  readonly rotationRate?: number;
  /** Report POWER ON, RESET OR BUS DEVICE RESET OCCURRED to each new I_T nexus first (SAM-5); default true. */
  readonly powerOnUnitAttention?: boolean;
  /** RMB: the medium can be ejected and loaded (START STOP UNIT LOEJ) and kept in (PREVENT ALLOW MEDIUM REMOVAL); default false. */
  readonly removable?: boolean;
  /**
   * TAS (Control mode page; not changeable): a command that another I_T
   * nexus's CLEAR TASK SET or PREEMPT AND ABORT aborts ends with TASK ABORTED
   * status (true), or without status while its nexus gets COMMANDS CLEARED BY
   * ANOTHER INITIATOR (false, the default). SAM-5 aborting commands.
   */
  readonly taskAbortedStatus?: boolean;
  /**
   * Offer SANITIZE (OVERWRITE, EXIT FAILURE MODE, and BLOCK ERASE where the
   * device can deallocate onto zeros and report it: handlers-sanitize.ts);
   * default true. A shared disk may want no initiator able to wipe it.
   */
  readonly sanitize?: boolean;
  /** Task management functions REPORT SUPPORTED TASK MANAGEMENT FUNCTIONS lists. */
  readonly taskManagementFunctions?: readonly TaskManagementFunction[];
}

/** What a command ended with, as a transport carries it. */
export interface SbcResult {
  readonly status: ScsiStatus;
  /** Encoded sense (CHECK CONDITION only), fixed or descriptor format per D_SENSE. */
  readonly sense?: Uint8Array;
  /** The same sense as a value. */
  readonly senseData?: SenseData;
  /** Data-In bytes, at most the ALLOCATION LENGTH / transfer length. */
  readonly data?: Uint8Array;
}

/**
 * A CDB decoded once, for a transport that needs the Data-Out length before it
 * executes the command (SbcEmulator.prepare): the SIM asks for both on every
 * WRITE, and a second decode would double the emulator's own cost.
 */
export interface PreparedCdb {
  readonly cdb: Uint8Array;
  /** Data-Out bytes the command takes (what {@link SbcEmulator.dataOutLength} answers). */
  readonly dataOutLength: number;
}

/**
 * What prepare() keeps, against the command table it was decoded with: for a
 * READ/WRITE (10)/(16) the fast path's fields (the full decode is made only
 * if the generic path needs it), for anything else the full decode.
 */
class Prepared implements PreparedCdb {
  readonly cdb: Uint8Array;
  readonly dataOutLength: number;
  readonly rw: ReadWriteFields | undefined;
  readonly commands: readonly CommandDescriptor[];
  #decoded: Decoded<DecodedCdb> | undefined;

  constructor(cdb: Uint8Array, dataOutLength: number, commands: readonly CommandDescriptor[], rw: ReadWriteFields | undefined, decoded: Decoded<DecodedCdb> | undefined) {
    this.cdb = cdb;
    this.dataOutLength = dataOutLength;
    this.commands = commands;
    this.rw = rw;
    this.#decoded = decoded;
  }

  get decoded(): Decoded<DecodedCdb> {
    this.#decoded ??= decodeCdb(this.cdb, this.commands);
    return this.#decoded;
  }
}

const handlerOf = (d: Decoded<DecodedCdb>): HandlerEntry<CdbKind> | undefined => (d.ok ? (HANDLERS[d.value.kind] as HandlerEntry<CdbKind> | undefined) : undefined);

const NO_DATA = new Uint8Array(0);
/** GOOD without data: what every fast-path WRITE answers (one object for all). */
const GOOD_RESULT: SbcResult = { status: ScsiStatus.GOOD };
const NOT_READY_STOPPED = senseNotReady(Asc.LOGICAL_UNIT_NOT_READY_INITIALIZING_COMMAND_REQUIRED);

/**
 * How an aborted command ends (SAM-5 aborting commands): without status, or
 * with TASK ABORTED status (TAS 1, a command of another I_T nexus than the one
 * that aborted it).
 */
export type AbortedCommandEnd = 'no-status' | 'task-aborted';

/** What a {@link TaskAborter} did. */
export interface TaskAbortResult {
  /** The I_T nexuses that had commands to abort. */
  readonly nexuses: readonly string[];
  /** Settles once every aborted command has completed. */
  readonly done: Promise<void>;
}

/**
 * Aborts every command the transport holds for this unit (queued or running)
 * whose I_T nexus `end` gives an ending for, and ends it so (undefined: the
 * nexus's commands are left alone). It is called from within the execute() /
 * start() of the command that aborts (PREEMPT AND ABORT), which it leaves
 * alone, before they return; or outside any command (ABORT TASK SET, CLEAR
 * TASK SET). An aborted command that has reached the unit may finish its
 * work; it ends as `end` said either way.
 */
export type TaskAborter = (end: (nexus: string) => AbortedCommandEnd | undefined) => TaskAbortResult;

/** Options for one command. */
export interface ExecuteOptions {
  /** The Data-Out Buffer (what the initiator sent); bytes past what the command needs are ignored. */
  readonly dataOut?: Uint8Array;
  /** I_T nexus the command came from (unit attentions and deferred errors are per nexus); default `local`. */
  readonly nexus?: string;
  /**
   * The nexus's TransportID (SPC-5), what READ FULL STATUS reports for its
   * registration: 24 or more bytes, a multiple of 4 (a RangeError rejects the
   * command otherwise). Default: an iSCSI name made from the nexus id (localTransportId).
   */
  readonly transportId?: Uint8Array;
}

const DEFAULT_NEXUS = 'local';
const DEFAULT_MAX_TRANSFER_BYTES = 8 * 1024 * 1024;
const U32_MAX = 0xffff_ffff;
const DEFAULT_TMFS: readonly TaskManagementFunction[] = [
  TaskManagementFunction.ABORT_TASK,
  TaskManagementFunction.ABORT_TASK_SET,
  TaskManagementFunction.CLEAR_TASK_SET,
  TaskManagementFunction.LOGICAL_UNIT_RESET,
  TaskManagementFunction.I_T_NEXUS_RESET,
];
// SAM-5 (unit attention condition): INQUIRY, REPORT LUNS and REQUEST SENSE
// neither report nor clear a unit attention, also when their CDB is then
// rejected (INVALID FIELD IN CDB is specific to the command, the unit attention
// is not), so the exemption follows the operation code, not a successful decode.
const UA_EXEMPT_OPCODES: ReadonlySet<number> = new Set([ScsiOp.INQUIRY, ScsiOp.REPORT_LUNS, ScsiOp.REQUEST_SENSE]);
// SBC-4 (sanitize operations): the commands served while a sanitize runs; the rest are NOT READY, SANITIZE IN PROGRESS.
const SANITIZE_EXEMPT_OPCODES: ReadonlySet<number> = new Set([ScsiOp.INQUIRY, ScsiOp.REPORT_LUNS, ScsiOp.REQUEST_SENSE]);

interface NexusState {
  unitAttentions: AscAscq[];
  deferred: SenseData[];
}

/** FNV-1a, 64 bits: a stable NAA value from the serial when none is configured. */
function fnv1a64(text: string): bigint {
  let h = 0xcbf29ce484222325n;
  for (let i = 0; i < text.length; i++) {
    h ^= BigInt(text.charCodeAt(i));
    h = (h * 0x100000001b3n) & 0xffff_ffff_ffff_ffffn;
  }
  return h;
}

/** The SBC device server over one BlockCommandSet. Create with {@link SbcEmulator.create}. */
export class SbcEmulator implements LogicalUnit {
  readonly bcs: BlockCommandSet;
  readonly locks = new RangeLock();
  readonly dataIn = new DataInPool();
  readonly reservations = new Reservations(
    (nexus, code) => {
      this.#nexusUnitAttention(nexus, code);
    },
    (nexuses, from) => {
      const preempted = new Set(nexuses);
      return this.#abortTasks((n) => preempted.has(n), from);
    },
    (nexus) => {
      this.medium.setPrevent(nexus, false);
    },
  );
  readonly taskManagementFunctions: readonly TaskManagementFunction[];
  /** Stopped (START STOP UNIT START 0); always true while a removable unit has no medium. */
  stopped = false;
  readonly medium: Medium;
  /** SWP (Control mode page): the medium may not be written (DATA PROTECT 27h/02h), until a MODE SELECT or a reset clears it. */
  softwareWriteProtect = false;
  readonly sanitizer = new Sanitizer();
  readonly copies = new CopyManager();
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
  #aborter: TaskAborter | undefined;

  private constructor(bcs: BlockCommandSet, serial: string, opts: SbcEmulatorOptions) {
    this.bcs = bcs;
    this.#opts = opts;
    this.#serial = serial;
    this.#luns = opts.luns ?? [0];
    this.taskManagementFunctions = opts.taskManagementFunctions ?? DEFAULT_TMFS;
    this.medium = new Medium(opts.removable === true);
    this.#geometry = bcs.geometry();
    this.#maxTransferBlocks = this.#computeMaxTransfer(this.#geometry);
    this.#info = this.#describe(this.#geometry);
    this.#commands = this.#commandTable(this.#info);
    this.#lastWce = bcs.writeCacheEnabled();
  }

  /** Reads the device serial (GET_ID) and builds the logical unit. Throws RangeError for options that do not fit. */
  static async create(bcs: BlockCommandSet, opts: SbcEmulatorOptions = {}): Promise<SbcEmulator> {
    let serial = opts.serial;
    if (serial === undefined) {
      const id = (await bcs.getId())?.replace(/[^\x20-\x7e]/g, '').trim();
      serial = id === undefined || id === '' ? 'VTCAM-NOSERIAL' : id;
    }
    return new SbcEmulator(bcs, serial, opts);
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

  async changeMode(next: ModeState, nexus: string): Promise<SenseData | undefined> {
    const wce = this.bcs.writeCacheEnabled();
    if (next.wce !== wce) {
      // Leaving write-back: what the cache holds must be durable before writes stop being cached.
      if (!next.wce && this.#geometry.flush) {
        const failed = await this.run('flush', () => this.bcs.flush());
        if (failed !== undefined) return failed;
      }
      const failed = await this.run('write-cache', () => this.bcs.setWriteCache(next.wce));
      if (failed !== undefined) return failed;
      this.#lastWce = next.wce;
    }
    const changed = next.wce !== wce || next.dSense !== this.#dSense || next.swp !== this.softwareWriteProtect;
    this.#dSense = next.dSense;
    this.softwareWriteProtect = next.swp;
    if (changed) this.raiseUnitAttention(UnitAttention.MODE_PARAMETERS_CHANGED, nexus);
    return undefined;
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
    this.#maxTransferBlocks = this.#computeMaxTransfer(g);
    this.#info = this.#describe(g);
    this.#commands = this.#commandTable(this.#info);
    let changed = false;
    if (g.blocks !== old.blocks || g.blockSize !== old.blockSize) {
      this.raiseUnitAttention(UnitAttention.CAPACITY_DATA_HAS_CHANGED);
      changed = true;
    }
    const wce = this.bcs.writeCacheEnabled();
    if (wce !== this.#lastWce) {
      this.#lastWce = wce;
      this.raiseUnitAttention(UnitAttention.MODE_PARAMETERS_CHANGED);
      changed = true;
    }
    return changed;
  }

  /**
   * LOGICAL UNIT RESET (SAM-5), also what a hard reset (target reset) does to
   * the unit: deferred errors are dropped, mode parameters (D_SENSE, SWP) go
   * back to their defaults, every prevention of medium removal ends (SBC-4),
   * held EXTENDED COPY statuses are discarded (SPC-5), the unit is started
   * when it has its medium, and every I_T nexus gets BUS DEVICE RESET
   * FUNCTION OCCURRED. A running sanitize goes on (SBC-4).
   */
  resetLogicalUnit(): void {
    this.#dSense = false;
    this.softwareWriteProtect = false;
    this.medium.reset();
    this.copies.reset();
    this.stopped = !this.medium.loaded;
    for (const n of this.#nexuses.values()) n.deferred = [];
    this.reservations.logicalUnitReset();
    this.raiseUnitAttention(UnitAttention.BUS_DEVICE_RESET);
  }

  /**
   * I_T nexus loss (the session ended, by logout or by a dropped connection):
   * forgets the nexus, so a later command from it starts afresh, ends its
   * prevention of medium removal (SBC-4) and discards the EXTENDED COPY
   * statuses held for it (SPC-5).
   */
  forgetNexus(nexus: string): void {
    this.#nexuses.delete(nexus);
    this.medium.forgetNexus(nexus);
    this.copies.forgetNexus(nexus);
    this.reservations.nexusLost(nexus);
  }

  /**
   * Why medium access is refused now, or undefined, in this order: a sanitize
   * runs (04h/1Bh), no medium (3Ah/00h), the sanitize failure mode (MEDIUM
   * ERROR 31h/03h), stopped (04h/02h).
   */
  mediumFault(): SenseData | undefined {
    const sanitizing = this.sanitizer.inProgress();
    if (sanitizing !== undefined) return sanitizing;
    if (!this.medium.loaded) return MEDIUM_NOT_PRESENT;
    if (this.sanitizer.active) return SANITIZE_FAILED;
    return this.stopped ? NOT_READY_STOPPED : undefined;
  }

  raiseUnitAttention(code: AscAscq, except?: string): void {
    for (const [id, n] of this.#nexuses) {
      if (id === except) continue;
      if (isResetCondition(code)) n.unitAttentions = [code];
      else if (!n.unitAttentions.some((u) => u.asc === code.asc && u.ascq === code.ascq)) n.unitAttentions.push(code);
    }
  }

  /**
   * Tells the unit how to abort its commands (PREEMPT AND ABORT, ABORT TASK
   * SET, CLEAR TASK SET): what the transport running them (the SIM) does.
   * Without one nothing is aborted.
   */
  onAbortTasks(aborter: TaskAborter): void {
    this.#aborter = aborter;
  }

  /**
   * SAM-5 ABORT TASK SET from `nexus`: every command of that I_T nexus is
   * aborted, without status, and no unit attention is established. Resolves
   * once they have all completed.
   */
  abortTaskSet(nexus: string): Promise<void> {
    return this.#abortTasks((n) => n === nexus, nexus);
  }

  /**
   * SAM-5 CLEAR TASK SET from `nexus`: the commands of every I_T nexus are
   * aborted; those of `nexus` end without status, the others' as TAS says
   * (see #abortTasks). Resolves once they have all completed.
   */
  clearTaskSet(nexus: string): Promise<void> {
    return this.#abortTasks(() => true, nexus);
  }

  /**
   * Aborts the commands of the I_T nexuses `nexuses` picks, through the
   * transport's TaskAborter, for a task management function or command of
   * `from` (SAM-5 aborting commands): the commands of `from` end without
   * status; those of the others with TASK ABORTED status when TAS is 1, else
   * without status, and each other nexus that had commands aborted gets
   * COMMANDS CLEARED BY ANOTHER INITIATOR.
   */
  #abortTasks(nexuses: (nexus: string) => boolean, from: string): Promise<void> {
    const aborter = this.#aborter;
    if (aborter === undefined) return Promise.resolve();
    const others: AbortedCommandEnd = this.#info.taskAbortedStatus === true ? 'task-aborted' : 'no-status';
    const r = aborter((n) => (!nexuses(n) ? undefined : n === from ? 'no-status' : others));
    if (others === 'no-status') for (const n of r.nexuses) if (n !== from) this.#nexusUnitAttention(n, Asc.COMMANDS_CLEARED_BY_ANOTHER_INITIATOR);
    return r.done;
  }

  /**
   * A unit attention for one I_T nexus (a reservation change, commands
   * cleared). A nexus the unit does not know (never seen, or lost) gets none:
   * its first command reports the power-on condition, which supersedes it.
   */
  #nexusUnitAttention(nexus: string, code: AscAscq): void {
    const n = this.#nexuses.get(nexus);
    if (n !== undefined && !n.unitAttentions.some((u) => u.asc === code.asc && u.ascq === code.ascq)) n.unitAttentions.push(code);
  }

  clearUnitAttention(nexus: string, code: AscAscq): void {
    const n = this.#nexus(nexus);
    n.unitAttentions = n.unitAttentions.filter((u) => u.asc !== code.asc || u.ascq !== code.ascq);
  }

  takePendingSense(nexus: string): SenseData | undefined {
    const n = this.#nexus(nexus);
    const ua = n.unitAttentions.shift();
    if (ua !== undefined) return senseUnitAttention(ua);
    return n.deferred.shift();
  }

  deferError(nexus: string, s: SenseData): void {
    this.#nexus(nexus).deferred.push({ ...s, deferred: true });
  }

  // Not an async function: every READ and WRITE passes here, and each async
  // frame costs a promise and a turn. A throw from `f` is caught all the same.
  run(op: BlockOperation, f: () => Promise<BlockStatus>, lba?: bigint): Promise<SenseData | undefined>;
  run<T>(op: BlockOperation, f: () => Promise<BlockStatus>, lba: bigint | undefined, then: (failed: SenseData | undefined) => T): Promise<T>;
  run(op: BlockOperation, f: () => Promise<BlockStatus>, lba?: bigint, then?: (failed: SenseData | undefined) => unknown): Promise<unknown> {
    const map = then ?? ((failed: SenseData | undefined) => failed);
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
      const hold = rw === undefined ? undefined : this.#fastLock(rw, p.dataOutLength, dataOut, nexus);
      if (rw !== undefined && hold !== undefined) {
        return new Promise((resolve) => {
          this.#fastRun(rw, p.dataOutLength, dataOut, hold, resolve);
        });
      }
      const outcome = this.#execute(p, dataOut, nexus, opts.transportId);
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
   * below the emulator).
   */
  start(cdb: Uint8Array | PreparedCdb, opts: ExecuteOptions, done: (r: SbcResult | undefined) => void): void {
    let p: Prepared;
    let hold: RangeHold | undefined;
    const dataOut = opts.dataOut ?? NO_DATA;
    try {
      p = cdb instanceof Prepared && cdb.commands === this.#commands ? cdb : this.#prepare(cdb instanceof Uint8Array ? cdb : cdb.cdb);
      hold = p.rw === undefined ? undefined : this.#fastLock(p.rw, p.dataOutLength, dataOut, opts.nexus ?? DEFAULT_NEXUS);
    } catch {
      queueMicrotask(() => {
        done(undefined);
      });
      return;
    }
    if (p.rw !== undefined && hold !== undefined) {
      this.#fastRun(p.rw, p.dataOutLength, dataOut, hold, done);
      return;
    }
    this.execute(p, opts).then(done, () => {
      done(undefined);
    });
  }

  // Bound once: execute() attaches them to every command's promise.
  readonly #toResult = (o: CommandOutcome): SbcResult => this.#result(o);
  readonly #failed = (): SbcResult => this.#result(checkCondition(IMPLEMENTATION_FAILURE));

  #result(outcome: CommandOutcome): SbcResult {
    if (outcome.sense === undefined) return outcome.data === undefined ? { status: outcome.status } : { status: outcome.status, data: outcome.data };
    const format: SenseFormat = this.#dSense ? 'descriptor' : 'fixed';
    return { status: outcome.status, sense: encodeSense(outcome.sense, format), senseData: outcome.sense };
  }

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
   * READ and WRITE (10)/(16) in the ordinary case — nearly all I/O — without
   * the generic steps' objects and promise steps: nothing pending for the
   * I_T nexus, the unit started, no FUA write, every check of the READ/WRITE
   * handler passed, whole Data-Out, the range lock free at once: then the
   * lock's hold, and #fastRun answers. Undefined otherwise: the generic
   * path then answers the command, exactly as it always does. What the fast
   * path answers is what the generic path would.
   */
  #fastLock(rw: ReadWriteFields, need: number, dataOut: Uint8Array, nexus: string): RangeHold | undefined {
    const n = this.#nexuses.get(nexus);
    // A reservation: the generic path decides whether the command conflicts.
    if (n === undefined || n.unitAttentions.length > 0 || n.deferred.length > 0 || this.stopped || this.sanitizer.active || this.reservations.reserved) return undefined;
    if (rw.blocks === 0 || (rw.write && rw.fua)) return undefined;
    // The handler's checks (handlers-rw.ts), in its order; a fault is the generic path's to report.
    if (rw.write && writeProtectFault(this) !== undefined) return undefined;
    if (lbaRangeFault(this, rw.lba, rw.blocks) !== undefined || rw.blocks > this.#maxTransferBlocks) return undefined;
    if (dataOut.length < need) return undefined;
    return this.locks.tryHold(rw.lba, rw.blocks, false);
  }

  /**
   * The fast path's block operation under the lock #fastLock took; `done`
   * gets what the generic path would answer, never before #fastRun returns.
   * run()'s mapping, inline: a throw or a rejection is HARDWARE ERROR, a
   * status other than ok the error table's.
   */
  #fastRun(rw: ReadWriteFields, need: number, dataOut: Uint8Array, hold: RangeHold, done: (r: SbcResult) => void): void {
    const { lba, write } = rw;
    const buf = write ? (dataOut.length === need ? dataOut : dataOut.subarray(0, need)) : this.dataIn.alloc(rw.blocks * this.#info.blockSize);
    const finish = (status: BlockStatus | undefined): void => {
      this.locks.release(hold);
      if (status === undefined) done(this.#result(checkCondition(IMPLEMENTATION_FAILURE)));
      else if (status !== 'ok') done(this.#result(checkCondition(blockFailureSense(write ? 'write' : 'read', status, lba))));
      else done(write ? GOOD_RESULT : { status: ScsiStatus.GOOD, data: buf });
    };
    const bcs = this.bcs;
    let pending: Promise<BlockStatus>;
    try {
      // The callback forms when the block set has them: no promise per command.
      if (write && bcs.startWrite !== undefined) {
        bcs.startWrite(lba, buf, finish);
        return;
      }
      if (!write && bcs.startRead !== undefined) {
        bcs.startRead(lba, buf, finish);
        return;
      }
      pending = Promise.resolve(write ? bcs.write(lba, buf) : bcs.read(lba, buf));
    } catch {
      pending = Promise.reject(new Error('block operation threw'));
    }
    pending.then(finish, () => {
      finish(undefined);
    });
  }

  /**
   * The steps of the file header. Synchronous up to the handler's own work;
   * a rejection of the handler's promise is the caller's to turn into
   * IMPLEMENTATION_FAILURE (execute does).
   */
  #execute(p: Prepared, dataOut: Uint8Array, nexus: string, transportId: Uint8Array | undefined): CommandOutcome | Promise<CommandOutcome> {
    const { cdb, decoded } = p;
    const entry = handlerOf(decoded);
    const n = this.#nexus(nexus);
    // Only REGISTER needs the identity, and it always comes this way: the fast path never looks.
    if (transportId !== undefined) this.reservations.identify(nexus, transportId);
    if (this.reservations.reserved && lookupCommand(cdb, p.commands).ok && this.reservations.conflicts(nexus, cdb)) return RESERVATION_CONFLICT;
    if (!UA_EXEMPT_OPCODES.has(cdb[0] ?? -1)) {
      const ua = n.unitAttentions.shift();
      if (ua !== undefined) return checkCondition(senseUnitAttention(ua));
      const deferred = n.deferred.shift();
      if (deferred !== undefined) return checkCondition(deferred);
    }
    if (!decoded.ok) return checkCondition(decoded.fault);
    if (entry === undefined) return checkCondition(sense(SenseKey.ILLEGAL_REQUEST, Asc.INVALID_COMMAND_OPERATION_CODE));
    const sanitizing = this.sanitizer.inProgress();
    if (sanitizing !== undefined && !SANITIZE_EXEMPT_OPCODES.has(cdb[0] ?? -1)) return checkCondition(sanitizing);
    if (entry.medium) {
      const notReady = this.mediumFault();
      if (notReady !== undefined) return checkCondition(notReady);
    }
    const fields = decoded.value.fields as never;
    const need = p.dataOutLength;
    // The buffer itself when it is exactly as long as needed (a view of the same bytes otherwise).
    const cmd = { fields, descriptor: decoded.value.descriptor, cdb, dataOut: dataOut.length === need ? dataOut : dataOut.subarray(0, need), dataOutSent: dataOut.length, nexus };
    try {
      const fault = entry.check?.(this, cmd);
      if (fault !== undefined) return checkCondition(fault);
      if (entry.parameterList !== true && dataOut.length < need) {
        return checkCondition(senseIllegalRequest(Asc.INVALID_FIELD_IN_COMMAND_INFORMATION_UNIT));
      }
      return entry.run(this, cmd);
    } catch {
      return checkCondition(IMPLEMENTATION_FAILURE);
    }
  }

  #nexus(id: string): NexusState {
    let n = this.#nexuses.get(id);
    if (n === undefined) {
      n = { unitAttentions: this.#opts.powerOnUnitAttention === false ? [] : [UnitAttention.POWER_ON_RESET], deferred: [] };
      this.#nexuses.set(id, n);
    }
    return n;
  }

  #computeMaxTransfer(g: BlockGeometry): number {
    const bytes = this.#opts.maxTransferBytes ?? DEFAULT_MAX_TRANSFER_BYTES;
    if (!Number.isInteger(bytes) || bytes < g.blockSize) throw new RangeError(`maxTransferBytes must be at least one block (${g.blockSize}), got ${bytes}`);
    const own = Math.min(Math.floor(bytes / g.blockSize), U32_MAX);
    return g.maxTransferBlocks > 0 ? Math.min(own, g.maxTransferBlocks) : own;
  }

  #describe(g: BlockGeometry): LogicalUnitInfo {
    const o = this.#opts;
    const discard = g.discard;
    const zeroUnmap = g.writeZeroes?.mayUnmap === true;
    const maxCaw = o.maxCompareAndWriteBlocks ?? Math.min(255, this.#maxTransferBlocks);
    const info: LogicalUnitInfo = {
      vendor: o.vendor ?? 'VTCAM',
      product: o.product ?? 'VIRTIO-BLK',
      revision: o.revision ?? '0001',
      serial: this.#serial,
      naa: o.naa ?? naaLocallyAssigned(fnv1a64(this.#serial) & ((1n << 60n) - 1n)),
      blockSize: g.blockSize,
      blocks: g.blocks,
      physicalBlockExp: g.physicalBlockExp,
      lowestAlignedLba: g.lowestAlignedLba,
      readOnly: this.bcs.readOnly,
      removable: this.medium.removable,
      taskAbortedStatus: o.taskAbortedStatus === true,
      thirdPartyCopy: true,
      sanitizeBlockErase: o.sanitize !== false && canBlockErase(g, this.bcs.mapping !== undefined),
      writeCacheEnabled: this.bcs.writeCacheEnabled(),
      writeCacheChangeable: g.writeCacheChangeable,
      volatileCache: g.flush,
      limits: {
        maxTransferBlocks: this.#maxTransferBlocks,
        optimalTransferBlocks: Math.min(g.optimalTransferBlocks, this.#maxTransferBlocks),
        maxUnmapLbaCount: discard === undefined ? 0 : (o.maxUnmapLbaCount ?? U32_MAX),
        maxUnmapBlockDescriptors: discard === undefined ? 0 : (o.maxUnmapBlockDescriptors ?? UNMAP_MAX_DESCRIPTORS),
        unmapGranularity: discard?.granularity ?? 0,
        unmapGranularityAlignment: 0,
        maxWriteSameBlocks: o.maxWriteSameBlocks ?? 0,
        maxCompareAndWriteBlocks: Math.min(maxCaw, this.#maxTransferBlocks),
      },
      provisioning: {
        lbpu: discard !== undefined,
        lbpws: discard !== undefined || zeroUnmap,
        lbpws10: discard !== undefined || zeroUnmap,
        // Unmapped blocks read as zeros when UNMAP's discard zeroes, or when unmapping only happens by write-zeroes.
        lbprz: discard === undefined ? zeroUnmap : discard.zeroes,
      },
      rotationRate: o.rotationRate ?? 1,
    };
    assertLogicalUnitInfo(info);
    return info;
  }

  /** COMMANDS, narrowed to what this unit does, so CDB checks and RSOC agree. */
  #commandTable(info: LogicalUnitInfo): readonly CommandDescriptor[] {
    let t: readonly CommandDescriptor[] = COMMANDS;
    if (!info.provisioning.lbpu) t = t.filter((d) => d.name !== 'UNMAP');
    if (info.limits.maxCompareAndWriteBlocks === 0) t = t.filter((d) => d.name !== 'COMPARE_AND_WRITE');
    if (this.#opts.sanitize === false) t = t.filter((d) => d.opcode !== ScsiOp.SANITIZE);
    // BLOCK ERASE only where deallocating erases (handlers-sanitize.ts).
    if (!canBlockErase(this.#geometry, this.bcs.mapping !== undefined)) t = t.filter((d) => d.name !== 'SANITIZE_BLOCK_ERASE');
    // No protection information (PROTECT 0 in INQUIRY): RDPROTECT/WRPROTECT/VRPROTECT ≠ 0 is INVALID FIELD IN CDB.
    t = restrictUsage(t, PROTECT_COMMANDS, 1, PROTECT_MASK);
    // No anchored LBAs (ANC_SUP 0): UNMAP ANCHOR (byte 1 bit 0), WRITE SAME ANCHOR (byte 1 bit 4).
    t = restrictUsage(t, ['UNMAP'], 1, 0x01);
    t = restrictUsage(t, ['WRITE_SAME_10', 'WRITE_SAME_16'], 1, 0x10);
    return t;
  }
}
