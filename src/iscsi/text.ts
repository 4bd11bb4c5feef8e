// The text data segment of Login and Text PDUs: key=value pairs, each ended by
// a NUL, in UTF-8. Spec: RFC 7143 §6.1 (text format, name and value limits),
// §6.2 (pairs may span PDUs with the C bit), §11.10.2 / §11.12.2 (C bit).
//
// Parsing is strict because a malformed pair cannot be answered key by key:
// the caller turns every TextError into the RFC's answer for the whole
// request (a Login reject "initiator error", or a Reject PDU in full feature).

/** One key=value pair, in the order it appeared. */
export interface TextPair {
  readonly key: string;
  readonly value: string;
}

/** RFC 7143 §6.1: a key name (standard-label) "must not exceed 63 characters". */
export const MAX_KEY_NAME_BYTES = 63;
/** RFC 7143 §6.1: "the maximum length of a simple-value ... is 255 bytes" unless the key says otherwise. */
export const MAX_SIMPLE_VALUE_BYTES = 255;
/**
 * How much text one request sequence (PDUs joined by the C bit) may carry. RFC
 * 7143 §6.1 requires at least 8192 bytes, and 64 KiB when an authentication
 * method needs long items; CHAP does not, so 64 KiB is ample and bounds memory.
 */
export const DEFAULT_TEXT_LIMIT = 65_536;

const NUL = 0x00;
const EQUALS = 0x3d;

/**
 * Key names: a standard-label is letters, digits, `. - + @ _` (RFC 7143 §6.1);
 * the X# public extension form adds `#` after the X (§13.22). The first
 * character may be lower case only because iSCSIProtocolLevel (§13.24) starts
 * with one; every other registered key starts with a capital.
 */
const KEY_NAME = /^(?:[A-Za-z][A-Za-z0-9.\-+@_]*|X#[A-Za-z0-9.\-+@_]+)$/;

/** Why a text segment could not be read. */
export type TextError =
  /** The last pair of a complete sequence has no terminating NUL. */
  | { readonly kind: 'not-terminated' }
  | { readonly kind: 'invalid-utf8'; readonly offset: number }
  | { readonly kind: 'missing-equals'; readonly offset: number }
  | { readonly kind: 'empty-key'; readonly offset: number }
  | { readonly kind: 'invalid-key'; readonly key: string }
  | { readonly kind: 'key-too-long'; readonly key: string; readonly length: number }
  | { readonly kind: 'value-too-long'; readonly key: string; readonly length: number; readonly limit: number }
  /** A key sent twice in one request sequence (§6.3: no key is negotiated twice). */
  | { readonly kind: 'duplicate-key'; readonly key: string }
  /** The joined sequence is longer than the accumulator accepts. */
  | { readonly kind: 'too-much-text'; readonly length: number; readonly limit: number };

/** A value or the reason there is none. */
export type TextResult<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: TextError };

/** The per-key value limit in bytes; `keys.ts` supplies the RFC's table. */
export type ValueLimit = (key: string) => number;

const utf8 = new TextDecoder('utf-8', { fatal: true });
const encoder = new TextEncoder();

function decodeUtf8(bytes: Uint8Array): string | undefined {
  try {
    return utf8.decode(bytes);
  } catch {
    return undefined;
  }
}

/**
 * Reads a complete text sequence into ordered pairs. Runs of NUL between or
 * after pairs are skipped: several initiators pad the segment with zeros, and
 * an empty string carries no pair. Every other deviation is a TextError.
 */
export function parseText(data: Uint8Array, valueLimit: ValueLimit = () => MAX_SIMPLE_VALUE_BYTES): TextResult<readonly TextPair[]> {
  const pairs: TextPair[] = [];
  const seen = new Set<string>();
  let start = 0;
  while (start < data.length) {
    const end = data.indexOf(NUL, start);
    if (end < 0) return { ok: false, error: { kind: 'not-terminated' } };
    if (end === start) {
      start += 1;
      continue;
    }
    const item = data.subarray(start, end);
    const eq = item.indexOf(EQUALS);
    if (eq < 0) return { ok: false, error: { kind: 'missing-equals', offset: start } };
    if (eq === 0) return { ok: false, error: { kind: 'empty-key', offset: start } };
    const key = decodeUtf8(item.subarray(0, eq));
    const value = decodeUtf8(item.subarray(eq + 1));
    if (key === undefined || value === undefined) return { ok: false, error: { kind: 'invalid-utf8', offset: start } };
    if (eq > MAX_KEY_NAME_BYTES) return { ok: false, error: { kind: 'key-too-long', key, length: eq } };
    if (!KEY_NAME.test(key)) return { ok: false, error: { kind: 'invalid-key', key } };
    const length = item.length - eq - 1;
    const limit = valueLimit(key);
    if (length > limit) return { ok: false, error: { kind: 'value-too-long', key, length, limit } };
    if (seen.has(key)) return { ok: false, error: { kind: 'duplicate-key', key } };
    seen.add(key);
    pairs.push({ key, value });
    start = end + 1;
  }
  return { ok: true, value: pairs };
}

