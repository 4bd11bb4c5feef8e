// What the SBC emulator's READ/WRITE fast path keeps for a command while the
// block set has it: the range lock's hold, the buffer, and whom to answer.
// Records are kept on a free list and reused, each with its completion
// callback made once for the record's lifetime: a closure per command over
// that state would give every READ and WRITE a function object and a
// context. The fast path (fast-path.ts) fills a record, hands its callback to
// the block set, and puts the record back before it answers (the answer may
// start the next command, which then reuses it); a record whose block set
// threw is never put back. Also start()'s out-of-line helpers for its slow
// paths.

import type { BlockStatus } from './block-command-set.js';
import type { SbcResult } from './execute-api.js';
import type { RangeHold } from './range-lock.js';

const NO_BYTES = new Uint8Array(0);

// start()'s callbacks for its slow paths, out of line: a closure over `done`
// inside start() would give every call, fast path included, a context object.

/** `done(undefined, ctx)` a turn later: start() failed before anything ran. */
export function failLater(done: (r: SbcResult | undefined, ctx: unknown) => void, ctx: unknown): void {
  queueMicrotask(() => {
    done(undefined, ctx);
  });
}

/** `done` with what `pending` resolves to (undefined for a rejection) and `ctx`. */
export function answerWhenSettled(pending: Promise<SbcResult>, done: (r: SbcResult | undefined, ctx: unknown) => void, ctx: unknown): void {
  pending.then(
    (r) => {
      done(r, ctx);
    },
    () => {
      done(undefined, ctx);
    },
  );
}

/** execute()'s fast path answers its promise through start()'s callback form: `ctx` is the resolve function. */
export function resolveWith(r: SbcResult, resolve: unknown): void {
  (resolve as (r: SbcResult) => void)(r);
}

/** One fast-path READ or WRITE at the block set. */
export class FastIo {
  write = false;
  lba = 0n;
  buf: Uint8Array = NO_BYTES;
  hold: RangeHold | undefined;
  /** Whom to answer, and what to hand back with the answer (start()'s context). */
  done: ((r: SbcResult, ctx: unknown) => void) | undefined;
  ctx: unknown;
  /** The block set's callback for this record: made once by the FastPath that owns it (fast-path.ts). */
  readonly finish: (status: BlockStatus | undefined) => void;
  /** The free list's link. */
  next: FastIo | undefined;

  constructor(finish: (io: FastIo, status: BlockStatus | undefined) => void) {
    this.finish = (status) => {
      finish(this, status);
    };
  }

  /** Drops what the record held, for its free list. */
  clear(): this {
    this.buf = NO_BYTES;
    this.hold = undefined;
    this.done = undefined;
    this.ctx = undefined;
    return this;
  }
}
