// The block backend interface: what the virtio-blk device model does its I/O on.
// Byte offsets and lengths are in bytes and always multiples of 512 (virtio-blk
// sectors, VIRTIO 1.2 §5.2.6); the device checks ranges before calling.

/**
 * Outcome of a backend operation. I/O outcomes are values, not exceptions: the
 * device maps them onto virtio-blk statuses (`io-error` and `no-space` →
 * VIRTIO_BLK_S_IOERR, `unsupported` → VIRTIO_BLK_S_UNSUPP).
 */
export type BackendStatus = 'ok' | 'io-error' | 'no-space' | 'unsupported';

/** One extent of an allocation map (GET LBA STATUS style). */
export interface AllocationExtent {
  readonly offset: number;
  readonly length: number;
  /** True when the extent is mapped (holds written data); false for a hole that reads as zeros. */
  readonly allocated: boolean;
}

/**
 * A structured-cloneable description of a backend's medium that another thread
 * can open with `openSharedBackend` (postMessage or workerData carries it):
 * shared memory travels as the SharedArrayBuffers themselves, an image file as
 * its absolute path plus what identifies the file that was opened (size, st_dev,
 * st_ino), so the opener can refuse a file that changed since.
 */
export type BackendShare =
  | {
    readonly kind: 'shared-memory';
    /** The medium: `data.byteLength` is the capacity. */
    readonly data: SharedArrayBuffer;
    /** The allocation bitmap, one bit per granule (see SharedMemoryBackend). */
    readonly map: SharedArrayBuffer;
    readonly blockSize: 512 | 4096;
    readonly readOnly: boolean;
  }
  | {
    readonly kind: 'file';
    readonly path: string;
    readonly blockSize: 512 | 4096;
    readonly readOnly: boolean;
    /** Capacity in bytes when shared. */
    readonly size: number;
    readonly dev: bigint;
    readonly ino: bigint;
  };

export interface BlockBackend {
  /** Capacity in bytes (a multiple of 512). */
  readonly size: number;
  /**
   * Optional: the block size the backend was made for (MemoryBackend, FileBackend). The device reports it
   * in blk_size unless told otherwise, and may not use a smaller one: the backend checks requests against it.
   */
  readonly blockSize?: 512 | 4096;
  /** True when the backend refuses writes, discards and write-zeroes. */
  readonly readOnly: boolean;
  /** Fills `dst` from [offset, offset + dst.length). */
  read(offset: number, dst: Uint8Array): Promise<BackendStatus>;
  /** Stores `src` at [offset, offset + src.length). */
  write(offset: number, src: Uint8Array): Promise<BackendStatus>;
  /**
   * Optional: {@link read} for a backend whose I/O is done before it returns
   * (memory), into `dst[at, at + length)` (as fs.readSync takes a buffer, an
   * index and a length: the device passes guest memory itself, no view per
   * request). The device then answers the request in the same pass over the
   * ring, without a promise and a turn per request. Same contract as read.
   */
  readSync?(offset: number, dst: Uint8Array, at: number, length: number): BackendStatus;
  /** Optional: {@link write} of `src[at, at + length)`, done before it returns; see readSync. */
  writeSync?(offset: number, src: Uint8Array, at: number, length: number): BackendStatus;
  /**
   * Optional, with readSync/writeSync: whether the device should use them for
   * the request it is about to start (absent: always). A backend whose
   * synchronous forms can block on a slow medium says no while they do, and
   * the device takes the asynchronous path (FileBackend `io: 'auto'`). So does
   * one whose blocking calls must not run beside its asynchronous operations in
   * flight (FileBackend: a read beside an overlapping write can mix the two).
   */
  syncReady?(): boolean;
  /** Makes every completed write durable. */
  flush(): Promise<BackendStatus>;
  /** Releases [offset, offset+length); afterwards the range reads as zeros. */
  discard(offset: number, length: number): Promise<BackendStatus>;
  /** Zeroes [offset, offset+length); `unmap` allows deallocating instead of writing zeros. */
  writeZeroes(offset: number, length: number, unmap: boolean): Promise<BackendStatus>;
  /** Optional allocation query: the extents covering [offset, offset+length), in order. */
  allocation?(offset: number, length: number): Promise<readonly AllocationExtent[] | BackendStatus>;
  /**
   * Optional: a description of this backend's medium that another thread can
   * open; the device worker opens its own handle on it instead of calling this
   * object across threads. Absent when the medium lives in this thread only (a
   * Map in this thread's heap, say).
   */
  share?(): BackendShare;
  /** Releases OS resources (file handles). Idempotent. */
  close(): Promise<void>;
}
