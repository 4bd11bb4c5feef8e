// In-memory sparse block backend: a RAM disk for tests, demos and the device model.
//
// Storage is a Map of fixed 64 KiB chunks keyed by chunk index, allocated on first
// write, so an empty 1 TiB disk costs one empty Map. Unallocated ranges read as
// zeros. Every chunk spans min(64 KiB, size - chunkStart) bytes, so the last chunk
// of a disk whose size is not a multiple of 64 KiB is short and `allocatedBytes`
// never counts bytes past the end of the disk.

import type { AllocationExtent, BackendStatus, BlockBackend } from '../backend.js';
import { assertDiskRange, assertInBuffer, checkRamDiskOptions, isBlockSize, type RamDiskOptions } from './ram-disk.js';

/** Allocation granule. Small enough that scattered 4 KiB writes stay cheap, large enough that the Map stays short. */
const CHUNK_SIZE = 64 * 1024;

const OK: Promise<BackendStatus> = Promise.resolve('ok');
const IO_ERROR: Promise<BackendStatus> = Promise.resolve('io-error');

/** Options for {@link MemoryBackend}. */
export type MemoryBackendOptions = RamDiskOptions;

/** Capacity in bytes for `blocks` blocks of `blockSize`, or a RangeError naming the bad value. */
function diskSize(blocks: number, blockSize: 512 | 4096): number {
  if (!Number.isSafeInteger(blocks) || blocks <= 0) {
    throw new RangeError(`MemoryBackend: blocks must be a positive integer, got ${blocks}`);
  }
  const size = blocks * blockSize;
  if (!Number.isSafeInteger(size)) {
    throw new RangeError(`MemoryBackend: ${blocks} blocks of ${blockSize} bytes exceed Number.MAX_SAFE_INTEGER bytes`);
  }
  return size;
}

function assertRange(op: string, offset: number, length: number, size: number): void {
  assertDiskRange('MemoryBackend', op, offset, length, size);
}

function assertWithin(buf: Uint8Array, at: number, length: number): void {
  assertInBuffer('MemoryBackend', buf, at, length);
}

/**
 * A sparse RAM disk.
 *
 * Caller bugs (ranges outside the disk, unaligned or non-integer offsets, bad
 * constructor arguments) throw `RangeError` synchronously; I/O outcomes are the
 * resolved {@link BackendStatus}. Operations complete synchronously under the hood
 * and their promises resolve in submission order.
 */
export class MemoryBackend implements BlockBackend {
  /** Allocation granule in bytes (64 KiB): discards free whole chunks and zero partial ones. */
  static readonly chunkSize: number = CHUNK_SIZE;

  /** Logical block size in bytes. */
  readonly blockSize: 512 | 4096;
  readonly readOnly: boolean;
  #size: number;
  readonly #chunks = new Map<number, Uint8Array>();

  constructor(options: MemoryBackendOptions) {
    checkRamDiskOptions(options, 'MemoryBackend');
    // Widened to number: JS callers and casts can pass anything.
    const blockSize: number = options.blockSize ?? 512;
    if (!isBlockSize(blockSize)) throw new RangeError(`MemoryBackend: blockSize must be 512 or 4096, got ${blockSize}`);
    this.blockSize = blockSize;
    this.#size = diskSize(options.blocks, blockSize);
    this.readOnly = options.readOnly ?? false;
  }

  /** Capacity in bytes. */
  get size(): number {
    return this.#size;
  }

