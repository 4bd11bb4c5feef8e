// The login and text keys a target understands, as data. Spec: RFC 7143 §13
// (operational keys: use, senders, scope, irrelevance, values, defaults,
// result functions), §12.1 (AuthMethod and the CHAP keys), §13.22 (X- and X#
// private and public extension keys), §13.25 (keys obsoleted since RFC 3720),
// RFC 7144 §2.1 via RFC 7143 §13.24 (iSCSIProtocolLevel).
//
// How a key is answered follows from its row: `negotiate.ts` reads the kind,
// range and default; the caller (login, Text handler) reads `handler: 'caller'` keys.

import { MAX_SIMPLE_VALUE_BYTES } from './text.js';

/**
 * The negotiation kind (RFC 7143 §6.2): list (first acceptable value of the
 * offer), boolean AND / OR, numerical minimum / maximum, declarative (no
 * answer), security (CHAP exchange, §12.1.3), obsolete (answered Reject).
 */
export type KeyKind =
  | 'list'
  | 'boolean-and'
  | 'boolean-or'
  | 'numerical-min'
  | 'numerical-max'
  | 'declarative'
  | 'security'
  | 'obsolete';

/**
 * RFC 7143 §13 "Use": IO initialize only (login), LO leading connection's
 * login only, FFPO full feature phase only, ALL anywhere.
 */
export type KeyUse = 'IO' | 'LO' | 'FFPO' | 'ALL';

/**
 * Login stages a key may appear in: `operational` (the default for §13 keys),
 * `security` (§12 keys), or `any` (§13 "Any-Stage").
 */
export type KeyStage = 'operational' | 'security' | 'any';

/** Who may send the key (RFC 7143 §13 "Senders"). */
export type KeySenders = 'initiator' | 'target' | 'both';

/** RFC 7143 §13 "Scope": SW session-wide, CO connection-only. */
export type KeyScope = 'session' | 'connection';

/** Whether a key may be sent again in the same login (RFC 7143 §6.3). */
export type Redeclare =
  /** Never: a second occurrence is a renegotiation, a Login reject. */
  | 'never'
  /** Only with the same value (the identity keys some initiators repeat per stage). */
  | 'same-value'
  /** Any time, the last value counts (MaxRecvDataSegmentLength: Use ALL, declarative). */
  | 'any';

interface KeyBase {
  readonly name: string;
  /** The RFC 7143 section defining the key. */
  readonly section: string;
  readonly use: KeyUse;
  readonly stage: KeyStage;
  readonly senders: KeySenders;
  readonly scope: KeyScope;
  /** "Irrelevant when: SessionType=Discovery". */
  readonly irrelevantInDiscovery: boolean;
  readonly redeclare: Redeclare;
  /**
   * Who interprets the key: the generic negotiation, or its caller (the login
   * for names and authentication, the full feature Text handler for SendTargets).
   */
  readonly handler: 'negotiator' | 'caller';
  /** Longest value accepted, in bytes (§6.1: 255 unless the key says otherwise). */
  readonly maxValueBytes: number;
}

/** A numerical key: an integer in [min, max], result function minimum or maximum. */
export interface NumericalKey extends KeyBase {
  readonly kind: 'numerical-min' | 'numerical-max';
  readonly min: number;
  readonly max: number;
  readonly default: number;
}

/** A boolean key (Yes/No), result function AND or OR. */
export interface BooleanKey extends KeyBase {
  readonly kind: 'boolean-and' | 'boolean-or';
  readonly default: boolean;
}

/** A list-of-values key; `values` are the ones the RFC defines. */
export interface ListKey extends KeyBase {
  readonly kind: 'list';
  readonly values: readonly string[];
  readonly default: string;
}

/** A declarative key; a numerical one (MaxRecvDataSegmentLength) carries its range and default. */
export interface DeclarativeKey extends KeyBase {
  readonly kind: 'declarative';
  readonly range?: { readonly min: number; readonly max: number; readonly default: number };
}

/** The CHAP keys and obsolete keys: no value rules here. */
export interface OtherKey extends KeyBase {
  readonly kind: 'security' | 'obsolete';
}

