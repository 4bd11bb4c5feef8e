// The login state machine (RFC 7143 §6.3, §11.12, §11.13, §12.1, §13):
// libiscsi's exchanges replayed key for key (lib/login.c: one operational
// PDU without CHAP; four PDUs with mutual CHAP), every status of §11.13.5,
// stage transitions, the fields fixed for a login, text continued both ways,
// duplicate keys and long values, discovery and joining sessions, and the
// target's own offers.

import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { ChapConfig } from '../../src/iscsi/chap.js';
import { TargetLogin } from '../../src/iscsi/login.js';
import { LoginStatus } from '../../src/iscsi/login-status.js';
import type { LoginStep } from '../../src/iscsi/login-types.js';
import { DEFAULT_TARGET_PREFERENCES, RFC_DEFAULTS } from '../../src/iscsi/parameters.js';
import { RESERVED_TAG, type LoginResponseFields } from '../../src/iscsi/pdu-types.js';
import { bytes, hex } from './hex.js';
import { CMD_SN, INITIATOR, ISID, ITT, TARGET, decode, env, expectStep, request, target, toFfp, valueOf } from './login-harness.js';

const md5Hex = (...parts: Uint8Array[]): string => {
  const h = createHash('md5');
  for (const p of parts) h.update(p);
  return h.digest('hex');
};
const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);
const FIRST_STATSN = 0x10111213; // the harness's randomBytes: 10 11 12 13 …
const NAMES = [`InitiatorName=${INITIATOR}`, `TargetName=${TARGET}`, 'SessionType=Normal'];

/** libiscsi's operational keys, in lib/login.c's order, with its defaults. */
const LIBISCSI_OPERATIONAL = [
  'HeaderDigest=None,CRC32C',
  'DataDigest=None',
  'InitialR2T=No',
  'ImmediateData=Yes',
  'MaxBurstLength=262144',
  'FirstBurstLength=262144',
  'DefaultTime2Wait=2',
  'DefaultTime2Retain=0',
  'MaxOutstandingR2T=1',
  'ErrorRecoveryLevel=0',
  'IFMarker=No',
  'OFMarker=No',
  'MaxConnections=1',
  'MaxRecvDataSegmentLength=262144',
  'DataPDUInOrder=Yes',
  'DataSequenceInOrder=Yes',
];
/** What vtcam answers to them with its default preferences (FirstBurstLength last, see negotiate.ts). */
const ANSWERS_TO_LIBISCSI = [
  'HeaderDigest=None',
  'DataDigest=None',
  'InitialR2T=Yes',
  'ImmediateData=Yes',
  'MaxBurstLength=262144',
  'DefaultTime2Wait=2',
  'DefaultTime2Retain=0',
  'MaxOutstandingR2T=1',
  'ErrorRecoveryLevel=0',
  'IFMarker=Reject',
  'OFMarker=Reject',
  'MaxConnections=1',
  'DataPDUInOrder=Yes',
  'DataSequenceInOrder=Yes',
  'FirstBurstLength=65536',
];
const LIBISCSI_PARAMETERS = {
  ...RFC_DEFAULTS,
  initialR2T: true,
  firstBurstLength: 65536,
  defaultTime2Retain: 0,
  targetMaxRecvDataSegmentLength: 262144,
  initiatorMaxRecvDataSegmentLength: 262144,
};

const fullFeature = (step: LoginStep): Extract<LoginStep, { outcome: 'full-feature' }> => {
  if (step.outcome !== 'full-feature') throw new Error(`expected full feature, got ${step.outcome}: ${step.outcome === 'fail' ? step.reason : ''}`);
  return step;
};
/** The response's header fields, its data replaced by its length. */
const fields = (r: LoginResponseFields): Omit<LoginResponseFields, 'data'> & { data: number } => ({ ...r, data: r.data.length });

describe('libiscsi replay, no authentication (lib/login.c)', () => {
  it('logs in with one operational PDU, T=1 to full feature', () => {
    const e = env();
    const login = new TargetLogin(e);
    const step = fullFeature(login.handle(toFfp(['InitiatorName=' + INITIATOR, 'InitiatorAlias=iscsi-test', `TargetName=${TARGET}`, 'SessionType=Normal', ...LIBISCSI_OPERATIONAL])));
    expect(fields(step.response)).toStrictEqual({
      data: step.response.data.length,
      transit: true,
      cont: false,
      csg: 1,
      nsg: 3,
      versionMax: 0,
      versionActive: 0,
      isid: ISID,
      tsih: 0x0102,
      itt: ITT,
      statSN: FIRST_STATSN,
      expCmdSN: CMD_SN,
      maxCmdSN: CMD_SN,
      statusClass: 0,
      statusDetail: 0,
    });
    expect(decode(step.response.data)).toEqual([...ANSWERS_TO_LIBISCSI, 'TargetPortalGroupTag=1', 'MaxRecvDataSegmentLength=262144']);
    expect(step.result).toEqual({
      sessionType: 'Normal',
      initiatorName: INITIATOR,
      initiatorAlias: 'iscsi-test',
      targetName: TARGET,
      isid: ISID,
      tsih: 0x0102,
      cid: 1,
      leading: true,
      chapName: undefined,
      parameters: LIBISCSI_PARAMETERS,
      nextStatSN: FIRST_STATSN + 1,
      expCmdSN: CMD_SN,
      maxCmdSN: CMD_SN,
    });
  });

  it('refuses any further request after full feature (a caller bug)', () => {
    const login = new TargetLogin(env());
    fullFeature(login.handle(toFfp([...NAMES, ...LIBISCSI_OPERATIONAL])));
    expect(() => login.handle(toFfp([]))).toThrow(/already ended/);
    expect(() => login.invalidDuringLogin()).toThrow(/already ended/);
  });
});

