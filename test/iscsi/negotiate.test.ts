// Operational key negotiation (RFC 7143 §6.2, §13): the key table checked
// against §13 written out again here, every key's result function at its
// range edges, Reject / Irrelevant / NotUnderstood, stage and sender rules,
// renegotiation, the full feature phase, and the target's own offers.

import { describe, expect, it } from 'vitest';
import { KEY_TABLE, isExtensionKey, lookupKey, valueLimit, type KeySpec } from '../../src/iscsi/keys.js';
import { Negotiator, type NegotiationContext } from '../../src/iscsi/negotiate.js';
import { DEFAULT_TARGET_PREFERENCES, RFC_DEFAULTS, connectionDefaults, type TargetPreferences } from '../../src/iscsi/parameters.js';
import type { TextPair } from '../../src/iscsi/text.js';

const OP: NegotiationContext = { stage: 'operational', sessionType: 'Normal', leading: true };
const SEC: NegotiationContext = { ...OP, stage: 'security' };
const FFP: NegotiationContext = { ...OP, stage: 'full-feature' };
const DISCOVERY: NegotiationContext = { ...OP, sessionType: 'Discovery' };
const JOINING: NegotiationContext = { ...OP, leading: false };

const pairs = (...kv: string[]): TextPair[] =>
  kv.map((s) => {
    const at = s.indexOf('=');
    return { key: s.slice(0, at), value: s.slice(at + 1) };
  });
const text = (ps: readonly TextPair[]): string[] => ps.map((p) => `${p.key}=${p.value}`);

function answers(n: Negotiator, ctx: NegotiationContext, ...kv: string[]): string[] {
  const r = n.receive(pairs(...kv), ctx);
  if (!r.ok) throw new Error(`negotiation failed: ${JSON.stringify(r.error)}`);
  return text(r.value.answers);
}
const answer = (kv: string, prefs: Partial<TargetPreferences> = {}, ctx: NegotiationContext = OP): string | undefined =>
  answers(new Negotiator({ ...DEFAULT_TARGET_PREFERENCES, ...prefs }), ctx, kv)[0];
const errorOf = (n: Negotiator, ctx: NegotiationContext, ...kv: string[]): unknown => {
  const r = n.receive(pairs(...kv), ctx);
  return r.ok ? undefined : r.error;
};

