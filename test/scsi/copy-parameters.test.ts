// EXTENDED COPY (LID1) parameter list decoding and RECEIVE COPY STATUS data,
// against bytes written from the SPC-5 tables (the handler tests in
// sbc/extended-copy.test.ts cover the rest through the emulator).

import { describe, expect, it } from 'vitest';
import { buildCopyStatus, decodeExtendedCopyList } from '../../src/scsi/copy-parameters.js';

const hex = (b: Uint8Array): string => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join(' ');
const limits = { maxCscdDescriptors: 2, maxSegmentDescriptors: 4, maxDescriptorListLength: 256, maxSegmentBytes: 0xffff * 512 };

describe('buildCopyStatus', () => {
  it.each([
    [0n, '00 00 00 00 00'],
    [0xffff_ffffn, '00 ff ff ff ff'],
    [0x1_0000_0000n, '01 00 40 00 00'], // 4 GiB: in KiB
    [1n << 42n, '02 00 40 00 00'], // 4 TiB: in MiB
  ])('%s bytes → TRANSFER COUNT UNITS, TRANSFER COUNT %s', (bytes, want) => {
    const out = buildCopyStatus({ status: 0x01, segmentsProcessed: 3, bytes });
    expect(hex(out)).toBe(`00 00 00 08 01 00 03 ${want}`);
  });
});

describe('decodeExtendedCopyList', () => {
  const header = (cscd: number, seg: number): number[] => [1, 0, 0, cscd, 0, 0, 0, 0, 0, 0, 0, seg, 0, 0, 0, 0];

  it('a 64-byte CSCD type (EAh, IPv6) is walked over, then refused as unsupported', () => {
    const l = Uint8Array.from([...header(64, 0), 0xea, ...new Array<number>(63).fill(0)]);
    expect(decodeExtendedCopyList(l, limits)).toEqual({ ok: false, fault: { key: 5, asc: 0x26, ascq: 0x07 } });
  });

  it('a CSCD list length that ends inside a descriptor → INVALID FIELD IN PARAMETER LIST at that descriptor', () => {
    const l = Uint8Array.from([...header(40, 0), 0xe4, ...new Array<number>(31).fill(0), 0xe4, ...new Array<number>(7).fill(0)]);
    expect(decodeExtendedCopyList(l, limits)).toEqual({ ok: false, fault: { key: 5, asc: 0x26, ascq: 0, field: { cdb: false, byte: 48 } } });
  });

  it('an empty list (no descriptors) decodes to nothing to do', () => {
    expect(decodeExtendedCopyList(Uint8Array.from(header(0, 0)), limits)).toEqual({ ok: true, value: { listId: 1, listIdUsage: 0, cscds: [], segments: [] } });
  });

  it('a designator longer than the 16 bytes a CSCD descriptor holds → INVALID FIELD IN PARAMETER LIST at DESIGNATOR LENGTH', () => {
    const d = new Array<number>(32).fill(0);
    d[0] = 0xe4;
    d[7] = 17;
    expect(decodeExtendedCopyList(Uint8Array.from([...header(32, 0), ...d]), limits)).toEqual({ ok: false, fault: { key: 5, asc: 0x26, ascq: 0, field: { cdb: false, byte: 23 } } });
  });
});
