import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  Asc,
  SenseKey,
  invalidFieldInCdb,
  invalidFieldInParameterList,
  isSenseKey,
  sense,
  senseAbortedCommand,
  senseDataProtect,
  senseHardwareError,
  senseIllegalRequest,
  senseMediumError,
  senseMiscompare,
  senseNotReady,
  senseUnitAttention,
  type FieldPointer,
  type SegmentPointer,
  type SenseData,
} from '../../src/scsi/sense.js';
import { SenseDescriptorType, SenseResponseCode, decodeSense, decodeSenseFull, decodeSenseResult, encodeSense } from '../../src/scsi/sense-codec.js';
import { ascVectors, codecVectors, decodeVectors, lossyVectors } from './sense.vectors.js';

const norm = (h: string): string => h.trim().split(/\s+/).join(' ');
const hex = (b: Uint8Array): string => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join(' ');
const bytes = (h: string): Uint8Array => (norm(h) === '' ? new Uint8Array(0) : Uint8Array.from(norm(h).split(' '), (x) => parseInt(x, 16)));

describe('spec constants', () => {
  it('sense keys match the SPC-5 sense key table', () => {
    expect(SenseKey).toEqual({
      NO_SENSE: 0x0,
      RECOVERED_ERROR: 0x1,
      NOT_READY: 0x2,
      MEDIUM_ERROR: 0x3,
      HARDWARE_ERROR: 0x4,
      ILLEGAL_REQUEST: 0x5,
      UNIT_ATTENTION: 0x6,
      DATA_PROTECT: 0x7,
      BLANK_CHECK: 0x8,
      VENDOR_SPECIFIC: 0x9,
      COPY_ABORTED: 0xa,
      ABORTED_COMMAND: 0xb,
      VOLUME_OVERFLOW: 0xd,
      MISCOMPARE: 0xe,
      COMPLETED: 0xf,
    });
    expect([...Array(16).keys()].filter((k) => !isSenseKey(k))).toEqual([0xc]);
    expect(isSenseKey(16)).toBe(false);
  });

  it('response codes and descriptor types', () => {
    expect(SenseResponseCode).toEqual({ CURRENT_FIXED: 0x70, DEFERRED_FIXED: 0x71, CURRENT_DESCRIPTOR: 0x72, DEFERRED_DESCRIPTOR: 0x73 });
    expect(SenseDescriptorType).toEqual({ INFORMATION: 0, COMMAND_SPECIFIC_INFORMATION: 1, SENSE_KEY_SPECIFIC: 2, FIELD_REPLACEABLE_UNIT: 3 });
  });

  it('every Asc pair matches T10 asc-num.txt, and every entry has a vector', () => {
    expect(Object.keys(Asc).sort()).toEqual(ascVectors.map((v) => v.name).sort());
    for (const v of ascVectors) {
      const m = /^([0-9A-F]{2})h\/([0-9A-F]{2})h$/.exec(v.code);
      if (m === null) throw new Error(`bad vector code ${v.code}`);
      expect(Asc[v.name as keyof typeof Asc], v.name).toEqual({ asc: parseInt(m[1] ?? '', 16), ascq: parseInt(m[2] ?? '', 16) });
    }
  });

  it('Asc pairs are unique', () => {
    const codes = Object.values(Asc).map((c) => (c.asc << 8) | c.ascq);
    expect(new Set(codes).size).toBe(codes.length);
  });
});

