// Instruments for whole-stack tests (createStack: da/pass → XPT → vtblk SIM →
// virtio driver → device model → backend): a backend wrapper that sees every
// operation the device performs (and can hold or slow chosen ones), a shadow
// copy of the medium with "unknown" blocks, a block range lock for the test's
// own scheduling, a ledger that counts CCB completions per xpt.action, a
// watcher that samples the device queue statistics and every request queue's
// load, and a watcher of ORDERED CCBs at the SIM (what a test can see of
// ordering from the driver's thread when the device runs in a worker).

import { afterEach } from 'vitest';
import type { BackendStatus, BlockBackend } from '../../src/virtio/device/backend.js';
import { createStack, type Stack, type StackOptions } from '../../src/stack.js';
import { TagAction, XptFunc, newCcb, type ScsiIoCcb } from '../../src/cam/ccb.js';
import { LocalTransport } from '../../src/virtio/transport/local.js';

/** Operations a backend performs for the device. */
export type ProbeOpKind = 'read' | 'write' | 'flush' | 'discard' | 'writeZeroes';

/** One backend operation, as the device asked for it. */
export interface ProbeOp {
  readonly seq: number;
  readonly kind: ProbeOpKind;
  /** Byte offset and length (0 for flush). */
  readonly offset: number;
  readonly length: number;
}

const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/**
 * Wraps a backend and watches the device's operations on it: how many run at
 * once, in what order they start, and lets a test hold or delay chosen ones
 * (a device that sits on some requests while serving others).
 */
export class ProbeBackend implements BlockBackend {
  readonly inner: BlockBackend;
  /** Operations started so far (the next op's seq). */
  started = 0;
  /** Operations started and not finished. */
  running = 0;
  maxRunning = 0;
  /** Called as an operation starts (already counted in `running`). */
  onStart: ((op: ProbeOp) => void) | undefined;
  /** Called as an operation finishes (no longer counted in `running`). */
  onEnd: ((op: ProbeOp) => void) | undefined;
  /** Operations for which this returns true wait until {@link releaseHeld}. */
  holdIf: ((op: ProbeOp) => boolean) | undefined;
  /** Event-loop turns an operation waits before it reaches the inner backend. */
  delayTurns: ((op: ProbeOp) => number) | undefined;
  readonly #held: (() => void)[] = [];

  constructor(inner: BlockBackend) {
    this.inner = inner;
  }

  get size(): number {
    return this.inner.size;
  }

  get readOnly(): boolean {
    return this.inner.readOnly;
  }

  /** Operations waiting in a hold. */
  get heldCount(): number {
    return this.#held.length;
  }

  /** Lets the `count` oldest held operations go (all without a count); returns how many went. */
  releaseHeld(count?: number): number {
    const go = this.#held.splice(0, count ?? this.#held.length);
    for (const resume of go) resume();
    return go.length;
  }

  read(offset: number, dst: Uint8Array): Promise<BackendStatus> {
    return this.#run('read', offset, dst.length, () => this.inner.read(offset, dst));
  }

  write(offset: number, src: Uint8Array): Promise<BackendStatus> {
    return this.#run('write', offset, src.length, () => this.inner.write(offset, src));
  }

  flush(): Promise<BackendStatus> {
    return this.#run('flush', 0, 0, () => this.inner.flush());
  }

  discard(offset: number, length: number): Promise<BackendStatus> {
    return this.#run('discard', offset, length, () => this.inner.discard(offset, length));
  }

  writeZeroes(offset: number, length: number, unmap: boolean): Promise<BackendStatus> {
    return this.#run('writeZeroes', offset, length, () => this.inner.writeZeroes(offset, length, unmap));
  }

  close(): Promise<void> {
    return this.inner.close();
  }

  async #run(kind: ProbeOpKind, offset: number, length: number, perform: () => Promise<BackendStatus>): Promise<BackendStatus> {
    const op: ProbeOp = { seq: this.started++, kind, offset, length };
    this.running++;
    if (this.running > this.maxRunning) this.maxRunning = this.running;
    try {
      this.onStart?.(op);
      if (this.holdIf?.(op) === true) await new Promise<void>((resolve) => this.#held.push(resolve));
      const turns = this.delayTurns?.(op) ?? 0;
      for (let i = 0; i < turns; i++) await nextTurn();
      return await perform();
    } finally {
      this.running--;
      this.onEnd?.(op);
    }
  }
}

