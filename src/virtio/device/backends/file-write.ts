// Writing to an image file through a FileHandle: every byte of a buffer, zeros
// over a range, and an unmap that allocates nothing.
//
// Node exposes neither fallocate(2) nor FALLOC_FL_PUNCH_HOLE, so nothing here
// can give space back to the file system. Writing zeros maps the blocks, which
// is what a write-zeroes without unmap (WRITE SAME without UNMAP) asks for. An
// unmap (UNMAP, WRITE SAME with UNMAP, virtio-blk DISCARD) deallocates blocks or
// leaves them as they are; it never maps one (SBC-4 §4.7, logical block
// provisioning). Writing zeros over the whole range would allocate every hole in
// it: a whole-disk UNMAP of an untouched thin image would fill the image, and on
// a nearly full file system the UNMAP itself would fail for lack of space.
// unmapRange therefore reads the range first and writes zeros only over the
// sectors that hold data; reading a hole allocates nothing, and a hole stays one.

import { Buffer } from 'node:buffer';
import type { FileHandle } from 'node:fs/promises';
import type { BackendStatus } from '../backend.js';

/** virtio-blk sector (VIRTIO 1.2 §5.2.6): the unit an unmap tells data from zeros in. */
const SECTOR = 512;
/** Node rejects a single read or write above 2 GiB - 1; 1 GiB per call stays clear of it. */
export const MAX_IO = 1 << 30;
/** Size of the shared zero buffer, and of the piece an unmap reads at a time. */
const PIECE = 1 << 20;

/** Zero bytes, allocated on first use so that importing this module costs nothing. */
let zeroes: Uint8Array | undefined;
function zeroBuffer(): Uint8Array {
  return (zeroes ??= new Uint8Array(PIECE));
}

/** pwrite(2) until every byte is written: a short write is not an error, a zero-byte one would loop forever. */
export async function writeAll(fh: FileHandle, src: Uint8Array, offset: number): Promise<BackendStatus> {
  let pos = 0;
  while (pos < src.length) {
    const { bytesWritten } = await fh.write(src, pos, Math.min(src.length - pos, MAX_IO), offset + pos);
    if (bytesWritten === 0) return 'io-error';
    pos += bytesWritten;
  }
  return 'ok';
}

/** Writes `length` zero bytes at `offset` from the shared buffer, one bounded piece at a time; the range ends up mapped. */
export async function writeZeros(fh: FileHandle, offset: number, length: number): Promise<BackendStatus> {
  const zero = zeroBuffer();
  for (let done = 0; done < length; done += PIECE) {
    const status = await writeAll(fh, zero.subarray(0, Math.min(PIECE, length - done)), offset + done);
    if (status !== 'ok') return status;
  }
  return 'ok';
}

/**
 * Makes [offset, offset+length) read as zeros without allocating: reads it one
 * piece at a time (one piece buffer per call) and writes zeros over each run of
 * sectors that holds data. A sector with data sits in an allocated block, so
 * overwriting it maps nothing new; a sector that reads as zeros is left alone,
 * hole or not.
 */
export async function unmapRange(fh: FileHandle, offset: number, length: number): Promise<BackendStatus> {
  const piece = new Uint8Array(Math.min(PIECE, length));
  for (let done = 0; done < length; done += piece.length) {
    const at = offset + done;
    const got = await readPiece(fh, piece, Math.min(piece.length, length - done), at);
    for (const [start, end] of dataRuns(piece, got)) {
      const status = await writeAll(fh, zeroBuffer().subarray(0, end - start), at + start);
      if (status !== 'ok') return status;
    }
  }
  return 'ok';
}

/** pread(2) of up to `length` bytes into `dst` from `offset`; fewer where the file ends (it was truncated: nothing there to zero). */
async function readPiece(fh: FileHandle, dst: Uint8Array, length: number, offset: number): Promise<number> {
  let pos = 0;
  while (pos < length) {
    const { bytesRead } = await fh.read(dst, pos, length - pos, offset + pos);
    if (bytesRead === 0) break;
    pos += bytesRead;
  }
  return pos;
}

function isZero(buf: Uint8Array, start: number, end: number): boolean {
  return Buffer.compare(buf.subarray(start, end), zeroBuffer().subarray(0, end - start)) === 0;
}

/** The maximal runs [start, end) of sectors in `buf[0, length)` that hold a byte other than zero. */
function dataRuns(buf: Uint8Array, length: number): [number, number][] {
  const runs: [number, number][] = [];
  // The common cases, a hole or unused space, in one comparison.
  if (isZero(buf, 0, length)) return runs;
  let runStart = -1;
  for (let s = 0; s < length; s += SECTOR) {
    const end = Math.min(s + SECTOR, length);
    if (isZero(buf, s, end)) {
      if (runStart >= 0) runs.push([runStart, s]);
      runStart = -1;
    } else if (runStart < 0) {
      runStart = s;
    }
  }
  if (runStart >= 0) runs.push([runStart, length]);
  return runs;
}
