// Test rigs: a device driven through a raw driver-side ring (so tests can hand
// it any chain, well-formed or not), and a full driver + device stack.

import { GuestMemory, type GuestRange } from '../../src/virtio/guest-memory.js';
import { GuestAllocator } from '../../src/virtio/guest-allocator.js';
import { splitRingAreaSizes } from '../../src/virtio/split-ring.js';
import { SplitVirtqDriver, type VirtqBuffer } from '../../src/virtio/split-ring-driver.js';
import { VirtioBlkDevice, type VirtioBlkDeviceOptions } from '../../src/virtio/device/blk-device.js';
import type { BlockBackend } from '../../src/virtio/device/backend.js';
import { MemoryBackend } from '../../src/virtio/device/backends/memory.js';
import { LocalTransport } from '../../src/virtio/transport/local.js';
import type { VirtioInterrupt } from '../../src/virtio/transport/transport.js';
import { VirtioBlkDriver, type BlkDriverOptions } from '../../src/virtio/blk-driver.js';
import { encodeBlkReqHeader } from '../../src/virtio/blk-wire.js';
import { VIRTIO_F_EVENT_IDX, VIRTIO_F_INDIRECT_DESC, featureMask } from '../../src/virtio/blk-features.js';
import {
  VIRTIO_CONFIG_S_ACKNOWLEDGE,
  VIRTIO_CONFIG_S_DRIVER,
  VIRTIO_CONFIG_S_DRIVER_OK,
  VIRTIO_CONFIG_S_FEATURES_OK,
} from '../../src/virtio/device-status.js';

export const DRIVER_BASE = featureMask(VIRTIO_F_INDIRECT_DESC, VIRTIO_F_EVENT_IDX);

/** Waits whole event-loop turns until `cond` holds (fails after `turns`). */
export async function until(cond: () => boolean, turns = 10_000): Promise<void> {
  for (let i = 0; i < turns; i++) {
    if (cond()) return;
    await new Promise((r) => setImmediate(r));
  }
  throw new Error('condition not reached');
}

export interface RawRig {
  readonly mem: GuestMemory;
  readonly alloc: GuestAllocator;
  readonly dev: VirtioBlkDevice;
  readonly ring: SplitVirtqDriver<number>;
  readonly irqs: VirtioInterrupt[];
  /** Allocates guest memory (throws when out of it: a test bug). */
  buf(len: number, fill?: number): GuestRange;
  /** A 16-byte request header in guest memory. */
  header(type: number, sector: bigint): GuestRange;
  /** A one-byte status buffer preset to 0xff. */
  status(): GuestRange;
  readonly addrs: { desc: number; avail: number; used: number };
  /**
   * Bypasses the driver ring: writes descriptors at the given table indices,
   * appends `head` to the avail ring, bumps avail.idx and rings the device.
   */
  forge(descs: readonly { index: number; addr: number; len: number; flags: number; next: number }[], head: number, notify?: boolean): void;
  /** used.idx and the used element at position i, read straight from ring memory. */
  used(i: number): { idx: number; id: number; len: number };
  /** Adds a raw chain, publishes, rings the device and waits for its used entry. */
  run(buffers: readonly VirtqBuffer[]): Promise<{ len: number }>;
}

export interface RawRigOptions extends Partial<Omit<VirtioBlkDeviceOptions, 'memory' | 'backend'>> {
  readonly backend?: BlockBackend;
  /** Features the raw driver acks (intersected with the offer). */
  readonly driverFeatures?: bigint;
  readonly qsz?: number;
  readonly memSize?: number;
}

