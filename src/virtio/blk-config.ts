// virtio-blk device configuration space. Spec: VIRTIO 1.2 (virtio-v1.2-cs01)
// §5.2.4 "Device configuration layout" (struct virtio_blk_config); padding
// rule §5.2.5.2. Everything up to secure_erase_sector_alignment (the zoned
// block characteristics that follow it were added after 1.2 and are not here).
//
// All multi-byte fields are little-endian. 1.2 declares num_queues as `u16`
// (no endianness); that is an erratum, later corrected to `le16` in the spec
// sources ("virtio-blk: Fix data type of num_queues field"), and Linux reads it
// as __virtio16, so it is little-endian here.

/** Byte offset of every field of struct virtio_blk_config, spec names. */
export const VirtioBlkConfigLayout = {
  capacity: 0, // le64
  size_max: 8, // le32
  seg_max: 12, // le32
  geometry: 16, // struct virtio_blk_geometry
  cylinders: 16, // le16
  heads: 18, // u8
  sectors: 19, // u8
  blk_size: 20, // le32
  topology: 24, // struct virtio_blk_topology
  physical_block_exp: 24, // u8
  alignment_offset: 25, // u8
  min_io_size: 26, // le16
  opt_io_size: 28, // le32
  writeback: 32, // u8
  unused0: 33, // u8
  num_queues: 34, // le16 (see header)
  max_discard_sectors: 36, // le32
  max_discard_seg: 40, // le32
  discard_sector_alignment: 44, // le32
  max_write_zeroes_sectors: 48, // le32
  max_write_zeroes_seg: 52, // le32
  write_zeroes_may_unmap: 56, // u8
  unused1: 57, // u8[3]
  max_secure_erase_sectors: 60, // le32
  max_secure_erase_seg: 64, // le32
  secure_erase_sector_alignment: 68, // le32
  SIZE: 72,
} as const;

/** Bytes from `capacity` through `secure_erase_sector_alignment`. */
export const VIRTIO_BLK_CONFIG_SIZE = VirtioBlkConfigLayout.SIZE;

/**
 * struct virtio_blk_config in TS names. Which fields mean anything depends on
 * the negotiated features (§5.2.4): only `capacity` is always valid.
 */
export interface VirtioBlkConfig {
  /** Size in 512-byte sectors. */
  capacity: bigint;
  /** VIRTIO_BLK_F_SIZE_MAX: maximum bytes in one segment. */
  sizeMax: number;
  /** VIRTIO_BLK_F_SEG_MAX: maximum segments in one request. */
  segMax: number;
  /** VIRTIO_BLK_F_GEOMETRY. */
  geometry: { cylinders: number; heads: number; sectors: number };
  /** VIRTIO_BLK_F_BLK_SIZE: optimal logical block size in bytes (protocol units stay 512). */
  blkSize: number;
  /** VIRTIO_BLK_F_TOPOLOGY: exponent of logical blocks per physical block; sizes in blocks. */
  topology: { physicalBlockExp: number; alignmentOffset: number; minIoSize: number; optIoSize: number };
  /** VIRTIO_BLK_F_CONFIG_WCE: 0 writethrough, 1 writeback. */
  writeback: number;
  /** VIRTIO_BLK_F_MQ: number of request queues. */
  numQueues: number;
  /** VIRTIO_BLK_F_DISCARD (sectors). */
  maxDiscardSectors: number;
  maxDiscardSeg: number;
  discardSectorAlignment: number;
  /** VIRTIO_BLK_F_WRITE_ZEROES (sectors). */
  maxWriteZeroesSectors: number;
  maxWriteZeroesSeg: number;
  writeZeroesMayUnmap: number;
  /** VIRTIO_BLK_F_SECURE_ERASE (sectors). */
  maxSecureEraseSectors: number;
  maxSecureEraseSeg: number;
  secureEraseSectorAlignment: number;
}

const U64_MAX = (1n << 64n) - 1n;

function u8(field: string, n: number): number {
  if (!Number.isInteger(n) || n < 0 || n > 0xff) throw new RangeError(`virtio_blk_config.${field} must be a u8, got ${n}`);
  return n;
}
function u16(field: string, n: number): number {
  if (!Number.isInteger(n) || n < 0 || n > 0xffff) throw new RangeError(`virtio_blk_config.${field} must be a le16, got ${n}`);
  return n;
}
function u32(field: string, n: number): number {
  if (!Number.isInteger(n) || n < 0 || n > 0xffff_ffff) throw new RangeError(`virtio_blk_config.${field} must be a le32, got ${n}`);
  return n;
}
function u64(field: string, n: bigint): bigint {
  if (n < 0n || n > U64_MAX) throw new RangeError(`virtio_blk_config.${field} must be a le64, got ${n}`);
  return n;
}

/**
 * Encodes the 72-byte configuration space. `unused0` and `unused1` are written
 * as 0 (§5.2.5.2: the device MUST initialize them to 0). All fields are
 * validated before anything is written.
 * @throws RangeError naming the first field (spec name) whose value does not fit its width.
 */