/**
 * What the medium should hold: bytes, and per block whether they are known.
 * Blocks are unknown after a discard (VIRTIO 1.2 §5.2.6: discarded sectors
 * need not read back as zeros; the unit reports LBPRZ 0) and after a write
 * whose outcome is uncertain (it failed, or timed out).
 */
export class Shadow {
  readonly blockSize: number;
  readonly blocks: number;
  readonly bytes: Uint8Array;
  /** 1 where the block's content is known. */
  readonly known: Uint8Array;

  /** A medium that starts as zeros (a fresh MemoryBackend), every block known. */
  constructor(blocks: number, blockSize: number) {
    this.blocks = blocks;
    this.blockSize = blockSize;
    this.bytes = new Uint8Array(blocks * blockSize);
    this.known = new Uint8Array(blocks).fill(1);
  }

  write(lba: number, data: Uint8Array): void {
    this.bytes.set(data, lba * this.blockSize);
    this.known.fill(1, lba, lba + data.length / this.blockSize);
  }

  zero(lba: number, blocks: number): void {
    this.bytes.fill(0, lba * this.blockSize, (lba + blocks) * this.blockSize);
    this.known.fill(1, lba, lba + blocks);
  }

  forget(lba: number, blocks: number): void {
    this.known.fill(0, lba, lba + blocks);
  }

  allKnown(lba: number, blocks: number): boolean {
    return !this.known.subarray(lba, lba + blocks).includes(0);
  }

  /** The known content of a range (a copy). */
  slice(lba: number, blocks: number): Uint8Array {
    return this.bytes.slice(lba * this.blockSize, (lba + blocks) * this.blockSize);
  }

  /** Undefined when `got` (read at `lba`) agrees with every known block; otherwise where it first differs. */
  mismatch(lba: number, got: Uint8Array): string | undefined {
    const bs = this.blockSize;
    const n = got.length / bs;
    const want = this.bytes.subarray(lba * bs, (lba + n) * bs);
    if (this.allKnown(lba, n) && Buffer.compare(got, want) === 0) return undefined;
    for (let b = 0; b < n; b++) {
      if (this.known[lba + b] === 0) continue;
      const g = got.subarray(b * bs, (b + 1) * bs);
      const w = want.subarray(b * bs, (b + 1) * bs);
      if (Buffer.compare(g, w) !== 0) {
        const at = g.findIndex((x, i) => x !== w[i]);
        return `block ${lba + b} byte ${at}: got ${hex(g.subarray(at, at + 8))}, want ${hex(w.subarray(at, at + 8))}`;
      }
    }
    return undefined;
  }
}

/**
 * Data for `blocks` blocks at `lba` that tells where it belongs: every block
 * is filled with `tag`'s low byte and starts with its own LBA and the tag
 * (big-endian u32 each), so a block written to or read from the wrong place,
 * or a stale copy, shows.
 */
export function stamp(lba: number, blocks: number, blockSize: number, tag: number): Uint8Array {
  const out = new Uint8Array(blocks * blockSize).fill(tag & 0xff);
  const v = new DataView(out.buffer);
  for (let b = 0; b < blocks; b++) {
    v.setUint32(b * blockSize, lba + b);
    v.setUint32(b * blockSize + 4, tag >>> 0);
  }
  return out;
}

/**
 * The test's own range lock: commands in flight together never touch the same
 * blocks, because SCSI does not order SIMPLE commands and the shadow could not
 * say which of two overlapping writes won.
 */
export class BlockLocks {
  readonly #busy: Uint8Array;

  constructor(blocks: number) {
    this.#busy = new Uint8Array(blocks);
  }

