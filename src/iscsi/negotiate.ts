// Operational parameter negotiation, target side. Spec: RFC 7143 §6.2 (text
// mode negotiation: Reject, Irrelevant, NotUnderstood), §6.2.1 (lists: the
// first value of the offer the acceptor supports; None only if offered),
// §6.2.2 (simple values: boolean AND/OR, numerical minimum/maximum), §6.3 (no
// key negotiated twice in a login), §13 (keys, defaults), §13.14
// (FirstBurstLength ≤ MaxBurstLength), §13.25 (obsolete keys).
//
// The target answers the initiator's offers with its configured preferences
// as "the value it would have selected". Where the current value is not
// acceptable to those preferences (a smaller MaxBurstLength, ImmediateData=No,
// a required digest) and the key has not been negotiated, the target offers
// it itself in the operational stage (the login does so when the initiator
// asks to leave it); the initiator's next request answers. An offer left
// unanswered lapses and the key keeps its value.

import { Answer, lookupKey, type BooleanKey, type KeySpec, type ListKey, type NumericalKey } from './keys.js';
import {
  assertPreferences,
  DEFAULT_TARGET_PREFERENCES,
  PARAMETER_KEYS,
  RFC_DEFAULTS,
  type Digest,
  type OperationalParameters,
  type SessionType,
  type TargetPreferences,
} from './parameters.js';
import { booleanValue, parseBooleanValue, parseNumericalValue, type TextPair } from './text.js';

const MRDSL = 'MaxRecvDataSegmentLength';
const FIRST_BURST = 'FirstBurstLength';

/** Where the negotiation happens: login stage or full feature phase, and for what session. */
export interface NegotiationContext {
  readonly stage: 'security' | 'operational' | 'full-feature';
  readonly sessionType: SessionType;
  /** False for a connection joining an existing session: its LO keys are Irrelevant. */
  readonly leading: boolean;
}

/** A negotiation the target cannot answer key by key; the login rejects it as an initiator error. */
export type NegotiationError =
  /** An operational key in the security stage, or a security key in the operational stage (§6.3, §13 "Use"). */
  | { readonly kind: 'wrong-stage'; readonly key: string }
  /** A key only the target may send (§13 "Senders"). */
  | { readonly kind: 'wrong-sender'; readonly key: string }
  /** A key negotiated or declared before in this login (§6.3). */
  | { readonly kind: 'renegotiation'; readonly key: string }
  /** An answer to the target's offer that the result function does not allow (§6.2.1, §6.2.2). */
  | { readonly kind: 'bad-answer'; readonly key: string; readonly value: string }
  /** §13.14: FirstBurstLength ended above MaxBurstLength (negotiated in separate requests). */
  | { readonly kind: 'burst-lengths'; readonly firstBurstLength: number; readonly maxBurstLength: number }
  /** A result the target's preferences cannot work with (a digest it does not accept). */
  | { readonly kind: 'unacceptable'; readonly key: string; readonly value: string }
  /** A declaration (MaxRecvDataSegmentLength, §13.12) whose value is not a number in the key's range. */
  | { readonly kind: 'bad-declaration'; readonly key: string; readonly value: string; readonly min: number; readonly max: number };

export type NegotiationResult<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: NegotiationError };

/** What one request's pairs produced. */
export interface NegotiationStep {
  /** Answers to the initiator's offers, in request order (FirstBurstLength last, see `receive`). */
  readonly answers: readonly TextPair[];
  /** Keys with `handler: 'caller'` (names, SessionType, AuthMethod and CHAP, SendTargets) for the caller. */
  readonly forCaller: readonly TextPair[];
}

type Value = number | boolean | string;
type Own = number | boolean | readonly string[];
interface Offer {
  readonly value: string;
  /** The result is settled by our value alone (AND with No, OR with Yes, §6.2.2): an answer is optional. */
  readonly settled: boolean;
}

