// Text data segments (RFC 7143 §6.1, §6.2): key=value pairs ended by NUL,
// their limits, and the C-bit accumulator; the §6.1 value formats. Expected
// bytes are written out as hex from the RFC's format, not produced by the
// encoder under test.

import { describe, expect, it } from 'vitest';
import { valueLimit } from '../../src/iscsi/keys.js';
import {
  DEFAULT_TEXT_LIMIT,
  MAX_KEY_NAME_BYTES,
  MAX_SIMPLE_VALUE_BYTES,
  TextAccumulator,
  booleanValue,
  decodeBinaryValue,
  encodeHexValue,
  encodeText,
  isKeyName,
  parseBooleanValue,
  parseNumericalValue,
  parseText,
  splitText,
} from '../../src/iscsi/text.js';
import { bytes, hex } from './hex.js';

const ascii = (s: string): Uint8Array => new TextEncoder().encode(s);

describe('constants (RFC 7143 §6.1)', () => {
  it('match the spec', () => {
    expect(MAX_KEY_NAME_BYTES).toBe(63);
    expect(MAX_SIMPLE_VALUE_BYTES).toBe(255);
    expect(DEFAULT_TEXT_LIMIT).toBe(65_536);
  });
});

describe('parseText', () => {
  it('reads pairs in order', () => {
    // "HeaderDigest=None\0MaxBurstLength=512\0"
    const data = bytes('48 65 61 64 65 72 44 69 67 65 73 74 3d 4e 6f 6e 65 00 4d 61 78 42 75 72 73 74 4c 65 6e 67 74 68 3d 35 31 32 00');
    expect(parseText(data)).toEqual({
      ok: true,
      value: [
        { key: 'HeaderDigest', value: 'None' },
        { key: 'MaxBurstLength', value: '512' },
      ],
    });
  });

  it('splits at the first = only: values may contain =', () => {
    expect(parseText(ascii('TargetAlias=a=b\0'))).toEqual({ ok: true, value: [{ key: 'TargetAlias', value: 'a=b' }] });
  });

  it('accepts an empty value', () => {
    expect(parseText(ascii('InitiatorAlias=\0'))).toEqual({ ok: true, value: [{ key: 'InitiatorAlias', value: '' }] });
  });

  it('reads an empty segment as no pairs', () => {
    expect(parseText(new Uint8Array(0))).toEqual({ ok: true, value: [] });
  });

  it('skips NUL padding between and after pairs', () => {
    expect(parseText(bytes('41 3d 31 00 00 00 42 3d 32 00 00 00'))).toEqual({
      ok: true,
      value: [
        { key: 'A', value: '1' },
        { key: 'B', value: '2' },
      ],
    });
  });

  it('decodes UTF-8 values', () => {
    expect(parseText(bytes('49 6e 69 74 69 61 74 6f 72 41 6c 69 61 73 3d c3 a9 00'))).toEqual({ ok: true, value: [{ key: 'InitiatorAlias', value: 'é' }] });
  });

  it.each([
    ['a last pair without NUL', 'A=1\0B=2', { kind: 'not-terminated' }],
    ['a pair without =', 'A=1\0Bogus\0', { kind: 'missing-equals', offset: 4 }],
    ['an empty key', '=1\0', { kind: 'empty-key', offset: 0 }],
    ['a key with a space', 'Max Burst=1\0', { kind: 'invalid-key', key: 'Max Burst' }],
    ['a key starting with a digit', '9Lives=1\0', { kind: 'invalid-key', key: '9Lives' }],
    ['a key with #, not X#', 'A#B=1\0', { kind: 'invalid-key', key: 'A#B' }],
    ['a duplicate key', 'A=1\0B=2\0A=1\0', { kind: 'duplicate-key', key: 'A' }],
  ])('refuses %s', (_name, text, error) => {
    expect(parseText(ascii(text))).toEqual({ ok: false, error });
  });

  it('refuses invalid UTF-8 with the offset of its pair', () => {
    expect(parseText(bytes('41 3d 31 00 42 3d ff 00'))).toEqual({ ok: false, error: { kind: 'invalid-utf8', offset: 4 } });
  });

  it('accepts the registered key iSCSIProtocolLevel and X- / X# extension keys', () => {
    const r = parseText(ascii('iSCSIProtocolLevel=1\0X-com.example.Flag=Yes\0X#Registered=1\0'));
    expect(r.ok && r.value.map((p) => p.key)).toEqual(['iSCSIProtocolLevel', 'X-com.example.Flag', 'X#Registered']);
  });

  it('key names: 63 bytes pass, 64 do not', () => {
    const k63 = `K${'e'.repeat(62)}`;
    const k64 = `K${'e'.repeat(63)}`;
    expect(parseText(ascii(`${k63}=1\0`))).toEqual({ ok: true, value: [{ key: k63, value: '1' }] });
    expect(parseText(ascii(`${k64}=1\0`))).toEqual({ ok: false, error: { kind: 'key-too-long', key: k64, length: 64 } });
  });

  it('values: 255 bytes pass, 256 do not, counted in bytes not characters', () => {
    expect(parseText(ascii(`A=${'v'.repeat(255)}\0`)).ok).toBe(true);
    expect(parseText(ascii(`A=${'v'.repeat(256)}\0`))).toEqual({ ok: false, error: { kind: 'value-too-long', key: 'A', length: 256, limit: 255 } });
    // 128 × "é" is 128 characters but 256 bytes.
    expect(parseText(ascii(`A=${'é'.repeat(128)}\0`))).toEqual({ ok: false, error: { kind: 'value-too-long', key: 'A', length: 256, limit: 255 } });
  });

  it('applies the per-key limit of the key table: CHAP_C up to 1024 bytes in hex', () => {
    const c1024 = `0x${'ab'.repeat(1024)}`;
    const c1025 = `0x${'ab'.repeat(1025)}`;
    expect(parseText(ascii(`CHAP_C=${c1024}\0`), valueLimit).ok).toBe(true);
    expect(parseText(ascii(`CHAP_C=${c1025}\0`), valueLimit)).toEqual({ ok: false, error: { kind: 'value-too-long', key: 'CHAP_C', length: 2052, limit: 2050 } });
    expect(parseText(ascii(`TargetAlias=${'v'.repeat(256)}\0`), valueLimit).ok).toBe(false);
  });
});

