// The logical unit told, after its PERSISTENT RESERVE OUT PREEMPT AND ABORT,
// whose commands the transport aborted before they reached it
// (SbcEmulator.transportAborted; SPC-5 preempting and aborting, SAM-5 5.6
// aborting commands): with TAS 0 each such I_T nexus but the sender gets
// COMMANDS CLEARED BY ANOTHER INITIATOR (2Fh/00h) after the REGISTRATIONS
// PREEMPTED (2Ah/05h) the preempt gave it, once, also when the unit aborted
// a command of that nexus itself; with TAS 1 nobody gets one. The
// PERSISTENT RESERVE OUT CDBs and parameter lists are written from SPC-5's
// tables (pr-helpers.ts).

import { describe, expect, test } from 'vitest';
import { UNIT_ATTENTION, expectGood, expectSense, unit } from './harness.js';
import { PREEMPT_AND_ABORT, REGISTER, TUR, WE, proutCdb, proutList } from './pr-helpers.js';
import type { SbcEmulatorOptions } from '../../../src/scsi/sbc/unit-description.js';

const PREEMPTED = { key: UNIT_ATTENTION, asc: 0x2a, ascq: 0x05 };
const CLEARED = { key: UNIT_ATTENTION, asc: 0x2f, ascq: 0x00 };
const KA = 0xaan;
const KB = 0xbbn;

/**
 * Nexuses a, b, c and d seen by the unit; a registered with KA, b and c with KB; a has preempted KB with
 * abort (no reservation: b's and c's registrations go). The transport ran commands of `running` when it did.
 */
async function preempted(emu: SbcEmulatorOptions = {}, running: readonly string[] = []): Promise<Awaited<ReturnType<typeof unit>>> {
  const u = await unit({}, emu);
  u.lu.onAbortTasks((end) => ({ nexuses: running.filter((n) => end(n) !== undefined), done: Promise.resolve() }));
  for (const nexus of ['a', 'b', 'c', 'd']) expectGood(await u.run(TUR, { nexus }));
  for (const [nexus, key] of [['a', KA], ['b', KB], ['c', KB]] as const) expectGood(await u.run(proutCdb(REGISTER), { nexus, dataOut: proutList(0n, key) }));
  const r = await u.run(proutCdb(PREEMPT_AND_ABORT, WE), { nexus: 'a', dataOut: proutList(KA, KB) });
  expect({ status: r.status, preempted: r.preempted }).toEqual({ status: 0, preempted: ['b', 'c'] });
  return u;
}

describe('SbcEmulator.transportAborted after a PREEMPT AND ABORT', () => {
  test('TAS 0: each listed nexus but the sender gets 2Fh/00h after its 2Ah/05h, once though listed twice; the sender and an unlisted nexus get none', async () => {
    const u = await preempted();
    u.lu.transportAborted('a', ['a', 'b', 'b']);
    expectSense(await u.run(TUR, { nexus: 'b' }), PREEMPTED);
    expectSense(await u.run(TUR, { nexus: 'b' }), CLEARED);
    expectGood(await u.run(TUR, { nexus: 'b' }));
    expectSense(await u.run(TUR, { nexus: 'c' }), PREEMPTED);
    expectGood(await u.run(TUR, { nexus: 'c' }));
    expectGood(await u.run(TUR, { nexus: 'a' }));
    expectGood(await u.run(TUR, { nexus: 'd' }));
  });

  test('TAS 0: a nexus the unit aborted a command of itself, listed too, gets 2Fh/00h once', async () => {
    const u = await preempted({}, ['b']);
    u.lu.transportAborted('a', ['b', 'c']);
    for (const nexus of ['b', 'c']) {
      expectSense(await u.run(TUR, { nexus }), PREEMPTED);
      expectSense(await u.run(TUR, { nexus }), CLEARED);
      expectGood(await u.run(TUR, { nexus }));
    }
  });

  test('TAS 1: nobody gets 2Fh/00h (the aborted commands ended TASK ABORTED)', async () => {
    const u = await preempted({ taskAbortedStatus: true }, ['b']);
    u.lu.transportAborted('a', ['b', 'c', 'd']);
    for (const nexus of ['b', 'c']) {
      expectSense(await u.run(TUR, { nexus }), PREEMPTED);
      expectGood(await u.run(TUR, { nexus }));
    }
    for (const nexus of ['a', 'd']) expectGood(await u.run(TUR, { nexus }));
  });

  test('a nexus the unit never saw gets none; a lost one gets it on its return, after I_T NEXUS LOSS OCCURRED', async () => {
    const u = await preempted();
    u.lu.forgetNexus('c');
    u.lu.transportAborted('a', ['c', 'z']);
    // The loss superseded c's pending 2Ah/05h, as a reset condition does; what came after it queues behind.
    expectSense(await u.run(TUR, { nexus: 'c' }), { key: UNIT_ATTENTION, asc: 0x29, ascq: 0x07 });
    expectSense(await u.run(TUR, { nexus: 'c' }), CLEARED);
    expectGood(await u.run(TUR, { nexus: 'c' }));
    expectGood(await u.run(TUR, { nexus: 'z' }));
    expectSense(await u.run(TUR, { nexus: 'b' }), PREEMPTED);
    expectGood(await u.run(TUR, { nexus: 'b' }));
  });
});
