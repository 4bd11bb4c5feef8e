// Persistent reservation parameter data: the PERSISTENT RESERVE OUT
// parameter list and the PERSISTENT RESERVE IN parameter data (READ KEYS,
// READ RESERVATION, REPORT CAPABILITIES, READ FULL STATUS), plus the TYPE and
// SCOPE codes. Spec: SPC-5 (INCITS 502) PERSISTENT RESERVE IN / PERSISTENT
// RESERVE OUT; the CDBs are in cdb/reservations.ts.

import { Asc, invalidFieldInParameterList, senseIllegalRequest, type Decoded } from './sense.js';

/** Persistent reservation TYPE codes (CDB byte 2 bits 3..0). */
export const PrType = {
  WRITE_EXCLUSIVE: 0x1,
  EXCLUSIVE_ACCESS: 0x3,
  WRITE_EXCLUSIVE_REGISTRANTS_ONLY: 0x5,
  EXCLUSIVE_ACCESS_REGISTRANTS_ONLY: 0x6,
  WRITE_EXCLUSIVE_ALL_REGISTRANTS: 0x7,
  EXCLUSIVE_ACCESS_ALL_REGISTRANTS: 0x8,
} as const;
export type PrType = (typeof PrType)[keyof typeof PrType];

const PR_TYPES: ReadonlySet<number> = new Set(Object.values(PrType));

/** True for the TYPE codes SPC-5 defines (1h, 3h, 5h..8h). */
export function isPrType(n: number): n is PrType {
  return PR_TYPES.has(n);
}

/** The all registrants types: every registered I_T nexus is a reservation holder. */
export function isAllRegistrants(t: PrType): boolean {
  return t === PrType.WRITE_EXCLUSIVE_ALL_REGISTRANTS || t === PrType.EXCLUSIVE_ACCESS_ALL_REGISTRANTS;
}

/** The registrants only types. */
export function isRegistrantsOnly(t: PrType): boolean {
  return t === PrType.WRITE_EXCLUSIVE_REGISTRANTS_ONLY || t === PrType.EXCLUSIVE_ACCESS_REGISTRANTS_ONLY;
}

/** SCOPE LU_SCOPE (CDB byte 2 bits 7..4): the only scope SPC-5 defines. */
export const LU_SCOPE = 0x0;

/** PARAMETER LIST LENGTH of every PERSISTENT RESERVE OUT service action vtcam implements (no SPEC_I_PT, no REGISTER AND MOVE). */
export const PROUT_PARAMETER_LIST_LENGTH = 24;

/** The PERSISTENT RESERVE OUT basic parameter list (24 bytes). */
export interface ProutParameters {
  /** RESERVATION KEY (bytes 0..7). */
  readonly reservationKey: bigint;
  /** SERVICE ACTION RESERVATION KEY (bytes 8..15). */
  readonly serviceActionReservationKey: bigint;
  /** SPEC_I_PT (byte 20 bit 3). */
  readonly specIPt: boolean;
  /** ALL_TG_PT (byte 20 bit 2). */
  readonly allTgPt: boolean;
  /** APTPL (byte 20 bit 0). */
  readonly aptpl: boolean;
}

// Byte 20 of the parameter list.
const FLAGS_BYTE = 20;
const SPEC_I_PT = 0x08; // bit 3
const ALL_TG_PT = 0x04; // bit 2
const APTPL = 0x01; // bit 0
/** Byte 20 bits 7..4 and 1 are reserved; byte 21 is reserved. Bytes 16..19 and 22..23 are obsolete (ignored). */
const FLAGS_RESERVED = 0xf2;
const RESERVED_BYTE = 21;
const U64_MAX = (1n << 64n) - 1n;

/** Where SPEC_I_PT and APTPL sit, for the field pointer of a fault about them. */
export const PROUT_FIELD = {
  SPEC_I_PT: { byte: FLAGS_BYTE, bit: 3 },
  ALL_TG_PT: { byte: FLAGS_BYTE, bit: 2 },
  APTPL: { byte: FLAGS_BYTE, bit: 0 },
} as const;

/** Encodes the 24-byte parameter list. Throws RangeError for keys outside 64 bits. */
export function encodeProutParameters(p: Partial<ProutParameters>): Uint8Array {
  const rk = p.reservationKey ?? 0n;
  const sark = p.serviceActionReservationKey ?? 0n;
  for (const [name, k] of [['reservationKey', rk], ['serviceActionReservationKey', sark]] as const) {
    if (k < 0n || k > U64_MAX) throw new RangeError(`${name} must fit 64 bits, got ${k}`);
  }
  const out = new Uint8Array(PROUT_PARAMETER_LIST_LENGTH);
  const v = new DataView(out.buffer);
  v.setBigUint64(0, rk);
  v.setBigUint64(8, sark);
  v.setUint8(FLAGS_BYTE, (p.specIPt === true ? SPEC_I_PT : 0) | (p.allTgPt === true ? ALL_TG_PT : 0) | (p.aptpl === true ? APTPL : 0));
  return out;
}

