// A fake XPT for the periph tests: a PeriphXpt whose one device is an
// SbcEmulator over a MemoryBlockSet. XPT_SCSI_IO CCBs wait in a FIFO (by
// priority) while the device queue is frozen and run asynchronously on the
// emulator otherwise. Like the real XPT, an error completion (status other
// than CAM_REQ_CMP, unless CAM_DEV_QFRZDIS) freezes the device queue and sets
// CAM_DEV_QFRZN, and releasing more freezes than exist is a bug (it throws).
// Tests can inject CAM and SCSI statuses, hold CCBs at the "SIM", and fire
// async events.

import { expect } from 'vitest';
import {
  AsyncCode,
  CAM_AUTOSNS_VALID,
  CAM_DEV_QFRZN,
  CamStatus,
  CcbFlag,
  XptFunc,
  type AsyncCallback,
  type CamDeviceInfo,
  type CamPath,
  type Ccb,
  type DevqStats,
  type PeriphXpt,
  type ScsiIoCcb,
} from '../../../src/cam/xpt/periph-api.js';
import { SbcEmulator } from '../../../src/scsi/sbc/emulator.js';
import type { SbcEmulatorOptions } from '../../../src/scsi/sbc/unit-description.js';
import { MemoryBlockSet, type MemoryBlockSetOptions } from '../../../src/scsi/sbc/memory-block-set.js';
import { encodeSense } from '../../../src/scsi/sense-codec.js';
import type { SenseData } from '../../../src/scsi/sense.js';
import { lbpme } from '../../../src/scsi/device-info.js';

export const PATH: CamPath = { bus: 0, target: 0, lun: 0 };

/** A status the fake answers with instead of running the CCB. */
export interface Injection {
  /** Which CCBs it hits (default every SCSI I/O). */
  readonly match?: (ccb: ScsiIoCcb) => boolean;
  /** How many CCBs it hits (default 1). */
  times?: number;
  /** CamStatus (flags are added by the fake). */
  readonly status: number;
  readonly scsiStatus?: number;
  /** Sense, encoded in fixed format with CAM_AUTOSNS_VALID. */
  readonly sense?: SenseData;
  /** Data-In to return (with status CAM_REQ_CMP: a short read when shorter than dxferLen). */
  readonly dataIn?: Uint8Array;
}

/** CHECK CONDITION with `s` as autosense: CAM_SCSI_STATUS_ERROR (0Ch, FreeBSD cam.h) and SAM-5 status 02h. */
export const checkCondition = (s: SenseData): Injection => ({ status: 0x0c, scsiStatus: 0x02, sense: s });

/** One async subscription. */
interface Sub {
  readonly mask: number;
  readonly path: CamPath | undefined;
  readonly cb: AsyncCallback;
}

export const hex = (b: Uint8Array | undefined): string => Array.from(b ?? [], (x) => x.toString(16).padStart(2, '0')).join(' ');
export const bytes = (h: string): Uint8Array => Uint8Array.from(h.trim().split(/\s+/), (x) => parseInt(x, 16));

export class FakeXpt implements PeriphXpt {
  readonly lu: SbcEmulator;
  readonly disk: MemoryBlockSet;
  info: CamDeviceInfo;
  /** Device queue freeze count. */
  frozen = 0;
  /** Freezes set by error completions, and freezes released. */
  freezes = 0;
  releases = 0;
  /** CCBs handed to the "SIM", in dispatch order. */
  readonly issued: ScsiIoCcb[] = [];
  active = 0;
  maxActive = 0;
  completed = 0;
  /** When true, dispatched CCBs wait in `held` until runHeld(). */
  hold = false;
  readonly held: ScsiIoCcb[] = [];
  readonly injections: Injection[] = [];
  readonly #queue: ScsiIoCcb[] = [];
  readonly #subs = new Set<Sub>();

  private constructor(lu: SbcEmulator, disk: MemoryBlockSet, info: CamDeviceInfo) {
    this.lu = lu;
    this.disk = disk;
    this.info = info;
  }

  /**
   * A fake over a fresh MemoryBlockSet (default 1024 blocks of 512 bytes); the
   * power-on unit attention is off unless `emu` turns it on. `device` patches
   * the CamDeviceInfo the periphs see.
   */
  static async create(
    disk: Partial<MemoryBlockSetOptions> = {},
    emu: SbcEmulatorOptions = {},
    device: Partial<CamDeviceInfo> = {},
  ): Promise<FakeXpt> {
    const d = new MemoryBlockSet({ blocks: 1024, ...disk });
    const lu = await SbcEmulator.create(d, { powerOnUnitAttention: false, ...emu });
    return new FakeXpt(lu, d, { ...deviceInfo(lu), ...device });
  }