describe('encodeSense / decodeSense vectors', () => {
  it.each(codecVectors)('$name', (v) => {
    expect(hex(encodeSense(v.sense, v.format))).toBe(norm(v.hex));
    expect(decodeSense(bytes(v.hex))).toEqual(v.sense);
    const full = decodeSenseFull(bytes(v.hex));
    expect(full?.format).toBe(v.format);
    expect(full?.hasAsc).toBe(true);
    expect(full?.truncated).toBe(false);
  });

  it.each(lossyVectors)('$name', (v) => {
    expect(hex(encodeSense(v.sense, v.format))).toBe(norm(v.hex));
    expect(decodeSense(bytes(v.hex))).toEqual(v.decoded);
  });

  it.each(decodeVectors)('decode: $name', (v) => {
    expect(decodeSenseFull(bytes(v.hex))).toEqual(v.expected);
    expect(decodeSense(bytes(v.hex))).toEqual(v.expected?.sense);
  });

  it.each([
    ['', { reason: 'empty' }],
    ['7f 00 05 00 00 00 00 0a', { reason: 'response-code', responseCode: 0x7f }],
    ['f4 05 24 00', { reason: 'response-code', responseCode: 0x74 }],
    ['70', { reason: 'short', format: 'fixed', responseCode: 0x70, length: 1 }],
    ['f1 00', { reason: 'short', format: 'fixed', responseCode: 0x71, length: 2 }],
    ['73', { reason: 'short', format: 'descriptor', responseCode: 0x73, length: 1 }],
    ['70 00 0c', { reason: 'sense-key', format: 'fixed', responseCode: 0x70, key: 0x0c }],
    ['72 fc 00 00', { reason: 'sense-key', format: 'descriptor', responseCode: 0x72, key: 0x0c }],
  ])('decodeSenseResult %j: why it is not sense data', (h, rejection) => {
    expect(decodeSenseResult(bytes(h))).toEqual({ ok: false, rejection });
    expect(decodeSenseFull(bytes(h))).toBeUndefined();
  });

  it('decodeSenseResult of sense data is what decodeSenseFull gives', () => {
    const b = bytes('70 00 05 00 00 00 00 0a 00 00 00 00 24 00 00 c9 00 01');
    expect(decodeSenseResult(b)).toEqual({ ok: true, value: decodeSenseFull(b) });
  });

  it('response code and format are reported', () => {
    expect(decodeSenseFull(bytes('71 00 03 00 00 00 00 0a 00 00 00 00 0c 00 00 00 00 00'))).toMatchObject({
      format: 'fixed',
      responseCode: 0x71,
    });
    expect(decodeSenseFull(bytes('73 03 0c 00 00 00 00 00'))).toMatchObject({ format: 'descriptor', responseCode: 0x73 });
  });

  it('reads a view that does not start at offset 0 of its buffer', () => {
    const backing = bytes('ff ff ff 70 00 05 00 00 00 00 0a 00 00 00 00 24 00 00 cb 00 01 ff');
    const view = backing.subarray(3, 21);
    expect(decodeSense(view)).toEqual({ key: 5, asc: 0x24, ascq: 0, field: { cdb: true, byte: 1, bit: 3 } });
  });

  it('fixed sense is 18 bytes with ADDITIONAL SENSE LENGTH 10 whatever it carries', () => {
    const all: SenseData = { key: 5, asc: 0x24, ascq: 0, information: 1n, commandSpecific: 2n, fru: 3, field: { cdb: true, byte: 4 } };
    const b = encodeSense(all, 'fixed');
    expect(b.length).toBe(18);
    expect(b[7]).toBe(10);
    expect((b[2] ?? 0) & 0xf).toBe(5);
    expect([b[12], b[13]]).toEqual([0x24, 0x00]);
  });
});

