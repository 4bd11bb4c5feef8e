import { describe, expect, it } from 'vitest';
import {
  DeviceStatus,
  VIRTIO_CONFIG_S_ACKNOWLEDGE,
  VIRTIO_CONFIG_S_DRIVER,
  VIRTIO_CONFIG_S_DRIVER_OK,
  VIRTIO_CONFIG_S_FAILED,
  VIRTIO_CONFIG_S_FEATURES_OK,
  VIRTIO_CONFIG_S_NEEDS_RESET,
  describeDeviceStatus,
} from '../../src/virtio/device-status.js';

describe('device status bits (§2.1)', () => {
  it('match the values printed in the spec', () => {
    expect({
      VIRTIO_CONFIG_S_ACKNOWLEDGE,
      VIRTIO_CONFIG_S_DRIVER,
      VIRTIO_CONFIG_S_DRIVER_OK,
      VIRTIO_CONFIG_S_FEATURES_OK,
      VIRTIO_CONFIG_S_NEEDS_RESET,
      VIRTIO_CONFIG_S_FAILED,
    }).toEqual({
      VIRTIO_CONFIG_S_ACKNOWLEDGE: 1,
      VIRTIO_CONFIG_S_DRIVER: 2,
      VIRTIO_CONFIG_S_DRIVER_OK: 4,
      VIRTIO_CONFIG_S_FEATURES_OK: 8,
      VIRTIO_CONFIG_S_NEEDS_RESET: 64,
      VIRTIO_CONFIG_S_FAILED: 128,
    });
    expect(DeviceStatus).toEqual({ ACKNOWLEDGE: 1, DRIVER: 2, DRIVER_OK: 4, FEATURES_OK: 8, DEVICE_NEEDS_RESET: 64, FAILED: 128 });
  });
});

describe('describeDeviceStatus', () => {
  it.each([
    [0, '0'],
    [1, 'ACKNOWLEDGE'],
    [3, 'ACKNOWLEDGE|DRIVER'],
    [11, 'ACKNOWLEDGE|DRIVER|FEATURES_OK'],
    [15, 'ACKNOWLEDGE|DRIVER|DRIVER_OK|FEATURES_OK'],
    [0x4f, 'ACKNOWLEDGE|DRIVER|DRIVER_OK|FEATURES_OK|DEVICE_NEEDS_RESET'],
    [0x80, 'FAILED'],
    [0x83, 'ACKNOWLEDGE|DRIVER|FAILED'],
    [0x10, 'bit 4'],
    [0x20, 'bit 5'],
    [0xff, 'ACKNOWLEDGE|DRIVER|DRIVER_OK|FEATURES_OK|bit 4|bit 5|DEVICE_NEEDS_RESET|FAILED'],
  ])('%i → %s', (status, text) => {
    expect(describeDeviceStatus(status)).toBe(text);
  });

  it.each([256, -1, 1.5, Number.NaN, Infinity])('rejects %s', (status) => {
    expect(() => describeDeviceStatus(status)).toThrow(RangeError);
  });
});
