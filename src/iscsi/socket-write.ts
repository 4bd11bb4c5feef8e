// How the PDUs a connection queued in one turn reach its socket. As they are
// queued, chunks that follow one another in memory become one (appendChunk).
// Once per turn (writeTurn): a single chunk goes as it is, a few small ones
// are copied into one buffer (one socket write), a large turn goes as its
// chunks in one corked writev.

import type { Socket } from 'node:net';

/**
 * PDUs of one turn up to this many bytes in all leave as one buffer (one
 * socket write): copying a few 4 KiB Data-In segments costs less than a stream
 * write per header and per segment. Larger turns go as separate chunks in one writev.
 */
const COALESCE_BYTES = 64 * 1024;

/**
 * Appends `chunk` to a turn's `pending` chunks, or widens the last one when `chunk` follows it in memory (the
 * same buffer, the next byte): a Data-In room's header and data, rooms taken one after another
 * (data-in-rooms.ts), BHSs cut one after another. A turn that is one run of bytes then goes to the socket
 * as one view, with no copy.
 */
export function appendChunk(pending: Uint8Array[], chunk: Uint8Array): void {
  const n = pending.length;
  const last = n === 0 ? undefined : pending[n - 1];
  // byteOffset first: a chunk at offset 0 follows nothing, and reading `buffer` of a small array V8 keeps on
  // its heap would move it off.
  if (last !== undefined && chunk.byteOffset !== 0 && last.byteOffset + last.length === chunk.byteOffset && last.buffer === chunk.buffer) {
    pending[n - 1] = new Uint8Array(last.buffer, last.byteOffset, last.length + chunk.length);
  } else pending.push(chunk);
}

/** Writes one turn's chunks (`total` bytes in all, at least one chunk), in order: one buffer when small (COALESCE_BYTES), else one corked writev. */
export function writeTurn(socket: Socket, chunks: readonly Uint8Array[], total: number): void {
  const first = chunks[0];
  if (chunks.length === 1 && first !== undefined) {
    socket.write(first);
    return;
  }
  if (total <= COALESCE_BYTES) {
    const out = Buffer.allocUnsafe(total);
    let at = 0;
    for (const c of chunks) {
      out.set(c, at);
      at += c.length;
    }
    socket.write(out);
    return;
  }
  socket.cork();
  for (const c of chunks) socket.write(c);
  socket.uncork();
}
