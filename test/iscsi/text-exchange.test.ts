// The full feature phase Text exchange (RFC 7143 §11.10, §11.11) both ways:
// the initiator's text continued with the C bit (§11.10.2, §6.2), joined and
// answered once complete, and a long answer sent in C=1 parts; an exchange
// the initiator leaves open is dropped after a timeout (§11.11.4, fake
// timers). Requests are built as decoded values; the bytes on the wire are
// checked end to end in server-text.test.ts.

import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { TextExchange, type TextPart } from '../../src/iscsi/text-exchange.js';
import type { TextRequestPdu } from '../../src/iscsi/pdu-types.js';

const RESERVED = 0xffffffff;
const ascii = (s: string): Uint8Array => new TextEncoder().encode(s);
const str = (b: Uint8Array): string => new TextDecoder().decode(b);
const TARGETS = 'TargetName=iqn.2026-11.org.vtcam:a\0TargetAddress=10.0.0.1:3260,1\0';
const SEGMENT = 8192;
/** How long an open exchange waits for its next request. */
const STALL_MS = 1000;

function exchange(stalled: number[] = []): TextExchange {
  return new TextExchange({ sendTargets: () => ascii(TARGETS), declareMaxRecvDataSegmentLength: () => undefined, stalled: (itt) => stalled.push(itt) }, STALL_MS);
}

function req(o: { itt?: number; ttt?: number; final?: boolean; cont?: boolean; data?: string | Uint8Array }): TextRequestPdu {
  const cont = o.cont ?? false;
  return {
    opcode: 0x04,
    immediate: true,
    itt: o.itt ?? 7,
    final: o.final ?? !cont,
    cont,
    lun: 0n,
    ttt: o.ttt ?? RESERVED,
    cmdSN: 1,
    expStatSN: 1,
    data: typeof o.data === 'string' ? ascii(o.data) : (o.data ?? new Uint8Array(0)),
  };
}

/** A part that is a Text Response, not a Reject reason. */
function part(p: TextPart | number): TextPart {
  if (typeof p === 'number') throw new Error(`Reject 0x${p.toString(16)}`);
  return p;
}

/** The empty answer to a C=1 part: no data, F=0, C=0, a TTT other than 0xffffffff (§6.2, §11.11.1). */
function expectAck(p: TextPart | number): number {
  const a = part(p);
  expect({ data: a.data.length, final: a.final, cont: a.cont }).toEqual({ data: 0, final: false, cont: false });
  expect(a.ttt).not.toBe(RESERVED);
  return a.ttt;
}

/** Sends `text` cut at `cuts`, every part but the last with C=1, each quoting the TTT of the previous answer. */
function sendInParts(x: TextExchange, text: string | Uint8Array, cuts: readonly number[], itt = 7): TextPart | number {
  const bytes = typeof text === 'string' ? ascii(text) : text;
  const bounds = [0, ...cuts, bytes.length];
  let ttt = RESERVED;
  for (let i = 0; i < bounds.length - 2; i++) ttt = expectAck(x.answer(req({ itt, ttt, cont: true, data: bytes.subarray(bounds[i], bounds[i + 1]) }), SEGMENT));
  return x.answer(req({ itt, ttt, data: bytes.subarray(bounds.at(-2)) }), SEGMENT);
}

