import { beforeEach, describe, expect, it } from 'vitest';
import { GuestMemory } from '../../src/virtio/guest-memory.js';

const SIZE = 64;
const PATTERN = 0x5a;

const hex = (b: Uint8Array): string => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join(' ');

/** Addresses that are never valid, whatever the width. */
const BAD_ADDRS = [-1, -8, Number.NaN, 0.5, 1.5, Infinity, -Infinity, 2 ** 32, 2 ** 53, Number.MAX_SAFE_INTEGER, 2 ** 64];

interface Accessor {
  readonly name: string;
  readonly width: number;
  read(m: GuestMemory, addr: number): number | bigint | undefined;
  write(m: GuestMemory, addr: number): boolean;
  readonly value: number | bigint;
  /** The little-endian bytes of `value` (§2.7: guest memory structures are little-endian). */
  readonly le: string;
}

const accessors: readonly Accessor[] = [
  { name: 'U8', width: 1, read: (m, a) => m.readU8(a), write: (m, a) => m.writeU8(a, 0xa5), value: 0xa5, le: 'a5' },
  { name: 'U16', width: 2, read: (m, a) => m.readU16(a), write: (m, a) => m.writeU16(a, 0x1234), value: 0x1234, le: '34 12' },
  {
    name: 'U32',
    width: 4,
    read: (m, a) => m.readU32(a),
    write: (m, a) => m.writeU32(a, 0x1234_5678),
    value: 0x1234_5678,
    le: '78 56 34 12',
  },
  {
    name: 'U64',
    width: 8,
    read: (m, a) => m.readU64(a),
    write: (m, a) => m.writeU64(a, 0x0102_0304_0506_0708n),
    value: 0x0102_0304_0506_0708n,
    le: '08 07 06 05 04 03 02 01',
  },
];

