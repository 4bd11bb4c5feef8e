// Unit-state commands through SbcEmulator.execute: READ CAPACITY (10) 25h /
// (16) 9Eh/10h, START STOP UNIT 1Bh, PREVENT ALLOW MEDIUM REMOVAL 1Eh,
// SYNCHRONIZE CACHE (10) 35h / (16) 91h, PRE-FETCH (10) 34h / (16) 90h and
// FORMAT UNIT 04h. CDBs and expected parameter data are written from the
// SBC-4 tables.

import { describe, expect, test } from 'vitest';
import type { MemoryBlockOp } from '../../../src/scsi/sbc/memory-block-set.js';
import type { SbcResult } from '../../../src/scsi/sbc/execute-api.js';
import {
  DATA_PROTECT,
  HARDWARE_ERROR,
  ILLEGAL_REQUEST,
  NOT_READY,
  block,
  bytes,
  expectGood,
  expectSense,
  hex,
  unit,
  type Unit,
} from './harness.js';
import { SbcEmulator } from '../../../src/scsi/sbc/emulator.js';
import { HookedBlockSet, gate, settle } from './hooked-block-set.js';

const BS = 512;
const DATA = block(BS, 0x3c, true);
const TUR = '00 00 00 00 00 00';
const INQUIRY = '12 00 00 00 24 00';
const READ_1 = '28 00 00 00 00 03 00 00 01 00'; // READ (10) LBA 3, 1 block
const WRITE_1 = '2a 00 00 00 00 03 00 00 01 00'; // WRITE (10) LBA 3, 1 block
const RC10 = '25 00 00 00 00 00 00 00 00 00';
const rc16 = (alloc: number): string => `9e 10 00 00 00 00 00 00 00 00 00 00 00 ${hex(Uint8Array.of(alloc))} 00 00`;
const NOT_READY_INIT = { key: NOT_READY, asc: 0x04, ascq: 0x02 };
const OOR = { key: ILLEGAL_REQUEST, asc: 0x21, ascq: 0 };
const invalidCdb = (byte: number, bit?: number) => ({ key: ILLEGAL_REQUEST, asc: 0x24, ascq: 0, field: bit === undefined ? { byte } : { byte, bit } });
const invalidParam = (byte: number, bit?: number) => ({
  key: ILLEGAL_REQUEST, asc: 0x26, ascq: 0, field: bit === undefined ? { byte, cdb: false } : { byte, bit, cdb: false },
});

const failing = (op: MemoryBlockOp) => (o: MemoryBlockOp) => (o === op ? ('io-error' as const) : undefined);
const count = (u: Unit, op: MemoryBlockOp): number => u.disk.calls.filter((c) => c.op === op).length;

/** CHECK CONDITION with DEFERRED fixed-format sense (response code 71h, SPC-5). */
function expectDeferred(r: SbcResult, key: number, asc: number, ascq: number): void {
  expect(r.status).toBe(0x02);
  const s = r.sense ?? new Uint8Array(0);
  expect(s.length).toBe(18);
  const v = new DataView(s.buffer, s.byteOffset, s.byteLength);
  expect([v.getUint8(0) & 0x7f, v.getUint8(2) & 0x0f, v.getUint8(12), v.getUint8(13)]).toEqual([0x71, key, asc, ascq]);
}

