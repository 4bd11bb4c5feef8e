// Text Request / Text Response in full feature phase (RFC 7143 §11.10,
// §11.11): what the target answers, and an answer longer than the
// initiator's MaxRecvDataSegmentLength sent in parts — each with C=1 and a
// Target Transfer Tag, the initiator asking for the next with an empty Text
// Request that quotes it (§11.10.4).
//
// In full feature phase (§6.2, §13): SendTargets is answered (§13.3,
// Appendix C); the initiator may declare InitiatorAlias and a new
// MaxRecvDataSegmentLength (§13.12: it applies to what the target sends from
// then on); keys of the login phase, and keys only the target sends, are
// answered Reject; unknown and extension keys NotUnderstood.

import { RejectReason, RESERVED_TAG, type TextRequestPdu } from './pdu-types.js';
import { encodeText, parseNumericalValue, parseText, type TextPair } from './text.js';
import { Answer, lookupKey, valueLimit } from './keys.js';
import { MaxRecvDataSegmentLength } from './framing.js';

/** One Text Response's worth: its data, whether it is the last part, and the TTT to continue with. */
export interface TextPart {
  readonly data: Uint8Array;
  readonly final: boolean;
  readonly ttt: number;
}

let textTag = 0;
/** Target Transfer Tags for continuation: non-zero, never the reserved value. */
function nextTextTag(): number {
  textTag = textTag >= 0x7fff_fffe ? 1 : textTag + 1;
  return textTag;
}

/** What a connection does with keys the initiator declares in full feature phase. */
export interface TextHost {
  /** The SendTargets answer (undefined where the session may not ask). */
  sendTargets(): Uint8Array | undefined;
  /** The initiator declared a new MaxRecvDataSegmentLength. */
  declareMaxRecvDataSegmentLength(n: number): void;
}

export class TextExchange {
  readonly #host: TextHost;
  /** The rest of an answer sent in parts, until the initiator asks for it. */
  #pending: { readonly itt: number; readonly ttt: number; readonly rest: Uint8Array } | undefined;

  constructor(host: TextHost) {
    this.#host = host;
  }

  /**
   * The next Text Response for a request, at most `maxSegment` bytes of data; or the Reject reason for a
   * request that continues no answer of ours (09h) or carries text that is not key=value pairs (04h).
   */
  answer(req: TextRequestPdu, maxSegment: number): TextPart | RejectReason {
    let data: Uint8Array;
    if (req.ttt !== RESERVED_TAG) {
      const pending = this.#pending;
      if (pending?.ttt !== req.ttt || pending.itt !== req.itt) return RejectReason.INVALID_PDU_FIELD;
      data = pending.rest;
    } else {
      const text = this.#answer(req.data);
      if (text === undefined) return RejectReason.PROTOCOL_ERROR;
      data = text;
    }
    const more = data.length > maxSegment;
    const ttt = more ? nextTextTag() : RESERVED_TAG;
    this.#pending = more ? { itt: req.itt, ttt, rest: data.subarray(maxSegment) } : undefined;
    return { data: more ? data.subarray(0, maxSegment) : data, final: !more, ttt };
  }

  #answer(data: Uint8Array): Uint8Array | undefined {
    const parsed = parseText(data, valueLimit);
    if (!parsed.ok) return undefined;
    let targets: Uint8Array | undefined;
    const rest: TextPair[] = [];
    for (const { key, value } of parsed.value) {
      if (key === 'SendTargets') {
        targets = this.#host.sendTargets();
        if (targets === undefined) rest.push({ key, value: Answer.IRRELEVANT });
        continue;
      }
      const answer = this.#declare(key, value);
      if (answer !== undefined) rest.push({ key, value: answer });
    }
    const tail = encodeText(rest);
    if (targets === undefined) return tail;
    const all = new Uint8Array(targets.length + tail.length);
    all.set(targets);
    all.set(tail, targets.length);
    return all;
  }

  /** The answer to one key other than SendTargets, or undefined for an accepted declaration (no answer, §6.2). */
  #declare(key: string, value: string): string | undefined {
    const spec = lookupKey(key);
    if (spec === undefined) return Answer.NOT_UNDERSTOOD;
    if (spec.use === 'LO' || spec.use === 'IO' || spec.senders === 'target') return Answer.REJECT;
    if (key === 'MaxRecvDataSegmentLength') {
      const n = parseNumericalValue(value);
      if (n === undefined || n < BigInt(MaxRecvDataSegmentLength.MIN) || n > BigInt(MaxRecvDataSegmentLength.MAX)) return Answer.REJECT;
      this.#host.declareMaxRecvDataSegmentLength(Number(n));
    }
    return undefined;
  }
}
