// A virtio-blk device's options, checked, and what the device starts from:
// its block size, queues, GET_ID serial, the features it offers and its
// configuration space at reset (VIRTIO 1.2 §5.2.3, §5.2.4). Its own module:
// it runs once per device, apart from the device's status and queue handling
// (blk-device.ts).

import { randomBytes } from 'node:crypto';
import type { GuestMemory } from '../guest-memory.js';
import { isValidQueueSize } from '../ring-layout.js';
import type { BlockBackend } from './backend.js';
import { VIRTIO_BLK_ID_BYTES, VIRTIO_BLK_SECTOR_SIZE } from '../blk-wire.js';
import type { VirtioBlkConfig } from '../blk-config.js';
import {
  VIRTIO_BLK_F_CONFIG_WCE,
  VIRTIO_BLK_F_FLUSH,
  VIRTIO_BLK_F_MQ,
  VIRTIO_BLK_F_RO,
  VIRTIO_F_VERSION_1,
  VIRTIO_BLK_IMPLEMENTED_FEATURES,
  featureMask,
  hasFeature,
} from '../blk-features.js';

/** Everything this device model can offer. */
export const VIRTIO_BLK_SUPPORTED_FEATURES = VIRTIO_BLK_IMPLEMENTED_FEATURES;

export interface VirtioBlkDeviceOptions {
  readonly memory: GuestMemory;
  readonly backend: BlockBackend;
  /** Features to offer (intersected with what the model supports); default all. RO and MQ follow the backend and `numQueues`. */
  readonly features?: bigint;
  /** Largest queue the driver may configure (power of two, default 1024). */
  readonly queueMaxSize?: number;
  /** Request queues (default 1; more offers VIRTIO_BLK_F_MQ). */
  readonly numQueues?: number;
  /** Logical block size reported in blk_size: 512 or 4096 (default: the backend's, else 512). Requests must be aligned to it. */
  readonly blockSize?: 512 | 4096;
  /** Topology: log2(physical block / logical block). */
  readonly physicalBlockExp?: number;
  /**
   * GET_ID serial (at most 20 bytes; shorter is NUL-padded). Default: a random
   * one per device ({@link randomSerial}), never a constant: the SCSI unit takes
   * its serial number and NAA designator from it, and two disks answering the
   * same ones are taken for two paths to one disk. Give one that belongs to
   * the medium to keep the identity across restarts.
   */
  readonly serial?: string;
  /** size_max: largest single data segment in bytes (default 1 MiB). */
  readonly sizeMax?: number;
  /** seg_max: most data segments in one request (default 126). */
  readonly segMax?: number;
  readonly maxDiscardSectors?: number;
  readonly maxDiscardSeg?: number;
  readonly maxWriteZeroesSectors?: number;
  readonly maxWriteZeroesSeg?: number;
  /**
   * Write-back cache enabled at reset (default true). Only while the driver
   * has VIRTIO_BLK_F_FLUSH: negotiated without it, the device is write-through.
   */
  readonly writeback?: boolean;
  /** How the device defers work (default setImmediate): publishing is batched per turn. */
  readonly schedule?: (fn: () => void) => void;
}

/** What a device starts from (see {@link deviceSetup}). */
export interface DeviceSetup {
  readonly numQueues: number;
  readonly maxQueueSize: number;
  readonly blockSize: 512 | 4096;
  /** GET_ID's 20 bytes, NUL-padded. */
  readonly serial: Uint8Array;
  /** device_feature: what the options ask for, within what the model supports, RO and MQ set by the device. */
  readonly offered: bigint;
  /** The configuration space at reset. */
  readonly config: VirtioBlkConfig;
}

/** Bytes of randomness in {@link randomSerial}: 56 bits, 14 hex digits after the prefix, 20 bytes in all (GET_ID's length). */
const RANDOM_SERIAL_BYTES = 7;

/**
 * A GET_ID serial no other device shares (56 random bits): `vtcam-` and 14 hex digits. A
 * logical unit's NAA designator must be unique to it (SPC-5, Device
 * Identification VPD page), and Linux multipath and /dev/disk/by-id take two
 * units with the same serial or NAA for one disk reached twice.
 */
export function randomSerial(): string {
  return `vtcam-${randomBytes(RANDOM_SERIAL_BYTES).toString('hex')}`;
}

