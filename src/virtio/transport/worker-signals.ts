// Transport `worker`: the words the driver's thread and the device workers
// share besides guest memory, and the messages they exchange. Doorbells and
// interrupts are counters in a SharedArrayBuffer that the other side waits on
// (Atomics.wait / Atomics.waitAsync) and that the notifying side bumps with
// Atomics.add then wakes with Atomics.notify; control (queue setup, start,
// stop, state changes) goes over a MessagePort, in order, announced by a
// doorbell so a sleeping worker reads it at once.
//
// Layout: an Int32Array of 64-byte lines, one word used per line (a doorbell
// and an interrupt counter written by different threads never share a cache
// line). Worker w owns lines WORKER_LINES·w … (bell, heartbeat, in flight, control,
// backend call);
// queue q owns the lines after all workers (interrupt counter, interrupts
// raised, interrupts suppressed).

import type { SplitRingAddrs } from '../split-ring.js';
import type { BlkRequestState, BlkRingFeatures } from '../device/blk-queues.js';
import type { BackendShare } from '../device/backend.js';
import type { MessagePort } from 'node:worker_threads';

const WORDS_PER_LINE = 16;

/** Lines of one worker. */
const WorkerLine = {
  /** Doorbell: bumped by the driver's thread for any of the worker's queues and for control messages. */
  bell: 0,
  /** Bumped by the worker on every pass of its loop and at least every HEARTBEAT_MS while idle. */
  heartbeat: 1,
  /** Backend operations the worker has in progress (for stats). */
  inflight: 2,
  /** Control messages posted to the worker: it looks at its port only when this moved (a port read costs more than a load). */
  control: 3,
  /**
   * When the worker entered the blocking backend call it is in (the low 32 bits
   * of Date.now(), never 0), or 0 outside one: the watchdog does not count a
   * wait on a slow medium as a hang (see worker-watchdog.ts).
   */
  backendSince: 4,
} as const;
const WORKER_LINES = 5;

/** Lines of one queue. */
const QueueLine = {
  /** Used-buffer notification counter (the interrupt), bumped by the worker, waited on by the driver's thread. */
  irq: 0,
  /** Interrupts raised and suppressed by event-idx or NO_INTERRUPT, copied from the device ring for stats. */
  interrupted: 1,
  suppressed: 2,
} as const;
const QUEUE_LINES = 3;

/** How often an idle worker's heartbeat moves, at the least. */
export const HEARTBEAT_MS = 50;

/** The shared words of a worker transport. */
export class WorkerSignals {
  readonly buffer: SharedArrayBuffer;
  readonly words: Int32Array;
  readonly workers: number;
  readonly queues: number;

  constructor(workers: number, queues: number, buffer?: SharedArrayBuffer) {
    const bytes = (workers * WORKER_LINES + queues * QUEUE_LINES) * WORDS_PER_LINE * 4;
    this.buffer = buffer ?? new SharedArrayBuffer(bytes);
    if (this.buffer.byteLength !== bytes) throw new RangeError(`signal buffer is ${this.buffer.byteLength} bytes, ${workers} workers and ${queues} queues need ${bytes}`);
    this.words = new Int32Array(this.buffer);
    this.workers = workers;
    this.queues = queues;
  }

  /** Index of worker `w`'s word `line`. */
  workerWord(w: number, line: number): number {
    return (w * WORKER_LINES + line) * WORDS_PER_LINE;
  }

  /** Index of queue `q`'s word `line`. */
  queueWord(q: number, line: number): number {
    return ((this.workers * WORKER_LINES) + q * QUEUE_LINES + line) * WORDS_PER_LINE;
  }

  bellWord(w: number): number {
    return this.workerWord(w, WorkerLine.bell);
  }

  irqWord(q: number): number {
    return this.queueWord(q, QueueLine.irq);
  }

  /** Rings worker `w`'s doorbell: the add publishes the count, the notify wakes a sleeping worker. */
  ring(w: number): void {
    const i = this.bellWord(w);
    Atomics.add(this.words, i, 1);
    Atomics.notify(this.words, i, 1);
  }

  /** Raises queue `q`'s interrupt. */
  interrupt(q: number): void {
    const i = this.irqWord(q);
    Atomics.add(this.words, i, 1);
    Atomics.notify(this.words, i, 1);
  }

