// The device queue through the XPT, driven by a FakeSim the test completes by
// hand: ordering (FIFO per priority, priorities, HEAD OF QUEUE, ORDERED
// barriers), openings from the SIM budget, freezes and XPT_REL_SIMQ, QUEUE
// FULL adaptation and requeue, timeouts, aborts and exactly-once completion.

import { describe, expect, test } from 'vitest';
import { CamPriority, CcbFlag, RelSim, TagAction, XptFunc, type AbortCcb, type Ccb, type RelSimqCcb, type ScsiIoCcb } from '../../src/cam/ccb.js';
import { CAM_DEV_QFRZN, CamStatus } from '../../src/cam/status.js';
import { ScsiStatus } from '../../src/scsi/index.js';
import { bench, tags, type Bench } from './xpt/harness.js';

const QFRZN_ERR = (s: number): number => s | CAM_DEV_QFRZN;

function submit(b: Bench, ...ccbs: ScsiIoCcb[]): void {
  for (const c of ccbs) b.xpt.action(c);
}

function relsim(b: Bench, init: Partial<Pick<RelSimqCcb, 'releaseFlags' | 'openings' | 'releaseTimeoutMs' | 'releaseCount'>>): RelSimqCcb {
  const ccb: RelSimqCcb = {
    func: XptFunc.REL_SIMQ,
    path: b.path,
    status: 0,
    priority: CamPriority.NORMAL,
    timeoutMs: 0,
    retryCount: 0,
    flags: 0,
    done: undefined,
    state: 'free',
    releaseFlags: init.releaseFlags ?? 0,
    openings: init.openings ?? 0,
    releaseTimeoutMs: init.releaseTimeoutMs ?? 0,
    releaseCount: init.releaseCount ?? 1,
    qfrozenCount: -1,
  };
  b.xpt.action(ccb);
  return ccb;
}

function abortOf(b: Bench, victim: Ccb, done?: (c: Ccb) => void): AbortCcb {
  const ccb: AbortCcb = { func: XptFunc.ABORT, path: b.path, status: 0, priority: CamPriority.OOB, timeoutMs: 0, retryCount: 0, flags: 0, done, state: 'free', abort: victim };
  b.xpt.action(ccb);
  return ccb;
}

const stats = (b: Bench) => {
  const s = b.xpt.stats(b.path);
  if (s === undefined) throw new Error('no stats');
  return s;
};