  tryLock(lba: number, blocks: number): boolean {
    if (this.#busy.subarray(lba, lba + blocks).includes(1)) return false;
    this.#busy.fill(1, lba, lba + blocks);
    return true;
  }

  unlock(lba: number, blocks: number): void {
    this.#busy.fill(0, lba, lba + blocks);
  }

  get locked(): number {
    let n = 0;
    for (const b of this.#busy) n += b;
    return n;
  }
}

/** CCB completions per xpt.action of an XPT_SCSI_IO CCB. */
export interface CcbLedger {
  /** XPT_SCSI_IO CCBs handed to xpt.action (each dispatch of a CCB object counts). */
  actions: number;
  /** First completion callbacks. */
  completions: number;
  /** Completion callbacks beyond the first for one action (must stay 0). */
  doubles: number;
  /** Completions per final CAM status (CAM_STATUS_MASK applied). */
  readonly byStatus: Map<number, number>;
  /** Whether a READ or WRITE (10)/(16) CCB on blocks [lba, lba + blocks) has been actioned and not completed. */
  busy(lba: number, blocks: number): boolean;
}

/** LBA and TRANSFER LENGTH of a READ/WRITE (10) or (16) CDB (SBC-4), else undefined. */
function rwRange(cdb: Uint8Array): readonly [number, number] | undefined {
  const v = new DataView(cdb.buffer, cdb.byteOffset, cdb.byteLength);
  const op = cdb[0];
  if ((op === 0x28 || op === 0x2a) && cdb.length === 10) return [v.getUint32(2), v.getUint16(7)];
  if ((op === 0x88 || op === 0x8a) && cdb.length === 16) return [Number(v.getBigUint64(2)), v.getUint32(10)];
  return undefined;
}


/**
 * Counts, for every XPT_SCSI_IO CCB anybody hands the XPT (periphs, the
 * probe), how often its completion callback runs: once per action, exactly.
 * Instruments the stack's Xpt instance in place.
 */
export function watchCcbs(stack: Stack): CcbLedger {
  const active = new Map<object, readonly [number, number]>();
  const ledger: CcbLedger = {
    actions: 0,
    completions: 0,
    doubles: 0,
    byStatus: new Map(),
    busy: (lba, blocks) => {
      for (const [at, n] of active.values()) if (at < lba + blocks && lba < at + n) return true;
      return false;
    },
  };
  const xpt = stack.xpt;
  const action = xpt.action.bind(xpt);
  xpt.action = (ccb) => {
    if (ccb.func === XptFunc.SCSI_IO) {
      ledger.actions++;
      const range = rwRange(ccb.cdb);
      if (range !== undefined) active.set(ccb, range);
      const done = ccb.done;
      let calls = 0;
      ccb.done = (c) => {
        calls++;
        if (calls > 1) ledger.doubles++;
        else {
          active.delete(ccb);
          ledger.completions++;
          const st = c.status & 0x3f;
          ledger.byStatus.set(st, (ledger.byStatus.get(st) ?? 0) + 1);
        }
        done?.(c);
      };
    }
    action(ccb);
  };
  return ledger;
}

/**
 * Device queue samples: the ring-budget invariant checked at every sample,
 * extremes kept. Every request queue the driver set up is looked at: none has
 * more requests in its ring than it has descriptors, none has a SIM request
 * waiting for ring room (unless `strictRing` is off), and each one's busiest
 * moment is kept.
 */
export class QueueWatch {
  readonly #stack: Stack;
  /** Whether a SIM request waiting for ring room counts as a violation (false when a test holds descriptors on purpose). */
  strictRing: boolean;
  samples = 0;
  maxCharged = 0;
  maxActive = 0;
  minTagLimit = Number.POSITIVE_INFINITY;
  maxDriverWaiting = 0;
  /** Per request queue: most requests seen in its ring at once. */
  readonly maxInFlight: number[] = [];
  readonly violations: string[] = [];

  constructor(stack: Stack, strictRing = true) {
    this.#stack = stack;
    this.strictRing = strictRing;
  }

  sample(): void {
    const s = this.#stack.stats(0);
    const driver = this.#stack.virtio.driver;
    let waiting = 0;
    this.samples++;
    for (let q = 0; q < driver.queueCount; q++) {
      const inFlight = driver.inFlight(q);
      const wait = driver.waiting(q);
      waiting += wait;
      if (inFlight > (this.maxInFlight[q] ?? 0)) this.maxInFlight[q] = inFlight;
      if (this.violations.length > 10) continue;
      if (inFlight > driver.queueSize(q)) this.violations.push(`queue ${q}: ${inFlight} requests in a ${driver.queueSize(q)}-entry ring`);
      if (this.strictRing && wait > 0) this.violations.push(`queue ${q}: ${wait} SIM request(s) waiting for ring room`);
    }
    if (s.charged > this.maxCharged) this.maxCharged = s.charged;
    if (s.active > this.maxActive) this.maxActive = s.active;
    if (s.tagLimit < this.minTagLimit) this.minTagLimit = s.tagLimit;
    if (waiting > this.maxDriverWaiting) this.maxDriverWaiting = waiting;
    if (this.violations.length > 10) return;
    if (s.charged > s.capacity) this.violations.push(`charged ${s.charged} > capacity ${s.capacity}`);
    if (s.maxCharged > s.capacity) this.violations.push(`maxCharged ${s.maxCharged} > capacity ${s.capacity}`);
    if (s.active > s.tagLimit) this.violations.push(`active ${s.active} > tagLimit ${s.tagLimit}`);
  }
}

/**
 * ORDERED tags as the driver's thread sees them, at the SIM and in the rings:
 * what a test can check when the device runs in a worker and its backend
 * cannot be watched. When an ORDERED XPT_SCSI_IO CCB reaches the SIM, no other
 * CCB is active at the SIM or in the devq, and no device request is in any
 * ring: none runs at the backend then, because a request runs there only
 * between its avail entry and its used entry, and the driver counts it in
 * flight over that whole time. Until the ORDERED CCB is done, the SIM is
 * handed no other XPT_SCSI_IO CCB, so only the ORDERED CCB's own requests can
 * enter the rings. Instruments the stack's VtblkSim instance in place.
 */
export class OrderedWatch {
  readonly #stack: Stack;
  /** ORDERED CCBs the SIM was handed. */
  dispatched = 0;
  readonly violations: string[] = [];
  #current: ScsiIoCcb | undefined;

  constructor(stack: Stack) {
    this.#stack = stack;
    const sim = stack.sim;
    const action = sim.action.bind(sim);
    sim.action = (ccb) => {
      if (ccb.func === XptFunc.SCSI_IO) this.#dispatch(ccb);
      action(ccb);
    };
  }

  /** The ORDERED CCB the SIM is working on, if any (one whose state moved past 'active' is done). */
  get current(): ScsiIoCcb | undefined {
    if (this.#current?.state !== 'active') this.#current = undefined;
    return this.#current;
  }

  /** While an ORDERED CCB is at the SIM: it is the only CCB active there and in the devq. */
  sample(): void {
    if (this.current === undefined) return;
    const active = this.#stack.sim.activeCount;
    const devq = this.#stack.stats(0).active;
    if (active !== 1 || devq !== 1) this.#violation(`while an ORDERED CCB ran: ${active} CCB(s) at the SIM, ${devq} active in the devq`);
  }

  #dispatch(ccb: ScsiIoCcb): void {
    const current = this.current;
    if (current !== undefined) this.#violation(`${ccbLabel(ccb)} reached the SIM while the ORDERED ${ccbLabel(current)} ran`);
    if (ccb.tagAction !== TagAction.ORDERED) return;
    this.dispatched++;
    const driver = this.#stack.virtio.driver;
    let inFlight = 0;
    for (let q = 0; q < driver.queueCount; q++) inFlight += driver.inFlight(q);
    const active = this.#stack.sim.activeCount;
    const devq = this.#stack.stats(0).active;
    if (active !== 0 || devq !== 1 || inFlight !== 0) {
      this.#violation(`ORDERED ${ccbLabel(ccb)} reached the SIM with ${active} other CCB(s) there, ${devq} active in the devq, ${inFlight} device request(s) in the rings`);
    }
    this.#current = ccb;
  }

  #violation(v: string): void {
    if (this.violations.length < 10) this.violations.push(v);
  }
}

function ccbLabel(ccb: ScsiIoCcb): string {
  const range = rwRange(ccb.cdb);
  return `CCB opcode ${hex(ccb.cdb.subarray(0, 1))}h${range === undefined ? '' : ` LBA ${range[0]}+${range[1]}`}`;
}

/** Lets `n` event-loop turns pass. */
export async function turns(n: number): Promise<void> {
  for (let i = 0; i < n; i++) await nextTurn();
}

/** Waits whole event-loop turns (and timers) until `cond` holds, up to `ms` milliseconds. */
export async function until(cond: () => boolean, what: string, ms = 5000): Promise<void> {
  const end = performance.now() + ms;
  while (!cond()) {
    if (performance.now() > end) throw new Error(`${what}: not reached within ${ms} ms`);
    await nextTurn();
  }
}

export function hex(b: Uint8Array | undefined): string {
  return Array.from(b ?? [], (x) => x.toString(16).padStart(2, '0')).join(' ');
}

/** xorshift32 in [0, 1): reproducible schedules from a seed. */
export function xorshift(seed: number): () => number {
  let x = seed >>> 0 || 0x2545f491;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 0x1_0000_0000;
  };
}

