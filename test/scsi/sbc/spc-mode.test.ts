// MODE SENSE (6)/(10) and MODE SELECT (6)/(10) through SbcEmulator.execute.
// Expected data is written from the SPC-5 / SBC-4 tables: mode parameter
// headers, short and long LBA block descriptors, the Read-Write Error
// Recovery (01h), Caching (08h), Control (0Ah) and Informational Exceptions
// Control (1Ch) pages. Changeable: WCE, D_SENSE and SWP.

import { describe, expect, test } from 'vitest';
import { bytes, expectGood, expectSense, hex, unit, HARDWARE_ERROR, ILLEGAL_REQUEST, UNIT_ATTENTION, type Unit } from './harness.js';
import { cat, dataOf, expectData, z } from './spc-helpers.js';

const TUR = '00 00 00 00 00 00';
const READ_PAST_END = '28 00 00 00 04 00 00 00 01 00'; // READ(10) LBA 1024 on a 1024-block disk
const hx = (n: number): string => n.toString(16).padStart(2, '0');

// Pages as MODE SENSE returns them (PS 0, SPF 0).
const RWER = cat('01 0a c0', z(9)); // AWRE | ARRE
const caching = (wce: boolean): string => cat('08 12', wce ? '04' : '00', z(17)); // WCE byte 2 bit 2
const control = (dSense: boolean): string => cat('0a 0a', dSense ? '06' : '02', '10', z(8)); // D_SENSE | GLTSD; QAM 1h
const IEC = cat('1c 0a 08', z(9)); // DEXCPT
const ALL_CURRENT = cat(RWER, caching(true), control(false), IEC); // 56 bytes
const ALL_CHANGEABLE = cat('01 0a', z(10), '08 12 04', z(17), '0a 0a 04 00 08', z(7), '1c 0a', z(10));
const BD_1024_512 = '00 00 04 00 00 00 02 00'; // NUMBER OF LOGICAL BLOCKS | reserved | LOGICAL BLOCK LENGTH

const sense6 = (byte1: string, pcPage: string, alloc = 'ff'): string => cat('1a', byte1, pcPage, '00', alloc, '00');
const sense10 = (byte1: string, pcPage: string, alloc = '01 00'): string => cat('5a', byte1, pcPage, '00 00 00 00', alloc, '00');

/** MODE SELECT (6)/(10) with PF 1 and the parameter list `params`. */
async function select(u: Unit, six: boolean, params: string, opts: { nexus?: string; byte1?: string } = {}) {
  const data = bytes(params);
  const cdb = six ? cat('15', opts.byte1 ?? '10', '00 00', hx(data.length), '00') : cat('55', opts.byte1 ?? '10', z(5), hx(data.length >> 8), hx(data.length & 0xff), '00');
  return u.run(cdb, { dataOut: data, ...(opts.nexus === undefined ? {} : { nexus: opts.nexus }) });
}
const H6 = z(4); // MODE SELECT (6) header: MODE DATA LENGTH (reserved), MEDIUM TYPE, DEVICE-SPECIFIC, BLOCK DESCRIPTOR LENGTH 0
const H10 = z(8);

