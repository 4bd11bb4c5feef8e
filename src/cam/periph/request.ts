// The raw SCSI request both periphs accept (pass.scsi, da.scsi): a CDB with
// its direction and buffers, checked up front, and the result as a test suite
// wants it (camcontrol cmd's view: CAM status word, SCSI status, sense, data,
// residual). A malformed request is a caller bug and throws RangeError
// (STYLE §6); what the device says about a well-formed one is data.

import { MAX_TIMER_MS } from '../../timer-limit.js';
import { CamDir, TagAction, CAM_AUTOSNS_VALID, type CcbInitiator, type ScsiIoCcb } from '../xpt/periph-api.js';
import { decodeSense } from '../../scsi/sense-codec.js';
import { transportIdLengthFault } from '../../scsi/transport-id.js';
import type { SenseData } from '../../scsi/sense.js';

/**
 * Longest CDB accepted: 32 bytes covers every fixed-length CDB (6..16 bytes)
 * and the 32-byte variable-length ones (7Fh: READ(32), WRITE(32), …). SPC-5
 * allows up to 260, but no command vtcam's targets know is longer, and CAM
 * carries more than 16 only by pointer.
 */
export const MAX_CDB_LENGTH = 32;
/** Largest Data-In room or Data-Out length: CAM's dxfer_len is 32 bits. */
export const MAX_TRANSFER_LENGTH = 0xffff_ffff;
/** Largest timeout: what a Node timer can wait (timer-limit.ts); 0 means none. */
export const MAX_TIMEOUT_MS = MAX_TIMER_MS;

/** Data direction: Data-In, Data-Out, or no data. */
export type ScsiDirection = 'in' | 'out' | 'none';
/** SAM-5 task attribute: SIMPLE, ORDERED, HEAD OF QUEUE. */
export type ScsiTagAction = 'simple' | 'ordered' | 'head';

/** A raw SCSI command. */
export interface ScsiRequest {
  /** The CDB, 1..MAX_CDB_LENGTH bytes. */
  readonly cdb: Uint8Array;
  readonly direction: ScsiDirection;
  /** Data-In room in bytes ('in' only, an integer 0..2^32 − 1); required for 'in' unless `into` gives it. */
  readonly length?: number;
  /**
   * The Data-In Buffer to receive into ('in' only; CAM's data_ptr), so a
   * command allocates no buffer of its own: `data` is then a view of it. The
   * room is `length` when given (at most its length), else its length. After
   * anything but success its bytes are unspecified.
   */
  readonly into?: Uint8Array;
  /** Data-Out Buffer (required for 'out', may be empty; not allowed otherwise). */
  readonly data?: Uint8Array;
  /** SAM-5 task attribute; default 'simple'. */
  readonly tagAction?: ScsiTagAction;
  /** Hard timeout in ms, an integer 0..2^31 − 1 (0: none); default the periph's. */
  readonly timeoutMs?: number;
  /** CAM priority (CamPriority.*), a non-negative integer; default CamPriority.NORMAL. */
  readonly priority?: number;
  /**
   * The initiator (I_T nexus id and TransportID) the command comes from, for a
   * front end serving many; default the SIM's own nexus.
   */
  readonly initiator?: CcbInitiator;
  /**
   * Aborts the command (pass.scsi only): XPT_ABORT of its CCB, which then
   * completes CAM_REQ_ABORTED, or with its real status if it finished first.
   * Already aborted: the command is not sent, and completes CAM_REQ_ABORTED.
   */
  readonly signal?: AbortSignal;
}

