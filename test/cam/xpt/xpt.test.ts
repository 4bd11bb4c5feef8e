// The XPT's routing and bookkeeping: bus registration and deregistration,
// function codes answered by the XPT or passed to the SIM, bad paths, async
// event delivery, and the events SIMs report.

import { describe, expect, test, vi } from 'vitest';
import {
  CAM_LUN_WILDCARD,
  CAM_TARGET_WILDCARD,
  CamPriority,
  XptFunc,
  newCcb,
  type CamPath,
  type Ccb,
  type PathInqCcb,
} from '../../../src/cam/ccb.js';
import { AsyncCode } from '../../../src/cam/async.js';
import { CAM_DEV_QFRZN, CamStatus } from '../../../src/cam/status.js';
import type { CamDeviceInfo } from '../../../src/cam/xpt/periph-api.js';
import { Xpt } from '../../../src/cam/xpt/xpt.js';
import { DeviceQueue } from '../../../src/cam/devq.js';
import { Asc, SenseKey, ScsiStatus, encodeSense, senseUnitAttention } from '../../../src/scsi/index.js';
import { FakeSim, answerFromEmulator, bench, drive, rig, settle } from './harness.js';

interface Event {
  code: number;
  path: CamPath;
  arg: unknown;
}

function record(xpt: Xpt, mask = 0x7fff, path?: CamPath): Event[] {
  const events: Event[] = [];
  xpt.onAsync(mask, path, (code, p, arg) => events.push({ code, path: p, arg }));
  return events;
}

function pathInq(path: CamPath, done?: (c: Ccb) => void): PathInqCcb {
  return { func: XptFunc.PATH_INQ, path, status: 0, priority: CamPriority.NORMAL, timeoutMs: 0, retryCount: 0, flags: 0, done, state: 'free', result: undefined };
}

const busPath = (bus: number): CamPath => ({ bus, target: CAM_TARGET_WILDCARD, lun: CAM_LUN_WILDCARD });

describe('function codes answered by the XPT', () => {
  test('XPT_PATH_INQ: the SIM’s data with the XPT’s bus number, completed through the callback before action() returns', async () => {
    const b = await bench();
    const seen: Ccb[] = [];
    const ccb = pathInq({ bus: b.path.bus, target: 0, lun: 0 }, (c) => seen.push(c));
    b.xpt.action(ccb);
    expect(seen).toEqual([ccb]);
    expect(ccb.status).toBe(CamStatus.REQ_CMP);
    expect(ccb.state).toBe('done');
    expect(ccb.result).toMatchObject({ simName: 'fake', bus: b.path.bus, maxLun: 0, openings: 8 });
  });

  test('XPT_GDEV_TYPE, XPT_GDEV_STATS, XPT_NOOP; a missing device is CAM_DEV_NOT_THERE', async () => {
    const b = await bench();
    const other: CamPath = { ...b.path, lun: 3 };
    for (const func of [XptFunc.GDEV_TYPE, XptFunc.GDEV_STATS] as const) {
      const ok = newCcb(func, b.path);
      b.xpt.action(ok);
      expect(ok.status).toBe(CamStatus.REQ_CMP);
      const missing = newCcb(func, other);
      b.xpt.action(missing);
      expect(missing.status).toBe(CamStatus.DEV_NOT_THERE);
    }
    const noop = newCcb(XptFunc.NOOP, b.path);
    b.xpt.action(noop);
    expect(noop.status).toBe(CamStatus.REQ_CMP);
  });

  test('no such bus or a malformed path: CAM_PATH_INVALID; SCSI_IO to no device: CAM_DEV_NOT_THERE; unknown function: CAM_REQ_INVALID', async () => {
    const b = await bench();
    for (const path of [{ bus: 7, target: 0, lun: 0 }, { bus: -1, target: 0, lun: 0 }, { bus: 0, target: 0.5, lun: 0 }]) {
      const c = newCcb(XptFunc.NOOP, path);
      b.xpt.action(c);
      expect(c.status).toBe(CamStatus.PATH_INVALID);
    }
    const io = b.io();
    const lost = { ...io, path: { ...b.path, lun: 1 } };
    b.xpt.action(lost);
    expect(lost.status).toBe(CamStatus.DEV_NOT_THERE);
    expect(b.log).toEqual([lost]);
    const unknown = { ...newCcb(XptFunc.NOOP, b.path), func: XptFunc.ASYNC } as unknown as Ccb;
    b.xpt.action(unknown);
    expect(unknown.status).toBe(CamStatus.REQ_INVALID);
  });

  test('XPT_SCAN_BUS as a CCB completes after the probe', async () => {
    const r = await rig();
    const seen: Ccb[] = [];
    const scan = newCcb(XptFunc.SCAN_BUS, { bus: r.sim.handle.bus, target: 0, lun: 0 }, (c) => seen.push(c));
    r.xpt.action(scan);
    expect(scan.state).toBe('active');
    for (let i = 0; i < 50 && seen.length === 0; i++) await settle();
    expect(seen).toEqual([scan]);
    expect(scan.status).toBe(CamStatus.REQ_CMP);
    expect(r.xpt.devices()).toHaveLength(1);
  });
});