describe('ordering', () => {
  test('FIFO within a priority, more urgent priorities first', async () => {
    const b = await bench({ capacity: 1 });
    submit(b, b.io({ tag: 'A' }), b.io({ tag: 'B' }), b.io({ tag: 'C', priority: CamPriority.DEV }), b.io({ tag: 'D' }), b.io({ tag: 'E', priority: CamPriority.OOB }));
    expect(tags(b.sim.started.slice(-1))).toEqual(['A']);
    expect(stats(b)).toMatchObject({ active: 1, queued: 4 });
    for (let i = 0; i < 5; i++) b.sim.completeNext();
    expect(tags(b.log)).toEqual(['A', 'E', 'C', 'B', 'D']);
    expect(b.log.every((c) => c.status === CamStatus.REQ_CMP && c.state === 'done')).toBe(true);
  });

  test('HEAD OF QUEUE goes before everything waiting, newer HOQ after older HOQ', async () => {
    const b = await bench({ capacity: 1 });
    submit(b, b.io({ tag: 'A' }), b.io({ tag: 'B' }), b.io({ tag: 'C', priority: CamPriority.DEV }));
    submit(b, b.io({ tag: 'H1', tagAction: TagAction.HEAD_OF_QUEUE }), b.io({ tag: 'H2', tagAction: TagAction.HEAD_OF_QUEUE }));
    for (let i = 0; i < 5; i++) b.sim.completeNext();
    expect(tags(b.log)).toEqual(['A', 'H1', 'H2', 'C', 'B']);
  });

  test('ORDERED waits for the active CCBs, runs alone, and holds back what came after it', async () => {
    const b = await bench({ capacity: 8 });
    const [a, c1, o, c2, h] = [b.io({ tag: 'A' }), b.io({ tag: 'B' }), b.io({ tag: 'O', tagAction: TagAction.ORDERED }), b.io({ tag: 'C' }), b.io({ tag: 'H', tagAction: TagAction.HEAD_OF_QUEUE })];
    submit(b, a, c1, o, c2);
    expect(b.sim.active).toEqual([a, c1]);
    b.sim.complete(c1);
    expect(b.sim.active).toEqual([a]);
    b.sim.complete(a);
    expect(b.sim.active).toEqual([o]);
    // HEAD OF QUEUE jumps the waiting CCBs but not an active barrier.
    submit(b, h);
    expect(b.sim.active).toEqual([o]);
    b.sim.complete(o);
    expect(b.sim.active).toEqual([h, c2]);
    expect(tags(b.log)).toEqual(['B', 'A', 'O']);
  });

  test('a CCB submitted after a waiting ORDERED one does not pass it, however urgent its priority; HEAD OF QUEUE does', async () => {
    const b = await bench({ capacity: 8 });
    const [a, o, oob, h] = [
      b.io({ tag: 'A' }),
      b.io({ tag: 'O', tagAction: TagAction.ORDERED }),
      b.io({ tag: 'OOB', priority: CamPriority.OOB }),
      b.io({ tag: 'H', tagAction: TagAction.HEAD_OF_QUEUE }),
    ];
    submit(b, a, o, oob);
    expect(b.sim.active).toEqual([a]);
    expect(stats(b)).toMatchObject({ active: 1, queued: 2 });
    // SAM-5 §8.6: HEAD OF QUEUE enters enabled at once, and the ORDERED CCB waits for it too.
    submit(b, h);
    expect(b.sim.active).toEqual([a, h]);
    b.sim.complete(a);
    expect(b.sim.active).toEqual([h]);
    b.sim.complete(h);
    expect(b.sim.active).toEqual([o]);
    b.sim.complete(o);
    expect(b.sim.active).toEqual([oob]);
    b.sim.complete(oob);
    expect(tags(b.log)).toEqual(['A', 'H', 'O', 'OOB']);
    expect(b.sim.violations).toEqual([]);
  });

  test('an ORDERED CCB waits for every CCB submitted before it, the less urgent ones too', async () => {
    const b = await bench({ capacity: 1 });
    submit(b, b.io({ tag: 'A' }), b.io({ tag: 'low', priority: 0x500 }), b.io({ tag: 'O', tagAction: TagAction.ORDERED, priority: CamPriority.OOB }));
    for (let i = 0; i < 3; i++) b.sim.completeNext();
    expect(tags(b.log)).toEqual(['A', 'low', 'O']);
  });

  test('between ORDERED CCBs, priority orders what is free to run, FIFO within a priority', async () => {
    const b = await bench({ capacity: 1 });
    const ordered = (tag: string) => b.io({ tag, tagAction: TagAction.ORDERED });
    const oob = (tag: string) => b.io({ tag, priority: CamPriority.OOB });
    submit(b, b.io({ tag: 'A' }), b.io({ tag: 'b1' }), oob('b2'), ordered('O1'), b.io({ tag: 'c1' }), oob('c2'), oob('c3'), ordered('O2'), oob('d1'));
    expect(stats(b)).toMatchObject({ active: 1, queued: 8 });
    for (let i = 0; i < 9; i++) b.sim.completeNext();
    expect(tags(b.log)).toEqual(['A', 'b2', 'b1', 'O1', 'c2', 'c3', 'c1', 'O2', 'd1']);
    expect(stats(b)).toMatchObject({ active: 0, queued: 0 });
  });

  test('a waiting ORDERED CCB that is aborted no longer holds back what came after it', async () => {
    const b = await bench({ capacity: 8 });
    const [a, o1, c, o2, d] = [
      b.io({ tag: 'A' }),
      b.io({ tag: 'O1', tagAction: TagAction.ORDERED }),
      b.io({ tag: 'C', priority: CamPriority.OOB }),
      b.io({ tag: 'O2', tagAction: TagAction.ORDERED }),
      b.io({ tag: 'D' }),
    ];
    submit(b, a, o1, c, o2, d);
    // The second barrier goes first: what came after it now waits behind the first one alone.
    abortOf(b, o2);
    expect(o2.status).toBe(QFRZN_ERR(CamStatus.REQ_ABORTED));
    b.xpt.releaseDevq(b.path, 1, true);
    expect(b.sim.active).toEqual([a]);
    expect(stats(b)).toMatchObject({ queued: 3 });
    abortOf(b, o1);
    b.xpt.releaseDevq(b.path, 1, true);
    expect(b.sim.active).toEqual([a, c, d]);
    expect(tags(b.log)).toEqual(['O2', 'O1']);
  });

  test('abortWaiting and a lost device reach the CCBs held behind a waiting ORDERED one', async () => {
    const b = await bench({ capacity: 8 });
    const held = [b.io({ tag: 'O', tagAction: TagAction.ORDERED }), b.io({ tag: 'x' }), b.io({ tag: 'y', priority: CamPriority.OOB })];
    submit(b, b.io({ tag: 'A' }), ...held);
    expect(tags(b.sim.handle.abortQueued(b.path, (c) => (c as { tag?: string }).tag === 'x'))).toEqual(['x']);
    b.xpt.releaseDevq(b.path, 1, true);
    expect(stats(b)).toMatchObject({ active: 1, queued: 2 });
    await b.xpt.deregisterBus(b.path.bus);
    expect(tags(b.log)).toEqual(['x', 'O', 'y', 'A']);
    expect(held.map((c) => c.status)).toEqual([CamStatus.DEV_NOT_THERE, QFRZN_ERR(CamStatus.REQ_ABORTED), CamStatus.DEV_NOT_THERE]);
  });

  test('an ORDERED CCB submitted to an idle queue still runs alone', async () => {
    const b = await bench({ capacity: 8 });
    const o = b.io({ tagAction: TagAction.ORDERED });
    submit(b, o, b.io(), b.io());
    expect(b.sim.active).toEqual([o]);
    b.sim.complete(o);
    expect(b.sim.active).toHaveLength(2);
  });
});

