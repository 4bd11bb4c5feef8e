import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { crc32c, writeDigest } from '../../src/iscsi/crc32c.js';
import { MaxRecvDataSegmentLength, PduReader, serializePdu, type FrameResult } from '../../src/iscsi/framing.js';
import type { Pdu } from '../../src/iscsi/pdu-types.js';
import { bytes, concat, hex, norm } from './hex.js';

// RFC 7143 Appendix A.4: a SCSI Read (10) command BHS and its CRC32C as sent.
const A4_READ_PDU =
  '01 c0 00 00  00 00 00 00  00 00 00 00  00 00 00 00' +
  ' 14 00 00 00  00 00 04 00  00 00 00 14  00 00 00 18' +
  ' 28 00 00 00  00 00 00 00  02 00 00 00  00 00 00 00';
const A4_READ_PDU_DIGEST = '56 3a 96 d9';

/** A NOP-Out BHS (RFC 7143 §11.18) with the given DataSegmentLength, hand-built. */
const nopOutBhs = (dsl: number, itt = 1): string =>
  `40 80 00 00  00 ${[dsl >> 16, (dsl >> 8) & 0xff, dsl & 0xff].map((x) => x.toString(16).padStart(2, '0')).join(' ')}` +
  `  00 00 00 00  00 00 00 00  00 00 00 ${itt.toString(16).padStart(2, '0')}  ff ff ff ff` +
  '  00 00 00 01  00 00 00 01  00 00 00 00  00 00 00 00  00 00 00 00  00 00 00 00';
const LOGIN_BHS = '43 87 00 00  00 00 00 00  80 12 34 56  78 9a 00 00' + ' 00 00 00 00'.repeat(8);
const EMPTY = new Uint8Array(0);

const drain = (r: PduReader): FrameResult[] => {
  const out: FrameResult[] = [];
  for (let x = r.next(); x !== undefined; x = r.next()) out.push(x);
  return out;
};
const pduHex = (p: Pdu): { bhs: string; ahs: string; data: string } => ({ bhs: hex(p.bhs), ahs: hex(p.ahs), data: hex(p.data) });
const simplify = (x: FrameResult): unknown => {
  switch (x.kind) {
    case 'pdu':
    case 'data-digest-error':
      return { kind: x.kind, ...pduHex(x.pdu) };
    case 'segment-too-long':
      return { kind: x.kind, bhs: hex(x.bhs), length: x.length };
    case 'fatal':
      return x;
  }
};
const reader = (opts: { header?: boolean; data?: boolean; max?: number } = {}): PduReader => {
  const r = new PduReader();
  r.setHeaderDigest(opts.header ?? false);
  r.setDataDigest(opts.data ?? false);
  if (opts.max !== undefined) r.setMaxRecvDataSegmentLength(opts.max);
  return r;
};
const pushBytewise = (r: PduReader, wire: Uint8Array): FrameResult[] => {
  const out: FrameResult[] = [];
  for (let i = 0; i < wire.length; i++) {
    r.push(wire.subarray(i, i + 1));
    out.push(...drain(r));
  }
  return out;
};

// RFC 7143 Appendix A.4 data examples as data segments: the data digest is the
// RFC's CRC of the 32 bytes; with 30 zero bytes the 2 padding bytes make the
// same 32 zeros, so the same digest shows that padding is covered (§13.1).
const dataDigestVectors = [
  { name: '32 zero bytes', dsl: 32, data: '00 '.repeat(32), pad: '', digest: 'aa 36 91 8a' },
  { name: '32 bytes of ones', dsl: 32, data: 'ff '.repeat(32), pad: '', digest: '43 ab a8 62' },
  { name: '32 incrementing bytes', dsl: 32, data: Array.from({ length: 32 }, (_x, i) => i.toString(16).padStart(2, '0')).join(' '), pad: '', digest: '4e 79 dd 46' },
  { name: '30 zero bytes + 2 padding bytes', dsl: 30, data: '00 '.repeat(30), pad: '00 00', digest: 'aa 36 91 8a' },
];

