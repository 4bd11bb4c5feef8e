// Transport `worker`: the virtio-blk device's request queues run in worker
// threads; the driver stays on this thread. Guest memory is a
// SharedArrayBuffer both sides map, and the rings in it are the only data
// path: the driver's Atomics.store of avail.idx and the device's of used.idx
// are the release barriers, their Atomics.load the acquire ones (the argument
// is written once, in split-ring.ts). Doorbells and interrupts are counters in
// a second SharedArrayBuffer (worker-signals.ts): the driver's doorbell wakes a
// worker sleeping in Atomics.wait, a worker's interrupt resolves the
// Atomics.waitAsync this thread keeps armed per queue. EVENT_IDX suppression
// happens in the rings, so a batch costs one kick and one interrupt.
//
// The control plane (status, features, config space) is the VirtioBlkDevice on
// this thread, as a vhost front end keeps it; it validates queue setups and
// hands them to the worker owning the queue. A worker that exits, or that the
// watchdog (worker-watchdog.ts) finds hung or holding a reset past
// `resetTimeoutMs`, is lost: the device sets DEVICE_NEEDS_RESET, the driver's
// reset finds it gone (lost() says why), and no new worker replaces it. As on
// local, a lost worker's backend may yet write guest memory; the driver treats
// the buffers of the requests it aborts as still the device's.

import { availableParallelism } from 'node:os';
import { Worker, MessageChannel, type MessagePort } from 'node:worker_threads';
import type { GuestMemory } from '../guest-memory.js';
import type { SplitRingAddrs } from '../split-ring.js';
import { VirtioBlkDevice, type BlkDataPlane, type VirtioBlkDeviceOptions } from '../device/blk-device.js';
import type { BlkQueueHooks, BlkRequestState, BlkRingFeatures } from '../device/blk-queues.js';
import type { BackendShare } from '../device/backend.js';
import type { VirtioInterrupt } from './transport.js';
import { DeviceTransport } from './device-transport.js';
import { resetTimeout } from './local.js';
import { WorkerSignals, type FromWorker, type ToWorker, type WorkerFault, type WorkerInit } from './worker-signals.js';
import { WorkerWatchdog, hangTimeout, type WatchedWorker } from './worker-watchdog.js';

export interface WorkerTransportOptions {
  /** Device options; `memory` must be over a SharedArrayBuffer, `backend` must be shareable. */
  readonly device: VirtioBlkDeviceOptions;
  /**
   * Device worker threads; queue q runs on worker q mod workers. Default: one
   * per queue, but no more than the CPUs left beside the driver's thread
   * (measured on 2 CPUs: 2 queues on 1 worker 206k IOPS, on 2 workers 170k;
   * threads beyond the cores only take turns and pay the wake-ups).
   */
  readonly workers?: number;
  /** Microseconds an idle worker polls its doorbell before sleeping (default 0). */
  readonly pollUs?: number;
  /**
   * A worker whose heartbeat stands still this long, outside a blocking backend call, is hung and
   * terminated (default 5000 ms).
   */
  readonly hangTimeoutMs?: number;
  /** Milliseconds a device reset may wait for backend I/O before the device is lost (default 10 000, as on local). */
  readonly resetTimeoutMs?: number;
}

interface DeviceWorker extends WatchedWorker {
  readonly port: MessagePort;
}

/** Where the worker's module is: next to this one, compiled; run through tsx from TypeScript sources (tests). */
function spawn(init: WorkerInit): Worker {
  const opts = { workerData: init, transferList: [init.port] };
  if (!import.meta.url.endsWith('.ts')) return new Worker(new URL('./worker-device.js', import.meta.url), opts);
  const entry = new URL('./worker-device.ts', import.meta.url).href;
  const boot = `import('tsx/esm/api').then((m) => m.tsImport(${JSON.stringify(entry)}, ${JSON.stringify(import.meta.url)}))`;
  return new Worker(boot, { ...opts, eval: true });
}

/** The data plane, as seen from the driver's thread: messages and doorbells to the workers. */
class WorkerPlane implements BlkDataPlane {
  readonly signals: WorkerSignals;
  /** The device's hooks: a worker's ring-corruption report goes to needsReset. */
  readonly hooks: BlkQueueHooks;
  readonly #workers: DeviceWorker[];
  #stopId = 0;
  readonly #stopWaits = new Map<number, { left: Set<number>; done: () => void }>();

