// What the login state machine (login.ts) needs from the session layer and
// what it hands back. Spec: RFC 7143 §6.3 (leading and joining connections,
// session reinstatement), §11.13.5 (statuses these answers lead to).
//
// The environment is small on purpose: the login decides everything about
// the protocol; the session layer only knows which targets and sessions
// exist. Reinstatement (a new session from an initiator port that has one,
// §6.3.5) is left to the caller, who gets ISID and names in the result.

import type { ChapConfig } from './chap.js';
import type { OperationalParameters, SessionType, TargetPreferences } from './parameters.js';
import type { LoginResponseFields } from './pdu-types.js';

/** A target node as the session layer describes it. */
export interface TargetNode {
  readonly name: string;
  readonly alias?: string;
  /** Sent in the first response of a normal session (§13.9). */
  readonly portalGroupTag: number;
  /** CHAP required for this target; absent means no authentication. */
  readonly auth?: ChapConfig;
  /** InitiatorNames allowed in; absent means all (others get 02h/02h). */
  readonly initiators?: readonly string[];
}

/** What `findTarget` knows; undefined from it means not found (02h/03h). */
export type TargetLookup =
  | { readonly kind: 'found'; readonly target: TargetNode }
  /** 01h/01h or 01h/02h with TargetAddress=address ("domainname[:port]", no tag, §13.8). */
  | { readonly kind: 'moved'; readonly address: string; readonly permanent: boolean }
  | { readonly kind: 'removed' }
  | { readonly kind: 'unavailable' };

/** The session a connection with TSIH ≠ 0 wants to join. */
export interface SessionQuery {
  readonly initiatorName: string;
  readonly targetName: string | undefined;
  readonly sessionType: SessionType;
  readonly isid: bigint;
  readonly tsih: number;
  readonly cid: number;
}

/** The session layer's answer for a joining connection. */
export type SessionLookup =
  | { readonly kind: 'found'; readonly parameters: OperationalParameters; readonly expCmdSN: number; readonly maxCmdSN: number }
  /** No session with this TSIH of this initiator port (InitiatorName + ISID) on this target (02h/0Ah). */
  | { readonly kind: 'not-found' }
  /**
   * The initiator port's session, whose connection CID is live: connection reinstatement (§6.3.4). vtcam does not
   * move a session to a new connection (one connection per session, ERL 0), and answers 02h/0Ah: the initiator
   * then logs in with TSIH 0, which reinstates the whole session once authenticated (§6.3.5), where 02h/06h
   * would leave it to wait until the old connection is found dead.
   */
  | { readonly kind: 'reinstates-connection' }
  | { readonly kind: 'too-many-connections' }
  | { readonly kind: 'cannot-include' };

/** What the login asks of the session layer. Exceptions thrown by these are answered 03h/00h. */
export interface LoginEnvironment {
  findTarget(name: string): TargetLookup | undefined;
  /** Only for TSIH ≠ 0; reinstatement (TSIH 0, known ISID) is decided after login from the result. */
  lookupSession(query: SessionQuery): SessionLookup;
  /** A fresh non-zero TSIH for a new session, or undefined when out of sessions (03h/02h). */
  newTsih(): number | undefined;
  /** Cryptographically random bytes (CHAP_I, CHAP_C, the initial StatSN). */
  randomBytes(n: number): Uint8Array;
}

/** Policy for discovery sessions: disabled, or allowed with optional CHAP. */
export type DiscoveryPolicy = 'disabled' | { readonly auth?: ChapConfig };

/** The target's login policy. */
export interface LoginOptions {
  readonly preferences?: TargetPreferences;
  /** MaxCmdSN − ExpCmdSN + 1 given to a new session at login; default 1. */
  readonly commandWindow?: number;
  readonly discovery?: DiscoveryPolicy;
  /** Longest text a request sequence may carry (default 64 KiB; more is 03h/02h). */
  readonly textLimit?: number;
}

/** What a successful login established. */
export interface LoginResult {
  readonly sessionType: SessionType;
  readonly initiatorName: string;
  readonly initiatorAlias: string | undefined;
  /** Undefined for discovery sessions. */
  readonly targetName: string | undefined;
  readonly isid: bigint;
  readonly tsih: number;
  readonly cid: number;
  /** True for a new session, false for a connection that joined one. */
  readonly leading: boolean;
  /** The CHAP_N the initiator proved, when CHAP was used. */
  readonly chapName: string | undefined;
  readonly parameters: OperationalParameters;
  /** The StatSN of the connection's next response. */
  readonly nextStatSN: number;
  readonly expCmdSN: number;
  readonly maxCmdSN: number;
}

/** The answer to one Login Request. */
export type LoginStep =
  | { readonly outcome: 'continue'; readonly response: LoginResponseFields }
  | { readonly outcome: 'full-feature'; readonly response: LoginResponseFields; readonly result: LoginResult }
  /** The response carries a non-zero status; the connection closes after sending it. */
  | { readonly outcome: 'fail'; readonly response: LoginResponseFields; readonly reason: string };
