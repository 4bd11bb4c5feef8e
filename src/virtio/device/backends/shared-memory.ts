// RAM disk in a SharedArrayBuffer: the memory backend for a device model that
// runs in a worker thread. The worker and the main thread open the same medium
// (see share()), so what one writes the other reads.
//
// Allocation is tracked in a second SharedArrayBuffer, one bit per 4 KiB
// granule, changed only with Atomics so that threads allocating neighbouring
// granules (which share a 32-bit word) never lose each other's bits. The
// invariant the allocation map keeps is: a granule whose bit is clear reads as
// zeros. Writes set bits before storing data and unmaps zero data before
// clearing bits, so the invariant holds at every instant for anyone looking
// while operations on a range do not overlap in time. Overlapping writes and
// unmaps in flight at once leave contents and map undefined, as on any disk.

import { constants } from 'node:buffer';
import { assertDiskRange, assertInBuffer, checkRamDiskOptions, isBlockSize, type RamDiskOptions } from './ram-disk.js';
import type { AllocationExtent, BackendShare, BackendStatus, BlockBackend } from '../backend.js';

/**
 * Allocation granule. 4 KiB is the page size and the larger logical block size:
 * a 4 KiB random write sets exactly one bit with one Atomics.or, a 4096-byte-block
 * disk maps one block to one bit, and the map costs 1/32768 of the disk (128 KiB
 * for 4 GiB). Per-512-byte bits would make 512-byte discards exact at eight times
 * the map and the atomics on every 4 KiB write; 4 KiB is what thin-provisioned
 * storage commonly unmaps at anyway.
 */
const GRANULE = 4096;
const BITS_PER_WORD = 32;
/**
 * Largest medium: one Uint8Array must span it, and V8 caps a typed array at
 * buffer.constants.MAX_LENGTH elements (2^32 on 64-bit Node 20).
 */
const MAX_SIZE = constants.MAX_LENGTH;

const OK: Promise<BackendStatus> = Promise.resolve('ok');
const IO_ERROR: Promise<BackendStatus> = Promise.resolve('io-error');

/** Options for {@link SharedMemoryBackend} on a new medium. */
export type SharedMemoryBackendOptions = RamDiskOptions;

/** The shared-memory form of {@link BackendShare}. */
export type SharedMemoryShare = Extract<BackendShare, { kind: 'shared-memory' }>;

/** Bytes of allocation map for a medium of `size` bytes: whole 32-bit words. */
function mapBytes(size: number): number {
  return Math.ceil(Math.ceil(size / GRANULE) / BITS_PER_WORD) * 4;
}

/** Capacity in bytes for `blocks` blocks of `blockSize`, or a RangeError naming the bad value. */
function diskSize(blocks: number, blockSize: 512 | 4096): number {
  if (!Number.isSafeInteger(blocks) || blocks <= 0) {
    throw new RangeError(`SharedMemoryBackend: blocks must be a positive integer, got ${blocks}`);
  }
  const size = blocks * blockSize;
  if (size > MAX_SIZE) {
    throw new RangeError(`SharedMemoryBackend: ${blocks} blocks of ${blockSize} bytes (${size} bytes) exceed the ${MAX_SIZE}-byte limit of one shared buffer`);
  }
  return size;
}

/** A new zeroed SharedArrayBuffer, or a RangeError saying the system could not provide it. */
function allocate(bytes: number, what: string): SharedArrayBuffer {
  try {
    return new SharedArrayBuffer(bytes);
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    throw new RangeError(`SharedMemoryBackend: cannot allocate ${bytes} bytes of shared memory for the ${what}: ${why}`);
  }
}

