// Time for the CAM core: the clock that stamps CCB latency and the one-shot
// timers behind CCB timeouts and timed device-queue releases. Injectable so
// tests can drive time by hand instead of sleeping.

/** A clock in milliseconds plus one-shot timers (setTimeout / clearTimeout). */
export interface CamClock {
  /** Monotonic milliseconds (fractions allowed). */
  now(): number;
  /** Calls `fn` once after `ms` milliseconds; returns a handle for clearTimer. */
  setTimer(fn: () => void, ms: number): unknown;
  clearTimer(handle: unknown): void;
  /**
   * Whether the pending timer `handle` keeps the process alive (setTimer's
   * timers start out holding it). Optional: a clock without it cannot let a
   * timer go without cancelling it, so timers that would be parked are
   * cancelled instead (see OneShot.park).
   */
  holdTimer?(handle: unknown, hold: boolean): void;
}

/**
 * A clock read at most once per run of synchronous code: the first now() of a
 * run reads `read` and queues a microtask that forgets the value, so later
 * calls in the same run (and in microtasks queued before that one) get the
 * same time. The CAM core stamps every CCB two or three times (queued,
 * deadline, latency, command age), a few microseconds apart, and a clock read
 * per stamp cost more than anything those stamps are used for resolves. A
 * stamp is early by at most the length of the run it was taken in.
 */
export function coarseClock(read: () => number): () => number {
  let cached: number | undefined;
  const forget = (): void => {
    cached = undefined;
  };
  return () => {
    if (cached === undefined) {
      cached = read();
      queueMicrotask(forget);
    }
    return cached;
  };
}

/** performance.now(), coarsened by {@link coarseClock}: what systemClock and da's ordered-tag policy read. */
export const coarseNow: () => number = coarseClock(() => performance.now());

/**
 * The process clock (coarse: see coarseClock). Timers hold the process alive
 * until told otherwise (holdTimer): an armed CCB timeout is what reports a
 * stalled device, so it must keep the process alive while CCBs are active.
 */
export const systemClock: CamClock = {
  now: coarseNow,
  setTimer: (fn, ms) => setTimeout(fn, ms),
  clearTimer: (handle) => {
    clearTimeout(handle as ReturnType<typeof setTimeout>);
  },
  holdTimer: (handle, hold) => {
    const t = handle as ReturnType<typeof setTimeout>;
    if (hold) t.ref();
    else t.unref();
  },
};

/**
 * A one-shot timer that knows whether it is armed and when it fires. It can
 * also be parked: left pending without holding the process alive, so that a
 * user who needs it again soon (the CCB timeouts of a queue that keeps going
 * idle between turns) keeps it instead of paying a cancel and a new timer
 * each time. A parked timer still fires; its callback decides what that means.
 */
export class OneShot {
  readonly #clock: CamClock;
  #handle: unknown;
  #at = Number.POSITIVE_INFINITY;
  #fn: (() => void) | undefined;
  #parked = false;

  constructor(clock: CamClock) {
    this.#clock = clock;
  }

  get armed(): boolean {
    return this.#handle !== undefined;
  }

  /** Armed, but not holding the process alive (see park). */
  get parked(): boolean {
    return this.#parked;
  }

  /** When it fires (clock milliseconds); +Infinity when disarmed. */
  get at(): number {
    return this.#at;
  }

  /** (Re)arms it to call `fn` after `ms`, holding the process alive. */
  arm(ms: number, fn: () => void): void {
    this.cancel();
    this.#at = this.#clock.now() + ms;
    this.#fn = fn;
    this.#handle = this.#clock.setTimer(this.#fire, ms);
  }

  /**
   * Lets an armed timer stop holding the process alive, leaving it pending.
   * On a clock that cannot do that (no holdTimer) it cancels instead: a
   * pending timer there always holds the process.
   */
  park(): void {
    if (this.#handle === undefined || this.#parked) return;
    const clock = this.#clock;
    if (clock.holdTimer === undefined) {
      this.cancel();
      return;
    }
    clock.holdTimer(this.#handle, false);
    this.#parked = true;
  }

  /** A parked timer holds the process alive again. */
  unpark(): void {
    if (!this.#parked) return;
    this.#parked = false;
    this.#clock.holdTimer?.(this.#handle, true);
  }

  cancel(): void {
    if (this.#handle === undefined) return;
    this.#clock.clearTimer(this.#handle);
    this.#disarmed();
  }

  #disarmed(): void {
    this.#handle = undefined;
    this.#at = Number.POSITIVE_INFINITY;
    this.#fn = undefined;
    this.#parked = false;
  }

  // Bound once: what every arm() hands the clock (no closure per arm).
  readonly #fire = (): void => {
    const fn = this.#fn;
    this.#disarmed();
    fn?.();
  };
}
