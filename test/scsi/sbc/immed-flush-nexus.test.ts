// Whose the failure of an IMMED flush is: the I_T nexus the IMMED command came
// from (SPC-5 deferred errors), as long as that nexus lasts. An I_T nexus loss
// drops its deferred errors (SAM-5), those of its flushes still running
// included: the initiator port coming back is a new I_T nexus, which hears
// I_T NEXUS LOSS OCCURRED and nothing of the lost one's commands, and a nexus
// the unit has forgotten is not made up again for a deferred error. A logical
// unit reset ends no I_T nexus: it drops the deferred errors pending then, and
// a flush still running that fails after it is a deferred error for its nexus.

import { describe, expect, test } from 'vitest';
import type { SbcResult } from '../../../src/scsi/sbc/execute-api.js';
import { SbcEmulator } from '../../../src/scsi/sbc/emulator.js';
import { HARDWARE_ERROR, UNIT_ATTENTION, bytes, expectGood, expectSense } from './harness.js';
import { HookedBlockSet, gate, settle } from './hooked-block-set.js';

/** SYNCHRONIZE CACHE (10) with IMMED (byte 1 bit 1), the whole medium. */
const SYNC10_IMMED = '35 02 00 00 00 00 00 00 00 00';
const TUR = '00 00 00 00 00 00';
const NEXUS_LOSS = { key: UNIT_ATTENTION, asc: 0x29, ascq: 0x07 };
const LU_RESET = { key: UNIT_ATTENTION, asc: 0x29, ascq: 0x03 };

/** CHECK CONDITION, deferred error (RESPONSE CODE 71h), HARDWARE ERROR, INTERNAL TARGET FAILURE (44h/00h). */
function expectDeferred(r: SbcResult): void {
  const s = r.sense ?? new Uint8Array(0);
  expect([r.status, (s[0] ?? 0) & 0x7f, (s[2] ?? 0) & 0x0f, s[12], s[13]]).toEqual([0x02, 0x71, HARDWARE_ERROR, 0x44, 0x00]);
}

/** A unit whose every FLUSH fails once the test lets it go (fail()). */
async function failingFlushes(): Promise<{ lu: SbcEmulator; run: (cdb: string, nexus: string) => Promise<SbcResult>; fail: () => Promise<void> }> {
  const d = new HookedBlockSet({ fault: (op) => (op === 'flush' ? 'io-error' : undefined) });
  const g = gate();
  d.before = (op) => (op === 'flush' ? g.opened : undefined);
  const lu = await SbcEmulator.create(d, { powerOnUnitAttention: false });
  return {
    lu,
    run: (cdb, nexus) => lu.execute(bytes(cdb), { nexus }),
    fail: async () => {
      g.open();
      for (let i = 0; i < 5; i++) await settle();
    },
  };
}

describe('the failure of an IMMED flush and the I_T nexus it belongs to', () => {
  test('a lost nexus coming back while its flush runs: I_T NEXUS LOSS, and only the failure of the flush its new command joined', async () => {
    const { lu, run, fail } = await failingFlushes();
    expectGood(await run(SYNC10_IMMED, 'a'));
    expectGood(await run(SYNC10_IMMED, 'b'));
    lu.forgetNexus('a');
    expectSense(await run(TUR, 'a'), NEXUS_LOSS);
    expectGood(await run(SYNC10_IMMED, 'a'));
    await fail();
    for (const nexus of ['a', 'b']) {
      expectDeferred(await run(TUR, nexus));
      expectGood(await run(TUR, nexus));
    }
  });

  test('a lost nexus the unit forgot (a logical unit reset forgets lost nexuses) is not made up again for its flush’s failure', async () => {
    const { lu, run, fail } = await failingFlushes();
    expectGood(await run(SYNC10_IMMED, 'a'));
    lu.forgetNexus('a');
    lu.resetLogicalUnit();
    await fail();
    expectGood(await run(TUR, 'a'));
  });

  test('a logical unit reset while the flush runs: the nexus outlives it, and the failure that comes after it is a deferred error for that nexus only', async () => {
    const { lu, run, fail } = await failingFlushes();
    expectGood(await run(TUR, 'b'));
    expectGood(await run(SYNC10_IMMED, 'a'));
    lu.resetLogicalUnit();
    await fail();
    expectSense(await run(TUR, 'a'), LU_RESET);
    expectDeferred(await run(TUR, 'a'));
    expectGood(await run(TUR, 'a'));
    expectSense(await run(TUR, 'b'), LU_RESET);
    expectGood(await run(TUR, 'b'));
  });
});
