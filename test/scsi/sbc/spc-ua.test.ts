// Unit attention conditions of the SBC emulator (SAM-5): per I_T nexus,
// reported once on the first non-exempt command, INQUIRY / REPORT LUNS /
// REQUEST SENSE exempt, reset conditions superseding the queue, and the
// conditions the emulator raises itself (capacity change, device write-cache
// change, LOGICAL UNIT RESET), which a command re-issued after a device reset
// leaves pending. MODE SELECT's MODE PARAMETERS CHANGED is in spc-mode.test.ts.

import { describe, expect, test } from 'vitest';
import { Asc, SenseKey, sense } from '../../../src/scsi/sense.js';
import { block, expectGood, expectSense, unit, ILLEGAL_REQUEST, UNIT_ATTENTION } from './harness.js';
import { INQUIRY_STD, REPORT_LUNS, REQUEST_SENSE, STD_INQUIRY, STOP, TUR, dataOf, expectData, fixed, vpd } from './spc-helpers.js';

describe('unit attention (SAM-5)', () => {
  const powerOn = { key: UNIT_ATTENTION, asc: 0x29, ascq: 0x00 };

  test('a new I_T nexus gets POWER ON 29h/00h on its first TUR, then GOOD', async () => {
    const u = await unit({}, { powerOnUnitAttention: true });
    expectSense(await u.run(TUR), powerOn);
    expectGood(await u.run(TUR));
  });

  test('INQUIRY and REPORT LUNS are exempt and keep the condition', async () => {
    const u = await unit({}, { powerOnUnitAttention: true });
    expectData(await u.run(INQUIRY_STD), STD_INQUIRY);
    expectGood(await u.run(vpd(0x80)));
    expectGood(await u.run(REPORT_LUNS));
    expectSense(await u.run(TUR), powerOn);
    expectGood(await u.run(TUR));
  });

  test('a malformed INQUIRY, REPORT LUNS or REQUEST SENSE is rejected without reporting or clearing it', async () => {
    const u = await unit({}, { powerOnUnitAttention: true });
    expectSense(await u.run('12 00 01 00 ff 00'), { key: ILLEGAL_REQUEST, asc: 0x24, ascq: 0, field: { byte: 2 } });
    expectSense(await u.run('a0 00 00 00 00 00 00 00 00 08 00 00'), { key: ILLEGAL_REQUEST, asc: 0x24, ascq: 0, field: { byte: 6 } });
    expectSense(await u.run('03 02 00 00 fc 00'), { key: ILLEGAL_REQUEST, asc: 0x24, ascq: 0, field: { byte: 1, bit: 1 } });
    expectSense(await u.run(TUR), powerOn);
  });

  test('the unit attention comes before CDB checks and medium access', async () => {
    const u = await unit({}, { powerOnUnitAttention: true });
    expectSense(await u.run('28 00 00 00 04 00 00 00 01 00'), powerOn); // READ(10) past the end
    expect(u.disk.calls).toEqual([]);
    expectSense(await u.run('28 00 00 00 04 00 00 00 01 00'), { key: ILLEGAL_REQUEST, asc: 0x21, ascq: 0 });
  });

  test('an unknown operation code reports the pending unit attention first', async () => {
    const u = await unit({}, { powerOnUnitAttention: true });
    expectSense(await u.run('ff 00 00 00 00 00'), powerOn);
    expectSense(await u.run('ff 00 00 00 00 00'), { key: ILLEGAL_REQUEST, asc: 0x20, ascq: 0, field: { byte: 0 } });
  });

  test('each I_T nexus has its own condition', async () => {
    const u = await unit({}, { powerOnUnitAttention: true });
    expectSense(await u.run(TUR, { nexus: 'A' }), powerOn);
    expectGood(await u.run(TUR, { nexus: 'A' }));
    expectSense(await u.run(TUR, { nexus: 'B' }), powerOn);
    expectGood(await u.run(TUR, { nexus: 'B' }));
  });

  test('refreshGeometry after a resize: CAPACITY DATA HAS CHANGED 2Ah/09h to every nexus', async () => {
    const u = await unit();
    expectGood(await u.run(TUR, { nexus: 'A' }));
    expectGood(await u.run(TUR, { nexus: 'B' }));
    expect(u.lu.refreshGeometry()).toBe(false);
    expectGood(await u.run(TUR, { nexus: 'A' }));
    u.disk.resize(2048n);
    expect(u.lu.refreshGeometry()).toBe(true);
    for (const nexus of ['A', 'B']) {
      expectSense(await u.run(TUR, { nexus }), { key: UNIT_ATTENTION, asc: 0x2a, ascq: 0x09 });
      expectGood(await u.run(TUR, { nexus }));
    }
    expectData(await u.run('25 00 00 00 00 00 00 00 00 00', { nexus: 'A' }), '00 00 07 ff 00 00 02 00');
  });

  test('refreshGeometry after the device changes its write cache: MODE PARAMETERS CHANGED 2Ah/01h', async () => {
    const u = await unit();
    expectGood(await u.run(TUR));
    u.disk.deviceSetsWriteCache(false);
    expect(u.lu.refreshGeometry()).toBe(true);
    expectSense(await u.run(TUR), { key: UNIT_ATTENTION, asc: 0x2a, ascq: 0x01 });
    expectGood(await u.run(TUR));
  });

  test('conditions queue in order, one per command, without duplicates', async () => {
    const u = await unit();
    expectGood(await u.run(TUR));
    u.lu.raiseUnitAttention({ asc: 0x2a, ascq: 0x01 });
    u.lu.raiseUnitAttention({ asc: 0x2a, ascq: 0x09 });
    u.lu.raiseUnitAttention({ asc: 0x2a, ascq: 0x01 });
    expectSense(await u.run(TUR), { key: UNIT_ATTENTION, asc: 0x2a, ascq: 0x01 });
    expectSense(await u.run(TUR), { key: UNIT_ATTENTION, asc: 0x2a, ascq: 0x09 });
    expectGood(await u.run(TUR));
  });

  test('resetLogicalUnit: BUS DEVICE RESET FUNCTION OCCURRED 29h/03h supersedes queued conditions, restarts the unit', async () => {
    const u = await unit();
    expectGood(await u.run(TUR, { nexus: 'A' }));
    expectGood(await u.run(TUR, { nexus: 'B' }));
    expectGood(await u.run(STOP, { nexus: 'A' }));
    u.lu.raiseUnitAttention({ asc: 0x2a, ascq: 0x09 });
    u.lu.resetLogicalUnit();
    for (const nexus of ['A', 'B']) {
      expectSense(await u.run(TUR, { nexus }), { key: UNIT_ATTENTION, asc: 0x29, ascq: 0x03 });
      expectGood(await u.run(TUR, { nexus }));
    }
  });

  test('a reset raised after other conditions leaves only the reset', async () => {
    const u = await unit();
    expectGood(await u.run(TUR));
    u.lu.raiseUnitAttention({ asc: 0x2a, ascq: 0x01 });
    u.lu.raiseUnitAttention({ asc: 0x29, ascq: 0x00 });
    expectData(await u.run(REQUEST_SENSE), fixed(UNIT_ATTENTION, 0x29, 0x00));
    expectData(await u.run(REQUEST_SENSE), fixed(0, 0, 0));
  });
});

