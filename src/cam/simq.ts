// The SIM queue (FreeBSD cam_devq + xpt_run_devq): what the device queues of
// one SIM share — the SIM freeze count, the budget their active CCBs hold,
// and the loop that dispatches from each of them.

/** A device queue as the SIM queue runs it. */
export interface Dispatcher {
  /** Starts whatever may start now. */
  dispatch(): void;
}

/** Freeze counts are non-negative integers; anything else is a caller bug. */
export function assertCount(what: string, count: number): void {
  if (!Number.isInteger(count) || count < 0) throw new RangeError(`${what}: count must be a non-negative integer, got ${count}`);
}

export class SimQueue {
  #frozen = 0;
  #charged = 0;
  /**
   * An array, not a Set: run() walks it on every submit and completion,
   * without an iterator object. Replaced, never changed in place, so a walk
   * in progress is not disturbed by attach/detach.
   */
  #queues: readonly Dispatcher[] = [];
  #running = false;
  /** run() calls so far; a change during a pass asks for another pass. */
  #requests = 0;

  get frozen(): number {
    return this.#frozen;
  }

  /** Budget held by the active CCBs of every device queue. */
  get charged(): number {
    return this.#charged;
  }

  /** xpt_freeze_simq. */
  freeze(count: number): void {
    assertCount('freezeSimq', count);
    this.#frozen += count;
  }

  /** xpt_release_simq. Releasing more than is frozen is a caller bug (RangeError). */
  release(count: number, run: boolean): void {
    assertCount('releaseSimq', count);
    if (count > this.#frozen) throw new RangeError(`releaseSimq: releasing ${count} freezes, the SIM queue holds ${this.#frozen}`);
    this.#frozen -= count;
    if (run) this.run();
  }

  /**
   * Dispatches what can go from every device queue. Re-entrant calls — a SIM
   * completing inside its action(), a callback submitting new work — only ask
   * the running loop for another pass, so the SIM is never entered twice from
   * here and the stack does not grow with the number of CCBs.
   */
  run(): void {
    this.#requests += 1;
    if (this.#running) return;
    this.#running = true;
    try {
      let seen;
      do {
        seen = this.#requests;
        for (const q of this.#queues) q.dispatch();
      } while (this.#requests !== seen);
    } finally {
      this.#running = false;
    }
  }

  attach(q: Dispatcher): void {
    if (!this.#queues.includes(q)) this.#queues = [...this.#queues, q];
  }

  detach(q: Dispatcher): void {
    this.#queues = this.#queues.filter((x) => x !== q);
  }

  /** Adds (or, negative, returns) budget held by an active CCB. */
  charge(cost: number): void {
    this.#charged += cost;
  }
}
