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

/**
 * Writes issued between two FLUSHes that had to wait, and the FLUSHes that
 * wait for them: a FLUSH waits for the writes of its epoch and of every older one.
 */
export interface WriteEpoch {
  writes: number;
  readonly flushes: (() => void)[];
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
      for (const issue of head.flushes) issue();
    }
  }

  /**
   * Holds a FLUSH (`issue`) until every write issued so far has completed: it
   * closes the current epoch (later writes join a new one), or, when no write
   * came since the last waiting FLUSH, waits with that one. False, holding
   * nothing, when no write is outstanding: the caller issues it now.
   */
  holdFlush(issue: () => void): boolean {
    const current = this.#epoch;
    if (current.writes > 0) {
      current.flushes.push(issue);
      this.#closedEpochs.push(current);
      this.#epoch = { writes: 0, flushes: [] };
      return true;
    }
    const last = this.#closedEpochs.at(-1);
    if (last === undefined) return false;
    last.flushes.push(issue);
    return true;
  }
}