describe('libiscsi replay, mutual CHAP (lib/login.c)', () => {
  const chap: ChapConfig = { initiators: [{ name: 'libiscsi-user', secret: 'initiator-secret' }], target: { name: 'vtcam-target', secret: 'target-secret-99' } };
  const theirChallenge = bytes(Array.from({ length: 32 }, (_, i) => ((i * 37 + 11) & 0xff).toString(16)).join(' '));

  it('AuthMethod, CHAP_A, CHAP_N/R with CHAP_I/C, then the operational PDU', () => {
    const e = env({ targets: { [TARGET]: target(chap, { alias: 'vtcam disk' }) } });
    const login = new TargetLogin(e);

    // 1: security, T=1 NSG=1, names and AuthMethod=CHAP,None → CHAP, no transit yet.
    const r1 = expectStep(login.handle(request({ transit: true, nsg: 1, text: [...NAMES, 'AuthMethod=CHAP,None'] })), 'continue');
    expect({ t: r1.transit, c: r1.cont, csg: r1.csg, tsih: r1.tsih, statSN: r1.statSN }).toEqual({ t: false, c: false, csg: 0, tsih: 0, statSN: FIRST_STATSN });
    expect(decode(r1.data)).toEqual(['AuthMethod=CHAP', 'TargetAlias=vtcam disk', 'TargetPortalGroupTag=1']);

    // 2: CHAP_A=5, T=0 → CHAP_A=5 CHAP_I=<byte 0x14> CHAP_C=<bytes 0x15..0x24>.
    const r2 = expectStep(login.handle(request({ nsg: 1, text: ['CHAP_A=5'] })), 'continue');
    expect(decode(r2.data)).toEqual(['CHAP_A=5', 'CHAP_I=20', 'CHAP_C=0x15161718191a1b1c1d1e1f2021222324']);
    expect(r2.statSN).toBe(FIRST_STATSN + 1);

    // 3: CHAP_N, CHAP_R (upper-case hex, as libiscsi's i2h writes it), CHAP_I=1 and a 32-byte CHAP_C; T=1.
    const ourC = bytes('15 16 17 18 19 1a 1b 1c 1d 1e 1f 20 21 22 23 24');
    const response = md5Hex(Uint8Array.of(20), utf8('initiator-secret'), ourC).toUpperCase();
    const cHex = hex(theirChallenge).replace(/ /g, '').toUpperCase();
    const r3 = expectStep(login.handle(request({ transit: true, nsg: 1, text: ['CHAP_N=libiscsi-user', `CHAP_R=0x${response}`, 'CHAP_I=1', `CHAP_C=0x${cHex}`] })), 'continue');
    expect({ t: r3.transit, csg: r3.csg, nsg: r3.nsg }).toEqual({ t: true, csg: 0, nsg: 1 });
    expect(decode(r3.data)).toEqual(['CHAP_N=vtcam-target', `CHAP_R=0x${md5Hex(Uint8Array.of(1), utf8('target-secret-99'), theirChallenge)}`]);

    // 4: operational; libiscsi repeats InitiatorName, TargetName and SessionType here.
    const step = fullFeature(login.handle(toFfp([...NAMES, ...LIBISCSI_OPERATIONAL])));
    expect(decode(step.response.data)).toEqual([...ANSWERS_TO_LIBISCSI, 'MaxRecvDataSegmentLength=262144']);
    expect(step.response).toMatchObject({ csg: 1, nsg: 3, transit: true, tsih: 0x0102, statSN: FIRST_STATSN + 3 });
    expect(step.result).toMatchObject({ chapName: 'libiscsi-user', parameters: LIBISCSI_PARAMETERS, nextStatSN: FIRST_STATSN + 4 });
  });

  it('one-way CHAP: the target needs no CHAP_I/C and answers nothing in step 4', () => {
    const oneWay: ChapConfig = { initiators: chap.initiators };
    const login = new TargetLogin(env({ targets: { [TARGET]: target(oneWay) } }));
    expectStep(login.handle(request({ transit: true, nsg: 1, text: [...NAMES, 'AuthMethod=CHAP,None'] })), 'continue');
    expectStep(login.handle(request({ nsg: 1, text: ['CHAP_A=5'] })), 'continue');
    const r = md5Hex(Uint8Array.of(20), utf8('initiator-secret'), bytes('15 16 17 18 19 1a 1b 1c 1d 1e 1f 20 21 22 23 24'));
    const r3 = expectStep(login.handle(request({ transit: true, nsg: 1, text: ['CHAP_N=libiscsi-user', `CHAP_R=0x${r}`] })), 'continue');
    expect({ transit: r3.transit, nsg: r3.nsg, data: decode(r3.data) }).toEqual({ transit: true, nsg: 1, data: [] });
    fullFeature(login.handle(toFfp(LIBISCSI_OPERATIONAL)));
  });
});

/** A login refused on its first request with this status. */
function refusedFirst(req: Parameters<TargetLogin['handle']>[0], status: { statusClass: number; statusDetail: number }, e = env(), options = {}): LoginResponseFields {
  const step = new TargetLogin(e, options).handle(req);
  return expectStep(step, 'fail', status.statusClass, status.statusDetail);
}