describe('routing details', () => {
  test('XPT_ABORT is routed by the victim’s path; a CCB that is not SCSI_IO cannot be aborted', async () => {
    const b = await bench({ capacity: 1 });
    const other = new FakeSim(4);
    other.handle = b.xpt.registerBus(other);
    const [a, waiting] = [b.io(), b.io()];
    b.xpt.action(a);
    b.xpt.action(waiting);
    const abort = { ...newCcb(XptFunc.NOOP, { bus: other.handle.bus, target: 0, lun: 0 }), func: XptFunc.ABORT, abort: waiting } as unknown as Ccb;
    b.xpt.action(abort);
    expect(abort.status).toBe(CamStatus.REQ_CMP);
    expect(waiting.status).toBe(CamStatus.REQ_ABORTED | CAM_DEV_QFRZN);
    const notIo = { ...newCcb(XptFunc.NOOP, b.path), func: XptFunc.ABORT, abort: newCcb(XptFunc.NOOP, b.path) } as unknown as Ccb;
    b.xpt.action(notIo);
    expect(notIo.status).toBe(CamStatus.UA_ABORT);
  });

  test('XPT_SCAN_LUN probes the LUN of its path', async () => {
    const r = await rig();
    const scan = newCcb(XptFunc.SCAN_LUN, { bus: r.sim.handle.bus, target: 0, lun: 0 });
    r.xpt.action(scan);
    for (let i = 0; i < 50 && scan.state !== 'done'; i++) await settle();
    expect(scan.status).toBe(CamStatus.REQ_CMP);
    expect(r.xpt.device({ bus: r.sim.handle.bus, target: 0, lun: 0 })?.inquiry.vendor).toBe('VTCAM');
  });

  test('deregistration during a scan: the scan finds nothing and leaves nothing behind', async () => {
    const r = await rig();
    const scan = r.xpt.scan(r.sim.handle.bus);
    while (r.sim.started.length < 3) await Promise.resolve(); // the probe is under way
    expect(r.sim.active).toHaveLength(1);
    await r.xpt.deregisterBus(r.sim.handle.bus);
    expect(await scan).toEqual([]);
    expect(r.xpt.devices()).toEqual([]);
    expect(r.sim.active).toEqual([]);
  });
});

