// A first-fit allocator over a guest memory region, for ring areas and request
// buffers. The driver owns it; the device never sees it (it only sees addresses).

import type { GuestRange } from './guest-memory.js';
import { isPowerOfTwo } from './ring-layout.js';

interface Extent {
  addr: number;
  len: number;
}

/**
 * First-fit allocator with coalescing free list. Allocation failure is a value
 * (`undefined`): running out of guest memory is a resource condition, not a bug.
 */
export class GuestAllocator {
  readonly base: number;
  readonly size: number;
  /** Free extents sorted by address, never adjacent (coalesced on free). */
  readonly #free: Extent[];
  readonly #live = new Map<number, number>();

  constructor(base: number, size: number) {
    if (!Number.isSafeInteger(base) || base < 0 || !Number.isSafeInteger(size) || size <= 0) {
      throw new RangeError(`allocator region must be non-negative integers, got base ${base} size ${size}`);
    }
    this.base = base;
    this.size = size;
    this.#free = [{ addr: base, len: size }];
  }

  /** Bytes currently free (not necessarily contiguous). */
  get freeBytes(): number {
    let n = 0;
    for (const e of this.#free) n += e.len;
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
    for (let i = 0; i < this.#free.length; i++) {
      const e = this.#free[i];
      if (e === undefined) break;
      const start = Math.ceil(e.addr / align) * align;
      const pad = start - e.addr;
      if (pad + len > e.len) continue;
      const tail = e.len - pad - len;
      const pieces: Extent[] = [];
      if (pad > 0) pieces.push({ addr: e.addr, len: pad });
      if (tail > 0) pieces.push({ addr: start + len, len: tail });
      this.#free.splice(i, 1, ...pieces);
      this.#live.set(start, len);
      return { addr: start, len };
    }
    return undefined;
  }

  /** Frees an allocation by its start address. Freeing an unknown address is a caller bug. */
  free(addr: number): void {
    const len = this.#live.get(addr);
    if (len === undefined) throw new RangeError(`free of address ${addr} that is not a live allocation`);
    this.#live.delete(addr);
    let i = 0;
    while (i < this.#free.length && (this.#free[i]?.addr ?? Infinity) < addr) i++;
    const prev = this.#free[i - 1];
    const next = this.#free[i];
    if (prev !== undefined && prev.addr + prev.len === addr) {
      prev.len += len;
      if (prev.addr + prev.len === next?.addr) {
        prev.len += next.len;
        this.#free.splice(i, 1);
      }
    } else if (next?.addr === addr + len) {
      next.addr = addr;
      next.len += len;
    } else {
      this.#free.splice(i, 0, { addr, len });
    }
  }
}
