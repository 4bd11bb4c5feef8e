// The reservations of one logical unit: SPC-2 RESERVE/RELEASE reservations
// and SPC-5 persistent reservations (registrations per I_T nexus with their
// reservation keys, the reservation with its holder, type and scope, the
// PRGENERATION counter), the unit attentions their changes cause, and which
// commands conflict. Spec: SPC-5 (INCITS 502) Reservations — persistent
// reservations, registering, reserving, releasing, clearing, preempting,
// "Exceptions to SPC-2 RESERVE and RELEASE behavior"; SPC-2 RESERVE(6)/(10),
// RELEASE(6)/(10); SAM-5 (I_T nexus loss, LOGICAL UNIT RESET).
//
// What is kept across events:
// - I_T nexus loss: that nexus's SPC-2 reservation is released; registrations
//   and the persistent reservation stay (they belong to the I_T nexus name,
//   which comes back with the same identity).
// - LOGICAL UNIT RESET: the SPC-2 reservation is released; persistent
//   reservations stay.
// - A registration that PREEMPT, PREEMPT AND ABORT or CLEAR removes: its
//   nexus's prevention of medium removal ends too (the RegistrationRemoved
//   hook; SBC-4 PREVENT ALLOW MEDIUM REMOVAL, removable units only).
// - Power loss: nothing persists (APTPL is not supported: PTPL_C 0).
// Not implemented (answered as SPC-5 says for a device server without them):
// SPEC_I_PT (SIP_C 0), APTPL (PTPL_C 0), REGISTER AND MOVE and REPLACE LOST
// RESERVATION (not in the command table).
//
// PREEMPT AND ABORT is PREEMPT, then every command of the I_T nexuses
// registered with the SERVICE ACTION RESERVATION KEY (with 0 under an all
// registrants reservation: of every registered I_T nexus) is aborted, whether
// or not they held the reservation and whether or not their registrations went
// (the holder preempting its own key keeps its registration) — the sender's
// own other commands too, the PERSISTENT RESERVE OUT itself excepted (SPC-5
// PREEMPT AND ABORT; SAM-5 aborting commands). One that fails aborts nothing.
// The aborting is the TaskAbort hook's (the emulator hands it to whoever runs
// the unit's commands: the vtblk SIM); the command completes once every
// aborted one has. With TAS 0 in the Control mode page (mode-pages.ts) the
// aborted commands get no status, and every other I_T nexus that had commands
// aborted gets COMMANDS CLEARED BY ANOTHER INITIATOR (2Fh/00h), after its
// REGISTRATIONS PREEMPTED when its registration went; with TAS 1 the other
// nexuses' commands end with TASK ABORTED status instead (task-abort.ts).
// Commands a front end held short of the unit (an iSCSI WRITE waiting for
// Data-Out) count too: it aborts them once the command names the preempted
// nexuses, and tells the unit whose they were (SbcEmulator.transportAborted).

import { ScsiStatus } from '../status.js';
import { Asc, invalidFieldInParameterList, senseIllegalRequest, type AscAscq } from '../sense.js';
import { ScsiOp } from '../opcodes.js';
import { encodeIscsiTransportId, transportIdLengthFault } from '../transport-id.js';
import {
  PrType,
  encodeReadFullStatus,
  encodeReadKeys,
  encodeReadReservation,
  encodeReportCapabilities,
  isAllRegistrants,
  isRegistrantsOnly,
  type PrCapabilities,
  type ProutParameters,
} from '../pr-data.js';
import { GOOD, checkCondition, type CommandOutcome } from './context.js';
import { conflictRow, persistentAccess } from './reservation-conflicts.js';

/** RESERVATION CONFLICT (18h): no sense data. */
export const RESERVATION_CONFLICT: CommandOutcome = { status: ScsiStatus.RESERVATION_CONFLICT };

