// Byte vectors for virtio-blk requests, written by hand from VIRTIO 1.2 §5.2.6:
//   struct virtio_blk_req { le32 type; le32 reserved; le64 sector; ... }
//   struct virtio_blk_discard_write_zeroes { le64 sector; le32 num_sectors; le32 flags (unmap = bit 0) }
// and the #define values printed there (IN 0, OUT 1, FLUSH 4, GET_ID 8,
// GET_LIFETIME 10, DISCARD 11, WRITE_ZEROES 13, SECURE_ERASE 14). The numbers
// below are literals, not the module's constants.

export interface HeaderVector {
  readonly name: string;
  readonly type: number;
  readonly sector: bigint;
  /** type | reserved | sector, little-endian. */
  readonly hex: string;
}

export const headerVectors: readonly HeaderVector[] = [
  { name: 'IN, sector 0', type: 0, sector: 0n, hex: '00 00 00 00  00 00 00 00  00 00 00 00 00 00 00 00' },
  { name: 'OUT, sector 1', type: 1, sector: 1n, hex: '01 00 00 00  00 00 00 00  01 00 00 00 00 00 00 00' },
  { name: 'FLUSH, sector 0', type: 4, sector: 0n, hex: '04 00 00 00  00 00 00 00  00 00 00 00 00 00 00 00' },
  { name: 'GET_ID', type: 8, sector: 0n, hex: '08 00 00 00  00 00 00 00  00 00 00 00 00 00 00 00' },
  { name: 'GET_LIFETIME', type: 10, sector: 0n, hex: '0a 00 00 00  00 00 00 00  00 00 00 00 00 00 00 00' },
  { name: 'DISCARD', type: 11, sector: 0n, hex: '0b 00 00 00  00 00 00 00  00 00 00 00 00 00 00 00' },
  { name: 'WRITE_ZEROES', type: 13, sector: 0n, hex: '0d 00 00 00  00 00 00 00  00 00 00 00 00 00 00 00' },
  { name: 'SECURE_ERASE', type: 14, sector: 0n, hex: '0e 00 00 00  00 00 00 00  00 00 00 00 00 00 00 00' },
  {
    name: 'IN, sector 0x0123456789abcdef (byte order)',
    type: 0,
    sector: 0x0123_4567_89ab_cdefn,
    hex: '00 00 00 00  00 00 00 00  ef cd ab 89 67 45 23 01',
  },
  { name: 'OUT, sector 2^32 (crosses the low word)', type: 1, sector: 0x1_0000_0000n, hex: '01 00 00 00  00 00 00 00  00 00 00 00 01 00 00 00' },
  { name: 'OUT, sector 2^32 - 1', type: 1, sector: 0xffff_ffffn, hex: '01 00 00 00  00 00 00 00  ff ff ff ff 00 00 00 00' },
  { name: 'IN, sector 2^64 - 1 (max)', type: 0, sector: 0xffff_ffff_ffff_ffffn, hex: '00 00 00 00  00 00 00 00  ff ff ff ff ff ff ff ff' },
  { name: 'type 2^32 - 1 (max u32, unknown to the spec)', type: 0xffff_ffff, sector: 0n, hex: 'ff ff ff ff  00 00 00 00  00 00 00 00 00 00 00 00' },
  { name: 'type 0x12345678 (byte order)', type: 0x1234_5678, sector: 0n, hex: '78 56 34 12  00 00 00 00  00 00 00 00 00 00 00 00' },
];

/** Decode-only: `reserved` (legacy ioprio) is returned raw, not required to be 0. */
export const headerDecodeVectors: readonly { name: string; hex: string; type: number; reserved: number; sector: bigint }[] = [
  { name: 'reserved = 0x12345678', hex: '01 00 00 00  78 56 34 12  02 00 00 00 00 00 00 00', type: 1, reserved: 0x1234_5678, sector: 2n },
  { name: 'reserved = 0xffffffff', hex: '00 00 00 00  ff ff ff ff  00 00 00 00 00 00 00 80', type: 0, reserved: 0xffff_ffff, sector: 0x8000_0000_0000_0000n },
];

export interface SegmentVector {
  readonly name: string;
  readonly seg: { sector: bigint; numSectors: number; unmap: boolean };
  /** sector | num_sectors | flags, little-endian. */
  readonly hex: string;
}

export const segmentVectors: readonly SegmentVector[] = [
  { name: 'zero', seg: { sector: 0n, numSectors: 0, unmap: false }, hex: '00 00 00 00 00 00 00 00  00 00 00 00  00 00 00 00' },
  { name: 'sector 0, 1 sector', seg: { sector: 0n, numSectors: 1, unmap: false }, hex: '00 00 00 00 00 00 00 00  01 00 00 00  00 00 00 00' },
  { name: 'unmap', seg: { sector: 8n, numSectors: 8, unmap: true }, hex: '08 00 00 00 00 00 00 00  08 00 00 00  01 00 00 00' },
  {
    name: 'byte order',
    seg: { sector: 0x0102_0304_0506_0708n, numSectors: 0x090a_0b0c, unmap: false },
    hex: '08 07 06 05 04 03 02 01  0c 0b 0a 09  00 00 00 00',
  },
  {
    name: 'max sector, max num_sectors, unmap',
    seg: { sector: 0xffff_ffff_ffff_ffffn, numSectors: 0xffff_ffff, unmap: true },
    hex: 'ff ff ff ff ff ff ff ff  ff ff ff ff  01 00 00 00',
  },
];

/** Two segments back to back: the second starts at byte 16. */
export const twoSegments = {
  segs: [
    { sector: 0x10n, numSectors: 0x20, unmap: false },
    { sector: 0x1_0000_0000n, numSectors: 0x80, unmap: true },
  ],
  hex:
    '10 00 00 00 00 00 00 00  20 00 00 00  00 00 00 00 ' +
    '00 00 00 00 01 00 00 00  80 00 00 00  01 00 00 00',
} as const;

/** Decode-only: reserved flag bits come back raw in `flags`. */
export const segmentFlagVectors: readonly { name: string; hex: string; flags: number; unmap: boolean }[] = [
  { name: 'bit 1 (reserved)', hex: '00 00 00 00 00 00 00 00  01 00 00 00  02 00 00 00', flags: 0x2, unmap: false },
  { name: 'bit 31 + unmap', hex: '00 00 00 00 00 00 00 00  01 00 00 00  01 00 00 80', flags: 0x8000_0001, unmap: true },
  { name: 'all bits', hex: '00 00 00 00 00 00 00 00  01 00 00 00  ff ff ff ff', flags: 0xffff_ffff, unmap: true },
];