export function encodeBlkConfig(cfg: VirtioBlkConfig): Uint8Array {
  const L = VirtioBlkConfigLayout;
  const capacity = u64('capacity', cfg.capacity);
  const sizeMax = u32('size_max', cfg.sizeMax);
  const segMax = u32('seg_max', cfg.segMax);
  const cylinders = u16('geometry.cylinders', cfg.geometry.cylinders);
  const heads = u8('geometry.heads', cfg.geometry.heads);
  const sectors = u8('geometry.sectors', cfg.geometry.sectors);
  const blkSize = u32('blk_size', cfg.blkSize);
  const physicalBlockExp = u8('topology.physical_block_exp', cfg.topology.physicalBlockExp);
  const alignmentOffset = u8('topology.alignment_offset', cfg.topology.alignmentOffset);
  const minIoSize = u16('topology.min_io_size', cfg.topology.minIoSize);
  const optIoSize = u32('topology.opt_io_size', cfg.topology.optIoSize);
  const writeback = u8('writeback', cfg.writeback);
  const numQueues = u16('num_queues', cfg.numQueues);
  const maxDiscardSectors = u32('max_discard_sectors', cfg.maxDiscardSectors);
  const maxDiscardSeg = u32('max_discard_seg', cfg.maxDiscardSeg);
  const discardSectorAlignment = u32('discard_sector_alignment', cfg.discardSectorAlignment);
  const maxWriteZeroesSectors = u32('max_write_zeroes_sectors', cfg.maxWriteZeroesSectors);
  const maxWriteZeroesSeg = u32('max_write_zeroes_seg', cfg.maxWriteZeroesSeg);
  const writeZeroesMayUnmap = u8('write_zeroes_may_unmap', cfg.writeZeroesMayUnmap);
  const maxSecureEraseSectors = u32('max_secure_erase_sectors', cfg.maxSecureEraseSectors);
  const maxSecureEraseSeg = u32('max_secure_erase_seg', cfg.maxSecureEraseSeg);
  const secureEraseSectorAlignment = u32('secure_erase_sector_alignment', cfg.secureEraseSectorAlignment);

  const out = new Uint8Array(L.SIZE); // zero-filled: unused0, unused1[3]
  const v = new DataView(out.buffer);
  v.setBigUint64(L.capacity, capacity, true);
  v.setUint32(L.size_max, sizeMax, true);
  v.setUint32(L.seg_max, segMax, true);
  v.setUint16(L.cylinders, cylinders, true);
  v.setUint8(L.heads, heads);
  v.setUint8(L.sectors, sectors);
  v.setUint32(L.blk_size, blkSize, true);
  v.setUint8(L.physical_block_exp, physicalBlockExp);
  v.setUint8(L.alignment_offset, alignmentOffset);
  v.setUint16(L.min_io_size, minIoSize, true);
  v.setUint32(L.opt_io_size, optIoSize, true);
  v.setUint8(L.writeback, writeback);
  v.setUint16(L.num_queues, numQueues, true);
  v.setUint32(L.max_discard_sectors, maxDiscardSectors, true);
  v.setUint32(L.max_discard_seg, maxDiscardSeg, true);
  v.setUint32(L.discard_sector_alignment, discardSectorAlignment, true);
  v.setUint32(L.max_write_zeroes_sectors, maxWriteZeroesSectors, true);
  v.setUint32(L.max_write_zeroes_seg, maxWriteZeroesSeg, true);
  v.setUint8(L.write_zeroes_may_unmap, writeZeroesMayUnmap);
  v.setUint32(L.max_secure_erase_sectors, maxSecureEraseSectors, true);
  v.setUint32(L.max_secure_erase_seg, maxSecureEraseSeg, true);
  v.setUint32(L.secure_erase_sector_alignment, secureEraseSectorAlignment, true);
  return out;
}

/**
 * Decodes the configuration space from the first 72 bytes of `bytes`; the
 * padding bytes are ignored.
 * @throws RangeError when `bytes` is shorter than VIRTIO_BLK_CONFIG_SIZE.
 */
export function decodeBlkConfig(bytes: Uint8Array): VirtioBlkConfig {
  const L = VirtioBlkConfigLayout;
  if (bytes.length < L.SIZE) throw new RangeError(`virtio_blk_config needs ${L.SIZE} bytes, got ${bytes.length}`);
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return {
    capacity: v.getBigUint64(L.capacity, true),
    sizeMax: v.getUint32(L.size_max, true),
    segMax: v.getUint32(L.seg_max, true),
    geometry: {
      cylinders: v.getUint16(L.cylinders, true),
      heads: v.getUint8(L.heads),
      sectors: v.getUint8(L.sectors),
    },
    blkSize: v.getUint32(L.blk_size, true),
    topology: {
      physicalBlockExp: v.getUint8(L.physical_block_exp),
      alignmentOffset: v.getUint8(L.alignment_offset),
      minIoSize: v.getUint16(L.min_io_size, true),
      optIoSize: v.getUint32(L.opt_io_size, true),
    },
    writeback: v.getUint8(L.writeback),
    numQueues: v.getUint16(L.num_queues, true),
    maxDiscardSectors: v.getUint32(L.max_discard_sectors, true),
    maxDiscardSeg: v.getUint32(L.max_discard_seg, true),
    discardSectorAlignment: v.getUint32(L.discard_sector_alignment, true),
    maxWriteZeroesSectors: v.getUint32(L.max_write_zeroes_sectors, true),
    maxWriteZeroesSeg: v.getUint32(L.max_write_zeroes_seg, true),
    writeZeroesMayUnmap: v.getUint8(L.write_zeroes_may_unmap),
    maxSecureEraseSectors: v.getUint32(L.max_secure_erase_sectors, true),
    maxSecureEraseSeg: v.getUint32(L.max_secure_erase_seg, true),
    secureEraseSectorAlignment: v.getUint32(L.secure_erase_sector_alignment, true),
  };
}
