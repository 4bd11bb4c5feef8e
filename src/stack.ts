// createStack(): the whole of vtcam in one call (ARCHITECTURE.md, "Public
// API"). A virtio-blk device on a backend, its driver on the local transport,
// the vtblk SIM registered as a bus of a fresh XPT, a bus scan, and a `da` and
// a `pass` periph for each logical unit found.

import type { BlockBackend } from './virtio/device/backend.js';
import type { VirtioBlkDeviceOptions } from './virtio/device/blk-device.js';
import { attachLocalVirtioBlk, type LocalVirtioBlk } from './virtio/local-stack.js';
import { attachWorkerVirtioBlk, type WorkerVirtioBlk } from './virtio/worker-stack.js';
import type { SbcEmulatorOptions } from './scsi/sbc/unit-description.js';
import { Xpt, type XptOptions } from './cam/xpt/xpt.js';
import { VtblkSim } from './cam/sim/vtblk/sim.js';
import { DaPeriph, recoveryOptions, type DaOptions } from './cam/periph/da.js';
import { PassPeriph } from './cam/periph/pass.js';
import { MAX_TIMEOUT_MS } from './cam/periph/request.js';
import type { CamDeviceInfo, DevqStats } from './cam/xpt/periph-api.js';
import { pathString, type CamPath } from './cam/ccb.js';
import { checkOptionKeys, type OptionKeys } from './option-keys.js';
import type { DevqTuning } from './cam/devq-api.js';
import type { ProbeOptions } from './cam/xpt/probe.js';
import type { RecoveryDelays } from './cam/periph/recovery.js';

export interface StackOptions {
  /** The storage behind the virtio-blk device (MemoryBackend, FileBackend, …). The stack closes it. */
  readonly backend: BlockBackend;
  /** Virtqueue size, a power of two (default 128). */
  readonly queueSize?: number;
  /** Driver features to request (default all the driver understands), e.g. without VIRTIO_F_INDIRECT_DESC. */
  readonly features?: bigint;
  /**
   * Where the device runs: 'local' (default; on this thread) or 'worker' (its
   * queues in worker threads over shared guest memory; the backend must be
   * shareable: SharedMemoryBackend or FileBackend).
   */
  readonly transport?: 'local' | 'worker';
  /** Transport `worker`: device worker threads (default one per queue, at most the CPUs beside this thread). */
  readonly workers?: number;
  /** Transport `worker`: microseconds an idle worker polls its doorbell before sleeping (default 0: sleep at once). */
  readonly pollUs?: number;
  /** Transport `worker`: a worker whose heartbeat stands still this long is hung, terminated and the device lost (default 5000). */
  readonly hangTimeoutMs?: number;
  /**
   * A device reset (a CCB timed out, XPT_RESET_DEV, close) still waiting for
   * backend I/O after this many milliseconds loses the device, so a backend
   * that never answers cannot hold every command forever (default 10 000; on
   * transport `worker`, what a device worker waits on in a blocking call); at most 2^31 − 1 (Node's longest timer).
   */
  readonly resetTimeoutMs?: number;
  /** Request queues (VIRTIO_BLK_F_MQ), 1..65535 (default 1); the SIM spreads requests over them. */
  readonly queues?: number;
  /**
   * Guest memory bytes (default 64 MiB): the rings, and the data of the
   * transfers in flight. The largest transfer the unit takes (Block Limits
   * MAXIMUM TRANSFER LENGTH, PATH_INQ maxIoBytes, what `da` splits by) is at
   * most half of what the rings leave: about 32 MiB by default, above the
   * unit's own 8 MiB; 1 MiB with the default ring gives 1018 blocks of 512 bytes.
   */
  readonly memorySize?: number;
  /**
   * virtio-blk device model options (block size, seg_max, size_max, serial, writeback, …). Without a
   * `serial` the device gets a random one, so each stack's unit has its own serial number and NAA.
   */
  readonly device?: Partial<Omit<VirtioBlkDeviceOptions, 'memory' | 'backend'>>;
  /** Logical unit identity and limits (vendor, product, max transfer, …). */
  readonly emulator?: SbcEmulatorOptions;
  /** Descriptors the SIM keeps out of the devq budget (default two flushes' worth). */
  readonly reserve?: number;
  readonly xpt?: XptOptions;
  /** Options for every `da` periph. */
  readonly da?: DaOptions;
  /**
   * How long close() lets `da` I/O already issued finish before it detaches the bus, which fails what is
   * left CAM_DEV_NOT_THERE (default 2000; 0: at once; at most 2^31 − 1). A unit that answers does so long before; one that
   * stalls, with no CCB timeout, would otherwise hold close for ever.
   */
  readonly closeGraceMs?: number;
}

