// Random CCB sequences against the device queue (fast-check): submits of
// every tag action and three priorities with random costs, completions of every kind
// (success, error, requeue, TASK SET FULL, BUSY, timeout), periph and SIM
// freezes and releases, XPT_REL_SIMQ with every condition, aborts of waiting
// and active CCBs, budget changes and time. After every step: the SIM was
// never charged beyond its capacity, ORDERED CCBs ran alone, the XPT's books
// match the SIM's. At the end, with the periph releasing what it got: every
// CCB completed exactly once, CCBs of one priority first started in the order
// they were submitted, each ORDERED CCB that started did so after every CCB
// submitted before it had left the SIM for good and before any CCB submitted
// after it (HEAD OF QUEUE aside) first started (SAM-5 §8.6, whatever their
// priorities), and no freeze or timer is left.
//
// VTCAM_PROPERTY_RUNS sets the number of runs (default 150 runs of ≤ 120 steps).

import { expect, test } from 'vitest';
import fc from 'fast-check';
import { CamPriority, CcbFlag, RelSim, TagAction, XptFunc, type AbortCcb, type Ccb, type RelSimqCcb, type ScsiIoCcb } from '../../src/cam/ccb.js';
import { CAM_DEV_QFRZN, CamStatus } from '../../src/cam/status.js';
import { ScsiStatus } from '../../src/scsi/index.js';
import { bench } from './xpt/harness.js';

const RUNS = Number(process.env['VTCAM_PROPERTY_RUNS'] ?? '150');

const TAGS = [TagAction.SIMPLE, TagAction.SIMPLE, TagAction.SIMPLE, TagAction.ORDERED, TagAction.HEAD_OF_QUEUE] as const;
const PRIORITIES = [CamPriority.NORMAL, CamPriority.NORMAL, CamPriority.DEV, CamPriority.OOB] as const;
const OUTCOMES = ['ok', 'ok', 'ok', 'error', 'requeue', 'taskSetFull', 'busy'] as const;
const RELSIM = [
  RelSim.RELEASE_AFTER_TIMEOUT,
  RelSim.RELEASE_AFTER_CMDCMPLT,
  RelSim.RELEASE_AFTER_QEMPTY,
  RelSim.RELEASE_AFTER_TIMEOUT | RelSim.RELEASE_AFTER_CMDCMPLT,
  0,
] as const;

const op = fc.oneof(
  { weight: 6, arbitrary: fc.record({ k: fc.constant('submit' as const), tag: fc.constantFrom(...TAGS), priority: fc.constantFrom(...PRIORITIES), cost: fc.integer({ min: 1, max: 3 }), timeout: fc.constantFrom(0, 0, 50, 200), qfrzdis: fc.boolean() }) },
  { weight: 6, arbitrary: fc.record({ k: fc.constant('complete' as const), pick: fc.nat(), outcome: fc.constantFrom(...OUTCOMES) }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('freeze' as const), n: fc.integer({ min: 1, max: 2 }) }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('release' as const), n: fc.integer({ min: 1, max: 3 }) }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('relsim' as const), when: fc.constantFrom(...RELSIM), ms: fc.integer({ min: 0, max: 100 }) }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('simFreeze' as const) }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('simRelease' as const) }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('abort' as const), pick: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('answerAbort' as const) }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('capacity' as const), cap: fc.integer({ min: 2, max: 10 }) }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('time' as const), ms: fc.integer({ min: 1, max: 120 }) }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('timedOut' as const) }) },
);