describe('MODE SENSE', () => {
  test('(6) all pages: header, short block descriptor, pages ascending', async () => {
    const u = await unit();
    expectData(await u.run(sense6('00', '3f')), cat('43 00 10 08', BD_1024_512, ALL_CURRENT));
    expect(u.disk.calls).toEqual([]);
  });

  test('(10) all pages', async () => {
    const u = await unit();
    expectData(await u.run(sense10('00', '3f')), cat('00 46 00 10 00 00 00 08', BD_1024_512, ALL_CURRENT));
  });

  test.each([
    ['01', RWER],
    ['08', caching(true)],
    ['0a', control(false)],
    ['1c', IEC],
  ])('(6) DBD, page %sh alone', async (page, want) => {
    const u = await unit();
    expectData(await u.run(sense6('08', page)), cat(hx(3 + bytes(want).length), '00 10 00', want));
  });

  test('SUBPAGE CODE FFh is the same as 00h (no page has subpages)', async () => {
    const u = await unit();
    expectData(await u.run(cat('1a 08 08 ff ff 00')), cat('17 00 10 00', caching(true)));
  });

  test('PC 01b changeable: only WCE, D_SENSE and SWP', async () => {
    const u = await unit();
    expectData(await u.run(sense6('08', '7f')), cat('3b 00 10 00', ALL_CHANGEABLE));
    expectData(await u.run(sense10('08', '48')), cat('00 1a 00 10 00 00 00 00', '08 12 04', z(17)));
  });

  test('PC 10b default: power-on values, also after the current WCE changed', async () => {
    const u = await unit();
    expectData(await u.run(sense6('08', 'bf')), cat('3b 00 10 00', ALL_CURRENT));
    u.disk.deviceSetsWriteCache(false);
    expectData(await u.run(sense6('08', '88')), cat('17 00 10 00', caching(true)));
    expectData(await u.run(sense6('08', '08')), cat('17 00 10 00', caching(false)));
  });

  test.each([
    ['(6)', sense6('00', 'c8')],
    ['(10)', sense10('00', 'ff')],
  ])('PC 11b saved %s → SAVING PARAMETERS NOT SUPPORTED 39h/00h at byte 2 bit 7', async (_name, cdb) => {
    const u = await unit();
    expectSense(await u.run(cdb), { key: ILLEGAL_REQUEST, asc: 0x39, ascq: 0, field: { byte: 2, bit: 7 } });
    expectGood(await u.run(sense6('00', '3f')));
  });

  test('(10) LLBAA: long LBA block descriptor, LONGLBA 1', async () => {
    const u = await unit();
    expectData(
      await u.run(sense10('10', '08')),
      cat('00 2a 00 10 01 00 00 10', '00 00 00 00 00 00 04 00', z(4), '00 00 02 00', caching(true)),
    );
    // DBD wins: no descriptor, LONGLBA 0
    expectData(await u.run(sense10('18', '08')), cat('00 1a 00 10 00 00 00 00', caching(true)));
  });

  test('(6) has no LLBAA: byte 1 bit 4 → 24h/00h', async () => {
    const u = await unit();
    expectSense(await u.run(sense6('10', '08')), { key: ILLEGAL_REQUEST, asc: 0x24, ascq: 0, field: { byte: 1, bit: 4 } });
  });

  test('more than 2^32 blocks: short descriptor says FFFFFFFFh, the long one the count', async () => {
    const u = await unit({ blocks: 0x1_0000_0001n });
    expectData(await u.run(sense6('00', '08')), cat('1f 00 10 08', 'ff ff ff ff 00 00 02 00', caching(true)));
    const long = dataOf(await u.run(sense10('10', '08')));
    expect(hex(long.subarray(8, 24))).toBe(cat('00 00 00 01 00 00 00 01', z(4), '00 00 02 00'));
  });

  test('4096-byte blocks in the block descriptor', async () => {
    const u = await unit({ blockSize: 4096, blocks: 256 });
    expectData(await u.run(sense6('00', '08')), cat('1f 00 10 08', '00 00 01 00 00 00 10 00', caching(true)));
  });

  test('read-only disk: WP (80h) with DPOFUA (10h) in the DEVICE-SPECIFIC PARAMETER', async () => {
    const u = await unit({ readOnly: true });
    expectData(await u.run(sense6('08', '3f', '04')), '3b 00 90 00');
    expectData(await u.run(sense10('08', '3f', '00 04')), '00 3e 00 90');
  });

  test('WCE mirrors the device: writeCache false, then the device turning it on and off', async () => {
    const u = await unit({ writeCache: false });
    expectData(await u.run(sense6('08', '08')), cat('17 00 10 00', caching(false)));
    u.disk.deviceSetsWriteCache(true);
    expectData(await u.run(sense6('08', '08')), cat('17 00 10 00', caching(true)));
    u.disk.deviceSetsWriteCache(false);
    expectData(await u.run(sense10('08', '08')), cat('00 1a 00 10 00 00 00 00', caching(false)));
  });

  test('ALLOCATION LENGTH cuts the data, MODE DATA LENGTH still counts all of it', async () => {
    const u = await unit();
    expectData(await u.run(sense6('00', '3f', '04')), '43 00 10 08');
    expectData(await u.run(sense6('00', '3f', '00')), '');
    expectData(await u.run(sense10('00', '3f', '00 02')), '00 46');
  });

  test('unsupported page → 24h/00h at byte 2 bit 5; subpage 01h → at byte 3', async () => {
    const u = await unit();
    expectSense(await u.run(sense6('00', '02')), { key: ILLEGAL_REQUEST, asc: 0x24, ascq: 0, field: { byte: 2, bit: 5 } });
    expectSense(await u.run(sense10('00', '00')), { key: ILLEGAL_REQUEST, asc: 0x24, ascq: 0, field: { byte: 2, bit: 5 } });
    expectSense(await u.run('1a 00 08 01 ff 00'), { key: ILLEGAL_REQUEST, asc: 0x24, ascq: 0, field: { byte: 3 } });
  });

  test('stopped unit still answers MODE SENSE', async () => {
    const u = await unit();
    expectGood(await u.run('1b 00 00 00 00 00'));
    expectData(await u.run(sense6('08', '08')), cat('17 00 10 00', caching(true)));
  });
});

