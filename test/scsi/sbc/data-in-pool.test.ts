import { describe, expect, it } from 'vitest';
import { DATA_IN_POOLED_MAX, DATA_IN_SLAB_BYTES, DataInPool } from '../../../src/scsi/sbc/data-in-pool.js';

describe('DataInPool', () => {
  it('hands out zeroed buffers of the asked length that never overlap, slab after slab', () => {
    const pool = new DataInPool();
    const got: Uint8Array[] = [];
    for (let i = 0; i < (3 * DATA_IN_SLAB_BYTES) / 4096; i++) {
      const b = pool.alloc(4096);
      expect(b.length).toBe(4096);
      expect(b.every((x) => x === 0)).toBe(true);
      b.fill(i & 0xff || 1);
      got.push(b);
    }
    // Every buffer still holds what was written to it: no two share a byte.
    got.forEach((b, i) => { expect(b.every((x) => x === (i & 0xff || 1))).toBe(true); });
    // Small buffers share slabs; a slab holds 16 of 4 KiB.
    expect(new Set(got.map((b) => b.buffer)).size).toBe(3);
  });

  it('starts each buffer 8-byte aligned; odd lengths waste at most 7 bytes', () => {
    const pool = new DataInPool();
    const a = pool.alloc(3);
    const b = pool.alloc(5);
    expect(a.buffer).toBe(b.buffer);
    expect([a.byteOffset % 8, b.byteOffset - a.byteOffset, b.length]).toEqual([0, 8, 5]);
  });

  it('gives a large buffer, and an empty one, an ArrayBuffer of its own', () => {
    const pool = new DataInPool();
    const big = pool.alloc(DATA_IN_POOLED_MAX + 1);
    expect([big.byteOffset, big.buffer.byteLength]).toEqual([0, DATA_IN_POOLED_MAX + 1]);
    const empty = pool.alloc(0);
    expect([empty.length, empty.buffer.byteLength]).toEqual([0, 0]);
    const max = pool.alloc(DATA_IN_POOLED_MAX);
    expect(max.buffer.byteLength).toBe(DATA_IN_SLAB_BYTES);
  });

  it('a length no buffer can have is a caller bug (RangeError)', () => {
    expect(() => new DataInPool().alloc(-1)).toThrow(RangeError);
  });
});
