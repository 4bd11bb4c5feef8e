// The removable-medium personality (SbcEmulator option `removable`): INQUIRY
// RMB, START STOP UNIT 1Bh with LOEJ (eject / load), PREVENT ALLOW MEDIUM
// REMOVAL 1Eh kept per I_T nexus, and what ends a prevention (ALLOW from the
// same nexus, I_T nexus loss, logical unit reset). CDBs from the SBC-4 / SPC-5
// tables; sense codes written out (3Ah/00h MEDIUM NOT PRESENT, 53h/02h MEDIUM
// REMOVAL PREVENTED, 28h/00h NOT READY TO READY CHANGE).

import { describe, expect, test } from 'vitest';
import { SbcEmulator } from '../../../src/scsi/sbc/emulator.js';
import type { SbcResult } from '../../../src/scsi/sbc/execute-api.js';
import { HARDWARE_ERROR, ILLEGAL_REQUEST, NOT_READY, UNIT_ATTENTION, block, bytes, expectGood, expectSense, hex, unit, type Unit } from './harness.js';
import { HookedBlockSet, gate, settle } from './hooked-block-set.js';

const BS = 512;
const TUR = '00 00 00 00 00 00';
const EJECT = '1b 00 00 00 02 00'; // LOEJ 1, START 0
const EJECT_IMMED = '1b 01 00 00 02 00';
const EJECT_NO_FLUSH = '1b 00 00 00 06 00'; // NO_FLUSH 1, LOEJ 1
const LOAD = '1b 00 00 00 03 00'; // LOEJ 1, START 1
const START = '1b 00 00 00 01 00';
const PREVENT = '1e 00 00 00 01 00';
const ALLOW = '1e 00 00 00 00 00';
const INQUIRY = '12 00 00 00 24 00';
const READ_1 = '28 00 00 00 00 03 00 00 01 00';
const WRITE_1 = '2a 00 00 00 00 03 00 00 01 00';
const NO_MEDIUM = { key: NOT_READY, asc: 0x3a, ascq: 0x00 };
const PREVENTED = { key: ILLEGAL_REQUEST, asc: 0x53, ascq: 0x02 };
const DATA = block(BS, 0x5a, true);

const removable = (): Promise<Unit> => unit({}, { removable: true });
const as = (nexus: string) => ({ nexus });

describe('INQUIRY RMB', () => {
  test('byte 1 bit 7 is 1 for a removable unit, 0 for a fixed disk', async () => {
    const r = await (await removable()).run(INQUIRY);
    expectGood(r);
    expect(hex(r.data?.subarray(0, 2))).toBe('00 80');
    const f = await (await unit()).run(INQUIRY);
    expect(hex(f.data?.subarray(0, 2))).toBe('00 00');
  });
});

