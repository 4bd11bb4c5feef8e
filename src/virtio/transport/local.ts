// Transport `local`: driver and device in the same thread. The doorbell does
// not run the device inside the kick; it schedules it on a later turn
// (setImmediate), coalescing doorbells per queue, so completion order and
// interrupt batching behave as they would with a real device.
//
// A device reset returns once no backend operation can still touch guest
// memory (§4.1.4.3.2). A backend operation that never ends (a hung file
// system) would hold the driver's reset, and with it every command, forever;
// so a reset still unfinished after `resetTimeoutMs` gives the device up, as
// a driver gives up a PCI function that never reads back status 0: lost()
// says why, later resets return at once, and the doorbell rings nothing. The
// backend may yet write guest memory; the driver treats the buffers of the
// requests it aborts as still the device's (see VirtioBlkDriver's teardown).

import { MAX_TIMER_MS } from '../../timer-limit.js';
import type { VirtioInterrupt } from './transport.js';
import { DeviceTransport } from './device-transport.js';
import type { VirtioBlkDevice } from '../device/blk-device.js';

/** How long a reset may wait for the backend before the device is lost, by default. */
export const DEFAULT_RESET_TIMEOUT_MS = 10_000;

/** A transport's resetTimeoutMs option, the default when absent. @throws RangeError unless positive and at most MAX_TIMER_MS. */
export function resetTimeout(ms: number | undefined): number {
  const t = ms ?? DEFAULT_RESET_TIMEOUT_MS;
  // It becomes a timer: past MAX_TIMER_MS one that fires after 1 ms, losing the device at the first reset.
  if (!(t > 0 && t <= MAX_TIMER_MS)) throw new RangeError(`resetTimeoutMs must be a positive number of milliseconds up to ${MAX_TIMER_MS}, got ${t}`);
  return t;
}

export interface LocalTransportOptions {
  /** Milliseconds a device reset may wait for backend I/O before the device is lost (default 10 000). */
  readonly resetTimeoutMs?: number;
}

export class LocalTransport extends DeviceTransport {
  readonly #pending: boolean[] = [];
  /** Per queue, the deferred doorbell, made once (not a closure per notify). */
  readonly #doorbellTasks: (() => void)[] = [];
  readonly #resetTimeoutMs: number;
  #doorbells = 0;
  #lost: string | undefined;

  constructor(device: VirtioBlkDevice, opts: LocalTransportOptions = {}) {
    super(device);
    this.#resetTimeoutMs = resetTimeout(opts.resetTimeoutMs);
  }

  /** Doorbells the device actually received (after coalescing). */
  get doorbells(): number {
    return this.#doorbells;
  }

  override reset(): Promise<void> {
    if (this.#lost !== undefined) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#lost = `device reset still waiting for backend I/O after ${this.#resetTimeoutMs} ms`;
        resolve();
      }, this.#resetTimeoutMs);
      this.device.reset().then(
        () => {
          clearTimeout(timer);
          resolve();
        },
        (e: unknown) => {
          clearTimeout(timer);
          reject(e instanceof Error ? e : new Error(String(e)));
        },
      );
    });
  }

  lost(): string | undefined {
    return this.#lost;
  }

  override notify(q: number): void {
    if (this.#pending[q] === true || this.#lost !== undefined) return;
    this.#pending[q] = true;
    setImmediate(this.#doorbellTasks[q] ?? this.#makeDoorbellTask(q));
  }

  /** Its own method: a closure in notify() would cost every doorbell its captured context. */
  #makeDoorbellTask(q: number): () => void {
    const ring = (): void => {
      this.#pending[q] = false;
      this.#doorbells++;
      this.device.notify(q);
    };
    this.#doorbellTasks[q] = ring;
    return ring;
  }

  override onInterrupt(handler: (irq: VirtioInterrupt) => void): void {
    this.device.setInterruptHandler(handler);
  }
}
