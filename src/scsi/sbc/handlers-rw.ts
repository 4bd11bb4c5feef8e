// SBC-4 data commands: READ, WRITE, WRITE AND VERIFY, VERIFY (6/10/12/16 as
// each exists), COMPARE AND WRITE and ORWRITE (16). Checks run before any block operation
// and before the Data-Out length is looked at, in this order: write protection
// (DATA PROTECT, WRITE PROTECTED), LBA range (LOGICAL BLOCK ADDRESS OUT OF
// RANGE), the length against its Block Limits maximum (INVALID FIELD IN CDB) —
// the order libiscsi's tests observe. RDPROTECT/WRPROTECT/VRPROTECT
// never get here: the unit's usage masks reject them (no protection
// information). DPO is a cache hint with nothing to act on; FUA on a write
// becomes write + flush when the write cache is on (virtio-blk has no FUA); a
// FUA read is served from the device, which is all FUA asks of a read. Every
// block operation carries the command's abort check (SbcCommand.aborted), and
// a command of several (WRITE AND VERIFY, COMPARE AND WRITE, ORWRITE, a FUA
// write's flush) asks it before each: once aborted, it issues no more (SAM-5
// lets an aborted command stop part way; the transport ends it as the abort says).

import type { RwCdb, RwOp } from '../cdb/rw.js';
import { Bytchk } from '../cdb/rw.js';
import { ORWRITE_LENGTH_BYTE } from '../cdb/orwrite.js';
import { invalidFieldInCdb, senseMiscompare, type SenseData } from '../sense.js';
import { GOOD, checkCondition, goodData, type CommandOutcome, type HandlerTable, type IssueEpoch, type LogicalUnit, type SbcCommand } from './context.js';
import type { DataInPool } from './data-in-pool.js';
import type { OperationAborted } from './block-command-set.js';
import { firstFault, flushIfCached, lbaRangeFault, transferLengthFault, writeProtectFault } from './checks.js';
import { STOPPED_BY_ABORT, failingBlock } from './errors.js';

/** TRANSFER LENGTH / VERIFICATION LENGTH: first byte of the field by CDB length. */
const LENGTH_FIELD_BYTE: Readonly<Record<number, number>> = { 6: 4, 10: 7, 12: 6, 16: 10 };
/** COMPARE AND WRITE NUMBER OF LOGICAL BLOCKS (byte 13). */
const CAW_BLOCKS_BYTE = 13;

/** Offset of the first byte where `a` and `b` differ, or -1. */
function firstDifference(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return a.length === b.length ? -1 : n;
}

// READ and WRITE are nearly all the I/O a unit sees, so their path is written
// with explicit promises rather than nested async functions: each async frame
// costs a promise and a turn, and here they were most of the emulator's cost.

/**
 * Runs `body` holding a lock on the command's range (taken at once when nothing conflicts); a command aborted
 * while it waits for the lock (RangeLock.dropAborted) runs nothing and stops there.
 */
function locked<T>(lu: LogicalUnit, aborted: OperationAborted, lba: bigint, blocks: number, exclusive: boolean, body: () => Promise<T>): Promise<T | SenseData> {
  const release = lu.locks.tryAcquire(lba, blocks, exclusive);
  if (release === undefined) return lu.locks.acquire(lba, blocks, exclusive, aborted).then((r): T | SenseData | Promise<T> => (r === undefined ? STOPPED_BY_ABORT : underLock(r, body)));
  return underLock(release, body);
}

function underLock<T>(release: () => void, body: () => Promise<T>): Promise<T> {
  let pending: Promise<T>;
  try {
    pending = body();
  } catch (e) {
    release();
    return Promise.reject(e instanceof Error ? e : new Error(String(e)));
  }
  return pending.then(
    (v) => {
      release();
      return v;
    },
    (e: unknown) => {
      release();
      throw e;
    },
  );
}

const fail = (s: SenseData | undefined): CommandOutcome | undefined => (s === undefined ? undefined : checkCondition(s));

/**
 * Reads blocks into a fresh buffer (from `pool` when it is Data-In for the
 * initiator), for a command of epoch `since`; nothing once `aborted` says so.
 */
function readBlocks(lu: LogicalUnit, since: IssueEpoch, aborted: OperationAborted, lba: bigint, blocks: number, pool?: DataInPool): Promise<Uint8Array | SenseData> {
  if (aborted()) return Promise.resolve(STOPPED_BY_ABORT);
  const bytes = blocks * lu.info.blockSize;
  const buf = pool === undefined ? new Uint8Array(bytes) : pool.alloc(bytes);
  return lu.run(since, 'read', () => lu.bcs.read(lba, buf, aborted), failingBlock(lba, blocks)).then((failed) => failed ?? buf);
}

