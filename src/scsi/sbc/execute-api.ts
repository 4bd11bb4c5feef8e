// The SBC emulator as a transport sees it: what goes with one command
// (ExecuteOptions) and what comes back (SbcResult), and how a handler's
// CommandOutcome becomes that answer. Sense is encoded per the Control mode
// page's D_SENSE (fixed 70h/71h or descriptor 72h/73h).
// Spec: SAM-5 (status), SPC-5 (sense formats, D_SENSE, TransportID).

import { encodeSense, type SenseFormat } from '../sense-codec.js';
import type { SenseData } from '../sense.js';
import type { ScsiStatus } from '../status.js';
import type { CommandOutcome } from './context.js';
import type { OperationAborted } from './block-command-set.js';

/** What a command ended with, as a transport carries it. */
export interface SbcResult {
  readonly status: ScsiStatus;
  /** Encoded sense (CHECK CONDITION only), fixed or descriptor format per D_SENSE. */
  readonly sense?: Uint8Array;
  /** The same sense as a value. */
  readonly senseData?: SenseData;
  /** Data-In bytes, at most the ALLOCATION LENGTH / transfer length. */
  readonly data?: Uint8Array;
  /** PERSISTENT RESERVE OUT PREEMPT AND ABORT, GOOD: the I_T nexuses it preempted, whose commands it aborted (SPC-5). */
  readonly preempted?: readonly string[];
}

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
  readonly transportId?: Uint8Array | undefined;
  /**
   * Room for the Data-In the transport already has (CAM's data_ptr): a READ
   * on the fast path transfers into its first bytes, and the answer's data is
   * then a view of it. Any other command answers with a buffer of its own.
   * Its bytes are unspecified after an answer that is not GOOD.
   */
  readonly dataIn?: Uint8Array | undefined;
  /**
   * The command was received before a device reset that caught it in flight,
   * and this is its execution again (a transport re-issuing what the reset
   * cut short, CAM_REQUEUE_REQ). It is not the I_T nexus's next command
   * (SAM-5 unit attention condition; SPC-5 deferred errors): it neither
   * reports nor clears the reset's unit attention or a deferred error, which
   * stay for the nexus's next new command; its first execution may already
   * have reached the medium, so CHECK CONDITION (not executed) would be
   * untrue. Every other check still applies. Default false.
   */
  readonly reissued?: boolean | undefined;
  /**
   * Whether the transport has aborted the command since it began (SAM-5
   * aborting commands: PREEMPT AND ABORT, ABORT TASK SET and CLEAR TASK SET
   * through the unit's TaskAborter, task-abort.ts). A command the emulator
   * carries out as a series of block operations (EXTENDED COPY, WRITE SAME
   * written out in chunks, UNMAP) asks before each one and, once aborted,
   * stops after the one in flight; the transport
   * ends it as its abort says, whatever it answers. Default: never aborted.
   */
  readonly aborted?: OperationAborted | undefined;
}

/**
 * start()'s options: ExecuteOptions, and for a transport that passes the
 * never-aborted `aborted` for READ and WRITE (no function made per I/O),
 * whether the command of context `ctx` has been aborted. A READ or WRITE that
 * leaves the fast path (it may wait there for a range lock) asks it, through a
 * function start() makes then, and issues nothing once aborted.
 */
export interface StartOptions<C> extends ExecuteOptions {
  readonly abortedOf?: ((ctx: C) => boolean) | undefined;
}

/** `outcome` as a transport carries it, its sense encoded in descriptor format when `dSense` (D_SENSE) is set, else fixed. */
export function toSbcResult(outcome: CommandOutcome, dSense: boolean): SbcResult {
  if (outcome.preempted !== undefined) return { status: outcome.status, preempted: outcome.preempted };
  if (outcome.sense === undefined) return outcome.data === undefined ? { status: outcome.status } : { status: outcome.status, data: outcome.data };
  const format: SenseFormat = dSense ? 'descriptor' : 'fixed';
  return { status: outcome.status, sense: encodeSense(outcome.sense, format), senseData: outcome.sense };
}
