// How the virtio-blk driver completes a request: its slot (blk-queue.ts) and
// the guest memory its chain took (blk-chain.ts) go back first, then the
// caller's callback runs, so a callback that submits again finds the room its
// own request left. The interrupt handler runs the completions collectUsed
// took off the ring (VIRTIO 1.2 §2.7.14) as one list, in used order, after
// the ring walk is over (cf. FreeBSD sys/dev/virtio/block/virtio_blk.c:
// vtblk_queue_completed, then vtblk_done_completed). A callback that throws
// is a bug above the driver: it must not cost the callbacks after it theirs,
// so what it throws comes back as a value, to be rethrown once all have run.
//
// Its own module because the driver's interrupt handler and its teardown
// (blk-lifecycle.ts, through the driver's complete hook) both end requests
// here, and because a callback's failure is kept apart from the ring walk.
// Plain functions of the queue, called directly: a completion costs what it
// did as the driver's private method.

import type { BlkCompletion } from './blk-request.js';
import type { Queue, Slot } from './blk-queue.js';
import type { BlkChainBuilder } from './blk-chain.js';

/** What a caller's callback threw (wrapped: a callback may throw anything, undefined included). */
export interface CallbackFailure {
  readonly error: unknown;
}

/** Completes the request in `slot` with `c`: frees what it took (segment memory, the slot), then calls its `done`. */
export function completeSlot(queue: Queue, chains: BlkChainBuilder, slot: Slot, c: BlkCompletion): void {
  const fn = slot.done;
  slot.done = undefined;
  chains.freeExtra(slot);
  queue.freeSlots.push(slot.index);
  fn?.(c);
}

/**
 * Completes every slot of the list that starts at `first` (collectUsed,
 * appendAborted), in order. Each slot leaves the list before its callback
 * runs: the callback may submit into it again. Returns the first error a
 * callback threw, after every one has run.
 */
export function completeList(queue: Queue, chains: BlkChainBuilder, first: Slot | undefined): CallbackFailure | undefined {
  let failure: CallbackFailure | undefined;
  for (let slot = first; slot !== undefined; ) {
    const next = slot.nextDone;
    const c = slot.completion as BlkCompletion;
    slot.nextDone = undefined;
    slot.completion = undefined;
    try {
      completeSlot(queue, chains, slot, c);
    } catch (error) {
      failure ??= { error };
    }
    slot = next;
  }
  return failure;
}

/** Runs a caller's callback; what it throws comes back as a value (see the file header). */
export function callBack<A>(fn: (a: A) => void, a: A): CallbackFailure | undefined {
  try {
    fn(a);
    return undefined;
  } catch (error) {
    return { error };
  }
}