/** Writes `data` at `lba` (then flushes, with `fua`), for a command of epoch `since`; nothing more once `aborted` says so. */
function writeBlocks(lu: LogicalUnit, since: IssueEpoch, aborted: OperationAborted, lba: bigint, data: Uint8Array, fua: boolean): Promise<SenseData | undefined> {
  if (aborted()) return Promise.resolve(STOPPED_BY_ABORT);
  const wrote = lu.run(since, 'write', () => lu.bcs.write(lba, data, aborted), failingBlock(lba, data.length / lu.info.blockSize));
  return fua ? wrote.then((failed) => failed ?? (aborted() ? STOPPED_BY_ABORT : flushIfCached(lu, since, aborted))) : wrote;
}

/**
 * VERIFY / WRITE AND VERIFY comparison (SBC-4): BYTCHK 01b compares the
 * Data-Out Buffer with the blocks byte for byte; 11b compares its single block
 * with every block. MISCOMPARE's INFORMATION is the byte offset of the first
 * difference, counted from the start of the blocks verified.
 */
function compare(medium: Uint8Array, dataOut: Uint8Array, bytchk: number, blockSize: number): SenseData | undefined {
  if (bytchk === Bytchk.COMPARE) {
    const at = firstDifference(medium, dataOut);
    return at < 0 ? undefined : senseMiscompare(at);
  }
  for (let off = 0; off < medium.length; off += blockSize) {
    const at = firstDifference(medium.subarray(off, off + blockSize), dataOut);
    if (at >= 0) return senseMiscompare(off + at);
  }
  return undefined;
}

type RwRun = (lu: LogicalUnit, cmd: SbcCommand<RwCdb>) => Promise<CommandOutcome>;

const RW: Readonly<Record<RwOp, RwRun>> = {
  // With the range lock free at once (always, unless a COMPARE AND WRITE
  // overlaps), READ and WRITE take one promise step past the block set. The
  // continuation never throws, and run() never rejects: the lock is always
  // released.
  READ: (lu, { fields: f, epoch, aborted }) => {
    if (f.blocks === 0) return Promise.resolve(goodData(new Uint8Array(0)));
    const release = lu.locks.tryAcquire(f.lba, f.blocks, false);
    if (release === undefined) {
      return locked(lu, aborted, f.lba, f.blocks, false, () => readBlocks(lu, epoch, aborted, f.lba, f.blocks, lu.dataIn)).then((r) =>
        r instanceof Uint8Array ? goodData(r) : checkCondition(r),
      );
    }
    const buf = lu.dataIn.alloc(f.blocks * lu.info.blockSize);
    return lu.run(epoch, 'read', () => lu.bcs.read(f.lba, buf, aborted), failingBlock(f.lba, f.blocks), (failed) => {
      release();
      return failed === undefined ? goodData(buf) : checkCondition(failed);
    });
  },

  WRITE: (lu, { fields: f, dataOut, epoch, aborted }) => {
    if (f.blocks === 0) return Promise.resolve(GOOD);
    const release = f.fua ? undefined : lu.locks.tryAcquire(f.lba, f.blocks, false);
    if (release === undefined) {
      return locked(lu, aborted, f.lba, f.blocks, false, () => writeBlocks(lu, epoch, aborted, f.lba, dataOut, f.fua)).then((failed) => fail(failed) ?? GOOD);
    }
    return lu.run(epoch, 'write', () => lu.bcs.write(f.lba, dataOut, aborted), failingBlock(f.lba, f.blocks), (failed) => {
      release();
      return fail(failed) ?? GOOD;
    });
  },

  // The write reaches the medium (flushed when cached) before it is read back.
  WRITE_AND_VERIFY: async (lu, { fields: f, dataOut, epoch, aborted }) => {
    if (f.blocks === 0) return GOOD;
    const failed = await locked(lu, aborted, f.lba, f.blocks, false, async () => {
      const wrote = await writeBlocks(lu, epoch, aborted, f.lba, dataOut, true);
      if (wrote !== undefined) return wrote;
      const back = await readBlocks(lu, epoch, aborted, f.lba, f.blocks);
      if (!(back instanceof Uint8Array)) return back;
      return f.bytchk === Bytchk.NONE ? undefined : compare(back, dataOut, f.bytchk, lu.info.blockSize);
    });
    return fail(failed) ?? GOOD;
  },

  VERIFY: async (lu, { fields: f, dataOut, epoch, aborted }) => {
    if (f.blocks === 0) return GOOD;
    const back = await locked(lu, aborted, f.lba, f.blocks, false, () => readBlocks(lu, epoch, aborted, f.lba, f.blocks));
    if (!(back instanceof Uint8Array)) return checkCondition(back);
    return fail(f.bytchk === Bytchk.NONE ? undefined : compare(back, dataOut, f.bytchk, lu.info.blockSize)) ?? GOOD;
  },
};