describe('serializePdu (RFC 7143 §11.1, §11.2)', () => {
  it('header digest: the Appendix A.4 read command PDU and its CRC', () => {
    const wire = serializePdu({ bhs: bytes(A4_READ_PDU), ahs: EMPTY, data: EMPTY }, { header: true, data: true });
    expect(hex(wire)).toBe(norm(`${A4_READ_PDU} ${A4_READ_PDU_DIGEST}`));
  });

  it.each(dataDigestVectors)('data digest over data + padding: $name', (v) => {
    const wire = serializePdu({ bhs: bytes(nopOutBhs(v.dsl)), ahs: EMPTY, data: bytes(v.data) }, { header: false, data: true });
    expect(hex(wire)).toBe(norm(`${nopOutBhs(v.dsl)} ${v.data} ${v.pad} ${v.digest}`));
  });

  it('pads with zeros to 4 bytes and sends no data digest without a data segment', () => {
    expect(hex(serializePdu({ bhs: bytes(nopOutBhs(5)), ahs: EMPTY, data: bytes('01 02 03 04 05') }, { header: false, data: false }))).toBe(
      norm(`${nopOutBhs(5)} 01 02 03 04 05 00 00 00`),
    );
    expect(serializePdu({ bhs: bytes(nopOutBhs(0)), ahs: EMPTY, data: EMPTY }, { header: false, data: true })).toHaveLength(48);
  });

  it('the header digest covers the AHS', () => {
    const bhs = bytes(A4_READ_PDU);
    bhs[4] = 1;
    const ahs = bytes('00 01 3c 00');
    const wire = serializePdu({ bhs, ahs, data: EMPTY }, { header: true, data: false });
    const digest = new Uint8Array(4);
    writeDigest(digest, 0, crc32c(concat(bhs, ahs)));
    expect(hex(wire.subarray(52))).toBe(hex(digest));
  });

  it('refuses a Pdu whose segments disagree with its BHS', () => {
    expect(() => serializePdu({ bhs: bytes(nopOutBhs(4)), ahs: EMPTY, data: bytes('01 02 03') }, { header: false, data: false })).toThrow(/3 data bytes, DataSegmentLength says 4/);
    expect(() => serializePdu({ bhs: bytes(nopOutBhs(0)), ahs: bytes('00 01 3c 00'), data: EMPTY }, { header: false, data: false })).toThrow(/TotalAHSLength says 0/);
    expect(() => serializePdu({ bhs: new Uint8Array(47), ahs: EMPTY, data: EMPTY }, { header: false, data: false })).toThrow(RangeError);
  });
});

describe('PduReader: digests', () => {
  it('header digest: the Appendix A.4 PDU, whole and byte by byte', () => {
    const wire = bytes(`${A4_READ_PDU} ${A4_READ_PDU_DIGEST}`);
    const r = reader({ header: true, data: true });
    r.push(wire);
    expect(drain(r).map(simplify)).toEqual([{ kind: 'pdu', bhs: norm(A4_READ_PDU), ahs: '', data: '' }]);
    expect(pushBytewise(reader({ header: true }), wire).map(simplify)).toEqual([{ kind: 'pdu', bhs: norm(A4_READ_PDU), ahs: '', data: '' }]);
  });

  it.each(dataDigestVectors)('data digest: $name', (v) => {
    const r = reader({ data: true });
    r.push(bytes(`${nopOutBhs(v.dsl)} ${v.data} ${v.pad} ${v.digest}`));
    expect(drain(r).map(simplify)).toEqual([{ kind: 'pdu', bhs: norm(nopOutBhs(v.dsl)), ahs: '', data: norm(v.data) }]);
    expect(r.buffered).toBe(0);
  });

  it('a header digest error is fatal, and stays fatal', () => {
    const r = reader({ header: true });
    r.push(bytes(`${A4_READ_PDU} 56 3a 96 d8 ${nopOutBhs(0)}`));
    const first = r.next();
    expect(first).toEqual({ kind: 'fatal', reason: 'header digest mismatch: received 0xd8963a56, computed 0xd9963a56' });
    expect(r.next()).toEqual(first);
    r.push(bytes(nopOutBhs(0)));
    expect(r.next()).toEqual(first);
  });

  it('a flipped header bit is a header digest error; a header digest over the BHS alone misses the AHS', () => {
    const bad = bytes(`${A4_READ_PDU} ${A4_READ_PDU_DIGEST}`);
    bad[20] = 0x01;
    const r = reader({ header: true });
    r.push(bad);
    expect(r.next()?.kind).toBe('fatal');
    const bhs = bytes(A4_READ_PDU);
    bhs[4] = 1;
    const digestOfBhs = new Uint8Array(4);
    writeDigest(digestOfBhs, 0, crc32c(bhs));
    const r2 = reader({ header: true });
    r2.push(concat(bhs, bytes('00 01 3c 00'), digestOfBhs));
    expect(r2.next()?.kind).toBe('fatal');
  });

  it('a data digest error hands back the PDU, and the stream carries on', () => {
    const r = reader({ data: true });
    r.push(bytes(`${nopOutBhs(32, 1)} ${'00 '.repeat(32)} aa 36 91 8b ${nopOutBhs(4, 2)} 01 02 03 04`));
    const digest = new Uint8Array(4);
    writeDigest(digest, 0, crc32c(bytes('01 02 03 04')));
    r.push(digest);
    expect(drain(r).map(simplify)).toEqual([
      { kind: 'data-digest-error', bhs: norm(nopOutBhs(32, 1)), ahs: '', data: norm('00 '.repeat(32)) },
      { kind: 'pdu', bhs: norm(nopOutBhs(4, 2)), ahs: '', data: '01 02 03 04' },
    ]);
  });

  it('no data digest follows an empty data segment', () => {
    const r = reader({ header: false, data: true });
    r.push(bytes(`${nopOutBhs(0, 1)} ${nopOutBhs(0, 2)}`));
    expect(drain(r).map((x) => x.kind)).toEqual(['pdu', 'pdu']);
    expect(r.buffered).toBe(0);
  });

  it('digest settings switch between PDUs, even inside one chunk (login, then the full feature phase)', () => {
    const nop = serializePdu({ bhs: bytes(nopOutBhs(3)), ahs: EMPTY, data: bytes('61 62 63') }, { header: true, data: true });
    const r = reader();
    r.push(concat(bytes(LOGIN_BHS), nop));
    expect(r.next()?.kind).toBe('pdu');
    r.setHeaderDigest(true);
    r.setDataDigest(true);
    expect(drain(r).map(simplify)).toEqual([{ kind: 'pdu', bhs: norm(nopOutBhs(3)), ahs: '', data: '61 62 63' }]);
  });
});

