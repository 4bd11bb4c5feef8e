import { describe, expect, it } from 'vitest';
import { decodeCdb, encodeCdb } from '../../../src/scsi/cdb/decode.js';
import { encodeGetLbaStatus, encodeReadCapacity10, encodeReadCapacity16 } from '../../../src/scsi/cdb/capacity.js';
import { encodeInquiry } from '../../../src/scsi/cdb/inquiry.js';
import { encodeSyncCache } from '../../../src/scsi/cdb/sync-cache.js';
import { encodePrefetch } from '../../../src/scsi/cdb/prefetch.js';
import { encodeUnmap } from '../../../src/scsi/cdb/unmap.js';
import { encodeWriteSame } from '../../../src/scsi/cdb/write-same.js';
import { encodeCompareAndWrite } from '../../../src/scsi/cdb/compare-and-write.js';
import { encodeModeSelect, encodeModeSense } from '../../../src/scsi/cdb/mode.js';
import { decodeReportLuns, encodeReportLuns } from '../../../src/scsi/cdb/report-luns.js';
import {
  encodePreventAllow,
  encodeRequestSense,
  encodeSendDiagnostic,
  encodeStartStopUnit,
  encodeFormatUnit,
} from '../../../src/scsi/cdb/misc.js';
import { encodePersistentReserveIn, encodePersistentReserveOut, encodeReserveRelease } from '../../../src/scsi/cdb/reservations.js';
import { decodeRsocCdb, encodeRsocCdb, encodeRstmfCdb } from '../../../src/scsi/cdb/rsoc.js';
import { decodeInquiry } from '../../../src/scsi/cdb/inquiry.js';
import { cdbFaultVectors, cdbVectors } from './cdbs.vectors.js';

const norm = (h: string): string => h.trim().split(/\s+/).join(' ');
const hex = (b: Uint8Array): string => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join(' ');
const bytes = (h: string): Uint8Array => (norm(h) === '' ? new Uint8Array(0) : Uint8Array.from(norm(h).split(' '), (x) => parseInt(x, 16)));

describe('CDB vectors (SPC-5 / SBC-4 tables)', () => {
  it.each(cdbVectors)('encode: $name', (v) => {
    expect(hex(encodeCdb(v.cdb, v.minLength === undefined ? {} : { minLength: v.minLength }))).toBe(norm(v.hex));
  });
  it.each(cdbVectors)('decode: $name', (v) => {
    const r = decodeCdb(bytes(v.hex));
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    const { descriptor, ...fields } = r.value;
    expect(fields).toEqual(v.cdb);
    expect(descriptor.opcode).toBe(bytes(v.hex)[0]);
  });
  it.each(cdbFaultVectors)('fault: $name', (v) => {
    const field = v.bit === undefined ? { cdb: true, byte: v.byte } : { cdb: true, byte: v.byte, bit: v.bit };
    expect(decodeCdb(bytes(v.hex))).toEqual({ ok: false, fault: { key: 0x5, asc: v.asc, ascq: 0x00, field } });
  });
});

