// The ORDERED fence of one device queue. Spec: SAM-5 §8.6 (task attributes:
// an ORDERED task is not enabled until every older task has ended, a SIMPLE
// or ORDERED one received after it not until it has ended; HEAD OF QUEUE
// enters enabled).
//
// The device queue's heap (devq.ts) orders CCBs by CAM priority, and priority
// orders only work that is free to run: a CCB behind an ORDERED one that
// waits may be more urgent than it, or than the CCBs before it, yet must not
// pass it. So an ORDERED CCB, and every CCB submitted after it, waits here in
// submission order, out of the heap, until the ORDERED CCB starts: that
// happens once the heap is empty and nothing is active, and the CCBs up to
// the next ORDERED one then go to the heap, where they wait for the running
// ORDERED CCB to complete. HEAD OF QUEUE CCBs and CCBs the SIM gave back
// (CAM_REQUEUE_REQ, which were ahead of it) never wait here. With no ORDERED
// CCB waiting this holds nothing, and the I/O path pays a comparison or two
// for it.

import { TagAction } from './ccb.js';
import type { CamQueue } from './queue.js';
import type { DevqEntry } from './devq-entry.js';

/** The CCBs held behind the oldest waiting ORDERED CCB of a device queue, in submission order. */
export class OrderedFence {
  /** Each epoch is an ORDERED entry followed by what was submitted after it, up to the next ORDERED one. */
  readonly #epochs: DevqEntry[][] = [];
  #size = 0;
  /** The first epoch's ORDERED entry, kept at hand: the queue looks at it whenever it has nothing free to run. */
  #head: DevqEntry | undefined;

  /** Entries held. */
  get size(): number {
    return this.#size;
  }

  /** The oldest waiting ORDERED entry: it starts once nothing submitted before it is waiting or active. */
  get head(): DevqEntry | undefined {
    return this.#head;
  }

  /**
   * Holds `e`, just submitted, if it must wait here: it is ORDERED, or an
   * ORDERED entry waits (HEAD OF QUEUE never does). Returns whether it does.
   */
  hold(e: DevqEntry): boolean {
    const tag = e.ccb.tagAction;
    if (tag === TagAction.HEAD_OF_QUEUE || (this.#size === 0 && tag !== TagAction.ORDERED)) return false;
    const last = this.#epochs[this.#epochs.length - 1];
    if (tag === TagAction.ORDERED || last === undefined) this.#epochs.push([e]);
    else last.push(e);
    this.#size += 1;
    this.#head ??= e;
    return true;
  }

  /** The head is starting (or failing without starting): what follows it up to the next ORDERED entry goes to `queue`. */
  open(queue: CamQueue<DevqEntry>): void {
    const epoch = this.#epochs.shift();
    if (epoch === undefined) throw new Error('devq fence: open with no ORDERED CCB waiting');
    this.#size -= epoch.length;
    this.#head = this.#epochs[0]?.[0];
    for (let i = 1; i < epoch.length; i++) queue.insert(epoch[i] as DevqEntry);
  }

  /** Every held entry, in submission order. */
  entries(): DevqEntry[] {
    return this.#epochs.flat();
  }

  /**
   * Takes `e` out (it was aborted while it waited); returns false if it is
   * not held here. A waiting ORDERED entry taken out no longer holds back what
   * came after it: behind the head that goes to `queue`, behind a later one
   * it joins the epoch before.
   */
  remove(e: DevqEntry, queue: CamQueue<DevqEntry>): boolean {
    for (let k = 0; k < this.#epochs.length; k++) {
      const epoch = this.#epochs[k] as DevqEntry[];
      const i = epoch.indexOf(e);
      if (i < 0) continue;
      if (i > 0) {
        epoch.splice(i, 1);
        this.#size -= 1;
      } else if (k === 0) {
        this.open(queue);
      } else {
        this.#epochs.splice(k, 1);
        const before = this.#epochs[k - 1] as DevqEntry[];
        for (let j = 1; j < epoch.length; j++) before.push(epoch[j] as DevqEntry);
        this.#size -= 1;
      }
      return true;
    }
    return false;
  }

  /** Takes every entry out, in submission order. */
  drain(): DevqEntry[] {
    const all = this.entries();
    this.#epochs.length = 0;
    this.#size = 0;
    this.#head = undefined;
    return all;
  }
}