describe('Login status (RFC 7143 §11.13.5)', () => {
  it('the table', () => {
    const table = Object.values(LoginStatus).map((s) => [s.statusClass, s.statusDetail]);
    expect(table).toEqual([
      [0, 0],
      [1, 1],
      [1, 2],
      [2, 0],
      [2, 1],
      [2, 2],
      [2, 3],
      [2, 4],
      [2, 5],
      [2, 6],
      [2, 7],
      [2, 8],
      [2, 9],
      [2, 0x0a],
      [2, 0x0b],
      [3, 0],
      [3, 1],
      [3, 2],
    ]);
  });

  it.each([
    [false, LoginStatus.TARGET_MOVED_TEMPORARILY],
    [true, LoginStatus.TARGET_MOVED_PERMANENTLY],
  ])('01h: target moved (permanent %s) with TargetAddress', (permanent, status) => {
    const e = env({ targets: { [TARGET]: { kind: 'moved', address: '192.0.2.7:3260', permanent } } });
    const r = refusedFirst(toFfp(NAMES), status, e);
    expect(decode(r.data)).toEqual(['TargetAddress=192.0.2.7:3260']);
    expect({ transit: r.transit, isid: r.isid, itt: r.itt, tsih: r.tsih, statSN: r.statSN }).toEqual({ transit: false, isid: ISID, itt: ITT, tsih: 0, statSN: FIRST_STATSN });
  });

  it('02h/00h initiator error, with no text', () => {
    const r = refusedFirst(request({ transit: true, cont: true, nsg: 1, text: NAMES }), LoginStatus.INITIATOR_ERROR);
    expect(r.data.length).toBe(0);
  });

  it('02h/01h authentication failure: a wrong CHAP response', () => {
    const login = new TargetLogin(env({ targets: { [TARGET]: target({ initiators: [{ name: 'u', secret: 'right-secret' }] }) } }));
    login.handle(request({ text: [...NAMES, 'AuthMethod=CHAP'] }));
    login.handle(request({ text: ['CHAP_A=5'] }));
    const wrong = md5Hex(Uint8Array.of(20), utf8('wrong-secret'), bytes('15 16 17 18 19 1a 1b 1c 1d 1e 1f 20 21 22 23 24'));
    const step = login.handle(request({ transit: true, nsg: 1, text: ['CHAP_N=u', `CHAP_R=0x${wrong}`] }));
    expectStep(step, 'fail', 2, 1);
    expect(step.outcome === 'fail' && step.reason).toMatch(/wrong-response/);
  });

  it('02h/01h: authentication required but the login starts in the operational stage', () => {
    refusedFirst(toFfp(NAMES), LoginStatus.AUTHENTICATION_FAILURE, env({ targets: { [TARGET]: target({ initiators: [{ name: 'u', secret: 's' }] }) } }));
  });

  it('02h/01h: authentication required and AuthMethod=None offered', () => {
    refusedFirst(request({ text: [...NAMES, 'AuthMethod=None'] }), LoginStatus.AUTHENTICATION_FAILURE, env({ targets: { [TARGET]: target({ initiators: [{ name: 'u', secret: 's' }] }) } }));
  });

  it('02h/01h: authentication required and the initiator asks to leave security without AuthMethod', () => {
    refusedFirst(request({ transit: true, nsg: 1, text: NAMES }), LoginStatus.AUTHENTICATION_FAILURE, env({ targets: { [TARGET]: target({ initiators: [{ name: 'u', secret: 's' }] }) } }));
  });

  it('02h/01h: CHAP offered to a target that needs no authentication', () => {
    refusedFirst(request({ text: [...NAMES, 'AuthMethod=CHAP'] }), LoginStatus.AUTHENTICATION_FAILURE);
  });

  it('02h/01h: CHAP keys without AuthMethod=CHAP', () => {
    refusedFirst(request({ text: [...NAMES, 'CHAP_A=5'] }), LoginStatus.AUTHENTICATION_FAILURE);
  });

  it('02h/01h: a request after AuthMethod=CHAP without the CHAP keys of the next step', () => {
    const login = new TargetLogin(env({ targets: { [TARGET]: target({ initiators: [{ name: 'u', secret: 's' }] }) } }));
    expectStep(login.handle(request({ text: [...NAMES, 'AuthMethod=CHAP'] })), 'continue');
    expectStep(login.handle(request({ transit: true, nsg: 1, text: [] })), 'fail', 2, 1);
  });

  it('02h/02h authorization failure: the initiator is not in the target\'s list', () => {
    refusedFirst(toFfp(NAMES), LoginStatus.AUTHORIZATION_FAILURE, env({ targets: { [TARGET]: target(undefined, { initiators: ['iqn.2000-01.com.example:other'] }) } }));
  });

  it('02h/03h not found, 02h/04h removed, 03h/01h unavailable', () => {
    refusedFirst(toFfp([`InitiatorName=${INITIATOR}`, 'TargetName=iqn.2024-01.org.vtcam:nope']), LoginStatus.NOT_FOUND);
    refusedFirst(toFfp(NAMES), LoginStatus.TARGET_REMOVED, env({ targets: { [TARGET]: { kind: 'removed' } } }));
    refusedFirst(toFfp(NAMES), LoginStatus.SERVICE_UNAVAILABLE, env({ targets: { [TARGET]: { kind: 'unavailable' } } }));
  });

  it.each([
    [1, 1],
    [1, 2],
    [0xff, 0x01],
  ])('02h/05h unsupported version: Version-min %i, Version-max %i', (versionMin, versionMax) => {
    const r = refusedFirst(toFfp(NAMES, { versionMin, versionMax }), LoginStatus.UNSUPPORTED_VERSION);
    expect({ versionMax: r.versionMax, versionActive: r.versionActive }).toEqual({ versionMax: 0, versionActive: 0 });
  });

  it('accepts Version-min 0 with a higher Version-max, answering version 0', () => {
    const step = fullFeature(new TargetLogin(env()).handle(toFfp(NAMES, { versionMax: 5 })));
    expect({ versionMax: step.response.versionMax, versionActive: step.response.versionActive }).toEqual({ versionMax: 0, versionActive: 0 });
  });

  it('02h/06h too many connections, 02h/08h cannot include, 02h/0Ah no session (TSIH ≠ 0)', () => {
    refusedFirst(toFfp(NAMES, { tsih: 7 }), LoginStatus.TOO_MANY_CONNECTIONS, env({ session: { kind: 'too-many-connections' } }));
    refusedFirst(toFfp(NAMES, { tsih: 7 }), LoginStatus.CANT_INCLUDE_IN_SESSION, env({ session: { kind: 'cannot-include' } }));
    const r = refusedFirst(toFfp(NAMES, { tsih: 7 }), LoginStatus.SESSION_DOES_NOT_EXIST, env({ session: { kind: 'not-found' } }));
    expect(r.tsih).toBe(7);
  });

  it('02h/0Ah for a connection reinstatement (§6.3.4), which vtcam does not serve: the reason says to use TSIH 0', () => {
    const step = new TargetLogin(env({ session: { kind: 'reinstates-connection' } })).handle(toFfp(NAMES, { tsih: 7, cid: 3 }));
    expectStep(step, 'fail', 2, 0x0a);
    expect(step.outcome === 'fail' && step.reason).toMatch('TSIH 7 CID 3: connection reinstatement is not supported; log in with TSIH 0');
  });

  it('02h/07h missing parameter: no InitiatorName, or no TargetName in a normal session', () => {
    refusedFirst(toFfp([`TargetName=${TARGET}`]), LoginStatus.MISSING_PARAMETER);
    refusedFirst(toFfp([`InitiatorName=${INITIATOR}`]), LoginStatus.MISSING_PARAMETER);
    refusedFirst(toFfp([`InitiatorName=${INITIATOR}`, 'SessionType=Normal']), LoginStatus.MISSING_PARAMETER);
    refusedFirst(toFfp([]), LoginStatus.MISSING_PARAMETER);
  });

  it('02h/09h session type not supported: unknown type, or discovery disabled', () => {
    refusedFirst(toFfp([...NAMES.slice(0, 2), 'SessionType=Streaming']), LoginStatus.SESSION_TYPE_NOT_SUPPORTED);
    refusedFirst(toFfp([`InitiatorName=${INITIATOR}`, 'SessionType=Discovery']), LoginStatus.SESSION_TYPE_NOT_SUPPORTED, env(), { discovery: 'disabled' });
  });

  it('02h/0Bh invalid during login: a non-login PDU, with the login\'s ITT', () => {
    const login = new TargetLogin(env());
    login.handle(request({ text: NAMES }));
    const step = login.invalidDuringLogin();
    expect(expectStep(step, 'fail', 2, 0x0b)).toMatchObject({ itt: ITT, isid: ISID, statSN: FIRST_STATSN + 1 });
    expect(() => login.handle(request())).toThrow(/already ended/);
  });

  it('02h/0Bh before any Login Request: the reserved ITT', () => {
    expect(new TargetLogin(env()).invalidDuringLogin().response.itt).toBe(RESERVED_TAG);
  });

  it.each(['findTarget', 'lookupSession', 'newTsih'] as const)('03h/00h target error when %s throws', (throwOn) => {
    const step = new TargetLogin(env({ throwOn, session: { kind: 'not-found' } })).handle(toFfp(NAMES, throwOn === 'lookupSession' ? { tsih: 3 } : {}));
    expectStep(step, 'fail', 3, 0);
    expect(step.outcome === 'fail' && step.reason).toMatch(`${throwOn} broke`);
  });

  it('03h/02h out of resources: no TSIH left, or more text than the target holds', () => {
    refusedFirst(toFfp(NAMES), LoginStatus.OUT_OF_RESOURCES, env({ tsih: undefined }));
    const login = new TargetLogin(env(), { textLimit: 100 }); // the InitiatorName pair is 67 bytes, TargetName's 39
    expectStep(login.handle(request({ cont: true, text: NAMES.slice(0, 1) })), 'continue');
    expectStep(login.handle(request({ text: NAMES.slice(1) })), 'fail', 3, 2);
  });
});

