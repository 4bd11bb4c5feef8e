// Byte vectors for struct virtio_blk_config, written by hand from the struct in
// VIRTIO 1.2 §5.2.4 (le64 capacity; le32 size_max; le32 seg_max; geometry
// { le16 cylinders; u8 heads; u8 sectors }; le32 blk_size; topology
// { u8 physical_block_exp; u8 alignment_offset; le16 min_io_size; le32 opt_io_size };
// u8 writeback; u8 unused0; (le)16 num_queues; le32 max_discard_sectors;
// le32 max_discard_seg; le32 discard_sector_alignment; le32 max_write_zeroes_sectors;
// le32 max_write_zeroes_seg; u8 write_zeroes_may_unmap; u8 unused1[3];
// le32 max_secure_erase_sectors; le32 max_secure_erase_seg;
// le32 secure_erase_sector_alignment). One row = 8 bytes.

import type { VirtioBlkConfig } from '../../src/virtio/blk-config.js';

/** Hand-computed offset and width of each field, for the per-field tests. */
export interface FieldSpec {
  /** Spec name, as it appears in RangeError messages. */
  readonly spec: string;
  readonly offset: number;
  readonly width: 1 | 2 | 4 | 8;
  /** Where the field lives in VirtioBlkConfig. */
  readonly group?: 'geometry' | 'topology';
  readonly key: string;
}

export const fields: readonly FieldSpec[] = [
  { spec: 'capacity', key: 'capacity', offset: 0, width: 8 },
  { spec: 'size_max', key: 'sizeMax', offset: 8, width: 4 },
  { spec: 'seg_max', key: 'segMax', offset: 12, width: 4 },
  { spec: 'geometry.cylinders', group: 'geometry', key: 'cylinders', offset: 16, width: 2 },
  { spec: 'geometry.heads', group: 'geometry', key: 'heads', offset: 18, width: 1 },
  { spec: 'geometry.sectors', group: 'geometry', key: 'sectors', offset: 19, width: 1 },
  { spec: 'blk_size', key: 'blkSize', offset: 20, width: 4 },
  { spec: 'topology.physical_block_exp', group: 'topology', key: 'physicalBlockExp', offset: 24, width: 1 },
  { spec: 'topology.alignment_offset', group: 'topology', key: 'alignmentOffset', offset: 25, width: 1 },
  { spec: 'topology.min_io_size', group: 'topology', key: 'minIoSize', offset: 26, width: 2 },
  { spec: 'topology.opt_io_size', group: 'topology', key: 'optIoSize', offset: 28, width: 4 },
  { spec: 'writeback', key: 'writeback', offset: 32, width: 1 },
  // 33: unused0
  { spec: 'num_queues', key: 'numQueues', offset: 34, width: 2 },
  { spec: 'max_discard_sectors', key: 'maxDiscardSectors', offset: 36, width: 4 },
  { spec: 'max_discard_seg', key: 'maxDiscardSeg', offset: 40, width: 4 },
  { spec: 'discard_sector_alignment', key: 'discardSectorAlignment', offset: 44, width: 4 },
  { spec: 'max_write_zeroes_sectors', key: 'maxWriteZeroesSectors', offset: 48, width: 4 },
  { spec: 'max_write_zeroes_seg', key: 'maxWriteZeroesSeg', offset: 52, width: 4 },
  { spec: 'write_zeroes_may_unmap', key: 'writeZeroesMayUnmap', offset: 56, width: 1 },
  // 57..59: unused1[3]
  { spec: 'max_secure_erase_sectors', key: 'maxSecureEraseSectors', offset: 60, width: 4 },
  { spec: 'max_secure_erase_seg', key: 'maxSecureEraseSeg', offset: 64, width: 4 },
  { spec: 'secure_erase_sector_alignment', key: 'secureEraseSectorAlignment', offset: 68, width: 4 },
];

export interface ConfigVector {
  readonly name: string;
  readonly cfg: VirtioBlkConfig;
  readonly hex: string;
}

