// The PERSISTENT RESERVE OUT service actions of a logical unit: registering,
// reserving, releasing, clearing, preempting, on the registrations and the
// persistent reservation that reservations.ts keeps; the PRGENERATION counter;
// and the unit attentions their changes cause. Spec: SPC-5 (INCITS 502)
// Reservations — persistent reservations, registering, reserving, releasing,
// clearing, preempting; PERSISTENT RESERVE OUT.
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

import { Asc, invalidFieldInParameterList, senseIllegalRequest, type AscAscq } from '../sense.js';
import { isAllRegistrants, isRegistrantsOnly, type PrType, type ProutParameters } from '../pr-data.js';
import { GOOD, checkCondition, type CommandOutcome } from './context.js';
import { RESERVATION_CONFLICT, type Persistent, type Registration } from './reservation-state.js';

/** Establishes a unit attention for one I_T nexus. */
export type UnitAttentionSink = (nexus: string, code: AscAscq) => void;

/**
 * Aborts every command of the I_T nexuses `nexuses` except the one running
 * now (from `from`), which called it; settles once every aborted command has
 * completed. PREEMPT AND ABORT calls it right after the preempt, with the
 * nexuses it preempted (the emulator tells its transport of them then).
 */
export type TaskAbort = (nexuses: readonly string[], from: string) => Promise<void>;

/** Told of each I_T nexus whose registration a PREEMPT, PREEMPT AND ABORT or CLEAR removed. */
export type RegistrationRemoved = (nexus: string) => void;

/**
 * What the service actions read and change of the unit's reservation state.
 * Its owner (Reservations) keeps the state in its own fields, which the
 * conflict check of every command reads directly, and lends them here.
 */
export interface ReservationState {
  /** Registrations in the order they were made; the service actions change this map in place. */
  readonly registrations: Map<string, Registration>;
  persistent(): Persistent | undefined;
  setPersistent(pr: Persistent | undefined): void;
  /** True when `nexus` holds the persistent reservation (for all registrants types: is registered). */
  holds(nexus: string): boolean;
  /** The TransportID `nexus` registers with. */
  transportIdOf(nexus: string): Uint8Array;
}

/** What a preempt did: its outcome, and whose commands PREEMPT AND ABORT aborts (none when it failed). */
interface Preemption {
  readonly outcome: CommandOutcome;
  /** The I_T nexuses registered with the SERVICE ACTION RESERVATION KEY (0 under all registrants: every one) when it began. */
  readonly preempted: readonly string[];
}

/** SERVICE ACTION RESERVATION KEY: bytes 8..15 of the parameter list. */
const SARK_BYTE = 8;

/**
 * Registrations a unit keeps at most unless its options say otherwise (SbcEmulatorOptions.maxRegistrations).
 * A registration outlives its I_T nexus (SPC-5), so without a bound every initiator port that ever registered
 * would hold memory for good, and READ KEYS and READ FULL STATUS list them all.
 */
export const DEFAULT_MAX_REGISTRATIONS = 1024;

/**
 * The registration limit of SbcEmulatorOptions.maxRegistrations: `n`, or the default.
 * @throws RangeError when `n` is not a whole number of at least 1.
 */
export function registrationLimit(n: number | undefined): number {
  if (n === undefined) return DEFAULT_MAX_REGISTRATIONS;
  if (!Number.isSafeInteger(n) || n < 1) throw new RangeError(`maxRegistrations must be a whole number of at least 1, got ${n}`);
  return n;
}

/** The PERSISTENT RESERVE OUT service actions over one unit's reservation state. */
export class PersistentReserveOut {
  readonly #state: ReservationState;
  readonly #registrations: Map<string, Registration>;
  readonly #ua: UnitAttentionSink;
  readonly #abort: TaskAbort;
  readonly #removed: RegistrationRemoved;
  readonly #maxRegistrations: number;
  #generation = 0;

  /** `maxRegistrations`: see registrationLimit. */
  constructor(state: ReservationState, ua: UnitAttentionSink, abort: TaskAbort, removed: RegistrationRemoved, maxRegistrations: number) {
    this.#state = state;
    this.#registrations = state.registrations;
    this.#ua = ua;
    this.#abort = abort;
    this.#removed = removed;
    this.#maxRegistrations = maxRegistrations;
  }

  /** PRGENERATION. */
  get generation(): number {
    return this.#generation;
  }

  // Each returns the command's outcome; PRGENERATION goes up for every REGISTER,
  // REGISTER AND IGNORE EXISTING KEY, CLEAR, PREEMPT and PREEMPT AND ABORT that
  // completes GOOD (never for RESERVE or RELEASE, nor for a failed command).

