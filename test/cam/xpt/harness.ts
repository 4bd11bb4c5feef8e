// Test doubles for the XPT: a hand-driven clock, and a SIM the test controls
// (it holds CCBs until told to complete them, records the budget it was
// charged against capacity, can requeue and stall) that can also answer from
// an SbcEmulator, which is how devices get probed into existence.

import type { CamClock } from '../../../src/cam/clock.js';
import { CamDir, CamPriority, CcbFlag, TagAction, XptFunc, newScsiIo, type CamPath, type Ccb, type PathInq, type ScsiIoCcb } from '../../../src/cam/ccb.js';
import { CAM_AUTOSNS_VALID, CamStatus } from '../../../src/cam/status.js';
import type { Sim, SimHandle } from '../../../src/cam/xpt/sim-api.js';
import { Xpt, type XptOptions } from '../../../src/cam/xpt/xpt.js';
import { MemoryBlockSet, SbcEmulator, ScsiStatus, encodeTestUnitReady } from '../../../src/scsi/index.js';
import type { DevqTuning } from '../../../src/cam/devq-api.js';

/** A clock that only moves when the test says so. */
export class FakeClock implements CamClock {
  #t = 0;
  #id = 0;
  readonly #timers = new Map<number, { at: number; fn: () => void }>();

  now(): number {
    return this.#t;
  }

  setTimer(fn: () => void, ms: number): unknown {
    const id = ++this.#id;
    this.#timers.set(id, { at: this.#t + Math.max(0, ms), fn });
    return id;
  }

  clearTimer(handle: unknown): void {
    this.#timers.delete(handle as number);
  }

  /** Timers still armed. */
  get pending(): number {
    return this.#timers.size;
  }

  /** Moves time forward, firing due timers in order (also ones armed while advancing). */
  advance(ms: number): void {
    const end = this.#t + ms;
    for (;;) {
      let next: [number, { at: number; fn: () => void }] | undefined;
      for (const t of this.#timers) if (t[1].at <= end && (next === undefined || t[1].at < next[1].at)) next = t;
      if (next === undefined) break;
      this.#timers.delete(next[0]);
      this.#t = next[1].at;
      next[1].fn();
    }
    this.#t = end;
  }
}

/** Lets queued microtasks (async event delivery) and emulator promises run. */
export const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

export type Answer = (ccb: ScsiIoCcb) => Promise<void> | void;

/** Runs `ccb` on the emulator and fills in the SCSI fields as a SIM does. */
export async function answerFromEmulator(emu: SbcEmulator, ccb: ScsiIoCcb): Promise<void> {
  const r = await emu.execute(ccb.cdb, ccb.dataOut === undefined ? {} : { dataOut: ccb.dataOut });
  ccb.scsiStatus = r.status;
  if (r.status === ScsiStatus.GOOD) {
    ccb.status = CamStatus.REQ_CMP;
    const isIn = (ccb.flags & CcbFlag.DIR_MASK) === CamDir.IN;
    ccb.dataIn = isIn ? (r.data ?? new Uint8Array(0)).slice(0, ccb.dxferLen) : undefined;
    ccb.resid = isIn ? ccb.dxferLen - (ccb.dataIn?.length ?? 0) : 0;
  } else {
    ccb.status = CamStatus.SCSI_STATUS_ERROR | (r.sense === undefined ? 0 : CAM_AUTOSNS_VALID);
    ccb.sense = r.sense;
    ccb.senseData = r.senseData;
  }
}

/** A SIM under test control. */
export class FakeSim implements Sim {
  readonly name = 'fake';
  readonly unit = 0;
  cap: number;
  costOf: (ccb: ScsiIoCcb) => number = () => 1;
  maxLun = 0;
  /** When set, SCSI_IO CCBs are answered by it (then completed) instead of held. */
  answer: Answer | undefined;
  /** Called for XPT_ABORT / XPT_RESET_* CCBs; default: held in `others`. */
  onOther: ((ccb: Ccb) => void) | undefined;
  /** Called when the XPT reports a timeout; default: recorded only. */
  onTimeout: ((ccb: ScsiIoCcb) => void) | undefined;
  /** Detach leaves active CCBs behind (a buggy SIM). */
  leakOnDetach = false;
  readonly active: ScsiIoCcb[] = [];
  readonly started: ScsiIoCcb[] = [];
  readonly others: Ccb[] = [];
  readonly timedOut: ScsiIoCcb[] = [];
  readonly violations: string[] = [];
  charged = 0;
  maxCharged = 0;
  #handle: SimHandle | undefined;
  readonly #costs = new Map<ScsiIoCcb, number>();

