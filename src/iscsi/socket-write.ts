// How the PDUs a connection queued in one turn reach its socket: a few small
// ones are copied into one buffer (one socket write), a large turn goes as its
// chunks in one corked writev. Called once per turn, not per PDU.

import type { Socket } from 'node:net';

/**
 * PDUs of one turn up to this many bytes in all leave as one buffer (one
 * socket write): copying a few 4 KiB Data-In segments costs less than a stream
 * write per header and per segment. Larger turns go as separate chunks in one writev.
 */
const COALESCE_BYTES = 64 * 1024;

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
