// The PERSISTENT RESERVE IN parameter data of a logical unit's persistent
// reservation state (READ KEYS, READ RESERVATION, REPORT CAPABILITIES, READ
// FULL STATUS), and the capabilities REPORT CAPABILITIES answers. The state is
// kept by reservations.ts; the bytes are laid out by pr-data.ts. Spec: SPC-5
// (INCITS 502) PERSISTENT RESERVE IN.

import {
  PrType,
  encodeReadFullStatus,
  encodeReadKeys,
  encodeReadReservation,
  encodeReportCapabilities,
  type PrCapabilities,
} from '../pr-data.js';
import type { Persistent, Registration } from './reservation-state.js';

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

/** READ KEYS: the registered keys, in the order the registrations were made. */
export function readKeysData(generation: number, registrations: ReadonlyMap<string, Registration>): Uint8Array {
  return encodeReadKeys(generation, Array.from(registrations.values(), (r) => r.key));
}

/** READ RESERVATION: the persistent reservation `pr`, if any. */
export function readReservationData(generation: number, registrations: ReadonlyMap<string, Registration>, pr: Persistent | undefined): Uint8Array {
  if (pr === undefined) return encodeReadReservation(generation, undefined);
  // An all registrants reservation has no one holder: its RESERVATION KEY is 0.
  const key = pr.holder === undefined ? 0n : (registrations.get(pr.holder)?.key ?? 0n);
  return encodeReadReservation(generation, { key, scope: pr.scope, type: pr.type });
}

/** REPORT CAPABILITIES: PR_CAPABILITIES. */
export function reportCapabilitiesData(): Uint8Array {
  return encodeReportCapabilities(PR_CAPABILITIES);
}

/** READ FULL STATUS: a descriptor per registration, in the order they were made; `holds` tells which hold `pr`. */
export function readFullStatusData(
  generation: number,
  registrations: ReadonlyMap<string, Registration>,
  pr: Persistent | undefined,
  holds: (nexus: string) => boolean,
): Uint8Array {
  const descriptors = Array.from(registrations, ([nexus, r]) => {
    const holder = holds(nexus);
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
  return encodeReadFullStatus(generation, descriptors);
}
