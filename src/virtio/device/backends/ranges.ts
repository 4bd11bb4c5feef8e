// The caller-bug checks the RAM backends share. The device checks every range
// against the capacity before it calls a backend, so a range that fails here is
// a bug above, reported as a RangeError naming the backend and the operation.

/** virtio-blk sector (VIRTIO 1.2 §5.2.6): the unit of every offset and length. */
const SECTOR = 512;

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
