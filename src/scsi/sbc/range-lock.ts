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

const NO_RELEASE = (): void => undefined;
const overlaps = (a: Held, b: Held): boolean => a.from < b.to && b.from < a.to;
const conflicts = (a: Held, b: Held): boolean => (a.exclusive || b.exclusive) && overlaps(a, b);

/** Shared/exclusive locks over half-open LBA ranges [lba, lba + blocks). */
export class RangeLock {
  readonly #held = new Set<Held>();
  #waiting: Waiter[] = [];

  /** Locks held now (for tests and statistics). */
  get held(): number {
    return this.#held.size;
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
    const want: Held = { from: lba, to: lba + BigInt(blocks), exclusive };
    return new Promise((resolve) => {
      this.#waiting.push({ ...want, grant: () => { resolve(this.#take(want)); } });
    });
  }

  /**
   * The lock at once when nothing conflicts (no held lock, no waiter), else
   * undefined and nothing queued: the fast path that spares a promise turn.
   */
  tryAcquire(lba: bigint, blocks: number, exclusive: boolean): (() => void) | undefined {
    if (blocks === 0) return NO_RELEASE;
    const want: Held = { from: lba, to: lba + BigInt(blocks), exclusive };
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

  #take(want: Held): () => void {
    const entry: Held = { ...want };
    this.#held.add(entry);
    return () => {
      if (this.#held.delete(entry)) this.#wake();
    };
  }

  #wake(): void {
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