describe('READ CAPACITY (10)', () => {
  test.each([
    [{ blocks: 1024 }, '00 00 03 ff 00 00 02 00'],
    [{ blocks: 100, blockSize: 4096 as const }, '00 00 00 63 00 00 10 00'],
    [{ blocks: 0xffff_ffff }, 'ff ff ff fe 00 00 02 00'],
    [{ blocks: 1n << 32n }, 'ff ff ff ff 00 00 02 00'],
    [{ blocks: 1n << 40n }, 'ff ff ff ff 00 00 02 00'],
  ])('%o → RETURNED LOGICAL BLOCK ADDRESS, BLOCK LENGTH IN BYTES', async (disk, want) => {
    const u = await unit(disk);
    const r = await u.run(RC10);
    expectGood(r);
    expect(hex(r.data)).toBe(want);
  });

  test('PMI: LBA ≠ 0 needs PMI = 1; with PMI the last LBA is reported, past it is out of range', async () => {
    const u = await unit();
    expectSense(await u.run('25 00 00 00 00 05 00 00 00 00'), invalidCdb(2));
    const r = await u.run('25 00 00 00 00 05 00 00 01 00');
    expectGood(r);
    expect(hex(r.data)).toBe('00 00 03 ff 00 00 02 00');
    expectGood(await u.run('25 00 00 00 03 ff 00 00 01 00'));
    expectSense(await u.run('25 00 00 00 04 00 00 00 01 00'), OOR);
  });

  test('reserved bits → INVALID FIELD IN CDB (byte 1 bit 0 obsolete RELADR, byte 8 bit 1, CONTROL NACA)', async () => {
    const u = await unit();
    expectSense(await u.run('25 01 00 00 00 00 00 00 00 00'), invalidCdb(1, 0));
    expectSense(await u.run('25 00 00 00 00 00 00 00 02 00'), invalidCdb(8, 1));
    expectSense(await u.run('25 00 00 00 00 00 00 00 00 04'), invalidCdb(9, 2));
  });
});

describe('READ CAPACITY (16)', () => {
  const zeros16 = ' 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00';

  test.each([
    // RETURNED LBA (8) | LOGICAL BLOCK LENGTH (4) | RC BASIS 01b | P_I_EXP, LBPPBE | LBPME, LBPRZ, LOWEST ALIGNED LBA | reserved
    ['thin, discard reads zeros: LBPME = 1, LBPRZ = 1', {}, '00 00 00 00 00 00 03 ff 00 00 02 00 10 00 c0 00'],
    ['4096-byte blocks, 8 per physical block, lowest aligned LBA 1', { blockSize: 4096 as const, physicalBlockExp: 3, lowestAlignedLba: 1 }, '00 00 00 00 00 00 03 ff 00 00 10 00 10 03 c0 01'],
    ['discard that does not zero: LBPRZ = 0', { writeZeroes: false as const, discard: { maxBlocks: 8, maxSegments: 1, granularity: 0, zeroes: false } }, '00 00 00 00 00 00 03 ff 00 00 02 00 10 00 80 00'],
    ['write-zeroes that may unmap only: LBPME = 1, LBPRZ = 1', { discard: false as const }, '00 00 00 00 00 00 03 ff 00 00 02 00 10 00 c0 00'],
    ['write-zeroes that may not unmap only: fully provisioned', { discard: false as const, writeZeroes: { maxBlocks: 8, mayUnmap: false } }, '00 00 00 00 00 00 03 ff 00 00 02 00 10 00 00 00'],
    ['neither: fully provisioned', { discard: false as const, writeZeroes: false as const }, '00 00 00 00 00 00 03 ff 00 00 02 00 10 00 00 00'],
    ['2^40 blocks', { blocks: 1n << 40n }, '00 00 00 ff ff ff ff ff 00 00 02 00 10 00 c0 00'],
  ])('%s', async (_name, disk, want) => {
    const u = await unit(disk);
    const r = await u.run(rc16(32));
    expectGood(r);
    expect(hex(r.data)).toBe(want + zeros16);
  });

  test('ALLOCATION LENGTH 0..15 truncates the data with GOOD; more than 32 returns 32 bytes', async () => {
    const u = await unit();
    const full = '00 00 00 00 00 00 03 ff 00 00 02 00 10 00 c0 00' + zeros16;
    for (let n = 0; n < 16; n++) {
      const r = await u.run(rc16(n));
      expectGood(r);
      expect(hex(r.data)).toBe(full.slice(0, Math.max(0, n * 3 - 1)));
    }
    expect(hex((await u.run(rc16(0xff))).data)).toBe(full);
  });

  test('PMI rules and reserved bits', async () => {
    const u = await unit();
    expectSense(await u.run('9e 10 00 00 00 00 00 00 00 01 00 00 00 20 00 00'), invalidCdb(2));
    expectGood(await u.run('9e 10 00 00 00 00 00 00 00 01 00 00 00 20 01 00'));
    expectSense(await u.run('9e 10 00 00 00 00 00 00 04 00 00 00 00 20 01 00'), OOR);
    expectSense(await u.run('9e 10 00 00 00 00 00 00 00 00 00 00 00 20 02 00'), invalidCdb(14, 1));
    expectSense(await u.run('9e 30 00 00 00 00 00 00 00 00 00 00 00 20 00 00'), invalidCdb(1, 5));
  });
});