/** Checks `opts` and works out the device's starting point. @throws RangeError naming the option that cannot be. */
export function deviceSetup(opts: VirtioBlkDeviceOptions): DeviceSetup {
  const numQueues = opts.numQueues ?? 1;
  const maxQueueSize = opts.queueMaxSize ?? 1024;
  // Widened to number: JS callers can pass anything.
  const bs: number = opts.blockSize ?? opts.backend.blockSize ?? 512;
  if (bs !== 512 && bs !== 4096) throw new RangeError(`blockSize must be 512 or 4096, got ${bs}`);
  const blockSize: 512 | 4096 = bs;
  if (blockSize < (opts.backend.blockSize ?? 0)) {
    throw new RangeError(`blockSize ${blockSize} is smaller than the backend's ${opts.backend.blockSize ?? 0}-byte blocks: use ${opts.backend.blockSize ?? 0}`);
  }
  if (!isValidQueueSize(maxQueueSize)) throw new RangeError(`queueMaxSize must be a power of two in 1..32768, got ${maxQueueSize}`);
  if (!Number.isInteger(numQueues) || numQueues < 1 || numQueues > 0xffff) throw new RangeError(`numQueues must be 1..65535, got ${numQueues}`);
  if (opts.backend.size % blockSize !== 0 || opts.backend.size === 0) {
    throw new RangeError(`backend size ${opts.backend.size} is not a non-zero multiple of the ${blockSize}-byte block size`);
  }
  const text = new TextEncoder().encode(opts.serial ?? randomSerial());
  if (text.length > VIRTIO_BLK_ID_BYTES) throw new RangeError(`serial is ${text.length} bytes; GET_ID carries at most ${VIRTIO_BLK_ID_BYTES}`);
  const serial = new Uint8Array(VIRTIO_BLK_ID_BYTES);
  serial.set(text);
  let offered = (opts.features ?? VIRTIO_BLK_SUPPORTED_FEATURES) & VIRTIO_BLK_SUPPORTED_FEATURES;
  offered |= featureMask(VIRTIO_F_VERSION_1);
  offered &= ~featureMask(VIRTIO_BLK_F_RO, VIRTIO_BLK_F_MQ);
  if (numQueues > 1) offered |= featureMask(VIRTIO_BLK_F_MQ);
  // §5.2.5.2: a device "MUST offer [VIRTIO_BLK_F_FLUSH] if [it offers] VIRTIO_BLK_F_CONFIG_WCE".
  if (hasFeature(offered, VIRTIO_BLK_F_CONFIG_WCE) && !hasFeature(offered, VIRTIO_BLK_F_FLUSH)) {
    throw new RangeError('features offer VIRTIO_BLK_F_CONFIG_WCE without VIRTIO_BLK_F_FLUSH; VIRTIO 1.2 §5.2.5.2 requires FLUSH with it');
  }
  const sectors = opts.backend.size / VIRTIO_BLK_SECTOR_SIZE;
  // A conventional 16-head, 63-sector geometry; only old software looks at it.
  const cylinders = Math.min(0xffff, Math.floor(sectors / (16 * 63)));
  const config: VirtioBlkConfig = {
    capacity: BigInt(sectors),
    sizeMax: opts.sizeMax ?? 1 << 20,
    segMax: opts.segMax ?? 126,
    geometry: { cylinders, heads: 16, sectors: 63 },
    blkSize: blockSize,
    topology: { physicalBlockExp: opts.physicalBlockExp ?? 0, alignmentOffset: 0, minIoSize: blockSize / VIRTIO_BLK_SECTOR_SIZE, optIoSize: 0 },
    writeback: (opts.writeback ?? true) ? 1 : 0,
    numQueues,
    maxDiscardSectors: opts.maxDiscardSectors ?? 0x3fffff,
    maxDiscardSeg: opts.maxDiscardSeg ?? 256,
    discardSectorAlignment: blockSize / VIRTIO_BLK_SECTOR_SIZE,
    maxWriteZeroesSectors: opts.maxWriteZeroesSectors ?? 0x3fffff,
    maxWriteZeroesSeg: opts.maxWriteZeroesSeg ?? 256,
    writeZeroesMayUnmap: 1,
    maxSecureEraseSectors: 0,
    maxSecureEraseSeg: 0,
    secureEraseSectorAlignment: 0,
  };
  return { numQueues, maxQueueSize, blockSize, serial, offered, config };
}
