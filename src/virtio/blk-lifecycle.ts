// The virtio-blk driver's life with its device: what attaching takes, the
// initialization it runs on attach and after every reset (VIRTIO 1.2 §3.1.1),
// configuration changes (§2.5.1, and DEVICE_NEEDS_RESET, §2.1.2), and the
// teardown of restart and close. Cf. FreeBSD sys/dev/virtio/block/virtio_blk.c
// (vtblk_attach, vtblk_config_change, vtblk_stop) and Linux
// drivers/block/virtio_blk.c.
//
// Its own module because none of it runs per request. The state the request
// path reads (features, configuration, queues, why the driver stopped) stays
// in the driver's own fields, so that path pays nothing for the split; the
// lifecycle sets it through BlkLifecycleHost as each step completes, so a
// failure part way leaves what was set up where the next teardown frees it.
// The status handshake and the config read are blk-init.ts; a queue's memory
// is blk-queue.ts.

import type { GuestAllocator } from './guest-allocator.js';
import type { VirtioInterrupt, VirtioTransport } from './transport/transport.js';
import type { VirtioBlkConfig } from './blk-config.js';
import { VIRTIO_BLK_F_MQ, VIRTIO_BLK_IMPLEMENTED_FEATURES, hasFeature } from './blk-features.js';
import { VIRTIO_CONFIG_S_FAILED, VIRTIO_CONFIG_S_NEEDS_RESET } from './device-status.js';
import type { BlkCompletion } from './blk-request.js';
import { allocBlkQueue, type Queue, type Slot } from './blk-queue.js';
import { negotiateDevice, readBlkConfig, setDriverOk } from './blk-init.js';
import type { VirtioBlkDriver } from './blk-driver.js';

/** Features this driver understands. */
export const VIRTIO_BLK_DRIVER_FEATURES = VIRTIO_BLK_IMPLEMENTED_FEATURES;

export interface BlkDriverOptions {
  readonly transport: VirtioTransport;
  /** Allocator over guest memory for rings, headers and indirect tables. */
  readonly allocator: GuestAllocator;
  /** Wanted virtqueue size (power of two); capped by the device's maximum. Default 256. */
  readonly queueSize?: number;
  /** Features to request (default all this driver understands); intersected with the device's. */
  readonly features?: bigint;
  /** Request queues to use (default 1; more needs VIRTIO_BLK_F_MQ). */
  readonly queues?: number;
  /**
   * Publish (and kick if the device asks) once this many requests were added
   * in one turn, not only at its end (default: only at the end). For a device
   * on another thread: it starts on the first requests of a burst while the
   * rest are still being built, instead of the two threads taking turns over
   * whole batches. Event-idx still suppresses the kick while the device is busy.
   */
  readonly publishEvery?: number;
}

/** Driver initialization failure (a value: a device may legitimately refuse us). */
export interface BlkDriverError {
  readonly ok: false;
  readonly reason: string;
}

/** The driver as its lifecycle reaches it: the state its request path reads stays in the driver's fields. */
export interface BlkLifecycleHost {
  readonly driver: VirtioBlkDriver;
  /** The driver's queues by index (changed in place, never replaced). */
  readonly queues: Queue[];
  /** The driver's interrupt handler, registered once the queues are set up. */
  readonly interrupt: (irq: VirtioInterrupt) => void;
  readonly negotiated: (features: bigint) => void;
  readonly configured: (config: VirtioBlkConfig) => void;
  /** Queue `q` is allocated: the driver takes it (and makes its kick task) before the transport enables it. */
  readonly queueReady: (q: number, queue: Queue) => void;
  /** Completes the request in `slot` and frees the slot. */
  readonly complete: (queue: Queue, slot: Slot, c: BlkCompletion) => void;
  /** The driver stops for `reason`, whatever stopped it before (a failed initialization). */
  readonly fail: (reason: string) => void;
  /** The driver stops for `reason` unless it stopped already: the first reason stays. */
  readonly stop: (reason: string) => void;
}

