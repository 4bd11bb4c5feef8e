// Text Request / Text Response in full feature phase (RFC 7143 §11.10,
// §11.11): what the target answers, and the exchange that carries it when
// either side's text does not fit one PDU. Both directions go by the Target
// Transfer Tag of the target's last response, which the initiator quotes to
// go on (§11.10.4); a request with TTT 0xffffffff starts afresh.
// - The initiator's text continued with the C bit (§11.10.2, §6.2): each
//   C=1 part is answered with an empty response (F=0, C=0, a TTT), and the
//   joined text is answered once the part with C=0 arrives. A pair may be
//   cut anywhere, so nothing is parsed before then.
// - An answer longer than the initiator's MaxRecvDataSegmentLength is sent
//   in parts, each with C=1, the initiator asking for the next with an empty
//   request (§11.11.2, §6.2).
// A response is final (F=1, TTT 0xffffffff) only when it ends the answer to
// a request with F=1 (§11.11.1); otherwise the exchange stays open. An open
// exchange holds up to 64 KiB of text, and an initiator need never go on with
// it: "a target MAY reset its internal negotiation state if an exchange is
// stalled by the initiator for a long time" (§11.11.4). One that goes a
// timeout without its next request is dropped, as a new request would drop
// it; a part quoting its TTT later is Reject 09h, as any TTT we did not give.
//
// In full feature phase (§6.2, §13): SendTargets is answered (§13.3,
// Appendix C); the initiator may declare InitiatorAlias and a new
// MaxRecvDataSegmentLength (§13.12: it applies to what the target sends from
// then on); keys of the login phase, and keys only the target sends, are
// answered Reject; unknown and extension keys NotUnderstood.

import { RejectReason, RESERVED_TAG, type TextRequestPdu } from './pdu-types.js';
import { encodeText, parseNumericalValue, parseText, TextAccumulator, type TextPair } from './text.js';
import { Answer, lookupKey, valueLimit } from './keys.js';
import { MaxRecvDataSegmentLength } from './framing.js';

/** One Text Response's worth: its data, its F and C bits, and the TTT to continue with (0xffffffff when final). */
export interface TextPart {
  readonly data: Uint8Array;
  readonly final: boolean;
  readonly cont: boolean;
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
  /** The answer to SendTargets=`value` (undefined where the session may not ask). */
  sendTargets(value: string): Uint8Array | undefined;
  /** The initiator declared a new MaxRecvDataSegmentLength. */
  declareMaxRecvDataSegmentLength(n: number): void;
  /** The exchange of Initiator Task Tag `itt` went the whole timeout without its next request, and was dropped. */
  stalled(itt: number): void;
}

/**
 * The exchange left open by the target's last response, named by its ITT and the TTT the initiator's next
 * request must quote: the rest of an answer still to send, or more text to receive (after a C=1 part, or
 * after an answer to a request with F=0). One at a time: a request with TTT 0xffffffff drops it (§11.10.4).
 */
type OpenExchange =
  | { readonly kind: 'sending'; readonly itt: number; readonly ttt: number; readonly rest: Uint8Array }
  | { readonly kind: 'receiving'; readonly itt: number; readonly ttt: number };

/** One connection's Text Requests in full feature phase, answered part by part (connection.ts, through control-pdus.ts). */
export class TextExchange {
  readonly #host: TextHost;
  #open: OpenExchange | undefined;
  /**
   * The text of the request being received, joined across C=1 parts. Its cap (DEFAULT_TEXT_LIMIT, 64 KiB,
   * as at login) is the most RFC 7143 §6.1 ever asks a party to receive in one negotiation sequence. Past
   * it the target has no resources to go on and rejects the request (§11.11.4) with 0Ah, "Long op reject -
   * can't generate Target Transfer Tag - out of resources" (§11.17.1); the exchange is dropped.
   */
  readonly #text = new TextAccumulator();
  readonly #stallMs: number;
  /** Drops the open exchange once it has waited #stallMs for its next request; undefined while none is open. */
  #stallTimer: NodeJS.Timeout | undefined;

