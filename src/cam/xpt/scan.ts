// The bus scan (FreeBSD XPT_SCAN_BUS / XPT_SCAN_LUN): which logical units a
// bus has, kept in step with its devices — LUN 0, then what REPORT LUNS
// lists; a LUN rescanned on AC_FOUND_DEVICE, its capacity re-read on
// AC_GETDEV_CHANGED. Each LUN is probed by probe.ts; what changed is posted
// as AC_FOUND_DEVICE, AC_GETDEV_CHANGED or AC_LOST_DEVICE. Scans of one bus
// run one at a time (serial).

import type { CamPath } from '../ccb.js';
import { AsyncCode } from '../async.js';
import type { CamDeviceInfo } from './periph-api.js';
import type { AsyncEvents } from './events.js';
import { busDevices, deviceKey, loseDevice, newDevice, type Bus, type Device } from './bus.js';
import { ProbeCommands, probeLun, readCapacity, reportLuns, type ProbeIo, type ProbeOptions } from './probe.js';

/** Not narrowed by TypeScript across an await, unlike `b.state === 'up'`. */
const isUp = (b: Bus): boolean => b.state === 'up';

/** Whether two probes describe the same unit (the bytes periphs act on). */
function sameInfo(a: CamDeviceInfo, b: CamDeviceInfo): boolean {
  const json = (i: CamDeviceInfo): string =>
    JSON.stringify({ ...i, inquiry: { ...i.inquiry, data: [...i.inquiry.data] } }, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
  return json(a) === json(b);
}

/** Runs `work` after the bus's earlier scans have settled, whether they succeeded or not. */
export function serial<T>(b: Bus, work: () => Promise<T>): Promise<T> {
  const run = b.scans.then(work, work);
  b.scans = run.catch(() => undefined);
  return run;
}

/** Scans buses through the XPT (`io`); run each through serial(). */
export class BusScanner {
  readonly #io: ProbeIo;
  readonly #probe: ProbeOptions;
  readonly #events: AsyncEvents;

  constructor(io: ProbeIo, probe: ProbeOptions, events: AsyncEvents) {
    this.#io = io;
    this.#probe = probe;
    this.#events = events;
  }

  /** Target 0 (vtcam SIMs front one target): LUN 0, then what REPORT LUNS lists up to the SIM's maxLun. */
  async scanBus(b: Bus): Promise<readonly CamDeviceInfo[]> {
    const lun0 = await this.scanLun(b, { bus: b.number, target: 0, lun: 0 });
    let luns = [0];
    const maxLun = lun0 === undefined || b.state !== 'up' ? 0 : b.sim.pathInq().maxLun;
    if (lun0 !== undefined && maxLun > 0) {
      const listed = await reportLuns(this.#io, lun0.path, this.#probe);
      luns = [0, ...(listed ?? []).filter((l) => l > 0 && l <= maxLun).sort((x, y) => x - y)];
    }
    for (const lun of luns.slice(1)) {
      if (b.state !== 'up') break;
      await this.scanLun(b, { bus: b.number, target: 0, lun });
    }
    if (b.state === 'up') {
      for (const d of [...b.devices.values()]) if (d.path.target === 0 && !luns.includes(d.path.lun)) loseDevice(b, d, this.#events);
    }
    return busDevices(b);
  }

  /** Probes one LUN: creates, updates or drops its device. */
  async scanLun(b: Bus, at: CamPath): Promise<CamDeviceInfo | undefined> {
    if (b.state !== 'up') return undefined;
    const path: CamPath = { bus: b.number, target: at.target, lun: at.lun };
    const dev = b.devices.get(deviceKey(path)) ?? newDevice(b, path, this.#events);
    const r = await probeLun(this.#io, path, b.name, this.#probe);
    // The bus may have gone, or the device been lost, while the probe ran.
    if (!isUp(b) || dev.devq.gone) return undefined;
    if (!r.found) {
      loseDevice(b, dev, this.#events);
      return undefined;
    }
    const old = dev.info;
    dev.info = r.info;
    if (old === undefined) this.#events.post(AsyncCode.FOUND_DEVICE, path, r.info);
    else if (!sameInfo(old, r.info)) this.#events.post(AsyncCode.GETDEV_CHANGED, path, r.info);
    return r.info;
  }

  /** Re-reads a found unit's capacity, then posts AC_GETDEV_CHANGED with its updated info. */
  async refreshCapacity(b: Bus, dev: Device): Promise<void> {
    const info = dev.info;
    if (info === undefined) return;
    const cmds = new ProbeCommands(this.#io, dev.path, this.#probe);
    const capacity = await readCapacity(cmds, info.inquiry.data[2] ?? 0);
    if (b.state !== 'up' || dev.devq.gone || dev.info === undefined) return;
    if (capacity !== undefined) dev.info = { ...dev.info, capacity };
    this.#events.post(AsyncCode.GETDEV_CHANGED, dev.path, dev.info);
  }
}
