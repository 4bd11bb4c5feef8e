// Device queues: where CCBs wait for openings. FreeBSD counterparts:
// cam_xpt.c (xpt_run_devq, xpt_schedule_devq, xpt_done_process,
// XPT_REL_SIMQ), cam_ccbq.h (cam_ccbq) and cam_periph.c (the QUEUE FULL
// handling that shrinks openings). The SIM queue the device queues of one SIM
// share is simq.ts; freeze ownership is freeze.ts; what the XPT hands a
// device queue and gets back is devq-api.ts; a CCB's entry is devq-entry.ts;
// CCB timeouts are devq-timeouts.ts; XPT_REL_SIMQ is devq-relsim.ts; aborting
// waiting CCBs is devq-aborts.ts; the CCBs held behind a waiting ORDERED CCB
// are devq-fence.ts; the adaptive tag limit is devq-tags.ts.
//
// Openings are computed from the SIM's ring, not configured: each active CCB
// holds `cost(ccb)` of the SIM's budget and a CCB starts only while the
// charges of every active CCB on the SIM, plus its own, fit `capacity()`.
// Rules that keep every CCB moving:
// - the queue runs from the submit path and from the completion path (every
//   completion re-runs every device queue of the SIM), after a release and
//   whenever the SIM says its budget changed;
// - with nothing active and nothing frozen, the head of the queue always fits
//   (a CCB costing more than the whole budget fails CAM_REQ_TOO_BIG rather
//   than waiting forever);
// - every freeze has an owner who releases it: the periph for error
//   completions (CAM_DEV_QFRZN) and for its own freezeDevq, a timer or a
//   completion for XPT_REL_SIMQ's deferred releases, the XPT itself for the
//   short back-off after a CAM_REQUEUE_REQ with nothing active.

import { CcbFlag, TagAction, type ScsiIoCcb } from './ccb.js';
import { CAM_DEV_QFRZN, CamStatus, camStatus, camStatusName } from './status.js';
import { ScsiStatus } from '../scsi/status.js';
import { CamQueue, nextGeneration } from './queue.js';
import { LatencyHistogram } from './stats.js';
import { assertCount, type Dispatcher } from './simq.js';
import { Freezes } from './freeze.js';
import type { AbortOutcome, DeviceQueueStats, DevqBus, RelSimRequest } from './devq-api.js';
import { DevqEntry, describeCcb, entryOf } from './devq-entry.js';
import { CcbTimeouts } from './devq-timeouts.js';
import { applyRelSim } from './devq-relsim.js';
import { abortQueued, abortWaiting, type WaitingCcbs } from './devq-aborts.js';
import { OrderedFence } from './devq-fence.js';
import { TagLimit } from './devq-tags.js';

// Queue priorities below every CamPriority: HEAD OF QUEUE goes before
// everything waiting, then CCBs the SIM gave back (CAM_REQUEUE_REQ), which
// keep their generation and so their original order.
const HEAD_OF_QUEUE_PRIORITY = -2;
const REQUEUE_PRIORITY = -1;

/** Start order across every device queue (a CCB's startSeq). */
let nextStartSeq = 0;

/**
 * One logical unit's queue (cam_ed + cam_ccbq): waiting CCBs by priority
 * (those behind a waiting ORDERED CCB in submission order), the active ones,
 * the freezes, the adaptive tag limit and statistics. Only XPT_SCSI_IO CCBs
 * pass through it.
 */
export class DeviceQueue implements Dispatcher {
  readonly #bus: DevqBus;
  readonly #finished: (ccb: ScsiIoCcb) => void;
  readonly #queue = new CamQueue<DevqEntry>();
  /** An ORDERED CCB that waits, and what came after it (HEAD OF QUEUE aside). */
  readonly #fence = new OrderedFence();
  /** Active entries, each knowing its index (swap-remove). */
  readonly #active: DevqEntry[] = [];
  readonly #freezes: Freezes;
  readonly #timeouts: CcbTimeouts;
  readonly #latency = new LatencyHistogram();
  /** What devq-aborts.ts reaches (made once: aborts are cold). */
  readonly #waiting: WaitingCcbs;
  #generation = 0;
  #charged = 0;
  #maxActive = 0;
  #maxCharged = 0;
  readonly #tags: TagLimit;
  #ordered: DevqEntry | undefined;
  #completed = 0;
  #gone = false;
  /** The clock as submit() read it, while its own run of the queue lasts. */
  #now: number | undefined;

