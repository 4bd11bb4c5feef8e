import { describe, expect, it } from 'vitest';
import {
  INQUIRY_VERSION,
  PeripheralDeviceType,
  PeripheralQualifier,
  STANDARD_INQUIRY_LENGTH,
  VersionDescriptor,
  buildStandardInquiry,
} from '../../src/scsi/inquiry.js';
import { asciiField, assertLogicalUnitInfo, lbpme, naaIeeeRegistered, naaLocallyAssigned, type LogicalUnitInfo } from '../../src/scsi/device-info.js';
import { bigReadOnly, disk, inquiryVectors, maxFieldsVector, writeSame10Only } from './inquiry.vectors.js';

const norm = (h: string): string => h.trim().split(/\s+/).join(' ');
const hex = (b: Uint8Array): string => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join(' ');

describe('constants (SPC-5, T10 version descriptors)', () => {
  it('match the spec values', () => {
    expect(VersionDescriptor).toEqual({ SAM_5: 0x00a0, SPC_5: 0x05c0, SPC_4: 0x0460, SBC_4: 0x0600, SBC_3: 0x04c0 });
    expect(INQUIRY_VERSION).toBe(6);
    expect(STANDARD_INQUIRY_LENGTH).toBe(96);
    expect(PeripheralQualifier).toEqual({ CONNECTED: 0, NOT_CONNECTED: 1, NOT_SUPPORTED: 3 });
    expect(PeripheralDeviceType).toEqual({ DIRECT_ACCESS_BLOCK_DEVICE: 0, UNKNOWN_OR_NO_DEVICE_TYPE: 0x1f });
  });
});

describe('buildStandardInquiry', () => {
  for (const v of inquiryVectors) {
    it(v.name, () => {
      const out = v.peripheralQualifier === undefined ? buildStandardInquiry(v.info) : buildStandardInquiry(v.info, { peripheralQualifier: v.peripheralQualifier });
      expect(hex(out)).toBe(norm(v.hex));
    });
  }

  it('ADDITIONAL LENGTH covers exactly the bytes after byte 4', () => {
    const out = buildStandardInquiry(disk);
    expect(out.length).toBe(96);
    expect(out[4]).toBe(out.length - 5);
  });

  it('accepts fields at their full width and at the ends of the printable range', () => {
    expect(hex(buildStandardInquiry(maxFieldsVector.info).subarray(8, 36))).toBe(norm(maxFieldsVector.identification));
  });

  it('zero-length ASCII fields are all spaces', () => {
    const out = buildStandardInquiry({ ...disk, vendor: '', product: '', revision: '' });
    expect(hex(out.subarray(8, 36))).toBe(norm(' 20'.repeat(28)));
  });

  it.each([
    ['vendor 9 characters', { vendor: 'ABCDEFGHI' }],
    ['product 17 characters', { product: 'A'.repeat(17) }],
    ['revision 5 characters', { revision: '12345' }],
    ['vendor with a non-ASCII character', { vendor: 'VTCAMé' }],
    ['product with a control character', { product: 'A\tB' }],
    ['revision with DEL (7Fh)', { revision: '\u007f' }],
    ['product with a surrogate pair', { product: 'disk\u{1f4be}' }],
  ] satisfies [string, Partial<LogicalUnitInfo>][])('RangeError: %s', (_name, patch) => {
    expect(() => buildStandardInquiry({ ...disk, ...patch })).toThrow(RangeError);
  });

  it('still works after a rejected input', () => {
    expect(() => buildStandardInquiry({ ...disk, vendor: 'TOO LONG VENDOR' })).toThrow(RangeError);
    expect(hex(buildStandardInquiry(disk))).toBe(norm(inquiryVectors[0]?.hex ?? ''));
  });
});

