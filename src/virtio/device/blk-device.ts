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

import type { GuestMemory, GuestRange } from '../guest-memory.js';
import { SplitVirtqDevice, checkSplitRing, type AvailChain, type SplitRingAddrs } from '../split-ring.js';
import { isValidQueueSize } from '../ring-layout.js';
import type { BlockBackend } from './backend.js';
import { sgLength, sgRead, sgSlice } from './sg.js';
import { HANDLERS, IOERR, UNSUPP, type BlkRequestContext, type BlkRequestData, type BlkResult } from './blk-handlers.js';
import { VIRTIO_BLK_ID_BYTES, VIRTIO_BLK_SECTOR_SIZE, VirtioBlkReqHeader, decodeBlkReqHeader } from '../blk-wire.js';
import { VirtioBlkConfigLayout, encodeBlkConfig, type VirtioBlkConfig } from '../blk-config.js';
import {
  VIRTIO_BLK_F_CONFIG_WCE,
  VIRTIO_BLK_F_MQ,
  VIRTIO_BLK_F_RO,
  VIRTIO_F_EVENT_IDX,
  VIRTIO_F_INDIRECT_DESC,
  VIRTIO_F_VERSION_1,
  VIRTIO_BLK_IMPLEMENTED_FEATURES,
  featureMask,
  hasFeature,
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

/** Everything this device model can offer. */
export const VIRTIO_BLK_SUPPORTED_FEATURES = VIRTIO_BLK_IMPLEMENTED_FEATURES;

export interface VirtioBlkDeviceOptions {
  readonly memory: GuestMemory;
  readonly backend: BlockBackend;
  /** Features to offer (intersected with what the model supports); default all. RO and MQ follow the backend and `numQueues`. */
  readonly features?: bigint;
  /** Largest queue the driver may configure (power of two, default 1024). */
  readonly queueMaxSize?: number;
  /** Request queues (default 1; more offers VIRTIO_BLK_F_MQ). */
  readonly numQueues?: number;
  /** Logical block size reported in blk_size: 512 (default) or 4096. Requests must be aligned to it. */
  readonly blockSize?: 512 | 4096;
  /** Topology: log2(physical block / logical block). */
  readonly physicalBlockExp?: number;
  /** GET_ID serial (at most 20 bytes; shorter is NUL-padded). */
  readonly serial?: string;
  /** size_max: largest single data segment in bytes (default 1 MiB). */
  readonly sizeMax?: number;
  /** seg_max: most data segments in one request (default 126). */
  readonly segMax?: number;
  readonly maxDiscardSectors?: number;
  readonly maxDiscardSeg?: number;
  readonly maxWriteZeroesSectors?: number;
  readonly maxWriteZeroesSeg?: number;
  /** Write-back cache enabled at reset (default true). */
  readonly writeback?: boolean;
  /** How the device defers work (default setImmediate): publishing is batched per turn. */
  readonly schedule?: (fn: () => void) => void;
}

interface Queue {
  size: number;
  addrs: SplitRingAddrs | undefined;
  ring: SplitVirtqDevice | undefined;
  /** Heads handed to the backend and not yet pushed back (a duplicate is ring corruption). */
  busy: Uint8Array;
  dirty: boolean;
}

/**
 * A virtio-blk device over a {@link BlockBackend}. The transport calls the
 * register-like methods (status, features, config, queues, notify) and receives
 * interrupts through {@link setInterruptHandler}.
 */
export class VirtioBlkDevice implements BlkRequestContext {
  readonly memory: GuestMemory;
  readonly backend: BlockBackend;
  readonly #maxQueueSize: number;
  readonly blockSize: number;
  readonly #offered: bigint;
  readonly #serial: Uint8Array;
  readonly #schedule: (fn: () => void) => void;
  readonly #config: VirtioBlkConfig;
  readonly #defaultWriteback: boolean;
  #configBytes: Uint8Array;
  #generation = 0;
  #status = 0;
  #driverFeatures = 0n;
  #readOnly: boolean;
  #queues: Queue[];
  #inflight = 0;
  #epoch = 0;
  #resetting = false;
  #idle: (() => void)[] = [];
  #publishScheduled = false;
  /** Inside notify()'s pass over a ring: completions wait for the publish at its end. */
  #inPass = false;
  /** `capacity` in sectors as a number (below 2^53: the backend's size is one), for checkRange on every request. */
  #capacitySectors: number;
  #irq: (irq: VirtioInterrupt) => void = () => undefined;
  /** Why the device asked for a reset, for diagnostics. */
  needsResetReason: string | undefined;

  constructor(opts: VirtioBlkDeviceOptions) {
    const numQueues = opts.numQueues ?? 1;
    this.#maxQueueSize = opts.queueMaxSize ?? 1024;
    this.blockSize = opts.blockSize ?? 512;
    if (!isValidQueueSize(this.#maxQueueSize)) throw new RangeError(`queueMaxSize must be a power of two in 1..32768, got ${this.#maxQueueSize}`);
    if (!Number.isInteger(numQueues) || numQueues < 1 || numQueues > 0xffff) throw new RangeError(`numQueues must be 1..65535, got ${numQueues}`);
    if (opts.backend.size % this.blockSize !== 0 || opts.backend.size === 0) {
      throw new RangeError(`backend size ${opts.backend.size} is not a non-zero multiple of the ${this.blockSize}-byte block size`);
    }
    const serial = new TextEncoder().encode(opts.serial ?? 'vtcam');
    if (serial.length > VIRTIO_BLK_ID_BYTES) throw new RangeError(`serial is ${serial.length} bytes; GET_ID carries at most ${VIRTIO_BLK_ID_BYTES}`);
    this.memory = opts.memory;
    this.backend = opts.backend;
    this.#serial = new Uint8Array(VIRTIO_BLK_ID_BYTES);
    this.#serial.set(serial);
    this.#schedule = opts.schedule ?? ((fn) => setImmediate(fn));
    this.#readOnly = opts.backend.readOnly;
    let offered = (opts.features ?? VIRTIO_BLK_SUPPORTED_FEATURES) & VIRTIO_BLK_SUPPORTED_FEATURES;
    offered |= featureMask(VIRTIO_F_VERSION_1);
    offered &= ~featureMask(VIRTIO_BLK_F_RO, VIRTIO_BLK_F_MQ);
    if (numQueues > 1) offered |= featureMask(VIRTIO_BLK_F_MQ);
    this.#offered = offered;
    this.#defaultWriteback = opts.writeback ?? true;
    const sectors = BigInt(opts.backend.size / VIRTIO_BLK_SECTOR_SIZE);
    // A conventional 16-head, 63-sector geometry; only old software looks at it.
    const cylinders = Math.min(0xffff, Math.floor(opts.backend.size / VIRTIO_BLK_SECTOR_SIZE / (16 * 63)));
    this.#config = {
      capacity: sectors,
      sizeMax: opts.sizeMax ?? 1 << 20,
      segMax: opts.segMax ?? 126,
      geometry: { cylinders, heads: 16, sectors: 63 },
      blkSize: this.blockSize,
      topology: { physicalBlockExp: opts.physicalBlockExp ?? 0, alignmentOffset: 0, minIoSize: this.blockSize / VIRTIO_BLK_SECTOR_SIZE, optIoSize: 0 },
      writeback: this.#defaultWriteback ? 1 : 0,
      numQueues,
      maxDiscardSectors: opts.maxDiscardSectors ?? 0x3fffff,
      maxDiscardSeg: opts.maxDiscardSeg ?? 256,
      discardSectorAlignment: this.blockSize / VIRTIO_BLK_SECTOR_SIZE,
      maxWriteZeroesSectors: opts.maxWriteZeroesSectors ?? 0x3fffff,
      maxWriteZeroesSeg: opts.maxWriteZeroesSeg ?? 256,
      writeZeroesMayUnmap: 1,
      maxSecureEraseSectors: 0,
      maxSecureEraseSeg: 0,
      secureEraseSectorAlignment: 0,
    };
    this.#configBytes = encodeBlkConfig(this.#config);
    this.#capacitySectors = Number(sectors);
    this.#queues = Array.from({ length: numQueues }, () => this.#freshQueue());
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
      const check = validateDriverFeatures(this.getDeviceFeatures(), this.#driverFeatures);
      if (!check.ok) next &= ~VIRTIO_CONFIG_S_FEATURES_OK;
    }
    if ((added & VIRTIO_CONFIG_S_DRIVER_OK) !== 0) {
      if ((next & VIRTIO_CONFIG_S_FEATURES_OK) === 0) {
        this.#status = next;
        this.#needsReset('DRIVER_OK without FEATURES_OK');
        return;
      }
    }
    this.#status = next;
    if ((added & VIRTIO_CONFIG_S_DRIVER_OK) !== 0) {
      for (let q = 0; q < this.#queues.length; q++) this.notify(q);
    }
  }

  /**
   * Resets the device: stops taking requests at once, waits until no backend
   * operation can still write guest memory, then clears all state.
   */
  async reset(): Promise<void> {
    this.#resetting = true;
    this.#epoch++;
    if (this.#inflight > 0) await new Promise<void>((resolve) => this.#idle.push(resolve));
    this.#status = 0;
    this.#driverFeatures = 0n;
    this.needsResetReason = undefined;
    this.#queues = this.#queues.map(() => this.#freshQueue());
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

  /** Only `writeback` is driver-writable, and only with VIRTIO_BLK_F_CONFIG_WCE (§5.2.5). */
  writeConfig(offset: number, bytes: Uint8Array): void {
    if (offset !== VirtioBlkConfigLayout.writeback || bytes.length !== 1) return;
    if (!hasFeature(this.#driverFeatures, VIRTIO_BLK_F_CONFIG_WCE)) return;
    this.#setConfig({ writeback: (bytes[0] ?? 0) === 0 ? 0 : 1 }, false);
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
    queue.busy = new Uint8Array(size);
    queue.ring = new SplitVirtqDevice(this.memory, size, addrs, {
      indirect: hasFeature(this.#driverFeatures, VIRTIO_F_INDIRECT_DESC),
      eventIdx: hasFeature(this.#driverFeatures, VIRTIO_F_EVENT_IDX),
    });
  }

  /** Interrupt counters of queue `q` (for tests and benchmarks). */
  interruptStats(q: number): { interrupted: number; suppressed: number } | undefined {
    return this.#queues[q]?.ring?.interruptStats;
  }

  /**
   * The doorbell: process every available chain of queue `q`. Requests the
   * backend completes at once (readSync, writeSync) are published together at
   * the end of the pass: one used.idx store and at most one interrupt per
   * doorbell. Requests that wait for the backend are published on a later turn.
   */
  notify(q: number): void {
    const queue = this.#queues[q];
    const ring = queue?.ring;
    if (queue === undefined || ring === undefined || !this.#running()) return;
    this.#inPass = true;
    try {
      this.#pass(queue, q, ring);
    } finally {
      this.#inPass = false;
    }
    if (queue.dirty) {
      queue.dirty = false;
      if (ring.publish()) this.#irq({ kind: 'queue', queue: q });
    }
  }

  #pass(queue: Queue, q: number, ring: SplitVirtqDevice): void {
    for (;;) {
      ring.disableNotifications();
      for (;;) {
        const chain = ring.pop();
        if (chain === undefined) break;
        if ('corrupt' in chain) {
          this.#needsReset(`queue ${q}: ${chain.corrupt}`);
          return;
        }
        if (queue.busy[chain.head] === 1) {
          this.#needsReset(`queue ${q}: head ${chain.head} made available again while in flight`);
          return;
        }
        this.#start(queue, q, chain);
        if (!this.#running()) return;
      }
      if (!ring.enableNotifications()) break;
    }
  }

  // ---- device-side events ----

  /** Re-reads the backend size (after a resize) and raises a config change. */
  refreshCapacity(): void {
    this.#setConfig({ capacity: BigInt(this.backend.size / VIRTIO_BLK_SECTOR_SIZE) }, true);
  }

  /** Turns the write-back cache on or off from the device side. */
  setWriteback(enabled: boolean): void {
    this.#setConfig({ writeback: enabled ? 1 : 0 }, true);
  }

  /** Makes the medium read-only (or writable): writes fail with IOERR, RO shows in device_feature. */
  setReadOnly(readOnly: boolean): void {
    if (readOnly === this.#readOnly) return;
    this.#readOnly = readOnly;
    this.#generation++;
    this.#configInterrupt();
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
    return this.#inflight;
  }

  // ---- request processing ----

  #running(): boolean {
    const s = this.#status;
    return !this.#resetting && (s & VIRTIO_CONFIG_S_DRIVER_OK) !== 0 && (s & (VIRTIO_CONFIG_S_NEEDS_RESET | VIRTIO_CONFIG_S_FAILED)) === 0;
  }

  #start(queue: Queue, q: number, chain: AvailChain): void {
    const status = lastByte(chain.writable);
    if (status === undefined || !this.memory.contains(status, 1)) {
      // Nowhere to put a status: the request cannot be answered at all.
      this.#needsReset(`queue ${q}: head ${chain.head} has no writable status byte`);
      return;
    }
    const head = chain.head;
    queue.busy[head] = 1;
    const epoch = this.#epoch;
    const r = chain.fault === undefined ? this.#handle(chain) : IOERR;
    if (!(r instanceof Promise)) {
      this.#finish(queue, head, status, r, epoch);
      return;
    }
    this.#inflight++;
    const settle = (res: BlkResult): void => {
      this.#inflight--;
      this.#finish(queue, head, status, res, epoch);
      if (this.#inflight === 0 && this.#idle.length > 0) for (const wake of this.#idle.splice(0)) wake();
    };
    r.then(settle, () => {
      settle(IOERR);
    });
  }

  /** Parses a well-formed chain and runs its type's handler. */
  #handle(chain: AvailChain): BlkResult | Promise<BlkResult> {
    const req = this.#parse(chain);
    if (req === undefined) return IOERR;
    const handler = HANDLERS.get(req.type);
    return handler === undefined ? UNSUPP : handler(this, req);
  }

  #parse(chain: AvailChain): (BlkRequestData & { type: number }) | undefined {
    const rlen = sgLength(chain.readable);
    const wlen = sgLength(chain.writable);
    let type: number;
    let sector: number;
    const first = chain.readable[0];
    if (first !== undefined && first.len >= VirtioBlkReqHeader.SIZE) {
      // The usual layout: the whole header in the first descriptor; read it in place.
      const at = first.addr;
      type = this.memory.readU32(at + VirtioBlkReqHeader.type) ?? 0;
      sector = sectorNumber(this.memory.readU32(at + VirtioBlkReqHeader.sector) ?? 0, this.memory.readU32(at + VirtioBlkReqHeader.sector + 4) ?? 0);
    } else {
      const hdr = sgRead(this.memory, chain.readable, 0, VirtioBlkReqHeader.SIZE);
      if (hdr === undefined) return undefined;
      const h = decodeBlkReqHeader(hdr);
      type = h.type;
      sector = Number(h.sector);
    }
    return {
      type,
      sector,
      dataOut: sgSlice(chain.readable, VirtioBlkReqHeader.SIZE, rlen - VirtioBlkReqHeader.SIZE),
      dataOutLen: rlen - VirtioBlkReqHeader.SIZE,
      dataIn: sgSlice(chain.writable, 0, wlen - 1),
      dataInLen: wlen - 1,
    };
  }

  #finish(queue: Queue, head: number, statusAddr: number, r: BlkResult, epoch: number): void {
    // A reset happened meanwhile: the ring belongs to nobody now; drop the answer.
    if (epoch !== this.#epoch || queue.ring === undefined) return;
    this.memory.writeU8(statusAddr, r.status);
    queue.busy[head] = 0;
    queue.ring.push(head, r.written + 1);
    queue.dirty = true;
    if (this.#inPass || this.#publishScheduled) return;
    this.#publishScheduled = true;
    this.#schedule(() => {
      this.#publishScheduled = false;
      if (epoch !== this.#epoch) return;
      this.#publishAll();
    });
  }

  /** One used.idx store per queue per turn; interrupt only where the driver wants one. */
  #publishAll(): void {
    for (let q = 0; q < this.#queues.length; q++) {
      const queue = this.#queues[q];
      if (queue?.dirty !== true || queue.ring === undefined) continue;
      queue.dirty = false;
      if (queue.ring.publish()) this.#irq({ kind: 'queue', queue: q });
    }
  }

  /** Checks a data transfer: block-aligned length, aligned start, inside capacity. */
  checkRange(sector: number, bytes: number): boolean {
    const perBlock = this.blockSize / VIRTIO_BLK_SECTOR_SIZE;
    if (bytes % this.blockSize !== 0 || sector % perBlock !== 0) return false;
    return sector + bytes / VIRTIO_BLK_SECTOR_SIZE <= this.#capacitySectors;
  }

  hasDriverFeature(bit: number): boolean {
    return hasFeature(this.#driverFeatures, bit);
  }

  get serial(): Uint8Array {
    return this.#serial;
  }

  limits(): Pick<VirtioBlkConfig, 'maxDiscardSectors' | 'maxDiscardSeg' | 'maxWriteZeroesSectors' | 'maxWriteZeroesSeg'> {
    return this.#config;
  }

  #freshQueue(): Queue {
    return { size: 0, addrs: undefined, ring: undefined, busy: new Uint8Array(0), dirty: false };
  }

  #setConfig(change: Partial<VirtioBlkConfig>, interrupt: boolean): void {
    Object.assign(this.#config, change);
    this.#configBytes = encodeBlkConfig(this.#config);
    this.#capacitySectors = Number(this.#config.capacity);
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

/**
 * The le64 SECTOR from its two le32 halves. Past 2^53 (where a number stops
 * being exact) it is Infinity: past any capacity, which checkRange refuses.
 */
function sectorNumber(lo: number, hi: number): number {
  return hi < 0x20_0000 ? hi * 0x1_0000_0000 + lo : Infinity;
}

function lastByte(ranges: readonly GuestRange[]): number | undefined {
  for (let i = ranges.length - 1; i >= 0; i--) {
    const r = ranges[i];
    if (r !== undefined && r.len > 0) return r.addr + r.len - 1;
  }
  return undefined;
}