describe('openings from the SIM budget', () => {
  test('a CCB starts only while charged + cost ≤ capacity; every completion re-runs the queue', async () => {
    const b = await bench({ capacity: 5 });
    b.sim.costOf = (c) => ((c as { tag?: string }).tag === 'big' ? 3 : 2);
    submit(b, b.io({ tag: 'x' }), b.io({ tag: 'y' }), b.io({ tag: 'big' }), b.io({ tag: 'z' }));
    expect(tags(b.sim.active)).toEqual(['x', 'y']);
    expect(stats(b)).toMatchObject({ charged: 4, capacity: 5, active: 2, queued: 2, openings: 1 });
    b.sim.completeNext(); // frees 2: big (3) fits with y (2)
    expect(tags(b.sim.active)).toEqual(['y', 'big']);
    b.sim.completeNext();
    expect(tags(b.sim.active)).toEqual(['big', 'z']);
    b.sim.completeNext();
    b.sim.completeNext();
    expect(b.sim.violations).toEqual([]);
    expect(b.sim.maxCharged).toBe(5);
    expect(stats(b)).toMatchObject({ active: 0, queued: 0, charged: 0, maxCharged: 5, maxActive: 2 });
  });

  test('a CCB costing more than the whole budget fails CAM_REQ_TOO_BIG instead of blocking the queue', async () => {
    const b = await bench({ capacity: 4 });
    b.sim.costOf = (c) => ((c as { tag?: string }).tag === 'huge' ? 5 : 1);
    const huge = b.io({ tag: 'huge' });
    submit(b, huge, b.io({ tag: 'next' }));
    expect(huge.status).toBe(QFRZN_ERR(CamStatus.REQ_TOO_BIG));
    expect(tags(b.sim.started.slice(-1))).not.toContain('next');
    b.xpt.releaseDevq(b.path, 1, true);
    expect(tags(b.sim.active)).toEqual(['next']);
  });

  test('a budget change is picked up by SimHandle.run()', async () => {
    const b = await bench({ capacity: 2 });
    b.sim.cap = 0;
    submit(b, b.io(), b.io(), b.io());
    expect(b.sim.active).toHaveLength(0);
    b.sim.cap = 2;
    b.sim.handle.run();
    expect(b.sim.active).toHaveLength(2);
    b.sim.cap = 3;
    b.sim.handle.run();
    expect(b.sim.active).toHaveLength(3);
    expect(b.sim.violations).toEqual([]);
  });

  test('a SIM completing inside action() and callbacks submitting more never recurse into the SIM', async () => {
    const b = await bench({ capacity: 4 });
    let depth = 0;
    let maxDepth = 0;
    let left = 5000;
    b.sim.answer = undefined;
    const origAction = b.sim.action.bind(b.sim);
    b.sim.action = (ccb) => {
      depth++;
      maxDepth = Math.max(maxDepth, depth);
      origAction(ccb);
      if (ccb.func === XptFunc.SCSI_IO) b.sim.complete(ccb);
      depth--;
    };
    const chain = (): void => {
      if (left-- <= 0) return;
      const c = b.io();
      c.done = () => {
        chain();
      };
      b.xpt.action(c);
    };
    for (let i = 0; i < 4; i++) chain();
    expect(maxDepth).toBe(1);
    expect(left).toBeLessThanOrEqual(0);
    expect(stats(b)).toMatchObject({ active: 0, queued: 0 });
  });
});