describe('PduReader: lengths and padding', () => {
  it('skips 1..3 padding bytes, whatever their value (they SHOULD be 0)', () => {
    for (const dsl of [1, 2, 3, 4, 5]) {
      const r = reader();
      const data = Array.from({ length: dsl }, (_x, i) => (i + 1).toString(16).padStart(2, '0')).join(' ');
      r.push(bytes(`${nopOutBhs(dsl, 1)} ${data} ${'ee '.repeat((4 - (dsl % 4)) % 4)} ${nopOutBhs(0, 2)}`));
      expect(drain(r).map(simplify)).toEqual([
        { kind: 'pdu', bhs: norm(nopOutBhs(dsl, 1)), ahs: '', data: norm(data) },
        { kind: 'pdu', bhs: norm(nopOutBhs(0, 2)), ahs: '', data: '' },
      ]);
    }
  });

  it('reads the AHS into its own segment', () => {
    const bhs = bytes(A4_READ_PDU);
    bhs[4] = 2;
    const r = reader();
    r.push(concat(bhs, bytes('00 05 02 00 00 00 20 00')));
    expect(drain(r).map(simplify)).toEqual([{ kind: 'pdu', bhs: hex(bhs), ahs: '00 05 02 00 00 00 20 00', data: '' }]);
  });

  it('MaxRecvDataSegmentLength: the limit is accepted, one more is segment-too-long and its segment is skipped', () => {
    const r = reader({ data: true });
    r.push(serializePdu({ bhs: bytes(nopOutBhs(8192, 1)), ahs: EMPTY, data: new Uint8Array(8192) }, { header: false, data: true }));
    expect(r.next()?.kind).toBe('pdu');
    const tooLong = concat(bytes(nopOutBhs(8193, 2)), new Uint8Array(8196 + 4), bytes(nopOutBhs(0, 3)));
    const events = pushBytewise(r, tooLong);
    expect(events.map(simplify)).toEqual([
      { kind: 'segment-too-long', bhs: norm(nopOutBhs(8193, 2)), length: 8193 },
      { kind: 'pdu', bhs: norm(nopOutBhs(0, 3)), ahs: '', data: '' },
    ]);
  });

  it('a skipped segment is never buffered', () => {
    const r = reader();
    r.push(bytes(nopOutBhs(100_000)));
    expect(r.next()).toEqual({ kind: 'segment-too-long', bhs: bytes(nopOutBhs(100_000)), length: 100_000 });
    for (let i = 0; i < 100; i++) {
      r.push(new Uint8Array(1000));
      expect(r.next()).toBeUndefined();
      expect(r.buffered).toBe(0);
    }
    r.push(bytes(nopOutBhs(0)));
    expect(r.next()?.kind).toBe('pdu');
  });

  it('DataSegmentLength FFFFFFh: too long by default, read whole when allowed', () => {
    const wire = serializePdu({ bhs: bytes(nopOutBhs(0xff_ffff)), ahs: EMPTY, data: new Uint8Array(0xff_ffff).fill(7) }, { header: true, data: true });
    expect(wire).toHaveLength(48 + 4 + 0x100_0000 + 4);
    const small = reader({ header: true, data: true });
    small.push(wire);
    expect(small.next()).toMatchObject({ kind: 'segment-too-long', length: 0xff_ffff });
    expect(small.next()).toBeUndefined();
    expect(small.buffered).toBe(0);
    const big = reader({ header: true, data: true, max: MaxRecvDataSegmentLength.MAX });
    for (let at = 0; at < wire.length; at += 65536) big.push(wire.subarray(at, at + 65536));
    const r = big.next();
    if (r?.kind !== 'pdu') throw new Error(`expected a PDU, got ${r?.kind ?? 'nothing'}`);
    expect(r.pdu.data).toHaveLength(0xff_ffff);
    expect(r.pdu.data[0xff_fffe]).toBe(7);
  });

  it('setMaxRecvDataSegmentLength takes 512..2^24-1 (RFC 7143 §13.12)', () => {
    const r = new PduReader();
    expect(r.maxPduLength).toBe(48 + 1020 + 4 + 8192 + 4);
    r.setMaxRecvDataSegmentLength(512);
    r.setMaxRecvDataSegmentLength(0xff_ffff);
    expect(r.maxPduLength).toBe(48 + 1020 + 4 + 0x100_0000 + 4);
    for (const n of [511, 0x100_0000, 1000.5, Number.NaN]) expect(() => { r.setMaxRecvDataSegmentLength(n); }).toThrow(RangeError);
  });

  it('a PDU inside one chunk is a view into it; one split across chunks is copied once and correct', () => {
    const wire = bytes(`${nopOutBhs(4)} 01 02 03 04`);
    const r = reader();
    r.push(wire);
    const x = r.next();
    if (x?.kind !== 'pdu') throw new Error('expected a PDU');
    expect(x.pdu.data.buffer).toBe(wire.buffer);
    expect(x.pdu.bhs.buffer).toBe(wire.buffer);
    r.push(wire.subarray(0, 50));
    r.push(wire.subarray(50));
    const y = r.next();
    if (y?.kind !== 'pdu') throw new Error('expected a PDU');
    expect(hex(y.pdu.data)).toBe('01 02 03 04');
    expect(y.pdu.data.buffer).not.toBe(wire.buffer);
  });

  it('ignores empty chunks and needs 48 bytes before it reads anything', () => {
    const r = reader();
    r.push(EMPTY);
    expect(r.next()).toBeUndefined();
    r.push(bytes(nopOutBhs(0)).subarray(0, 47));
    expect(r.next()).toBeUndefined();
    expect(r.buffered).toBe(47);
  });
});

