// What a connection (connection.ts) and its portal (server.ts) exchange: the
// connection's timers — the login timeout (RFC 7143 §6) and the NOP-In ping
// of an idle connection (§11.19) — and the host that hands each connection
// its login state machine, binds a session to it when full feature phase
// begins, and hears when it ends.

import { MAX_TIMER_MS } from '../timer-limit.js';
import type { IscsiConnection } from './connection.js';
import type { TargetLogin } from './login.js';
import type { LoginResult } from './login-types.js';
import type { Session } from './session.js';

/** Timers of a connection, in ms. */
export interface ConnectionTimers {
  /** Idle time before the target pings with a NOP-In (§11.19); 0 = never. */
  readonly pingIntervalMs: number;
  /** How long the NOP-Out answer to that ping may take before the connection is dropped. */
  readonly pingTimeoutMs: number;
  /** How long the whole login may take (§6.x: the target closes a stalled login). */
  readonly loginTimeoutMs: number;
}

/** The timers a portal runs with where IscsiServerOptions.timers leaves one out. */
export const DEFAULT_TIMERS: ConnectionTimers = { pingIntervalMs: 30_000, pingTimeoutMs: 60_000, loginTimeoutMs: 15_000 };

/**
 * `timers` over DEFAULT_TIMERS, checked before a portal opens: a timer a
 * connection could not keep would otherwise fail only once a login or a
 * session starts on it (a ping timeout of 0 stalls every login).
 * @throws RangeError for a timer that is not a number of ms in range: pingIntervalMs 0 (never) ..
 *   MAX_TIMER_MS, the others 1 .. MAX_TIMER_MS.
 */
export function connectionTimers(timers: Partial<ConnectionTimers> = {}): ConnectionTimers {
  const t = { ...DEFAULT_TIMERS, ...timers };
  const check = (name: keyof ConnectionTimers, min: number): void => {
    const v = t[name];
    if (!(Number.isFinite(v) && v >= min && v <= MAX_TIMER_MS)) throw new RangeError(`iSCSI server: timers.${name} must be ${min}..${MAX_TIMER_MS} ms, got ${v}`);
  };
  check('pingIntervalMs', 0);
  check('pingTimeoutMs', 1);
  check('loginTimeoutMs', 1);
  return t;
}

/** What a connection needs from the portal. */
export interface ConnectionHost {
  /** A fresh login state machine for this connection. */
  login(): TargetLogin;
  /** Full feature phase begins: build (or reinstate) the session. */
  attach(result: LoginResult, conn: IscsiConnection): { readonly session: Session | undefined; readonly sendTargets: (value: string) => Uint8Array };
  /** The connection ended (either side). */
  closed(conn: IscsiConnection): void;
  /** A PDU came in or went out (the portal's busy poll, busy-poll.ts). */
  readonly touched: () => void;
  readonly log: (line: string) => void;
}
