// Transport `local`: driver and device in the same thread. The doorbell does
// not run the device inside the kick; it schedules it on a later turn
// (setImmediate), coalescing doorbells per queue, so completion order and
// interrupt batching behave as they would with a real device.

import type { GuestMemory } from '../guest-memory.js';
import type { SplitRingAddrs } from '../split-ring.js';
import { VIRTIO_ID_BLOCK, type VirtioBlkDevice } from '../device/blk-device.js';
import type { VirtioInterrupt, VirtioTransport } from './transport.js';

export class LocalTransport implements VirtioTransport {
  readonly deviceId = VIRTIO_ID_BLOCK;
  readonly device: VirtioBlkDevice;
  readonly #pending: boolean[] = [];
  #doorbells = 0;

  constructor(device: VirtioBlkDevice) {
    this.device = device;
  }

  get memory(): GuestMemory {
    return this.device.memory;
  }

  /** Doorbells the device actually received (after coalescing). */
  get doorbells(): number {
    return this.#doorbells;
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

  notify(q: number): void {
    if (this.#pending[q] === true) return;
    this.#pending[q] = true;
    setImmediate(() => {
      this.#pending[q] = false;
      this.#doorbells++;
      this.device.notify(q);
    });
  }

  onInterrupt(handler: (irq: VirtioInterrupt) => void): void {
    this.device.setInterruptHandler(handler);
  }
}
