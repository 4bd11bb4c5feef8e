// READ/WRITE/WRITE AND VERIFY/VERIFY CDB vectors, written by hand from the SBC-4
// CDB tables: READ(6)/WRITE(6) = op | rsvd(7..5) LBA(4..0) | LBA | LBA |
// TRANSFER LENGTH (0 = 256) | CONTROL; the 10-byte form = op | PROTECT(7..5)
// DPO(4) FUA(3) … | LBA×4 | rsvd(7..6) GROUP NUMBER(5..0) | LENGTH×2 | CONTROL;
// 12 = op | flags | LBA×4 | LENGTH×4 | GROUP | CONTROL; 16 = op | flags |
// LBA×8 | LENGTH×4 | GROUP | CONTROL. VERIFY/WRITE AND VERIFY put BYTCHK in
// byte 1 bits 2..1 and have no FUA. Opcodes are literals from the T10 tables.
// The first six entries are the STYLE.md §9 seed vectors.

import type { RwCdb, RwOp } from '../../../src/scsi/cdb/rw.js';

/** Builds the expected decoded object (defaults 0/false), not bytes. */
const rw = (op: RwOp, lba: bigint, blocks: number, more: Partial<RwCdb> = {}): RwCdb => ({
  op,
  lba,
  blocks,
  dpo: false,
  fua: false,
  protect: 0,
  bytchk: 0,
  groupNumber: 0,
  ...more,
});

export interface RwVector {
  readonly name: string;
  readonly cmd: RwCdb;
  readonly minLength?: number;
  readonly hex: string;
}

