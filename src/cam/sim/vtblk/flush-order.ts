// Flush ordering across request queues, for the VirtioBlockCommandSet. A FLUSH
// covers the writes the device completed before it (VIRTIO 1.2 §5.2.6.2), and
// with several queues the device may run a FLUSH on one queue while writes
// submitted before it are still in flight on another (a device serving each
// queue on its own, one worker per queue, has no order between queues). So
// with more than one queue a FLUSH waits here until every write (OUT,
// WRITE_ZEROES, DISCARD) issued before it, on any queue, has completed; writes
// issued after it do not hold it back. The bookkeeping is a count per write
// epoch (WriteEpoch), no promise or object per write. With one queue a FLUSH
// goes at once, as it always has: it follows those writes in the one avail
// ring, and SCSI does not order SIMPLE commands either (SAM-5 task
// attributes), so SYNCHRONIZE CACHE need not wait for writes running beside it.
// A FLUSH waiting here whose command is aborted (ABORT TASK SET, CLEAR TASK
// SET, PREEMPT AND ABORT: SAM-5 aborting commands) is dropped unsent
// (dropAborted), as a request waiting in the overlap order is: the abort does
// not wait for other commands' writes.

import type { OperationAborted } from '../../../scsi/sbc/block-command-set.js';

/** A FLUSH held until earlier writes complete: issued then, or dropped unsent once its command is aborted. */
export interface HeldFlush {
  readonly issue: () => void;
  /** Whether its command has been aborted (absent: it never is). */
  readonly aborted: OperationAborted | undefined;
  /** Ends it unsent. */
  readonly drop: () => void;
}

/**
 * Writes issued between two FLUSHes that had to wait, and the FLUSHes that
 * wait for them: a FLUSH waits for the writes of its epoch and of every older one.
 */
export interface WriteEpoch {
  writes: number;
  flushes: HeldFlush[];
}

/** The write epochs of one command set: writes count into them, FLUSHes wait on them. */
export class FlushOrder {
  /** The epoch new writes join; it has no FLUSH waiting on it. */
  #epoch: WriteEpoch = { writes: 0, flushes: [] };
  /** Older epochs, oldest first, each with at least one FLUSH waiting for it to drain (and for all before it). */
  readonly #closedEpochs: WriteEpoch[] = [];

  /** FLUSHes waiting for earlier writes to complete. */
  get flushesWaiting(): number {
    let n = 0;
    for (const e of this.#closedEpochs) n += e.flushes.length;
    return n;
  }

  /** A write starts: it counts for the FLUSHes after it until {@link writeDone} of the epoch returned. */
  writeStarted(): WriteEpoch {
    const e = this.#epoch;
    e.writes++;
    return e;
  }

  /** A write of `e` completed: when that drains the oldest closed epoch, its FLUSHes go (and those of every drained one after it). */
  writeDone(e: WriteEpoch): void {
    e.writes--;
    const closed = this.#closedEpochs;
    if (e.writes > 0 || e !== closed.at(0)) return;
    for (let head = closed.at(0); head?.writes === 0; head = closed.at(0)) {
      closed.shift();
      for (const f of head.flushes) f.issue();
    }
  }

  /**
   * Holds a FLUSH until every write issued so far has completed: it
   * closes the current epoch (later writes join a new one), or, when no write
   * came since the last waiting FLUSH, waits with that one. False, holding
   * nothing, when no write is outstanding: the caller issues it now.
   */
  holdFlush(flush: HeldFlush): boolean {
    const current = this.#epoch;
    if (current.writes > 0) {
      current.flushes.push(flush);
      this.#closedEpochs.push(current);
      this.#epoch = { writes: 0, flushes: [] };
      return true;
    }
    const last = this.#closedEpochs.at(-1);
    if (last === undefined) return false;
    last.flushes.push(flush);
    return true;
  }

  /**
   * Commands have been aborted: each waiting FLUSH of theirs is dropped, never
   * issued. Its epoch stays: a later FLUSH still waits for those writes.
   */
  dropAborted(): void {
    for (const e of this.#closedEpochs) {
      const hit = e.flushes.filter((f) => f.aborted?.() === true);
      if (hit.length === 0) continue;
      e.flushes = e.flushes.filter((f) => !hit.includes(f));
      for (const f of hit) f.drop();
    }
  }
}