describe('the key table (RFC 7143 §13, §12.1)', () => {
  // name, kind, use, stage, senders, scope, irrelevant in discovery, default, range / values
  const expected: readonly (readonly [string, string, string, string, string, string, boolean, unknown, unknown])[] = [
    ['HeaderDigest', 'list', 'IO', 'operational', 'both', 'connection', false, 'None', ['CRC32C', 'None']],
    ['DataDigest', 'list', 'IO', 'operational', 'both', 'connection', false, 'None', ['CRC32C', 'None']],
    ['MaxConnections', 'numerical-min', 'LO', 'operational', 'both', 'session', true, 1, [1, 65535]],
    ['SendTargets', 'declarative', 'FFPO', 'operational', 'initiator', 'session', false, undefined, undefined],
    ['TargetName', 'declarative', 'IO', 'any', 'both', 'session', false, undefined, undefined],
    ['InitiatorName', 'declarative', 'IO', 'any', 'initiator', 'session', false, undefined, undefined],
    ['TargetAlias', 'declarative', 'ALL', 'any', 'target', 'session', false, undefined, undefined],
    ['InitiatorAlias', 'declarative', 'ALL', 'any', 'initiator', 'session', false, undefined, undefined],
    ['TargetAddress', 'declarative', 'ALL', 'any', 'target', 'session', false, undefined, undefined],
    ['TargetPortalGroupTag', 'declarative', 'IO', 'any', 'target', 'session', false, undefined, undefined],
    ['InitialR2T', 'boolean-or', 'LO', 'operational', 'both', 'session', true, true, undefined],
    ['ImmediateData', 'boolean-and', 'LO', 'operational', 'both', 'session', true, true, undefined],
    ['MaxRecvDataSegmentLength', 'declarative', 'ALL', 'operational', 'both', 'connection', false, 8192, [512, 16777215]],
    ['MaxBurstLength', 'numerical-min', 'LO', 'operational', 'both', 'session', true, 262144, [512, 16777215]],
    ['FirstBurstLength', 'numerical-min', 'LO', 'operational', 'both', 'session', true, 65536, [512, 16777215]],
    ['DefaultTime2Wait', 'numerical-max', 'LO', 'operational', 'both', 'session', false, 2, [0, 3600]],
    ['DefaultTime2Retain', 'numerical-min', 'LO', 'operational', 'both', 'session', false, 20, [0, 3600]],
    ['MaxOutstandingR2T', 'numerical-min', 'LO', 'operational', 'both', 'session', true, 1, [1, 65535]],
    ['DataPDUInOrder', 'boolean-or', 'LO', 'operational', 'both', 'session', true, true, undefined],
    ['DataSequenceInOrder', 'boolean-or', 'LO', 'operational', 'both', 'session', true, true, undefined],
    ['ErrorRecoveryLevel', 'numerical-min', 'LO', 'operational', 'both', 'session', false, 0, [0, 2]],
    ['SessionType', 'declarative', 'LO', 'any', 'initiator', 'session', false, undefined, undefined],
    ['TaskReporting', 'list', 'LO', 'operational', 'both', 'session', true, 'RFC3720', ['RFC3720', 'ResponseFence', 'FastAbort']],
    ['iSCSIProtocolLevel', 'numerical-min', 'LO', 'operational', 'both', 'session', true, 1, [0, 31]],
    ['IFMarker', 'obsolete', 'IO', 'operational', 'both', 'connection', false, undefined, undefined],
    ['OFMarker', 'obsolete', 'IO', 'operational', 'both', 'connection', false, undefined, undefined],
    ['IFMarkInt', 'obsolete', 'IO', 'operational', 'both', 'connection', false, undefined, undefined],
    ['OFMarkInt', 'obsolete', 'IO', 'operational', 'both', 'connection', false, undefined, undefined],
    ['AuthMethod', 'list', 'IO', 'security', 'both', 'connection', false, 'None', ['KRB5', 'SRP', 'CHAP', 'None']],
    ['CHAP_A', 'security', 'IO', 'security', 'both', 'connection', false, undefined, undefined],
    ['CHAP_I', 'security', 'IO', 'security', 'both', 'connection', false, undefined, undefined],
    ['CHAP_C', 'security', 'IO', 'security', 'both', 'connection', false, undefined, undefined],
    ['CHAP_N', 'security', 'IO', 'security', 'both', 'connection', false, undefined, undefined],
    ['CHAP_R', 'security', 'IO', 'security', 'both', 'connection', false, undefined, undefined],
  ];

  const shape = (k: KeySpec): unknown[] => {
    const dflt = 'default' in k ? k.default : k.kind === 'declarative' ? k.range?.default : undefined;
    const range = k.kind === 'list' ? k.values : 'min' in k ? [k.min, k.max] : k.kind === 'declarative' && k.range ? [k.range.min, k.range.max] : undefined;
    return [k.name, k.kind, k.use, k.stage, k.senders, k.scope, k.irrelevantInDiscovery, dflt, range];
  };

  it('has exactly the rows of §13 and §12.1', () => {
    expect(KEY_TABLE.map(shape)).toEqual(expected);
  });

  it('looks keys up case-sensitively', () => {
    expect(lookupKey('MaxBurstLength')?.name).toBe('MaxBurstLength');
    expect(lookupKey('maxburstlength')).toBeUndefined();
  });

  it('knows X- and X# as extension keys (§13.22)', () => {
    expect(isExtensionKey('X-com.example.Key')).toBe(true);
    expect(isExtensionKey('X#Key')).toBe(true);
    expect(isExtensionKey('XKey')).toBe(false);
  });

  it('limits values to 255 bytes except iSCSI names (223, §4.2.7.1), CHAP_C / CHAP_R (1024 bytes in hex) and lists', () => {
    expect(valueLimit('TargetName')).toBe(223);
    expect(valueLimit('InitiatorName')).toBe(223);
    expect(valueLimit('TargetAlias')).toBe(255);
    expect(valueLimit('X-unknown')).toBe(255);
    expect(valueLimit('CHAP_C')).toBe(2050);
    expect(valueLimit('CHAP_R')).toBe(2050);
    expect(valueLimit('HeaderDigest')).toBeGreaterThan(255);
  });

  it('RFC_DEFAULTS are the §13 defaults', () => {
    expect(RFC_DEFAULTS).toEqual({
      headerDigest: 'None',
      dataDigest: 'None',
      maxConnections: 1,
      initialR2T: true,
      immediateData: true,
      targetMaxRecvDataSegmentLength: 8192,
      initiatorMaxRecvDataSegmentLength: 8192,
      maxBurstLength: 262144,
      firstBurstLength: 65536,
      defaultTime2Wait: 2,
      defaultTime2Retain: 20,
      maxOutstandingR2T: 1,
      dataPDUInOrder: true,
      dataSequenceInOrder: true,
      errorRecoveryLevel: 0,
      taskReporting: 'RFC3720',
      iSCSIProtocolLevel: 1,
    });
  });
});

