// The bytes of Data-Out buffers a target holds at once, shared by all its
// sessions. A WRITE's buffer is the whole command (RFC 7143 §11.7: its
// Data-Out lands at Buffer Offsets anywhere in it), made before its first R2T
// (§11.8) and kept until the task ends; an initiator that opens a window of
// WRITEs and sends no data would otherwise make the target hold the window
// times the largest command, per session, with no bound (the design: nothing
// a peer sends is buffered without bound). Here a task reserves its buffer
// first; one that cannot have it waits, soliciting nothing, and is granted in
// the order it came as others end. That is back-pressure, not failure: the
// initiator sees its R2T later, within the timeouts it keeps for any command.
// Unsolicited data (immediate data, and Data-Out before any R2T when
// InitialR2T=No) comes whether or not there is room for it, so a command that
// brings some cannot wait: it takes its buffer at once (take) or holds
// nothing, and its task ends TASK SET FULL (task-data-out.ts). A task keeps
// no Data-Out outside a buffer the budget counts, a command waiting for an
// earlier CmdSN (RFC 7143 §4.2.2.1) or held back by a task management
// function included: it takes its buffer as it arrives (session.ts #hold).
//
// One session may hold at most half the budget (its share), so a session that
// never sends its data cannot take it all from the others: they always have
// the other half. Half, not the budget over the sessions logged in now: a
// share computed from today's sessions cannot take back what was granted
// before another session logged in, so the first session in could still hold
// everything, and with many sessions the share would shrink below one
// command. A session holding nothing may always take one command (within the
// budget), so any command the budget holds can run. Connections that stop
// answering NOP-In pings are dropped in any case (nop-ping.ts), their bytes
// returned; the share is what bounds one that answers them and still never
// sends its data. Two such sessions can still hold the whole budget between
// them until the Data-Out watchdog drops them, a ping timeout after their
// data stopped (progress-watchdog.ts); the other sessions' WRITEs wait until
// then.
//
// Commands held for an earlier CmdSN take their buffers before it comes (they
// cannot wait, their data being in), so they are bounded by the share alone
// while the gap stays open; a gap open for a ping timeout drops the
// connection (progress-watchdog.ts), which ends them, as ABORT TASK naming
// their CmdSN does. When the missing command does come and brings no unsolicited data,
// it may have to wait for bytes they hold; where task set order keeps them
// behind it (an ORDERED task, task-set-order.ts) they wait for it in turn,
// and that session stalls, holding its share, until its initiator aborts the
// command (the timeout it keeps for any).

/** Told when a reservation that had to wait is granted. */
export interface DataOutClaim {
  granted(): void;
}

/** What a budget holds and what waits for it, for statistics and tests. */
export interface DataOutBudgetState {
  /** The budget in bytes. */
  readonly bytes: number;
  /** The most one session may hold (see the file header). */
  readonly sessionBytes: number;
  /** Bytes granted and not given back. */
  readonly held: number;
  /** Reservations waiting, and their bytes. */
  readonly waiting: number;
  readonly waitingBytes: number;
}

/**
 * One session's part of a budget (DataOutBudget.account): what its tasks
 * reserve, withdraw and release through.
 */
export interface DataOutAccount {
  /**
   * Reserves `bytes` for `claim`: true when granted now; false when it waits,
   * and `claim.granted()` is called once it is (unless withdrawn first).
   * @throws RangeError when `bytes` is not a whole number in 1..budget, or `claim` waits already.
   */
  reserve(claim: DataOutClaim, bytes: number): boolean;
  /**
   * Takes `bytes` now if reserve would grant them now: true; else nothing is taken and nothing waits, false.
   * @throws RangeError when `bytes` is not a whole number in 1..budget.
   */
  take(bytes: number): boolean;
  /** A waiting reservation leaves the queue (its task ended first); one not waiting: nothing. */
  withdraw(claim: DataOutClaim): void;
  /**
   * Gives back `bytes` granted to this account.
   * @throws RangeError when the account holds fewer.
   */
  release(bytes: number): void;
  /** Bytes this account holds now. */
  readonly held: number;
}

/** The default budget: a few hundred of the usual commands, a few of the largest (probe.ts DEFAULT_MAX_COMMAND_BYTES). */
export const DEFAULT_DATA_OUT_BUDGET = 256 * 2 ** 20;

/** One session's bytes held. */
interface Share {
  held: number;
}

interface Waiter {
  readonly claim: DataOutClaim;
  readonly bytes: number;
  readonly share: Share;
}

/** A target's Data-Out buffer budget. */
export class DataOutBudget {
  readonly bytes: number;
  readonly sessionBytes: number;
  #held = 0;
  /** Waiting reservations, in the order they came (a Map iterates in insertion order; withdrawing is O(1)). */
  readonly #waiting = new Map<DataOutClaim, Waiter>();
  #waitingBytes = 0;