describe('isKeyName', () => {
  it.each([
    ['MaxBurstLength', true],
    ['X-com.example.a_b+c@d', true],
    ['X#Name', true],
    ['', false],
    ['Bad Key', false],
    ['K'.repeat(64), false],
  ])('%s → %s', (k, expected) => {
    expect(isKeyName(k)).toBe(expected);
  });
});

describe('encodeText', () => {
  it('writes key=value NUL for each pair', () => {
    expect(hex(encodeText([{ key: 'A', value: 'Yes' }, { key: 'Bc', value: '' }]))).toBe('41 3d 59 65 73 00 42 63 3d 00');
  });

  it('writes UTF-8', () => {
    expect(hex(encodeText([{ key: 'TargetAlias', value: 'é' }]))).toBe('54 61 72 67 65 74 41 6c 69 61 73 3d c3 a9 00');
  });

  it('writes nothing for no pairs', () => {
    expect(encodeText([]).length).toBe(0);
  });

  it('throws on a malformed key or a NUL in a value (caller bugs)', () => {
    expect(() => encodeText([{ key: 'bad key', value: '1' }])).toThrow(RangeError);
    expect(() => encodeText([{ key: 'A', value: 'x\0y' }])).toThrow(RangeError);
  });
});

describe('splitText', () => {
  it('cuts anywhere, pairs included, into segments of at most the limit', () => {
    const parts = splitText(ascii('Key=Value\0'), 4);
    expect(parts.map((p) => new TextDecoder().decode(p))).toEqual(['Key=', 'Valu', 'e\0']);
  });

  it('returns one part when it fits, and one empty part for nothing', () => {
    expect(splitText(ascii('A=1\0'), 4)).toHaveLength(1);
    expect(splitText(new Uint8Array(0), 512).map((p) => p.length)).toEqual([0]);
  });

  it.each([0, -1, 1.5])('refuses segment size %s', (n) => {
    expect(() => splitText(ascii('A=1\0'), n)).toThrow(RangeError);
  });
});

