// The transport layer (FreeBSD sys/cam/cam_xpt.c): buses and the SIMs behind
// them, devices found by the bus scan, CCB routing (xpt_action), completion
// (xpt_done), the device queues with their openings and freezes, CCB
// timeouts, and async events. Periphs see it as PeriphXpt (periph-api.ts),
// SIMs as the SimHandle registerBus returns (sim-api.ts). The bus and device
// records are bus.ts; the bus scan is scan.ts.
//
// Routing, by function code:
// - XPT_SCSI_IO: the device's queue (devq.ts), then the SIM.
// - XPT_ABORT: a CCB still waiting completes CAM_REQ_ABORTED at once; an
//   active one is the SIM's to abort; anything else is CAM_UA_ABORT.
// - XPT_RESET_DEV, XPT_RESET_BUS: straight to the SIM, past the device queue
//   and its freezes: they are how a stuck device gets unstuck.
// - XPT_IT_NEXUS_LOST, XPT_ABORT_TASK_SET, XPT_CLEAR_TASK_SET,
//   XPT_TRANSPORT_ABORTED: straight to the SIM too (task management and news
//   for the logical unit, not I/O: they wait for nothing queued).
// - XPT_REL_SIMQ: the device queue's release machinery.
// - XPT_SCAN_BUS, XPT_SCAN_LUN: the bus scan (scan.ts, probing with probe.ts).
// - XPT_PATH_INQ, XPT_GDEV_TYPE, XPT_GDEV_STATS, XPT_NOOP: answered here.
// Every CCB's callback runs exactly once; CCBs answered here are completed
// before action() returns. A path whose bus is not registered is
// CAM_PATH_INVALID, one without a device CAM_DEV_NOT_THERE, an unknown
// function CAM_REQ_INVALID.

import { XptFunc, pathString, type AbortCcb, type CamPath, type Ccb, type RelSimqCcb } from '../ccb.js';
import { CamStatus } from '../status.js';
import { AsyncCode } from '../async.js';
import { DeviceQueue } from '../devq.js';
import { DEFAULT_DEVQ_TUNING, type DevqBus, type DevqTuning } from '../devq-api.js';
import { describeCcb, deviceQueueOf } from '../devq-entry.js';
import { SimQueue } from '../simq.js';
import { systemClock, type CamClock } from '../clock.js';
import type { AsyncCallback, CamDeviceInfo, DevqStats, PeriphXpt } from './periph-api.js';
import type { Sim, SimHandle } from './sim-api.js';
import { AsyncEvents } from './events.js';
import { busDevices, busPath, comparePaths, deviceKey, loseDevice, type Bus, type Device } from './bus.js';
import { BusScanner, serial } from './scan.js';
import { DEFAULT_PROBE_OPTIONS, type ProbeIo, type ProbeOptions } from './probe.js';

export interface XptOptions {
  /** Time and timers (CCB timeouts, timed releases, latency); default the process clock. */
  readonly clock?: CamClock;
  /** Adaptive queue depth: minimum openings, growth, requeue back-off. */
  readonly tuning?: Partial<DevqTuning>;
  /** Probe retries and timeouts. */
  readonly probe?: Partial<ProbeOptions>;
}

const isId = (n: number): boolean => Number.isInteger(n) && n >= 0;
const isPath = (p: CamPath): boolean => isId(p.bus) && isId(p.target) && isId(p.lun);

export class Xpt implements PeriphXpt {
  readonly #clock: CamClock;
  readonly #tuning: DevqTuning;
  readonly #buses = new Map<number, Bus>();
  readonly #events = new AsyncEvents();
  readonly #scanner: BusScanner;
  #nextBus = 0;

  constructor(opts: XptOptions = {}) {
    this.#clock = opts.clock ?? systemClock;
    this.#tuning = { ...DEFAULT_DEVQ_TUNING, ...opts.tuning };
    // The scan's CCBs take the route every CCB takes: action(), the device queue.
    const io: ProbeIo = {
      action: (ccb) => {
        this.action(ccb);
      },
      sleep: (ms) =>
        new Promise((resolve) => {
          this.#clock.setTimer(resolve, ms);
        }),
    };
    this.#scanner = new BusScanner(io, { ...DEFAULT_PROBE_OPTIONS, ...opts.probe }, this.#events);
    const t = this.#tuning;
    if (!Number.isInteger(t.minTags) || t.minTags < 1) throw new RangeError(`tuning.minTags must be a positive integer, got ${t.minTags}`);
    if (!Number.isInteger(t.growAfter) || t.growAfter < 1) throw new RangeError(`tuning.growAfter must be a positive integer, got ${t.growAfter}`);
    if (!(t.requeueDelayMs >= 0)) throw new RangeError(`tuning.requeueDelayMs must be ≥ 0, got ${t.requeueDelayMs}`);
  }

