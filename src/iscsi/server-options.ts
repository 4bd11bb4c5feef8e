// The scalar options of IscsiServer.listen, checked before anything starts.
// What a connection or a login reads later runs inside socket callbacks, where
// a throw ends the process: a bad value must be refused here, as listen's
// error, not found by the first initiator that connects.

import type { ConnectionTimers } from './connection-types.js';
import type { IscsiChapConfig, IscsiLun, IscsiTargetConfig } from './target.js';
import { MAX_COMMAND_WINDOW } from './serial.js';
import { checkIscsiName } from './iscsi-name.js';
import { lookupKey, type KeySpec } from './keys.js';
import { DEFAULT_TARGET_PREFERENCES, type TargetPreferences } from './parameters.js';
import { DATA_IN_HIGH_WATER } from './data-in-gate.js';
import { checkOptionKeys, type OptionKeys } from '../option-keys.js';

export interface IscsiServerOptions {
  /** Listen address; default 127.0.0.1. */
  readonly address?: string;
  /** TCP port; default 3260 (0: any free port). */
  readonly port?: number;
  readonly targets: readonly IscsiTargetConfig[];
  /** Target Portal Group Tag reported at login and in SendTargets (RFC 7143 §13.9): 0..65535, default 1. */
  readonly portalGroupTag?: number;
  /** Commands a session may have outstanding beyond the LUNs' device queue openings (the window's bounded queue): 1..2^31 − 1, default 32. */
  readonly queueAllowance?: number;
  /** Connection timers over DEFAULT_TIMERS (idle ping after 30 s, its answer within 60 s, login within 15 s); checked by connectionTimers. */
  readonly timers?: Partial<ConnectionTimers>;
  /**
   * Microseconds the event loop keeps polling its sockets after a PDU came in
   * or went out, instead of sleeping (busy-poll.ts): lower latency for CPU;
   * 0..MAX_BUSY_POLL_US, default 0 (off).
   */
  readonly busyPollUs?: number;
  /**
   * Bytes of Data-Out buffers all sessions together may hold (data-out-budget.ts); a WRITE past it waits for
   * its buffer before its R2T goes out (one with immediate data ends TASK SET FULL), and one session holds at
   * most half. At least the largest command a LUN takes (its MAXIMUM TRANSFER LENGTH, 64 KiB at least: a
   * WRITE to a missing LUN collects its data too); default DEFAULT_DATA_OUT_BUDGET, or twice the largest
   * command when that is more, so that a session's half holds one.
   */
  readonly dataOutBudget?: number;
  /**
   * TCP connections served at once: logging in, in a session, or closing (each holds a socket and its
   * buffers until its socket is gone). One more is refused as it is accepted, closed at once and logged;
   * a whole number of at least 1, default DEFAULT_CONNECTION_LIMIT (connection-limit.ts).
   */
  readonly connectionLimit?: number;
  /** Where connection events are logged (a function; an exception it throws is dropped); default nowhere. */
  readonly log?: (line: string) => void;
  /**
   * Bytes one connection's READs at their units and its output not yet sent may hold together
   * (data-in-gate.ts): past it, a command with Data-In waits before its unit until the initiator reads.
   * A positive whole number, default DATA_IN_HIGH_WATER (32 MiB); with many connections it bounds what
   * initiators that stop reading can make the target hold (connections × this).
   */
  readonly dataInHighWater?: number;
  /**
   * What the target answers in login negotiation, over DEFAULT_TARGET_PREFERENCES (parameters.ts): e.g.
   * `{ initialR2T: false }` lets initiators send their first burst of each WRITE unsolicited, and
   * `maxOutstandingR2T` above 1 lets several bursts of one WRITE be asked for at once. Checked by
   * negotiationPreferences.
   */
  readonly negotiation?: NegotiationOptions;
}


