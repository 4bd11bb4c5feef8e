import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { crc32c, readDigest, writeDigest } from '../../src/iscsi/crc32c.js';
import { bytes, concat, hex, norm } from './hex.js';

// RFC 7143 Appendix A.4 (RFC 3720 B.4): each example and its CRC as the four
// bytes sent on the wire.
const READ_PDU =
  '01 c0 00 00  00 00 00 00  00 00 00 00  00 00 00 00' +
  ' 14 00 00 00  00 00 04 00  00 00 00 14  00 00 00 18' +
  ' 28 00 00 00  00 00 00 00  02 00 00 00  00 00 00 00';
const rfcExamples: readonly { name: string; data: Uint8Array; wire: string }[] = [
  { name: '32 bytes of zeros', data: new Uint8Array(32), wire: 'aa 36 91 8a' },
  { name: '32 bytes of ones', data: new Uint8Array(32).fill(0xff), wire: '43 ab a8 62' },
  { name: '32 bytes incrementing 00..1f', data: Uint8Array.from({ length: 32 }, (_x, i) => i), wire: '4e 79 dd 46' },
  { name: '32 bytes decrementing 1f..00', data: Uint8Array.from({ length: 32 }, (_x, i) => 31 - i), wire: '5c db 3f 11' },
  { name: 'an iSCSI SCSI Read (10) command PDU', data: bytes(READ_PDU), wire: '56 3a 96 d9' },
];

/** Bit at a time, straight from the definition (RFC 7143 §13.1), to check the tables against. */
function crc32cBitwise(data: Uint8Array): number {
  let c = 0xffff_ffff;
  for (const b of data) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
  }
  return ~c >>> 0;
}

const wireOf = (crc: number): string => {
  const out = new Uint8Array(4);
  writeDigest(out, 0, crc);
  return hex(out);
};

describe('crc32c (RFC 7143 §13.1, Appendix A.4)', () => {
  it.each(rfcExamples)('$name → $wire on the wire', (v) => {
    expect(wireOf(crc32c(v.data))).toBe(norm(v.wire));
    expect(readDigest(bytes(v.wire))).toBe(crc32c(v.data));
  });

  it('the wire order is least significant byte first', () => {
    expect(crc32c(new Uint8Array(32))).toBe(0x8a9136aa);
    expect(wireOf(0x01020304)).toBe('04 03 02 01');
  });

  it('the common check value: "123456789" → E3069283h', () => {
    expect(crc32c(new TextEncoder().encode('123456789'))).toBe(0xe3069283);
  });

  it('empty input is 0, and an empty piece leaves a running digest unchanged', () => {
    expect(crc32c(new Uint8Array(0))).toBe(0);
    const c = crc32c(bytes('01 02 03'));
    expect(crc32c(new Uint8Array(0), c)).toBe(c);
  });

  it('reads through a subarray at an odd offset', () => {
    const buf = new Uint8Array(40).fill(0x55);
    buf.set(new Uint8Array(32), 3);
    expect(crc32c(buf.subarray(3, 35))).toBe(0x8a9136aa);
  });

  it('matches the bitwise definition for every length 0..40 (the 8-byte loop and its tail)', () => {
    const data = Uint8Array.from({ length: 40 }, (_x, i) => (i * 37 + 11) & 0xff);
    for (let n = 0; n <= 40; n++) expect(crc32c(data.subarray(0, n))).toBe(crc32cBitwise(data.subarray(0, n)));
  });

  it('matches the bitwise definition on random input', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), (d) => crc32c(d) === crc32cBitwise(d)));
  });

  it('chains: crc32c(b, crc32c(a)) = crc32c(a ‖ b) at any split', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), fc.nat(), (d, cut) => {
        const at = cut % (d.length + 1);
        return crc32c(d.subarray(at), crc32c(d.subarray(0, at))) === crc32c(d);
      }),
    );
    expect(crc32c(bytes(READ_PDU).subarray(13), crc32c(bytes(READ_PDU).subarray(0, 13)))).toBe(readDigest(bytes('56 3a 96 d9')));
  });

  it('detects every single-bit flip in a PDU header', () => {
    const pdu = bytes(READ_PDU);
    const good = crc32c(pdu);
    for (let bit = 0; bit < pdu.length * 8; bit++) {
      const flipped = concat(pdu);
      flipped[bit >> 3] = (flipped[bit >> 3] ?? 0) ^ (0x80 >> (bit & 7));
      expect(crc32c(flipped)).not.toBe(good);
    }
  });

  it.each([-1, 2 ** 32, 1.5, Number.NaN])('seed %s is a RangeError', (seed) => {
    expect(() => crc32c(new Uint8Array(1), seed)).toThrow(RangeError);
  });

  it('writeDigest/readDigest refuse offsets outside the buffer', () => {
    expect(() => { writeDigest(new Uint8Array(4), 1, 0); }).toThrow(RangeError);
    expect(() => readDigest(new Uint8Array(3))).toThrow(RangeError);
    expect(() => readDigest(new Uint8Array(8), -1)).toThrow(RangeError);
  });
});
