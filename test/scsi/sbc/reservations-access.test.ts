// Which commands conflict with which reservation, through the SBC emulator:
// the persistent reservation access matrix (every type × holder, registered
// non-holder, unregistered nexus × READ and WRITE, as libiscsi's
// ProutReserve.Access* checks it), other SPC/SBC commands, SPC-2 RESERVE(6) /
// RELEASE(6) between two nexuses (libiscsi Reserve6.*), the SPC-5 exceptions
// to SPC-2 behavior when registrations exist, the status precedence over unit
// attentions and CDB errors, and nexus loss and LOGICAL UNIT RESET. Expected
// access is written from the SPC-5 / SBC-4 tables here, not read from
// reservation-conflicts.ts.

import { describe, expect, test } from 'vitest';
import { bytes, expectSense, ILLEGAL_REQUEST, UNIT_ATTENTION } from './harness.js';
import { SbcEmulator } from '../../../src/scsi/sbc/emulator.js';
import { MemoryBlockSet } from '../../../src/scsi/sbc/memory-block-set.js';
import { CONFLICT_TABLE, DEFAULT_ROW, conflictRow, persistentAccess } from '../../../src/scsi/sbc/reservation-conflicts.js';
import { PrType } from '../../../src/scsi/pr-data.js';
import {
  EA,
  EA_AR,
  EA_RO,
  READ10_LBA1,
  READ_KEYS,
  READ_RESERVATION,
  REGISTER,
  REGISTER_AND_IGNORE,
  RELEASE,
  RELEASE10,
  RELEASE6,
  RESERVE,
  RESERVE10,
  RESERVE6,
  RESERVATION_CONFLICT,
  TUR,
  TYPES,
  WE,
  WE_AR,
  WE_RO,
  WRITE10_LBA1,
  conflict,
  good,
  keysOf,
  nexuses,
  prinCdb,
  proutList,
  type Nexuses,
} from './pr-helpers.js';

const KA = 0xa1n;
const KB = 0xb2n;
const BLOCK = new Uint8Array(512).fill(0x5a);

/** a holds a reservation of `type`, b is registered, c is not. */
async function reserved(type: number): Promise<Nexuses> {
  const n = await nexuses();
  good(await n.prout('a', REGISTER_AND_IGNORE, proutList(0n, KA)));
  good(await n.prout('b', REGISTER_AND_IGNORE, proutList(0n, KB)));
  good(await n.prout('a', RESERVE, proutList(KA), type));
  return n;
}

const read = async (n: Nexuses, nexus: string): Promise<boolean> => (await n.as(nexus, READ10_LBA1)).status === 0;
const write = async (n: Nexuses, nexus: string): Promise<boolean> => (await n.as(nexus, WRITE10_LBA1, BLOCK)).status === 0;

// SPC-5 / SBC-4 for READ and WRITE (libiscsi verify_persistent_reserve_access, same columns):
// [registered non-holder can read, can write, unregistered can read, can write].
const ACCESS: readonly (readonly [string, number, boolean, boolean, boolean, boolean])[] = [
  ['Write Exclusive', WE, true, false, true, false],
  ['Exclusive Access', EA, false, false, false, false],
  ['Write Exclusive – Registrants Only', WE_RO, true, true, true, false],
  ['Exclusive Access – Registrants Only', EA_RO, true, true, false, false],
  ['Write Exclusive – All Registrants', WE_AR, true, true, true, false],
  ['Exclusive Access – All Registrants', EA_AR, true, true, false, false],
];

describe('persistent reservation access: READ(10) and WRITE(10) per type', () => {
  test.each(ACCESS)('%s: holder reads and writes; registered and unregistered nexuses as SPC-5 says', async (_name, type, regRead, regWrite, unregRead, unregWrite) => {
    const n = await reserved(type);
    expect([await read(n, 'a'), await write(n, 'a')]).toEqual([true, true]);
    expect([await read(n, 'b'), await write(n, 'b'), await read(n, 'c'), await write(n, 'c')]).toEqual([regRead, regWrite, unregRead, unregWrite]);
    // b unregisters: it is now an unregistered nexus (libiscsi's second half).
    good(await n.prout('b', REGISTER, proutList(KB, 0n)));
    expect([await read(n, 'b'), await write(n, 'b')]).toEqual([unregRead, unregWrite]);
  });

  test('a refused WRITE changes nothing on the medium; the conflict has no sense and no data', async () => {
    const n = await reserved(EA);
    const r = await n.as('c', WRITE10_LBA1, BLOCK);
    conflict(r);
    expect(n.u.disk.calls.filter((c) => c.op === 'write')).toEqual([]);
  });

  test('after RELEASE everyone reads and writes again (the READ/WRITE fast path is back)', async () => {
    const n = await reserved(EA);
    good(await n.prout('a', RELEASE, proutList(KA), EA));
    expect([await read(n, 'c'), await write(n, 'c')]).toEqual([true, true]);
  });

  test('registrations alone (no reservation) refuse nothing', async () => {
    const n = await nexuses();
    good(await n.prout('a', REGISTER_AND_IGNORE, proutList(0n, KA)));
    expect([await read(n, 'c'), await write(n, 'c')]).toEqual([true, true]);
  });
});

