import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  VIRTQ_AVAIL_F_NO_INTERRUPT,
  VIRTQ_DESC_F_INDIRECT,
  VIRTQ_DESC_F_NEXT,
  VIRTQ_DESC_F_WRITE,
  VIRTQ_MAX_SIZE,
  VIRTQ_USED_F_NO_NOTIFY,
  VirtqAlign,
  VirtqAvail,
  VirtqDesc,
  VirtqUsed,
  VirtqUsedElem,
  isValidQueueSize,
  needEvent,
  splitRingLayout,
} from '../../src/virtio/ring-layout.js';
import { layoutVectors, needEventVectors } from './ring-layout.vectors.js';

describe('struct layouts and flags (§2.7)', () => {
  it('struct virtq_desc: le64 addr; le32 len; le16 flags; le16 next (§2.7.5)', () => {
    expect(VirtqDesc).toEqual({ addr: 0, len: 8, flags: 12, next: 14, SIZE: 16 });
  });

  it('struct virtq_avail: le16 flags; le16 idx; le16 ring[] (§2.7.6)', () => {
    expect(VirtqAvail).toEqual({ flags: 0, idx: 2, ring: 4, ENTRY_SIZE: 2 });
  });

  it('struct virtq_used / virtq_used_elem: le16 flags; le16 idx; {le32 id; le32 len}[] (§2.7.8)', () => {
    expect(VirtqUsed).toEqual({ flags: 0, idx: 2, ring: 4, ENTRY_SIZE: 8 });
    expect(VirtqUsedElem).toEqual({ id: 0, len: 4 });
  });

  it('flag values', () => {
    expect([VIRTQ_DESC_F_NEXT, VIRTQ_DESC_F_WRITE, VIRTQ_DESC_F_INDIRECT]).toEqual([1, 2, 4]);
    expect(VIRTQ_AVAIL_F_NO_INTERRUPT).toBe(1);
    expect(VIRTQ_USED_F_NO_NOTIFY).toBe(1);
  });

  it('alignment table and maximum queue size', () => {
    expect(VirtqAlign).toEqual({ desc: 16, avail: 2, used: 4 });
    expect(VIRTQ_MAX_SIZE).toBe(32768);
  });
});

describe('splitRingLayout', () => {
  it.each(layoutVectors)('qsz $qsz, used aligned to $usedAlign', (v) => {
    const { qsz, usedAlign, ...expected } = v;
    expect(splitRingLayout(qsz, usedAlign)).toEqual(expected);
  });

  it('STYLE.md seed sizes', () => {
    expect(splitRingLayout(8).size).toBe(222);
    expect(splitRingLayout(8, 4096).size).toBe(4166);
    expect(splitRingLayout(256, 4096).size).toBe(10246);
  });

  it('defaults the used alignment to 4', () => {
    expect(splitRingLayout(4)).toEqual(splitRingLayout(4, 4));
  });

  it('every power of two 1..32768 meets the §2.7 alignment and size table', () => {
    for (let qsz = 1; qsz <= 32768; qsz *= 2) {
      for (const usedAlign of [4, 8, 64, 4096]) {
        const l = splitRingLayout(qsz, usedAlign);
        expect(l.desc).toBe(0);
        expect(l.avail % 2).toBe(0);
        expect(l.used % usedAlign).toBe(0);
        // Descriptor Table 16*qsz, Available Ring 6+2*qsz, Used Ring 6+8*qsz.
        expect(l.avail - l.desc).toBe(16 * qsz);
        expect(l.usedEvent + 2 - l.avail).toBe(6 + 2 * qsz);
        expect(l.availEvent + 2 - l.used).toBe(6 + 8 * qsz);
        expect(l.size).toBe(l.availEvent + 2);
        // Padding before the used ring is the minimum that aligns it.
        expect(l.used - (l.usedEvent + 2)).toBeGreaterThanOrEqual(0);
        expect(l.used - (l.usedEvent + 2)).toBeLessThan(usedAlign);
      }
    }
  });

  it.each([0, 3, 6, 65536, 32769, 65535, -1, -8, 1.5, Number.NaN, Infinity])('rejects queue size %s', (qsz) => {
    expect(isValidQueueSize(qsz)).toBe(false);
    expect(() => splitRingLayout(qsz)).toThrow(RangeError);
  });

  it('accepts exactly the powers of two 1..32768', () => {
    const valid: number[] = [];
    for (let n = 0; n <= 65536; n++) if (isValidQueueSize(n)) valid.push(n);
    expect(valid).toEqual([1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384, 32768]);
  });

  it.each([0, 1, 2, 3, 6, 12, -4])('rejects used alignment %s', (a) => {
    expect(() => splitRingLayout(8, a)).toThrow(RangeError);
  });

  // A 32-bit `&` alone would let NaN, Infinity, fractions and values ≥ 2^32 through.
  it.each([Number.NaN, Infinity, 4.5, 3 * 2 ** 32])('rejects used alignment %s', (a) => {
    expect(() => splitRingLayout(8, a)).toThrow(RangeError);
  });
});

describe('needEvent', () => {
  it.each(needEventVectors)('needEvent(%i, %i, %i) === %s', (event, next, old, expected) => {
    expect(needEvent(event, next, old)).toBe(expected);
  });

  it('is "event lies in [old, next) mod 2^16" for all 16-bit inputs', () => {
    const u16 = fc.integer({ min: 0, max: 0xffff });
    fc.assert(
      fc.property(u16, u16, u16, (event, next, old) => {
        const inWindow = ((event - old + 0x10000) % 0x10000) < ((next - old + 0x10000) % 0x10000);
        expect(needEvent(event, next, old)).toBe(inWindow);
      }),
      { numRuns: 2000 },
    );
  });
});
