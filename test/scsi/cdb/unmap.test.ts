import { describe, expect, it } from 'vitest';
import {
  decodeUnmapParameterList,
  encodeUnmapParameterList,
  UNMAP_MAX_DESCRIPTORS,
} from '../../../src/scsi/cdb/unmap.js';
import { unmapListDecodeVectors, unmapListFaults, unmapListVectors } from './unmap.vectors.js';

const norm = (h: string): string => h.trim().split(/\s+/).join(' ');
const hex = (b: Uint8Array): string => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join(' ');
const bytes = (h: string): Uint8Array => (norm(h) === '' ? new Uint8Array(0) : Uint8Array.from(norm(h).split(' '), (x) => parseInt(x, 16)));

describe('UNMAP parameter list (SBC-4)', () => {
  it.each(unmapListVectors)('encode: $name', (v) => {
    expect(hex(encodeUnmapParameterList(v.descriptors))).toBe(norm(v.hex));
  });
  it.each(unmapListVectors)('decode: $name', (v) => {
    expect(decodeUnmapParameterList(bytes(v.hex))).toEqual({ ok: true, value: { descriptors: v.descriptors } });
  });
  it.each(unmapListDecodeVectors)('decode only: $name', (v) => {
    expect(decodeUnmapParameterList(bytes(v.hex))).toEqual({ ok: true, value: { descriptors: v.descriptors } });
  });
  it.each(unmapListFaults)('fault: $name', (v) => {
    const fault =
      v.byte === undefined
        ? { key: 0x5, asc: v.asc, ascq: 0x00 }
        : { key: 0x5, asc: v.asc, ascq: 0x00, field: v.bit === undefined ? { cdb: false, byte: v.byte } : { cdb: false, byte: v.byte, bit: v.bit } };
    expect(decodeUnmapParameterList(bytes(v.hex))).toEqual({ ok: false, fault });
  });

  it('reads through a subarray with a byte offset', () => {
    const buf = new Uint8Array(64);
    buf.set(encodeUnmapParameterList([{ lba: 5n, blocks: 1 }]), 3);
    expect(decodeUnmapParameterList(buf.subarray(3, 3 + 24))).toEqual({ ok: true, value: { descriptors: [{ lba: 5n, blocks: 1 }] } });
  });

  it('descriptor count: max fits the 16-bit UNMAP DATA LENGTH, max + 1 throws', () => {
    const max = Array.from({ length: UNMAP_MAX_DESCRIPTORS }, (_x, i) => ({ lba: BigInt(i), blocks: 1 }));
    const list = encodeUnmapParameterList(max);
    expect(new DataView(list.buffer).getUint16(0)).toBe(6 + 16 * UNMAP_MAX_DESCRIPTORS);
    expect(UNMAP_MAX_DESCRIPTORS).toBe(4095);
    expect(() => encodeUnmapParameterList([...max, { lba: 0n, blocks: 1 }])).toThrow(RangeError);
    expect(() => encodeUnmapParameterList([{ lba: -1n, blocks: 1 }])).toThrow(RangeError);
    expect(() => encodeUnmapParameterList([{ lba: 0n, blocks: 0x1_0000_0000 }])).toThrow(RangeError);
  });
});
