// The virtio-blk data plane: the device's side of its request queues (VIRTIO
// 1.2 §2.7 split virtqueues, §5.2.6 requests). It pops available chains,
// validates and runs them against the backend, and pushes them used. The
// control plane (device status, features, config space) is VirtioBlkDevice's;
// it programs queues here and tells the plane what the request handlers must
// know (capacity, read-only, negotiated features) as a plain, cloneable
// {@link BlkRequestState}, so the same plane runs on the device's thread
// (transport `local`) or in a device worker (transport `worker`), as vhost
// splits a device between its front end and its back end.

import type { GuestMemory, GuestRange } from '../guest-memory.js';
import type { SplitRingAddrs } from '../split-ring.js';
import { SplitVirtqDevice, type ChainView } from '../split-ring-device.js';
import { RangeList } from '../range-list.js';
import type { BlockBackend } from './backend.js';
import type { VirtioBlkConfig } from '../blk-config.js';
import { sgLength, sgRead, sgSlice } from './sg.js';
import { HANDLERS, IOERR, UNSUPP, type BlkRequestContext, type BlkRequestData, type BlkResult } from './blk-handlers.js';
import { VIRTIO_BLK_SECTOR_SIZE, VirtioBlkReqHeader, decodeBlkReqHeader } from '../blk-wire.js';
import { hasFeature } from '../blk-features.js';

/** Limits of the multi-segment requests, as the config space states them. */
export type BlkSegmentLimits = Pick<VirtioBlkConfig, 'maxDiscardSectors' | 'maxDiscardSeg' | 'maxWriteZeroesSectors' | 'maxWriteZeroesSeg'>;

/** What the request handlers read of the device; structured-cloneable (it crosses to a device worker). */
export interface BlkRequestState {
  /** `capacity` in 512-byte sectors (below 2^53: the backend's size is a number). */
  readonly capacitySectors: number;
  readonly blockSize: number;
  readonly readOnly: boolean;
  readonly writeback: boolean;
  /** GET_ID answer, VIRTIO_BLK_ID_BYTES long. */
  readonly serial: Uint8Array;
  readonly driverFeatures: bigint;
  readonly limits: BlkSegmentLimits;
}

/** How the plane's rings use the negotiated features. */
export interface BlkRingFeatures {
  readonly indirect: boolean;
  readonly eventIdx: boolean;
}

/** What the plane tells its host. */
export interface BlkQueueHooks {
  /** Used buffers published on queue `q` and the driver wants an interrupt. */
  readonly interrupt: (q: number) => void;
  /** The ring of a queue cannot be trusted: the device must set DEVICE_NEEDS_RESET (§2.1.2). */
  readonly needsReset: (reason: string) => void;
  /** Defers the publish of answers that came back asynchronously (default setImmediate): one publish per turn. */
  readonly schedule?: (fn: () => void) => void;
}

/** A parsed request: one object the engine fills per request and lends to its handler. */
interface ParsedRequest extends BlkRequestData {
  type: number;
  sector: number;
  dataOut: readonly GuestRange[];
  dataOutLen: number;
  dataIn: readonly GuestRange[];
  dataInLen: number;
}

interface Queue {
  readonly ring: SplitVirtqDevice;
  /** Heads handed to the backend and not yet pushed back (a duplicate is ring corruption). */
  readonly busy: Uint8Array;
  dirty: boolean;
}

/** {@link BlkRequestContext} over a state snapshot. */
class StateContext implements BlkRequestContext {
  readonly memory: GuestMemory;
  readonly backend: BlockBackend;
  readonly #state: BlkRequestState;
  readonly #perBlock: number;

  constructor(memory: GuestMemory, backend: BlockBackend, state: BlkRequestState) {
    this.memory = memory;
    this.backend = backend;
    this.#state = state;
    this.#perBlock = state.blockSize / VIRTIO_BLK_SECTOR_SIZE;
  }

  get readOnly(): boolean {
    return this.#state.readOnly || this.backend.readOnly;
  }

  get writeback(): boolean {
    return this.#state.writeback;
  }

