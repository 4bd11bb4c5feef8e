// What a logical unit's persistent reservation state is made of: a
// registration per I_T nexus and the persistent reservation with its holder,
// type and scope. The unit's reservations (reservations.ts) keep them; the
// PERSISTENT RESERVE OUT service actions change them
// (persistent-reserve-out.ts); the PERSISTENT RESERVE IN parameter data reports
// them (persistent-reserve-in.ts). Also RESERVATION CONFLICT, the outcome of a
// command the reservations refuse. Spec: SPC-5 (INCITS 502) Reservations.

import { ScsiStatus } from '../status.js';
import type { PrType } from '../pr-data.js';
import type { CommandOutcome } from './context.js';

/** RESERVATION CONFLICT (18h): no sense data. */
export const RESERVATION_CONFLICT: CommandOutcome = { status: ScsiStatus.RESERVATION_CONFLICT };

/** An I_T nexus's registration: its reservation key, and the ALL_TG_PT and TransportID it registered with. */
export interface Registration {
  key: bigint;
  readonly allTgPt: boolean;
  readonly transportId: Uint8Array;
}

/** The persistent reservation. */
export interface Persistent {
  readonly type: PrType;
  readonly scope: number;
  /** The holding nexus; undefined for an all registrants reservation (every registrant holds it). */
  readonly holder: string | undefined;
}
