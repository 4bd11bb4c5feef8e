// SPC-5 commands of the SBC emulator through SbcEmulator.execute: TEST UNIT
// READY, INQUIRY (standard data and VPD pages), REQUEST SENSE, REPORT LUNS,
// REPORT SUPPORTED OPERATION CODES, REPORT SUPPORTED TASK MANAGEMENT
// FUNCTIONS and SEND DIAGNOSTIC. MODE SENSE/SELECT are in spc-mode.test.ts,
// unit attention semantics in spc-ua.test.ts. CDBs and expected data are
// written from the SPC-5 / SBC-4 tables.

import { describe, expect, test } from 'vitest';
import {
  bytes,
  expectGood,
  expectSense,
  hex,
  unit,
  ILLEGAL_REQUEST,
  MEDIUM_ERROR,
  NOT_READY,
  UNIT_ATTENTION,
} from './harness.js';
import {
  INQUIRY_STD,
  REPORT_LUNS,
  REQUEST_SENSE,
  STD_INQUIRY,
  STOP,
  TUR,
  ascii,
  cat,
  dataOf,
  expectData,
  fixed,
  u32,
  vpd,
  z,
} from './spc-helpers.js';

describe('TEST UNIT READY', () => {
  test('GOOD, no data, no block operation', async () => {
    const u = await unit();
    const r = await u.run(TUR);
    expectGood(r);
    expect(r.data).toBeUndefined();
    expect(u.disk.calls).toEqual([]);
  });

  test.each([
    ['00 01 00 00 00 00', 1, 0],
    ['00 80 00 00 00 00', 1, 7],
    ['00 00 01 00 00 00', 2, 0],
    ['00 00 00 10 00 00', 3, 4],
    ['00 00 00 00 ff 00', 4, 7],
    ['00 00 00 00 00 04', 5, 2], // CONTROL NACA: ACA is not supported (SAM-5)
    ['00 00 00 00 00 40', 5, 6], // CONTROL vendor-specific bits: none defined
  ])('reserved bit in %s → 24h/00h at byte %i bit %i, unit still ready', async (cdb, byte, bit) => {
    const u = await unit();
    expectSense(await u.run(cdb), { key: ILLEGAL_REQUEST, asc: 0x24, ascq: 0, field: { byte, bit } });
    expectGood(await u.run(TUR));
  });

  test('stopped unit → NOT READY 04h/02h; START 1 makes it ready again', async () => {
    const u = await unit();
    expectGood(await u.run(STOP));
    expectSense(await u.run(TUR), { key: NOT_READY, asc: 0x04, ascq: 0x02 });
    expectGood(await u.run('1b 00 00 00 01 00'));
    expectGood(await u.run(TUR));
  });
});

describe('INQUIRY standard data', () => {
  test('96 bytes as SPC-5 lays them out', async () => {
    const u = await unit();
    expectData(await u.run(INQUIRY_STD), STD_INQUIRY);
    expect(u.disk.calls).toEqual([]);
  });

  test.each([0, 5, 36, 96, 255, 512])('ALLOCATION LENGTH %i returns min(alloc, 96) bytes', async (alloc) => {
    const u = await unit();
    const cdb = cat('12 00 00', u32(alloc).slice(6), '00');
    const data = dataOf(await u.run(cdb));
    expect(hex(data)).toBe(hex(bytes(STD_INQUIRY).subarray(0, Math.min(alloc, 96))));
  });

  test('vendor, product and revision options, space padded', async () => {
    const u = await unit({}, { vendor: 'ACME', product: 'DISK', revision: '1.0' });
    const data = dataOf(await u.run(INQUIRY_STD));
    expect(hex(data.subarray(8, 36))).toBe(cat(ascii('ACME    '), ascii('DISK            '), ascii('1.0 ')));
  });

  test('read-only disk and 4096-byte blocks do not change the standard data', async () => {
    const u = await unit({ readOnly: true, blockSize: 4096 });
    expectData(await u.run(INQUIRY_STD), STD_INQUIRY);
  });

  test('EVPD 0 with PAGE CODE ≠ 0 → 24h/00h at byte 2', async () => {
    const u = await unit();
    expectSense(await u.run('12 00 80 00 ff 00'), { key: ILLEGAL_REQUEST, asc: 0x24, ascq: 0, field: { byte: 2 } });
    expectSense(await u.run('12 00 01 00 ff 00'), { key: ILLEGAL_REQUEST, asc: 0x24, ascq: 0, field: { byte: 2 } });
  });

  test.each([
    ['12 02 00 00 ff 00', 1, 1], // obsolete CMDDT
    ['12 80 00 00 ff 00', 1, 7],
    ['12 00 00 00 ff 04', 5, 2], // NACA
  ])('reserved bit in %s → 24h/00h at byte %i bit %i', async (cdb, byte, bit) => {
    const u = await unit();
    expectSense(await u.run(cdb), { key: ILLEGAL_REQUEST, asc: 0x24, ascq: 0, field: { byte, bit } });
    expectData(await u.run(INQUIRY_STD), STD_INQUIRY);
  });

  test('stopped unit still answers INQUIRY', async () => {
    const u = await unit();
    expectGood(await u.run(STOP));
    expectData(await u.run(INQUIRY_STD), STD_INQUIRY);
  });
});