describe('START STOP UNIT', () => {
  test('START = 0 flushes and stops: medium access is NOT READY, INITIALIZING COMMAND REQUIRED; START = 1 restarts', async () => {
    const u = await unit();
    expectGood(await u.run(WRITE_1, { dataOut: DATA }));
    expectGood(await u.run('1b 00 00 00 00 00'));
    expect(count(u, 'flush')).toBe(1);
    const before = u.disk.calls.length;
    expectSense(await u.run(READ_1), NOT_READY_INIT);
    expectSense(await u.run(TUR), NOT_READY_INIT);
    expectSense(await u.run(WRITE_1, { dataOut: block(BS, 0xff) }), NOT_READY_INIT);
    expectSense(await u.run(RC10), NOT_READY_INIT);
    expectSense(await u.run('35 00 00 00 00 00 00 00 00 00'), NOT_READY_INIT);
    expect(u.disk.calls.length).toBe(before);
    expectGood(await u.run(INQUIRY));
    expectGood(await u.run('1e 00 00 00 01 00'));
    expectGood(await u.run('1b 00 00 00 00 00')); // stopping again is fine
    expectGood(await u.run('1b 00 00 00 01 00'));
    expectGood(await u.run(TUR));
    const r = await u.run(READ_1);
    expectGood(r);
    expect(hex(r.data)).toBe(hex(DATA));
  });

  test('NO_FLUSH = 1 stops without a flush; IMMED is accepted', async () => {
    const u = await unit();
    expectGood(await u.run('1b 01 00 00 04 00'));
    expect(count(u, 'flush')).toBe(0);
    expectSense(await u.run(TUR), NOT_READY_INIT);
  });

  test('a failing flush on stop → HARDWARE ERROR, INTERNAL TARGET FAILURE, and the unit stays started', async () => {
    const u = await unit({ fault: failing('flush') });
    expectSense(await u.run('1b 00 00 00 00 00'), { key: HARDWARE_ERROR, asc: 0x44, ascq: 0 });
    expectGood(await u.run(TUR));
  });

  test('a POWER CONDITION other than START_VALID ignores START and changes nothing', async () => {
    const u = await unit();
    expectGood(await u.run('1b 00 00 00 20 00')); // IDLE, START = 0
    expectGood(await u.run('1b 00 00 02 20 00')); // IDLE, modifier 2 (idle_c)
    expectGood(await u.run('1b 00 00 00 30 00')); // STANDBY
    expectGood(await u.run('1b 00 00 00 10 00')); // ACTIVE
    expectGood(await u.run(TUR));
    expect(count(u, 'flush')).toBe(0);
    expectGood(await u.run('1b 00 00 00 00 00'));
    expectGood(await u.run('1b 00 00 00 21 00')); // IDLE, START = 1: still stopped
    expectSense(await u.run(TUR), NOT_READY_INIT);
  });

  test('reserved POWER CONDITION / MODIFIER and reserved bits → INVALID FIELD IN CDB', async () => {
    const u = await unit();
    expectSense(await u.run('1b 00 00 00 40 00'), invalidCdb(4, 7)); // 4h reserved
    expectSense(await u.run('1b 00 00 00 50 00'), invalidCdb(4, 7)); // 5h obsolete
    expectSense(await u.run('1b 00 00 00 f0 00'), invalidCdb(4, 7));
    expectSense(await u.run('1b 00 00 03 20 00'), invalidCdb(3, 3)); // IDLE has no modifier 3
    expectSense(await u.run('1b 00 00 01 00 00'), invalidCdb(3, 3)); // START_VALID has none
    expectSense(await u.run('1b 02 00 00 00 00'), invalidCdb(1, 1));
    expectSense(await u.run('1b 00 00 00 08 00'), invalidCdb(4, 3));
    expectGood(await u.run(TUR));
  });

  test('LOEJ is ignored (nothing to eject): START decides', async () => {
    const u = await unit();
    expectGood(await u.run('1b 00 00 00 02 00'));
    expectSense(await u.run(TUR), NOT_READY_INIT);
    expectGood(await u.run('1b 00 00 00 03 00'));
    expectGood(await u.run(TUR));
  });

  test('works on a read-only unit', async () => {
    const u = await unit({ readOnly: true });
    expectGood(await u.run('1b 00 00 00 00 00'));
    expectSense(await u.run(READ_1), NOT_READY_INIT);
    expectGood(await u.run('1b 00 00 00 01 00'));
  });
});