  /** `stallMs`: how long an open exchange may wait for the initiator's next request before it is dropped. */
  constructor(host: TextHost, stallMs: number) {
    this.#host = host;
    this.#stallMs = stallMs;
  }

  /**
   * The next Text Response for a request, at most `maxSegment` bytes of data; or the Reject reason for a
   * request that quotes a TTT we did not give it (09h, §11.11.4), sends text while fetching an answer or
   * text that is not key=value pairs (04h), or more text than the target holds (0Ah).
   */
  answer(req: TextRequestPdu, maxSegment: number): TextPart | RejectReason {
    const before = this.#open;
    const answer = this.#step(req, maxSegment);
    // Every step that goes on makes a new OpenExchange (a new TTT): only those start the wait afresh, a part
    // Rejected for its TTT does not.
    if (this.#open !== before) {
      clearTimeout(this.#stallTimer);
      this.#stallTimer = this.#open === undefined ? undefined : setTimeout(this.#stalled, this.#stallMs).unref();
    }
    return answer;
  }

  /** The connection ended: the open exchange, if any, is dropped with no more waiting. */
  close(): void {
    clearTimeout(this.#stallTimer);
    this.#stallTimer = undefined;
    this.#open = undefined;
    this.#text.reset();
  }

  readonly #stalled = (): void => {
    const itt = this.#open?.itt;
    this.close();
    if (itt !== undefined) this.#host.stalled(itt);
  };

  #step(req: TextRequestPdu, maxSegment: number): TextPart | RejectReason {
    const open = this.#open;
    if (req.ttt === RESERVED_TAG) {
      // §11.10.4: a new request; whatever this connection had open is dropped.
      this.#open = undefined;
      this.#text.reset();
    } else if (open?.ttt !== req.ttt || open.itt !== req.itt) {
      return RejectReason.INVALID_PDU_FIELD;
    } else if (open.kind === 'sending') {
      // §6.2: the initiator fetches the rest of a C=1 response with requests that carry no text.
      if (req.data.length > 0 || req.cont) return RejectReason.PROTOCOL_ERROR;
      return this.#part(req, open.rest, maxSegment);
    }
    const joined = this.#text.push(req.data, req.cont);
    if (!joined.ok) {
      this.#open = undefined;
      return RejectReason.LONG_OPERATION_REJECT;
    }
    if (joined.value === undefined) {
      // §6.2: a C=1 part is answered with no data; F=0 needs a TTT (§11.11.1), which the next part quotes.
      const ttt = nextTextTag();
      this.#open = { kind: 'receiving', itt: req.itt, ttt };
      return { data: new Uint8Array(0), final: false, cont: false, ttt };
    }
    const text = this.#answer(joined.value);
    if (text === undefined) {
      this.#open = undefined;
      return RejectReason.PROTOCOL_ERROR;
    }
    return this.#part(req, text, maxSegment);
  }

  /** The first `maxSegment` bytes of `data`, C=1 if more remain; F=1 only at the end of the answer to a request with F=1 (§11.11.1). */
  #part(req: TextRequestPdu, data: Uint8Array, maxSegment: number): TextPart {
    const more = data.length > maxSegment;
    const final = !more && req.final;
    const ttt = final ? RESERVED_TAG : nextTextTag();
    if (more) this.#open = { kind: 'sending', itt: req.itt, ttt, rest: data.subarray(maxSegment) };
    else this.#open = final ? undefined : { kind: 'receiving', itt: req.itt, ttt };
    return { data: more ? data.subarray(0, maxSegment) : data, final, cont: more, ttt };
  }

  #answer(data: Uint8Array): Uint8Array | undefined {
    const parsed = parseText(data, valueLimit);
    if (!parsed.ok) return undefined;
    let targets: Uint8Array | undefined;
    const rest: TextPair[] = [];
    for (const { key, value } of parsed.value) {
      if (key === 'SendTargets') {
        targets = this.#host.sendTargets(value);
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
