// Test rig for the vtblk SIM: the real local virtio stack (device model over a
// FaultyBackend over a MemoryBackend) under a VtblkSim bound to a fake XPT
// handle that records every completion, async event and SIM queue freeze, and
// fails the test when a CCB is completed twice.

import { expect } from 'vitest';
import { attachLocalVirtioBlk, type LocalVirtioBlk, type LocalVirtioBlkOptions } from '../../../src/virtio/local-stack.js';
import { MemoryBackend } from '../../../src/virtio/device/backends/memory.js';
import { FaultyBackend } from '../../../src/virtio/device/backends/faulty.js';
import { VtblkSim, type VtblkSimOptions } from '../../../src/cam/sim/vtblk/sim.js';
import { CamDir, newScsiIo, type Ccb, type ScsiIoCcb } from '../../../src/cam/ccb.js';
import type { AsyncCode } from '../../../src/cam/async.js';
import type { CamPath, SimHandle } from '../../../src/cam/xpt/sim-api.js';

/** Bytes from a hex string ("28 00 …"). */
export function bytes(hex: string): Uint8Array {
  const t = hex.trim();
  return t === '' ? new Uint8Array(0) : Uint8Array.from(t.split(/\s+/), (x) => parseInt(x, 16));
}

export function hex(b: Uint8Array | undefined): string {
  return Array.from(b ?? [], (x) => x.toString(16).padStart(2, '0')).join(' ');
}

/** Waits whole event-loop turns until `cond` holds. */
export async function until(cond: () => boolean, what = 'condition', turns = 20_000): Promise<void> {
  for (let i = 0; i < turns; i++) {
    if (cond()) return;
    await new Promise((r) => setImmediate(r));
  }
  throw new Error(`${what} not reached`);
}

/** Lets `n` event-loop turns pass (for "nothing else happens" checks). */
export async function turns(n = 50): Promise<void> {
  for (let i = 0; i < n; i++) await new Promise((r) => setImmediate(r));
}

export interface AsyncEvent {
  readonly code: AsyncCode;
  readonly path: CamPath;
  readonly arg: unknown;
}

/** A SimHandle that records what the SIM tells the XPT. */
export class FakeHandle implements SimHandle {
  readonly bus = 0;
  /** Completions in order, with the status each had when completed. */
  readonly completions: { readonly ccb: Ccb; readonly status: number }[] = [];
  readonly events: AsyncEvent[] = [];
  simFrozen = 0;
  maxSimFrozen = 0;
  runs = 0;
  readonly #waiters = new Map<Ccb, (() => void)[]>();