describe('persistent reservation access: other commands from a nexus that is not the holder', () => {
  const INQUIRY = bytes('12 00 00 00 24 00');
  const REQUEST_SENSE = bytes('03 00 00 00 12 00');
  const REPORT_LUNS = bytes('a0 00 00 00 00 00 00 00 00 10 00 00');
  const READ_CAPACITY_10 = bytes('25 00 00 00 00 00 00 00 00 00');
  const MODE_SENSE_6 = bytes('1a 00 3f 00 ff 00');
  const RSOC_ALL = bytes('a3 0c 00 00 00 00 00 00 10 00 00 00');
  const SYNC_CACHE_10 = bytes('35 00 00 00 00 00 00 00 00 00');
  const START = bytes('1b 00 00 00 01 00');
  const STOP = bytes('1b 00 00 00 00 00');
  const PREVENT_0 = bytes('1e 00 00 00 00 00');

  test('always allowed: INQUIRY, REQUEST SENSE, REPORT LUNS, TEST UNIT READY, READ CAPACITY, PERSISTENT RESERVE IN, START UNIT, PREVENT 0', async () => {
    const n = await reserved(EA);
    for (const cdb of [INQUIRY, REQUEST_SENSE, REPORT_LUNS, TUR, READ_CAPACITY_10, prinCdb(READ_KEYS), START, PREVENT_0]) good(await n.as('c', cdb));
  });

  test('read-like (MODE SENSE, REPORT SUPPORTED OPERATION CODES): allowed through Write Exclusive, not Exclusive Access', async () => {
    const we = await reserved(WE);
    for (const cdb of [MODE_SENSE_6, RSOC_ALL]) good(await we.as('c', cdb));
    const ea = await reserved(EA);
    for (const cdb of [MODE_SENSE_6, RSOC_ALL]) conflict(await ea.as('c', cdb));
    // A registrant of a registrants only reservation may.
    const ro = await reserved(EA_RO);
    for (const cdb of [MODE_SENSE_6, RSOC_ALL]) good(await ro.as('b', cdb));
  });

  test('write-like (SYNCHRONIZE CACHE, STOP UNIT): conflict under Write Exclusive for anyone but the holder', async () => {
    const n = await reserved(WE);
    for (const cdb of [SYNC_CACHE_10, STOP]) conflict(await n.as('b', cdb));
    good(await n.as('a', SYNC_CACHE_10));
  });

  test('PERSISTENT RESERVE OUT by registration: REGISTER from anyone; RELEASE, CLEAR, PREEMPT from registrants only; RESERVE from no non-holder', async () => {
    const n = await reserved(EA);
    good(await n.prout('c', REGISTER, proutList(0n, 0xc3n)));
    good(await n.prout('c', REGISTER, proutList(0xc3n, 0n)));
    conflict(await n.prout('c', RELEASE, proutList(0n), EA));
    good(await n.prout('b', RELEASE, proutList(KB), EA));
    conflict(await n.prout('b', RESERVE, proutList(KB), EA));
  });

  test('RESERVATION CONFLICT goes before a pending unit attention, which stays pending (SAM-5 status precedence)', async () => {
    const n = await reserved(EA);
    good(await n.as('c', TUR));
    n.u.lu.raiseUnitAttention({ asc: 0x2a, ascq: 0x01 });
    conflict(await n.as('c', READ10_LBA1));
    expectSense(await n.as('c', TUR), { key: UNIT_ATTENTION, asc: 0x2a, ascq: 0x01 });
  });

  test('RESERVATION CONFLICT goes before INVALID FIELD IN CDB; an operation code the unit lacks is still 20h/00h', async () => {
    const n = await reserved(EA);
    conflict(await n.as('c', bytes('28 01 00 00 00 01 00 00 01 00')));
    expectSense(await n.as('c', bytes('ff 00 00 00 00 00')), { key: ILLEGAL_REQUEST, asc: 0x20, ascq: 0, field: { byte: 0 } });
    // A CDB too short for its operation code is not a command either.
    expectSense(await n.as('c', READ10_LBA1.slice(0, 9)), { key: ILLEGAL_REQUEST, asc: 0x24, ascq: 0, field: { byte: 0 } });
  });
});

