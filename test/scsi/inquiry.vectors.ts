// Standard INQUIRY data vectors, written by hand from the SPC-5 standard
// INQUIRY data table (byte 0 PQ|PDT, 1 RMB, 2 VERSION, 3 NORMACA|HISUP|RDF,
// 4 ADDITIONAL LENGTH, 5 SCCS…PROTECT, 6 ENCSERV|MULTIP, 7 CMDQUE, 8..15 T10
// VENDOR IDENTIFICATION, 16..31 PRODUCT IDENTIFICATION, 32..35 PRODUCT REVISION
// LEVEL, 36..55 vendor specific, 56..57, 58..73 VERSION DESCRIPTOR 1..8,
// 74..95 reserved) and the T10 version descriptor list (SAM-5 00A0h, SPC-5
// 05C0h, SPC-4 0460h, SBC-4 0600h, SBC-3 04C0h). ASCII is spelled out byte by byte.
//
// The logical units here are the fixtures every scsi data-builder vector uses.

import type { LogicalUnitInfo } from '../../src/scsi/device-info.js';

/** `n` zero bytes, as hex. */
export const z = (n: number): string => ' 00'.repeat(n);

/** 1 GiB thin-provisioned disk: 512-byte blocks, 4 KiB physical, UNMAP + WRITE SAME (16), zeroes after unmap. */
export const disk: LogicalUnitInfo = {
  vendor: 'VTCAM',
  product: 'VIRTIO-BLK DISK',
  revision: '0001',
  serial: 'VT0123456789',
  naa: 0x5123_4560_0000_0001n, // NAA 5h, IEEE COMPANY_ID 123456h, VENDOR SPECIFIC IDENTIFIER 000000001h
  blockSize: 512,
  blocks: 0x20_0000n,
  physicalBlockExp: 3,
  lowestAlignedLba: 0,
  readOnly: false,
  writeCacheEnabled: true,
  limits: {
    maxTransferBlocks: 0x800,
    optimalTransferBlocks: 0x80,
    maxUnmapLbaCount: 0x40_0000,
    maxUnmapBlockDescriptors: 0x100,
    unmapGranularity: 8,
    unmapGranularityAlignment: 0,
    maxWriteSameBlocks: 0x40_0000,
    maxCompareAndWriteBlocks: 1,
  },
  provisioning: { lbpu: true, lbpws: true, lbpws10: false, lbprz: true },
  rotationRate: 1,
};

/**
 * Read-only, fully provisioned, 4096-byte blocks, 2^32 + 1 blocks (so the
 * last LBA, 2^32, does not fit READ CAPACITY (10) nor a short block
 * descriptor), extreme exponent and alignment fields, write cache off,
 * 7200 rpm. LBPRZ is asked for but must not show: there is no unmap path.
 */
export const bigReadOnly: LogicalUnitInfo = {
  vendor: 'ACME',
  product: 'BIG',
  revision: '1',
  serial: 'S',
  naa: 0x3000_0000_0000_0042n, // NAA 3h, locally assigned
  blockSize: 4096,
  blocks: 0x1_0000_0001n,
  physicalBlockExp: 15,
  lowestAlignedLba: 0x3fff,
  readOnly: true,
  writeCacheEnabled: false,
  limits: {
    maxTransferBlocks: 0xffff_ffff,
    optimalTransferBlocks: 0,
    maxUnmapLbaCount: 0,
    maxUnmapBlockDescriptors: 0,
    unmapGranularity: 0,
    unmapGranularityAlignment: 0,
    maxWriteSameBlocks: 0,
    maxCompareAndWriteBlocks: 0,
  },
  provisioning: { lbpu: false, lbpws: false, lbpws10: false, lbprz: true },
  rotationRate: 0x1c20,
};

/** Unmap only through WRITE SAME (10), anchors supported, granularity 16 aligned at 7, no zeroes promise. */
export const writeSame10Only: LogicalUnitInfo = {
  ...disk,
  limits: { ...disk.limits, maxUnmapLbaCount: 0, maxUnmapBlockDescriptors: 0, unmapGranularity: 0x10, unmapGranularityAlignment: 7 },
  provisioning: { lbpu: false, lbpws: false, lbpws10: true, lbprz: false, ancSup: true },
};