describe('INQUIRY VPD pages', () => {
  test('00h Supported VPD Pages: ascending list', async () => {
    const u = await unit();
    expectData(await u.run(vpd(0x00)), '00 00 00 07 00 80 83 86 b0 b1 b2');
  });

  test('every listed page answers GOOD with PAGE LENGTH + 4 bytes', async () => {
    const u = await unit();
    for (const page of [0x00, 0x80, 0x83, 0x86, 0xb0, 0xb1, 0xb2]) {
      const d = dataOf(await u.run(vpd(page)));
      expect(d[1]).toBe(page);
      expect(d.length).toBe((((d[2] ?? 0) << 8) | (d[3] ?? 0)) + 4);
    }
  });

  test('80h Unit Serial Number from the device GET_ID', async () => {
    const u = await unit({ serial: 'DISK-42' });
    expectData(await u.run(vpd(0x80)), cat('00 80 00 07', ascii('DISK-42')));
    const d = await unit();
    expectData(await d.run(vpd(0x80)), cat('00 80 00 07', ascii('MEM0001')));
  });

  test('80h: the serial option overrides GET_ID', async () => {
    const u = await unit({ serial: 'DISK-42' }, { serial: 'ABC123' });
    expectData(await u.run(vpd(0x80)), cat('00 80 00 06', ascii('ABC123')));
  });

  test('83h Device Identification: NAA and T10 vendor ID designators', async () => {
    const u = await unit({}, { naa: 0x5001405000000001n });
    expectData(
      await u.run(vpd(0x83)),
      cat(
        '00 83 00 1f',
        '01 03 00 08 50 01 40 50 00 00 00 01', // binary, LU, NAA, 8 bytes
        '02 01 00 0f', ascii('VTCAM   '), ascii('MEM0001'), // ASCII, LU, T10 vendor ID
      ),
    );
  });

  test('83h: the default NAA is locally assigned (3h) and differs between serials', async () => {
    const a = dataOf(await (await unit({ serial: 'A' })).run(vpd(0x83)));
    const b = dataOf(await (await unit({ serial: 'B' })).run(vpd(0x83)));
    expect((a[8] ?? 0) >> 4).toBe(0x3);
    expect(hex(a.subarray(8, 16))).not.toBe(hex(b.subarray(8, 16)));
  });

  test('86h Extended INQUIRY Data: HEADSUP ORDSUP SIMPSUP, V_SUP, LUICLR', async () => {
    const u = await unit();
    expectData(await u.run(vpd(0x86)), cat('00 86 00 3c 00 07 01 01', z(56)));
  });

  test('86h on a device without FLUSH (every write durable): V_SUP 0', async () => {
    const u = await unit({ flush: false });
    expectData(await u.run(vpd(0x86)), cat('00 86 00 3c 00 07 00 01', z(56)));
  });

  // Block Limits (SBC-4): byte 4 WSNZ, 5 MAXIMUM COMPARE AND WRITE LENGTH, 6..7 OPTIMAL TRANSFER LENGTH
  // GRANULARITY, 8..11 MAXIMUM TRANSFER LENGTH, 12..15 OPTIMAL TRANSFER LENGTH, 16..19 MAXIMUM PREFETCH
  // LENGTH, 20..23 MAXIMUM UNMAP LBA COUNT, 24..27 MAXIMUM UNMAP BLOCK DESCRIPTOR COUNT, 28..31 OPTIMAL UNMAP
  // GRANULARITY, 32..35 UGAVALID | UNMAP GRANULARITY ALIGNMENT, 36..43 MAXIMUM WRITE SAME LENGTH.
  const b0 = (caw: string, mtl: number, unmapLba: string, unmapBd: string, ug = '00 00 00 00', uga = '00 00 00 00'): string =>
    cat('00 b0 00 3c 00', caw, '00 01', u32(mtl), z(4), z(4), unmapLba, unmapBd, ug, uga, z(8), z(20)); // WSNZ 0

  test('B0h defaults, 512-byte blocks: 8 MiB transfer = 4000h blocks, CAW 255, UNMAP unlimited / 4095', async () => {
    const u = await unit();
    expectData(await u.run(vpd(0xb0)), b0('ff', 0x4000, 'ff ff ff ff', '00 00 0f ff'));
  });

  test('B0h with 4096-byte blocks: 8 MiB = 800h blocks', async () => {
    const u = await unit({ blockSize: 4096 });
    expectData(await u.run(vpd(0xb0)), b0('ff', 0x800, 'ff ff ff ff', '00 00 0f ff'));
  });

  test('B0h: maxTransferBytes and the device limit bound MAXIMUM TRANSFER LENGTH and CAW', async () => {
    const a = await unit({}, { maxTransferBytes: 65536 });
    expectData(await a.run(vpd(0xb0)), b0('80', 128, 'ff ff ff ff', '00 00 0f ff'));
    const b = await unit({ maxTransferBlocks: 64 });
    expectData(await b.run(vpd(0xb0)), b0('40', 64, 'ff ff ff ff', '00 00 0f ff'));
    const c = await unit({ blockSize: 4096, maxTransferBlocks: 16 }, { maxTransferBytes: 1 << 20 });
    expectData(await c.run(vpd(0xb0)), b0('10', 16, 'ff ff ff ff', '00 00 0f ff'));
  });

  test('B0h: UNMAP limit and CAW options; granularity sets UGAVALID', async () => {
    const u = await unit(
      { discard: { maxBlocks: 4096, maxSegments: 8, granularity: 8, zeroes: true } },
      { maxUnmapLbaCount: 1024, maxUnmapBlockDescriptors: 16, maxCompareAndWriteBlocks: 4 },
    );
    expectData(await u.run(vpd(0xb0)), b0('04', 0x4000, '00 00 04 00', '00 00 00 10', '00 00 00 08', '80 00 00 00'));
  });

  test('B0h without discard: MAXIMUM UNMAP LBA COUNT and BLOCK DESCRIPTOR COUNT are 0', async () => {
    const u = await unit({ discard: false, writeZeroes: false });
    expectData(await u.run(vpd(0xb0)), b0('ff', 0x4000, z(4), z(4)));
  });

  test('B0h with MAXIMUM WRITE SAME LENGTH', async () => {
    const u = await unit({}, { maxWriteSameBlocks: 0x10000 });
    const d = dataOf(await u.run(vpd(0xb0)));
    expect(hex(d.subarray(36, 44))).toBe('00 00 00 00 00 01 00 00');
  });

  test('B1h Block Device Characteristics: MEDIUM ROTATION RATE 1 (non-rotating) or the option', async () => {
    const u = await unit();
    // byte 7: WABEREQ 01b (SANITIZE BLOCK ERASE offered: discard reads back zeros); byte 8: FUAB (1), VBULS (0)
    expectData(await u.run(vpd(0xb1)), cat('00 b1 00 3c 00 01 00 40 03', z(55)));
    const r = await unit({}, { rotationRate: 7200 });
    expectData(await r.run(vpd(0xb1)), cat('00 b1 00 3c 1c 20 00 40 03', z(55)));
    const noErase = await unit({}, { sanitize: false });
    expectData(await noErase.run(vpd(0xb1)), cat('00 b1 00 3c 00 01 00 00 03', z(55)));
  });

  // Logical Block Provisioning (SBC-4) byte 5: LBPU (7) LBPWS (6) LBPWS10 (5) LBPRZ (4..2) ANC_SUP (1) DP (0);
  // byte 6 bits 2..0 PROVISIONING TYPE (000b not reported / full, 010b thin).
  test.each([
    ['default (discard zeroes, write-zeroes may unmap)', {}, 'e4', '02'],
    ['discard that does not zero, no write-zeroes', { discard: { maxBlocks: 64, maxSegments: 1, granularity: 0, zeroes: false }, writeZeroes: false as const }, 'e0', '02'],
    ['write-zeroes that may unmap, no discard', { discard: false as const }, '64', '02'],
    ['write-zeroes that never unmaps, no discard', { discard: false as const, writeZeroes: { maxBlocks: 64, mayUnmap: false } }, '00', '00'],
    ['neither', { discard: false as const, writeZeroes: false as const }, '00', '00'],
  ])('B2h: %s', async (_name, disk, flags, type) => {
    const u = await unit(disk);
    expectData(await u.run(vpd(0xb2)), cat('00 b2 00 04 00', flags, type, '00'));
  });

  test('VPD data is cut to ALLOCATION LENGTH', async () => {
    const u = await unit();
    expectData(await u.run(vpd(0xb0, 4)), '00 b0 00 3c');
    expectData(await u.run(vpd(0x80, 0)), '');
  });

  test.each([0x01, 0x99, 0xb3, 0xff])('unsupported page %i → 24h/00h at byte 2', async (page) => {
    const u = await unit();
    expectSense(await u.run(vpd(page)), { key: ILLEGAL_REQUEST, asc: 0x24, ascq: 0, field: { byte: 2 } });
    expectData(await u.run(vpd(0x00)), '00 00 00 07 00 80 83 86 b0 b1 b2');
  });
});