// ---- CDBs, built here byte by byte (SBC-4), not with the codecs under test ----

/** READ (10) / WRITE (10): opcode 28h/2Ah, LBA bytes 2..5, TRANSFER LENGTH bytes 7..8. */
export function rw10(op: 'read' | 'write', lba: number, blocks: number): Uint8Array {
  const cdb = new Uint8Array(10);
  const v = new DataView(cdb.buffer);
  cdb[0] = op === 'read' ? 0x28 : 0x2a;
  v.setUint32(2, lba);
  v.setUint16(7, blocks);
  return cdb;
}

/** COMPARE AND WRITE: opcode 89h, LBA bytes 2..9, NUMBER OF LOGICAL BLOCKS byte 13. */
export function compareAndWrite(lba: number, blocks: number): Uint8Array {
  const cdb = new Uint8Array(16);
  const v = new DataView(cdb.buffer);
  cdb[0] = 0x89;
  v.setBigUint64(2, BigInt(lba));
  cdb[13] = blocks;
  return cdb;
}

/** TEST UNIT READY. */
export const TUR = Uint8Array.of(0, 0, 0, 0, 0, 0);

/** Sense key, ASC, ASCQ of fixed-format sense bytes (70h/71h), or undefined. */
export function senseTriple(s: Uint8Array | undefined): [number, number, number] | undefined {
  if (s === undefined || s.length < 14 || ((s[0] ?? 0) & 0x7e) !== 0x70) return undefined;
  return [(s[2] ?? 0) & 0x0f, s[12] ?? 0, s[13] ?? 0];
}

