// The shape SYNCHRONIZE CACHE (10/16) and PRE-FETCH (10/16) share: IMMED in byte 1
// bit 1, a LOGICAL BLOCK ADDRESS, a block count and a GROUP NUMBER, in a 10-byte
// CDB (32-bit LBA, 16-bit count) or a 16-byte one (64-bit LBA, 32-bit count).
// Spec: SBC-4 (SYNCHRONIZE CACHE and PRE-FETCH CDB tables).

import type { Decoded } from '../sense.js';
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

/** IMMED + LBA range + GROUP NUMBER. */
export interface ImmedRangeCdb {
  /** IMMED (byte 1 bit 1): return status before the operation completes. */
  readonly immed: boolean;
  /** LOGICAL BLOCK ADDRESS. */
  readonly lba: bigint;
  /** NUMBER OF LOGICAL BLOCKS / PREFETCH LENGTH; 0 means "to the last logical block". */
  readonly blocks: number;
  /** GROUP NUMBER (6 bits). */
  readonly groupNumber: number;
}

const IMMED = 0x02; // byte 1 bit 1

export function encodeImmedRange(
  what: string,
  opcodes: { readonly 10: number; readonly 16: number },
  cmd: Partial<ImmedRangeCdb>,
  opts: EncodeOptions,
): Uint8Array {
  const lba = cmd.lba ?? 0n;
  const blocks = cmd.blocks ?? 0;
  const groupNumber = cmd.groupNumber ?? 0;
  assertBigUint('lba', lba, U64_MAX_N);
  assertUint('blocks', blocks, U32_MAX);
  assertUint('groupNumber', groupNumber, GROUP_NUMBER_MASK);
  const length = pickLength(what, [10, 16], opts.minLength ?? 10, (len) => len === 16 || (lba <= U32_MAX_N && blocks <= U16_MAX));
  const { cdb, v } = newCdb(length, length === 10 ? opcodes[10] : opcodes[16]);
  v.setUint8(1, cmd.immed === true ? IMMED : 0);
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

export function decodeImmedRange(
  what: string,
  opcodes: { readonly 10: number; readonly 16: number },
  cdb: Uint8Array,
  commands: readonly CommandDescriptor[] | undefined,
): Decoded<ImmedRangeCdb> {
  const checked = checkCdb(cdb, what, [opcodes[10], opcodes[16]], commands);
  if (!checked.ok) return checked;
  const { v, desc } = checked.value;
  const immed = (v.getUint8(1) & IMMED) !== 0;
  if (desc.cdbLength === 10) {
    return {
      ok: true,
      value: { immed, lba: BigInt(v.getUint32(2)), blocks: v.getUint16(7), groupNumber: v.getUint8(6) & GROUP_NUMBER_MASK },
    };
  }
  return {
    ok: true,
    value: { immed, lba: v.getBigUint64(2), blocks: v.getUint32(10), groupNumber: v.getUint8(14) & GROUP_NUMBER_MASK },
  };
}
