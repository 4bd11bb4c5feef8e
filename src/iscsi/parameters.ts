// The operational parameters a login establishes and the target's
// preferences for them, with their defaults. Spec: RFC 7143 §13 (every key's
// default and range), §13.12 (MaxRecvDataSegmentLength is declared per
// direction), §13.14 (FirstBurstLength ≤ MaxBurstLength).

import { MAX_DATA_LENGTH } from './keys.js';

/** RFC 7143 §13.1 digest names. */
export type Digest = 'None' | 'CRC32C';
/** RFC 7143 §13.21. */
export type SessionType = 'Normal' | 'Discovery';

/** The outcome of a negotiation: RFC 7143 §13 defaults for keys not negotiated. */
export interface OperationalParameters {
  readonly headerDigest: Digest;
  readonly dataDigest: Digest;
  readonly maxConnections: number;
  readonly initialR2T: boolean;
  readonly immediateData: boolean;
  /** What the target declared it receives (§13.12): the initiator's limit for PDUs it sends us. */
  readonly targetMaxRecvDataSegmentLength: number;
  /** What the initiator declared it receives: our limit for Data-In and responses. */
  readonly initiatorMaxRecvDataSegmentLength: number;
  readonly maxBurstLength: number;
  readonly firstBurstLength: number;
  readonly defaultTime2Wait: number;
  readonly defaultTime2Retain: number;
  readonly maxOutstandingR2T: number;
  readonly dataPDUInOrder: boolean;
  readonly dataSequenceInOrder: boolean;
  /** vtcam implements level 0 only; higher offers are answered 0 (minimum). */
  readonly errorRecoveryLevel: number;
  /** vtcam reports tasks the RFC 3720 way only (§13.23). */
  readonly taskReporting: 'RFC3720';
  readonly iSCSIProtocolLevel: number;
}

/** The target's configuration: what it answers with, and what it offers when the default does not suit it. */
export interface TargetPreferences {
  /** Digests the target accepts, in the order it would offer them (the initiator's order decides its offers, §6.2.1). */
  readonly headerDigests: readonly Digest[];
  readonly dataDigests: readonly Digest[];
  readonly maxConnections: number;
  readonly initialR2T: boolean;
  readonly immediateData: boolean;
  /** Declared to the initiator in the operational stage. */
  readonly maxRecvDataSegmentLength: number;
  readonly maxBurstLength: number;
  readonly firstBurstLength: number;
  readonly defaultTime2Wait: number;
  readonly defaultTime2Retain: number;
  readonly maxOutstandingR2T: number;
  readonly dataPDUInOrder: boolean;
  readonly dataSequenceInOrder: boolean;
  readonly iSCSIProtocolLevel: number;
}

/** RFC 7143 §13.12: the MaxRecvDataSegmentLength assumed until one is declared. */
export const DEFAULT_MAX_RECV_DATA_SEGMENT_LENGTH = 8192;

/** RFC 7143 §13: every default. */
export const RFC_DEFAULTS: OperationalParameters = {
  headerDigest: 'None',
  dataDigest: 'None',
  maxConnections: 1,
  initialR2T: true,
  immediateData: true,
  targetMaxRecvDataSegmentLength: DEFAULT_MAX_RECV_DATA_SEGMENT_LENGTH,
  initiatorMaxRecvDataSegmentLength: DEFAULT_MAX_RECV_DATA_SEGMENT_LENGTH,
  maxBurstLength: 262_144,
  firstBurstLength: 65_536,
  defaultTime2Wait: 2,
  defaultTime2Retain: 20,
  maxOutstandingR2T: 1,
  dataPDUInOrder: true,
  dataSequenceInOrder: true,
  errorRecoveryLevel: 0,
  taskReporting: 'RFC3720',
  iSCSIProtocolLevel: 1,
};

/**
 * What vtcam's target prefers out of the box: both digests, one connection,
 * 256 KiB segments, and R2T for all non-immediate data (InitialR2T=Yes: the
 * RFC default, so no unsolicited Data-Out to buffer).
 */