describe('names', () => {
  // RFC 7143 §4.2.7: iqn. + yyyy-mm + reversed domain name [+ ':' unique part], eui. + 16 hex digits, naa. + 16 or
  // 32; RFC 3722 leaves no white space, control characters or punctuation but '-', '.' and ':'.
  it.each([
    'host1',
    'iqn',
    'iqn.\nvtcam: iscsi: 10.0.0.9:3260: Normal session for iqn.1994-05.com.redhat:admin',
    'eui.not hex at all',
    'naa.',
    'IQN.Upper Case,i,0x1',
    'iqn.2026-11.org.example:a b',
    'iqn.2026-11.org.example:host,i,0x23d000000001',
    'iqn.2026-11.org.example:host_1',
    'eui.02004567a425678',
    'naa.52004567ba64678d0',
  ])('InitiatorName %j is an initiator error (02h/00h), its reason one log line', (name) => {
    const step = new TargetLogin(env()).handle(toFfp([`InitiatorName=${name}`, `TargetName=${TARGET}`]));
    expectStep(step, 'fail', 2, 0);
    expect(step.outcome === 'fail' && step.reason).toMatch(/^Initiator error: InitiatorName ".*" is (?:not an iSCSI name|\d+ bytes)/);
    expect(step.outcome === 'fail' && /[\n\r]/.test(step.reason)).toBe(false);
  });

  it('accepts iqn., eui. and naa. names up to 223 bytes', () => {
    const iqn = 'iqn.2026-11.org.example:';
    for (const name of ['eui.02004567a425678d', 'naa.52004567ba64678d', 'naa.62004567ba64678d0123456789abcdef', iqn + 'x'.repeat(223 - iqn.length)]) {
      expect(fullFeature(new TargetLogin(env()).handle(toFfp([`InitiatorName=${name}`, `TargetName=${TARGET}`]))).result.initiatorName).toBe(name);
    }
    refusedFirst(toFfp([`InitiatorName=${iqn + 'x'.repeat(224 - iqn.length)}`, `TargetName=${TARGET}`]), LoginStatus.INITIATOR_ERROR);
  });

  it('capitals are folded to lower case (RFC 3722 maps case): one name, one initiator port, redeclared in any case', () => {
    // RFC 7143 §4.2.7.5 prints its eui. and naa. examples in capitals.
    for (const [name, folded] of [['eui.02004567A425678D', 'eui.02004567a425678d'], ['naa.52004567BA64678D', 'naa.52004567ba64678d'], ['IQN.2026-11.ORG.Example:Host-A', 'iqn.2026-11.org.example:host-a']]) {
      expect(fullFeature(new TargetLogin(env()).handle(toFfp([`InitiatorName=${name}`, `TargetName=${TARGET}`]))).result.initiatorName).toBe(folded);
    }
    const login = new TargetLogin(env());
    expectStep(login.handle(request({ nsg: 1, transit: true, text: ['InitiatorName=IQN.2026-11.org.example:host', `TargetName=${TARGET}`, 'AuthMethod=None'] })), 'continue');
    expect(fullFeature(login.handle(toFfp(['InitiatorName=iqn.2026-11.org.example:HOST']))).result.initiatorName).toBe('iqn.2026-11.org.example:host');
  });

  it('what an initiator sent is escaped in a refusal\'s reason: no line break of its own reaches the log', () => {
    const forged = 'vtcam: iscsi: forged line';
    const cases = [
      [[`InitiatorName=${INITIATOR}`, `TargetName=iqn.2026-11.org.vtcam:x\n${forged}`], LoginStatus.NOT_FOUND],
      [[`InitiatorName=${INITIATOR}`, `TargetName=${TARGET}`, `SessionType=Normal\r\n${forged}`], LoginStatus.SESSION_TYPE_NOT_SUPPORTED],
      [[`InitiatorName=${INITIATOR}`, `TargetName=${TARGET}`, `X-a\u2028${forged}=1`, `X-a\u2028${forged}=2`], LoginStatus.INITIATOR_ERROR],
    ] as const;
    for (const [text, status] of cases) {
      const step = new TargetLogin(env()).handle(toFfp(text));
      expectStep(step, 'fail', status.statusClass, status.statusDetail);
      const reason = step.outcome === 'fail' ? step.reason : '';
      expect(reason).toContain(forged);
      expect(reason).toMatch(/\\u(?:000a|000d|2028)vtcam/);
      expect(/[\n\r\u2028]/.test(reason)).toBe(false);
    }
  });

  it('identity keys repeated later must keep their value', () => {
    const login = new TargetLogin(env());
    expectStep(login.handle(request({ nsg: 1, transit: true, text: [...NAMES, 'AuthMethod=None'] })), 'continue');
    const step = login.handle(toFfp([`InitiatorName=${INITIATOR}`, `TargetName=${TARGET}`, 'SessionType=Discovery']));
    expectStep(step, 'fail', 2, 0);
    expect(step.outcome === 'fail' && step.reason).toMatch(/SessionType redeclared/);
  });

  it('an InitiatorAlias first given later is taken; changed later it is refused', () => {
    const login = new TargetLogin(env());
    login.handle(request({ nsg: 1, transit: true, text: [...NAMES, 'AuthMethod=None'] }));
    expect(fullFeature(login.handle(toFfp(['InitiatorAlias=later']))).result.initiatorAlias).toBe('later');
    const other = new TargetLogin(env());
    other.handle(request({ nsg: 1, transit: true, text: [...NAMES, 'InitiatorAlias=a', 'AuthMethod=None'] }));
    expectStep(other.handle(toFfp(['InitiatorAlias=b'])), 'fail', 2, 0);
  });
});