/** Initialization, config changes and teardown of one driver (see the file header). */
export class BlkLifecycle {
  readonly #transport: VirtioTransport;
  readonly #alloc: GuestAllocator;
  readonly #opts: BlkDriverOptions;
  readonly #host: BlkLifecycleHost;
  readonly #configListeners: ((cfg: VirtioBlkConfig) => void)[] = [];

  constructor(opts: BlkDriverOptions, host: BlkLifecycleHost) {
    this.#transport = opts.transport;
    this.#alloc = opts.allocator;
    this.#opts = opts;
    this.#host = host;
  }

  onConfigChange(fn: (cfg: VirtioBlkConfig) => void): void {
    this.#configListeners.push(fn);
  }

  /** The §3.1.1 sequence from the reset on; on failure the device is marked FAILED and the driver stops. */
  async init(): Promise<BlkDriverError | undefined> {
    const t = this.#transport;
    const host = this.#host;
    await t.reset();
    const gone = t.lost?.();
    if (gone !== undefined) return this.#fail(gone);
    const neg = negotiateDevice(t, (this.#opts.features ?? VIRTIO_BLK_DRIVER_FEATURES) & VIRTIO_BLK_DRIVER_FEATURES);
    if (!neg.ok) return this.#fail(neg.reason);
    const features = neg.features;
    host.negotiated(features);
    const config = readBlkConfig(t);
    host.configured(config);
    const mq = hasFeature(features, VIRTIO_BLK_F_MQ) ? config.numQueues : 1;
    const nq = Math.min(this.#opts.queues ?? 1, mq, t.numQueues());
    if (nq < 1) return this.#fail('device has no request queue');
    for (let q = 0; q < nq; q++) {
      const err = this.#setupQueue(q, features);
      if (err !== undefined) return this.#fail(err);
    }
    t.onInterrupt(host.interrupt);
    const notOk = setDriverOk(t);
    if (notOk !== undefined) return this.#fail(notOk);
    return undefined;
  }

  #fail(reason: string): BlkDriverError {
    this.#transport.setStatus(this.#transport.getStatus() | VIRTIO_CONFIG_S_FAILED);
    this.#host.fail(reason);
    return { ok: false, reason };
  }

  /** §3.1.1 step 7: allocates queue `q` and enables it on the transport. */
  #setupQueue(q: number, features: bigint): string | undefined {
    const made = allocBlkQueue(this.#transport, this.#alloc, q, this.#opts.queueSize ?? 256, features);
    if (typeof made === 'string') return made;
    this.#host.queueReady(q, made.queue);
    this.#transport.enableQueue(q, made.size, made.addrs);
    return undefined;
  }

  /** The config interrupt: the device may ask for a reset (§2.1.2); the configuration is read again (§2.5.1). */
  configChanged(): void {
    const t = this.#transport;
    if ((t.getStatus() & VIRTIO_CONFIG_S_NEEDS_RESET) !== 0) {
      this.#host.stop('device needs a reset (DEVICE_NEEDS_RESET)');
    }
    this.#host.configured(readBlkConfig(t));
    for (const fn of this.#configListeners) fn(this.#host.driver.config);
  }

  /** Resets the device (waiting until it no longer touches guest memory) and aborts every outstanding request. */
  async teardown(reason: string): Promise<void> {
    await this.#transport.reset();
    // A device lost in its reset may still be writing: its aborted requests' buffers are not free (see VirtioBlkDriver.broken's readers).
    const lost = this.#transport.lost?.();
    if (lost !== undefined) this.#host.stop(lost);
    for (const queue of this.#host.queues) {
      for (const slot of queue.ring.detachAll()) this.#host.complete(queue, slot, { kind: 'aborted', reason });
      for (const waiter of queue.waiters.splice(0)) waiter.done({ kind: 'aborted', reason });
      for (const a of queue.allocations) this.#alloc.free(a);
    }
    this.#host.queues.length = 0;
  }
}
