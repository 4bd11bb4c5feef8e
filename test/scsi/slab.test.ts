// SlabCutter (slab.ts): zeroed views cut one after another from shared
// slabs, never handed out twice; a cut that does not fit starts a new slab.

import { describe, expect, it } from 'vitest';
import { SlabCutter } from '../../src/scsi/slab.js';

describe('SlabCutter', () => {
  it('cuts views one right after another in one slab', () => {
    const c = new SlabCutter(1024);
    const a = c.cut(48);
    const b = c.cut(100);
    expect(b.buffer).toBe(a.buffer);
    expect([a.byteOffset, a.length, b.byteOffset, b.length, a.buffer.byteLength]).toEqual([0, 48, 48, 100, 1024]);
  });

  it('leaves `gap` free bytes in front of a view, and the next cut follows the view', () => {
    const c = new SlabCutter(1024);
    const a = c.cut(16, 48);
    const b = c.cut(8, 48);
    expect([a.byteOffset, b.byteOffset]).toEqual([48, 48 + 16 + 48]);
  });

  it('rounds the start of the next cut up to `align`', () => {
    const c = new SlabCutter(1024);
    const a = c.cut(5, 0, 8);
    const b = c.cut(8, 0, 8);
    const d = c.cut(3);
    expect([a.byteOffset, b.byteOffset, d.byteOffset]).toEqual([0, 8, 16]);
  });

  it('a cut that does not fit what is left starts a new slab at its beginning; views are zeroed and never shared', () => {
    const c = new SlabCutter(256);
    const views: Uint8Array[] = [];
    for (let i = 0; i < 10; i++) {
      const v = c.cut(100);
      expect(v.every((x) => x === 0)).toBe(true);
      v.fill(i + 1);
      views.push(v);
    }
    expect(views[1]?.buffer).toBe(views[0]?.buffer);
    expect(views[2]?.buffer).not.toBe(views[0]?.buffer);
    expect(views[2]?.byteOffset).toBe(0);
    expect(views.every((v, i) => v.every((x) => x === i + 1))).toBe(true);
  });

  it('a cut of the whole slab fits; more is a caller bug', () => {
    const c = new SlabCutter(64);
    expect(c.cut(16, 48).length).toBe(16);
    expect(() => c.cut(17, 48)).toThrow(/do not fit a 64-byte slab/);
    expect(() => c.cut(65)).toThrow(RangeError);
  });

  it('refuses negative or fractional sizes, and a slab size that is not a positive integer', () => {
    const c = new SlabCutter(64);
    expect(() => c.cut(-1)).toThrow(RangeError);
    expect(() => c.cut(4, -4)).toThrow(RangeError);
    expect(() => c.cut(1.5)).toThrow(RangeError);
    for (const bad of [0, -1, 1.5, Number.NaN]) expect(() => new SlabCutter(bad)).toThrow(/positive integer/);
  });
});
