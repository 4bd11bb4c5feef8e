// A PERSISTENT RESERVE OUT PREEMPT AND ABORT that is itself aborted while it
// waits for a preempted command the device is running (SPC-5 preempting and
// aborting; SAM-5 aborting commands): the preempt stands, so its CCB names
// the preempted I_T nexuses (ScsiResult.preempted) whatever it completes
// with — CAM_REQ_ABORTED after its own XPT_ABORT (the SIM resets the device
// for it), or after a CLEAR TASK SET of another nexus — for a front end that
// still holds commands of theirs short of the unit. CDBs and parameter lists
// from the SPC-5 tables; CAM status words from FreeBSD cam.h.

import { afterEach, describe, expect, test } from 'vitest';
import { createStack, type Stack } from '../../src/stack.js';
import { MemoryBackend } from '../../src/virtio/device/backends/memory.js';
import type { ScsiResult } from '../../src/cam/periph/request.js';
import { ProbeBackend, until } from './helpers.js';
import { A, B, C, ProutAction, READ_1, READ_KEYS, list, prout, run, settle } from './pr-fixtures.js';

const REQ_CMP = 0x01;
const REQ_ABORTED = 0x02;
const STATUS_MASK = 0x3f;
/** TYPE 1h: Write Exclusive. */
const WE = 1;

let stack: Stack | undefined;
afterEach(async () => {
  await stack?.close();
  stack = undefined;
});

/**
 * A, B and C past their power-on unit attentions; A registered with key 0Ah, B with 0Bh; B's READ held at
 * the device; A's PREEMPT AND ABORT of 0Bh sent (through pass.submit, its abort handle returned) and waiting
 * for that READ, the preempt made.
 */
async function waitingProut(): Promise<{ s: Stack; probe: ProbeBackend; abort: () => void; prout: Promise<ScsiResult>; readB: Promise<ScsiResult> }> {
  const probe = new ProbeBackend(new MemoryBackend({ blocks: 1024 }));
  const s = await createStack({ backend: probe, queueSize: 64 });
  stack = s;
  for (const who of [A, B, C]) await settle(s, who);
  for (const [who, key] of [[A, 0x0a], [B, 0x0b]] as const) expect((await run(s, who, prout(0), list(0, key))).camStatus & STATUS_MASK).toBe(REQ_CMP);
  probe.holdIf = (op) => op.kind === 'read';
  const readB = run(s, B, READ_1);
  await until(() => probe.heldCount === 1, 'B’s READ at the backend');
  let answered: (r: ScsiResult) => void = () => undefined;
  const answer = new Promise<ScsiResult>((resolve) => {
    answered = resolve;
  });
  const cmd = s.pass(0).submit({ cdb: prout(ProutAction.PREEMPT_AND_ABORT, WE), direction: 'out', data: list(0x0a, 0x0b), initiator: A }, answered);
  // The preempt is made: only A's key is left (READ KEYS, PRGENERATION then ADDITIONAL LENGTH 8: one key).
  probe.holdIf = undefined;
  const keys = await run(s, A, READ_KEYS);
  expect(keys.data?.subarray(4, 8)).toEqual(Uint8Array.of(0, 0, 0, 8));
  expect(probe.heldCount).toBe(1);
  return { s, probe, abort: () => { cmd.abort(); }, prout: answer, readB };
}

const outcome = (r: ScsiResult): { cam: number; preempted: readonly string[] | undefined } => ({ cam: r.camStatus & STATUS_MASK, preempted: r.preempted });

describe('a PREEMPT AND ABORT aborted while it waits names the nexuses it preempted', () => {
  test('XPT_ABORT of it (a device reset): it completes CAM_REQ_ABORTED naming B; B’s READ CAM_REQ_ABORTED', async () => {
    const { s, probe, abort, prout: p, readB } = await waitingProut();
    abort();
    await until(() => s.stats(0).simFrozen === 1, 'recovery started', 2000);
    probe.releaseHeld();
    expect(outcome(await p)).toEqual({ cam: REQ_ABORTED, preempted: [B.id] });
    expect(outcome(await readB)).toEqual({ cam: REQ_ABORTED, preempted: undefined });
  });

  test('CLEAR TASK SET of C: it completes CAM_REQ_ABORTED naming B once B’s READ has completed', async () => {
    const { s, probe, prout: p, readB } = await waitingProut();
    const cleared = s.pass(0).clearTaskSet(C);
    probe.releaseHeld();
    await cleared;
    expect(outcome(await p)).toEqual({ cam: REQ_ABORTED, preempted: [B.id] });
    expect(outcome(await readB)).toEqual({ cam: REQ_ABORTED, preempted: undefined });
  });

  test('completed GOOD it names B as before; a READ names nobody', async () => {
    const { probe, prout: p, readB } = await waitingProut();
    probe.releaseHeld();
    expect(outcome(await p)).toEqual({ cam: REQ_CMP, preempted: [B.id] });
    expect(outcome(await readB)).toEqual({ cam: REQ_ABORTED, preempted: undefined });
  });
});