/** One row of the key table. */
export type KeySpec = NumericalKey | BooleanKey | ListKey | DeclarativeKey | OtherKey;

/** RFC 7143 §13.12 and §13.13–§13.14: the data segment and burst range, 512 to 2**24 - 1. */
export const MAX_DATA_LENGTH = 0xff_ffff;
const MIN_DATA_LENGTH = 512;

/**
 * A list-of-values limits each value to 255 bytes (§6.1), not the list; the
 * negotiation ignores longer items, so the text limit is the only bound here.
 */
const LIST_VALUE_BYTES = Number.MAX_SAFE_INTEGER;
/** RFC 7143 §12.1.3: CHAP_C and CHAP_R are at most 1024 bytes, i.e. "0x" and 2048 hex digits. */
export const MAX_CHAP_BINARY_BYTES = 1024;
const CHAP_BINARY_VALUE_BYTES = 2 + 2 * MAX_CHAP_BINARY_BYTES;

const operational = {
  stage: 'operational',
  senders: 'both',
  scope: 'session',
  irrelevantInDiscovery: false,
  redeclare: 'never',
  handler: 'negotiator',
  maxValueBytes: MAX_SIMPLE_VALUE_BYTES,
} as const;
const loLeading = { ...operational, use: 'LO' } as const;
const loData = { ...loLeading, irrelevantInDiscovery: true } as const;
const ISCSI_NAME_MAX_BYTES = 223;

const identity = {
  kind: 'declarative',
  stage: 'any',
  scope: 'session',
  irrelevantInDiscovery: false,
  redeclare: 'same-value',
  handler: 'caller',
  maxValueBytes: MAX_SIMPLE_VALUE_BYTES,
} as const;
const security = {
  use: 'IO',
  stage: 'security',
  senders: 'both',
  scope: 'connection',
  irrelevantInDiscovery: false,
  redeclare: 'never',
  handler: 'caller',
  maxValueBytes: MAX_SIMPLE_VALUE_BYTES,
} as const;
const obsolete = { ...operational, kind: 'obsolete', use: 'IO', scope: 'connection' } as const;
const digest = { ...operational, kind: 'list', use: 'IO', scope: 'connection', values: ['CRC32C', 'None'], default: 'None', maxValueBytes: LIST_VALUE_BYTES } as const;
const length = { min: MIN_DATA_LENGTH, max: MAX_DATA_LENGTH } as const;

