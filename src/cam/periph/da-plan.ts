// How da cuts block requests into CDBs: READ/WRITE pieces no larger than the
// maximum I/O, the delete method a unit's provisioning allows, UNMAP parameter
// lists within the Block Limits, WRITE SAME ranges within MAXIMUM WRITE SAME
// LENGTH. Pure functions over the device description. Spec: SBC-4 (Block
// Limits VPD page B0h, Logical Block Provisioning VPD page B2h, UNMAP).
// Delete method order follows FreeBSD da's dadeletemethodchoose (UNMAP, then
// WRITE SAME (16) with UNMAP, then zeroing), without ATA TRIM and WS(10).

import type { CamDeviceInfo } from '../xpt/periph-api.js';
import { UNMAP_MAX_DESCRIPTORS, type UnmapBlockDescriptor } from '../../scsi/cdb/unmap.js';

/** A run of logical blocks. */
export interface BlockRun {
  readonly lba: bigint;
  readonly blocks: number;
}

/** How da deletes (discards) blocks: UNMAP, WRITE SAME (16) with UNMAP, or WRITE SAME writing zeros. */
export type DeleteMethod = 'unmap' | 'ws16-unmap' | 'zero';

const U32_MAX = 0xffff_ffff;
/** MAXIMUM UNMAP LBA COUNT / BLOCK DESCRIPTOR COUNT value meaning "no limit" (SBC-4 B0h). */
const NO_LIMIT = 0xffff_ffff;

/** The LBA just past `run`. */
export const runEnd = (run: BlockRun): bigint => run.lba + BigInt(run.blocks);

/** Splits [lba, lba + blocks) into runs of at most `max` blocks, in order. */
export function splitRuns(lba: bigint, blocks: number, max: number): BlockRun[] {
  if (!Number.isInteger(max) || max < 1) throw new RangeError(`splitRuns: max must be a positive integer, got ${max}`);
  const out: BlockRun[] = [];
  for (let done = 0; done < blocks; ) {
    const n = Math.min(max, blocks - done);
    out.push({ lba: lba + BigInt(done), blocks: n });
    done += n;
  }
  return out;
}

/**
 * Blocks one READ/WRITE CCB may carry: the Block Limits MAXIMUM TRANSFER LENGTH
 * (0: none), the transport's maximum I/O in bytes (0: none) and the 32-bit
 * TRANSFER LENGTH, whichever is least; at least 1.
 */
export function maxTransferBlocks(info: Pick<CamDeviceInfo, 'blockLimits'>, blockSize: number, maxIoBytes: number): number {
  let max = U32_MAX;
  const limit = info.blockLimits?.maxTransferBlocks ?? 0;
  if (limit > 0) max = Math.min(max, limit);
  if (maxIoBytes > 0) max = Math.min(max, Math.floor(maxIoBytes / blockSize));
  return Math.max(1, max);
}

/**
 * The delete methods a unit offers, best first. UNMAP needs LBPME and LBPU
 * (and, with Block Limits, non-zero MAXIMUM UNMAP LBA COUNT and BLOCK
 * DESCRIPTOR COUNT: SBC-4 says 0 there means UNMAP is not implemented);
 * WRITE SAME (16) with UNMAP needs LBPME and LBPWS; zeroing with WRITE SAME is
 * always offered (a unit that rejects it loses it at run time).
 */
export function deleteMethods(info: Pick<CamDeviceInfo, 'capacity' | 'blockLimits' | 'provisioning'>): DeleteMethod[] {
  const out: DeleteMethod[] = [];
  const p = info.provisioning;
  const bl = info.blockLimits;
  if (info.capacity.lbpme && p?.lbpu === true && (bl === undefined || (bl.maxUnmapLbaCount > 0 && bl.maxUnmapBlockDescriptors > 0))) {
    out.push('unmap');
  }
  if (info.capacity.lbpme && p?.lbpws === true) out.push('ws16-unmap');
  out.push('zero');
  return out;
}

/**
 * UNMAP parameter lists for [lba, lba + blocks): each descriptor at most
 * MAXIMUM UNMAP LBA COUNT (and 2^32 − 1) blocks, each list at most MAXIMUM
 * UNMAP BLOCK DESCRIPTOR COUNT descriptors (and the 4095 one list can carry)
 * and at most MAXIMUM UNMAP LBA COUNT blocks in all. Without Block Limits:
 * one descriptor of up to 2^32 − 1 blocks per list.
 */
export function planUnmap(lba: bigint, blocks: number, limits: CamDeviceInfo['blockLimits']): UnmapBlockDescriptor[][] {
  const lbaCount = limits === undefined || limits.maxUnmapLbaCount === NO_LIMIT ? Infinity : limits.maxUnmapLbaCount;
  const descriptors = limits === undefined ? 1 : Math.min(limits.maxUnmapBlockDescriptors, UNMAP_MAX_DESCRIPTORS);
  const lists: UnmapBlockDescriptor[][] = [];
  let list: UnmapBlockDescriptor[] = [];
  let inList = 0;
  for (let done = 0; done < blocks; ) {
    if (list.length === descriptors || inList === lbaCount) {
      lists.push(list);
      list = [];
      inList = 0;
    }
    const n = Math.min(blocks - done, U32_MAX, lbaCount - inList);
    list.push({ lba: lba + BigInt(done), blocks: n });
    inList += n;
    done += n;
  }
  if (list.length > 0) lists.push(list);
  return lists;
}

/** Blocks one WRITE SAME may cover: MAXIMUM WRITE SAME LENGTH (0: none) and the 32-bit field of WRITE SAME (16). */
export function maxWriteSameBlocks(limits: CamDeviceInfo['blockLimits']): number {
  const m = limits?.maxWriteSameBlocks ?? 0;
  return m > 0 ? Math.min(m, U32_MAX) : U32_MAX;
}
