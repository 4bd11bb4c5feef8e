// Busy polling of the event loop with a fixed window, as Linux's busy_poll
// does for a socket and SPDK's pollers do all the time: for a short window
// after a connection last received or sent, the loop is kept turning (a
// setImmediate chain makes libuv poll its sockets without blocking), so the
// initiator's next PDU is picked up without the thread sleeping in epoll_wait
// and being woken again. A sleep and wake-up is a context switch on this side
// and a wake-up on the initiator's (on a VM, an inter-processor interrupt):
// serving iscsi-perf at queue depth 1 on a two-core VM, that was half the
// target's time, and a 200 µs window took it from about 7 k to 12-13 k IOPS.
// The price is CPU: after the last PDU the thread spins for the window, so a
// load of one command every window or so keeps a core busy. Off (0) unless
// asked for.

/** The longest window: past it, spinning costs a core for little. */
export const MAX_BUSY_POLL_US = 10_000;

/** What a busy poll has done, for statistics and tests. */
export interface BusyPollState {
  readonly windowUs: number;
  /** Whether the loop is being kept turning now. */
  readonly spinning: boolean;
  /** Loop turns spent polling so far. */
  readonly turns: number;
}

/** One event loop's busy poll, shared by every connection on it. */
export class BusyPoll {
  readonly #windowMs: number;
  readonly #now: () => number;
  /** #now() at the last touch(). */
  #last = 0;
  #spinning = false;
  #stopped = false;
  #turns = 0;

  /**
   * @param now monotonic milliseconds; performance.now() by default
   * @throws RangeError unless `windowUs` is a whole number in 0..MAX_BUSY_POLL_US (0: never spin).
   */
  constructor(windowUs: number, now: () => number = () => performance.now()) {
    if (!Number.isInteger(windowUs) || windowUs < 0 || windowUs > MAX_BUSY_POLL_US) {
      throw new RangeError(`busy poll window must be a whole number of microseconds in 0..${MAX_BUSY_POLL_US}, got ${windowUs}`);
    }
    this.#windowMs = windowUs / 1000;
    this.#now = now;
  }

  /** A PDU came in or went out: the loop keeps turning until the window passes with no other. */
  touch(): void {
    if (this.#windowMs === 0 || this.#stopped) return;
    this.#last = this.#now();
    if (this.#spinning) return;
    this.#spinning = true;
    setImmediate(this.#spin);
  }

  /** No more spinning (the portal closed): a turn under way is the last. */
  stop(): void {
    this.#stopped = true;
  }

  get state(): BusyPollState {
    return { windowUs: this.#windowMs * 1000, spinning: this.#spinning, turns: this.#turns };
  }

  readonly #spin = (): void => {
    if (this.#stopped || this.#now() - this.#last >= this.#windowMs) {
      this.#spinning = false;
      return;
    }
    this.#turns++;
    setImmediate(this.#spin);
  };
}
