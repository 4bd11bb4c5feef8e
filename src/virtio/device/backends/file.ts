// Image-file block backend over a node:fs/promises FileHandle.
//
// The capacity is fixed when the image is opened. Opening is the only place where
// the user's input meets the file system, so its failures are values carrying a
// message that says what to do next (file-open.ts); after that every fs error
// becomes a BackendStatus and nothing is thrown except for caller bugs (bad ranges).
//
// A device worker thread opens the image again from a share (openShare) with
// blocking reads and writes on the handle's descriptor: see the `io` option.
// On the event loop, `io: 'auto'` does the same while the image answers from
// the page cache, and goes through the thread pool while it does not (SyncGate).
// Overlapping asynchronous reads and writes run one after the other, and the
// blocking forms only while none is in flight: read-write-order.ts says why.

import { readSync, writeSync } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { BackendShare, BackendStatus, BlockBackend } from '../backend.js';
import { checkImageSize, closing, createImage, danglingLink, errorCode, errorText, failure, openFailure, openProbe, reopenBlocking } from './file-open.js';
import type { FileBackendError } from './file-open.js';
import { MAX_IO, unmapRange, writeAll, writeZeros } from './file-write.js';
import { SyncGate, type SyncGateState } from './sync-gate.js';
import { ReadWriteOrder, type DataOpKind } from './read-write-order.js';
import { lockImage, type ImageLock } from './image-lock.js';
import { checkOpenOptions, type FileBackendIo, type FileBackendOpenOptions } from './file-options.js';

export { FileBackendErrorCode, type FileBackendError } from './file-open.js';
export type { FileBackendIo, FileBackendOpenOptions } from './file-options.js';

/** virtio-blk sector (VIRTIO 1.2 §5.2.6): the unit of every offset and length. */
const SECTOR = 512;

/** The image-file form of {@link BackendShare}. */
export type FileShare = Extract<BackendShare, { kind: 'file' }>;

/** Maps a failed fs call onto a backend status: running out of space is told apart from the rest. */
function ioStatus(err: unknown): BackendStatus {
  const code = errorCode(err);
  return code === 'ENOSPC' || code === 'EDQUOT' ? 'no-space' : 'io-error';
}

/** Throws when [at, at+length) is not inside `buf` (a caller bug, like a range outside the disk). */
function assertWithin(buf: Uint8Array, at: number, length: number): void {
  if (!Number.isSafeInteger(at) || at < 0 || at + length > buf.length) {
    throw new RangeError(`FileBackend: [${at}, +${length}) is outside the ${buf.length}-byte buffer`);
  }
}

/**
 * A disk image in a regular file.
 *
 * Operations run concurrently on one FileHandle with positioned reads and writes,
 * so they never share a file position; readSync and writeSync (`io: 'sync'`)
 * use the same descriptor. Caller bugs (ranges outside the disk, unaligned or
 * non-integer offsets) throw `RangeError` synchronously; everything the file
 * system reports becomes a {@link BackendStatus}.
 *
 * Once a flush has failed, every later flush (SYNCHRONIZE CACHE, a FUA or
 * write-through write, the flush at shutdown) completes `io-error` until the
 * image is opened again; see {@link flush}.
 */
export class FileBackend implements BlockBackend {
  /** Discriminant for the result of {@link FileBackend.open}. */
  readonly ok = true;
  readonly size: number;
  readonly readOnly: boolean;
  /** Logical block size in bytes. */
  readonly blockSize: 512 | 4096;
  /** The image path, for messages. */
  readonly path: string;
  /**
   * Present only when opened with `io: 'sync'`: {@link read} into `dst[at, at + length)`
   * by pread(2), blocking the calling thread until it is done.
   */
  declare readonly readSync?: (offset: number, dst: Uint8Array, at: number, length: number) => BackendStatus;
  /** Present only when opened with `io: 'sync'`: {@link write} of `src[at, at + length)` by pwrite(2), blocking. */
  declare readonly writeSync?: (offset: number, src: Uint8Array, at: number, length: number) => BackendStatus;
  /**
   * Present only with `io: 'sync'` or `'auto'` (BlockBackend.syncReady): no while an asynchronous read, write,
   * discard or write-zeroes is in flight (a blocking call cannot wait for one it overlaps), and with 'auto' while the gate is closed.
   */
  declare readonly syncReady?: () => boolean;
  /** How reads and writes are done (the `io` it was opened with). */
  readonly io: FileBackendIo;
  readonly #gate: SyncGate | undefined;
  /** The asynchronous reads and writes in flight, each overlapping pair run one after the other. */
  readonly #order = new ReadWriteOrder();
  #fh: FileHandle | undefined;
  /** What identifies the opened file for {@link share}; the path is resolved at open, before any chdir. */
  readonly #identity: { readonly path: string; readonly dev: bigint; readonly ino: bigint };
  /** Set by the first flush that fails, never cleared: see {@link flush}. */
  #flushFailed = false;
  /** The image's lock when opened with `lock`, released by close(). */
  readonly #lock: ImageLock | undefined;