/** Encode (with minLength) and decode both give these. */
export const rwVectors: readonly RwVector[] = [
  { name: 'seed: READ lba 0x1fffff, 1 block → READ(6)', cmd: rw('READ', 0x1fffffn, 1), hex: '08 1f ff ff 01 00' },
  { name: 'seed: WRITE lba 0, 256 blocks → WRITE(6) length byte 0', cmd: rw('WRITE', 0n, 256), hex: '0a 00 00 00 00 00' },
  { name: 'seed: READ lba 0, 0 blocks → READ(10), never READ(6)', cmd: rw('READ', 0n, 0), hex: '28 00 00 00 00 00 00 00 00 00' },
  { name: 'seed: READ lba 0x10, 1 block, FUA → READ(10)', cmd: rw('READ', 0x10n, 1, { fua: true }), hex: '28 08 00 00 00 10 00 00 01 00' },
  {
    name: 'seed: READ lba 2^32, 1 block → READ(16)',
    cmd: rw('READ', 0x1_0000_0000n, 1),
    hex: '88 00 00 00 00 01 00 00 00 00  00 00 00 01  00 00',
  },
  { name: 'READ(6) lba 0, 1 block (minimum)', cmd: rw('READ', 0n, 1), hex: '08 00 00 00 01 00' },
  { name: 'READ(6) lba 0x012345, 128 blocks (byte order)', cmd: rw('READ', 0x012345n, 0x80), hex: '08 01 23 45 80 00' },
  { name: 'READ(6) 255 blocks', cmd: rw('READ', 0x1fffffn, 255), hex: '08 1f ff ff ff 00' },
  { name: 'WRITE(6) lba max, 256 blocks', cmd: rw('WRITE', 0x1fffffn, 256), hex: '0a 1f ff ff 00 00' },
  { name: 'READ lba 0x200000 (READ(6) max + 1) → READ(10)', cmd: rw('READ', 0x200000n, 1), hex: '28 00 00 20 00 00 00 00 01 00' },
  { name: 'READ 257 blocks (READ(6) max + 1) → READ(10)', cmd: rw('READ', 0n, 257), hex: '28 00 00 00 00 00 00 01 01 00' },
  { name: 'READ DPO → READ(10)', cmd: rw('READ', 0n, 1, { dpo: true }), hex: '28 10 00 00 00 00 00 00 01 00' },
  { name: 'READ RDPROTECT 1 → READ(10)', cmd: rw('READ', 0n, 1, { protect: 1 }), hex: '28 20 00 00 00 00 00 00 01 00' },
  { name: 'READ group 1 → READ(10)', cmd: rw('READ', 0n, 1, { groupNumber: 1 }), hex: '28 00 00 00 00 00 01 00 01 00' },
  { name: 'READ(10) minLength 10', cmd: rw('READ', 0n, 1), minLength: 10, hex: '28 00 00 00 00 00 00 00 01 00' },
  { name: 'READ(10) lba and length max', cmd: rw('READ', 0xffff_ffffn, 0xffff), hex: '28 00 ff ff ff ff 00 ff ff 00' },
  {
    name: 'READ(10) every field set',
    cmd: rw('READ', 0x0123_4567n, 0x89ab, { protect: 7, dpo: true, fua: true, groupNumber: 0x3f }),
    hex: '28 f8 01 23 45 67 3f 89 ab 00',
  },
  { name: 'READ 65536 blocks (READ(10) max + 1) → READ(12)', cmd: rw('READ', 0n, 0x10000), hex: 'a8 00 00 00 00 00 00 01 00 00 00 00' },
  { name: 'READ(12) lba and length max', cmd: rw('READ', 0xffff_ffffn, 0xffff_ffff), hex: 'a8 00 ff ff ff ff ff ff ff ff 00 00' },
  {
    name: 'READ(12) minLength 12, FUA, group 0x21',
    cmd: rw('READ', 5n, 1, { fua: true, groupNumber: 0x21 }),
    minLength: 12,
    hex: 'a8 08 00 00 00 05 00 00 00 01 21 00',
  },
  {
    name: 'READ(16) lba 2^64 − 1, length max',
    cmd: rw('READ', 0xffff_ffff_ffff_ffffn, 0xffff_ffff),
    hex: '88 00 ff ff ff ff ff ff ff ff  ff ff ff ff  00 00',
  },
  {
    name: 'READ(16) minLength 16, byte order, RDPROTECT 5, DPO, group 0x15',
    cmd: rw('READ', 0x0123_4567_89ab_cdefn, 0x0102_0304, { protect: 5, dpo: true, groupNumber: 0x15 }),
    minLength: 16,
    hex: '88 b0 01 23 45 67 89 ab cd ef  01 02 03 04  15 00',
  },
  { name: 'WRITE(10) FUA', cmd: rw('WRITE', 0x20n, 8, { fua: true }), hex: '2a 08 00 00 00 20 00 00 08 00' },
  { name: 'WRITE(12) minLength 12', cmd: rw('WRITE', 0x100n, 2), minLength: 12, hex: 'aa 00 00 00 01 00 00 00 00 02 00 00' },
  {
    name: 'WRITE lba 2^32, 65536 blocks → WRITE(16)',
    cmd: rw('WRITE', 0x1_0000_0000n, 0x10000),
    hex: '8a 00 00 00 00 01 00 00 00 00  00 01 00 00  00 00',
  },
  { name: 'VERIFY BYTCHK 01b → VERIFY(10)', cmd: rw('VERIFY', 0n, 1, { bytchk: 1 }), hex: '2f 02 00 00 00 00 00 00 01 00' },
  {
    name: 'VERIFY(10) BYTCHK 11b, VRPROTECT 1, DPO',
    cmd: rw('VERIFY', 0x100n, 2, { bytchk: 3, protect: 1, dpo: true }),
    hex: '2f 36 00 00 01 00 00 00 02 00',
  },
  { name: 'VERIFY(12) minLength 12, zero', cmd: rw('VERIFY', 0n, 0), minLength: 12, hex: 'af 00 00 00 00 00 00 00 00 00 00 00' },
  {
    name: 'VERIFY lba 2^40 → VERIFY(16)',
    cmd: rw('VERIFY', 0x100_0000_0000n, 1, { bytchk: 1 }),
    hex: '8f 02 00 00 01 00 00 00 00 00  00 00 00 01  00 00',
  },
  { name: 'WRITE AND VERIFY(10) BYTCHK 01b', cmd: rw('WRITE_AND_VERIFY', 7n, 1, { bytchk: 1 }), hex: '2e 02 00 00 00 07 00 00 01 00' },
  {
    name: 'WRITE AND VERIFY 65536 blocks → (12)',
    cmd: rw('WRITE_AND_VERIFY', 0n, 0x10000),
    hex: 'ae 00 00 00 00 00 00 01 00 00 00 00',
  },
  {
    name: 'WRITE AND VERIFY(16) minLength 16, DPO, group 3',
    cmd: rw('WRITE_AND_VERIFY', 1n, 1, { dpo: true, groupNumber: 3 }),
    minLength: 16,
    hex: '8e 10 00 00 00 00 00 00 00 01  00 00 00 01  03 00',
  },
];

