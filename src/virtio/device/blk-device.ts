// The virtio-blk device model. Spec: VIRTIO 1.2 §5.2 (Block Device), §2.1
// (device status), §3.1 (initialization), §2.7 (split virtqueues).
//
// The device trusts nothing the driver wrote. Every chain is validated by the
// ring (addresses, loops, order, indirect tables) and then here (header,
// status byte, direction, lengths, sector range, read-only). A request that
// cannot be served gets VIRTIO_BLK_S_IOERR or VIRTIO_BLK_S_UNSUPP in its status
// byte; a ring that cannot be trusted sets DEVICE_NEEDS_RESET (§2.1.2) and the
// device stops. Nothing here throws on driver input, and nothing is written
// outside a chain's writable buffers.
//
// Error table (what the driver sees):
//   header shorter than 16 bytes, data not a multiple of the block size,
//   data in the wrong direction, sector range past capacity,
//   write/discard/write-zeroes on a read-only device,
//   backend I/O error or out of space                       → VIRTIO_BLK_S_IOERR
//   unknown type, feature not negotiated (FLUSH, DISCARD, WRITE_ZEROES),
//   reserved segment flags, UNMAP on DISCARD, too many segments,
//   backend says unsupported                                → VIRTIO_BLK_S_UNSUPP
//   ring corrupt, head already in flight, no status byte    → DEVICE_NEEDS_RESET

import type { GuestMemory } from '../guest-memory.js';
import { checkSplitRing, type SplitRingAddrs } from '../split-ring.js';
import type { BlockBackend } from './backend.js';
import { BlkQueueEngine, type BlkQueueHooks, type BlkRequestState, type BlkRingFeatures } from './blk-queues.js';
import { VIRTIO_BLK_SECTOR_SIZE } from '../blk-wire.js';
import { VirtioBlkConfigLayout, encodeBlkConfig, type VirtioBlkConfig } from '../blk-config.js';
import {
  VIRTIO_BLK_F_CONFIG_WCE,
  VIRTIO_BLK_F_FLUSH,
  VIRTIO_BLK_F_RO,
  VIRTIO_F_EVENT_IDX,
  VIRTIO_F_INDIRECT_DESC,
  featureMask,
  hasFeature,
  isFeatureSet,
  validateDriverFeatures,
} from '../blk-features.js';
import {
  VIRTIO_CONFIG_S_DRIVER_OK,
  VIRTIO_CONFIG_S_FAILED,
  VIRTIO_CONFIG_S_FEATURES_OK,
  VIRTIO_CONFIG_S_NEEDS_RESET,
} from '../device-status.js';
import type { VirtioInterrupt } from '../transport/transport.js';

/** §5: device ID of a block device. */
export const VIRTIO_ID_BLOCK = 2;

export { VIRTIO_BLK_SUPPORTED_FEATURES, type VirtioBlkDeviceOptions } from './blk-device-setup.js';
import { deviceSetup, type VirtioBlkDeviceOptions } from './blk-device-setup.js';



/** The device's request queues, wherever they run (BlkQueueEngine here, a device worker for transport `worker`). */
export interface BlkDataPlane {
  /** Programs queue `q` with a ring the device has validated. */
  enable(q: number, size: number, addrs: SplitRingAddrs, features: BlkRingFeatures): void;
  /** DRIVER_OK: start taking requests. */
  start(): void;
  /** The doorbell of queue `q`. */
  notify(q: number): void;
  /** Stops taking requests and resolves once none can touch guest memory; the queues are forgotten. */
  stop(): Promise<void>;
  /** The handlers' view of the device changed. */
  update(state: BlkRequestState): void;
  /** Backend operations in progress (as far as this thread knows). */
  readonly inflight: number;
  interruptStats(q: number): { interrupted: number; suppressed: number } | undefined;
}

/** Builds a device's data plane from the hooks it reports through and the initial request state. */
export type BlkDataPlaneFactory = (hooks: BlkQueueHooks, state: BlkRequestState) => BlkDataPlane;

interface QueueRegs {
  size: number;
  addrs: SplitRingAddrs | undefined;
}

