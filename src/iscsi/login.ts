// One connection's login phase, target side: Login Request values in, Login
// Response values out. Spec: RFC 7143 §6.3 (stages, transitions, no
// renegotiation), §11.12 / §11.13 (Login Request / Response fields: T, C, CSG,
// NSG, versions, ISID, TSIH, CID, ITT, StatSN §11.13.4), §11.13.5 (status), §12.1
// (AuthMethod, CHAP), §13 (keys; TargetPortalGroupTag §13.9, TargetAlias §13.6).
//
// Stages: 0 security → 1 operational → 3 full feature, each step taken only
// when the request and the response both have T=1 (§6.3). Security is skipped
// when the initiator starts in stage 1 and the target needs no
// authentication. Text is joined across C=1 requests (each acknowledged by an
// empty response) and a long answer is split across C=1 responses, the
// initiator fetching each part with an empty request (§6.2, §11.12.2).
//
// The session layer decides what this module cannot (login-types.ts): which
// targets exist, TSIH allocation, whether a connection may join a session.
// Its exceptions become "target error" (03h/00h). What a refusal carries, and
// the statuses its cause alone decides, are login-refusal.ts's.

import { ChapAuthenticator, CHAP_KEYS, type ChapConfig } from './chap.js';
import { checkIscsiName, foldIscsiName } from './iscsi-name.js';
import { valueLimit } from './keys.js';
import { logText } from './log-text.js';
import { authFailure, callEnvironment, describe, initiatorError, Refusal, textRefusal } from './login-refusal.js';
import { LoginStatus, type LoginStatusCode } from './login-status.js';
import type { LoginEnvironment, LoginOptions, LoginResult, LoginStep, SessionQuery, TargetNode } from './login-types.js';
import { Negotiator, type NegotiationContext } from './negotiate.js';
import { connectionDefaults, DEFAULT_MAX_RECV_DATA_SEGMENT_LENGTH, type SessionType } from './parameters.js';
import { RESERVED_TAG, type LoginRequestPdu, type LoginResponseFields } from './pdu-types.js';
import { encodeText, parseText, splitText, TextAccumulator, type TextPair } from './text.js';

/** RFC 7143 §11.12: CSG / NSG values (2 is reserved). */
export const LoginStage = { SECURITY: 0, OPERATIONAL: 1, FULL_FEATURE: 3 } as const;
export type LoginStage = (typeof LoginStage)[keyof typeof LoginStage];

/** RFC 7143 §11.12: the one protocol version there is (Version-max / Version-min 00h). */
export const ISCSI_VERSION = 0x00;
const IDENTITY_KEYS = new Set(['InitiatorName', 'TargetName', 'SessionType', 'InitiatorAlias']);

interface Identity {
  readonly initiatorName: string;
  initiatorAlias: string | undefined;
  readonly sessionType: SessionType;
  /** The TargetName as declared (also for discovery, where it selects nothing). */
  readonly declaredTargetName: string | undefined;
  readonly target: TargetNode | undefined;
  readonly auth: ChapConfig | undefined;
}

/** The first request's fields every later one must repeat (§11.12: one login, one ISID/TSIH/CID/ITT). */
interface Fixed {
  readonly isid: bigint;
  readonly tsih: number;
  readonly cid: number;
  readonly itt: number;
  readonly versionMax: number;
  readonly versionMin: number;
}
const FIXED_FIELDS = ['isid', 'tsih', 'cid', 'itt', 'versionMax', 'versionMin'] as const;

/** How the last part of a response ends: the transition it takes, and the result when that is full feature. */
interface Final {
  readonly transit: boolean;
  readonly nsg: number;
  readonly tsih: number;
  readonly result: LoginResult | undefined;
}

const u32 = (n: number): number => n >>> 0;

/** The login state machine of one connection. Feed it every Login Request until 'full-feature' or 'fail'. */
export class TargetLogin {
  readonly #env: LoginEnvironment;
  readonly #options: LoginOptions;
  readonly #text: TextAccumulator;
  #negotiator: Negotiator;
  #stage: number = LoginStage.SECURITY;
  #over = false;
  #fixed: Fixed | undefined;
  #statSN = 0;
  #expCmdSN = 0;
  #maxCmdSN = 0;
  #identity: Identity | undefined;
  #chap: ChapAuthenticator | undefined;
  #authMethod: 'None' | 'CHAP' | undefined;
  #chapName: string | undefined;
  #outgoing: Uint8Array[] = [];
  #final: Final | undefined;

