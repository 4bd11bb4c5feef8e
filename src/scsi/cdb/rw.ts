// READ, WRITE, WRITE AND VERIFY and VERIFY CDBs in their 6/10/12/16-byte forms.
// Spec: SBC-4 (READ(6/10/12/16), WRITE(6/10/12/16), WRITE AND VERIFY(10/12/16),
// VERIFY(10/12/16) CDB tables). The encoder picks the smallest CDB at or above
// `minLength` that can carry the request (FreeBSD scsi_read_write).

import { invalidFieldInCdb, type Decoded } from '../sense.js';
import { ScsiOp } from '../opcodes.js';
import { validateCdb, type CommandDescriptor } from './registry.js';
import {
  assertBigUint,
  assertFamily,
  assertUint,
  cdbBigUint64,
  cdbUint16,
  cdbUint32,
  cdbUint8,
  CdbView,
  DEFAULT_MIN_LENGTH,
  GROUP_NUMBER_MASK,
  newCdb,
  pickLength,
  U16_MAX,
  U32_MAX,
  U32_MAX_N,
  U64_MAX_N,
  type EncodeOptions,
} from './codec.js';

/** Which command of the family. */
export type RwOp = 'READ' | 'WRITE' | 'WRITE_AND_VERIFY' | 'VERIFY';

/** A decoded READ/WRITE/WRITE AND VERIFY/VERIFY CDB (every length). */
export interface RwCdb {
  readonly op: RwOp;
  /** LOGICAL BLOCK ADDRESS. */
  readonly lba: bigint;
  /** TRANSFER LENGTH (VERIFICATION LENGTH for VERIFY) in logical blocks; READ(6)/WRITE(6) say 256 as 0. */
  readonly blocks: number;
  /** DPO (byte 1 bit 4); always false in the 6-byte CDBs. */
  readonly dpo: boolean;
  /** FUA (byte 1 bit 3); READ and WRITE only. */
  readonly fua: boolean;
  /** RDPROTECT / WRPROTECT / VRPROTECT (byte 1 bits 7..5); 0 in the 6-byte CDBs. */
  readonly protect: number;
  /** BYTCHK (byte 1 bits 2..1); VERIFY and WRITE AND VERIFY only, 0 otherwise. */
  readonly bytchk: number;
  /** GROUP NUMBER (6 bits); 0 in the 6-byte CDBs. */
  readonly groupNumber: number;
}

/** What encodeRw needs: op, lba, blocks; every other field defaults to 0/false. */
export type RwRequest = Pick<RwCdb, 'op' | 'lba' | 'blocks'> & Partial<Omit<RwCdb, 'op' | 'lba' | 'blocks'>>;

/** BYTCHK values (SBC-4): VERIFY defines 00b, 01b and 11b; WRITE AND VERIFY 00b and 01b. */
export const Bytchk = {
  /** No comparison: verify the medium only. */
  NONE: 0b00,
  /** Compare the Data-Out Buffer with the logical blocks, byte by byte. */
  COMPARE: 0b01,
  /** VERIFY only: compare one logical block from the Data-Out Buffer with each logical block. */
  COMPARE_ONE_BLOCK: 0b11,
} as const;
export type Bytchk = (typeof Bytchk)[keyof typeof Bytchk];

const PROTECT_SHIFT = 5; // byte 1 bits 7..5: RDPROTECT / WRPROTECT / VRPROTECT
const DPO = 0x10; // byte 1 bit 4
const FUA = 0x08; // byte 1 bit 3
const BYTCHK_SHIFT = 1; // byte 1 bits 2..1
const BYTCHK_FIELD = { byte: 1, bit: 2 } as const;
const RW6_LBA_MSB = 0x1f; // byte 1 bits 4..0; bits 7..5 reserved (formerly LUN)
/** Largest LBA a READ(6)/WRITE(6) can address (21 bits). */
export const RW6_MAX_LBA = 0x1f_ffffn;

type Length = 6 | 10 | 12 | 16;
const LENGTHS: readonly Length[] = [6, 10, 12, 16];

const OPCODES: Readonly<Record<RwOp, Partial<Readonly<Record<Length, number>>>>> = {
  READ: { 6: ScsiOp.READ_6, 10: ScsiOp.READ_10, 12: ScsiOp.READ_12, 16: ScsiOp.READ_16 },
  WRITE: { 6: ScsiOp.WRITE_6, 10: ScsiOp.WRITE_10, 12: ScsiOp.WRITE_12, 16: ScsiOp.WRITE_16 },
  WRITE_AND_VERIFY: { 10: ScsiOp.WRITE_AND_VERIFY_10, 12: ScsiOp.WRITE_AND_VERIFY_12, 16: ScsiOp.WRITE_AND_VERIFY_16 },
  VERIFY: { 10: ScsiOp.VERIFY_10, 12: ScsiOp.VERIFY_12, 16: ScsiOp.VERIFY_16 },
};

