// The descriptor chain of one virtio-blk request as the driver hands it to the
// ring (VIRTIO 1.2 §5.2.6): the slot's header (device-readable), the data
// buffers, the slot's status byte (device-writable). READ and WRITE chains
// reuse one set of arrays and buffer objects; DISCARD and WRITE_ZEROES carry
// their segment array in guest memory taken for the request and freed when it
// completes (or never reaches the ring). The driver (blk-driver.ts) writes the
// header and owns the slot. check() finds the caller bugs a request can carry
// before the driver takes anything for it (its slot, segment memory), so that
// build() and the ring's add() meet none: a request that throws leaves nothing
// behind, and one that waited for room cannot throw when it is let in.

import type { GuestAllocator } from './guest-allocator.js';
import type { GuestMemory, GuestRange } from './guest-memory.js';
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
  checkDiscardSegments,
  encodeDiscardSegments,
} from './blk-wire.js';
import type { BlkRequest } from './blk-request.js';
import type { Slot } from './blk-queue.js';

const U32_MAX = 0xffff_ffff;
const U64_MAX = (1n << 64n) - 1n;

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
   * Throws the RangeError of a request no chain of a queue taking
   * `maxDataBuffers` can carry (a caller bug): more data buffers than that, a
   * SECTOR that is not a u64, a data buffer outside guest memory (the ring's
   * add() would refuse it), a GET_ID buffer under VIRTIO_BLK_ID_BYTES
   * (§5.2.6.1), a DISCARD/WRITE_ZEROES without segments or with one that
   * cannot be encoded. Takes nothing.
   */
  check(req: BlkRequest, maxDataBuffers: number): void {
    const n = dataBuffers(req);
    if (n > maxDataBuffers) throw new RangeError(`request has ${n} data buffers; this queue takes at most ${maxDataBuffers} (seg_max and ring size)`);
    const mem = this.#transport.memory;
    switch (req.type) {
      case VIRTIO_BLK_T_IN:
      case VIRTIO_BLK_T_OUT:
        if (req.sector < 0n || req.sector > U64_MAX) throw new RangeError(`request sector ${req.sector} is not a u64`);
        for (const r of req.data) checkBuffer(mem, r);
        return;
      case VIRTIO_BLK_T_FLUSH: return;
      case VIRTIO_BLK_T_GET_ID:
        if (req.data.len < VIRTIO_BLK_ID_BYTES) throw new RangeError(`GET_ID needs a ${VIRTIO_BLK_ID_BYTES}-byte buffer, got ${req.data.len}`);
        checkBuffer(mem, req.data);
        return;
      case VIRTIO_BLK_T_DISCARD:
      case VIRTIO_BLK_T_WRITE_ZEROES:
        if (req.segments.length === 0) throw new RangeError('discard/write-zeroes needs at least one segment');
        checkDiscardSegments(req.segments);
        return;
      default:
        // Only a caller outside the type system gets here; such a request would otherwise wait for ever.
        throw new RangeError(`request type ${String((req as { readonly type: unknown }).type)} is not one this driver sends (§5.2.6)`);
    }
  }

  /**
   * The chain of `req` (which passed {@link check}) in `slot`, valid until the
   * next build(); undefined when guest memory for a segment array is short
   * (nothing is held then).
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
      case VIRTIO_BLK_T_GET_ID: return [header, { addr: req.data.addr, len: req.data.len, write: true }, status];
      case VIRTIO_BLK_T_DISCARD:
      case VIRTIO_BLK_T_WRITE_ZEROES: {
        const bytes = encodeDiscardSegments(req.segments);
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

/** Data buffers `req` carries (what its descriptor cost depends on). */
export function dataBuffers(req: BlkRequest): number {
  switch (req.type) {
    case VIRTIO_BLK_T_IN:
    case VIRTIO_BLK_T_OUT: return req.data.length;
    case VIRTIO_BLK_T_GET_ID:
    case VIRTIO_BLK_T_DISCARD:
    case VIRTIO_BLK_T_WRITE_ZEROES: return 1;
    case VIRTIO_BLK_T_FLUSH: return 0;
  }
}

/** A data buffer the ring's add() takes: inside guest memory, its length a le32 (§2.7.5). */
function checkBuffer(mem: GuestMemory, r: GuestRange): void {
  if (!mem.contains(r.addr, r.len) || r.len > U32_MAX) throw new RangeError(`data buffer [${r.addr}, +${r.len}) is outside guest memory`);
}
