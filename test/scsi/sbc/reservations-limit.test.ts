// The registrations a unit keeps (SbcEmulatorOptions.maxRegistrations): they
// outlive their I_T nexuses (SPC-5), so past the limit a REGISTER or REGISTER
// AND IGNORE EXISTING KEY that would add one ends CHECK CONDITION, ILLEGAL
// REQUEST, INSUFFICIENT REGISTRATION RESOURCES (55h/04h) with nothing changed,
// while the registered nexuses go on changing their keys and unregistering.

import { describe, expect, test } from 'vitest';
import { MemoryBlockSet } from '../../../src/scsi/sbc/memory-block-set.js';
import { SbcEmulator } from '../../../src/scsi/sbc/emulator.js';
import { expectSense, ILLEGAL_REQUEST } from './harness.js';
import { READ_KEYS, REGISTER, REGISTER_AND_IGNORE, generation, good, keysOf, nexuses, prinCdb, proutList, type Nexuses } from './pr-helpers.js';

const KA = 0xaaaa_0000_0000_0001n;
const KB = 0xbbbb_0000_0000_0002n;
const KC = 0xcccc_0000_0000_0003n;
const KD = 0xdddd_0000_0000_0004n;

/** CHECK CONDITION, ILLEGAL REQUEST, INSUFFICIENT REGISTRATION RESOURCES (55h/04h), no field pointer. */
const insufficient = { key: ILLEGAL_REQUEST, asc: 0x55, ascq: 0x04 };

/** A unit keeping at most two registrations, with `a` and `b` registered (PRGENERATION 2). */
async function full(): Promise<Nexuses> {
  const n = await nexuses({ maxRegistrations: 2 });
  good(await n.prout('a', REGISTER, proutList(0n, KA)));
  good(await n.prout('b', REGISTER_AND_IGNORE, proutList(0n, KB)));
  return n;
}

describe('maxRegistrations', () => {
  test('a third nexus registering → 55h/04h, by either service action; nothing registered, PRGENERATION unchanged', async () => {
    const n = await full();
    expectSense(await n.prout('c', REGISTER, proutList(0n, KC)), insufficient);
    expectSense(await n.prout('c', REGISTER_AND_IGNORE, proutList(0n, KC)), insufficient);
    const keys = await n.prin('a', READ_KEYS);
    expect(generation(keys)).toBe(2);
    expect(keysOf(keys)).toEqual([KA, KB]);
  });

  test('at the limit the registered nexuses change their keys and unregister; a nexus registering key 0 adds nothing', async () => {
    const n = await full();
    good(await n.prout('a', REGISTER, proutList(KA, KC)));
    good(await n.prout('b', REGISTER_AND_IGNORE, proutList(0n, KD)));
    // SERVICE ACTION RESERVATION KEY 0 from an unregistered nexus registers nothing: GOOD (and counted), as without a limit.
    good(await n.prout('c', REGISTER, proutList(0n, 0n)));
    expect(keysOf(await n.prin('a', READ_KEYS))).toEqual([KC, KD]);
    good(await n.prout('a', REGISTER, proutList(KC, 0n)));
    // The room a registration left is there for the next one.
    good(await n.prout('c', REGISTER, proutList(0n, KA)));
    const keys = await n.prin('c', READ_KEYS);
    expect(keysOf(keys)).toEqual([KD, KA]);
    expect(generation(keys)).toBe(7);
    expectSense(await n.prout('a', REGISTER, proutList(0n, KA)), insufficient);
  });

  test('a registration lost with its I_T nexus still counts (it is kept, SPC-5)', async () => {
    const n = await full();
    n.u.lu.forgetNexus('a');
    expectSense(await n.prout('c', REGISTER, proutList(0n, KC)), insufficient);
    expect(keysOf(await n.prin('b', READ_KEYS))).toEqual([KA, KB]);
  });

  test('by default 1024: the 1025th nexus is refused', async () => {
    const n = await nexuses();
    for (let i = 0; i < 1024; i++) good(await n.prout(`n${i}`, REGISTER_AND_IGNORE, proutList(0n, BigInt(i + 1))));
    expectSense(await n.prout('n1024', REGISTER_AND_IGNORE, proutList(0n, 1025n)), insufficient);
    const r = await n.as('n0', prinCdb(READ_KEYS, 8));
    expect(generation(r.data ?? new Uint8Array(0))).toBe(1024);
  });

  test.each([0, -1, 1.5, Number.NaN, 2 ** 53])('%s is a RangeError naming the option', async (bad) => {
    await expect(SbcEmulator.create(new MemoryBlockSet({ blocks: 8 }), { maxRegistrations: bad })).rejects.toThrow(
      new RangeError(`maxRegistrations must be a whole number of at least 1, got ${bad}`),
    );
  });
});
