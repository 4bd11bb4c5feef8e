// Checks shared by the block command handlers (SBC-4): LBA range, write
// protection, transfer length, and the flush that stands in for FUA.

import { Asc, invalidFieldInCdb, senseDataProtect, senseIllegalRequest, type SenseData } from '../sense.js';
import type { IssueEpoch, LogicalUnit } from './context.js';
import type { OperationAborted } from './block-command-set.js';

/** ILLEGAL REQUEST, LOGICAL BLOCK ADDRESS OUT OF RANGE (21h/00h). */
export const LBA_OUT_OF_RANGE = senseIllegalRequest(Asc.LBA_OUT_OF_RANGE);
const WRITE_PROTECTED = senseDataProtect(Asc.WRITE_PROTECTED);
const SOFTWARE_WRITE_PROTECTED = senseDataProtect(Asc.LOGICAL_UNIT_SOFTWARE_WRITE_PROTECTED);
/** Sums of two values below this stay below 2^53, where every integer is exact as a number. */
const EXACT = 2 ** 52;
const EXACT_N = 2n ** 52n;

/**
 * SBC-4: LOGICAL BLOCK ADDRESS OUT OF RANGE when the range [lba, lba + blocks)
 * does not fit the medium. A zero-length range at the capacity is allowed (it
 * touches no block), one past it is not.
 */
export function lbaRangeFault(lu: LogicalUnit, lba: bigint, blocks: number | bigint): SenseData | undefined {
  const cap = lu.info.blocks;
  if (lba > cap) return LBA_OUT_OF_RANGE;
  // Every READ and WRITE is checked here: below 2^52 on both sides the sum is
  // exact as a number, and makes no bigint (two heap objects) per command.
  if (cap < EXACT_N && typeof blocks === 'number' && Number.isInteger(blocks) && blocks >= 0 && blocks < EXACT) {
    return Number(lba) + blocks > Number(cap) ? LBA_OUT_OF_RANGE : undefined;
  }
  return lba + BigInt(blocks) > cap ? LBA_OUT_OF_RANGE : undefined;
}

/**
 * DATA PROTECT for a command that would change the medium: WRITE PROTECTED on a
 * read-only device, LOGICAL UNIT SOFTWARE WRITE PROTECTED while SWP is set
 * (SPC-5 Control mode page).
 */
export function writeProtectFault(lu: LogicalUnit): SenseData | undefined {
  if (lu.info.readOnly) return WRITE_PROTECTED;
  return lu.softwareWriteProtect ? SOFTWARE_WRITE_PROTECTED : undefined;
}

/**
 * SBC-4: a TRANSFER LENGTH above the Block Limits MAXIMUM TRANSFER LENGTH is
 * INVALID FIELD IN CDB, pointing at the field's first byte.
 */
export function transferLengthFault(lu: LogicalUnit, blocks: number, fieldByte: number): SenseData | undefined {
  return blocks > lu.maxTransferBlocks ? invalidFieldInCdb(fieldByte) : undefined;
}

/** Blocks from `lba` to the end of the medium (0 when past it), for "0 means to the last logical block" fields. */
export function blocksToEnd(lu: LogicalUnit, lba: bigint): bigint {
  return lba >= lu.info.blocks ? 0n : lu.info.blocks - lba;
}

/**
 * virtio-blk has no FUA: a forced-unit-access write on a unit with its write
 * cache on is a write followed by a flush (of a command of epoch `since`, and
 * `aborted` says whether that command was aborted). Undefined when nothing failed.
 */
export async function flushIfCached(lu: LogicalUnit, since: IssueEpoch, aborted?: OperationAborted): Promise<SenseData | undefined> {
  if (!lu.geometry.flush || !lu.bcs.writeCacheEnabled()) return undefined;
  return lu.run(since, 'flush', () => lu.bcs.flush(aborted));
}

/** The first of several checks that fails, evaluated lazily in order. */
export function firstFault(...checks: readonly (() => SenseData | undefined)[]): SenseData | undefined {
  for (const check of checks) {
    const f = check();
    if (f !== undefined) return f;
  }
  return undefined;
}