describe.each([
  { kind: 'ArrayBuffer', shared: false },
  { kind: 'SharedArrayBuffer', shared: true },
])('GuestMemory over $kind', ({ shared }) => {
  let m: GuestMemory;
  beforeEach(() => {
    m = GuestMemory.create(SIZE, shared);
    m.bytes.fill(PATTERN);
  });
  const untouched = (): boolean => m.bytes.every((b) => b === PATTERN);

  it('reports its backing', () => {
    expect(m.size).toBe(SIZE);
    expect(m.shared).toBe(shared);
    expect(m.buffer instanceof SharedArrayBuffer).toBe(shared);
    expect(m.bytes.buffer).toBe(m.buffer);
  });

  describe.each(accessors)('$name', (acc) => {
    it.each([
      ['0', 0],
      ['size - width', SIZE - acc.width],
    ])('reads and writes at %s, little-endian', (_label, addr) => {
      expect(acc.write(m, addr)).toBe(true);
      expect(hex(m.bytes.subarray(addr, addr + acc.width))).toBe(acc.le);
      expect(acc.read(m, addr)).toBe(acc.value);
      // Neighbours keep the pattern.
      expect(m.bytes[addr - 1] ?? PATTERN).toBe(PATTERN);
      expect(m.bytes[addr + acc.width] ?? PATTERN).toBe(PATTERN);
    });

    const refused: readonly (readonly [string, number])[] = [
      ['size - width + 1', SIZE - acc.width + 1],
      ['size', SIZE],
      ...BAD_ADDRS.map((a) => [String(a), a] as const),
    ];
    it.each(refused)('refuses address %s without touching memory', (_label, addr) => {
      expect(acc.read(m, addr)).toBeUndefined();
      expect(acc.write(m, addr)).toBe(false);
      expect(untouched()).toBe(true);
    });
  });

  it('wider reads see narrower writes in little-endian order', () => {
    expect(m.writeU64(8, 0x8877_6655_4433_2211n)).toBe(true);
    expect(m.readU32(8)).toBe(0x4433_2211);
    expect(m.readU32(12)).toBe(0x8877_6655);
    expect(m.readU16(10)).toBe(0x4433);
    expect(m.readU8(15)).toBe(0x88);
  });

  it('reads unsigned values', () => {
    m.bytes.fill(0xff);
    expect(m.readU8(0)).toBe(0xff);
    expect(m.readU16(0)).toBe(0xffff);
    expect(m.readU32(0)).toBe(0xffff_ffff);
    expect(m.readU64(0)).toBe(0xffff_ffff_ffff_ffffn);
  });

  describe('contains', () => {
    it.each([
      [0, SIZE, true],
      [0, 0, true],
      [SIZE, 0, true], // an empty range at the end is inside
      [SIZE - 1, 1, true],
      [SIZE, 1, false],
      [SIZE + 1, 0, false],
      [0, SIZE + 1, false],
      [1, SIZE, false],
      [-1, 1, false],
      [-1, 0, false],
      [0, -1, false],
      [Number.NaN, 0, false],
      [0, Number.NaN, false],
      [0.5, 1, false],
      [0, 0.5, false],
      [Number.MAX_SAFE_INTEGER, 1, false],
      [1, Number.MAX_SAFE_INTEGER, false],
      [0, Infinity, false],
    ])('contains(%s, %s) === %s', (addr, len, expected) => {
      expect(m.contains(addr, len)).toBe(expected);
    });
  });

  describe('copyIn / copyOut', () => {
    const src = Uint8Array.from([1, 2, 3, 4]);

    it('copies in and out at both ends', () => {
      expect(m.copyIn(0, src)).toBe(true);
      expect(m.copyIn(SIZE - 4, src)).toBe(true);
      const dst = new Uint8Array(4);
      expect(m.copyOut(SIZE - 4, dst)).toBe(true);
      expect(Array.from(dst)).toEqual([1, 2, 3, 4]);
      expect(hex(m.bytes.subarray(0, 5))).toBe('01 02 03 04 5a');
    });

    it.each([SIZE - 3, SIZE, -1, -4, Number.NaN, 0.5, Number.MAX_SAFE_INTEGER])('copyIn at %s writes nothing', (addr) => {
      expect(m.copyIn(addr, src)).toBe(false);
      expect(untouched()).toBe(true);
    });

    it.each([SIZE - 3, SIZE, -1, Number.NaN, 0.5])('copyOut at %s leaves dst untouched', (addr) => {
      const dst = new Uint8Array(4).fill(0xee);
      expect(m.copyOut(addr, dst)).toBe(false);
      expect(dst.every((b) => b === 0xee)).toBe(true);
    });

    it('a source longer than memory is refused whole', () => {
      expect(m.copyIn(0, new Uint8Array(SIZE + 1).fill(1))).toBe(false);
      expect(untouched()).toBe(true);
    });

    it('empty copies succeed up to the end and fail past it', () => {
      expect(m.copyIn(SIZE, new Uint8Array(0))).toBe(true);
      expect(m.copyOut(SIZE, new Uint8Array(0))).toBe(true);
      expect(m.copyIn(SIZE + 1, new Uint8Array(0))).toBe(false);
      expect(m.copyOut(SIZE + 1, new Uint8Array(0))).toBe(false);
      expect(untouched()).toBe(true);
    });

    it('copyIn from an overlapping view of the same memory behaves like memmove', () => {
      m.bytes.set([1, 2, 3, 4, 5, 6, 7, 8], 0);
      const self = m.view(0, 8);
      expect(self).toBeDefined();
      if (self === undefined) return;
      expect(m.copyIn(2, self)).toBe(true);
      expect(hex(m.bytes.subarray(0, 11))).toBe('01 02 01 02 03 04 05 06 07 08 5a');
    });
  });

  describe('view', () => {
    it('is zero-copy', () => {
      const v = m.view(4, 4);
      expect(v).toBeDefined();
      if (v === undefined) return;
      v[0] = 0x11;
      expect(m.readU8(4)).toBe(0x11);
      expect(m.writeU8(7, 0x22)).toBe(true);
      expect(v[3]).toBe(0x22);
      expect(v.buffer).toBe(m.buffer);
    });

    it('bounds', () => {
      expect(m.view(0, SIZE)?.length).toBe(SIZE);
      expect(m.view(SIZE, 0)?.length).toBe(0);
      expect(m.view(SIZE - 1, 2)).toBeUndefined();
      expect(m.view(-1, 1)).toBeUndefined();
      expect(m.view(0, -1)).toBeUndefined();
      expect(m.view(Number.NaN, 1)).toBeUndefined();
    });
  });

  describe('fill', () => {
    it('fills a range, zero by default', () => {
      expect(m.fill(1, 2)).toBe(true);
      expect(m.fill(3, 2, 0x77)).toBe(true);
      expect(hex(m.bytes.subarray(0, 6))).toBe('5a 00 00 77 77 5a');
    });

    it('fills everything or nothing', () => {
      expect(m.fill(0, SIZE, 1)).toBe(true);
      expect(m.bytes.every((b) => b === 1)).toBe(true);
      m.bytes.fill(PATTERN);
      expect(m.fill(1, SIZE, 1)).toBe(false);
      expect(m.fill(-1, 2, 1)).toBe(false);
      expect(m.fill(0, Number.NaN, 1)).toBe(false);
      expect(untouched()).toBe(true);
    });
  });
});