describe('PREVENT ALLOW MEDIUM REMOVAL', () => {
  test('PREVENT 0 and 1 → GOOD; 2h and 3h (obsolete) → INVALID FIELD IN CDB byte 4 bit 1', async () => {
    const u = await unit();
    expectGood(await u.run('1e 00 00 00 01 00'));
    expectGood(await u.run('1e 00 00 00 00 00'));
    expectSense(await u.run('1e 00 00 00 02 00'), invalidCdb(4, 1));
    expectSense(await u.run('1e 00 00 00 03 00'), invalidCdb(4, 1));
    expectSense(await u.run('1e 00 00 00 04 00'), invalidCdb(4, 2));
    expectSense(await u.run('1e 01 00 00 00 00'), invalidCdb(1, 0));
    expectGood(await u.run(TUR));
    expect(u.disk.calls).toEqual([]);
  });
});

describe('SYNCHRONIZE CACHE', () => {
  test('(10) and (16) flush the device', async () => {
    const u = await unit();
    expectGood(await u.run('35 00 00 00 00 00 00 00 00 00'));
    expectGood(await u.run('91 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00'));
    expect(count(u, 'flush')).toBe(2);
  });

  test('range: 0 blocks means to the end; LBA + blocks past the capacity → LBA OUT OF RANGE without a flush', async () => {
    const u = await unit();
    expectGood(await u.run('35 00 00 00 03 fc 00 00 04 00')); // 1020 + 4
    expectGood(await u.run('35 00 00 00 03 ff 00 00 00 00')); // 1023, to the end
    expectGood(await u.run('35 00 00 00 04 00 00 00 00 00')); // LBA = capacity, nothing
    expect(count(u, 'flush')).toBe(3);
    expectSense(await u.run('35 00 00 00 03 fc 00 00 05 00'), OOR);
    expectSense(await u.run('35 00 00 00 04 01 00 00 00 00'), OOR);
    expectSense(await u.run('91 00 ff ff ff ff ff ff ff ff 00 00 00 01 00 00'), OOR);
    expectSense(await u.run('91 00 00 00 00 00 00 00 00 00 ff ff ff ff 00 00'), OOR);
    expect(count(u, 'flush')).toBe(3);
  });

  test('reserved bits (byte 1 bit 0 formerly RELADR) → INVALID FIELD IN CDB; SBC-3 SYNC_NV (byte 1 bit 2) is ignored', async () => {
    const u = await unit();
    expectSense(await u.run('35 01 00 00 00 00 00 00 00 00'), invalidCdb(1, 0));
    expectSense(await u.run('91 01 00 00 00 00 00 00 00 00 00 00 00 00 00 00'), invalidCdb(1, 0));
    expectSense(await u.run('35 08 00 00 00 00 00 00 00 00'), invalidCdb(1, 3));
    expect(count(u, 'flush')).toBe(0);
    expectGood(await u.run('35 04 00 00 00 00 00 00 00 00'));
    expectGood(await u.run('91 06 00 00 00 00 00 00 00 00 00 00 00 00 00 00')); // SYNC_NV, IMMED
    // RSOC leaves an ignored bit out of CDB USAGE DATA (SPC-5: not evaluated).
    expect(hex((await u.run('a3 0c 01 35 00 00 00 00 00 20 00 00')).data?.subarray(4, 6))).toBe('35 02');
  });

  test('IMMED = 1 with a failing flush: GOOD now, then DEFERRED 04h/44h/00h to the same I_T nexus only', async () => {
    const u = await unit({ fault: failing('flush') });
    expectGood(await u.run('35 02 00 00 00 00 00 00 00 00', { nexus: 'a' }));
    expectGood(await u.run(TUR, { nexus: 'b' }));
    expectDeferred(await u.run(TUR, { nexus: 'a' }), HARDWARE_ERROR, 0x44, 0x00);
    expectGood(await u.run(TUR, { nexus: 'a' }));
    expectGood(await u.run(TUR, { nexus: 'b' }));
  });

  test('the deferred error is reported on the next command even if it is not a TUR', async () => {
    const u = await unit({ fault: failing('flush') });
    expectGood(await u.run('91 02 00 00 00 00 00 00 00 00 00 00 00 00 00 00', { nexus: 'a' }));
    expectDeferred(await u.run(READ_1, { nexus: 'a' }), HARDWARE_ERROR, 0x44, 0x00);
    expect(count(u, 'read')).toBe(0);
    expectGood(await u.run(READ_1, { nexus: 'a' }));
  });

  test('IMMED = 1 flushes: one at the device and one waiting at most, which every later one joins; its failure reaches each nexus that joined', async () => {
    const d = new HookedBlockSet({ fault: failing('flush') });
    const g = gate();
    d.before = (op) => (op === 'flush' ? g.opened : undefined);
    const lu = await SbcEmulator.create(d, { powerOnUnitAttention: false });
    const run = (cdb: string, nexus: string, dataOut?: Uint8Array) => lu.execute(bytes(cdb), dataOut === undefined ? { nexus } : { nexus, dataOut });
    expectGood(await run('35 02 00 00 00 00 00 00 00 00', 'x'));
    // Written while that flush is at the device: only a flush issued later covers it.
    expectGood(await run(WRITE_1, 'x', DATA));
    const nexuses = ['a', 'b', 'c'];
    for (let i = 0; i < 3000; i++) expectGood(await run(i % 2 === 0 ? '35 02 00 00 00 00 00 00 00 00' : '91 02 00 00 00 00 00 00 00 00 00 00 00 00 00 00', nexuses[i % 3] ?? 'a'));
    expect(d.trace('flush')).toEqual(['flush start 0+0']);
    g.open();
    for (let i = 0; i < 5; i++) await settle();
    expect(d.trace('flush')).toEqual(['flush start 0+0', 'flush end 0+0', 'flush start 0+0', 'flush end 0+0']);
    expect(d.trace().indexOf('write end 3+1')).toBeLessThan(d.trace().lastIndexOf('flush start 0+0'));
    for (const n of ['x', ...nexuses]) {
      expectDeferred(await run(TUR, n), HARDWARE_ERROR, 0x44, 0x00);
      expectGood(await run(TUR, n));
    }
  });

  test('IMMED = 0 with a failing flush → HARDWARE ERROR, INTERNAL TARGET FAILURE (current)', async () => {
    const u = await unit({ fault: failing('flush') });
    expectSense(await u.run('35 00 00 00 00 00 00 00 00 00'), { key: HARDWARE_ERROR, asc: 0x44, ascq: 0 });
    expectGood(await u.run(TUR));
  });

  test('a device without FLUSH: GOOD with no flush call', async () => {
    const u = await unit({ flush: false });
    expectGood(await u.run('35 00 00 00 00 00 00 00 00 00'));
    expectGood(await u.run('35 02 00 00 00 00 00 00 00 00'));
    expectGood(await u.run(TUR));
    expect(count(u, 'flush')).toBe(0);
  });
});

