// The descriptor chain of one virtio-blk request as the driver hands it to the
// ring (VIRTIO 1.2 §5.2.6): the slot's header (device-readable), the data
// buffers, the slot's status byte (device-writable). READ and WRITE chains
// reuse one set of arrays and buffer objects; DISCARD and WRITE_ZEROES carry
// their segment array in guest memory taken for the request and freed when it
// completes (or never reaches the ring). The driver (blk-driver.ts) writes the
// header and owns the slot.

import type { GuestAllocator } from './guest-allocator.js';
import type { GuestRange } from './guest-memory.js';
import type { VirtqBuffer } from './split-ring-driver.js';
import type { VirtioTransport } from './transport/transport.js';
import {
  VIRTIO_BLK_ID_BYTES,
  VIRTIO_BLK_T_DISCARD,
  VIRTIO_BLK_T_FLUSH,
  VIRTIO_BLK_T_GET_ID,
  VIRTIO_BLK_T_IN,
  VIRTIO_BLK_T_OUT,
  VIRTIO_BLK_T_WRITE_ZEROES,
  encodeDiscardSegments,
} from './blk-wire.js';
import type { BlkRequest } from './blk-request.js';
import type { Slot } from './blk-queue.js';

/** A data buffer as {@link BlkChainBuilder.build} builds it, reused request after request (the ring copies it before add() returns). */
interface ScratchBuffer {
  addr: number;
  len: number;
  write: boolean;
}

/** Builds the chains of one driver's requests. */
export class BlkChainBuilder {
  readonly #transport: VirtioTransport;
  readonly #alloc: GuestAllocator;
  /**
   * The chains build() hands to ring.add, by data buffer count, and their data
   * buffers: add() writes them into the ring before it returns, so one set
   * serves every request (no array and no object per buffer per request, and
   * no length to set: a slow builtin).
   */
  readonly #chains: VirtqBuffer[][] = [];
  readonly #scratch: ScratchBuffer[] = [];

  /** `transport.memory` takes the DISCARD/WRITE_ZEROES segment arrays, from `alloc`. */
  constructor(transport: VirtioTransport, alloc: GuestAllocator) {
    this.#transport = transport;
    this.#alloc = alloc;
  }

  /**
   * The chain of `req` in `slot`, valid until the next build(); undefined when
   * guest memory for a segment array is short (nothing is held then). Throws
   * RangeError for a GET_ID buffer under VIRTIO_BLK_ID_BYTES and for a
   * DISCARD/WRITE_ZEROES without segments.
   */
  build(req: BlkRequest, slot: Slot): readonly VirtqBuffer[] | undefined {
    const header = slot.headerBuffer;
    const status = slot.statusBuffer;
    switch (req.type) {
      case VIRTIO_BLK_T_IN:
      case VIRTIO_BLK_T_OUT: {
        const write = req.type === VIRTIO_BLK_T_IN;
        const scratch = this.#scratch;
        const n = req.data.length;
        let chain = this.#chains[n];
        if (chain === undefined) {
          chain = Array.from({ length: n + 2 }, () => header);
          this.#chains[n] = chain;
        }
        chain[0] = header;
        for (let i = 0; i < n; i++) {
          const r = req.data[i] as GuestRange;
          let b = scratch[i];
          if (b === undefined) {
            b = { addr: 0, len: 0, write: false };
            scratch.push(b);
          }
          b.addr = r.addr;
          b.len = r.len;
          b.write = write;
          chain[i + 1] = b;
        }
        chain[n + 1] = status;
        return chain;
      }
      case VIRTIO_BLK_T_FLUSH: return [header, status];
      case VIRTIO_BLK_T_GET_ID:
        if (req.data.len < VIRTIO_BLK_ID_BYTES) throw new RangeError(`GET_ID needs a ${VIRTIO_BLK_ID_BYTES}-byte buffer, got ${req.data.len}`);
        return [header, { addr: req.data.addr, len: req.data.len, write: true }, status];
      case VIRTIO_BLK_T_DISCARD:
      case VIRTIO_BLK_T_WRITE_ZEROES: {
        const bytes = encodeDiscardSegments(req.segments);
        if (bytes.length === 0) throw new RangeError('discard/write-zeroes needs at least one segment');
        const r = this.#alloc.alloc(bytes.length, 8);
        if (r === undefined) return undefined;
        this.#transport.memory.copyIn(r.addr, bytes);
        slot.extra = r.addr;
        return [header, { addr: r.addr, len: bytes.length, write: false }, status];
      }
    }
  }

  /** Frees the guest memory build() took for `slot`'s request (its segment array), if any. */
  freeExtra(slot: Slot): void {
    if (slot.extra !== undefined) this.#alloc.free(slot.extra);
    slot.extra = undefined;
  }
}