test('device queue invariants hold over random CCB sequences', async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(op, { maxLength: 120 }), async (ops) => {
      const b = await bench({ capacity: 6, tuning: { growAfter: 4, requeueDelayMs: 5 } });
      const { xpt, sim, clock, path } = b;
      const submitted: ScsiIoCcb[] = [];
      const calls = new Map<ScsiIoCcb, number>();
      // Starts at the SIM and returns from it (final or not), on one count.
      const firstStart = new Map<ScsiIoCcb, number>();
      const lastReturn = new Map<ScsiIoCcb, number>();
      const costs = new Map<ScsiIoCcb, number>();
      let events = 0;
      let periphHeld = 0; // freezes the periph owns: its own and CAM_DEV_QFRZN completions
      let simHeld = 0;
      const aborts: AbortCcb[] = [];
      sim.costOf = (c) => costs.get(c) ?? 1;
      const origAction = sim.action.bind(sim);
      sim.action = (ccb: Ccb) => {
        if (ccb.func === XptFunc.SCSI_IO && !firstStart.has(ccb)) firstStart.set(ccb, events++);
        origAction(ccb);
      };
      const origComplete = sim.complete.bind(sim);
      sim.complete = (ccb, status, scsiStatus) => {
        lastReturn.set(ccb, events++);
        origComplete(ccb, status, scsiStatus);
      };
      sim.onOther = (ccb) => {
        if (ccb.func === XptFunc.ABORT) aborts.push(ccb);
      };

      const answerAbort = (a: AbortCcb): void => {
        const victim = a.abort as ScsiIoCcb;
        if (sim.active.includes(victim)) {
          sim.complete(victim, CamStatus.REQ_ABORTED);
          a.status = CamStatus.REQ_CMP;
        } else a.status = CamStatus.UA_ABORT;
        sim.handle.done(a);
      };
      const check = (): void => {
        expect(sim.violations).toEqual([]);
        const s = xpt.stats(path);
        expect(s?.charged).toBe(sim.charged);
        expect(s?.active).toBe(sim.active.length);
        expect(sim.charged).toBeLessThanOrEqual(Math.max(sim.cap, sim.maxCharged));
      };

      for (const o of ops) {
        switch (o.k) {
          case 'submit': {
            const c = b.io({ tagAction: o.tag, priority: o.priority, timeoutMs: o.timeout, flags: o.qfrzdis ? CcbFlag.DEV_QFRZDIS : 0 });
            costs.set(c, o.cost);
            c.done = (done) => {
              calls.set(c, (calls.get(c) ?? 0) + 1);
              if ((done.status & CAM_DEV_QFRZN) !== 0) periphHeld++;
            };
            submitted.push(c);
            xpt.action(c);
            break;
          }
          case 'complete': {
            const c = sim.active[o.pick % Math.max(1, sim.active.length)];
            if (c === undefined) break;
            const [status, scsi] = {
              ok: [CamStatus.REQ_CMP, ScsiStatus.GOOD],
              error: [CamStatus.SCSI_STATUS_ERROR, ScsiStatus.CHECK_CONDITION],
              requeue: [CamStatus.REQUEUE_REQ, ScsiStatus.GOOD],
              taskSetFull: [CamStatus.SCSI_STATUS_ERROR, ScsiStatus.TASK_SET_FULL],
              busy: [CamStatus.SCSI_STATUS_ERROR, ScsiStatus.BUSY],
            }[o.outcome];
            sim.complete(c, status, scsi);
            break;
          }
          case 'freeze':
            xpt.freezeDevq(path, o.n);
            periphHeld += o.n;
            break;
          case 'release': {
            const n = Math.min(o.n, periphHeld);
            xpt.releaseDevq(path, n, true);
            periphHeld -= n;
            break;
          }
          case 'relsim': {
            if (periphHeld === 0) break;
            const r: RelSimqCcb = {
              func: XptFunc.REL_SIMQ, path, status: 0, priority: CamPriority.NORMAL, timeoutMs: 0, retryCount: 0, flags: 0, done: undefined, state: 'free',
              releaseFlags: o.when, openings: 0, releaseTimeoutMs: o.ms, releaseCount: 1, qfrozenCount: 0,
            };
            xpt.action(r);
            expect(r.status).toBe(CamStatus.REQ_CMP);
            periphHeld -= 1;
            break;
          }
          case 'simFreeze':
            sim.handle.freezeSimq(1);
            simHeld++;
            break;
          case 'simRelease':
            if (simHeld > 0) {
              sim.handle.releaseSimq(1, true);
              simHeld--;
            }
            break;
          case 'abort': {
            const live = submitted.filter((c) => c.state === 'queued' || c.state === 'active');
            const victim = live[o.pick % Math.max(1, live.length)];
            if (victim === undefined) break;
            const a: AbortCcb = { func: XptFunc.ABORT, path, status: 0, priority: CamPriority.OOB, timeoutMs: 0, retryCount: 0, flags: 0, done: undefined, state: 'free', abort: victim };
            xpt.action(a);
            break;
          }
          case 'answerAbort': {
            const a = aborts.shift();
            if (a !== undefined) answerAbort(a);
            break;
          }
          case 'capacity':
            sim.cap = o.cap;
            sim.handle.run();
            break;
          case 'time':
            clock.advance(o.ms);
            break;
          case 'timedOut': {
            const c = sim.timedOut.find((t) => sim.active.includes(t));
            if (c !== undefined) sim.complete(c, CamStatus.CMD_TIMEOUT);
            break;
          }
        }
        check();
      }

      // Drain: the SIM answers everything, the periph releases what it holds, time passes.
      for (let guard = 0; guard < 10_000; guard++) {
        while (aborts.length > 0) answerAbort(aborts.shift() as AbortCcb);
        if (simHeld > 0) {
          sim.handle.releaseSimq(simHeld, true);
          simHeld = 0;
        }
        if (periphHeld > 0) {
          const n = periphHeld;
          periphHeld = 0;
          xpt.releaseDevq(path, n, true);
        }
        const next = sim.active[0];
        if (next !== undefined) sim.complete(next, CamStatus.REQ_CMP, ScsiStatus.GOOD);
        else if (submitted.every((c) => c.state === 'done') && xpt.stats(path)?.frozen === 0) break;
        else clock.advance(200);
        check();
      }
      expect(submitted.filter((c) => calls.get(c) !== 1)).toEqual([]);
      expect(submitted.every((c) => c.state === 'done')).toBe(true);
      const s = xpt.stats(path);
      expect(s).toMatchObject({ frozen: 0, held: 0, queued: 0, active: 0, charged: 0, simFrozen: 0 });
      clock.advance(1_000_000);
      expect(clock.pending).toBe(0);

      // FIFO: within a priority (and among HEAD OF QUEUE CCBs), first starts follow submission order.
      const group = (c: ScsiIoCcb): string => (c.tagAction === TagAction.HEAD_OF_QUEUE ? 'hoq' : String(c.priority));
      for (const g of new Set(submitted.map(group))) {
        const order = submitted.filter((c) => group(c) === g && firstStart.has(c)).map((c) => firstStart.get(c) ?? -1);
        expect(order).toEqual([...order].sort((x, y) => x - y));
      }

      // ORDERED barriers: nothing older still at the SIM when one first started, nothing newer started before it was back for good.
      const problems: string[] = [];
      submitted.forEach((o, i) => {
        const start = firstStart.get(o);
        if (o.tagAction !== TagAction.ORDERED || start === undefined) return;
        const end = lastReturn.get(o) ?? -1;
        submitted.forEach((c, j) => {
          const cStart = firstStart.get(c);
          if (cStart === undefined) return;
          if (j < i && (lastReturn.get(c) ?? -1) > start) problems.push(`#${j} (older) was at the SIM when ORDERED #${i} started`);
          if (j > i && c.tagAction !== TagAction.HEAD_OF_QUEUE && cStart < end) problems.push(`#${j} (newer, priority ${c.priority}) started before ORDERED #${i} (priority ${o.priority}) was done`);
        });
      });
      expect(problems).toEqual([]);
    }),
    { numRuns: RUNS },
  );
});