/**
 * The target's negotiation preferences a server may change. The rest are fixed by what vtcam implements:
 * one connection per session, Data-Out PDUs and sequences in order (task-data-out.ts checks both), protocol
 * level 1.
 */
export type NegotiationOptions = Partial<
  Pick<
    TargetPreferences,
    'headerDigests' | 'dataDigests' | 'initialR2T' | 'immediateData' | 'maxRecvDataSegmentLength' | 'maxBurstLength' | 'firstBurstLength' | 'maxOutstandingR2T' | 'defaultTime2Wait' | 'defaultTime2Retain'
  >
>;

/**
 * The preferences a server may set, each with the RFC 7143 key it answers. What a value may be (a number in
 * the key's range, Yes/No, the digests) comes from the key's row in keys.ts, not written again here.
 */
export const NEGOTIATION_KEYS: readonly (readonly [field: keyof NegotiationOptions, key: KeySpec])[] = (
  [
    ['headerDigests', 'HeaderDigest'],
    ['dataDigests', 'DataDigest'],
    ['initialR2T', 'InitialR2T'],
    ['immediateData', 'ImmediateData'],
    ['maxRecvDataSegmentLength', 'MaxRecvDataSegmentLength'],
    ['maxBurstLength', 'MaxBurstLength'],
    ['firstBurstLength', 'FirstBurstLength'],
    ['maxOutstandingR2T', 'MaxOutstandingR2T'],
    ['defaultTime2Wait', 'DefaultTime2Wait'],
    ['defaultTime2Retain', 'DefaultTime2Retain'],
  ] as const
).map(([field, name]) => {
  const spec = lookupKey(name);
  if (spec === undefined) throw new Error(`keys.ts has no row for ${name}`);
  return [field, spec] as const;
});

/** The integer range of a numerical key, or of a numerical declaration (MaxRecvDataSegmentLength); undefined for the others. */
export function keyRange(spec: KeySpec): { readonly min: number; readonly max: number } | undefined {
  if (spec.kind === 'numerical-min' || spec.kind === 'numerical-max') return spec;
  return spec.kind === 'declarative' ? spec.range : undefined;
}

/** Why `v` cannot be the preference for `spec`, or undefined when it can. */
function preferenceProblem(spec: KeySpec, v: unknown): { readonly type: boolean; readonly text: string } | undefined {
  const range = keyRange(spec);
  if (range !== undefined) {
    return typeof v === 'number' && Number.isInteger(v) && v >= range.min && v <= range.max ? undefined : { type: false, text: `must be an integer ${range.min}..${range.max}` };
  }
  if (spec.kind === 'boolean-and' || spec.kind === 'boolean-or') return typeof v === 'boolean' ? undefined : { type: true, text: `must be true or false, got ${typeof v}` };
  const values = spec.kind === 'list' ? spec.values : [];
  const ok = Array.isArray(v) && v.length > 0 && new Set(v).size === v.length && v.every((d) => values.includes(d as string));
  return ok ? undefined : { type: false, text: `must list ${values.map((d) => `'${d}'`).join(' and/or ')}, each once, in the order offered` };
}

/**
 * The target's preferences: DEFAULT_TARGET_PREFERENCES with `given` over them.
 * @throws TypeError for a key that is not a NegotiationOptions key or a boolean of the wrong type; RangeError
 *   for a number outside its key's range, a digest list that is empty, repeats one or names another, and a
 *   firstBurstLength above maxBurstLength (§13.14); without a firstBurstLength, the default is lowered to a
 *   maxBurstLength below it.
 */
