import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CdbView } from '../../../src/scsi/cdb/codec.js';

/** The reference: a DataView over a copy of the same bytes. */
function both(bytes: readonly number[]): { cdb: Uint8Array; view: CdbView; ref: DataView; refBytes: Uint8Array } {
  const cdb = Uint8Array.from(bytes);
  const refBytes = Uint8Array.from(bytes);
  return { cdb, view: new CdbView(cdb), ref: new DataView(refBytes.buffer), refBytes };
}

describe('CdbView: the big-endian accessors of DataView over a CDB', () => {
  it('reads as DataView reads, at every offset that fits', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 0, maxLength: 32 }), (bytes) => {
        const { view, ref } = both(bytes);
        expect(view.byteLength).toBe(bytes.length);
        for (let at = 0; at < bytes.length; at++) {
          expect(view.getUint8(at)).toBe(ref.getUint8(at));
          if (at + 2 <= bytes.length) expect(view.getUint16(at)).toBe(ref.getUint16(at));
          if (at + 4 <= bytes.length) expect(view.getUint32(at)).toBe(ref.getUint32(at));
          if (at + 8 <= bytes.length) expect(view.getBigUint64(at)).toBe(ref.getBigUint64(at));
        }
      }),
    );
  });

  it('writes the bytes DataView writes, converting values the same way', () => {
    const values = fc.oneof(fc.integer({ min: -(2 ** 33), max: 2 ** 33 }), fc.double({ noNaN: false }), fc.constantFrom(0xff, 0x100, -1, 1.5, 2 ** 32 + 7));
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 8 }), values, fc.bigInt({ min: -(1n << 70n), max: 1n << 70n }), (at, value, big) => {
        const a = both(new Array<number>(16).fill(0));
        a.view.setUint8(at, value);
        a.ref.setUint8(at, value);
        a.view.setUint16(at + 1, value);
        a.ref.setUint16(at + 1, value);
        a.view.setUint32(at + 3, value);
        a.ref.setUint32(at + 3, value);
        expect(Array.from(a.cdb)).toEqual(Array.from(a.refBytes));
        const b = both(new Array<number>(16).fill(0));
        b.view.setBigUint64(at, big);
        b.ref.setBigUint64(at, big);
        expect(Array.from(b.cdb)).toEqual(Array.from(b.refBytes));
      }),
    );
  });

  it('throws RangeError past the end, before the start and at a fractional offset, and changes nothing', () => {
    const { cdb, view } = both([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(() => view.getUint8(10)).toThrow(RangeError);
    expect(() => view.getUint16(9)).toThrow(RangeError);
    expect(() => view.getUint32(7)).toThrow(RangeError);
    expect(() => view.getBigUint64(3)).toThrow(RangeError);
    expect(() => view.getUint8(-1)).toThrow(RangeError);
    expect(() => view.getUint8(1.5)).toThrow(RangeError);
    expect(() => { view.setUint32(8, 0); }).toThrow(RangeError);
    expect(() => { view.setBigUint64(4, 0n); }).toThrow(RangeError);
    expect(Array.from(cdb)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    // A view over a subarray sees only the subarray.
    const sub = new CdbView(cdb.subarray(2, 6));
    expect([sub.byteLength, sub.getUint32(0)]).toEqual([4, 0x03040506]);
    expect(() => sub.getUint8(4)).toThrow(RangeError);
  });
});