describe('numerical keys (§6.2.2)', () => {
  // key, min, max, function, the target's own value in these tests
  const numerical = [
    ['MaxConnections', 1, 65535, 'min', 4],
    ['MaxBurstLength', 512, 16777215, 'min', 65536],
    ['FirstBurstLength', 512, 16777215, 'min', 16384],
    ['DefaultTime2Wait', 0, 3600, 'max', 10],
    ['DefaultTime2Retain', 0, 3600, 'min', 30],
    ['MaxOutstandingR2T', 1, 65535, 'min', 8],
    ['iSCSIProtocolLevel', 0, 31, 'min', 1],
  ] as const;
  const prefs: Partial<TargetPreferences> = {
    maxConnections: 4,
    maxBurstLength: 65536,
    firstBurstLength: 16384,
    defaultTime2Wait: 10,
    defaultTime2Retain: 30,
    maxOutstandingR2T: 8,
    iSCSIProtocolLevel: 1,
  };

  for (const [key, min, max, fn, own] of numerical) {
    const pick = (v: number): number => (fn === 'min' ? Math.min(v, own) : Math.max(v, own));
    it(`${key}: min, max and zero follow ${fn}(offer, ${own}); outside ${min}..${max} is Reject`, () => {
      expect(answer(`${key}=${min}`, prefs)).toBe(`${key}=${pick(min)}`);
      expect(answer(`${key}=${max}`, prefs)).toBe(`${key}=${pick(max)}`);
      expect(answer(`${key}=${max + 1}`, prefs)).toBe(`${key}=Reject`);
      if (min > 0) expect(answer(`${key}=${min - 1}`, prefs)).toBe(`${key}=Reject`);
      expect(answer(`${key}=0x${max.toString(16)}`, prefs)).toBe(`${key}=${pick(max)}`);
      expect(answer(`${key}=018446744073709551616`, prefs)).toBe(`${key}=Reject`);
      expect(answer(`${key}=many`, prefs)).toBe(`${key}=Reject`);
    });
  }

  it('ErrorRecoveryLevel: vtcam does level 0, any offer 0..2 gives 0, 3 is Reject', () => {
    expect(answer('ErrorRecoveryLevel=2')).toBe('ErrorRecoveryLevel=0');
    expect(answer('ErrorRecoveryLevel=0')).toBe('ErrorRecoveryLevel=0');
    expect(answer('ErrorRecoveryLevel=3')).toBe('ErrorRecoveryLevel=Reject');
  });

  it('a rejected offer leaves the default', () => {
    const n = new Negotiator();
    answers(n, OP, 'MaxBurstLength=100');
    expect(n.finish()).toMatchObject({ ok: true, value: { maxBurstLength: 262144 } });
  });

  it('the result lands in the parameters', () => {
    const n = new Negotiator({ ...DEFAULT_TARGET_PREFERENCES, ...prefs });
    answers(n, OP, 'MaxConnections=2', 'DefaultTime2Wait=3', 'DefaultTime2Retain=0', 'MaxOutstandingR2T=16', 'iSCSIProtocolLevel=2');
    expect(n.finish()).toMatchObject({ ok: true, value: { maxConnections: 2, defaultTime2Wait: 10, defaultTime2Retain: 0, maxOutstandingR2T: 8, iSCSIProtocolLevel: 1 } });
  });
});