describe('freeze and release', () => {
  test('device queue freezes are counts; over-release is a caller bug', async () => {
    const b = await bench();
    b.xpt.freezeDevq(b.path, 2);
    submit(b, b.io());
    expect(stats(b)).toMatchObject({ frozen: 2, queued: 1, active: 0 });
    b.xpt.releaseDevq(b.path, 1, true);
    expect(b.sim.active).toHaveLength(0);
    b.xpt.releaseDevq(b.path, 1, false);
    expect(b.sim.active).toHaveLength(0); // not run yet
    expect(() => {
      b.xpt.releaseDevq(b.path, 1, true);
    }).toThrow(/releasing 1 freezes, 0 are held/);
    b.sim.handle.run();
    expect(b.sim.active).toHaveLength(1);
  });

  test('SIM queue freezes stop dispatch on every device of the SIM', async () => {
    const b = await bench();
    b.sim.handle.freezeSimq(1);
    submit(b, b.io());
    expect(stats(b)).toMatchObject({ simFrozen: 1, queued: 1 });
    expect(() => {
      b.sim.handle.releaseSimq(2, true);
    }).toThrow(RangeError);
    b.sim.handle.releaseSimq(1, true);
    expect(b.sim.active).toHaveLength(1);
  });

  test('an error completion freezes the queue once (CAM_DEV_QFRZN) until the periph releases it', async () => {
    const b = await bench({ capacity: 1 });
    const [a, c] = [b.io({ tag: 'A' }), b.io({ tag: 'C' })];
    submit(b, a, c);
    b.sim.complete(a, CamStatus.SCSI_STATUS_ERROR, ScsiStatus.CHECK_CONDITION);
    expect(a.status).toBe(CamStatus.SCSI_STATUS_ERROR | CAM_DEV_QFRZN);
    expect(stats(b)).toMatchObject({ frozen: 1, held: 1, queued: 1, active: 0 });
    b.xpt.releaseDevq(b.path, 1, true);
    expect(b.sim.active).toEqual([c]);
    expect(stats(b)).toMatchObject({ frozen: 0, held: 0 });
  });

  test('CAM_DEV_QFRZDIS: no freeze; a QFRZN set by the SIM is not trusted', async () => {
    const b = await bench({ capacity: 1 });
    const [a, c] = [b.io({ flags: CcbFlag.DEV_QFRZDIS }), b.io()];
    submit(b, a, c);
    b.sim.complete(a, CamStatus.CMD_TIMEOUT | CAM_DEV_QFRZN);
    expect(a.status).toBe(CamStatus.CMD_TIMEOUT);
    expect(stats(b).frozen).toBe(0);
    expect(b.sim.active).toEqual([c]);
  });
});