describe('a text continued with the C bit (§11.10.2, §6.2)', () => {
  it('SendTargets=All cut mid-key: the C=1 part gets an empty response, the joined text the whole answer', () => {
    const done = part(sendInParts(exchange(), 'SendTargets=All\0', [7]));
    expect(str(done.data)).toBe(TARGETS);
    expect({ final: done.final, cont: done.cont, ttt: done.ttt }).toEqual({ final: true, cont: false, ttt: RESERVED });
  });

  it('cut mid-value and right after the =, in three parts', () => {
    expect(str(part(sendInParts(exchange(), 'SendTargets=All\0', [12, 13])).data)).toBe(TARGETS);
  });

  it('a complete pair sent with C=1 is not answered until the text ends', () => {
    const done = part(sendInParts(exchange(), 'X-foo=1\0SendTargets=All\0', [8]));
    expect(str(done.data)).toBe(`${TARGETS}X-foo=NotUnderstood\0`);
  });

  it('empty parts, first, middle and last, add nothing', () => {
    expect(str(part(sendInParts(exchange(), 'SendTargets=All\0', [0, 5, 5, 16])).data)).toBe(TARGETS);
  });

  it('each part is answered with a new TTT; quoting an earlier one is Reject 09h and the exchange goes on', () => {
    const x = exchange();
    const first = expectAck(x.answer(req({ cont: true, data: 'Send' }), SEGMENT));
    const second = expectAck(x.answer(req({ ttt: first, cont: true, data: 'Targets' }), SEGMENT));
    expect(second).not.toBe(first);
    expect(x.answer(req({ ttt: first, data: '=All\0' }), SEGMENT)).toBe(0x09);
    expect(str(part(x.answer(req({ ttt: second, data: '=All\0' }), SEGMENT)).data)).toBe(TARGETS);
  });

  it('a part quoting the TTT with another ITT is Reject 09h', () => {
    const x = exchange();
    const ttt = expectAck(x.answer(req({ itt: 7, cont: true, data: 'Send' }), SEGMENT));
    expect(x.answer(req({ itt: 8, ttt, data: 'Targets=All\0' }), SEGMENT)).toBe(0x09);
    expect(str(part(x.answer(req({ itt: 7, ttt, data: 'Targets=All\0' }), SEGMENT)).data)).toBe(TARGETS);
  });

  it('a new request (TTT 0xffffffff) drops the partial text, with a new ITT or the same (§11.10.4)', () => {
    const x = exchange();
    const ttt = expectAck(x.answer(req({ itt: 7, cont: true, data: 'SendTar' }), SEGMENT));
    expect(str(part(x.answer(req({ itt: 8, data: 'SendTargets=All\0' }), SEGMENT)).data)).toBe(TARGETS);
    expect(x.answer(req({ itt: 7, ttt, data: 'gets=All\0' }), SEGMENT)).toBe(0x09);
    expectAck(x.answer(req({ itt: 9, cont: true, data: 'SendTar' }), SEGMENT));
    // The same ITT without the TTT starts afresh: "gets=All" alone is a key vtcam does not know.
    expect(str(part(x.answer(req({ itt: 9, data: 'gets=All\0' }), SEGMENT)).data)).toBe('gets=NotUnderstood\0');
  });

  it('joined text that is not key=value pairs is Reject 04h, and the exchange is over', () => {
    const x = exchange();
    const ttt = expectAck(x.answer(req({ cont: true, data: 'SendTargets' }), SEGMENT));
    expect(x.answer(req({ ttt, data: '\0' }), SEGMENT)).toBe(0x04);
    expect(x.answer(req({ ttt, data: 'SendTargets=All\0' }), SEGMENT)).toBe(0x09);
  });

  it('64 KiB of text in 8 parts passes; one byte more is Reject 0Ah, the exchange dropped, the next request answered', () => {
    const text = (n: number): Uint8Array => {
      // NUL runs after the pair are padding the parser skips (text.ts), so the length is free.
      const b = new Uint8Array(n);
      b.set(ascii('SendTargets=All\0'));
      return b;
    };
    const cuts = [1, 2, 3, 4, 5, 6, 7].map((i) => i * 8192);
    expect(str(part(sendInParts(exchange(), text(65_536), cuts)).data)).toBe(TARGETS);
    const x = exchange();
    let ttt = RESERVED;
    for (let i = 0; i < 8; i++) ttt = expectAck(x.answer(req({ ttt, cont: true, data: new Uint8Array(8192) }), SEGMENT));
    expect(x.answer(req({ ttt, data: ascii('\0') }), SEGMENT)).toBe(0x0a);
    expect(x.answer(req({ ttt, data: 'SendTargets=All\0' }), SEGMENT)).toBe(0x09);
    expect(str(part(x.answer(req({ data: 'SendTargets=All\0' }), SEGMENT)).data)).toBe(TARGETS);
  });

  it('a single request longer than 64 KiB is Reject 0Ah too: the cap is on the text, not the PDU count', () => {
    expect(exchange().answer(req({ data: new Uint8Array(65_537) }), SEGMENT)).toBe(0x0a);
  });
});

describe('a long answer in C=1 parts (§11.11.2), alongside', () => {
  it('a continued request whose answer is longer than MaxRecvDataSegmentLength: parts of at most 16 bytes, fetched with empty requests', () => {
    const x = exchange();
    const ttt = expectAck(x.answer(req({ cont: true, data: 'SendTarg' }), 16));
    let last = part(x.answer(req({ ttt, data: 'ets=All\0' }), 16));
    const parts = [last];
    while (!last.final) {
      expect({ cont: last.cont, ttt: last.ttt !== RESERVED, length: last.data.length }).toEqual({ cont: true, ttt: true, length: 16 });
      last = part(x.answer(req({ ttt: last.ttt }), 16));
      parts.push(last);
    }
    expect(parts.map((p) => str(p.data)).join('')).toBe(TARGETS);
    expect(parts.length).toBe(Math.ceil(TARGETS.length / 16));
    expect({ cont: last.cont, ttt: last.ttt }).toEqual({ cont: false, ttt: RESERVED });
  });

  it('text, or C=1, in a request that fetches the rest of an answer is Reject 04h; the fetch still works (§6.2)', () => {
    const x = exchange();
    const first = part(x.answer(req({ data: 'SendTargets=All\0' }), 16));
    expect(first.cont).toBe(true);
    expect(x.answer(req({ ttt: first.ttt, data: 'X-a=1\0' }), 16)).toBe(0x04);
    expect(x.answer(req({ ttt: first.ttt, cont: true }), 16)).toBe(0x04);
    expect(str(part(x.answer(req({ ttt: first.ttt }), 16)).data)).toBe(TARGETS.slice(16, 32));
  });
});