  private constructor(fh: FileHandle, path: string, stat: FileStat, blockSize: 512 | 4096, readOnly: boolean, io: FileBackendIo, gate: SyncGate | undefined, lock: ImageLock | undefined) {
    this.#fh = fh;
    this.#lock = lock;
    this.path = path;
    this.size = stat.size;
    this.blockSize = blockSize;
    this.readOnly = readOnly;
    this.#identity = { path: resolve(path), dev: stat.dev, ino: stat.ino };
    this.io = io;
    this.#gate = gate;
    const order = this.#order;
    if (gate !== undefined) {
      // The gate only when the order is idle: asking it may reopen it, which starts a probe window.
      this.syncReady = () => order.idle && gate.open();
      this.readSync = (offset, dst, at, length) => {
        const t0 = gate.now();
        const s = this.#readNow(offset, dst, at, length);
        gate.took(t0, length);
        return s;
      };
      this.writeSync = (offset, src, at, length) => {
        const t0 = gate.now();
        const s = this.#writeNow(offset, src, at, length);
        gate.took(t0, length);
        return s;
      };
    } else if (io === 'sync') {
      this.syncReady = () => order.idle;
      this.readSync = (offset, dst, at, length) => this.#readNow(offset, dst, at, length);
      this.writeSync = (offset, src, at, length) => this.#writeNow(offset, src, at, length);
    }
  }

  /** With `io: 'auto'`: whether the gate is open, how often it closed, and its next back-off. */
  get syncGate(): SyncGateState | undefined {
    return this.#gate?.state;
  }

  /**
   * Opens the image at `path`, creating it sparse when it is missing and
   * `options.create` is given. Never throws for file-system conditions: a missing,
   * unreadable or badly sized image is a {@link FileBackendError}.
   *
   * Rejects with RangeError when `options.blockSize` is neither 512 nor 4096 (a caller bug).
   */
  static async open(path: string, options: FileBackendOpenOptions = {}): Promise<FileBackend | FileBackendError> {
    const { blockSize, io, readOnly } = checkOpenOptions(options);
    // Built before the file is touched, so bad gate options are a RangeError with nothing to close.
    const gate = io === 'auto' ? new SyncGate(options.syncGate) : undefined;

    let fh: FileHandle;
    // Whether fh is the O_NONBLOCK probe, to be opened again for I/O once it is known to be a regular file.
    let probe = true;
    try {
      fh = await openProbe(path, readOnly);
    } catch (err) {
      const missing = errorCode(err) === 'ENOENT';
      const link = missing ? await danglingLink(path) : undefined;
      if (link !== undefined) return link;
      if (!missing || options.create === undefined) return openFailure(path, err, readOnly, false);
      const created = await createImage(path, options.create.size, blockSize);
      // Somebody else created it between our two opens: open theirs as it is.
      if (created === 'exists') {
        return FileBackend.open(path, { readOnly, blockSize, io, ...(options.syncGate === undefined ? {} : { syncGate: options.syncGate }), ...(options.lock === undefined ? {} : { lock: options.lock }) });
      }
      if (!created.ok) return created;
      fh = created.fh;
      probe = false;
    }

    let stat: FileStat;
    try {
      // bigint: st_ino can exceed 2^53 on some file systems, and openShare compares it exactly.
      const st = await fh.stat({ bigint: true });
      // open(2) of a directory succeeds read-only; the error only shows on read.
      if (st.isDirectory()) return await closing(fh, openFailure(path, { code: 'EISDIR' }, readOnly, false));
      if (!st.isFile()) {
        return await closing(fh, failure(path, 'EINVAL', `${path} is not a regular file; only image files are supported`));
      }
      stat = { size: Number(st.size), dev: st.dev, ino: st.ino };
    } catch (err) {
      return closing(fh, failure(path, 'EIO', `cannot stat image ${path}: ${errorText(err)}`));
    }
    const bad = checkImageSize(path, stat.size, blockSize);
    if (bad) return closing(fh, bad);
    let lock: ImageLock | undefined;
    if (options.lock === true) {
      const locked = await lockImage(stat.dev, stat.ino);
      if (!locked.ok) {
        const holder = locked.holder ?? 'by a process that does not say which';
        const busy = failure(path, 'EBUSY', `image ${path} is in use (${holder}); open it once it is closed there`);
        return closing(fh, locked.holder === undefined ? busy : { ...busy, holder: locked.holder });
      }
      lock = locked.lock;
    }
    if (probe) fh = await reopenBlocking(fh, readOnly);
    return new FileBackend(fh, path, stat, blockSize, readOnly, io, gate, lock);
  }

