// The VirtioBlockCommandSet's operations besides READ, WRITE and FLUSH, one
// virtio-blk request each (VIRTIO 1.2 §5.2.6): DISCARD and WRITE_ZEROES, whose
// segments count in sectors, and GET_ID. None is on the per-I/O path, so each
// waits on a promise of its completion. DISCARD and WRITE_ZEROES count as
// writes for the FLUSHes after them (flush-order.ts). They reach the device
// through the set's request path (request-queues.ts: queue choice, per-queue
// load, the reset fence).

import type { BlockRange, BlockStatus, OperationAborted } from '../../../scsi/sbc/block-command-set.js';
import type { GuestMemory, GuestRange } from '../../../virtio/guest-memory.js';
import type { BlkCompletion, BlkRequest } from '../../../virtio/blk-request.js';
import {
  VIRTIO_BLK_ID_BYTES,
  VIRTIO_BLK_SECTOR_SIZE,
  VIRTIO_BLK_T_DISCARD,
  VIRTIO_BLK_T_GET_ID,
  VIRTIO_BLK_T_WRITE_ZEROES,
} from '../../../virtio/blk-wire.js';
import type { DataLimits } from './geometry.js';
import type { DataBufferPool } from './data-buffers.js';
import type { FlushOrder } from './flush-order.js';
import { blockStatus } from './block-status.js';

/** The request path of the set these requests belong to. */
export interface RequestPath {
  /** Submits through the set's request path and resolves with the completion; `aborted` is its command's, if it has one. */
  request(req: BlkRequest, aborted?: OperationAborted): Promise<BlkCompletion>;
  /** Frees a data buffer after its request completed, or quarantines it when the ring broke under it. */
  release(r: GuestRange, c: BlkCompletion): void;
}

/** DISCARD, WRITE_ZEROES and GET_ID for one VirtioBlockCommandSet. */
export class OtherRequests {
  readonly #path: RequestPath;
  readonly #memory: GuestMemory;
  readonly #data: DataBufferPool;
  readonly #limits: DataLimits;
  readonly #flushOrder: FlushOrder;

  constructor(path: RequestPath, memory: GuestMemory, data: DataBufferPool, limits: DataLimits, flushOrder: FlushOrder) {
    this.#path = path;
    this.#memory = memory;
    this.#data = data;
    this.#limits = limits;
    this.#flushOrder = flushOrder;
  }

  discard(ranges: readonly BlockRange[], aborted?: OperationAborted): Promise<BlockStatus> {
    const perBlock = this.#perBlock();
    const segments = ranges.map((r) => ({ sector: r.lba * BigInt(perBlock), numSectors: r.blocks * perBlock, unmap: false }));
    return this.#writeRequest({ type: VIRTIO_BLK_T_DISCARD, segments }, aborted);
  }

  writeZeroes(range: BlockRange, unmap: boolean, aborted?: OperationAborted): Promise<BlockStatus> {
    const perBlock = this.#perBlock();
    const segments = [{ sector: range.lba * BigInt(perBlock), numSectors: range.blocks * perBlock, unmap }];
    return this.#writeRequest({ type: VIRTIO_BLK_T_WRITE_ZEROES, segments }, aborted);
  }

  /** GET_ID: 20 bytes, NUL-padded (not terminated when all 20 are used). */
  async getId(): Promise<string | undefined> {
    const ranges = await this.#data.alloc(VIRTIO_BLK_ID_BYTES);
    const range = typeof ranges === 'string' ? undefined : ranges[0];
    if (range === undefined) return undefined;
    this.#memory.fill(range.addr, range.len);
    const c = await this.#path.request({ type: VIRTIO_BLK_T_GET_ID, data: range });
    const bytes = new Uint8Array(VIRTIO_BLK_ID_BYTES);
    this.#memory.copyOut(range.addr, bytes);
    this.#path.release(range, c);
    if (blockStatus(c) !== 'ok') return undefined;
    const end = bytes.indexOf(0);
    const id = new TextDecoder().decode(end < 0 ? bytes : bytes.subarray(0, end));
    return id === '' ? undefined : id;
  }

  #perBlock(): number {
    return this.#limits.blockBytes / VIRTIO_BLK_SECTOR_SIZE;
  }

  /** A DISCARD or WRITE_ZEROES: a write for the FLUSHes after it. */
  async #writeRequest(req: BlkRequest, aborted: OperationAborted | undefined): Promise<BlockStatus> {
    const epoch = this.#flushOrder.writeStarted();
    try {
      return blockStatus(await this.#path.request(req, aborted));
    } finally {
      this.#flushOrder.writeDone(epoch);
    }
  }
}
