import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  Association,
  CodeSet,
  DesignatorType,
  ProvisioningType,
  SUPPORTED_VPD_PAGES,
  VpdPage,
  buildBlockDeviceCharacteristics,
  buildBlockLimits,
  buildDeviceIdentification,
  buildExtendedInquiryData,
  buildLogicalBlockProvisioning,
  buildSupportedVpdPages,
  buildUnitSerialNumber,
  buildVpdPage,
} from '../../src/scsi/vpd.js';
import { disk } from './inquiry.vectors.js';
import { unsupportedVpdPages, vpdVectors } from './vpd.vectors.js';

const norm = (h: string): string => h.trim().split(/\s+/).join(' ');
const hex = (b: Uint8Array): string => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join(' ');

describe('constants (SPC-5 / SBC-4)', () => {
  it('page codes and designator codes match the spec', () => {
    expect(VpdPage).toEqual({
      SUPPORTED_VPD_PAGES: 0x00,
      UNIT_SERIAL_NUMBER: 0x80,
      DEVICE_IDENTIFICATION: 0x83,
      EXTENDED_INQUIRY_DATA: 0x86,
      BLOCK_LIMITS: 0xb0,
      BLOCK_DEVICE_CHARACTERISTICS: 0xb1,
      LOGICAL_BLOCK_PROVISIONING: 0xb2,
    });
    expect(CodeSet).toEqual({ BINARY: 1, ASCII: 2, UTF_8: 3 });
    expect(Association).toEqual({ LOGICAL_UNIT: 0, TARGET_PORT: 1, TARGET_DEVICE: 2 });
    expect(DesignatorType).toEqual({ VENDOR_SPECIFIC: 0, T10_VENDOR_ID: 1, EUI_64: 2, NAA: 3 });
    expect(ProvisioningType).toEqual({ NOT_REPORTED: 0, RESOURCE_PROVISIONED: 1, THIN_PROVISIONED: 2 });
  });

  it('the supported list is strictly ascending (SPC-5)', () => {
    expect([...SUPPORTED_VPD_PAGES]).toEqual([...SUPPORTED_VPD_PAGES].sort((a, b) => a - b));
    expect(new Set(SUPPORTED_VPD_PAGES).size).toBe(SUPPORTED_VPD_PAGES.length);
  });
});

describe('buildVpdPage vectors', () => {
  for (const v of vpdVectors) {
    it(v.name, () => {
      const r = buildVpdPage(v.info, v.page);
      if (!r.ok) throw new Error(`unexpected fault ${JSON.stringify(r.fault)}`);
      expect(hex(r.value)).toBe(norm(v.hex));
    });
  }

  it('the named builders agree with buildVpdPage', () => {
    const named: [number, (i: typeof disk) => Uint8Array][] = [
      [0x00, buildSupportedVpdPages],
      [0x80, buildUnitSerialNumber],
      [0x83, buildDeviceIdentification],
      [0x86, buildExtendedInquiryData],
      [0xb0, buildBlockLimits],
      [0xb1, buildBlockDeviceCharacteristics],
      [0xb2, buildLogicalBlockProvisioning],
    ];
    for (const [code, build] of named) {
      const r = buildVpdPage(disk, code);
      expect(r.ok && hex(r.value)).toBe(hex(build(disk)));
    }
  });

  it('every supported page reports its own PAGE CODE and a PAGE LENGTH matching its size', () => {
    for (const code of SUPPORTED_VPD_PAGES) {
      const r = buildVpdPage(disk, code);
      if (!r.ok) throw new Error(`page ${code} refused`);
      expect(r.value[0]).toBe(0x00);
      expect(r.value[1]).toBe(code);
      expect(((r.value[2] ?? 0) << 8) | (r.value[3] ?? 0)).toBe(r.value.length - 4);
    }
  });

  it('the longest serial fills a one-byte DESIGNATOR LENGTH exactly', () => {
    const serial = '~'.repeat(247);
    const out = buildDeviceIdentification({ ...disk, serial });
    expect(out[16 + 3]).toBe(0xff); // second descriptor's DESIGNATOR LENGTH: 8 + 247
    expect(out.length).toBe(4 + 12 + 4 + 255);
    expect(buildUnitSerialNumber({ ...disk, serial }).length).toBe(4 + 247);
  });
});

describe('unsupported VPD pages', () => {
  for (const code of unsupportedVpdPages) {
    it(`page ${code.toString(16).padStart(2, '0')}h → ILLEGAL REQUEST, INVALID FIELD IN CDB, byte 2`, () => {
      expect(buildVpdPage(disk, code)).toEqual({ ok: false, fault: { key: 0x5, asc: 0x24, ascq: 0x00, field: { cdb: true, byte: 2 } } });
    });
  }

  it('any byte: supported pages build, every other page faults the same way', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xff }), (code) => {
        const r = buildVpdPage(disk, code);
        if ((SUPPORTED_VPD_PAGES as readonly number[]).includes(code)) return r.ok && r.value[1] === code;
        return !r.ok && r.fault.key === 5 && r.fault.asc === 0x24 && r.fault.field?.byte === 2 && r.fault.field.cdb;
      }),
    );
  });

  it('a page code that is not a byte is a caller bug', () => {
    expect(() => buildVpdPage(disk, 0x100)).toThrow(RangeError);
    expect(() => buildVpdPage(disk, -1)).toThrow(RangeError);
    expect(() => buildVpdPage(disk, 1.5)).toThrow(RangeError);
  });

  it('an invalid info is a caller bug even for an unsupported page', () => {
    expect(() => buildVpdPage({ ...disk, serial: '' }, 0x81)).toThrow(RangeError);
    expect(() => buildVpdPage({ ...disk, serial: '' }, 0x80)).toThrow(RangeError);
  });
});
