// What a command handler of the SBC emulator sees: the logical unit (its block
// device, description, state and locks), the decoded command, and the outcome
// it returns. Handlers live in handlers-*.ts as tables keyed by CDB family;
// the emulator runs the checks common to every command first (command-steps.ts).
// Spec: SAM-5 (status, unit attention), SPC-5, SBC-4.

import type { CdbFields } from '../cdb/decode.js';
import type { CommandDescriptor } from '../cdb/registry.js';
import type { TaskManagementFunction } from '../cdb/rsoc.js';
import type { LogicalUnitInfo } from '../device-info.js';
import type { ModeState } from '../mode-pages.js';
import { ScsiStatus } from '../status.js';
import type { AscAscq, Decoded, SenseData } from '../sense.js';
import type { BlockCommandSet, BlockGeometry, BlockStatus, OperationAborted } from './block-command-set.js';
import type { BlockOperation } from './errors.js';
import type { RangeLock } from './range-lock.js';
import type { DataInPool } from './data-in-pool.js';
import type { Reservations } from './reservations.js';
import type { Medium } from './medium.js';
import type { Sanitizer } from './sanitize.js';
import type { CopyManager } from './copy-manager.js';
import type { BackgroundFlush } from './background-flush.js';

/** What a command ended with: SCSI status, sense (CHECK CONDITION only) and Data-In bytes. */
export interface CommandOutcome {
  readonly status: ScsiStatus;
  readonly sense?: SenseData;
  /** Data-In Buffer contents, already cut to the ALLOCATION LENGTH / transfer length. */
  readonly data?: Uint8Array;
  /** PERSISTENT RESERVE OUT PREEMPT AND ABORT, GOOD: the I_T nexuses it preempted, whose commands it aborted (SPC-5). */
  readonly preempted?: readonly string[];
}

/** GOOD with no data. */
export const GOOD: CommandOutcome = { status: ScsiStatus.GOOD };

/** GOOD with `data`, cut to `allocationLength` (SPC-5: the rest is not transferred, which is not an error). */
export function goodData(data: Uint8Array, allocationLength = data.length): CommandOutcome {
  return { status: ScsiStatus.GOOD, data: allocationLength < data.length ? data.subarray(0, allocationLength) : data };
}

/** CHECK CONDITION with `sense`. */
export function checkCondition(sense: SenseData): CommandOutcome {
  return { status: ScsiStatus.CHECK_CONDITION, sense };
}

/** GOOD with the decoded data cut to `allocationLength`, or CHECK CONDITION with the fault. */
export function fromDecoded(d: Decoded<Uint8Array>, allocationLength: number): CommandOutcome {
  return d.ok ? goodData(d.value, allocationLength) : checkCondition(d.fault);
}

/**
 * When a command's block operations may still be issued: the reset epoch of
 * the unit's block device (BlockCommandSet.resetEpoch) when the command
 * began, or {@link ACROSS_RESETS}.
 */
export type IssueEpoch = number | undefined;

/**
 * The IssueEpoch of work that outlives its command and goes on across device
 * resets (a sanitize, SBC-4); also what a command gets on a block device that
 * counts no resets.
 */
export const ACROSS_RESETS: IssueEpoch = undefined;

/** The SbcCommand.aborted of a command whose transport aborts nothing. */
export const NEVER_ABORTED = (): boolean => false;

/** A MODE SELECT's parameter list judged against the current mode state: the state it asks for, and whether that differs. */
export type ModeSelection = (current: ModeState) => Decoded<{ readonly state: ModeState; readonly changed: boolean }>;