  constructor(capacity: number) {
    this.cap = capacity;
  }

  get handle(): SimHandle {
    if (this.#handle === undefined) throw new Error('FakeSim not registered');
    return this.#handle;
  }

  set handle(h: SimHandle) {
    this.#handle = h;
  }

  capacity(): number {
    return this.cap;
  }

  cost(ccb: ScsiIoCcb): number {
    return this.costOf(ccb);
  }

  pathInq(): PathInq {
    return {
      simName: this.name,
      unit: this.unit,
      bus: 99,
      maxTarget: 0,
      maxLun: this.maxLun,
      maxIoBytes: 65536,
      openings: this.cap,
      simVendor: 'vtcam',
      hbaVendor: 'test',
      tagAble: true,
    };
  }

  action(ccb: Ccb): void {
    if (ccb.func !== XptFunc.SCSI_IO) {
      if (this.onOther !== undefined) this.onOther(ccb);
      else this.others.push(ccb);
      return;
    }
    if (ccb.state !== 'active') this.violations.push(`started a CCB in state ${ccb.state}`);
    if (this.active.some((a) => a.tagAction === TagAction.ORDERED)) this.violations.push('started a CCB while an ORDERED one is active');
    if (ccb.tagAction === TagAction.ORDERED && this.active.length > 0) this.violations.push(`started an ORDERED CCB with ${this.active.length} active`);
    const cost = this.cost(ccb);
    this.#costs.set(ccb, cost);
    this.charged += cost;
    this.maxCharged = Math.max(this.maxCharged, this.charged);
    if (this.charged > this.cap) this.violations.push(`charged ${this.charged} > capacity ${this.cap}`);
    this.active.push(ccb);
    this.started.push(ccb);
    const answer = this.answer;
    if (answer !== undefined) {
      void Promise.resolve(answer(ccb)).then(() => {
        if (this.active.includes(ccb)) this.complete(ccb, ccb.status);
      });
    }
  }

  timeout(ccb: ScsiIoCcb): void {
    this.timedOut.push(ccb);
    this.onTimeout?.(ccb);
  }

  /** Completes an active CCB with `status` (and SCSI status). */
  complete(ccb: ScsiIoCcb, status: number = CamStatus.REQ_CMP, scsiStatus?: number): void {
    const i = this.active.indexOf(ccb);
    if (i < 0) throw new Error('FakeSim.complete: CCB not active at the SIM');
    this.active.splice(i, 1);
    this.charged -= this.#costs.get(ccb) ?? 0;
    this.#costs.delete(ccb);
    ccb.status = status;
    if (scsiStatus !== undefined) ccb.scsiStatus = scsiStatus;
    this.handle.done(ccb);
  }

  /** Completes the oldest active CCB. */
  completeNext(status: number = CamStatus.REQ_CMP, scsiStatus?: number): ScsiIoCcb {
    const ccb = this.active[0];
    if (ccb === undefined) throw new Error('FakeSim.completeNext: nothing active');
    this.complete(ccb, status, scsiStatus);
    return ccb;
  }

  detach(): Promise<void> {
    if (!this.leakOnDetach) for (const ccb of [...this.active]) this.complete(ccb, CamStatus.DEV_NOT_THERE);
    return Promise.resolve();
  }
}

export interface Bench {
  readonly xpt: Xpt;
  readonly sim: FakeSim;
  readonly clock: FakeClock;
  readonly emu: SbcEmulator;
  readonly bcs: MemoryBlockSet;
  readonly path: CamPath;
  /** Completed CCBs in callback order. */
  readonly log: ScsiIoCcb[];
  /** A READ-like SCSI_IO whose completion is logged. */
  io(init?: Partial<{ priority: number; tagAction: TagAction; timeoutMs: number; flags: number; tag: string }>): ScsiIoCcb & { tag?: string };
}

export interface BenchOptions {
  readonly capacity?: number;
  readonly tuning?: Partial<DevqTuning>;
  readonly xpt?: Omit<XptOptions, 'clock' | 'tuning'>;
  readonly blocks?: bigint;
}

export interface Rig {
  readonly xpt: Xpt;
  readonly sim: FakeSim;
  readonly clock: FakeClock;
  readonly emu: SbcEmulator;
  readonly bcs: MemoryBlockSet;
}

/** An XPT with one FakeSim bus answering from an SbcEmulator, not scanned yet. */
export async function rig(opts: BenchOptions & { readonly luns?: readonly number[] } = {}): Promise<Rig> {
  const clock = new FakeClock();
  const xpt = new Xpt({ ...opts.xpt, clock, tuning: opts.tuning ?? {} });
  const sim = new FakeSim(opts.capacity ?? 8);
  const bcs = new MemoryBlockSet({ blocks: opts.blocks ?? 2048n, record: false });
  const emu = await SbcEmulator.create(bcs, opts.luns === undefined ? {} : { luns: opts.luns });
  sim.handle = xpt.registerBus(sim);
  sim.answer = (ccb) => answerFromEmulator(emu, ccb);
  return { xpt, sim, clock, emu, bcs };
}

/** Awaits `p`, moving the fake clock on while it is pending (probe back-offs sleep on it). */
export async function drive<T>(clock: FakeClock, p: Promise<T>, stepMs = 50): Promise<T> {
  const state = { done: false };
  const out = p.finally(() => {
    state.done = true;
  });
  for (let i = 0; i < 10_000 && !state.done; i++) {
    await settle();
    clock.advance(stepMs);
  }
  return out;
}

/**
 * An XPT with one FakeSim bus whose LUN 0 was probed (answered by an
 * SbcEmulator over a MemoryBlockSet); afterwards the SIM holds CCBs.
 */
export async function bench(opts: BenchOptions = {}): Promise<Bench> {
  const { xpt, sim, clock, emu, bcs } = await rig(opts);
  const devices = await xpt.scan(sim.handle.bus);
  if (devices.length !== 1) throw new Error('bench: probe found no device');
  sim.answer = undefined;
  const path: CamPath = { bus: sim.handle.bus, target: 0, lun: 0 };
  const log: ScsiIoCcb[] = [];
  const io: Bench['io'] = (init = {}) => {
    const ccb: ScsiIoCcb & { tag?: string } = newScsiIo({
      path,
      cdb: encodeTestUnitReady(),
      dir: CamDir.NONE,
      priority: init.priority ?? CamPriority.NORMAL,
      tagAction: init.tagAction ?? TagAction.SIMPLE,
      timeoutMs: init.timeoutMs ?? 0,
      flags: init.flags ?? 0,
      done: (c) => {
        log.push(c as ScsiIoCcb);
      },
    });
    if (init.tag !== undefined) ccb.tag = init.tag;
    return ccb;
  };
  return { xpt, sim, clock, emu, bcs, path, log, io };
}

/** Tags of CCBs (set by bench.io) in order. */
export const tags = (ccbs: readonly ScsiIoCcb[]): (string | undefined)[] => ccbs.map((c) => (c as { tag?: string }).tag);
