// UNMAP parameter list vectors, written by hand from the SBC-4 tables:
// header = UNMAP DATA LENGTH (n − 1, 2 bytes) | UNMAP BLOCK DESCRIPTOR DATA
// LENGTH (n − 7, 2 bytes) | reserved (4); block descriptor = UNMAP LOGICAL
// BLOCK ADDRESS (8) | NUMBER OF LOGICAL BLOCKS (4) | reserved (4).

import type { UnmapBlockDescriptor } from '../../../src/scsi/cdb/unmap.js';

export const unmapListVectors: readonly { name: string; descriptors: readonly UnmapBlockDescriptor[]; hex: string }[] = [
  { name: 'no descriptors', descriptors: [], hex: '00 06 00 00 00 00 00 00' },
  {
    name: 'one descriptor',
    descriptors: [{ lba: 0x10n, blocks: 8 }],
    hex: '00 16 00 10 00 00 00 00  00 00 00 00 00 00 00 10 00 00 00 08 00 00 00 00',
  },
  {
    name: 'two descriptors, maxima and zero',
    descriptors: [
      { lba: 0xffff_ffff_ffff_ffffn, blocks: 0xffff_ffff },
      { lba: 0n, blocks: 0 },
    ],
    hex: `00 26 00 20 00 00 00 00
          ff ff ff ff ff ff ff ff ff ff ff ff 00 00 00 00
          00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00`,
  },
];

const D1 = '00 00 00 00 00 00 01 00 00 00 00 04 00 00 00 00'; // lba 0x100, 4 blocks

/** Decode-only: what the device server takes from an odd list. */
export const unmapListDecodeVectors: readonly { name: string; hex: string; descriptors: readonly UnmapBlockDescriptor[] }[] = [
  { name: 'nothing transferred (PARAMETER LIST LENGTH 0)', hex: '', descriptors: [] },
  { name: 'header only', hex: '00 06 00 00 00 00 00 00', descriptors: [] },
  { name: 'BLOCK DESCRIPTOR DATA LENGTH larger than the data: clamped', hex: `00 26 00 20 00 00 00 00 ${D1}`, descriptors: [{ lba: 0x100n, blocks: 4 }] },
  {
    name: 'length not a multiple of 16: the partial descriptor is ignored',
    hex: `00 1e 00 18 00 00 00 00 ${D1} 00 00 00 00 00 00 00 09`,
    descriptors: [{ lba: 0x100n, blocks: 4 }],
  },
  { name: 'BLOCK DESCRIPTOR DATA LENGTH 0 with data after it: no descriptors', hex: `00 16 00 00 00 00 00 00 ${D1}`, descriptors: [] },
  {
    name: 'bytes past the descriptor length are not looked at',
    hex: `00 16 00 10 00 00 00 00 ${D1} ff ff ff ff ff ff ff ff ff ff ff ff ff ff ff ff`,
    descriptors: [{ lba: 0x100n, blocks: 4 }],
  },
];

/** Faults against the parameter list. asc 1Ah has no field pointer; 26h points with C/D = 0. */
export const unmapListFaults: readonly { name: string; hex: string; asc: 0x1a | 0x26; byte?: number; bit?: number }[] = [
  { name: '1 byte', hex: '00', asc: 0x1a },
  { name: '7 bytes (short header)', hex: '00 06 00 00 00 00 00', asc: 0x1a },
  { name: 'header reserved byte 5 bit 4', hex: '00 06 00 00 00 10 00 00', asc: 0x26, byte: 5, bit: 4 },
  { name: 'header reserved byte 7 bit 0', hex: '00 06 00 00 00 00 00 01', asc: 0x26, byte: 7, bit: 0 },
  {
    name: 'descriptor reserved byte 12 (absolute 20) bit 7',
    hex: '00 16 00 10 00 00 00 00  00 00 00 00 00 00 01 00 00 00 00 04 80 00 00 00',
    asc: 0x26,
    byte: 20,
    bit: 7,
  },
  {
    name: 'second descriptor reserved byte 15 (absolute 39) bit 0',
    hex: `00 26 00 20 00 00 00 00 ${D1} 00 00 00 00 00 00 02 00 00 00 00 01 00 00 00 01`,
    asc: 0x26,
    byte: 39,
    bit: 0,
  },
];
