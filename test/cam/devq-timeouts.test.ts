// CCB timeouts across idle turns: a device queue that goes idle parks its
// timer (pending, no longer holding the process alive) instead of cancelling
// it, keeps it for a later deadline, re-arms only for an earlier one, and a
// parked timer that fires does nothing. Driven through the XPT with a hand
// clock that implements holdTimer and records what it was told.

import { describe, expect, test } from 'vitest';
import { CamDir, CamPriority, TagAction, newScsiIo, type CamPath, type ScsiIoCcb } from '../../src/cam/ccb.js';
import { CamStatus } from '../../src/cam/status.js';
import { OneShot, systemClock } from '../../src/cam/clock.js';
import { Xpt } from '../../src/cam/xpt/xpt.js';
import { MemoryBlockSet, SbcEmulator, encodeTestUnitReady } from '../../src/scsi/index.js';
import { FakeClock, FakeSim, answerFromEmulator } from './xpt/harness.js';

/** FakeClock plus holdTimer: counts timers set and cleared, and which pending ones hold the process. */
class HoldingClock extends FakeClock {
  sets = 0;
  clears = 0;
  readonly holds: boolean[] = [];
  readonly #held = new Set<unknown>();
  readonly #pending = new Set<unknown>();

  override setTimer(fn: () => void, ms: number): unknown {
    this.sets++;
    const id: unknown = super.setTimer(() => {
      this.#pending.delete(id);
      this.#held.delete(id);
      fn();
    }, ms);
    this.#pending.add(id);
    this.#held.add(id);
    return id;
  }

  override clearTimer(handle: unknown): void {
    this.clears++;
    this.#pending.delete(handle);
    this.#held.delete(handle);
    super.clearTimer(handle);
  }

