// The vtblk SIM's descriptor budget: how much of its virtqueues the XPT's devq
// may hand out. Each ring keeps a reserve for flushes the SIM issues on its
// own; a request goes whole onto one ring of the request queues it spreads
// over (VIRTIO_BLK_F_MQ), so it may have only as many data segments as fit
// every ring's budget, and the devq's one budget, summed over the queues, is
// cut by the slack that keeps whatever it admits within one ring. Spec:
// VIRTIO 1.2 §5.2.

import type { VirtioBlkDriver } from '../../../virtio/blk-driver.js';
import type { VirtioBlockCommandSet } from './translate.js';

/** How the SIM uses the driver's request queues. */
export interface RingPlan {
  /** Request queues used: the driver's first `queues`. */
  readonly queues: number;
  /** Descriptors of each queue kept out of the devq budget. */
  readonly reserve: number;
  /** Most data segments of one request: it still fits the budget of every queue. */
  readonly maxDataSegments: number;
}

/**
 * Checks the SIM's `queues` and `reserve` options against `driver` (defaults:
 * every queue it set up; two flushes' worth of descriptors) and finds the
 * most data segments a request may have. Throws RangeError when the options
 * do not fit a ring (the reserve leaves no room for a one-segment request) or
 * name queues the driver did not set up.
 */
export function planRings(driver: VirtioBlkDriver, queuesOption: number | undefined, reserveOption: number | undefined): RingPlan {
  const queues = queuesOption ?? driver.queueCount;
  if (!Number.isInteger(queues) || queues < 1 || queues > driver.queueCount) {
    throw new RangeError(`queues must be an integer in 1..${driver.queueCount} (the queues the driver set up), got ${queues}`);
  }
  // Every queue has the same features, so a flush costs the same on each.
  const reserve = reserveOption ?? 2 * driver.descriptorCost(0, 0);
  // Most data segments whose request still fits the budget of every queue: a request may go to any of them.
  let maxDataSegments = Infinity;
  for (let q = 0; q < queues; q++) {
    const ring = driver.queueSize(q);
    const budget = ring - reserve;
    const smallest = driver.descriptorCost(1, q);
    if (!Number.isInteger(reserve) || reserve < 0 || budget < smallest) {
      throw new RangeError(
        `reserve ${reserve} leaves ${budget} of the ${ring}-descriptor ring${queues > 1 ? ` of queue ${q}` : ''}; a one-segment request needs ${smallest}: ` +
          `use a queue of at least ${reserve + smallest} descriptors (queueSize, a power of two) or a smaller reserve`,
      );
    }
    let fit = driver.maxDataBuffers(q);
    while (fit > 1 && driver.descriptorCost(fit, q) > budget) fit--;
    maxDataSegments = Math.min(maxDataSegments, fit);
  }
  return { queues, reserve, maxDataSegments };
}

/**
 * The devq budget: what each ring of `bcs` holds beyond `reserve`, summed over
 * the queues (requests go to the roomiest), less what guarantees that any
 * request it admits fits one ring. `requestCost` is the SIM's CostModel one.
 */
export function devqCapacity(bcs: VirtioBlockCommandSet, reserve: number, requestCost: (dataBuffers: number) => number): number {
  // A request goes whole onto one ring, so the devq's single budget must not
  // admit one that fits the sum of the rings' room but no ring. If every ring
  // had fewer than `cost` descriptors of room, the charge would exceed
  // Σ budget − N·(cost − 1); so a budget of Σ budget − (N − 1)·(largest − 1)
  // always leaves some ring room for whatever it admits (pigeonhole). With
  // indirect descriptors every request costs 1 and nothing is given up.
  let capacity = 0;
  for (let q = 0; q < bcs.queueCount; q++) capacity += bcs.ringSize(q) - reserve;
  return capacity - (bcs.queueCount - 1) * (requestCost(bcs.maxDataSegments) - 1);
}
