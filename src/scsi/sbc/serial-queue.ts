// One at a time, in arrival order: a section of async work that must not
// interleave with another of the same queue (the SBC emulator's MODE SELECTs,
// each of which reads the mode parameters, may wait for the device, and then
// changes them). Spec: SAM-5 (commands with the SIMPLE task attribute may run
// in any order, but their effect must be that of some order; a task
// management function completes once the commands it aborted have ended, so
// one aborted while it waits for its turn gives the turn up: dropAborted).

import type { OperationAborted } from './block-command-set.js';

const NOTHING = (): void => undefined;

/** What a section that may give its turn up answers then, and the check that says it must. */
export interface IfAborted<T> {
  readonly aborted: OperationAborted;
  readonly answer: T;
}

/** A section waiting for its turn that may give it up. */
interface Waiting {
  readonly aborted: OperationAborted;
  readonly drop: () => void;
}

/** Runs async sections one after another; one queued while none runs starts at once, in the caller's turn. */
export class SerialQueue {
  /** Settles once the last section queued has ended; undefined while none runs or waits. */
  #tail: Promise<void> | undefined;
  readonly #waiting = new Set<Waiting>();

  /**
   * Runs `section` once every section queued before it has ended, however it
   * ended (at once when none is queued), and resolves or rejects as it does.
   * With `ifAborted`, a section that must wait for its turn resolves with
   * `ifAborted.answer` instead, at once, when dropAborted finds its command
   * aborted; it is then never run, and the sections after it keep their order.
   */
  run<T>(section: () => Promise<T>, ifAborted?: IfAborted<T>): Promise<T> {
    const before = this.#tail;
    let ran: Promise<T>;
    let result: Promise<T>;
    if (before === undefined || ifAborted === undefined) {
      ran = before === undefined ? section() : before.then(section);
      result = ran;
    } else {
      let dropped = false;
      let answerNow: (value: T) => void = NOTHING;
      const w: Waiting = {
        aborted: ifAborted.aborted,
        drop: () => {
          dropped = true;
          answerNow(ifAborted.answer);
        },
      };
      this.#waiting.add(w);
      const turn = before.then(() => {
        this.#waiting.delete(w);
        return dropped ? ifAborted.answer : section();
      });
      ran = turn;
      result = new Promise<T>((resolve, reject) => {
        answerNow = resolve;
        turn.then(resolve, reject);
      });
    }
    // The next section waits for this one's end, not for an answer given early.
    const tail: Promise<void> = ran.then(NOTHING, NOTHING).then(() => {
      if (this.#tail === tail) this.#tail = undefined;
    });
    this.#tail = tail;
    return result;
  }

  /** Answers every section waiting for its turn whose command has been aborted (see run). */
  dropAborted(): void {
    for (const w of this.#waiting) {
      if (!w.aborted()) continue;
      this.#waiting.delete(w);
      w.drop();
    }
  }
}
