// ORWRITE (16) CDB. Spec: SBC-4 (ORWRITE (16) CDB table): ORPROTECT (byte 1
// bits 7..5), DPO (4), FUA (3); bit 1 (formerly FUA_NV) is obsolete and bits 2
// and 0 are reserved; LOGICAL BLOCK ADDRESS 2..9, TRANSFER LENGTH 10..13,
// GROUP NUMBER 14 (bits 5..0). ORWRITE (32), with its generation-number
// fields, is not implemented.

import type { Decoded } from '../sense.js';
import { ScsiOp } from '../opcodes.js';
import type { CommandDescriptor } from './registry.js';
import { assertBigUint, assertUint, checkCdb, GROUP_NUMBER_MASK, newCdb, U32_MAX, U64_MAX_N } from './codec.js';

/** A decoded ORWRITE (16) CDB. */
export interface OrWriteCdb {
  /** LOGICAL BLOCK ADDRESS. */
  readonly lba: bigint;
  /** TRANSFER LENGTH in logical blocks; 0 transfers nothing and is not an error. */
  readonly blocks: number;
  /** ORPROTECT (byte 1 bits 7..5). */
  readonly protect: number;
  /** DPO (byte 1 bit 4). */
  readonly dpo: boolean;
  /** FUA (byte 1 bit 3). */
  readonly fua: boolean;
  /** GROUP NUMBER (6 bits). */
  readonly groupNumber: number;
}

const PROTECT_SHIFT = 5; // byte 1 bits 7..5
const DPO = 0x10; // byte 1 bit 4
const FUA = 0x08; // byte 1 bit 3
const LBA_BYTE = 2;
/** TRANSFER LENGTH (bytes 10..13): where a length over the Block Limits maximum points. */
export const ORWRITE_LENGTH_BYTE = 10;
const GROUP_BYTE = 14;

/** Encodes ORWRITE (16). */
export function encodeOrWrite(cmd: Pick<OrWriteCdb, 'lba' | 'blocks'> & Partial<OrWriteCdb>): Uint8Array {
  const protect = cmd.protect ?? 0;
  const groupNumber = cmd.groupNumber ?? 0;
  assertBigUint('lba', cmd.lba, U64_MAX_N);
  assertUint('blocks', cmd.blocks, U32_MAX);
  assertUint('protect', protect, 7);
  assertUint('groupNumber', groupNumber, GROUP_NUMBER_MASK);
  const { cdb, v } = newCdb(16, ScsiOp.ORWRITE_16);
  v.setUint8(1, (protect << PROTECT_SHIFT) | (cmd.dpo === true ? DPO : 0) | (cmd.fua === true ? FUA : 0));
  v.setBigUint64(LBA_BYTE, cmd.lba);
  v.setUint32(ORWRITE_LENGTH_BYTE, cmd.blocks);
  v.setUint8(GROUP_BYTE, groupNumber);
  return cdb;
}

/** Decodes ORWRITE (16) (reserved bits only; ranges and lengths are the emulator's). */
export function decodeOrWrite(cdb: Uint8Array, commands?: readonly CommandDescriptor[]): Decoded<OrWriteCdb> {
  const checked = checkCdb(cdb, 'decodeOrWrite', [ScsiOp.ORWRITE_16], commands);
  if (!checked.ok) return checked;
  const { v } = checked.value;
  const b1 = v.getUint8(1);
  return {
    ok: true,
    value: {
      lba: v.getBigUint64(LBA_BYTE),
      blocks: v.getUint32(ORWRITE_LENGTH_BYTE),
      protect: b1 >> PROTECT_SHIFT,
      dpo: (b1 & DPO) !== 0,
      fua: (b1 & FUA) !== 0,
      groupNumber: v.getUint8(GROUP_BYTE) & GROUP_NUMBER_MASK,
    },
  };
}
