import { describe, expect, it } from 'vitest';
import {
  VIRTIO_BLK_F_BLK_SIZE,
  VIRTIO_BLK_F_CONFIG_WCE,
  VIRTIO_BLK_F_DISCARD,
  VIRTIO_BLK_F_FLUSH,
  VIRTIO_BLK_F_GEOMETRY,
  VIRTIO_BLK_F_LIFETIME,
  VIRTIO_BLK_F_MQ,
  VIRTIO_BLK_F_RO,
  VIRTIO_BLK_F_SECURE_ERASE,
  VIRTIO_BLK_F_SEG_MAX,
  VIRTIO_BLK_F_SIZE_MAX,
  VIRTIO_BLK_F_TOPOLOGY,
  VIRTIO_BLK_F_WRITE_ZEROES,
  VIRTIO_F_ACCESS_PLATFORM,
  VIRTIO_F_EVENT_IDX,
  VIRTIO_F_INDIRECT_DESC,
  VIRTIO_F_IN_ORDER,
  VIRTIO_F_NOTIFICATION_DATA,
  VIRTIO_F_NOTIF_CONFIG_DATA,
  VIRTIO_F_ORDER_PLATFORM,
  VIRTIO_F_RING_PACKED,
  VIRTIO_F_RING_RESET,
  VIRTIO_F_SR_IOV,
  VIRTIO_F_VERSION_1,
  featureMask,
  featureNames,
  hasFeature,
  isFeatureSet,
  negotiateFeatures,
  validateDriverFeatures,
} from '../../src/virtio/blk-features.js';

// Masks written from the bit numbers in §5.2.3 / §6, not from the constants.
const VERSION_1 = 0x1_0000_0000n; // bit 32
const FLUSH = 0x200n; // bit 9
const RO = 0x20n; // bit 5
const DISCARD = 0x2000n; // bit 13
const EVENT_IDX = 0x2000_0000n; // bit 29
const U64_MAX = 0xffff_ffff_ffff_ffffn;

describe('bit numbers (§5.2.3, §6)', () => {
  it('block device bits', () => {
    expect({
      VIRTIO_BLK_F_SIZE_MAX,
      VIRTIO_BLK_F_SEG_MAX,
      VIRTIO_BLK_F_GEOMETRY,
      VIRTIO_BLK_F_RO,
      VIRTIO_BLK_F_BLK_SIZE,
      VIRTIO_BLK_F_FLUSH,
      VIRTIO_BLK_F_TOPOLOGY,
      VIRTIO_BLK_F_CONFIG_WCE,
      VIRTIO_BLK_F_MQ,
      VIRTIO_BLK_F_DISCARD,
      VIRTIO_BLK_F_WRITE_ZEROES,
      VIRTIO_BLK_F_LIFETIME,
      VIRTIO_BLK_F_SECURE_ERASE,
    }).toEqual({
      VIRTIO_BLK_F_SIZE_MAX: 1,
      VIRTIO_BLK_F_SEG_MAX: 2,
      VIRTIO_BLK_F_GEOMETRY: 4,
      VIRTIO_BLK_F_RO: 5,
      VIRTIO_BLK_F_BLK_SIZE: 6,
      VIRTIO_BLK_F_FLUSH: 9,
      VIRTIO_BLK_F_TOPOLOGY: 10,
      VIRTIO_BLK_F_CONFIG_WCE: 11,
      VIRTIO_BLK_F_MQ: 12,
      VIRTIO_BLK_F_DISCARD: 13,
      VIRTIO_BLK_F_WRITE_ZEROES: 14,
      VIRTIO_BLK_F_LIFETIME: 15,
      VIRTIO_BLK_F_SECURE_ERASE: 16,
    });
  });

  it('device-independent bits', () => {
    expect([
      VIRTIO_F_INDIRECT_DESC,
      VIRTIO_F_EVENT_IDX,
      VIRTIO_F_VERSION_1,
      VIRTIO_F_ACCESS_PLATFORM,
      VIRTIO_F_RING_PACKED,
      VIRTIO_F_IN_ORDER,
      VIRTIO_F_ORDER_PLATFORM,
      VIRTIO_F_SR_IOV,
      VIRTIO_F_NOTIFICATION_DATA,
      VIRTIO_F_NOTIF_CONFIG_DATA,
      VIRTIO_F_RING_RESET,
    ]).toEqual([28, 29, 32, 33, 34, 35, 36, 37, 38, 39, 40]);
  });
});