  /** @throws RangeError unless `bytes` is a whole number of at least 1. */
  constructor(bytes: number) {
    if (!Number.isSafeInteger(bytes) || bytes < 1) throw new RangeError(`Data-Out budget must be a whole number of bytes, at least 1, got ${bytes}`);
    this.bytes = bytes;
    this.sessionBytes = Math.floor(bytes / 2);
  }

  /** A new session's account (one per session, not per command). */
  account(): DataOutAccount {
    const share: Share = { held: 0 };
    return {
      reserve: (claim, bytes) => this.#reserve(share, claim, bytes),
      take: (bytes) => this.#tryTake(share, bytes),
      withdraw: (claim) => {
        this.#withdraw(claim);
      },
      release: (bytes) => {
        this.#release(share, bytes);
      },
      get held() {
        return share.held;
      },
    };
  }

  get state(): DataOutBudgetState {
    return { bytes: this.bytes, sessionBytes: this.sessionBytes, held: this.#held, waiting: this.#waiting.size, waitingBytes: this.#waitingBytes };
  }

  #reserve(share: Share, claim: DataOutClaim, bytes: number): boolean {
    if (this.#tryTake(share, bytes)) return true;
    if (this.#waiting.has(claim)) throw new RangeError('Data-Out reservation: the claim is waiting already');
    this.#waiting.set(claim, { claim, bytes, share });
    this.#waitingBytes += bytes;
    return false;
  }

  /** Takes `bytes` for `share` if they fit and may go ahead of what waits. */
  #tryTake(share: Share, bytes: number): boolean {
    if (!Number.isSafeInteger(bytes) || bytes < 1 || bytes > this.bytes) throw new RangeError(`Data-Out reservation must be 1..${this.bytes} bytes, got ${bytes}`);
    // The hot path: the bytes fit and nothing waits, a few counter checks.
    if (!this.#fits(share, bytes) || (this.#waiting.size > 0 && !this.#mayPass(share))) return false;
    this.#take(share, bytes);
    return true;
  }

  #withdraw(claim: DataOutClaim): void {
    const w = this.#waiting.get(claim);
    if (w === undefined) return;
    this.#waiting.delete(claim);
    this.#waitingBytes -= w.bytes;
    // It may have been the one the others queued behind.
    this.#grantWaiting();
  }

  #release(share: Share, bytes: number): void {
    if (!Number.isSafeInteger(bytes) || bytes < 1 || bytes > share.held) throw new RangeError(`Data-Out release of ${bytes} bytes from a session holding ${share.held}`);
    share.held -= bytes;
    this.#held -= bytes;
    this.#grantWaiting();
  }

  /** Whether `bytes` more fit both the budget and the session's share (a session holding nothing may take one command). */
  #fits(share: Share, bytes: number): boolean {
    return this.#held + bytes <= this.bytes && this.#withinShare(share, bytes);
  }

  #withinShare(share: Share, bytes: number): boolean {
    return share.held === 0 || share.held + bytes <= this.sessionBytes;
  }

  /**
   * Whether a new reservation of `share` may go ahead of the waiting ones: only when #grantWaiting passes
   * over each of them (its session is at its share) and none is `share`'s. One waiting for the budget keeps
   * its place (FIFO), and a session's own reservations go in the order they came.
   */
  #mayPass(share: Share): boolean {
    let passed: Set<Share> | undefined;
    for (const w of this.#waiting.values()) {
      if (w.share === share) return false;
      if (passed?.has(w.share) === true) continue;
      if (this.#withinShare(w.share, w.bytes)) return false;
      (passed ??= new Set()).add(w.share);
    }
    return true;
  }

  #take(share: Share, bytes: number): void {
    share.held += bytes;
    this.#held += bytes;
  }

  /**
   * Grants waiting reservations in the order they came. One whose session is at its share is passed over
   * with the rest of that session's, so a session that holds its share cannot stall the others; the first
   * one the budget cannot hold stops the walk, so a large command is not overtaken for ever by small ones.
   * Every grant is counted before any claimant is told: one told may end at once and release, which walks
   * again over a consistent queue.
   */
  #grantWaiting(): void {
    if (this.#waiting.size === 0) return;
    let passed: Set<Share> | undefined;
    let granted: DataOutClaim[] | undefined;
    for (const w of this.#waiting.values()) {
      if (passed?.has(w.share) === true) continue;
      if (!this.#withinShare(w.share, w.bytes)) {
        (passed ??= new Set()).add(w.share);
        continue;
      }
      if (this.#held + w.bytes > this.bytes) break;
      this.#take(w.share, w.bytes);
      this.#waiting.delete(w.claim);
      this.#waitingBytes -= w.bytes;
      (granted ??= []).push(w.claim);
    }
    if (granted !== undefined) for (const c of granted) c.granted();
  }
}