const ok = <T>(value: T): NegotiationResult<T> => ({ ok: true, value });
const fail = <T>(error: NegotiationError): NegotiationResult<T> => ({ ok: false, error });
const pair = (key: string, value: string): TextPair => ({ key, value });

const isNumber = (v: unknown): v is number => typeof v === 'number';
const isBoolean = (v: unknown): v is boolean => typeof v === 'boolean';
const isList = (v: unknown): v is readonly string[] => Array.isArray(v);
const isDigest = (v: unknown): v is Digest => v === 'None' || v === 'CRC32C';
/** A stored value or preference of the type its key has; anything else is a bug in the tables. */
function typed<T>(v: unknown, is: (v: unknown) => v is T, key: string): T {
  if (!is(v)) throw new Error(`${key} has no value of the expected type: ${String(v)}`);
  return v;
}

/** Negotiates one login's (or one full feature Text exchange's) operational keys. */
export class Negotiator {
  readonly #prefs: TargetPreferences;
  readonly #own: ReadonlyMap<string, Own>;
  readonly #values = new Map<string, Value>();
  readonly #seen = new Set<string>();
  #offers = new Map<string, Offer>();
  #targetMrdsl: number;
  #initiatorMrdsl: number;
  #declared = false;

  /** `base`: the starting values (RFC defaults for a new session, `connectionDefaults(...)` to join one, current ones in FFP). */
  constructor(prefs: TargetPreferences = DEFAULT_TARGET_PREFERENCES, base: OperationalParameters = RFC_DEFAULTS) {
    assertPreferences(prefs);
    this.#prefs = prefs;
    this.#own = new Map<string, Own>([
      ['HeaderDigest', prefs.headerDigests],
      ['DataDigest', prefs.dataDigests],
      ['MaxConnections', prefs.maxConnections],
      ['InitialR2T', prefs.initialR2T],
      ['ImmediateData', prefs.immediateData],
      ['MaxBurstLength', prefs.maxBurstLength],
      [FIRST_BURST, prefs.firstBurstLength],
      ['DefaultTime2Wait', prefs.defaultTime2Wait],
      ['DefaultTime2Retain', prefs.defaultTime2Retain],
      ['MaxOutstandingR2T', prefs.maxOutstandingR2T],
      ['DataPDUInOrder', prefs.dataPDUInOrder],
      ['DataSequenceInOrder', prefs.dataSequenceInOrder],
      ['ErrorRecoveryLevel', 0],
      ['TaskReporting', ['RFC3720']],
      ['iSCSIProtocolLevel', prefs.iSCSIProtocolLevel],
    ]);
    for (const [field, key] of PARAMETER_KEYS) this.#values.set(key, base[field]);
    this.#targetMrdsl = base.targetMaxRecvDataSegmentLength;
    this.#initiatorMrdsl = base.initiatorMaxRecvDataSegmentLength;
  }

  /** True while the target's offers wait for the initiator's answers (the login must not leave the stage). */
  get awaitingAnswers(): boolean {
    return [...this.#offers.values()].some((o) => !o.settled);
  }

  /** The initiator's MaxRecvDataSegmentLength as declared so far (bounds login response segments too). */
  get initiatorMaxRecvDataSegmentLength(): number {
    return this.#initiatorMrdsl;
  }

  /**
   * Answers one request's pairs (a whole C-bit sequence). Offers the target
   * made in its previous response are answered here; those left unanswered
   * lapse. FirstBurstLength is taken last because its own value and its
   * relevance depend on MaxBurstLength, InitialR2T and ImmediateData (§13.14),
   * which may come in the same request.
   */
  receive(pairs: readonly TextPair[], ctx: NegotiationContext): NegotiationResult<NegotiationStep> {
    const answering = this.#offers;
    this.#offers = new Map();
    const answers: TextPair[] = [];
    const forCaller: TextPair[] = [];
    const ordered = [...pairs.filter((p) => p.key !== FIRST_BURST), ...pairs.filter((p) => p.key === FIRST_BURST)];
    for (const p of ordered) {
      const spec = lookupKey(p.key);
      const offer = answering.get(p.key);
      if (spec !== undefined && offer !== undefined) {
        const taken = this.#takeAnswer(spec, p.value, offer);
        if (!taken.ok) return taken;
        continue;
      }
      const r = this.#answer(spec, p, ctx);
      if (!r.ok) return r;
      if (r.value === 'caller') forCaller.push(p);
      else if (r.value !== undefined) answers.push(pair(p.key, r.value));
    }
    return ok({ answers, forCaller });
  }

  /** True when the target has something to declare or offer, so a login must pass through the operational stage. */
  needsOperationalStage(ctx: NegotiationContext): boolean {
    return this.#prefs.maxRecvDataSegmentLength !== this.#targetMrdsl || this.#plan(ctx).length > 0;
  }

  /**
   * The target's own keys for its operational-stage response: its
   * MaxRecvDataSegmentLength declaration (once) and offers where the current
   * value is unacceptable to the preferences. Call once per response.
   */
  targetKeys(ctx: NegotiationContext): readonly TextPair[] {
    const out: TextPair[] = [];
    if (ctx.stage !== 'operational') return out;
    if (!this.#declared) {
      this.#declared = true;
      this.#targetMrdsl = this.#prefs.maxRecvDataSegmentLength;
      out.push(pair(MRDSL, String(this.#targetMrdsl)));
    }
    for (const [spec, offer] of this.#plan(ctx)) {
      this.#seen.add(spec.name);
      this.#offers.set(spec.name, offer);
      if (offer.settled) this.#values.set(spec.name, parseBooleanValue(offer.value) ?? offer.value);
      out.push(pair(spec.name, offer.value));
    }
    return out;
  }

  /** The negotiated parameters; an error when the combination is not usable (§13.14, or a digest we refuse). */
  finish(): NegotiationResult<OperationalParameters> {
    const p: OperationalParameters = {
      headerDigest: this.#digest('HeaderDigest'),
      dataDigest: this.#digest('DataDigest'),
      maxConnections: this.#num('MaxConnections'),
      initialR2T: this.#bool('InitialR2T'),
      immediateData: this.#bool('ImmediateData'),
      targetMaxRecvDataSegmentLength: this.#targetMrdsl,
      initiatorMaxRecvDataSegmentLength: this.#initiatorMrdsl,
      maxBurstLength: this.#num('MaxBurstLength'),
      firstBurstLength: this.#num(FIRST_BURST),
      defaultTime2Wait: this.#num('DefaultTime2Wait'),
      defaultTime2Retain: this.#num('DefaultTime2Retain'),
      maxOutstandingR2T: this.#num('MaxOutstandingR2T'),
      dataPDUInOrder: this.#bool('DataPDUInOrder'),
      dataSequenceInOrder: this.#bool('DataSequenceInOrder'),
      errorRecoveryLevel: this.#num('ErrorRecoveryLevel'),
      taskReporting: 'RFC3720',
      iSCSIProtocolLevel: this.#num('iSCSIProtocolLevel'),
    };
    const digests = [['HeaderDigest', p.headerDigest, this.#prefs.headerDigests], ['DataDigest', p.dataDigest, this.#prefs.dataDigests]] as const;
    for (const [key, value, accepted] of digests) {
      if (!accepted.includes(value)) return fail({ kind: 'unacceptable', key, value });
    }
    if (!this.#firstBurstIrrelevant() && p.firstBurstLength > p.maxBurstLength) {
      return fail({ kind: 'burst-lengths', firstBurstLength: p.firstBurstLength, maxBurstLength: p.maxBurstLength });
    }
    return ok(p);
  }

  /** One initiator offer or declaration: the answer value, none (declared), or 'caller'. */
  #answer(spec: KeySpec | undefined, p: TextPair, ctx: NegotiationContext): NegotiationResult<string | undefined> {
    // §6.2, §13.22: unknown keys and X-/X# extensions vtcam does not implement.
    if (spec === undefined) return ok(Answer.NOT_UNDERSTOOD);
    if (spec.senders === 'target') return fail({ kind: 'wrong-sender', key: p.key });
    if (this.#seen.has(spec.name) && spec.redeclare === 'never') return fail({ kind: 'renegotiation', key: p.key });
    if (ctx.stage === 'full-feature') {
      // Login-only keys cannot be negotiated in a Text exchange: their value is not admissible there.
      if (spec.use !== 'ALL' && spec.use !== 'FFPO') return ok(Answer.REJECT);
    } else {
      if (spec.use === 'FFPO') return ok(Answer.REJECT);
      const misplaced = ctx.stage === 'security' ? spec.stage === 'operational' : spec.stage === 'security';
      if (misplaced) return fail({ kind: 'wrong-stage', key: p.key });
    }
    this.#seen.add(spec.name);
    if (spec.handler === 'caller') return ok('caller');
    if (spec.kind === 'obsolete') return ok(Answer.REJECT); // §13.25
    if (this.#irrelevant(spec, ctx)) return ok(Answer.IRRELEVANT);
    switch (spec.kind) {
      case 'declarative': {
        // Refused, not answered Reject: a declaration has no answer (§6.2), and the Login Response that declares the
        // target's own value would carry the key twice (§6.3: no key declared twice in a login), 'Reject' reading as
        // the target's declaration (§13.12: one key, a value per direction). LIO refuses the login too.
        const min = spec.range?.min ?? 0;
        const max = spec.range?.max ?? 0;
        const n = this.#inRange(p.value, min, max);
        if (n === undefined) return fail({ kind: 'bad-declaration', key: p.key, value: p.value, min, max });
        this.#initiatorMrdsl = n;
        return ok(undefined);
      }
      case 'list':
        return ok(this.#list(spec, p.value));
      case 'boolean-and':
      case 'boolean-or':
        return ok(this.#boolean(spec, p.value));
      case 'numerical-min':
      case 'numerical-max':
        return ok(this.#numerical(spec, p.value));
      case 'security':
        return ok(Answer.REJECT);
    }
  }

  /** §6.2.1: the first value of the offer the target accepts, None only if offered; Reject when none is. */
  #list(spec: ListKey, offer: string): string {
    const own = this.#ownList(spec.name);
    const chosen = offer.split(',').find((v) => own.includes(v));
    if (chosen === undefined) return Answer.REJECT;
    this.#values.set(spec.name, chosen);
    return chosen;
  }

  /** §6.2.2: the result of AND / OR of the offer and the target's own value. */
  #boolean(spec: BooleanKey, offer: string): string {
    const theirs = parseBooleanValue(offer);
    if (theirs === undefined) return Answer.REJECT;
    const own = this.#ownBoolean(spec.name);
    const result = spec.kind === 'boolean-and' ? theirs && own : theirs || own;
    this.#values.set(spec.name, result);
    return booleanValue(result);
  }

  /** §6.2.2: min / max of the offer and the target's own value; Reject outside the key's range. */
  #numerical(spec: NumericalKey, offer: string): string {
    const theirs = this.#inRange(offer, spec.min, spec.max);
    if (theirs === undefined) return Answer.REJECT;
    const own = this.#ownNumber(spec.name);
    const result = spec.kind === 'numerical-min' ? Math.min(theirs, own) : Math.max(theirs, own);
    this.#values.set(spec.name, result);
    return String(result);
  }

  /** The initiator's answer to our offer: the reserved constants keep the value; anything else must follow the result function. */
  #takeAnswer(spec: KeySpec, value: string, offer: Offer): NegotiationResult<undefined> {
    if (value === Answer.REJECT || value === Answer.IRRELEVANT || value === Answer.NOT_UNDERSTOOD) return ok(undefined);
    const bad = fail<undefined>({ kind: 'bad-answer', key: spec.name, value });
    switch (spec.kind) {
      case 'list': {
        if (!offer.value.split(',').includes(value)) return bad;
        this.#values.set(spec.name, value);
        return ok(undefined);
      }
      case 'boolean-and':
      case 'boolean-or': {
        const b = parseBooleanValue(value);
        if (b === undefined || (offer.settled && booleanValue(b) !== offer.value)) return bad;
        this.#values.set(spec.name, b);
        return ok(undefined);
      }
      case 'numerical-min':
      case 'numerical-max': {
        const n = this.#inRange(value, spec.min, spec.max);
        const ours = Number(offer.value);
        if (n === undefined || (spec.kind === 'numerical-min' ? n > ours : n < ours)) return bad;
        this.#values.set(spec.name, n);
        return ok(undefined);
      }
      case 'declarative':
      case 'security':
      case 'obsolete':
        return bad;
    }
  }

  /** Offers for keys not negotiated yet whose current value the preferences do not accept. */
  #plan(ctx: NegotiationContext): readonly (readonly [KeySpec, Offer])[] {
    const plan: (readonly [KeySpec, Offer])[] = [];
    let maxBurst = this.#num('MaxBurstLength');
    for (const [, key] of PARAMETER_KEYS) {
      const spec = lookupKey(key);
      if (spec === undefined || this.#seen.has(key) || this.#irrelevant(spec, ctx)) continue;
      const current = this.#values.get(key);
      let offer: Offer | undefined;
      switch (spec.kind) {
        case 'list': {
          const own = this.#ownList(key);
          if (typeof current === 'string' && !own.includes(current)) offer = { value: own.join(','), settled: false };
          break;
        }
        case 'boolean-and':
          if (current === true && !this.#ownBoolean(key)) offer = { value: 'No', settled: true };
          break;
        case 'boolean-or':
          if (current === false && this.#ownBoolean(key)) offer = { value: 'Yes', settled: true };
          break;
        case 'numerical-min':
        case 'numerical-max': {
          // FirstBurstLength is offered no higher than the MaxBurstLength in force or offered (§13.14).
          const own = key === FIRST_BURST ? Math.min(this.#ownNumber(key), maxBurst) : this.#ownNumber(key);
          if (typeof current === 'number' && (spec.kind === 'numerical-min' ? own < current : own > current)) {
            offer = { value: String(own), settled: false };
            if (key === 'MaxBurstLength') maxBurst = own;
          }
          break;
        }
        case 'declarative':
        case 'security':
        case 'obsolete':
          break;
      }
      if (offer !== undefined) plan.push([spec, offer]);
    }
    return plan;
  }

  /** §13 "Irrelevant when" and LO keys on a connection that is not the leading one. */
  #irrelevant(spec: KeySpec, ctx: NegotiationContext): boolean {
    if (spec.use === 'LO' && !ctx.leading) return true;
    if (spec.irrelevantInDiscovery && ctx.sessionType === 'Discovery') return true;
    return spec.name === FIRST_BURST && this.#firstBurstIrrelevant();
  }

  /** §13.14: "Irrelevant when: ( InitialR2T=Yes and ImmediateData=No )". */
  #firstBurstIrrelevant(): boolean {
    return this.#bool('InitialR2T') && !this.#bool('ImmediateData');
  }

  #inRange(value: string, min: number, max: number): number | undefined {
    const n = parseNumericalValue(value);
    return n !== undefined && n >= BigInt(min) && n <= BigInt(max) ? Number(n) : undefined;
  }

  #ownNumber(key: string): number {
    const own = typed(this.#own.get(key), isNumber, key);
    // FirstBurstLength's own value follows MaxBurstLength as negotiated so far (§13.14).
    return key === FIRST_BURST ? Math.min(own, this.#num('MaxBurstLength')) : own;
  }

  #ownBoolean = (key: string): boolean => typed(this.#own.get(key), isBoolean, key);
  #ownList = (key: string): readonly string[] => typed(this.#own.get(key), isList, key);
  #num = (key: string): number => typed(this.#values.get(key), isNumber, key);
  #bool = (key: string): boolean => typed(this.#values.get(key), isBoolean, key);
  #digest = (key: string): Digest => typed(this.#values.get(key), isDigest, key);
}