describe('stages and transitions (§6.3, §11.12)', () => {
  it('security without authentication, then operational, then full feature', () => {
    const login = new TargetLogin(env());
    const r1 = expectStep(login.handle(request({ transit: true, nsg: 1, text: [...NAMES, 'AuthMethod=None'] })), 'continue');
    expect({ transit: r1.transit, csg: r1.csg, nsg: r1.nsg, data: decode(r1.data) }).toEqual({ transit: true, csg: 0, nsg: 1, data: ['AuthMethod=None', 'TargetPortalGroupTag=1'] });
    const step = fullFeature(login.handle(toFfp([])));
    expect(decode(step.response.data)).toEqual(['MaxRecvDataSegmentLength=262144']);
  });

  it('the target stops in the operational stage when asked for full feature from security but it has a declaration', () => {
    const login = new TargetLogin(env());
    const r1 = expectStep(login.handle(request({ transit: true, nsg: 3, text: [...NAMES, 'AuthMethod=CHAP,None'] })), 'continue');
    expect({ transit: r1.transit, nsg: r1.nsg }).toEqual({ transit: true, nsg: 1 });
  });

  it('security straight to full feature when the target has nothing to declare', () => {
    const login = new TargetLogin(env(), { preferences: { ...DEFAULT_TARGET_PREFERENCES, maxRecvDataSegmentLength: 8192 } });
    const step = fullFeature(login.handle(request({ transit: true, nsg: 3, text: [...NAMES, 'AuthMethod=None'] })));
    expect({ csg: step.response.csg, nsg: step.response.nsg, tsih: step.response.tsih }).toEqual({ csg: 0, nsg: 3, tsih: 0x0102 });
    expect(step.result.parameters).toEqual(RFC_DEFAULTS);
  });

  it('no transition without T=1; the stage stays until both sides agree', () => {
    const login = new TargetLogin(env());
    const r = expectStep(login.handle(request({ csg: 1, nsg: 3, text: NAMES })), 'continue');
    expect({ transit: r.transit, csg: r.csg, tsih: r.tsih }).toEqual({ transit: false, csg: 1, tsih: 0 });
    fullFeature(login.handle(toFfp([])));
  });

  it.each([
    ['CSG 2 (reserved) first', request({ csg: 2, text: NAMES })],
    ['CSG 3 first', request({ csg: 3, text: NAMES })],
    ['T=1 to NSG 0', request({ transit: true, nsg: 0, text: NAMES })],
    ['T=1 to NSG 2 (reserved)', request({ transit: true, nsg: 2, text: NAMES })],
    ['T=1 from operational to operational', request({ csg: 1, transit: true, nsg: 1, text: NAMES })],
    ['T=1 from operational back to security', request({ csg: 1, transit: true, nsg: 0, text: NAMES })],
    ['T and C both set', request({ transit: true, cont: true, nsg: 1, text: NAMES })],
  ])('%s is an initiator error', (_what, req) => {
    refusedFirst(req, LoginStatus.INITIATOR_ERROR);
  });

  it('a request in the next stage before the target agreed to the transition is an initiator error', () => {
    const login = new TargetLogin(env({ targets: { [TARGET]: target({ initiators: [{ name: 'u', secret: 's' }] }) } }));
    expectStep(login.handle(request({ transit: true, nsg: 1, text: [...NAMES, 'AuthMethod=CHAP'] })), 'continue');
    expectStep(login.handle(toFfp([])), 'fail', 2, 0);
  });

  it('operational keys in the security stage are an initiator error', () => {
    const step = new TargetLogin(env()).handle(request({ text: [...NAMES, 'AuthMethod=None', 'MaxBurstLength=65536'] }));
    expectStep(step, 'fail', 2, 0);
    expect(step.outcome === 'fail' && step.reason).toMatch(/wrong-stage key=MaxBurstLength/);
  });

  it('security keys in the operational stage are an initiator error', () => {
    refusedFirst(toFfp([...NAMES, 'AuthMethod=None']), LoginStatus.INITIATOR_ERROR);
  });

  it.each([
    ['isid', { isid: ISID + 1n }],
    ['tsih', { tsih: 5 }],
    ['cid', { cid: 2 }],
    ['itt', { itt: ITT + 1 }],
    ['versionMax', { versionMax: 3 }],
    ['versionMin', { versionMin: 1 }],
  ])('%s changed within the login is an initiator error', (field, change) => {
    const login = new TargetLogin(env());
    expectStep(login.handle(request({ csg: 1, nsg: 3, versionMax: 2, text: NAMES })), 'continue');
    const step = login.handle(request({ csg: 1, nsg: 3, versionMax: 2, ...change }));
    expectStep(step, 'fail', 2, 0);
    expect(step.outcome === 'fail' && step.reason).toMatch(`${field} changed during login`);
  });

  it('a key negotiated again in a later request is an initiator error (§6.3)', () => {
    const login = new TargetLogin(env());
    expectStep(login.handle(request({ csg: 1, nsg: 3, text: [...NAMES, 'MaxBurstLength=65536'] })), 'continue');
    const step = login.handle(toFfp(['MaxBurstLength=65536']));
    expectStep(step, 'fail', 2, 0);
    expect(step.outcome === 'fail' && step.reason).toMatch(/renegotiation/);
  });
});

