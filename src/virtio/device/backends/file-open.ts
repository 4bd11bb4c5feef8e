// Opening an image file: the only place where the user's input meets the file
// system, so each failure is a value whose message says what to do next
// (FileBackendError), plus creating a missing image sparse.

import { constants } from 'node:fs';
import { open, readlink, rm, type FileHandle } from 'node:fs/promises';
import { dirname, isAbsolute, join } from 'node:path';

/** virtio-blk sector (VIRTIO 1.2 §5.2.6). */
const SECTOR = 512;
/** Linux's MAXSYMLINKS: open(2) gives up with ELOOP after following as many links. */
const MAX_LINKS = 40;

/** Why `FileBackend.open` failed; a system error code Node reported, or `EINVAL` for a bad size. */
export const FileBackendErrorCode = {
  ENOENT: 'ENOENT',
  EACCES: 'EACCES',
  EPERM: 'EPERM',
  EROFS: 'EROFS',
  EISDIR: 'EISDIR',
  EINVAL: 'EINVAL',
  ENOSPC: 'ENOSPC',
  /** Creating: the size is more than the file system allows for one file. */
  EFBIG: 'EFBIG',
  /** `FileBackend.openShare`: the file at the path is no longer the one that was shared, or its size changed. */
  ESTALE: 'ESTALE',
  /** Opened with `lock`: another opener holds the image's lock (image-lock.ts). */
  EBUSY: 'EBUSY',
  /** Anything else; the message names the original code. */
  EIO: 'EIO',
} as const;
export type FileBackendErrorCode = (typeof FileBackendErrorCode)[keyof typeof FileBackendErrorCode];

/** A failed `FileBackend.open`: `message` is meant for the user and says how to fix it. */
export interface FileBackendError {
  readonly ok: false;
  readonly code: FileBackendErrorCode;
  readonly message: string;
  readonly path: string;
  /** `EBUSY`: who holds the image's lock, as it described itself (its pid and command line), when it did. */
  readonly holder?: string;
}

export function errorCode(err: unknown): string | undefined {
  if (typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'string') return err.code;
  return undefined;
}

export function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export function failure(path: string, code: FileBackendErrorCode, message: string): FileBackendError {
  return { ok: false, code, message, path };
}

/**
 * The user-facing error for a failed open(2) of an image, or of creating one (open and ftruncate), per
 * errno. Worded for a caller of FileBackend.open, naming its options; a command-line front end that has
 * flags of its own words them itself from `code`.
 */
export function openFailure(path: string, err: unknown, readOnly: boolean, creating: boolean): FileBackendError {
  const code = errorCode(err) ?? 'unknown';
  switch (code) {
    case 'ENOENT':
      return creating
        ? failure(path, 'ENOENT', `cannot create image ${path}: directory ${dirname(path)} does not exist; create it first`)
        : failure(path, 'ENOENT', `image ${path} not found; pass the create option with a size to create it`);
    case 'EACCES':
    case 'EPERM':
      if (creating) return failure(path, code, `permission denied creating image ${path}: directory ${dirname(path)} is not writable; create it in one that is`);
      return failure(path, code, readOnly
        ? `permission denied reading image ${path}; fix its permissions`
        : `permission denied opening image ${path} for writing; make it writable, or open it with readOnly if it is readable`);
    case 'EROFS':
      return creating
        ? failure(path, 'EROFS', `cannot create image ${path}: directory ${dirname(path)} is on a read-only file system; create it elsewhere`)
        : failure(path, 'EROFS', `image ${path} is on a read-only file system; open it with readOnly`);
    case 'EISDIR':
      return failure(path, 'EISDIR', `${path} is a directory, not a disk image; pass the path of an image file`);
    case 'ENOSPC':
      return failure(path, 'ENOSPC', `no space left to create image ${path}; free some space or choose a smaller size`);
    case 'EFBIG':
      // ftruncate(2) past the file system's largest file (ext4: 16 TiB with 4 KiB blocks).
      if (creating) return failure(path, 'EFBIG', `cannot create image ${path}: the size is more than its file system allows for one file; choose a smaller size`);
      break;
  }
  // Node's own message starts with the code ("EIO: i/o error, open '…'"); say it once.
  const text = errorText(err);
  return failure(path, 'EIO', `cannot open image ${path}: ${text.startsWith(`${code}:`) ? text : `${code}: ${text}`}`);
}

/**
 * open(2) of the image at `path`, before fstat knows what it is. With O_NONBLOCK:
 * opening a FIFO for reading otherwise waits for a writer, forever, and holds a
 * thread-pool thread while it does; nonblocking it returns at once and fstat
 * refuses it. Rejects as open(2) does.
 */
