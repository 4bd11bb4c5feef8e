// The sequence numbers a connection stamps on the target PDUs it sends (RFC
// 7143 §11.1, §4.2.2.1): StatSN on a PDU that takes one (advanced by `stat`),
// ExpCmdSN and MaxCmdSN on all of them (`window`), the last MaxCmdSN the
// initiator was told remembered for the window-opening NOP-In; and the
// session's outputs (R2T, Data-In, SCSI Response, NOP-In, Task Management
// Response) encoded into PDUs so stamped.

import * as wire from './bhs.js';
import { RESERVED_TAG, type DataInFields, type Pdu, type R2tFields, type Residual, type ScsiResponseFields } from './pdu-types.js';
import type { SessionOutput } from './session-types.js';

/** What stamps ExpCmdSN and MaxCmdSN once a session is bound (Session). */
export interface CommandWindow {
  readonly expCmdSN: number;
  readonly maxCmdSN: number;
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

const EMPTY = new Uint8Array(0);
const NO_RESIDUAL: Residual = { overflow: false, underflow: false, count: 0 };

// R2T, Data-In and SCSI Response go out for every READ or WRITE. Their fields are filled into these objects
// and read by the encoder before it returns (nothing keeps them): no fields object is made per PDU.
const r2tFields: Mutable<R2tFields> = {
  statSN: 0, expCmdSN: 0, maxCmdSN: 0, lun: 0n, itt: 0, ttt: 0, r2tSN: 0, bufferOffset: 0, desiredDataTransferLength: 0,
};
const dataInStatus = { statSN: 0, scsiStatus: 0, residual: NO_RESIDUAL };
const dataInFields: Mutable<DataInFields> = {
  final: false, ack: false, lun: 0n, itt: 0, ttt: RESERVED_TAG, expCmdSN: 0, maxCmdSN: 0, dataSN: 0, bufferOffset: 0, data: EMPTY, bhs: undefined, status: undefined,
};
const responseFields: Mutable<ScsiResponseFields> = {
  itt: 0, response: 0, status: 0, statSN: 0, expCmdSN: 0, maxCmdSN: 0, expDataSN: 0, residual: NO_RESIDUAL, sense: undefined,
};

/** One connection's StatSN and window stamps, and the encoding of what its session sends. */
export class PduStamper {
  #statSN = 0;
  #lastMaxCmdSN = 0;
  #session: CommandWindow | undefined;
  /** ExpCmdSN (and MaxCmdSN) without a session: the login's, then moved on by a discovery session's Text and Logout. */
  discoveryExpCmdSN = 0;

  /** StatSN for the next PDU that takes one (the login phase's last one, once it ends). */
  setStatSN(statSN: number): void {
    this.#statSN = statSN;
  }

  /** The full feature phase's window: the session's (discovery: none), `maxCmdSN` the last one the login told. */
  bind(session: CommandWindow | undefined, maxCmdSN: number): void {
    this.#session = session;
    this.#lastMaxCmdSN = session?.maxCmdSN ?? maxCmdSN;
  }

  /** StatSN for a PDU that takes one (§11.1): the current one, then advanced. */
  stat(): number {
    const s = this.#statSN;
    this.#statSN = (s + 1) >>> 0;
    return s;
  }

  /** StatSN as it stands, for a PDU that carries it without taking one (R2T, an unsolicited NOP-In). */
  get statSN(): number {
    return this.#statSN;
  }

  window(): { expCmdSN: number; maxCmdSN: number } {
    return { expCmdSN: this.#expCmdSN(), maxCmdSN: this.#maxCmdSN() };
  }

  /** ExpCmdSN for a PDU going out now (read before #maxCmdSN, as window does). */
  #expCmdSN(): number {
    return this.#session?.expCmdSN ?? this.discoveryExpCmdSN;
  }

  /** MaxCmdSN for a PDU going out now, remembered as the last one the initiator was told ('window'). */
  #maxCmdSN(): number {
    const s = this.#session;
    if (s === undefined) return this.discoveryExpCmdSN;
    this.#lastMaxCmdSN = s.maxCmdSN;
    return this.#lastMaxCmdSN;
  }

