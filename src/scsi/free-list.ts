// A free list of reusable per-command records, linked through the records
// themselves: taking and returning one allocates nothing, which is the point
// on a per-I/O path. What a record holds is its owner's to clear before it
// goes back; a record that an old callback may still reach must never go back.

/** Records not in use, linked through their `next`. */
export class FreeList<T extends { next: T | undefined }> {
  #head: T | undefined;

  /** A record off the list, if it has one. */
  take(): T | undefined {
    const r = this.#head;
    if (r !== undefined) {
      this.#head = r.next;
      r.next = undefined;
    }
    return r;
  }

  /** Puts `r` back on the list. */
  put(r: T): void {
    r.next = this.#head;
    this.#head = r;
  }
}
