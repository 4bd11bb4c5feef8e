import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { GuestAllocator } from '../../src/virtio/guest-allocator.js';
import type { GuestRange } from '../../src/virtio/guest-memory.js';

/** Allocates or fails the test. */
function must(a: GuestAllocator, len: number, align?: number): GuestRange {
  const r = a.alloc(len, align);
  if (r === undefined) throw new Error(`alloc(${len}, ${align ?? 'default'}) failed`);
  return r;
}

describe('construction and argument checks', () => {
  it.each([
    [-1, 16],
    [1.5, 16],
    [Number.NaN, 16],
    [0, 0],
    [0, -1],
    [0, 1.5],
    [0, Number.NaN],
    [0, Infinity],
  ])('new GuestAllocator(%s, %s) throws', (base, size) => {
    expect(() => new GuestAllocator(base, size)).toThrow(RangeError);
  });

  it('starts with everything free', () => {
    const a = new GuestAllocator(0x1000, 0x400);
    expect(a.base).toBe(0x1000);
    expect(a.size).toBe(0x400);
    expect(a.freeBytes).toBe(0x400);
    expect(a.liveCount).toBe(0);
  });

  it.each([0, -1, 1.5, Number.NaN, Infinity])('alloc rejects length %s', (len) => {
    expect(() => new GuestAllocator(0, 64).alloc(len)).toThrow(RangeError);
  });

  it.each([0, 3, 6, 12, -8, 1.5, Number.NaN, Infinity])('alloc rejects alignment %s', (align) => {
    expect(() => new GuestAllocator(0, 64).alloc(8, align)).toThrow(RangeError);
  });

  // A 32-bit `(align & (align - 1))` alone would accept non-powers-of-two ≥ 2^32.
  it.each([3 * 2 ** 32, 2 ** 32 + 2 ** 31])('alloc rejects alignment %s', (align) => {
    expect(() => new GuestAllocator(0, 64).alloc(8, align)).toThrow(RangeError);
  });
});

describe('alignment', () => {
  it('aligns absolute addresses, from an unaligned base', () => {
    const a = new GuestAllocator(0x1003, 0x1000); // [0x1003, 0x2003)
    expect(must(a, 1, 1).addr).toBe(0x1003);
    expect(must(a, 16, 16).addr).toBe(0x1010);
    expect(must(a, 1, 0x1000).addr).toBe(0x2000); // ends at 0x2001 ≤ 0x2003
    expect(a.alloc(4, 0x1000)).toBeUndefined(); // next page boundary is past the end
  });

  it('defaults to 8-byte alignment', () => {
    const a = new GuestAllocator(1, 64);
    expect(must(a, 1).addr).toBe(8);
    expect(must(a, 1).addr).toBe(16);
  });

  it('keeps the padding before an aligned block free and reuses it', () => {
    const a = new GuestAllocator(0, 64);
    expect(must(a, 1, 1)).toEqual({ addr: 0, len: 1 });
    expect(must(a, 8, 16)).toEqual({ addr: 16, len: 8 }); // pad [1, 16) stays free
    expect(a.freeBytes).toBe(64 - 9);
    expect(must(a, 15, 1)).toEqual({ addr: 1, len: 15 }); // exactly fills the pad
    expect(must(a, 1, 1)).toEqual({ addr: 24, len: 1 });
  });

  it('skips a hole that is big enough only before alignment', () => {
    const a = new GuestAllocator(0, 32);
    const x = must(a, 4, 1); // [0, 4)
    const y = must(a, 8, 1); // [4, 12)
    must(a, 4, 1); // [12, 16)
    a.free(y.addr); // hole [4, 12): 8 bytes, but an 8-aligned 8-byte block needs [8, 16)
    expect(must(a, 8, 8).addr).toBe(16);
    expect(must(a, 8, 4).addr).toBe(4); // 4-aligned fits the hole exactly
    expect(x.addr).toBe(0);
  });
});

describe('first fit', () => {
  it('takes the lowest hole that fits, not the tightest', () => {
    const a = new GuestAllocator(0, 96);
    const h1 = must(a, 32, 1); // [0, 32)
    must(a, 16, 1); // [32, 48)
    const h2 = must(a, 16, 1); // [48, 64)
    must(a, 32, 1); // [64, 96)
    a.free(h1.addr); // hole of 32 at 0
    a.free(h2.addr); // hole of 16 at 48 (best fit would pick this one)
    expect(must(a, 16, 1).addr).toBe(0);
    expect(must(a, 16, 1).addr).toBe(16);
    expect(must(a, 16, 1).addr).toBe(48);
    expect(a.alloc(1, 1)).toBeUndefined();
  });
});

