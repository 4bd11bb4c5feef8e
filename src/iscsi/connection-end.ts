// How a connection's socket ends (RFC 7143, ErrorRecoveryLevel 0, §7.1.4):
// at once (IscsiConnection.close: a drop, a refused login, §11.13.5, the peer
// gone, a Logout answered, §11.14), after its tasks while the portal closes
// (shutdown), or on a bug of the target's. What was already written still
// goes out, but a peer that does not read it is cut off after a grace period;
// while the portal closes, the connection reads only what its tasks are owed,
// and once everything is sent it reads on only to see the peer's FIN. Its own
// module: none of it is on a PDU's way (the connection keeps the two flags
// each chunk and PDU are checked against), and it needs only the socket and
// the connection's output.

import type { Socket } from 'node:net';
import * as wire from './bhs.js';
import type { FrameResult } from './framing.js';
import { IscsiOpcode } from './pdu-types.js';
import type { ConnectionOutput } from './connection-output.js';

/**
 * How long a closing connection may take to flush what was written before it is destroyed; while the portal
 * closes, also how long Data-Out owed to its tasks may stop before they end (Session.drainClosing).
 */
export const END_GRACE_MS = 2000;
/**
 * What a connection still takes while the portal closes (shutdown): the Data-Out its tasks are owed, and the
 * NOP-Out answering a ping. Anything else, new commands above all, is dropped unread, as if it had come after
 * the connection closed: the close lets commands in flight complete, and takes no new ones.
 */
const TAKEN_WHILE_DRAINING: ReadonlySet<number> = new Set([IscsiOpcode.SCSI_DATA_OUT, IscsiOpcode.NOP_OUT]);

/** Whether a connection whose portal closes still acts on `r`: a PDU TAKEN_WHILE_DRAINING names, or a failure to frame one. */
export function takenWhileDraining(r: FrameResult): boolean {
  return r.kind === 'fatal' || TAKEN_WHILE_DRAINING.has(wire.readOpcode(r.kind === 'segment-too-long' ? r.bhs : r.pdu.bhs));
}

/**
 * A bug of the target's while it handled the peer's bytes (what a peer sends is answered, never thrown): the
 * connection ends at once (`close`), in whatever state it was, and the process with every other session goes
 * on. The socket goes first, so that a second fault while closing cannot keep it; `log` hears of each fault.
 */
export function endOnFault(e: unknown, socket: Socket, close: () => void, log: (line: string) => void): void {
  const what = (x: unknown): string => (x instanceof Error ? (x.stack ?? x.message) : String(x));
  log(`closing connection: internal error: ${what(e)}`);
  socket.destroy();
  try {
    close();
  } catch (again) {
    log(`internal error while closing: ${what(again)}`);
  }
}

/** Hands what `out` queued to the socket and ends it: the connection closes once that is out. */
export function endSocket(socket: Socket, out: ConnectionOutput): void {
  out.flush();
  socket.end();
}

/** The socket is destroyed END_GRACE_MS from now, whatever the peer does; the timer holds no process open. */
export function destroyAfterGrace(socket: Socket): void {
  setTimeout(() => socket.destroy(), END_GRACE_MS).unref();
}

/**
 * The end of a connection whose portal closes, once its tasks have ended: unless the connection has `closed`
 * meanwhile (then it resolves at once), what `out` queued goes out, and it resolves once that is out or the
 * socket has closed. The peer has `capMs` to take what was written, then END_GRACE_MS to close; past either,
 * the socket is destroyed. A slow peer that keeps reading gets the answers of the commands that were in
 * flight; one that stopped reading holds the close for `capMs` at most. (How much of a queued write the peer
 * has taken cannot be seen finer: the socket counts a write as pending until the kernel took all of it.)
 */
export async function endGracefully(socket: Socket, out: ConnectionOutput, closed: () => boolean, capMs: number): Promise<void> {
  if (closed()) return;
  out.flush();
  // On timers that hold the event loop (a process awaiting the server's close would otherwise exit with it
  // unsettled), armed now, not once the writes are out, which a peer that stopped reading never lets happen.
  // The socket closes on the peer's FIN, which one paused for back-pressure does not read: it reads again,
  // dropping what comes.
  if (!socket.destroyed) {
    const destroy = (): void => {
      socket.destroy();
    };
    const cap = setTimeout(destroy, capMs);
    let grace: NodeJS.Timeout | undefined;
    socket.once('finish', () => {
      grace = setTimeout(destroy, END_GRACE_MS);
    });
    socket.once('close', () => {
      clearTimeout(cap);
      clearTimeout(grace);
    });
    socket.resume();
  }
  await new Promise<void>((resolve) => {
    socket.once('close', resolve);
    socket.end(resolve);
  });
}