describe('XPT_REL_SIMQ', () => {
  test('no condition: releases now; qfrozenCount reports what is left', async () => {
    const b = await bench();
    b.xpt.freezeDevq(b.path, 2);
    const r = relsim(b, { releaseCount: 1 });
    expect(r.status).toBe(CamStatus.REQ_CMP);
    expect(r.qfrozenCount).toBe(1);
    expect(r.state).toBe('done');
  });

  test('RELEASE_AFTER_TIMEOUT releases when the timer fires and runs the queue; the periph cannot release it meanwhile', async () => {
    const b = await bench();
    b.xpt.freezeDevq(b.path, 1);
    submit(b, b.io());
    relsim(b, { releaseFlags: RelSim.RELEASE_AFTER_TIMEOUT, releaseTimeoutMs: 100 });
    expect(() => {
      b.xpt.releaseDevq(b.path, 1, true);
    }).toThrow(/1 belong to pending releases/);
    b.clock.advance(99);
    expect(stats(b)).toMatchObject({ frozen: 1, active: 0 });
    b.clock.advance(1);
    expect(stats(b)).toMatchObject({ frozen: 0, active: 1 });
  });

  test('RELEASE_AFTER_CMDCMPLT releases on the next completion; with nothing active it releases now', async () => {
    const b = await bench({ capacity: 1 });
    const a = b.io();
    submit(b, a);
    b.xpt.freezeDevq(b.path, 1);
    submit(b, b.io({ tag: 'after' }));
    relsim(b, { releaseFlags: RelSim.RELEASE_AFTER_CMDCMPLT });
    expect(stats(b).frozen).toBe(1);
    b.sim.complete(a);
    expect(stats(b).frozen).toBe(0);
    expect(tags(b.sim.active)).toEqual(['after']);
    b.sim.completeNext();
    b.xpt.freezeDevq(b.path, 1);
    relsim(b, { releaseFlags: RelSim.RELEASE_AFTER_CMDCMPLT });
    expect(stats(b).frozen).toBe(0);
  });

  test('a CMDCMPLT-only release fires when the last active CCB comes back CAM_REQUEUE_REQ instead (no completion will come)', async () => {
    const b = await bench({ tuning: { requeueDelayMs: 10 } });
    const a = b.io();
    submit(b, a);
    b.xpt.freezeDevq(b.path, 1);
    relsim(b, { releaseFlags: RelSim.RELEASE_AFTER_CMDCMPLT });
    b.sim.complete(a, CamStatus.REQUEUE_REQ);
    expect(stats(b).frozen).toBe(1); // only the requeue back-off is left
    b.clock.advance(10);
    expect(stats(b)).toMatchObject({ frozen: 0, active: 1 });
  });

  test('RELEASE_AFTER_QEMPTY waits for the last active CCB', async () => {
    const b = await bench();
    const [x, y] = [b.io(), b.io()];
    submit(b, x, y);
    b.xpt.freezeDevq(b.path, 1);
    relsim(b, { releaseFlags: RelSim.RELEASE_AFTER_QEMPTY });
    b.sim.complete(x);
    expect(stats(b).frozen).toBe(1);
    b.sim.complete(y);
    expect(stats(b).frozen).toBe(0);
  });

  test('TIMEOUT | CMDCMPLT: the first condition releases, the other is cancelled (no double release)', async () => {
    const b = await bench();
    const a = b.io();
    submit(b, a);
    b.xpt.freezeDevq(b.path, 1);
    relsim(b, { releaseFlags: RelSim.RELEASE_AFTER_TIMEOUT | RelSim.RELEASE_AFTER_CMDCMPLT, releaseTimeoutMs: 1000 });
    b.sim.complete(a);
    expect(stats(b).frozen).toBe(0);
    b.xpt.freezeDevq(b.path, 1); // someone else's freeze
    b.clock.advance(2000);
    expect(stats(b).frozen).toBe(1);
    expect(b.clock.pending).toBe(0);
  });

  test('ADJUST_OPENINGS caps the active CCBs; bad requests are CAM_REQ_INVALID', async () => {
    const b = await bench({ capacity: 8 });
    expect(relsim(b, { releaseFlags: RelSim.ADJUST_OPENINGS, openings: 2, releaseCount: 0 }).status).toBe(CamStatus.REQ_CMP);
    submit(b, b.io(), b.io(), b.io());
    expect(b.sim.active).toHaveLength(2);
    expect(stats(b).tagLimit).toBe(2);
    expect(relsim(b, { releaseFlags: RelSim.ADJUST_OPENINGS, openings: 0, releaseCount: 0 }).status).toBe(CamStatus.REQ_INVALID);
    expect(relsim(b, { releaseCount: 1 }).status).toBe(CamStatus.REQ_INVALID); // nothing frozen
    b.xpt.freezeDevq(b.path, 1);
    expect(relsim(b, { releaseFlags: RelSim.RELEASE_AFTER_TIMEOUT, releaseTimeoutMs: -1 }).status).toBe(CamStatus.REQ_INVALID);
    expect(stats(b).frozen).toBe(1);
  });

  test('REL_SIMQ on a path without a device is CAM_DEV_NOT_THERE', async () => {
    const b = await bench();
    const r = relsim({ ...b, path: { ...b.path, lun: 5 } }, {});
    expect(r.status).toBe(CamStatus.DEV_NOT_THERE);
  });
});