  /**
   * Registers a SIM as a new bus (xpt_bus_register) and posts
   * AC_PATH_REGISTERED. Nothing is called on the SIM until the first CCB, so
   * it may store the returned handle first. Bus numbers are never reused.
   */
  registerBus(sim: Sim): SimHandle {
    const number = this.#nextBus++;
    const clock = this.#clock;
    const simq = new SimQueue();
    const devq: DevqBus = {
      simq,
      clock,
      tuning: this.#tuning,
      sim: {
        capacity: () => sim.capacity(),
        cost: (ccb) => sim.cost(ccb),
        start: (ccb) => {
          sim.action(ccb);
        },
        timeout: (ccb) => {
          sim.timeout(ccb);
        },
      },
    };
    const bus: Bus = {
      number,
      sim,
      name: `${sim.name}${sim.unit}`,
      devq,
      devices: new Map(),
      last: undefined,
      queues: [],
      immediate: new Set(),
      state: 'up',
      scans: Promise.resolve(),
      detached: undefined,
    };
    this.#buses.set(number, bus);
    this.#events.post(AsyncCode.PATH_REGISTERED, busPath(number), undefined);
    return {
      bus: number,
      done: (ccb) => {
        this.#simDone(bus, ccb);
      },
      freezeSimq: (count) => {
        simq.freeze(count);
      },
      releaseSimq: (count, run) => {
        simq.release(count, run);
      },
      async: (code, path, arg) => {
        this.#simAsync(bus, code, path, arg);
      },
      run: () => {
        simq.run();
      },
      abortQueued: (path, match, scsiStatus) => (isPath(path) ? (this.#busDevice(bus, path)?.devq.abortWaiting(match, scsiStatus) ?? []) : []),
    };
  }

  /**
   * Detaches a bus (xpt_bus_deregister): posts AC_LOST_DEVICE for each device,
   * completes every waiting CCB CAM_DEV_NOT_THERE, waits for the SIM to return
   * its active ones (Sim.detach), then posts AC_PATH_DEREGISTERED. A SIM that
   * leaves CCBs behind is a bug: they are completed CAM_DEV_NOT_THERE so no
   * caller hangs, and the returned promise rejects.
   */
  deregisterBus(bus: number): Promise<void> {
    const b = this.#buses.get(bus);
    if (b === undefined) return Promise.reject(new RangeError(`deregisterBus: no bus ${bus}`));
    b.detached ??= this.#detach(b);
    return b.detached;
  }

  /** Scans a bus (XPT_SCAN_BUS): probes LUN 0, then the LUNs REPORT LUNS lists; resolves with the bus's devices. */
  scan(bus: number): Promise<readonly CamDeviceInfo[]> {
    const b = this.#buses.get(bus);
    if (b?.state !== 'up') return Promise.reject(new RangeError(`scan: bus ${bus} is not registered`));
    return serial(b, () => this.#scanner.scanBus(b));
  }

  action(ccb: Ccb): void {
    if (ccb.state === 'queued' || ccb.state === 'active') {
      throw new Error(`xpt action: CCB func ${ccb.func.toString(16)}h on ${pathString(ccb.path)} is already ${ccb.state}`);
    }
    const b = isPath(ccb.path) ? this.#buses.get(ccb.path.bus) : undefined;
    if (b === undefined) {
      this.#finish(ccb, CamStatus.PATH_INVALID);
      return;
    }
    if (b.state !== 'up') {
      this.#finish(ccb, CamStatus.DEV_NOT_THERE);
      return;
    }
    const dev = this.#busDevice(b, ccb.path);
    switch (ccb.func) {
      case XptFunc.SCSI_IO:
        if (dev === undefined) this.#finish(ccb, CamStatus.DEV_NOT_THERE);
        else dev.devq.submit(ccb);
        return;
      case XptFunc.PATH_INQ:
        ccb.result = { ...b.sim.pathInq(), bus: b.number };
        this.#finish(ccb, CamStatus.REQ_CMP);
        return;
      case XptFunc.GDEV_TYPE:
      case XptFunc.GDEV_STATS:
        this.#finish(ccb, dev?.info === undefined ? CamStatus.DEV_NOT_THERE : CamStatus.REQ_CMP);
        return;
      case XptFunc.NOOP:
        this.#finish(ccb, CamStatus.REQ_CMP);
        return;
      case XptFunc.REL_SIMQ:
        this.#relsim(ccb, dev);
        return;
      case XptFunc.ABORT:
        this.#abort(ccb);
        return;
      case XptFunc.RESET_DEV:
      case XptFunc.IT_NEXUS_LOST:
      case XptFunc.ABORT_TASK_SET:
      case XptFunc.CLEAR_TASK_SET:
      case XptFunc.TRANSPORT_ABORTED:
        if (dev === undefined) this.#finish(ccb, CamStatus.DEV_NOT_THERE);
        else this.#toSim(b, ccb);
        return;
      case XptFunc.RESET_BUS:
        this.#toSim(b, ccb);
        return;
      case XptFunc.SCAN_BUS:
      case XptFunc.SCAN_LUN: {
        ccb.state = 'active';
        const work = ccb.func === XptFunc.SCAN_BUS ? (): Promise<unknown> => this.#scanner.scanBus(b) : (): Promise<unknown> => this.#scanner.scanLun(b, ccb.path);
        serial(b, work).then(
          () => {
            this.#finish(ccb, CamStatus.REQ_CMP);
          },
          () => {
            this.#finish(ccb, CamStatus.REQ_CMP_ERR);
          },
        );
        return;
      }
      default:
        this.#finish(ccb, CamStatus.REQ_INVALID);
    }
  }

  freezeDevq(path: CamPath, count: number): void {
    this.#device(path)?.devq.freeze(count);
  }

  /** Drops freezes the caller holds. A device that is gone took its freezes with it (no-op). */
  releaseDevq(path: CamPath, count: number, runQueue: boolean): void {
    this.#device(path)?.devq.release(count, runQueue);
  }

  device(path: CamPath): CamDeviceInfo | undefined {
    return this.#device(path)?.info;
  }

  devices(): readonly CamDeviceInfo[] {
    const out: CamDeviceInfo[] = [];
    for (const b of this.#buses.values()) out.push(...busDevices(b));
    return out.sort((x, y) => comparePaths(x.path, y.path));
  }

  stats(path: CamPath): DevqStats | undefined {
    return this.#device(path)?.devq.stats();
  }

  onAsync(mask: number, path: CamPath | undefined, cb: AsyncCallback): () => void {
    return this.#events.subscribe(mask, path, cb);
  }

  #device(path: CamPath): Device | undefined {
    const b = this.#buses.get(path.bus);
    return b === undefined ? undefined : this.#busDevice(b, path);
  }

  #busDevice(b: Bus, path: CamPath): Device | undefined {
    const last = b.last;
    if (last?.path.target === path.target && last.path.lun === path.lun && !last.devq.gone) return last;
    const dev = b.devices.get(deviceKey(path));
    if (dev !== undefined) b.last = dev;
    return dev;
  }

  /** Completes a CCB the XPT answers itself. */
  #finish(ccb: Ccb, status: number): void {
    ccb.status = status;
    ccb.state = 'done';
    ccb.done?.(ccb);
  }

  #toSim(b: Bus, ccb: Ccb): void {
    ccb.state = 'active';
    ccb.status = CamStatus.REQ_INPROG;
    b.immediate.add(ccb);
    b.sim.action(ccb);
  }

