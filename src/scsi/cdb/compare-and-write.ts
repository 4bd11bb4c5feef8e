// COMPARE AND WRITE CDB. Spec: SBC-4 (COMPARE AND WRITE CDB table). The
// Data-Out Buffer carries 2 × blocks logical blocks (verify data, then write
// data). Byte 1 bit 1 (formerly FUA_NV) is obsolete and bits 2 and 0 are
// reserved; bytes 10..12 are reserved.

import type { Decoded } from '../sense.js';
import { ScsiOp } from '../opcodes.js';
import type { CommandDescriptor } from './registry.js';
import { assertBigUint, assertUint, checkCdb, GROUP_NUMBER_MASK, newCdb, U64_MAX_N } from './codec.js';

/** A decoded COMPARE AND WRITE CDB. */
export interface CompareAndWriteCdb {
  /** LOGICAL BLOCK ADDRESS. */
  readonly lba: bigint;
  /** NUMBER OF LOGICAL BLOCKS (8 bits); 0 is a no-op, not an error. MAXIMUM COMPARE AND WRITE LENGTH is the emulator's. */
  readonly blocks: number;
  /** DPO (byte 1 bit 4). */
  readonly dpo: boolean;
  /** FUA (byte 1 bit 3). */
  readonly fua: boolean;
  /** WRPROTECT (byte 1 bits 7..5). */
  readonly protect: number;
  /** GROUP NUMBER (6 bits). */
  readonly groupNumber: number;
}

const PROTECT_SHIFT = 5; // byte 1 bits 7..5: WRPROTECT
const DPO = 0x10; // byte 1 bit 4
const FUA = 0x08; // byte 1 bit 3
const BLOCKS_BYTE = 13; // NUMBER OF LOGICAL BLOCKS
const GROUP_BYTE = 14;

/** Encodes COMPARE AND WRITE. */
export function encodeCompareAndWrite(cmd: Pick<CompareAndWriteCdb, 'lba' | 'blocks'> & Partial<CompareAndWriteCdb>): Uint8Array {
  const protect = cmd.protect ?? 0;
  const groupNumber = cmd.groupNumber ?? 0;
  assertBigUint('lba', cmd.lba, U64_MAX_N);
  assertUint('blocks', cmd.blocks, 0xff);
  assertUint('protect', protect, 7);
  assertUint('groupNumber', groupNumber, GROUP_NUMBER_MASK);
  const { cdb, v } = newCdb(16, ScsiOp.COMPARE_AND_WRITE);
  v.setUint8(1, (protect << PROTECT_SHIFT) | (cmd.dpo === true ? DPO : 0) | (cmd.fua === true ? FUA : 0));
  v.setBigUint64(2, cmd.lba);
  v.setUint8(BLOCKS_BYTE, cmd.blocks);
  v.setUint8(GROUP_BYTE, groupNumber);
  return cdb;
}

/** Decodes COMPARE AND WRITE (reserved bits only; lengths and ranges are the emulator's). */
export function decodeCompareAndWrite(cdb: Uint8Array, commands?: readonly CommandDescriptor[]): Decoded<CompareAndWriteCdb> {
  const checked = checkCdb(cdb, 'decodeCompareAndWrite', [ScsiOp.COMPARE_AND_WRITE], commands);
  if (!checked.ok) return checked;
  const { v } = checked.value;
  const b1 = v.getUint8(1);
  return {
    ok: true,
    value: {
      lba: v.getBigUint64(2),
      blocks: v.getUint8(BLOCKS_BYTE),
      dpo: (b1 & DPO) !== 0,
      fua: (b1 & FUA) !== 0,
      protect: b1 >> PROTECT_SHIFT,
      groupNumber: v.getUint8(GROUP_BYTE) & GROUP_NUMBER_MASK,
    },
  };
}
