import { describe, expect, it } from 'vitest';
import { decodeReadWrite, decodeRw, encodeReadWrite, encodeRw, RW6_MAX_LBA, type RwRequest } from '../../../src/scsi/cdb/rw.js';
import { COMMANDS, PROTECT_COMMANDS, PROTECT_MASK, restrictUsage } from '../../../src/scsi/cdb/registry.js';
import { rwDecodeVectors, rwFaultVectors, rwVectors } from './rw.vectors.js';

const norm = (h: string): string => h.trim().split(/\s+/).join(' ');
const hex = (b: Uint8Array): string => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join(' ');
const bytes = (h: string): Uint8Array => Uint8Array.from(norm(h).split(' '), (x) => parseInt(x, 16));

describe('encodeRw / decodeRw vectors (SBC-4 tables)', () => {
  it.each(rwVectors)('encode: $name', (v) => {
    expect(hex(encodeRw(v.cmd, v.minLength === undefined ? {} : { minLength: v.minLength }))).toBe(norm(v.hex));
  });
  it.each(rwVectors)('decode: $name', (v) => {
    expect(decodeRw(bytes(v.hex))).toEqual({ ok: true, value: v.cmd });
  });
  it.each(rwDecodeVectors)('decode only: $name', (v) => {
    expect(decodeRw(bytes(v.hex))).toEqual({ ok: true, value: v.cmd });
  });
  it.each(rwFaultVectors)('fault: $name', (v) => {
    const r = decodeRw(bytes(v.hex));
    const field = v.bit === undefined ? { cdb: true, byte: v.byte } : { cdb: true, byte: v.byte, bit: v.bit };
    expect(r).toEqual({ ok: false, fault: { key: 0x5, asc: 0x24, ascq: 0x00, field } });
    // The decoder keeps no state: a good CDB still decodes afterwards.
    expect(decodeRw(bytes('28 00 00 00 00 00 00 00 01 00')).ok).toBe(true);
  });
});

describe('encodeRw length choice: min, max, max+1, zero, wrap per field', () => {
  const len = (cmd: RwRequest, minLength?: number): number =>
    encodeRw(cmd, minLength === undefined ? {} : { minLength }).length;

  it('LBA: READ(6) up to 1FFFFFh, READ(10) up to 2^32 − 1, then READ(16) (READ(12) adds no LBA bits)', () => {
    expect(len({ op: 'READ', lba: 0n, blocks: 1 })).toBe(6);
    expect(len({ op: 'READ', lba: RW6_MAX_LBA, blocks: 1 })).toBe(6);
    expect(len({ op: 'READ', lba: RW6_MAX_LBA + 1n, blocks: 1 })).toBe(10);
    expect(len({ op: 'READ', lba: 0xffff_ffffn, blocks: 1 })).toBe(10);
    expect(len({ op: 'READ', lba: 0x1_0000_0000n, blocks: 1 })).toBe(16);
    expect(len({ op: 'READ', lba: 0x1_0000_0000n, blocks: 1 }, 12)).toBe(16);
    expect(len({ op: 'READ', lba: 0xffff_ffff_ffff_ffffn, blocks: 1 })).toBe(16);
  });

  it('blocks: 0 never goes in READ(6); 256 does; 257 and 65535 in (10); 65536 in (12); 2^32 − 1 max', () => {
    expect(len({ op: 'READ', lba: 0n, blocks: 0 })).toBe(10);
    expect(len({ op: 'WRITE', lba: 0n, blocks: 256 })).toBe(6);
    expect(len({ op: 'WRITE', lba: 0n, blocks: 257 })).toBe(10);
    expect(len({ op: 'WRITE', lba: 0n, blocks: 0xffff })).toBe(10);
    expect(len({ op: 'WRITE', lba: 0n, blocks: 0x10000 })).toBe(12);
    expect(len({ op: 'WRITE', lba: 0n, blocks: 0xffff_ffff })).toBe(12);
    expect(len({ op: 'WRITE', lba: 0x1_0000_0000n, blocks: 0xffff_ffff })).toBe(16);
  });

  it('VERIFY and WRITE AND VERIFY have no 6-byte form', () => {
    expect(len({ op: 'VERIFY', lba: 0n, blocks: 1 })).toBe(10);
    expect(len({ op: 'WRITE_AND_VERIFY', lba: 0n, blocks: 1 }, 6)).toBe(10);
  });

  it('wrap: lba + blocks past 2^64 is the emulator’s range check, not a CDB error', () => {
    const cmd = { op: 'READ', lba: 0xffff_ffff_ffff_ffffn, blocks: 0xffff_ffff } as const;
    const cdb = encodeRw(cmd);
    expect(hex(cdb)).toBe('88 00 ff ff ff ff ff ff ff ff ff ff ff ff 00 00');
    expect(decodeRw(cdb)).toMatchObject({ ok: true, value: { lba: cmd.lba, blocks: cmd.blocks } });
  });

  it('out-of-range arguments are caller bugs: RangeError', () => {
    const bad: [RwRequest, number?][] = [
      [{ op: 'READ', lba: -1n, blocks: 1 }],
      [{ op: 'READ', lba: 0x1_0000_0000_0000_0000n, blocks: 1 }],
      [{ op: 'READ', lba: 0n, blocks: -1 }],
      [{ op: 'READ', lba: 0n, blocks: 1.5 }],
      [{ op: 'READ', lba: 0n, blocks: 0x1_0000_0000 }],
      [{ op: 'READ', lba: 0n, blocks: 1, protect: 8 }],
      [{ op: 'READ', lba: 0n, blocks: 1, groupNumber: 64 }],
      [{ op: 'READ', lba: 0n, blocks: 1, bytchk: 1 }],
      [{ op: 'VERIFY', lba: 0n, blocks: 1, fua: true }],
      [{ op: 'VERIFY', lba: 0n, blocks: 1, bytchk: 2 }],
      [{ op: 'WRITE_AND_VERIFY', lba: 0n, blocks: 1, bytchk: 3 }],
      [{ op: 'READ', lba: 0n, blocks: 1 }, 17],
      [{ op: 'READ', lba: 0n, blocks: 1 }, 7.5],
    ];
    for (const [cmd, minLength] of bad) {
      expect(() => encodeRw(cmd, minLength === undefined ? {} : { minLength }), JSON.stringify(cmd, (_k, x: unknown) => (typeof x === 'bigint' ? `${x}n` : x))).toThrow(RangeError);
    }
    expect(len({ op: 'READ', lba: 0n, blocks: 1, groupNumber: 63, protect: 7 })).toBe(10);
  });

  it('an operation code from another family is a routing bug: RangeError', () => {
    expect(() => decodeRw(bytes('12 00 00 00 24 00'))).toThrow(RangeError);
  });

  it('an empty CDB is INVALID COMMAND OPERATION CODE, not a throw', () => {
    expect(decodeRw(new Uint8Array(0))).toEqual({
      ok: false,
      fault: { key: 0x5, asc: 0x20, ascq: 0x00, field: { cdb: true, byte: 0 } },
    });
  });
});