  holdTimer(handle: unknown, hold: boolean): void {
    if (!this.#pending.has(handle)) throw new Error('holdTimer on a timer that is not pending');
    this.holds.push(hold);
    if (hold) this.#held.add(handle);
    else this.#held.delete(handle);
  }

  /** Pending timers that keep the process alive. */
  get alive(): number {
    return this.#held.size;
  }
}

async function timeoutBench(): Promise<{ xpt: Xpt; sim: FakeSim; clock: HoldingClock; io: (timeoutMs: number) => ScsiIoCcb }> {
  const clock = new HoldingClock();
  const xpt = new Xpt({ clock, tuning: {} });
  const sim = new FakeSim(8);
  const emu = await SbcEmulator.create(new MemoryBlockSet({ blocks: 2048n, record: false }));
  sim.handle = xpt.registerBus(sim);
  sim.answer = (ccb) => answerFromEmulator(emu, ccb);
  if ((await xpt.scan(sim.handle.bus)).length !== 1) throw new Error('probe found no device');
  sim.answer = undefined;
  const path: CamPath = { bus: sim.handle.bus, target: 0, lun: 0 };
  const io = (timeoutMs: number): ScsiIoCcb => {
    const ccb = newScsiIo({ path, cdb: encodeTestUnitReady(), dir: CamDir.NONE, priority: CamPriority.NORMAL, tagAction: TagAction.SIMPLE, timeoutMs });
    xpt.action(ccb);
    return ccb;
  };
  // The probe's own CCBs may have left a parked timer behind: start from none.
  clock.advance(1_000_000);
  clock.sets = 0;
  clock.clears = 0;
  clock.holds.length = 0;
  return { xpt, sim, clock, io };
}

describe('CCB timeouts across idle turns', () => {
  test('an idle queue parks its timer: still pending, no longer holding the process alive, not cleared', async () => {
    const { sim, clock, io } = await timeoutBench();
    io(1000);
    expect([clock.sets, clock.pending, clock.alive]).toEqual([1, 1, 1]);
    sim.completeNext();
    expect([clock.sets, clock.clears, clock.pending, clock.alive]).toEqual([1, 0, 1, 0]);
    expect(clock.holds).toEqual([false]);
  });

  test('a CCB whose deadline is no earlier than the parked one keeps that timer and holds the process again', async () => {
    const { sim, clock, io } = await timeoutBench();
    io(1000);
    sim.completeNext();
    clock.advance(100);
    io(1000);
    expect([clock.sets, clock.clears, clock.pending, clock.alive]).toEqual([1, 0, 1, 1]);
    expect(clock.holds).toEqual([false, true]);
  });

  test('the kept timer fires early for the later CCB: the sweep re-arms, and the CCB times out on its own deadline', async () => {
    const { sim, clock, io } = await timeoutBench();
    io(1000);
    sim.completeNext();
    clock.advance(100);
    const late = io(1000);
    clock.advance(900); // the kept timer fires at 1000, the CCB's deadline is 1100
    expect(sim.timedOut).toEqual([]);
    expect([clock.sets, clock.pending, clock.alive]).toEqual([2, 1, 1]);
    clock.advance(99);
    expect(sim.timedOut).toEqual([]);
    clock.advance(1);
    expect(sim.timedOut).toEqual([late]);
    sim.complete(late, CamStatus.CMD_TIMEOUT);
  });

  test('a CCB whose deadline is earlier re-arms (a held timer)', async () => {
    const { sim, clock, io } = await timeoutBench();
    io(1000);
    sim.completeNext();
    const quick = io(100);
    expect([clock.sets, clock.clears, clock.pending, clock.alive]).toEqual([2, 1, 1, 1]);
    clock.advance(100);
    expect(sim.timedOut).toEqual([quick]);
  });

  test('while CCBs are active an earlier deadline re-arms and a later one changes nothing', async () => {
    const { clock, io } = await timeoutBench();
    io(1000);
    io(2000);
    expect([clock.sets, clock.clears]).toEqual([1, 0]);
    io(500);
    expect([clock.sets, clock.clears, clock.pending, clock.alive]).toEqual([2, 1, 1, 1]);
    expect(clock.holds).toEqual([]);
  });

  test('a parked timer that fires does nothing and does not re-arm', async () => {
    const { sim, clock, io } = await timeoutBench();
    io(1000);
    sim.completeNext();
    clock.advance(5000);
    expect(sim.timedOut).toEqual([]);
    expect([clock.sets, clock.pending, clock.alive]).toEqual([1, 0, 0]);
    // The next CCB arms afresh.
    io(1000);
    expect([clock.sets, clock.pending, clock.alive]).toEqual([2, 1, 1]);
  });

  test('the process is held exactly while CCBs with a timeout are active', async () => {
    const { sim, clock, io } = await timeoutBench();
    for (let turn = 0; turn < 5; turn++) {
      io(1000);
      io(1000);
      expect(clock.alive).toBe(1);
      sim.completeNext();
      expect(clock.alive).toBe(1);
      sim.completeNext();
      expect(clock.alive).toBe(0);
      clock.advance(10);
    }
    expect([clock.sets, clock.clears]).toEqual([1, 0]);
    expect(clock.holds).toEqual([false, true, false, true, false, true, false, true, false]);
  });

  test('losing the device cancels a parked timer for real', async () => {
    const { xpt, sim, clock, io } = await timeoutBench();
    io(1000);
    sim.completeNext();
    expect(clock.pending).toBe(1);
    await xpt.deregisterBus(sim.handle.bus);
    expect([clock.clears, clock.pending, clock.alive]).toEqual([1, 0, 0]);
  });

  test('on a clock without holdTimer, parking cancels (a pending timer there always holds the process)', () => {
    const clock = new FakeClock();
    const timer = new OneShot(clock);
    let fired = 0;
    timer.arm(100, () => fired++);
    timer.park();
    expect([timer.armed, timer.parked, clock.pending]).toEqual([false, false, 0]);
    clock.advance(1000);
    expect(fired).toBe(0);
  });

  test('systemClock: holdTimer unrefs and refs the pending Timeout', () => {
    const t = systemClock.setTimer(() => undefined, 1e6) as ReturnType<typeof setTimeout>;
    try {
      expect(t.hasRef()).toBe(true);
      systemClock.holdTimer?.(t, false);
      expect(t.hasRef()).toBe(false);
      systemClock.holdTimer?.(t, true);
      expect(t.hasRef()).toBe(true);
    } finally {
      systemClock.clearTimer(t);
    }
  });
});