  /**
   * `finished` receives every CCB this queue completes (status final, state
   * 'done'), after the queue has re-run; the XPT calls the CCB's callback there.
   */
  constructor(bus: DevqBus, finished: (ccb: ScsiIoCcb) => void) {
    this.#bus = bus;
    this.#finished = finished;
    this.#tags = new TagLimit(bus.tuning);
    this.#freezes = new Freezes(bus.clock, () => {
      bus.simq.run();
    });
    this.#timeouts = new CcbTimeouts(bus, this.#active);
    this.#waiting = {
      owner: this,
      queue: this.#queue,
      fence: this.#fence,
      settle: (e, status) => { this.#settle(e, status); },
      deliver: (e) => { this.#deliver(e); },
    };
    bus.simq.attach(this);
  }

  get frozen(): number {
    return this.#freezes.frozen;
  }

  get gone(): boolean {
    return this.#gone;
  }

  /** What this queue's SIM side is (a SIM's device queues share it). */
  get bus(): DevqBus {
    return this.#bus;
  }

  /** CCBs active at the SIM. */
  get active(): number {
    return this.#active.length;
  }

  /** Whether `ccb` is active at the SIM from this queue. */
  isActive(ccb: ScsiIoCcb): boolean {
    const e = entryOf(ccb);
    return e?.queue === this && e.activeIndex >= 0;
  }

  /** The CCBs active at the SIM from any of `queues`, with their queue, in the order they started. */
  static activeInStartOrder(queues: readonly DeviceQueue[]): [ScsiIoCcb, DeviceQueue][] {
    const all = queues.flatMap((q) => q.#active);
    return all.sort((a, b) => a.startSeq - b.startSeq).map((e) => [e.ccb, e.queue]);
  }

  /** CCBs waiting. */
  get queued(): number {
    return this.#queue.size + this.#fence.size;
  }

  /** Queues `ccb` and runs the queue. Throws if the CCB is already queued or active (a caller bug). */
  submit(ccb: ScsiIoCcb): void {
    if (ccb.state === 'queued' || ccb.state === 'active') {
      throw new Error(`xpt action: ${describeCcb(ccb)} is already ${ccb.state}; a CCB can be in flight only once`);
    }
    if (!Number.isInteger(ccb.priority) || ccb.priority < 0) {
      throw new RangeError(`xpt action: ${describeCcb(ccb)} priority must be a non-negative integer, got ${ccb.priority}`);
    }
    this.#generation = nextGeneration(this.#generation);
    const priority = ccb.tagAction === TagAction.HEAD_OF_QUEUE ? HEAD_OF_QUEUE_PRIORITY : ccb.priority;
    const now = this.#bus.clock.now();
    const e = new DevqEntry(ccb, this, priority, this.#generation, now);
    ccb.xptPriv = e;
    ccb.state = 'queued';
    ccb.status = CamStatus.REQ_INPROG;
    if (this.#gone) {
      this.#settle(e, CamStatus.DEV_NOT_THERE);
      this.#deliver(e);
      return;
    }
    if (!this.#fence.hold(e)) this.#queue.insert(e);
    // What starts in this run starts now: one clock read for queuing and the timeout.
    const outer = this.#now;
    this.#now = now;
    try {
      this.#bus.simq.run();
    } finally {
      this.#now = outer;
    }
  }

  /** Starts what may start now; SimQueue.run calls it. */
  dispatch(): void {
    const { simq, sim } = this.#bus;
    for (;;) {
      if (this.#gone || this.#freezes.frozen > 0 || simq.frozen > 0 || this.#ordered !== undefined) return;
      const free = this.#queue.peek();
      // Nothing free to run: the ORDERED CCB holding back the rest starts once nothing before it is active.
      const e = free ?? (this.#active.length === 0 ? this.#fence.head : undefined);
      if (e === undefined) return;
      const ordered = e.ccb.tagAction === TagAction.ORDERED;
      // An ORDERED CCB is a barrier: it waits for everything active to finish and then runs alone.
      if (ordered && this.#active.length > 0) return;
      const capacity = sim.capacity();
      // A SIM with no budget at all is not taking work; it calls run() when it is again.
      if (capacity <= 0 || this.#active.length >= this.#tags.of(capacity)) return;
      const cost = sim.cost(e.ccb);
      if (!Number.isInteger(cost) || cost < 0) throw new RangeError(`SIM cost of ${describeCcb(e.ccb)} must be a non-negative integer, got ${cost}`);
      // A CCB costing more than the whole budget could never start: waiting would stall everything behind it.
      const tooBig = cost > capacity;
      if (!tooBig && simq.charged + cost > capacity) return;
      // Off the heap, or off the fence: what came after it, up to the next ORDERED CCB, then joins the heap.
      if (free === undefined) this.#fence.open(this.#queue);
      else this.#queue.remove(e);
      if (tooBig) {
        this.#settle(e, CamStatus.REQ_TOO_BIG);
        this.#deliver(e);
        continue;
      }
      e.cost = cost;
      this.#charged += cost;
      simq.charge(cost);
      e.activeIndex = this.#active.length;
      e.startSeq = nextStartSeq++;
      this.#active.push(e);
      if (ordered) this.#ordered = e;
      this.#maxActive = Math.max(this.#maxActive, this.#active.length);
      this.#maxCharged = Math.max(this.#maxCharged, this.#charged);
      e.ccb.state = 'active';
      if (e.ccb.timeoutMs > 0) this.#timeouts.start(e, this.#now);
      sim.start(e.ccb, this);
    }
  }

  /**
   * The SIM finished `ccb` (xpt_done). Throws if it is not active here: a
   * second completion, or one for a CCB the SIM never got, is a SIM bug.
   */
  complete(ccb: ScsiIoCcb): void {
    const e = entryOf(ccb);
    if (e?.queue !== this || e.activeIndex < 0) {
      throw new Error(
        `xpt done: ${describeCcb(ccb)} (status ${camStatusName(ccb.status)}) is ${ccb.state}, not active at the SIM: completed twice, or never started`,
      );
    }
    if (camStatus(ccb.status) === CamStatus.REQ_INPROG) {
      throw new Error(`xpt done: ${describeCcb(ccb)} completed with status CAM_REQ_INPROG; the SIM must set a final status`);
    }
    this.#deactivate(e);
    this.#charged -= e.cost;
    this.#bus.simq.charge(-e.cost);
    e.cost = 0;
    if (this.#ordered === e) this.#ordered = undefined;
    if (this.#active.length === 0) this.#timeouts.idle();
    // SIMs never freeze device queues; the flag is the XPT's to set.
    const status = ccb.status & ~CAM_DEV_QFRZN;
    const code = camStatus(status);
    if (code === CamStatus.REQUEUE_REQ && !this.#gone) {
      this.#requeue(e);
      return;
    }
    const queueFull = code === CamStatus.SCSI_STATUS_ERROR && (ccb.scsiStatus === ScsiStatus.TASK_SET_FULL || ccb.scsiStatus === ScsiStatus.BUSY);
    if (queueFull && this.#active.length > 0) this.#tags.shrink(this.#active.length, this.#bus.sim.capacity());
    else if (code === CamStatus.REQ_CMP) this.#tags.grow(this.#bus.sim.capacity());
    // A requeue that can no longer be retried (the device is gone) is reported as such.
    this.#settle(e, code === CamStatus.REQUEUE_REQ ? CamStatus.DEV_NOT_THERE : status);
    this.#freezes.completed();
    if (this.#active.length === 0) this.#freezes.idle();
    this.#deliver(e);
  }

  /** xpt_freeze_devq: the caller owns `count` freezes and must release them. */
  freeze(count: number): void {
    if (this.#gone) assertCount('freezeDevq', count);
    else this.#freezes.freeze(count);
  }

  /**
   * xpt_release_devq. Releasing freezes the caller does not hold — more than
   * are frozen minus those owned by pending releases — is a caller bug
   * (RangeError). A gone device took its freezes with it.
   */
  release(count: number, run: boolean): void {
    if (this.#gone) {
      assertCount('releaseDevq', count);
      return;
    }
    this.#freezes.release(count);
    if (run) this.#bus.simq.run();
  }

  /** XPT_REL_SIMQ on this device: adjust openings, release now or hand the freezes to a later event. */
  relsim(req: RelSimRequest): { status: CamStatus; qfrozen: number } {
    const status = applyRelSim(req, this.#freezes, this.#active.length === 0, (openings) => {
      this.#tags.adjust(openings);
    });
    if (status === CamStatus.REQ_CMP && !this.#gone) this.#bus.simq.run();
    return { status, qfrozen: this.#freezes.frozen };
  }

  /** XPT_ABORT of `ccb`: one still waiting completes CAM_REQ_ABORTED now; an active one is the SIM's. */
  abort(ccb: ScsiIoCcb): AbortOutcome {
    return abortQueued(this.#waiting, ccb);
  }

  /**
   * Aborts the waiting CCBs `match` picks, CAM_REQ_ABORTED or, with
   * `scsiStatus`, CAM_SCSI_STATUS_ERROR (see devq-aborts.ts abortWaiting).
   * Returns the aborted CCBs.
   */
  abortWaiting(match: (ccb: ScsiIoCcb) => boolean, scsiStatus?: number): ScsiIoCcb[] {
    return abortWaiting(this.#waiting, match, scsiStatus);
  }

  /**
   * The device is gone (lost, or its bus deregistered): every waiting CCB
   * completes CAM_DEV_NOT_THERE now, timers stop, and active CCBs complete
   * when the SIM returns them. No freezes are set from here on.
   */
  lose(): void {
    if (this.#gone) return;
    this.#gone = true;
    this.#timeouts.cancel();
    this.#freezes.cancel();
    this.#bus.simq.detach(this);
    for (const e of [...this.#queue.drain(), ...this.#fence.drain()]) {
      this.#settle(e, CamStatus.DEV_NOT_THERE);
      this.#deliver(e);
    }
  }

  stats(): DeviceQueueStats {
    const { simq, sim } = this.#bus;
    const capacity = sim.capacity();
    const limit = this.#tags.of(capacity);
    return {
      openings: Math.max(0, Math.min(limit - this.#active.length, capacity - simq.charged)),
      active: this.#active.length,
      queued: this.queued,
      held: this.#freezes.held,
      frozen: this.#freezes.frozen,
      simFrozen: simq.frozen,
      charged: this.#charged,
      capacity,
      maxActive: this.#maxActive,
      maxCharged: this.#maxCharged,
      tagLimit: limit,
      completed: this.#completed,
      latencyUs: this.#latency.snapshot(),
    };
  }

  /**
   * CAM_REQUEUE_REQ: back to the head of the queue, not to the caller. While
   * the SIM queue is frozen the SIM is recovering (it returns its in-flight
   * CCBs for reissue) and openings stay as they are; otherwise the device
   * was full: openings shrink to what is still active, and with nothing
   * active the queue pauses briefly (a freeze of its own) so the retry is
   * not a spin.
   */
  #requeue(e: DevqEntry): void {
    e.ccb.state = 'queued';
    e.ccb.status = CamStatus.REQ_INPROG;
    e.priority = REQUEUE_PRIORITY;
    e.deadline = Number.POSITIVE_INFINITY;
    e.timedOut = false;
    this.#queue.insert(e);
    if (this.#bus.simq.frozen === 0) {
      if (this.#active.length > 0) this.#tags.shrink(this.#active.length, this.#bus.sim.capacity());
      else this.#freezes.pause(this.#bus.tuning.requeueDelayMs);
    }
    if (this.#active.length === 0) this.#freezes.idle();
    this.#bus.simq.run();
  }

  /** Final status: error completions freeze the queue for the periph (xpt_done CAM_DEV_QFRZN). */
  #settle(e: DevqEntry, status: number): void {
    const ccb = e.ccb;
    ccb.status = status & ~CAM_DEV_QFRZN;
    if (camStatus(status) !== CamStatus.REQ_CMP && (ccb.flags & CcbFlag.DEV_QFRZDIS) === 0 && !this.#gone) {
      this.#freezes.freezeForError();
      ccb.status |= CAM_DEV_QFRZN;
    }
    ccb.xptPriv = undefined;
    ccb.state = 'done';
    this.#completed += 1;
    this.#latency.record((this.#bus.clock.now() - e.queuedAt) * 1000);
  }

  /** Runs the queue, then hands the CCB back (xpt_done_process order: dispatch first, callback last). */
  #deliver(e: DevqEntry): void {
    if (!this.#gone) this.#bus.simq.run();
    this.#finished(e.ccb);
  }

  /** Takes `e` off the active list (swap-remove: the list's order is not its start order). */
  #deactivate(e: DevqEntry): void {
    const last = this.#active.pop();
    if (last !== undefined && last !== e) {
      this.#active[e.activeIndex] = last;
      last.activeIndex = e.activeIndex;
    }
    e.activeIndex = -1;
  }
}