export const DEFAULT_TARGET_PREFERENCES: TargetPreferences = {
  headerDigests: ['None', 'CRC32C'],
  dataDigests: ['None', 'CRC32C'],
  maxConnections: 1,
  initialR2T: true,
  immediateData: true,
  maxRecvDataSegmentLength: 262_144,
  maxBurstLength: 262_144,
  firstBurstLength: 65_536,
  defaultTime2Wait: 2,
  defaultTime2Retain: 20,
  maxOutstandingR2T: 1,
  dataPDUInOrder: true,
  dataSequenceInOrder: true,
  iSCSIProtocolLevel: 1,
};

/** The negotiated fields, one key each (the two MaxRecvDataSegmentLength fields are declarations). */
export type ParameterField = Exclude<keyof OperationalParameters, 'targetMaxRecvDataSegmentLength' | 'initiatorMaxRecvDataSegmentLength'>;
/** Which key each negotiated field comes from. */
export const PARAMETER_KEYS: readonly (readonly [ParameterField, string])[] = [
  ['headerDigest', 'HeaderDigest'],
  ['dataDigest', 'DataDigest'],
  ['maxConnections', 'MaxConnections'],
  ['initialR2T', 'InitialR2T'],
  ['immediateData', 'ImmediateData'],
  ['maxBurstLength', 'MaxBurstLength'],
  ['firstBurstLength', 'FirstBurstLength'],
  ['defaultTime2Wait', 'DefaultTime2Wait'],
  ['defaultTime2Retain', 'DefaultTime2Retain'],
  ['maxOutstandingR2T', 'MaxOutstandingR2T'],
  ['dataPDUInOrder', 'DataPDUInOrder'],
  ['dataSequenceInOrder', 'DataSequenceInOrder'],
  ['errorRecoveryLevel', 'ErrorRecoveryLevel'],
  ['taskReporting', 'TaskReporting'],
  ['iSCSIProtocolLevel', 'iSCSIProtocolLevel'],
];

/**
 * A session's parameters for a new connection joining it: session-wide
 * values stay, connection-only ones (§13 "Scope: CO") restart at defaults.
 */
export function connectionDefaults(session: OperationalParameters): OperationalParameters {
  return {
    ...session,
    headerDigest: RFC_DEFAULTS.headerDigest,
    dataDigest: RFC_DEFAULTS.dataDigest,
    targetMaxRecvDataSegmentLength: RFC_DEFAULTS.targetMaxRecvDataSegmentLength,
    initiatorMaxRecvDataSegmentLength: RFC_DEFAULTS.initiatorMaxRecvDataSegmentLength,
  };
}

/** Throws RangeError for preferences outside the §13 ranges (a configuration bug). */
export function assertPreferences(p: TargetPreferences): void {
  const check = (name: string, v: number, min: number, max: number): void => {
    if (!Number.isInteger(v) || v < min || v > max) throw new RangeError(`${name} must be an integer in ${min}..${max}, got ${v}`);
  };
  check('maxConnections', p.maxConnections, 1, 65_535);
  check('maxRecvDataSegmentLength', p.maxRecvDataSegmentLength, 512, MAX_DATA_LENGTH);
  check('maxBurstLength', p.maxBurstLength, 512, MAX_DATA_LENGTH);
  check('firstBurstLength', p.firstBurstLength, 512, p.maxBurstLength);
  check('defaultTime2Wait', p.defaultTime2Wait, 0, 3600);
  check('defaultTime2Retain', p.defaultTime2Retain, 0, 3600);
  check('maxOutstandingR2T', p.maxOutstandingR2T, 1, 65_535);
  check('iSCSIProtocolLevel', p.iSCSIProtocolLevel, 0, 31);
  if (p.headerDigests.length === 0 || p.dataDigests.length === 0) throw new RangeError('at least one digest must be accepted');
}
