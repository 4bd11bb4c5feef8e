// What an initiator port finds when its lost I_T nexus comes back (SAM-5 I_T
// nexus loss): I_T NEXUS LOSS OCCURRED (29h/07h), or the power on or reset
// condition it still had pending, which outranks it; then the unit attentions
// established for it while it was away, such as the REGISTRATIONS PREEMPTED
// (2Ah/05h) SPC-5 gives the initiator port of a preempted registration. Its
// deferred errors go with the nexus. The unit keeps MAX_LOST_NEXUSES lost
// nexuses, the earliest lost dropped first, and none past a logical unit reset.

import { describe, test } from 'vitest';
import { UNIT_ATTENTION, expectGood, expectSense, unit, type Unit } from './harness.js';
import { PREEMPT, REGISTER, RESERVE, TUR, WE, proutCdb, proutList } from './pr-helpers.js';
import { MAX_LOST_NEXUSES } from '../../../src/scsi/sbc/nexus-state.js';
import { UnitAttention } from '../../../src/scsi/sbc/errors.js';
import { Asc, SenseKey, sense } from '../../../src/scsi/sense.js';

const KA = 0xaan;
const KB = 0xbbn;
const POWER_ON = { key: UNIT_ATTENTION, asc: 0x29, ascq: 0x00 };
const LU_RESET = { key: UNIT_ATTENTION, asc: 0x29, ascq: 0x03 };
const NEXUS_LOSS = { key: UNIT_ATTENTION, asc: 0x29, ascq: 0x07 };
const REGISTRATIONS_PREEMPTED = { key: UNIT_ATTENTION, asc: 0x2a, ascq: 0x05 };
const CAPACITY_CHANGED = { key: UNIT_ATTENTION, asc: 0x2a, ascq: 0x09 };

/** TEST UNIT READY from `nexus`: the unit attentions `want`, one command each, then GOOD. */
async function reports(u: Unit, nexus: string, ...want: (typeof POWER_ON)[]): Promise<void> {
  for (const w of want) expectSense(await u.run(TUR, { nexus }), w);
  expectGood(await u.run(TUR, { nexus }));
}

describe('a lost I_T nexus coming back', () => {
  test('reports I_T NEXUS LOSS OCCURRED, then the REGISTRATIONS PREEMPTED established while it was away', async () => {
    const u = await unit();
    const prout = async (nexus: string, sa: number, rk: bigint, sark: bigint, type = 0): Promise<void> => {
      expectGood(await u.run(proutCdb(sa, type), { nexus, dataOut: proutList(rk, sark) }));
    };
    await prout('a', REGISTER, 0n, KA);
    await prout('b', REGISTER, 0n, KB);
    await prout('a', RESERVE, KA, 0n, WE);
    u.lu.forgetNexus('b');
    // a preempts b's registration (no reservation of b's to take): SPC-5 tells b's initiator port.
    await prout('a', PREEMPT, KA, KB, WE);
    await reports(u, 'b', NEXUS_LOSS, REGISTRATIONS_PREEMPTED);
    await reports(u, 'a');
  });

  test('a power on or reset condition still pending when it was lost stands in place of I_T NEXUS LOSS (it outranks it)', async () => {
    const u = await unit({}, { powerOnUnitAttention: true });
    // INQUIRY neither reports nor clears the power-on condition (SAM-5).
    expectGood(await u.run('12 00 00 00 24 00', { nexus: 'a' }));
    u.lu.forgetNexus('a');
    await reports(u, 'a', POWER_ON);
    await reports(u, 'b', POWER_ON);
    u.lu.resetLogicalUnit();
    u.lu.forgetNexus('b');
    await reports(u, 'b', LU_RESET);
  });

  test('its deferred errors went with it, and none are kept for it while it is away', async () => {
    const u = await unit();
    expectGood(await u.run(TUR, { nexus: 'a' }));
    const failed = sense(SenseKey.MEDIUM_ERROR, Asc.WRITE_ERROR);
    u.lu.deferError('a', failed);
    u.lu.forgetNexus('a');
    u.lu.deferError('a', failed);
    await reports(u, 'a', NEXUS_LOSS);
  });

  test('conditions every nexus gets while it is away queue behind I_T NEXUS LOSS; a reset condition replaces it', async () => {
    const u = await unit();
    for (const nexus of ['a', 'b']) expectGood(await u.run(TUR, { nexus }));
    u.lu.forgetNexus('a');
    u.lu.raiseUnitAttention(UnitAttention.CAPACITY_DATA_HAS_CHANGED);
    await reports(u, 'a', NEXUS_LOSS, CAPACITY_CHANGED);
    await reports(u, 'b', CAPACITY_CHANGED);
    u.lu.forgetNexus('b');
    u.lu.raiseUnitAttention(UnitAttention.CAPACITY_DATA_HAS_CHANGED);
    u.lu.raiseUnitAttention(UnitAttention.POWER_ON_RESET);
    await reports(u, 'b', POWER_ON);
  });

  test('a nexus the unit never saw gets no deferred error: its first command reports nothing', async () => {
    const u = await unit();
    u.lu.deferError('z', sense(SenseKey.MEDIUM_ERROR, Asc.WRITE_ERROR));
    await reports(u, 'z');
  });

  test('a nexus the unit never saw leaves nothing when lost: it comes as a new nexus does', async () => {
    const u = await unit();
    u.lu.forgetNexus('z');
    await reports(u, 'z');
  });

  test('a logical unit reset forgets lost nexuses: they come back as new nexuses do (POWER ON, which names the reset too)', async () => {
    const u = await unit({}, { powerOnUnitAttention: true });
    await reports(u, 'a', POWER_ON);
    u.lu.forgetNexus('a');
    u.lu.resetLogicalUnit();
    await reports(u, 'a', POWER_ON);
  });

  test(`past ${MAX_LOST_NEXUSES} lost nexuses the earliest lost is dropped: it comes back as a new nexus does`, async () => {
    const u = await unit({}, { powerOnUnitAttention: true });
    const ids = Array.from({ length: MAX_LOST_NEXUSES + 1 }, (_, i) => `n${i}`);
    for (const nexus of ids) {
      await reports(u, nexus, POWER_ON);
      u.lu.forgetNexus(nexus);
    }
    await reports(u, 'n0', POWER_ON);
    await reports(u, 'n1', NEXUS_LOSS);
    await reports(u, `n${MAX_LOST_NEXUSES}`, NEXUS_LOSS);
  });
});
