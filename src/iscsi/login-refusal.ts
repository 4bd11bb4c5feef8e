// Why a login ends, target side: the Login Response status, a reason for the
// log, and the text the response carries. Spec: RFC 7143 §11.13.5 (status
// classes and details: 01h redirection with TargetAddress, 02h the initiator's
// error, 03h the target's).
//
// login.ts decides when to refuse; this module owns what a refusal is and the
// few rules that pick its status wherever the cause alone decides it: a text
// too long to hold is the target's shortage, and an exception from the
// session layer is the target's failure, never the initiator's.

import { LoginStatus, type LoginStatusCode } from './login-status.js';
import type { NegotiationError } from './negotiate.js';
import type { TextError, TextPair } from './text.js';

/** Why the login ends: the status, a line for the log, and text for the response (TargetAddress on redirect). */
export class Refusal {
  readonly status: LoginStatusCode;
  readonly reason: string;
  readonly data: readonly TextPair[];
  constructor(status: LoginStatusCode, reason: string, data: readonly TextPair[] = []) {
    this.status = status;
    this.reason = reason;
    this.data = data;
  }
}

/** 02h/00h: the initiator sent what the login does not allow. */
export const initiatorError = (reason: string): Refusal => new Refusal(LoginStatus.INITIATOR_ERROR, reason);
/** 02h/01h: the initiator did not, or could not, authenticate. */
export const authFailure = (reason: string): Refusal => new Refusal(LoginStatus.AUTHENTICATION_FAILURE, reason);
/** A text or negotiation error as `key=value` words for the reason. */
export const describe = (e: TextError | NegotiationError): string => Object.entries(e).map(([k, v]) => `${k}=${String(v)}`).join(' ');
/** A text the target cannot read is the initiator's error, except one too long to hold (03h/02h). */
export const textRefusal = (e: TextError): Refusal => new Refusal(e.kind === 'too-much-text' ? LoginStatus.OUT_OF_RESOURCES : LoginStatus.INITIATOR_ERROR, describe(e));

/** Runs a LoginEnvironment call; an exception there is the target's failure (03h/00h), not the initiator's. */
export function callEnvironment<T>(f: () => T): T | Refusal {
  try {
    return f();
  } catch (e) {
    return new Refusal(LoginStatus.TARGET_ERROR, `environment failed: ${e instanceof Error ? e.message : String(e)}`);
  }
}
