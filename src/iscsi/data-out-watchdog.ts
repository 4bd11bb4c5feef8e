// The bound on how long a session may owe Data-Out without sending any. A
// task that sent R2Ts, or that may still receive unsolicited data, holds its
// buffer's part of the target's Data-Out budget (data-out-budget.ts) until
// the initiator answers; an initiator that answers NOP-In pings but never
// sends the data would hold it for ever, and other sessions' WRITEs wait
// behind it. At ErrorRecoveryLevel 0 only session recovery exists (RFC 7143
// §7.1.5; asking again for missing data, §7.1.4.1, takes level 1), so when
// the session owes Data-Out and none has come for the whole timeout, its
// connection is dropped, which ends its tasks and gives their budget back
// (LIO's DataOut timeout does the same at level 0). Progress counts per session, not per task: an
// initiator that answers one task's bursts after another's, however slowly,
// is never dropped while data keeps coming.

/** What the watchdog watches: its session's tasks, and the way out. */
export interface DataOutWatchdogHost {
  /** Whether any task of the session may still receive Data-Out (an unanswered R2T, or an open unsolicited burst). */
  owed(): boolean;
  /** No Data-Out came for the whole timeout while some was owed. */
  expired(): void;
}

/**
 * Checks twice per timeout, so a session owing Data-Out is dropped between one and one and a half timeouts
 * after the last Data-Out it sent. Costs one field write per Data-Out PDU and no timer while nothing is owed.
 */
export class DataOutWatchdog {
  readonly #timeoutMs: number;
  readonly #host: DataOutWatchdogHost;
  #timer: NodeJS.Timeout | undefined;
  /** A Data-Out came since the last check. */
  #heard = false;
  /** Checks in a row that found Data-Out owed and none heard. */
  #quietChecks = 0;
  #stopped = false;

  /** @throws RangeError unless `timeoutMs` is a positive finite number. */
  constructor(timeoutMs: number, host: DataOutWatchdogHost) {
    if (!(Number.isFinite(timeoutMs) && timeoutMs > 0)) throw new RangeError(`DataOutWatchdog: timeoutMs must be positive and finite, got ${timeoutMs}`);
    this.#timeoutMs = timeoutMs;
    this.#host = host;
  }

  /** Data-Out may now be owed (an R2T went out, or a command left its unsolicited burst open): checks begin if they had stopped. */
  owing(): void {
    if (this.#timer !== undefined || this.#stopped) return;
    this.#heard = false;
    this.#quietChecks = 0;
    this.#timer = setInterval(this.#check, this.#timeoutMs / 2);
    this.#timer.unref();
  }

  /** A Data-Out PDU came (accepted or not: the initiator is sending). */
  heard(): void {
    this.#heard = true;
  }

  /** The session ended: no more checks. */
  stop(): void {
    this.#stopped = true;
    this.#idle();
  }

  #idle(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  readonly #check = (): void => {
    if (!this.#host.owed()) {
      this.#idle();
      return;
    }
    if (this.#heard) {
      this.#heard = false;
      this.#quietChecks = 0;
      return;
    }
    if (++this.#quietChecks < 2) return;
    this.#idle();
    this.#host.expired();
  };
}
