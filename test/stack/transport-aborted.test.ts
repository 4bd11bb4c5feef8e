// pass.transportAborted (XPT_TRANSPORT_ABORTED): after a PERSISTENT RESERVE
// OUT PREEMPT AND ABORT completed GOOD, a front end tells the logical unit
// whose commands it aborted itself, before they reached the unit (SPC-5
// preempting and aborting; SAM-5 5.6 aborting commands). With TAS 0 in the
// Control mode page each such I_T nexus but the sender gets COMMANDS CLEARED
// BY ANOTHER INITIATOR (2Fh/00h), after the REGISTRATIONS PREEMPTED (2Ah/05h)
// the preempt gave it, once; established before the call returns, so a
// command sent right after it meets it; with TAS 1 nobody gets one. Bad input
// is a RangeError. CAM status words from FreeBSD cam.h; CDBs from the SPC-5
// tables.

import { afterEach, describe, expect, test } from 'vitest';
import { createStack, type Stack } from '../../src/stack.js';
import { MemoryBackend } from '../../src/virtio/device/backends/memory.js';
import { senseTriple } from './helpers.js';
import { expectIdle } from './fault-rig.js';
import { A, B, C, ProutAction, TUR, list, prout, run, settle } from './pr-fixtures.js';

const REQ_CMP = 0x01;
const STATUS_MASK = 0x3f;
/** TYPE 1h: Write Exclusive. */
const WE = 1;
/** '6,42,5': UNIT ATTENTION, REGISTRATIONS PREEMPTED; '6,47,0': COMMANDS CLEARED BY ANOTHER INITIATOR. */
const PREEMPTED = '6,42,5';
const CLEARED = '6,47,0';

let stack: Stack | undefined;
afterEach(async () => {
  await stack?.close();
  stack = undefined;
});

/** A stack whose unit has TAS `tas`; A registered with key 0Ah, B and C with 0Bh; A has preempted 0Bh with abort (no reservation). */
async function preempted(tas = false): Promise<Stack> {
  stack = await createStack({ backend: new MemoryBackend({ blocks: 1024 }), queueSize: 64, ...(tas ? { emulator: { taskAbortedStatus: true } } : {}) });
  const s = stack;
  for (const who of [A, B, C]) await settle(s, who);
  for (const [who, key] of [[A, 0x0a], [B, 0x0b], [C, 0x0b]] as const) expect((await run(s, who, prout(0), list(0, key))).camStatus & STATUS_MASK).toBe(REQ_CMP);
  const r = await run(s, A, prout(ProutAction.PREEMPT_AND_ABORT, WE), list(0x0a, 0x0b));
  expect({ cam: r.camStatus & STATUS_MASK, preempted: r.preempted }).toEqual({ cam: REQ_CMP, preempted: [B.id, C.id] });
  return s;
}

describe('pass.transportAborted', () => {
  test('TAS 0: a command sent right after the call meets 2Fh/00h; each listed nexus but the sender gets it once, after its 2Ah/05h', async () => {
    const s = await preempted();
    const told = s.pass(0).transportAborted(A, [A.id, B.id, C.id, C.id]);
    const first = run(s, B, TUR);
    const second = run(s, B, TUR);
    await told;
    expect([senseTriple((await first).sense)?.join(), senseTriple((await second).sense)?.join()]).toEqual([PREEMPTED, CLEARED]);
    expect(await settle(s, B)).toEqual([]);
    expect(await settle(s, C)).toEqual([PREEMPTED, CLEARED]);
    expect(await settle(s, A)).toEqual([]);
    expectIdle(s);
  });

  test('TAS 1: nobody gets 2Fh/00h', async () => {
    const s = await preempted(true);
    await s.pass(0).transportAborted(A, [B.id, C.id]);
    expect(await settle(s, B)).toEqual([PREEMPTED]);
    expect(await settle(s, C)).toEqual([PREEMPTED]);
    expect(await settle(s, A)).toEqual([]);
    expectIdle(s);
  });

  test.each([
    ['not an array', 'x', 'pass.transportAborted: transportAborted must be an array of initiator ids, got x'],
    ['an empty id', [B.id, ''], "pass.transportAborted: transportAborted[1] must be a non-empty string, got ''"],
    ['a non-string id', [7], 'pass.transportAborted: transportAborted[0] must be a non-empty string, got 7'],
  ])('%s: RangeError, nothing is sent, and the unit still works', async (_name, bad, message) => {
    const s = await preempted();
    expect(() => s.pass(0).transportAborted(A, bad as unknown as readonly string[])).toThrow(new RangeError(message));
    expect(await settle(s, B)).toEqual([PREEMPTED]);
    expect(await settle(s, C)).toEqual([PREEMPTED]);
    expectIdle(s);
  });
});