/** What the device (or the transport) answered. */
export interface ScsiResult {
  /** The CCB status word: CamStatus OR'ed with CAM_DEV_QFRZN / CAM_AUTOSNS_VALID, as the XPT returned it. */
  readonly camStatus: number;
  readonly scsiStatus: number;
  /** Autosense bytes, when CAM_AUTOSNS_VALID. */
  readonly sense?: Uint8Array;
  /** The same sense, decoded (absent when the bytes are not valid sense data). */
  readonly senseData?: SenseData;
  /**
   * Data-In received ('in' only; may be shorter than `length`): a view of
   * `into` when given. Else a READ's may share its ArrayBuffer with others' (see DaPeriph.read).
   */
  readonly data?: Uint8Array;
  /** Bytes not transferred: `length` (or the Data-Out length) minus what moved. */
  readonly resid: number;
  /**
   * PERSISTENT RESERVE OUT PREEMPT AND ABORT that preempted: the initiator ids (CcbInitiator.id) of the I_T
   * nexuses it preempted, whose commands the logical unit aborted (SPC-5; ScsiIoCcb.preempted). Present
   * whatever it completed with: also when it was aborted itself while it waited for those commands.
   */
  readonly preempted?: readonly string[];
}

const TAGS: Readonly<Record<ScsiTagAction, TagAction>> = {
  simple: TagAction.SIMPLE,
  ordered: TagAction.ORDERED,
  head: TagAction.HEAD_OF_QUEUE,
};
const DIRS: Readonly<Record<ScsiDirection, CamDir>> = { in: CamDir.IN, out: CamDir.OUT, none: CamDir.NONE };

/** A request's CCB fields, checked. Every key is present (undefined when absent), so checked requests share one shape. */
export interface CheckedRequest {
  readonly cdb: Uint8Array;
  readonly dir: CamDir;
  readonly dataOut?: Uint8Array | undefined;
  readonly dataInLength?: number | undefined;
  readonly dataInto?: Uint8Array | undefined;
  readonly tagAction?: TagAction | undefined;
  readonly timeoutMs?: number | undefined;
  readonly priority?: number | undefined;
  readonly initiator?: CcbInitiator | undefined;
  readonly signal?: AbortSignal | undefined;
}

const isUint = (n: unknown, max: number): n is number => typeof n === 'number' && Number.isInteger(n) && n >= 0 && n <= max;
/** A value in a message, whatever a JavaScript caller passed. */
const show = (v: unknown): string => (v instanceof Uint8Array ? `${v.length} bytes` : typeof v === 'string' ? `'${v}'` : String(v));

/**
 * Checks a raw request and maps it to CCB fields.
 * @throws RangeError for: a CDB that is not a Uint8Array of 1..32 bytes; an
 *   unknown direction or tag action; 'in' without `length` or `into`, or
 *   with `data`; `into` not a Uint8Array, shorter than `length`, or with
 *   another direction;
 *   'out' without `data` or with `length`; 'none' with `length` or `data`;
 *   `length` not an integer in 0..2^32 − 1; Data-Out longer than 2^32 − 1;
 *   `timeoutMs` not an integer in 0..2^31 − 1; `priority` not a non-negative
 *   safe integer; an `initiator` without a non-empty string `id` or whose
 *   `transportId` is not a Uint8Array of a TransportID's length (24..65536, a
 *   multiple of 4); a `signal` that is not an AbortSignal.
 */
