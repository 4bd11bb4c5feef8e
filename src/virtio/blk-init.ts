// The device-status handshake of virtio-blk driver initialization (VIRTIO 1.2
// §3.1.1), which the driver runs on every attach and every restart after the
// reset: ACKNOWLEDGE, DRIVER, feature negotiation and FEATURES_OK (steps 2–6),
// DRIVER_OK (step 8); and reading the device configuration consistently
// (§2.5.1). The queues (step 7) are blk-queue.ts. Cf. FreeBSD
// sys/dev/virtio/block/virtio_blk.c and Linux drivers/block/virtio_blk.c.

import type { VirtioTransport } from './transport/transport.js';
import { VIRTIO_BLK_CONFIG_SIZE, decodeBlkConfig, type VirtioBlkConfig } from './blk-config.js';
import { negotiateFeatures, type FeatureNegotiation } from './blk-features.js';
import {
  VIRTIO_CONFIG_S_ACKNOWLEDGE,
  VIRTIO_CONFIG_S_DRIVER,
  VIRTIO_CONFIG_S_DRIVER_OK,
  VIRTIO_CONFIG_S_FEATURES_OK,
  VIRTIO_CONFIG_S_NEEDS_RESET,
} from './device-status.js';

/**
 * §3.1.1 steps 2–6 on a device just reset: ACKNOWLEDGE, DRIVER, the features
 * both sides have of `wanted`, FEATURES_OK and its re-read. The negotiated
 * features, or why the device cannot be driven (the caller sets FAILED).
 */
export function negotiateDevice(t: VirtioTransport, wanted: bigint): FeatureNegotiation {
  t.setStatus(VIRTIO_CONFIG_S_ACKNOWLEDGE);
  t.setStatus(VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER);
  const offered = t.getDeviceFeatures();
  const neg = negotiateFeatures(offered, wanted);
  if (!neg.ok) return neg;
  t.setDriverFeatures(neg.features);
  t.setStatus(VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER | VIRTIO_CONFIG_S_FEATURES_OK);
  // §3.1.1 step 6: re-read; the device clears FEATURES_OK when it cannot accept them.
  if ((t.getStatus() & VIRTIO_CONFIG_S_FEATURES_OK) === 0) return { ok: false, reason: 'device did not accept the negotiated features (FEATURES_OK cleared)' };
  return neg;
}

/** §3.1.1 step 8: DRIVER_OK. Why the device cannot be driven when it asks for a reset at once, else undefined. */
export function setDriverOk(t: VirtioTransport): string | undefined {
  t.setStatus(VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER | VIRTIO_CONFIG_S_FEATURES_OK | VIRTIO_CONFIG_S_DRIVER_OK);
  if ((t.getStatus() & VIRTIO_CONFIG_S_NEEDS_RESET) !== 0) return 'device needs a reset right after DRIVER_OK';
  return undefined;
}

/** §2.5.1: read until config_generation is stable across the read. */
export function readBlkConfig(t: VirtioTransport): VirtioBlkConfig {
  for (;;) {
    const before = t.configGeneration();
    const bytes = t.readConfig(0, VIRTIO_BLK_CONFIG_SIZE);
    if (t.configGeneration() === before) return decodeBlkConfig(bytes);
  }
}
