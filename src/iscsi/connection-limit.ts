// How many TCP connections a portal serves at once
// (IscsiServerOptions.connectionLimit). Every connection holds its socket and
// buffers until it ends (a stalled login for loginTimeoutMs), so a peer that
// opened connections without a limit would grow the process without bound. A
// socket holds its place from accept to its 'close', closing ones included;
// past the limit a new one is refused as it is accepted, before anything of
// it is read. No separate session limit: a session has one connection
// (MaxConnections 1), so this bounds sessions too.

import type { Socket } from 'node:net';

/** Connections served at once by default: more initiators than one target serves, a bounded part of the process. */
export const DEFAULT_CONNECTION_LIMIT = 1024;

/** A portal's places for connections. */
export class ConnectionLimit {
  readonly limit: number;
  #open = 0;

  /** @throws RangeError unless `limit` is a whole number of at least 1. */
  constructor(limit: number = DEFAULT_CONNECTION_LIMIT) {
    if (!Number.isSafeInteger(limit) || limit < 1) throw new RangeError(`iSCSI server: connectionLimit must be a whole number of at least 1, got ${limit}`);
    this.limit = limit;
  }

  /** Sockets holding a place now. */
  get open(): number {
    return this.#open;
  }

  /** Gives `socket` a place until it closes: true; false when every place is taken (the caller refuses it). */
  admit(socket: Socket): boolean {
    if (this.#open >= this.limit) return false;
    this.#open++;
    socket.once('close', () => {
      this.#open--;
    });
    return true;
  }
}