describe('REQUEST SENSE', () => {
  test('nothing pending: NO SENSE 00h/00h, fixed format, 18 bytes, GOOD', async () => {
    const u = await unit();
    expectData(await u.run(REQUEST_SENSE), fixed(0, 0, 0));
  });

  test('DESC 1: descriptor format, 8 bytes', async () => {
    const u = await unit();
    expectData(await u.run('03 01 00 00 fc 00'), '72 00 00 00 00 00 00 00');
  });

  test('ALLOCATION LENGTH cuts the data', async () => {
    const u = await unit();
    expectData(await u.run('03 00 00 00 08 00'), '70 00 00 00 00 00 00 0a');
    expectData(await u.run('03 00 00 00 00 00'), '');
  });

  test('a pending unit attention is returned once, then cleared', async () => {
    const u = await unit({}, { powerOnUnitAttention: true });
    expectData(await u.run(REQUEST_SENSE), fixed(UNIT_ATTENTION, 0x29, 0x00));
    expectData(await u.run(REQUEST_SENSE), fixed(0, 0, 0));
    expectGood(await u.run(TUR));
  });

  test('a raised unit attention in descriptor format', async () => {
    const u = await unit();
    expectGood(await u.run(TUR));
    u.lu.raiseUnitAttention({ asc: 0x2a, ascq: 0x09 });
    expectData(await u.run('03 01 00 00 fc 00'), '72 06 2a 09 00 00 00 00');
    expectGood(await u.run(TUR));
  });

  test('a unit attention cut to 8 bytes is still cleared', async () => {
    const u = await unit({}, { powerOnUnitAttention: true });
    expectData(await u.run('03 00 00 00 08 00'), '70 00 06 00 00 00 00 0a');
    expectGood(await u.run(TUR));
  });

  test('stopped unit: NOT READY 04h/02h as sense data, with GOOD status', async () => {
    const u = await unit();
    expectGood(await u.run(STOP));
    expectData(await u.run(REQUEST_SENSE), fixed(NOT_READY, 0x04, 0x02));
    expectData(await u.run('03 01 00 00 fc 00'), '72 02 04 02 00 00 00 00');
  });

  test.each([
    ['03 02 00 00 fc 00', 1, 1],
    ['03 00 01 00 fc 00', 2, 0],
    ['03 00 00 00 fc 04', 5, 2],
  ])('reserved bit in %s → 24h/00h at byte %i bit %i', async (cdb, byte, bit) => {
    const u = await unit();
    expectSense(await u.run(cdb), { key: ILLEGAL_REQUEST, asc: 0x24, ascq: 0, field: { byte, bit } });
  });
});