describe('a command re-issued after a device reset (ExecuteOptions.reissued)', () => {
  // Received before the reset, it is not the nexus's next command (SAM-5): what is pending stays for that one.
  const luReset = { key: UNIT_ATTENTION, asc: 0x29, ascq: 0x03 };
  const write10 = (flags: number): string => `2a ${flags.toString(16).padStart(2, '0')} 00 00 00 08 00 00 02 00`; // LBA 8, 2 blocks
  const READ_8_2 = '28 00 00 00 00 08 00 00 02 00';

  // WRITE (10) takes the fast path; with FUA (byte 1 bit 3) the generic command steps.
  test.each([
    ['WRITE (10)', write10(0)],
    ['WRITE (10) FUA', write10(0x08)],
  ])('%s: GOOD, its data there; 29h/03h goes to the next command, once', async (_, cdb) => {
    const u = await unit();
    expectGood(await u.run(TUR, { nexus: 'A' }));
    u.lu.resetLogicalUnit();
    const data = block(1024, 0x5a, true);
    expectGood(await u.run(cdb, { nexus: 'A', dataOut: data, reissued: true }));
    expectSense(await u.run(TUR, { nexus: 'A' }), luReset);
    expectGood(await u.run(TUR, { nexus: 'A' }));
    expect(dataOf(await u.run(READ_8_2, { nexus: 'A' }))).toEqual(data);
  });

  test('a pending deferred error stays too: the next command reports it (71h)', async () => {
    const u = await unit();
    expectGood(await u.run(TUR, { nexus: 'A' }));
    u.lu.deferError('A', sense(SenseKey.MEDIUM_ERROR, Asc.WRITE_ERROR));
    expectGood(await u.run(write10(0), { nexus: 'A', dataOut: block(1024, 1), reissued: true }));
    const r = await u.run(TUR, { nexus: 'A' });
    expect([r.status, r.sense?.[0], (r.sense?.[2] ?? 0) & 0x0f, r.sense?.[12], r.sense?.[13]]).toEqual([0x02, 0x71, 0x03, 0x0c, 0x00]);
    expectGood(await u.run(TUR, { nexus: 'A' }));
  });

  test('every other check still applies: LBA out of range, a reservation of another nexus; the unit attention stays', async () => {
    const u = await unit();
    for (const nexus of ['A', 'B']) expectGood(await u.run(TUR, { nexus }));
    u.lu.resetLogicalUnit();
    expectSense(await u.run('28 00 00 00 04 00 00 00 01 00', { nexus: 'A', reissued: true }), { key: ILLEGAL_REQUEST, asc: 0x21, ascq: 0 });
    expectSense(await u.run(TUR, { nexus: 'B' }), luReset);
    expectGood(await u.run('16 00 00 00 00 00', { nexus: 'B' })); // RESERVE (6)
    const conflict = await u.run(write10(0), { nexus: 'A', dataOut: block(1024, 1), reissued: true });
    expect([conflict.status, conflict.sense]).toEqual([0x18, undefined]);
    expectGood(await u.run('17 00 00 00 00 00', { nexus: 'B' })); // RELEASE (6)
    expectSense(await u.run(TUR, { nexus: 'A' }), luReset);
  });
});

