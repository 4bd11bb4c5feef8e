// What a virtio driver sees of a device: the device status, feature words,
// the config space, queue registers, the doorbell and interrupts. Modelled on
// the virtio-pci common configuration structure (VIRTIO 1.2 §4.1.4.3) so the
// same driver runs over any transport (local, worker, vhost-user).

import type { GuestMemory } from '../guest-memory.js';
import type { SplitRingAddrs } from '../split-ring.js';

/** An interrupt: a used-buffer notification for a queue, or a configuration change (§2.1.2, §4.1.4.5 ISR). */
export type VirtioInterrupt = { readonly kind: 'queue'; readonly queue: number } | { readonly kind: 'config' };

export interface VirtioTransport {
  /** Guest memory shared with the device. */
  readonly memory: GuestMemory;
  /** Virtio device ID (§5: 2 for a block device). */
  readonly deviceId: number;
  /** device_status (§2.1). */
  getStatus(): number;
  /** Adds status bits; writing 0 is not allowed here, use {@link reset}. */
  setStatus(status: number): void;
  /**
   * Resets the device and resolves once the device reads back status 0, i.e.
   * once it no longer touches guest memory (§4.1.4.3.2: the driver waits for
   * device_status to return 0). A device with stuck I/O never resolves.
   */
  reset(): Promise<void>;
  /** device_feature, all 64 bits. */
  getDeviceFeatures(): bigint;
  /** driver_feature. */
  setDriverFeatures(features: bigint): void;
  /** config_generation (§2.5.1): changes whenever the config space changes. */
  configGeneration(): number;
  /** Reads `len` bytes of device configuration at `offset`; bytes beyond the config space read as 0. */
  readConfig(offset: number, len: number): Uint8Array;
  /** Writes device configuration (only the fields the device type lets the driver write). */
  writeConfig(offset: number, bytes: Uint8Array): void;
  /** Number of virtqueues the device has. */
  numQueues(): number;
  /** queue_size maximum for queue `q` (0 when the queue does not exist). */
  queueMaxSize(q: number): number;
  /** Programs and enables queue `q` (queue_size, queue_desc/driver/device, queue_enable). */
  enableQueue(q: number, size: number, addrs: SplitRingAddrs): void;
  /** The doorbell (§4.1.4.4): tells the device queue `q` has new buffers. */
  notify(q: number): void;
  /** Installs the interrupt handler (one per driver). */
  onInterrupt(handler: (irq: VirtioInterrupt) => void): void;
  /**
   * Optional: the device thread that serves queue `q`, where the device
   * serves its queues on more than one thread, each with its own handle on
   * the medium: requests on queues of different threads may then run against
   * the medium at the same time. Left out, one thread serves every queue.
   */
  queueThread?(q: number): number;
  /**
   * Optional: why the device is gone for good (its worker thread exited or
   * hung), or undefined while it is there. A driver that finds it set after a
   * reset gives up instead of initialising a device nobody serves.
   */
  lost?(): string | undefined;
}
