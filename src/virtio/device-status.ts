// The device status field. Spec: VIRTIO 1.2 (virtio-v1.2-cs01) §2.1 "Device
// Status Field"; the initialization sequence that sets these bits is §3.1.
//
// The constant names are the Linux uapi ones (include/uapi/linux/virtio_config.h);
// the spec's own names are the keys of `DeviceStatus`. Note the one that differs:
// the spec's DEVICE_NEEDS_RESET is Linux's VIRTIO_CONFIG_S_NEEDS_RESET.

/** §2.1 device status bits, keyed by their spec names. */
export const DeviceStatus = {
  /** The guest found the device and recognised it as a virtio device. */
  ACKNOWLEDGE: 1,
  /** The guest knows how to drive the device. */
  DRIVER: 2,
  /** The driver is set up and ready to drive the device. */
  DRIVER_OK: 4,
  /** The driver acknowledged all the features it understands; negotiation is complete. */
  FEATURES_OK: 8,
  /** The device hit an error it cannot recover from without a reset. */
  DEVICE_NEEDS_RESET: 64,
  /** The guest gave up on the device. */
  FAILED: 128,
} as const;
export type DeviceStatus = (typeof DeviceStatus)[keyof typeof DeviceStatus];

/** §2.1 ACKNOWLEDGE (1). */
export const VIRTIO_CONFIG_S_ACKNOWLEDGE = DeviceStatus.ACKNOWLEDGE;
/** §2.1 DRIVER (2). */
export const VIRTIO_CONFIG_S_DRIVER = DeviceStatus.DRIVER;
/** §2.1 DRIVER_OK (4). */
export const VIRTIO_CONFIG_S_DRIVER_OK = DeviceStatus.DRIVER_OK;
/** §2.1 FEATURES_OK (8). */
export const VIRTIO_CONFIG_S_FEATURES_OK = DeviceStatus.FEATURES_OK;
/** §2.1 DEVICE_NEEDS_RESET (64). */
export const VIRTIO_CONFIG_S_NEEDS_RESET = DeviceStatus.DEVICE_NEEDS_RESET;
/** §2.1 FAILED (128). */
export const VIRTIO_CONFIG_S_FAILED = DeviceStatus.FAILED;

/** Largest value of the status field: one byte (PCI `device_status` is a u8, §4.1.4.3). */
const DEVICE_STATUS_MAX = 0xff;

// In bit order, so the description of a given value is always the same string.
const STATUS_NAMES: readonly (readonly [number, string])[] = [
  [DeviceStatus.ACKNOWLEDGE, 'ACKNOWLEDGE'],
  [DeviceStatus.DRIVER, 'DRIVER'],
  [DeviceStatus.DRIVER_OK, 'DRIVER_OK'],
  [DeviceStatus.FEATURES_OK, 'FEATURES_OK'],
  [DeviceStatus.DEVICE_NEEDS_RESET, 'DEVICE_NEEDS_RESET'],
  [DeviceStatus.FAILED, 'FAILED'],
];

/**
 * Names the bits set in a device status byte, lowest bit first, joined by `|`
 * (`"ACKNOWLEDGE|DRIVER|FEATURES_OK"`). Bits §2.1 does not define appear as
 * `"bit N"`; 0 (the value after reset) is `"0"`.
 *
 * @throws RangeError when `status` is not an integer in 0..255.
 */
export function describeDeviceStatus(status: number): string {
  if (!Number.isInteger(status) || status < 0 || status > DEVICE_STATUS_MAX) {
    throw new RangeError(`device status must be an integer in 0..255, got ${status}`);
  }
  if (status === 0) return '0';
  const parts: string[] = [];
  for (let bit = 0; bit < 8; bit++) {
    const mask = 1 << bit;
    if ((status & mask) === 0) continue;
    const known = STATUS_NAMES.find(([m]) => m === mask);
    parts.push(known === undefined ? `bit ${bit}` : known[1]);
  }
  return parts.join('|');
}
