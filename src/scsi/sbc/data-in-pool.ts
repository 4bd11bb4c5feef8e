// Data-In buffers for READ: every READ returns a fresh buffer to its
// initiator, and a 4 KiB one with an ArrayBuffer of its own would cost more
// than everything else the emulator does, so small ones are cut from shared
// zeroed slabs (../slab.ts: no buffer ever sees another's bytes). The price:
// a buffer's `buffer` is the slab (mind `byteOffset`), and one long-lived
// buffer keeps its whole slab alive.

import { SlabCutter } from '../slab.js';

/** Slab size: 16 buffers of 4 KiB. */
export const DATA_IN_SLAB_BYTES = 64 * 1024;
/** Larger buffers get an ArrayBuffer of their own (the per-buffer cost is small next to their copy). */
export const DATA_IN_POOLED_MAX = 8 * 1024;
/** Buffers start 8-byte aligned within a slab, so a DataView or a wider typed array over one stays cheap. */
const ALIGN = 8;

/** Zeroed Uint8Arrays for Data-In, pooled when small. */
export class DataInPool {
  readonly #slabs = new SlabCutter(DATA_IN_SLAB_BYTES);

  /** A zeroed buffer of `bytes` bytes (a view into a shared slab up to DATA_IN_POOLED_MAX bytes). */
  alloc(bytes: number): Uint8Array {
    if (bytes > DATA_IN_POOLED_MAX || bytes === 0) return new Uint8Array(bytes);
    return this.#slabs.cut(bytes, 0, ALIGN);
  }
}