export function checkRequest(req: ScsiRequest, who: string): CheckedRequest {
  const { cdb, direction, length, data, into } = req;
  if (!(cdb instanceof Uint8Array) || cdb.length < 1 || cdb.length > MAX_CDB_LENGTH) {
    throw new RangeError(`${who}: cdb must be a Uint8Array of 1..${MAX_CDB_LENGTH} bytes, got ${show(cdb)}`);
  }
  if (!Object.hasOwn(DIRS, direction)) throw new RangeError(`${who}: direction must be 'in', 'out' or 'none', got ${show(direction)}`);
  if (direction !== 'in' && length !== undefined) {
    throw new RangeError(`${who}: length (the Data-In room) is only for direction 'in', got it with '${direction}'`);
  }
  if (direction !== 'out' && data !== undefined) {
    throw new RangeError(`${who}: data (the Data-Out Buffer) is only for direction 'out', got it with '${direction}'`);
  }
  if (into !== undefined) {
    if (direction !== 'in') throw new RangeError(`${who}: into (the Data-In Buffer) is only for direction 'in', got it with '${direction}'`);
    if (!(into instanceof Uint8Array)) throw new RangeError(`${who}: into must be a Uint8Array (the Data-In Buffer), got ${show(into)}`);
    if (into.length > MAX_TRANSFER_LENGTH) throw new RangeError(`${who}: into is ${into.length} bytes, more than ${MAX_TRANSFER_LENGTH}`);
  }
  const room = length ?? into?.length;
  if (direction === 'in' && !isUint(room, MAX_TRANSFER_LENGTH)) throw new RangeError(`${who}: 'in' needs length, an integer 0..${MAX_TRANSFER_LENGTH}, or into, got ${show(length)}`);
  if (into !== undefined && room !== undefined && room > into.length) throw new RangeError(`${who}: length ${room} is more than into holds (${into.length} bytes)`);
  if (direction === 'out') {
    if (!(data instanceof Uint8Array)) throw new RangeError(`${who}: 'out' needs data, a Uint8Array (the Data-Out Buffer), got ${show(data)}`);
    if (data.length > MAX_TRANSFER_LENGTH) throw new RangeError(`${who}: data is ${data.length} bytes, more than ${MAX_TRANSFER_LENGTH}`);
  }
  const { tagAction, timeoutMs, priority, initiator, signal } = req;
  if (tagAction !== undefined && !Object.hasOwn(TAGS, tagAction)) throw new RangeError(`${who}: tagAction must be 'simple', 'ordered' or 'head', got ${show(tagAction)}`);
  if (timeoutMs !== undefined && !isUint(timeoutMs, MAX_TIMEOUT_MS)) throw new RangeError(`${who}: timeoutMs must be an integer 0..${MAX_TIMEOUT_MS}, got ${show(timeoutMs)}`);
  if (priority !== undefined && !isUint(priority, Number.MAX_SAFE_INTEGER)) throw new RangeError(`${who}: priority must be a non-negative integer, got ${show(priority)}`);
  if (initiator !== undefined) checkInitiator(initiator, who);
  if (signal !== undefined && !(signal instanceof AbortSignal)) throw new RangeError(`${who}: signal must be an AbortSignal, got ${show(signal)}`);
  return {
    cdb,
    dir: DIRS[direction],
    dataOut: direction === 'out' ? data : undefined,
    dataInLength: direction === 'in' ? room : undefined,
    dataInto: direction === 'in' ? into : undefined,
    tagAction: tagAction === undefined ? undefined : TAGS[tagAction],
    timeoutMs,
    priority,
    initiator,
    signal,
  };
}

/** An initiator as a CCB carries it. @throws RangeError as checkRequest says. */
export function checkInitiator(initiator: CcbInitiator, who: string): CcbInitiator {
  // Widened: JavaScript callers can pass anything.
  const v: unknown = initiator;
  if (typeof v !== 'object' || v === null) throw new RangeError(`${who}: initiator must be { id, transportId }, got ${show(v)}`);
  const { id, transportId } = v as { readonly id?: unknown; readonly transportId?: unknown };
  if (typeof id !== 'string' || id === '') throw new RangeError(`${who}: initiator.id must be a non-empty string, got ${show(id)}`);
  if (!(transportId instanceof Uint8Array)) throw new RangeError(`${who}: initiator.transportId must be a Uint8Array, got ${show(transportId)}`);
  const fault = transportIdLengthFault(transportId);
  if (fault !== undefined) throw new RangeError(`${who}: initiator.transportId: ${fault}`);
  return initiator;
}

/** The result of a completed CCB, exactly as it came back. */
export function resultOf(ccb: ScsiIoCcb): ScsiResult {
  const out: { -readonly [K in keyof ScsiResult]: ScsiResult[K] } = { camStatus: ccb.status, scsiStatus: ccb.scsiStatus, resid: ccb.resid };
  if ((ccb.status & CAM_AUTOSNS_VALID) !== 0 && ccb.sense !== undefined) {
    out.sense = ccb.sense;
    const s = ccb.senseData ?? decodeSense(ccb.sense);
    if (s !== undefined) out.senseData = s;
  }
  if (ccb.dataIn !== undefined) out.data = ccb.dataIn;
  if (ccb.preempted !== undefined) out.preempted = ccb.preempted;
  return out;
}