describe('GuestMemory construction', () => {
  it.each([0, -1, 1.5, Number.NaN, Infinity, 2 ** 53])('create rejects size %s', (size) => {
    expect(() => GuestMemory.create(size)).toThrow(RangeError);
  });

  it('create zero-fills', () => {
    expect(GuestMemory.create(32).bytes.every((b) => b === 0)).toBe(true);
  });

  it('defaults to a non-shared ArrayBuffer', () => {
    const m = GuestMemory.create(8);
    expect(m.shared).toBe(false);
    expect(m.buffer instanceof ArrayBuffer).toBe(true);
  });

  it('wraps an existing SharedArrayBuffer: writes by another view (a worker) are visible', () => {
    const sab = new SharedArrayBuffer(16);
    const m = new GuestMemory(sab);
    expect(m.size).toBe(16);
    expect(m.shared).toBe(true);
    const other = new Uint16Array(sab);
    Atomics.store(other, 1, 0xbeef);
    expect(m.readU16(2)).toBe(0xbeef);
    expect(m.writeU32(4, 0xcafe_f00d)).toBe(true);
    expect(Atomics.load(new Uint32Array(sab), 1)).toBe(0xcafe_f00d);
  });

  it('wraps an existing ArrayBuffer by its byteLength', () => {
    const m = new GuestMemory(new ArrayBuffer(10));
    expect(m.size).toBe(10);
    expect(m.readU16(8)).toBe(0);
    expect(m.readU16(9)).toBeUndefined();
  });
});

describe('write values that do not fit their field are caller bugs', () => {
  it.each([
    ['writeU8', 0x100], ['writeU8', -1], ['writeU16', 0x1_0000], ['writeU32', 2 ** 32], ['writeU32', 1.5],
  ] as const)('%s(0, %s) throws RangeError and writes nothing', (fn, value) => {
    const m = GuestMemory.create(16);
    expect(() => m[fn](0, value)).toThrow(RangeError);
    expect([...m.bytes]).toEqual(Array(16).fill(0));
  });

  it('writeU64 rejects negative and 2^64', () => {
    const m = GuestMemory.create(16);
    expect(() => m.writeU64(0, -1n)).toThrow(RangeError);
    expect(() => m.writeU64(0, 1n << 64n)).toThrow(RangeError);
    expect(m.writeU64(0, (1n << 64n) - 1n)).toBe(true);
  });
});