describe('eject and load (START STOP UNIT LOEJ)', () => {
  test('eject: every medium-access command is NOT READY, MEDIUM NOT PRESENT, and none reaches the device', async () => {
    const u = await removable();
    expectGood(await u.run(WRITE_1, { dataOut: DATA }));
    expectGood(await u.run(EJECT));
    const before = u.disk.calls.length;
    const mediumAccess = [
      TUR,
      READ_1,
      '88 00 00 00 00 00 00 00 00 03 00 00 00 01 00 00', // READ (16)
      '25 00 00 00 00 00 00 00 00 00', // READ CAPACITY (10)
      '9e 10 00 00 00 00 00 00 00 00 00 00 00 20 00 00', // READ CAPACITY (16)
      '35 00 00 00 00 00 00 00 00 00', // SYNCHRONIZE CACHE (10)
      '91 00 00 00 00 00 00 00 00 00 00 00 00 01 00 00', // SYNCHRONIZE CACHE (16)
      '34 00 00 00 00 00 00 00 01 00', // PRE-FETCH (10)
      '9e 12 00 00 00 00 00 00 00 00 00 00 00 18 00 00', // GET LBA STATUS
      '2f 00 00 00 00 00 00 00 01 00', // VERIFY (10), BYTCHK 0
    ];
    for (const cdb of mediumAccess) expectSense(await u.run(cdb), NO_MEDIUM);
    expectSense(await u.run(WRITE_1, { dataOut: DATA }), NO_MEDIUM);
    expectSense(await u.run('41 00 00 00 00 00 00 00 01 00', { dataOut: DATA }), NO_MEDIUM); // WRITE SAME (10)
    expectSense(await u.run('89 00 00 00 00 00 00 00 00 00 00 00 00 01 00 00', { dataOut: block(2 * BS, 0) }), NO_MEDIUM); // COMPARE AND WRITE
    expect(u.disk.calls.length).toBe(before);
    // Commands that need no medium still work.
    expectGood(await u.run(INQUIRY));
    expectGood(await u.run('1a 00 3f 00 ff 00')); // MODE SENSE (6)
    expectGood(await u.run(PREVENT));
    expectGood(await u.run(ALLOW));
    const rs = await u.run('03 00 00 00 12 00'); // REQUEST SENSE: the medium is absent
    expectGood(rs);
    expect(hex(rs.data)).toBe('70 00 02 00 00 00 00 0a 00 00 00 00 3a 00 00 00 00 00');
  });

  test('load: the medium is back with its data; the loading nexus sees no unit attention, the others 28h/00h', async () => {
    const u = await removable();
    expectGood(await u.run(WRITE_1, { dataOut: DATA, ...as('a') }));
    expectGood(await u.run(TUR, as('b')));
    expectGood(await u.run(EJECT, as('a')));
    expectGood(await u.run(LOAD, as('a')));
    expectGood(await u.run(TUR, as('a')));
    const r = await u.run(READ_1, as('a'));
    expectGood(r);
    expect(hex(r.data)).toBe(hex(DATA));
    expectSense(await u.run(TUR, as('b')), { key: UNIT_ATTENTION, asc: 0x28, ascq: 0x00 });
    expectGood(await u.run(TUR, as('b')));
  });

  test('eject flushes first; NO_FLUSH skips the flush; ejecting again (no medium) is GOOD and flushes nothing', async () => {
    const u = await removable();
    const flushes = (): number => u.disk.calls.filter((c) => c.op === 'flush').length;
    expectGood(await u.run(EJECT));
    expect(flushes()).toBe(1);
    expectGood(await u.run(EJECT));
    expect(flushes()).toBe(1);
    expectGood(await u.run(LOAD));
    expectGood(await u.run(EJECT_NO_FLUSH));
    expect(flushes()).toBe(1);
    expectSense(await u.run(TUR), NO_MEDIUM);
  });

  test('a failing flush: without IMMED HARDWARE ERROR and the medium stays; with IMMED GOOD at once, the medium is gone, and the failure is a deferred error', async () => {
    const u = await unit({ fault: (op) => (op === 'flush' ? 'io-error' : undefined) }, { removable: true });
    expectSense(await u.run(EJECT), { key: HARDWARE_ERROR, asc: 0x44, ascq: 0x00 });
    expectGood(await u.run(TUR));
    expectGood(await u.run(EJECT_IMMED));
    await settle();
    const r = await u.run(TUR);
    expect(r.status).toBe(0x02);
    // Deferred (71h) HARDWARE ERROR, INTERNAL TARGET FAILURE; then the absent medium.
    expect(hex(r.sense?.subarray(0, 3))).toBe('71 00 04');
    expect(hex(r.sense?.subarray(12, 14))).toBe('44 00');
    expectSense(await u.run(TUR), NO_MEDIUM);
  });

  test('IMMED: the medium is gone before the flush completes', async () => {
    const disk = new HookedBlockSet();
    const g = gate();
    disk.before = (op) => (op === 'flush' ? g.opened : undefined);
    const lu = await SbcEmulator.create(disk, { powerOnUnitAttention: false, removable: true });
    const run = (cdb: string): Promise<SbcResult> => lu.execute(bytes(cdb));
    expectGood(await run(EJECT_IMMED));
    expect(disk.trace('flush')).toEqual(['flush start 0+0']);
    expectSense(await run(TUR), NO_MEDIUM);
    g.open();
    await settle();
    expect(disk.trace('flush')).toEqual(['flush start 0+0', 'flush end 0+0']);
  });

  test('START 1 without LOEJ and no medium → NOT READY, MEDIUM NOT PRESENT; START 0 without LOEJ keeps the medium', async () => {
    const u = await removable();
    expectGood(await u.run(EJECT));
    expectSense(await u.run(START), NO_MEDIUM);
    expectSense(await u.run(TUR), NO_MEDIUM);
    expectGood(await u.run(LOAD));
    expectGood(await u.run('1b 00 00 00 00 00'));
    expectSense(await u.run(TUR), { key: NOT_READY, asc: 0x04, ascq: 0x02 });
    expectGood(await u.run(START));
    expectGood(await u.run(TUR));
  });

  test('a POWER CONDITION other than START_VALID ignores LOEJ: nothing is ejected', async () => {
    const u = await removable();
    for (const pc of ['10', '20', '30', '70', 'a0', 'b0']) expectGood(await u.run(`1b 01 00 00 ${(parseInt(pc, 16) | 0x02).toString(16)} 00`));
    expectGood(await u.run(TUR));
  });

  test('a fixed disk ignores LOEJ and PREVENT: START 0 with LOEJ only stops it', async () => {
    const u = await unit();
    expectGood(await u.run(PREVENT));
    expectGood(await u.run(EJECT));
    expectSense(await u.run(TUR), { key: NOT_READY, asc: 0x04, ascq: 0x02 });
    expectGood(await u.run(LOAD));
    expectGood(await u.run(TUR));
  });
});

