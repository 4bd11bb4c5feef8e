// The targets a portal exports and the sessions logged in to them: one
// iSCSI target per exported device (or set of LUNs), each LUN a CAM path's
// pass periph. Cross-session task management lives here (CLEAR TASK SET,
// LOGICAL UNIT RESET and target resets abort other sessions' tasks, RFC 7143
// §4.2.3), and so does session identity: TSIH allocation and session
// reinstatement by ISID (§6.3.5).

import type { PassPeriph } from '../cam/periph/pass.js';
import type { SessionLookup, SessionQuery } from './login-types.js';
import type { Session } from './session.js';

/** A LUN of a target. */
export interface IscsiLun {
  readonly lun: number;
  readonly pass: PassPeriph;
}

/** CHAP secrets for a target (RFC 7143 §12.1.3): one-way, or mutual with the second pair. */
export interface IscsiChapConfig {
  readonly user: string;
  readonly secret: string;
  readonly mutualUser?: string;
  readonly mutualSecret?: string;
}

/** One exported target. */
export interface IscsiTargetConfig {
  /** iSCSI name (iqn.…, eui.…, naa.…, lower case), RFC 7143 §4.2.7: listen refuses another (checkIscsiName). */
  readonly name: string;
  readonly alias?: string;
  readonly luns: readonly IscsiLun[];
  readonly chap?: IscsiChapConfig;
}

/**
 * Why `t` cannot be exported beside the targets `earlier`, or undefined: a LUN of it is a device one of them
 * exports too. vtcam gives a logical unit one target port (the target that exports it: RELATIVE TARGET PORT
 * IDENTIFIER 1, ATP_C 1), and the unit tells I_T nexuses apart by their initiator port alone, so an initiator
 * port logged in to both targets would be one nexus to it: registered and reserved through one target, it
 * would be so through the other, and the end of either session would release its SPC-2 reservation and wipe
 * the other session's unit attentions (SAM-5 I_T nexus: an initiator port and a target port).
 */
export function sharedDeviceProblem(t: IscsiTargetConfig, earlier: Iterable<IscsiTargetConfig>): string | undefined {
  for (const e of earlier) {
    for (const a of e.luns) {
      const b = t.luns.find((l) => l.pass.sameDevice(a.pass));
      if (b === undefined) continue;
      const { bus, target, lun } = a.pass.path;
      return (
        `targets '${e.name}' (LUN ${a.lun}) and '${t.name}' (LUN ${b.lun}) export the same device (${bus}:${target}:${lun}): ` +
        'a logical unit has one target port, the target that exports it, and an initiator logged in to both would be ' +
        'one I_T nexus to it, sharing its reservations and unit attentions across the two sessions; export it from one target ' +
        '(for multipath, log in to that target twice, with two ISIDs)'
      );
    }
  }
  return undefined;
}

/** A logged-in normal session, as the registry knows it. */
export interface SessionEntry {
  readonly tsih: number;
  readonly isid: bigint;
  readonly initiatorName: string;
  readonly targetName: string;
  /** The CID of its one connection (§11.12.7). */
  readonly cid: number;
  readonly session: Session;
  /** Ends the session's connection (reinstatement, cold reset, server close). */
  drop(): void;
}

/** Sessions by TSIH, with the lookups login and task management need. */
export class SessionRegistry {
  readonly #byTsih = new Map<number, SessionEntry>();
  #nextTsih = 1;

  /** A fresh TSIH: non-zero, 16 bits, not in use (RFC 7143 §11.12.7: 0 is reserved for "new session"); undefined when all are taken. */
  newTsih(): number | undefined {
    for (let i = 0; i < 0xffff; i++) {
      const t = this.#nextTsih;
      this.#nextTsih = t === 0xffff ? 1 : t + 1;
      if (!this.#byTsih.has(t)) return t;
    }
    return undefined;
  }

  add(e: SessionEntry): void {
    this.#byTsih.set(e.tsih, e);
  }

  remove(e: SessionEntry): void {
    if (this.#byTsih.get(e.tsih) === e) this.#byTsih.delete(e.tsih);
  }

  get(tsih: number): SessionEntry | undefined {
    return this.#byTsih.get(tsih);
  }

  /**
   * What a login naming TSIH `q.tsih` joins (RFC 7143 §6.3, §11.13.5). A TSIH names a session of one initiator
   * port (InitiatorName + ISID) on one target; for anyone else no such session exists, so another initiator
   * learns nothing of which TSIHs are live, and its login leaves the session alone. The port's own session has
   * its one connection (MaxConnections 1): the same CID reinstates that connection (§6.3.4), another is one too many.
   */
  lookup(q: SessionQuery): SessionLookup {
    const e = this.#byTsih.get(q.tsih);
    if (e?.initiatorName !== q.initiatorName || e.isid !== q.isid || e.targetName !== q.targetName) return { kind: 'not-found' };
    return e.cid === q.cid ? { kind: 'reinstates-connection' } : { kind: 'too-many-connections' };
  }

  /** The session of an initiator port (name + ISID) on a target, for reinstatement (§6.3.5). */
  find(initiatorName: string, isid: bigint, targetName: string): SessionEntry | undefined {
    for (const e of this.#byTsih.values()) if (e.isid === isid && e.initiatorName === initiatorName && e.targetName === targetName) return e;
    return undefined;
  }

  onTarget(targetName: string): SessionEntry[] {
    return [...this.#byTsih.values()].filter((e) => e.targetName === targetName);
  }

  get size(): number {
    return this.#byTsih.size;
  }

  all(): SessionEntry[] {
    return [...this.#byTsih.values()];
  }
}