describe('QUEUE FULL and CAM_REQUEUE_REQ', () => {
  test('a requeue goes back to the head, openings shrink to what is active and grow back after successes', async () => {
    const b = await bench({ capacity: 4, tuning: { growAfter: 3 } });
    const ccbs = ['a', 'b', 'c', 'd', 'e', 'f'].map((t) => b.io({ tag: t }));
    submit(b, ...ccbs);
    expect(tags(b.sim.active)).toEqual(['a', 'b', 'c', 'd']);
    b.sim.complete(ccbs[3] as ScsiIoCcb, CamStatus.REQUEUE_REQ);
    expect(b.log).toHaveLength(0); // the caller never sees a requeue
    expect(stats(b)).toMatchObject({ tagLimit: 3, active: 3, queued: 3, frozen: 0 });
    submit(b, b.io({ tag: 'urgent', priority: CamPriority.DEV }));
    b.sim.complete(ccbs[0] as ScsiIoCcb); // success 1
    expect(tags(b.sim.active)).toEqual(['b', 'c', 'd']); // d again: the head, ahead of urgent and e
    b.sim.completeNext(); // success 2
    expect(stats(b).tagLimit).toBe(3);
    expect(tags(b.sim.active)).toEqual(['c', 'd', 'urgent']);
    b.sim.completeNext(); // success 3: grows to 4, which is the budget again
    expect(stats(b).tagLimit).toBe(4);
    expect(tags(b.sim.active)).toEqual(['d', 'urgent', 'e', 'f']);
    b.sim.completeNext();
    expect(b.sim.started.filter((c) => c === ccbs[3])).toHaveLength(2);
    expect(ccbs[3]?.status).toBe(CamStatus.REQ_CMP);
  });

  test('TASK SET FULL and BUSY with CCBs active shrink openings; the CCB returns to the periph with QFRZN', async () => {
    const b = await bench({ capacity: 4, tuning: { minTags: 2 } });
    submit(b, b.io(), b.io(), b.io(), b.io());
    const full = b.sim.completeNext(CamStatus.SCSI_STATUS_ERROR, ScsiStatus.TASK_SET_FULL);
    expect(full.status).toBe(CamStatus.SCSI_STATUS_ERROR | CAM_DEV_QFRZN);
    expect(stats(b).tagLimit).toBe(3);
    b.xpt.releaseDevq(b.path, 1, true);
    b.sim.completeNext(CamStatus.SCSI_STATUS_ERROR, ScsiStatus.BUSY);
    b.xpt.releaseDevq(b.path, 1, true);
    expect(stats(b).tagLimit).toBe(2);
    b.sim.completeNext(CamStatus.SCSI_STATUS_ERROR, ScsiStatus.BUSY);
    b.xpt.releaseDevq(b.path, 1, true);
    expect(stats(b).tagLimit).toBe(2); // minTags
  });

  test('a requeue with nothing else active pauses the queue briefly (XPT-owned freeze), then retries', async () => {
    const b = await bench({ tuning: { requeueDelayMs: 10 } });
    const a = b.io();
    submit(b, a);
    b.sim.complete(a, CamStatus.REQUEUE_REQ);
    expect(stats(b)).toMatchObject({ frozen: 1, queued: 1, active: 0 });
    expect(() => {
      b.xpt.releaseDevq(b.path, 1, true);
    }).toThrow(RangeError);
    b.clock.advance(10);
    expect(stats(b)).toMatchObject({ frozen: 0, active: 1 });
    b.sim.complete(a);
    expect(b.log).toEqual([a]);
    expect(a.status).toBe(CamStatus.REQ_CMP);
  });

  test('requeues while the SIM queue is frozen are recovery: original order, no shrinking, no pause', async () => {
    const b = await bench({ capacity: 4 });
    const ccbs = ['a', 'b', 'c', 'd'].map((t) => b.io({ tag: t }));
    submit(b, ...ccbs, b.io({ tag: 'e' }));
    b.sim.handle.freezeSimq(1);
    for (const c of [...b.sim.active].reverse()) b.sim.complete(c, CamStatus.REQUEUE_REQ);
    expect(stats(b)).toMatchObject({ tagLimit: 4, frozen: 0, queued: 5, active: 0 });
    b.sim.handle.releaseSimq(1, true);
    expect(tags(b.sim.active)).toEqual(['a', 'b', 'c', 'd']);
  });
});