  get serial(): Uint8Array {
    return this.#state.serial;
  }

  checkRange(sector: number, bytes: number): boolean {
    if (bytes % this.#state.blockSize !== 0 || sector % this.#perBlock !== 0) return false;
    return sector + bytes / VIRTIO_BLK_SECTOR_SIZE <= this.#state.capacitySectors;
  }

  hasDriverFeature(bit: number): boolean {
    return hasFeature(this.#state.driverFeatures, bit);
  }

  limits(): BlkSegmentLimits {
    return this.#state.limits;
  }
}

/** The request queues of one virtio-blk device (or the share of them one device worker serves). */
export class BlkQueueEngine {
  readonly memory: GuestMemory;
  readonly backend: BlockBackend;
  readonly #hooks: BlkQueueHooks;
  readonly #schedule: (fn: () => void) => void;
  #ctx: StateContext;
  readonly #queues = new Map<number, Queue>();
  #running = false;
  /** Bumped by stop(): answers of requests started before it are dropped. */
  #epoch = 0;
  #inflight = 0;
  #idle: (() => void)[] = [];
  /** A #publishTask is scheduled for the queues of this epoch (stop() clears it: see there). */
  #publishScheduled = false;
  /** Inside a pass over a ring: completions wait for the publish at its end. */
  #inPass = false;
  /** The request #parse lends to its handler, and its data lists (see BlkRequestData). */
  readonly #req: ParsedRequest = { type: 0, sector: 0, dataOut: [], dataOutLen: 0, dataIn: [], dataInLen: 0 };
  readonly #dataOut = new RangeList();
  readonly #dataIn = new RangeList();
  /** #schedule's task, made once (not a closure per publish). */
  readonly #publishTask = (): void => {
    this.#publishScheduled = false;
    this.#publishAll();
  };

  constructor(memory: GuestMemory, backend: BlockBackend, state: BlkRequestState, hooks: BlkQueueHooks) {
    this.memory = memory;
    this.backend = backend;
    this.#hooks = hooks;
    this.#schedule = hooks.schedule ?? ((fn) => setImmediate(fn));
    this.#ctx = new StateContext(memory, backend, state);
  }

  /** New device state for the handlers (capacity, read-only, write cache or features changed). */
  update(state: BlkRequestState): void {
    this.#ctx = new StateContext(this.memory, this.backend, state);
  }

  /** Programs queue `q` (the device validated the ring layout). */
  enable(q: number, size: number, addrs: SplitRingAddrs, features: BlkRingFeatures): void {
    this.#queues.set(q, { ring: new SplitVirtqDevice(this.memory, size, addrs, features), busy: new Uint8Array(size), dirty: false });
  }

  /** DRIVER_OK: start taking requests, beginning with any already made available. */
  start(): void {
    this.#running = true;
    for (const q of this.#queues.keys()) this.notify(q);
  }

  /** Backend operations in progress. */
  get inflight(): number {
    return this.#inflight;
  }

  /** Programmed queues. */
  queues(): IterableIterator<number> {
    return this.#queues.keys();
  }

  /** Interrupt counters of queue `q` (for tests and benchmarks). */
  interruptStats(q: number): { interrupted: number; suppressed: number } | undefined {
    return this.#queues.get(q)?.ring.interruptStats;
  }

  /**
   * Stops at once (no chain is popped any more), waits until no backend
   * operation can still write guest memory, and forgets the queues: what a
   * device reset needs before status may read 0 (§2.1.2, §4.1.4.3.2).
   */
  async stop(): Promise<void> {
    this.#running = false;
    this.#epoch++;
    this.#queues.clear();
    // A publish task still pending was for the queues just forgotten: the
    // first completion after this schedules its own rather than count on it.
    // Whenever the old task runs, it publishes what is dirty then, if anything
    // (answers of the new queues, early): nothing is lost either way.
    this.#publishScheduled = false;
    if (this.#inflight > 0) await new Promise<void>((resolve) => this.#idle.push(resolve));
  }

  /**
   * The doorbell: process every available chain of queue `q`. Requests the
   * backend completes at once (readSync, writeSync) are published together at
   * the end of the pass: one used.idx store and at most one interrupt per
   * doorbell. Requests that wait for the backend are published on a later turn.
   */
  notify(q: number): void {
    const queue = this.#queues.get(q);
    if (queue === undefined || !this.#running) return;
    this.#inPass = true;
    try {
      this.#pass(queue, q);
    } finally {
      this.#inPass = false;
    }
    if (queue.dirty) {
      queue.dirty = false;
      if (queue.ring.publish()) this.#hooks.interrupt(q);
    }
  }

  #pass(queue: Queue, q: number): void {
    const ring = queue.ring;
    for (;;) {
      ring.disableNotifications();
      for (;;) {
        const chain = ring.popView();
        if (chain === undefined) break;
        if ('corrupt' in chain) {
          this.#halt(`queue ${q}: ${chain.corrupt}`);
          return;
        }
        if (queue.busy[chain.head] === 1) {
          this.#halt(`queue ${q}: head ${chain.head} made available again while in flight`);
          return;
        }
        this.#start(queue, q, chain);
        if (!this.#running) return;
      }
      if (!ring.enableNotifications()) break;
    }
  }

  /** The ring is corrupt: stop taking requests (answers in flight still complete) and ask for a reset. */
  #halt(reason: string): void {
    this.#running = false;
    this.#hooks.needsReset(reason);
  }

  #start(queue: Queue, q: number, chain: ChainView): void {
    const status = lastByte(chain.writable);
    if (status === undefined || !this.memory.contains(status, 1)) {
      // Nowhere to put a status: the request cannot be answered at all.
      this.#halt(`queue ${q}: head ${chain.head} has no writable status byte`);
      return;
    }
    const head = chain.head;
    queue.busy[head] = 1;
    const epoch = this.#epoch;
    const r = chain.fault === undefined ? this.#handle(chain) : IOERR;
    if (r instanceof Promise) this.#settleLater(queue, head, status, r, epoch);
    else this.#finish(queue, head, status, r, epoch);
  }

  /**
   * Finishes a request when the backend answers. Its own method: the closures
   * in #start would cost every request their captured context, not only these.
   */
  #settleLater(queue: Queue, head: number, status: number, r: Promise<BlkResult>, epoch: number): void {
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
  #handle(chain: ChainView): BlkResult | Promise<BlkResult> {
    const req = this.#parse(chain);
    if (req === undefined) return IOERR;
    const handler = HANDLERS.get(req.type);
    return handler === undefined ? UNSUPP : handler(this.#ctx, req);
  }

  #parse(chain: ChainView): ParsedRequest | undefined {
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
    const req = this.#req;
    req.type = type;
    req.sector = sector;
    req.dataOut = sgSlice(chain.readable, VirtioBlkReqHeader.SIZE, rlen - VirtioBlkReqHeader.SIZE, this.#dataOut);
    req.dataOutLen = rlen - VirtioBlkReqHeader.SIZE;
    req.dataIn = sgSlice(chain.writable, 0, wlen - 1, this.#dataIn);
    req.dataInLen = wlen - 1;
    return req;
  }

  #finish(queue: Queue, head: number, statusAddr: number, r: BlkResult, epoch: number): void {
    // A reset happened meanwhile: the ring belongs to nobody now; drop the answer.
    if (epoch !== this.#epoch) return;
    this.memory.writeU8(statusAddr, r.status);
    queue.busy[head] = 0;
    queue.ring.push(head, r.written + 1);
    queue.dirty = true;
    if (this.#inPass || this.#publishScheduled) return;
    this.#publishScheduled = true;
    this.#schedule(this.#publishTask);
  }

  /** One used.idx store per queue per turn; interrupt only where the driver wants one. */
  #publishAll(): void {
    for (const [q, queue] of this.#queues) {
      if (!queue.dirty) continue;
      queue.dirty = false;
      if (queue.ring.publish()) this.#hooks.interrupt(q);
    }
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