describe('featureMask / hasFeature', () => {
  it('builds masks', () => {
    expect(featureMask()).toBe(0n);
    expect(featureMask(0)).toBe(1n);
    expect(featureMask(VIRTIO_F_VERSION_1)).toBe(VERSION_1);
    expect(featureMask(VIRTIO_BLK_F_FLUSH, VIRTIO_BLK_F_RO, VIRTIO_F_VERSION_1)).toBe(VERSION_1 | FLUSH | RO);
    expect(featureMask(9, 9)).toBe(FLUSH);
    expect(featureMask(63)).toBe(0x8000_0000_0000_0000n);
  });

  it.each([64, -1, 1.5, Number.NaN])('featureMask rejects bit %s', (bit) => {
    expect(() => featureMask(bit)).toThrow(RangeError);
  });

  it('tests bits, including bit 31/32 across the word boundary and bit 63', () => {
    const set = VERSION_1 | FLUSH | 0x8000_0000_0000_0000n;
    expect(hasFeature(set, 32)).toBe(true);
    expect(hasFeature(set, 31)).toBe(false);
    expect(hasFeature(set, 9)).toBe(true);
    expect(hasFeature(set, 63)).toBe(true);
    expect(hasFeature(0n, 0)).toBe(false);
    expect(hasFeature(U64_MAX, 0)).toBe(true);
  });

  it('hasFeature rejects bits and sets outside 64 bits', () => {
    expect(() => hasFeature(0n, 64)).toThrow(RangeError);
    expect(() => hasFeature(0n, -1)).toThrow(RangeError);
    expect(() => hasFeature(1n << 64n, 0)).toThrow(RangeError);
    expect(() => hasFeature(-1n, 0)).toThrow(RangeError);
  });

  it('isFeatureSet: 0 and 2^64 - 1 are sets; 2^64 and -1 are not', () => {
    expect([0n, U64_MAX, U64_MAX + 1n, -1n].map(isFeatureSet)).toEqual([true, true, false, false]);
  });
});

describe('featureNames', () => {
  it('names known bits in bit order and unknown ones as "bit N"', () => {
    expect(featureNames(0n)).toEqual([]);
    expect(featureNames(VERSION_1 | FLUSH | RO | 0x1n | 0x80n | (1n << 50n) | (1n << 63n))).toEqual([
      'bit 0', // legacy VIRTIO_BLK_F_BARRIER
      'VIRTIO_BLK_F_RO',
      'bit 7', // legacy VIRTIO_BLK_F_SCSI
      'VIRTIO_BLK_F_FLUSH',
      'VIRTIO_F_VERSION_1',
      'bit 50',
      'bit 63',
    ]);
  });

  it('names all 64 bits of a full set', () => {
    const names = featureNames(U64_MAX);
    expect(names).toHaveLength(64);
    expect(names[16]).toBe('VIRTIO_BLK_F_SECURE_ERASE');
    expect(names[28]).toBe('VIRTIO_F_INDIRECT_DESC');
    expect(names[29]).toBe('VIRTIO_F_EVENT_IDX');
    expect(names[40]).toBe('VIRTIO_F_RING_RESET');
    expect(names[41]).toBe('bit 41');
  });

  it('rejects sets outside u64', () => {
    expect(() => featureNames(1n << 64n)).toThrow(RangeError);
    expect(() => featureNames(-1n)).toThrow(RangeError);
  });
});

describe('negotiateFeatures (driver side)', () => {
  it('intersects the offer with what the driver wants', () => {
    const device = VERSION_1 | FLUSH | RO | DISCARD;
    const wanted = VERSION_1 | FLUSH | EVENT_IDX; // EVENT_IDX not offered: dropped
    expect(negotiateFeatures(device, wanted)).toEqual({ ok: true, features: VERSION_1 | FLUSH });
  });

  it('accepts VERSION_1 alone', () => {
    expect(negotiateFeatures(VERSION_1, VERSION_1)).toEqual({ ok: true, features: VERSION_1 });
  });

  it('fails when the device does not offer VERSION_1 (legacy device)', () => {
    const r = negotiateFeatures(FLUSH | RO, VERSION_1 | FLUSH);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason).toMatch(/VIRTIO_F_VERSION_1.*device did not offer/);
  });

  it('fails when the driver does not want VERSION_1', () => {
    const r = negotiateFeatures(VERSION_1 | FLUSH, FLUSH);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason).toMatch(/VIRTIO_F_VERSION_1.*driver did not ask/);
  });

  it('fails on two empty sets', () => {
    expect(negotiateFeatures(0n, 0n).ok).toBe(false);
  });

  it('works at the top of the 64-bit range', () => {
    expect(negotiateFeatures(U64_MAX, U64_MAX)).toEqual({ ok: true, features: U64_MAX });
  });

  it('rejects sets outside u64', () => {
    expect(() => negotiateFeatures(1n << 64n, VERSION_1)).toThrow(RangeError);
    expect(() => negotiateFeatures(VERSION_1, -1n)).toThrow(RangeError);
  });
});

describe('validateDriverFeatures (device side, at FEATURES_OK)', () => {
  const offered = VERSION_1 | FLUSH | DISCARD;

  it('accepts any subset of the offer that includes VERSION_1', () => {
    expect(validateDriverFeatures(offered, offered)).toEqual({ ok: true, features: offered });
    expect(validateDriverFeatures(offered, VERSION_1 | DISCARD)).toEqual({ ok: true, features: VERSION_1 | DISCARD });
  });

  it('rejects a driver that acks a bit the device did not offer (§2.2.1), naming it', () => {
    const r = validateDriverFeatures(offered, VERSION_1 | FLUSH | RO);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason).toMatch(/did not offer: VIRTIO_BLK_F_RO$/);
  });

  it('names unknown unoffered bits by number', () => {
    const r = validateDriverFeatures(offered, VERSION_1 | (1n << 63n));
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason).toMatch(/bit 63/);
  });

  it('rejects a driver that did not accept VERSION_1 (legacy driver)', () => {
    const r = validateDriverFeatures(offered, FLUSH);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason).toMatch(/VIRTIO_F_VERSION_1/);
  });

  it('rejects sets outside u64', () => {
    expect(() => validateDriverFeatures(offered, 1n << 64n)).toThrow(RangeError);
    expect(() => validateDriverFeatures(-1n, VERSION_1)).toThrow(RangeError);
  });
});