describe('MODE SELECT', () => {
  test('WCE off reaches the device after a flush; WCE on again without one', async () => {
    const u = await unit();
    expectGood(await select(u, true, cat(H6, caching(false))));
    expect(u.disk.writeCacheEnabled()).toBe(false);
    expect(u.disk.calls).toEqual([{ op: 'flush' }, { op: 'write-cache' }]);
    expectData(await u.run(sense6('08', '08')), cat('17 00 10 00', caching(false)));
    expectGood(await select(u, false, cat(H10, caching(true))));
    expect(u.disk.writeCacheEnabled()).toBe(true);
    expect(u.disk.calls).toEqual([{ op: 'flush' }, { op: 'write-cache' }, { op: 'write-cache' }]);
  });

  test('WCE off on a device without FLUSH: no flush', async () => {
    const u = await unit({ flush: false });
    expectGood(await select(u, true, cat(H6, caching(false))));
    expect(u.disk.calls).toEqual([{ op: 'write-cache' }]);
    expect(u.disk.writeCacheEnabled()).toBe(false);
  });

  test('the current values sent back change nothing and reach no device', async () => {
    const u = await unit();
    expectGood(await u.run(TUR, { nexus: 'B' }));
    expectGood(await select(u, true, cat(H6, RWER, caching(true), control(false), IEC)));
    expect(u.disk.calls).toEqual([]);
    expectGood(await u.run(TUR, { nexus: 'B' }));
  });

  test('PARAMETER LIST LENGTH 0 → GOOD, nothing changes', async () => {
    const u = await unit();
    expectGood(await u.run('15 10 00 00 00 00'));
    expectGood(await u.run('55 10 00 00 00 00 00 00 00 00'));
    expect(u.disk.calls).toEqual([]);
  });

  test('a block descriptor matching the medium is accepted', async () => {
    const u = await unit();
    expectGood(await select(u, true, cat('00 00 00 08', BD_1024_512, caching(false))));
    expect(u.disk.writeCacheEnabled()).toBe(false);
    expectGood(await select(u, true, cat('00 00 00 08', '00 00 00 00 00 00 02 00'))); // 0 blocks: keep
  });

  test('D_SENSE 1: errors come in descriptor format (72h); D_SENSE 0 goes back to fixed (70h)', async () => {
    const u = await unit();
    expectGood(await select(u, false, cat(H10, control(true))));
    expectData(await u.run(sense6('08', '0a')), cat('0f 00 10 00', control(true)));
    let r = await u.run(READ_PAST_END);
    expect(r.status).toBe(0x02);
    expect(hex(r.sense)).toBe('72 05 21 00 00 00 00 00');
    r = await u.run('28 20 00 00 00 00 00 00 01 00'); // RDPROTECT 001b: sense-key specific descriptor, C/D BPV bit 7 (the field's first), byte 1
    expect(hex(r.sense)).toBe('72 05 24 00 00 00 00 08 02 06 00 00 cf 00 01 00');
    const bad = await unit({ fault: (op) => (op === 'read' ? 'io-error' : undefined) });
    expectGood(await select(bad, true, cat(H6, control(true))));
    r = await bad.run('28 00 00 00 03 ff 00 00 01 00'); // information descriptor, VALID, LBA 3FFh
    expect(hex(r.sense)).toBe('72 03 11 00 00 00 00 0c 00 0a 80 00 00 00 00 00 00 00 03 ff');
    expectGood(await select(u, true, cat(H6, control(false))));
    expectSense(await u.run(READ_PAST_END), { key: ILLEGAL_REQUEST, asc: 0x21, ascq: 0 });
  });

  test('resetLogicalUnit puts D_SENSE back to 0', async () => {
    const u = await unit();
    expectGood(await select(u, true, cat(H6, control(true))));
    u.lu.resetLogicalUnit();
    expectSense(await u.run(TUR), { key: UNIT_ATTENTION, asc: 0x29, ascq: 0x03 }); // fixed format again
    expectData(await u.run(sense6('08', '0a')), cat('0f 00 10 00', control(false)));
  });

  test('WCE and D_SENSE in one list are both applied', async () => {
    const u = await unit();
    expectGood(await select(u, true, cat(H6, caching(false), control(true))));
    expect(u.disk.writeCacheEnabled()).toBe(false);
    expect(hex((await u.run(READ_PAST_END)).sense)).toBe('72 05 21 00 00 00 00 00');
  });

  test('SP 1 → 24h/00h at byte 1 bit 0, nothing changes', async () => {
    const u = await unit();
    expectSense(await select(u, true, cat(H6, caching(false)), { byte1: '11' }), { key: ILLEGAL_REQUEST, asc: 0x24, ascq: 0, field: { byte: 1, bit: 0 } });
    expectSense(await select(u, false, cat(H10, caching(false)), { byte1: '11' }), { key: ILLEGAL_REQUEST, asc: 0x24, ascq: 0, field: { byte: 1, bit: 0 } });
    expect(u.disk.writeCacheEnabled()).toBe(true);
    expect(u.disk.calls).toEqual([]);
  });

  test('PF 0 with page data → 24h/00h at byte 1 bit 4; header alone is fine', async () => {
    const u = await unit();
    expectSense(await select(u, true, cat(H6, caching(false)), { byte1: '00' }), { key: ILLEGAL_REQUEST, asc: 0x24, ascq: 0, field: { byte: 1, bit: 4 } });
    expectGood(await select(u, true, H6, { byte1: '00' }));
    expect(u.disk.writeCacheEnabled()).toBe(true);
  });

  test('reserved CDB bits (RTD is not implemented) → 24h/00h', async () => {
    const u = await unit();
    expectSense(await select(u, true, H6, { byte1: '12' }), { key: ILLEGAL_REQUEST, asc: 0x24, ascq: 0, field: { byte: 1, bit: 1 } });
    expectSense(await u.run('15 10 00 01 00 00'), { key: ILLEGAL_REQUEST, asc: 0x24, ascq: 0, field: { byte: 3, bit: 0 } });
  });

  // A non-changeable field that differs from its current value → INVALID FIELD IN PARAMETER LIST, C/D 0, at the
  // field's first byte (and its most significant bit when it is not whole bytes).
  test.each([
    ['(6) Control GLTSD', true, cat(H6, '0a 0a 00 10', z(8)), 6, 1],
    ['(10) Control QUEUE ALGORITHM MODIFIER', false, cat(H10, '0a 0a 02 00', z(8)), 11, 7],
    ['(6) Caching RCD', true, cat(H6, '08 12 05', z(17)), 6, 0],
    ['(6) Caching NUMBER OF CACHE SEGMENTS', true, cat(H6, '08 12 04', z(10), '01', z(6)), 17, undefined],
    ['(6) Caching DISABLE PRE-FETCH TRANSFER LENGTH, low byte', true, cat(H6, '08 12 04 00 00 01', z(14)), 8, undefined],
    ['(6) RWER AWRE, after a valid Caching page', true, cat(H6, caching(false), '01 0a 40', z(9)), 26, 7],
  ])('%s → 26h/00h, nothing applied', async (_name, six, params, byte, bit) => {
    const u = await unit();
    const field = bit === undefined ? { byte, cdb: false } : { byte, bit, cdb: false };
    expectSense(await select(u, six, params), { key: ILLEGAL_REQUEST, asc: 0x26, ascq: 0, field });
    expect(u.disk.writeCacheEnabled()).toBe(true);
    expect(u.disk.calls).toEqual([]);
    expectData(await u.run(sense6('08', '3f')), cat('3b 00 10 00', ALL_CURRENT));
  });

  test.each([
    ['unsupported page 02h', cat(H6, '02 0a', z(10)), 4, 5],
    ['SPF 1 (no subpages)', cat(H6, '48 12', z(18)), 5, undefined],
    ['wrong PAGE LENGTH', cat(H6, '08 0a', z(10)), 5, undefined],
    ['BLOCK DESCRIPTOR LENGTH 4', cat('00 00 00 04', z(4)), 3, undefined],
    ['LOGICAL BLOCK LENGTH 4096 on a 512-byte disk', cat('00 00 00 08 00 00 04 00 00 00 10 00'), 9, undefined],
    ['NUMBER OF LOGICAL BLOCKS other than the capacity', cat('00 00 00 08 00 00 08 00 00 00 02 00'), 4, undefined],
  ])('%s → 26h/00h', async (_name, params, byte, bit) => {
    const u = await unit();
    const field = bit === undefined ? { byte, cdb: false } : { byte, bit, cdb: false };
    expectSense(await select(u, true, params), { key: ILLEGAL_REQUEST, asc: 0x26, ascq: 0, field });
    expect(u.disk.calls).toEqual([]);
  });

  test.each([
    ['(6) 2 bytes: shorter than the header', true, '00 00'],
    ['(10) 6 bytes: shorter than the header', false, z(6)],
    ['(6) a page cut short', true, cat(H6, '08 12 00', z(7))],
    ['(6) one byte after the header', true, cat(H6, '08')],
    ['(6) block descriptor cut short', true, cat('00 00 00 08 00 00 04 00')],
  ])('%s → PARAMETER LIST LENGTH ERROR 1Ah/00h', async (_name, six, params) => {
    const u = await unit();
    expectSense(await select(u, six, params), { key: ILLEGAL_REQUEST, asc: 0x1a, ascq: 0 });
    expect(u.disk.writeCacheEnabled()).toBe(true);
  });

  test('Data-Out shorter than PARAMETER LIST LENGTH → 1Ah/00h, even when cut at a page boundary', async () => {
    const u = await unit();
    expectSense(await u.run('15 10 00 00 18 00', { dataOut: bytes(H6) }), { key: ILLEGAL_REQUEST, asc: 0x1a, ascq: 0 });
    expectSense(await u.run('55 10 00 00 00 00 00 00 1c 00', { dataOut: bytes(H10) }), { key: ILLEGAL_REQUEST, asc: 0x1a, ascq: 0 });
    expectSense(await u.run('15 10 00 00 18 00'), { key: ILLEGAL_REQUEST, asc: 0x1a, ascq: 0 });
    expectSense(await u.run('15 11 00 00 18 00'), { key: ILLEGAL_REQUEST, asc: 0x24, ascq: 0, field: { byte: 1, bit: 0 } });
    expect(u.disk.calls).toEqual([]);
    expect(u.lu.dataOutLength(bytes('15 10 00 00 18 00'))).toBe(24);
    expect(u.lu.dataOutLength(bytes('55 10 00 00 00 00 00 01 00 00'))).toBe(256);
    // extra Data-Out bytes past PARAMETER LIST LENGTH are not looked at
    expectGood(await u.run('15 10 00 00 18 00', { dataOut: bytes(cat(H6, caching(false), '01 02 03')) }));
    expect(u.disk.writeCacheEnabled()).toBe(false);
  });

  test('WCE change on a device whose cache cannot be switched → 26h/00h at WCE, WCE unchanged, reported not changeable', async () => {
    const u = await unit({ writeCacheChangeable: false });
    expectGood(await u.run(TUR, { nexus: 'B' }));
    // The Caching page starts after the 4-byte header: WCE is parameter byte 4 + 2, bit 2.
    expectSense(await select(u, true, cat(H6, caching(false))), { key: ILLEGAL_REQUEST, asc: 0x26, ascq: 0, field: { byte: 6, bit: 2, cdb: false } });
    expect(u.disk.writeCacheEnabled()).toBe(true);
    expect(u.disk.calls).toEqual([]);
    expectData(await u.run(sense6('08', '08')), cat('17 00 10 00', caching(true)));
    // PC 01b (changeable): no bit of the Caching page may change.
    expectData(await u.run(sense6('08', '48')), cat('17 00 10 00', '08 12', z(18)));
    expectGood(await u.run(TUR, { nexus: 'B' })); // nothing changed: no MODE PARAMETERS CHANGED
  });

  test('a failing flush when turning WCE off → HARDWARE ERROR 44h/00h, WCE and D_SENSE unchanged', async () => {
    const u = await unit({ fault: (op) => (op === 'flush' ? 'io-error' : undefined) });
    expectSense(await select(u, true, cat(H6, caching(false), control(true))), { key: HARDWARE_ERROR, asc: 0x44, ascq: 0 });
    expect(u.disk.writeCacheEnabled()).toBe(true);
    expect(u.disk.calls).toEqual([{ op: 'flush' }]);
    expectSense(await u.run(READ_PAST_END), { key: ILLEGAL_REQUEST, asc: 0x21, ascq: 0 }); // still fixed format
  });

  test('a change from nexus A gives nexus B MODE PARAMETERS CHANGED 2Ah/01h, not A', async () => {
    const u = await unit();
    expectGood(await u.run(TUR, { nexus: 'A' }));
    expectGood(await u.run(TUR, { nexus: 'B' }));
    expectGood(await select(u, true, cat(H6, caching(false)), { nexus: 'A' }));
    expectGood(await u.run(TUR, { nexus: 'A' }));
    expectSense(await u.run(TUR, { nexus: 'B' }), { key: UNIT_ATTENTION, asc: 0x2a, ascq: 0x01 });
    expectGood(await u.run(TUR, { nexus: 'B' }));
  });

  test('D_SENSE changed by A: B gets the unit attention in descriptor format', async () => {
    const u = await unit();
    expectGood(await u.run(TUR, { nexus: 'B' }));
    expectGood(await select(u, false, cat(H10, control(true)), { nexus: 'A' }));
    const r = await u.run(TUR, { nexus: 'B' });
    expect(r.status).toBe(0x02);
    expect(hex(r.sense)).toBe('72 06 2a 01 00 00 00 00');
    expectGood(await u.run(TUR, { nexus: 'A' }));
  });
});