describe('REPORT LUNS', () => {
  test('SELECT REPORT 00h and 02h list LUN 0; 01h (well known) is empty', async () => {
    const u = await unit();
    expectData(await u.run(REPORT_LUNS), cat('00 00 00 08', z(4), z(8)));
    expectData(await u.run('a0 00 02 00 00 00 00 00 01 00 00 00'), cat('00 00 00 08', z(4), z(8)));
    expectData(await u.run('a0 00 01 00 00 00 00 00 01 00 00 00'), z(8));
  });

  test('luns option: peripheral device addressing below 256, flat space above', async () => {
    const u = await unit({}, { luns: [0, 1, 300] });
    expectData(await u.run(REPORT_LUNS), cat('00 00 00 18', z(4), z(8), '00 01', z(6), '41 2c', z(6)));
  });

  test('ALLOCATION LENGTH 16 cuts the list; LUN LIST LENGTH still counts every LUN', async () => {
    const u = await unit({}, { luns: [0, 1, 300] });
    expectData(await u.run('a0 00 00 00 00 00 00 00 00 10 00 00'), cat('00 00 00 18', z(4), z(8)));
  });

  test.each([0, 8, 15])('ALLOCATION LENGTH %i (< 16) → 24h/00h at byte 6', async (alloc) => {
    const u = await unit();
    expectSense(await u.run(cat('a0 00 00 00 00 00', u32(alloc), '00 00')), { key: ILLEGAL_REQUEST, asc: 0x24, ascq: 0, field: { byte: 6 } });
  });

  test.each([0x03, 0x10, 0xff])('SELECT REPORT %i → 24h/00h at byte 2', async (select) => {
    const u = await unit();
    const cdb = cat('a0 00', select.toString(16).padStart(2, '0'), '00 00 00 00 00 01 00 00 00');
    expectSense(await u.run(cdb), { key: ILLEGAL_REQUEST, asc: 0x24, ascq: 0, field: { byte: 2 } });
    expectGood(await u.run(REPORT_LUNS));
  });
});

