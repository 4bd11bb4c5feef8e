import { describe, expect, it } from 'vitest';
import {
  VIRTIO_BLK_CONFIG_SIZE,
  VirtioBlkConfigLayout,
  decodeBlkConfig,
  encodeBlkConfig,
  type VirtioBlkConfig,
} from '../../src/virtio/blk-config.js';
import { configVectors, dirtyPaddingHex, fields, zeroConfig, type FieldSpec } from './blk-config.vectors.js';

const norm = (h: string): string => h.trim().split(/\s+/).join(' ');
const hex = (b: Uint8Array): string => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join(' ');
const bytes = (h: string): Uint8Array => Uint8Array.from(norm(h).split(' '), (x) => parseInt(x, 16));

/** zeroConfig with one field replaced. */
function withField(f: FieldSpec, value: number | bigint): VirtioBlkConfig {
  const cfg = structuredClone(zeroConfig);
  const target = (f.group === undefined ? cfg : cfg[f.group]) as unknown as Record<string, unknown>;
  target[f.key] = value;
  return cfg;
}

const maxOf = (f: FieldSpec): number | bigint => (f.width === 8 ? (1n << 64n) - 1n : 2 ** (8 * f.width) - 1);
const maxPlusOne = (f: FieldSpec): number | bigint => (f.width === 8 ? 1n << 64n : 2 ** (8 * f.width));
const one = (f: FieldSpec): number | bigint => (f.width === 8 ? 1n : 1);

describe('layout (§5.2.4)', () => {
  it('VirtioBlkConfigLayout matches the hand-computed offsets', () => {
    const specName = (f: FieldSpec): string => f.spec.replace(/^(geometry|topology)\./, '');
    for (const f of fields) {
      expect([f.spec, VirtioBlkConfigLayout[specName(f) as keyof typeof VirtioBlkConfigLayout]]).toEqual([f.spec, f.offset]);
    }
    expect(VirtioBlkConfigLayout.geometry).toBe(16);
    expect(VirtioBlkConfigLayout.topology).toBe(24);
    expect(VirtioBlkConfigLayout.unused0).toBe(33);
    expect(VirtioBlkConfigLayout.unused1).toBe(57);
    expect(VIRTIO_BLK_CONFIG_SIZE).toBe(72);
  });

  it('the hand table tiles the struct: fields plus padding cover 0..71 exactly once', () => {
    const owner = new Array<string | undefined>(72).fill(undefined);
    const claim = (name: string, offset: number, width: number): void => {
      for (let i = offset; i < offset + width; i++) {
        expect(owner[i], `byte ${i} claimed by ${owner[i] ?? ''} and ${name}`).toBeUndefined();
        owner[i] = name;
      }
    };
    for (const f of fields) claim(f.spec, f.offset, f.width);
    claim('unused0', 33, 1);
    claim('unused1', 57, 3);
    expect(owner.every((o) => o !== undefined)).toBe(true);
  });
});

describe('encodeBlkConfig / decodeBlkConfig vectors', () => {
  it.each(configVectors)('encodes $name', (v) => {
    expect(hex(encodeBlkConfig(v.cfg))).toBe(norm(v.hex));
  });

  it.each(configVectors)('decodes $name', (v) => {
    expect(decodeBlkConfig(bytes(v.hex))).toEqual(v.cfg);
  });

  it('decode ignores non-zero padding', () => {
    expect(decodeBlkConfig(bytes(dirtyPaddingHex))).toEqual(configVectors[1]?.cfg);
  });

  it('decode reads the first 72 bytes of a longer buffer (e.g. one with zoned fields after)', () => {
    const long = new Uint8Array(96).fill(0xee);
    long.set(bytes(configVectors[1]?.hex ?? ''), 0);
    expect(decodeBlkConfig(long)).toEqual(configVectors[1]?.cfg);
  });

  it('decode honours byteOffset of a subarray', () => {
    const backing = new Uint8Array(80).fill(0xee);
    backing.set(bytes(configVectors[2]?.hex ?? ''), 5);
    expect(decodeBlkConfig(backing.subarray(5))).toEqual(configVectors[2]?.cfg);
  });

  it.each([0, 1, 8, 71])('decode throws RangeError on a %i-byte buffer', (n) => {
    expect(() => decodeBlkConfig(new Uint8Array(n))).toThrow(RangeError);
  });

  it('the encoder returns a fresh 72-byte buffer each time', () => {
    const a = encodeBlkConfig(zeroConfig);
    const b = encodeBlkConfig(zeroConfig);
    expect(a.length).toBe(72);
    expect(a.buffer).not.toBe(b.buffer);
  });
});

describe.each(fields)('field $spec (offset $offset, $width bytes)', (f) => {
  it('zero encodes as zeros', () => {
    expect(encodeBlkConfig(withField(f, f.width === 8 ? 0n : 0))).toEqual(new Uint8Array(72));
  });

  it('1 sets only the low byte of the field (little-endian)', () => {
    const expected = new Uint8Array(72);
    expected[f.offset] = 1;
    expect(hex(encodeBlkConfig(withField(f, one(f))))).toBe(hex(expected));
    expect(decodeBlkConfig(expected)).toEqual(withField(f, one(f)));
  });

  it('max sets exactly the field bytes to ff', () => {
    const expected = new Uint8Array(72).fill(0xff, f.offset, f.offset + f.width);
    expect(hex(encodeBlkConfig(withField(f, maxOf(f))))).toBe(hex(expected));
    expect(decodeBlkConfig(expected)).toEqual(withField(f, maxOf(f)));
  });

  it('max + 1 throws a RangeError naming the field and value', () => {
    const v = maxPlusOne(f);
    const escaped = f.spec.replace('.', '\\.');
    expect(() => encodeBlkConfig(withField(f, v))).toThrow(RangeError);
    expect(() => encodeBlkConfig(withField(f, v))).toThrow(new RegExp(`virtio_blk_config\\.${escaped}\\b.*\\b${String(v)}$`));
  });

  it('negative values throw', () => {
    expect(() => encodeBlkConfig(withField(f, f.width === 8 ? -1n : -1))).toThrow(RangeError);
  });

  it.runIf(f.width !== 8)('non-integers, NaN and Infinity throw', () => {
    for (const bad of [0.5, Number.NaN, Infinity]) {
      expect(() => encodeBlkConfig(withField(f, bad))).toThrow(RangeError);
    }
  });
});