export const zeroConfig: VirtioBlkConfig = {
  capacity: 0n,
  sizeMax: 0,
  segMax: 0,
  geometry: { cylinders: 0, heads: 0, sectors: 0 },
  blkSize: 0,
  topology: { physicalBlockExp: 0, alignmentOffset: 0, minIoSize: 0, optIoSize: 0 },
  writeback: 0,
  numQueues: 0,
  maxDiscardSectors: 0,
  maxDiscardSeg: 0,
  discardSectorAlignment: 0,
  maxWriteZeroesSectors: 0,
  maxWriteZeroesSeg: 0,
  writeZeroesMayUnmap: 0,
  maxSecureEraseSectors: 0,
  maxSecureEraseSeg: 0,
  secureEraseSectorAlignment: 0,
};

export const configVectors: readonly ConfigVector[] = [
  {
    name: 'all zero',
    cfg: zeroConfig,
    hex: Array.from({ length: 9 }, () => '00 00 00 00 00 00 00 00').join(' '),
  },
  {
    // Byte i holds i + 1, so a field read from the wrong offset shows at once.
    // The padding bytes 33 and 57..59 are 00 (the device MUST zero them, §5.2.5.2).
    name: 'every byte distinct',
    cfg: {
      capacity: 0x0807_0605_0403_0201n,
      sizeMax: 0x0c0b_0a09,
      segMax: 0x100f_0e0d,
      geometry: { cylinders: 0x1211, heads: 0x13, sectors: 0x14 },
      blkSize: 0x1817_1615,
      topology: { physicalBlockExp: 0x19, alignmentOffset: 0x1a, minIoSize: 0x1c1b, optIoSize: 0x201f_1e1d },
      writeback: 0x21,
      numQueues: 0x2423,
      maxDiscardSectors: 0x2827_2625,
      maxDiscardSeg: 0x2c2b_2a29,
      discardSectorAlignment: 0x302f_2e2d,
      maxWriteZeroesSectors: 0x3433_3231,
      maxWriteZeroesSeg: 0x3837_3635,
      writeZeroesMayUnmap: 0x39,
      maxSecureEraseSectors: 0x403f_3e3d,
      maxSecureEraseSeg: 0x4443_4241,
      secureEraseSectorAlignment: 0x4847_4645,
    },
    hex: [
      '01 02 03 04 05 06 07 08', //  0 capacity
      '09 0a 0b 0c 0d 0e 0f 10', //  8 size_max, 12 seg_max
      '11 12 13 14 15 16 17 18', // 16 cylinders, 18 heads, 19 sectors, 20 blk_size
      '19 1a 1b 1c 1d 1e 1f 20', // 24 physical_block_exp, 25 alignment_offset, 26 min_io_size, 28 opt_io_size
      '21 00 23 24 25 26 27 28', // 32 writeback, 33 unused0, 34 num_queues, 36 max_discard_sectors
      '29 2a 2b 2c 2d 2e 2f 30', // 40 max_discard_seg, 44 discard_sector_alignment
      '31 32 33 34 35 36 37 38', // 48 max_write_zeroes_sectors, 52 max_write_zeroes_seg
      '39 00 00 00 3d 3e 3f 40', // 56 write_zeroes_may_unmap, 57 unused1[3], 60 max_secure_erase_sectors
      '41 42 43 44 45 46 47 48', // 64 max_secure_erase_seg, 68 secure_erase_sector_alignment
    ].join(' '),
  },
  {
    // A 1 GiB disk, 4 KiB blocks, 4 queues, discard + write zeroes.
    name: 'typical',
    cfg: {
      capacity: 0x20_0000n, // 2097152 sectors
      sizeMax: 0x1_0000,
      segMax: 126,
      geometry: { cylinders: 2080, heads: 16, sectors: 63 },
      blkSize: 4096,
      topology: { physicalBlockExp: 0, alignmentOffset: 0, minIoSize: 1, optIoSize: 0 },
      writeback: 1,
      numQueues: 4,
      maxDiscardSectors: 0x3f_ffff,
      maxDiscardSeg: 1,
      discardSectorAlignment: 8,
      maxWriteZeroesSectors: 0x3f_ffff,
      maxWriteZeroesSeg: 1,
      writeZeroesMayUnmap: 1,
      maxSecureEraseSectors: 0,
      maxSecureEraseSeg: 0,
      secureEraseSectorAlignment: 0,
    },
    hex: [
      '00 00 20 00 00 00 00 00', // capacity 0x200000
      '00 00 01 00 7e 00 00 00', // size_max 0x10000, seg_max 126
      '20 08 10 3f 00 10 00 00', // cylinders 2080 = 0x0820, heads 16, sectors 63, blk_size 4096
      '00 00 01 00 00 00 00 00', // physical_block_exp 0, alignment_offset 0, min_io_size 1, opt_io_size 0
      '01 00 04 00 ff ff 3f 00', // writeback 1, unused0, num_queues 4, max_discard_sectors 0x3fffff
      '01 00 00 00 08 00 00 00', // max_discard_seg 1, discard_sector_alignment 8
      'ff ff 3f 00 01 00 00 00', // max_write_zeroes_sectors 0x3fffff, max_write_zeroes_seg 1
      '01 00 00 00 00 00 00 00', // write_zeroes_may_unmap 1, unused1, max_secure_erase_sectors 0
      '00 00 00 00 00 00 00 00', // max_secure_erase_seg 0, secure_erase_sector_alignment 0
    ].join(' '),
  },
  {
    name: 'every field at its maximum',
    cfg: {
      capacity: 0xffff_ffff_ffff_ffffn,
      sizeMax: 0xffff_ffff,
      segMax: 0xffff_ffff,
      geometry: { cylinders: 0xffff, heads: 0xff, sectors: 0xff },
      blkSize: 0xffff_ffff,
      topology: { physicalBlockExp: 0xff, alignmentOffset: 0xff, minIoSize: 0xffff, optIoSize: 0xffff_ffff },
      writeback: 0xff,
      numQueues: 0xffff,
      maxDiscardSectors: 0xffff_ffff,
      maxDiscardSeg: 0xffff_ffff,
      discardSectorAlignment: 0xffff_ffff,
      maxWriteZeroesSectors: 0xffff_ffff,
      maxWriteZeroesSeg: 0xffff_ffff,
      writeZeroesMayUnmap: 0xff,
      maxSecureEraseSectors: 0xffff_ffff,
      maxSecureEraseSeg: 0xffff_ffff,
      secureEraseSectorAlignment: 0xffff_ffff,
    },
    hex: [
      'ff ff ff ff ff ff ff ff',
      'ff ff ff ff ff ff ff ff',
      'ff ff ff ff ff ff ff ff',
      'ff ff ff ff ff ff ff ff',
      'ff 00 ff ff ff ff ff ff', // unused0 stays 0
      'ff ff ff ff ff ff ff ff',
      'ff ff ff ff ff ff ff ff',
      'ff 00 00 00 ff ff ff ff', // unused1[3] stay 0
      'ff ff ff ff ff ff ff ff',
    ].join(' '),
  },
];

/** Decode-only: non-zero padding (a misbehaving device) is ignored. */
export const dirtyPaddingHex = [
  '01 02 03 04 05 06 07 08',
  '09 0a 0b 0c 0d 0e 0f 10',
  '11 12 13 14 15 16 17 18',
  '19 1a 1b 1c 1d 1e 1f 20',
  '21 22 23 24 25 26 27 28', // unused0 = 0x22
  '29 2a 2b 2c 2d 2e 2f 30',
  '31 32 33 34 35 36 37 38',
  '39 3a 3b 3c 3d 3e 3f 40', // unused1 = 3a 3b 3c
  '41 42 43 44 45 46 47 48',
].join(' ');
