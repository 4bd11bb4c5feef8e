// The adaptive tag limit of one device queue: how many CCBs may be active at
// once beyond what the SIM's budget allows. QUEUE FULL (or a CAM_REQUEUE_REQ
// from a full device) shrinks it to what is still active, never below
// minTags; every growAfter successes it opens by one until it follows the
// budget again, as cam_periph's QUEUE FULL handling and the openings of
// cam_xpt do. XPT_REL_SIMQ RELSIM_ADJUST_OPENINGS sets a ceiling it never
// grows past.

import type { DevqTuning } from './devq-api.js';

/** A device queue's tag limit, shrunk by QUEUE FULL and grown back by successes. */
export class TagLimit {
  readonly #tuning: DevqTuning;
  /** Shrunken limit; undefined while it follows the SIM budget. */
  #limit: number | undefined;
  /** Ceiling set by XPT_REL_SIMQ RELSIM_ADJUST_OPENINGS. */
  #ceiling: number | undefined;
  #successes = 0;

  constructor(tuning: DevqTuning) {
    this.#tuning = tuning;
  }

  /** How many CCBs may be active with `capacity` of SIM budget: the adaptive limit, the ceiling and the budget, at least 1. */
  of(capacity: number): number {
    return Math.max(1, Math.min(this.#limit ?? capacity, this.#ceiling ?? capacity, capacity));
  }

  /** QUEUE FULL with `active` CCBs active: the device took no more than those. */
  shrink(active: number, capacity: number): void {
    this.#successes = 0;
    const next = Math.max(this.#tuning.minTags, active);
    if (next < this.of(capacity)) this.#limit = next;
  }

  /** A success: after growAfter of them a shrunken limit opens by one, until it follows the budget (`capacity`) again. */
  grow(capacity: number): void {
    if (this.#limit === undefined) return;
    this.#successes += 1;
    if (this.#successes < this.#tuning.growAfter) return;
    this.#successes = 0;
    const next = this.#limit + 1;
    if (this.#ceiling !== undefined) this.#limit = Math.min(next, this.#ceiling);
    else this.#limit = next >= capacity ? undefined : next;
  }

  /** RELSIM_ADJUST_OPENINGS: `openings` is the limit now and the ceiling from now on. */
  adjust(openings: number): void {
    this.#ceiling = openings;
    this.#limit = openings;
    this.#successes = 0;
  }
}
