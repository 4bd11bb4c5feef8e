// What the soak makes of the target's login answers: the connection's
// parameters, and the answers RFC 7143 §6.2/§13 rule out as findings.

import { describe, expect, test } from 'vitest';
import { PLAIN_OFFER, negotiate, offerKeys, type LoginOffer } from '../../../scripts/soak/login.js';

const OFFER: LoginOffer = {
  HeaderDigest: 'CRC32C,None', DataDigest: 'None', InitialR2T: 'No', ImmediateData: 'Yes',
  MaxRecvDataSegmentLength: 4096, MaxBurstLength: 65_536, FirstBurstLength: 8192, MaxOutstandingR2T: 4,
};
const answers = (o: Record<string, string>): Map<string, string> => new Map(Object.entries(o));

describe('login keys', () => {
  test('the offer as text keys, with the fixed ones', () => {
    expect(offerKeys(OFFER)).toEqual({
      ErrorRecoveryLevel: '0', MaxConnections: '1', DataPDUInOrder: 'Yes', DataSequenceInOrder: 'Yes', DefaultTime2Wait: '0', DefaultTime2Retain: '0',
      HeaderDigest: 'CRC32C,None', DataDigest: 'None', InitialR2T: 'No', ImmediateData: 'Yes',
      MaxRecvDataSegmentLength: '4096', MaxBurstLength: '65536', FirstBurstLength: '8192', MaxOutstandingR2T: '4',
    });
  });

  test('answers within the offer: the connection runs with them', () => {
    const got = answers({ HeaderDigest: 'CRC32C', DataDigest: 'None', InitialR2T: 'No', ImmediateData: 'Yes', MaxRecvDataSegmentLength: '262144', MaxBurstLength: '16384', FirstBurstLength: '8192' });
    expect(negotiate(OFFER, got)).toEqual({
      params: { digests: { header: true, data: false }, initialR2T: false, immediateData: true, targetMrdsl: 262_144, ownMrdsl: 4096, maxBurst: 16_384, firstBurst: 8192 },
      problems: [],
    });
  });

  test('FirstBurstLength=Irrelevant is no problem; nothing declared means the RFC defaults', () => {
    const r = negotiate(PLAIN_OFFER, answers({ FirstBurstLength: 'Irrelevant' }));
    expect(r.problems).toEqual([]);
    expect(r.params).toMatchObject({ targetMrdsl: 8192, initialR2T: true, immediateData: true, digests: { header: false, data: false } });
  });

  test('answers RFC 7143 rules out are problems, each named', () => {
    const got = answers({ HeaderDigest: 'CRC32C', DataDigest: 'CRC32C', MaxBurstLength: '131072', FirstBurstLength: '16384' });
    const plain: LoginOffer = { ...OFFER, HeaderDigest: 'None', InitialR2T: 'Yes', ImmediateData: 'No' };
    expect(negotiate(plain, answers({ ...Object.fromEntries(got), InitialR2T: 'No', ImmediateData: 'Yes' })).problems).toEqual([
      'InitialR2T=No although Yes was offered (the result is OR)',
      'ImmediateData=Yes although No was offered (the result is AND)',
      'MaxBurstLength=131072: not in 512..65536 (the offer)',
      'FirstBurstLength=16384: not in 512..8192 (the offer)',
      'HeaderDigest=CRC32C was not offered (None)',
      'DataDigest=CRC32C was not offered (None)',
    ]);
  });
});
