// virtio-blk feature bits and 64-bit feature-set arithmetic.
// Spec: VIRTIO 1.2 (virtio-v1.2-cs01): block device bits §5.2.3, device-independent
// ("reserved") bits §6, negotiation rules §2.2 (driver §2.2.1, device §2.2.2).
//
// Bits are NUMBERS (bit positions, as the spec lists them); feature sets are
// `bigint`s because VIRTIO_F_VERSION_1 is bit 32. We only speak the modern
// interface: legacy-only bits (VIRTIO_BLK_F_BARRIER 0, VIRTIO_BLK_F_SCSI 7,
// VIRTIO_F_NOTIFY_ON_EMPTY 24, VIRTIO_F_ANY_LAYOUT 27; §5.2.3.1, §6.3) get no names.

/** §5.2.3: maximum size of any single segment is in `size_max`. */
export const VIRTIO_BLK_F_SIZE_MAX = 1;
/** §5.2.3: maximum number of segments in a request is in `seg_max`. */
export const VIRTIO_BLK_F_SEG_MAX = 2;
/** §5.2.3: disk-style geometry is in `geometry`. */
export const VIRTIO_BLK_F_GEOMETRY = 4;
/** §5.2.3: device is read-only. */
export const VIRTIO_BLK_F_RO = 5;
/** §5.2.3: block size of the disk is in `blk_size`. */
export const VIRTIO_BLK_F_BLK_SIZE = 6;
/** §5.2.3: cache flush command support (the legacy name was VIRTIO_BLK_F_WCE). */
export const VIRTIO_BLK_F_FLUSH = 9;
/** §5.2.3: device exports optimal I/O alignment in `topology`. */
export const VIRTIO_BLK_F_TOPOLOGY = 10;
/** §5.2.3: device can toggle its cache between writeback and writethrough (`writeback`). */
export const VIRTIO_BLK_F_CONFIG_WCE = 11;
/** §5.2.3: device supports multiqueue (`num_queues`). */
export const VIRTIO_BLK_F_MQ = 12;
/** §5.2.3: discard command, limits in `max_discard_sectors` / `max_discard_seg`. */
export const VIRTIO_BLK_F_DISCARD = 13;
/** §5.2.3: write zeroes command, limits in `max_write_zeroes_sectors` / `max_write_zeroes_seg`. */
export const VIRTIO_BLK_F_WRITE_ZEROES = 14;
/** §5.2.3: device provides storage lifetime information (VIRTIO_BLK_T_GET_LIFETIME). */
export const VIRTIO_BLK_F_LIFETIME = 15;
/** §5.2.3: secure erase command, limits in `max_secure_erase_sectors` / `max_secure_erase_seg`. */
export const VIRTIO_BLK_F_SECURE_ERASE = 16;

/** §6: the driver may use VIRTQ_DESC_F_INDIRECT descriptors. */
export const VIRTIO_F_INDIRECT_DESC = 28;
/** §6: enables `used_event` and `avail_event`. */
export const VIRTIO_F_EVENT_IDX = 29;
/** §6: compliance with this specification (the modern interface). */
export const VIRTIO_F_VERSION_1 = 32;
/** §6: device memory access is limited or translated by the platform. */
export const VIRTIO_F_ACCESS_PLATFORM = 33;
/** §6: packed virtqueue layout. */
export const VIRTIO_F_RING_PACKED = 34;
/** §6: buffers are used in the order they were made available. */
export const VIRTIO_F_IN_ORDER = 35;
/** §6: memory ordering is as described by the platform. */
export const VIRTIO_F_ORDER_PLATFORM = 36;
/** §6: the device supports PCI SR-IOV. */
export const VIRTIO_F_SR_IOV = 37;
/** §6: driver notifications carry extra data. */
export const VIRTIO_F_NOTIFICATION_DATA = 38;
/** §6: the driver uses device-provided data as the virtqueue id in notifications. */
export const VIRTIO_F_NOTIF_CONFIG_DATA = 39;
/** §6: the driver can reset a queue individually. */
export const VIRTIO_F_RING_RESET = 40;

/** Every bit this module names, keyed by spec name. */
export const VirtioBlkFeature = {
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
} as const;
export type VirtioBlkFeature = (typeof VirtioBlkFeature)[keyof typeof VirtioBlkFeature];

/** Feature sets here are 64 bits wide (the driver/device feature words 0 and 1). */
export const FEATURE_BITS = 64;
const U64_MAX = (1n << 64n) - 1n;

const NAME_BY_BIT: ReadonlyMap<number, string> = new Map(
  Object.entries(VirtioBlkFeature).map(([name, bit]) => [bit, name]),
);

function checkBit(bit: number): void {
  if (!Number.isInteger(bit) || bit < 0 || bit >= FEATURE_BITS) {
    throw new RangeError(`feature bit must be an integer in 0..63, got ${bit}`);
  }
}

