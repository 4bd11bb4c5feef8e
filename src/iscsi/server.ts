// The iSCSI target server (RFC 7143): a TCP portal that accepts many
// connections at once, logs them in against the configured targets, and binds
// each normal session to its target's LUNs — every SCSI command goes to the
// LUN's pass periph (XPT_SCSI_IO on its CAM path) under the session's I_T
// nexus, through the LUN's gate (preempt-gate.ts), shared by its sessions.
// The Data-Out buffers of every session's WRITEs come from one budget
// (data-out-budget.ts), and at most connectionLimit connections are served
// at once. Close drains: no new connections, in-flight commands
// complete and their responses go out, then connections end.

import { createServer, type Server, type Socket } from 'node:net';
import { IscsiConnection } from './connection.js';
import { BusyPoll, type BusyPollState } from './busy-poll.js';
import { ConnectionLimit } from './connection-limit.js';
import { connectionTimers, type ConnectionHost, type ConnectionTimers } from './connection-types.js';
import { NO_LUN_GEOMETRY, Session } from './session.js';
import type { SessionHost, SessionLun } from './session-types.js';
import { DataOutBudget, DEFAULT_DATA_OUT_BUDGET, type DataOutBudgetState } from './data-out-budget.js';
import { SessionRegistry, sharedDeviceProblem, type IscsiChapConfig, type IscsiTargetConfig, type SessionEntry } from './target.js';
import { initiatorPort } from './nexus.js';
import { passLun } from './lun.js';
import { targetLunList } from './no-lun.js';
import { randomBytes } from 'node:crypto';
import { TargetLogin } from './login.js';
import { serverSettings, type IscsiServerOptions, type ServerSettings } from './server-options.js';
import type { LoginEnvironment, LoginResult } from './login-types.js';
import type { ChapConfig } from './chap.js';
import { chapConfigProblem } from './chap-config.js';
import { probeLun, type LunProfile } from './probe.js';
import { PreemptGate } from './preempt-gate.js';
import { portalAddress } from './portal-address.js';
import { MAX_FLAT_SPACE_LUN } from '../scsi/report-luns.js';

export type { IscsiTargetConfig, IscsiLun, IscsiChapConfig } from './target.js';
export type { IscsiServerOptions, NegotiationOptions } from './server-options.js';

// An idle connection is pinged after 30 s and dropped when the answer has not
// come 60 s later (SPDK's NOP-In interval and timeout). The answer may well be
// late without the initiator being gone: libiscsi's synchronous API, which
// SCSI test suites use, reads the socket only while a call runs, so a client
// that sleeps a minute between commands answers the ping only when it sends
// the next one. Dropping it sooner ends its I_T nexus, and every command after
// a sleep would meet a fresh unit attention.
interface TargetState {
  readonly config: IscsiTargetConfig;
  /** What each LUN reported when the portal opened (probe.ts). */
  readonly profiles: ReadonlyMap<number, LunProfile>;
  /** Each LUN's gate, which every session's commands to it pass (preempt-gate.ts). */
  readonly gates: ReadonlyMap<number, PreemptGate>;
}

export class IscsiServer {
  readonly #server: Server;
  readonly #targets: ReadonlyMap<string, TargetState>;
  readonly #sessions = new SessionRegistry();
  readonly #connections = new Set<IscsiConnection>();
  readonly #timers: ConnectionTimers;
  readonly #settings: ServerSettings;
  readonly #poll: BusyPoll;
  readonly #dataOut: DataOutBudget;
  readonly #slots: ConnectionLimit;
  #closing: Promise<void> | undefined;
  /** Work started for sessions that ended (I_T nexus loss notices), awaited by close(). */
  readonly #pending = new Set<Promise<void>>();

  private constructor(server: Server, targets: ReadonlyMap<string, TargetState>, poll: BusyPoll, dataOut: DataOutBudget, slots: ConnectionLimit, timers: ConnectionTimers, settings: ServerSettings) {
    this.#server = server;
    this.#targets = targets;
    this.#poll = poll;
    this.#dataOut = dataOut;
    this.#timers = timers;
    this.#settings = settings;
    this.#slots = slots;
    server.on('connection', (socket: Socket) => {
      this.#accept(socket);
    });
  }

