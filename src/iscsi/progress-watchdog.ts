// The bound on how long a session may keep something owed without progress.
// At ErrorRecoveryLevel 0 only session recovery exists (RFC 7143 §7.1.5), so
// when the session owes something and nothing has moved for the whole
// timeout, its connection is dropped, which ends its tasks and gives back what
// they held. A session runs two (session.ts, session-window.ts):
// - Data-Out: a task that sent R2Ts, or that may still receive unsolicited
//   data, holds its buffer's part of the target's Data-Out budget
//   (data-out-budget.ts) until the initiator answers; an initiator that
//   answers NOP-In pings but never sends the data would hold it for ever, and
//   other sessions' WRITEs wait behind it (asking again for missing data,
//   §7.1.4.1, takes level 1; LIO's DataOut timeout drops the connection at
//   level 0 too). Progress: a Data-Out PDU a task that owed it took into an
//   open burst, with bytes or its F bit; not one Rejected (naming no task or
//   burst), late for a task that ended, or empty and not final, which an
//   initiator could send for ever while its data never comes.
// - A CmdSN gap: commands after a missing CmdSN wait for it (§4.2.2.1), with
//   their Data-Out buffers; a command lost on the way (a header digest error,
//   §7.8) is recovered only by the initiator's own timeout. Progress: ExpCmdSN
//   moving on.
// Progress counts per session, not per task: an initiator that answers one
// task's bursts after another's, however slowly, is never dropped while data
// keeps coming.

/**
 * Whether a Data-Out PDU is progress for the Data-Out watchdog: `taken` (not refused) into an open burst of a
 * task that `owed` Data-Out as it came, moving that burst on with `bytes` or its F bit (`final`).
 */
export function dataOutProgress(owed: boolean, taken: boolean, bytes: number, final: boolean): boolean {
  return owed && taken && (bytes > 0 || final);
}

/** What the watchdog watches: its session's tasks, and the way out. */
export interface ProgressWatchdogHost {
  /** Whether the session owes anything now (Data-Out: an unanswered R2T or an open unsolicited burst; a CmdSN gap). */
  owed(): boolean;
  /** Nothing moved for the whole timeout while something was owed. */
  expired(): void;
}

/**
 * Checks twice per timeout, so a session owing something is dropped between one and one and a half timeouts
 * after it last moved. Costs one field write per step of progress and no timer while nothing is owed.
 */
export class ProgressWatchdog {
  readonly #timeoutMs: number;
  readonly #host: ProgressWatchdogHost;
  #timer: NodeJS.Timeout | undefined;
  /** Progress since the last check. */
  #heard = false;
  /** Checks in a row that found something owed and no progress. */
  #quietChecks = 0;
  #stopped = false;

  /** @throws RangeError unless `timeoutMs` is a positive finite number. */
  constructor(timeoutMs: number, host: ProgressWatchdogHost) {
    if (!(Number.isFinite(timeoutMs) && timeoutMs > 0)) throw new RangeError(`ProgressWatchdog: timeoutMs must be positive and finite, got ${timeoutMs}`);
    this.#timeoutMs = timeoutMs;
    this.#host = host;
  }

  /** Something may now be owed (an R2T went out, a burst was left open, a command waits for a missing CmdSN): checks begin if they had stopped. */
  owing(): void {
    if (this.#timer !== undefined || this.#stopped) return;
    this.#heard = false;
    this.#quietChecks = 0;
    this.#timer = setInterval(this.#check, this.#timeoutMs / 2);
    this.#timer.unref();
  }

  /** Progress: a Data-Out PDU moved a burst of a task on (dataOutProgress), or ExpCmdSN moved on. */
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
