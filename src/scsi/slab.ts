// Small views cut one after another from shared ArrayBuffers, the way Node's
// Buffer.allocUnsafe cuts small Buffers from its pool: in V8 every
// ArrayBuffer is an off-heap allocation the garbage collector tracks one by
// one, which for a 48-byte header or a 4 KiB READ costs more than the work
// around it. Slabs are zeroed and the cutter only moves forward, so no byte is
// handed out twice and a view nobody wrote reads as zeros, never as another's
// data; a slab is freed when the last view on it is. The price: a view's
// `buffer` is the slab (mind `byteOffset`), and one long-lived view keeps its
// whole slab alive. Users: iSCSI headers (bhs-layout.ts), Data-In buffers
// (sbc/data-in-pool.ts) and Data-In rooms (iscsi/data-in-rooms.ts).

/** Cuts zeroed views from slabs of a fixed size, each right after the one before while the slab lasts. */
export class SlabCutter {
  readonly #slabBytes: number;
  #slab = new ArrayBuffer(0);
  #used = 0;

  /** @throws RangeError unless `slabBytes` is a positive integer. */
  constructor(slabBytes: number) {
    if (!Number.isInteger(slabBytes) || slabBytes <= 0) throw new RangeError(`SlabCutter: slabBytes must be a positive integer, got ${slabBytes}`);
    this.#slabBytes = slabBytes;
  }

  /**
   * A zeroed view of `bytes` bytes with `gap` free bytes in front of it (room for a header the caller
   * writes there), in the current slab when they fit, else at the start of a new one. The next cut starts
   * right after it, rounded up to a multiple of `align`.
   * @throws RangeError when gap and bytes together do not fit one slab, or for a negative or fractional size.
   */
  cut(bytes: number, gap = 0, align = 1): Uint8Array {
    const need = gap + bytes;
    if (!Number.isInteger(need) || bytes < 0 || gap < 0 || need > this.#slabBytes) {
      throw new RangeError(`SlabCutter.cut: ${gap} + ${bytes} bytes do not fit a ${this.#slabBytes}-byte slab`);
    }
    if (this.#used + need > this.#slab.byteLength) {
      this.#slab = new ArrayBuffer(this.#slabBytes);
      this.#used = 0;
    }
    const view = new Uint8Array(this.#slab, this.#used + gap, bytes);
    const end = this.#used + need;
    this.#used = align === 1 ? end : Math.ceil(end / align) * align;
    return view;
  }
}