describe('per-field limits: min, max, max + 1, zero', () => {
  it('INQUIRY ALLOCATION LENGTH 0..65535; page code needs EVPD', () => {
    expect(hex(encodeInquiry({ allocationLength: 0 }))).toBe('12 00 00 00 00 00');
    expect(hex(encodeInquiry({ allocationLength: 0xffff }))).toBe('12 00 00 ff ff 00');
    expect(() => encodeInquiry({ allocationLength: 0x10000 })).toThrow(RangeError);
    expect(() => encodeInquiry({ pageCode: 0x80, allocationLength: 4 })).toThrow(RangeError);
    expect(decodeInquiry(bytes('12 01 ff 00 04 00'))).toEqual({ ok: true, value: { evpd: true, pageCode: 0xff, allocationLength: 4 } });
  });

  it('MODE SENSE / SELECT: 255 stays (6), 256 needs (10), 65536 throws', () => {
    expect(encodeModeSense({ pageCode: 0x3f, allocationLength: 255 })[0]).toBe(0x1a);
    expect(encodeModeSense({ pageCode: 0x3f, allocationLength: 256 })[0]).toBe(0x5a);
    expect(() => encodeModeSense({ pageCode: 0x3f, allocationLength: 0x10000 })).toThrow(RangeError);
    expect(() => encodeModeSense({ pageCode: 0x40, allocationLength: 4 })).toThrow(RangeError);
    expect(encodeModeSelect({ parameterListLength: 255 })[0]).toBe(0x15);
    expect(encodeModeSelect({ parameterListLength: 256 })[0]).toBe(0x55);
    expect(encodeModeSelect({ parameterListLength: 0 }, { minLength: 10 })[0]).toBe(0x55);
    expect(() => encodeModeSelect({ parameterListLength: 4 }, { minLength: 12 })).toThrow(RangeError);
  });

  it('SYNCHRONIZE CACHE / PRE-FETCH: (10) up to 2^32 − 1 and 65535 blocks, else (16); 2^32 blocks throws', () => {
    for (const enc of [encodeSyncCache, encodePrefetch]) {
      expect(enc({ lba: 0xffff_ffffn, blocks: 0xffff }).length).toBe(10);
      expect(enc({ lba: 0x1_0000_0000n }).length).toBe(16);
      expect(enc({ blocks: 0x10000 }).length).toBe(16);
      expect(enc({ blocks: 0xffff_ffff }).length).toBe(16);
      expect(() => enc({ blocks: 0x1_0000_0000 })).toThrow(RangeError);
      expect(() => enc({ lba: -1n })).toThrow(RangeError);
      expect(() => enc({ groupNumber: 64 })).toThrow(RangeError);
    }
  });

  it('WRITE SAME: (10) limits, NDOB forces (16), ANCHOR without UNMAP throws', () => {
    expect(encodeWriteSame({ lba: 0xffff_ffffn, blocks: 0xffff }).length).toBe(10);
    expect(encodeWriteSame({ lba: 0n, blocks: 0x10000 }).length).toBe(16);
    expect(encodeWriteSame({ lba: 0n, blocks: 0, ndob: true }).length).toBe(16);
    expect(() => encodeWriteSame({ lba: 0n, blocks: 1, anchor: true })).toThrow(RangeError);
    expect(() => encodeWriteSame({ lba: 0n, blocks: 1, protect: 8 })).toThrow(RangeError);
  });

  it('COMPARE AND WRITE NUMBER OF LOGICAL BLOCKS is one byte', () => {
    expect(encodeCompareAndWrite({ lba: 0n, blocks: 0 })[13]).toBe(0);
    expect(encodeCompareAndWrite({ lba: 0n, blocks: 255 })[13]).toBe(255);
    expect(() => encodeCompareAndWrite({ lba: 0n, blocks: 256 })).toThrow(RangeError);
  });

  it('READ CAPACITY: (10) LBA is 32 bits; (16) and GET LBA STATUS check their fields', () => {
    expect(hex(encodeReadCapacity10())).toBe('25 00 00 00 00 00 00 00 00 00');
    expect(() => encodeReadCapacity10({ lba: 0x1_0000_0000n, pmi: true })).toThrow(RangeError);
    expect(() => encodeReadCapacity16({ allocationLength: 0x1_0000_0000 })).toThrow(RangeError);
    expect(() => encodeGetLbaStatus({ startingLba: 0n, allocationLength: 24, reportType: 5 })).toThrow(RangeError);
  });

  it('REPORT LUNS ALLOCATION LENGTH: 15 is a fault, 16 and 2^32 − 1 decode', () => {
    expect(decodeReportLuns(encodeReportLuns({ allocationLength: 15 }))).toMatchObject({ ok: false, fault: { asc: 0x24, field: { byte: 6 } } });
    expect(decodeReportLuns(encodeReportLuns({ allocationLength: 16 })).ok).toBe(true);
    expect(decodeReportLuns(encodeReportLuns({ allocationLength: 0xffff_ffff })).ok).toBe(true);
    expect(() => encodeReportLuns({ allocationLength: 16, selectReport: 3 })).toThrow(RangeError);
  });

  it('small CDB encoders refuse values the CDB cannot carry or that are reserved', () => {
    expect(() => encodeRequestSense({ allocationLength: 256 })).toThrow(RangeError);
    expect(() => encodeStartStopUnit({ powerCondition: 0x3, powerConditionModifier: 2 })).toThrow(RangeError);
    expect(() => encodeStartStopUnit({ powerCondition: 0x5 as 0x3 })).toThrow(RangeError);
    expect(() => encodePreventAllow({ prevent: 2 as 1 })).toThrow(RangeError);
    expect(() => encodeFormatUnit({ defectListFormat: 8 })).toThrow(RangeError);
    expect(() => encodeSendDiagnostic({ selfTestCode: 3 as 0 })).toThrow(RangeError);
    expect(() => encodeSendDiagnostic({ selfTest: true, selfTestCode: 1 })).toThrow(RangeError);
    expect(() => encodeUnmap({ parameterListLength: 0x10000 })).toThrow(RangeError);
    expect(() => encodePersistentReserveIn({ serviceAction: 0, allocationLength: 0x10000 })).toThrow(RangeError);
    expect(() => encodePersistentReserveOut({ serviceAction: 1, type: 16, parameterListLength: 24 })).toThrow(RangeError);
    expect(() => encodeReserveRelease({ op: 'RESERVE' }, { minLength: 12 })).toThrow(RangeError);
    expect(() => encodeRsocCdb({ reportingOptions: 4 as 0, allocationLength: 4 })).toThrow(RangeError);
    expect(() => encodeRstmfCdb({ allocationLength: -1 })).toThrow(RangeError);
  });

  it('a decoder handed another service action of its opcode throws (routing bug)', () => {
    expect(() => decodeRsocCdb(encodeRstmfCdb({ allocationLength: 4 }))).toThrow(RangeError);
  });
});