  constructor(env: LoginEnvironment, options: LoginOptions = {}) {
    const window = options.commandWindow ?? 1;
    if (!Number.isInteger(window) || window < 1) throw new RangeError(`commandWindow must be a positive integer, got ${window}`);
    this.#env = env;
    this.#options = options;
    this.#text = new TextAccumulator(options.textLimit);
    this.#negotiator = new Negotiator(options.preferences);
  }

  /** Answers one Login Request. Throws if the login already ended (a caller bug). */
  handle(req: LoginRequestPdu): LoginStep {
    if (this.#over) throw new Error('login already ended; the connection is in full feature phase or closing');
    const step = this.#handle(req);
    return step instanceof Refusal ? this.#refuse(step, req.itt) : step;
  }

  /** RFC 7143 §11.13.5 02h/0Bh: a PDU other than a Login Request arrived during login. */
  invalidDuringLogin(): LoginStep {
    if (this.#over) throw new Error('login already ended');
    return this.#refuse(new Refusal(LoginStatus.INVALID_DURING_LOGIN, 'non-login PDU during login'), this.#fixed?.itt ?? RESERVED_TAG);
  }

  /**
   * 02h/00h: a PDU whose data segment is longer than the 8192 bytes a login may carry (§13.12: the default
   * MaxRecvDataSegmentLength holds until full feature phase). Its ITT is `itt`, from the header.
   */
  segmentTooLong(itt: number): LoginStep {
    if (this.#over) throw new Error('login already ended');
    return this.#refuse(new Refusal(LoginStatus.INITIATOR_ERROR, 'data segment longer than 8192 bytes during login'), itt);
  }

  #handle(req: LoginRequestPdu): LoginStep | Refusal {
    const header = this.#checkHeader(req);
    if (header !== undefined) return header;
    if (this.#outgoing.length > 0) {
      // §11.13: the initiator fetches the rest of a C=1 response with empty requests.
      if (req.data.length > 0 || req.cont) return initiatorError('text sent while a response was being continued');
      return this.#emit(req.itt);
    }
    const joined = this.#text.push(req.data, req.cont);
    if (!joined.ok) return textRefusal(joined.error);
    if (joined.value === undefined) return this.#emitWhole(req.itt, [], { transit: false, nsg: 0, tsih: req.tsih, result: undefined });
    const parsed = parseText(joined.value, valueLimit);
    if (!parsed.ok) return textRefusal(parsed.error);
    const firstTime = this.#identity === undefined;
    const identity = this.#identity ?? this.#identify(parsed.value, req);
    if (identity instanceof Refusal) return identity;
    this.#identity = identity;
    const step = this.#negotiator.receive(parsed.value, this.#context(this.#stage));
    if (!step.ok) return initiatorError(describe(step.error));
    const out = [...step.value.answers];
    const chapKeys = new Map<string, string>();
    let authChosenNow = false;
    for (const p of step.value.forCaller) {
      if (CHAP_KEYS.includes(p.key)) {
        chapKeys.set(p.key, p.value);
      } else if (p.key === 'AuthMethod') {
        const method = this.#chooseAuth(identity, p.value);
        if (method instanceof Refusal) return method;
        out.push({ key: p.key, value: method });
        authChosenNow = true;
      } else if (IDENTITY_KEYS.has(p.key) && !firstTime) {
        const r = this.#redeclare(identity, p);
        if (r !== undefined) return r;
      }
    }
    const chap = this.#authenticate(chapKeys, authChosenNow);
    if (chap instanceof Refusal) return chap;
    out.push(...chap);
    if (firstTime && identity.target !== undefined) {
      if (identity.target.alias !== undefined) out.push({ key: 'TargetAlias', value: identity.target.alias });
      out.push({ key: 'TargetPortalGroupTag', value: String(identity.target.portalGroupTag) });
    }
    // The target declares and offers once the initiator has offered all it will (T=1), so offers never cross its own.
    if (this.#stage === LoginStage.OPERATIONAL && req.transit) out.push(...this.#negotiator.targetKeys(this.#context(LoginStage.OPERATIONAL)));
    const final = this.#transition(req, identity);
    return final instanceof Refusal ? final : this.#emitWhole(req.itt, out, final);
  }

  /** §11.12: versions, stages, and the fields that must not change within one login. */
  #checkHeader(req: LoginRequestPdu): Refusal | undefined {
    const fixed = this.#fixed;
    if (fixed === undefined) {
      this.#statSN = new DataView(this.#env.randomBytes(4).slice().buffer).getUint32(0);
      this.#fixed = { isid: req.isid, tsih: req.tsih, cid: req.cid, itt: req.itt, versionMax: req.versionMax, versionMin: req.versionMin };
      // The login is immediate: its CmdSN is the session's first and is not consumed (§11.12).
      this.#expCmdSN = u32(req.cmdSN);
      this.#maxCmdSN = u32(req.cmdSN + (this.#options.commandWindow ?? 1) - 1);
      // §6.3: the first request starts in the security or the operational stage.
      if (req.csg !== LoginStage.SECURITY && req.csg !== LoginStage.OPERATIONAL) return initiatorError(`first CSG ${req.csg}`);
      this.#stage = req.csg;
      // §11.12: Version-min ≤ 0 ≤ Version-max, else "unsupported version".
      if (req.versionMin > ISCSI_VERSION || req.versionMax < ISCSI_VERSION) return new Refusal(LoginStatus.UNSUPPORTED_VERSION, `versions ${req.versionMin}..${req.versionMax}`);
    } else {
      const changed = FIXED_FIELDS.find((f) => req[f] !== fixed[f]);
      if (changed !== undefined) return initiatorError(`${changed} changed during login`);
    }
    if (req.csg !== this.#stage) return initiatorError(`CSG ${req.csg} in stage ${this.#stage}`);
    // §11.12: T and C are never both set.
    if (req.transit && req.cont) return initiatorError('T and C both set');
    const forward = req.nsg === LoginStage.FULL_FEATURE || (req.nsg === LoginStage.OPERATIONAL && req.csg === LoginStage.SECURITY);
    if (req.transit && !forward) return initiatorError(`transit from stage ${req.csg} to ${req.nsg}`);
    return undefined;
  }

  /** The first complete request: who logs in to what (§13.4, §13.5, §13.21), and whether it may. */
  #identify(pairs: readonly TextPair[], req: LoginRequestPdu): Identity | Refusal {
    const get = (key: string): string | undefined => pairs.find((p) => p.key === key)?.value;
    const declared = get('InitiatorName');
    if (declared === undefined) return new Refusal(LoginStatus.MISSING_PARAMETER, 'no InitiatorName');
    // §4.2.7: names the initiator port (with the ISID) in logs and TransportIDs; only a name, in lower case.
    const initiatorName = foldIscsiName(declared);
    const notAName = checkIscsiName(initiatorName);
    if (notAName !== undefined) return initiatorError(`InitiatorName ${JSON.stringify(declared)} ${notAName}`);
    const sessionType = get('SessionType') ?? 'Normal';
    if (sessionType !== 'Normal' && sessionType !== 'Discovery') return new Refusal(LoginStatus.SESSION_TYPE_NOT_SUPPORTED, `SessionType=${sessionType}`);
    const discovery = this.#options.discovery ?? {};
    const declaredTargetName = get('TargetName');
    let target: TargetNode | undefined;
    let auth: ChapConfig | undefined;
    if (sessionType === 'Discovery') {
      if (discovery === 'disabled') return new Refusal(LoginStatus.SESSION_TYPE_NOT_SUPPORTED, 'discovery disabled');
      auth = discovery.auth;
    } else {
      if (declaredTargetName === undefined) return new Refusal(LoginStatus.MISSING_PARAMETER, 'no TargetName');
      const found = this.#findTarget(declaredTargetName, initiatorName);
      if (found instanceof Refusal) return found;
      target = found;
      auth = found.auth;
    }
    // §6.3: authentication happens in the security stage; starting past it is a refusal to authenticate.
    if (auth !== undefined && req.csg !== LoginStage.SECURITY) return authFailure('authentication required');
    if (req.tsih !== 0) {
      const joined = this.#join({ initiatorName, targetName: target?.name, sessionType, isid: req.isid, tsih: req.tsih, cid: req.cid });
      if (joined !== undefined) return joined;
    }
    return { initiatorName, initiatorAlias: get('InitiatorAlias'), sessionType, declaredTargetName, target, auth };
  }

  #findTarget(name: string, initiatorName: string): TargetNode | Refusal {
    const found = callEnvironment(() => this.#env.findTarget(name));
    if (found instanceof Refusal) return found;
    if (found === undefined) return new Refusal(LoginStatus.NOT_FOUND, `no target ${name}`);
    switch (found.kind) {
      case 'moved': {
        const status = found.permanent ? LoginStatus.TARGET_MOVED_PERMANENTLY : LoginStatus.TARGET_MOVED_TEMPORARILY;
        return new Refusal(status, `${name} moved to ${found.address}`, [{ key: 'TargetAddress', value: found.address }]);
      }
      case 'removed':
        return new Refusal(LoginStatus.TARGET_REMOVED, `${name} removed`);
      case 'unavailable':
        return new Refusal(LoginStatus.SERVICE_UNAVAILABLE, `${name} unavailable`);
      case 'found':
        if (found.target.initiators !== undefined && !found.target.initiators.includes(initiatorName)) {
          return new Refusal(LoginStatus.AUTHORIZATION_FAILURE, `${initiatorName} may not access ${name}`);
        }
        return found.target;
    }
  }

  /** A connection joining session TSIH (§6.3): the session layer says whether it may, and gives its parameters. */
  #join(query: SessionQuery): Refusal | undefined {
    const s = callEnvironment(() => this.#env.lookupSession(query));
    if (s instanceof Refusal) return s;
    switch (s.kind) {
      case 'not-found':
        return new Refusal(LoginStatus.SESSION_DOES_NOT_EXIST, `no session with TSIH ${query.tsih}`);
      case 'reinstates-connection':
        return new Refusal(LoginStatus.SESSION_DOES_NOT_EXIST, `TSIH ${query.tsih} CID ${query.cid}: connection reinstatement is not supported; log in with TSIH 0 to reinstate the session`);
      case 'too-many-connections':
        return new Refusal(LoginStatus.TOO_MANY_CONNECTIONS, `session ${query.tsih} is full`);
      case 'cannot-include':
        return new Refusal(LoginStatus.CANT_INCLUDE_IN_SESSION, `session ${query.tsih} cannot take this connection`);
      case 'found':
        this.#negotiator = new Negotiator(this.#options.preferences, connectionDefaults(s.parameters));
        this.#expCmdSN = u32(s.expCmdSN);
        this.#maxCmdSN = u32(s.maxCmdSN);
        return undefined;
    }
  }

  /** Identity keys after the first request: the same value is tolerated (libiscsi repeats them per stage), a change is not (§6.3). */
  #redeclare(identity: Identity, p: TextPair): Refusal | undefined {
    const before =
      p.key === 'InitiatorName' ? identity.initiatorName : p.key === 'SessionType' ? identity.sessionType : p.key === 'TargetName' ? identity.declaredTargetName : identity.initiatorAlias;
    const value = p.key === 'InitiatorName' ? foldIscsiName(p.value) : p.value;
    if (p.key === 'InitiatorAlias' && before === undefined) identity.initiatorAlias = p.value;
    else if (before !== value) return initiatorError(`${p.key} redeclared as ${p.value}`);
    return undefined;
  }

  /** §12.1 list negotiation of AuthMethod: CHAP when the target requires it, None otherwise. */
  #chooseAuth(identity: Identity, offer: string): 'None' | 'CHAP' | Refusal {
    const wanted = identity.auth === undefined ? 'None' : 'CHAP';
    if (!offer.split(',').includes(wanted)) return authFailure(`AuthMethod=${offer}, target needs ${wanted}`);
    this.#authMethod = wanted;
    if (identity.auth !== undefined) this.#chap = new ChapAuthenticator(identity.auth, (n) => this.#env.randomBytes(n));
    return wanted;
  }

