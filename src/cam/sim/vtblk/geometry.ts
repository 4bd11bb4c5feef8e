// What a virtio-blk device's configuration (VIRTIO 1.2 §5.2.4) says about the
// block device, as the negotiated features (§5.2.3) make its fields valid: the
// logical block size and data segment bytes every transfer needs (DataLimits,
// derived again only when the driver re-reads its config), the capacity and
// limits the SBC emulator reports (blockGeometry), write protection and the
// write cache (§5.2.5). Cf. FreeBSD sys/dev/virtio/block/virtio_blk.c
// (vtblk_read_config) and Linux drivers/block/virtio_blk.c (virtblk_probe,
// virtblk_get_cache_mode).

import type { BlockGeometry, BlockStatus } from '../../../scsi/sbc/block-command-set.js';
import type { LogicalBlockLength } from '../../../scsi/device-info.js';
import type { VirtioBlkDriver } from '../../../virtio/blk-driver.js';
import { VIRTIO_BLK_SECTOR_SIZE } from '../../../virtio/blk-wire.js';
import { VirtioBlkConfigLayout } from '../../../virtio/blk-config.js';
import {
  VIRTIO_BLK_F_BLK_SIZE,
  VIRTIO_BLK_F_CONFIG_WCE,
  VIRTIO_BLK_F_DISCARD,
  VIRTIO_BLK_F_FLUSH,
  VIRTIO_BLK_F_RO,
  VIRTIO_BLK_F_SIZE_MAX,
  VIRTIO_BLK_F_TOPOLOGY,
  VIRTIO_BLK_F_WRITE_ZEROES,
  hasFeature,
} from '../../../virtio/blk-features.js';

/** Largest values the SCSI side can report (Block Limits, READ CAPACITY (16)); a device beyond them gets "not reported". */
const MAX_PHYSICAL_BLOCK_EXP = 15; // LOGICAL BLOCKS PER PHYSICAL BLOCK EXPONENT, 4 bits
const MAX_LOWEST_ALIGNED_LBA = 0x3fff; // LOWEST ALIGNED LOGICAL BLOCK ADDRESS, 14 bits
const U32_MAX = 0xffff_ffff;

/**
 * Logical block size and segment bytes, derived from the driver's config:
 * asked on every transfer and every cost, recomputed only when the driver
 * re-reads its config (a config interrupt or a reset replaces the object,
 * and features change only with it).
 */
export class DataLimits {
  readonly #driver: VirtioBlkDriver;
  #derivedFrom: object | undefined;
  #blockBytes: LogicalBlockLength = 512;
  /** Sectors per logical block, as the request header's SECTOR needs it. */
  #sectorsPerBlock = 1n;
  #segmentBytes = Infinity;

  constructor(driver: VirtioBlkDriver) {
    this.#driver = driver;
  }

  /** Logical block size in bytes. */
  get blockBytes(): LogicalBlockLength {
    this.#derive();
    return this.#blockBytes;
  }

  /** Sectors per logical block, as the request header's SECTOR needs it. */
  get sectorsPerBlock(): bigint {
    this.#derive();
    return this.#sectorsPerBlock;
  }

  /**
   * Bytes one data segment holds: size_max rounded down to whole logical blocks
   * (to whole sectors when size_max is below a block), or unbounded (Infinity)
   * without VIRTIO_BLK_F_SIZE_MAX.
   */
  get segmentBytes(): number {
    this.#derive();
    return this.#segmentBytes;
  }

  /** Recomputes the block size and segment bytes when the driver's config object changed. */
  #derive(): void {
    const cfg = this.#driver.config;
    if (cfg === this.#derivedFrom) return;
    // Logical block size: blk_size with VIRTIO_BLK_F_BLK_SIZE when SCSI can express it, else the 512-byte sector.
    const bs: LogicalBlockLength = this.#driver.hasFeature(VIRTIO_BLK_F_BLK_SIZE) && cfg.blkSize === 4096 ? 4096 : 512;
    let seg = Infinity;
    if (this.#driver.hasFeature(VIRTIO_BLK_F_SIZE_MAX)) {
      const unit = cfg.sizeMax >= bs ? bs : VIRTIO_BLK_SECTOR_SIZE;
      seg = Math.max(unit, Math.floor(cfg.sizeMax / unit) * unit);
    }
    this.#blockBytes = bs;
    this.#sectorsPerBlock = BigInt(bs / VIRTIO_BLK_SECTOR_SIZE);
    this.#segmentBytes = seg;
    this.#derivedFrom = cfg;
  }
}

/** What bounds one transfer besides the device's config: see blockGeometry. */
export interface TransferBounds {
  /** Data segments one request may carry (asked only when size_max bounds a segment). */
  readonly maxDataSegments: number;
  /** Bytes of guest memory one transfer's data can count on (DataBufferPool.maxTransferBytes). */
  readonly maxDataBytes: number;
}