  /** Bytes of chunk storage currently allocated (never more than `size`). */
  get allocatedBytes(): number {
    let total = 0;
    for (const chunk of this.#chunks.values()) total += chunk.length;
    return total;
  }

  read(offset: number, dst: Uint8Array): Promise<BackendStatus> {
    return this.readSync(offset, dst, 0, dst.length) === 'ok' ? OK : IO_ERROR;
  }

  write(offset: number, src: Uint8Array): Promise<BackendStatus> {
    return this.writeSync(offset, src, 0, src.length) === 'ok' ? OK : IO_ERROR;
  }

  /** {@link read} into `dst[at, at + length)`, done before it returns: the device answers the request in the same pass. */
  readSync(offset: number, dst: Uint8Array, at: number, length: number): BackendStatus {
    assertRange('read', offset, length, this.#size);
    assertWithin(dst, at, length);
    // The chunk loop is written out (no per-chunk callback): this runs for every read.
    for (let pos = 0; pos < length; ) {
      const from = offset + pos;
      const index = Math.floor(from / CHUNK_SIZE);
      const within = from - index * CHUNK_SIZE;
      const n = Math.min(CHUNK_SIZE - within, length - pos);
      const chunk = this.#chunks.get(index);
      if (chunk) dst.set(n === chunk.length ? chunk : chunk.subarray(within, within + n), at + pos);
      else dst.fill(0, at + pos, at + pos + n);
      pos += n;
    }
    return 'ok';
  }

  /** {@link write} of `src[at, at + length)`, done before it returns. */
  writeSync(offset: number, src: Uint8Array, at: number, length: number): BackendStatus {
    assertRange('write', offset, length, this.#size);
    assertWithin(src, at, length);
    // Defence in depth: the device refuses writes to a read-only disk before it gets here.
    if (this.readOnly) return 'io-error';
    for (let pos = 0; pos < length; ) {
      const to = offset + pos;
      const index = Math.floor(to / CHUNK_SIZE);
      const within = to - index * CHUNK_SIZE;
      const n = Math.min(CHUNK_SIZE - within, length - pos);
      let chunk = this.#chunks.get(index);
      if (!chunk) {
        chunk = new Uint8Array(this.#chunkLength(index, this.#size));
        this.#chunks.set(index, chunk);
      }
      chunk.set(at + pos === 0 && n === src.length ? src : src.subarray(at + pos, at + pos + n), within);
      pos += n;
    }
    return 'ok';
  }

  /** Nothing to make durable: RAM is as durable as this backend gets. */
  flush(): Promise<BackendStatus> {
    return OK;
  }

  /** Frees the chunks the range covers entirely and zeroes the parts of chunks it covers partially. */
  discard(offset: number, length: number): Promise<BackendStatus> {
    assertRange('discard', offset, length, this.#size);
    if (this.readOnly) return IO_ERROR;
    this.#zero(offset, length, true);
    return OK;
  }

  /**
   * Zeroes the range. With `unmap` it behaves exactly like {@link discard}.
   * Without `unmap` it zeroes allocated chunks in place and leaves holes as holes:
   * nothing is deallocated (VIRTIO 1.2 §5.2.6 lets only an `unmap` request do
   * that), and nothing is allocated either, because a hole already reads as zeros
   * and allocating it would let one request for a 1 TiB range exhaust memory.
   */
  writeZeroes(offset: number, length: number, unmap: boolean): Promise<BackendStatus> {
    assertRange('writeZeroes', offset, length, this.#size);
    if (this.readOnly) return IO_ERROR;
    this.#zero(offset, length, unmap);
    return OK;
  }

  /**
   * The extents covering [offset, offset+length) in order, adjacent extents of the
   * same kind merged. Granularity is the 64 KiB chunk: a chunk holding any written
   * byte is allocated as a whole, even where it has since been zeroed.
   */
  allocation(offset: number, length: number): Promise<readonly AllocationExtent[]> {
    assertRange('allocation', offset, length, this.#size);
    const extents: AllocationExtent[] = [];
    const push = (at: number, len: number, allocated: boolean): void => {
      const last = extents.at(-1);
      if (last?.allocated === allocated && last.offset + last.length === at) {
        extents[extents.length - 1] = { offset: last.offset, length: last.length + len, allocated };
      } else {
        extents.push({ offset: at, length: len, allocated });
      }
    };
    if (length === 0) return Promise.resolve(extents);

    const end = offset + length;
    const first = Math.floor(offset / CHUNK_SIZE);
    const last = Math.floor((end - 1) / CHUNK_SIZE);
    let cursor = offset;
    for (const index of this.#mappedChunks(first, last)) {
      const start = Math.max(offset, index * CHUNK_SIZE);
      const stop = Math.min(end, (index + 1) * CHUNK_SIZE);
      if (start > cursor) push(cursor, start - cursor, false);
      push(start, stop - start, true);
      cursor = stop;
    }
    if (cursor < end) push(cursor, end - cursor, false);
    return Promise.resolve(extents);
  }

  /** Nothing to release; the data stays readable so tests can inspect it after the device shut down. */
  close(): Promise<void> {
    return Promise.resolve();
  }

  /**
   * Changes the capacity to `blocks` logical blocks, so the device model can
   * exercise a capacity change (the `capacity` config field, VIRTIO 1.2 §5.2.4). Shrinking drops the data past the new end, so growing again exposes
   * zeros there, as on a thin-provisioned volume that was shrunk and regrown.
   */
  resize(blocks: number): void {
    const size = diskSize(blocks, this.blockSize);
    if (size < this.#size) {
      for (const [index, chunk] of this.#chunks) {
        const start = index * CHUNK_SIZE;
        if (start >= size) this.#chunks.delete(index);
        else if (start + chunk.length > size) this.#chunks.set(index, chunk.slice(0, size - start));
      }
    } else if (size > this.#size) {
      // Only the old last chunk can be short; widen it to keep the chunk-length invariant.
      const index = Math.floor((this.#size - 1) / CHUNK_SIZE);
      const chunk = this.#chunks.get(index);
      if (chunk) {
        const wider = new Uint8Array(this.#chunkLength(index, size));
        wider.set(chunk);
        this.#chunks.set(index, wider);
      }
    }
    this.#size = size;
  }

  #chunkLength(index: number, size: number): number {
    return Math.min(CHUNK_SIZE, size - index * CHUNK_SIZE);
  }

  /** Zeroes the range in allocated chunks; with `free`, chunks covered entirely are dropped instead. */
  #zero(offset: number, length: number, free: boolean): void {
    // Walk the allocated chunks, not the range: a discard of a whole 1 TiB disk
    // would otherwise visit sixteen million chunk indexes.
    if (length === 0) return;
    const first = Math.floor(offset / CHUNK_SIZE);
    const last = Math.floor((offset + length - 1) / CHUNK_SIZE);
    for (const index of this.#mappedChunks(first, last)) {
      const chunk = this.#chunks.get(index);
      if (!chunk) continue;
      const chunkStart = index * CHUNK_SIZE;
      const within = Math.max(offset, chunkStart) - chunkStart;
      const stop = Math.min(offset + length, chunkStart + chunk.length) - chunkStart;
      if (free && within === 0 && stop === chunk.length) this.#chunks.delete(index);
      else chunk.fill(0, within, stop);
    }
  }

  /** Allocated chunk indexes in [first, last], ascending, by whichever walk is shorter. */
  #mappedChunks(first: number, last: number): number[] {
    const count = last - first + 1;
    if (count <= this.#chunks.size) {
      const mapped: number[] = [];
      for (let index = first; index <= last; index++) if (this.#chunks.has(index)) mapped.push(index);
      return mapped;
    }
    return [...this.#chunks.keys()].filter((index) => index >= first && index <= last).sort((a, b) => a - b);
  }
}