  /** Announces a control message already posted to worker `w`'s port, then rings its doorbell. */
  control(w: number): void {
    Atomics.add(this.words, this.workerWord(w, WorkerLine.control), 1);
    this.ring(w);
  }

  controlCount(w: number): number {
    return Atomics.load(this.words, this.workerWord(w, WorkerLine.control));
  }

  beat(w: number): void {
    Atomics.add(this.words, this.workerWord(w, WorkerLine.heartbeat), 1);
  }

  heartbeat(w: number): number {
    return Atomics.load(this.words, this.workerWord(w, WorkerLine.heartbeat));
  }

  /** Worker `w` enters a blocking backend call: one store, no allocation (it brackets every pread/pwrite). */
  enterBackend(w: number): void {
    Atomics.store(this.words, this.workerWord(w, WorkerLine.backendSince), (Date.now() | 0) || 1);
  }

  leaveBackend(w: number): void {
    Atomics.store(this.words, this.workerWord(w, WorkerLine.backendSince), 0);
  }

  /** Milliseconds worker `w` has been in its current blocking backend call, or undefined outside one. */
  inBackendFor(w: number, now: number): number | undefined {
    const since = Atomics.load(this.words, this.workerWord(w, WorkerLine.backendSince));
    // Wrap-safe over the 32-bit clock: exact for calls shorter than 24 days.
    return since === 0 ? undefined : ((now | 0) - since) | 0;
  }

  setInflight(w: number, n: number): void {
    Atomics.store(this.words, this.workerWord(w, WorkerLine.inflight), n);
  }

  inflight(w: number): number {
    return Atomics.load(this.words, this.workerWord(w, WorkerLine.inflight));
  }

  setInterruptStats(q: number, s: { interrupted: number; suppressed: number }): void {
    Atomics.store(this.words, this.queueWord(q, QueueLine.interrupted), s.interrupted | 0);
    Atomics.store(this.words, this.queueWord(q, QueueLine.suppressed), s.suppressed | 0);
  }

  interruptStats(q: number): { interrupted: number; suppressed: number } {
    return { interrupted: Atomics.load(this.words, this.queueWord(q, QueueLine.interrupted)), suppressed: Atomics.load(this.words, this.queueWord(q, QueueLine.suppressed)) };
  }
}

/** The queues worker `w` of `workers` serves: queue q belongs to worker q mod workers. */
export function queuesOf(w: number, workers: number, queues: number): number[] {
  const mine: number[] = [];
  for (let q = w; q < queues; q += workers) mine.push(q);
  return mine;
}

/**
 * Faults a test can inject into a device worker: stop its heartbeat forever,
 * end the thread, or make its next blocking backend call take `slowBackendMs`
 * longer, as a slow or throttled disk would (the thread waits inside the call).
 */
export type WorkerFault = 'hang' | 'exit' | { readonly slowBackendMs: number };

/** Driver's thread → worker, over the control port. */
export type ToWorker =
  | { readonly type: 'enable'; readonly q: number; readonly size: number; readonly addrs: SplitRingAddrs; readonly features: BlkRingFeatures }
  | { readonly type: 'start' }
  | { readonly type: 'update'; readonly state: BlkRequestState }
  | { readonly type: 'stop'; readonly id: number }
  | { readonly type: 'exit' }
  | { readonly type: 'fault'; readonly fault: WorkerFault };

/** Worker → driver's thread, over the worker's parent port. */
export type FromWorker =
  | { readonly type: 'ready' }
  | { readonly type: 'failed'; readonly reason: string }
  | { readonly type: 'needs-reset'; readonly reason: string }
  | { readonly type: 'stopped'; readonly id: number };

/** What a device worker starts from (its workerData). */
export interface WorkerInit {
  readonly index: number;
  readonly workers: number;
  readonly queues: number;
  readonly memory: SharedArrayBuffer;
  readonly signals: SharedArrayBuffer;
  readonly backend: BackendShare;
  readonly state: BlkRequestState;
  /** Microseconds an idle worker polls its doorbell before it sleeps (0: sleep at once). */
  readonly pollUs: number;
  readonly port: MessagePort;
}