describe('FirstBurstLength (§13.14)', () => {
  it('never exceeds MaxBurstLength negotiated in the same request, whatever the order', () => {
    const n = new Negotiator();
    expect(answers(n, OP, 'FirstBurstLength=262144', 'MaxBurstLength=16384')).toEqual(['MaxBurstLength=16384', 'FirstBurstLength=16384']);
    expect(n.finish()).toMatchObject({ ok: true, value: { maxBurstLength: 16384, firstBurstLength: 16384 } });
  });

  it('is Irrelevant when InitialR2T=Yes and ImmediateData=No, also from the same request', () => {
    const n = new Negotiator({ ...DEFAULT_TARGET_PREFERENCES, immediateData: false });
    expect(answers(n, OP, 'FirstBurstLength=4096', 'InitialR2T=Yes', 'ImmediateData=Yes')).toEqual(['InitialR2T=Yes', 'ImmediateData=No', 'FirstBurstLength=Irrelevant']);
  });

  it('an initiator lowering MaxBurstLength below an agreed FirstBurstLength later fails the negotiation', () => {
    const n = new Negotiator();
    answers(n, OP, 'FirstBurstLength=65536');
    answers(n, OP, 'MaxBurstLength=16384');
    expect(n.finish()).toEqual({ ok: false, error: { kind: 'burst-lengths', firstBurstLength: 65536, maxBurstLength: 16384 } });
  });
});

describe('boolean keys (§6.2.2)', () => {
  it.each([
    ['ImmediateData', 'AND', true, 'Yes', 'Yes'],
    ['ImmediateData', 'AND', true, 'No', 'No'],
    ['ImmediateData', 'AND', false, 'Yes', 'No'],
    ['ImmediateData', 'AND', false, 'No', 'No'],
    ['InitialR2T', 'OR', true, 'No', 'Yes'],
    ['InitialR2T', 'OR', false, 'No', 'No'],
    ['InitialR2T', 'OR', false, 'Yes', 'Yes'],
    ['DataPDUInOrder', 'OR', false, 'No', 'No'],
    ['DataPDUInOrder', 'OR', true, 'No', 'Yes'],
    ['DataSequenceInOrder', 'OR', false, 'No', 'No'],
    ['DataSequenceInOrder', 'OR', true, 'No', 'Yes'],
  ])('%s (%s), own %s, offer %s → %s', (key, _fn, own, offer, result) => {
    const field = key === 'ImmediateData' ? 'immediateData' : key === 'InitialR2T' ? 'initialR2T' : key === 'DataPDUInOrder' ? 'dataPDUInOrder' : 'dataSequenceInOrder';
    expect(answer(`${key}=${offer}`, { [field]: own })).toBe(`${key}=${result}`);
  });

  it.each(['yes', 'True', '1', ''])('a non-boolean %j is Reject', (v) => {
    expect(answer(`InitialR2T=${v}`)).toBe('InitialR2T=Reject');
  });
});

describe('list keys (§6.2.1)', () => {
  it('picks the first offered value the target accepts, in the initiator\'s order', () => {
    expect(answer('HeaderDigest=CRC32C,None')).toBe('HeaderDigest=CRC32C');
    expect(answer('HeaderDigest=None,CRC32C')).toBe('HeaderDigest=None');
    expect(answer('DataDigest=Y-com.example.md5,CRC32C')).toBe('DataDigest=CRC32C');
  });

  it('None only when offered; nothing acceptable is Reject', () => {
    expect(answer('HeaderDigest=MD5')).toBe('HeaderDigest=Reject');
    expect(answer('HeaderDigest=None', { headerDigests: ['CRC32C'] })).toBe('HeaderDigest=Reject');
  });

  it('a digest the target refuses cannot be the result', () => {
    const n = new Negotiator({ ...DEFAULT_TARGET_PREFERENCES, dataDigests: ['CRC32C'] });
    answers(n, OP, 'DataDigest=None');
    expect(n.finish()).toEqual({ ok: false, error: { kind: 'unacceptable', key: 'DataDigest', value: 'None' } });
  });

  it('TaskReporting: vtcam does RFC3720 only', () => {
    expect(answer('TaskReporting=ResponseFence,RFC3720')).toBe('TaskReporting=RFC3720');
    expect(answer('TaskReporting=FastAbort')).toBe('TaskReporting=Reject');
  });

  it('the chosen digests land in the parameters', () => {
    const n = new Negotiator();
    answers(n, OP, 'HeaderDigest=CRC32C', 'DataDigest=CRC32C,None');
    expect(n.finish()).toMatchObject({ ok: true, value: { headerDigest: 'CRC32C', dataDigest: 'CRC32C' } });
  });
});

