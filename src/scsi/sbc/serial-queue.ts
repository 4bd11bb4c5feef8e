// One at a time, in arrival order: a section of async work that must not
// interleave with another of the same queue (the SBC emulator's MODE SELECTs,
// each of which reads the mode parameters, may wait for the device, and then
// changes them). Spec: SAM-5 (commands with the SIMPLE task attribute may run
// in any order, but their effect must be that of some order).

const NOTHING = (): void => undefined;

/** Runs async sections one after another; one queued while none runs starts at once, in the caller's turn. */
export class SerialQueue {
  /** Settles once the last section queued has ended; undefined while none runs or waits. */
  #tail: Promise<void> | undefined;

  /**
   * Runs `section` once every section queued before it has ended, however it
   * ended (at once when none is queued), and resolves or rejects as it does.
   */
  run<T>(section: () => Promise<T>): Promise<T> {
    const result = this.#tail === undefined ? section() : this.#tail.then(section);
    const tail: Promise<void> = result.then(NOTHING, NOTHING).then(() => {
      if (this.#tail === tail) this.#tail = undefined;
    });
    this.#tail = tail;
    return result;
  }
}