export interface InquiryVector {
  readonly name: string;
  readonly info: LogicalUnitInfo;
  readonly peripheralQualifier?: 0 | 1 | 3;
  readonly hex: string;
}

const VERSION_DESCRIPTORS = '00 a0  05 c0  04 60  06 00  04 c0' + z(6); // SAM-5, SPC-5, SPC-4, SBC-4, SBC-3, three unused

export const inquiryVectors: readonly InquiryVector[] = [
  {
    name: 'disk',
    info: disk,
    hex:
      '00 00 06 12 5b 00 00 02' + // PQ 0/PDT 0, RMB 0, VERSION 6 (SPC-4), HISUP|RDF 2, ADDITIONAL LENGTH 91, -, -, CMDQUE
      ' 56 54 43 41 4d 20 20 20' + // "VTCAM   "
      ' 56 49 52 54 49 4f 2d 42 4c 4b 20 44 49 53 4b 20' + // "VIRTIO-BLK DISK "
      ' 30 30 30 31' + // "0001"
      z(20) + // 36..55 vendor specific
      ' 00 00 ' + // 56, 57
      VERSION_DESCRIPTORS +
      z(22), // 74..95
  },
  {
    name: 'short ASCII fields are space padded',
    info: bigReadOnly,
    hex:
      '00 00 06 12 5b 00 00 02' +
      ' 41 43 4d 45 20 20 20 20' + // "ACME    "
      ' 42 49 47' + ' 20'.repeat(13) + // "BIG" + 13 spaces
      ' 31 20 20 20' + // "1   "
      z(22) +
      ' ' + VERSION_DESCRIPTORS +
      z(22),
  },
  {
    name: 'RMB and 3PC: a removable unit with a copy manager',
    info: { ...disk, removable: true, thirdPartyCopy: true },
    hex:
      '00 80 06 12 5b 08 00 02' + // RMB (byte 1 bit 7), 3PC (byte 5 bit 3)
      ' 56 54 43 41 4d 20 20 20' +
      ' 56 49 52 54 49 4f 2d 42 4c 4b 20 44 49 53 4b 20' +
      ' 30 30 30 31' +
      z(22) +
      ' ' + VERSION_DESCRIPTORS +
      z(22),
  },
  {
    name: 'PERIPHERAL QUALIFIER 011b forces PERIPHERAL DEVICE TYPE 1Fh',
    info: disk,
    peripheralQualifier: 3,
    hex:
      '7f 00 06 12 5b 00 00 02' +
      ' 56 54 43 41 4d 20 20 20' +
      ' 56 49 52 54 49 4f 2d 42 4c 4b 20 44 49 53 4b 20' +
      ' 30 30 30 31' +
      z(22) +
      ' ' + VERSION_DESCRIPTORS +
      z(22),
  },
  {
    name: 'PERIPHERAL QUALIFIER 001b keeps direct access',
    info: disk,
    peripheralQualifier: 1,
    hex:
      '20 00 06 12 5b 00 00 02' +
      ' 56 54 43 41 4d 20 20 20' +
      ' 56 49 52 54 49 4f 2d 42 4c 4b 20 44 49 53 4b 20' +
      ' 30 30 30 31' +
      z(22) +
      ' ' + VERSION_DESCRIPTORS +
      z(22),
  },
];

/** Fields at their maximum width and character range (20h and 7Eh). */
export const maxFieldsVector = {
  info: { ...disk, vendor: ' ~VENDOR', product: 'PRODUCT-16-CHARS', revision: 'R~ 9' },
  /** bytes 8..35 */
  identification:
    '20 7e 56 45 4e 44 4f 52' + // " ~VENDOR"
    ' 50 52 4f 44 55 43 54 2d 31 36 2d 43 48 41 52 53' + // "PRODUCT-16-CHARS"
    ' 52 7e 20 39', // "R~ 9"
} as const;
