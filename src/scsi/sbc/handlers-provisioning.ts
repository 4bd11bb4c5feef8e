// SBC-4 logical block provisioning commands: UNMAP, WRITE SAME (10)/(16) and
// GET LBA STATUS. What the unit can unmap comes from the device's discard and
// write-zeroes capabilities; the usage masks already reject what it cannot
// (UNMAP absent without discard, the WRITE SAME UNMAP bit without LBPWS/LBPWS10,
// ANCHOR everywhere since ANC_SUP is 0), so the handlers see only requests the
// Logical Block Provisioning VPD page promised.

import { GetLbaStatusReportType } from '../cdb/capacity.js';
import { UNMAP_DESCRIPTOR_LENGTH, UNMAP_HEADER_LENGTH, decodeUnmapParameterList } from '../cdb/unmap.js';
import { Asc, invalidFieldInCdb, invalidFieldInParameterList, senseIllegalRequest, type SenseData } from '../sense.js';
import type { BlockRange, OperationAborted } from './block-command-set.js';
import { GOOD, checkCondition, goodData, type HandlerTable, type IssueEpoch, type LogicalUnit } from './context.js';
import { LBA_OUT_OF_RANGE, blocksToEnd, firstFault, lbaRangeFault, writeProtectFault } from './checks.js';
import { IMPLEMENTATION_FAILURE, STOPPED_BY_ABORT, blockFailureSense, failingBlock } from './errors.js';

/** WRITE SAME NUMBER OF LOGICAL BLOCKS, first byte by CDB length. */
const WS_BLOCKS_BYTE: Readonly<Record<number, number>> = { 10: 7, 16: 10 };
/** WRITE SAME UNMAP bit (byte 1 bit 3): refused without LBPWS (16) / LBPWS10 (10), after write protection. */
const UNMAP_FIELD = { byte: 1, bit: 3 } as const;
/** Bytes written per call when WRITE SAME has to write its pattern out. */
const WRITE_SAME_CHUNK_BYTES = 1024 * 1024;
const U32_MAX = 0xffff_ffff;
/** UNMAP parameter list: UNMAP BLOCK DESCRIPTOR DATA LENGTH (bytes 2..3). */
const UNMAP_BD_LENGTH_BYTE = 2;
/** NUMBER OF LOGICAL BLOCKS within an UNMAP block descriptor. */
const UNMAP_DESCRIPTOR_BLOCKS = 8;

// GET LBA STATUS parameter data (SBC-4): 8-byte header, 16-byte LBA status descriptors.
const LBA_STATUS_HEADER = 8;
/** RTP, return type processed (byte 7 bit 0, SBC-4 since sbc4r12): the REPORT TYPE field was processed. */
const RTP = 0x01;
const LBA_STATUS_DESCRIPTOR = 16;
/** PROVISIONING STATUS values. */
const MAPPED_OR_UNKNOWN = 0x0;
const DEALLOCATED = 0x1;
/** Mapping queries one GET LBA STATUS may make, so a fragmented disk cannot stall the unit. */
const MAX_MAPPING_QUERIES = 4096;

function isZero(b: Uint8Array): boolean {
  for (const x of b) if (x !== 0) return false;
  return true;
}

/** Splits [lba, lba + blocks) into pieces of at most `max` blocks. */
export function* pieces(lba: bigint, blocks: bigint, max: number): Generator<BlockRange> {
  for (let at = lba, left = blocks; left > 0n; ) {
    const n = left > BigInt(max) ? max : Number(left);
    yield { lba: at, blocks: n };
    at += BigInt(n);
    left -= BigInt(n);
  }
}

/**
 * Discards a range through the device, split to its segment and per-call
 * limits, for a command of epoch `since` until `aborted` says it was aborted
 * (asked before each call: SAM-5 lets an aborted command stop part way). A
 * failed call names a block in INFORMATION only when it covered that one
 * block (failingBlock), as a failed write or write-zeroes call does: the
 * device does not say which block failed.
 */