/** A random initiator-shaped PDU: any BHS bytes, TotalAHSLength and DataSegmentLength set to match. */
const arbPdu = fc.record({ bhs: fc.uint8Array({ minLength: 48, maxLength: 48 }), ahsWords: fc.integer({ min: 0, max: 3 }), data: fc.uint8Array({ maxLength: 70 }) }).map(({ bhs, ahsWords, data }) => {
  bhs[4] = ahsWords;
  bhs.set([0, 0, data.length], 5);
  return { bhs, ahs: new Uint8Array(ahsWords * 4).fill(0xa5), data };
});

describe('PduReader over random streams', () => {
  it('any chunking of a stream gives the same PDUs, and the buffer stays under one maximum PDU', () => {
    fc.assert(
      fc.property(fc.array(arbPdu, { maxLength: 8 }), fc.boolean(), fc.boolean(), fc.array(fc.nat(), { maxLength: 20 }), (pdus, header, data, cuts) => {
        const wire = concat(...pdus.map((p) => serializePdu(p, { header, data })));
        const points = [...new Set(cuts.map((c) => c % (wire.length + 1)))].sort((a, b) => a - b);
        const r = reader({ header, data });
        const got: FrameResult[] = [];
        let at = 0;
        for (const end of [...points, wire.length]) {
          r.push(wire.subarray(at, end));
          at = end;
          got.push(...drain(r));
          expect(r.buffered).toBeLessThan(r.maxPduLength);
        }
        expect(got.map(simplify)).toEqual(pdus.map((p) => ({ kind: 'pdu', ...pduHex(p) })));
        expect(r.buffered).toBe(0);
      }),
    );
  });

  it('one byte at a time gives the same PDUs', () => {
    fc.assert(
      fc.property(fc.array(arbPdu, { minLength: 1, maxLength: 4 }), fc.boolean(), fc.boolean(), (pdus, header, data) => {
        const wire = concat(...pdus.map((p) => serializePdu(p, { header, data })));
        expect(pushBytewise(reader({ header, data }), wire).map(simplify)).toEqual(pdus.map((p) => ({ kind: 'pdu', ...pduHex(p) })));
      }),
      { numRuns: 30 },
    );
  });
});
