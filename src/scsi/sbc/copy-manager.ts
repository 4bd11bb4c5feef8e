// The copy manager's state for EXTENDED COPY (LID1): the list identifiers
// being processed per I_T nexus, the copy status it holds per I_T nexus and
// list identifier for RECEIVE COPY STATUS, and the one copy it processes at a
// time (TOTAL CONCURRENT COPIES 1). Spec: SPC-5 (third-party copy: list
// identifiers are per I_T nexus; held data is discarded on I_T nexus loss and
// on a logical unit reset or hard reset).

import type { CopyStatus } from '../copy-parameters.js';
import { CopyManagerStatus } from '../copy-parameters.js';

export class CopyManager {
  readonly #held = new Map<string, Map<number, CopyStatus>>();
  /** List identifiers of copies not yet ended, per I_T nexus: what a list identifier must not duplicate. */
  readonly #running = new Map<string, Set<number>>();
  #tail: Promise<unknown> = Promise.resolve();

  /** The status held for `listId` of `nexus`; a completed one is handed over once and then discarded. */
  takeStatus(nexus: string, listId: number): CopyStatus | undefined {
    const lists = this.#held.get(nexus);
    const s = lists?.get(listId);
    if (s !== undefined && s.status !== CopyManagerStatus.IN_PROGRESS) lists?.delete(listId);
    return s;
  }

  /**
   * Registers a copy with this list identifier for `nexus` until {@link end};
   * false (and nothing registered) when one is still being processed, which
   * SPC-5 makes OPERATION IN PROGRESS. Not for LIST ID USAGE 11b, whose list
   * identifier means nothing. A reset or nexus loss does not end the entry:
   * the copy itself does.
   */
  begin(nexus: string, listId: number): boolean {
    let ids = this.#running.get(nexus);
    if (ids === undefined) {
      ids = new Set();
      this.#running.set(nexus, ids);
    }
    if (ids.has(listId)) return false;
    ids.add(listId);
    return true;
  }

  /** The copy {@link begin} registered has ended. */
  end(nexus: string, listId: number): void {
    const ids = this.#running.get(nexus);
    ids?.delete(listId);
    if (ids?.size === 0) this.#running.delete(nexus);
  }

  /** Records (or replaces) the status of `listId` for `nexus`. */
  hold(nexus: string, listId: number, s: CopyStatus): void {
    let lists = this.#held.get(nexus);
    if (lists === undefined) {
      lists = new Map();
      this.#held.set(nexus, lists);
    }
    lists.set(listId, s);
  }

  /** Updates a held status; nothing when it is no longer held (a reset or nexus loss discarded it). */
  update(nexus: string, listId: number, s: CopyStatus): void {
    const lists = this.#held.get(nexus);
    if (lists?.has(listId) === true) lists.set(listId, s);
  }

  /** Drops what is held for `listId` of `nexus`. */
  release(nexus: string, listId: number): void {
    this.#held.get(nexus)?.delete(listId);
  }

  /** Runs `copy` after every copy started before it (one at a time). */
  serialize<T>(copy: () => Promise<T>): Promise<T> {
    const run = this.#tail.then(copy, copy);
    this.#tail = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }

  /** I_T nexus loss: its held statuses go. */
  forgetNexus(nexus: string): void {
    this.#held.delete(nexus);
  }

  /** Logical unit reset or hard reset: every held status goes. */
  reset(): void {
    this.#held.clear();
  }
}
