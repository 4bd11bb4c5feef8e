// What a device queue and the XPT exchange (the devq's own audience header,
// as xpt/sim-api.ts is the SIM's): the SIM as a device queue sees it, what the
// device queues of one SIM share, the adaptive queue-depth knobs, and what a
// device queue reports back (statistics, XPT_REL_SIMQ, XPT_ABORT). The queue
// itself is devq.ts.

import type { ScsiIoCcb } from './ccb.js';
import type { CamClock } from './clock.js';
import type { SimQueue } from './simq.js';
import type { DeviceQueue } from './devq.js';

/** The SIM as a device queue sees it (the XPT adapts a registered Sim to this). */
export interface DevqSim {
  /** Budget shared by every active CCB of the SIM; read on every dispatch. */
  capacity(): number;
  /** What `ccb` holds of the budget while active. */
  cost(ccb: ScsiIoCcb): number;
  /** Hands `ccb` to the SIM; it comes back through `from.complete`. */
  start(ccb: ScsiIoCcb, from: DeviceQueue): void;
  /** `ccb` outlived its timeout; the SIM recovers and completes it. */
  timeout(ccb: ScsiIoCcb): void;
}

/** Adaptive queue-depth knobs. */
export interface DevqTuning {
  /** Openings never shrink below this (cam_periph mintags). */
  readonly minTags: number;
  /** Successful completions after which a shrunken tag limit grows by one. */
  readonly growAfter: number;
  /** Back-off before retrying a CAM_REQUEUE_REQ that came back with nothing else active. */
  readonly requeueDelayMs: number;
}

export const DEFAULT_DEVQ_TUNING: DevqTuning = { minTags: 1, growAfter: 64, requeueDelayMs: 10 };

/** What the device queues of one SIM share. */
export interface DevqBus {
  readonly simq: SimQueue;
  readonly sim: DevqSim;
  readonly clock: CamClock;
  readonly tuning: DevqTuning;
}

/** Device queue state; the XPT reports it as DevqStats (periph-api.ts). */
export interface DeviceQueueStats {
  /** CCBs that could start now if the queue were not frozen: tag limit minus active, capped by the free budget (a CCB costs at least 1). */
  readonly openings: number;
  readonly active: number;
  readonly queued: number;
  /** Error completions handed back with CAM_DEV_QFRZN since the queue was last thawed (0 once frozen is 0). */
  readonly held: number;
  /** Every freeze: the periphs', and those owned by pending timed or completion releases. */
  readonly frozen: number;
  readonly simFrozen: number;
  readonly charged: number;
  readonly capacity: number;
  readonly maxActive: number;
  readonly maxCharged: number;
  /** CCBs that may be active at once: the budget, or less after QUEUE FULL / ADJUST_OPENINGS. */
  readonly tagLimit: number;
  readonly completed: number;
  /** Submit-to-completion time (waiting included) per LatencyHistogram bucket. */
  readonly latencyUs: readonly number[];
}

/** What XPT_REL_SIMQ asks of a device queue (struct ccb_relsim). */
export interface RelSimRequest {
  readonly releaseFlags: number;
  readonly openings: number;
  readonly releaseTimeoutMs: number;
  readonly releaseCount: number;
}

/** What happened to a CCB an XPT_ABORT named. */
export type AbortOutcome = 'aborted' | 'active' | 'unknown';
