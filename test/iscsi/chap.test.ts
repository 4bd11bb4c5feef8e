// CHAP, target side (RFC 1994 §4.1, RFC 7143 §12.1.3, §9.2.1). Expected
// responses are computed here straight from RFC 1994's definition with
// node:crypto's MD5 over Identifier ‖ secret ‖ Challenge, not with the code
// under test.

import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { CHAP_MD5, ChapAuthenticator, MIN_CHALLENGE_BYTES, chapMd5Response, type ChapConfig, type ChapStep } from '../../src/iscsi/chap.js';
import { bytes, hex } from './hex.js';

const md5Hex = (...parts: Uint8Array[]): string => {
  const h = createHash('md5');
  for (const p of parts) h.update(p);
  return h.digest('hex');
};
const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);

/** Deterministic "random" bytes: 0x10, 0x11, … across calls. */
function counter(start = 0x10): (n: number) => Uint8Array {
  let next = start;
  return (n) => Uint8Array.from({ length: n }, () => next++ & 0xff);
}

const ALICE = { name: 'alice', secret: 'alice-secret-12' };
const TARGET = { name: 'iqn.2024-01.org.vtcam:target', secret: 'target-secret-34' };
const ONE_WAY: ChapConfig = { initiators: [ALICE, { name: 'bob', secret: utf8('bob-secret-5678') }] };
const MUTUAL: ChapConfig = { ...ONE_WAY, target: TARGET };

const keys = (o: Record<string, string>): ReadonlyMap<string, string> => new Map(Object.entries(o));
const pairsOf = (s: ChapStep): Record<string, string> => (s.kind === 'failed' ? {} : Object.fromEntries(s.answers.map((p) => [p.key, p.value])));

/** Runs step 1 → 2 and returns the identifier and challenge the target sent. */
function challenge(auth: ChapAuthenticator, offer = '5'): { id: number; c: Uint8Array } {
  const step = auth.receive(keys({ CHAP_A: offer }));
  const a = pairsOf(step);
  expect(step.kind).toBe('continue');
  return { id: Number(a['CHAP_I']), c: bytes((a['CHAP_C'] ?? '').slice(2).replace(/(..)/g, '$1 ')) };
}

describe('chapMd5Response (RFC 1994 §4.1)', () => {
  it('is MD5 over the one-octet identifier, the secret, then the challenge', () => {
    const c = bytes('01 02 03 04 05 06 07 08 09 0a 0b 0c 0d 0e 0f 10');
    expect(hex(chapMd5Response(0x2a, utf8('secret'), c)).replace(/ /g, '')).toBe(md5Hex(bytes('2a'), utf8('secret'), c));
  });

  it('a known vector: id 0, empty secret, empty challenge is MD5 of the single byte 00', () => {
    // MD5("\0") = 93b885adfe0da089cdf634904fd59f71
    expect(hex(chapMd5Response(0, new Uint8Array(0), new Uint8Array(0))).replace(/ /g, '')).toBe('93b885adfe0da089cdf634904fd59f71');
  });

  it.each([-1, 256, 1.5])('refuses identifier %s', (id) => {
    expect(() => chapMd5Response(id, utf8('s'), utf8('c'))).toThrow(RangeError);
  });

  it('CHAP_A 5 is MD5; the challenge is at least 16 bytes', () => {
    expect(CHAP_MD5).toBe(5);
    expect(MIN_CHALLENGE_BYTES).toBe(16);
  });
});