describe('resets go to the SIM', () => {
  test('XPT_RESET_DEV and XPT_RESET_BUS reach the SIM past frozen queues; the SIM completes them and reports the events', async () => {
    const b = await bench();
    const events = record(b.xpt);
    b.xpt.freezeDevq(b.path, 1);
    b.sim.handle.freezeSimq(1);
    const seen: Ccb[] = [];
    const bdr = newCcb(XptFunc.RESET_DEV, b.path, (c) => seen.push(c), CamPriority.OOB);
    const busReset = newCcb(XptFunc.RESET_BUS, b.path, (c) => seen.push(c), CamPriority.OOB);
    b.xpt.action(bdr);
    b.xpt.action(busReset);
    expect(b.sim.others).toEqual([bdr, busReset]);
    bdr.status = CamStatus.REQ_CMP;
    b.sim.handle.done(bdr);
    b.sim.handle.async(AsyncCode.SENT_BDR, b.path);
    busReset.status = CamStatus.REQ_CMP;
    b.sim.handle.done(busReset);
    b.sim.handle.async(AsyncCode.BUS_RESET, busPath(b.path.bus));
    expect(seen).toEqual([bdr, busReset]);
    expect(events).toEqual([]); // not yet: delivered after the call stack
    await settle();
    expect(events.map((e) => e.code)).toEqual([AsyncCode.SENT_BDR, AsyncCode.BUS_RESET]);
    const missing = newCcb(XptFunc.RESET_DEV, { ...b.path, lun: 4 });
    b.xpt.action(missing);
    expect(missing.status).toBe(CamStatus.DEV_NOT_THERE);
  });
});

describe('bus registration and deregistration', () => {
  test('bus numbers are never reused; AC_PATH_REGISTERED on a wildcard path', async () => {
    const xpt = new Xpt();
    const events = record(xpt);
    const h0 = xpt.registerBus(new FakeSim(4));
    const h1 = xpt.registerBus(new FakeSim(4));
    await xpt.deregisterBus(h0.bus);
    const h2 = xpt.registerBus(new FakeSim(4));
    expect([h0.bus, h1.bus, h2.bus]).toEqual([0, 1, 2]);
    await settle();
    expect(events.map((e) => [e.code, e.path.bus])).toEqual([
      [AsyncCode.PATH_REGISTERED, 0],
      [AsyncCode.PATH_REGISTERED, 1],
      [AsyncCode.PATH_DEREGISTERED, 0],
      [AsyncCode.PATH_REGISTERED, 2],
    ]);
    expect(events[0]?.path).toEqual(busPath(0));
    await expect(xpt.deregisterBus(9)).rejects.toThrow(RangeError);
    await expect(xpt.scan(0)).rejects.toThrow(/bus 0 is not registered/);
  });

  test('waiting CCBs complete CAM_DEV_NOT_THERE exactly once, active ones through the SIM; then the bus is gone', async () => {
    const b = await bench({ capacity: 2 });
    const events = record(b.xpt);
    const ccbs = [b.io(), b.io(), b.io(), b.io()];
    const calls = new Map<Ccb, number>();
    for (const c of ccbs) {
      c.done = () => calls.set(c, (calls.get(c) ?? 0) + 1);
      b.xpt.action(c);
    }
    b.xpt.freezeDevq(b.path, 1); // a periph's freeze dies with the device
    const p = b.xpt.deregisterBus(b.path.bus);
    expect(b.xpt.deregisterBus(b.path.bus)).toBe(p);
    await p;
    expect(ccbs.map((c) => calls.get(c))).toEqual([1, 1, 1, 1]);
    expect(ccbs.map((c) => c.status)).toEqual(Array(4).fill(CamStatus.DEV_NOT_THERE));
    await settle();
    expect(events.map((e) => e.code)).toEqual([AsyncCode.LOST_DEVICE, AsyncCode.PATH_DEREGISTERED]);
    expect((events[0]?.arg as CamDeviceInfo).inquiry.vendor).toBe('VTCAM');
    const after = b.io();
    b.xpt.action(after);
    expect(after.status).toBe(CamStatus.PATH_INVALID);
    expect(() => {
      b.sim.handle.done(ccbs[0] as Ccb);
    }).toThrow(/not active at this SIM/);
    expect(b.xpt.devices()).toEqual([]);
    expect(b.xpt.stats(b.path)).toBeUndefined();
    b.xpt.releaseDevq(b.path, 1, true); // no device: a no-op, not an error
  });

  test('during detach, new I/O and requeues complete CAM_DEV_NOT_THERE', async () => {
    const b = await bench({ capacity: 2 });
    const [a, c] = [b.io(), b.io()];
    b.xpt.action(a);
    b.xpt.action(c);
    let late: Ccb | undefined;
    a.done = () => {
      late = b.io();
      b.xpt.action(late);
    };
    b.sim.detach = () => {
      b.sim.complete(a, CamStatus.DEV_NOT_THERE);
      b.sim.complete(c, CamStatus.REQUEUE_REQ);
      return Promise.resolve();
    };
    await b.xpt.deregisterBus(b.path.bus);
    expect(late?.status).toBe(CamStatus.DEV_NOT_THERE);
    expect(c.status).toBe(CamStatus.DEV_NOT_THERE);
    expect(c.state).toBe('done');
  });

  test('a SIM that leaves CCBs behind: they complete CAM_DEV_NOT_THERE and deregistration rejects', async () => {
    const b = await bench();
    const a = b.io();
    b.xpt.action(a);
    b.sim.leakOnDetach = true;
    await expect(b.xpt.deregisterBus(b.path.bus)).rejects.toThrow(/fake0 detached with 1 CCB\(s\) still active/);
    expect(a.status).toBe(CamStatus.DEV_NOT_THERE);
    expect(b.log).toEqual([a]);
  });

  test('CCBs left behind complete in the order they started, whatever order others finished in', async () => {
    const b = await bench();
    const ccbs = Array.from({ length: 5 }, () => b.io());
    for (const c of ccbs) b.xpt.action(c);
    // Finishing the second and fourth reorders the devq's active list (it swap-removes).
    b.sim.complete(ccbs[1] as (typeof ccbs)[number]);
    b.sim.complete(ccbs[3] as (typeof ccbs)[number]);
    b.sim.leakOnDetach = true;
    await expect(b.xpt.deregisterBus(b.path.bus)).rejects.toThrow(/detached with 3 CCB\(s\) still active/);
    expect(b.log).toEqual([ccbs[1], ccbs[3], ccbs[0], ccbs[2], ccbs[4]]);
  });
});