/** RFC 7143 §13 and §12.1, one row per key. */
export const KEY_TABLE: readonly KeySpec[] = [
  { ...digest, name: 'HeaderDigest', section: '13.1' },
  { ...digest, name: 'DataDigest', section: '13.1' },
  { ...loData, name: 'MaxConnections', section: '13.2', kind: 'numerical-min', min: 1, max: 65_535, default: 1 },
  // A request rather than a negotiation: the full feature Text handler answers it (RFC 7143 Appendix C).
  { ...operational, name: 'SendTargets', section: '13.3', kind: 'declarative', use: 'FFPO', senders: 'initiator', handler: 'caller' },
  // §4.2.7.1: an iSCSI name is at most 223 bytes of UTF-8.
  { ...identity, name: 'TargetName', section: '13.4', use: 'IO', senders: 'both', maxValueBytes: ISCSI_NAME_MAX_BYTES },
  { ...identity, name: 'InitiatorName', section: '13.5', use: 'IO', senders: 'initiator', maxValueBytes: ISCSI_NAME_MAX_BYTES },
  { ...identity, name: 'TargetAlias', section: '13.6', use: 'ALL', senders: 'target' },
  { ...identity, name: 'InitiatorAlias', section: '13.7', use: 'ALL', senders: 'initiator' },
  { ...identity, name: 'TargetAddress', section: '13.8', use: 'ALL', senders: 'target' },
  { ...identity, name: 'TargetPortalGroupTag', section: '13.9', use: 'IO', senders: 'target' },
  { ...loData, name: 'InitialR2T', section: '13.10', kind: 'boolean-or', default: true },
  { ...loData, name: 'ImmediateData', section: '13.11', kind: 'boolean-and', default: true },
  {
    ...operational,
    name: 'MaxRecvDataSegmentLength',
    section: '13.12',
    kind: 'declarative',
    use: 'ALL',
    scope: 'connection',
    redeclare: 'any',
    range: { ...length, default: 8192 },
  },
  { ...loData, name: 'MaxBurstLength', section: '13.13', kind: 'numerical-min', ...length, default: 262_144 },
  { ...loData, name: 'FirstBurstLength', section: '13.14', kind: 'numerical-min', ...length, default: 65_536 },
  { ...loLeading, name: 'DefaultTime2Wait', section: '13.15', kind: 'numerical-max', min: 0, max: 3600, default: 2 },
  { ...loLeading, name: 'DefaultTime2Retain', section: '13.16', kind: 'numerical-min', min: 0, max: 3600, default: 20 },
  { ...loData, name: 'MaxOutstandingR2T', section: '13.17', kind: 'numerical-min', min: 1, max: 65_535, default: 1 },
  { ...loData, name: 'DataPDUInOrder', section: '13.18', kind: 'boolean-or', default: true },
  { ...loData, name: 'DataSequenceInOrder', section: '13.19', kind: 'boolean-or', default: true },
  { ...loLeading, name: 'ErrorRecoveryLevel', section: '13.20', kind: 'numerical-min', min: 0, max: 2, default: 0 },
  { ...identity, name: 'SessionType', section: '13.21', use: 'LO', senders: 'initiator' },
  {
    ...loData,
    name: 'TaskReporting',
    section: '13.23',
    kind: 'list',
    values: ['RFC3720', 'ResponseFence', 'FastAbort'],
    default: 'RFC3720',
    maxValueBytes: LIST_VALUE_BYTES,
  },
  { ...loData, name: 'iSCSIProtocolLevel', section: '13.24', kind: 'numerical-min', min: 0, max: 31, default: 1 },
  { ...obsolete, name: 'IFMarker', section: '13.25' },
  { ...obsolete, name: 'OFMarker', section: '13.25' },
  { ...obsolete, name: 'IFMarkInt', section: '13.25' },
  { ...obsolete, name: 'OFMarkInt', section: '13.25' },
  { ...security, name: 'AuthMethod', section: '12.1', kind: 'list', values: ['KRB5', 'SRP', 'CHAP', 'None'], default: 'None', maxValueBytes: LIST_VALUE_BYTES },
  { ...security, name: 'CHAP_A', section: '12.1.3', kind: 'security', maxValueBytes: LIST_VALUE_BYTES },
  { ...security, name: 'CHAP_I', section: '12.1.3', kind: 'security' },
  { ...security, name: 'CHAP_C', section: '12.1.3', kind: 'security', maxValueBytes: CHAP_BINARY_VALUE_BYTES },
  { ...security, name: 'CHAP_N', section: '12.1.3', kind: 'security' },
  { ...security, name: 'CHAP_R', section: '12.1.3', kind: 'security', maxValueBytes: CHAP_BINARY_VALUE_BYTES },
];

const BY_NAME: ReadonlyMap<string, KeySpec> = new Map(KEY_TABLE.map((k) => [k.name, k]));

/** The row for `name` (case-sensitive, RFC 7143 §6.1), or undefined for keys we do not understand. */
export function lookupKey(name: string): KeySpec | undefined {
  return BY_NAME.get(name);
}

/** RFC 7143 §13.22: X- private and X# public extension keys. vtcam implements none, so they are NotUnderstood. */
export function isExtensionKey(name: string): boolean {
  return name.startsWith('X-') || name.startsWith('X#');
}

/** The value limit the text parser applies to `key` (§6.1, §12.1.3). */
export function valueLimit(key: string): number {
  return lookupKey(key)?.maxValueBytes ?? MAX_SIMPLE_VALUE_BYTES;
}

/**
 * The reserved answer constants (RFC 7143 §6.2): a value of these never
 * offers anything; an acceptor answers Reject for an inadmissible offer,
 * Irrelevant where a key has no meaning, NotUnderstood for an unknown key.
 */
export const Answer = { REJECT: 'Reject', IRRELEVANT: 'Irrelevant', NOT_UNDERSTOOD: 'NotUnderstood', NONE: 'None' } as const;
export type Answer = (typeof Answer)[keyof typeof Answer];