export function negotiationPreferences(given: NegotiationOptions | undefined): TargetPreferences {
  if (given === undefined) return DEFAULT_TARGET_PREFERENCES;
  // Widened: JavaScript callers can pass anything.
  const raw: unknown = given;
  if (typeof raw !== 'object' || raw === null) throw new TypeError(`iSCSI server: negotiation must be an object, got ${raw === null ? 'null' : typeof raw}`);
  const known = NEGOTIATION_KEYS.map(([field]) => field as string);
  for (const key of Object.keys(raw)) {
    if (!known.includes(key)) throw new TypeError(`iSCSI server: negotiation.${key} is not a preference a server sets (one of ${known.join(', ')})`);
  }
  for (const [field, spec] of NEGOTIATION_KEYS) {
    const v: unknown = given[field];
    const problem = v === undefined ? undefined : preferenceProblem(spec, v);
    if (problem === undefined) continue;
    const text = `iSCSI server: negotiation.${field} ${problem.text}`;
    throw problem.type ? new TypeError(text) : new RangeError(`${text} (RFC 7143 §${spec.section}), got ${typeof v === 'number' ? String(v) : JSON.stringify(v)}`);
  }
  const merged: TargetPreferences = { ...DEFAULT_TARGET_PREFERENCES, ...given };
  // A MaxBurstLength below the default FirstBurstLength brings the default down with it; one given is checked.
  const prefs = given.firstBurstLength === undefined ? { ...merged, firstBurstLength: Math.min(merged.firstBurstLength, merged.maxBurstLength) } : merged;
  if (prefs.firstBurstLength > prefs.maxBurstLength) {
    throw new RangeError(`iSCSI server: negotiation.firstBurstLength ${prefs.firstBurstLength} is above negotiation.maxBurstLength ${prefs.maxBurstLength} (RFC 7143 §13.14)`);
  }
  return prefs;
}

/** RFC 7143 §13.9: TargetPortalGroupTag is a 16-bit binary value. */
const MAX_PORTAL_GROUP_TAG = 0xffff;
/** IscsiServerOptions.queueAllowance by default. */
const DEFAULT_QUEUE_ALLOWANCE = 32;

/** The options a server keeps, checked, with their defaults. */
export interface ServerSettings {
  readonly portalGroupTag: number;
  readonly queueAllowance: number;
  readonly log: (line: string) => void;
  readonly preferences: TargetPreferences;
  readonly dataInHighWater: number;
}

/**
 * `opts`' settings, checked; `log` made safe to call (an exception it throws is dropped).
 * @throws RangeError for a target name that is not an iSCSI name (checkIscsiName), a portalGroupTag that is
 *   not an integer 0..65535, a queueAllowance that is not an integer 1..MAX_COMMAND_WINDOW, a dataInHighWater
 *   that is not a positive whole number, negotiation preferences negotiationPreferences refuses; TypeError
 *   for targets that are not an array, a target name that is not a string, a log that is not a function.
 */