describe('one-way CHAP', () => {
  it('answers CHAP_A with 5, the identifier and a 16-byte hex challenge from randomBytes', () => {
    const step = new ChapAuthenticator(ONE_WAY, counter()).receive(keys({ CHAP_A: '7,5' }));
    expect(step).toEqual({
      kind: 'continue',
      answers: [
        { key: 'CHAP_A', value: '5' },
        { key: 'CHAP_I', value: '16' },
        { key: 'CHAP_C', value: '0x1112131415161718191a1b1c1d1e1f20' },
      ],
    });
  });

  it('accepts the right response in hex', () => {
    const auth = new ChapAuthenticator(ONE_WAY, counter());
    const { id, c } = challenge(auth);
    const r = md5Hex(Uint8Array.of(id), utf8(ALICE.secret), c);
    expect(auth.receive(keys({ CHAP_N: 'alice', CHAP_R: `0x${r}` }))).toEqual({ kind: 'authenticated', name: 'alice', answers: [] });
  });

  it('accepts upper-case hex (libiscsi) and base64', () => {
    const a = new ChapAuthenticator(ONE_WAY, counter());
    const ca = challenge(a);
    expect(a.receive(keys({ CHAP_N: 'alice', CHAP_R: `0X${md5Hex(Uint8Array.of(ca.id), utf8(ALICE.secret), ca.c).toUpperCase()}` })).kind).toBe('authenticated');
    const b = new ChapAuthenticator(ONE_WAY, counter(0x80));
    const cb = challenge(b);
    const r = Buffer.from(md5Hex(Uint8Array.of(cb.id), utf8('bob-secret-5678'), cb.c), 'hex').toString('base64');
    expect(b.receive(keys({ CHAP_N: 'bob', CHAP_R: `0b${r}` }))).toMatchObject({ kind: 'authenticated', name: 'bob' });
  });

  it('uses a longer challenge when configured', () => {
    const { c } = challenge(new ChapAuthenticator({ ...ONE_WAY, challengeBytes: 64 }, counter()));
    expect(c.length).toBe(64);
  });

  it.each([
    ['a wrong secret', 'alice', 'wrong-secret', 'wrong-response'],
    ['an unknown name', 'mallory', 'alice-secret-12', 'unknown-name'],
    ['another user\'s secret', 'bob', 'alice-secret-12', 'wrong-response'],
  ])('refuses %s', (_what, name, secret, failure) => {
    const auth = new ChapAuthenticator(ONE_WAY, counter());
    const { id, c } = challenge(auth);
    expect(auth.receive(keys({ CHAP_N: name, CHAP_R: `0x${md5Hex(Uint8Array.of(id), utf8(secret), c)}` }))).toEqual({ kind: 'failed', failure });
  });

  it('refuses a response computed with another identifier', () => {
    const auth = new ChapAuthenticator(ONE_WAY, counter());
    const { id, c } = challenge(auth);
    expect(auth.receive(keys({ CHAP_N: 'alice', CHAP_R: `0x${md5Hex(Uint8Array.of(id + 1), utf8(ALICE.secret), c)}` }))).toEqual({ kind: 'failed', failure: 'wrong-response' });
  });

  it.each([
    ['CHAP_A without 5', { CHAP_A: '6,7' }, 'algorithm-not-offered'],
    ['CHAP_A not numbers', { CHAP_A: 'MD5' }, 'malformed-value'],
    ['no CHAP_A', {}, 'missing-key'],
    ['CHAP_R before the challenge', { CHAP_N: 'alice', CHAP_R: '0x00' }, 'unexpected-key'],
    ['CHAP_A with CHAP_N', { CHAP_A: '5', CHAP_N: 'alice' }, 'unexpected-key'],
  ])('step 1: %s fails', (_what, k, failure) => {
    expect(new ChapAuthenticator(ONE_WAY, counter()).receive(keys(k))).toEqual({ kind: 'failed', failure });
  });

  it.each([
    ['no CHAP_R', { CHAP_N: 'alice' }, 'missing-key'],
    ['no CHAP_N', { CHAP_R: '0x00112233445566778899aabbccddeeff' }, 'missing-key'],
    ['CHAP_A again', { CHAP_A: '5', CHAP_N: 'alice', CHAP_R: '0x00' }, 'unexpected-key'],
    ['CHAP_R not hex', { CHAP_N: 'alice', CHAP_R: '0xZZ' }, 'malformed-value'],
    ['CHAP_R without a prefix', { CHAP_N: 'alice', CHAP_R: '00112233' }, 'malformed-value'],
    ['CHAP_R over 1024 bytes', { CHAP_N: 'alice', CHAP_R: `0x${'00'.repeat(1025)}` }, 'malformed-value'],
    ['a short CHAP_R', { CHAP_N: 'alice', CHAP_R: '0x0011' }, 'wrong-response'],
  ])('step 3: %s fails', (_what, k, failure) => {
    const auth = new ChapAuthenticator(ONE_WAY, counter());
    challenge(auth);
    expect(auth.receive(keys(k))).toEqual({ kind: 'failed', failure });
  });

  it('is over after success or failure: anything more is unexpected', () => {
    const auth = new ChapAuthenticator(ONE_WAY, counter());
    expect(auth.receive(keys({ CHAP_A: '1' })).kind).toBe('failed');
    expect(auth.receive(keys({ CHAP_A: '5' }))).toEqual({ kind: 'failed', failure: 'unexpected-key' });
  });

  it('refuses an initiator challenge when the target has no credentials', () => {
    const auth = new ChapAuthenticator(ONE_WAY, counter());
    const { id, c } = challenge(auth);
    const r = md5Hex(Uint8Array.of(id), utf8(ALICE.secret), c);
    expect(auth.receive(keys({ CHAP_N: 'alice', CHAP_R: `0x${r}`, CHAP_I: '1', CHAP_C: `0x${'ab'.repeat(16)}` }))).toEqual({ kind: 'failed', failure: 'mutual-unavailable' });
  });
});

