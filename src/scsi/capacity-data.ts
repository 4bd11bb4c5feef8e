// READ CAPACITY (10) and READ CAPACITY (16) parameter data. Spec: SBC-4
// (INCITS 506), READ CAPACITY (10) parameter data and READ CAPACITY (16)
// parameter data. The CDBs themselves (PMI, LOGICAL BLOCK ADDRESS, ALLOCATION
// LENGTH) belong to cdb/capacity.ts; the caller truncates to ALLOCATION LENGTH.

import { assertLogicalUnitInfo, lbpme, type LogicalUnitInfo } from './device-info.js';

/** READ CAPACITY (10) parameter data length. */
export const READ_CAPACITY_10_DATA_LENGTH = 8;
/** READ CAPACITY (16) parameter data length. */
export const READ_CAPACITY_16_DATA_LENGTH = 32;
/** RETURNED LOGICAL BLOCK ADDRESS of READ CAPACITY (10) when the last LBA does not fit: "use READ CAPACITY (16)". */
export const RETURNED_LBA_USE_READ_CAPACITY_16 = 0xffff_ffff;

/** RC BASIS (READ CAPACITY (16) byte 12 bits 5..4). */
export const RcBasis = {
  /** 00b: highest LBA of the leading non-sequential-write-required zones (ZBC). */
  ZONED_LOW_CAPACITY: 0b00,
  /** 01b: the LBA of the last logical block on the logical unit. */
  LAST_LOGICAL_BLOCK: 0b01,
} as const;
export type RcBasis = (typeof RcBasis)[keyof typeof RcBasis];

const LBPME = 0x80; // byte 14 bit 7
const LBPRZ = 0x40; // byte 14 bit 6

/**
 * READ CAPACITY (10) parameter data: RETURNED LOGICAL BLOCK ADDRESS (last LBA,
 * or FFFFFFFFh when it does not fit in 32 bits — SBC-4 makes that the signal to
 * issue READ CAPACITY (16)), BLOCK LENGTH IN BYTES.
 */
export function buildReadCapacity10Data(info: LogicalUnitInfo): Uint8Array {
  assertLogicalUnitInfo(info);
  const out = new Uint8Array(READ_CAPACITY_10_DATA_LENGTH);
  const v = new DataView(out.buffer);
  const last = info.blocks - 1n;
  // A last LBA of exactly FFFFFFFFh encodes the same bytes as the "too big" signal; SBC-4 accepts that.
  v.setUint32(0, last > BigInt(RETURNED_LBA_USE_READ_CAPACITY_16) ? RETURNED_LBA_USE_READ_CAPACITY_16 : Number(last)); // RETURNED LOGICAL BLOCK ADDRESS
  v.setUint32(4, info.blockSize); // BLOCK LENGTH IN BYTES
  return out;
}

/**
 * READ CAPACITY (16) parameter data (32 bytes): RETURNED LOGICAL BLOCK ADDRESS
 * (u64), LOGICAL BLOCK LENGTH IN BYTES, RC BASIS 01b (the returned LBA is the
 * last logical block: this is not a zoned device), P_TYPE 0 / PROT_EN 0 (no
 * protection information), P_I_EXPONENT 0, LOGICAL BLOCKS PER PHYSICAL BLOCK
 * EXPONENT, LBPME (see `lbpme`), LBPRZ (only with LBPME), LOWEST ALIGNED
 * LOGICAL BLOCK ADDRESS (14 bits).
 */
export function buildReadCapacity16Data(info: LogicalUnitInfo): Uint8Array {
  assertLogicalUnitInfo(info);
  const out = new Uint8Array(READ_CAPACITY_16_DATA_LENGTH);
  const v = new DataView(out.buffer);
  v.setBigUint64(0, info.blocks - 1n); // RETURNED LOGICAL BLOCK ADDRESS (≤ FFFFFFFF_FFFFFFFEh since blocks ≤ 2^64 - 1)
  v.setUint32(8, info.blockSize); // LOGICAL BLOCK LENGTH IN BYTES
  v.setUint8(12, RcBasis.LAST_LOGICAL_BLOCK << 4); // reserved (7..6) | RC BASIS | P_TYPE (3..1) 0 | PROT_EN 0
  v.setUint8(13, info.physicalBlockExp); // P_I_EXPONENT (7..4) 0 | LOGICAL BLOCKS PER PHYSICAL BLOCK EXPONENT (3..0)
  const enabled = lbpme(info);
  const flags = (enabled ? LBPME : 0) | (enabled && info.provisioning.lbprz ? LBPRZ : 0);
  v.setUint16(14, (flags << 8) | info.lowestAlignedLba); // LBPME | LBPRZ | LOWEST ALIGNED LOGICAL BLOCK ADDRESS (13..0)
  return out;
}