/** What REPORT CAPABILITIES answers. */
export const PR_CAPABILITIES: PrCapabilities = {
  rlrC: false,
  // RESERVE/RELEASE under persistent reservations follow SPC-5's exceptions.
  crh: true,
  sipC: false,
  // One target port: registering through all of them is registering through it.
  atpC: true,
  ptplC: false,
  // 011b: TEST UNIT READY allowed through Write Exclusive and Exclusive Access,
  // MODE SENSE, READ BUFFER, RECEIVE COPY RESULTS, RECEIVE DIAGNOSTIC RESULTS,
  // RSOC, RSTMF and READ DEFECT DATA through Write Exclusive (reservation-conflicts.ts).
  allowCommands: 0b011,
  ptplA: false,
  types: Object.values(PrType),
};

/** RELATIVE TARGET PORT IDENTIFIER of vtcam's one target port (0 is reserved). */
export const RELATIVE_TARGET_PORT = 1;

/** The iSCSI name prefix of the TransportID given to a nexus whose transport named none (RFC 2606 `.invalid`: no real domain). */
export const LOCAL_INITIATOR_PREFIX = 'iqn.2000-01.invalid.vtcam:';

/**
 * The TransportID of an in-process initiator (one that reached the unit
 * without a transport identity, e.g. CAM's own nexus `cam`): an iSCSI
 * initiator device TransportID named LOCAL_INITIATOR_PREFIX + the nexus id,
 * lower-cased, with characters an iSCSI name cannot hold as `-`, cut to 223 bytes.
 */
export function localTransportId(nexus: string): Uint8Array {
  const id = nexus.toLowerCase().replace(/[^a-z0-9.:-]/g, '-');
  return encodeIscsiTransportId((LOCAL_INITIATOR_PREFIX + (id === '' ? '-' : id)).slice(0, 223));
}

/** Establishes a unit attention for one I_T nexus. */
export type UnitAttentionSink = (nexus: string, code: AscAscq) => void;

/**
 * Aborts every command of the I_T nexuses `nexuses` except the one running
 * now (from `from`), which called it; settles once every aborted command has
 * completed.
 */
export type TaskAbort = (nexuses: readonly string[], from: string) => Promise<void>;

/** Nothing to abort: a unit whose commands nobody else runs. */
const NO_TASKS: TaskAbort = () => Promise.resolve();

/** Told of each I_T nexus whose registration a PREEMPT, PREEMPT AND ABORT or CLEAR removed. */
export type RegistrationRemoved = (nexus: string) => void;

/** No one to tell: a unit without state kept per I_T nexus beside its reservations. */
const NO_ONE: RegistrationRemoved = () => undefined;

interface Registration {
  key: bigint;
  readonly allTgPt: boolean;
  readonly transportId: Uint8Array;
}

interface Persistent {
  readonly type: PrType;
  readonly scope: number;
  /** The holding nexus; undefined for an all registrants reservation (every registrant holds it). */
  readonly holder: string | undefined;
}

/** What a preempt did: its outcome, and whose commands PREEMPT AND ABORT aborts (none when it failed). */
interface Preemption {
  readonly outcome: CommandOutcome;
  /** The I_T nexuses registered with the SERVICE ACTION RESERVATION KEY (0 under all registrants: every one) when it began. */
  readonly preempted: readonly string[];
}

/** SERVICE ACTION RESERVATION KEY: bytes 8..15 of the parameter list. */
const SARK_BYTE = 8;

/** A logical unit's reservations. */
export class Reservations {
  readonly #ua: UnitAttentionSink;
  readonly #abort: TaskAbort;
  readonly #removed: RegistrationRemoved;
  /** Registrations in the order they were made (READ KEYS and READ FULL STATUS list them so). */
  readonly #registrations = new Map<string, Registration>();
  readonly #identities = new Map<string, Uint8Array>();
  #pr: Persistent | undefined;
  /** The nexus holding an SPC-2 reservation. */
  #spc2: string | undefined;
  #reserved = false;
  #generation = 0;

