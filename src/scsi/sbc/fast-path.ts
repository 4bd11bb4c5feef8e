// The block operation of the emulator's READ/WRITE fast path and its answer:
// the emulator decides that a command may take the fast path and takes its
// range lock (fast-path-admission.ts); this runs the read or write on the
// block set under that lock and answers what the generic path would
// (SBC-4 READ/WRITE; errors as run() maps them: a throw or a rejection is
// HARDWARE ERROR, a failed status the error table's sense).

import { ScsiStatus } from '../status.js';
import type { BlockCommandSet, BlockStatus, OperationAborted } from './block-command-set.js';
import { IMPLEMENTATION_FAILURE, blockFailureSense, failingBlock } from './errors.js';
import type { RangeHold, RangeLock } from './range-lock.js';
import { checkCondition } from './context.js';
import { toSbcResult, type SbcResult } from './execute-api.js';
import { FastIo } from './fast-io.js';
import { FreeList } from '../free-list.js';

/** GOOD without data: what every fast-path WRITE answers (one object for all). */
const GOOD_RESULT: SbcResult = { status: ScsiStatus.GOOD };

/** One emulator's fast-path block operations, with their pooled records (fast-io.ts). */
export class FastPath {
  readonly #bcs: BlockCommandSet;
  readonly #locks: RangeLock;
  /** Whether sense is descriptor format (D_SENSE) as the unit stands when a command is answered. */
  readonly #dSense: () => boolean;
  /** The logical block length, for the failing block of a failed transfer (errors.ts failingBlock). */
  readonly #blockSize: () => number;
  /** Free records: one per command the fast path ever had out at once. */
  readonly #free = new FreeList<FastIo>();

  constructor(bcs: BlockCommandSet, locks: RangeLock, dSense: () => boolean, blockSize: () => number) {
    this.#bcs = bcs;
    this.#blockSize = blockSize;
    this.#locks = locks;
    this.#dSense = dSense;
  }

  /**
   * Reads into or writes from `buf` at `lba` under `hold`, for a command
   * `aborted` tells about (OperationAborted); `done` gets what the generic path
   * would answer (with `ctx`), never before run() returns.
   */
  run(write: boolean, lba: bigint, buf: Uint8Array, hold: RangeHold, aborted: OperationAborted | undefined, done: (r: SbcResult, ctx: unknown) => void, ctx: unknown): void {
    const io = this.#free.take() ?? new FastIo(this.#done);
    io.write = write;
    io.lba = lba;
    io.buf = buf;
    io.hold = hold;
    io.done = done;
    io.ctx = ctx;
    const finish = io.finish;
    const bcs = this.#bcs;
    let pending: Promise<BlockStatus>;
    try {
      // The callback forms when the block set has them: no promise per command.
      if (write && bcs.startWrite !== undefined) {
        bcs.startWrite(lba, buf, finish, aborted);
        return;
      }
      if (!write && bcs.startRead !== undefined) {
        bcs.startRead(lba, buf, finish, aborted);
        return;
      }
      pending = Promise.resolve(write ? bcs.write(lba, buf, aborted) : bcs.read(lba, buf, aborted));
    } catch {
      this.#threw(io);
      return;
    }
    pending.then(finish, () => {
      finish(undefined);
    });
  }

  /**
   * The block set threw: the command fails HARDWARE ERROR a microtask later, as
   * a rejection would, and the record is spent, not freed. The block set may
   * have kept its callback before it threw (a request already in the ring) and
   * answer through it later; a freed record would by then be another
   * command's, which that stale answer would complete before its own data came.
   */
  #threw(io: FastIo): void {
    const { hold, done, ctx } = io;
    io.done = undefined;
    io.hold = undefined;
    if (hold === undefined || done === undefined) return;
    queueMicrotask(() => {
      this.#locks.release(hold);
      done(toSbcResult(checkCondition(IMPLEMENTATION_FAILURE), this.#dSense()), ctx);
    });
  }

  /** The block set's answer: release the lock, free the record, then answer. */
  readonly #done = (io: FastIo, status: BlockStatus | undefined): void => {
    const { write, lba, buf, hold, done, ctx } = io;
    // A second answer (a block set's bug), or one through a record spent when the block set threw (#threw), finds it empty.
    if (done === undefined || hold === undefined) return;
    this.#free.put(io.clear());
    this.#locks.release(hold);
    if (status === undefined) done(toSbcResult(checkCondition(IMPLEMENTATION_FAILURE), this.#dSense()), ctx);
    else if (status !== 'ok') done(toSbcResult(checkCondition(blockFailureSense(write ? 'write' : 'read', status, failingBlock(lba, buf.length / this.#blockSize()))), this.#dSense()), ctx);
    else done(write ? GOOD_RESULT : { status: ScsiStatus.GOOD, data: buf }, ctx);
  };
}