/**
 * The BlockGeometry of the device behind `driver`: capacity in logical blocks,
 * topology, limits. The largest transfer is what one request carries (seg_max
 * segments of size_max) and what guest memory can hold for its data, the
 * smaller of the two: SBC-4 has a device server take any transfer up to its
 * MAXIMUM TRANSFER LENGTH, and one that guest memory could never hold would
 * fail every time.
 */
export function blockGeometry(driver: VirtioBlkDriver, limits: DataLimits, transfer: TransferBounds): BlockGeometry {
  const cfg = driver.config;
  const has = (bit: number): boolean => driver.hasFeature(bit);
  const bs = limits.blockBytes;
  const perBlock = bs / VIRTIO_BLK_SECTOR_SIZE;
  const topo = has(VIRTIO_BLK_F_TOPOLOGY) ? cfg.topology : undefined;
  const segBytes = limits.segmentBytes;
  const blocks = cfg.capacity / BigInt(perBlock);
  const g: BlockGeometry = {
    // SCSI cannot describe an empty medium; a device that reports one still answers every access with IOERR.
    blocks: blocks < 1n ? 1n : blocks,
    blockSize: bs,
    physicalBlockExp: topo !== undefined && topo.physicalBlockExp <= MAX_PHYSICAL_BLOCK_EXP ? topo.physicalBlockExp : 0,
    lowestAlignedLba: topo !== undefined && topo.alignmentOffset <= MAX_LOWEST_ALIGNED_LBA ? topo.alignmentOffset : 0,
    maxTransferBlocks: Math.min(U32_MAX, Math.floor(Math.min(transfer.maxDataSegments * segBytes, transfer.maxDataBytes) / bs)),
    optimalTransferBlocks: topo?.optIoSize ?? 0,
    flush: has(VIRTIO_BLK_F_FLUSH),
    writeCacheChangeable: writeCacheChangeable(driver),
  };
  const discard = has(VIRTIO_BLK_F_DISCARD)
    ? {
        maxBlocks: Math.floor(cfg.maxDiscardSectors / perBlock),
        maxSegments: cfg.maxDiscardSeg,
        granularity: Math.floor(cfg.discardSectorAlignment / perBlock),
        // VIRTIO 1.2 §5.2.6: discarded sectors need not read back as zeros.
        zeroes: false,
      }
    : undefined;
  const writeZeroes = has(VIRTIO_BLK_F_WRITE_ZEROES)
    ? { maxBlocks: Math.floor(cfg.maxWriteZeroesSectors / perBlock), mayUnmap: cfg.writeZeroesMayUnmap !== 0 }
    : undefined;
  return { ...g, ...(discard === undefined ? {} : { discard }), ...(writeZeroes === undefined ? {} : { writeZeroes }) };
}

/**
 * Write protected: VIRTIO_BLK_F_RO as the device offers it now, not as it was
 * negotiated (a device may flip it and signal a config change).
 */
export function deviceReadOnly(driver: VirtioBlkDriver): boolean {
  return hasFeature(driver.transport.getDeviceFeatures(), VIRTIO_BLK_F_RO);
}

/**
 * The cache mode (§5.2.5 / Linux virtblk_get_cache_mode): the `writeback`
 * field with VIRTIO_BLK_F_CONFIG_WCE, read from the device because this
 * driver's own writes to it raise no config interrupt; otherwise write-back
 * exactly when the device has FLUSH. (Without FLUSH, CONFIG_WCE or not, the
 * device is write-through: `writeback` reads 0, §5.2.5.2.)
 */
export function writeCacheEnabled(driver: VirtioBlkDriver): boolean {
  if (!driver.hasFeature(VIRTIO_BLK_F_CONFIG_WCE)) return driver.hasFeature(VIRTIO_BLK_F_FLUSH);
  return (driver.transport.readConfig(VirtioBlkConfigLayout.writeback, 1)[0] ?? 0) !== 0;
}

/**
 * Whether MODE SELECT may switch WCE: VIRTIO_BLK_F_CONFIG_WCE, and FLUSH with
 * it, without which the device stays write-through (§5.2.5.2, §5.2.6.2) and a
 * cache that could be turned on could never be flushed.
 */
export function writeCacheChangeable(driver: VirtioBlkDriver): boolean {
  return driver.hasFeature(VIRTIO_BLK_F_CONFIG_WCE) && driver.hasFeature(VIRTIO_BLK_F_FLUSH);
}

/** Writes `writeback` through the transport (when {@link writeCacheChangeable}) and checks that the device took it. */
export function setWriteCache(driver: VirtioBlkDriver, enabled: boolean): Promise<BlockStatus> {
  if (!writeCacheChangeable(driver)) return Promise.resolve('unsupported');
  driver.transport.writeConfig(VirtioBlkConfigLayout.writeback, Uint8Array.of(enabled ? 1 : 0));
  return Promise.resolve(writeCacheEnabled(driver) === enabled ? 'ok' : 'io-error');
}