describe('REPORTED LUNS DATA HAS CHANGED (SPC-5)', () => {
  const lunsChanged = { key: UNIT_ATTENTION, asc: 0x3f, ascq: 0x0e };
  // REPORT LUNS data: LUN LIST LENGTH (4), 4 reserved, 8-byte LUNs (SAM-5 peripheral device addressing for 0..255).
  const lunList = (...luns: number[]): string => {
    const len = (8 * luns.length).toString(16).padStart(8, '0').replace(/(..)(?!$)/g, '$1 ');
    return [len, '00 00 00 00', ...luns.map((n) => `00 ${n.toString(16).padStart(2, '0')} 00 00 00 00 00 00`)].join(' ');
  };

  test('setLuns with a new inventory raises 3Fh/0Eh on every nexus; REPORT LUNS clears it for its own nexus only', async () => {
    const u = await unit();
    expectGood(await u.run(TUR, { nexus: 'A' }));
    expectGood(await u.run(TUR, { nexus: 'B' }));
    u.lu.setLuns([0, 1]);
    expectData(await u.run(REPORT_LUNS, { nexus: 'A' }), lunList(0, 1));
    expectGood(await u.run(TUR, { nexus: 'A' }));
    expectSense(await u.run(TUR, { nexus: 'B' }), lunsChanged);
    expectGood(await u.run(TUR, { nexus: 'B' }));
  });

  test('the same inventory again raises nothing', async () => {
    const u = await unit();
    expectGood(await u.run(TUR));
    u.lu.setLuns([0]);
    expectGood(await u.run(TUR));
    expect(u.lu.luns).toEqual([0]);
  });

  test('a REPORT LUNS that fails (SELECT REPORT 03h) does not clear it', async () => {
    const u = await unit();
    expectGood(await u.run(TUR));
    u.lu.setLuns([2]);
    expectSense(await u.run('a0 00 03 00 00 00 00 00 01 00 00 00'), { key: ILLEGAL_REQUEST, asc: 0x24, ascq: 0, field: { byte: 2 } });
    expectSense(await u.run(TUR), lunsChanged);
  });
});