  /**
   * Opens the image another thread shared (see {@link share}) for a device
   * worker: `io: 'sync'`, never creating or resizing the file. An image that is
   * no longer the shared file (replaced, renamed over) or whose size changed is
   * refused with `ESTALE`: the driver sized the disk from the share, and serving
   * another file or another capacity under it would corrupt what it believes.
   */
  static async openShare(share: FileShare): Promise<FileBackend | FileBackendError> {
    const { path, size } = share;
    const opened = await FileBackend.open(path, { readOnly: share.readOnly, blockSize: share.blockSize, io: 'sync' });
    if (!opened.ok) return opened;
    const id = opened.#identity;
    if (id.dev !== share.dev || id.ino !== share.ino) {
      await opened.close();
      return failure(path, 'ESTALE', `image ${path} is no longer the file that was shared (it was replaced or renamed over); open the new image and share it again`);
    }
    if (opened.size !== size) {
      await opened.close();
      return failure(path, 'ESTALE', `image ${path} is now ${opened.size} bytes but was ${size} when shared; restore it with \`truncate -s ${size} ${path}\` or open it again and share that`);
    }
    return opened;
  }

  /** The image for a device worker thread: it opens its own descriptor with {@link openShare}. */
  share(): FileShare {
    const { path, dev, ino } = this.#identity;
    return { kind: 'file', path, blockSize: this.blockSize, readOnly: this.readOnly, size: this.size, dev, ino };
  }