describe('MaxRecvDataSegmentLength (§13.12, declarative, per direction)', () => {
  it('records the initiator\'s value without an answer', () => {
    const n = new Negotiator();
    expect(answers(n, OP, 'MaxRecvDataSegmentLength=65536')).toEqual([]);
    expect(n.initiatorMaxRecvDataSegmentLength).toBe(65536);
    expect(n.finish()).toMatchObject({ ok: true, value: { initiatorMaxRecvDataSegmentLength: 65536, targetMaxRecvDataSegmentLength: 8192 } });
  });

  // Not answered Reject, as it was: a declaration has no answer (§6.2), and the Login Response that also carries the
  // target's own declaration would then hold the key twice (§6.3), 'Reject' reading as the target's value.
  it.each(['511', '16777216', 'big', ''])('refuses %j (an error for the login to refuse, 02h/00h) and keeps 8192', (v) => {
    const n = new Negotiator();
    expect(errorOf(n, OP, `MaxRecvDataSegmentLength=${v}`)).toEqual({ kind: 'bad-declaration', key: 'MaxRecvDataSegmentLength', value: v, min: 512, max: 16777215 });
    expect(n.initiatorMaxRecvDataSegmentLength).toBe(8192);
  });

  it('accepts the edges 512 and 2**24 - 1', () => {
    expect(answer('MaxRecvDataSegmentLength=512')).toBeUndefined();
    expect(answer('MaxRecvDataSegmentLength=16777215')).toBeUndefined();
  });

  it('may be redeclared (Use: ALL); the last value counts', () => {
    const n = new Negotiator();
    answers(n, OP, 'MaxRecvDataSegmentLength=4096');
    answers(n, OP, 'MaxRecvDataSegmentLength=1024');
    expect(n.initiatorMaxRecvDataSegmentLength).toBe(1024);
  });

  it('the target declares its own once, in the operational stage', () => {
    const n = new Negotiator({ ...DEFAULT_TARGET_PREFERENCES, maxRecvDataSegmentLength: 131072 });
    expect(text(n.targetKeys(SEC))).toEqual([]);
    expect(text(n.targetKeys(OP))).toEqual(['MaxRecvDataSegmentLength=131072']);
    expect(text(n.targetKeys(OP))).toEqual([]);
    expect(n.finish()).toMatchObject({ ok: true, value: { targetMaxRecvDataSegmentLength: 131072 } });
  });
});

