// When a deferred error is no finding (immed.ts): only for a session that sent
// SYNCHRONIZE CACHE with IMMED before or while a task management function was
// out, since only a device reset, which vtcam makes to recover what such a
// function aborts, can fail that flush.

import { expect, test } from 'vitest';
import { ImmedFlushes } from '../../../scripts/soak/immed.js';

test('no IMMED, or IMMED with no task management function since: a deferred error is a finding', async () => {
  const f = new ImmedFlushes<string>();
  expect(f.mayFail('a')).toBe(false);
  await f.tmf(() => Promise.resolve());
  f.sent('a');
  expect(f.mayFail('a')).toBe(false);
});

test('a function sent after the IMMED, or out when it is sent, excuses that session only; so does one that throws', async () => {
  const f = new ImmedFlushes<string>();
  f.sent('a');
  let release = (): void => undefined;
  const out = f.tmf(() => new Promise<void>((r) => { release = r; }));
  expect([f.mayFail('a'), f.mayFail('b')]).toEqual([true, false]);
  f.sent('b');
  expect(f.mayFail('b')).toBe(true);
  release();
  await out;
  f.sent('c');
  expect(f.mayFail('c')).toBe(false);
  await expect(f.tmf(() => Promise.reject(new Error('lost')))).rejects.toThrow('lost');
  expect(f.mayFail('c')).toBe(true);
  f.sent('d');
  expect(f.mayFail('d')).toBe(false);
});