// Every command this unit implements, from the SPC-5/SBC-4 tables: [opcode, service action, CDB length].
const IMPLEMENTED: readonly (readonly [number, number | undefined, number])[] = [
  [0x00, undefined, 6], [0x03, undefined, 6], [0x04, undefined, 6], [0x08, undefined, 6], [0x0a, undefined, 6],
  [0x12, undefined, 6], [0x15, undefined, 6], [0x16, undefined, 6], [0x17, undefined, 6], [0x1a, undefined, 6], [0x1b, undefined, 6], [0x1d, undefined, 6],
  [0x1e, undefined, 6], [0x25, undefined, 10], [0x28, undefined, 10], [0x2a, undefined, 10], [0x2e, undefined, 10],
  [0x2f, undefined, 10], [0x34, undefined, 10], [0x35, undefined, 10], [0x37, undefined, 10], [0x41, undefined, 10], [0x42, undefined, 10],
  [0x48, 0x01, 10], [0x48, 0x02, 10], [0x48, 0x1f, 10],
  [0x55, undefined, 10], [0x56, undefined, 10], [0x57, undefined, 10], [0x5a, undefined, 10],
  [0x5e, 0x00, 10], [0x5e, 0x01, 10], [0x5e, 0x02, 10], [0x5e, 0x03, 10],
  [0x5f, 0x00, 10], [0x5f, 0x01, 10], [0x5f, 0x02, 10], [0x5f, 0x03, 10], [0x5f, 0x04, 10], [0x5f, 0x05, 10], [0x5f, 0x06, 10],
  [0x83, 0x00, 16], [0x84, 0x00, 16], [0x84, 0x03, 16],
  [0x88, undefined, 16], [0x89, undefined, 16], [0x8a, undefined, 16], [0x8b, undefined, 16],
  [0x8e, undefined, 16], [0x8f, undefined, 16], [0x90, undefined, 16], [0x91, undefined, 16], [0x93, undefined, 16],
  [0x9e, 0x10, 16], [0x9e, 0x12, 16], [0xa0, undefined, 12], [0xa3, 0x0c, 12], [0xa3, 0x0d, 12],
  [0xa8, undefined, 12], [0xaa, undefined, 12], [0xae, undefined, 12], [0xaf, undefined, 12], [0xb7, undefined, 12],
];

/** all_commands parameter data for `list` (SPC-5): 8-byte command descriptors, plus a 12-byte timeouts descriptor each with RCTD. */
function allCommands(list: typeof IMPLEMENTED, rctd: boolean): string {
  const each = rctd ? 20 : 8;
  const descriptors = list.map(([op, sa, len]) =>
    cat(
      op.toString(16).padStart(2, '0'), '00', u32(sa ?? 0).slice(6), '00',
      ((rctd ? 0x02 : 0) | (sa === undefined ? 0 : 0x01)).toString(16).padStart(2, '0'), // CTDP | SERVACTV
      u32(len).slice(6),
      rctd ? '00 0a 00 00 00 00 00 00 00 00 00 00' : '',
    ),
  );
  return cat(u32(each * list.length), ...descriptors);
}

