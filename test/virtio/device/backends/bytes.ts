// Byte helpers for the backend tests: patterned data that shows misplaced
// copies, and a cheap first-difference comparison (deep equality on 256 KiB
// arrays costs seconds in vitest; this keeps failures readable anyway).

import { expect } from 'vitest';
import type { BlockBackend } from '../../../../src/virtio/device/backend.js';

/** Bytes whose value depends on their position and a salt, so misplaced copies show; never 0. */
export function pattern(length: number, salt: number): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = ((i * 7 + salt) % 251) + 1;
  return out;
}

export const zeros = (n: number): Uint8Array => new Uint8Array(n);

/** Reads [offset, offset+length) into a buffer pre-filled with 0xee (not zero: a skipped copy shows). */
export async function readBack(b: BlockBackend, offset: number, length: number): Promise<Uint8Array> {
  const dst = new Uint8Array(length).fill(0xee);
  expect(await b.read(offset, dst)).toBe('ok');
  return dst;
}

/** First difference between two byte arrays, or undefined when equal. */
export function byteDiff(got: Uint8Array, want: Uint8Array): string | undefined {
  if (got.length !== want.length) return `length ${got.length}, want ${want.length}`;
  if (Buffer.from(got.buffer, got.byteOffset, got.length).equals(Buffer.from(want.buffer, want.byteOffset, want.length))) return undefined;
  const at = got.findIndex((v, i) => v !== want[i]);
  return `byte ${at}: ${got[at]}, want ${want[at]}`;
}