export function openProbe(path: string, readOnly: boolean): Promise<FileHandle> {
  return open(path, (readOnly ? constants.O_RDONLY : constants.O_RDWR) | constants.O_NONBLOCK);
}

/**
 * The descriptor to do I/O on once fstat found a regular file behind `probe`: the
 * same file opened again without O_NONBLOCK, through /proc/self/fd so that no other
 * file can have taken its place at the path. pread(2) and pwrite(2) ignore
 * O_NONBLOCK on a regular file, but io_uring, which libuv uses for file I/O with
 * UV_USE_IO_URING=1, does not always: depending on the kernel and the file
 * system, a read that has to wait for the disk fails with EAGAIN. Where /proc is
 * not mounted (or off Linux, which alone has io_uring) the probe itself is kept.
 */
export async function reopenBlocking(probe: FileHandle, readOnly: boolean): Promise<FileHandle> {
  let fh: FileHandle;
  try {
    fh = await open(`/proc/self/fd/${probe.fd}`, readOnly ? 'r' : 'r+');
  } catch {
    return probe;
  }
  await probe.close().catch(() => undefined);
  return fh;
}

/**
 * Where the dangling symbolic link at `path` leads: the path its chain of links
 * ends at, which does not exist. Undefined when `path` is no link or leads to
 * something that exists. open(2) reports such a link as ENOENT, and creating the
 * image exclusively (O_EXCL) refuses to go through it, so "not found, create it"
 * would send the user round in a circle.
 */
export async function danglingLinkTarget(path: string): Promise<string | undefined> {
  let at = path;
  for (let links = 0; links < MAX_LINKS; links++) {
    let target: string;
    try {
      target = await readlink(at);
    } catch (err) {
      return links > 0 && errorCode(err) === 'ENOENT' ? at : undefined;
    }
    // A relative target is relative to the link's directory.
    at = isAbsolute(target) ? target : join(dirname(at), target);
  }
  return undefined;
}

/** The failure for an image that open(2) did not find because it is a dangling symbolic link; undefined when it is not one. */
export async function danglingLink(path: string): Promise<FileBackendError | undefined> {
  const target = await danglingLinkTarget(path);
  if (target === undefined) return undefined;
  return failure(path, 'ENOENT', `image ${path} is a symbolic link to ${target}, which does not exist; create ${target}, or remove the link and pass the create option to make the image in its place`);
}

/** Checks an image size; undefined when it is usable. */
export function checkImageSize(path: string, size: number, blockSize: 512 | 4096): FileBackendError | undefined {
  if (size === 0) {
    return failure(path, 'EINVAL', `image ${path} is empty (0 bytes); delete it and open it with the create option to make it anew, or pad it with \`truncate -s <size> ${path}\``);
  }
  if (size % blockSize !== 0) {
    const padded = Math.ceil(size / blockSize) * blockSize;
    const unit = blockSize === SECTOR ? 'of 512' : `of the ${blockSize}-byte block size`;
    return failure(path, 'EINVAL', `image ${path} is ${size} bytes, not a multiple ${unit}; pad it with \`truncate -s ${padded} ${path}\``);
  }
  return undefined;
}

/** Creates a sparse image of `size` bytes; 'exists' when another opener won the race. */
export async function createImage(
  path: string,
  size: number,
  blockSize: 512 | 4096,
): Promise<{ readonly ok: true; readonly fh: FileHandle } | FileBackendError | 'exists'> {
  if (!Number.isSafeInteger(size) || size <= 0 || size % blockSize !== 0) {
    return failure(path, 'EINVAL', `cannot create image ${path} of ${size} bytes: the size must be a positive multiple of ${blockSize}`);
  }
  let fh: FileHandle;
  try {
    // 'wx+': exclusive, so an image that appeared since our first open is never truncated.
    fh = await open(path, 'wx+');
  } catch (err) {
    if (errorCode(err) === 'EEXIST') return 'exists';
    return openFailure(path, err, false, true);
  }
  try {
    // ftruncate(2) extends with a hole: the image takes no space until written.
    await fh.truncate(size);
    return { ok: true, fh };
  } catch (err) {
    await fh.close().catch(() => undefined);
    // Do not leave a half-made image behind for the next open to trip over.
    await rm(path, { force: true }).catch(() => undefined);
    return openFailure(path, err, false, true);
  }
}

/** Closes `fh` (ignoring failure: the open already failed) and returns `result`. */
export async function closing(fh: FileHandle, result: FileBackendError): Promise<FileBackendError> {
  await fh.close().catch(() => undefined);
  return result;
}