describe('the F bit (§11.11.1)', () => {
  it('a request with F=0 is answered F=0 with a TTT; an empty F=1 request quoting it ends the exchange', () => {
    const x = exchange();
    const open = part(x.answer(req({ final: false, data: 'X-foo=1\0' }), SEGMENT));
    expect({ data: str(open.data), final: open.final, cont: open.cont }).toEqual({ data: 'X-foo=NotUnderstood\0', final: false, cont: false });
    expect(open.ttt).not.toBe(RESERVED);
    const end = part(x.answer(req({ ttt: open.ttt }), SEGMENT));
    expect({ data: end.data.length, final: end.final, ttt: end.ttt }).toEqual({ data: 0, final: true, ttt: RESERVED });
  });
});

describe('an exchange the initiator leaves open (§11.11.4: the target may reset a stalled one)', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('a C=1 part and then nothing: dropped once, the timeout after it; the part that would end it is Reject 09h', () => {
    const stalled: number[] = [];
    const x = exchange(stalled);
    const ttt = expectAck(x.answer(req({ itt: 7, cont: true, data: 'SendTar' }), SEGMENT));
    vi.advanceTimersByTime(STALL_MS - 1);
    expect(stalled).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(stalled).toEqual([7]);
    expect(vi.getTimerCount()).toBe(0);
    expect(x.answer(req({ itt: 7, ttt, data: 'gets=All\0' }), SEGMENT)).toBe(0x09);
    // The connection goes on: a new request is answered.
    expect(str(part(x.answer(req({ itt: 8, data: 'SendTargets=All\0' }), SEGMENT)).data)).toBe(TARGETS);
    vi.advanceTimersByTime(10 * STALL_MS);
    expect(stalled).toEqual([7]);
  });

  it('parts that keep coming, each within the timeout, keep it however long the whole takes', () => {
    const stalled: number[] = [];
    const x = exchange(stalled);
    let ttt = RESERVED;
    for (const piece of ['Se', 'nd', 'Ta', 'rg', 'et']) {
      ttt = expectAck(x.answer(req({ ttt, cont: true, data: piece }), SEGMENT));
      vi.advanceTimersByTime(0.9 * STALL_MS);
    }
    expect(str(part(x.answer(req({ ttt, data: 's=All\0' }), SEGMENT)).data)).toBe(TARGETS);
    expect(stalled).toEqual([]);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('a part Rejected for its TTT does not start the wait afresh', () => {
    const stalled: number[] = [];
    const x = exchange(stalled);
    const ttt = expectAck(x.answer(req({ itt: 7, cont: true, data: 'Send' }), SEGMENT));
    vi.advanceTimersByTime(0.6 * STALL_MS);
    expect(x.answer(req({ itt: 7, ttt: ttt + 1, cont: true, data: 'Targets' }), SEGMENT)).toBe(0x09);
    vi.advanceTimersByTime(0.4 * STALL_MS);
    expect(stalled).toEqual([7]);
  });

  it('the rest of a long answer the initiator never fetches is dropped too', () => {
    const stalled: number[] = [];
    const x = exchange(stalled);
    const first = part(x.answer(req({ itt: 9, data: 'SendTargets=All\0' }), 16));
    expect(first.cont).toBe(true);
    vi.advanceTimersByTime(STALL_MS);
    expect(stalled).toEqual([9]);
    expect(x.answer(req({ itt: 9, ttt: first.ttt }), 16)).toBe(0x09);
  });

  it('nothing open, no timer: a final answer, and close() with an exchange open', () => {
    const stalled: number[] = [];
    const x = exchange(stalled);
    part(x.answer(req({ data: 'SendTargets=All\0' }), SEGMENT));
    expect(vi.getTimerCount()).toBe(0);
    expectAck(x.answer(req({ cont: true, data: 'Send' }), SEGMENT));
    expect(vi.getTimerCount()).toBe(1);
    x.close();
    expect(vi.getTimerCount()).toBe(0);
    vi.advanceTimersByTime(10 * STALL_MS);
    expect(stalled).toEqual([]);
  });
});