describe('mutual CHAP', () => {
  function authenticated(): { auth: ChapAuthenticator; r: string } {
    const auth = new ChapAuthenticator(MUTUAL, counter());
    const { id, c } = challenge(auth);
    return { auth, r: `0x${md5Hex(Uint8Array.of(id), utf8(ALICE.secret), c)}` };
  }

  it('answers the initiator\'s CHAP_I / CHAP_C with the target\'s name and MD5(I ‖ target secret ‖ C)', () => {
    const { auth, r } = authenticated();
    const theirC = bytes('c0 ff ee 00 11 22 33 44 55 66 77 88 99 aa bb cc dd ee ff 01 02 03 04 05 06 07 08 09 0a 0b 0c 0d');
    const step = auth.receive(keys({ CHAP_N: 'alice', CHAP_R: r, CHAP_I: '77', CHAP_C: `0x${hex(theirC).replace(/ /g, '')}` }));
    expect(step).toEqual({
      kind: 'authenticated',
      name: 'alice',
      answers: [
        { key: 'CHAP_N', value: TARGET.name },
        { key: 'CHAP_R', value: `0x${md5Hex(Uint8Array.of(77), utf8(TARGET.secret), theirC)}` },
      ],
    });
  });

  it('takes a base64 challenge and a hex identifier', () => {
    const { auth, r } = authenticated();
    const theirC = bytes('01 02 03 04 05 06 07 08 09 0a 0b 0c 0d 0e 0f 10');
    const step = auth.receive(keys({ CHAP_N: 'alice', CHAP_R: r, CHAP_I: '0xff', CHAP_C: `0b${Buffer.from(theirC).toString('base64')}` }));
    expect(pairsOf(step)['CHAP_R']).toBe(`0x${md5Hex(Uint8Array.of(0xff), utf8(TARGET.secret), theirC)}`);
  });

  it('accepts a 1024-byte initiator challenge', () => {
    const { auth, r } = authenticated();
    const theirC = new Uint8Array(1024).fill(0x5a);
    const step = auth.receive(keys({ CHAP_N: 'alice', CHAP_R: r, CHAP_I: '3', CHAP_C: `0x${'5a'.repeat(1024)}` }));
    expect(pairsOf(step)['CHAP_R']).toBe(`0x${md5Hex(Uint8Array.of(3), utf8(TARGET.secret), theirC)}`);
  });

  it('requires the initiator to challenge when the target is configured for mutual CHAP', () => {
    const { auth, r } = authenticated();
    expect(auth.receive(keys({ CHAP_N: 'alice', CHAP_R: r }))).toEqual({ kind: 'failed', failure: 'mutual-required' });
  });

  it('refuses the target\'s own challenge reflected back (§9.2.1)', () => {
    const auth = new ChapAuthenticator(MUTUAL, counter());
    const { id, c } = challenge(auth);
    const r = `0x${md5Hex(Uint8Array.of(id), utf8(ALICE.secret), c)}`;
    expect(auth.receive(keys({ CHAP_N: 'alice', CHAP_R: r, CHAP_I: String(id), CHAP_C: `0x${hex(c).replace(/ /g, '')}` }))).toEqual({ kind: 'failed', failure: 'reflected-challenge' });
  });

  it.each([
    ['CHAP_I without CHAP_C', { CHAP_I: '1' }, 'missing-key'],
    ['CHAP_C without CHAP_I', { CHAP_C: '0x00112233' }, 'missing-key'],
    ['CHAP_I 256', { CHAP_I: '256', CHAP_C: '0x00112233' }, 'malformed-value'],
    ['CHAP_I not a number', { CHAP_I: 'one', CHAP_C: '0x00112233' }, 'malformed-value'],
    ['an empty CHAP_C', { CHAP_I: '1', CHAP_C: '0x' }, 'malformed-value'],
    ['CHAP_C over 1024 bytes', { CHAP_I: '1', CHAP_C: `0x${'00'.repeat(1025)}` }, 'malformed-value'],
  ])('refuses %s', (_what, extra, failure) => {
    const { auth, r } = authenticated();
    expect(auth.receive(keys({ CHAP_N: 'alice', CHAP_R: r, ...extra }))).toEqual({ kind: 'failed', failure });
  });

  it('does not answer the initiator\'s challenge when its own response is wrong', () => {
    const auth = new ChapAuthenticator(MUTUAL, counter());
    challenge(auth);
    expect(auth.receive(keys({ CHAP_N: 'alice', CHAP_R: `0x${'00'.repeat(16)}`, CHAP_I: '1', CHAP_C: `0x${'ab'.repeat(16)}` }))).toEqual({ kind: 'failed', failure: 'wrong-response' });
  });
});

describe('configuration', () => {
  it.each([15, 1025, 16.5])('refuses a challenge of %s bytes', (n) => {
    expect(() => new ChapAuthenticator({ ...ONE_WAY, challengeBytes: n }, counter())).toThrow(RangeError);
  });

  it('refuses a target secret equal to an initiator secret (§9.2.1), string or bytes', () => {
    expect(() => new ChapAuthenticator({ ...ONE_WAY, target: { name: 't', secret: ALICE.secret } }, counter())).toThrow(RangeError);
    expect(() => new ChapAuthenticator({ ...ONE_WAY, target: { name: 't', secret: 'bob-secret-5678' } }, counter())).toThrow(RangeError);
  });
});