describe('Reject, Irrelevant, NotUnderstood (§6.2, §13.22, §13.25)', () => {
  it('unknown keys and X- / X# extensions are NotUnderstood', () => {
    const n = new Negotiator();
    expect(answers(n, OP, 'FooBar=1', 'X-com.example.Feature=Yes', 'X#Registered=2')).toEqual(['FooBar=NotUnderstood', 'X-com.example.Feature=NotUnderstood', 'X#Registered=NotUnderstood']);
  });

  it('unknown keys are NotUnderstood in the security stage too', () => {
    expect(answer('X-com.example.Auth=1', {}, SEC)).toBe('X-com.example.Auth=NotUnderstood');
  });

  it.each(['IFMarker=No', 'OFMarker=No', 'IFMarkInt=2048~8192', 'OFMarkInt=2048~8192'])('obsolete %s is Reject', (kv) => {
    expect(answer(kv)).toBe(`${kv.slice(0, kv.indexOf('='))}=Reject`);
  });

  it('keys irrelevant to a discovery session are Irrelevant', () => {
    const n = new Negotiator();
    const irrelevant = ['MaxConnections=1', 'InitialR2T=No', 'ImmediateData=Yes', 'MaxBurstLength=512', 'FirstBurstLength=512', 'MaxOutstandingR2T=1', 'DataPDUInOrder=Yes', 'DataSequenceInOrder=Yes', 'TaskReporting=RFC3720', 'iSCSIProtocolLevel=1'];
    // FirstBurstLength is answered last (its relevance depends on the others).
    const inAnswerOrder = [...irrelevant.filter((kv) => !kv.startsWith('First')), 'FirstBurstLength=512'];
    expect(answers(n, DISCOVERY, ...irrelevant)).toEqual(inAnswerOrder.map((kv) => `${kv.slice(0, kv.indexOf('='))}=Irrelevant`));
    expect(answers(n, DISCOVERY, 'HeaderDigest=CRC32C', 'DefaultTime2Wait=1', 'DefaultTime2Retain=0', 'ErrorRecoveryLevel=0')).toEqual([
      'HeaderDigest=CRC32C',
      'DefaultTime2Wait=2',
      'DefaultTime2Retain=0',
      'ErrorRecoveryLevel=0',
    ]);
  });

  it('LO keys on a connection joining a session are Irrelevant; connection keys are negotiated', () => {
    const session = { ...RFC_DEFAULTS, maxBurstLength: 65536, headerDigest: 'CRC32C' as const, initiatorMaxRecvDataSegmentLength: 4096 };
    const n = new Negotiator(DEFAULT_TARGET_PREFERENCES, connectionDefaults(session));
    expect(answers(n, JOINING, 'MaxBurstLength=16384', 'ErrorRecoveryLevel=0', 'HeaderDigest=None', 'MaxRecvDataSegmentLength=16384')).toEqual([
      'MaxBurstLength=Irrelevant',
      'ErrorRecoveryLevel=Irrelevant',
      'HeaderDigest=None',
    ]);
    expect(n.finish()).toMatchObject({ ok: true, value: { maxBurstLength: 65536, headerDigest: 'None', initiatorMaxRecvDataSegmentLength: 16384 } });
  });

  it('SendTargets in the login is Reject (FFPO)', () => {
    expect(answer('SendTargets=All')).toBe('SendTargets=Reject');
  });
});

describe('stages, senders, renegotiation', () => {
  it('an operational key in the security stage fails the negotiation', () => {
    expect(errorOf(new Negotiator(), SEC, 'AuthMethod=None', 'MaxBurstLength=512')).toEqual({ kind: 'wrong-stage', key: 'MaxBurstLength' });
    expect(errorOf(new Negotiator(), SEC, 'MaxRecvDataSegmentLength=8192')).toEqual({ kind: 'wrong-stage', key: 'MaxRecvDataSegmentLength' });
  });

  it('a security key in the operational stage fails the negotiation', () => {
    expect(errorOf(new Negotiator(), OP, 'AuthMethod=None')).toEqual({ kind: 'wrong-stage', key: 'AuthMethod' });
    expect(errorOf(new Negotiator(), OP, 'CHAP_A=5')).toEqual({ kind: 'wrong-stage', key: 'CHAP_A' });
  });

  it('identity and security keys go to the caller, in order', () => {
    const r = new Negotiator().receive(pairs('InitiatorName=iqn.a', 'AuthMethod=CHAP', 'X-y=1', 'CHAP_A=5', 'SessionType=Normal'), SEC);
    expect(r.ok && { answers: text(r.value.answers), forCaller: text(r.value.forCaller) }).toEqual({
      answers: ['X-y=NotUnderstood'],
      forCaller: ['InitiatorName=iqn.a', 'AuthMethod=CHAP', 'CHAP_A=5', 'SessionType=Normal'],
    });
  });

  it.each(['TargetAlias=x', 'TargetAddress=10.0.0.1:3260,1', 'TargetPortalGroupTag=1'])('%s from the initiator fails (target-only)', (kv) => {
    expect(errorOf(new Negotiator(), OP, kv)).toEqual({ kind: 'wrong-sender', key: kv.slice(0, kv.indexOf('=')) });
  });

  it('a key negotiated again in a later request fails (§6.3)', () => {
    const n = new Negotiator();
    answers(n, OP, 'MaxBurstLength=65536');
    expect(errorOf(n, OP, 'MaxBurstLength=65536')).toEqual({ kind: 'renegotiation', key: 'MaxBurstLength' });
  });

  it('a key answered Irrelevant or Reject counts as negotiated too', () => {
    const n = new Negotiator();
    answers(n, OP, 'IFMarker=No', 'MaxBurstLength=1');
    expect(errorOf(n, OP, 'IFMarker=No')).toEqual({ kind: 'renegotiation', key: 'IFMarker' });
    expect(errorOf(n, OP, 'MaxBurstLength=512')).toEqual({ kind: 'renegotiation', key: 'MaxBurstLength' });
  });

  it('identity keys may repeat (the login checks their values)', () => {
    const n = new Negotiator();
    n.receive(pairs('InitiatorName=iqn.a'), SEC);
    const r = n.receive(pairs('InitiatorName=iqn.a'), OP);
    expect(r.ok && text(r.value.forCaller)).toEqual(['InitiatorName=iqn.a']);
  });
});