describe('TextAccumulator (C bit)', () => {
  it('joins segments until C=0, a pair split mid-key', () => {
    const acc = new TextAccumulator();
    expect(acc.push(ascii('InitiatorName=iqn.x\0Targ'), true)).toEqual({ ok: true, value: undefined });
    expect(acc.pending).toBe(true);
    expect(acc.push(ascii('etNa'), true)).toEqual({ ok: true, value: undefined });
    const done = acc.push(ascii('me=iqn.y\0'), false);
    expect(done.ok && new TextDecoder().decode(done.value)).toBe('InitiatorName=iqn.x\0TargetName=iqn.y\0');
    expect(acc.pending).toBe(false);
  });

  it('hands a single C=0 segment through', () => {
    const acc = new TextAccumulator();
    const data = ascii('A=1\0');
    expect(acc.push(data, false)).toEqual({ ok: true, value: data });
  });

  it('keeps a copy of each continued segment', () => {
    const acc = new TextAccumulator();
    const first = ascii('A=');
    acc.push(first, true);
    first.fill(0x5a);
    const done = acc.push(ascii('1\0'), false);
    expect(done.ok && new TextDecoder().decode(done.value)).toBe('A=1\0');
  });

  it('refuses a sequence over its limit, drops it, and works afterwards', () => {
    const acc = new TextAccumulator(8);
    expect(acc.push(ascii('A=1234'), true).ok).toBe(true);
    expect(acc.push(ascii('567\0'), false)).toEqual({ ok: false, error: { kind: 'too-much-text', length: 10, limit: 8 } });
    expect(acc.pending).toBe(false);
    expect(acc.push(ascii('B=2\0'), false).ok).toBe(true);
  });

  it('a limit of exactly the length passes', () => {
    expect(new TextAccumulator(4).push(ascii('A=1\0'), false).ok).toBe(true);
  });

  it.each([0, 2.5])('refuses limit %s', (n) => {
    expect(() => new TextAccumulator(n)).toThrow(RangeError);
  });
});

describe('value formats (RFC 7143 §6.1)', () => {
  it.each([
    ['0', 0n],
    ['512', 512n],
    ['0x200', 512n],
    ['0X1f', 31n],
    ['18446744073709551615', 2n ** 64n - 1n],
    ['0xffffffffffffffff', 2n ** 64n - 1n],
  ])('numerical %s = %s', (s, n) => {
    expect(parseNumericalValue(s)).toBe(n);
  });

  it.each(['', '0123', '-1', '+1', '1.5', '0x', '0xg', ' 1', '18446744073709551616', '0x10000000000000000', 'Yes'])('numerical %j is not one', (s) => {
    expect(parseNumericalValue(s)).toBeUndefined();
  });

  it('booleans are exactly Yes and No', () => {
    expect(parseBooleanValue('Yes')).toBe(true);
    expect(parseBooleanValue('No')).toBe(false);
    expect(parseBooleanValue('yes')).toBeUndefined();
    expect(parseBooleanValue('1')).toBeUndefined();
    expect([booleanValue(true), booleanValue(false)]).toEqual(['Yes', 'No']);
  });

  it.each([
    ['0x0102ff', '01 02 ff'],
    ['0XABcd', 'ab cd'],
    ['0x123', '01 23'], // (n+1)/2 bytes: an odd digit count has a leading zero nibble
    ['0bAQL/', '01 02 ff'],
    ['0BAQI=', '01 02'],
    ['0bAQ==', '01'],
  ])('binary %s = %s', (s, h) => {
    const b = decodeBinaryValue(s);
    expect(b && hex(b)).toBe(h);
  });

  it.each(['', '0x', '0b', '0bAQ', '0bA=Q=', '0b!!!!', '0102', '0xzz', 'x01'])('binary %j is not one', (s) => {
    expect(decodeBinaryValue(s)).toBeUndefined();
  });

  it('encodes binary as 0x and two lower-case digits a byte', () => {
    expect(encodeHexValue(bytes('00 0a ff'))).toBe('0x000aff');
    expect(encodeHexValue(bytes('11 22 33 44').subarray(1, 3))).toBe('0x2233');
  });
});
