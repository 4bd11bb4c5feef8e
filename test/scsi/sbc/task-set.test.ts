// The logical unit's side of ABORT TASK SET and CLEAR TASK SET (SAM-5 task
// management functions; SAM-5 aborting commands), against a scripted
// TaskAborter standing in for the transport: which I_T nexuses' commands it is
// asked to abort and how each is to end (without status, or TASK ABORTED with
// TAS 1), which nexuses then get COMMANDS CLEARED BY ANOTHER INITIATOR
// (2Fh/00h) — including those CLEAR TASK SET names as having had commands
// aborted by the transport before they reached the unit — and that the
// function settles only once the transport's aborts have. The Control mode
// page's TAS bit is byte 5 bit 6 (SPC-5).

import { describe, expect, test } from 'vitest';
import type { AbortedCommandEnd } from '../../../src/scsi/sbc/task-abort.js';
import { UNIT_ATTENTION, expectGood, expectSense, unit, type Unit } from './harness.js';

const TUR = '00 00 00 00 00 00';
const CLEARED = { key: UNIT_ATTENTION, asc: 0x2f, ascq: 0x00 };
const NEXUSES = ['a', 'b', 'c'] as const;

/** A transport that holds commands of `holding`; records how the unit asks each nexus's commands to end. */
function scripted(u: Unit, holding: readonly string[]): { asked: Record<string, AbortedCommandEnd | undefined>[]; finish: () => void } {
  const asked: Record<string, AbortedCommandEnd | undefined>[] = [];
  let finish = (): void => undefined;
  u.lu.onAbortTasks((end) => {
    asked.push(Object.fromEntries(NEXUSES.map((n) => [n, end(n)])));
    const done = new Promise<void>((r) => {
      finish = r;
    });
    return { nexuses: holding.filter((n) => end(n) !== undefined), done };
  });
  return {
    asked,
    finish: () => {
      finish();
    },
  };
}

/** Every nexus has been seen by the unit (unit attentions are kept only for those). */
async function seen(u: Unit): Promise<void> {
  for (const nexus of NEXUSES) expectGood(await u.run(TUR, { nexus }));
}

/** Whether `p` has settled after a few turns. */
async function settled(p: Promise<void>): Promise<boolean> {
  let done = false;
  void p.then(() => (done = true));
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
  return done;
}

describe('CLEAR TASK SET', () => {
  test('TAS 0: every nexus’s commands end without status; those that had commands, but the sender, get 2Fh/00h; it settles when the transport’s aborts have', async () => {
    const u = await unit();
    await seen(u);
    const t = scripted(u, ['a', 'b']);
    const p = u.lu.clearTaskSet('a');
    expect(t.asked).toEqual([{ a: 'no-status', b: 'no-status', c: 'no-status' }]);
    expect(await settled(p)).toBe(false);
    t.finish();
    expect(await settled(p)).toBe(true);
    expectSense(await u.run(TUR, { nexus: 'b' }), CLEARED);
    expectGood(await u.run(TUR, { nexus: 'b' }));
    expectGood(await u.run(TUR, { nexus: 'a' }));
    expectGood(await u.run(TUR, { nexus: 'c' }));
  });

  test('TAS 1: the other nexuses’ commands end with TASK ABORTED, the sender’s without status; no unit attention', async () => {
    const u = await unit({}, { taskAbortedStatus: true });
    await seen(u);
    const t = scripted(u, ['a', 'b', 'c']);
    const p = u.lu.clearTaskSet('b');
    expect(t.asked).toEqual([{ a: 'task-aborted', b: 'no-status', c: 'task-aborted' }]);
    t.finish();
    await p;
    for (const nexus of NEXUSES) expectGood(await u.run(TUR, { nexus }));
  });

  test('nothing held anywhere: no unit attention for anyone', async () => {
    const u = await unit();
    await seen(u);
    const t = scripted(u, []);
    const p = u.lu.clearTaskSet('a');
    t.finish();
    await p;
    for (const nexus of NEXUSES) expectGood(await u.run(TUR, { nexus }));
  });

  test('TAS 0, nexuses the transport aborted commands of: each listed one but the sender gets 2Fh/00h once, also when the unit aborted one of its commands too', async () => {
    const u = await unit();
    await seen(u);
    const t = scripted(u, ['b']);
    const p = u.lu.clearTaskSet('a', ['a', 'b', 'c']);
    t.finish();
    await p;
    expectSense(await u.run(TUR, { nexus: 'b' }), CLEARED);
    expectGood(await u.run(TUR, { nexus: 'b' }));
    expectSense(await u.run(TUR, { nexus: 'c' }), CLEARED);
    expectGood(await u.run(TUR, { nexus: 'c' }));
    expectGood(await u.run(TUR, { nexus: 'a' }));
  });

  test('TAS 0, a listed nexus without a transport that aborts (no onAbortTasks): it gets 2Fh/00h, the others nothing', async () => {
    const u = await unit();
    await seen(u);
    await u.lu.clearTaskSet('a', ['c']);
    expectSense(await u.run(TUR, { nexus: 'c' }), CLEARED);
    expectGood(await u.run(TUR, { nexus: 'c' }));
    for (const nexus of ['a', 'b']) expectGood(await u.run(TUR, { nexus }));
  });

  test('TAS 1, nexuses the transport aborted commands of: no unit attention for anyone', async () => {
    const u = await unit({}, { taskAbortedStatus: true });
    await seen(u);
    const t = scripted(u, ['b']);
    const p = u.lu.clearTaskSet('a', ['b', 'c']);
    t.finish();
    await p;
    for (const nexus of NEXUSES) expectGood(await u.run(TUR, { nexus }));
  });

  test('without a transport that aborts (no onAbortTasks): it settles and changes nothing', async () => {
    const u = await unit();
    await seen(u);
    await u.lu.clearTaskSet('a');
    for (const nexus of NEXUSES) expectGood(await u.run(TUR, { nexus }));
  });
});

describe('ABORT TASK SET', () => {
  test.each([false, true])('only the sender’s commands, without status (TAS %s); no unit attention, the sender’s included', async (tas) => {
    const u = await unit({}, { taskAbortedStatus: tas });
    await seen(u);
    const t = scripted(u, ['a', 'b']);
    const p = u.lu.abortTaskSet('a');
    expect(t.asked).toEqual([{ a: 'no-status', b: undefined, c: undefined }]);
    expect(await settled(p)).toBe(false);
    t.finish();
    await p;
    for (const nexus of NEXUSES) expectGood(await u.run(TUR, { nexus }));
  });
});

describe('TAS in the Control mode page', () => {
  test('byte 5 of the current and default values is 40h with taskAbortedStatus, 00h without; TAS is not changeable', async () => {
    // MODE SENSE (6), DBD 1, Control page; PC 00b current, 10b default, 01b changeable. Page byte 5 is at 4 + 5.
    const page5 = async (u: Unit, pc: number): Promise<number> => (await u.run(`1a 08 ${(0x0a | (pc << 6)).toString(16)} 00 ff 00`)).data?.[9] ?? -1;
    const units = [await unit({}, { taskAbortedStatus: true }), await unit()];
    const seenBytes = await Promise.all(units.map(async (u) => [await page5(u, 0), await page5(u, 2), await page5(u, 1)]));
    expect(seenBytes).toEqual([
      [0x40, 0x40, 0x00],
      [0x00, 0x00, 0x00],
    ]);
  });
});
