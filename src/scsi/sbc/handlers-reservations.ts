// RESERVE(6)/(10), RELEASE(6)/(10), PERSISTENT RESERVE IN and PERSISTENT
// RESERVE OUT of the SBC emulator: field and parameter list checks here, the
// reservation state and its rules in reservations.ts. Whether a command
// conflicts with a reservation is checked by the emulator before any handler
// runs (command-steps.ts, reservation-conflicts.ts). Spec: SPC-5 PERSISTENT RESERVE
// IN / OUT, SPC-2 RESERVE / RELEASE.
//
// PERSISTENT RESERVE OUT checks, in order:
// 1. CDB: SCOPE other than LU_SCOPE (RESERVE, RELEASE, PREEMPT, PREEMPT AND
//    ABORT) → INVALID FIELD IN CDB at byte 2 bit 7; a TYPE that is not a
//    persistent reservation type (RESERVE, PREEMPT, PREEMPT AND ABORT) → byte 2
//    bit 3. The other service actions ignore both fields.
// 2. Parameter list: shorter than 24 bytes (by PARAMETER LIST LENGTH or by the
//    data that came) → PARAMETER LIST LENGTH ERROR; a reserved bit (byte 20
//    bits 7..4 and 1, byte 21) → INVALID FIELD IN PARAMETER LIST at it; SPEC_I_PT
//    set → INVALID FIELD IN PARAMETER LIST at byte 20 bit 3 (not supported for
//    REGISTER, not allowed for the others); PARAMETER LIST LENGTH other than 24
//    → PARAMETER LIST LENGTH ERROR; APTPL set on REGISTER or REGISTER AND
//    IGNORE EXISTING KEY → INVALID FIELD IN PARAMETER LIST at byte 20 bit 0
//    (persist through power loss is not supported; the other service actions
//    ignore the bit). ALL_TG_PT is honoured for the register service actions
//    and ignored by the rest.
// 3. The service action (persistent-reserve-out.ts): RESERVATION CONFLICT for an
//    unregistered nexus or a RESERVATION KEY that is not its own, and so on.

import { PersistentReserveInSa, PersistentReserveOutSa } from '../opcodes.js';
import { Asc, invalidFieldInCdb, invalidFieldInParameterList, senseIllegalRequest } from '../sense.js';
import { SERVICE_ACTION_FIELD } from '../cdb/registry.js';
import type { PersistentReserveOutCdb } from '../cdb/reservations.js';
import { LU_SCOPE, PROUT_FIELD, PROUT_PARAMETER_LIST_LENGTH, decodeProutParameters, isPrType, type ProutParameters, type PrType } from '../pr-data.js';
import { checkCondition, goodData, type CommandOutcome, type HandlerTable } from './context.js';
import type { Reservations } from './reservations.js';

// PERSISTENT RESERVE OUT CDB byte 2: SCOPE (7..4), TYPE (3..0).
const SCOPE_FIELD = { byte: 2, bit: 7 } as const;
const TYPE_FIELD = { byte: 2, bit: 3 } as const;
const LENGTH_ERROR = checkCondition(senseIllegalRequest(Asc.PARAMETER_LIST_LENGTH_ERROR));

const SA = PersistentReserveOutSa;
/** Service actions whose SCOPE field is evaluated. */
const SCOPED: ReadonlySet<number> = new Set([SA.RESERVE, SA.RELEASE, SA.PREEMPT, SA.PREEMPT_AND_ABORT]);
/** Service actions whose TYPE must be a persistent reservation type. */
const TYPED: ReadonlySet<number> = new Set([SA.RESERVE, SA.PREEMPT, SA.PREEMPT_AND_ABORT]);
/** Service actions APTPL is valid for (and ALL_TG_PT). */
const REGISTERING: ReadonlySet<number> = new Set([SA.REGISTER, SA.REGISTER_AND_IGNORE_EXISTING_KEY]);

type ProutAction = (r: Reservations, nexus: string, p: ProutParameters, f: PersistentReserveOutCdb) => CommandOutcome | Promise<CommandOutcome>;
/** TYPE of RESERVE / PREEMPT, which check() only lets through when it is a persistent reservation type. */
const prType = (f: PersistentReserveOutCdb): PrType => f.type as PrType;