  done(ccb: Ccb): void {
    const before = this.completions.filter((c) => c.ccb === ccb).length;
    // Re-issued CCBs (requeued) may complete again; tests check counts where they matter.
    this.completions.push({ ccb, status: ccb.status });
    if (before > 0 && !this.reissued.has(ccb)) throw new Error(`CCB completed twice (status 0x${ccb.status.toString(16)})`);
    this.reissued.delete(ccb);
    for (const w of this.#waiters.get(ccb) ?? []) w();
    this.#waiters.delete(ccb);
  }

  /** CCBs a test re-issues after a completion (the XPT's requeue); they may complete once more. */
  readonly reissued = new Set<Ccb>();

  freezeSimq(count: number): void {
    this.simFrozen += count;
    this.maxSimFrozen = Math.max(this.maxSimFrozen, this.simFrozen);
  }

  releaseSimq(count: number, run: boolean): void {
    if (count > this.simFrozen) throw new Error(`release of ${count} freezes with ${this.simFrozen} held`);
    this.simFrozen -= count;
    if (run) this.runs++;
  }

  async(code: AsyncCode, path: CamPath, arg?: unknown): void {
    this.events.push({ code, path, arg });
  }

  run(): void {
    this.runs++;
  }

  /** No device queue here: nothing waits to be aborted. */
  abortQueued(): readonly ScsiIoCcb[] {
    return [];
  }

  /** How many times `ccb` was completed. */
  count(ccb: Ccb): number {
    return this.completions.filter((c) => c.ccb === ccb).length;
  }

  /** Resolves when `ccb` is (next) completed. */
  next(ccb: Ccb): Promise<void> {
    return new Promise((resolve) => {
      const list = this.#waiters.get(ccb) ?? [];
      list.push(resolve);
      this.#waiters.set(ccb, list);
    });
  }
}

export interface Rig {
  readonly stack: LocalVirtioBlk;
  readonly backend: FaultyBackend;
  readonly disk: MemoryBackend;
  readonly sim: VtblkSim;
  readonly handle: FakeHandle;
  /** Builds an XPT_SCSI_IO CCB for 0:0:0. */
  ccb(cdb: string | Uint8Array, io?: { dataOut?: Uint8Array; dataIn?: number; dir?: CamDir }): ScsiIoCcb;
  /** Starts a CCB through sim.action and resolves with it once completed. */
  start(ccb: ScsiIoCcb): Promise<ScsiIoCcb>;
  /** ccb() + start(). */
  run(cdb: string | Uint8Array, io?: { dataOut?: Uint8Array; dataIn?: number; dir?: CamDir }): Promise<ScsiIoCcb>;
}

export interface RigOptions {
  readonly blocks?: number;
  readonly blockSize?: 512 | 4096;
  readonly queueSize?: number;
  readonly features?: bigint;
  readonly memorySize?: number;
  readonly device?: LocalVirtioBlkOptions['device'];
  readonly sim?: VtblkSimOptions;
}

/** A SIM over a fresh local stack; the power-on unit attention is off unless the test asks for it. */
export async function rig(opts: RigOptions = {}): Promise<Rig> {
  const blockSize = opts.blockSize ?? 512;
  const disk = new MemoryBackend({ blocks: opts.blocks ?? 2048, blockSize });
  const backend = new FaultyBackend(disk);
  const stack = await attachLocalVirtioBlk({
    backend,
    queueSize: opts.queueSize ?? 64,
    memorySize: opts.memorySize ?? 1 << 22,
    ...(opts.features === undefined ? {} : { features: opts.features }),
    device: { blockSize, serial: 'VT-SERIAL-0001', ...opts.device },
  });
  if (!('driver' in stack)) throw new Error(`attach failed: ${stack.reason}`);
  const sim = await VtblkSim.create(stack, { ...opts.sim, emulator: { powerOnUnitAttention: false, ...opts.sim?.emulator } });
  const handle = new FakeHandle();
  sim.bind(handle);
  const ccb: Rig['ccb'] = (cdb, io = {}) => {
    const dir = io.dir ?? (io.dataOut !== undefined ? CamDir.OUT : io.dataIn !== undefined ? CamDir.IN : CamDir.NONE);
    return newScsiIo({
      path: { bus: 0, target: 0, lun: 0 },
      cdb: typeof cdb === 'string' ? bytes(cdb) : cdb,
      dir,
      ...(io.dataOut === undefined ? {} : { dataOut: io.dataOut }),
      ...(io.dataIn === undefined ? {} : { dataInLength: io.dataIn }),
    });
  };
  const start: Rig['start'] = async (c) => {
    const done = handle.next(c);
    sim.action(c);
    await done;
    return c;
  };
  return { stack, backend, disk, sim, handle, ccb, start, run: (cdb, io) => start(ccb(cdb, io)) };
}

/** Fixed-format sense key / ASC / ASCQ of a completed CCB, asserting CHECK CONDITION with autosense. */
export function senseOf(ccb: ScsiIoCcb): { key: number; asc: number; ascq: number } {
  expect(ccb.status, `status 0x${ccb.status.toString(16)}`).toBe(0x0c | 0x80); // CAM_SCSI_STATUS_ERROR | CAM_AUTOSNS_VALID
  expect(ccb.scsiStatus).toBe(0x02); // CHECK CONDITION
  const s = ccb.sense;
  if (s === undefined) throw new Error('no sense');
  const v = new DataView(s.buffer, s.byteOffset, s.byteLength);
  expect(v.getUint8(0) & 0x7f).toBe(0x70);
  return { key: v.getUint8(2) & 0x0f, asc: v.getUint8(12), ascq: v.getUint8(13) };
}

/** INFORMATION of fixed-format sense (bytes 3..6, VALID byte 0 bit 7). */
export function senseInformation(ccb: ScsiIoCcb): number | undefined {
  const s = ccb.sense;
  if (s === undefined) return undefined;
  const v = new DataView(s.buffer, s.byteOffset, s.byteLength);
  return (v.getUint8(0) & 0x80) === 0 ? undefined : v.getUint32(3);
}

/** A block of `size` bytes filled with a pattern that differs per block index. */
export function pattern(blocks: number, size: number, seed = 1): Uint8Array {
  const out = new Uint8Array(blocks * size);
  for (let i = 0; i < out.length; i++) out[i] = (i * 7 + seed * 31 + Math.floor(i / size) * 13) & 0xff;
  return out;
}