/**
 * A virtio-blk device over a {@link BlockBackend}. The transport calls the
 * register-like methods (status, features, config, queues, notify) and receives
 * interrupts through {@link setInterruptHandler}. The requests themselves run
 * in its data plane ({@link BlkQueueEngine} on this thread by default).
 */
export class VirtioBlkDevice {
  readonly memory: GuestMemory;
  readonly backend: BlockBackend;
  readonly #maxQueueSize: number;
  readonly blockSize: number;
  readonly #offered: bigint;
  readonly #serial: Uint8Array;
  readonly #config: VirtioBlkConfig;
  readonly #defaultWriteback: boolean;
  readonly #plane: BlkDataPlane;
  #configBytes: Uint8Array;
  #generation = 0;
  #status = 0;
  #driverFeatures = 0n;
  #readOnly: boolean;
  #queues: QueueRegs[];
  #resetting = false;
  #irq: (irq: VirtioInterrupt) => void = () => undefined;
  /** Each queue's interrupt as a value made once (it is immutable): no object per interrupt. */
  readonly #queueIrqs: readonly VirtioInterrupt[];
  /** Why the device asked for a reset, for diagnostics. */
  needsResetReason: string | undefined;

  constructor(opts: VirtioBlkDeviceOptions, plane?: BlkDataPlaneFactory) {
    const { numQueues, maxQueueSize, blockSize, serial, offered, config } = deviceSetup(opts);
    this.#maxQueueSize = maxQueueSize;
    this.blockSize = blockSize;
    this.memory = opts.memory;
    this.backend = opts.backend;
    this.#serial = serial;
    this.#readOnly = opts.backend.readOnly;
    this.#offered = offered;
    this.#defaultWriteback = config.writeback === 1;
    this.#config = config;
    this.#configBytes = encodeBlkConfig(this.#config);
    this.#queues = Array.from({ length: numQueues }, () => ({ size: 0, addrs: undefined }));
    this.#queueIrqs = Array.from({ length: numQueues }, (_, queue) => ({ kind: 'queue', queue }));
    const hooks: BlkQueueHooks = {
      interrupt: (q) => {
        this.#irq(this.#queueIrqs[q] ?? { kind: 'queue', queue: q });
      },
      needsReset: (reason) => {
        this.#needsReset(reason);
      },
      ...(opts.schedule === undefined ? {} : { schedule: opts.schedule }),
    };
    const state = this.requestState();
    this.#plane = plane === undefined ? new BlkQueueEngine(this.memory, this.backend, state, hooks) : plane(hooks, state);
  }

  /** What the request handlers read of the device, as a cloneable snapshot. */
  requestState(): BlkRequestState {
    const c = this.#config;
    return {
      capacitySectors: Number(c.capacity),
      blockSize: this.blockSize,
      readOnly: this.#readOnly,
      writeback: c.writeback !== 0,
      serial: this.#serial,
      driverFeatures: this.#driverFeatures,
      limits: { maxDiscardSectors: c.maxDiscardSectors, maxDiscardSeg: c.maxDiscardSeg, maxWriteZeroesSectors: c.maxWriteZeroesSectors, maxWriteZeroesSeg: c.maxWriteZeroesSeg },
    };
  }

  // ---- registers (what a transport exposes) ----

  setInterruptHandler(fn: (irq: VirtioInterrupt) => void): void {
    this.#irq = fn;
  }

  getStatus(): number {
    return this.#status;
  }

  /** device_feature: the offered set, with RO reflecting the current read-only state. */
  getDeviceFeatures(): bigint {
    return this.#readOnly ? this.#offered | featureMask(VIRTIO_BLK_F_RO) : this.#offered;
  }

  get driverFeatures(): bigint {
    return this.#driverFeatures;
  }