describe('device-info', () => {
  it('asciiField pads with spaces and rejects overflow', () => {
    expect(hex(asciiField('x', 'AB', 4))).toBe('41 42 20 20');
    expect(hex(asciiField('x', '', 2))).toBe('20 20');
    expect(() => asciiField('x', 'ABC', 2)).toThrow(/holds 2/);
  });

  it('naaIeeeRegistered lays out NAA 5h | COMPANY_ID | VENDOR SPECIFIC IDENTIFIER', () => {
    expect(naaIeeeRegistered(0x123456, 1n)).toBe(0x5123_4560_0000_0001n);
    expect(naaIeeeRegistered(0, 0n)).toBe(0x5000_0000_0000_0000n);
    expect(naaIeeeRegistered(0xff_ffff, (1n << 36n) - 1n)).toBe(0x5fff_ffff_ffff_ffffn);
    expect(() => naaIeeeRegistered(0x100_0000, 0n)).toThrow(RangeError);
    expect(() => naaIeeeRegistered(-1, 0n)).toThrow(RangeError);
    expect(() => naaIeeeRegistered(0, 1n << 36n)).toThrow(RangeError);
  });

  it('naaLocallyAssigned lays out NAA 3h | 60-bit value', () => {
    expect(naaLocallyAssigned(0x42n)).toBe(0x3000_0000_0000_0042n);
    expect(naaLocallyAssigned((1n << 60n) - 1n)).toBe(0x3fff_ffff_ffff_ffffn);
    expect(() => naaLocallyAssigned(1n << 60n)).toThrow(RangeError);
  });

  it('lbpme follows any unmap path', () => {
    expect(lbpme(disk)).toBe(true);
    expect(lbpme(bigReadOnly)).toBe(false);
    expect(lbpme(writeSame10Only)).toBe(true);
  });

  it('accepts the fixtures and the field maxima', () => {
    expect(() => {
      assertLogicalUnitInfo(disk);
      assertLogicalUnitInfo(bigReadOnly);
      assertLogicalUnitInfo(writeSame10Only);
      assertLogicalUnitInfo({ ...disk, blocks: 0xffff_ffff_ffff_ffffn, rotationRate: 0xfffe, serial: 'S'.repeat(247) });
      assertLogicalUnitInfo({ ...disk, blocks: 1n, rotationRate: 0x0401, naa: 0x2000_0000_0000_0000n });
      assertLogicalUnitInfo({ ...disk, rotationRate: 0 });
    }).not.toThrow();
  });

  it.each([
    ['empty serial', { serial: '' }],
    ['serial 248 characters', { serial: 'S'.repeat(248) }],
    ['NAA 6h nibble (16-byte format)', { naa: 0x6000_0000_0000_0001n }],
    ['NAA 1h nibble', { naa: 0x1000_0000_0000_0001n }],
    ['naa wider than 64 bits', { naa: 1n << 64n }],
    ['negative naa', { naa: -1n }],
    ['blockSize 1024', { blockSize: 1024 as 512 }],
    ['blocks 0', { blocks: 0n }],
    ['blocks 2^64', { blocks: 1n << 64n }],
    ['physicalBlockExp 16', { physicalBlockExp: 16 }],
    ['physicalBlockExp -1', { physicalBlockExp: -1 }],
    ['lowestAlignedLba 4000h', { lowestAlignedLba: 0x4000 }],
    ['rotationRate 2 (reserved)', { rotationRate: 2 }],
    ['rotationRate 0400h (reserved)', { rotationRate: 0x400 }],
    ['rotationRate FFFFh (reserved)', { rotationRate: 0xffff }],
    ['maxCompareAndWriteBlocks 256', { limits: { ...disk.limits, maxCompareAndWriteBlocks: 256 } }],
    ['maxTransferBlocks 2^32', { limits: { ...disk.limits, maxTransferBlocks: 2 ** 32 } }],
    ['unmapGranularityAlignment 2^31', { limits: { ...disk.limits, unmapGranularityAlignment: 2 ** 31 } }],
    ['fractional optimalTransferBlocks', { limits: { ...disk.limits, optimalTransferBlocks: 1.5 } }],
    ['LBPU without UNMAP limits', { limits: { ...disk.limits, maxUnmapLbaCount: 0 } }],
    ['UNMAP limits without LBPU', { provisioning: { ...disk.provisioning, lbpu: false } }],
  ] satisfies [string, Partial<LogicalUnitInfo>][])('RangeError: %s', (_name, patch) => {
    expect(() => {
      assertLogicalUnitInfo({ ...disk, ...patch });
    }).toThrow(RangeError);
  });
});