describe('encodeReadWrite / decodeReadWrite (the disk fast path)', () => {
  // Expected bytes from the SBC-4 READ (10)/(16), WRITE (10)/(16) tables.
  it.each([
    ['READ', 0n, 1, '28 00 00 00 00 00 00 00 01 00'],
    ['WRITE', 0x10n, 8, '2a 00 00 00 00 10 00 00 08 00'],
    ['READ', 0xffff_ffffn, 0xffff, '28 00 ff ff ff ff 00 ff ff 00'],
    ['READ', 0x1_0000_0000n, 1, '88 00 00 00 00 01 00 00 00 00 00 00 00 01 00 00'],
    ['WRITE', 0n, 0x1_0000, '8a 00 00 00 00 00 00 00 00 00 00 01 00 00 00 00'],
    ['READ', 0xffff_ffff_ffff_ffffn, 0xffff_ffff, '88 00 ff ff ff ff ff ff ff ff ff ff ff ff 00 00'],
    ['WRITE', 5n, 0, '2a 00 00 00 00 05 00 00 00 00'],
  ] as const)('%s lba %s, %s blocks: %s', (op, lba, blocks, want) => {
    const cdb = encodeReadWrite(op, lba, blocks);
    expect(hex(cdb)).toBe(want);
    // The same bytes as the general encoder at 10 bytes, or 16 when 10 cannot carry it; and the fields back.
    const fits10 = lba <= 0xffff_ffffn && blocks <= 0xffff;
    expect(hex(encodeRw({ op, lba, blocks }, { minLength: fits10 ? 10 : 16 }))).toBe(want);
    expect(decodeReadWrite(cdb)).toEqual({ write: op === 'WRITE', lba, blocks, fua: false });
  });

  it('throws RangeError for what no CDB carries', () => {
    expect(() => encodeReadWrite('READ', -1n, 1)).toThrow(RangeError);
    expect(() => encodeReadWrite('READ', 1n << 64n, 1)).toThrow(RangeError);
    expect(() => encodeReadWrite('WRITE', 0n, 2 ** 32)).toThrow(RangeError);
    expect(() => encodeReadWrite('WRITE', 0n, 1.5)).toThrow(RangeError);
  });

  it('decodes FUA, and agrees with decodeRw on every field it reports', () => {
    for (const h of ['28 08 00 00 01 00 00 00 02 00', '8a 18 00 00 00 00 00 00 00 07 00 00 00 03 00 00', '2a 00 12 34 56 78 3f 00 09 00']) {
      const full = decodeRw(bytes(h));
      if (!full.ok) throw new Error(`vector ${h} does not decode`);
      const f = full.value;
      expect(decodeReadWrite(bytes(h))).toEqual({ write: f.op === 'WRITE', lba: f.lba, blocks: f.blocks, fua: f.fua });
    }
  });

  it('is undefined for other commands and for CDBs decodeRw rejects (which says why)', () => {
    for (const h of [
      '08 00 00 00 01 00', // READ (6)
      'a8 00 00 00 00 00 00 00 00 01 00 00', // READ (12)
      '2e 00 00 00 00 00 00 00 01 00', // WRITE AND VERIFY (10)
      '00 00 00 00 00 00', // TEST UNIT READY
      '28 00 00 00 00 00 00 00 01', // short
      '28 01 00 00 00 00 00 00 01 00', // reserved bit
      '28 00 00 00 00 00 00 00 01 04', // NACA
      '',
    ]) {
      expect(decodeReadWrite(bytes(h === '' ? '00' : h).subarray(0, h === '' ? 0 : undefined))).toBeUndefined();
    }
    // A unit's own table: without protection information RDPROTECT is rejected.
    const table = restrictUsage(COMMANDS, PROTECT_COMMANDS, 1, PROTECT_MASK);
    expect(decodeReadWrite(bytes('28 20 00 00 00 00 00 00 01 00'), table)).toBeUndefined();
    expect(decodeReadWrite(bytes('28 20 00 00 00 00 00 00 01 00'))).toEqual({ write: false, lba: 0n, blocks: 1, fua: false });
  });
});
