// Data-Out for tasks that have ended. A task aborted while its initiator was
// answering a valid R2T (or sending unsolicited data) gets no response, or
// one that crosses the data on the wire, so the initiator goes on sending
// the sequence to its F bit. Those PDUs are taken and dropped without a word;
// any other Data-Out naming no live task names no transfer at all: Reject,
// Invalid PDU field (RFC 7143 §11.17.1: invalid TTT/ITT). Its own module: the
// session (session.ts) only asks it about Data-Out that matched no task.

import { RejectReason, type DataOutPdu } from './pdu-types.js';

/** The Data-Out sequences ended tasks left open, for at most `limit` ITTs, the oldest forgotten first. */
export class LateDataOut {
  readonly #limit: number;
  /** By ITT: the Target Transfer Tags (RESERVED_TAG: unsolicited data) the initiator may still answer, each until its F bit. */
  readonly #owed = new Map<number, Set<number>>();

  /** @throws RangeError unless `limit` is a positive integer. */
  constructor(limit: number) {
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`LateDataOut: limit must be a positive integer, got ${limit}`);
    this.#limit = limit;
  }

  /** The task `itt` ended with the sequences `ttts` still open (replacing what an earlier task of that ITT left). */
  remember(itt: number, ttts: readonly number[]): void {
    this.#owed.delete(itt);
    this.#owed.set(itt, new Set(ttts));
    for (const oldest of this.#owed.keys()) {
      if (this.#owed.size <= this.#limit) break;
      this.#owed.delete(oldest);
    }
  }

  /** Data-Out that matched no live task: undefined when it answers a remembered sequence (taken, its F bit ending it), else the Reject reason. */
  take(pdu: Pick<DataOutPdu, 'itt' | 'ttt' | 'final'>): number | undefined {
    const ttts = this.#owed.get(pdu.itt);
    if (ttts?.has(pdu.ttt) !== true) return RejectReason.INVALID_PDU_FIELD;
    if (pdu.final) {
      ttts.delete(pdu.ttt);
      if (ttts.size === 0) this.#owed.delete(pdu.itt);
    }
    return undefined;
  }

  /** The session ended: nothing is remembered. */
  clear(): void {
    this.#owed.clear();
  }
}
