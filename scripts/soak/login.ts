// The operational keys the soak offers at login and what it makes of the
// target's answers: the connection's digests, burst sizes and segment sizes,
// and the answers RFC 7143 does not allow. Spec: RFC 7143 §13 (login/text
// keys), §6.2 (negotiation: a numerical key's result is at most the offer,
// InitialR2T is OR, ImmediateData is AND).

import type { Digests } from './wire.js';

/** What one login offers; the workload draws one per login. Names and values as RFC 7143 §13 spells them. */
export interface LoginOffer {
  readonly HeaderDigest: string;
  readonly DataDigest: string;
  readonly InitialR2T: 'Yes' | 'No';
  readonly ImmediateData: 'Yes' | 'No';
  readonly MaxRecvDataSegmentLength: number;
  readonly MaxBurstLength: number;
  readonly FirstBurstLength: number;
  readonly MaxOutstandingR2T: number;
}

/** The plain offer: no digests, R2T for everything past the immediate data. */
export const PLAIN_OFFER: LoginOffer = {
  HeaderDigest: 'None', DataDigest: 'None', InitialR2T: 'Yes', ImmediateData: 'Yes',
  MaxRecvDataSegmentLength: 262_144, MaxBurstLength: 262_144, FirstBurstLength: 65_536, MaxOutstandingR2T: 1,
};

/** What the connection runs with after login. */
export interface Negotiated {
  readonly digests: Digests;
  /** Only R2Ts ask for data past the immediate data. */
  readonly initialR2T: boolean;
  readonly immediateData: boolean;
  /** The largest data segment the target takes (its declaration; §13.12 default 8192). */
  readonly targetMrdsl: number;
  /** The largest data segment the initiator declared it takes. */
  readonly ownMrdsl: number;
  readonly maxBurst: number;
  /** Immediate plus unsolicited data per command. */
  readonly firstBurst: number;
}

/** Keys every soak login offers the same way: one connection, error recovery level 0, in-order data. */
const FIXED = { ErrorRecoveryLevel: '0', MaxConnections: '1', DataPDUInOrder: 'Yes', DataSequenceInOrder: 'Yes', DefaultTime2Wait: '0', DefaultTime2Retain: '0' } as const;
const DEFAULT_TARGET_MRDSL = 8192;

export function offerKeys(o: LoginOffer): Record<string, string> {
  return {
    ...FIXED,
    HeaderDigest: o.HeaderDigest, DataDigest: o.DataDigest, InitialR2T: o.InitialR2T, ImmediateData: o.ImmediateData,
    MaxRecvDataSegmentLength: String(o.MaxRecvDataSegmentLength), MaxBurstLength: String(o.MaxBurstLength),
    FirstBurstLength: String(o.FirstBurstLength), MaxOutstandingR2T: String(o.MaxOutstandingR2T),
  };
}

/** The connection's parameters from the offer and the target's answers, with what in the answers breaks RFC 7143. */
export function negotiate(o: LoginOffer, got: ReadonlyMap<string, string>): { readonly params: Negotiated; readonly problems: readonly string[] } {
  const problems: string[] = [];
  const digest = (key: 'HeaderDigest' | 'DataDigest'): boolean => {
    const v = got.get(key) ?? 'None';
    if (!o[key].split(',').includes(v)) problems.push(`${key}=${v} was not offered (${o[key]})`);
    return v === 'CRC32C';
  };
  const number = (key: 'MaxBurstLength' | 'FirstBurstLength'): number => {
    const text = got.get(key);
    // FirstBurstLength may come back Irrelevant (InitialR2T=Yes and ImmediateData=No, §13.14).
    if (text === undefined || text === 'Irrelevant') return o[key];
    const n = Number(text);
    if (!Number.isInteger(n) || n < 512 || n > o[key]) problems.push(`${key}=${text}: not in 512..${o[key]} (the offer)`);
    return Math.min(n, o[key]);
  };
  const initialR2T = (got.get('InitialR2T') ?? 'Yes') === 'Yes';
  if (o.InitialR2T === 'Yes' && !initialR2T) problems.push('InitialR2T=No although Yes was offered (the result is OR)');
  const immediateData = (got.get('ImmediateData') ?? 'Yes') === 'Yes';
  if (o.ImmediateData === 'No' && immediateData) problems.push('ImmediateData=Yes although No was offered (the result is AND)');
  const maxBurst = number('MaxBurstLength');
  const firstBurst = number('FirstBurstLength');
  if (got.get('FirstBurstLength') !== 'Irrelevant' && firstBurst > maxBurst) problems.push(`FirstBurstLength ${firstBurst} > MaxBurstLength ${maxBurst}`);
  const targetMrdsl = Number(got.get('MaxRecvDataSegmentLength') ?? DEFAULT_TARGET_MRDSL);
  return {
    params: { digests: { header: digest('HeaderDigest'), data: digest('DataDigest') }, initialR2T, immediateData, targetMrdsl, ownMrdsl: o.MaxRecvDataSegmentLength, maxBurst, firstBurst },
    problems,
  };
}