/** StackOptions.closeGraceMs by default. */
const DEFAULT_CLOSE_GRACE_MS = 2000;

/** One line of `stack.devices()`, like `camcontrol devlist`. */
export interface StackDevice {
  readonly index: number;
  readonly path: CamPath;
  /** `da0`, `pass0`, … */
  readonly da: string;
  readonly pass: string;
  readonly sim: string;
  readonly vendor: string;
  readonly product: string;
  readonly revision: string;
  readonly serial: string;
  readonly blocks: bigint;
  readonly blockSize: number;
  readonly info: CamDeviceInfo;
}

interface Attached {
  readonly path: CamPath;
  readonly da: DaPeriph;
  readonly pass: PassPeriph;
}

/** A running stack. Create with {@link createStack}. */
export class Stack {
  readonly xpt: Xpt;
  readonly sim: VtblkSim;
  readonly virtio: LocalVirtioBlk | WorkerVirtioBlk;
  readonly #bus: number;
  readonly #backend: BlockBackend;
  readonly #units: Attached[];
  readonly #closeGraceMs: number;
  #closed: Promise<void> | undefined;

  constructor(xpt: Xpt, sim: VtblkSim, virtio: LocalVirtioBlk | WorkerVirtioBlk, bus: number, backend: BlockBackend, units: Attached[], closeGraceMs = DEFAULT_CLOSE_GRACE_MS) {
    this.xpt = xpt;
    this.sim = sim;
    this.virtio = virtio;
    this.#bus = bus;
    this.#backend = backend;
    this.#units = units;
    this.#closeGraceMs = closeGraceMs;
  }

