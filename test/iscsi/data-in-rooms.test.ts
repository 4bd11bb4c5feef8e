// Data-In rooms (data-in-rooms.ts): each with 48 free bytes in front for its
// PDU's BHS, one after another in a zeroed slab, so a turn of Data-In PDUs is
// one run of bytes; larger rooms on their own.

import { describe, expect, it } from 'vitest';
import { DATA_IN_ROOM_SLAB_BYTES, DataInRooms, headerRoomOf } from '../../src/iscsi/data-in-rooms.js';

describe('DataInRooms', () => {
  it('rooms follow one another in one slab, each 48 bytes after the one before: header, data, header, data', () => {
    const rooms = new DataInRooms();
    const a = rooms.take(4096);
    const b = rooms.take(512);
    const c = rooms.take(8);
    expect([a.length, b.length, c.length]).toEqual([4096, 512, 8]);
    expect(a.buffer).toBe(b.buffer);
    expect(b.buffer).toBe(c.buffer);
    expect(a.buffer.byteLength).toBe(DATA_IN_ROOM_SLAB_BYTES);
    expect([a.byteOffset, b.byteOffset, c.byteOffset]).toEqual([48, 48 + 4096 + 48, 48 + 4096 + 48 + 512 + 48]);
    const h = headerRoomOf(b);
    expect([h.buffer === b.buffer, h.byteOffset, h.length]).toEqual([true, a.byteOffset + a.length, 48]);
  });

  it('rooms and their header space are zeroed, and a room is never handed out twice', () => {
    const rooms = new DataInRooms();
    const seen: Uint8Array[] = [];
    for (let i = 0; i < 200; i++) {
      const r = rooms.take(4096);
      expect(r.every((x) => x === 0)).toBe(true);
      expect(headerRoomOf(r).every((x) => x === 0)).toBe(true);
      r.fill(0xa5);
      headerRoomOf(r).fill(0x5a);
      seen.push(r);
    }
    // 63 rooms of 4144 bytes fill a 256 KiB slab; the 64th starts a new one, at its beginning.
    expect(seen[62]?.buffer).toBe(seen[0]?.buffer);
    expect(seen[63]?.buffer).not.toBe(seen[0]?.buffer);
    expect(seen[63]?.byteOffset).toBe(48);
    expect(seen.every((r) => r.every((x) => x === 0xa5))).toBe(true);
  });

  it('a room over 64 KiB with its header gets an ArrayBuffer of its own, header space in front; the slab goes on', () => {
    const rooms = new DataInRooms();
    const small = rooms.take(512);
    const big = rooms.take(64 * 1024);
    expect([big.byteOffset, big.length, big.buffer.byteLength]).toEqual([48, 65536, 65536 + 48]);
    const next = rooms.take(512);
    expect(next.buffer).toBe(small.buffer);
    expect(next.byteOffset).toBe(small.byteOffset + 512 + 48);
  });

  it('a room of 0 bytes is its header space alone', () => {
    const rooms = new DataInRooms();
    const a = rooms.take(0);
    const b = rooms.take(16);
    expect([a.length, a.byteOffset, b.byteOffset]).toEqual([0, 48, 96]);
  });
});

describe('headerRoomOf', () => {
  it('refuses an array with fewer than 48 bytes in front of it: it is not a room', () => {
    expect(() => headerRoomOf(new Uint8Array(4096))).toThrow(RangeError);
    expect(() => headerRoomOf(new Uint8Array(100).subarray(47))).toThrow(/48 bytes in front/);
  });
});
