// READ DEFECT DATA (10) 37h and (12) B7h through SbcEmulator.execute. CDBs and
// parameter data from the SBC-4 tables: (10) byte 2 = REQ_PLIST (4) REQ_GLIST
// (3) DEFECT LIST FORMAT (2..0), ALLOCATION LENGTH 7..8; (12) the same in byte
// 1, ADDRESS DESCRIPTOR INDEX 2..5, ALLOCATION LENGTH 6..9. Header (10): byte 1
// PLISTV (4) GLISTV (3) FORMAT, DEFECT LIST LENGTH 2..3; (12): GENERATION CODE
// 2..3, DEFECT LIST LENGTH 4..7.

import { describe, expect, test } from 'vitest';
import { ILLEGAL_REQUEST, NOT_READY, expectGood, expectSense, hex, unit } from './harness.js';

const invalidCdb = (byte: number, bit?: number) => ({ key: ILLEGAL_REQUEST, asc: 0x24, ascq: 0, field: bit === undefined ? { byte } : { byte, bit } });

describe('READ DEFECT DATA (10)', () => {
  test.each([
    ['00', '00 00 00 00'], // neither list, short block format
    ['18', '00 18 00 00'], // both lists: PLISTV, GLISTV
    ['10', '00 10 00 00'], // primary list only
    ['0b', '00 0b 00 00'], // grown list, long block format 011b
    ['05', '00 05 00 00'], // physical sector format 101b
    ['01', '00 01 00 00'], // extended bytes from index 001b
  ])('byte 2 = %sh → header %s, an empty list', async (b2, want) => {
    const u = await unit();
    const r = await u.run(`37 00 ${b2} 00 00 00 00 00 20 00`);
    expectGood(r);
    expect(hex(r.data)).toBe(want);
    expect(u.disk.calls).toEqual([]);
  });

  test('ALLOCATION LENGTH cuts the header (0 → no data)', async () => {
    const u = await unit();
    expect(hex((await u.run('37 00 18 00 00 00 00 00 02 00')).data)).toBe('00 18');
    const r = await u.run('37 00 18 00 00 00 00 00 00 00');
    expectGood(r);
    expect(r.data?.length ?? 0).toBe(0);
  });

  test('vendor-specific (110b) and reserved (111b) formats → INVALID FIELD IN CDB at byte 2 bit 2', async () => {
    const u = await unit();
    expectSense(await u.run('37 00 06 00 00 00 00 00 20 00'), invalidCdb(2, 2));
    expectSense(await u.run('37 00 1f 00 00 00 00 00 20 00'), invalidCdb(2, 2));
  });

  test('reserved bits → INVALID FIELD IN CDB with their position', async () => {
    const u = await unit();
    expectSense(await u.run('37 01 00 00 00 00 00 00 20 00'), invalidCdb(1, 0));
    expectSense(await u.run('37 00 20 00 00 00 00 00 20 00'), invalidCdb(2, 5));
    expectSense(await u.run('37 00 00 00 00 00 80 00 20 00'), invalidCdb(6, 7));
    expectSense(await u.run('37 00 00 00 00 00 00 00 20 04'), invalidCdb(9, 2));
  });

  test('needs the medium: a stopped unit → NOT READY, INITIALIZING COMMAND REQUIRED', async () => {
    const u = await unit();
    expectGood(await u.run('1b 00 00 00 00 00'));
    expectSense(await u.run('37 00 18 00 00 00 00 00 20 00'), { key: NOT_READY, asc: 0x04, ascq: 0x02 });
  });
});

describe('READ DEFECT DATA (12)', () => {
  test('8-byte header: PLISTV/GLISTV/FORMAT, GENERATION CODE 0, DEFECT LIST LENGTH 0, at any ADDRESS DESCRIPTOR INDEX', async () => {
    const u = await unit();
    let r = await u.run('b7 18 00 00 00 00 00 00 00 20 00 00');
    expectGood(r);
    expect(hex(r.data)).toBe('00 18 00 00 00 00 00 00');
    r = await u.run('b7 0c 00 00 10 00 00 00 00 20 00 00'); // GLIST, bytes from index 100b, index 4096
    expect(hex(r.data)).toBe('00 0c 00 00 00 00 00 00');
    r = await u.run('b7 00 ff ff ff ff 00 00 00 05 00 00'); // ALLOCATION LENGTH 5
    expect(hex(r.data)).toBe('00 00 00 00 00');
  });

  test('formats 110b/111b → INVALID FIELD IN CDB at byte 1 bit 2; reserved bits → their position', async () => {
    const u = await unit();
    expectSense(await u.run('b7 06 00 00 00 00 00 00 00 20 00 00'), invalidCdb(1, 2));
    expectSense(await u.run('b7 07 00 00 00 00 00 00 00 20 00 00'), invalidCdb(1, 2));
    expectSense(await u.run('b7 20 00 00 00 00 00 00 00 20 00 00'), invalidCdb(1, 5));
    expectSense(await u.run('b7 00 00 00 00 00 00 00 00 20 01 00'), invalidCdb(10, 0));
  });
});