describe('REPORT SUPPORTED OPERATION CODES', () => {
  const rsoc = (options: string, op: string, sa = '00 00', alloc = '00 00 04 00'): string => cat('a3 0c', options, op, sa, alloc, '00 00');

  test('all commands, RCTD 0 and RCTD 1', async () => {
    const u = await unit();
    expectData(await u.run(rsoc('00', '00')), allCommands(IMPLEMENTED, false));
    expectData(await u.run(rsoc('80', '00', '00 00', '00 00 ff ff')), allCommands(IMPLEMENTED, true));
  });

  test('without discard UNMAP (42h) is not listed, without an erasing discard or write-zeroes SANITIZE BLOCK ERASE (48h/02h) is not; without CAW length COMPARE AND WRITE (89h) is not', async () => {
    const u = await unit({ discard: false, writeZeroes: false }, { maxCompareAndWriteBlocks: 0 });
    const list = IMPLEMENTED.filter(([op, sa]) => op !== 0x42 && op !== 0x89 && !(op === 0x48 && sa === 0x02));
    expectData(await u.run(rsoc('00', '00')), allCommands(list, false));
    expectData(await u.run(rsoc('01', '42')), '00 01 00 00');
    expectData(await u.run(rsoc('01', '89')), '00 01 00 00');
    expectSense(await u.run(cat('42 00', z(4), '00 00 18 00')), { key: ILLEGAL_REQUEST, asc: 0x20, ascq: 0, field: { byte: 0 } });
  });

  test('one command, READ(10): SUPPORT 011b, usage data without RDPROTECT (byte 1 = 18h)', async () => {
    const u = await unit();
    expectData(await u.run(rsoc('01', '28')), '00 03 00 0a 28 18 ff ff ff ff 3f ff ff 00');
    expectData(await u.run(rsoc('81', '28')), '00 83 00 0a 28 18 ff ff ff ff 3f ff ff 00 00 0a 00 00 00 00 00 00 00 00 00 00');
    expectData(await u.run(rsoc('03', '28')), '00 03 00 0a 28 18 ff ff ff ff 3f ff ff 00');
  });

  test('one command usage data: WRITE SAME without ANCHOR, UNMAP without ANCHOR, VERIFY(16) without VRPROTECT', async () => {
    const u = await unit();
    expectData(await u.run(rsoc('01', '41')), '00 03 00 0a 41 08 ff ff ff ff 3f ff ff 00');
    expectData(await u.run(rsoc('01', '93')), '00 03 00 10 93 09 ff ff ff ff ff ff ff ff ff ff ff ff 3f 00');
    expectData(await u.run(rsoc('01', '42')), '00 03 00 0a 42 00 00 00 00 00 3f ff ff 00');
    expectData(await u.run(rsoc('01', '8f')), '00 03 00 10 8f 16 ff ff ff ff ff ff ff ff ff ff ff ff 3f 00');
  });

  test('the usage data agrees with the CDB check: RDPROTECT 1 on READ(10) → 24h/00h at byte 1 bit 7, the field\'s first bit', async () => {
    const u = await unit();
    expectSense(await u.run('28 20 00 00 00 00 00 00 01 00'), { key: ILLEGAL_REQUEST, asc: 0x24, ascq: 0, field: { byte: 1, bit: 7 } });
    expectSense(await u.run('28 e0 00 00 00 00 00 00 01 00'), { key: ILLEGAL_REQUEST, asc: 0x24, ascq: 0, field: { byte: 1, bit: 7 } });
    expectGood(await u.run('28 18 00 00 00 00 00 00 01 00'));
  });

  test('one command with a service action (options 2 and 3): READ CAPACITY(16)', async () => {
    const u = await unit();
    const rc16 = '00 03 00 10 9e 10 ff ff ff ff ff ff ff ff ff ff ff ff 01 00';
    expectData(await u.run(rsoc('02', '9e', '00 10')), rc16);
    expectData(await u.run(rsoc('03', '9e', '00 10')), rc16);
    expectData(await u.run(rsoc('02', '9e', '00 11')), '00 01 00 00');
  });

  test('option 1 on an operation code with service actions → 24h/00h at byte 2 bit 2', async () => {
    const u = await unit();
    expectSense(await u.run(rsoc('01', '9e')), { key: ILLEGAL_REQUEST, asc: 0x24, ascq: 0, field: { byte: 2, bit: 2 } });
    expectSense(await u.run(rsoc('01', 'a3')), { key: ILLEGAL_REQUEST, asc: 0x24, ascq: 0, field: { byte: 2, bit: 2 } });
  });

  test('option 2 on an operation code without service actions → 24h/00h at byte 2 bit 2', async () => {
    const u = await unit();
    expectSense(await u.run(rsoc('02', '28')), { key: ILLEGAL_REQUEST, asc: 0x24, ascq: 0, field: { byte: 2, bit: 2 } });
  });

  test('reserved REPORTING OPTIONS 100b → 24h/00h at byte 2 bit 2', async () => {
    const u = await unit();
    expectSense(await u.run(rsoc('04', '28')), { key: ILLEGAL_REQUEST, asc: 0x24, ascq: 0, field: { byte: 2, bit: 2 } });
  });

  test('reservation commands: RESERVE(6) and RELEASE(10) with every field reserved, PERSISTENT RESERVE IN/OUT per service action', async () => {
    const u = await unit();
    expectData(await u.run(rsoc('01', '16')), '00 03 00 06 16 00 00 00 00 00');
    expectData(await u.run(rsoc('01', '57')), '00 03 00 0a 57 00 00 00 00 00 00 00 00 00');
    // SERVICE ACTION (byte 1 bits 4..0, the value queried), ALLOCATION LENGTH (7..8); PROUT adds SCOPE | TYPE (2) and PARAMETER LIST LENGTH (5..8).
    expectData(await u.run(rsoc('03', '5e', '00 03')), '00 03 00 0a 5e 03 00 00 00 00 00 ff ff 00');
    // CDB USAGE DATA carries the SERVICE ACTION queried (SPC-5 one_command); REGISTER AND IGNORE EXISTING KEY ignores SCOPE
    // and TYPE (SPC-5 table of PERSISTENT RESERVE OUT service actions and valid parameters), RESERVE evaluates them.
    expectData(await u.run(rsoc('03', '5f', '00 06')), '00 03 00 0a 5f 06 00 00 00 ff ff ff ff 00');
    expectData(await u.run(rsoc('03', '5f', '00 01')), '00 03 00 0a 5f 01 ff 00 00 ff ff ff ff 00');
    expectData(await u.run(rsoc('03', '5f', '00 03')), '00 03 00 0a 5f 03 00 00 00 ff ff ff ff 00');
    // REGISTER AND MOVE (7) and REPLACE LOST RESERVATION (8) are not implemented; PRIN has no service action 4.
    expectData(await u.run(rsoc('03', '5f', '00 07')), '00 01 00 00');
    expectData(await u.run(rsoc('03', '5f', '00 08')), '00 01 00 00');
    expectData(await u.run(rsoc('03', '5e', '00 04')), '00 01 00 00');
  });

  test('commands the unit does not implement are "not supported": SANITIZE CRYPTOGRAPHIC ERASE', async () => {
    const u = await unit();
    expectData(await u.run(rsoc('02', '48', '00 03')), '00 01 00 00');
    expectData(await u.run(rsoc('03', '28', '00 05')), '00 01 00 00');
  });

  test('ALLOCATION LENGTH cuts the data', async () => {
    const u = await unit();
    expectData(await u.run(rsoc('00', '00', '00 00', '00 00 00 0c')), cat(u32(IMPLEMENTED.length * 8), '00 00 00 00 00 00 00 06'));
    expectData(await u.run(rsoc('01', '28', '00 00', '00 00 00 02')), '00 03');
  });
});

