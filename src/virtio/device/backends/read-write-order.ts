// The order between a file backend's asynchronous reads and writes that
// overlap. They run at the same time in libuv's thread pool, and a buffered
// pread(2) is not atomic against a concurrent pwrite(2): on Linux the read
// copies a page out while the write is copying into it, so a read can return a
// logical block that is partly the old data and partly the new. A disk reads a
// logical block whole, old or new (the logical block is SBC-4's unit of data),
// so a read and a write that overlap must not run at the same time.
// Writes need no order among themselves (the kernel copies a write into a page
// under the page lock, so two writes do not mix inside a block), nor reads
// among themselves. SAM-5 promises no order between overlapping commands with
// the SIMPLE task attribute, so which of a read and a write goes first is the
// order they arrived in.

/** What an operation does to the image: discards and write-zeroes write zeros, so they are writes. */
export type DataOpKind = 'read' | 'write';

/** One operation that has arrived and not yet ended: the bytes [start, end) it reads or writes. */
interface InFlight {
  readonly start: number;
  readonly end: number;
  /** Settles when the operation has ended; made only when a later operation waits for it. */
  ended: Promise<void> | undefined;
  markEnded: (() => void) | undefined;
}

/**
 * Runs each operation once every earlier one of the other kind that overlaps it
 * has ended: a read waits for the writes that arrived before it, a write for
 * the reads. Nothing waits for a later arrival, so a stream of reads cannot
 * hold a write back for ever. Holds only the operations in flight.
 */
export class ReadWriteOrder {
  readonly #reads = new Set<InFlight>();
  readonly #writes = new Set<InFlight>();

  /** Whether no operation is in flight or waiting: then a blocking read or write may run beside nothing. */
  get idle(): boolean {
    return this.#reads.size === 0 && this.#writes.size === 0;
  }

  /** Runs `op` on [offset, offset + length) after the overlapping operations of the other kind that came before it. */
  run<T>(kind: DataOpKind, offset: number, length: number, op: () => Promise<T>): Promise<T> {
    const mine = kind === 'read' ? this.#reads : this.#writes;
    const other = kind === 'read' ? this.#writes : this.#reads;
    const self: InFlight = { start: offset, end: offset + length, ended: undefined, markEnded: undefined };
    // The common case, nothing of the other kind in flight, scans nothing.
    const before = other.size === 0 ? [] : overlapping(other, self);
    mine.add(self);
    const finish = (): void => {
      mine.delete(self);
      self.markEnded?.();
    };
    let started: Promise<T>;
    try {
      started = before.length === 0 ? op() : Promise.all(before).then(op);
    } catch (e) {
      finish();
      throw e;
    }
    return started.finally(finish);
  }
}

/** The ended-promises of the operations in `set` that share a byte with `self`. */
function overlapping(set: ReadonlySet<InFlight>, self: InFlight): Promise<void>[] {
  const waits: Promise<void>[] = [];
  for (const e of set) {
    if (e.start < self.end && self.start < e.end) waits.push(endedOf(e));
  }
  return waits;
}

/** `e.ended`, made on first use: an operation nobody waits for costs no promise. */
function endedOf(e: InFlight): Promise<void> {
  return (e.ended ??= new Promise<void>((resolve) => {
    e.markEnded = resolve;
  }));
}