describe('SPC-2 RESERVE / RELEASE (libiscsi Reserve6.*)', () => {
  const MODE_SENSE_6 = bytes('1a 00 3f 00 ff 00');

  test('two nexuses: re-reserve, conflict, RELEASE from the other is a no-op, MODE SENSE refused, then handed over', async () => {
    const n = await nexuses();
    good(await n.as('a', RESERVE6));
    good(await n.as('a', RESERVE6));
    conflict(await n.as('b', RESERVE6));
    good(await n.as('b', RELEASE6));
    good(await n.as('a', MODE_SENSE_6));
    conflict(await n.as('b', MODE_SENSE_6));
    conflict(await n.as('b', RESERVE6));
    good(await n.as('a', RELEASE6));
    good(await n.as('b', RESERVE6));
    good(await n.as('b', RELEASE6));
    good(await n.as('a', MODE_SENSE_6));
  });

  test('RESERVE(10) and RELEASE(10) are the same reservation', async () => {
    const n = await nexuses();
    good(await n.as('a', RESERVE10));
    conflict(await n.as('b', RESERVE6));
    good(await n.as('a', RELEASE6));
    good(await n.as('b', RESERVE10));
    conflict(await n.as('a', RESERVE10));
    good(await n.as('b', RELEASE10));
  });

  test('what another nexus may still send: INQUIRY, REQUEST SENSE, REPORT LUNS, RELEASE, PREVENT 0; nothing else', async () => {
    const n = await nexuses();
    good(await n.as('a', RESERVE6));
    for (const cdb of ['12 00 00 00 24 00', '03 00 00 00 12 00', 'a0 00 00 00 00 00 00 00 00 10 00 00', '1e 00 00 00 00 00']) good(await n.as('b', cdb));
    for (const cdb of [TUR, READ10_LBA1, bytes('25 00 00 00 00 00 00 00 00 00'), bytes('1e 00 00 00 01 00')]) conflict(await n.as('b', cdb));
    conflict(await n.as('b', WRITE10_LBA1, BLOCK));
    for (const cdb of [TUR, READ10_LBA1]) good(await n.as('a', cdb));
  });

  test('PERSISTENT RESERVE IN and OUT conflict while it is held, also for the holder (SPC-2)', async () => {
    const n = await nexuses();
    good(await n.as('a', RESERVE6));
    for (const x of ['a', 'b']) {
      conflict(await n.as(x, prinCdb(READ_KEYS)));
      conflict(await n.prout(x, REGISTER_AND_IGNORE, proutList(0n, KA)));
    }
  });

  test('I_T nexus loss releases it (libiscsi Reserve6.ITNexusLoss, .Logout)', async () => {
    const n = await nexuses();
    good(await n.as('a', RESERVE6));
    conflict(await n.as('b', RESERVE6));
    n.u.lu.forgetNexus('a');
    good(await n.as('b', RESERVE6));
    conflict(await n.as('a', RESERVE6));
  });

  test('the loss of another nexus does not release it', async () => {
    const n = await nexuses();
    good(await n.as('a', RESERVE6));
    n.u.lu.forgetNexus('b');
    conflict(await n.as('b', RESERVE6));
  });

  test('LOGICAL UNIT RESET releases it (libiscsi Reserve6.LUNReset)', async () => {
    const n = await nexuses();
    good(await n.as('a', RESERVE6));
    good(await n.as('b', bytes('12 00 00 00 24 00')));
    n.u.lu.resetLogicalUnit();
    expectSense(await n.as('b', RESERVE6), { key: UNIT_ATTENTION, asc: 0x29, ascq: 0x03 });
    good(await n.as('b', RESERVE6));
  });
});

describe('SPC-2 RESERVE / RELEASE with persistent reservations (SPC-5 exceptions, CRH 1)', () => {
  test('registrations without a reservation: RESERVE and RELEASE conflict for everyone', async () => {
    const n = await nexuses();
    good(await n.prout('a', REGISTER_AND_IGNORE, proutList(0n, KA)));
    for (const x of ['a', 'c']) {
      conflict(await n.as(x, RESERVE6));
      conflict(await n.as(x, RELEASE6));
    }
  });

  test('the holder, or a registrant under registrants only / all registrants: GOOD, and nothing is reserved', async () => {
    for (const type of [WE_RO, EA_AR]) {
      const n = await reserved(type);
      good(await n.as('a', RESERVE6));
      good(await n.as('b', RESERVE10));
      good(await n.as('b', RELEASE6));
      // No SPC-2 reservation came of it: b still writes, the persistent reservation is unchanged.
      expect(await write(n, 'b')).toBe(true);
      const rr = await n.prin('b', READ_RESERVATION);
      expect(rr[21]).toBe(type);
      conflict(await n.as('c', RESERVE6));
    }
  });

  test('a registrant under Write Exclusive or Exclusive Access: conflict', async () => {
    const n = await reserved(WE);
    conflict(await n.as('b', RESERVE6));
    good(await n.as('a', RELEASE6));
  });

  test('RESERVE(6) and RELEASE(6) with no registrations afterwards behave as SPC-2 again', async () => {
    const n = await nexuses();
    good(await n.prout('a', REGISTER_AND_IGNORE, proutList(0n, KA)));
    good(await n.prout('a', REGISTER_AND_IGNORE, proutList(0n, 0n)));
    good(await n.as('a', RESERVE6));
    conflict(await n.as('b', RESERVE6));
  });
});