describe('the XPT’s link from a CCB to its queue (xptPriv)', () => {
  test('set while the CCB is queued or active, cleared once it is done, so the CCB can be issued again', async () => {
    const b = await bench({ capacity: 1 });
    const first = b.io();
    const second = b.io();
    b.xpt.action(first);
    b.xpt.action(second);
    expect([first.state, second.state]).toEqual(['active', 'queued']);
    expect(first.xptPriv).toBeDefined();
    expect(second.xptPriv).toBeDefined();
    b.sim.complete(first);
    b.sim.complete(second);
    expect([first.state, second.state, first.xptPriv, second.xptPriv]).toEqual(['done', 'done', undefined, undefined]);
    first.state = 'free';
    b.xpt.action(first);
    b.sim.complete(first);
    expect([first.status, b.log]).toEqual([CamStatus.REQ_CMP, [first, second, first]]);
  });

  test('a completion for a CCB that is not active at this SIM is a SIM bug: it throws, twice or never started', async () => {
    const b = await bench();
    const c = b.io();
    expect(() => { b.sim.handle.done(c); }).toThrow(/not active at this SIM/);
    b.xpt.action(c);
    b.sim.complete(c);
    expect(() => { b.sim.handle.done(c); }).toThrow(/completed twice, or never started/);
    expect(b.log).toEqual([c]);
  });
});

