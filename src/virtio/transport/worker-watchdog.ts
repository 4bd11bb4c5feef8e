// Transport `worker`: the watchdog, which decides when a device worker that
// has not exited is lost all the same. A worker beats (worker-signals.ts) on
// every pass of its loop and at least every HEARTBEAT_MS while idle; one whose
// heartbeat stands still for `hangTimeoutMs` is hung and terminated, and lost
// once its thread has stopped (until then it may still write guest memory).
// Time a worker spends in a blocking backend call (pread on a slow disk) is not
// a hang: the worker marks the call (worker-backend.ts) and it may take as long
// as the medium needs, as it may on transport local. Only where local gives up
// does this one: a device reset still waiting for backend I/O after
// `resetTimeoutMs` loses the workers it waits on at once, without waiting for
// their threads (terminate cannot interrupt a syscall).
//
// Its own module because none of it runs per request: it reads the shared
// words on a timer and when a reset overstays, and the transport (worker.ts)
// only starts it, stops it and has it bound each reset.

import { MAX_TIMER_MS } from '../../timer-limit.js';
import type { Worker } from 'node:worker_threads';
import { HEARTBEAT_MS, type WorkerSignals } from './worker-signals.js';

/** A device worker as the watchdog sees it (the transport's record of it). */
export interface WatchedWorker {
  readonly index: number;
  readonly thread: Worker;
  alive: boolean;
  /** Set when the watchdog terminates the worker or it throws: the reason its exit is reported with. */
  hung: string | undefined;
  /** The heartbeat count last seen, and when it was seen moving (or the worker was in a backend call). */
  lastBeat: number;
  lastBeatAt: number;
}

/**
 * The hangTimeoutMs option, the default (5000 ms) when absent, for workers
 * polling `pollUs` microseconds. @throws RangeError when the watchdog could
 * not tell such a worker from a hung one.
 */
export function hangTimeout(ms: number | undefined, pollUs: number): number {
  const hangTimeoutMs = ms ?? 5000;
  // Checked every quarter of it on a timer, which past MAX_TIMER_MS would run every millisecond.
  if (!(hangTimeoutMs >= 4 * HEARTBEAT_MS && hangTimeoutMs <= MAX_TIMER_MS)) throw new RangeError(`hangTimeoutMs must be ${4 * HEARTBEAT_MS}..${MAX_TIMER_MS}, got ${hangTimeoutMs}`);
  // A polling worker beats while it spins, but its passes must still fit well inside the watchdog's patience.
  if (pollUs / 1000 > hangTimeoutMs / 4) throw new RangeError(`pollUs ${pollUs} must be at most a quarter of hangTimeoutMs (${hangTimeoutMs} ms)`);
  return hangTimeoutMs;
}

/** Finds the hung workers of one transport, and those a device reset waits on for too long. */
export class WorkerWatchdog {
  readonly #workers: readonly WatchedWorker[];
  readonly #signals: WorkerSignals;
  readonly #hangTimeoutMs: number;
  readonly #resetTimeoutMs: number;
  /** The workers a device reset still waits on (their stop not answered). */
  readonly #stopping: () => ReadonlySet<number>;
  /** Worker `w` is lost now for `reason` (the transport reports it), without waiting for its thread to end. */
  readonly #lose: (w: WatchedWorker, reason: string) => void;
  #timer: NodeJS.Timeout | undefined;

  constructor(
    workers: readonly WatchedWorker[],
    signals: WorkerSignals,
    timeouts: { readonly hangTimeoutMs: number; readonly resetTimeoutMs: number },
    stopping: () => ReadonlySet<number>,
    lose: (w: WatchedWorker, reason: string) => void,
  ) {
    this.#workers = workers;
    this.#signals = signals;
    this.#hangTimeoutMs = timeouts.hangTimeoutMs;
    this.#resetTimeoutMs = timeouts.resetTimeoutMs;
    this.#stopping = stopping;
    this.#lose = lose;
  }

  /** Starts checking heartbeats, four times per hangTimeoutMs (the timer does not keep the process alive). */
  start(): void {
    const every = Math.max(HEARTBEAT_MS, Math.floor(this.#hangTimeoutMs / 4));
    this.#timer = setInterval(() => {
      this.#checkHeartbeats();
    }, every);
    this.#timer.unref();
  }

  stop(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
  }

  /**
   * Bounds a device reset that has begun: a worker it still waits on after
   * resetTimeoutMs is terminated and lost, which ends the wait, as
   * LocalTransport gives up a reset stuck on the backend. Returns what to call
   * once the reset is over.
   */
  boundReset(): () => void {
    const timer = setTimeout(() => {
      const now = Date.now();
      const waited = this.#stopping();
      for (const w of this.#workers) {
        if (!w.alive || !waited.has(w.index)) continue;
        const inCall = this.#signals.inBackendFor(w.index, now);
        const reason = `device reset still waiting for backend I/O after ${this.#resetTimeoutMs} ms (device worker ${w.index}${inCall === undefined ? '' : `, in a backend call for ${inCall} ms`})`;
        w.hung = reason;
        void w.thread.terminate();
        this.#lose(w, reason);
      }
    }, this.#resetTimeoutMs);
    return () => {
      clearTimeout(timer);
    };
  }

  #checkHeartbeats(): void {
    const now = Date.now();
    for (const w of this.#workers) {
      if (!w.alive) continue;
      const beat = this.#signals.heartbeat(w.index);
      // A worker in a blocking backend call waits on its medium, which is not a hang: its silence counts
      // from the call's end (a reset that waits on it has its own bound, see boundReset()).
      if (beat !== w.lastBeat || this.#signals.inBackendFor(w.index, now) !== undefined) {
        w.lastBeat = beat;
        w.lastBeatAt = now;
      } else if (w.hung === undefined && now - w.lastBeatAt >= this.#hangTimeoutMs) {
        // Lost only once the thread has stopped (its exit event): until then it may still write guest buffers.
        w.hung = `device worker ${w.index} hung (no heartbeat for ${now - w.lastBeatAt} ms)`;
        void w.thread.terminate();
      }
    }
  }
}