  /**
   * Starts a portal. Each LUN's block size and TAS are read from the device
   * (READ CAPACITY and the Control mode page, through its pass periph; see
   * probe.ts) before the portal opens.
   * @throws RangeError for a configuration error (no targets, a target without LUNs, duplicate names or
   *   LUNs, a device exported by two targets (sharedDeviceProblem, target.ts), a LUN outside 0..16383, CHAP settings chap-config.ts refuses, a Data-Out budget that is not a whole number of bytes or is less than
   *   the largest command a LUN takes, a connection limit that is not a whole number of at least 1, a timer out of range: connectionTimers;
   *   an option serverSettings refuses);
   *   rejects with the listen error (e.g. EADDRINUSE).
   */
  static async listen(opts: IscsiServerOptions): Promise<IscsiServer> {
    const settings = serverSettings(opts);
    if (opts.targets.length === 0) throw new RangeError('iSCSI server: at least one target is needed');
    const slots = new ConnectionLimit(opts.connectionLimit);
    const timers = connectionTimers(opts.timers);
    const poll = new BusyPoll(opts.busyPollUs ?? 0);
    const targets = new Map<string, TargetState>();
    for (const t of opts.targets) {
      if (targets.has(t.name)) throw new RangeError(`iSCSI server: target '${t.name}' configured twice`);
      const shared = sharedDeviceProblem(t, [...targets.values()].map((s) => s.config));
      if (shared !== undefined) throw new RangeError(`iSCSI server: ${shared}`);
      const chapProblem = t.chap === undefined ? undefined : chapConfigProblem(t.chap, (f) => `chap.${f}`);
      if (chapProblem !== undefined) throw new RangeError(`iSCSI server: target '${t.name}': ${chapProblem}`);
      const profiles = new Map<number, LunProfile>();
      const gates = new Map<number, PreemptGate>();
      if (t.luns.length === 0) throw new RangeError(`iSCSI server: target '${t.name}' has no LUNs`);
      for (const l of t.luns) {
        // SAM-5 single-level LUNs as REPORT LUNS can list them: peripheral (0..255) or flat space (..16383).
        if (!Number.isInteger(l.lun) || l.lun < 0 || l.lun > MAX_FLAT_SPACE_LUN) throw new RangeError(`iSCSI server: LUN ${l.lun} of '${t.name}' is not an integer 0..${MAX_FLAT_SPACE_LUN}`);
        if (profiles.has(l.lun)) throw new RangeError(`iSCSI server: target '${t.name}' has LUN ${l.lun} twice`);
        profiles.set(l.lun, await probeLun(l.pass));
        gates.set(l.lun, new PreemptGate());
      }
      targets.set(t.name, { config: t, profiles, gates });
    }
    const dataOut = dataOutBudget(opts.dataOutBudget, targets);
    const server = createServer({ noDelay: true });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(opts.port ?? 3260, opts.address ?? '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
    return new IscsiServer(server, targets, poll, dataOut, slots, timers, settings);
  }

  get address(): { address: string; port: number } {
    const a = this.#server.address();
    if (a === null || typeof a === 'string') throw new Error('iSCSI server is not listening on TCP');
    return { address: a.address, port: a.port };
  }

  /** The event loop's busy poll (IscsiServerOptions.busyPollUs): its window, whether it spins now, and its turns so far. */
  get busyPoll(): BusyPollState {
    return this.#poll.state;
  }

  /** The Data-Out budget (IscsiServerOptions.dataOutBudget): its size, the share of one session, what is held and what waits. */
  get dataOutBudget(): DataOutBudgetState {
    return this.#dataOut.state;
  }

  /** TCP connections served now (IscsiServerOptions.connectionLimit): logging in, in a session, or closing. */
  get connections(): number {
    return this.#slots.open;
  }

  /** Normal sessions logged in now. */
  get sessions(): number {
    return this.#sessions.size;
  }

  /**
   * Stops accepting, lets in-flight commands complete and their responses go out, then closes every connection.
   * A command waiting for its Data-Out still takes it; one whose Data-Out stops for 2 s ends without a response
   * (Session.drainClosing). Commands that arrive meanwhile are not read (no response: they are the initiator's
   * to recover with its session, as at any connection loss).
   */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      // What close waits for need not hold the process (a unit's I/O on transport local, the watchdogs' unref'd
      // timers), and one awaiting close() would exit with it unsettled, before its image is flushed: this does.
      const holding = setInterval(() => undefined, 2 ** 30);
      try {
        const stopped = new Promise<void>((resolve) => this.#server.close(() => { resolve(); }));
        await Promise.all([...this.#connections].map((c) => c.shutdown()));
        await stopped;
        await Promise.all(this.#pending);
        this.#poll.stop();
      } finally {
        clearInterval(holding);
      }
    })();
    return this.#closing;
  }

  #track(p: Promise<void>): void {
    const settled = p.catch((e: unknown) => {
      this.#settings.log(`iscsi: I_T nexus loss notice failed: ${String(e)}`);
    });
    this.#pending.add(settled);
    void settled.finally(() => this.#pending.delete(settled));
  }

  #accept(socket: Socket): void {
    if (this.#closing !== undefined) {
      socket.destroy();
      return;
    }
    if (!this.#slots.admit(socket)) {
      const peer = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`;
      this.#settings.log(`iscsi: ${peer}: connection refused: ${this.#slots.limit} connections open, the limit (connectionLimit, vtcam serve --max-connections); raise it to serve more`);
      socket.destroy();
      return;
    }
    const conn = new IscsiConnection(socket, this.#host, this.#timers, this.#settings.dataInHighWater);
    this.#connections.add(conn);
  }

  readonly #loginEnv: LoginEnvironment = {
    findTarget: (name) => {
      const t = this.#targets.get(name);
      if (t === undefined) return undefined;
      const { alias, chap } = t.config;
      return { kind: 'found', target: { name, portalGroupTag: this.#settings.portalGroupTag, ...(alias === undefined ? {} : { alias }), ...(chap === undefined ? {} : { auth: chapConfig(chap) }) } };
    },
    // MaxConnections is 1 (no MC/S): no connection joins a session (SessionRegistry.lookup says why not).
    lookupSession: (q) => this.#sessions.lookup(q),
    newTsih: () => this.#sessions.newTsih(),
    randomBytes: (n) => randomBytes(n),
  };

  readonly #host: ConnectionHost = {
    login: () => new TargetLogin(this.#loginEnv, { commandWindow: this.#settings.queueAllowance, preferences: this.#settings.preferences }),
    attach: (result, conn) => this.#attach(result, conn),
    closed: (conn) => {
      this.#connections.delete(conn);
    },
    log: (line) => {
      this.#settings.log(line);
    },
    touched: () => {
      this.#poll.touch();
    },
  };

  #attach(outcome: LoginResult, conn: IscsiConnection): { session: Session | undefined; sendTargets: (value: string) => Uint8Array } {
    const reached = conn.local ?? this.address;
    const sendTargets = (value: string): Uint8Array => this.#sendTargets(sendTargetsScope(value, outcome.targetName), portalAddress(reached.address, reached.port));
    const target = outcome.targetName === undefined ? undefined : this.#targets.get(outcome.targetName);
    if (outcome.sessionType === 'Discovery' || target === undefined) return { session: undefined, sendTargets };
    // §6.3.5: a login with TSIH 0 from an initiator port that already has a session on this target reinstates it.
    this.#sessions.find(outcome.initiatorName, outcome.isid, target.config.name)?.drop();
    const who = initiatorPort(outcome.initiatorName, outcome.isid);
    const luns = new Map<number, SessionLun>();
    const lunNumbers = target.config.luns.map((l) => l.lun).sort((a, b) => a - b);
    for (const l of target.config.luns) {
      const profile = target.profiles.get(l.lun);
      const gate = target.gates.get(l.lun);
      if (profile === undefined || gate === undefined) continue;
      luns.set(l.lun, {
        port: gate.port(targetLunList(passLun(l.pass, who), lunNumbers), who.id),
        ...profile,
        reset: () => l.pass.resetDevice(),
        abortTaskSet: () => l.pass.abortTaskSet(who),
        clearTaskSet: (transportAborted) => l.pass.clearTaskSet(who, transportAborted),
      });
    }
    const depth = target.config.luns.reduce((n, l) => n + l.pass.openings(), 0) + this.#settings.queueAllowance;
    const host: SessionHost = {
      lun: (n) => luns.get(n),
      luns: lunNumbers,
      othersTasks: (lun) => {
        const each = this.#sessions
          .onTarget(target.config.name)
          .filter((e) => e.session !== session)
          .map((e) => ({ id: initiatorPort(e.initiatorName, e.isid).id, tasks: e.session.tasksOn(lun) }));
        return {
          // Read when the unit is told, which may be after the sender's Data-Out was waited for.
          get awaitingData() {
            return each.filter((o) => o.tasks.awaitsData).map((o) => o.id);
          },
          end: async (by) => {
            await Promise.all(each.map((o) => o.tasks.end(by)));
          },
        };
      },
      preempted: (lun, nexuses) => {
        const hit = new Set(nexuses);
        const aborted: string[] = [];
        for (const e of this.#sessions.onTarget(target.config.name)) {
          const id = initiatorPort(e.initiatorName, e.isid).id;
          if (!hit.has(id)) continue;
          const mine = e.session.tasksOn(lun, 'before-unit');
          if (e.session !== session && mine.awaitsData) aborted.push(id);
          // Tasks not at the unit end at once (none waits for the unit), before this session's answer goes out;
          // tasks a task set function ended already are left as they ended.
          void mine.end(e.session === session ? 'this-session' : 'another-session');
        }
        const pass = target.config.luns.find((l) => l.lun === lun)?.pass;
        if (aborted.length === 0 || pass === undefined) return;
        // Their I_T nexuses are told as the unit's own were (TAS 0: COMMANDS CLEARED BY ANOTHER INITIATOR, SAM-5
        // 5.6), established as the CCB reaches the unit, before this answer goes out; the LUN's gate, held since
        // the PREEMPT AND ABORT went to the unit, keeps every other session's commands from it until the CCB has
        // completed all the same.
        const told = pass.transportAborted(who, aborted);
        void told.finally(target.gates.get(lun)?.hold(who.id));
      },
      dataInRoom: (bytes) => conn.dataInRoom(bytes),
      dataInGate: conn.dataInGate,
      dataOutBudget: this.#dataOut.account(),
      dataOutTimeoutMs: this.#timers.pingTimeoutMs,
      drop: (reason) => {
        this.#settings.log(`iscsi: ${conn.remote}: closing connection: ${reason}`);
        conn.close();
      },
      log: (line) => {
        this.#settings.log(line);
      },
      coldReset: () => {
        setImmediate(() => {
          for (const e of this.#sessions.onTarget(target.config.name)) e.drop();
        });
      },
    };
    const p = outcome.parameters;
    const limits = {
      initialR2T: p.initialR2T,
      immediateData: p.immediateData,
      firstBurstLength: p.firstBurstLength,
      maxBurstLength: p.maxBurstLength,
      maxOutstandingR2T: p.maxOutstandingR2T,
      // Read at each Data-In: the initiator may declare a new value in full feature phase (§13.12).
      get maxSendDataSegmentLength(): number {
        return conn.maxSendSegment;
      },
    };
    const session = new Session(host, limits, depth, outcome.expCmdSN, conn.sessionSink());
    const entry: SessionEntry = {
      tsih: outcome.tsih,
      isid: outcome.isid,
      initiatorName: outcome.initiatorName,
      targetName: target.config.name,
      cid: outcome.cid,
      session,
      drop: () => {
        conn.close();
      },
    };
    this.#sessions.add(entry);
    conn.onClose(() => {
      this.#sessions.remove(entry);
      for (const l of target.config.luns) this.#track(l.pass.nexusLost(who));
    });
    return { session, sendTargets };
  }

  /**
   * The SendTargets answer (RFC 7143 §13.3, Appendix C): the targets in `scope` (see sendTargetsScope), at
   * `portal`, the address the asking connection reached (portal-address.ts).
   */
  #sendTargets(scope: 'all' | 'none' | { readonly only: string }, portal: string): Uint8Array {
    const lines: string[] = [];
    for (const name of this.#targets.keys()) {
      if (scope === 'none' || (scope !== 'all' && name !== scope.only)) continue;
      lines.push(`TargetName=${name}`, `TargetAddress=${portal},${this.#settings.portalGroupTag}`);
    }
    return new TextEncoder().encode(lines.map((l) => `${l}\0`).join(''));
  }
}

/**
 * The target's Data-Out budget: `bytes` as configured, else the default. A budget must hold the largest
 * command any LUN takes (a missing LUN's included), or that command could never run.
 */
function dataOutBudget(bytes: number | undefined, targets: ReadonlyMap<string, TargetState>): DataOutBudget {
  let largest: number = NO_LUN_GEOMETRY.maxCommandBytes;
  for (const t of targets.values()) for (const p of t.profiles.values()) largest = Math.max(largest, p.maxCommandBytes);
  if (bytes === undefined) return new DataOutBudget(Math.max(DEFAULT_DATA_OUT_BUDGET, 2 * largest));
  if (!Number.isSafeInteger(bytes) || bytes < largest) {
    throw new RangeError(`iSCSI server: dataOutBudget must be a whole number of bytes, at least the largest command a LUN takes (${largest}), got ${bytes}`);
  }
  return new DataOutBudget(bytes);
}

/** The CLI-level CHAP settings as the login's CHAP configuration (RFC 7143 §12.1.3). */
function chapConfig(c: IscsiChapConfig): ChapConfig {
  const target = c.mutualUser !== undefined && c.mutualSecret !== undefined ? { target: { name: c.mutualUser, secret: c.mutualSecret } } : {};
  return { initiators: [{ name: c.user, secret: c.secret }], ...target };
}

/**
 * Which targets SendTargets=`value` lists in a session logged in to `own` (undefined: a discovery session),
 * RFC 7143 Appendix C: All, every target, in a discovery session only; a target name, that target alone
 * (none when there is no such target); an empty value, the session's own target. A normal session lists no
 * target but its own, whatever it asks for (its All included: the value is for discovery sessions).
 */
export function sendTargetsScope(value: string, own: string | undefined): 'all' | 'none' | { readonly only: string } {
  if (own !== undefined) return value === '' || value === 'All' || value === own ? { only: own } : 'none';
  if (value === 'All') return 'all';
  return value === '' ? 'none' : { only: value };
}