describe('exhaustion', () => {
  it('a request larger than the region fails without changing state', () => {
    const a = new GuestAllocator(0, 64);
    expect(a.alloc(65, 1)).toBeUndefined();
    expect(a.freeBytes).toBe(64);
    expect(a.liveCount).toBe(0);
    expect(must(a, 64, 1)).toEqual({ addr: 0, len: 64 });
  });

  it('a full region fails, then works again after a free', () => {
    const a = new GuestAllocator(0, 64);
    const blocks = Array.from({ length: 8 }, () => must(a, 8, 8));
    expect(a.freeBytes).toBe(0);
    expect(a.alloc(1, 1)).toBeUndefined();
    expect(a.liveCount).toBe(8);
    const third = blocks[3];
    if (third === undefined) throw new Error('unreachable');
    a.free(third.addr);
    expect(must(a, 8, 8)).toEqual(third);
  });

  it('fragmented free space does not satisfy a larger contiguous request', () => {
    const a = new GuestAllocator(0, 64);
    const blocks = Array.from({ length: 8 }, () => must(a, 8, 1));
    for (const [i, b] of blocks.entries()) if (i % 2 === 0) a.free(b.addr);
    expect(a.freeBytes).toBe(32);
    expect(a.alloc(16, 1)).toBeUndefined();
    expect(must(a, 8, 1).addr).toBe(0);
  });
});

describe('free and coalescing', () => {
  it('double free throws and leaves the allocator usable', () => {
    const a = new GuestAllocator(0, 64);
    const x = must(a, 16, 1);
    a.free(x.addr);
    expect(() => { a.free(x.addr); }).toThrow(RangeError);
    expect(a.freeBytes).toBe(64);
    expect(must(a, 64, 1)).toEqual({ addr: 0, len: 64 });
  });

  it('freeing an address that is not the start of a live block throws', () => {
    const a = new GuestAllocator(0, 64);
    const x = must(a, 16, 1);
    expect(() => { a.free(x.addr + 1); }).toThrow(RangeError);
    expect(() => { a.free(32); }).toThrow(RangeError);
    expect(() => { a.free(-1); }).toThrow(RangeError);
    expect(a.liveCount).toBe(1);
    expect(a.freeBytes).toBe(48);
  });

  // Every order of freeing three adjacent blocks: each merge case of free()
  // (with prev, with next, with both, with neither) is hit by some order.
  it.each([
    [[0, 1, 2]],
    [[0, 2, 1]],
    [[1, 0, 2]],
    [[1, 2, 0]],
    [[2, 0, 1]],
    [[2, 1, 0]],
  ])('merges neighbours back into one extent, freeing in order %j', (order) => {
    const a = new GuestAllocator(0, 48);
    const blocks = [must(a, 16, 1), must(a, 16, 1), must(a, 16, 1)];
    for (const i of order) {
      const b = blocks[i];
      if (b === undefined) throw new Error('unreachable');
      a.free(b.addr);
    }
    expect(must(a, 48, 1)).toEqual({ addr: 0, len: 48 });
  });

  it('property: after freeing everything in any order, one full-size allocation succeeds', () => {
    const op = fc.record({
      len: fc.integer({ min: 1, max: 64 }),
      align: fc.constantFrom(1, 2, 4, 8, 16, 64, 4096),
      key: fc.nat(),
    });
    fc.assert(
      fc.property(fc.nat({ max: 5000 }), fc.integer({ min: 1, max: 2048 }), fc.array(op, { maxLength: 60 }), (base, size, ops) => {
        const a = new GuestAllocator(base, size);
        const live: { r: GuestRange; key: number }[] = [];
        for (const { len, align, key } of ops) {
          const r = a.alloc(len, align);
          if (r === undefined) continue;
          // Inside the region, aligned, and disjoint from every live block.
          expect(r.addr % align).toBe(0);
          expect(r.addr).toBeGreaterThanOrEqual(base);
          expect(r.addr + r.len).toBeLessThanOrEqual(base + size);
          for (const { r: o } of live) expect(r.addr + r.len <= o.addr || o.addr + o.len <= r.addr).toBe(true);
          live.push({ r, key });
        }
        expect(a.freeBytes).toBe(size - live.reduce((n, { r }) => n + r.len, 0));
        live.sort((x, y) => x.key - y.key); // a random order, chosen by fast-check
        for (const { r } of live) a.free(r.addr);
        expect(a.liveCount).toBe(0);
        expect(a.freeBytes).toBe(size);
        expect(a.alloc(size, 1)).toEqual({ addr: base, len: size });
      }),
      { numRuns: 300 },
    );
  });

  it('property: interleaved allocs and frees never overlap, and end coalesced', () => {
    const step = fc.oneof(
      fc.record({ kind: fc.constant('alloc' as const), len: fc.integer({ min: 1, max: 40 }), align: fc.constantFrom(1, 4, 16) }),
      fc.record({ kind: fc.constant('free' as const), pick: fc.nat() }),
    );
    fc.assert(
      fc.property(fc.array(step, { maxLength: 200 }), (steps) => {
        const size = 512;
        const a = new GuestAllocator(0, size);
        const live: GuestRange[] = [];
        for (const s of steps) {
          if (s.kind === 'alloc') {
            const r = a.alloc(s.len, s.align);
            if (r === undefined) continue;
            for (const o of live) expect(r.addr + r.len <= o.addr || o.addr + o.len <= r.addr).toBe(true);
            live.push(r);
          } else if (live.length > 0) {
            const [r] = live.splice(s.pick % live.length, 1);
            if (r !== undefined) a.free(r.addr);
          }
          expect(a.liveCount).toBe(live.length);
        }
        for (const r of live) a.free(r.addr);
        expect(a.alloc(size, 1)).toEqual({ addr: 0, len: size });
      }),
      { numRuns: 200 },
    );
  });
});
