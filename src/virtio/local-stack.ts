// One call that builds guest memory, a virtio-blk device over a backend, the
// local transport and an attached driver: what the CLI, the benchmarks and
// (later) the SIM start from.

import { GuestMemory } from './guest-memory.js';
import { GuestAllocator } from './guest-allocator.js';
import { VirtioBlkDevice, type VirtioBlkDeviceOptions } from './device/blk-device.js';
import { LocalTransport } from './transport/local.js';
import { VirtioBlkDriver, type BlkDriverError } from './blk-driver.js';
import type { BlockBackend } from './device/backend.js';

export interface LocalVirtioBlkOptions {
  readonly backend: BlockBackend;
  /** Virtqueue size (power of two, default 256). */
  readonly queueSize?: number;
  /** Driver features to request (default all the driver understands). */
  readonly features?: bigint;
  /** Guest memory bytes (default 64 MiB): rings, headers, indirect tables and data buffers. */
  readonly memorySize?: number;
  /** SharedArrayBuffer-backed guest memory. */
  readonly shared?: boolean;
  /** Device options other than memory and backend. */
  readonly device?: Partial<Omit<VirtioBlkDeviceOptions, 'memory' | 'backend'>>;
  /** Request queues: the device's numQueues (unless `device` sets it) and the driver's `queues` (default 1). */
  readonly queues?: number;
  /** Milliseconds a device reset may wait for backend I/O before the device is lost (LocalTransport's default when absent). */
  readonly resetTimeoutMs?: number;
}

export interface LocalVirtioBlk {
  readonly memory: GuestMemory;
  readonly allocator: GuestAllocator;
  readonly device: VirtioBlkDevice;
  readonly transport: LocalTransport;
  readonly driver: VirtioBlkDriver;
}

/** Builds and attaches a virtio-blk device on the `local` transport. */
export async function attachLocalVirtioBlk(opts: LocalVirtioBlkOptions): Promise<LocalVirtioBlk | BlkDriverError> {
  const memory = GuestMemory.create(opts.memorySize ?? 64 << 20, opts.shared ?? false);
  const allocator = new GuestAllocator(0, memory.size);
  const numQueues = opts.queues === undefined ? {} : { numQueues: opts.queues };
  const device = new VirtioBlkDevice({ queueMaxSize: Math.max(1024, opts.queueSize ?? 256), ...numQueues, ...opts.device, memory, backend: opts.backend });
  const transport = new LocalTransport(device, opts.resetTimeoutMs === undefined ? {} : { resetTimeoutMs: opts.resetTimeoutMs });
  const driver = await VirtioBlkDriver.attach({
    transport,
    allocator,
    queueSize: opts.queueSize ?? 256,
    ...(opts.features === undefined ? {} : { features: opts.features }),
    ...(opts.queues === undefined ? {} : { queues: opts.queues }),
  });
  if (!(driver instanceof VirtioBlkDriver)) return driver;
  return { memory, allocator, device, transport, driver };
}
