// Data-In buffers for READ, carved from shared slabs the way Node's
// Buffer.allocUnsafe carves small Buffers from its pool. Every READ returns a
// fresh buffer to its initiator, and in V8 each ArrayBuffer is a separate
// off-heap allocation that the garbage collector tracks one by one: for a
// 4 KiB READ that cost more than everything else the emulator does. Slabs are
// zero-filled and never reused (the pool only moves forward), so no buffer
// ever sees another's bytes; a slab is freed when the last buffer cut from it
// is. The price: a buffer's `buffer` is the slab (mind `byteOffset`), and one
// long-lived buffer keeps its whole slab alive.

/** Slab size: 16 buffers of 4 KiB. */
export const DATA_IN_SLAB_BYTES = 64 * 1024;
/** Larger buffers get an ArrayBuffer of their own (the per-buffer cost is small next to their copy). */
export const DATA_IN_POOLED_MAX = 8 * 1024;
/** Buffers start 8-byte aligned within a slab, so a DataView or a wider typed array over one stays cheap. */
const ALIGN = 8;

/** Zeroed Uint8Arrays for Data-In, pooled when small. */
export class DataInPool {
  #slab: ArrayBuffer = new ArrayBuffer(0);
  #used = 0;

  /** A zeroed buffer of `bytes` bytes (a view into a shared slab up to DATA_IN_POOLED_MAX bytes). */
  alloc(bytes: number): Uint8Array {
    if (bytes > DATA_IN_POOLED_MAX || bytes === 0) return new Uint8Array(bytes);
    if (this.#used + bytes > this.#slab.byteLength) {
      this.#slab = new ArrayBuffer(DATA_IN_SLAB_BYTES);
      this.#used = 0;
    }
    const out = new Uint8Array(this.#slab, this.#used, bytes);
    this.#used += Math.ceil(bytes / ALIGN) * ALIGN;
    return out;
  }
}
