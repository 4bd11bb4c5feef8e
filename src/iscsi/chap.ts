// CHAP authentication of the initiator by the target, and of the target by
// the initiator when it asks (mutual). Spec: RFC 1994 §4.1 (Response = MD5 of
// Identifier ‖ secret ‖ Challenge), RFC 7143 §12.1.3 (the iSCSI CHAP keys and
// their order), §9.2.1 (secrets not shared between directions; a challenge
// reflected back is a failure), §6.1 (binary values in hex or base64).
//
//   initiator                               target
//   CHAP_A=<A1,A2,...>                  →
//                                       ←   CHAP_A=5 CHAP_I=<I> CHAP_C=<C>
//   CHAP_N=<N> CHAP_R=<R>
//     [CHAP_I=<I'> CHAP_C=<C'>]         →
//                                       ←   [CHAP_N=<N'> CHAP_R=<R'>]

import { createHash, timingSafeEqual } from 'node:crypto';
import { MAX_CHAP_BINARY_BYTES } from './keys.js';
import { decodeBinaryValue, encodeHexValue, parseNumericalValue, type TextPair } from './text.js';

/** RFC 1994 §2 / RFC 7143 §12.1.3: CHAP_A 5, CHAP with MD5 (the one algorithm every iSCSI node implements). */
export const CHAP_MD5 = 5;
/** Our challenge is at least as long as the MD5 digest, so it cannot be guessed more easily than the response. */
export const MIN_CHALLENGE_BYTES = 16;

/** A CHAP name and secret. */
export interface ChapCredentials {
  readonly name: string;
  /** A string is used as its UTF-8 bytes. */
  readonly secret: string | Uint8Array;
}

/** CHAP as the target performs it. */
export interface ChapConfig {
  /** The initiators' credentials the target accepts (CHAP_N → secret). */
  readonly initiators: readonly ChapCredentials[];
  /**
   * The target's own credentials for mutual CHAP. When set, the initiator
   * must challenge the target (mutual is required); when absent, an
   * initiator challenge fails the login (the target cannot answer it).
   */
  readonly target?: ChapCredentials;
  /** Length of the target's challenge in bytes, 16..1024; default 16. */
  readonly challengeBytes?: number;
}

/** Why CHAP failed; every one is a Login reject "authentication failure" (RFC 7143 §11.13.5, 02h/01h). */
export type ChapFailure =
  /** CHAP_A did not offer 5 (MD5). */
  | 'algorithm-not-offered'
  /** A CHAP key out of the §12.1.3 order (e.g. CHAP_R before the challenge), or after the end. */
  | 'unexpected-key'
  /** A step's required keys were not all there (CHAP_A; CHAP_N and CHAP_R; CHAP_I with CHAP_C). */
  | 'missing-key'
  /** CHAP_A, CHAP_I or CHAP_C / CHAP_R not in their §6.1 / §12.1.3 format or size. */
  | 'malformed-value'
  | 'unknown-name'
  | 'wrong-response'
  /** The target is configured for mutual CHAP and the initiator did not challenge it. */
  | 'mutual-required'
  /** The initiator challenged the target, which has no credentials of its own. */
  | 'mutual-unavailable'
  /** §9.2.1: the initiator's challenge is the one the target sent; answering it would hand over a valid response. */
  | 'reflected-challenge';

/** The result of one request's CHAP keys. */
export type ChapStep =
  | { readonly kind: 'continue'; readonly answers: readonly TextPair[] }
  | { readonly kind: 'authenticated'; readonly name: string; readonly answers: readonly TextPair[] }
  | { readonly kind: 'failed'; readonly failure: ChapFailure };

/** Every key of the CHAP exchange. */
export const CHAP_KEYS: readonly string[] = ['CHAP_A', 'CHAP_I', 'CHAP_C', 'CHAP_N', 'CHAP_R'];

const encoder = new TextEncoder();
const bytesOf = (secret: string | Uint8Array): Uint8Array => (typeof secret === 'string' ? encoder.encode(secret) : secret);