describe('full feature phase Text negotiation', () => {
  it('login-only keys are Reject, MaxRecvDataSegmentLength is redeclared, SendTargets and InitiatorAlias go to the caller', () => {
    const current = { ...RFC_DEFAULTS, maxBurstLength: 65536, targetMaxRecvDataSegmentLength: 262144 };
    const n = new Negotiator(DEFAULT_TARGET_PREFERENCES, current);
    const r = n.receive(pairs('MaxBurstLength=512', 'HeaderDigest=CRC32C', 'TargetName=iqn.t', 'AuthMethod=None', 'MaxRecvDataSegmentLength=32768', 'SendTargets=All', 'InitiatorAlias=host'), FFP);
    expect(r.ok && { answers: text(r.value.answers), forCaller: text(r.value.forCaller) }).toEqual({
      answers: ['MaxBurstLength=Reject', 'HeaderDigest=Reject', 'TargetName=Reject', 'AuthMethod=Reject'],
      forCaller: ['SendTargets=All', 'InitiatorAlias=host'],
    });
    expect(n.finish()).toEqual({ ok: true, value: { ...current, initiatorMaxRecvDataSegmentLength: 32768 } });
  });

  it('the target neither declares nor offers in full feature phase', () => {
    expect(new Negotiator({ ...DEFAULT_TARGET_PREFERENCES, maxBurstLength: 4096, firstBurstLength: 4096 }).targetKeys(FFP)).toEqual([]);
  });
});

