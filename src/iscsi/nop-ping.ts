// The target's ping of an idle connection (RFC 7143 §11.19): when nothing has
// been received for pingIntervalMs the target sends a NOP-In with a Target
// Transfer Tag of its own, which the initiator must echo in a NOP-Out
// (§11.18.3). The idle timer re-arms on everything received; a ping still
// unanswered pingTimeoutMs later ends the connection.

import type { ConnectionTimers } from './connection-types.js';

/** What the ping needs from its connection. */
export interface NopPingHost {
  /** Whether a ping may go out now: not during login, not after close. */
  mayPing(): boolean;
  /** Sends the ping: a NOP-In with this Target Transfer Tag. */
  ping(ttt: number): void;
  /** The last ping went unanswered. */
  unanswered(): void;
}

/** The idle timer and the outstanding ping of one connection. */
export class NopPing {
  readonly #timers: ConnectionTimers;
  readonly #host: NopPingHost;
  /** The pending timer; undefined when none is (never armed, fired, or stopped). */
  #idle: NodeJS.Timeout | undefined;
  /** The quiet time the pending timer waits for: pingIntervalMs, or pingTimeoutMs while a ping is unanswered. */
  #quietMs = 0;
  /** performance.now() when the quiet time began: the last receive, or the ping going out. */
  #since = 0;
  /** The TTT of the ping awaiting its answer; 0 when none is. */
  #pingTtt = 0;
  #stopped = false;

  constructor(timers: ConnectionTimers, host: NopPingHost) {
    this.#timers = timers;
    this.#host = host;
  }

  /** Something was received: the quiet time starts over (pingIntervalMs, or pingTimeoutMs while a ping is unanswered). */
  arm(): void {
    const every = this.#timers.pingIntervalMs;
    if (every === 0 || this.#stopped) return;
    this.#restart(this.#pingTtt === 0 ? every : this.#timers.pingTimeoutMs);
  }

  /**
   * Called for every chunk read, so it only notes the time: a pending timer
   * for the same quiet time checks it when it fires and waits out the rest.
   * Restarting a Node timer per chunk (refresh()) moved it in the timer list
   * each time, about 1 % of `serve`'s time at queue depth 8.
   */
  #restart(quietMs: number): void {
    this.#since = performance.now();
    if (this.#idle !== undefined && this.#quietMs === quietMs) return;
    clearTimeout(this.#idle);
    this.#quietMs = quietMs;
    this.#schedule(quietMs);
  }

  #schedule(ms: number): void {
    this.#idle = setTimeout(this.#fire, ms);
    this.#idle.unref();
  }

  /** A NOP-Out answering a ping (its TTT is not reserved): whether it echoes ours. No ping is outstanding after it. */
  answered(ttt: number): boolean {
    const ours = ttt === this.#pingTtt;
    this.#pingTtt = 0;
    return ours;
  }

  /** The connection ended: the timer is cleared and never armed again. */
  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#idle);
    this.#idle = undefined;
  }

  readonly #fire = (): void => {
    this.#idle = undefined;
    const quiet = performance.now() - this.#since;
    if (quiet < this.#quietMs) {
      this.#schedule(this.#quietMs - quiet);
      return;
    }
    if (!this.#host.mayPing()) return;
    if (this.#pingTtt !== 0) {
      this.#host.unanswered();
      return;
    }
    this.#pingTtt = 0x7000_0000 | (Date.now() & 0xfff_ffff);
    this.#host.ping(this.#pingTtt);
    this.#restart(this.#timers.pingTimeoutMs);
  };
}
