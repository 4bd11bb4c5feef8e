// One turn's PDUs reaching the socket (socket-write.ts): one chunk as it is,
// a small turn copied into one buffer that a later turn never writes over (the
// socket may still hold it), a large turn as its chunks in one corked write.

import type { Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { appendChunk, writeTurn } from '../../src/iscsi/socket-write.js';

/** A socket double that keeps what it is handed, by reference, as a stream that has not sent it yet does. */
function holdingSocket(): { socket: Socket; held: Uint8Array[]; corks: string[] } {
  const held: Uint8Array[] = [];
  const corks: string[] = [];
  const socket = {
    write: (b: Uint8Array) => { held.push(b); return true; },
    cork: () => { corks.push('cork'); },
    uncork: () => { corks.push('uncork'); },
  } as unknown as Socket;
  return { socket, held, corks };
}

const filled = (n: number, v: number): Uint8Array => new Uint8Array(n).fill(v);

describe('writeTurn', () => {
  it('a turn of one chunk is written as it is', () => {
    const { socket, held } = holdingSocket();
    const one = filled(48, 1);
    writeTurn(socket, [one], one.length);
    expect(held).toEqual([one]);
    expect(held[0]).toBe(one);
  });

  it('small turns are one buffer each, in order; a later turn leaves an earlier one, still held, as it was', () => {
    const { socket, held, corks } = holdingSocket();
    const first = [filled(48, 1), filled(4096, 2), filled(48, 3), filled(4096, 4)];
    writeTurn(socket, first, 2 * (48 + 4096));
    const copyOfFirst = Uint8Array.from(held[0] ?? []);
    for (let i = 0; i < 40; i++) writeTurn(socket, [filled(48, 5 + i), filled(4096, 6 + i)], 48 + 4096);
    expect(held).toHaveLength(41);
    expect(Uint8Array.from(held[0] ?? [])).toEqual(copyOfFirst);
    expect(Array.from(held[0] ?? []).slice(0, 48).every((x) => x === 1)).toBe(true);
    expect((held[0] ?? [])[48]).toBe(2);
    expect((held[0] ?? [])[48 + 4096]).toBe(3);
    expect((held[0] ?? [])[2 * 48 + 4096]).toBe(4);
    expect(held[40]?.[0]).toBe(5 + 39);
    expect(corks).toEqual([]);
  });

  it('a turn past 64 KiB goes as its own chunks in one corked write', () => {
    const { socket, held, corks } = holdingSocket();
    const chunks = [filled(48, 1), filled(40 * 1024, 2), filled(48, 3), filled(40 * 1024, 4)];
    writeTurn(socket, chunks, 2 * (48 + 40 * 1024));
    expect(held).toHaveLength(4);
    for (const [i, c] of chunks.entries()) expect(held[i]).toBe(c);
    expect(corks).toEqual(['cork', 'uncork']);
  });
});

describe('appendChunk', () => {
  it('a chunk that follows the last one in memory widens it: one view over both, no copy', () => {
    const slab = new Uint8Array(256).map((_, i) => i);
    const pending: Uint8Array[] = [];
    appendChunk(pending, slab.subarray(16, 64));
    appendChunk(pending, slab.subarray(64, 100));
    appendChunk(pending, slab.subarray(100, 101));
    expect(pending).toHaveLength(1);
    const run = pending[0];
    expect([run?.buffer === slab.buffer, run?.byteOffset, run?.length]).toEqual([true, 16, 85]);
    expect(Array.from(run ?? [])).toEqual(Array.from(slab.subarray(16, 101)));
  });

  it('the same offsets in another buffer are not a continuation', () => {
    const a = new Uint8Array(128).fill(1);
    const b = new Uint8Array(128).fill(2);
    const pending: Uint8Array[] = [];
    appendChunk(pending, a.subarray(0, 48));
    appendChunk(pending, b.subarray(48, 96));
    expect(pending).toHaveLength(2);
    expect(pending[1]?.[0]).toBe(2);
  });

  it('a gap, a chunk before the last one, or the same bytes again are kept apart, in order', () => {
    const slab = new Uint8Array(256);
    const pending: Uint8Array[] = [];
    const first = slab.subarray(100, 148);
    appendChunk(pending, first);
    appendChunk(pending, slab.subarray(152, 160)); // gap of 4
    appendChunk(pending, slab.subarray(48, 100)); // ends where `first` starts: before it, not after
    appendChunk(pending, slab.subarray(48, 100)); // the same bytes again
    expect(pending.map((c) => [c.byteOffset, c.length])).toEqual([
      [100, 48],
      [152, 8],
      [48, 52],
      [48, 52],
    ]);
  });

  it('a chunk at offset 0 starts a new one, even after an empty chunk', () => {
    const slab = new Uint8Array(64);
    const pending: Uint8Array[] = [];
    appendChunk(pending, slab.subarray(0, 0));
    appendChunk(pending, slab.subarray(0, 16));
    expect(pending.map((c) => c.length)).toEqual([0, 16]);
  });
});