export function rawRig(opts: RawRigOptions = {}): RawRig {
  const mem = GuestMemory.create(opts.memSize ?? 1 << 22);
  const alloc = new GuestAllocator(0, mem.size);
  const backend = opts.backend ?? new MemoryBackend({ blocks: 2048 });
  const dev = new VirtioBlkDevice({ ...opts, memory: mem, backend });
  const irqs: VirtioInterrupt[] = [];
  dev.setInterruptHandler((irq) => irqs.push(irq));
  const qsz = opts.qsz ?? 16;
  const sizes = splitRingAreaSizes(qsz);
  const take = (len: number, align: number): number => {
    const r = alloc.alloc(len, align);
    if (r === undefined) throw new Error('rig out of guest memory');
    return r.addr;
  };
  const addrs = { desc: take(sizes.desc, 16), avail: take(sizes.avail, 2), used: take(sizes.used, 4) };
  const offered = dev.getDeviceFeatures();
  const features = offered & (opts.driverFeatures ?? offered);
  dev.setStatus(VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER);
  dev.setDriverFeatures(features);
  dev.setStatus(VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER | VIRTIO_CONFIG_S_FEATURES_OK);
  dev.enableQueue(0, qsz, addrs);
  dev.setStatus(VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER | VIRTIO_CONFIG_S_FEATURES_OK | VIRTIO_CONFIG_S_DRIVER_OK);
  const ring = new SplitVirtqDriver<number>(mem, qsz, addrs, {
    indirect: (features & featureMask(VIRTIO_F_INDIRECT_DESC)) !== 0n,
    eventIdx: (features & featureMask(VIRTIO_F_EVENT_IDX)) !== 0n,
    allocator: alloc,
  });
  let token = 0;
  const rig: RawRig = {
    mem, alloc, dev, ring, irqs, addrs,
    forge(descs, head, notify = true) {
      for (const d of descs) {
        const at = addrs.desc + d.index * 16;
        mem.writeU64(at, BigInt(d.addr));
        mem.writeU32(at + 8, d.len);
        mem.writeU16(at + 12, d.flags);
        mem.writeU16(at + 14, d.next);
      }
      const idx = mem.readU16(addrs.avail + 2) ?? 0;
      mem.writeU16(addrs.avail + 4 + (idx % qsz) * 2, head);
      mem.writeU16(addrs.avail + 2, (idx + 1) & 0xffff);
      if (notify) dev.notify(0);
    },
    used(i) {
      const at = addrs.used + 4 + (i % qsz) * 8;
      return { idx: mem.readU16(addrs.used + 2) ?? -1, id: mem.readU32(at) ?? -1, len: mem.readU32(at + 4) ?? -1 };
    },
    buf(len, fill = 0) {
      const r = alloc.alloc(len, 16);
      if (r === undefined) throw new Error('rig out of guest memory');
      mem.fill(r.addr, len, fill);
      return r;
    },
    header(type, sector) {
      const r = rig.buf(16);
      mem.copyIn(r.addr, encodeBlkReqHeader(type, sector));
      return r;
    },
    status() {
      return rig.buf(1, 0xff);
    },
    async run(buffers) {
      const mine = ++token;
      if (ring.add(buffers, mine) === undefined) throw new Error('ring full');
      ring.publish();
      dev.notify(0);
      let got: { len: number } | undefined;
      await until(() => {
        const u = ring.getUsed();
        if (u !== undefined) {
          if (u.token !== mine) throw new Error(`used token ${u.token}, expected ${mine}`);
          got = { len: u.len };
        }
        return got !== undefined;
      });
      return got as { len: number };
    },
  };
  return rig;
}

export const rd = (r: GuestRange): VirtqBuffer => ({ addr: r.addr, len: r.len, write: false });
export const wr = (r: GuestRange): VirtqBuffer => ({ addr: r.addr, len: r.len, write: true });

export interface Stack {
  readonly mem: GuestMemory;
  readonly alloc: GuestAllocator;
  readonly dev: VirtioBlkDevice;
  readonly transport: LocalTransport;
  readonly driver: VirtioBlkDriver;
}

/** A whole local stack: memory, device, local transport, attached driver. */
export async function stack(opts: {
  backend?: BlockBackend;
  device?: Partial<Omit<VirtioBlkDeviceOptions, 'memory' | 'backend'>>;
  driver?: Partial<Omit<BlkDriverOptions, 'transport' | 'allocator'>>;
  memSize?: number;
  shared?: boolean;
} = {}): Promise<Stack> {
  const mem = GuestMemory.create(opts.memSize ?? 1 << 24, opts.shared ?? false);
  const alloc = new GuestAllocator(0, mem.size);
  const dev = new VirtioBlkDevice({ ...opts.device, memory: mem, backend: opts.backend ?? new MemoryBackend({ blocks: 8192 }) });
  const transport = new LocalTransport(dev);
  const driver = await VirtioBlkDriver.attach({ ...opts.driver, transport, allocator: alloc });
  if (!(driver instanceof VirtioBlkDriver)) throw new Error(`attach failed: ${driver.reason}`);
  return { mem, alloc, dev, transport, driver };
}
