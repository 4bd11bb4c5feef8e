// Text Request / Text Response in full feature phase (RFC 7143 §11.10,
// §11.11): what the target answers, and an answer longer than the
// initiator's MaxRecvDataSegmentLength sent in parts — each with C=1 and a
// Target Transfer Tag, the initiator asking for the next with an empty Text
// Request that quotes it (§11.10.4).
//
// The only key answered in full feature phase is SendTargets (§13.3,
// Appendix C); every other key is NotUnderstood, as this target negotiates
// nothing after login (§6.2).

import { RejectReason, RESERVED_TAG, type TextRequestPdu } from './pdu-types.js';
import { encodeText, parseText, type TextPair } from './text.js';
import { valueLimit } from './keys.js';

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

/** The Text exchanges of one connection. */
export class TextExchange {
  readonly #sendTargets: () => Uint8Array | undefined;
  /** The rest of an answer sent in parts, until the initiator asks for it. */
  #pending: { readonly itt: number; readonly ttt: number; readonly rest: Uint8Array } | undefined;

  /** `sendTargets` gives the SendTargets answer (undefined where the session may not ask). */
  constructor(sendTargets: () => Uint8Array | undefined) {
    this.#sendTargets = sendTargets;
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
    for (const { key } of parsed.value) {
      const answer = key === 'SendTargets' ? this.#sendTargets() : undefined;
      if (answer !== undefined) targets = answer;
      else rest.push({ key, value: 'NotUnderstood' });
    }
    const tail = encodeText(rest);
    if (targets === undefined) return tail;
    const all = new Uint8Array(targets.length + tail.length);
    all.set(targets);
    all.set(tail, targets.length);
    return all;
  }
}