describe('async events', () => {
  test('mask and path filters, wildcards, unsubscribe, order kept', async () => {
    const b = await bench();
    const all = record(b.xpt);
    const onlyResets = record(b.xpt, AsyncCode.BUS_RESET | AsyncCode.SENT_BDR);
    const lun0 = record(b.xpt, 0x7fff, b.path);
    const lun1 = record(b.xpt, 0x7fff, { ...b.path, lun: 1 });
    const wholeBus = record(b.xpt, 0x7fff, busPath(b.path.bus));
    const otherBus = record(b.xpt, 0x7fff, busPath(b.path.bus + 1));
    const gone: Event[] = [];
    const off = b.xpt.onAsync(0x7fff, undefined, (code, path, arg) => gone.push({ code, path, arg }));
    off();
    b.sim.handle.async(AsyncCode.SENT_BDR, b.path);
    b.sim.handle.async(AsyncCode.BUS_RESET, busPath(b.path.bus));
    b.sim.handle.async(AsyncCode.INQ_CHANGED, { ...b.path, lun: 1 }, 'x');
    await settle();
    const codes = (es: Event[]): number[] => es.map((e) => e.code);
    expect(codes(all)).toEqual([AsyncCode.SENT_BDR, AsyncCode.BUS_RESET, AsyncCode.INQ_CHANGED]);
    expect(all[2]?.arg).toBe('x');
    expect(codes(onlyResets)).toEqual([AsyncCode.SENT_BDR, AsyncCode.BUS_RESET]);
    expect(codes(lun0)).toEqual([AsyncCode.SENT_BDR, AsyncCode.BUS_RESET]);
    expect(codes(lun1)).toEqual([AsyncCode.BUS_RESET, AsyncCode.INQ_CHANGED]);
    expect(codes(wholeBus)).toEqual(codes(all));
    expect(otherBus).toEqual([]);
    expect(gone).toEqual([]);
    expect(() => b.xpt.onAsync(0, undefined, () => undefined)).toThrow(RangeError);
  });

  test('a UNIT ATTENTION completion posts AC_UNIT_ATTENTION with the sense', async () => {
    const b = await bench();
    const events = record(b.xpt, AsyncCode.UNIT_ATTENTION);
    const a = b.io();
    b.xpt.action(a);
    a.sense = encodeSense(senseUnitAttention(Asc.CAPACITY_DATA_HAS_CHANGED), 'fixed');
    b.sim.complete(a, CamStatus.SCSI_STATUS_ERROR, ScsiStatus.CHECK_CONDITION);
    expect(a.status).toBe(CamStatus.SCSI_STATUS_ERROR | CAM_DEV_QFRZN);
    await settle();
    expect(events).toHaveLength(1);
    expect(events[0]?.arg).toMatchObject({ key: SenseKey.UNIT_ATTENTION, asc: 0x2a, ascq: 0x09 });
  });

  test('AC_GETDEV_CHANGED from the SIM: the XPT re-reads the capacity, then subscribers get the new CamDeviceInfo', async () => {
    const b = await bench();
    const events = record(b.xpt, AsyncCode.GETDEV_CHANGED | AsyncCode.UNIT_ATTENTION);
    b.sim.answer = (ccb) => answerFromEmulator(b.emu, ccb);
    b.bcs.resize(4096n);
    b.emu.refreshGeometry();
    b.sim.handle.async(AsyncCode.GETDEV_CHANGED, b.path, 'ignored');
    for (let i = 0; i < 50 && !events.some((e) => e.code === AsyncCode.GETDEV_CHANGED); i++) await settle();
    const changed = events.find((e) => e.code === AsyncCode.GETDEV_CHANGED);
    expect((changed?.arg as CamDeviceInfo).capacity.blocks).toBe(4096n);
    expect(b.xpt.device(b.path)?.capacity.blocks).toBe(4096n);
    // The re-read met CAPACITY DATA HAS CHANGED first; that surfaces too.
    expect(events[0]?.code).toBe(AsyncCode.UNIT_ATTENTION);
    expect(b.xpt.stats(b.path)?.frozen).toBe(0);
  });

  test('AC_LOST_DEVICE from the SIM drops the device; AC_FOUND_DEVICE probes it again', async () => {
    const b = await bench({ capacity: 1 });
    const events = record(b.xpt, AsyncCode.LOST_DEVICE | AsyncCode.FOUND_DEVICE);
    const [a, waiting] = [b.io(), b.io()];
    b.xpt.action(a);
    b.xpt.action(waiting);
    b.sim.handle.async(AsyncCode.LOST_DEVICE, b.path);
    expect(waiting.status).toBe(CamStatus.DEV_NOT_THERE);
    expect(b.xpt.device(b.path)).toBeUndefined();
    b.sim.complete(a, CamStatus.DEV_NOT_THERE); // active: still the SIM's to finish
    expect(a.status).toBe(CamStatus.DEV_NOT_THERE);
    b.sim.answer = (ccb) => answerFromEmulator(b.emu, ccb);
    b.sim.handle.async(AsyncCode.FOUND_DEVICE, b.path);
    for (let i = 0; i < 50 && events.length < 2; i++) await settle();
    expect(events.map((e) => e.code)).toEqual([AsyncCode.LOST_DEVICE, AsyncCode.FOUND_DEVICE]);
    expect(b.xpt.device(b.path)?.inquiry.product).toBe('VIRTIO-BLK');
  });
});

