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
  #idle: NodeJS.Timeout | undefined;
  /** The delay #idle was made with: while it stays the same, arm() refreshes the timer instead of making another. */
  #idleMs = 0;
  /** The TTT of the ping awaiting its answer; 0 when none is. */
  #pingTtt = 0;
  #stopped = false;

  constructor(timers: ConnectionTimers, host: NopPingHost) {
    this.#timers = timers;
    this.#host = host;
  }

  /** Something was received: the timer starts over (pingIntervalMs, or pingTimeoutMs while a ping is unanswered). */
  arm(): void {
    const every = this.#timers.pingIntervalMs;
    if (every === 0 || this.#stopped) return;
    const ms = this.#pingTtt === 0 ? every : this.#timers.pingTimeoutMs;
    // Called for every chunk read: refresh() restarts the timer (fired or not) without a new Timeout object.
    if (this.#idle !== undefined && this.#idleMs === ms) {
      this.#idle.refresh();
      return;
    }
    clearTimeout(this.#idle);
    this.#idle = setTimeout(this.#fire, ms);
    this.#idle.unref();
    this.#idleMs = ms;
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
  }

  readonly #fire = (): void => {
    if (!this.#host.mayPing()) return;
    if (this.#pingTtt !== 0) {
      this.#host.unanswered();
      return;
    }
    this.#pingTtt = 0x7000_0000 | (Date.now() & 0xfff_ffff);
    this.#host.ping(this.#pingTtt);
    this.arm();
  };
}
