// A reusable list of guest ranges for the per-request path of the device
// side: the ring walk's readable and writable buffers, the request's data
// buffers. A request used to cost a fresh array and a fresh object per buffer
// at each of those steps; a RangeList costs neither once warm.

import type { GuestRange } from './guest-memory.js';

interface MutableRange {
  addr: number;
  len: number;
}

/**
 * Ranges collected one by one and lent out as an array of exact length. The
 * i-th range object is always the same one, so the array of each length is
 * built once and stays valid (its elements are overwritten in place): what
 * {@link RangeList.ranges} returns is good until the next {@link RangeList.clear}.
 */
export class RangeList {
  readonly #ranges: MutableRange[] = [];
  /** By length: the first n range objects. An exact-length array, not a grown one (no length to set: a slow builtin). */
  readonly #byLength: GuestRange[][] = [];
  #n = 0;

  /** Ranges added since the last clear. */
  get length(): number {
    return this.#n;
  }

  clear(): void {
    this.#n = 0;
  }

  add(addr: number, len: number): void {
    const r = this.#ranges[this.#n];
    if (r === undefined) {
      this.#ranges.push({ addr, len });
    } else {
      r.addr = addr;
      r.len = len;
    }
    this.#n++;
  }

  /** The ranges added since the last clear, lent until the next clear (copy what must outlive it). */
  ranges(): readonly GuestRange[] {
    const n = this.#n;
    let list = this.#byLength[n];
    if (list === undefined) {
      list = this.#ranges.slice(0, n);
      this.#byLength[n] = list;
    }
    return list;
  }
}
