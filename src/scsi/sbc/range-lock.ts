// LBA range locks for the SBC emulator. COMPARE AND WRITE must be atomic
// against every other command touching its blocks (SBC-4 COMPARE AND WRITE:
// no other command may change or read the blocks between the compare and the
// write), while commands with simple task attributes may otherwise run in any
// order and concurrently. Block commands take a shared lock on their range;
// COMPARE AND WRITE takes an exclusive one. Waiters are granted in arrival
// order among conflicting requests, so neither kind starves. A command aborted
// while it waits gives its place up (dropAborted): it would issue nothing once
// through, and the task management function that aborted it completes when it
// has ended (SAM-5), not when whoever holds the range lets go.

import type { OperationAborted } from './block-command-set.js';

/**
 * A range as [from, from + blocks): the end is computed only where ranges are
 * compared (an exclusive lock is about), not for every shared lock taken, so
 * the fast path makes no bigint.
 */
interface Held {
  readonly from: bigint;
  readonly blocks: number;
  readonly exclusive: boolean;
}

interface Waiter extends Held {
  readonly grant: () => void;
  /** The waiting command's abort check, if it may give its place up. */
  readonly aborted: OperationAborted | undefined;
  /** Ends the wait without the lock. */
  readonly drop: () => void;
}

/** A held lock and its place in the list of held locks (-1 once released). */
interface Hold extends Held {
  index: number;
}

/**
 * A lock taken with {@link RangeLock.tryHold}, for {@link RangeLock.release}:
 * the release function of acquire/tryAcquire without the closure (the SBC
 * emulator's READ/WRITE fast path takes one per command).
 */
export type RangeHold = Readonly<Held>;

const NO_RELEASE = (): void => undefined;
/** The hold of a zero-length range: in no list, so releasing it does nothing. */
const NO_HOLD: Hold = { from: 0n, blocks: 0, exclusive: false, index: -1 };
const overlaps = (a: Held, b: Held): boolean => a.from < b.from + BigInt(b.blocks) && b.from < a.from + BigInt(a.blocks);
const conflicts = (a: Held, b: Held): boolean => (a.exclusive || b.exclusive) && overlaps(a, b);
const isHold = (h: RangeHold): h is Hold => typeof (h as Partial<Hold>).index === 'number';

/** Shared/exclusive locks over half-open LBA ranges [lba, lba + blocks). */
export class RangeLock {
  /**
   * Held locks, each knowing its index (swap-remove): a lock is taken and
   * released for every READ and WRITE, and a Set churned per I/O makes V8's
   * scavenger keep garbage alive through the tables it has outgrown.
   */
  readonly #held: Hold[] = [];
  /** Exclusive locks among #held: with none and no waiter, a shared lock conflicts with nothing. */
  #exclusiveHeld = 0;
  #waiting: Waiter[] = [];

  /** Locks held now (for tests and statistics). */
  get held(): number {
    return this.#held.length;
  }

  /** Requests waiting for a conflicting lock to go. */
  get waiting(): number {
    return this.#waiting.length;
  }

  /**
   * Resolves with a release function once no held lock and no earlier waiter
   * conflicts with [lba, lba + blocks). A zero-length range never waits. The
   * release function is idempotent. With the command's abort check
   * `aborted`, resolves undefined instead, without the lock, when the command
   * must wait but has been aborted, or is aborted while it waits (dropAborted).
   */
  acquire(lba: bigint, blocks: number, exclusive: boolean): Promise<() => void>;
  acquire(lba: bigint, blocks: number, exclusive: boolean, aborted: OperationAborted): Promise<(() => void) | undefined>;
  acquire(lba: bigint, blocks: number, exclusive: boolean, aborted?: OperationAborted): Promise<(() => void) | undefined> {
    const now = this.tryAcquire(lba, blocks, exclusive);
    if (now !== undefined) return Promise.resolve(now);
    if (aborted?.() === true) return Promise.resolve(undefined);
    const want: Hold = { from: lba, blocks, exclusive, index: -1 };
    return new Promise((resolve) => {
      this.#waiting.push({
        from: lba,
        blocks,
        exclusive,
        aborted,
        grant: () => { resolve(this.#releaser(this.#take(want))); },
        drop: () => { resolve(undefined); },
      });
    });
  }

