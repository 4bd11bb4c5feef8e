import { describe, expect, it } from 'vitest';
import {
  VIRTIO_BLK_ID_BYTES,
  VIRTIO_BLK_SECTOR_SIZE,
  VIRTIO_BLK_S_IOERR,
  VIRTIO_BLK_S_OK,
  VIRTIO_BLK_S_UNSUPP,
  VIRTIO_BLK_T_DISCARD,
  VIRTIO_BLK_T_FLUSH,
  VIRTIO_BLK_T_GET_ID,
  VIRTIO_BLK_T_GET_LIFETIME,
  VIRTIO_BLK_T_IN,
  VIRTIO_BLK_T_OUT,
  VIRTIO_BLK_T_SECURE_ERASE,
  VIRTIO_BLK_T_WRITE_ZEROES,
  VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP,
  VirtioBlkDiscardWriteZeroes,
  VirtioBlkReqHeader,
  blkStatusName,
  blkTypeName,
  decodeBlkReqHeader,
  decodeDiscardSegment,
  encodeBlkReqHeader,
  encodeDiscardSegments,
  segmentFlagsStatus,
} from '../../src/virtio/blk-wire.js';
import { headerDecodeVectors, headerVectors, segmentFlagVectors, segmentVectors, twoSegments } from './blk-wire.vectors.js';

const norm = (h: string): string => h.trim().split(/\s+/).join(' ');
const hex = (b: Uint8Array): string => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join(' ');
const bytes = (h: string): Uint8Array => Uint8Array.from(norm(h).split(' '), (x) => parseInt(x, 16));

describe('spec constants (§5.2.6)', () => {
  it('request types match the spec #defines', () => {
    expect([
      VIRTIO_BLK_T_IN,
      VIRTIO_BLK_T_OUT,
      VIRTIO_BLK_T_FLUSH,
      VIRTIO_BLK_T_GET_ID,
      VIRTIO_BLK_T_GET_LIFETIME,
      VIRTIO_BLK_T_DISCARD,
      VIRTIO_BLK_T_WRITE_ZEROES,
      VIRTIO_BLK_T_SECURE_ERASE,
    ]).toEqual([0, 1, 4, 8, 10, 11, 13, 14]);
  });

  it('statuses, sizes and flags match the spec', () => {
    expect([VIRTIO_BLK_S_OK, VIRTIO_BLK_S_IOERR, VIRTIO_BLK_S_UNSUPP]).toEqual([0, 1, 2]);
    expect(VIRTIO_BLK_SECTOR_SIZE).toBe(512);
    expect(VIRTIO_BLK_ID_BYTES).toBe(20);
    expect(VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP).toBe(1);
  });

  it('layout tables match the struct declarations', () => {
    expect(VirtioBlkReqHeader).toEqual({ type: 0, reserved: 4, sector: 8, SIZE: 16 });
    expect(VirtioBlkDiscardWriteZeroes).toEqual({ sector: 0, num_sectors: 8, flags: 12, SIZE: 16 });
  });
});

describe('encodeBlkReqHeader / decodeBlkReqHeader', () => {
  it.each(headerVectors)('encodes $name', (v) => {
    expect(hex(encodeBlkReqHeader(v.type, v.sector))).toBe(norm(v.hex));
  });

  it.each(headerVectors)('decodes $name', (v) => {
    expect(decodeBlkReqHeader(bytes(v.hex))).toEqual({ type: v.type, reserved: 0, sector: v.sector });
  });

  it.each(headerDecodeVectors)('decodes reserved raw: $name', (v) => {
    expect(decodeBlkReqHeader(bytes(v.hex))).toEqual({ type: v.type, reserved: v.reserved, sector: v.sector });
  });

  it('rejects sector 2^64 and negative sectors', () => {
    expect(() => encodeBlkReqHeader(0, 1n << 64n)).toThrow(RangeError);
    expect(() => encodeBlkReqHeader(0, 1n << 64n)).toThrow(/sector.*18446744073709551616/);
    expect(() => encodeBlkReqHeader(0, -1n)).toThrow(RangeError);
  });

  it.each([0x1_0000_0000, -1, 1.5, Number.NaN, Infinity])('rejects type %s', (type) => {
    expect(() => encodeBlkReqHeader(type, 0n)).toThrow(RangeError);
  });

  it.each([0, 1, 15])('decode throws RangeError on a %i-byte buffer', (n) => {
    expect(() => decodeBlkReqHeader(new Uint8Array(n))).toThrow(RangeError);
  });

  it('decodes the first 16 bytes of a longer buffer and honours byteOffset', () => {
    const backing = bytes('aa aa aa  01 00 00 00  00 00 00 00  07 00 00 00 00 00 00 00  bb bb');
    const sub = backing.subarray(3);
    expect(decodeBlkReqHeader(sub)).toEqual({ type: 1, reserved: 0, sector: 7n });
  });
});

