// The initiator's requests in full feature phase other than SCSI commands,
// Data-Out and task management: NOP-Out (RFC 7143 §11.18), Text Request
// (§11.10) and Logout Request (§11.14). Each is decoded (a malformed one gets
// a Reject), ordered by CmdSN through the session, or answered at once in a
// discovery session, which has none, and answered on the connection. Their
// own module: none is on a command's path, and each needs only the few parts
// of its connection a ControlPduHost gives.

import * as wire from './bhs.js';
import { RejectReason, RESERVED_TAG, type Pdu, type TextRequestPdu } from './pdu-types.js';
import type { Session } from './session.js';
import type { PduStamper } from './stamp.js';
import type { TextPart } from './text-exchange.js';

/** What these requests need from their connection (connection.ts makes one, once). */
export interface ControlPduHost {
  /** The session bound to the connection; undefined for a discovery session. */
  session(): Session | undefined;
  /** Whether the connection has ended. */
  closed(): boolean;
  /** The connection's CID (from its login); undefined before full feature phase. */
  cid(): number | undefined;
  /** StatSN and the window on what the connection sends; a discovery session's ExpCmdSN. */
  readonly stamps: PduStamper;
  /** Queues a PDU to send (nothing once the connection has ended). */
  write(pdu: Pdu): void;
  /** Answers the PDU with this header with a Reject (§11.17.1 reason). */
  reject(header: Uint8Array, reason: number): void;
  /** Whether a NOP-Out's TTT echoes the connection's outstanding ping (NopPing.answered). */
  pingAnswered(ttt: number): boolean;
  /** A ping's data cut to the initiator's MaxRecvDataSegmentLength, as the NOP-In answering it carries it. */
  pingEcho(data: Uint8Array): Uint8Array;
  /** The Text Response part for `req` within the initiator's MaxRecvDataSegmentLength now (TextExchange.answer), or a Reject reason. */
  textPart(req: TextRequestPdu): TextPart | number;
  /** Hands what was queued to the socket and ends it: the connection closes once that is out. */
  end(): void;
}

/** A NOP-Out: the answer to our ping, or a ping of the initiator's that gets a NOP-In (through the session when there is one). */
export function handleNopOut(pdu: Pdu, c: ControlPduHost): void {
  const nop = wire.decodeNopOut(pdu);
  if ('reject' in nop) {
    c.reject(pdu.bhs, nop.reject);
    return;
  }
  if (nop.ttt !== RESERVED_TAG) {
    // The answer to our ping (§11.18.3): nothing to send back; the idle timer was re-armed on receipt.
    if (!c.pingAnswered(nop.ttt)) c.reject(pdu.bhs, RejectReason.INVALID_PDU_FIELD);
    return;
  }
  const session = c.session();
  if (session !== undefined) {
    session.nopOut(nop);
    return;
  }
  if (nop.itt !== RESERVED_TAG) c.write(wire.encodeNopIn({ lun: nop.lun, itt: nop.itt, ttt: RESERVED_TAG, statSN: c.stamps.stat(), ...c.stamps.window(), data: c.pingEcho(nop.data) }));
}

/** A Text Request, or one part of a text continued with the C bit: answered in its CmdSN turn with one Text Response part (text-exchange.ts). */
export function handleText(pdu: Pdu, c: ControlPduHost): void {
  const req = wire.decodeTextRequest(pdu);
  if ('reject' in req) {
    c.reject(pdu.bhs, req.reject);
    return;
  }
  const answer = (): void => {
    const part = c.textPart(req);
    if (typeof part === 'number') {
      c.reject(pdu.bhs, part);
      return;
    }
    const statSN = c.stamps.stat();
    c.write(wire.encodeTextResponse({ final: part.final, cont: part.cont, lun: req.lun, itt: req.itt, ttt: part.ttt, statSN, ...c.stamps.window(), data: part.data }));
  };
  const session = c.session();
  if (session === undefined) {
    if (!req.immediate) c.stamps.discoveryExpCmdSN = (req.cmdSN + 1) >>> 0;
    answer();
  } else session.ordered(req.cmdSN, req.immediate, answer);
}

/** Logout Response codes (RFC 7143 §11.15.1). */
const LogoutResponse = { CLOSED: 0, CID_NOT_FOUND: 1, RECOVERY_NOT_SUPPORTED: 2 } as const;

/**
 * A Logout Request: in its CmdSN turn, the Logout Response; the connection then ends unless it was refused.
 * Closing the session or the connection first terminates its pending commands (§11.14, Session.terminatePending):
 * a command still waiting for Data-Out the initiator will no longer send ends without a response, and the
 * Logout Response goes once the commands at the logical unit have finished.
 */
export function handleLogout(pdu: Pdu, c: ControlPduHost): void {
  const req = wire.decodeLogoutRequest(pdu);
  if ('reject' in req) {
    c.reject(pdu.bhs, req.reject);
    return;
  }
  const answer = (response: number): void => {
    if (c.closed()) return;
    const statSN = c.stamps.stat();
    c.write(wire.encodeLogoutResponse({ itt: req.itt, response, statSN, ...c.stamps.window(), time2Wait: 0, time2Retain: 0 }));
    if (response === LogoutResponse.CLOSED) c.end();
  };
  const respond = (): void => {
    // §11.14.1: reason 2 (remove the connection for recovery) needs ERL 2; reason 1 names the connection to close,
    // and a session has one connection (MaxConnections 1), so another CID is not found.
    const refused = req.reasonCode === 2 ? LogoutResponse.RECOVERY_NOT_SUPPORTED : req.reasonCode === 1 && req.cid !== c.cid() ? LogoutResponse.CID_NOT_FOUND : undefined;
    const session = c.session();
    if (refused !== undefined || session === undefined) {
      answer(refused ?? LogoutResponse.CLOSED);
      return;
    }
    session.terminatePending();
    void session.drain().then(() => {
      answer(LogoutResponse.CLOSED);
    });
  };
  const session = c.session();
  if (session === undefined) {
    if (!req.immediate) c.stamps.discoveryExpCmdSN = (req.cmdSN + 1) >>> 0;
    respond();
  } else session.ordered(req.cmdSN, req.immediate, respond);
}