export function serverSettings(opts: IscsiServerOptions): ServerSettings {
  // Widened: JavaScript callers can pass anything.
  const given: unknown = opts;
  if (typeof given !== 'object' || given === null) throw new TypeError('iSCSI server: listen needs options: { targets, … }');
  checkOptionKeys(opts, SERVER_KEYS, 'iSCSI server');
  const timers: unknown = opts.timers;
  if (timers !== undefined) checkOptionKeys(objectOption(timers, 'timers'), TIMER_KEYS, 'iSCSI server: timers');
  const targets: unknown = opts.targets;
  if (!Array.isArray(targets)) throw new TypeError('iSCSI server: targets must be an array of { name, luns }');
  for (const t of opts.targets) {
    checkOptionKeys(objectOption(t, 'a target'), TARGET_KEYS, 'iSCSI server: a target');
    const luns: unknown = t.luns;
    if (Array.isArray(luns)) for (const l of t.luns) checkOptionKeys(objectOption(l, 'a LUN'), LUN_KEYS, `iSCSI server: a LUN of '${t.name}'`);
    const chap: unknown = t.chap;
    if (chap !== undefined) checkOptionKeys(objectOption(chap, 'chap'), CHAP_KEYS, `iSCSI server: chap of '${t.name}'`);
    const name: unknown = t.name;
    if (typeof name !== 'string') throw new TypeError(`iSCSI server: a target name must be a string, got ${typeof name}`);
    // The name initiators log in with and SendTargets lists; one they cannot send could never be reached.
    const problem = checkIscsiName(name);
    if (problem !== undefined) throw new RangeError(`iSCSI server: target name '${name}' ${problem}`);
  }
  const portalGroupTag = opts.portalGroupTag ?? 1;
  if (!Number.isInteger(portalGroupTag) || portalGroupTag < 0 || portalGroupTag > MAX_PORTAL_GROUP_TAG) {
    throw new RangeError(`iSCSI server: portalGroupTag must be an integer 0..${MAX_PORTAL_GROUP_TAG} (RFC 7143 §13.9), got ${portalGroupTag}`);
  }
  const queueAllowance = opts.queueAllowance ?? DEFAULT_QUEUE_ALLOWANCE;
  // The login's command window is the allowance alone (no LUN is open yet), and an empty window would
  // admit no command (RFC 7143 §4.2.2.1); past 2^31 − 1, MaxCmdSN leaves the serial window.
  if (!Number.isInteger(queueAllowance) || queueAllowance < 1 || queueAllowance > MAX_COMMAND_WINDOW) {
    throw new RangeError(`iSCSI server: queueAllowance must be an integer 1..${MAX_COMMAND_WINDOW}, got ${queueAllowance}`);
  }
  const dataInHighWater = opts.dataInHighWater ?? DATA_IN_HIGH_WATER;
  if (!Number.isSafeInteger(dataInHighWater) || dataInHighWater < 1) {
    throw new RangeError(`iSCSI server: dataInHighWater must be a positive whole number of bytes, got ${dataInHighWater}`);
  }
  return { portalGroupTag, queueAllowance, log: safeLog(opts.log), preferences: negotiationPreferences(opts.negotiation), dataInHighWater };
}

/** The options listen knows (option-keys.ts): anything else is a misspelling it refuses. */
const SERVER_KEYS = {
  address: true, port: true, targets: true, portalGroupTag: true, queueAllowance: true, timers: true, busyPollUs: true, dataOutBudget: true,
  connectionLimit: true, log: true, dataInHighWater: true, negotiation: true,
} as const satisfies OptionKeys<IscsiServerOptions>;
const TIMER_KEYS = { pingIntervalMs: true, pingTimeoutMs: true, loginTimeoutMs: true } as const satisfies OptionKeys<ConnectionTimers>;
const TARGET_KEYS = { name: true, alias: true, luns: true, chap: true } as const satisfies OptionKeys<IscsiTargetConfig>;
const LUN_KEYS = { lun: true, pass: true } as const satisfies OptionKeys<IscsiLun>;
const CHAP_KEYS = { user: true, secret: true, mutualUser: true, mutualSecret: true } as const satisfies OptionKeys<IscsiChapConfig>;

/** `v`, which must be an object: a TypeError naming `what` otherwise. */
function objectOption(v: unknown, what: string): object {
  if (typeof v !== 'object' || v === null) throw new TypeError(`iSCSI server: ${what} must be an object, got ${v === null ? 'null' : typeof v}`);
  return v;
}

/**
 * The log option as the server calls it. A log line is written from socket and timer callbacks, where an
 * exception would close the connection it is about, or end the process; a logger's own failure is not
 * worth either, so it is dropped (the logger's owner sees its lines missing).
 */
function safeLog(log: IscsiServerOptions['log']): (line: string) => void {
  if (log === undefined) return () => undefined;
  // Widened: JavaScript callers (and `log: console`) pass anything.
  const given: unknown = log;
  if (typeof given !== 'function') throw new TypeError(`iSCSI server: log must be a function taking a line, got ${given === null ? 'null' : typeof given}`);
  return (line) => {
    try {
      log(line);
    } catch {
      // Dropped: see above.
    }
  };
}