describe('discard / write zeroes segments', () => {
  it.each(segmentVectors)('encodes $name', (v) => {
    expect(hex(encodeDiscardSegments([v.seg]))).toBe(norm(v.hex));
  });

  it.each(segmentVectors)('decodes $name', (v) => {
    const flags = v.seg.unmap ? 1 : 0;
    expect(decodeDiscardSegment(bytes(v.hex), 0)).toEqual({ ...v.seg, flags });
  });

  it('encodes segments back to back and decodes each at its offset', () => {
    expect(hex(encodeDiscardSegments(twoSegments.segs))).toBe(norm(twoSegments.hex));
    const b = bytes(twoSegments.hex);
    expect(decodeDiscardSegment(b, 0)).toEqual({ ...twoSegments.segs[0], flags: 0 });
    expect(decodeDiscardSegment(b, 16)).toEqual({ ...twoSegments.segs[1], flags: 1 });
  });

  it('encodes no segments as no bytes', () => {
    expect(encodeDiscardSegments([])).toEqual(new Uint8Array(0));
  });

  it.each(segmentFlagVectors)('decode returns raw flags: $name', (v) => {
    const d = decodeDiscardSegment(bytes(v.hex), 0);
    expect(d.flags).toBe(v.flags);
    expect(d.unmap).toBe(v.unmap);
  });

  it('rejects out-of-range fields, naming the segment', () => {
    const ok = { sector: 0n, numSectors: 0, unmap: false };
    expect(() => encodeDiscardSegments([ok, { ...ok, sector: 1n << 64n }])).toThrow(/segment 1: sector/);
    expect(() => encodeDiscardSegments([{ ...ok, sector: -1n }])).toThrow(RangeError);
    expect(() => encodeDiscardSegments([{ ...ok, numSectors: 0x1_0000_0000 }])).toThrow(/segment 0: num_sectors.*4294967296/);
    expect(() => encodeDiscardSegments([{ ...ok, numSectors: -1 }])).toThrow(RangeError);
    expect(() => encodeDiscardSegments([{ ...ok, numSectors: 0.5 }])).toThrow(RangeError);
  });

  it('decode bounds: exactly 16 bytes left is fine, 15 or a bad offset throws', () => {
    const b = new Uint8Array(32);
    expect(decodeDiscardSegment(b, 16).numSectors).toBe(0);
    expect(() => decodeDiscardSegment(b, 17)).toThrow(RangeError);
    expect(() => decodeDiscardSegment(new Uint8Array(15), 0)).toThrow(RangeError);
    expect(() => decodeDiscardSegment(b, -1)).toThrow(RangeError);
    expect(() => decodeDiscardSegment(b, 1.5)).toThrow(RangeError);
    expect(() => decodeDiscardSegment(b, Number.NaN)).toThrow(RangeError);
  });

  it('decode honours byteOffset of a subarray', () => {
    const backing = new Uint8Array(40).fill(0xee);
    backing.set(bytes(segmentVectors[3]?.hex ?? ''), 8);
    expect(decodeDiscardSegment(backing.subarray(8, 24), 0)).toEqual({
      sector: 0x0102_0304_0506_0708n,
      numSectors: 0x090a_0b0c,
      unmap: false,
      flags: 0,
    });
  });
});

describe('segmentFlagsStatus (§5.2.6.2)', () => {
  it.each([
    // [type, flags, expected status]
    ['discard, no flags', 11, 0x0, 0],
    ['discard, unmap', 11, 0x1, 2],
    ['discard, reserved bit 1', 11, 0x2, 2],
    ['write zeroes, no flags', 13, 0x0, 0],
    ['write zeroes, unmap', 13, 0x1, 0],
    ['write zeroes, reserved bit 31', 13, 0x8000_0000, 2],
    ['write zeroes, unmap + reserved', 13, 0x8000_0001, 2],
    ['secure erase, no flags', 14, 0x0, 0],
    ['secure erase, reserved bit 2', 14, 0x4, 2],
    ['secure erase, all bits', 14, 0xffff_ffff, 2],
  ] as const)('%s', (_name, type, flags, status) => {
    expect(segmentFlagsStatus(type, flags)).toBe(status);
  });
});

describe('names', () => {
  it('names statuses', () => {
    expect(blkStatusName(0)).toBe('VIRTIO_BLK_S_OK');
    expect(blkStatusName(1)).toBe('VIRTIO_BLK_S_IOERR');
    expect(blkStatusName(2)).toBe('VIRTIO_BLK_S_UNSUPP');
    expect(blkStatusName(3)).toBe('status 3');
  });

  it('names types, and unknown / legacy types by number', () => {
    expect(blkTypeName(0)).toBe('VIRTIO_BLK_T_IN');
    expect(blkTypeName(13)).toBe('VIRTIO_BLK_T_WRITE_ZEROES');
    expect(blkTypeName(14)).toBe('VIRTIO_BLK_T_SECURE_ERASE');
    expect(blkTypeName(5)).toBe('type 5'); // legacy VIRTIO_BLK_T_FLUSH_OUT (§5.2.6.3)
    expect(blkTypeName(0x8000_0000)).toBe('type 2147483648'); // legacy VIRTIO_BLK_T_BARRIER
  });
});