  constructor(signals: WorkerSignals, workers: DeviceWorker[], hooks: BlkQueueHooks) {
    this.signals = signals;
    this.#workers = workers;
    this.hooks = hooks;
  }

  #owner(q: number): DeviceWorker | undefined {
    return this.#workers[q % this.#workers.length];
  }

  #send(w: DeviceWorker, m: ToWorker): void {
    if (!w.alive) return;
    w.port.postMessage(m);
    this.signals.control(w.index);
  }

  enable(q: number, size: number, addrs: SplitRingAddrs, features: BlkRingFeatures): void {
    const w = this.#owner(q);
    if (w !== undefined) this.#send(w, { type: 'enable', q, size, addrs, features });
  }

  start(): void {
    for (const w of this.#workers) this.#send(w, { type: 'start' });
  }

  notify(q: number): void {
    this.signals.ring(q % this.#workers.length);
  }

  /** Every live worker stops and answers once its backend operations are done; a dead one touches nothing. */
  stop(): Promise<void> {
    const id = ++this.#stopId;
    const left = new Set(this.#workers.filter((w) => w.alive).map((w) => w.index));
    if (left.size === 0) return Promise.resolve();
    return new Promise((done) => {
      this.#stopWaits.set(id, { left, done });
      for (const w of this.#workers) this.#send(w, { type: 'stop', id });
    });
  }

  update(state: BlkRequestState): void {
    for (const w of this.#workers) this.#send(w, { type: 'update', state });
  }

  get inflight(): number {
    let n = 0;
    for (const w of this.#workers) n += this.signals.inflight(w.index);
    return n;
  }

  interruptStats(q: number): { interrupted: number; suppressed: number } | undefined {
    return q >= 0 && q < this.signals.queues ? this.signals.interruptStats(q) : undefined;
  }

  /** The workers a stop still waits on. */
  stopping(): Set<number> {
    const out = new Set<number>();
    for (const wait of this.#stopWaits.values()) for (const w of wait.left) out.add(w);
    return out;
  }

  /** Worker `w` answered stop `id`, or died (then every wait stops counting it). */
  stopped(w: number, id?: number): void {
    for (const [key, wait] of this.#stopWaits) {
      if (id !== undefined && key !== id) continue;
      wait.left.delete(w);
      if (wait.left.size === 0) {
        this.#stopWaits.delete(key);
        wait.done();
      }
    }
  }
}

export class WorkerTransport extends DeviceTransport {
  readonly #plane: WorkerPlane;
  readonly #workers: DeviceWorker[];
  readonly #watchdog: WorkerWatchdog;
  #handler: (irq: VirtioInterrupt) => void = () => undefined;
  #lost: string | undefined;
  #closing = false;
  #closed: Promise<void> | undefined;
  readonly #lostListeners: ((reason: string) => void)[] = [];

  private constructor(device: VirtioBlkDevice, plane: WorkerPlane, workers: DeviceWorker[], timeouts: { readonly hangTimeoutMs: number; readonly resetTimeoutMs: number }) {
    super(device);
    this.#plane = plane;
    this.#workers = workers;
    this.#watchdog = new WorkerWatchdog(workers, plane.signals, timeouts, () => plane.stopping(), (w, reason) => {
      this.#exited(w, reason);
    });
  }

  /**
   * Starts the device workers and resolves once each has opened the backend.
   * Throws RangeError for options that cannot work (memory not shared, a
   * backend that cannot be opened in another thread), Error when a worker
   * fails to start (its reason in the message).
   */
  static async start(opts: WorkerTransportOptions): Promise<WorkerTransport> {
    const dev = opts.device;
    if (!dev.memory.shared) throw new RangeError('transport worker needs guest memory over a SharedArrayBuffer');
    const share: BackendShare | undefined = dev.backend.share?.();
    if (share === undefined) throw new RangeError('this backend cannot be opened from a device worker: use SharedMemoryBackend or FileBackend');
    const queues = dev.numQueues ?? 1;
    const count = opts.workers ?? Math.min(queues, Math.max(1, availableParallelism() - 1));
    if (!Number.isInteger(count) || count < 1 || count > queues) throw new RangeError(`workers must be an integer in 1..${queues} (the queues), got ${count}`);
    const pollUs = opts.pollUs ?? 0;
    if (!Number.isFinite(pollUs) || pollUs < 0) throw new RangeError(`pollUs must be a non-negative number of microseconds, got ${pollUs}`);
    const hangTimeoutMs = hangTimeout(opts.hangTimeoutMs, pollUs);
    const resetTimeoutMs = resetTimeout(opts.resetTimeoutMs);
    const signals = new WorkerSignals(count, queues);
    const workers: DeviceWorker[] = [];
    let plane: WorkerPlane | undefined;
    const device = new VirtioBlkDevice(dev, (hooks, state) => {
      plane = new WorkerPlane(signals, workers, hooks);
      spawnAll(dev.memory, signals, share, state, count, pollUs, workers);
      return plane;
    });
    if (plane === undefined) throw new Error('the device did not build its data plane');
    const t = new WorkerTransport(device, plane, workers, { hangTimeoutMs, resetTimeoutMs });
    await t.#started();
    return t;
  }

  async #started(): Promise<void> {
    // The lasting listeners go on before any worker answers: one that dies while another is still starting
    // is seen, and its error event never goes unheard (which would crash this process).
    for (const w of this.#workers) {
      w.thread.on('message', (m: FromWorker) => {
        this.#message(w, m);
      });
      // Lost only once the thread has stopped (its exit event): until then it may still write guest memory.
      w.thread.on('error', (err) => {
        w.hung ??= `device worker ${w.index} crashed: ${err.message}`;
      });
      w.thread.on('exit', (code) => {
        this.#exited(w, w.hung ?? `device worker ${w.index} exited (code ${code})`);
      });
    }
    const ready = await Promise.all(this.#workers.map((w) => firstAnswer(w.thread)));
    const failed = ready.find((r) => r !== undefined);
    if (failed !== undefined) {
      this.#closing = true;
      await Promise.all(this.#workers.map((w) => w.thread.terminate()));
      throw new Error(failed);
    }
    for (let q = 0; q < this.#plane.signals.queues; q++) this.#armInterrupt(q);
    this.#watchdog.start();
  }

  /** The device workers' threads (for tests that kill one). */
  get threads(): readonly Worker[] {
    return this.#workers.map((w) => w.thread);
  }

  /** The device worker that serves queue `q` (see WorkerTransportOptions.workers). */
  queueThread(q: number): number {
    return q % this.#workers.length;
  }

  /** Why the device is gone (a worker exited or hung), or undefined while it is there. */
  lost(): string | undefined {
    return this.#lost;
  }

  /** Calls `fn` once when a worker is lost. */
  onLost(fn: (reason: string) => void): void {
    this.#lostListeners.push(fn);
  }

  /** Makes worker `w` hang (its loop spins, no heartbeat) or exit: for tests of the loss path. */
  injectFault(w: number, fault: WorkerFault): void {
    const worker = this.#workers[w];
    if (worker === undefined) throw new RangeError(`no device worker ${w}: there are ${this.#workers.length}`);
    worker.port.postMessage({ type: 'fault', fault } satisfies ToWorker);
    this.#plane.signals.control(w);
  }

  /**
   * Resets the device (its workers stop once their backend operations are done). A worker the reset
   * still waits on after resetTimeoutMs is lost, which ends the wait, as LocalTransport gives up a
   * reset stuck on the backend.
   */
  override reset(): Promise<void> {
    const resetOver = this.#watchdog.boundReset();
    return this.device.reset().finally(resetOver);
  }

  /** The doorbell, through the device: ignored unless DRIVER_OK and neither NEEDS_RESET nor FAILED. */
  override notify(q: number): void {
    this.device.notify(q);
  }

  override onInterrupt(handler: (irq: VirtioInterrupt) => void): void {
    this.#handler = handler;
    this.device.setInterruptHandler((irq) => {
      this.#handler(irq);
    });
  }

  /** Stops the workers (each closes its backend handle) and waits for their threads to end. Idempotent. */
  override close(): Promise<void> {
    this.#closed ??= (async () => {
      this.#closing = true;
      this.#watchdog.stop();
      await Promise.all(
        this.#workers.map(async (w) => {
          if (!w.alive) return;
          const ended = new Promise<void>((resolve) => w.thread.once('exit', () => { resolve(); }));
          w.port.postMessage({ type: 'exit' } satisfies ToWorker);
          this.#plane.signals.control(w.index);
          const timer = setTimeout(() => { void w.thread.terminate(); }, 2000);
          await ended;
          clearTimeout(timer);
        }),
      );
      // Wake the interrupt waits so they see the transport closed and stop re-arming.
      for (let q = 0; q < this.#plane.signals.queues; q++) this.#plane.signals.interrupt(q);
    })();
    return this.#closed;
  }

  /**
   * Keeps one Atomics.waitAsync armed on queue `q`'s interrupt counter: when it
   * moves, the driver drains the used ring. The count is taken before the
   * drain, so an interrupt raised during or after it (but before the wait is
   * armed again) makes that wait return at once instead of being lost.
   */
  #armInterrupt(q: number): void {
    const { words } = this.#plane.signals;
    const i = this.#plane.signals.irqWord(q);
    let seen = Atomics.load(words, i);
    const fire = (): void => {
      if (this.#closing) return;
      seen = Atomics.load(words, i);
      // A completion callback that throws (a bug above the driver) must not cost this queue its interrupts.
      try {
        this.#handler({ kind: 'queue', queue: q });
      } finally {
        arm();
      }
    };
    const arm = (): void => {
      const r = Atomics.waitAsync(words, i, seen);
      if (r.async) void r.value.then(fire);
      else setImmediate(fire);
    };
    arm();
  }

  #message(w: DeviceWorker, m: FromWorker): void {
    switch (m.type) {
      case 'needs-reset':
        this.#plane.hooks.needsReset(m.reason);
        return;
      case 'stopped':
        this.#plane.stopped(w.index, m.id);
        return;
      case 'ready':
      case 'failed':
        return;
    }
  }

  #exited(w: WatchedWorker, reason: string): void {
    if (!w.alive) return;
    w.alive = false;
    this.#plane.stopped(w.index);
    if (this.#closing) return;
    const first = this.#lost === undefined;
    this.#lost ??= reason;
    this.device.lose(reason);
    if (!first) return;
    for (const fn of this.#lostListeners.splice(0)) {
      try {
        fn(reason);
      } catch (err) {
        // A listener's bug is reported, not allowed to undo the loss the device already took.
        queueMicrotask(() => {
          throw err;
        });
      }
    }
  }
}

function spawnAll(memory: GuestMemory, signals: WorkerSignals, backend: BackendShare, state: BlkRequestState, count: number, pollUs: number, out: DeviceWorker[]): void {
  if (!(memory.buffer instanceof SharedArrayBuffer)) throw new RangeError('guest memory is not shared');
  for (let index = 0; index < count; index++) {
    const { port1, port2 } = new MessageChannel();
    const thread = spawn({ index, workers: count, queues: signals.queues, memory: memory.buffer, signals: signals.buffer, backend, state, pollUs, port: port2 });
    out.push({ index, thread, port: port1, alive: true, hung: undefined, lastBeat: 0, lastBeatAt: Date.now() });
  }
}

/** The worker's first word: undefined when it is ready, else why it is not. */
function firstAnswer(thread: Worker): Promise<string | undefined> {
  return new Promise((resolve) => {
    const onMessage = (m: FromWorker): void => {
      cleanup();
      resolve(m.type === 'ready' ? undefined : m.type === 'failed' ? m.reason : `unexpected ${m.type} from a starting device worker`);
    };
    const onError = (err: Error): void => {
      cleanup();
      resolve(`device worker failed to start: ${err.message}`);
    };
    const onExit = (code: number): void => {
      cleanup();
      resolve(`device worker exited while starting (code ${code})`);
    };
    const cleanup = (): void => {
      thread.off('message', onMessage);
      thread.off('error', onError);
      thread.off('exit', onExit);
    };
    thread.on('message', onMessage);
    thread.on('error', onError);
    thread.on('exit', onExit);
  });
}