describe('StatSN, CmdSN, TSIH (§11.13)', () => {
  it('StatSN counts every response from the random first one, wrapping at 2**32', () => {
    const login = new TargetLogin(env({ randomStart: 0xff }));
    const r1 = login.handle(request({ csg: 1, nsg: 3, text: NAMES })).response;
    const r2 = fullFeature(login.handle(toFfp([])));
    // randomBytes: ff 00 01 02
    expect([r1.statSN, r2.response.statSN, r2.result.nextStatSN]).toEqual([0xff000102, 0xff000103, 0xff000104]);
    const wrap = new TargetLogin({ ...env(), randomBytes: (n) => new Uint8Array(n).fill(0xff) });
    expect([wrap.handle(request({ csg: 1, text: NAMES })).response.statSN, wrap.handle(request({ csg: 1 })).response.statSN]).toEqual([0xffffffff, 0]);
  });

  it('ExpCmdSN is the login\'s CmdSN; MaxCmdSN opens the configured window, wrapping', () => {
    const step = fullFeature(new TargetLogin(env(), { commandWindow: 16 }).handle(toFfp(NAMES, { cmdSN: 0xfffffff8 })));
    expect({ exp: step.response.expCmdSN, max: step.response.maxCmdSN }).toEqual({ exp: 0xfffffff8, max: 7 });
    expect({ exp: step.result.expCmdSN, max: step.result.maxCmdSN }).toEqual({ exp: 0xfffffff8, max: 7 });
  });

  it.each([0, -1, 1.5])('refuses commandWindow %s', (commandWindow) => {
    expect(() => new TargetLogin(env(), { commandWindow })).toThrow(RangeError);
  });

  it('TSIH is 0 until the final response of a leading login', () => {
    const login = new TargetLogin(env());
    expect(login.handle(request({ csg: 1, nsg: 3, text: NAMES })).response.tsih).toBe(0);
    expect(fullFeature(login.handle(toFfp([]))).response.tsih).toBe(0x0102);
  });

  it('echoes each request\'s ITT', () => {
    const login = new TargetLogin(env());
    expect(login.handle(request({ csg: 1, text: NAMES, itt: 0x42 })).response.itt).toBe(0x42);
  });
});

