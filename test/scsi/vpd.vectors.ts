// VPD page vectors, written by hand from the SPC-5 tables (Supported VPD
// Pages, Unit Serial Number, Device Identification with its designation
// descriptor, Extended INQUIRY Data) and the SBC-4 tables (Block Limits, Block
// Device Characteristics, Logical Block Provisioning). Header of every page:
// PQ|PDT, PAGE CODE, PAGE LENGTH (2 bytes).

import type { LogicalUnitInfo } from '../../src/scsi/device-info.js';
import { bigReadOnly, disk, writeSame10Only, z } from './inquiry.vectors.js';

export interface VpdVector {
  readonly name: string;
  readonly info: LogicalUnitInfo;
  readonly page: number;
  readonly hex: string;
}

export const vpdVectors: readonly VpdVector[] = [
  { name: '00h supported VPD pages, ascending', info: disk, page: 0x00, hex: '00 00 00 07  00 80 83 86 b0 b1 b2' },
  {
    name: '80h unit serial number',
    info: disk,
    page: 0x80,
    hex: '00 80 00 0c  56 54 30 31 32 33 34 35 36 37 38 39', // "VT0123456789"
  },
  { name: '80h one-character serial', info: bigReadOnly, page: 0x80, hex: '00 80 00 01  53' },
  {
    name: '83h device identification: NAA 5h then T10 vendor ID',
    info: disk,
    page: 0x83,
    hex:
      '00 83 00 24' +
      '  01 03 00 08  51 23 45 60 00 00 00 01' + // binary | LU, NAA | 8 bytes
      '  02 01 00 14  56 54 43 41 4d 20 20 20  56 54 30 31 32 33 34 35 36 37 38 39', // ASCII | LU, T10 | 20: "VTCAM   " "VT0123456789"
  },
  {
    name: '83h locally assigned NAA 3h, short vendor and serial',
    info: bigReadOnly,
    page: 0x83,
    hex: '00 83 00 19  01 03 00 08  30 00 00 00 00 00 00 42  02 01 00 09  41 43 4d 45 20 20 20 20 53',
  },
  {
    name: '86h extended INQUIRY data: HEADSUP ORDSUP SIMPSUP, V_SUP, LUICLR',
    info: disk,
    page: 0x86,
    hex: '00 86 00 3c  00 07 01 01' + z(56),
  },
  {
    name: '86h extended INQUIRY data without a volatile cache: V_SUP 0',
    info: { ...disk, volatileCache: false },
    page: 0x86,
    hex: '00 86 00 3c  00 07 00 01' + z(56),
  },
  {
    name: 'B0h block limits',
    info: disk,
    page: 0xb0,
    hex:
      '00 b0 00 3c' +
      ' 00' + // WSNZ 0: NUMBER OF LOGICAL BLOCKS 0 writes to the end
      ' 01' + // MAXIMUM COMPARE AND WRITE LENGTH
      ' 00 08' + // OPTIMAL TRANSFER LENGTH GRANULARITY = 2^3
      ' 00 00 08 00' + // MAXIMUM TRANSFER LENGTH
      ' 00 00 00 80' + // OPTIMAL TRANSFER LENGTH
      ' 00 00 00 00' + // MAXIMUM PREFETCH LENGTH
      ' 00 40 00 00' + // MAXIMUM UNMAP LBA COUNT
      ' 00 00 01 00' + // MAXIMUM UNMAP BLOCK DESCRIPTOR COUNT
      ' 00 00 00 08' + // OPTIMAL UNMAP GRANULARITY
      ' 80 00 00 00' + // UGAVALID | UNMAP GRANULARITY ALIGNMENT 0
      ' 00 00 00 00 00 40 00 00' + // MAXIMUM WRITE SAME LENGTH
      z(20), // atomic transfer fields
  },
  {
    name: 'B0h block limits: no unmap, exponent 15, maximum transfer FFFFFFFFh',
    info: bigReadOnly,
    page: 0xb0,
    hex: '00 b0 00 3c  00 00 80 00  ff ff ff ff' + z(52),
  },
  {
    name: 'B0h block limits: WRITE SAME (10) unmap only, alignment 7 valid',
    info: writeSame10Only,
    page: 0xb0,
    hex:
      '00 b0 00 3c  00 01 00 08  00 00 08 00  00 00 00 80  00 00 00 00' +
      ' 00 00 00 00  00 00 00 00  00 00 00 10  80 00 00 07' + // no UNMAP, granularity 16, UGAVALID | 7
      ' 00 00 00 00 00 40 00 00' +
      z(20),
  },
  {
    name: 'B0h block limits: an alignment without a granularity is neither valid nor sent',
    info: { ...disk, limits: { ...disk.limits, unmapGranularity: 0, unmapGranularityAlignment: 3 } },
    page: 0xb0,
    hex:
      '00 b0 00 3c  00 01 00 08  00 00 08 00  00 00 00 80  00 00 00 00' +
      ' 00 40 00 00  00 00 01 00  00 00 00 00  00 00 00 00' +
      ' 00 00 00 00 00 40 00 00' +
      z(20),
  },
  { name: 'B1h block device characteristics: non-rotating', info: disk, page: 0xb1, hex: '00 b1 00 3c  00 01  00 00 03' + z(55) },
  { name: 'B1h block device characteristics: 7200 rpm', info: bigReadOnly, page: 0xb1, hex: '00 b1 00 3c  1c 20  00 00 03' + z(55) },
  {
    name: 'B1h block device characteristics: not reported',
    info: { ...disk, rotationRate: 0 },
    page: 0xb1,
    hex: '00 b1 00 3c  00 00  00 00 03' + z(55),
  },
  {
    name: 'B2h logical block provisioning: LBPU LBPWS, LBPRZ 001b, thin',
    info: disk,
    page: 0xb2,
    hex: '00 b2 00 04  00 c4 02 00',
  },
  {
    name: 'B2h logical block provisioning: fully provisioned, LBPRZ suppressed',
    info: bigReadOnly,
    page: 0xb2,
    hex: '00 b2 00 04  00 00 00 00',
  },
  {
    name: 'B2h logical block provisioning: LBPWS10 and ANC_SUP, thin',
    info: writeSame10Only,
    page: 0xb2,
    hex: '00 b2 00 04  00 22 02 00',
  },
  {
    name: 'B2h logical block provisioning: all three unmap paths',
    info: { ...disk, provisioning: { lbpu: true, lbpws: true, lbpws10: true, lbprz: false } },
    page: 0xb2,
    hex: '00 b2 00 04  00 e0 02 00',
  },
];

/** Page codes that must be refused: neighbours of supported pages, the ends of the range, well-known SPC pages. */
export const unsupportedVpdPages: readonly number[] = [0x01, 0x7f, 0x81, 0x82, 0x84, 0x85, 0x87, 0x88, 0x89, 0x8a, 0xaf, 0xb3, 0xb7, 0xc0, 0xff];