/**
 * Decodes the first 24 bytes of a parameter list. Fewer than 24 bytes is
 * PARAMETER LIST LENGTH ERROR (1Ah/00h); a reserved bit set is INVALID FIELD IN
 * PARAMETER LIST (26h/00h) pointing at it. The caller judges the length the
 * CDB gave and the bits the service action does not allow.
 */
export function decodeProutParameters(list: Uint8Array): Decoded<ProutParameters> {
  if (list.length < PROUT_PARAMETER_LIST_LENGTH) return { ok: false, fault: senseIllegalRequest(Asc.PARAMETER_LIST_LENGTH_ERROR) };
  const v = new DataView(list.buffer, list.byteOffset, PROUT_PARAMETER_LIST_LENGTH);
  const flags = v.getUint8(FLAGS_BYTE);
  const reserved = flags & FLAGS_RESERVED;
  if (reserved !== 0) return { ok: false, fault: invalidFieldInParameterList(FLAGS_BYTE, 31 - Math.clz32(reserved)) };
  const b21 = v.getUint8(RESERVED_BYTE);
  if (b21 !== 0) return { ok: false, fault: invalidFieldInParameterList(RESERVED_BYTE, 31 - Math.clz32(b21)) };
  return {
    ok: true,
    value: {
      reservationKey: v.getBigUint64(0),
      serviceActionReservationKey: v.getBigUint64(8),
      specIPt: (flags & SPEC_I_PT) !== 0,
      allTgPt: (flags & ALL_TG_PT) !== 0,
      aptpl: (flags & APTPL) !== 0,
    },
  };
}

// PERSISTENT RESERVE IN data: PRGENERATION (bytes 0..3), then ADDITIONAL LENGTH (4..7).
const IN_HEADER = 8;

function inHeader(generation: number, additional: number): { out: Uint8Array; v: DataView } {
  const out = new Uint8Array(IN_HEADER + additional);
  const v = new DataView(out.buffer);
  v.setUint32(0, generation >>> 0); // PRGENERATION
  v.setUint32(4, additional); // ADDITIONAL LENGTH: not cut by the ALLOCATION LENGTH
  return { out, v };
}

/** READ KEYS: PRGENERATION, ADDITIONAL LENGTH, then each registered RESERVATION KEY (8 bytes). */
export function encodeReadKeys(generation: number, keys: readonly bigint[]): Uint8Array {
  const { out, v } = inHeader(generation, 8 * keys.length);
  keys.forEach((k, i) => {
    v.setBigUint64(IN_HEADER + 8 * i, k);
  });
  return out;
}

/** The persistent reservation as READ RESERVATION reports it. */
export interface ReservationView {
  /** RESERVATION KEY: the holder's key, 0 for an all registrants reservation. */
  readonly key: bigint;
  readonly scope: number;
  readonly type: PrType;
}

/**
 * READ RESERVATION: the header alone (ADDITIONAL LENGTH 0) with no
 * reservation, else 16 more bytes: RESERVATION KEY (8..15), obsolete
 * (16..19), reserved (20), SCOPE | TYPE (21), obsolete (22..23).
 */
export function encodeReadReservation(generation: number, r: ReservationView | undefined): Uint8Array {
  if (r === undefined) return inHeader(generation, 0).out;
  const { out, v } = inHeader(generation, 16);
  v.setBigUint64(8, r.key);
  v.setUint8(21, (r.scope << 4) | r.type);
  return out;
}

/** What REPORT CAPABILITIES reports. */
export interface PrCapabilities {
  /** RLR_C: REPLACE LOST RESERVATION capable. */
  readonly rlrC: boolean;
  /** CRH: compatible reservation handling (SPC-5's exceptions to SPC-2 RESERVE and RELEASE). */
  readonly crh: boolean;
  /** SIP_C: SPEC_I_PT capable. */
  readonly sipC: boolean;
  /** ATP_C: ALL_TG_PT capable. */
  readonly atpC: boolean;
  /** PTPL_C: persist through power loss capable. */
  readonly ptplC: boolean;
  /** ALLOW COMMANDS (3 bits). */
  readonly allowCommands: number;
  /** PTPL_A: persist through power loss activated. */
  readonly ptplA: boolean;
  /** The types the device server supports (the PERSISTENT RESERVATION TYPE MASK, with TMV = 1). */
  readonly types: readonly PrType[];
}