describe('encodeSense rejects values that do not fit (min, max, max+1)', () => {
  const ir = (field: FieldPointer): SenseData => ({ key: 5, asc: 0x24, ascq: 0, field });
  it.each([
    ['FIELD POINTER 65536', ir({ cdb: true, byte: 0x10000 })],
    ['FIELD POINTER -1', ir({ cdb: true, byte: -1 })],
    ['FIELD POINTER 1.5', ir({ cdb: true, byte: 1.5 })],
    ['BIT POINTER 8', ir({ cdb: true, byte: 0, bit: 8 })],
    ['BIT POINTER -1', ir({ cdb: true, byte: 0, bit: -1 })],
    ['ASC 256', { key: 5, asc: 0x100, ascq: 0 }],
    ['ASCQ -1', { key: 5, asc: 0x24, ascq: -1 }],
    ['INFORMATION -1', { key: 3, asc: 0x11, ascq: 0, information: -1n }],
    ['INFORMATION 2^64', { key: 3, asc: 0x11, ascq: 0, information: 1n << 64n }],
    ['COMMAND-SPECIFIC 2^64', { key: 4, asc: 0x44, ascq: 0, commandSpecific: 1n << 64n }],
    ['FRU 256', { key: 4, asc: 0x44, ascq: 0, fru: 256 }],
    ['PROGRESS 65536', { key: 2, asc: 0x04, ascq: 0x04, progress: 0x10000 }],
    ['field pointer on MEDIUM ERROR', { key: 3, asc: 0x11, ascq: 0, field: { cdb: true, byte: 2 } }],
    ['progress on ILLEGAL REQUEST', { key: 5, asc: 0x24, ascq: 0, progress: 1 }],
    ['field pointer and progress together', { key: 5, asc: 0x24, ascq: 0, field: { cdb: true, byte: 2 }, progress: 1 }],
    ['segment pointer on ILLEGAL REQUEST', { key: 5, asc: 0x26, ascq: 0, segment: { segmentDescriptor: true, byte: 2 } }],
    ['segment pointer and field pointer together', { key: 0xa, asc: 0x26, ascq: 0, segment: { segmentDescriptor: true, byte: 2 }, field: { cdb: false, byte: 2 } }],
    ['segment FIELD POINTER 65536', { key: 0xa, asc: 0x08, ascq: 4, segment: { segmentDescriptor: false, byte: 0x10000 } }],
    ['segment BIT POINTER 8', { key: 0xa, asc: 0x08, ascq: 4, segment: { segmentDescriptor: false, byte: 0, bit: 8 } }],
    ['obsolete sense key 0Ch', { key: 0xc as SenseData['key'], asc: 0, ascq: 0 }],
  ] satisfies [string, SenseData][])('%s', (_, s) => {
    expect(() => encodeSense(s, 'fixed')).toThrow(RangeError);
    expect(() => encodeSense(s, 'descriptor')).toThrow(RangeError);
  });

  it('accepts the maxima', () => {
    const max: SenseData = { key: 5, asc: 0xff, ascq: 0xff, field: { cdb: true, byte: 0xffff, bit: 7 }, fru: 0xff };
    expect(hex(encodeSense(max, 'fixed'))).toBe('70 00 05 00 00 00 00 0a 00 00 00 00 ff ff ff cf ff ff');
    expect(decodeSense(encodeSense(max, 'descriptor'))).toEqual(max);
    expect(decodeSense(encodeSense({ key: 0, asc: 0, ascq: 0, progress: 0xffff }, 'fixed'))).toEqual({
      key: 0,
      asc: 0,
      ascq: 0,
      progress: 0xffff,
    });
  });

  it('the error message names the field and value', () => {
    expect(() => encodeSense({ key: 5, asc: 0x24, ascq: 0, field: { cdb: true, byte: 70000 } }, 'fixed')).toThrow(/FIELD POINTER 70000/);
  });
});

