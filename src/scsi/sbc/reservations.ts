// The reservations of one logical unit: SPC-2 RESERVE/RELEASE reservations
// and SPC-5 persistent reservations (registrations per I_T nexus with their
// reservation keys, the reservation with its holder, type and scope), the
// identities I_T nexuses register with, and which commands conflict. The
// PERSISTENT RESERVE OUT service actions that change the persistent state
// (with PRGENERATION and the unit attentions they cause) are in
// persistent-reserve-out.ts, the PERSISTENT RESERVE IN data that reports it in
// persistent-reserve-in.ts. Spec: SPC-5 (INCITS 502) Reservations — persistent
// reservations, "Exceptions to SPC-2 RESERVE and RELEASE behavior"; SPC-2
// RESERVE(6)/(10), RELEASE(6)/(10); SAM-5 (I_T nexus loss, LOGICAL UNIT RESET).
//
// Registrations are bounded (SbcEmulatorOptions.maxRegistrations): as they
// outlive their I_T nexuses, one initiator logging in under ever new ISIDs
// could otherwise grow them without end; one more is refused with SPC-5's
// INSUFFICIENT REGISTRATION RESOURCES.
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

import { ScsiOp } from '../opcodes.js';
import { encodeIscsiTransportId, transportIdLengthFault } from '../transport-id.js';
import { isAllRegistrants, isRegistrantsOnly, type PrType, type ProutParameters } from '../pr-data.js';
import { GOOD, type CommandOutcome } from './context.js';
import { conflictRow, persistentAccess } from './reservation-conflicts.js';
import { RESERVATION_CONFLICT, type Persistent, type Registration } from './reservation-state.js';
import { readFullStatusData, readKeysData, readReservationData, reportCapabilitiesData } from './persistent-reserve-in.js';
import { DEFAULT_MAX_REGISTRATIONS, PersistentReserveOut, type RegistrationRemoved, type TaskAbort, type UnitAttentionSink } from './persistent-reserve-out.js';

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

/** Nothing to abort: a unit whose commands nobody else runs. */
const NO_TASKS: TaskAbort = () => Promise.resolve();

/** No one to tell: a unit without state kept per I_T nexus beside its reservations. */
const NO_ONE: RegistrationRemoved = () => undefined;

/** A logical unit's reservations. */
export class Reservations {
  /** Registrations in the order they were made (READ KEYS and READ FULL STATUS list them so). */
  readonly #registrations = new Map<string, Registration>();
  readonly #identities = new Map<string, Uint8Array>();
  #pr: Persistent | undefined;
  /** The nexus holding an SPC-2 reservation. */
  #spc2: string | undefined;
  #reserved = false;
  readonly #out: PersistentReserveOut;

  /** `maxRegistrations`: the most registrations kept at once (registrationLimit, persistent-reserve-out.ts). */
  constructor(ua: UnitAttentionSink, abort: TaskAbort = NO_TASKS, removed: RegistrationRemoved = NO_ONE, maxRegistrations = DEFAULT_MAX_REGISTRATIONS) {
    // The service actions change the state through these; the conflict check below reads the fields themselves.
    const state = {
      registrations: this.#registrations,
      persistent: () => this.#pr,
      setPersistent: (pr: Persistent | undefined) => {
        this.#setPersistent(pr);
      },
      holds: (nexus: string) => this.holds(nexus),
      transportIdOf: (nexus: string) => this.transportIdOf(nexus),
    };
    this.#out = new PersistentReserveOut(state, ua, abort, removed, maxRegistrations);
  }

  /** True while any reservation (SPC-2 or persistent) exists: only then can a command conflict. */
  get reserved(): boolean {
    return this.#reserved;
  }

  /** PRGENERATION. */
  get generation(): number {
    return this.#out.generation;
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

  // ---- PERSISTENT RESERVE IN (persistent-reserve-in.ts) ----

  readKeys(): Uint8Array {
    return readKeysData(this.#out.generation, this.#registrations);
  }

  readReservation(): Uint8Array {
    return readReservationData(this.#out.generation, this.#registrations, this.#pr);
  }

  reportCapabilities(): Uint8Array {
    return reportCapabilitiesData();
  }

  readFullStatus(): Uint8Array {
    return readFullStatusData(this.#out.generation, this.#registrations, this.#pr, (nexus) => this.holds(nexus));
  }

  // ---- PERSISTENT RESERVE OUT (persistent-reserve-out.ts) ----

  /** REGISTER (`ignoreExisting` false) or REGISTER AND IGNORE EXISTING KEY. */
  register(nexus: string, p: ProutParameters, ignoreExisting: boolean): CommandOutcome {
    return this.#out.register(nexus, p, ignoreExisting);
  }

  /** RESERVE. */
  reserve(nexus: string, key: bigint, scope: number, type: PrType): CommandOutcome {
    return this.#out.reserve(nexus, key, scope, type);
  }

  /** RELEASE. */
  release(nexus: string, key: bigint, scope: number, type: number): CommandOutcome {
    return this.#out.release(nexus, key, scope, type);
  }

  /** CLEAR. */
  clear(nexus: string, key: bigint): CommandOutcome {
    return this.#out.clear(nexus, key);
  }

  /** PREEMPT. */
  preempt(nexus: string, key: bigint, sark: bigint, scope: number, type: PrType): CommandOutcome {
    return this.#out.preempt(nexus, key, sark, scope, type);
  }

  /** PREEMPT AND ABORT: GOOD once the preempted I_T nexuses' commands it aborted have completed. */
  preemptAndAbort(nexus: string, key: bigint, sark: bigint, scope: number, type: PrType): CommandOutcome | Promise<CommandOutcome> {
    return this.#out.preemptAndAbort(nexus, key, sark, scope, type);
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

  #setPersistent(pr: Persistent | undefined): void {
    this.#pr = pr;
    this.#update();
  }

  #update(): void {
    this.#reserved = this.#pr !== undefined || this.#spc2 !== undefined;
  }
}