describe('SWP (Control mode page byte 4 bit 3): software write protection', () => {
  const swpOn = cat('0a 0a 02 10 08', z(7)); // GLTSD, QAM 1h, SWP
  const swpOff = cat('0a 0a 02 10 00', z(7));
  const WRITE_1 = '2a 00 00 00 00 05 00 00 01 00';
  const SW_PROTECTED = { key: 0x07, asc: 0x27, ascq: 0x02 };

  test('SWP 1: writes are DATA PROTECT, LOGICAL UNIT SOFTWARE WRITE PROTECTED, reads work, WP is reported; SWP 0 lifts it', async () => {
    const u = await unit();
    expectGood(await select(u, true, cat(H6, swpOn)));
    expectSense(await u.run(WRITE_1, { dataOut: new Uint8Array(512) }), SW_PROTECTED);
    expectSense(await u.run('41 00 00 00 00 05 00 00 01 00', { dataOut: new Uint8Array(512) }), SW_PROTECTED); // WRITE SAME (10)
    expectGood(await u.run('28 00 00 00 00 05 00 00 01 00'));
    const ms = await u.run(sense6('08', '0a')); // DBD: header, then the Control page
    expect(hex(ms.data?.subarray(0, 4))).toBe('0f 00 90 00'); // DEVICE-SPECIFIC PARAMETER: WP | DPOFUA
    expect(hex(ms.data?.subarray(8, 9))).toBe('08'); // SWP
    expect(u.disk.calls.filter((c) => c.op === 'write')).toEqual([]);
    expectGood(await select(u, true, cat(H6, swpOff)));
    expectGood(await u.run(WRITE_1, { dataOut: new Uint8Array(512) }));
  });

  test('other I_T nexuses get MODE PARAMETERS CHANGED; a logical unit reset clears SWP', async () => {
    const u = await unit();
    expectGood(await u.run(TUR, { nexus: 'B' }));
    expectGood(await select(u, true, cat(H6, swpOn), { nexus: 'A' }));
    expectSense(await u.run(WRITE_1, { dataOut: new Uint8Array(512), nexus: 'B' }), { key: UNIT_ATTENTION, asc: 0x2a, ascq: 0x01 });
    expectSense(await u.run(WRITE_1, { dataOut: new Uint8Array(512), nexus: 'B' }), SW_PROTECTED);
    u.lu.resetLogicalUnit();
    expectSense(await u.run(WRITE_1, { dataOut: new Uint8Array(512), nexus: 'B' }), { key: UNIT_ATTENTION, asc: 0x29, ascq: 0x03 });
    expectGood(await u.run(WRITE_1, { dataOut: new Uint8Array(512), nexus: 'B' }));
  });
});