describe('named constructors', () => {
  // Expected bytes written from the SPC tables, independent of Asc/SenseKey.
  it.each([
    ['senseIllegalRequest defaults C/D to 1', senseIllegalRequest(Asc.LBA_OUT_OF_RANGE, { byte: 2 }), '70 00 05 00 00 00 00 0a 00 00 00 00 21 00 00 c0 00 02'],
    ['senseIllegalRequest without field', senseIllegalRequest(Asc.INVALID_COMMAND_OPERATION_CODE), '70 00 05 00 00 00 00 0a 00 00 00 00 20 00 00 00 00 00'],
    [
      'senseIllegalRequest C/D=0 with bit',
      senseIllegalRequest(Asc.PARAMETER_LIST_LENGTH_ERROR, { cdb: false, byte: 9, bit: 1 }),
      '70 00 05 00 00 00 00 0a 00 00 00 00 1a 00 00 89 00 09',
    ],
    ['invalidFieldInCdb(1, 3)', invalidFieldInCdb(1, 3), '70 00 05 00 00 00 00 0a 00 00 00 00 24 00 00 cb 00 01'],
    ['invalidFieldInParameterList(4)', invalidFieldInParameterList(4), '70 00 05 00 00 00 00 0a 00 00 00 00 26 00 00 80 00 04'],
    ['senseDataProtect(WRITE PROTECTED)', senseDataProtect(Asc.WRITE_PROTECTED), '70 00 07 00 00 00 00 0a 00 00 00 00 27 00 00 00 00 00'],
    [
      'senseDataProtect(LOGICAL UNIT SOFTWARE WRITE PROTECTED)',
      senseDataProtect(Asc.LOGICAL_UNIT_SOFTWARE_WRITE_PROTECTED),
      '70 00 07 00 00 00 00 0a 00 00 00 00 27 02 00 00 00 00',
    ],
    [
      'senseUnitAttention(POWER ON, RESET, OR BUS DEVICE RESET OCCURRED)',
      senseUnitAttention(Asc.POWER_ON_RESET_OR_BUS_DEVICE_RESET_OCCURRED),
      '70 00 06 00 00 00 00 0a 00 00 00 00 29 00 00 00 00 00',
    ],
    ['senseUnitAttention(REGISTRATIONS PREEMPTED)', senseUnitAttention(Asc.REGISTRATIONS_PREEMPTED), '70 00 06 00 00 00 00 0a 00 00 00 00 2a 05 00 00 00 00'],
    ['senseAbortedCommand(DATA PHASE ERROR)', senseAbortedCommand(Asc.DATA_PHASE_ERROR), '70 00 0b 00 00 00 00 0a 00 00 00 00 4b 00 00 00 00 00'],
    ['senseAbortedCommand(PROTOCOL SERVICE CRC ERROR)', senseAbortedCommand(Asc.PROTOCOL_SERVICE_CRC_ERROR), '70 00 0b 00 00 00 00 0a 00 00 00 00 47 05 00 00 00 00'],
    ['senseHardwareError(INTERNAL TARGET FAILURE)', senseHardwareError(Asc.INTERNAL_TARGET_FAILURE), '70 00 04 00 00 00 00 0a 00 00 00 00 44 00 00 00 00 00'],
    ['senseNotReady(MEDIUM NOT PRESENT)', senseNotReady(Asc.MEDIUM_NOT_PRESENT), '70 00 02 00 00 00 00 0a 00 00 00 00 3a 00 00 00 00 00'],
    [
      'senseNotReady(FORMAT IN PROGRESS, progress 4000h)',
      senseNotReady(Asc.LOGICAL_UNIT_NOT_READY_FORMAT_IN_PROGRESS, 0x4000),
      '70 00 02 00 00 00 00 0a 00 00 00 00 04 04 00 80 40 00',
    ],
    ['senseMediumError(UNRECOVERED READ ERROR)', senseMediumError(Asc.UNRECOVERED_READ_ERROR), '70 00 03 00 00 00 00 0a 00 00 00 00 11 00 00 00 00 00'],
  ] as const)('%s', (_, s, expected) => {
    expect(hex(encodeSense(s, 'fixed'))).toBe(expected);
    expect(decodeSense(bytes(expected))).toEqual(s);
  });

  it('senseMediumError puts the LBA in INFORMATION', () => {
    expect(senseMediumError(Asc.UNRECOVERED_READ_ERROR, 0x1234n)).toEqual({ key: 3, asc: 0x11, ascq: 0, information: 0x1234n });
    expect(hex(encodeSense(senseMediumError(Asc.WRITE_ERROR, 0xabcdefn), 'fixed'))).toBe(
      'f0 00 03 00 ab cd ef 0a 00 00 00 00 0c 00 00 00 00 00',
    );
  });

  it('senseMiscompare: MISCOMPARE 0Eh/1Dh/00h with the offset, number or bigint', () => {
    expect(senseMiscompare(0x10)).toEqual({ key: 0xe, asc: 0x1d, ascq: 0, information: 0x10n });
    expect(senseMiscompare(0x10n)).toEqual(senseMiscompare(0x10));
    expect(hex(encodeSense(senseMiscompare(512), 'fixed'))).toBe('f0 00 0e 00 00 02 00 0a 00 00 00 00 1d 00 00 00 00 00');
    expect(() => senseMiscompare(1.5)).toThrow(RangeError);
  });

  it('sense() passes the optional parts through', () => {
    expect(sense(SenseKey.HARDWARE_ERROR, Asc.INTERNAL_TARGET_FAILURE, { fru: 7, deferred: true })).toEqual({
      key: 4,
      asc: 0x44,
      ascq: 0,
      fru: 7,
      deferred: true,
    });
  });
});

// ---- property tests ------------------------------------------------------

const U32 = 0xffff_ffffn;
const U64 = (1n << 64n) - 1n;
const keys = Object.values(SenseKey);