describe('timeouts', () => {
  test('the XPT tells the SIM when a CCB outlives its timeout; the SIM completes it CAM_CMD_TIMEOUT', async () => {
    const b = await bench();
    const [slow, fast, other] = [b.io({ timeoutMs: 1000 }), b.io({ timeoutMs: 500 }), b.io({ timeoutMs: 3000 })];
    submit(b, slow, fast);
    b.clock.advance(100);
    submit(b, other);
    b.sim.complete(fast);
    b.clock.advance(899);
    expect(b.sim.timedOut).toEqual([]);
    b.clock.advance(1);
    expect(b.sim.timedOut).toEqual([slow]);
    b.sim.complete(slow, CamStatus.CMD_TIMEOUT);
    expect(slow.status).toBe(CamStatus.CMD_TIMEOUT | CAM_DEV_QFRZN);
    b.xpt.releaseDevq(b.path, 1, true);
    b.clock.advance(2099);
    expect(b.sim.timedOut).toEqual([slow]);
    b.clock.advance(1);
    expect(b.sim.timedOut).toEqual([slow, other]);
    b.clock.advance(100_000);
    expect(b.sim.timedOut).toHaveLength(2); // told once per dispatch
    b.sim.complete(other, CamStatus.CMD_TIMEOUT);
    b.xpt.releaseDevq(b.path, 1, true);
    expect(b.clock.pending).toBe(0);
  });

  test('timeoutMs 0 never times out; completing in time disarms the timer', async () => {
    const b = await bench();
    const [none, quick] = [b.io({ timeoutMs: 0 }), b.io({ timeoutMs: 50 })];
    submit(b, none, quick);
    b.sim.complete(quick);
    b.clock.advance(1e9);
    expect(b.sim.timedOut).toEqual([]);
    b.sim.complete(none);
    expect(b.clock.pending).toBe(0);
  });

  test('a requeued CCB gets a fresh timeout when it is dispatched again', async () => {
    const b = await bench({ tuning: { requeueDelayMs: 10 } });
    const a = b.io({ timeoutMs: 100 });
    submit(b, a);
    b.clock.advance(90);
    b.sim.complete(a, CamStatus.REQUEUE_REQ);
    b.clock.advance(10); // redispatched at t=100
    b.clock.advance(99);
    expect(b.sim.timedOut).toEqual([]);
    b.clock.advance(1);
    expect(b.sim.timedOut).toEqual([a]);
  });
});

describe('XPT_ABORT', () => {
  test('a CCB still waiting completes CAM_REQ_ABORTED at once; the abort CCB gets CAM_REQ_CMP', async () => {
    const b = await bench({ capacity: 1 });
    const [a, waiting] = [b.io(), b.io({ tag: 'w' })];
    submit(b, a, waiting);
    const seen: Ccb[] = [];
    const ab = abortOf(b, waiting, (c) => seen.push(c));
    expect(waiting.status).toBe(CamStatus.REQ_ABORTED | CAM_DEV_QFRZN);
    expect(ab.status).toBe(CamStatus.REQ_CMP);
    expect(seen).toEqual([ab]);
    expect(b.log).toEqual([waiting]);
    expect(b.sim.others).toEqual([]);
    b.xpt.releaseDevq(b.path, 1, true);
    b.sim.complete(a);
    expect(stats(b)).toMatchObject({ active: 0, queued: 0, frozen: 0 });
  });

  test('an active CCB is the SIM’s to abort; both complete through the SIM', async () => {
    const b = await bench();
    const a = b.io();
    submit(b, a);
    const seen: Ccb[] = [];
    const ab = abortOf(b, a, (c) => seen.push(c));
    expect(b.sim.others).toEqual([ab]);
    expect(ab.state).toBe('active');
    b.sim.complete(a, CamStatus.REQ_ABORTED);
    ab.status = CamStatus.REQ_CMP;
    b.sim.handle.done(ab);
    expect(seen).toEqual([ab]);
    expect(a.status).toBe(CamStatus.REQ_ABORTED | CAM_DEV_QFRZN);
    expect(() => {
      b.sim.handle.done(ab);
    }).toThrow(/not active at this SIM/);
  });

  test('an unknown or finished CCB: CAM_UA_ABORT', async () => {
    const b = await bench();
    const a = b.io();
    submit(b, a);
    b.sim.complete(a);
    expect(abortOf(b, a).status).toBe(CamStatus.UA_ABORT);
    expect(abortOf(b, b.io()).status).toBe(CamStatus.UA_ABORT);
  });
});

