// The CCB timeouts of one device queue: a deadline per active CCB, and one
// timer for all of them. The timer is the OneShot itself, not a wrapper
// around one, so the dispatch path, which starts a timeout per CCB, reads
// the armed deadline without another hop.
//
// A queue that goes idle parks the timer rather than cancelling it (see
// OneShot.park): with a backend that answers within the turn, every turn
// ends idle, and a cancel plus a fresh timer per turn cost more than the
// rest of the timeout bookkeeping. A parked timer that fires finds nothing
// active and does nothing; one still armed for a deadline no later than a new
// CCB's serves that CCB too (firing early only makes the sweep re-arm).

import { OneShot } from './clock.js';
import type { DevqBus } from './devq-api.js';
import type { DevqEntry } from './devq-entry.js';

/** The timer of a device queue's CCB timeouts, armed for the earliest deadline of its active CCBs. */
export class CcbTimeouts extends OneShot {
  readonly #bus: DevqBus;
  /** The queue's active list (it changes in place, never replaced). */
  readonly #active: readonly DevqEntry[];

  constructor(bus: DevqBus, active: readonly DevqEntry[]) {
    super(bus.clock);
    this.#bus = bus;
    this.#active = active;
  }

  /** `e` started at `now` (undefined: read the clock): its deadline is `e.ccb.timeoutMs` from then. */
  start(e: DevqEntry, now: number | undefined): void {
    e.deadline = (now ?? this.#bus.clock.now()) + e.ccb.timeoutMs;
    e.timedOut = false;
    if (e.deadline < this.at) this.arm(e.ccb.timeoutMs, this.#sweep);
    else this.unpark();
  }

  /** The queue has nothing active: the timer stays pending but no longer holds the process alive. */
  idle(): void {
    this.park();
  }

  /**
   * One timer serves every active CCB: it is armed for the earliest deadline
   * and, when it fires, tells the SIM about each expired CCB and re-arms for
   * the next. Deadlines mostly arrive in order, so dispatch rarely re-arms.
   */
  readonly #sweep = (): void => {
    const now = this.#bus.clock.now();
    const expired: DevqEntry[] = [];
    let next = Number.POSITIVE_INFINITY;
    for (const e of this.#active) {
      if (e.timedOut) continue;
      if (e.deadline <= now) expired.push(e);
      else next = Math.min(next, e.deadline);
    }
    // Nothing active (a parked timer firing), or nothing left to time: no re-arm.
    if (next !== Number.POSITIVE_INFINITY) this.arm(next - now, this.#sweep);
    // In start order, as the SIM got them (the active list is not kept in order).
    expired.sort((a, b) => a.startSeq - b.startSeq);
    for (const e of expired) {
      // An earlier timeout's recovery may have completed it already.
      if (e.activeIndex < 0 || e.timedOut) continue;
      e.timedOut = true;
      this.#bus.sim.timeout(e.ccb);
    }
  };
}
