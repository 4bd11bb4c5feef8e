// LBA range locks for the SBC emulator. COMPARE AND WRITE must be atomic
// against every other command touching its blocks (SBC-4 COMPARE AND WRITE:
// no other command may change or read the blocks between the compare and the
// write), while commands with simple task attributes may otherwise run in any
// order and concurrently. Block commands take a shared lock on their range;
// COMPARE AND WRITE takes an exclusive one. Waiters are granted in arrival
// order among conflicting requests, so neither kind starves.

interface Held {
  readonly from: bigint;
  readonly to: bigint;
  readonly exclusive: boolean;
}

interface Waiter extends Held {
  readonly grant: () => void;
}

/** A held lock and its place in the list of held locks (-1 once released). */
interface Hold extends Held {
  index: number;
}

const NO_RELEASE = (): void => undefined;
const overlaps = (a: Held, b: Held): boolean => a.from < b.to && b.from < a.to;
const conflicts = (a: Held, b: Held): boolean => (a.exclusive || b.exclusive) && overlaps(a, b);

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
   * release function is idempotent.
   */
  acquire(lba: bigint, blocks: number, exclusive: boolean): Promise<() => void> {
    const now = this.tryAcquire(lba, blocks, exclusive);
    if (now !== undefined) return Promise.resolve(now);
    const want: Hold = { from: lba, to: lba + BigInt(blocks), exclusive, index: -1 };
    return new Promise((resolve) => {
      this.#waiting.push({ from: want.from, to: want.to, exclusive, grant: () => { resolve(this.#take(want)); } });
    });
  }

  /**
   * The lock at once when nothing conflicts (no held lock, no waiter), else
   * undefined and nothing queued: the fast path that spares a promise turn.
   */
  tryAcquire(lba: bigint, blocks: number, exclusive: boolean): (() => void) | undefined {
    if (blocks === 0) return NO_RELEASE;
    const want: Hold = { from: lba, to: lba + BigInt(blocks), exclusive, index: -1 };
    // Shared locks among shared locks (every READ and WRITE) need no scan of what is held.
    if (!exclusive && this.#exclusiveHeld === 0 && this.#waiting.length === 0) return this.#take(want);
    return this.#free(want, this.#waiting.length) ? this.#take(want) : undefined;
  }

  #free(want: Held, before: number): boolean {
    for (const h of this.#held) if (conflicts(h, want)) return false;
    for (let i = 0; i < before; i++) {
      const w = this.#waiting[i];
      if (w !== undefined && conflicts(w, want)) return false;
    }
    return true;
  }

  /** Holds `hold` (a fresh object per request: its identity is the hold) until the returned release runs. */
  #take(hold: Hold): () => void {
    hold.index = this.#held.length;
    this.#held.push(hold);
    if (hold.exclusive) this.#exclusiveHeld++;
    return () => {
      if (this.#held[hold.index] !== hold) return;
      const last = this.#held.pop();
      if (last !== undefined && last !== hold) {
        this.#held[hold.index] = last;
        last.index = hold.index;
      }
      hold.index = -1;
      if (hold.exclusive) this.#exclusiveHeld--;
      this.#wake();
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
