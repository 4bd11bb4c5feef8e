// The copy manager's state for EXTENDED COPY (LID1): the copy status it holds
// per I_T nexus and list identifier for RECEIVE COPY STATUS, and the one copy
// it processes at a time (TOTAL CONCURRENT COPIES 1). Spec: SPC-5 (third-party
// copy: list identifiers are per I_T nexus; held data is discarded on I_T
// nexus loss and on a logical unit reset or hard reset).

import type { CopyStatus } from '../copy-parameters.js';
import { CopyManagerStatus } from '../copy-parameters.js';

export class CopyManager {
  readonly #held = new Map<string, Map<number, CopyStatus>>();
  #tail: Promise<unknown> = Promise.resolve();

  /** The status held for `listId` of `nexus`; a completed one is handed over once and then discarded. */
  takeStatus(nexus: string, listId: number): CopyStatus | undefined {
    const lists = this.#held.get(nexus);
    const s = lists?.get(listId);
    if (s !== undefined && s.status !== CopyManagerStatus.IN_PROGRESS) lists?.delete(listId);
    return s;
  }

  /** A copy with this list identifier is being processed for `nexus` (a second one is OPERATION IN PROGRESS). */
  inProgress(nexus: string, listId: number): boolean {
    return this.#held.get(nexus)?.get(listId)?.status === CopyManagerStatus.IN_PROGRESS;
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