/** The service actions the unit implements (REGISTER AND MOVE and REPLACE LOST RESERVATION are not in its command table). */
const PROUT_ACTIONS: Partial<Readonly<Record<PersistentReserveOutSa, ProutAction>>> = {
  [SA.REGISTER]: (r, nexus, p) => r.register(nexus, p, false),
  [SA.RESERVE]: (r, nexus, p, f) => r.reserve(nexus, p.reservationKey, f.scope, prType(f)),
  [SA.RELEASE]: (r, nexus, p, f) => r.release(nexus, p.reservationKey, f.scope, f.type),
  [SA.CLEAR]: (r, nexus, p) => r.clear(nexus, p.reservationKey),
  [SA.PREEMPT]: (r, nexus, p, f) => r.preempt(nexus, p.reservationKey, p.serviceActionReservationKey, f.scope, prType(f)),
  // Completes once the preempted I_T nexuses' commands it aborted have (persistent-reserve-out.ts).
  [SA.PREEMPT_AND_ABORT]: (r, nexus, p, f) => r.preemptAndAbort(nexus, p.reservationKey, p.serviceActionReservationKey, f.scope, prType(f)),
  [SA.REGISTER_AND_IGNORE_EXISTING_KEY]: (r, nexus, p) => r.register(nexus, p, true),
};

const PRIN = PersistentReserveInSa;
const READERS: Readonly<Record<PersistentReserveInSa, (r: Reservations) => Uint8Array>> = {
  [PRIN.READ_KEYS]: (r) => r.readKeys(),
  [PRIN.READ_RESERVATION]: (r) => r.readReservation(),
  [PRIN.REPORT_CAPABILITIES]: (r) => r.reportCapabilities(),
  [PRIN.READ_FULL_STATUS]: (r) => r.readFullStatus(),
};

export const RESERVATION_HANDLERS: HandlerTable = {
  reserveRelease: {
    medium: false,
    run: (lu, { fields, nexus }) => (fields.op === 'RESERVE' ? lu.reservations.reserveSpc2(nexus) : lu.reservations.releaseSpc2(nexus)),
  },

  persistentReserveIn: {
    medium: false,
    run: (lu, { fields }) => goodData(READERS[fields.serviceAction](lu.reservations), fields.allocationLength),
  },

  persistentReserveOut: {
    medium: false,
    parameterList: true,
    // Only the basic 24 bytes are ever looked at: a longer list is an error whose data need not be fetched whole.
    dataOutLength: (_lu, f) => Math.min(f.parameterListLength, PROUT_PARAMETER_LIST_LENGTH),
    check: (_lu, { fields }) => {
      const sa = fields.serviceAction;
      if (PROUT_ACTIONS[sa] === undefined) return invalidFieldInCdb(SERVICE_ACTION_FIELD.byte, SERVICE_ACTION_FIELD.bit);
      if (SCOPED.has(sa) && fields.scope !== LU_SCOPE) return invalidFieldInCdb(SCOPE_FIELD.byte, SCOPE_FIELD.bit);
      if (TYPED.has(sa) && !isPrType(fields.type)) return invalidFieldInCdb(TYPE_FIELD.byte, TYPE_FIELD.bit);
      return undefined;
    },
    run: (lu, { fields, dataOut, nexus }) => {
      const action = PROUT_ACTIONS[fields.serviceAction];
      if (action === undefined) return checkCondition(invalidFieldInCdb(SERVICE_ACTION_FIELD.byte, SERVICE_ACTION_FIELD.bit));
      if (fields.parameterListLength < PROUT_PARAMETER_LIST_LENGTH) return LENGTH_ERROR;
      const d = decodeProutParameters(dataOut);
      if (!d.ok) return checkCondition(d.fault);
      const p = d.value;
      if (p.specIPt) return checkCondition(invalidFieldInParameterList(PROUT_FIELD.SPEC_I_PT.byte, PROUT_FIELD.SPEC_I_PT.bit));
      if (fields.parameterListLength !== PROUT_PARAMETER_LIST_LENGTH) return LENGTH_ERROR;
      if (REGISTERING.has(fields.serviceAction) && p.aptpl) return checkCondition(invalidFieldInParameterList(PROUT_FIELD.APTPL.byte, PROUT_FIELD.APTPL.bit));
      return action(lu.reservations, nexus, p, fields);
    },
  },
};