  /** One CHAP step (§12.1.3). After AuthMethod=CHAP every request must carry the next step's keys. */
  #authenticate(keys: ReadonlyMap<string, string>, authChosenNow: boolean): readonly TextPair[] | Refusal {
    const chap = this.#chap;
    if (chap === undefined || this.#chapName !== undefined) return keys.size === 0 ? [] : authFailure('CHAP keys out of sequence');
    if (keys.size === 0 && authChosenNow) return [];
    const step = chap.receive(keys);
    if (step.kind === 'failed') return authFailure(`CHAP ${step.failure}`);
    if (step.kind === 'authenticated') this.#chapName = step.name;
    return step.answers;
  }

  /** Whether this response takes the transition the request asked for, and where to. */
  #transition(req: LoginRequestPdu, identity: Identity): Final | Refusal {
    const stay: Final = { transit: false, nsg: 0, tsih: req.tsih, result: undefined };
    if (!req.transit) return stay;
    let nsg: number = LoginStage.FULL_FEATURE;
    if (this.#stage === LoginStage.SECURITY) {
      if (identity.auth !== undefined && this.#authMethod === undefined) return authFailure('leaving security without AuthMethod');
      if (identity.auth !== undefined && this.#chapName === undefined) return stay;
      // §6.3: the target may stop in the operational stage when it has keys to declare or offer.
      if (req.nsg === LoginStage.OPERATIONAL || this.#negotiator.needsOperationalStage(this.#context(LoginStage.OPERATIONAL))) nsg = LoginStage.OPERATIONAL;
    } else if (this.#negotiator.awaitingAnswers) {
      return stay;
    }
    if (nsg !== LoginStage.FULL_FEATURE) return { transit: true, nsg, tsih: req.tsih, result: undefined };
    const params = this.#negotiator.finish();
    if (!params.ok) return initiatorError(describe(params.error));
    const tsih = req.tsih !== 0 ? req.tsih : callEnvironment(() => this.#env.newTsih());
    if (tsih instanceof Refusal) return tsih;
    if (tsih === undefined) return new Refusal(LoginStatus.OUT_OF_RESOURCES, 'no TSIH left');
    const { sessionType, initiatorName, initiatorAlias } = identity;
    const result: LoginResult = {
      sessionType, initiatorName, initiatorAlias, targetName: identity.target?.name, isid: req.isid, tsih, cid: req.cid, leading: req.tsih === 0,
      chapName: this.#chapName, parameters: params.value, nextStatSN: 0, expCmdSN: this.#expCmdSN, maxCmdSN: this.#maxCmdSN,
    };
    return { transit: true, nsg, tsih, result };
  }

  #context(stage: number): NegotiationContext {
    return {
      stage: stage === LoginStage.SECURITY ? 'security' : 'operational',
      sessionType: this.#identity?.sessionType ?? 'Normal',
      leading: this.#fixed?.tsih === 0,
    };
  }

  /** Encodes the answer and sends it whole or, past the initiator's limit, in C=1 parts. */
  #emitWhole(itt: number, pairs: readonly TextPair[], final: Final): LoginStep {
    // During login the 8192-byte default bounds a data segment, or less if the initiator declared less (§13.12).
    const segment = Math.min(DEFAULT_MAX_RECV_DATA_SEGMENT_LENGTH, this.#negotiator.initiatorMaxRecvDataSegmentLength);
    this.#outgoing = [...splitText(encodeText(pairs), segment)];
    this.#final = final;
    return this.#emit(itt);
  }

  /** The next part of the response; the last one carries the transition (§11.13: C=1 means T=0). */
  #emit(itt: number): LoginStep {
    const data = this.#outgoing.shift() ?? new Uint8Array(0);
    const final = this.#final;
    if (final === undefined) throw new Error('no response in progress');
    if (this.#outgoing.length > 0) {
      return { outcome: 'continue', response: this.#response(itt, LoginStatus.SUCCESS, { transit: false, cont: true, nsg: 0, tsih: this.#fixed?.tsih ?? 0, data }) };
    }
    const response = this.#response(itt, LoginStatus.SUCCESS, { transit: final.transit, cont: false, nsg: final.nsg, tsih: final.tsih, data });
    this.#final = undefined;
    if (final.transit) this.#stage = final.nsg;
    if (final.result === undefined) return { outcome: 'continue', response };
    this.#over = true;
    return { outcome: 'full-feature', response, result: { ...final.result, nextStatSN: u32(response.statSN + 1) } };
  }

  #refuse(refusal: Refusal, itt: number): LoginStep {
    this.#over = true;
    const data = encodeText(refusal.data);
    const response = this.#response(itt, refusal.status, { transit: false, cont: false, nsg: 0, tsih: this.#fixed?.tsih ?? 0, data });
    // Reasons quote what the initiator sent (names, keys, values): escaped, it cannot forge log lines.
    return { outcome: 'fail', response, reason: `${refusal.status.description}: ${logText(refusal.reason)}` };
  }

  #response(itt: number, status: LoginStatusCode, f: { transit: boolean; cont: boolean; nsg: number; tsih: number; data: Uint8Array }): LoginResponseFields {
    // §11.13.4: each response, the first included, takes the next StatSN.
    const statSN = this.#statSN;
    this.#statSN = u32(statSN + 1);
    const { transit, cont, nsg, tsih, data } = f;
    const { statusClass, statusDetail } = status;
    const isid = this.#fixed?.isid ?? 0n;
    const common = { csg: this.#stage, versionMax: ISCSI_VERSION, versionActive: ISCSI_VERSION, expCmdSN: this.#expCmdSN, maxCmdSN: this.#maxCmdSN };
    return { ...common, transit, cont, nsg, isid, tsih, itt, statSN, statusClass, statusDetail, data };
  }
}