describe('text continued across PDUs (C bit)', () => {
  it('joins a request split mid-pair, acknowledging each part with an empty response', () => {
    const login = new TargetLogin(env());
    const all = new TextEncoder().encode([...NAMES, 'MaxBurstLength=65536'].map((p) => `${p}\0`).join(''));
    const a = expectStep(login.handle(request({ csg: 1, nsg: 3, cont: true, data: all.subarray(0, 20) })), 'continue');
    const b = expectStep(login.handle(request({ csg: 1, nsg: 3, cont: true, data: all.subarray(20, 70) })), 'continue');
    for (const r of [a, b]) expect({ t: r.transit, c: r.cont, len: r.data.length, csg: r.csg }).toEqual({ t: false, c: false, len: 0, csg: 1 });
    const step = fullFeature(login.handle(toFfp([], { data: all.subarray(70) })));
    expect(valueOf(step.response, 'MaxBurstLength')).toBe('65536');
    expect(valueOf(step.response, 'TargetPortalGroupTag')).toBe('1');
    expect([a.statSN, b.statSN, step.response.statSN]).toEqual([FIRST_STATSN, FIRST_STATSN + 1, FIRST_STATSN + 2]);
  });

  it.each(['511', '16777216'])('MaxRecvDataSegmentLength=%s is refused 02h/00h: no response carries the key twice (§6.3)', (v) => {
    const step = new TargetLogin(env()).handle(toFfp([...NAMES, `MaxRecvDataSegmentLength=${v}`]));
    const r = expectStep(step, 'fail', 2, 0);
    expect(step.outcome === 'fail' && step.reason).toMatch(`kind=bad-declaration key=MaxRecvDataSegmentLength value=${v} min=512 max=16777215`);
    expect(decode(r.data)).toEqual([]);
  });

  it('splits a long response at the initiator\'s MaxRecvDataSegmentLength, continued on empty requests', () => {
    const login = new TargetLogin(env());
    const unknown = Array.from({ length: 40 }, (_, i) => `X-org.example.key${String(i).padStart(3, '0')}=1`);
    let step = login.handle(toFfp([...NAMES, 'MaxRecvDataSegmentLength=512', ...unknown]));
    const parts: Uint8Array[] = [];
    while (step.outcome === 'continue') {
      const r = step.response;
      expect({ t: r.transit, c: r.cont, len: r.data.length, tsih: r.tsih }).toEqual({ t: false, c: true, len: 512, tsih: 0 });
      parts.push(r.data);
      step = login.handle(toFfp([]));
    }
    const last = fullFeature(step);
    expect(last.response).toMatchObject({ transit: true, cont: false, nsg: 3, tsih: 0x0102, statSN: FIRST_STATSN + parts.length });
    expect(last.response.data.length).toBeLessThanOrEqual(512);
    parts.push(last.response.data);
    // 40 × 35 bytes of NotUnderstood, TargetPortalGroupTag (23), MaxRecvDataSegmentLength (32): 1455 bytes.
    expect(parts.map((p) => p.length)).toEqual([512, 512, 431]);
    const joined = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    parts.reduce((at, p) => (joined.set(p, at), at + p.length), 0);
    expect(decode(joined)).toEqual([...unknown.map((k) => `${k.slice(0, -2)}=NotUnderstood`), 'TargetPortalGroupTag=1', 'MaxRecvDataSegmentLength=262144']);
  });

  it('splits at 8192 during login when the initiator declared more', () => {
    const login = new TargetLogin(env());
    const unknown = Array.from({ length: 300 }, (_, i) => `X-org.example.key${String(i).padStart(4, '0')}=1`);
    const step = login.handle(request({ csg: 1, nsg: 3, text: [...NAMES, 'MaxRecvDataSegmentLength=65536', ...unknown] }));
    expect({ c: step.response.cont, len: step.response.data.length }).toEqual({ c: true, len: 8192 });
  });

  it('text sent while the target continues its response is an initiator error', () => {
    const login = new TargetLogin(env());
    const unknown = Array.from({ length: 40 }, (_, i) => `X-k${i}=1`);
    expectStep(login.handle(toFfp([...NAMES, 'MaxRecvDataSegmentLength=512', ...unknown])), 'continue');
    expectStep(login.handle(toFfp(['MaxBurstLength=512'])), 'fail', 2, 0);
  });
});

describe('malformed text', () => {
  it.each([
    ['a duplicate key', [...NAMES, 'MaxBurstLength=512', 'MaxBurstLength=1024']],
    ['a value over 255 bytes', [...NAMES, `InitiatorAlias=${'a'.repeat(256)}`]],
    ['a key over 63 bytes', [...NAMES, `X-${'k'.repeat(62)}=1`]],
    ['a pair without =', [...NAMES, 'Bogus']],
  ])('%s is an initiator error', (_what, text) => {
    refusedFirst(toFfp(text), LoginStatus.INITIATOR_ERROR);
  });

  it('a last pair without NUL is an initiator error', () => {
    refusedFirst(toFfp([], { data: new TextEncoder().encode(`InitiatorName=${INITIATOR}`) }), LoginStatus.INITIATOR_ERROR);
  });

  it('a 255-byte value is fine', () => {
    expect(new TargetLogin(env()).handle(toFfp([...NAMES, `InitiatorAlias=${'a'.repeat(255)}`])).outcome).toBe('full-feature');
  });
});