export async function discardRange(lu: LogicalUnit, since: IssueEpoch, aborted: OperationAborted, lba: bigint, blocks: bigint): Promise<SenseData | undefined> {
  const d = lu.geometry.discard;
  if (d === undefined) throw new Error('discardRange: the device cannot discard');
  const discard = (ranges: readonly BlockRange[], first: bigint): Promise<SenseData | undefined> =>
    aborted() ? Promise.resolve(STOPPED_BY_ABORT) : lu.run(since, 'discard', () => lu.bcs.discard(ranges, aborted), failingBlock(first, ranges.reduce((n, r) => n + r.blocks, 0)));
  let batch: BlockRange[] = [];
  let first = lba;
  for (const p of pieces(lba, blocks, Math.max(1, d.maxBlocks))) {
    if (batch.length === 0) first = p.lba;
    batch.push(p);
    if (batch.length === Math.max(1, d.maxSegments)) {
      const failed = await discard(batch, first);
      batch = [];
      if (failed !== undefined) return failed;
    }
  }
  return batch.length === 0 ? undefined : discard(batch, first);
}

/**
 * Fills [lba, lba + blocks) with `block`, for a command of epoch `since`
 * until `aborted` says it was aborted (asked before each call): by
 * write-zeroes (deallocating when `unmap` and the device may) or discard that
 * reads back zeros when the block is all zeros, else by writing the pattern
 * out in chunks.
 */
export async function fill(lu: LogicalUnit, since: IssueEpoch, aborted: OperationAborted, lba: bigint, blocks: bigint, block: Uint8Array, unmap: boolean): Promise<SenseData | undefined> {
  const g = lu.geometry;
  if (isZero(block)) {
    const wz = g.writeZeroes;
    // UNMAP = 1 asks for the blocks to be deallocated where the device server
    // can (SBC-4 WRITE SAME, UNMAP bit), as long as they then read as the data
    // sent: a write-zeroes that may unmap does both; otherwise a discard that
    // reads back zeros does, even when there is a write-zeroes that cannot unmap.
    if (unmap && wz?.mayUnmap !== true && g.discard?.zeroes === true) return discardRange(lu, since, aborted, lba, blocks);
    if (wz !== undefined) {
      for (const p of pieces(lba, blocks, Math.max(1, wz.maxBlocks))) {
        if (aborted()) return STOPPED_BY_ABORT;
        const failed = await lu.run(since, 'write-zeroes', () => lu.bcs.writeZeroes(p, unmap && wz.mayUnmap, aborted), failingBlock(p.lba, p.blocks));
        if (failed !== undefined) return failed;
      }
      return undefined;
    }
  }
  const bs = block.length;
  const perChunk = Math.max(1, Math.min(Math.floor(WRITE_SAME_CHUNK_BYTES / bs), lu.maxTransferBlocks));
  const chunkBlocks = blocks < BigInt(perChunk) ? Number(blocks) : perChunk;
  const chunk = new Uint8Array(chunkBlocks * bs);
  for (let i = 0; i < chunkBlocks; i++) chunk.set(block, i * bs);
  for (const p of pieces(lba, blocks, chunkBlocks)) {
    if (aborted()) return STOPPED_BY_ABORT;
    const data = chunk.subarray(0, p.blocks * bs);
    const failed = await lu.run(since, 'write', () => lu.bcs.write(p.lba, data, aborted), failingBlock(p.lba, p.blocks));
    if (failed !== undefined) return failed;
  }
  return undefined;
}

/** GET LBA STATUS descriptors from `start`, at most `max` of them, filtered by REPORT TYPE. */
async function lbaStatus(lu: LogicalUnit, start: bigint, max: number, reportType: number): Promise<{ lba: bigint; blocks: number; status: number }[] | SenseData> {
  const out: { lba: bigint; blocks: number; status: number }[] = [];
  const want = (status: number): boolean => {
    switch (reportType) {
      case GetLbaStatusReportType.ALL:
        return true;
      case GetLbaStatusReportType.NONZERO_PROVISIONING_STATUS:
      case GetLbaStatusReportType.DEALLOCATED:
        return status !== MAPPED_OR_UNKNOWN;
      case GetLbaStatusReportType.MAPPED:
        return status === MAPPED_OR_UNKNOWN;
      default:
        return false; // ANCHORED and MAY RETURN UNRECOVERED ERRORS: vtcam has neither
    }
  };
  const mapping = lu.bcs.mapping?.bind(lu.bcs);
  const end = lu.info.blocks;
  let lba = start;
  for (let queries = 0; lba < end && out.length < max && queries < MAX_MAPPING_QUERIES; queries++) {
    const left = end - lba;
    const span = left > BigInt(U32_MAX) ? U32_MAX : Number(left);
    let status = MAPPED_OR_UNKNOWN;
    let blocks = span;
    if (mapping !== undefined) {
      let r: Awaited<ReturnType<typeof mapping>>;
      try {
        r = await mapping(lba, span);
      } catch {
        return IMPLEMENTATION_FAILURE;
      }
      if (typeof r === 'string') return blockFailureSense('mapping', r, lba);
      status = r.mapped ? MAPPED_OR_UNKNOWN : DEALLOCATED;
      blocks = Math.min(Math.max(1, r.blocks), span);
    }
    const last = out[out.length - 1];
    if (want(status)) {
      if (last?.status === status && last.lba + BigInt(last.blocks) === lba && last.blocks + blocks <= U32_MAX) {
        out[out.length - 1] = { ...last, blocks: last.blocks + blocks };
      } else {
        out.push({ lba, blocks, status });
      }
    }
    lba += BigInt(blocks);
  }
  return out;
}