  /** The logical units the bus scan found, in path order (`camcontrol devlist`). */
  devices(): readonly StackDevice[] {
    return this.#units.map((u, index) => {
      const info = this.xpt.device(u.path);
      if (info === undefined) throw new Error(`device ${pathString(u.path)} is gone`);
      return {
        index,
        path: u.path,
        da: `da${index}`,
        pass: `pass${index}`,
        sim: info.sim,
        vendor: info.inquiry.vendor,
        product: info.inquiry.product,
        revision: info.inquiry.revision,
        serial: info.serial,
        blocks: info.capacity.blocks,
        blockSize: info.capacity.blockSize,
        info,
      };
    });
  }

  /** The block periph of device `n`. */
  da(n = 0): DaPeriph {
    return this.#unit(n).da;
  }

  /** The raw-CDB periph of device `n`. */
  pass(n = 0): PassPeriph {
    return this.#unit(n).pass;
  }

  /** Device queue statistics of device `n`. */
  stats(n = 0): DevqStats {
    const s = this.xpt.stats(this.#unit(n).path);
    if (s === undefined) throw new Error(`device ${n} has no queue`);
    return s;
  }

  /**
   * New da I/O fails at once; da I/O already issued finishes, for up to
   * closeGraceMs. Then the bus is detached: waiting CCBs complete
   * CAM_DEV_NOT_THERE, the SIM returns its active ones without waiting for
   * the device to answer them (CAM_DEV_NOT_THERE; da retries none), and
   * closes the driver (its device reset waits for backend I/O up to
   * resetTimeoutMs); then the transport and the backend are closed, also when
   * a step before them failed (close rejects with the first failure). Safe to
   * call more than once.
   */
  close(): Promise<void> {
    this.#closed ??= this.#close();
    return this.#closed;
  }

  async #close(): Promise<void> {
    const failures: unknown[] = [];
    // Each step runs whatever the one before did: a bus that failed to detach still holds a device and a backend.
    const step = (work: () => Promise<unknown>): Promise<void> =>
      work().then(
        () => undefined,
        (e: unknown) => {
          failures.push(e);
        },
      );
    // Each da takes no new I/O, and what it has outstanding may finish within the grace; what is left then ends
    // with the bus, not with the device, which may never answer: deregisterBus completes every CCB
    // CAM_DEV_NOT_THERE and posts AC_LOST_DEVICE, so da retries nothing.
    const drained = Promise.all(this.#units.map((u) => u.da.close()));
    await withinGrace(drained, this.#closeGraceMs);
    await step(() => this.xpt.deregisterBus(this.#bus));
    await step(() => drained);
    await step(() => this.virtio.transport.close());
    await step(() => this.#backend.close());
    if (failures.length > 0) throw failures[0];
  }

  #unit(n: number): Attached {
    const u = this.#units[n];
    if (u === undefined) throw new RangeError(`no device ${n}: the stack has ${this.#units.length}`);
    return u;
  }
}

/**
 * Builds and scans a stack. Throws (a value-less failure would leave the caller
 * nothing to do) with a message saying what failed: an option (a TypeError
 * when it has the wrong shape, a RangeError when out of range), the driver
 * refusing the device, or a bus scan that found no logical unit; nothing it
 * started is left running.
 */
export async function createStack(opts: StackOptions): Promise<Stack> {
  checkShape(opts);
  // Widened to string: JavaScript callers can pass anything.
  const transport: string = opts.transport ?? 'local';
  if (transport !== 'local' && transport !== 'worker') throw new RangeError(`transport must be 'local' or 'worker', got '${transport}'`);
  const queueSize = opts.queueSize ?? 128;
  // VIRTIO 1.2 §2.7: a split virtqueue's size is a power of two up to 32768.
  if (!Number.isInteger(queueSize) || queueSize < 1 || queueSize > 32768 || (queueSize & (queueSize - 1)) !== 0) {
    throw new RangeError(`queueSize must be a power of two in 1..32768, got ${queueSize}`);
  }
  const closeGraceMs = opts.closeGraceMs ?? DEFAULT_CLOSE_GRACE_MS;
  // A Node timer, which fires after 1 ms past MAX_TIMEOUT_MS: a wait meant as "practically never" would fail
  // in-flight I/O at once. (resetTimeoutMs is the transport's, which bounds it the same way: local.ts.)
  if (!(closeGraceMs >= 0 && closeGraceMs <= MAX_TIMEOUT_MS)) throw new RangeError(`closeGraceMs must be 0..${MAX_TIMEOUT_MS} milliseconds, got ${closeGraceMs}`);
  const queues = opts.queues ?? 1;
  // VIRTIO 1.2 §5.2.4: num_queues is a 16-bit field.
  if (!Number.isInteger(queues) || queues < 1 || queues > 0xffff) throw new RangeError(`queues must be an integer in 1..65535, got ${queues}`);
  // Before the device starts: a bad da option found at the first DaPeriph would leave it running.
  if (opts.da !== undefined) recoveryOptions(opts.da);
  const common = {
    backend: opts.backend,
    queueSize,
    queues,
    ...(opts.features === undefined ? {} : { features: opts.features }),
    ...(opts.memorySize === undefined ? {} : { memorySize: opts.memorySize }),
    ...(opts.device === undefined ? {} : { device: opts.device }),
    ...(opts.resetTimeoutMs === undefined ? {} : { resetTimeoutMs: opts.resetTimeoutMs }),
  };
  const virtio = transport === 'local'
    ? await attachLocalVirtioBlk(common)
    : await attachWorkerVirtioBlk({
      ...common,
      ...(opts.workers === undefined ? {} : { workers: opts.workers }),
      ...(opts.pollUs === undefined ? {} : { pollUs: opts.pollUs }),
      ...(opts.hangTimeoutMs === undefined ? {} : { hangTimeoutMs: opts.hangTimeoutMs }),
    });
  if (!('driver' in virtio)) throw new Error(`virtio-blk attach failed: ${virtio.reason}`);
  const offered = virtio.driver.queueCount;
  if (offered !== queues) {
    // The driver takes what the device offers (num_queues, and 1 without VIRTIO_BLK_F_MQ).
    await virtio.driver.close();
    await virtio.transport.close();
    throw new RangeError(`queues ${queues}: the device offers ${offered} request queue(s)`);
  }
  // A bad SIM or XPT option throws here: the driver and any device workers go with it.
  let sim: VtblkSim;
  let xpt: Xpt;
  try {
    sim = await VtblkSim.create(virtio, {
      ...(opts.reserve === undefined ? {} : { reserve: opts.reserve }),
      ...(opts.emulator === undefined ? {} : { emulator: opts.emulator }),
    });
    xpt = new Xpt(opts.xpt);
  } catch (err) {
    await virtio.driver.close();
    await virtio.transport.close();
    throw err;
  }
  const handle = xpt.registerBus(sim);
  sim.bind(handle);
  // A scan that finds nothing, or a periph that refuses its unit (da.maxIoBytes below its block size), ends
  // the stack: detaching the bus closes the driver, then the transport (and its device workers) goes.
  try {
    const found = await xpt.scan(handle.bus);
    if (found.length === 0) throw new Error('the bus scan found no logical unit (INQUIRY failed); see the device and backend');
    const maxIoBytes = sim.pathInq().maxIoBytes;
    const units = found.map((info) => ({
      path: info.path,
      da: new DaPeriph(xpt, info.path, { maxIoBytes, ...opts.da }),
      pass: new PassPeriph(xpt, info.path),
    }));
    return new Stack(xpt, sim, virtio, handle.bus, opts.backend, units, closeGraceMs);
  } catch (err) {
    await xpt.deregisterBus(handle.bus);
    await virtio.transport.close();
    throw err;
  }
}

/**
 * The options' shape, for JavaScript callers: no options, no backend, null for an options object or a number
 * for the feature bits would fail deep inside ("Cannot read properties of undefined", "Cannot mix BigInt").
 * @throws TypeError naming the option.
 */
function checkShape(opts: StackOptions): void {
  const given: unknown = opts;
  if (typeof given !== 'object' || given === null) throw new TypeError('createStack needs options: { backend, … }');
  checkOptionKeys(opts, STACK_KEYS, 'createStack');
  const backend: unknown = opts.backend;
  if (typeof backend !== 'object' || backend === null) throw new TypeError('backend is required: a BlockBackend such as MemoryBackend or FileBackend');
  for (const [key, keys] of NESTED_KEYS) {
    const v: unknown = opts[key];
    if (v === undefined) continue;
    if (typeof v !== 'object' || v === null) throw new TypeError(`${key} must be an object of options, got ${v === null ? 'null' : typeof v}`);
    checkOptionKeys(v, keys, `createStack: ${key}`);
  }
  for (const [outer, inner, keys] of INNER_KEYS) {
    const v: unknown = (opts[outer] as Readonly<Record<string, unknown>> | undefined)?.[inner];
    if (v === undefined) continue;
    if (typeof v !== 'object' || v === null) throw new TypeError(`${outer}.${inner} must be an object of options, got ${v === null ? 'null' : typeof v}`);
    checkOptionKeys(v, keys, `createStack: ${outer}.${inner}`);
  }
  const features: unknown = opts.features;
  if (features !== undefined && typeof features !== 'bigint') throw new TypeError(`features must be a bigint of feature bits, got ${typeof features}`);
}

/** The options createStack knows (option-keys.ts): anything else is a misspelling it refuses. */
const STACK_KEYS = {
  backend: true, queueSize: true, features: true, transport: true, workers: true, pollUs: true, hangTimeoutMs: true, resetTimeoutMs: true,
  queues: true, memorySize: true, device: true, emulator: true, reserve: true, xpt: true, da: true, closeGraceMs: true,
} as const satisfies OptionKeys<StackOptions>;

const NESTED_KEYS: readonly (readonly ['device' | 'emulator' | 'xpt' | 'da', Readonly<Record<string, true>>])[] = [
  ['device', {
    features: true, queueMaxSize: true, numQueues: true, blockSize: true, physicalBlockExp: true, serial: true, sizeMax: true, segMax: true,
    maxDiscardSectors: true, maxDiscardSeg: true, maxWriteZeroesSectors: true, maxWriteZeroesSeg: true, writeback: true, schedule: true,
  } satisfies OptionKeys<NonNullable<StackOptions['device']>>],
  ['emulator', {
    vendor: true, product: true, revision: true, serial: true, naa: true, luns: true, maxTransferBytes: true, maxCompareAndWriteBlocks: true,
    maxUnmapLbaCount: true, maxUnmapBlockDescriptors: true, maxWriteSameBlocks: true, rotationRate: true, powerOnUnitAttention: true,
    removable: true, taskAbortedStatus: true, sanitize: true, taskManagementFunctions: true, maxRegistrations: true,
  } satisfies OptionKeys<SbcEmulatorOptions>],
  ['xpt', { clock: true, tuning: true, probe: true } satisfies OptionKeys<XptOptions>],
  ['da', { maxIoBytes: true, retries: true, requeueLimit: true, timeoutMs: true, delays: true, orderedTagAgeMs: true, now: true } satisfies OptionKeys<DaOptions>],
];

const INNER_KEYS: readonly (readonly ['xpt' | 'da', string, Readonly<Record<string, true>>])[] = [
  ['xpt', 'tuning', { minTags: true, growAfter: true, requeueDelayMs: true } satisfies OptionKeys<DevqTuning>],
  ['xpt', 'probe', { timeoutMs: true, retries: true, notReadyRetries: true, notReadyDelayMs: true } satisfies OptionKeys<ProbeOptions>],
  ['da', 'delays', { notReady: true, busy: true, queueFull: true } satisfies OptionKeys<RecoveryDelays>],
];

/** Resolves when `work` settles or after `ms`, whichever is first; never rejects (the caller awaits `work` itself). */
function withinGrace(work: Promise<unknown>, ms: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    const done = (): void => {
      clearTimeout(timer);
      resolve();
    };
    work.then(done, done);
  });
}