  /** Adds an injection (hits `times` CCBs, default 1). */
  inject(i: Injection): void {
    this.injections.push({ times: 1, ...i });
  }

  /** CDBs issued so far, as hex strings. */
  cdbs(): string[] {
    return this.issued.map((c) => hex(c.cdb));
  }

  action(ccb: Ccb): void {
    if (ccb.func !== XptFunc.SCSI_IO) throw new Error(`fake XPT: func 0x${ccb.func.toString(16)} not supported`);
    if (ccb.state !== 'free') throw new Error(`fake XPT: action on a CCB in state ${ccb.state}`);
    ccb.state = 'queued';
    // FIFO within a priority, lower value first (the devq's order).
    let at = this.#queue.length;
    while (at > 0 && (this.#queue[at - 1]?.priority ?? 0) > ccb.priority) at--;
    this.#queue.splice(at, 0, ccb);
    this.#run();
  }

  freezeDevq(path: CamPath, count: number): void {
    this.#checkPath(path);
    this.frozen += count;
  }

  releaseDevq(path: CamPath, count: number, runQueue: boolean): void {
    this.#checkPath(path);
    if (count > this.frozen) throw new Error(`fake XPT: release of ${count} freezes, only ${this.frozen} held`);
    this.frozen -= count;
    this.releases += count;
    if (runQueue) this.#run();
  }

  device(path: CamPath): CamDeviceInfo | undefined {
    return samePath(path, PATH) ? this.info : undefined;
  }

  devices(): readonly CamDeviceInfo[] {
    return [this.info];
  }

  stats(path: CamPath): DevqStats | undefined {
    if (!samePath(path, PATH)) return undefined;
    return {
      openings: 1024,
      active: this.active,
      queued: this.#queue.length,
      held: this.held.length,
      frozen: this.frozen,
      simFrozen: 0,
      charged: this.active,
      capacity: 1024,
      maxActive: this.maxActive,
      maxCharged: this.maxActive,
      tagLimit: 1024,
      completed: this.completed,
      latencyUs: [],
    };
  }

  onAsync(mask: number, path: CamPath | undefined, cb: AsyncCallback): () => void {
    const sub: Sub = { mask, path, cb };
    this.#subs.add(sub);
    return () => this.#subs.delete(sub);
  }

  /** Reports an async event to the subscribers whose mask and path match. */
  fire(code: AsyncCode, arg?: unknown): void {
    for (const s of this.#subs) if ((s.mask & code) !== 0 && (s.path === undefined || samePath(s.path, PATH))) s.cb(code, PATH, arg);
  }

  get subscribers(): number {
    return this.#subs.size;
  }

  /** CCBs waiting in the device queue. */
  get queued(): number {
    return this.#queue.length;
  }

  /** Runs the held CCBs, in dispatch order or reversed (and stops holding). */
  runHeld(reverse = false): void {
    this.hold = false;
    const ccbs = this.held.splice(0);
    if (reverse) ccbs.reverse();
    for (const ccb of ccbs) void this.#execute(ccb);
  }

  /** Waits until nothing is queued, active or held and the queue is not frozen, then asserts it. */
  async settle(): Promise<void> {
    for (let i = 0; i < 1000 && (this.active > 0 || this.#queue.length > 0 || this.frozen > 0); i++) await new Promise((r) => setTimeout(r, 1));
    expect({ frozen: this.frozen, active: this.active, queued: this.#queue.length }).toEqual({ frozen: 0, active: 0, queued: 0 });
    expect(this.releases).toBe(this.freezes);
  }

  #checkPath(path: CamPath): void {
    if (!samePath(path, PATH)) throw new Error(`fake XPT: no device at ${path.bus}:${path.target}:${path.lun}`);
  }

  #run(): void {
    while (this.frozen === 0) {
      const ccb = this.#queue.shift();
      if (ccb === undefined) return;
      ccb.state = 'active';
      this.active++;
      this.maxActive = Math.max(this.maxActive, this.active);
      this.issued.push(ccb);
      if (this.hold) this.held.push(ccb);
      else void this.#execute(ccb);
    }
  }

  async #execute(ccb: ScsiIoCcb): Promise<void> {
    const inj = this.injections.find((i) => (i.times ?? 0) > 0 && (i.match?.(ccb) ?? true));
    if (inj !== undefined) {
      inj.times = (inj.times ?? 1) - 1;
      await Promise.resolve();
      ccb.status = inj.status;
      ccb.scsiStatus = inj.scsiStatus ?? 0;
      if (inj.sense !== undefined) {
        ccb.sense = encodeSense(inj.sense, 'fixed');
        ccb.status |= CAM_AUTOSNS_VALID;
      }
      if (inj.dataIn !== undefined) {
        ccb.dataIn = dataInOf(ccb, inj.dataIn);
        ccb.resid = ccb.dxferLen - ccb.dataIn.length;
      }
      this.#complete(ccb);
      return;
    }
    const r = await this.lu.execute(ccb.cdb, ccb.dataOut === undefined ? {} : { dataOut: ccb.dataOut });
    ccb.scsiStatus = r.status;
    if (r.status === 0) {
      ccb.status = CamStatus.REQ_CMP;
      if (r.data !== undefined) {
        ccb.dataIn = dataInOf(ccb, r.data);
        ccb.resid = ccb.dxferLen - ccb.dataIn.length;
      } else {
        ccb.resid = 0;
      }
    } else {
      ccb.status = CamStatus.SCSI_STATUS_ERROR;
      if (r.sense !== undefined) {
        ccb.sense = r.sense;
        ccb.status |= CAM_AUTOSNS_VALID;
      }
    }
    this.#complete(ccb);
  }

  #complete(ccb: ScsiIoCcb): void {
    if (ccb.state !== 'active') throw new Error(`fake XPT: completing a CCB in state ${ccb.state}`);
    this.active--;
    this.completed++;
    if ((ccb.status & 0x3f) !== CamStatus.REQ_CMP && (ccb.flags & CcbFlag.DEV_QFRZDIS) === 0) {
      this.frozen++;
      this.freezes++;
      ccb.status |= CAM_DEV_QFRZN;
    }
    ccb.state = 'done';
    ccb.done?.(ccb);
  }
}

function samePath(a: CamPath, b: CamPath): boolean {
  return a.bus === b.bus && a.target === b.target && a.lun === b.lun;
}

/** What a bus scan would learn about the emulated unit. */
export function deviceInfo(lu: SbcEmulator): CamDeviceInfo {
  const i = lu.info;
  const enabled = lbpme(i);
  return {
    path: PATH,
    sim: 'fake0',
    inquiry: { deviceType: 0, vendor: i.vendor, product: i.product, revision: i.revision, data: new Uint8Array(36) },
    vpdPages: [0x00, 0x80, 0x83, 0xb0, 0xb1, 0xb2],
    serial: i.serial,
    naa: i.naa,
    capacity: { blocks: i.blocks, blockSize: i.blockSize, physicalBlockExp: i.physicalBlockExp, lbpme: enabled, lbprz: enabled && i.provisioning.lbprz },
    blockLimits: {
      maxTransferBlocks: i.limits.maxTransferBlocks,
      optimalTransferBlocks: i.limits.optimalTransferBlocks,
      maxUnmapLbaCount: i.limits.maxUnmapLbaCount,
      maxUnmapBlockDescriptors: i.limits.maxUnmapBlockDescriptors,
      maxWriteSameBlocks: i.limits.maxWriteSameBlocks,
      maxCompareAndWriteBlocks: i.limits.maxCompareAndWriteBlocks,
      wsnz: false,
    },
    provisioning: { lbpu: i.provisioning.lbpu, lbpws: i.provisioning.lbpws, lbpws10: i.provisioning.lbpws10, lbprz: i.provisioning.lbprz },
  };
}

/** Resolves after pending microtasks and one macrotask turn. */
export const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

/** Data-In as a SIM delivers it: at most the room, in the issuer's own buffer (data_ptr) when it supplied one. */
function dataInOf(ccb: ScsiIoCcb, data: Uint8Array): Uint8Array {
  const moved = data.subarray(0, ccb.dxferLen);
  if (ccb.dataPtr === undefined) return moved;
  ccb.dataPtr.set(moved);
  return ccb.dataPtr.subarray(0, moved.length);
}