/** Checks a share received from another thread; a malformed one is a caller bug. */
function checkShare(share: SharedMemoryShare): void {
  const blockSize: number = share.blockSize;
  if (!isBlockSize(blockSize)) throw new RangeError(`SharedMemoryBackend: blockSize must be 512 or 4096, got ${blockSize}`);
  if (!(share.data instanceof SharedArrayBuffer) || !(share.map instanceof SharedArrayBuffer)) {
    throw new RangeError('SharedMemoryBackend: a share carries its data and map as SharedArrayBuffers');
  }
  const size = share.data.byteLength;
  if (size === 0 || size % blockSize !== 0 || size > MAX_SIZE) {
    throw new RangeError(`SharedMemoryBackend: shared data of ${size} bytes is not a positive multiple of ${blockSize} up to ${MAX_SIZE}`);
  }
  if (share.map.byteLength !== mapBytes(size)) {
    throw new RangeError(`SharedMemoryBackend: shared map of ${share.map.byteLength} bytes, want ${mapBytes(size)} for ${size} bytes of data`);
  }
}

function assertRange(op: string, offset: number, length: number, size: number): void {
  assertDiskRange('SharedMemoryBackend', op, offset, length, size);
}

function assertWithin(buf: Uint8Array, at: number, length: number): void {
  assertInBuffer('SharedMemoryBackend', buf, at, length);
}

/** Set bits in a 32-bit word (SWAR popcount). */
function popcount(word: number): number {
  let v = word - ((word >>> 1) & 0x55555555);
  v = (v & 0x33333333) + ((v >>> 2) & 0x33333333);
  return (Math.imul((v + (v >>> 4)) & 0x0f0f0f0f, 0x01010101) >>> 24);
}

/** Bits [from, to) of one word (0 ≤ from < to ≤ 32). */
function wordMask(from: number, to: number): number {
  const high = to === BITS_PER_WORD ? 0xffffffff : (1 << to) - 1;
  return (high & ~((1 << from) - 1)) >>> 0;
}

/**
 * A RAM disk in shared memory, usable from any thread holding its share.
 *
 * Caller bugs (ranges outside the disk, unaligned or non-integer offsets, bad
 * constructor arguments or shares, a size that cannot be allocated) throw
 * `RangeError` synchronously; I/O outcomes are the resolved {@link BackendStatus}.
 * Operations complete synchronously under the hood and their promises resolve in
 * submission order.
 */
export class SharedMemoryBackend implements BlockBackend {
  /** Allocation granule in bytes (4 KiB): unmaps deallocate whole granules and zero partial ones. */
  static readonly granuleSize: number = GRANULE;

  /** Logical block size in bytes. */
  readonly blockSize: 512 | 4096;
  readonly readOnly: boolean;
  readonly size: number;
  readonly #data: SharedArrayBuffer;
  readonly #mapBuffer: SharedArrayBuffer;
  readonly #bytes: Uint8Array;
  readonly #map: Uint32Array;
  /** Granules on the disk; the last one is short when `size` is not a multiple of the granule. */
  readonly #granules: number;

  /** A new zeroed medium from `options`, or the medium another backend shared (see {@link share}). */
  constructor(options: SharedMemoryBackendOptions | SharedMemoryShare) {
    const given: unknown = options;
    // A share is the library's own object; anything else is the caller's options, checked (option-keys.ts).
    if (typeof given !== 'object' || given === null || !('kind' in given)) checkRamDiskOptions(options as SharedMemoryBackendOptions, 'SharedMemoryBackend');
    if ('kind' in options) {
      checkShare(options);
      this.blockSize = options.blockSize;
      this.readOnly = options.readOnly;
      this.#data = options.data;
      this.#mapBuffer = options.map;
    } else {
      // Widened to number: JS callers and casts can pass anything.
      const blockSize: number = options.blockSize ?? 512;
      if (!isBlockSize(blockSize)) throw new RangeError(`SharedMemoryBackend: blockSize must be 512 or 4096, got ${blockSize}`);
      this.blockSize = blockSize;
      this.readOnly = options.readOnly ?? false;
      const size = diskSize(options.blocks, blockSize);
      this.#data = allocate(size, 'data');
      this.#mapBuffer = allocate(mapBytes(size), 'allocation map');
    }
    this.size = this.#data.byteLength;
    this.#bytes = new Uint8Array(this.#data);
    this.#map = new Uint32Array(this.#mapBuffer);
    this.#granules = Math.ceil(this.size / GRANULE);
  }