function rwDataOut(lu: LogicalUnit, f: RwCdb): number {
  const bs = lu.info.blockSize;
  switch (f.op) {
    case 'READ':
      return 0;
    case 'WRITE':
    case 'WRITE_AND_VERIFY':
      return f.blocks * bs;
    case 'VERIFY':
      if (f.bytchk === Bytchk.NONE || f.blocks === 0) return 0;
      return f.bytchk === Bytchk.COMPARE_ONE_BLOCK ? bs : f.blocks * bs;
  }
}

export const RW_HANDLERS: HandlerTable = {
  rw: {
    medium: true,
    dataOutLength: rwDataOut,
    // The first that fails, in order (firstFault's rule, without its closures: this runs for every READ and WRITE).
    check: (lu, { fields: f, descriptor }) =>
      (f.op === 'WRITE' || f.op === 'WRITE_AND_VERIFY' ? writeProtectFault(lu) : undefined) ??
      lbaRangeFault(lu, f.lba, f.blocks) ??
      transferLengthFault(lu, f.blocks, LENGTH_FIELD_BYTE[descriptor.cdbLength] ?? 0),
    run: (lu, cmd) => RW[cmd.fields.op](lu, cmd),
  },

  // SBC-4 COMPARE AND WRITE: the Data-Out Buffer holds the verify data then the
  // write data, n blocks each. Compare and write happen under an exclusive
  // range lock, so no other command sees or changes the blocks in between.
  // More Data-Out than 2 × n blocks is INVALID FIELD IN CDB at NUMBER OF
  // LOGICAL BLOCKS (less is the short Data-Out every command gets): where the
  // verify half ends is the CDB's n, so a buffer the initiator sized for a
  // larger n would have write data compared or verify data written (e.g. 256
  // blocks of each for a count that wraps to 0). Executed again once its write
  // is done, it would miscompare against its own data: its descriptor is
  // `once` (cdb/command-table.ts).
  compareAndWrite: {
    medium: true,
    dataOutLength: (lu, f) => 2 * f.blocks * lu.info.blockSize,
    check: (lu, { fields: f, dataOutSent }) =>
      firstFault(
        () => writeProtectFault(lu),
        () => lbaRangeFault(lu, f.lba, f.blocks),
        () => (f.blocks > lu.info.limits.maxCompareAndWriteBlocks ? invalidFieldInCdb(CAW_BLOCKS_BYTE) : undefined),
        () => (dataOutSent > 2 * f.blocks * lu.info.blockSize ? invalidFieldInCdb(CAW_BLOCKS_BYTE) : undefined),
      ),
    run: async (lu, { fields: f, dataOut, epoch, aborted }) => {
      if (f.blocks === 0) return GOOD;
      const half = f.blocks * lu.info.blockSize;
      const failed = await locked(lu, aborted, f.lba, f.blocks, true, async () => {
        const current = await readBlocks(lu, epoch, aborted, f.lba, f.blocks);
        if (!(current instanceof Uint8Array)) return current;
        const at = firstDifference(current, dataOut.subarray(0, half));
        if (at >= 0) return senseMiscompare(at);
        return writeBlocks(lu, epoch, aborted, f.lba, dataOut.subarray(half), f.fua);
      });
      return fail(failed) ?? GOOD;
    },
  },

  // SBC-4 ORWRITE (16), as a read-modify-write: the blocks are read, ORed with
  // the Data-Out Buffer byte by byte and written back, under an exclusive
  // range lock (as COMPARE AND WRITE), so no other command sees or changes the
  // blocks in between. FUA writes through (write + flush when cached). The
  // BMOP-style generation processing of ORWRITE (32) does not exist here.
  // Not `once` (cdb/command-table.ts): ORing the same data in again leaves the blocks as once did.
  orWrite: {
    medium: true,
    dataOutLength: (lu, f) => f.blocks * lu.info.blockSize,
    check: (lu, { fields: f }) =>
      writeProtectFault(lu) ?? lbaRangeFault(lu, f.lba, f.blocks) ?? transferLengthFault(lu, f.blocks, ORWRITE_LENGTH_BYTE),
    run: async (lu, { fields: f, dataOut, epoch, aborted }) => {
      if (f.blocks === 0) return GOOD;
      const failed = await locked(lu, aborted, f.lba, f.blocks, true, async () => {
        const current = await readBlocks(lu, epoch, aborted, f.lba, f.blocks);
        if (!(current instanceof Uint8Array)) return current;
        for (let i = 0; i < current.length; i++) current[i] = (current[i] ?? 0) | (dataOut[i] ?? 0);
        return writeBlocks(lu, epoch, aborted, f.lba, current, f.fua);
      });
      return fail(failed) ?? GOOD;
    },
  },
};
