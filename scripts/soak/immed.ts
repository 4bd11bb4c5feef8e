// SYNCHRONIZE CACHE with IMMED (SBC-4): GOOD once the CDB is checked, the
// flush goes on, and its failure is a deferred error (SPC-5: RESPONSE CODE
// 71h or 73h) to its I_T nexus's next command. vtcam's flush cannot fail on
// its own here; it fails only when a device reset cuts it short (a flush
// issued in an older reset epoch, background-flush.ts), and vtcam resets the
// device to recover what a task management function aborts, whatever the
// function. So a deferred error is no finding only for a session that sent
// an IMMED SYNCHRONIZE CACHE before, or while, such a function was out.

/** Which sessions' IMMED flushes a device reset may have failed. */
export class ImmedFlushes<S> {
  #tmfsOut = 0;
  readonly #sent = new Set<S>();
  readonly #mayFail = new Set<S>();

  /** `s` sends SYNCHRONIZE CACHE with IMMED. */
  sent(s: S): void {
    this.#sent.add(s);
    if (this.#tmfsOut > 0) this.#mayFail.add(s);
  }

  /** Runs a task management function: while it is out, every IMMED flush sent so far may fail. */
  async tmf<T>(run: () => Promise<T>): Promise<T> {
    this.#tmfsOut++;
    for (const s of this.#sent) this.#mayFail.add(s);
    try {
      return await run();
    } finally {
      this.#tmfsOut--;
    }
  }

  /** Whether a deferred error on `s`'s command may be the failure of one of its IMMED flushes. */
  mayFail(s: S): boolean {
    return this.#mayFail.has(s);
  }
}
