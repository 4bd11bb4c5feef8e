// Prevention of medium removal (SBC-4 PREVENT ALLOW MEDIUM REMOVAL, removable
// personality) against PERSISTENT RESERVE OUT (SPC-5): a nexus whose
// registration a PREEMPT, PREEMPT AND ABORT or CLEAR removes loses its
// prevention; a nexus that stays registered, or was never registered, keeps
// its own. CDBs and parameter lists written from the SBC-4 / SPC-5 tables
// (pr-helpers.ts); 53h/02h is MEDIUM REMOVAL PREVENTED.

import { describe, test } from 'vitest';
import type { SbcResult } from '../../../src/scsi/sbc/execute-api.js';
import { ILLEGAL_REQUEST, UNIT_ATTENTION, expectGood, expectSense, unit, type Unit } from './harness.js';
import { CLEAR, PREEMPT, PREEMPT_AND_ABORT, REGISTER_AND_IGNORE, RESERVE, WE, EA, conflict, good, proutCdb, proutList } from './pr-helpers.js';

const PREVENT = '1e 00 00 00 01 00';
const ALLOW = '1e 00 00 00 00 00';
const EJECT = '1b 00 00 00 02 00'; // LOEJ 1, START 0
const PREVENTED = { key: ILLEGAL_REQUEST, asc: 0x53, ascq: 0x02 };

/** A removable unit; `as(nexus, cdb, data)` runs a command as that I_T nexus. */
async function removable(): Promise<{ u: Unit; as: (nexus: string, cdb: string | Uint8Array, dataOut?: Uint8Array) => Promise<SbcResult> }> {
  const u = await unit({}, { removable: true });
  return { u, as: (nexus, cdb, dataOut) => u.run(cdb, dataOut === undefined ? { nexus } : { nexus, dataOut }) };
}

type As = Awaited<ReturnType<typeof removable>>['as'];
const prout = (as: As, nexus: string, sa: number, rk: bigint, sark: bigint, type = 0): Promise<SbcResult> => as(nexus, proutCdb(sa, type), proutList(rk, sark));

/**
 * `preventing` prevent removal (before the reservation: under Write Exclusive a PREVENT from anyone but the holder
 * conflicts, SPC-5); then a and b register (keys 0Ah, 0Bh) and a takes Write Exclusive.
 */
async function registered(preventing: readonly string[]): Promise<As> {
  const { as } = await removable();
  for (const n of preventing) expectGood(await as(n, PREVENT));
  good(await prout(as, 'a', REGISTER_AND_IGNORE, 0n, 0xan));
  good(await prout(as, 'b', REGISTER_AND_IGNORE, 0n, 0xbn));
  good(await prout(as, 'a', RESERVE, 0xan, 0n, WE));
  expectSense(await as('a', EJECT), PREVENTED);
  return as;
}

describe('a registration removed ends that nexus’s prevention', () => {
  test.each([
    ['PREEMPT', PREEMPT],
    ['PREEMPT AND ABORT', PREEMPT_AND_ABORT],
  ] as const)('%s of b’s key: b’s prevention ends (one that fails, naming a key nobody has, ends none)', async (_, sa) => {
    const as = await registered(['b']);
    conflict(await prout(as, 'a', sa, 0xan, 0x99n, WE));
    expectSense(await as('a', EJECT), PREVENTED);
    good(await prout(as, 'a', sa, 0xan, 0xbn, WE));
    expectGood(await as('a', EJECT));
  });

  test('PREEMPT without a reservation removing the sender’s own registration (same key) ends the sender’s prevention too', async () => {
    const { as } = await removable();
    good(await prout(as, 'a', REGISTER_AND_IGNORE, 0n, 0x77n));
    good(await prout(as, 'b', REGISTER_AND_IGNORE, 0n, 0x77n));
    expectGood(await as('a', PREVENT));
    expectGood(await as('b', PREVENT));
    good(await prout(as, 'a', PREEMPT, 0x77n, 0x77n, WE));
    expectGood(await as('c', EJECT));
  });

  test('CLEAR removes every registration: the sender’s and the other registrant’s preventions end, an unregistered nexus’s stays', async () => {
    const as = await registered(['a', 'b', 'c']);
    good(await prout(as, 'a', CLEAR, 0xan, 0n));
    expectSense(await as('a', EJECT), PREVENTED);
    expectGood(await as('c', ALLOW));
    expectGood(await as('a', EJECT));
  });

  test('a nexus that stays registered (another key, or the holder preempting its own key for a type change) or was never registered keeps its prevention', async () => {
    const as = await registered(['a', 'b', 'c', 'd']);
    good(await prout(as, 'c', REGISTER_AND_IGNORE, 0n, 0xcn));
    good(await prout(as, 'a', PREEMPT, 0xan, 0xan, EA));
    good(await prout(as, 'a', PREEMPT_AND_ABORT, 0xan, 0xbn, EA));
    // The type change told c, still registered: RESERVATIONS RELEASED.
    expectSense(await as('c', '00 00 00 00 00 00'), { key: UNIT_ATTENTION, asc: 0x2a, ascq: 0x04 });
    for (const n of ['c', 'd', 'a']) {
      expectSense(await as('a', EJECT), PREVENTED);
      expectGood(await as(n, ALLOW));
    }
    expectGood(await as('a', EJECT));
  });
});