const BY_OPCODE = new Map<number, { readonly op: RwOp; readonly length: Length }>();
for (const op of Object.keys(OPCODES) as RwOp[]) {
  for (const length of LENGTHS) {
    const code = OPCODES[op][length];
    if (code !== undefined) BY_OPCODE.set(code, { op, length });
  }
}
/** Every operation code decodeRw accepts. */
export const RW_OPCODES: readonly number[] = [...BY_OPCODE.keys()];

/** Where LBA, length and GROUP NUMBER sit in each CDB length. */
const LAYOUT: Readonly<Record<Length, { readonly lba: number; readonly len: number; readonly group: number }>> = {
  6: { lba: 1, len: 4, group: -1 },
  10: { lba: 2, len: 7, group: 6 },
  12: { lba: 2, len: 6, group: 10 },
  16: { lba: 2, len: 10, group: 14 },
};

const hasBytchk = (op: RwOp): boolean => op === 'VERIFY' || op === 'WRITE_AND_VERIFY';

function bytchkValid(op: RwOp, bytchk: number): boolean {
  if (op === 'VERIFY') return bytchk !== 0b10; // 10b reserved
  if (op === 'WRITE_AND_VERIFY') return bytchk <= 0b01; // 10b, 11b reserved
  return bytchk === 0;
}

/**
 * Encodes a READ/WRITE/WRITE AND VERIFY/VERIFY CDB, choosing the smallest length
 * ≥ `minLength` (default 6) that can carry it. READ(6)/WRITE(6) are used only for
 * lba ≤ 1FFFFFh and 1..256 blocks with no DPO/FUA/protect/group (a zero length
 * byte means 256 blocks, so 0 blocks never goes in a 6-byte CDB). Throws
 * RangeError for values no CDB can carry (lba ≥ 2^64, blocks > 2^32 − 1, FUA on
 * VERIFY, reserved BYTCHK, …).
 */
export function encodeRw(cmd: RwRequest, opts: EncodeOptions = {}): Uint8Array {
  const { op, lba, blocks } = cmd;
  const dpo = cmd.dpo ?? false;
  const fua = cmd.fua ?? false;
  const protect = cmd.protect ?? 0;
  const bytchk = cmd.bytchk ?? 0;
  const groupNumber = cmd.groupNumber ?? 0;
  assertBigUint('lba', lba, U64_MAX_N);
  assertUint('blocks', blocks, U32_MAX);
  assertUint('protect', protect, 7);
  assertUint('groupNumber', groupNumber, GROUP_NUMBER_MASK);
  assertUint('bytchk', bytchk, 3);
  if (fua && hasBytchk(op)) throw new RangeError(`${op} has no FUA bit`);
  if (!bytchkValid(op, bytchk)) throw new RangeError(`${op}: BYTCHK ${bytchk} is reserved or not defined`);

  const length = pickLength(`encodeRw(${op})`, LENGTHS, opts.minLength ?? DEFAULT_MIN_LENGTH, (len) => {
    if (OPCODES[op][len as Length] === undefined) return false;
    if (len === 6) {
      return lba <= RW6_MAX_LBA && blocks >= 1 && blocks <= 256 && !dpo && !fua && protect === 0 && groupNumber === 0;
    }
    if (len === 10) return lba <= U32_MAX_N && blocks <= U16_MAX;
    if (len === 12) return lba <= U32_MAX_N;
    return true;
  }) as Length;

  const { cdb, v } = newCdb(length, OPCODES[op][length] ?? 0);
  const at = LAYOUT[length];
  if (length === 6) {
    v.setUint8(1, Number(lba >> 16n) & RW6_LBA_MSB);
    v.setUint16(2, Number(lba & 0xffffn));
    v.setUint8(4, blocks & 0xff); // 256 → 0
    return cdb;
  }
  v.setUint8(1, (protect << PROTECT_SHIFT) | (dpo ? DPO : 0) | (fua ? FUA : 0) | (bytchk << BYTCHK_SHIFT));
  if (length === 16) v.setBigUint64(at.lba, lba);
  else v.setUint32(at.lba, Number(lba));
  if (length === 10) v.setUint16(at.len, blocks);
  else v.setUint32(at.len, blocks);
  v.setUint8(at.group, groupNumber);
  return cdb;
}

/**
 * READ (10) / WRITE (10), or READ (16) / WRITE (16) when the LBA passes 32
 * bits or the count 16 (the 12-byte form reaches nothing more, as Linux sd
 * and da judge), with every flag clear: what a disk driver sends for nearly
 * all of its I/O, one per request. The same bytes as encodeRw with minLength
 * 10 or 16 accordingly, without its general length search. Throws RangeError
 * for lba ≥ 2^64 or blocks > 2^32 − 1.
 */