  #simDone(b: Bus, ccb: Ccb): void {
    if (ccb.func === XptFunc.SCSI_IO) {
      const dq = deviceQueueOf(ccb);
      if (dq?.bus !== b.devq || !dq.isActive(ccb)) {
        throw new Error(`xpt done from ${b.name}: ${describeCcb(ccb)} is ${ccb.state}, not active at this SIM: completed twice, or never started`);
      }
      dq.complete(ccb);
      return;
    }
    if (!b.immediate.delete(ccb)) {
      throw new Error(`xpt done from ${b.name}: CCB func ${ccb.func.toString(16)}h on ${pathString(ccb.path)} is ${ccb.state}, not active at this SIM`);
    }
    if (ccb.status === CamStatus.REQ_INPROG) throw new Error(`xpt done from ${b.name}: CCB func ${ccb.func.toString(16)}h completed with CAM_REQ_INPROG`);
    ccb.state = 'done';
    ccb.done?.(ccb);
  }

  #relsim(ccb: RelSimqCcb, dev: Device | undefined): void {
    if (dev === undefined) {
      this.#finish(ccb, CamStatus.DEV_NOT_THERE);
      return;
    }
    const r = dev.devq.relsim(ccb);
    ccb.qfrozenCount = r.qfrozen;
    this.#finish(ccb, r.status);
  }

  /** XPT_ABORT, routed by the victim's path; only XPT_SCSI_IO CCBs can be aborted. */
  #abort(ccb: AbortCcb): void {
    const victim = ccb.abort;
    const vb = victim.func === XptFunc.SCSI_IO && isPath(victim.path) ? this.#buses.get(victim.path.bus) : undefined;
    if (vb === undefined || victim.func !== XptFunc.SCSI_IO) {
      this.#finish(ccb, CamStatus.UA_ABORT);
      return;
    }
    // Its own queue answers, also for an active CCB of a device already lost (it is still the SIM's).
    const dq = deviceQueueOf(victim);
    const outcome = dq?.bus === vb.devq ? dq.abort(victim) : 'unknown';
    if (outcome === 'active') this.#toSim(vb, ccb);
    else this.#finish(ccb, outcome === 'aborted' ? CamStatus.REQ_CMP : CamStatus.UA_ABORT);
  }

  /**
   * Events a SIM reports. AC_GETDEV_CHANGED makes the XPT re-read the unit's
   * capacity before subscribers hear of it (its arg is the new CamDeviceInfo,
   * whatever the SIM passed); AC_LOST_DEVICE drops the device; AC_FOUND_DEVICE
   * probes the LUN (the probe posts AC_FOUND_DEVICE with the CamDeviceInfo).
   * Everything else is passed on as reported.
   */
  #simAsync(b: Bus, code: AsyncCode, path: CamPath, arg: unknown): void {
    if (b.state !== 'up') return;
    const dev = b.devices.get(deviceKey(path));
    if (code === AsyncCode.LOST_DEVICE && dev !== undefined) loseDevice(b, dev, this.#events);
    else if (code === AsyncCode.FOUND_DEVICE) void serial(b, () => this.#scanner.scanLun(b, path));
    else if (code === AsyncCode.GETDEV_CHANGED && dev?.info !== undefined) void serial(b, () => this.#scanner.refreshCapacity(b, dev));
    else this.#events.post(code, path, arg);
  }

  async #detach(b: Bus): Promise<void> {
    b.state = 'detaching';
    for (const d of [...b.devices.values()]) {
      d.devq.lose();
      if (d.info !== undefined) this.#events.post(AsyncCode.LOST_DEVICE, d.path, d.info);
    }
    let failure: Error | undefined;
    try {
      await b.sim.detach();
    } catch (e) {
      failure = e instanceof Error ? e : new Error(`${b.name} detach failed`, { cause: e });
    }
    b.state = 'gone';
    this.#buses.delete(b.number);
    b.devices.clear();
    const started = DeviceQueue.activeInStartOrder(b.queues);
    const left = started.length + b.immediate.size;
    for (const [ccb, dq] of started) {
      ccb.status = CamStatus.DEV_NOT_THERE;
      dq.complete(ccb);
    }
    for (const ccb of [...b.immediate]) {
      b.immediate.delete(ccb);
      this.#finish(ccb, CamStatus.DEV_NOT_THERE);
    }
    this.#events.post(AsyncCode.PATH_DEREGISTERED, busPath(b.number), undefined);
    if (failure !== undefined) throw failure;
    if (left > 0) throw new Error(`deregisterBus: ${b.name} detached with ${left} CCB(s) still active; completed them CAM_DEV_NOT_THERE`);
  }
}
