// What every transport over this project's VirtioBlkDevice shares: the
// register-like calls (VIRTIO 1.2 §4.1.4.3 common configuration: status,
// features, config space, queue setup, reset) go straight to the device's
// control plane, which stays on the driver's thread whatever the transport.
// A transport adds how the doorbell reaches the device's queues and how
// interrupts come back.

import type { GuestMemory } from '../guest-memory.js';
import type { SplitRingAddrs } from '../split-ring.js';
import { VIRTIO_ID_BLOCK, type VirtioBlkDevice } from '../device/blk-device.js';
import type { VirtioInterrupt, VirtioTransport } from './transport.js';

export abstract class DeviceTransport implements VirtioTransport {
  readonly deviceId = VIRTIO_ID_BLOCK;
  readonly device: VirtioBlkDevice;

  constructor(device: VirtioBlkDevice) {
    this.device = device;
  }

  get memory(): GuestMemory {
    return this.device.memory;
  }

  getStatus(): number {
    return this.device.getStatus();
  }

  setStatus(status: number): void {
    this.device.setStatus(status);
  }

  reset(): Promise<void> {
    return this.device.reset();
  }

  getDeviceFeatures(): bigint {
    return this.device.getDeviceFeatures();
  }

  setDriverFeatures(features: bigint): void {
    this.device.setDriverFeatures(features);
  }

  configGeneration(): number {
    return this.device.configGeneration();
  }

  readConfig(offset: number, len: number): Uint8Array {
    return this.device.readConfig(offset, len);
  }

  writeConfig(offset: number, bytes: Uint8Array): void {
    this.device.writeConfig(offset, bytes);
  }

  numQueues(): number {
    return this.device.numQueues();
  }

  queueMaxSize(q: number): number {
    return this.device.queueMaxSize(q);
  }

  enableQueue(q: number, size: number, addrs: SplitRingAddrs): void {
    this.device.enableQueue(q, size, addrs);
  }

  /** Releases what the transport runs beside the device (threads); nothing for a device on this thread. Idempotent. */
  close(): Promise<void> {
    return Promise.resolve();
  }

  abstract notify(q: number): void;
  abstract onInterrupt(handler: (irq: VirtioInterrupt) => void): void;
}
