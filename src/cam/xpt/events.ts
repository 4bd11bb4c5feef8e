// Async event subscribers (FreeBSD xpt_register_async / xpt_async). Events
// are delivered after the current call stack, one microtask each, in the
// order they were posted, to the subscribers present at delivery time — so a
// SIM reporting an event from inside a completion never re-enters a periph
// that is itself in the middle of a call into the XPT.

import { CAM_LUN_WILDCARD, CAM_TARGET_WILDCARD, type CamPath } from '../ccb.js';
import type { AsyncCode } from '../async.js';
import type { AsyncCallback } from './periph-api.js';

interface Subscriber {
  readonly mask: number;
  readonly path: CamPath | undefined;
  readonly cb: AsyncCallback;
}

const matches = (a: number, b: number, wildcard: number): boolean => a === b || a === wildcard || b === wildcard;

/**
 * Whether an event on `event` concerns a subscriber of `sub`: the same bus,
 * and target and LUN equal or a wildcard on either side (a bus-wide event
 * reaches every device's subscriber; a bus subscription sees every device).
 */
export function pathMatches(sub: CamPath | undefined, event: CamPath): boolean {
  if (sub === undefined) return true;
  return sub.bus === event.bus && matches(sub.target, event.target, CAM_TARGET_WILDCARD) && matches(sub.lun, event.lun, CAM_LUN_WILDCARD);
}

export class AsyncEvents {
  readonly #subs = new Set<Subscriber>();

  /** Subscribes `cb` to the codes in `mask` on `path` (undefined: everywhere); returns the unsubscribe function. */
  subscribe(mask: number, path: CamPath | undefined, cb: AsyncCallback): () => void {
    if (!Number.isInteger(mask) || mask <= 0) throw new RangeError(`onAsync: mask must be a positive integer of AsyncCode bits, got ${mask}`);
    const sub: Subscriber = { mask, path, cb };
    this.#subs.add(sub);
    return () => {
      this.#subs.delete(sub);
    };
  }

  /** Posts an event for delivery after the current call stack. */
  post(code: AsyncCode, path: CamPath, arg: unknown): void {
    queueMicrotask(() => {
      for (const s of [...this.#subs]) {
        if ((s.mask & code) !== 0 && this.#subs.has(s) && pathMatches(s.path, path)) s.cb(code, path, arg);
      }
    });
  }
}
