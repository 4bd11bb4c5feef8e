// The login phase of one connection as PDUs (RFC 7143 §6.1, §11.12, §11.13):
// what each PDU received before full feature phase leads to, and the phase
// itself as the connection runs it (LoginPhase): the login state machine the
// portal gave it, the login timeout, the Login Response each PDU gets and
// what the connection does next. Only Login Requests belong there; a Login
// Request is decoded and handed to the login state machine (login.ts), whose
// answer goes back as one Login Response. Its own module: nothing of it runs
// once full feature phase has begun, which the connection (connection.ts)
// sets up when the phase hands it the login's result.

import * as wire from './bhs.js';
import { IscsiOpcode, type Pdu } from './pdu-types.js';
import type { TargetLogin } from './login.js';
import type { LoginResult } from './login-types.js';

/** What one login-phase PDU leads to: LoginPhase sends `response` (when there is one), then acts on `kind`. */
export type LoginPhaseStep =
  /** The login goes on. */
  | { readonly kind: 'continue'; readonly response: Pdu }
  /** The final Login Response: full feature phase begins with `result`. */
  | { readonly kind: 'full-feature'; readonly response: Pdu; readonly result: LoginResult }
  /** The login failed (the response carries the status): the connection ends once the response has gone out. */
  | { readonly kind: 'refused'; readonly response: Pdu; readonly reason: string }
  /** The PDU has no place in a login: the connection closes now. */
  | { readonly kind: 'drop'; readonly response: Pdu | undefined; readonly reason: string };

/** The step for one PDU received in the login phase; a `reason` is for the log. */
export function loginPhaseStep(login: TargetLogin, pdu: Pdu): LoginPhaseStep {
  if (wire.readOpcode(pdu.bhs) !== IscsiOpcode.LOGIN_REQUEST) {
    // §6.1 / §11.13.5: any other PDU before full feature phase is refused 02h/0Bh and the connection ends.
    const response = wire.encodeLoginResponse(login.invalidDuringLogin().response);
    return { kind: 'drop', response, reason: `PDU with opcode 0x${wire.readOpcode(pdu.bhs).toString(16)} during login` };
  }
  const req = wire.decodeLoginRequest(pdu);
  if ('reject' in req) return { kind: 'drop', response: undefined, reason: `malformed login request: ${req.message}` };
  const step = login.handle(req);
  const response = wire.encodeLoginResponse(step.response);
  switch (step.outcome) {
    case 'continue':
      return { kind: 'continue', response };
    case 'full-feature':
      return { kind: 'full-feature', response, result: step.result };
    case 'fail':
      return { kind: 'refused', response, reason: `login refused (class 0x${step.response.statusClass.toString(16)} detail 0x${step.response.statusDetail.toString(16)}): ${step.reason}` };
  }
}

/**
 * The step for a PDU whose data segment is over the login's limit (the reader skipped it): only Login Responses
 * belong to a login (§11.13), so not a Reject but a refusal, initiator error, and the connection ends.
 */
export function loginSegmentTooLong(login: TargetLogin, bhs: Uint8Array): LoginPhaseStep {
  const response = wire.encodeLoginResponse(login.segmentTooLong(wire.readItt(bhs)).response);
  return { kind: 'refused', response, reason: 'login refused (class 0x2 detail 0x0): data segment longer than 8192 bytes' };
}

/** What a connection's login phase acts through (connection.ts makes one, once). */
export interface LoginPhaseHost {
  /** Queues a Login Response. */
  write(pdu: Pdu): void;
  /** The login cannot go on (timed out, or a PDU with no place in it): the connection closes now, logged with `reason`. */
  drop(reason: string): void;
  /**
   * The login was refused, its response queued (§11.13.5: a non-zero Status-Class ends the login, and the
   * target closes the connection): logged with `reason`, the connection ends. The refusal goes out first;
   * what comes after it is dropped, and a peer that keeps its side open is cut off.
   */
  refused(reason: string): void;
  /** The final Login Response is queued: full feature phase begins with `result`. */
  fullFeature(result: LoginResult): void;
}

/** One connection's login phase: its login state machine, sent each PDU in turn, and its timeout. */
export class LoginPhase {
  readonly #login: TargetLogin;
  readonly #host: LoginPhaseHost;
  readonly #timer: NodeJS.Timeout;

  /** The whole login may take `timeoutMs` (§6.x: the target closes a stalled login); then the host drops it. */
  constructor(login: TargetLogin, timeoutMs: number, host: LoginPhaseHost) {
    this.#login = login;
    this.#host = host;
    this.#timer = setTimeout(() => {
      host.drop('login timed out');
    }, timeoutMs);
    this.#timer.unref();
  }

  /** A PDU received in the login phase. */
  pdu(pdu: Pdu): void {
    this.#act(loginPhaseStep(this.#login, pdu));
  }

  /** A PDU whose data segment was over the login's limit (the reader skipped it; loginSegmentTooLong). */
  segmentTooLong(bhs: Uint8Array): void {
    this.#act(loginSegmentTooLong(this.#login, bhs));
  }

  /** The phase is over (full feature phase, or the connection ended): the timeout no longer runs. */
  stop(): void {
    clearTimeout(this.#timer);
  }

  /** Sends a step's response and acts on it. */
  #act(step: LoginPhaseStep): void {
    if (step.response !== undefined) this.#host.write(step.response);
    switch (step.kind) {
      case 'continue':
        return;
      case 'drop':
        this.#host.drop(step.reason);
        return;
      case 'refused':
        this.#host.refused(step.reason);
        return;
      case 'full-feature':
        this.stop();
        this.#host.fullFeature(step.result);
    }
  }
}