describe('PREVENT ALLOW MEDIUM REMOVAL', () => {
  test('PREVENT keeps the medium in: eject and load are MEDIUM REMOVAL PREVENTED until ALLOW', async () => {
    const u = await removable();
    expectGood(await u.run(PREVENT));
    expectSense(await u.run(EJECT), PREVENTED);
    expectSense(await u.run(EJECT_IMMED), PREVENTED);
    expectGood(await u.run(TUR));
    expect(u.disk.calls.filter((c) => c.op === 'flush')).toEqual([]);
    expectGood(await u.run(ALLOW));
    expectGood(await u.run(EJECT));
    expectSense(await u.run(TUR), NO_MEDIUM);
    expectGood(await u.run(PREVENT));
    expectSense(await u.run(LOAD), PREVENTED);
    expectGood(await u.run(ALLOW));
    expectGood(await u.run(LOAD));
    expectGood(await u.run(TUR));
  });

  test('START / STOP without LOEJ is not removal: allowed while prevented', async () => {
    const u = await removable();
    expectGood(await u.run(PREVENT));
    expectGood(await u.run('1b 00 00 00 00 00'));
    expectGood(await u.run(START));
    expectGood(await u.run(TUR));
  });

  test('one prevention per I_T nexus: removal is prevented while any nexus holds one', async () => {
    const u = await removable();
    expectGood(await u.run(PREVENT, as('a')));
    expectGood(await u.run(PREVENT, as('b')));
    expectSense(await u.run(EJECT, as('c')), PREVENTED);
    expectGood(await u.run(ALLOW, as('c'))); // c held none: nothing changes
    expectGood(await u.run(ALLOW, as('a')));
    expectSense(await u.run(EJECT, as('a')), PREVENTED); // b still prevents
    expectGood(await u.run(ALLOW, as('b')));
    expectGood(await u.run(EJECT, as('c')));
  });

  test("I_T nexus loss ends that nexus's prevention only", async () => {
    const u = await removable();
    expectGood(await u.run(PREVENT, as('a')));
    expectGood(await u.run(PREVENT, as('b')));
    u.lu.forgetNexus('a');
    expectSense(await u.run(EJECT, as('c')), PREVENTED);
    u.lu.forgetNexus('b');
    expectGood(await u.run(EJECT, as('c')));
  });

  test('logical unit reset ends every prevention; the medium stays where it was', async () => {
    const u = await removable();
    expectGood(await u.run(PREVENT, as('a')));
    u.lu.resetLogicalUnit();
    expectSense(await u.run(TUR, as('a')), { key: UNIT_ATTENTION, asc: 0x29, ascq: 0x03 });
    expectGood(await u.run(EJECT, as('a')));
    u.lu.resetLogicalUnit();
    expectSense(await u.run(TUR, as('a')), { key: UNIT_ATTENTION, asc: 0x29, ascq: 0x03 });
    expectSense(await u.run(TUR, as('a')), NO_MEDIUM);
    expectSense(await u.run(READ_1, as('a')), NO_MEDIUM);
    expectGood(await u.run(LOAD, as('a')));
    expectGood(await u.run(TUR, as('a')));
  });

  test('PREVENT works without a medium; the obsolete values are still INVALID FIELD IN CDB', async () => {
    const u = await removable();
    expectGood(await u.run(EJECT));
    expectGood(await u.run(PREVENT));
    expectSense(await u.run('1e 00 00 00 02 00'), { key: ILLEGAL_REQUEST, asc: 0x24, ascq: 0x00, field: { byte: 4, bit: 1 } });
  });
});