describe('the target\'s own offers', () => {
  it('none with the defaults: only the MaxRecvDataSegmentLength declaration', () => {
    const n = new Negotiator();
    expect(n.needsOperationalStage(OP)).toBe(true);
    expect(text(n.targetKeys(OP))).toEqual(['MaxRecvDataSegmentLength=262144']);
    expect(n.awaitingAnswers).toBe(false);
    expect(n.finish()).toEqual({ ok: true, value: { ...RFC_DEFAULTS, targetMaxRecvDataSegmentLength: 262144 } });
  });

  it('nothing to declare or offer when the preferences equal the defaults', () => {
    const n = new Negotiator({ ...DEFAULT_TARGET_PREFERENCES, maxRecvDataSegmentLength: 8192 });
    expect(n.needsOperationalStage(OP)).toBe(false);
  });

  it('offers where the default does not suit the target, for keys the initiator did not negotiate', () => {
    const n = new Negotiator({ ...DEFAULT_TARGET_PREFERENCES, maxRecvDataSegmentLength: 8192, maxBurstLength: 32768, firstBurstLength: 32768, immediateData: false, dataDigests: ['CRC32C'], defaultTime2Wait: 5 });
    answers(n, OP, 'DefaultTime2Wait=7');
    expect(n.needsOperationalStage(OP)).toBe(true);
    expect(text(n.targetKeys(OP))).toEqual(['MaxRecvDataSegmentLength=8192', 'DataDigest=CRC32C', 'ImmediateData=No', 'MaxBurstLength=32768', 'FirstBurstLength=32768']);
    expect(n.awaitingAnswers).toBe(true);
    answers(n, OP, 'DataDigest=CRC32C', 'MaxBurstLength=16384', 'FirstBurstLength=16384');
    expect(n.awaitingAnswers).toBe(false);
    expect(n.finish()).toMatchObject({ ok: true, value: { dataDigest: 'CRC32C', immediateData: false, maxBurstLength: 16384, firstBurstLength: 16384, defaultTime2Wait: 7 } });
  });

  it('FirstBurstLength is offered no higher than the MaxBurstLength offered with it', () => {
    const n = new Negotiator({ ...DEFAULT_TARGET_PREFERENCES, maxBurstLength: 16384, firstBurstLength: 16384 });
    expect(text(n.targetKeys(OP))).toEqual(['MaxRecvDataSegmentLength=262144', 'MaxBurstLength=16384', 'FirstBurstLength=16384']);
  });

  it('offers nothing irrelevant: a discovery session gets no burst offers', () => {
    const n = new Negotiator({ ...DEFAULT_TARGET_PREFERENCES, maxBurstLength: 16384, firstBurstLength: 16384 });
    expect(text(n.targetKeys(DISCOVERY))).toEqual(['MaxRecvDataSegmentLength=262144']);
  });

  it.each([
    ['MaxBurstLength=65536', { kind: 'bad-answer', key: 'MaxBurstLength', value: '65536' }],
    ['MaxBurstLength=256', { kind: 'bad-answer', key: 'MaxBurstLength', value: '256' }],
    ['MaxBurstLength=lots', { kind: 'bad-answer', key: 'MaxBurstLength', value: 'lots' }],
    ['HeaderDigest=None', { kind: 'bad-answer', key: 'HeaderDigest', value: 'None' }],
    ['ImmediateData=Yes', { kind: 'bad-answer', key: 'ImmediateData', value: 'Yes' }],
  ])('an answer %s the result function does not allow fails', (kv, error) => {
    const n = new Negotiator({ ...DEFAULT_TARGET_PREFERENCES, maxBurstLength: 32768, firstBurstLength: 32768, headerDigests: ['CRC32C'], immediateData: false });
    n.targetKeys(OP);
    expect(errorOf(n, OP, kv)).toEqual(error);
  });

  it('an answer of Reject, or none at all, keeps the default', () => {
    const n = new Negotiator({ ...DEFAULT_TARGET_PREFERENCES, maxBurstLength: 32768, firstBurstLength: 32768, defaultTime2Retain: 5 });
    n.targetKeys(OP);
    answers(n, OP, 'MaxBurstLength=Reject');
    expect(n.awaitingAnswers).toBe(false);
    expect(n.finish()).toMatchObject({ ok: true, value: { maxBurstLength: 262144, firstBurstLength: 65536, defaultTime2Retain: 20 } });
  });

  it('a settled offer (ImmediateData=No, AND) needs no answer; a matching one is fine', () => {
    const n = new Negotiator({ ...DEFAULT_TARGET_PREFERENCES, immediateData: false });
    expect(text(n.targetKeys(OP))).toContain('ImmediateData=No');
    expect(n.awaitingAnswers).toBe(false);
    expect(answers(n, OP, 'ImmediateData=No')).toEqual([]);
    expect(n.finish()).toMatchObject({ ok: true, value: { immediateData: false } });
  });

  it('an offered key sent again after the answer round is a renegotiation', () => {
    const n = new Negotiator({ ...DEFAULT_TARGET_PREFERENCES, maxBurstLength: 32768, firstBurstLength: 32768 });
    n.targetKeys(OP);
    answers(n, OP, 'MaxBurstLength=32768');
    expect(errorOf(n, OP, 'MaxBurstLength=32768')).toEqual({ kind: 'renegotiation', key: 'MaxBurstLength' });
  });
});

describe('preferences', () => {
  it.each([
    [{ maxConnections: 0 }],
    [{ maxRecvDataSegmentLength: 511 }],
    [{ maxBurstLength: 16777216 }],
    [{ firstBurstLength: 262145 }],
    [{ defaultTime2Wait: 3601 }],
    [{ defaultTime2Retain: -1 }],
    [{ maxOutstandingR2T: 1.5 }],
    [{ iSCSIProtocolLevel: 32 }],
    [{ headerDigests: [] }],
  ])('refuses %j', (bad) => {
    expect(() => new Negotiator({ ...DEFAULT_TARGET_PREFERENCES, ...bad })).toThrow(RangeError);
  });

  it('defaults: RFC values except a 256 KiB receive segment', () => {
    expect(DEFAULT_TARGET_PREFERENCES).toMatchObject({ maxRecvDataSegmentLength: 262144, maxConnections: 1, initialR2T: true, immediateData: true });
  });
});