/** RFC 1994 §4.1 with MD5: the one-octet Identifier, then the secret, then the challenge. */
export function chapMd5Response(identifier: number, secret: Uint8Array, challenge: Uint8Array): Uint8Array {
  if (!Number.isInteger(identifier) || identifier < 0 || identifier > 0xff) throw new RangeError(`CHAP identifier must be 0..255, got ${identifier}`);
  const h = createHash('md5');
  h.update(Uint8Array.of(identifier));
  h.update(secret);
  h.update(challenge);
  return new Uint8Array(h.digest());
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

/** A CHAP_C or CHAP_R value: 1..1024 bytes (§12.1.3). */
function binary(value: string): Uint8Array | undefined {
  const b = decodeBinaryValue(value);
  return b !== undefined && b.length >= 1 && b.length <= MAX_CHAP_BINARY_BYTES ? b : undefined;
}

const failed = (failure: ChapFailure): ChapStep => ({ kind: 'failed', failure });

/** One connection's CHAP exchange, target side. Feed it the CHAP_* keys of each request. */
export class ChapAuthenticator {
  readonly #config: ChapConfig;
  readonly #randomBytes: (n: number) => Uint8Array;
  #state: 'algorithm' | 'response' | 'over' = 'algorithm';
  #identifier = 0;
  #challenge = new Uint8Array(0);

  constructor(config: ChapConfig, randomBytes: (n: number) => Uint8Array) {
    const length = config.challengeBytes ?? MIN_CHALLENGE_BYTES;
    if (!Number.isInteger(length) || length < MIN_CHALLENGE_BYTES || length > MAX_CHAP_BINARY_BYTES) {
      throw new RangeError(`CHAP challenge must be ${MIN_CHALLENGE_BYTES}..${MAX_CHAP_BINARY_BYTES} bytes, got ${length}`);
    }
    const target = config.target;
    // §9.2.1: a secret authenticating an initiator must not authenticate a target, or a reflection attack succeeds.
    if (target !== undefined && config.initiators.some((c) => sameBytes(bytesOf(c.secret), bytesOf(target.secret)))) {
      throw new RangeError('the target CHAP secret must differ from every initiator secret');
    }
    this.#config = config;
    this.#randomBytes = randomBytes;
  }

  /** The CHAP_* keys of one request (other keys are the login's), by name. */
  receive(keys: ReadonlyMap<string, string>): ChapStep {
    switch (this.#state) {
      case 'algorithm':
        return this.#algorithm(keys);
      case 'response':
        return this.#response(keys);
      case 'over':
        return failed('unexpected-key');
    }
  }

  /** Step 1 → 2: CHAP_A=<A1,A2,...> is answered with CHAP_A=5, CHAP_I and CHAP_C. */
  #algorithm(keys: ReadonlyMap<string, string>): ChapStep {
    const offered = keys.get('CHAP_A');
    if (keys.size > (offered === undefined ? 0 : 1)) return this.#fail('unexpected-key');
    if (offered === undefined) return this.#fail('missing-key');
    const algorithms = offered.split(',').map(parseNumericalValue);
    if (algorithms.includes(undefined)) return this.#fail('malformed-value');
    if (!algorithms.includes(BigInt(CHAP_MD5))) return this.#fail('algorithm-not-offered');
    const [identifier] = this.#randomBytes(1);
    this.#identifier = identifier ?? 0;
    this.#challenge = this.#randomBytes(this.#config.challengeBytes ?? MIN_CHALLENGE_BYTES).slice();
    this.#state = 'response';
    return {
      kind: 'continue',
      answers: [
        { key: 'CHAP_A', value: String(CHAP_MD5) },
        { key: 'CHAP_I', value: String(this.#identifier) },
        { key: 'CHAP_C', value: encodeHexValue(this.#challenge) },
      ],
    };
  }

  /** Step 3 → 4: verify CHAP_N / CHAP_R; answer the initiator's CHAP_I / CHAP_C for mutual CHAP. */
  #response(keys: ReadonlyMap<string, string>): ChapStep {
    if (keys.has('CHAP_A')) return this.#fail('unexpected-key');
    const name = keys.get('CHAP_N');
    const response = keys.get('CHAP_R');
    if (name === undefined || response === undefined) return this.#fail('missing-key');
    const got = binary(response);
    if (got === undefined) return this.#fail('malformed-value');
    const known = this.#config.initiators.find((c) => c.name === name);
    // Compare against some secret even for an unknown name, so timing does not tell which names exist.
    const expected = chapMd5Response(this.#identifier, bytesOf(known?.secret ?? this.#challenge), this.#challenge);
    const matches = sameBytes(got, expected);
    if (known === undefined) return this.#fail('unknown-name');
    if (!matches) return this.#fail('wrong-response');
    const theirId = keys.get('CHAP_I');
    const theirChallenge = keys.get('CHAP_C');
    const target = this.#config.target;
    if (theirId === undefined && theirChallenge === undefined) {
      if (target !== undefined) return this.#fail('mutual-required');
      this.#state = 'over';
      return { kind: 'authenticated', name, answers: [] };
    }
    if (theirId === undefined || theirChallenge === undefined) return this.#fail('missing-key');
    if (target === undefined) return this.#fail('mutual-unavailable');
    const id = parseNumericalValue(theirId);
    const challenge = binary(theirChallenge);
    if (id === undefined || id > 0xffn || challenge === undefined) return this.#fail('malformed-value');
    if (sameBytes(challenge, this.#challenge)) return this.#fail('reflected-challenge');
    this.#state = 'over';
    return {
      kind: 'authenticated',
      name,
      answers: [
        { key: 'CHAP_N', value: target.name },
        { key: 'CHAP_R', value: encodeHexValue(chapMd5Response(Number(id), bytesOf(target.secret), challenge)) },
      ],
    };
  }

  #fail(failure: ChapFailure): ChapStep {
    this.#state = 'over';
    return failed(failure);
  }
}
