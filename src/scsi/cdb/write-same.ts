// WRITE SAME (10) and (16) CDBs. Spec: SBC-4 (WRITE SAME (10)/(16) CDB tables).
// Byte 1 bits 2..1 were PBDATA and LBDATA; SBC-4 made them obsolete (SBC-3 let a
// device that did not implement them reject them, and both set was always
// invalid), so vtcam's usage mask leaves them out and either one set is INVALID
// FIELD IN CDB at that bit. Byte 1 bit 0 is NDOB in the 16-byte CDB and
// obsolete (formerly RELADR) in the 10-byte one.

import { invalidFieldInCdb, type Decoded } from '../sense.js';
import { ScsiOp } from '../opcodes.js';
import type { CommandDescriptor } from './registry.js';
import {
  assertBigUint,
  assertUint,
  checkCdb,
  GROUP_NUMBER_MASK,
  newCdb,
  pickLength,
  U16_MAX,
  U32_MAX,
  U32_MAX_N,
  U64_MAX_N,
  type EncodeOptions,
} from './codec.js';

/** A decoded WRITE SAME CDB. */
export interface WriteSameCdb {
  /** LOGICAL BLOCK ADDRESS. */
  readonly lba: bigint;
  /** NUMBER OF LOGICAL BLOCKS; 0 means "to the last logical block" unless WSNZ (the emulator checks). */
  readonly blocks: number;
  /** UNMAP (byte 1 bit 3): deallocate/anchor when possible. */
  readonly unmap: boolean;
  /** ANCHOR (byte 1 bit 4); requires UNMAP. */
  readonly anchor: boolean;
  /** NDOB (byte 1 bit 0, 16-byte CDB only): no Data-Out Buffer, the data is zeros. */
  readonly ndob: boolean;
  /** WRPROTECT (byte 1 bits 7..5). */
  readonly protect: number;
  /** GROUP NUMBER (6 bits). */
  readonly groupNumber: number;
}

const PROTECT_SHIFT = 5; // byte 1 bits 7..5: WRPROTECT
const ANCHOR = 0x10; // byte 1 bit 4
const UNMAP = 0x08; // byte 1 bit 3
const NDOB = 0x01; // byte 1 bit 0 (16 only)
const ANCHOR_FIELD = { byte: 1, bit: 4 } as const;

/**
 * Encodes WRITE SAME: the 10-byte CDB unless NDOB, lba > 2^32 − 1, blocks > 65535
 * or minLength 16 needs the 16-byte one. Throws RangeError for ANCHOR without UNMAP.
 */
export function encodeWriteSame(
  cmd: Pick<WriteSameCdb, 'lba' | 'blocks'> & Partial<WriteSameCdb>,
  opts: EncodeOptions = {},
): Uint8Array {
  const { lba, blocks } = cmd;
  const unmap = cmd.unmap ?? false;
  const anchor = cmd.anchor ?? false;
  const ndob = cmd.ndob ?? false;
  const protect = cmd.protect ?? 0;
  const groupNumber = cmd.groupNumber ?? 0;
  assertBigUint('lba', lba, U64_MAX_N);
  assertUint('blocks', blocks, U32_MAX);
  assertUint('protect', protect, 7);
  assertUint('groupNumber', groupNumber, GROUP_NUMBER_MASK);
  if (anchor && !unmap) throw new RangeError('WRITE SAME: ANCHOR requires UNMAP');
  const length = pickLength('encodeWriteSame', [10, 16], opts.minLength ?? 10, (len) =>
    len === 16 || (!ndob && lba <= U32_MAX_N && blocks <= U16_MAX),
  );
  const { cdb, v } = newCdb(length, length === 10 ? ScsiOp.WRITE_SAME_10 : ScsiOp.WRITE_SAME_16);
  v.setUint8(1, (protect << PROTECT_SHIFT) | (anchor ? ANCHOR : 0) | (unmap ? UNMAP : 0) | (ndob ? NDOB : 0));
  if (length === 10) {
    v.setUint32(2, Number(lba));
    v.setUint8(6, groupNumber);
    v.setUint16(7, blocks);
  } else {
    v.setBigUint64(2, lba);
    v.setUint32(10, blocks);
    v.setUint8(14, groupNumber);
  }
  return cdb;
}

/** Decodes WRITE SAME (10) or (16). ANCHOR = 1 with UNMAP = 0 → INVALID FIELD IN CDB, byte 1 bit 4 (SBC-4). */
export function decodeWriteSame(cdb: Uint8Array, commands?: readonly CommandDescriptor[]): Decoded<WriteSameCdb> {
  const checked = checkCdb(cdb, 'decodeWriteSame', [ScsiOp.WRITE_SAME_10, ScsiOp.WRITE_SAME_16], commands);
  if (!checked.ok) return checked;
  const { v, desc } = checked.value;
  const b1 = v.getUint8(1);
  const unmap = (b1 & UNMAP) !== 0;
  const anchor = (b1 & ANCHOR) !== 0;
  if (anchor && !unmap) return { ok: false, fault: invalidFieldInCdb(ANCHOR_FIELD.byte, ANCHOR_FIELD.bit) };
  const common = { unmap, anchor, protect: b1 >> PROTECT_SHIFT };
  if (desc.cdbLength === 10) {
    return {
      ok: true,
      value: {
        lba: BigInt(v.getUint32(2)),
        blocks: v.getUint16(7),
        ...common,
        ndob: false,
        groupNumber: v.getUint8(6) & GROUP_NUMBER_MASK,
      },
    };
  }
  return {
    ok: true,
    value: {
      lba: v.getBigUint64(2),
      blocks: v.getUint32(10),
      ...common,
      ndob: (b1 & NDOB) !== 0,
      groupNumber: v.getUint8(14) & GROUP_NUMBER_MASK,
    },
  };
}
