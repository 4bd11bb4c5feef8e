// A device queue's freeze count and who owns each freeze (FreeBSD
// xpt_freeze_devq / xpt_release_devq and the deferred releases of
// XPT_REL_SIMQ). The rule that keeps queues from freezing for good: every
// freeze has an owner who releases it — the periph for its own freezeDevq
// and for each error completion it got with CAM_DEV_QFRZN, or a pending
// release (a timer, the next completion, the queue emptying) that took the
// freeze over. A periph can release only freezes no pending release owns.

import { RelSim } from './ccb.js';
import { OneShot, type CamClock } from './clock.js';
import { assertCount } from './simq.js';

/** The XPT_REL_SIMQ conditions a pending release waits for. */
export const RELEASE_CONDITIONS = RelSim.RELEASE_AFTER_TIMEOUT | RelSim.RELEASE_AFTER_CMDCMPLT | RelSim.RELEASE_AFTER_QEMPTY;

interface PendingRelease {
  readonly count: number;
  /** RELSIM_RELEASE_AFTER_* conditions; the first that happens releases. */
  readonly when: number;
  readonly timer: OneShot;
}

export class Freezes {
  readonly #clock: CamClock;
  /** Called after a timer released freezes, to run the queue. */
  readonly #released: () => void;
  readonly #pending = new Set<PendingRelease>();
  #frozen = 0;
  /** Freezes owned by pending releases. */
  #owned = 0;
  #held = 0;

  constructor(clock: CamClock, released: () => void) {
    this.#clock = clock;
    this.#released = released;
  }

  get frozen(): number {
    return this.#frozen;
  }

  /** Error completions handed back with CAM_DEV_QFRZN since the queue was last thawed. */
  get held(): number {
    return this.#held;
  }

  /** Freezes a caller may release or hand over: those no pending release owns. */
  get free(): number {
    return this.#frozen - this.#owned;
  }

  /** A freeze the caller owns (xpt_freeze_devq). */
  freeze(count: number): void {
    assertCount('freezeDevq', count);
    this.#frozen += count;
  }

  /** The freeze an error completion carries to the periph (CAM_DEV_QFRZN). */
  freezeForError(): void {
    this.#frozen += 1;
    this.#held += 1;
  }

  /** Drops `count` of the caller's freezes. More than `free` is a caller bug (RangeError): it would thaw a queue someone else froze. */
  release(count: number): void {
    assertCount('releaseDevq', count);
    if (count > this.free) {
      throw new RangeError(`releaseDevq: releasing ${count} freezes, ${this.#frozen} are held of which ${this.#owned} belong to pending releases`);
    }
    this.#drop(count);
  }

  /** Hands `count` of the caller's freezes to a pending release that fires on the first of `when` (RELSIM_RELEASE_AFTER_*). */
  releaseLater(count: number, when: number, timeoutMs: number): void {
    if (count > this.free) throw new RangeError(`releaseLater: ${count} freezes asked, ${this.free} free`);
    const p: PendingRelease = { count, when, timer: new OneShot(this.#clock) };
    this.#owned += count;
    this.#pending.add(p);
    if ((when & RelSim.RELEASE_AFTER_TIMEOUT) !== 0) {
      p.timer.arm(timeoutMs, () => {
        this.#fire(p);
        this.#released();
      });
    }
  }

  /** A freeze of the queue's own, released after `ms` (the back-off after a requeue with nothing active). */
  pause(ms: number): void {
    this.#frozen += 1;
    this.releaseLater(1, RelSim.RELEASE_AFTER_TIMEOUT, ms);
  }

  /** A CCB completed (not requeued): releases waiting for a completion fire. */
  completed(): void {
    if (this.#pending.size === 0) return; // every completion asks
    for (const p of this.#pending) if ((p.when & RelSim.RELEASE_AFTER_CMDCMPLT) !== 0) this.#fire(p);
  }

  /**
   * Nothing is active: "after the queue empties" has happened, and a release
   * waiting only for a completion would wait forever (the last active CCB may
   * have come back CAM_REQUEUE_REQ into the very queue that release holds).
   */
  idle(): void {
    for (const p of this.#pending) if ((p.when & RelSim.RELEASE_AFTER_QEMPTY) !== 0 || p.when === RelSim.RELEASE_AFTER_CMDCMPLT) this.#fire(p);
  }

  /** The device is gone: pending releases stop (nothing will run again). */
  cancel(): void {
    for (const p of this.#pending) p.timer.cancel();
    this.#pending.clear();
  }

  #fire(p: PendingRelease): void {
    if (!this.#pending.delete(p)) return;
    p.timer.cancel();
    this.#owned -= p.count;
    this.#drop(p.count);
  }

  #drop(count: number): void {
    this.#frozen -= count;
    if (this.#frozen === 0) this.#held = 0;
  }
}