/** The blocks a WRITE SAME covers: NUMBER OF LOGICAL BLOCKS, or with 0 the rest of the medium (WSNZ 0). */
function writeSameBlocks(lu: LogicalUnit, lba: bigint, blocks: number): bigint {
  return blocks === 0 ? blocksToEnd(lu, lba) : BigInt(blocks);
}

export const PROVISIONING_HANDLERS: HandlerTable = {
  // SBC-4 WRITE SAME. WSNZ is 0 (Block Limits): NUMBER OF LOGICAL BLOCKS 0
  // means every block from the LBA to the end of the medium, within MAXIMUM
  // WRITE SAME LENGTH like any other count (none at an LBA equal to the
  // capacity). NDOB means a block of zeros without a Data-Out Buffer. With UNMAP
  // and a zero block the range is deallocated where the device can do so and
  // still read zeros; otherwise the data is written (SBC-4 allows a device
  // server that cannot unmap to write instead).
  writeSame: {
    medium: true,
    dataOutLength: (lu, f) => (f.ndob ? 0 : lu.info.blockSize),
    check: (lu, { fields: f, descriptor, dataOutSent }) => {
      const max = lu.info.limits.maxWriteSameBlocks;
      const lbpws = descriptor.cdbLength === 10 ? lu.info.provisioning.lbpws10 : lu.info.provisioning.lbpws;
      return firstFault(
        () => writeProtectFault(lu),
        () => (f.unmap && !lbpws ? invalidFieldInCdb(UNMAP_FIELD.byte, UNMAP_FIELD.bit) : undefined),
        () => lbaRangeFault(lu, f.lba, f.blocks),
        () => (max > 0 && writeSameBlocks(lu, f.lba, f.blocks) > BigInt(max) ? invalidFieldInCdb(WS_BLOCKS_BYTE[descriptor.cdbLength] ?? 0) : undefined),
        // The Data-Out Buffer of WRITE SAME is one logical block (none with NDOB); more than that is a data
        // length the command cannot have, answered like a short one (0Eh/03h, nothing written).
        () => (dataOutSent > (f.ndob ? 0 : lu.info.blockSize) ? senseIllegalRequest(Asc.INVALID_FIELD_IN_COMMAND_INFORMATION_UNIT) : undefined),
      );
    },
    run: async (lu, { fields: f, dataOut, epoch, aborted }) => {
      const block = f.ndob ? new Uint8Array(lu.info.blockSize) : dataOut;
      const blocks = writeSameBlocks(lu, f.lba, f.blocks);
      if (blocks === 0n) return GOOD;
      const release = await lu.locks.acquire(f.lba, Number(blocks), false, aborted);
      if (release === undefined) return checkCondition(STOPPED_BY_ABORT);
      try {
        const failed = await fill(lu, epoch, aborted, f.lba, blocks, block, f.unmap);
        return failed === undefined ? GOOD : checkCondition(failed);
      } finally {
        release();
      }
    },
  },

  // SBC-4 UNMAP. Limits from Block Limits: more descriptors than MAXIMUM UNMAP
  // BLOCK DESCRIPTOR COUNT points at UNMAP BLOCK DESCRIPTOR DATA LENGTH, more
  // blocks in total than MAXIMUM UNMAP LBA COUNT at the descriptor that crossed
  // it; a range past the capacity is LBA OUT OF RANGE. Nothing is unmapped
  // unless the whole list is valid.
  unmap: {
    medium: true,
    parameterList: true,
    dataOutLength: (_lu, f) => f.parameterListLength,
    check: (lu) => writeProtectFault(lu),
    run: async (lu, { fields: f, dataOut, epoch, aborted }) => {
      if (f.parameterListLength === 0) return GOOD;
      // SBC-4 UNMAP: a PARAMETER LIST LENGTH of 1..7 is a PARAMETER LIST LENGTH
      // ERROR whatever arrived. So is a list that arrived shorter than its
      // PARAMETER LIST LENGTH, as for EXTENDED COPY, MODE SELECT and SANITIZE:
      // the lengths in its header describe descriptors that never came, and
      // unmapping only the ones that did would answer GOOD for less than was asked.
      if (f.parameterListLength < UNMAP_HEADER_LENGTH || dataOut.length < f.parameterListLength) {
        return checkCondition(senseIllegalRequest(Asc.PARAMETER_LIST_LENGTH_ERROR));
      }
      const list = decodeUnmapParameterList(dataOut);
      if (!list.ok) return checkCondition(list.fault);
      const ds = list.value.descriptors;
      const limits = lu.info.limits;
      if (ds.length > limits.maxUnmapBlockDescriptors) return checkCondition(invalidFieldInParameterList(UNMAP_BD_LENGTH_BYTE));
      let total = 0;
      for (const [k, d] of ds.entries()) {
        total += d.blocks;
        if (total > limits.maxUnmapLbaCount) {
          return checkCondition(invalidFieldInParameterList(UNMAP_HEADER_LENGTH + UNMAP_DESCRIPTOR_LENGTH * k + UNMAP_DESCRIPTOR_BLOCKS));
        }
        const range = lbaRangeFault(lu, d.lba, d.blocks);
        if (range !== undefined) return checkCondition(range);
      }
      const work = ds.filter((d) => d.blocks !== 0);
      // Every descriptor's lock is asked for in this turn, the one in which
      // the command steps found no sanitize running, and all are held until
      // the last discard: a SANITIZE begun meanwhile (an exclusive lock over
      // the whole medium) waits for the whole UNMAP. Taken one descriptor at a
      // time, later descriptors landed after the sanitize had completed (SBC-4
      // sanitize operations: every block then holds what the sanitize left).
      // Asked for together the locks cannot deadlock: RangeLock grants in
      // arrival order, so none of them waits behind a request that came later.
      const held = await Promise.all(work.map((d) => lu.locks.acquire(d.lba, d.blocks, false, aborted)));
      const releases = held.filter((r) => r !== undefined);
      try {
        // Aborted while it waited: what it holds goes back unused.
        if (releases.length < held.length) return checkCondition(STOPPED_BY_ABORT);
        for (const d of work) {
          const failed = await discardRange(lu, epoch, aborted, d.lba, BigInt(d.blocks));
          if (failed !== undefined) return checkCondition(failed);
        }
        return GOOD;
      } finally {
        for (const release of releases) release();
      }
    },
  },

  // SBC-4 GET LBA STATUS: LBA status descriptors from STARTING LOGICAL BLOCK
  // ADDRESS on, as many as the ALLOCATION LENGTH holds (at least one), from the
  // device's allocation query; without one every block is "mapped or unknown".
  // PARAMETER DATA LENGTH describes the descriptors returned. RTP is 1: every
  // REPORT TYPE the unit accepts is processed, filtering the descriptors
  // (ANCHORED and MAY RETURN UNRECOVERED ERRORS match none), and RTP 0 would
  // tell the client they are not filtered. COMPLETION CONDITION is 000b, no
  // indication.
  getLbaStatus: {
    medium: true,
    run: async (lu, { fields: f }) => {
      if (f.startingLba >= lu.info.blocks) return checkCondition(LBA_OUT_OF_RANGE);
      const max = Math.max(1, Math.floor((f.allocationLength - LBA_STATUS_HEADER) / LBA_STATUS_DESCRIPTOR));
      const ds = await lbaStatus(lu, f.startingLba, max, f.reportType);
      if (!Array.isArray(ds)) return checkCondition(ds);
      const out = new Uint8Array(LBA_STATUS_HEADER + LBA_STATUS_DESCRIPTOR * ds.length);
      const v = new DataView(out.buffer);
      v.setUint32(0, out.length - 4); // PARAMETER DATA LENGTH
      v.setUint8(7, RTP); // COMPLETION CONDITION (3..1) 000b, RTP (0)
      ds.forEach((d, i) => {
        const at = LBA_STATUS_HEADER + LBA_STATUS_DESCRIPTOR * i;
        v.setBigUint64(at, d.lba); // LOGICAL BLOCK ADDRESS
        v.setUint32(at + 8, d.blocks); // NUMBER OF LOGICAL BLOCKS
        v.setUint8(at + 12, d.status); // PROVISIONING STATUS (3..0)
      });
      return goodData(out, f.allocationLength);
    },
  },
};