describe('PRE-FETCH', () => {
  test('(10) and (16) → GOOD (never CONDITION MET), touching nothing', async () => {
    const u = await unit();
    for (const cdb of [
      '34 00 00 00 00 00 00 00 08 00',
      '34 02 00 00 03 ff 00 00 01 00', // IMMED, last block
      '34 00 00 00 00 00 3f 00 00 00', // GROUP NUMBER 3Fh, to the end
      '34 00 00 00 04 00 00 00 00 00', // LBA = capacity, nothing
      '90 00 00 00 00 00 00 00 00 00 00 00 01 00 00 00',
      '90 02 00 00 00 00 00 00 03 00 00 00 00 00 03 00',
    ]) {
      const r = await u.run(cdb);
      expect(r.status, cdb).toBe(0x00);
      expect(r.sense).toBeUndefined();
    }
    expect(u.disk.calls).toEqual([]);
  });

  test('out of range → LBA OUT OF RANGE', async () => {
    const u = await unit();
    expectSense(await u.run('34 00 00 00 03 fc 00 00 05 00'), OOR);
    expectSense(await u.run('34 00 00 00 04 01 00 00 00 00'), OOR);
    expectSense(await u.run('90 00 80 00 00 00 00 00 00 00 00 00 00 01 00 00'), OOR);
    expectSense(await u.run('90 00 ff ff ff ff ff ff ff ff 00 00 00 00 00 00'), OOR);
    expectSense(await u.run('34 01 00 00 00 00 00 00 01 00'), invalidCdb(1, 0));
  });
});