describe('abortWaiting (PREEMPT AND ABORT through SimHandle.abortQueued)', () => {
  const tagged = (t: string) => (c: ScsiIoCcb): boolean => (c as { tag?: string }).tag === t;

  test('the waiting CCBs it picks complete CAM_REQ_ABORTED at once, in queue order; the rest keep theirs', async () => {
    const b = await bench({ capacity: 1 });
    const a = b.io({ tag: 'A' });
    submit(b, a, b.io({ tag: 'x1' }), b.io({ tag: 'y1' }), b.io({ tag: 'x2', priority: CamPriority.DEV }), b.io({ tag: 'y2' }));
    const aborted = b.sim.handle.abortQueued(b.path, (c) => (c as { tag?: string }).tag?.startsWith('x') === true);
    expect(tags(aborted)).toEqual(['x2', 'x1']);
    expect(tags(b.log)).toEqual(['x2', 'x1']);
    expect(aborted.map((c) => c.status)).toEqual([QFRZN_ERR(CamStatus.REQ_ABORTED), QFRZN_ERR(CamStatus.REQ_ABORTED)]);
    expect(stats(b)).toMatchObject({ active: 1, queued: 2 });
    b.xpt.releaseDevq(b.path, 2, true);
    for (let i = 0; i < 3; i++) b.sim.completeNext();
    expect(tags(b.log)).toEqual(['x2', 'x1', 'A', 'y1', 'y2']);
  });

  test('a match that throws: nothing is aborted and the queue is intact, in its order', async () => {
    const b = await bench({ capacity: 1 });
    const a = b.io({ tag: 'A' });
    submit(b, a, b.io({ tag: 'w1' }), b.io({ tag: 'w2', priority: CamPriority.DEV }), b.io({ tag: 'w3' }), b.io({ tag: 'w4' }));
    let calls = 0;
    expect(() =>
      b.sim.handle.abortQueued(b.path, (c) => {
        if (++calls === 3) throw new Error('match failed');
        return tagged('w2')(c);
      }),
    ).toThrow('match failed');
    expect(calls).toBe(3);
    expect(b.log).toEqual([]);
    expect(stats(b)).toMatchObject({ active: 1, queued: 4, frozen: 0 });
    // The queue still works, in its order; and a later abortWaiting still finds what waits.
    expect(tags(b.sim.handle.abortQueued(b.path, tagged('w4')))).toEqual(['w4']);
    b.xpt.releaseDevq(b.path, 1, true);
    for (let i = 0; i < 4; i++) b.sim.completeNext();
    expect(tags(b.log)).toEqual(['w4', 'A', 'w2', 'w1', 'w3']);
    expect(stats(b)).toMatchObject({ active: 0, queued: 0, frozen: 0 });
  });
});

describe('exactly-once completion', () => {
  test('a second done() for the same CCB is a SIM bug and throws with details', async () => {
    const b = await bench();
    const a = b.io();
    submit(b, a);
    b.sim.complete(a);
    expect(() => {
      b.sim.handle.done(a);
    }).toThrow(/xpt done from fake0: SCSI_IO 0:0:0 opcode 00h is done, not active at this SIM: completed twice/);
    expect(b.log).toEqual([a]);
  });

  test('done() for a CCB never started, or without a final status, throws', async () => {
    const b = await bench({ capacity: 1 });
    const [a, queued] = [b.io(), b.io()];
    submit(b, a, queued);
    expect(() => {
      b.sim.handle.done(queued);
    }).toThrow(/is queued, not active/);
    a.status = CamStatus.REQ_INPROG;
    expect(() => {
      b.sim.handle.done(a);
    }).toThrow(/CAM_REQ_INPROG/);
  });

  test('submitting a CCB that is already in flight throws; a completed CCB may be reused', async () => {
    const b = await bench({ capacity: 1 });
    const a = b.io();
    submit(b, a);
    expect(() => {
      b.xpt.action(a);
    }).toThrow(/already active/);
    b.sim.complete(a);
    b.xpt.action(a);
    expect(a.state).toBe('active');
  });
});

describe('statistics', () => {
  test('latency histogram in power-of-two microsecond buckets, completed count', async () => {
    const b = await bench();
    const before = stats(b);
    const a = b.io();
    submit(b, a);
    b.clock.advance(3); // 3 ms = 3000 µs → bucket 12 (2048 ≤ x < 4096)
    b.sim.complete(a);
    const after = stats(b);
    expect(after.completed).toBe(before.completed + 1);
    expect((after.latencyUs[12] ?? 0) - (before.latencyUs[12] ?? 0)).toBe(1);
    expect(after.latencyUs).toHaveLength(32);
  });
});