const arbField: fc.Arbitrary<FieldPointer> = fc.record(
  { cdb: fc.boolean(), byte: fc.integer({ min: 0, max: 0xffff }), bit: fc.integer({ min: 0, max: 7 }) },
  { requiredKeys: ['cdb', 'byte'] },
);
const arbSegment: fc.Arbitrary<SegmentPointer> = fc.record(
  { segmentDescriptor: fc.boolean(), byte: fc.integer({ min: 0, max: 0xffff }), bit: fc.integer({ min: 0, max: 7 }) },
  { requiredKeys: ['segmentDescriptor', 'byte'] },
);

/** Any valid sense whose every field survives `format` unchanged. */
function arbSense(format: 'fixed' | 'descriptor', max = format === 'fixed' ? U32 : U64): fc.Arbitrary<SenseData> {
  return fc.constantFrom(...keys).chain((key) =>
    fc.record(
      {
        key: fc.constant(key),
        asc: fc.integer({ min: 0, max: 0xff }),
        ascq: fc.integer({ min: 0, max: 0xff }),
        information: fc.bigInt({ min: 0n, max }),
        commandSpecific: fc.bigInt({ min: 1n, max }),
        fru: fc.integer({ min: 1, max: 0xff }),
        deferred: fc.constant(true),
        ...(key === SenseKey.ILLEGAL_REQUEST ? { field: arbField } : {}),
        ...(key === SenseKey.NO_SENSE || key === SenseKey.NOT_READY ? { progress: fc.integer({ min: 0, max: 0xffff }) } : {}),
        ...(key === SenseKey.COPY_ABORTED ? { segment: arbSegment } : {}),
      },
      { requiredKeys: ['key', 'asc', 'ascq'] },
    ),
  );
}

describe('properties', () => {
  it('decode(encode(x, fixed)) === x', () => {
    fc.assert(fc.property(arbSense('fixed'), (s) => {
      expect(decodeSense(encodeSense(s, 'fixed'))).toEqual(s);
    }));
  });

  it('decode(encode(x, descriptor)) === x', () => {
    fc.assert(fc.property(arbSense('descriptor'), (s) => {
      expect(decodeSense(encodeSense(s, 'descriptor'))).toEqual(s);
    }));
  });

  it('fixed format drops exactly the 64-bit values', () => {
    fc.assert(fc.property(arbSense('descriptor'), (s) => {
      const { information, commandSpecific, ...rest } = s;
      const expected: SenseData = {
        ...rest,
        ...(information !== undefined && information <= U32 ? { information } : {}),
        ...(commandSpecific !== undefined && commandSpecific <= U32 ? { commandSpecific } : {}),
      };
      expect(decodeSense(encodeSense(s, 'fixed'))).toEqual(expected);
    }));
  });

  it('every prefix that reaches the sense key decodes to the same key; shorter ones do not decode', () => {
    fc.assert(fc.property(arbSense('descriptor'), fc.constantFrom('fixed' as const, 'descriptor' as const), (s, format) => {
      const b = encodeSense(s, format);
      const keyByte = format === 'fixed' ? 2 : 1;
      for (let n = 0; n <= b.length; n++) {
        const d = decodeSenseFull(b.subarray(0, n));
        if (n <= keyByte) {
          expect(d).toBeUndefined();
        } else {
          expect(d?.sense.key).toBe(s.key);
          expect(d?.truncated).toBe(n < b.length);
        }
      }
    }));
  });

  it('never throws on arbitrary bytes', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), fc.nat(8), (b, skip) => {
      expect(() => decodeSenseFull(b)).not.toThrow();
      expect(() => decodeSenseFull(b.subarray(Math.min(skip, b.length)))).not.toThrow();
    }), { numRuns: 2000 });
  });

  it('never throws on arbitrary bytes that look like sense; what decodes re-encodes losslessly as descriptor', () => {
    const arbBytes = fc
      .tuple(fc.integer({ min: 0x70, max: 0x73 }), fc.boolean(), fc.uint8Array({ maxLength: 64 }))
      .map(([code, high, rest]) => Uint8Array.from([code | (high ? 0x80 : 0), ...rest]));
    fc.assert(fc.property(arbBytes, (b) => {
      const d = decodeSenseFull(b);
      if (d === undefined) return;
      expect(d.responseCode & 0x7f).toBe((b[0] ?? 0) & 0x7f);
      expect(decodeSense(encodeSense(d.sense, 'descriptor'))).toEqual(d.sense);
      expect(() => encodeSense(d.sense, 'fixed')).not.toThrow();
    }), { numRuns: 3000 });
  });
});
