// The load a VirtioBlockCommandSet puts on each of the driver's request queues
// (requestq1..N, VIRTIO 1.2 §5.2.2; several with VIRTIO_BLK_F_MQ, §5.2.3),
// and which queue takes its next request. The set charges a request's
// descriptors to its queue from request() until completion and counts it in
// flight; it updates these counters in place on every request
// (request-queues.ts), so they are plain objects, one per queue, read here to
// choose a queue and copied out as BlkQueueStats.

import type { VirtioBlkDriver } from '../../../virtio/blk-driver.js';

/** One request queue's load from this set's requests, as {@link VirtioBlockCommandSet.queueStats} reports it. */
export interface BlkQueueStats {
  readonly queue: number;
  /** The ring's descriptors. */
  readonly ringSize: number;
  /** Descriptors charged for requests on this queue, from request() until completion (waiting for ring room included). */
  readonly held: number;
  readonly maxHeld: number;
  /** Requests issued on this queue and not completed (waiting for ring room included). */
  readonly inFlight: number;
  readonly maxInFlight: number;
  /** Requests issued on this queue so far. */
  readonly requests: number;
}

/** The mutable counters behind a BlkQueueStats, one object per queue (updated in place on every request). */
export type QueueLoad = { -readonly [K in keyof BlkQueueStats]: BlkQueueStats[K] };

/**
 * Zeroed loads for the driver's first `queues` request queues (default all it
 * set up). Throws RangeError for a count outside 1..driver.queueCount.
 */
export function queueLoads(driver: VirtioBlkDriver, queues = driver.queueCount): QueueLoad[] {
  if (!Number.isInteger(queues) || queues < 1 || queues > driver.queueCount) {
    throw new RangeError(`queues must be an integer in 1..${driver.queueCount} (the queues the driver set up), got ${queues}`);
  }
  return Array.from({ length: queues }, (_, queue) => ({ queue, ringSize: driver.queueSize(queue), held: 0, maxHeld: 0, inFlight: 0, maxInFlight: 0, requests: 0 }));
}

/** Chooses the queue for each request from the loads the set keeps. */
export class QueueChoice {
  readonly #loads: readonly QueueLoad[];
  readonly #driver: VirtioBlkDriver;
  /** Where the next choice starts looking, so that queues with equal room take turns (pick). */
  #nextQueue = 0;

  constructor(loads: readonly QueueLoad[], driver: VirtioBlkDriver) {
    this.#loads = loads;
    this.#driver = driver;
  }

  /**
   * The queue for the next request: the one with the most room, where room is
   * what the ring has free and what our own charges leave free, whichever is
   * less (a device or another user holding descriptors, requests waiting in
   * the driver's FIFO). Most room keeps the rings evenly loaded, so a queue
   * is full only when all are, and a request waits for ring room only then;
   * a ring someone else sits on gets less. Among queues with equal room
   * (every queue at light load) the scan starts after the last choice, so
   * they take turns instead of queue 0 taking every request. Runs for every
   * request: no allocation, one pass over the queues.
   */
  pick(): number {
    const loads = this.#loads;
    // A driver that came back from a reset with fewer queues gets only those; none left: queue 0, where the set's request throws (not set up).
    const n = Math.min(loads.length, this.#driver.queueCount);
    if (n <= 1) return 0;
    let q = this.#nextQueue < n ? this.#nextQueue : 0;
    let best = q;
    let bestRoom = -1;
    for (let i = 0; i < n; i++) {
      const load = loads[q] as QueueLoad;
      const room = Math.min(this.#driver.freeDescriptors(q), load.ringSize - load.held);
      if (room > bestRoom) {
        best = q;
        bestRoom = room;
      }
      q = q + 1 === n ? 0 : q + 1;
    }
    this.#nextQueue = best + 1;
    return best;
  }
}