/** True when `features` is a feature set: a u64, bits 0..63. */
export function isFeatureSet(features: bigint): boolean {
  return features >= 0n && features <= U64_MAX;
}

function checkSet(what: string, features: bigint): void {
  if (!isFeatureSet(features)) {
    throw new RangeError(`${what} feature set must fit in 64 bits, got 0x${features.toString(16)}`);
  }
}

/**
 * The feature set with exactly `bits` set (`featureMask(VIRTIO_F_VERSION_1) === 1n << 32n`).
 * @throws RangeError for a bit outside 0..63.
 */
export function featureMask(...bits: number[]): bigint {
  let mask = 0n;
  for (const bit of bits) {
    checkBit(bit);
    mask |= 1n << BigInt(bit);
  }
  return mask;
}

/**
 * True when `bit` is set in `features`.
 * @throws RangeError for a bit outside 0..63 or a set outside u64.
 */
export function hasFeature(features: bigint, bit: number): boolean {
  checkSet('a', features);
  checkBit(bit);
  return ((features >> BigInt(bit)) & 1n) === 1n;
}

/**
 * Spec names of the bits set in `features`, lowest bit first; bits this module
 * does not name appear as `"bit N"`.
 * @throws RangeError for a set outside u64.
 */
export function featureNames(features: bigint): string[] {
  checkSet('a', features);
  const names: string[] = [];
  for (let bit = 0; bit < FEATURE_BITS; bit++) {
    if (((features >> BigInt(bit)) & 1n) === 0n) continue;
    names.push(NAME_BY_BIT.get(bit) ?? `bit ${bit}`);
  }
  return names;
}

/** Outcome of a negotiation step: the agreed set, or why there is none. */
export type FeatureNegotiation = { ok: true; features: bigint } | { ok: false; reason: string };

/**
 * Driver side of §2.2 / §3.1.1 step 4: accept the subset of the device's offer
 * the driver wants. A bit the driver wants but the device did not offer is
 * simply dropped (§2.2: the driver MUST NOT accept a feature the device did not
 * offer). Fails when VIRTIO_F_VERSION_1 is not in the result: this driver has
 * no legacy interface (§6.1 lets a driver fail when VERSION_1 is not offered).
 *
 * @throws RangeError for a set outside u64.
 */
export function negotiateFeatures(device: bigint, wanted: bigint): FeatureNegotiation {
  checkSet('device', device);
  checkSet('wanted', wanted);
  const features = device & wanted;
  if (((features >> BigInt(VIRTIO_F_VERSION_1)) & 1n) === 0n) {
    const side = ((device >> BigInt(VIRTIO_F_VERSION_1)) & 1n) === 0n ? 'the device did not offer it' : 'the driver did not ask for it';
    return { ok: false, reason: `VIRTIO_F_VERSION_1 not negotiated (${side}); only the modern interface is supported` };
  }
  return { ok: true, features };
}

/**
 * Device side of FEATURES_OK (§2.2.2, §3.1.1 steps 5–6): checks the set the driver
 * wrote before the device accepts FEATURES_OK. Fails when the driver accepted a
 * bit the device did not offer (§2.2.1: the driver MUST NOT), or did not accept
 * VIRTIO_F_VERSION_1 (§6.2: a device MAY fail to operate further then, and this
 * device has no legacy interface). The success value carries the driver's set.
 *
 * @throws RangeError for a set outside u64.
 */
export function validateDriverFeatures(device: bigint, driver: bigint): FeatureNegotiation {
  checkSet('device', device);
  checkSet('driver', driver);
  const unoffered = driver & ~device;
  if (unoffered !== 0n) {
    return { ok: false, reason: `driver accepted features the device did not offer: ${featureNames(unoffered).join(', ')}` };
  }
  if (((driver >> BigInt(VIRTIO_F_VERSION_1)) & 1n) === 0n) {
    return { ok: false, reason: 'driver did not accept VIRTIO_F_VERSION_1; only the modern interface is supported' };
  }
  return { ok: true, features: driver };
}

/**
 * Every feature vtcam implements on both sides of a virtio-blk device: what the
 * device model can offer and what the driver can accept.
 */
export const VIRTIO_BLK_IMPLEMENTED_FEATURES = featureMask(
  VIRTIO_BLK_F_SIZE_MAX, VIRTIO_BLK_F_SEG_MAX, VIRTIO_BLK_F_GEOMETRY, VIRTIO_BLK_F_RO, VIRTIO_BLK_F_BLK_SIZE,
  VIRTIO_BLK_F_FLUSH, VIRTIO_BLK_F_TOPOLOGY, VIRTIO_BLK_F_CONFIG_WCE, VIRTIO_BLK_F_MQ, VIRTIO_BLK_F_DISCARD,
  VIRTIO_BLK_F_WRITE_ZEROES, VIRTIO_F_INDIRECT_DESC, VIRTIO_F_EVENT_IDX, VIRTIO_F_VERSION_1,
);