/** True when `key` is a well-formed key name (RFC 7143 §6.1, §13.22). */
export function isKeyName(key: string): boolean {
  return KEY_NAME.test(key) && encoder.encode(key).length <= MAX_KEY_NAME_BYTES;
}

/**
 * Encodes pairs as `key=value\0` each. A malformed key or a value holding a
 * NUL is a caller bug (we only send keys we know), so it throws RangeError.
 */
export function encodeText(pairs: readonly TextPair[]): Uint8Array {
  const parts = pairs.map(({ key, value }) => {
    if (!isKeyName(key)) throw new RangeError(`not an iSCSI key name: ${JSON.stringify(key)}`);
    if (value.includes('\0')) throw new RangeError(`value of ${key} contains NUL`);
    return encoder.encode(`${key}=${value}\0`);
  });
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/**
 * Splits encoded text into data segments of at most `maxSegment` bytes. Pairs
 * may be cut anywhere: RFC 7143 §6.2 lets a pair span PDUs, the C bit saying
 * more follows. Always returns at least one (possibly empty) segment.
 */
export function splitText(data: Uint8Array, maxSegment: number): readonly Uint8Array[] {
  if (!Number.isInteger(maxSegment) || maxSegment < 1) throw new RangeError(`segment size must be a positive integer, got ${maxSegment}`);
  if (data.length === 0) return [data];
  const out: Uint8Array[] = [];
  for (let at = 0; at < data.length; at += maxSegment) out.push(data.subarray(at, at + maxSegment));
  return out;
}

const DECIMAL = /^(?:0|[1-9][0-9]*)$/;
const HEX = /^0[xX]([0-9a-fA-F]+)$/;
const BASE64 = /^0[bB]([A-Za-z0-9+/]+={0,2})$/;
const TWO_TO_64 = 1n << 64n;

/**
 * RFC 7143 §6.1 numerical-value: a decimal-constant (no leading zeros) or a
 * hex-constant, below 2**64. Undefined when the string is neither.
 */
export function parseNumericalValue(value: string): bigint | undefined {
  const hex = HEX.exec(value);
  const n = DECIMAL.test(value) ? BigInt(value) : hex?.[1] !== undefined ? BigInt(`0x${hex[1]}`) : undefined;
  return n !== undefined && n < TWO_TO_64 ? n : undefined;
}

/** RFC 7143 §6.1 boolean-value: exactly `Yes` or `No`. */
export function parseBooleanValue(value: string): boolean | undefined {
  return value === 'Yes' ? true : value === 'No' ? false : undefined;
}

/** A boolean as RFC 7143 §6.1 spells it. */
export const booleanValue = (b: boolean): string => (b ? 'Yes' : 'No');

/**
 * RFC 7143 §6.1 binary-value: a hex-constant (n digits are (n+1)/2 bytes, an
 * odd count having an implied leading zero) or a base64-constant (RFC 4648).
 */
export function decodeBinaryValue(value: string): Uint8Array | undefined {
  const hex = HEX.exec(value)?.[1];
  if (hex !== undefined) return Uint8Array.from(Buffer.from(hex.length % 2 === 0 ? hex : `0${hex}`, 'hex'));
  const b64 = BASE64.exec(value)?.[1];
  if (b64 === undefined || b64.length % 4 !== 0) return undefined;
  return Uint8Array.from(Buffer.from(b64, 'base64'));
}

/** Bytes as an RFC 7143 §6.1 hex-constant (`0x…`, two digits a byte): what every initiator reads. */
export function encodeHexValue(bytes: Uint8Array): string {
  return `0x${Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex')}`;
}

/**
 * Joins the data segments of a request sequence sent with the C bit (RFC 7143
 * §11.10.2, §11.12.2): each `push` adds one PDU's segment; the sequence is
 * complete on the PDU with C=0, and `push` then returns the joined bytes.
 */
export class TextAccumulator {
  readonly #limit: number;
  #parts: Uint8Array[] = [];
  #length = 0;

  constructor(limit: number = DEFAULT_TEXT_LIMIT) {
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`text limit must be a positive integer, got ${limit}`);
    this.#limit = limit;
  }

  /** True while a sequence has started (a PDU with C=1 was pushed) and not ended. */
  get pending(): boolean {
    return this.#parts.length > 0;
  }

  /**
   * Adds one segment. Returns `undefined` while more is to come (`cont`), the
   * whole sequence when it ends, or `too-much-text` (the sequence is dropped).
   */
  push(data: Uint8Array, cont: boolean): TextResult<Uint8Array | undefined> {
    const length = this.#length + data.length;
    if (length > this.#limit) {
      this.reset();
      return { ok: false, error: { kind: 'too-much-text', length, limit: this.#limit } };
    }
    if (cont) {
      this.#parts.push(data.slice());
      this.#length = length;
      return { ok: true, value: undefined };
    }
    if (this.#parts.length === 0) return { ok: true, value: data };
    const out = new Uint8Array(length);
    let at = 0;
    for (const p of [...this.#parts, data]) {
      out.set(p, at);
      at += p.length;
    }
    this.reset();
    return { ok: true, value: out };
  }

  /** Drops a partial sequence. */
  reset(): void {
    this.#parts = [];
    this.#length = 0;
  }
}
