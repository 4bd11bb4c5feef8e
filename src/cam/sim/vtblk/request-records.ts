// What VirtioBlockCommandSet keeps for a request while the driver has it:
// the request's charge to its queue (Submission) and, for a READ or WRITE,
// the transfer it belongs to (Transfer, itself the BlkRequest the driver
// reads). Both are records kept on free lists and reused, each with its
// completion callback made once for the record's lifetime: closures over a
// transfer's state would give every READ and WRITE two function objects and
// two contexts, and the request object a third allocation. The set fills a
// record, hands its callback to the driver, and puts the record back on its
// list before passing the answer on (the answer may start the next request,
// which then reuses it).

import type { GuestRange } from '../../../virtio/guest-memory.js';
import type { BlkCompletion } from '../../../virtio/blk-request.js';
import { VIRTIO_BLK_T_IN, type VIRTIO_BLK_T_OUT } from '../../../virtio/blk-wire.js';
import type { BlockStatus } from '../../../scsi/sbc/block-command-set.js';
import type { WriteEpoch } from './flush-order.js';
import type { QueueLoad } from './queue-load.js';

const NO_RANGES: GuestRange[] = [];
const NO_BYTES = new Uint8Array(0);

/** A promise over a callback-form operation (exactly one call of `done`); a synchronous throw rejects it. */
export function promised<T>(start: (done: (value: T) => void) => void): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    try {
      start(resolve);
    } catch (e) {
      reject(e instanceof Error ? e : new Error(String(e)));
    }
  });
}

/**
 * `then(c)` a turn later. Out of line: the closure inside the set's completion
 * callback would give every completion a context object.
 */
export function answerLater(then: (c: BlkCompletion) => void, c: BlkCompletion): void {
  queueMicrotask(() => {
    then(c);
  });
}

/** A request charged to a queue, from the driver's enqueue until its answer. */
export class Submission {
  /** Descriptors charged to `load`. */
  cost = 0;
  load: QueueLoad | undefined;
  /** Still inside the driver's enqueue: an answer then is deferred a turn. */
  submitting = false;
  then: ((c: BlkCompletion) => void) | undefined;
  /** The driver's callback for this record: made once by the set that owns the record. */
  readonly answered: (c: BlkCompletion) => void;
  /** The free list's link. */
  next: Submission | undefined;

  constructor(answered: (s: Submission, c: BlkCompletion) => void) {
    this.answered = (c) => {
      answered(this, c);
    };
  }

  /** Drops what the record held, for its free list. */
  clear(): this {
    this.load = undefined;
    this.then = undefined;
    return this;
  }

  /** Whether it was answered (cleared): a getter, read after a call that may have answered it. */
  get cleared(): boolean {
    return this.then === undefined;
  }
}

/** A READ or WRITE between its guest memory being held and its answer; the BlkRequest the driver reads. */
export class Transfer {
  type: typeof VIRTIO_BLK_T_IN | typeof VIRTIO_BLK_T_OUT = VIRTIO_BLK_T_IN;
  sector = 0n;
  data: GuestRange[] = NO_RANGES;
  /** The caller's buffer: Data-Out staged from it, Data-In copied back into it. */
  buf: Uint8Array = NO_BYTES;
  epoch: WriteEpoch | undefined;
  done: ((s: BlockStatus) => void) | undefined;
  /** The request's answer for this record: made once by the set that owns the record. */
  readonly completed: (c: BlkCompletion) => void;
  /** The free list's link. */
  next: Transfer | undefined;

  constructor(completed: (t: Transfer, c: BlkCompletion) => void) {
    this.completed = (c) => {
      completed(this, c);
    };
  }

  /** Drops what the record held (buffers, the caller's callback), for its free list. */
  clear(): this {
    this.data = NO_RANGES;
    this.buf = NO_BYTES;
    this.epoch = undefined;
    this.done = undefined;
    return this;
  }
}