describe('REPORT SUPPORTED TASK MANAGEMENT FUNCTIONS', () => {
  test('basic: ATS ATSS CTSS LURS (D8h), ITNRS (01h)', async () => {
    const u = await unit();
    expectData(await u.run('a3 0d 00 00 00 00 00 00 00 04 00 00'), 'd8 01 00 00');
  });

  test('REPD: extended format, 16 bytes, ADDITIONAL DATA LENGTH 0Ch', async () => {
    const u = await unit();
    expectData(await u.run('a3 0d 80 00 00 00 00 00 00 10 00 00'), cat('d8 01 00 0c', z(12)));
  });

  test('taskManagementFunctions option and ALLOCATION LENGTH', async () => {
    const u = await unit({}, { taskManagementFunctions: ['ABORT_TASK', 'QUERY_TASK', 'QUERY_TASK_SET'] });
    expectData(await u.run('a3 0d 00 00 00 00 00 00 00 04 00 00'), '84 02 00 00');
    expectData(await u.run('a3 0d 00 00 00 00 00 00 00 01 00 00'), '84');
  });

  test('reserved bit → 24h/00h', async () => {
    const u = await unit();
    expectSense(await u.run('a3 0d 40 00 00 00 00 00 00 04 00 00'), { key: ILLEGAL_REQUEST, asc: 0x24, ascq: 0, field: { byte: 2, bit: 6 } });
  });
});

