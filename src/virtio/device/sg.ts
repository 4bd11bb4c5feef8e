// Scatter-gather helpers over a chain's buffers. With VIRTIO_F_VERSION_1 the
// device "MUST NOT make assumptions about the particular arrangement of
// descriptors" (§2.7.4.1 / ANY_LAYOUT), so a virtio-blk header may span
// descriptors and the status byte is simply the last writable byte.

import type { GuestMemory, GuestRange } from '../guest-memory.js';
import type { RangeList } from '../range-list.js';

/** Total bytes of a buffer list. */
export function sgLength(ranges: readonly GuestRange[]): number {
  let n = 0;
  for (const r of ranges) n += r.len;
  return n;
}

/** Copies `len` bytes starting `offset` bytes into the list; undefined if the list is shorter. */
export function sgRead(mem: GuestMemory, ranges: readonly GuestRange[], offset: number, len: number): Uint8Array | undefined {
  const out = new Uint8Array(len);
  let skip = offset;
  let done = 0;
  for (const r of ranges) {
    if (done === len) break;
    if (skip >= r.len) {
      skip -= r.len;
      continue;
    }
    const n = Math.min(r.len - skip, len - done);
    const src = mem.view(r.addr + skip, n);
    if (src === undefined) return undefined;
    out.set(src, done);
    done += n;
    skip = 0;
  }
  return done === len ? out : undefined;
}

/**
 * The sub-ranges covering [offset, offset+len) of the list, for zero-copy I/O
 * straight into or out of guest memory, collected in `out` (cleared first) and
 * lent as {@link RangeList.ranges} is: valid until `out` is cleared again.
 */
export function sgSlice(ranges: readonly GuestRange[], offset: number, len: number, out: RangeList): readonly GuestRange[] {
  out.clear();
  let skip = offset;
  let left = len;
  for (const r of ranges) {
    if (left === 0) break;
    if (skip >= r.len) {
      skip -= r.len;
      continue;
    }
    const n = Math.min(r.len - skip, left);
    if (n > 0) out.add(r.addr + skip, n);
    left -= n;
    skip = 0;
  }
  return out.ranges();
}