/** Sends XPT_RESET_DEV to device 0 through the XPT; resolves with the CCB's final CAM status word. */
export function resetDevice(stack: Stack): Promise<number> {
  return new Promise((resolve) => {
    stack.xpt.action(
      newCcb(XptFunc.RESET_DEV, stack.da(0).path, (c) => {
        resolve(c.status);
      }),
    );
  });
}

/**
 * Sends TEST UNIT READY through pass until one comes back GOOD, and returns
 * the sense triples of the CHECK CONDITIONs before it (the unit attentions
 * the unit had queued for the XPT's nexus).
 */
export async function drainUnitAttentions(stack: Stack, max = 4): Promise<[number, number, number][]> {
  const seen: [number, number, number][] = [];
  for (let i = 0; i < max; i++) {
    const r = await stack.pass(0).scsi({ cdb: TUR, direction: 'none' });
    if (r.camStatus === 0x01) return seen;
    const t = senseTriple(r.sense);
    if (t === undefined) throw new Error(`TEST UNIT READY: status 0x${r.camStatus.toString(16)} without sense`);
    seen.push(t);
  }
  throw new Error(`TEST UNIT READY still failing after ${max} tries: ${JSON.stringify(seen)}`);
}

/**
 * Follows one request queue's used.idx (VIRTIO 1.2 §2.7.8) in guest memory,
 * with Atomics.load (the device may be another thread: its Atomics.store of
 * used.idx is what this reads). The ring's addresses are learnt from the
 * transport's enableQueue, so install it before the device is (re)initialised,
 * e.g. before a reset.
 */
export class RingIndexWatch {
  readonly #queue: number;
  /** Index of used.idx in a Uint16Array over guest memory. */
  #used: number | undefined;
  readonly #u16: Uint16Array;
  #last = 0;
  /** Times used.idx went from 0xffff to 0 (or past it) between samples. */
  wraps = 0;
  /** Used entries published since the ring was set up (the 16-bit index, unwrapped). */
  total = 0;

