// The flushes of IMMED commands: SYNCHRONIZE CACHE with IMMED=1 (SBC-4) and the
// flush before START STOP UNIT stops the unit with IMMED=1 answer GOOD before
// their flush ends, and a flush that fails is a deferred error for the I_T
// nexus of each command it served (SPC-5 deferred errors).
//
// Such a command no longer occupies a task slot once answered, so nothing but
// this bounds its flushes: per logical unit at most one runs and one waits.
// A request while one runs joins the waiting one, which is issued after every
// request it serves was made and so covers every write completed before each
// of them (SBC-4 SYNCHRONIZE CACHE); the running one may have been issued
// before such a write completed, so a request never joins it.

import type { SenseData } from '../sense.js';
import type { IssueEpoch } from './context.js';

/** One flush and the I_T nexuses whose IMMED commands it serves. */
interface Batch {
  /**
   * The epoch of the first request: a device reset since then fails the flush
   * for every request it serves (a deferred error, never a GOOD that a reset
   * may have made untrue), as it would have cut short a flush issued at once.
   */
  readonly since: IssueEpoch;
  readonly nexuses: Set<string>;
}

/** One logical unit's IMMED flushes: at most one running and one waiting. */
export class BackgroundFlush {
  readonly #flush: (since: IssueEpoch) => Promise<SenseData | undefined>;
  readonly #defer: (nexus: string, failed: SenseData) => void;
  #running = false;
  #waiting: Batch | undefined;

  /**
   * `flush` issues a flush for a command of epoch `since` and never rejects
   * (LogicalUnit.run); `defer` reports a failure as a deferred error.
   */
  constructor(flush: (since: IssueEpoch) => Promise<SenseData | undefined>, defer: (nexus: string, failed: SenseData) => void) {
    this.#flush = flush;
    this.#defer = defer;
  }

  /** Flushes (now, or joining the waiting flush) for the IMMED command of `nexus` that began in epoch `since`. */
  request(since: IssueEpoch, nexus: string): void {
    if (this.#waiting !== undefined) {
      this.#waiting.nexuses.add(nexus);
      return;
    }
    const batch: Batch = { since, nexuses: new Set([nexus]) };
    if (this.#running) this.#waiting = batch;
    else this.#start(batch);
  }

  #start(batch: Batch): void {
    this.#running = true;
    void this.#flush(batch.since).then((failed) => {
      if (failed !== undefined) for (const nexus of batch.nexuses) this.#defer(nexus, failed);
      this.#running = false;
      const next = this.#waiting;
      this.#waiting = undefined;
      if (next !== undefined) this.#start(next);
    });
  }
}
