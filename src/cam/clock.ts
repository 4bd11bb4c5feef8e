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
 * The process clock (coarse: see coarseClock). Timers are not unref'ed on
 * purpose: an armed CCB timeout is what reports a stalled device, so it must
 * keep the process alive.
 */
export const systemClock: CamClock = {
  now: coarseNow,
  setTimer: (fn, ms) => setTimeout(fn, ms),
  clearTimer: (handle) => {
    clearTimeout(handle as ReturnType<typeof setTimeout>);
  },
};

/** A one-shot timer that knows whether it is armed and when it fires. */
export class OneShot {
  readonly #clock: CamClock;
  #handle: unknown;
  #at = Number.POSITIVE_INFINITY;

  constructor(clock: CamClock) {
    this.#clock = clock;
  }

  get armed(): boolean {
    return this.#handle !== undefined;
  }

  /** When it fires (clock milliseconds); +Infinity when disarmed. */
  get at(): number {
    return this.#at;
  }

  /** (Re)arms it to call `fn` after `ms`. */
  arm(ms: number, fn: () => void): void {
    this.cancel();
    this.#at = this.#clock.now() + ms;
    this.#handle = this.#clock.setTimer(() => {
      this.#handle = undefined;
      this.#at = Number.POSITIVE_INFINITY;
      fn();
    }, ms);
  }

  cancel(): void {
    if (this.#handle === undefined) return;
    this.#clock.clearTimer(this.#handle);
    this.#handle = undefined;
    this.#at = Number.POSITIVE_INFINITY;
  }
}