/** Decode only. */
export const rwDecodeVectors: readonly { name: string; hex: string; cmd: RwCdb }[] = [
  { name: 'seed: 08 ff … → bits 7..5 ignored, lba 0x1f0000, 256 blocks', hex: '08 ff 00 00 00 00', cmd: rw('READ', 0x1f0000n, 256) },
  { name: 'WRITE(6) former LUN bits ignored', hex: '0a e1 02 03 04 00', cmd: rw('WRITE', 0x010203n, 4) },
  {
    name: 'READ(10) padded to 16 bytes: bytes past the CDB are not looked at',
    hex: '28 00 00 00 00 01 00 00 01 00 ff ff ff ff ff ff',
    cmd: rw('READ', 1n, 1),
  },
];

/** Faults: INVALID FIELD IN CDB (24h) at byte/bit (bit absent: BPV = 0). */
export const rwFaultVectors: readonly { name: string; hex: string; byte: number; bit?: number }[] = [
  { name: 'READ(10) RARC (byte 1 bit 2)', hex: '28 04 00 00 00 00 00 00 01 00', byte: 1, bit: 2 },
  { name: 'READ(10) obsolete FUA_NV (byte 1 bit 1)', hex: '28 02 00 00 00 00 00 00 01 00', byte: 1, bit: 1 },
  { name: 'READ(10) obsolete byte 1 bit 0', hex: '28 01 00 00 00 00 00 00 01 00', byte: 1, bit: 0 },
  { name: 'READ(10) reserved byte 6 bit 7', hex: '28 00 00 00 00 00 80 00 01 00', byte: 6, bit: 7 },
  { name: 'READ(10) byte 6 bits 7 and 6: highest bit reported', hex: '28 00 00 00 00 00 c0 00 01 00', byte: 6, bit: 7 },
  { name: 'READ(10) NACA', hex: '28 00 00 00 00 00 00 00 01 04', byte: 9, bit: 2 },
  { name: 'READ(10) LINK', hex: '28 00 00 00 00 00 00 00 01 01', byte: 9, bit: 0 },
  { name: 'READ(10) vendor-specific control bits', hex: '28 00 00 00 00 00 00 00 01 c0', byte: 9, bit: 7 },
  { name: 'two faults: the lowest byte wins', hex: '28 04 00 00 00 00 00 00 01 04', byte: 1, bit: 2 },
  { name: 'READ(16) DLD2 (byte 1 bit 0)', hex: '88 01 00 00 00 00 00 00 00 00 00 00 00 01 00 00', byte: 1, bit: 0 },
  { name: 'READ(16) DLD1 (byte 14 bit 7)', hex: '88 00 00 00 00 00 00 00 00 00 00 00 00 01 80 00', byte: 14, bit: 7 },
  { name: 'WRITE(16) DLD0 (byte 14 bit 6)', hex: '8a 00 00 00 00 00 00 00 00 00 00 00 00 01 40 00', byte: 14, bit: 6 },
  { name: 'WRITE(12) reserved byte 10 bit 6', hex: 'aa 00 00 00 00 00 00 00 00 01 40 00', byte: 10, bit: 6 },
  { name: 'READ(6) NACA', hex: '08 00 00 00 01 04', byte: 5, bit: 2 },
  { name: 'VERIFY(10) has no FUA', hex: '2f 08 00 00 00 00 00 00 01 00', byte: 1, bit: 3 },
  { name: 'VERIFY(10) BYTCHK 10b is reserved', hex: '2f 04 00 00 00 00 00 00 01 00', byte: 1, bit: 2 },
  { name: 'WRITE AND VERIFY(10) BYTCHK 10b is reserved', hex: '2e 04 00 00 00 00 00 00 01 00', byte: 1, bit: 2 },
  { name: 'WRITE AND VERIFY(10) BYTCHK 11b is reserved', hex: '2e 06 00 00 00 00 00 00 01 00', byte: 1, bit: 2 },
  { name: 'READ(10) shorter than 10 bytes', hex: '28 00 00 00 00', byte: 0 },
];
