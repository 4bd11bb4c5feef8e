import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  READ_CAPACITY_10_DATA_LENGTH,
  READ_CAPACITY_16_DATA_LENGTH,
  RETURNED_LBA_USE_READ_CAPACITY_16,
  RcBasis,
  buildReadCapacity10Data,
  buildReadCapacity16Data,
} from '../../src/scsi/capacity-data.js';
import { disk } from './inquiry.vectors.js';
import { capacityVectors } from './capacity-data.vectors.js';

const norm = (h: string): string => h.trim().split(/\s+/).join(' ');
const hex = (b: Uint8Array): string => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join(' ');

describe('constants (SBC-4)', () => {
  it('match the spec', () => {
    expect(READ_CAPACITY_10_DATA_LENGTH).toBe(8);
    expect(READ_CAPACITY_16_DATA_LENGTH).toBe(32);
    expect(RETURNED_LBA_USE_READ_CAPACITY_16).toBe(0xffff_ffff);
    expect(RcBasis).toEqual({ ZONED_LOW_CAPACITY: 0, LAST_LOGICAL_BLOCK: 1 });
  });
});

describe('READ CAPACITY parameter data vectors', () => {
  for (const v of capacityVectors) {
    it(`(10) ${v.name}`, () => {
      expect(hex(buildReadCapacity10Data(v.info))).toBe(norm(v.rc10));
    });
    it(`(16) ${v.name}`, () => {
      expect(hex(buildReadCapacity16Data(v.info))).toBe(norm(v.rc16));
    });
  }
});

describe('READ CAPACITY invariants', () => {
  it('(10) is the last LBA or FFFFFFFFh; (16) is always the last LBA', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 1n, max: 0xffff_ffff_ffff_ffffn }), (blocks) => {
        const info = { ...disk, blocks };
        const rc10 = new DataView(buildReadCapacity10Data(info).buffer);
        const rc16 = new DataView(buildReadCapacity16Data(info).buffer);
        const last = blocks - 1n;
        const expected10 = last > 0xffff_ffffn ? 0xffff_ffff : Number(last);
        return rc10.getUint32(0) === expected10 && rc16.getBigUint64(0) === last && rc16.getUint32(8) === 512;
      }),
    );
  });

  it('rejects capacities the fields cannot describe', () => {
    expect(() => buildReadCapacity10Data({ ...disk, blocks: 0n })).toThrow(RangeError);
    expect(() => buildReadCapacity16Data({ ...disk, blocks: 1n << 64n })).toThrow(RangeError);
    expect(() => buildReadCapacity16Data({ ...disk, lowestAlignedLba: 0x4000 })).toThrow(RangeError);
    expect(() => buildReadCapacity16Data({ ...disk, physicalBlockExp: 16 })).toThrow(RangeError);
  });
});