describe('SEND DIAGNOSTIC', () => {
  test('SELFTEST 1: reads the first and the last LBA, GOOD', async () => {
    const u = await unit();
    expectGood(await u.run('1d 04 00 00 00 00'));
    expect(u.disk.calls).toEqual([
      { op: 'read', lba: 0n, blocks: 1 },
      { op: 'read', lba: 1023n, blocks: 1 },
    ]);
  });

  test('foreground short self-test (101b) does the same; read-only disk with 4096-byte blocks', async () => {
    const u = await unit({ blockSize: 4096, blocks: 100, readOnly: true });
    expectGood(await u.run('1d a0 00 00 00 00'));
    expect(u.disk.calls).toEqual([
      { op: 'read', lba: 0n, blocks: 1 },
      { op: 'read', lba: 99n, blocks: 1 },
    ]);
  });

  test('a read fault → MEDIUM ERROR 11h/00h with the LBA in INFORMATION; the unit still works', async () => {
    const last = await unit({ fault: (op, lba) => (op === 'read' && lba === 1023n ? 'io-error' : undefined) });
    expectSense(await last.run('1d 04 00 00 00 00'), { key: MEDIUM_ERROR, asc: 0x11, ascq: 0, information: 1023 });
    expectGood(await last.run(TUR));
    const first = await unit({ fault: (op) => (op === 'read' ? 'io-error' : undefined) });
    expectSense(await first.run('1d 04 00 00 00 00'), { key: MEDIUM_ERROR, asc: 0x11, ascq: 0, information: 0 });
    expect(first.disk.calls).toEqual([{ op: 'read', lba: 0n, blocks: 1 }]);
  });

  test.each([
    ['1d 20 00 00 00 00', 'background short (001b)'],
    ['1d 40 00 00 00 00', 'background extended (010b)'],
    ['1d 60 00 00 00 00', 'reserved (011b)'],
    ['1d 80 00 00 00 00', 'abort background (100b)'],
    ['1d c0 00 00 00 00', 'foreground extended (110b)'],
    ['1d e0 00 00 00 00', 'reserved (111b)'],
    ['1d a4 00 00 00 00', 'a code with SELFTEST 1'],
  ])('SELF-TEST CODE %s (%s) → 24h/00h at byte 1 bit 7, nothing read', async (cdb) => {
    const u = await unit();
    expectSense(await u.run(cdb), { key: ILLEGAL_REQUEST, asc: 0x24, ascq: 0, field: { byte: 1, bit: 7 } });
    expect(u.disk.calls).toEqual([]);
  });

  test('PF 1 with PARAMETER LIST LENGTH 0 → GOOD, nothing read', async () => {
    const u = await unit();
    expectGood(await u.run('1d 10 00 00 00 00'));
    expectGood(await u.run('1d 00 00 00 00 00'));
    expect(u.disk.calls).toEqual([]);
  });

  test('PF 1 with a diagnostic page → 26h/00h at parameter byte 0 (no page is supported)', async () => {
    const u = await unit();
    expectSense(await u.run('1d 10 00 00 04 00', { dataOut: bytes('80 00 00 00') }), {
      key: ILLEGAL_REQUEST, asc: 0x26, ascq: 0, field: { byte: 0, cdb: false },
    });
  });

  test('PF 1 with fewer than 4 parameter bytes → 1Ah/00h', async () => {
    const u = await unit();
    expectSense(await u.run('1d 10 00 00 02 00', { dataOut: bytes('00 00') }), { key: ILLEGAL_REQUEST, asc: 0x1a, ascq: 0 });
  });

  test('PF 0 with a parameter list → 24h/00h at byte 1 bit 4', async () => {
    const u = await unit();
    expectSense(await u.run('1d 00 00 00 04 00', { dataOut: bytes('00 00 00 00') }), {
      key: ILLEGAL_REQUEST, asc: 0x24, ascq: 0, field: { byte: 1, bit: 4 },
    });
  });

  test('reserved bits → 24h/00h', async () => {
    const u = await unit();
    expectSense(await u.run('1d 08 00 00 00 00'), { key: ILLEGAL_REQUEST, asc: 0x24, ascq: 0, field: { byte: 1, bit: 3 } });
    expectSense(await u.run('1d 04 01 00 00 00'), { key: ILLEGAL_REQUEST, asc: 0x24, ascq: 0, field: { byte: 2, bit: 0 } });
    expect(u.disk.calls).toEqual([]);
  });

  test('stopped unit → NOT READY 04h/02h, nothing read', async () => {
    const u = await unit();
    expectGood(await u.run(STOP));
    const before = u.disk.calls.length;
    expectSense(await u.run('1d 04 00 00 00 00'), { key: NOT_READY, asc: 0x04, ascq: 0x02 });
    expect(u.disk.calls.length).toBe(before);
  });
});