  read(offset: number, dst: Uint8Array): Promise<BackendStatus> {
    this.#assertRange('read', offset, dst.length);
    return this.#data('read', offset, dst.length, async (fh) => {
      let pos = 0;
      while (pos < dst.length) {
        const { bytesRead } = await fh.read(dst, pos, Math.min(dst.length - pos, MAX_IO), offset + pos);
        if (bytesRead === 0) {
          // End of file inside the disk: the image was truncated behind our back.
          // The capacity was fixed at open, so the missing tail reads as a hole would.
          dst.fill(0, pos);
          break;
        }
        pos += bytesRead;
      }
      return 'ok';
    });
  }

  write(offset: number, src: Uint8Array): Promise<BackendStatus> {
    this.#assertRange('write', offset, src.length);
    // Defence in depth: the device refuses writes to a read-only disk before it gets here.
    if (this.readOnly) return Promise.resolve('io-error');
    return this.#data('write', offset, src.length, (fh) => writeAll(fh, src, offset));
  }

  /**
   * fdatasync(2): data and the metadata needed to read it back, not timestamps.
   *
   * A failure sticks: after one, every flush completes `io-error`. Linux reports
   * a writeback error to an open file once and leaves the pages it could not
   * write clean, so the next fdatasync returns 0 although the data is lost, and
   * answering that flush `ok` would tell the initiator it is on the medium
   * (QEMU's file-posix latches failed flushes for the same reason).
   */
  flush(): Promise<BackendStatus> {
    if (this.#flushFailed) return Promise.resolve('io-error');
    return this.#io(async (fh) => {
      // Nothing was written through a read-only handle, and some systems refuse to sync one.
      if (this.readOnly) return 'ok';
      try {
        await fh.datasync();
      } catch (err) {
        this.#flushFailed = true;
        return ioStatus(err);
      }
      // A flush running beside the one that failed may have found the error already reported.
      return this.#flushFailed ? 'io-error' : 'ok';
    });
  }

  /**
   * Makes the range read as zeros without allocating anything (file-write.ts):
   * Node cannot punch holes, so the space data took is not given back, but a
   * hole stays a hole and an unmap never needs space.
   */
  discard(offset: number, length: number): Promise<BackendStatus> {
    this.#assertRange('discard', offset, length);
    if (this.readOnly) return Promise.resolve('io-error');
    return this.#data('write', offset, length, (fh) => unmapRange(fh, offset, length));
  }

  /**
   * Zeroes the range. With `unmap` as {@link discard} does, allocating nothing;
   * without it by writing zeros over all of it, which maps every block of the
   * range (WRITE SAME without UNMAP).
   */
  writeZeroes(offset: number, length: number, unmap: boolean): Promise<BackendStatus> {
    this.#assertRange('writeZeroes', offset, length);
    if (this.readOnly) return Promise.resolve('io-error');
    return this.#data('write', offset, length, (fh) => (unmap ? unmapRange(fh, offset, length) : writeZeros(fh, offset, length)));
  }

  /**
   * Closes the file handle once in-flight operations finish; later operations
   * complete `io-error`. Idempotent. A failing close(2) is ignored: flush() is
   * where durability is reported, and there is nothing left to retry.
   */
  async close(): Promise<void> {
    const fh = this.#fh;
    if (fh === undefined) return;
    this.#fh = undefined;
    try {
      await fh.close();
    } catch {
      // See above: nothing to report it to.
    }
    // After the descriptor: the next opener must not get in while this one can still write.
    await this.#lock?.release();
  }

  /** readSync: pread(2) on the handle's descriptor until `length` bytes are in, blocking this thread. */
  #readNow(offset: number, dst: Uint8Array, at: number, length: number): BackendStatus {
    this.#assertRange('readSync', offset, length);
    assertWithin(dst, at, length);
    const fh = this.#fh;
    if (fh === undefined) return 'io-error';
    try {
      for (let pos = 0; pos < length; ) {
        const n = readSync(fh.fd, dst, at + pos, Math.min(length - pos, MAX_IO), offset + pos);
        if (n === 0) {
          // End of file inside the disk: reads as a hole, as in read().
          dst.fill(0, at + pos, at + length);
          break;
        }
        pos += n;
      }
      return 'ok';
    } catch (err) {
      return ioStatus(err);
    }
  }

  /** writeSync: pwrite(2) on the handle's descriptor until every byte is written, blocking this thread. */
  #writeNow(offset: number, src: Uint8Array, at: number, length: number): BackendStatus {
    this.#assertRange('writeSync', offset, length);
    assertWithin(src, at, length);
    // Defence in depth: the device refuses writes to a read-only disk before it gets here.
    if (this.readOnly) return 'io-error';
    const fh = this.#fh;
    if (fh === undefined) return 'io-error';
    try {
      for (let pos = 0; pos < length; ) {
        const n = writeSync(fh.fd, src, at + pos, Math.min(length - pos, MAX_IO), offset + pos);
        // A zero-byte write would loop forever (see writeAll).
        if (n === 0) return 'io-error';
        pos += n;
      }
      return 'ok';
    } catch (err) {
      return ioStatus(err);
    }
  }

  /** {@link #io} for an operation that reads or writes [offset, offset + length): after the overlapping ones of the other kind. */
  #data(kind: DataOpKind, offset: number, length: number, fn: (fh: FileHandle) => Promise<BackendStatus>): Promise<BackendStatus> {
    return this.#order.run(kind, offset, length, () => this.#io(fn));
  }

  /** Runs `fn` on the open handle, turning a closed backend and every fs error into a status. */
  #io(fn: (fh: FileHandle) => Promise<BackendStatus>): Promise<BackendStatus> {
    const fh = this.#fh;
    if (fh === undefined) return Promise.resolve('io-error');
    return fn(fh).catch(ioStatus);
  }

  #assertRange(op: string, offset: number, length: number): void {
    if (
      !Number.isSafeInteger(offset) || !Number.isSafeInteger(length) ||
      offset < 0 || length < 0 || offset % SECTOR !== 0 || length % SECTOR !== 0 ||
      offset + length > this.size
    ) {
      throw new RangeError(`FileBackend.${op}: offset ${offset} length ${length} is not a 512-aligned range inside the ${this.size}-byte image`);
    }
  }
}

/** What open() keeps of fstat(2): the capacity and the file's identity for share(). */
interface FileStat {
  readonly size: number;
  readonly dev: bigint;
  readonly ino: bigint;
}
