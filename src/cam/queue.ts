// The CAM queue (FreeBSD sys/cam/cam_queue.c, camq): a binary min-heap ordered
// by (priority, generation). Entries carry their own heap index, so removing
// any entry — an aborted CCB in the middle of the queue — is O(log n) with no
// search. Lower priority values are more urgent (cam.h CAM_PRIORITY_*); the
// generation breaks ties so that entries of one priority leave in the order
// they came (FIFO), and is compared wrap-safe like TCP sequence numbers.

/** What the heap needs of an entry; `index` is owned by the queue. */
export interface CamqEntry {
  /** Lower runs first. */
  priority: number;
  /** Arrival order within a priority; a 32-bit counter that may wrap. */
  generation: number;
  /** Position in the heap, or CAM_UNQUEUED_INDEX (cam_queue.h). */
  index: number;
}

/** `index` of an entry that is in no queue. */
export const CAM_UNQUEUED_INDEX = -1;

/**
 * True when `a` runs before `b`. Generations are compared as a wrap-safe
 * difference, so 0x7fffffff + 1 (which wraps to -0x80000000) still counts as
 * later than 0x7fffffff; this holds while the live generations span less
 * than 2^31, which a queue bounded by memory always does.
 */
export function queueBefore(a: CamqEntry, b: CamqEntry): boolean {
  if (a.priority !== b.priority) return a.priority < b.priority;
  return ((a.generation - b.generation) | 0) < 0;
}

/** Next generation after `g`, wrapping at 32 bits. */
export const nextGeneration = (g: number): number => (g + 1) | 0;

/** A binary min-heap of entries by (priority, generation). */
export class CamQueue<E extends CamqEntry> {
  readonly #heap: E[] = [];

  get size(): number {
    return this.#heap.length;
  }

  /** The entry that runs next, without removing it. */
  peek(): E | undefined {
    return this.#heap[0];
  }

  /** Whether `e` is in this queue. */
  has(e: E): boolean {
    return e.index >= 0 && this.#heap[e.index] === e;
  }

  /** Inserts `e`. Throws if it is already queued (here or elsewhere): a caller bug. */
  insert(e: E): void {
    if (e.index !== CAM_UNQUEUED_INDEX) throw new Error(`camq insert: entry already queued at index ${e.index}`);
    if (!Number.isFinite(e.priority)) throw new RangeError(`camq insert: priority must be a finite number, got ${e.priority}`);
    e.index = this.#heap.length;
    this.#heap.push(e);
    this.#up(e.index);
  }

  /** Removes and returns the entry that runs next. */
  shift(): E | undefined {
    const top = this.#heap[0];
    if (top !== undefined) this.remove(top);
    return top;
  }

  /** Removes `e` from anywhere in the heap in O(log n). Throws if `e` is not in this queue. */
  remove(e: E): void {
    if (!this.has(e)) throw new Error(`camq remove: entry (index ${e.index}) is not in this queue`);
    const i = e.index;
    const last = this.#heap.pop() as E; // non-empty: `e` is in it
    e.index = CAM_UNQUEUED_INDEX;
    if (last === e) return;
    this.#heap[i] = last;
    last.index = i;
    // The moved entry may belong above or below its new slot.
    if (i > 0 && queueBefore(last, this.#at((i - 1) >> 1))) this.#up(i);
    else this.#down(i);
  }

  /** Removes every entry, in run order. */
  drain(): E[] {
    const out: E[] = [];
    for (let e = this.shift(); e !== undefined; e = this.shift()) out.push(e);
    return out;
  }

  #at(i: number): E {
    return this.#heap[i] as E;
  }

  #place(e: E, i: number): void {
    this.#heap[i] = e;
    e.index = i;
  }

  #up(i: number): void {
    const e = this.#at(i);
    while (i > 0) {
      const p = (i - 1) >> 1;
      const parent = this.#at(p);
      if (!queueBefore(e, parent)) break;
      this.#place(parent, i);
      i = p;
    }
    this.#place(e, i);
  }

  #down(i: number): void {
    const n = this.#heap.length;
    const e = this.#at(i);
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const c = r < n && queueBefore(this.#at(r), this.#at(l)) ? r : l;
      const child = this.#at(c);
      if (!queueBefore(child, e)) break;
      this.#place(child, i);
      i = c;
    }
    this.#place(e, i);
  }
}