describe('discovery and joining sessions', () => {
  it('a discovery session needs no TargetName; data keys are Irrelevant; no TargetPortalGroupTag', () => {
    const step = fullFeature(new TargetLogin(env()).handle(toFfp([`InitiatorName=${INITIATOR}`, 'SessionType=Discovery', 'MaxBurstLength=65536', 'HeaderDigest=CRC32C'])));
    expect(decode(step.response.data)).toEqual(['MaxBurstLength=Irrelevant', 'HeaderDigest=CRC32C', 'MaxRecvDataSegmentLength=262144']);
    expect(step.result).toMatchObject({ sessionType: 'Discovery', targetName: undefined, tsih: 0x0102 });
  });

  it('a discovery session with CHAP', () => {
    const auth: ChapConfig = { initiators: [{ name: 'd', secret: 'discovery-secret' }] };
    const login = new TargetLogin(env(), { discovery: { auth } });
    const names = [`InitiatorName=${INITIATOR}`, 'SessionType=Discovery'];
    expectStep(login.handle(toFfp(names)), 'fail', 2, 1);
    const ok = new TargetLogin(env(), { discovery: { auth } });
    ok.handle(request({ text: [...names, 'AuthMethod=CHAP'] }));
    ok.handle(request({ text: ['CHAP_A=5'] }));
    const r = md5Hex(Uint8Array.of(20), utf8('discovery-secret'), bytes('15 16 17 18 19 1a 1b 1c 1d 1e 1f 20 21 22 23 24'));
    expect(ok.handle(request({ transit: true, nsg: 1, text: ['CHAP_N=d', `CHAP_R=0x${r}`] })).response).toMatchObject({ transit: true, nsg: 1 });
  });

  it('a connection joining a session: LO keys Irrelevant, the session\'s values, its TSIH and command window', () => {
    const parameters = { ...RFC_DEFAULTS, maxBurstLength: 65536, headerDigest: 'CRC32C' as const };
    const e = env({ session: { kind: 'found', parameters, expCmdSN: 500, maxCmdSN: 531 } });
    const step = fullFeature(new TargetLogin(e).handle(toFfp([...NAMES, 'MaxBurstLength=16384', 'HeaderDigest=None'], { tsih: 9, cid: 2 })));
    expect(e.queries).toEqual([{ initiatorName: INITIATOR, targetName: TARGET, sessionType: 'Normal', isid: ISID, tsih: 9, cid: 2 }]);
    expect(decode(step.response.data)).toEqual(['MaxBurstLength=Irrelevant', 'HeaderDigest=None', 'TargetPortalGroupTag=1', 'MaxRecvDataSegmentLength=262144']);
    expect(step.response).toMatchObject({ tsih: 9, expCmdSN: 500, maxCmdSN: 531 });
    expect(step.result).toMatchObject({ leading: false, tsih: 9, cid: 2, parameters: { maxBurstLength: 65536, headerDigest: 'None', targetMaxRecvDataSegmentLength: 262144 } });
  });
});

describe('the target\'s offers in the login', () => {
  it('offers its MaxBurstLength when the initiator asks for full feature without it, then goes on the answer', () => {
    const login = new TargetLogin(env(), { preferences: { ...DEFAULT_TARGET_PREFERENCES, maxBurstLength: 65536, firstBurstLength: 65536 } });
    const r1 = expectStep(login.handle(toFfp([...NAMES, 'InitialR2T=Yes'])), 'continue');
    expect({ transit: r1.transit, data: decode(r1.data) }).toEqual({ transit: false, data: ['InitialR2T=Yes', 'TargetPortalGroupTag=1', 'MaxRecvDataSegmentLength=262144', 'MaxBurstLength=65536'] });
    const step = fullFeature(login.handle(toFfp(['MaxBurstLength=65536'])));
    expect(decode(step.response.data)).toEqual([]);
    expect(step.result.parameters).toMatchObject({ maxBurstLength: 65536, firstBurstLength: 65536 });
  });

  it('an answer below the offered MaxBurstLength leads to a FirstBurstLength offer (§13.14)', () => {
    const login = new TargetLogin(env(), { preferences: { ...DEFAULT_TARGET_PREFERENCES, maxBurstLength: 65536, firstBurstLength: 65536 } });
    login.handle(toFfp(NAMES));
    const r2 = expectStep(login.handle(toFfp(['MaxBurstLength=32768'])), 'continue');
    expect({ transit: r2.transit, data: decode(r2.data) }).toEqual({ transit: false, data: ['FirstBurstLength=32768'] });
    const step = fullFeature(login.handle(toFfp(['FirstBurstLength=16384'])));
    expect(step.result.parameters).toMatchObject({ maxBurstLength: 32768, firstBurstLength: 16384 });
  });

  it('an answer the result function does not allow is an initiator error', () => {
    const login = new TargetLogin(env(), { preferences: { ...DEFAULT_TARGET_PREFERENCES, maxBurstLength: 65536, firstBurstLength: 65536 } });
    login.handle(toFfp(NAMES));
    expectStep(login.handle(toFfp(['MaxBurstLength=262144'])), 'fail', 2, 0);
  });

  it('a digest the target requires and the initiator refuses fails the login', () => {
    const login = new TargetLogin(env(), { preferences: { ...DEFAULT_TARGET_PREFERENCES, headerDigests: ['CRC32C'] } });
    expect(decode(login.handle(toFfp(NAMES)).response.data)).toContain('HeaderDigest=CRC32C');
    const step = login.handle(toFfp(['HeaderDigest=Reject']));
    expectStep(step, 'fail', 2, 0);
    expect(step.outcome === 'fail' && step.reason).toMatch(/unacceptable key=HeaderDigest/);
  });
});
