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
//
// A flush outlives the command that asked for it, so it goes on across
// vtcam's own device resets (an ABORT TASK of any command, a LOGICAL UNIT
// RESET): a FLUSH a reset cut short is issued again once the device is back
// (across-resets.ts), and only a real failure (the device answered an error,
// or did not come back) is a deferred error. A reset fails a FLUSH although
// nothing failed, and the data written before it is still where it was, so
// the FLUSH issued again covers it; SPC-5 has no deferred error reported for
// an error recovered without external intervention.
//
// A deferred error belongs to the I_T nexus of the command (SPC-5), and goes
// when that nexus is lost (SAM-5 I_T nexus loss): a flush still running or
// waiting then serves the lost nexus no more (forget), so the failure reaches
// neither the initiator port coming back, a new I_T nexus, nor a nexus the
// unit has forgotten. A logical unit reset ends no I_T nexus and leaves the
// flushes running: one failing after it is a deferred error for its nexuses.

import type { SenseData } from '../sense.js';

/** One flush: the I_T nexuses whose IMMED commands it serves. */
interface Batch {
  readonly nexuses: Set<string>;
}

/** One logical unit's IMMED flushes: at most one running and one waiting. */
export class BackgroundFlush {
  readonly #flush: () => Promise<SenseData | undefined>;
  readonly #defer: (nexus: string, failed: SenseData) => void;
  #running: Batch | undefined;
  #waiting: Batch | undefined;

  /**
   * `flush` flushes, across device resets, and never rejects (LogicalUnit.run
   * in acrossResets); `defer` reports a failure as a deferred error.
   */
  constructor(flush: () => Promise<SenseData | undefined>, defer: (nexus: string, failed: SenseData) => void) {
    this.#flush = flush;
    this.#defer = defer;
  }

  /** Flushes (now, or joining the waiting flush) for the IMMED command of `nexus`. */
  request(nexus: string): void {
    if (this.#waiting !== undefined) {
      this.#waiting.nexuses.add(nexus);
      return;
    }
    const batch: Batch = { nexuses: new Set([nexus]) };
    if (this.#running !== undefined) this.#waiting = batch;
    else this.#start(batch);
  }

  /** I_T nexus loss of `nexus`: the flushes running and waiting fail for it no more. */
  forget(nexus: string): void {
    this.#running?.nexuses.delete(nexus);
    this.#waiting?.nexuses.delete(nexus);
  }

  #start(batch: Batch): void {
    this.#running = batch;
    void this.#flush().then((failed) => {
      if (failed !== undefined) for (const nexus of batch.nexuses) this.#defer(nexus, failed);
      this.#running = undefined;
      const next = this.#waiting;
      this.#waiting = undefined;
      if (next !== undefined) this.#start(next);
    });
  }
}