describe('the device queues a bus keeps', () => {
  /**
   * Deregisters the bus; resolves with how many device queues it still had:
   * detach collects the CCBs left at the SIM from each of them
   * (DeviceQueue.activeInStartOrder).
   */
  async function queuesAtDetach(xpt: Xpt, bus: number): Promise<number> {
    const collect = DeviceQueue.activeInStartOrder.bind(DeviceQueue);
    const seen: number[] = [];
    // Counted as detach calls it: the queues are the bus's own list, which the completions then change.
    const spy = vi.spyOn(DeviceQueue, 'activeInStartOrder').mockImplementation((queues) => {
      seen.push(queues.length);
      return collect(queues);
    });
    try {
      await xpt.deregisterBus(bus).catch(() => undefined);
    } finally {
      spy.mockRestore();
    }
    expect(seen).toHaveLength(1);
    return seen[0] ?? -1;
  }

  test('XPT_SCAN_LUN of a LUN that does not exist, again and again: no queue is kept for it', async () => {
    const r = await rig();
    const bus = r.sim.handle.bus;
    await drive(r.clock, r.xpt.scan(bus));
    // The SIM fronts LUN 0 alone, as vtblk does.
    r.sim.answer = (ccb) => {
      if (ccb.path.lun === 0) return answerFromEmulator(r.emu, ccb);
      ccb.status = CamStatus.DEV_NOT_THERE;
      return undefined;
    };
    const scanLun = (lun: number): Promise<number> =>
      new Promise((resolve) => {
        r.xpt.action(newCcb(XptFunc.SCAN_LUN, { bus, target: 0, lun }, (c) => {
          resolve(c.status);
        }));
      });
    for (let i = 0; i < 50; i++) expect(await drive(r.clock, scanLun(3))).toBe(CamStatus.REQ_CMP);
    expect(r.xpt.devices().map((d) => d.path.lun)).toEqual([0]);
    expect(await queuesAtDetach(r.xpt, bus)).toBe(1);
  });

  test('a device lost with a CCB at the SIM: its queue is kept until that CCB is back, then dropped', async () => {
    const b = await bench();
    const a = b.io();
    b.xpt.action(a);
    b.sim.handle.async(AsyncCode.LOST_DEVICE, b.path);
    b.sim.complete(a, CamStatus.DEV_NOT_THERE);
    // Found again: a new queue; the lost one is not kept beside it.
    b.sim.answer = (ccb) => answerFromEmulator(b.emu, ccb);
    b.sim.handle.async(AsyncCode.FOUND_DEVICE, b.path);
    for (let i = 0; i < 50 && b.xpt.device(b.path) === undefined; i++) await settle();
    expect(b.xpt.device(b.path)).toBeDefined();
    expect(await queuesAtDetach(b.xpt, b.path.bus)).toBe(1);
  });

  test('a lost device’s CCB still at the SIM when the bus goes is completed through its queue', async () => {
    const b = await bench();
    const a = b.io();
    b.xpt.action(a);
    b.sim.handle.async(AsyncCode.LOST_DEVICE, b.path);
    b.sim.leakOnDetach = true;
    expect(await queuesAtDetach(b.xpt, b.path.bus)).toBe(1);
    expect([a.status, a.state]).toEqual([CamStatus.DEV_NOT_THERE, 'done']);
    expect(b.log).toEqual([a]);
  });
});

describe('options', () => {
  test('bad tuning is a RangeError', () => {
    expect(() => new Xpt({ tuning: { minTags: 0 } })).toThrow(/minTags/);
    expect(() => new Xpt({ tuning: { growAfter: 1.5 } })).toThrow(/growAfter/);
    expect(() => new Xpt({ tuning: { requeueDelayMs: -1 } })).toThrow(/requeueDelayMs/);
  });
});