  /** The NOP-In that pings an idle initiator (§11.19: TTT `ttt`, ITT reserved, StatSN not advanced). */
  nopPing(ttt: number): Pdu {
    return wire.encodeNopIn({ lun: 0n, itt: RESERVED_TAG, ttt, statSN: this.#statSN, ...this.window(), data: new Uint8Array(0) });
  }

  /** A Reject (§11.17) of the PDU whose header is `header`. */
  reject(header: Uint8Array, reason: number): Pdu {
    return wire.encodeReject({ reason, statSN: this.stat(), ...this.window(), dataSN: 0, header: header.subarray(0, 48) });
  }

  /** What the session asked to send, stamped; undefined when there is nothing to send. */
  sessionPdu(o: SessionOutput): Pdu | undefined {
    switch (o.kind) {
      case 'r2t': {
        const f = r2tFields;
        f.expCmdSN = this.#expCmdSN();
        f.maxCmdSN = this.#maxCmdSN();
        f.statSN = this.#statSN;
        f.lun = o.lun;
        f.itt = o.itt;
        f.ttt = o.ttt;
        f.r2tSN = o.r2tSN;
        f.bufferOffset = o.bufferOffset;
        f.desiredDataTransferLength = o.length;
        return wire.encodeR2t(f);
      }
      case 'data-in':
        return this.#dataIn(o);
      case 'response': {
        const f = responseFields;
        f.statSN = this.stat();
        f.itt = o.itt;
        f.status = o.status;
        f.expCmdSN = this.#expCmdSN();
        f.maxCmdSN = this.#maxCmdSN();
        f.expDataSN = o.expDataSN;
        f.residual = o.residual;
        f.sense = o.sense;
        const pdu = wire.encodeScsiResponse(f);
        f.sense = undefined;
        return pdu;
      }
      case 'nop-in': {
        const statSN = this.stat();
        return wire.encodeNopIn({ lun: o.lun, itt: o.itt, ttt: RESERVED_TAG, statSN, ...this.window(), data: o.data });
      }
      case 'tmf-response': {
        const statSN = this.stat();
        return wire.encodeTaskMgmtResponse({ itt: o.itt, response: o.response, statSN, ...this.window() });
      }
      case 'window': {
        // §4.2.2.1: an initiator facing a closed window learns of it opening from any PDU; if none is due, a
        // NOP-In with both tags reserved carries the new MaxCmdSN (it does not advance StatSN, §11.19).
        const s = this.#session;
        if (s === undefined) return undefined;
        const closed = (this.#lastMaxCmdSN + 1) >>> 0 === s.expCmdSN;
        if (!closed || s.maxCmdSN === this.#lastMaxCmdSN) return undefined;
        return wire.encodeNopIn({ lun: 0n, itt: RESERVED_TAG, ttt: RESERVED_TAG, statSN: this.#statSN, ...this.window(), data: new Uint8Array(0) });
      }
    }
  }

  #dataIn(o: Extract<SessionOutput, { kind: 'data-in' }>): Pdu {
    const f = dataInFields;
    f.expCmdSN = this.#expCmdSN();
    f.maxCmdSN = this.#maxCmdSN();
    if (o.status === undefined) f.status = undefined;
    else {
      dataInStatus.statSN = this.stat();
      dataInStatus.scsiStatus = o.status.scsiStatus;
      dataInStatus.residual = o.status.residual;
      f.status = dataInStatus;
    }
    f.final = o.final;
    f.lun = o.lun;
    f.itt = o.itt;
    f.dataSN = o.dataSN;
    f.bufferOffset = o.bufferOffset;
    f.data = o.data;
    f.bhs = o.header;
    const pdu = wire.encodeDataIn(f);
    // The segment and header are the caller's: not kept alive here past their PDU.
    f.data = EMPTY;
    f.bhs = undefined;
    return pdu;
  }
}