// PERSISTENT RESERVATION TYPE MASK (bytes 4..5) bit per type.
const TYPE_MASK_BIT: Readonly<Record<PrType, number>> = {
  [PrType.WRITE_EXCLUSIVE_ALL_REGISTRANTS]: 0x8000, // WR_EX_AR, byte 4 bit 7
  [PrType.EXCLUSIVE_ACCESS_REGISTRANTS_ONLY]: 0x4000, // EX_AC_RO, byte 4 bit 6
  [PrType.WRITE_EXCLUSIVE_REGISTRANTS_ONLY]: 0x2000, // WR_EX_RO, byte 4 bit 5
  [PrType.EXCLUSIVE_ACCESS]: 0x0800, // EX_AC, byte 4 bit 3
  [PrType.WRITE_EXCLUSIVE]: 0x0200, // WR_EX, byte 4 bit 1
  [PrType.EXCLUSIVE_ACCESS_ALL_REGISTRANTS]: 0x0001, // EX_AC_AR, byte 5 bit 0
};
const REPORT_CAPABILITIES_LENGTH = 8;

/**
 * REPORT CAPABILITIES (8 bytes): LENGTH (0..1); byte 2 RLR_C (7), CRH (4),
 * SIP_C (3), ATP_C (2), PTPL_C (0); byte 3 TMV (7), ALLOW COMMANDS (6..4),
 * PTPL_A (0); PERSISTENT RESERVATION TYPE MASK (4..5); reserved (6..7).
 * Throws RangeError for an ALLOW COMMANDS value outside 3 bits.
 */
export function encodeReportCapabilities(c: PrCapabilities): Uint8Array {
  if (!Number.isInteger(c.allowCommands) || c.allowCommands < 0 || c.allowCommands > 7) {
    throw new RangeError(`allowCommands is 3 bits, got ${c.allowCommands}`);
  }
  const out = new Uint8Array(REPORT_CAPABILITIES_LENGTH);
  const v = new DataView(out.buffer);
  v.setUint16(0, REPORT_CAPABILITIES_LENGTH); // LENGTH
  v.setUint8(2, (c.rlrC ? 0x80 : 0) | (c.crh ? 0x10 : 0) | (c.sipC ? 0x08 : 0) | (c.atpC ? 0x04 : 0) | (c.ptplC ? 0x01 : 0));
  v.setUint8(3, 0x80 | (c.allowCommands << 4) | (c.ptplA ? 0x01 : 0)); // TMV = 1: the type mask is valid
  v.setUint16(4, c.types.reduce((m, t) => m | TYPE_MASK_BIT[t], 0));
  return out;
}

/** One registration as READ FULL STATUS reports it. */
export interface FullStatusDescriptor {
  readonly key: bigint;
  readonly allTgPt: boolean;
  /** R_HOLDER: this I_T nexus holds the reservation (SCOPE and TYPE are then valid). */
  readonly holder: boolean;
  readonly scope: number;
  readonly type: number;
  readonly relativeTargetPort: number;
  readonly transportId: Uint8Array;
}

const FULL_STATUS_FIXED = 24;

/**
 * READ FULL STATUS: the header, then per registration a descriptor:
 * RESERVATION KEY (0..7), reserved (8..11), ALL_TG_PT (12 bit 1) and R_HOLDER
 * (12 bit 0), SCOPE | TYPE (13, zero unless R_HOLDER), reserved (14..17),
 * RELATIVE TARGET PORT IDENTIFIER (18..19), ADDITIONAL DESCRIPTOR LENGTH
 * (20..23), TRANSPORTID (24..).
 */
export function encodeReadFullStatus(generation: number, descriptors: readonly FullStatusDescriptor[]): Uint8Array {
  const total = descriptors.reduce((n, d) => n + FULL_STATUS_FIXED + d.transportId.length, 0);
  const { out, v } = inHeader(generation, total);
  let at = IN_HEADER;
  for (const d of descriptors) {
    v.setBigUint64(at, d.key);
    v.setUint8(at + 12, (d.allTgPt ? 0x02 : 0) | (d.holder ? 0x01 : 0));
    v.setUint8(at + 13, d.holder ? (d.scope << 4) | d.type : 0);
    v.setUint16(at + 18, d.relativeTargetPort);
    v.setUint32(at + 20, d.transportId.length);
    out.set(d.transportId, at + FULL_STATUS_FIXED);
    at += FULL_STATUS_FIXED + d.transportId.length;
  }
  return out;
}