  /**
   * Ends the wait of every waiter whose abort check says it has been aborted
   * (their acquire resolves undefined); those behind them may then go. Called
   * once a task management function or PREEMPT AND ABORT has aborted commands.
   */
  dropAborted(): void {
    const dropped = this.#waiting.filter((w) => w.aborted?.() === true);
    if (dropped.length === 0) return;
    this.#waiting = this.#waiting.filter((w) => !dropped.includes(w));
    for (const w of dropped) w.drop();
    this.#wake();
  }

  /**
   * The lock at once when nothing conflicts (no held lock, no waiter), else
   * undefined and nothing queued: the fast path that spares a promise turn.
   */
  tryAcquire(lba: bigint, blocks: number, exclusive: boolean): (() => void) | undefined {
    const hold = this.#tryHold(lba, blocks, exclusive);
    return hold === undefined ? undefined : hold === NO_HOLD ? NO_RELEASE : this.#releaser(hold);
  }

  /** {@link tryAcquire} answering with the hold itself, which {@link release} gives back. */
  tryHold(lba: bigint, blocks: number, exclusive: boolean): RangeHold | undefined {
    return this.#tryHold(lba, blocks, exclusive);
  }

  #tryHold(lba: bigint, blocks: number, exclusive: boolean): Hold | undefined {
    if (blocks === 0) return NO_HOLD;
    const want: Hold = { from: lba, blocks, exclusive, index: -1 };
    // Shared locks among shared locks (every READ and WRITE) need no scan of what is held.
    if (!exclusive && this.#exclusiveHeld === 0 && this.#waiting.length === 0) return this.#take(want);
    return this.#free(want, this.#waiting.length) ? this.#take(want) : undefined;
  }

  /** Gives back a hold from {@link tryHold}; idempotent (a hold already given back is ignored). Throws RangeError for an object that is no hold. */
  release(hold: RangeHold): void {
    if (!isHold(hold)) throw new RangeError('RangeLock.release: not a hold from tryHold');
    if (this.#held[hold.index] !== hold) return;
    const last = this.#held.pop();
    if (last !== undefined && last !== hold) {
      this.#held[hold.index] = last;
      last.index = hold.index;
    }
    hold.index = -1;
    if (hold.exclusive) this.#exclusiveHeld--;
    this.#wake();
  }

  #free(want: Held, before: number): boolean {
    for (const h of this.#held) if (conflicts(h, want)) return false;
    for (let i = 0; i < before; i++) {
      const w = this.#waiting[i];
      if (w !== undefined && conflicts(w, want)) return false;
    }
    return true;
  }

  /** Holds `hold` (a fresh object per request: its identity is the hold) until it is released. */
  #take(hold: Hold): Hold {
    hold.index = this.#held.length;
    this.#held.push(hold);
    if (hold.exclusive) this.#exclusiveHeld++;
    return hold;
  }

  #releaser(hold: Hold): () => void {
    return () => {
      this.release(hold);
    };
  }

  #wake(): void {
    if (this.#waiting.length === 0) return;
    const still: Waiter[] = [];
    const granted: Waiter[] = [];
    for (const w of this.#waiting) {
      // A waiter may go when it conflicts with nothing held and nothing still waiting ahead of it.
      const blocked = [...this.#held, ...granted].some((h) => conflicts(h, w)) || still.some((s) => conflicts(s, w));
      if (blocked) still.push(w);
      else granted.push(w);
    }
    this.#waiting = still;
    for (const w of granted) w.grant();
  }
}
