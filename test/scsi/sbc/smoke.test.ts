import { describe, expect, test } from 'vitest';
import { bytes, expectGood, expectSense, hex, unit, ILLEGAL_REQUEST } from './harness.js';

describe('smoke', () => {
  test('write then read 1 block', async () => {
    const u = await unit();
    const data = new Uint8Array(512).fill(0xab);
    expectGood(await u.run('2a 00 00 00 00 05 00 00 01 00', { dataOut: data }));
    const r = await u.run('28 00 00 00 00 05 00 00 01 00');
    expectGood(r);
    expect(hex(r.data?.subarray(0, 4))).toBe('ab ab ab ab');
    expectSense(await u.run('28 00 00 00 04 00 00 00 01 00'), { key: ILLEGAL_REQUEST, asc: 0x21, ascq: 0 });
    expectSense(await u.run('28 20 00 00 00 00 00 00 01 00'), { key: ILLEGAL_REQUEST, asc: 0x24, ascq: 0, field: { byte: 1, bit: 5 } });
    const inq = await u.run('12 00 00 00 60 00');
    expectGood(inq);
    expect(inq.data?.length).toBe(96);
    expect(bytes('00').length).toBe(1);
  });
});