describe('persistent reservations across events', () => {
  test('I_T nexus loss keeps registrations and the reservation (SPC-5)', async () => {
    const n = await reserved(EA);
    n.u.lu.forgetNexus('a');
    conflict(await n.as('c', READ10_LBA1));
    expect(keysOf(await n.prin('c', READ_KEYS))).toEqual([KA, KB]);
    // The holder's nexus comes back as the same I_T nexus: told of its loss (I_T NEXUS LOSS OCCURRED), still the holder.
    expectSense(await n.as('a', TUR), { key: UNIT_ATTENTION, asc: 0x29, ascq: 0x07 });
    expect(await read(n, 'a')).toBe(true);
  });

  test('LOGICAL UNIT RESET keeps them', async () => {
    const n = await reserved(WE_AR);
    good(await n.as('c', TUR));
    n.u.lu.resetLogicalUnit();
    expectSense(await n.as('c', TUR), { key: UNIT_ATTENTION, asc: 0x29, ascq: 0x03 });
    expect(await write(n, 'c')).toBe(false);
    expect((await n.as('c', WRITE10_LBA1, BLOCK)).status).toBe(RESERVATION_CONFLICT);
  });
});

describe('the conflict table (reservation-conflicts.ts)', () => {
  test('lists every command of a fully capable unit (a new command needs its row)', async () => {
    const lu = await SbcEmulator.create(new MemoryBlockSet({ blocks: 64, discard: { maxBlocks: 8, maxSegments: 1, granularity: 0, zeroes: true } }), { powerOnUnitAttention: false });
    const missing = lu.commands.filter((d) => {
      const cdb = new Uint8Array(d.cdbLength);
      cdb[0] = d.opcode;
      cdb[1] = d.serviceAction ?? 0;
      return conflictRow(cdb) === DEFAULT_ROW;
    });
    expect(missing.map((d) => d.name)).toEqual([]);
  });

  test('rows are unique per operation code and service action, except the field-dependent ones', () => {
    const seen = new Set<string>();
    for (const r of CONFLICT_TABLE) {
      if (r.when !== undefined) continue;
      const k = `${r.opcode}/${r.serviceAction ?? '-'}`;
      expect(seen.has(k), r.name).toBe(false);
      seen.add(k);
    }
  });

  test('a command not in the table is treated as a medium write', () => {
    const row = conflictRow(bytes('ff 00 00 00 00 00'));
    expect(row).toBe(DEFAULT_ROW);
    expect(TYPES.map((t) => persistentAccess(row, t, false))).toEqual(['conflict', 'conflict', 'conflict', 'conflict', 'conflict', 'conflict']);
    expect(persistentAccess(row, PrType.WRITE_EXCLUSIVE_REGISTRANTS_ONLY, true)).toBe('allowed');
    expect(row.spc2).toBe('conflict');
  });

  test('field-dependent rows: PREVENT ALLOW MEDIUM REMOVAL and START STOP UNIT', () => {
    expect(conflictRow(bytes('1e 00 00 00 00 00')).pr).toMatchObject({ ea: 'allowed' });
    expect(conflictRow(bytes('1e 00 00 00 02 00')).pr).toMatchObject({ ea: 'conflict', registered: 'allowed' });
    expect(conflictRow(bytes('1b 00 00 00 01 00')).pr).toMatchObject({ ea: 'allowed' });
    expect(conflictRow(bytes('1b 00 00 00 03 00')).pr).toMatchObject({ ea: 'allowed' }); // LOEJ with START: loading, still a start
    expect(conflictRow(bytes('1b 00 00 00 11 00')).pr).toMatchObject({ ea: 'conflict' }); // POWER CONDITION 1h
    expect(conflictRow(bytes('1b 00 00 00 00 00')).pr).toMatchObject({ we: 'conflict' });
  });
});