/** The logical unit as handlers see it (SbcEmulator implements it). */
export interface LogicalUnit {
  readonly bcs: BlockCommandSet;
  /** The description INQUIRY, VPD, READ CAPACITY and the mode pages report. */
  readonly info: LogicalUnitInfo;
  readonly geometry: BlockGeometry;
  /** The commands this logical unit implements, with its usage masks (what RSOC reports). */
  readonly commands: readonly CommandDescriptor[];
  readonly luns: readonly number[];
  readonly taskManagementFunctions: readonly TaskManagementFunction[];
  readonly locks: RangeLock;
  /** Where READ's Data-In buffers come from (pooled: see data-in-pool.ts). */
  readonly dataIn: DataInPool;
  /** SPC-2 and persistent reservations, registrations, and which commands conflict. */
  readonly reservations: Reservations;
  /** Largest READ/WRITE transfer, in logical blocks (what Block Limits reports, never 0). */
  readonly maxTransferBlocks: number;
  /** Started (START STOP UNIT): a stopped unit answers medium access with NOT READY. */
  stopped: boolean;
  /** SWP (Control mode page): software write protection, on top of the device's own read-only state. */
  readonly softwareWriteProtect: boolean;
  /** The medium: removable or not, loaded, prevented from removal by which I_T nexuses. */
  readonly medium: Medium;
  /** The EXTENDED COPY copy manager: held copy statuses, one copy at a time. */
  readonly copies: CopyManager;
  /** The sanitize operation: running (and how far), failed, or neither. */
  readonly sanitizer: Sanitizer;
  /** The flushes IMMED commands answered before: one running and one waiting at most. */
  readonly backgroundFlush: BackgroundFlush;
  /** Why medium access is refused now (a sanitize running or failed, no medium, stopped), or undefined. */
  mediumFault(): SenseData | undefined;
  modeState(): ModeState;
  /**
   * Carries out a MODE SELECT: `select` judges its parameter list against the
   * mode state as the MODE SELECTs before it left it, then what it accepted
   * is applied: a WCE change reaches the device (after a flush when the cache
   * goes off), and every other I_T nexus gets MODE PARAMETERS CHANGED.
   * MODE SELECTs run one at a time, in arrival order, so that two running
   * together end as one after the other would (SAM-5); a failed one changes
   * nothing. Undefined on success, else the sense to report. `since` is the
   * MODE SELECT's epoch (see run); once `aborted` says so it changes nothing more.
   */
  changeMode(select: ModeSelection, nexus: string, since: IssueEpoch, aborted: OperationAborted): Promise<SenseData | undefined>;
  /**
   * Once commands have been aborted (a task management function, PREEMPT AND
   * ABORT): each of them waiting for another command's blocks (RangeLock) or
   * for its MODE SELECT turn gives its place up, and answers as aborted.
   */
  dropAbortedWaits(): void;
  /**
   * Runs one block operation of a command that began in reset epoch `since`
   * and maps its outcome through the error table; undefined means it
   * succeeded. A throw or rejection is reported as HARDWARE ERROR, never
   * propagated. `lba` is the INFORMATION for a medium error: the failing block, when known (failingBlock). With `then`,
   * resolves with what `then` makes of that (one promise step for both, on
   * the READ and WRITE path). Once a device reset has begun since `since`,
   * the operation is not issued and fails as one the reset cut short
   * (io-error): SAM-5, the reset aborted the command, whose transport may be
   * running it again already.
   */
  run(since: IssueEpoch, op: BlockOperation, f: () => Promise<BlockStatus>, lba?: bigint): Promise<SenseData | undefined>;
  run<T>(since: IssueEpoch, op: BlockOperation, f: () => Promise<BlockStatus>, lba: bigint | undefined, then: (failed: SenseData | undefined) => T): Promise<T>;
  /** REQUEST SENSE: the pending sense for `nexus` (a unit attention or deferred error), removed. */
  takePendingSense(nexus: string): SenseData | undefined;
  /** Reports `sense` as a deferred error to `nexus`'s next command (IMMED operations that fail later). */
  deferError(nexus: string, sense: SenseData): void;
  /** Queues a unit attention for every I_T nexus except `except`. */
  raiseUnitAttention(code: AscAscq, except?: string): void;
  /** Drops a queued unit attention of `nexus` that the command just answered (REPORT LUNS and 3Fh/0Eh). */
  clearUnitAttention(nexus: string, code: AscAscq): void;
}

/** A decoded command as its handler receives it. */
export interface SbcCommand<F> {
  readonly fields: F;
  readonly descriptor: CommandDescriptor;
  readonly cdb: Uint8Array;
  /** The Data-Out Buffer, exactly the length dataOutLength asked for. */
  readonly dataOut: Uint8Array;
  /** How many Data-Out bytes the initiator sent, before they were cut to dataOut (0 without Data-Out). */
  readonly dataOutSent: number;
  /** The I_T nexus the command came from. */
  readonly nexus: string;
  /** The reset epoch the command began in: what its block operations pass to LogicalUnit.run. */
  readonly epoch: IssueEpoch;
  /** Whether the transport has aborted the command (ExecuteOptions.aborted): asked between the block operations of a long one. */
  readonly aborted: OperationAborted;
}

export type CdbKind = CdbFields['kind'];
export type FieldsOf<K extends CdbKind> = Extract<CdbFields, { readonly kind: K }>['fields'];

/** One CDB family's handling. */
export interface HandlerEntry<K extends CdbKind> {
  /**
   * Checks that need no data and no block operation (field values, write
   * protection, LBA range, length limits), run before the Data-Out length is
   * looked at: a read-only unit answers DATA PROTECT whatever data came.
   */
  readonly check?: (lu: LogicalUnit, cmd: SbcCommand<FieldsOf<K>>) => SenseData | undefined;
  readonly run: (lu: LogicalUnit, cmd: SbcCommand<FieldsOf<K>>) => Promise<CommandOutcome> | CommandOutcome;
  /**
   * Data-Out Buffer length the command needs (0 when absent). For block data a
   * shorter buffer is ILLEGAL REQUEST, INVALID FIELD IN COMMAND INFORMATION UNIT
   * (0Eh/03h) and nothing is written; for a parameter list the handler judges
   * the bytes that came.
   */
  readonly dataOutLength?: (lu: LogicalUnit, fields: FieldsOf<K>) => number;
  /** Data-Out carries a parameter list whose length the handler checks itself. */
  readonly parameterList?: boolean;
  /** Needs the medium: a stopped unit answers NOT READY, INITIALIZING COMMAND REQUIRED. */
  readonly medium: boolean;
}

export type HandlerTable = { readonly [K in CdbKind]?: HandlerEntry<K> };
