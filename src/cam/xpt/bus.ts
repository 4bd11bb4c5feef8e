// The XPT's records of what it routes to (FreeBSD cam_xpt_internal.h: the
// existing bus and existing device, cam_eb and cam_ed): a bus is a registered
// SIM with its SIM queue and devices, a device a path with its device queue
// and what the probe learned. Here too: how a device is created (its
// completions post AC_UNIT_ATTENTION) and lost (AC_LOST_DEVICE).

import { CAM_LUN_WILDCARD, CAM_TARGET_WILDCARD, type CamPath, type Ccb, type ScsiIoCcb } from '../ccb.js';
import { AsyncCode } from '../async.js';
import { DeviceQueue } from '../devq.js';
import type { DevqBus } from '../devq-api.js';
import type { CamDeviceInfo } from './periph-api.js';
import type { Sim } from './sim-api.js';
import type { AsyncEvents } from './events.js';
import { ccbSense } from './probe.js';
import { SenseKey } from '../../scsi/sense.js';

export interface Device {
  readonly path: CamPath;
  readonly devq: DeviceQueue;
  /** Set once the probe found a logical unit (the device is "configured"). */
  info: CamDeviceInfo | undefined;
}

export interface Bus {
  readonly number: number;
  readonly sim: Sim;
  readonly name: string;
  /** The SIM queue and what the bus's device queues share. */
  readonly devq: DevqBus;
  readonly devices: Map<string, Device>;
  /**
   * The device the last CCB went to: nearly every CCB of a bus goes to the
   * same one, and looking it up by its key string costs a string per CCB.
   * Valid while its queue is not gone (a device leaves `devices` only when lost).
   */
  last: Device | undefined;
  /**
   * The bus's device queues, and those of lost devices while they still have
   * CCBs at the SIM: those come back through their queue (a started CCB finds
   * its queue through ccb.xptPriv, see deviceQueueOf), and detach must find
   * them. A lost queue leaves once its last one is back (forgetLost), so a
   * LUN that keeps being probed and not found leaves nothing behind.
   */
  readonly queues: DeviceQueue[];
  /** XPT_ABORT / XPT_RESET_DEV / XPT_RESET_BUS CCBs at the SIM. */
  readonly immediate: Set<Ccb>;
  state: 'up' | 'detaching' | 'gone';
  /** Scans and rescans run one at a time per bus. */
  scans: Promise<unknown>;
  detached: Promise<void> | undefined;
}

export const deviceKey = (p: CamPath): string => `${p.target}:${p.lun}`;
export const comparePaths = (a: CamPath, b: CamPath): number => a.bus - b.bus || a.target - b.target || a.lun - b.lun;

/** The wildcard path of a whole bus (bus-wide events). */
export function busPath(bus: number): CamPath {
  return { bus, target: CAM_TARGET_WILDCARD, lun: CAM_LUN_WILDCARD };
}

/** The bus's found devices, by path. */
export function busDevices(b: Bus): CamDeviceInfo[] {
  const out: CamDeviceInfo[] = [];
  for (const d of b.devices.values()) if (d.info !== undefined) out.push(d.info);
  return out.sort((x, y) => comparePaths(x.path, y.path));
}

/** Adds a device at `path` to the bus, with its own device queue; not found (no info) until its probe says so. */
export function newDevice(b: Bus, path: CamPath, events: AsyncEvents): Device {
  // Every SCSI_IO the queue completes ends here: a UNIT ATTENTION on a found
  // device becomes AC_UNIT_ATTENTION (arg: the SenseData), then the callback.
  // The first probe's power-on unit attention concerns nobody yet.
  const done = (ccb: ScsiIoCcb): void => {
    const sense = dev.info === undefined ? undefined : ccbSense(ccb);
    if (sense?.key === SenseKey.UNIT_ATTENTION) events.post(AsyncCode.UNIT_ATTENTION, ccb.path, sense);
    if (dev.devq.gone) forgetLost(b, dev.devq);
    ccb.done?.(ccb);
  };
  const dev: Device = { path, devq: new DeviceQueue(b.devq, done), info: undefined };
  b.queues.push(dev.devq);
  b.devices.set(deviceKey(path), dev);
  return dev;
}

/** The device is gone: waiting CCBs fail, AC_LOST_DEVICE if it had been found. */
export function loseDevice(b: Bus, dev: Device, events: AsyncEvents): void {
  b.devices.delete(deviceKey(dev.path));
  dev.devq.lose();
  forgetLost(b, dev.devq);
  if (dev.info !== undefined) events.post(AsyncCode.LOST_DEVICE, dev.path, dev.info);
}

/** Drops a lost device's queue from the bus once it has no CCB at the SIM: nothing can come back through it any more. */
function forgetLost(b: Bus, q: DeviceQueue): void {
  if (q.active > 0) return;
  const i = b.queues.indexOf(q);
  if (i >= 0) b.queues.splice(i, 1);
}