  /** The medium, for another thread: pass it in workerData or postMessage and construct a backend from it there. */
  share(): SharedMemoryShare {
    return { kind: 'shared-memory', data: this.#data, map: this.#mapBuffer, blockSize: this.blockSize, readOnly: this.readOnly };
  }

  /** Bytes of the disk in allocated granules (never more than `size`). */
  get allocatedBytes(): number {
    let granules = 0;
    for (let w = 0; w < this.#map.length; w++) granules += popcount(Atomics.load(this.#map, w));
    const last = this.#granules - 1;
    const short = this.#granules * GRANULE - this.size;
    return granules * GRANULE - (short > 0 && this.#bit(last) ? short : 0);
  }

  read(offset: number, dst: Uint8Array): Promise<BackendStatus> {
    return this.readSync(offset, dst, 0, dst.length) === 'ok' ? OK : IO_ERROR;
  }

  write(offset: number, src: Uint8Array): Promise<BackendStatus> {
    return this.writeSync(offset, src, 0, src.length) === 'ok' ? OK : IO_ERROR;
  }

  /** {@link read} into `dst[at, at + length)`, done before it returns. Holes read as zeros by the map's invariant. */
  readSync(offset: number, dst: Uint8Array, at: number, length: number): BackendStatus {
    assertRange('read', offset, length, this.size);
    assertWithin(dst, at, length);
    dst.set(this.#bytes.subarray(offset, offset + length), at);
    return 'ok';
  }

  /** {@link write} of `src[at, at + length)`, done before it returns. */
  writeSync(offset: number, src: Uint8Array, at: number, length: number): BackendStatus {
    assertRange('write', offset, length, this.size);
    assertWithin(src, at, length);
    // Defence in depth: the device refuses writes to a read-only disk before it gets here.
    if (this.readOnly) return 'io-error';
    if (length === 0) return 'ok';
    // Bits first: a granule holding data is never seen as a hole (file header).
    this.#changeBits(Math.floor(offset / GRANULE), Math.floor((offset + length - 1) / GRANULE) + 1, true);
    this.#bytes.set(src.subarray(at, at + length), offset);
    return 'ok';
  }

  /** Nothing to make durable: RAM is as durable as this backend gets. */
  flush(): Promise<BackendStatus> {
    return OK;
  }

  /** Deallocates the granules the range covers entirely and zeroes the parts of granules it covers partially. */
  discard(offset: number, length: number): Promise<BackendStatus> {
    assertRange('discard', offset, length, this.size);
    if (this.readOnly) return IO_ERROR;
    this.#zero(offset, length, true);
    return OK;
  }

  /**
   * Zeroes the range. With `unmap` it behaves exactly like {@link discard}.
   * Without `unmap` it zeroes allocated granules in place and leaves holes as
   * holes: nothing is deallocated (VIRTIO 1.2 §5.2.6 lets only an `unmap` request
   * do that), and nothing is allocated either, because a hole already reads as
   * zeros and storing zeros there would commit pages the OS has not yet backed.
   */
  writeZeroes(offset: number, length: number, unmap: boolean): Promise<BackendStatus> {
    assertRange('writeZeroes', offset, length, this.size);
    if (this.readOnly) return IO_ERROR;
    this.#zero(offset, length, unmap);
    return OK;
  }

  /**
   * The extents covering [offset, offset+length) in order, adjacent extents of the
   * same kind merged. Granularity is the 4 KiB granule: a granule holding any
   * written byte is allocated as a whole, even where it has since been zeroed.
   */
  allocation(offset: number, length: number): Promise<readonly AllocationExtent[]> {
    assertRange('allocation', offset, length, this.size);
    const extents: AllocationExtent[] = [];
    if (length === 0) return Promise.resolve(extents);
    const end = offset + length;
    const stop = Math.ceil(end / GRANULE);
    for (let g = Math.floor(offset / GRANULE); g < stop; ) {
      const allocated = this.#bit(g);
      const next = this.#nextChange(g, stop, allocated);
      const from = Math.max(offset, g * GRANULE);
      extents.push({ offset: from, length: Math.min(end, next * GRANULE) - from, allocated });
      g = next;
    }
    return Promise.resolve(extents);
  }

  /** Nothing to release: other threads may still hold the medium, and the data stays readable for tests. */
  close(): Promise<void> {
    return Promise.resolve();
  }

  #bit(g: number): boolean {
    return ((Atomics.load(this.#map, g >>> 5) >>> (g & 31)) & 1) === 1;
  }

  /**
   * The first granule in (g, stop) whose bit differs from `allocated`, or `stop`.
   * Scans a word at a time, so a long run costs one load per 32 granules. Never
   * g itself, even when another thread flipped g's bit since the caller looked:
   * the caller reports g as it saw it, and its walk always moves forward.
   */
  #nextChange(g: number, stop: number, allocated: boolean): number {
    let w = g >>> 5;
    // Bits that differ from `allocated`, at or above g's bit in its word.
    let diff = ((allocated ? ~Atomics.load(this.#map, w) : Atomics.load(this.#map, w)) & ~((1 << (g & 31)) - 1)) >>> 0;
    const lastWord = (stop - 1) >>> 5;
    while (diff === 0) {
      if (++w > lastWord) return stop;
      diff = (allocated ? ~Atomics.load(this.#map, w) : Atomics.load(this.#map, w)) >>> 0;
    }
    // Lowest set bit: 31 - clz32 of it isolated.
    return Math.min(stop, Math.max(g + 1, w * BITS_PER_WORD + 31 - Math.clz32(diff & -diff)));
  }

  /** Sets (or clears) the bits of granules [first, stop), a word at a time with Atomics.or (Atomics.and). */
  #changeBits(first: number, stop: number, set: boolean): void {
    for (let g = first; g < stop; ) {
      const w = g >>> 5;
      const to = Math.min(stop - w * BITS_PER_WORD, BITS_PER_WORD);
      const mask = wordMask(g & 31, to);
      if (set) Atomics.or(this.#map, w, mask);
      else Atomics.and(this.#map, w, ~mask);
      g = w * BITS_PER_WORD + to;
    }
  }

  /** Zeroes the allocated granules in the range; with `unmap`, granules covered entirely are deallocated too. */
  #zero(offset: number, length: number, unmap: boolean): void {
    // Walk the allocated runs, not the bytes: holes already read as zeros, and
    // storing into them would commit memory the OS has not backed yet.
    if (length === 0) return;
    const end = offset + length;
    const stop = Math.ceil(end / GRANULE);
    // Granules inside the range; the short last granule counts when the range reaches the end of the disk.
    const wholeFirst = Math.ceil(offset / GRANULE);
    const wholeStop = end === this.size ? this.#granules : Math.floor(end / GRANULE);
    for (let g = Math.floor(offset / GRANULE); g < stop; ) {
      if (!this.#bit(g)) {
        g = this.#nextChange(g, stop, false);
        continue;
      }
      const next = this.#nextChange(g, stop, true);
      this.#bytes.fill(0, Math.max(offset, g * GRANULE), Math.min(end, next * GRANULE));
      // Data before bits: a cleared granule is zeros already (file header).
      const from = Math.max(g, wholeFirst), to = Math.min(next, wholeStop);
      if (unmap && from < to) this.#changeBits(from, to, false);
      g = next;
    }
  }
}