describe('FORMAT UNIT', () => {
  async function withData(disk = {}): Promise<Unit> {
    const u = await unit(disk);
    expectGood(await u.run(WRITE_1, { dataOut: DATA }));
    return u;
  }

  function untouched(u: Unit): void {
    expect(hex(u.disk.peek(3n))).toBe(hex(DATA));
  }

  test('FMTDATA = 0 → GOOD, data untouched', async () => {
    const u = await withData();
    expectGood(await u.run('04 00 00 00 00 00'));
    expectGood(await u.run('04 08 00 00 00 00')); // CMPLST, ignored without FMTDATA
    untouched(u);
    expectGood(await u.run(TUR));
  });

  test('FMTPINFO ≠ 0 → INVALID FIELD IN CDB byte 1 bit 7; FFMT (at byte 4 bit 1) and byte 2 are not implemented', async () => {
    const u = await withData();
    expectSense(await u.run('04 40 00 00 00 00'), invalidCdb(1, 7));
    expectSense(await u.run('04 80 00 00 00 00'), invalidCdb(1, 7));
    expectSense(await u.run('04 c0 00 00 00 00'), invalidCdb(1, 7));
    // FFMT, byte 4 bits 1..0: any value ≠ 0 is pointed at by the field's first bit (SPC-5 4.4.2.4.2).
    expectSense(await u.run('04 00 00 00 01 00'), invalidCdb(4, 1));
    expectSense(await u.run('04 00 00 00 02 00'), invalidCdb(4, 1));
    expectSense(await u.run('04 00 00 00 03 00'), invalidCdb(4, 1));
    expectSense(await u.run('04 00 01 00 00 00'), invalidCdb(2, 0));
    untouched(u);
  });

  test('FMTDATA = 1, short header (4 bytes)', async () => {
    const u = await withData();
    const go = (h: string) => u.run('04 10 00 00 00 00', { dataOut: Uint8Array.from(h.split(' '), (x) => parseInt(x, 16)) });
    expectGood(await go('00 00 00 00'));
    expectGood(await go('00 a0 00 00')); // FOV + DCRT
    expectGood(await go('00 82 00 00')); // FOV + IMMED
    expectSense(await go('00 00 00 08'), invalidParam(2)); // DEFECT LIST LENGTH
    expectSense(await go('00 88 00 00'), invalidParam(1, 3)); // IP (FOV set)
    expectSense(await go('00 08 00 00'), invalidParam(1, 3)); // IP without FOV
    expectSense(await go('00 20 00 00'), invalidParam(1, 5)); // DCRT without FOV
    expectSense(await go('00 40 00 00'), invalidParam(1, 6)); // DPRY without FOV
    expectSense(await go('00 10 00 00'), invalidParam(1, 4)); // STPF without FOV
    expectSense(await go('01 00 00 00'), invalidParam(0, 2)); // PROTECTION FIELD USAGE
    expectSense(await go('00 00 00'), { key: ILLEGAL_REQUEST, asc: 0x1a, ascq: 0 });
    expectSense(await u.run('04 10 00 00 00 00'), { key: ILLEGAL_REQUEST, asc: 0x1a, ascq: 0 });
    expect(u.lu.dataOutLength(Uint8Array.of(0x04, 0x10, 0, 0, 0, 0))).toBe(4);
    untouched(u);
  });

  test('FMTDATA = 1, LONGLIST = 1: long header (8 bytes)', async () => {
    const u = await withData();
    const go = (h: string) => u.run('04 30 00 00 00 00', { dataOut: Uint8Array.from(h.split(' '), (x) => parseInt(x, 16)) });
    expect(u.lu.dataOutLength(Uint8Array.of(0x04, 0x30, 0, 0, 0, 0))).toBe(8);
    expectGood(await go('00 00 00 00 00 00 00 00'));
    expectSense(await go('00 00 00 00 00 00 00 01'), invalidParam(4)); // DEFECT LIST LENGTH (bytes 4..7)
    expectSense(await go('00 00 00 00 01 00 00 00'), invalidParam(4));
    expectSense(await go('00 00 00 10 00 00 00 00'), invalidParam(3, 7)); // P_I_INFORMATION (bits 7..4)
    expectSense(await go('00 00 00 01 00 00 00 00'), invalidParam(3, 3)); // PROTECTION INTERVAL EXPONENT (bits 3..0)
    expectSense(await go('00 00 00 00'), { key: ILLEGAL_REQUEST, asc: 0x1a, ascq: 0 });
    untouched(u);
  });

  test('read-only → DATA PROTECT, WRITE PROTECTED, before the parameter list is looked at', async () => {
    const u = await unit({ readOnly: true });
    expectSense(await u.run('04 00 00 00 00 00'), { key: DATA_PROTECT, asc: 0x27, ascq: 0 });
    expectSense(await u.run('04 10 00 00 00 00'), { key: DATA_PROTECT, asc: 0x27, ascq: 0 });
    expectSense(await u.run('04 10 00 00 00 00', { dataOut: Uint8Array.of(0, 0, 0, 8) }), { key: DATA_PROTECT, asc: 0x27, ascq: 0 });
    expect(u.disk.calls).toEqual([]);
    expectGood(await u.run(TUR));
  });

  test('a stopped unit → NOT READY', async () => {
    const u = await withData();
    expectGood(await u.run('1b 00 00 00 00 00'));
    expectSense(await u.run('04 00 00 00 00 00'), NOT_READY_INIT);
  });
});
