// What one connection sends, and the back-pressure that puts on its reading.
// Every target PDU is queued by write(), in the order it was made, and what
// one turn queued goes to the socket after it (flush, socket-write.ts). A PDU
// is its header and its data segment, padded to 4 bytes, with the digests the
// login negotiated (RFC 7143 §11.1, §13.1): without digests or padding its
// header and data are queued as they are, with no serialized copy, and a
// READ's data may be received in a Data-In room (data-in-rooms.ts) with its
// header's place in front of it; with digests on, every PDU is serialized
// whole and no room is given. The socket is paused while its write side (with
// what this turn has queued) is over its high-water mark, and resumed on
// 'drain'; what its READs will send is bounded too (data-in-gate.ts).
//
// Its own module: how output is queued and reaches the socket is apart from
// what the connection reads and answers (connection.ts). The connection
// calls write() directly, once per PDU, and hands out dataInRoom as its own:
// nothing is made per PDU, and no call stands between a command and these.

import type { Socket } from 'node:net';
import { serializePdu } from './framing.js';
import type { Pdu } from './pdu-types.js';
import type { ConnectionHost } from './connection-types.js';
import { appendChunk, writeTurn } from './socket-write.js';
import { DataInRooms } from './data-in-rooms.js';
import { DATA_IN_HIGH_WATER, DataInGate } from './data-in-gate.js';

/** Above this many bytes queued for writing the connection stops reading until 'drain'. */
const WRITE_HIGH_WATER = 4 * 2 ** 20;

/** The digests on each PDU (HeaderDigest, DataDigest: CRC32C or None, §13.1). */
export interface Digests {
  readonly header: boolean;
  readonly data: boolean;
}

/** One connection's output queue, its Data-In rooms, and the pause of its reading. */
export class ConnectionOutput {
  readonly #socket: Socket;
  readonly #host: Pick<ConnectionHost, 'touched'>;
  readonly #rooms = new DataInRooms();
  /** The gate this connection's commands with Data-In pass before their units (data-in-gate.ts), on this output's backlog. */
  readonly dataInGate: DataInGate;
  #digests: Digests = { header: false, data: false };
  /** The connection has ended: nothing more is queued (what was still goes out with flush). */
  #closed = false;
  #readPaused = false;
  /** Bytes queued by write this turn, not yet handed to the socket. */
  #pending: Uint8Array[] = [];
  #pendingBytes = 0;
  readonly #flushTurn = (): void => {
    if (!this.#closed) this.flush();
  };

  /** `host.touched` hears of each turn that reaches the socket; `dataInHighWater` is the Data-In gate's limit. */
  constructor(socket: Socket, host: Pick<ConnectionHost, 'touched'>, dataInHighWater = DATA_IN_HIGH_WATER) {
    this.#socket = socket;
    this.#host = host;
    this.dataInGate = new DataInGate(() => this.#socket.writableLength + this.#pendingBytes, dataInHighWater);
    socket.on('drain', () => {
      this.#resume();
      this.dataInGate.wake();
    });
  }

  /** The digests the login negotiated, on every PDU after the final Login Response (§13.1). */
  setDigests(digests: Digests): void {
    this.#digests = digests;
  }

  /**
   * A Data-In room (data-in-rooms.ts) whose PDU reaches the socket with no copy, or undefined while digests
   * are on (write serializes every PDU then). A function of its own, which the connection hands out as its
   * dataInRoom: a READ takes its room with no call in between.
   */
  readonly dataInRoom = (bytes: number): Uint8Array | undefined => (this.#digests.header || this.#digests.data ? undefined : this.#rooms.take(bytes));

  /**
   * Queues a PDU; what one turn produced is written after it (flush), in
   * order. Without digests or padding the header and data segment are queued
   * as they are, with no serialized copy.
   */
  write(pdu: Pdu): void {
    if (this.#closed) return;
    if (this.#pending.length === 0) process.nextTick(this.#flushTurn);
    if (!this.#digests.header && !this.#digests.data && pdu.ahs.length === 0 && pdu.data.length % 4 === 0) {
      this.#queue(pdu.bhs);
      if (pdu.data.length > 0) this.#queue(pdu.data);
    } else this.#queue(serializePdu(pdu, this.#digests));
  }

  /** Hands the queued PDUs to the socket (socket-write.ts): one buffer when small, else one corked writev. */
  flush(): void {
    const chunks = this.#pending;
    const total = this.#pendingBytes;
    if (chunks.length === 0) return;
    this.#pending = [];
    this.#pendingBytes = 0;
    writeTurn(this.#socket, chunks, total);
    this.#host.touched();
    if (this.dataInGate.waiting > 0) this.dataInGate.wake();
  }

  /** The connection ended: write() queues nothing more; what was queued goes out with the next flush(). */
  close(): void {
    this.#closed = true;
  }

  /** After a chunk read: stops reading while the socket's write side and this turn's queue are over the high-water mark. */
  pauseIfFull(): void {
    if (this.#socket.writableLength + this.#pendingBytes > WRITE_HIGH_WATER) this.#pause();
  }

  #pause(): void {
    if (this.#readPaused) return;
    this.#readPaused = true;
    this.#socket.pause();
  }

  #resume(): void {
    if (!this.#readPaused || this.#socket.writableLength > WRITE_HIGH_WATER) return;
    this.#readPaused = false;
    this.#socket.resume();
  }

  /** Queues `chunk`, merged into the chunk before when it follows it in memory (socket-write.ts appendChunk). */
  #queue(chunk: Uint8Array): void {
    appendChunk(this.#pending, chunk);
    this.#pendingBytes += chunk.length;
  }
}
