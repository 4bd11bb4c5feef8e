// What the RAM backends (MemoryBackend, SharedMemoryBackend) share: their
// options and the caller-bug checks. The device checks every range against the
// capacity before it calls a backend, so a range that fails here is a bug
// above, reported as a RangeError naming the backend and the operation.

import { checkOptionKeys, type OptionKeys } from '../../../option-keys.js';

/** virtio-blk sector (VIRTIO 1.2 §5.2.6): the unit of every offset and length. */
const SECTOR = 512;

/** Options of a RAM disk. */
export interface RamDiskOptions {
  /** Capacity in logical blocks of `blockSize` bytes. */
  readonly blocks: number;
  /** Logical block size in bytes; 512 by default. */
  readonly blockSize?: 512 | 4096;
  /** Refuse writes, discards and write-zeroes (they complete `io-error`). */
  readonly readOnly?: boolean;
}

/** The options a RAM disk knows (option-keys.ts). */
const RAM_DISK_KEYS = { blocks: true, blockSize: true, readOnly: true } as const satisfies OptionKeys<RamDiskOptions>;

/**
 * Refuses options that are not an object, or that carry a key a RAM disk does not know (a misspelling).
 * @throws TypeError naming `who` and the key
 */
export function checkRamDiskOptions(options: RamDiskOptions, who: string): void {
  const given: unknown = options;
  if (typeof given !== 'object' || given === null) throw new TypeError(`${who}: options must be an object ({ blocks, blockSize?, readOnly? }), got ${given === null ? 'null' : typeof given}`);
  checkOptionKeys(options, RAM_DISK_KEYS, who);
}

export function isBlockSize(n: number): n is 512 | 4096 {
  return n === 512 || n === 4096;
}

/** Throws unless [offset, offset+length) is a 512-aligned range inside a `size`-byte disk. */
export function assertDiskRange(backend: string, op: string, offset: number, length: number, size: number): void {
  if (
    !Number.isSafeInteger(offset) || !Number.isSafeInteger(length) ||
    offset < 0 || length < 0 || offset % SECTOR !== 0 || length % SECTOR !== 0 ||
    offset + length > size
  ) {
    throw new RangeError(`${backend}.${op}: offset ${offset} length ${length} is not a 512-aligned range inside the ${size}-byte disk`);
  }
}

/** Throws unless [at, at+length) lies inside `buf`. */
export function assertInBuffer(backend: string, buf: Uint8Array, at: number, length: number): void {
  if (!Number.isSafeInteger(at) || at < 0 || at + length > buf.length) {
    throw new RangeError(`${backend}: [${at}, +${length}) is outside the ${buf.length}-byte buffer`);
  }
}
