// A first-fit allocator over a guest memory region, for ring areas and request
// buffers. The driver owns it; the device never sees it (it only sees addresses).
//
// Free extents and live allocations are kept in sorted Float64Arrays (addresses
// are below 2^53), moved with copyWithin: the SIM allocates and frees a data
// buffer for every I/O, and an object per extent plus a Map of live
// allocations churned per I/O cost more than the search itself (a hash table
// churned that often also makes V8's scavenger keep garbage alive).

import type { GuestRange } from './guest-memory.js';
import { isPowerOfTwo } from './ring-layout.js';

/** A sorted list of (key, value) pairs, interleaved in one Float64Array (one copyWithin per move), growing by doubling. */
class SortedPairs {
  #data = new Float64Array(32);
  size = 0;

  key(i: number): number {
    return this.#data[2 * i] ?? 0;
  }

  value(i: number): number {
    return this.#data[2 * i + 1] ?? 0;
  }

  set(i: number, key: number, value: number): void {
    this.#data[2 * i] = key;
    this.#data[2 * i + 1] = value;
  }

  /** Index of the first key ≥ `key` (binary search). */
  lowerBound(key: number): number {
    let lo = 0;
    let hi = this.size;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.key(mid) < key) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  insertAt(i: number, key: number, value: number): void {
    if (2 * this.size === this.#data.length) {
      const grown = new Float64Array(this.#data.length * 2);
      grown.set(this.#data);
      this.#data = grown;
    }
    this.#data.copyWithin(2 * i + 2, 2 * i, 2 * this.size);
    this.set(i, key, value);
    this.size++;
  }

  removeAt(i: number): void {
    this.#data.copyWithin(2 * i, 2 * i + 2, 2 * this.size);
    this.size--;
  }
}

/**
 * First-fit allocator with coalescing free list. Allocation failure is a value
 * (`undefined`): running out of guest memory is a resource condition, not a bug.
 */
export class GuestAllocator {
  readonly base: number;
  readonly size: number;
  /** Free extents (address → length) sorted by address, never adjacent (coalesced on free). */
  readonly #free = new SortedPairs();
  /** Live allocations (address → length) sorted by address. */
  readonly #live = new SortedPairs();

  constructor(base: number, size: number) {
    if (!Number.isSafeInteger(base) || base < 0 || !Number.isSafeInteger(size) || size <= 0) {
      throw new RangeError(`allocator region must be non-negative integers, got base ${base} size ${size}`);
    }
    this.base = base;
    this.size = size;
    this.#free.insertAt(0, base, size);
  }

  /** Bytes currently free (not necessarily contiguous). */
  get freeBytes(): number {
    let n = 0;
    for (let i = 0; i < this.#free.size; i++) n += this.#free.value(i);
    return n;
  }

  /** Number of live allocations. */
  get liveCount(): number {
    return this.#live.size;
  }

  /**
   * Allocates `len` bytes aligned to `align` (a power of two). Returns the range,
   * or undefined when no free extent can hold it.
   */
  alloc(len: number, align = 8): GuestRange | undefined {
    if (!Number.isSafeInteger(len) || len <= 0) throw new RangeError(`allocation length must be a positive integer, got ${len}`);
    if (!isPowerOfTwo(align)) {
      throw new RangeError(`alignment must be a power of two, got ${align}`);
    }
    const free = this.#free;
    for (let i = 0; i < free.size; i++) {
      const extent = free.value(i);
      if (extent < len) continue; // too small whatever its alignment
      const addr = free.key(i);
      const start = Math.ceil(addr / align) * align;
      const pad = start - addr;
      if (pad + len > extent) continue;
      const tail = extent - pad - len;
      // What is left of the extent: the padding before the block, the tail after it, both, or nothing.
      if (pad > 0) {
        free.set(i, addr, pad);
        if (tail > 0) free.insertAt(i + 1, start + len, tail);
      } else if (tail > 0) {
        free.set(i, start + len, tail);
      } else {
        free.removeAt(i);
      }
      this.#live.insertAt(this.#live.lowerBound(start), start, len);
      return { addr: start, len };
    }
    return undefined;
  }

  /** Frees an allocation by its start address. Freeing an unknown address is a caller bug. */
  free(addr: number): void {
    const live = this.#live;
    const at = live.lowerBound(addr);
    if (at >= live.size || live.key(at) !== addr) throw new RangeError(`free of address ${addr} that is not a live allocation`);
    const len = live.value(at);
    live.removeAt(at);
    const free = this.#free;
    const i = free.lowerBound(addr);
    const prevEnd = i > 0 ? free.key(i - 1) + free.value(i - 1) : -1;
    const nextAddr = i < free.size ? free.key(i) : -1;
    if (prevEnd === addr) {
      const merged = free.value(i - 1) + len + (nextAddr === addr + len ? free.value(i) : 0);
      free.set(i - 1, free.key(i - 1), merged);
      if (nextAddr === addr + len) free.removeAt(i);
    } else if (nextAddr === addr + len) {
      free.set(i, addr, free.value(i) + len);
    } else {
      free.insertAt(i, addr, len);
    }
  }
}