  constructor(ua: UnitAttentionSink, abort: TaskAbort = NO_TASKS, removed: RegistrationRemoved = NO_ONE) {
    this.#ua = ua;
    this.#abort = abort;
    this.#removed = removed;
  }

  /** True while any reservation (SPC-2 or persistent) exists: only then can a command conflict. */
  get reserved(): boolean {
    return this.#reserved;
  }

  /** PRGENERATION. */
  get generation(): number {
    return this.#generation;
  }

  /** Records the TransportID a nexus registers with. Throws RangeError for bytes that cannot be a TransportID. */
  identify(nexus: string, transportId: Uint8Array): void {
    if (this.#identities.get(nexus) === transportId) return;
    const fault = transportIdLengthFault(transportId);
    if (fault !== undefined) throw new RangeError(`nexus '${nexus}': ${fault}`);
    this.#identities.set(nexus, transportId);
  }

  /** The TransportID of `nexus`: the one it identified with, else localTransportId. */
  transportIdOf(nexus: string): Uint8Array {
    return this.#identities.get(nexus) ?? localTransportId(nexus);
  }

  isRegistered(nexus: string): boolean {
    return this.#registrations.has(nexus);
  }

  /** True when `nexus` holds the persistent reservation (for all registrants types: is registered). */
  holds(nexus: string): boolean {
    const pr = this.#pr;
    if (pr === undefined) return false;
    return pr.holder === undefined ? this.#registrations.has(nexus) : pr.holder === nexus;
  }

  /** The SPC-2 reservation holder, if any. */
  get spc2Holder(): string | undefined {
    return this.#spc2;
  }

  /**
   * Whether `cdb` from `nexus` conflicts with the reservation (status
   * RESERVATION CONFLICT). Call it for implemented commands only.
   */
  conflicts(nexus: string, cdb: Uint8Array): boolean {
    const spc2 = this.#spc2;
    if (spc2 !== undefined) {
      // SPC-2: while an SPC-2 reservation exists, every PERSISTENT RESERVE IN and OUT conflicts, whoever sends it.
      const op = cdb[0];
      if (op === ScsiOp.PERSISTENT_RESERVE_IN || op === ScsiOp.PERSISTENT_RESERVE_OUT) return true;
      return spc2 !== nexus && conflictRow(cdb).spc2 === 'conflict';
    }
    const pr = this.#pr;
    if (pr === undefined || this.holds(nexus)) return false;
    return persistentAccess(conflictRow(cdb), pr.type, this.#registrations.has(nexus)) === 'conflict';
  }

  // ---- SPC-2 RESERVE / RELEASE ----

  /**
   * RESERVE(6)/(10). With registrations present (SPC-5 exceptions to SPC-2
   * behavior): GOOD and nothing changes from the persistent reservation
   * holder, or a registrant under a registrants only / all registrants
   * reservation; RESERVATION CONFLICT from anyone else. Otherwise SPC-2: the
   * unit is reserved to `nexus` unless another nexus holds it.
   */
  reserveSpc2(nexus: string): CommandOutcome {
    const exception = this.#spc2Exception(nexus);
    if (exception !== undefined) return exception;
    if (this.#spc2 !== undefined && this.#spc2 !== nexus) return RESERVATION_CONFLICT;
    this.#spc2 = nexus;
    this.#update();
    return GOOD;
  }

  /** RELEASE(6)/(10): the same exceptions; otherwise releases `nexus`'s reservation, and is GOOD doing nothing for anyone else. */
  releaseSpc2(nexus: string): CommandOutcome {
    const exception = this.#spc2Exception(nexus);
    if (exception !== undefined) return exception;
    if (this.#spc2 === nexus) {
      this.#spc2 = undefined;
      this.#update();
    }
    return GOOD;
  }

  #spc2Exception(nexus: string): CommandOutcome | undefined {
    if (this.#registrations.size === 0) return undefined;
    const pr = this.#pr;
    if (this.holds(nexus)) return GOOD;
    if (pr !== undefined && this.#registrations.has(nexus) && (isRegistrantsOnly(pr.type) || isAllRegistrants(pr.type))) return GOOD;
    return RESERVATION_CONFLICT;
  }

  // ---- PERSISTENT RESERVE IN ----

  readKeys(): Uint8Array {
    return encodeReadKeys(this.#generation, Array.from(this.#registrations.values(), (r) => r.key));
  }

  readReservation(): Uint8Array {
    const pr = this.#pr;
    if (pr === undefined) return encodeReadReservation(this.#generation, undefined);
    // An all registrants reservation has no one holder: its RESERVATION KEY is 0.
    const key = pr.holder === undefined ? 0n : (this.#registrations.get(pr.holder)?.key ?? 0n);
    return encodeReadReservation(this.#generation, { key, scope: pr.scope, type: pr.type });
  }

  reportCapabilities(): Uint8Array {
    return encodeReportCapabilities(PR_CAPABILITIES);
  }

  readFullStatus(): Uint8Array {
    const pr = this.#pr;
    const descriptors = Array.from(this.#registrations, ([nexus, r]) => {
      const holder = this.holds(nexus);
      return {
        key: r.key,
        allTgPt: r.allTgPt,
        holder,
        scope: holder && pr !== undefined ? pr.scope : 0,
        type: holder && pr !== undefined ? pr.type : 0,
        relativeTargetPort: RELATIVE_TARGET_PORT,
        transportId: r.transportId,
      };
    });
    return encodeReadFullStatus(this.#generation, descriptors);
  }

  // ---- PERSISTENT RESERVE OUT ----
  // Each returns the command's outcome; PRGENERATION goes up for every REGISTER,
  // REGISTER AND IGNORE EXISTING KEY, CLEAR, PREEMPT and PREEMPT AND ABORT that
  // completes GOOD (never for RESERVE or RELEASE, nor for a failed command).

  /**
   * REGISTER (`ignoreExisting` false) or REGISTER AND IGNORE EXISTING KEY.
   * Unregistered nexus: RESERVATION KEY ≠ 0 conflicts (REGISTER only); SERVICE
   * ACTION RESERVATION KEY 0 does nothing, else registers it. Registered: a
   * RESERVATION KEY other than its key conflicts (REGISTER only); SERVICE
   * ACTION RESERVATION KEY 0 unregisters, else replaces the key.
   */
  register(nexus: string, p: ProutParameters, ignoreExisting: boolean): CommandOutcome {
    const reg = this.#registrations.get(nexus);
    const sark = p.serviceActionReservationKey;
    if (!ignoreExisting && p.reservationKey !== (reg?.key ?? 0n)) return RESERVATION_CONFLICT;
    if (reg === undefined) {
      if (sark !== 0n) this.#registrations.set(nexus, { key: sark, allTgPt: p.allTgPt, transportId: this.transportIdOf(nexus) });
    } else if (sark !== 0n) {
      reg.key = sark;
    } else {
      this.#unregister(nexus);
    }
    this.#bump();
    return GOOD;
  }

  /**
   * RESERVE: from a registered nexus with its key. Creates the reservation when
   * there is none; GOOD without change from a holder asking for the same type
   * and scope; RESERVATION CONFLICT otherwise.
   */
  reserve(nexus: string, key: bigint, scope: number, type: PrType): CommandOutcome {
    if (!this.#keyMatches(nexus, key)) return RESERVATION_CONFLICT;
    const pr = this.#pr;
    if (pr !== undefined) return this.holds(nexus) && pr.type === type && pr.scope === scope ? GOOD : RESERVATION_CONFLICT;
    this.#setPersistent({ type, scope, holder: isAllRegistrants(type) ? undefined : nexus });
    return GOOD;
  }

  /**
   * RELEASE: GOOD doing nothing when there is no reservation or `nexus` does
   * not hold it; from the holder with another scope or type, INVALID RELEASE
   * OF PERSISTENT RESERVATION (26h/04h); else released, and a registrants only
   * or all registrants reservation's other registrants get RESERVATIONS RELEASED.
   */
  release(nexus: string, key: bigint, scope: number, type: number): CommandOutcome {
    if (!this.#keyMatches(nexus, key)) return RESERVATION_CONFLICT;
    const pr = this.#pr;
    if (pr === undefined || !this.holds(nexus)) return GOOD;
    if (pr.scope !== scope || pr.type !== type) return checkCondition(senseIllegalRequest(Asc.INVALID_RELEASE_OF_PERSISTENT_RESERVATION));
    this.#setPersistent(undefined);
    if (isRegistrantsOnly(pr.type) || isAllRegistrants(pr.type)) this.#tellOthers(nexus, Asc.RESERVATIONS_RELEASED);
    return GOOD;
  }

  /** CLEAR: the reservation and every registration go (the sender's too); the other registrants get RESERVATIONS PREEMPTED. */
  clear(nexus: string, key: bigint): CommandOutcome {
    if (!this.#keyMatches(nexus, key)) return RESERVATION_CONFLICT;
    const removed = [...this.#registrations.keys()];
    this.#registrations.clear();
    this.#setPersistent(undefined);
    this.#tellRemoved(removed);
    for (const n of removed) if (n !== nexus) this.#ua(n, Asc.RESERVATIONS_PREEMPTED);
    this.#bump();
    return GOOD;
  }

  /**
   * PREEMPT. With no reservation, or an all registrants one and a SERVICE
   * ACTION RESERVATION KEY ≠ 0, or a key that is not the holder's: removes the
   * registrations with that key (none: RESERVATION CONFLICT). A zero key that
   * is not an all registrants reservation's is INVALID FIELD IN PARAMETER LIST.
   * The holder's key (or 0 under all registrants): the reservation is taken
   * over with the new type and scope and the other registrations with that key
   * (all others, for 0) go. Those that lost a registration get REGISTRATIONS
   * PREEMPTED; when the type or scope changed, the remaining registrants get
   * RESERVATIONS RELEASED.
   */
  preempt(nexus: string, key: bigint, sark: bigint, scope: number, type: PrType): CommandOutcome {
    return this.#preempt(nexus, key, sark, scope, type).outcome;
  }

  /**
   * PREEMPT AND ABORT: PREEMPT, then the commands of every I_T nexus that was
   * registered with the SERVICE ACTION RESERVATION KEY (0 under an all
   * registrants reservation: every registered one), the sender included, are
   * aborted (TaskAbort); GOOD once they have all completed, naming those
   * nexuses (CommandOutcome.preempted) for a transport that holds commands of
   * theirs the unit has not seen: it aborts those and names the nexuses that
   * had any back (SbcEmulator.transportAborted). A failed preempt aborts nothing.
   */
  preemptAndAbort(nexus: string, key: bigint, sark: bigint, scope: number, type: PrType): CommandOutcome | Promise<CommandOutcome> {
    const { outcome, preempted } = this.#preempt(nexus, key, sark, scope, type);
    if (preempted.length === 0) return outcome;
    return this.#abort(preempted, nexus).then(() => ({ ...outcome, preempted }));
  }

  // ---- events ----

  /** I_T nexus loss: its SPC-2 reservation is released and its identity forgotten; registrations stay. */
  nexusLost(nexus: string): void {
    this.#identities.delete(nexus);
    if (this.#spc2 === nexus) {
      this.#spc2 = undefined;
      this.#update();
    }
  }

  /** LOGICAL UNIT RESET: the SPC-2 reservation is released; persistent reservations stay. */
  logicalUnitReset(): void {
    this.#spc2 = undefined;
    this.#update();
  }

  // ---- internals ----

  /** A registered nexus whose RESERVATION KEY is its registered key. */
  #keyMatches(nexus: string, key: bigint): boolean {
    return this.#registrations.get(nexus)?.key === key;
  }

  #unregister(nexus: string): void {
    this.#registrations.delete(nexus);
    const pr = this.#pr;
    if (pr === undefined) return;
    if (pr.holder === undefined) {
      // An all registrants reservation lasts while anyone is registered.
      if (this.#registrations.size === 0) this.#setPersistent(undefined);
      return;
    }
    if (pr.holder !== nexus) return;
    this.#setPersistent(undefined);
    if (isRegistrantsOnly(pr.type)) this.#tellOthers(nexus, Asc.RESERVATIONS_RELEASED);
  }

  /** PREEMPT's steps (see preempt()); `preempted`: see Preemption. */
  #preempt(nexus: string, key: bigint, sark: bigint, scope: number, type: PrType): Preemption {
    if (!this.#keyMatches(nexus, key)) return { outcome: RESERVATION_CONFLICT, preempted: [] };
    const pr = this.#pr;
    if (pr === undefined) return this.#removeRegistrations(nexus, sark);
    if (pr.holder === undefined) {
      if (sark !== 0n) return this.#removeRegistrations(nexus, sark);
    } else if (sark !== this.#registrations.get(pr.holder)?.key) {
      if (sark === 0n) return { outcome: checkCondition(invalidFieldInParameterList(SARK_BYTE)), preempted: [] };
      return this.#removeRegistrations(nexus, sark);
    }
    // The holder's key (or 0 under all registrants): all with it (everyone, for 0) are preempted, the sender
    // too if it has it; every registration but the sender's goes.
    const preempted = [...this.#registrations].filter(([, r]) => sark === 0n || r.key === sark).map(([n]) => n);
    const removed = preempted.filter((n) => n !== nexus);
    for (const n of removed) this.#registrations.delete(n);
    this.#setPersistent({ type, scope, holder: isAllRegistrants(type) ? undefined : nexus });
    this.#tellRemoved(removed);
    for (const n of removed) this.#ua(n, Asc.REGISTRATIONS_PREEMPTED);
    if (pr.type !== type || pr.scope !== scope) this.#tellOthers(nexus, Asc.RESERVATIONS_RELEASED);
    this.#bump();
    return { outcome: GOOD, preempted };
  }

  /** PREEMPT's "removing registrations": every registration with `sark` goes (the sender's too, if it has that key). */
  #removeRegistrations(nexus: string, sark: bigint): Preemption {
    const removed = [...this.#registrations].filter(([, r]) => r.key === sark).map(([n]) => n);
    if (removed.length === 0) return { outcome: RESERVATION_CONFLICT, preempted: [] };
    for (const n of removed) this.#registrations.delete(n);
    if (this.#pr?.holder === undefined && this.#registrations.size === 0) this.#setPersistent(undefined);
    this.#tellRemoved(removed);
    for (const n of removed) if (n !== nexus) this.#ua(n, Asc.REGISTRATIONS_PREEMPTED);
    this.#bump();
    return { outcome: GOOD, preempted: removed };
  }

  #tellRemoved(nexuses: readonly string[]): void {
    for (const n of nexuses) this.#removed(n);
  }

  /** A unit attention for every registered nexus but `nexus`. */
  #tellOthers(nexus: string, code: AscAscq): void {
    for (const n of this.#registrations.keys()) if (n !== nexus) this.#ua(n, code);
  }

  #setPersistent(pr: Persistent | undefined): void {
    this.#pr = pr;
    this.#update();
  }

  #update(): void {
    this.#reserved = this.#pr !== undefined || this.#spc2 !== undefined;
  }

  /** PRGENERATION is a 32-bit wrapping counter. */
  #bump(): void {
    this.#generation = (this.#generation + 1) >>> 0;
  }
}