  constructor(stack: Stack, queue = 0) {
    this.#queue = queue;
    this.#u16 = new Uint16Array(stack.virtio.memory.buffer);
    const transport = stack.virtio.transport;
    const enable = transport.enableQueue.bind(transport);
    transport.enableQueue = (q, size, addrs) => {
      if (q === this.#queue) {
        // used.idx is the u16 after used.flags; the used ring is 4-byte aligned (§2.7).
        this.#used = (addrs.used + 2) / 2;
        this.#last = 0;
      }
      enable(q, size, addrs);
    };
  }

  /** used.idx now (undefined until the ring was seen set up). */
  get usedIdx(): number | undefined {
    return this.#used === undefined ? undefined : Atomics.load(this.#u16, this.#used);
  }

  sample(): void {
    const idx = this.usedIdx;
    if (idx === undefined) return;
    if (idx < this.#last) this.wraps++;
    this.total += (idx - this.#last) & 0xffff;
    this.#last = idx;
  }
}

/** XPT_SCSI_IO CCBs the XPT hands the SIM, counting re-dispatches (CAM_REQUEUE_REQ). */
export interface SimDispatches {
  dispatches: number;
  /** Dispatches of a CCB the SIM had already been given (it came back CAM_REQUEUE_REQ). */
  redispatches: number;
  /** The SCSI status a re-dispatched CCB came back with last time, per status (TASK SET FULL is 28h). */
  readonly requeuedWith: Map<number, number>;
}

/** Counts what the XPT dispatches to the stack's SIM. Instruments the VtblkSim instance in place. */
export function watchSimDispatches(stack: Stack): SimDispatches {
  const d: SimDispatches = { dispatches: 0, redispatches: 0, requeuedWith: new Map() };
  const seen = new WeakSet();
  const sim = stack.sim;
  const action = sim.action.bind(sim);
  sim.action = (ccb) => {
    if (ccb.func === XptFunc.SCSI_IO) {
      d.dispatches++;
      if (seen.has(ccb)) {
        d.redispatches++;
        d.requeuedWith.set(ccb.scsiStatus, (d.requeuedWith.get(ccb.scsiStatus) ?? 0) + 1);
      }
      seen.add(ccb);
    }
    action(ccb);
  };
  return d;
}

/** 'equal', or where two byte arrays first differ (a short message: vitest's diff of large arrays is very slow). */
export function compareBytes(got: Uint8Array, want: Uint8Array): string {
  if (Buffer.compare(got, want) === 0) return 'equal';
  if (got.length !== want.length) return `length ${got.length}, want ${want.length}`;
  const at = got.findIndex((x, i) => x !== want[i]);
  return `byte ${at}: got ${hex(got.subarray(at, at + 8))}, want ${hex(want.subarray(at, at + 8))}`;
}

/**
 * Makes every LocalTransport say queue q runs on device thread q, as the
 * worker transport with several workers does (VirtioTransport.queueThread):
 * the SIM then orders overlapping requests itself (overlap-order.ts). Returns
 * the undo, for an afterEach.
 */
export function declareQueueThreads(): () => void {
  Object.defineProperty(LocalTransport.prototype, 'queueThread', { value: (q: number) => q, configurable: true, writable: true });
  return () => {
    Reflect.deleteProperty(LocalTransport.prototype, 'queueThread');
  };
}

/** A test file's stacks: each test's closed after it, and its per-queue thread claim undone. */
export interface StackPerTest {
  /** createStack(opts); the stack is closed once the test ends. */
  open(opts: StackOptions): Promise<Stack>;
  /** declareQueueThreads() for this test only. */
  declareThreads(): void;
}

/** Registers the afterEach that closes each test's stack and undoes declareThreads(); call at a test file's top level. */
export function stackPerTest(): StackPerTest {
  let stack: Stack | undefined;
  let undeclare: (() => void) | undefined;
  afterEach(async () => {
    await stack?.close();
    stack = undefined;
    undeclare?.();
    undeclare = undefined;
  });
  return {
    open: async (opts) => (stack = await createStack(opts)),
    declareThreads: () => {
      undeclare ??= declareQueueThreads();
    },
  };
}
