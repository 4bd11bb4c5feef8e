// What FileBackend.open accepts (file.ts), and the check of it: the options
// a caller passes are checked before the image is touched, so a caller bug is
// thrown with nothing to close.

import type { SyncGateOptions } from './sync-gate.js';
import { checkOptionKeys, type OptionKeys } from '../../../option-keys.js';

/** virtio-blk sector (VIRTIO 1.2 §5.2.6): the default logical block size. */
const SECTOR = 512;

/** Options for {@link FileBackend.open}. */
export interface FileBackendOpenOptions {
  /** Open the image read-only; writes, discards and write-zeroes complete `io-error`. */
  readonly readOnly?: boolean;
  /** When the image does not exist, create it sparse with this size in bytes. An existing image keeps its size. */
  readonly create?: { readonly size: number };
  /** Logical block size in bytes; 512 by default. The image size must be a multiple of it. */
  readonly blockSize?: 512 | 4096;
  /**
   * `'async'` (the default): every operation goes through the libuv thread pool.
   * `'sync'`: the backend also gets readSync and writeSync, which call pread(2)
   * and pwrite(2) on the calling thread and block it until the I/O is done. That
   * suits a device worker thread, which has nothing else to do while its request
   * runs and saves the hop to the thread pool and back per request; on the main
   * thread it would stall every connection while the disk works, so it belongs
   * in a device worker, or where the image is known to be in the page cache.
   * `'auto'`: readSync and writeSync as with 'sync', and syncReady, which a
   * {@link SyncGate} answers: it times each blocking call and turns the device
   * to the asynchronous path for a while when they stop coming from the page
   * cache. For the event loop: the speed of 'sync' without a disk wait per request.
   * flush, discard and write-zeroes stay asynchronous in every mode. With 'sync'
   * and 'auto', syncReady also says no while an asynchronous read, write, discard
   * or write-zeroes is in flight, so the device takes the asynchronous path.
   */
  readonly io?: FileBackendIo;
  /** With `io: 'auto'`: what counts as slow and how long the gate stays closed (the defaults suit real use; tests pass a clock). */
  readonly syncGate?: SyncGateOptions;
  /**
   * Take the image's lock (image-lock.ts) until close(): while one opener holds it, another that asks for it,
   * in this process or another, gets `EBUSY` naming the holder. Off by default, as a plain open(2) is; on Linux
   * only, and per network namespace.
   */
  readonly lock?: boolean;
}

/** How a {@link FileBackend} does its reads and writes: see FileBackendOpenOptions.io. */
export type FileBackendIo = 'async' | 'sync' | 'auto';
const FILE_BACKEND_IO: readonly string[] = ['async', 'sync', 'auto'] satisfies readonly FileBackendIo[];

/** The options FileBackend.open knows (option-keys.ts): anything else is a misspelling it refuses. */
const OPEN_KEYS = { readOnly: true, create: true, blockSize: true, io: true, syncGate: true, lock: true } as const satisfies OptionKeys<FileBackendOpenOptions>;
const SYNC_GATE_KEYS = {
  now: true, slowBaseMs: true, msPerByte: true, window: true, slowLimit: true, slowBudgetMs: true, backoffMs: true, maxBackoffMs: true, onClose: true,
} as const satisfies OptionKeys<SyncGateOptions>;

function isFileBackendIo(io: string): io is FileBackendIo {
  return FILE_BACKEND_IO.includes(io);
}

function isBlockSize(n: number): n is 512 | 4096 {
  return n === 512 || n === 4096;
}

/**
 * `options` checked, with their defaults: a JavaScript caller's misspelt key or wrong shape is a TypeError,
 * a block size, io mode or gate setting that cannot be one a RangeError (caller bugs: FileBackend.open throws
 * them before it touches the file).
 */
export function checkOpenOptions(options: FileBackendOpenOptions): { readonly blockSize: 512 | 4096; readonly io: FileBackendIo; readonly readOnly: boolean } {
  const given: unknown = options;
  if (typeof given !== 'object' || given === null) throw new TypeError(`FileBackend.open: options must be an object, got ${given === null ? 'null' : typeof given}`);
  checkOptionKeys(options, OPEN_KEYS, 'FileBackend.open');
  if (options.syncGate !== undefined) checkOptionKeys(options.syncGate, SYNC_GATE_KEYS, 'FileBackend.open: syncGate');
  // Widened: JS callers and casts can pass anything.
  const blockSize: number = options.blockSize ?? SECTOR;
  if (!isBlockSize(blockSize)) throw new RangeError(`FileBackend.open: blockSize must be 512 or 4096, got ${blockSize}`);
  const io: string = options.io ?? 'async';
  if (!isFileBackendIo(io)) throw new RangeError(`FileBackend.open: io must be 'async', 'sync' or 'auto', got ${io}`);
  if (options.syncGate !== undefined && io !== 'auto') throw new RangeError(`FileBackend.open: syncGate applies to io 'auto', not '${io}'`);
  return { blockSize, io, readOnly: options.readOnly ?? false };
}