export function encodeReadWrite(op: 'READ' | 'WRITE', lba: bigint, blocks: number): Uint8Array {
  assertBigUint('lba', lba, U64_MAX_N);
  assertUint('blocks', blocks, U32_MAX);
  const fits10 = lba <= U32_MAX_N && blocks <= U16_MAX;
  const cdb = new Uint8Array(fits10 ? 10 : 16);
  const v = new CdbView(cdb);
  if (fits10) {
    v.setUint8(0, op === 'READ' ? ScsiOp.READ_10 : ScsiOp.WRITE_10);
    v.setUint32(LAYOUT[10].lba, Number(lba));
    v.setUint16(LAYOUT[10].len, blocks);
  } else {
    v.setUint8(0, op === 'READ' ? ScsiOp.READ_16 : ScsiOp.WRITE_16);
    v.setBigUint64(LAYOUT[16].lba, lba);
    v.setUint32(LAYOUT[16].len, blocks);
  }
  return cdb;
}

/** The fields of a READ (10)/(16) or WRITE (10)/(16) CDB that a block device acts on. */
export interface ReadWriteFields {
  readonly write: boolean;
  readonly lba: bigint;
  readonly blocks: number;
  readonly fua: boolean;
}

const READ_WRITE_FORMS: ReadonlyMap<number, { readonly write: boolean; readonly length: 10 | 16 }> = new Map([
  [ScsiOp.READ_10, { write: false, length: 10 }],
  [ScsiOp.WRITE_10, { write: true, length: 10 }],
  [ScsiOp.READ_16, { write: false, length: 16 }],
  [ScsiOp.WRITE_16, { write: true, length: 16 }],
] as const);

/**
 * READ (10)/(16) and WRITE (10)/(16) — what a disk sees for nearly all of its
 * I/O — decoded to the fields a block device acts on, without building the
 * whole RwCdb (the SBC emulator's fast path). Undefined for any other CDB, and
 * for one that fails lookup or the usage masks of `commands`: decodeRw then
 * says why. For the CDBs it accepts, the fields are decodeRw's.
 */
export function decodeReadWrite(cdb: Uint8Array, commands?: readonly CommandDescriptor[]): ReadWriteFields | undefined {
  const form = READ_WRITE_FORMS.get(cdb[0] ?? -1);
  if (form === undefined || !validateCdb(cdb, commands).ok) return undefined;
  // The cdb* reads, not a CdbView: this runs for every READ and WRITE.
  const at = LAYOUT[form.length];
  return {
    write: form.write,
    lba: form.length === 16 ? cdbBigUint64(cdb, at.lba) : BigInt(cdbUint32(cdb, at.lba)),
    blocks: form.length === 10 ? cdbUint16(cdb, at.len) : cdbUint32(cdb, at.len),
    fua: (cdbUint8(cdb, 1) & FUA) !== 0,
  };
}

/**
 * Decodes any READ/WRITE/WRITE AND VERIFY/VERIFY CDB. Reserved bits give INVALID
 * FIELD IN CDB via the registry usage mask; a reserved BYTCHK value gives INVALID
 * FIELD IN CDB at byte 1 bit 2. LBA range, protection and DPO/FUA support are the
 * emulator's to check. Throws RangeError for an operation code outside the family.
 */
export function decodeRw(cdb: Uint8Array, commands?: readonly CommandDescriptor[]): Decoded<RwCdb> {
  // checkCdb's steps without its result objects and view: a target decodes every READ and WRITE here.
  assertFamily(cdb, 'decodeRw', RW_OPCODES);
  const found = validateCdb(cdb, commands);
  if (!found.ok) return found;
  const form = BY_OPCODE.get(cdbUint8(cdb, 0));
  if (form === undefined) throw new RangeError('decodeRw: unreachable');
  const { op, length } = form;
  if (length === 6) {
    const lba = BigInt(((cdbUint8(cdb, 1) & RW6_LBA_MSB) << 16) | cdbUint16(cdb, 2));
    const n = cdbUint8(cdb, 4);
    return {
      ok: true,
      value: { op, lba, blocks: n === 0 ? 256 : n, dpo: false, fua: false, protect: 0, bytchk: 0, groupNumber: 0 },
    };
  }
  const at = LAYOUT[length];
  const b1 = cdbUint8(cdb, 1);
  const bytchk = hasBytchk(op) ? (b1 >> BYTCHK_SHIFT) & 0b11 : 0;
  if (!bytchkValid(op, bytchk)) return { ok: false, fault: invalidFieldInCdb(BYTCHK_FIELD.byte, BYTCHK_FIELD.bit) };
  return {
    ok: true,
    value: {
      op,
      lba: length === 16 ? cdbBigUint64(cdb, at.lba) : BigInt(cdbUint32(cdb, at.lba)),
      blocks: length === 10 ? cdbUint16(cdb, at.len) : cdbUint32(cdb, at.len),
      dpo: (b1 & DPO) !== 0,
      fua: (b1 & FUA) !== 0,
      protect: b1 >> PROTECT_SHIFT,
      bytchk,
      groupNumber: cdbUint8(cdb, at.group) & GROUP_NUMBER_MASK,
    },
  };
}