  /**
   * REGISTER (`ignoreExisting` false) or REGISTER AND IGNORE EXISTING KEY.
   * Unregistered nexus: RESERVATION KEY ≠ 0 conflicts (REGISTER only); SERVICE
   * ACTION RESERVATION KEY 0 does nothing, else registers it, unless the
   * unit has its most registrations already: INSUFFICIENT REGISTRATION
   * RESOURCES (55h/04h, SPC-5 registering), nothing changed. Registered: a
   * RESERVATION KEY other than its key conflicts (REGISTER only); SERVICE
   * ACTION RESERVATION KEY 0 unregisters, else replaces the key.
   */
  register(nexus: string, p: ProutParameters, ignoreExisting: boolean): CommandOutcome {
    const reg = this.#registrations.get(nexus);
    const sark = p.serviceActionReservationKey;
    if (!ignoreExisting && p.reservationKey !== (reg?.key ?? 0n)) return RESERVATION_CONFLICT;
    if (reg === undefined && sark !== 0n && this.#registrations.size >= this.#maxRegistrations) {
      return checkCondition(senseIllegalRequest(Asc.INSUFFICIENT_REGISTRATION_RESOURCES));
    }
    if (reg === undefined) {
      if (sark !== 0n) this.#registrations.set(nexus, { key: sark, allTgPt: p.allTgPt, transportId: this.#state.transportIdOf(nexus) });
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
    const pr = this.#state.persistent();
    if (pr !== undefined) return this.#state.holds(nexus) && pr.type === type && pr.scope === scope ? GOOD : RESERVATION_CONFLICT;
    this.#state.setPersistent({ type, scope, holder: isAllRegistrants(type) ? undefined : nexus });
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
    const pr = this.#state.persistent();
    if (pr === undefined || !this.#state.holds(nexus)) return GOOD;
    if (pr.scope !== scope || pr.type !== type) return checkCondition(senseIllegalRequest(Asc.INVALID_RELEASE_OF_PERSISTENT_RESERVATION));
    this.#state.setPersistent(undefined);
    if (isRegistrantsOnly(pr.type) || isAllRegistrants(pr.type)) this.#tellOthers(nexus, Asc.RESERVATIONS_RELEASED);
    return GOOD;
  }

  /** CLEAR: the reservation and every registration go (the sender's too); the other registrants get RESERVATIONS PREEMPTED. */
  clear(nexus: string, key: bigint): CommandOutcome {
    if (!this.#keyMatches(nexus, key)) return RESERVATION_CONFLICT;
    const removed = [...this.#registrations.keys()];
    this.#registrations.clear();
    this.#state.setPersistent(undefined);
    this.#tellRemoved(removed);
    for (const n of removed) if (n !== nexus) this.#ua(n, Asc.RESERVATIONS_PREEMPTED);
    this.#bump();
    return GOOD;
  }

  /**
   * PREEMPT. With no reservation, or an all registrants one and a SERVICE
   * ACTION RESERVATION KEY ≠ 0, or a key that is not the holder's: removes the
   * registrations with that key (none: RESERVATION CONFLICT). A zero key
   * without an all registrants reservation (with another type, or with no
   * reservation at all) is INVALID FIELD IN PARAMETER LIST.
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

  // ---- internals ----

  /** A registered nexus whose RESERVATION KEY is its registered key. */
  #keyMatches(nexus: string, key: bigint): boolean {
    return this.#registrations.get(nexus)?.key === key;
  }

  #unregister(nexus: string): void {
    this.#registrations.delete(nexus);
    const pr = this.#state.persistent();
    if (pr === undefined) return;
    if (pr.holder === undefined) {
      // An all registrants reservation lasts while anyone is registered.
      if (this.#registrations.size === 0) this.#state.setPersistent(undefined);
      return;
    }
    if (pr.holder !== nexus) return;
    this.#state.setPersistent(undefined);
    if (isRegistrantsOnly(pr.type)) this.#tellOthers(nexus, Asc.RESERVATIONS_RELEASED);
  }

  /** PREEMPT's steps (see preempt()); `preempted`: see Preemption. */
  #preempt(nexus: string, key: bigint, sark: bigint, scope: number, type: PrType): Preemption {
    if (!this.#keyMatches(nexus, key)) return { outcome: RESERVATION_CONFLICT, preempted: [] };
    const pr = this.#state.persistent();
    // Only an all registrants reservation gives a zero key a meaning; with none at all it names no one either.
    if (sark === 0n && (pr === undefined || pr.holder !== undefined)) return { outcome: checkCondition(invalidFieldInParameterList(SARK_BYTE)), preempted: [] };
    if (pr === undefined) return this.#removeRegistrations(nexus, sark);
    if (pr.holder === undefined) {
      if (sark !== 0n) return this.#removeRegistrations(nexus, sark);
    } else if (sark !== this.#registrations.get(pr.holder)?.key) {
      return this.#removeRegistrations(nexus, sark);
    }
    // The holder's key (or 0 under all registrants): all with it (everyone, for 0) are preempted, the sender
    // too if it has it; every registration but the sender's goes.
    const preempted = [...this.#registrations].filter(([, r]) => sark === 0n || r.key === sark).map(([n]) => n);
    const removed = preempted.filter((n) => n !== nexus);
    for (const n of removed) this.#registrations.delete(n);
    this.#state.setPersistent({ type, scope, holder: isAllRegistrants(type) ? undefined : nexus });
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
    if (this.#state.persistent()?.holder === undefined && this.#registrations.size === 0) this.#state.setPersistent(undefined);
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

  /** PRGENERATION is a 32-bit wrapping counter. */
  #bump(): void {
    this.#generation = (this.#generation + 1) >>> 0;
  }
}
