// What a connection (connection.ts) and its portal (server.ts) exchange: the
// connection's timers — the login timeout (RFC 7143 §6) and the NOP-In ping
// of an idle connection (§11.19) — and the host that hands each connection
// its login state machine, binds a session to it when full feature phase
// begins, and hears when it ends.

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
