import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { AddressMethod, MAX_FLAT_SPACE_LUN, SelectReport, decodeLun, encodeLun, reportLuns } from '../../src/scsi/report-luns.js';
import { lunDecodeOnlyVectors, lunVectors, reportLunsVectors, unsupportedLunVectors, unsupportedSelectReport } from './report-luns.vectors.js';

const norm = (h: string): string => h.trim().split(/\s+/).join(' ');
const hex = (b: Uint8Array): string => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join(' ');
const bytes = (h: string): Uint8Array => Uint8Array.from(norm(h).split(' '), (x) => parseInt(x, 16));

const LOGICAL_UNIT_NOT_SUPPORTED = { ok: false, fault: { key: 0x5, asc: 0x25, ascq: 0x00 } };

describe('constants (SPC-5 / SAM-5)', () => {
  it('match the spec', () => {
    expect(SelectReport).toEqual({ LOGICAL_UNITS: 0, WELL_KNOWN_LOGICAL_UNITS: 1, ALL_LOGICAL_UNITS: 2 });
    expect(AddressMethod).toEqual({ PERIPHERAL_DEVICE: 0, FLAT_SPACE: 1, LOGICAL_UNIT: 2, EXTENDED_LOGICAL_UNIT: 3 });
    expect(MAX_FLAT_SPACE_LUN).toBe(16383);
  });
});

describe('encodeLun / decodeLun', () => {
  for (const v of lunVectors) {
    it(`LUN ${v.lun}`, () => {
      expect(hex(encodeLun(v.lun))).toBe(norm(v.hex));
      expect(decodeLun(bytes(v.hex))).toEqual({ ok: true, value: v.lun });
    });
  }

  for (const v of lunDecodeOnlyVectors) {
    it(`decode ${v.name}`, () => {
      expect(decodeLun(bytes(v.hex))).toEqual({ ok: true, value: v.lun });
    });
  }

  for (const v of unsupportedLunVectors) {
    it(`decode ${v.name} → LOGICAL UNIT NOT SUPPORTED`, () => {
      expect(decodeLun(bytes(v.hex))).toEqual(LOGICAL_UNIT_NOT_SUPPORTED);
    });
  }

  it('decodes from a subarray at an offset', () => {
    const buf = bytes('ff ff 41 2c 00 00 00 00 00 00 ff');
    expect(decodeLun(buf.subarray(2, 10))).toEqual({ ok: true, value: 300 });
  });

  it.each([-1, 16384, 1.5, Number.NaN])('encodeLun(%s) is a RangeError', (n) => {
    expect(() => encodeLun(n)).toThrow(RangeError);
  });

  it.each([0, 7, 9])('decodeLun of %i bytes is a RangeError', (n) => {
    expect(() => decodeLun(new Uint8Array(n))).toThrow(RangeError);
  });

  it('round-trips every LUN', () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: MAX_FLAT_SPACE_LUN }), (n) => {
      const r = decodeLun(encodeLun(n));
      return r.ok && r.value === n;
    }));
  });

  it('never throws on any 8 bytes, and accepts only what it can re-encode to the same LUN', () => {
    fc.assert(fc.property(fc.uint8Array({ minLength: 8, maxLength: 8 }), (b) => {
      const r = decodeLun(b);
      if (!r.ok) return r.fault.key === 5 && r.fault.asc === 0x25 && r.fault.ascq === 0;
      return decodeLun(encodeLun(r.value)).ok && r.value >= 0 && r.value <= MAX_FLAT_SPACE_LUN;
    }));
  });
});

describe('reportLuns', () => {
  for (const v of reportLunsVectors) {
    it(v.name, () => {
      const r = reportLuns(v.luns, v.select);
      if (!r.ok) throw new Error(`unexpected fault ${JSON.stringify(r.fault)}`);
      expect(hex(r.value)).toBe(norm(v.hex));
    });
  }

  for (const select of unsupportedSelectReport) {
    it(`SELECT REPORT ${select.toString(16).padStart(2, '0')}h → INVALID FIELD IN CDB, byte 2`, () => {
      expect(reportLuns([0], select)).toEqual({ ok: false, fault: { key: 0x5, asc: 0x24, ascq: 0x00, field: { cdb: true, byte: 2 } } });
    });
  }

  it('caller bugs throw: bad LUN, duplicate LUN, SELECT REPORT not a byte', () => {
    expect(() => reportLuns([16384], 0)).toThrow(RangeError);
    expect(() => reportLuns([1, 1], 0)).toThrow(RangeError);
    expect(() => reportLuns([0], 0x100)).toThrow(RangeError);
    expect(() => reportLuns([0], -1)).toThrow(RangeError);
    expect(reportLuns([0], 0).ok).toBe(true); // still works
  });

  it('LUN LIST LENGTH is 8 × the number of LUNs and each LUN decodes back', () => {
    fc.assert(fc.property(fc.uniqueArray(fc.integer({ min: 0, max: MAX_FLAT_SPACE_LUN }), { maxLength: 64 }), (luns) => {
      const r = reportLuns(luns, SelectReport.ALL_LOGICAL_UNITS);
      if (!r.ok) return false;
      const v = new DataView(r.value.buffer);
      if (v.getUint32(0) !== 8 * luns.length || r.value.length !== 8 + 8 * luns.length) return false;
      return luns.every((n, i) => {
        const d = decodeLun(r.value.subarray(8 + 8 * i, 16 + 8 * i));
        return d.ok && d.value === n;
      });
    }));
  });
});
