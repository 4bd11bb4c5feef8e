// READ CAPACITY parameter data vectors, written by hand from SBC-4:
//   (10): RETURNED LOGICAL BLOCK ADDRESS (4) | BLOCK LENGTH IN BYTES (4);
//         FFFFFFFFh when the last LBA does not fit.
//   (16): RETURNED LOGICAL BLOCK ADDRESS (8) | LOGICAL BLOCK LENGTH IN BYTES (4) |
//         byte 12 reserved(7..6) RC BASIS(5..4) P_TYPE(3..1) PROT_EN(0) |
//         byte 13 P_I_EXPONENT(7..4) LOGICAL BLOCKS PER PHYSICAL BLOCK EXPONENT(3..0) |
//         bytes 14..15 LBPME(15) LBPRZ(14) LOWEST ALIGNED LOGICAL BLOCK ADDRESS(13..0) |
//         16..31 reserved.

import type { LogicalUnitInfo } from '../../src/scsi/device-info.js';
import { bigReadOnly, disk, writeSame10Only, z } from './inquiry.vectors.js';

export interface CapacityVector {
  readonly name: string;
  readonly info: LogicalUnitInfo;
  readonly rc10: string;
  readonly rc16: string;
}

export const capacityVectors: readonly CapacityVector[] = [
  {
    name: '1 GiB, 512/4096, LBPME + LBPRZ',
    info: disk,
    rc10: '00 1f ff ff  00 00 02 00',
    rc16: '00 00 00 00 00 1f ff ff  00 00 02 00  10 03 c0 00' + z(16),
  },
  {
    name: '2^32 + 1 blocks of 4096: READ CAPACITY (10) says FFFFFFFFh; exponent 15, alignment 3FFFh, no LBPME so no LBPRZ',
    info: bigReadOnly,
    rc10: 'ff ff ff ff  00 00 10 00',
    rc16: '00 00 00 01 00 00 00 00  00 00 10 00  10 0f 3f ff' + z(16),
  },
  {
    name: 'LBPME without LBPRZ',
    info: writeSame10Only,
    rc10: '00 1f ff ff  00 00 02 00',
    rc16: '00 00 00 00 00 1f ff ff  00 00 02 00  10 03 80 00' + z(16),
  },
  {
    name: 'one block (min)',
    info: { ...disk, blocks: 1n, physicalBlockExp: 0, lowestAlignedLba: 1 },
    rc10: '00 00 00 00  00 00 02 00',
    rc16: '00 00 00 00 00 00 00 00  00 00 02 00  10 00 c0 01' + z(16),
  },
  {
    name: '2^32 - 1 blocks: last LBA FFFFFFFEh still fits',
    info: { ...disk, blocks: 0xffff_ffffn },
    rc10: 'ff ff ff fe  00 00 02 00',
    rc16: '00 00 00 00 ff ff ff fe  00 00 02 00  10 03 c0 00' + z(16),
  },
  {
    name: '2^32 blocks: last LBA FFFFFFFFh, the same bytes as "too big"',
    info: { ...disk, blocks: 0x1_0000_0000n },
    rc10: 'ff ff ff ff  00 00 02 00',
    rc16: '00 00 00 00 ff ff ff ff  00 00 02 00  10 03 c0 00' + z(16),
  },
  {
    name: '2^64 - 1 blocks (max): last LBA FFFFFFFF_FFFFFFFEh',
    info: { ...disk, blocks: 0xffff_ffff_ffff_ffffn },
    rc10: 'ff ff ff ff  00 00 02 00',
    rc16: 'ff ff ff ff ff ff ff fe  00 00 02 00  10 03 c0 00' + z(16),
  },
  {
    name: 'LBA byte order',
    info: { ...disk, blocks: 0x0102_0304_0506_0708n, blockSize: 4096 },
    rc10: 'ff ff ff ff  00 00 10 00',
    rc16: '01 02 03 04 05 06 07 07  00 00 10 00  10 03 c0 00' + z(16),
  },
];