  /**
   * driver_feature. Any value is taken and checked at FEATURES_OK; until then
   * nothing reads it as a feature set (see #negotiated).
   */
  setDriverFeatures(features: bigint): void {
    // §3.1.1: features are written before FEATURES_OK; later writes are ignored.
    if ((this.#status & VIRTIO_CONFIG_S_FEATURES_OK) !== 0 || this.#resetting) return;
    this.#driverFeatures = features;
  }

  /**
   * Driver writes to device_status. FEATURES_OK is kept only if the accepted
   * features are acceptable (§3.1.1 step 5–6: the driver re-reads it);
   * DRIVER_OK with queues the device cannot use sets NEEDS_RESET.
   */
  setStatus(status: number): void {
    if (this.#resetting || (this.#status & VIRTIO_CONFIG_S_FAILED) !== 0) return;
    const added = status & ~this.#status;
    let next = this.#status | status;
    if ((added & VIRTIO_CONFIG_S_FEATURES_OK) !== 0) {
      // A set wider than 64 bits (or negative) accepts bits this device never
      // offered (§2.2.1): refused like any such set (§3.1.1 step 6), not thrown.
      const features = this.#driverFeatures;
      if (!isFeatureSet(features) || !validateDriverFeatures(this.getDeviceFeatures(), features).ok) next &= ~VIRTIO_CONFIG_S_FEATURES_OK;
      // Without FLUSH the driver cannot make a cached write stable: the device
      // goes write-through (§5.2.5.2: `writeback` 0 with CONFIG_WCE; §5.2.6.2:
      // a write is stable on completion), until the next reset.
      else if (!hasFeature(features, VIRTIO_BLK_F_FLUSH)) this.#setConfig({ writeback: 0 }, false);
      else this.#plane.update(this.requestState());
    }
    if ((added & VIRTIO_CONFIG_S_DRIVER_OK) !== 0) {
      if ((next & VIRTIO_CONFIG_S_FEATURES_OK) === 0) {
        this.#status = next;
        this.#needsReset('DRIVER_OK without FEATURES_OK');
        return;
      }
    }
    this.#status = next;
    if ((added & VIRTIO_CONFIG_S_DRIVER_OK) !== 0 && this.#running()) this.#plane.start();
  }

  /**
   * Resets the device: stops taking requests at once, waits until no backend
   * operation can still write guest memory, then clears all state.
   */
  async reset(): Promise<void> {
    this.#resetting = true;
    await this.#plane.stop();
    this.#status = 0;
    this.#driverFeatures = 0n;
    this.needsResetReason = undefined;
    this.#queues = this.#queues.map(() => ({ size: 0, addrs: undefined }));
    this.#setConfig({ writeback: this.#defaultWriteback ? 1 : 0 }, false);
    this.#resetting = false;
  }

  configGeneration(): number {
    return this.#generation;
  }

  readConfig(offset: number, len: number): Uint8Array {
    const out = new Uint8Array(Math.max(0, len));
    if (offset >= 0 && offset < this.#configBytes.length) out.set(this.#configBytes.subarray(offset, offset + len));
    return out;
  }

  /**
   * Only `writeback` is driver-writable, and only with VIRTIO_BLK_F_CONFIG_WCE
   * negotiated (§5.2.5); a 1 is ignored while the cache must stay
   * write-through (see #writebackAllowed).
   */
  writeConfig(offset: number, bytes: Uint8Array): void {
    if (offset !== VirtioBlkConfigLayout.writeback || bytes.length !== 1) return;
    if (!this.#negotiated(VIRTIO_BLK_F_CONFIG_WCE)) return;
    const writeback = (bytes[0] ?? 0) === 0 ? 0 : 1;
    if (writeback === 1 && !this.#writebackAllowed()) return;
    this.#setConfig({ writeback }, false);
  }

  numQueues(): number {
    return this.#queues.length;
  }

  queueMaxSize(q: number): number {
    return q >= 0 && q < this.#queues.length ? this.#maxQueueSize : 0;
  }

  /** Programs queue `q`. A bad configuration makes the device ask for a reset. */
  enableQueue(q: number, size: number, addrs: SplitRingAddrs): void {
    const queue = this.#queues[q];
    if (queue === undefined || this.#resetting) return;
    if ((this.#status & VIRTIO_CONFIG_S_FEATURES_OK) === 0) {
      this.#needsReset(`queue ${q} enabled before FEATURES_OK`);
      return;
    }
    const why = size > this.#maxQueueSize ? `queue size ${size} exceeds the maximum ${this.#maxQueueSize}` : checkSplitRing(this.memory, size, addrs);
    if (why !== undefined) {
      this.#needsReset(`queue ${q}: ${why}`);
      return;
    }
    queue.size = size;
    queue.addrs = addrs;
    this.#plane.enable(q, size, addrs, {
      indirect: hasFeature(this.#driverFeatures, VIRTIO_F_INDIRECT_DESC),
      eventIdx: hasFeature(this.#driverFeatures, VIRTIO_F_EVENT_IDX),
    });
  }

  /** Ring addresses queue `q` was enabled with (queue_desc/driver/device), or undefined. */
  queueAddrs(q: number): SplitRingAddrs | undefined {
    return this.#queues[q]?.addrs;
  }

  /** Interrupt counters of queue `q` (for tests and benchmarks). */
  interruptStats(q: number): { interrupted: number; suppressed: number } | undefined {
    return this.#plane.interruptStats(q);
  }

  /** The doorbell of queue `q` (see {@link BlkQueueEngine.notify}); ignored unless the device is running. */
  notify(q: number): void {
    if (this.#running()) this.#plane.notify(q);
  }

  // ---- device-side events ----

  /** Re-reads the backend size (after a resize) and raises a config change. */
  refreshCapacity(): void {
    this.#setConfig({ capacity: BigInt(this.backend.size / VIRTIO_BLK_SECTOR_SIZE) }, true);
  }

  /** Turns the write-back cache on or off from the device side; on only while allowed (see #writebackAllowed). */
  setWriteback(enabled: boolean): void {
    this.#setConfig({ writeback: enabled && this.#writebackAllowed() ? 1 : 0 }, true);
  }

  /** Makes the medium read-only (or writable): writes fail with IOERR, RO shows in device_feature. */
  setReadOnly(readOnly: boolean): void {
    if (readOnly === this.#readOnly) return;
    this.#readOnly = readOnly;
    this.#plane.update(this.requestState());
    this.#generation++;
    this.#configInterrupt();
  }

  /**
   * The data plane is gone (its worker died): DEVICE_NEEDS_RESET (§2.1.2), so
   * the driver stops and resets; what a reset finds next is up to the transport.
   */
  lose(reason: string): void {
    this.#needsReset(reason);
  }

  get readOnly(): boolean {
    return this.#readOnly || this.backend.readOnly;
  }

  get capacitySectors(): bigint {
    return this.#config.capacity;
  }

  get writeback(): boolean {
    return this.#config.writeback !== 0;
  }

  /** Backend operations in progress. */
  get inflight(): number {
    return this.#plane.inflight;
  }

  /** `bit` was negotiated: FEATURES_OK is set, so the driver's set passed the check there. */
  #negotiated(bit: number): boolean {
    return (this.#status & VIRTIO_CONFIG_S_FEATURES_OK) !== 0 && hasFeature(this.#driverFeatures, bit);
  }

  /**
   * Whether the cache may be write-back: not once features were negotiated
   * without VIRTIO_BLK_F_FLUSH, when the driver has no way to make a cached
   * write stable (§5.2.6.2) and the device stays write-through until a reset.
   */
  #writebackAllowed(): boolean {
    return (this.#status & VIRTIO_CONFIG_S_FEATURES_OK) === 0 || this.#negotiated(VIRTIO_BLK_F_FLUSH);
  }

  #running(): boolean {
    const s = this.#status;
    return !this.#resetting && (s & VIRTIO_CONFIG_S_DRIVER_OK) !== 0 && (s & (VIRTIO_CONFIG_S_NEEDS_RESET | VIRTIO_CONFIG_S_FAILED)) === 0;
  }

  #setConfig(change: Partial<VirtioBlkConfig>, interrupt: boolean): void {
    Object.assign(this.#config, change);
    this.#configBytes = encodeBlkConfig(this.#config);
    this.#plane.update(this.requestState());
    this.#generation++;
    if (interrupt) this.#configInterrupt();
  }

  #configInterrupt(): void {
    if ((this.#status & VIRTIO_CONFIG_S_DRIVER_OK) !== 0) this.#irq({ kind: 'config' });
  }

  /** §2.1.2: set DEVICE_NEEDS_RESET and send a configuration change notification. */
  #needsReset(reason: string): void {
    this.needsResetReason ??= reason;
    this.#status |= VIRTIO_CONFIG_S_NEEDS_RESET;
    this.#irq({ kind: 'config' });
  }
}
