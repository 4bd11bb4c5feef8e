// How a VirtioBlockCommandSet's requests reach the driver's request queues
// (requestq1..N, VIRTIO 1.2 §5.2.2; several with VIRTIO_BLK_F_MQ, §5.2.3):
// each goes through the FIFO of the queue QueueChoice picks, its descriptors
// charged to that queue (queue-load.ts) from submission until its answer, on
// a Submission record reused from a free list (request-records.ts). In front
// of the queues stands the reset fence: while the device is being reset,
// requests are answered at once and never reach the ring, and the set's data
// buffers are fenced with them (data-buffers.ts). The set's READ, WRITE and
// FLUSH (translate.ts) and its other requests (other-requests.ts) all come
// through here; every READ and WRITE does, so submit() allocates nothing but
// a record the first time one is short. Where the set's queues are served by
// more than one device thread, overlapping requests where one writes go in
// arrival order, one at a time (overlap-order.ts); one thread serving every
// queue (any local transport, a single device worker) keeps that order itself
// (its backend does), and the path pays nothing for it. A request waiting
// there for a command that has been aborted is answered unsent (dropAborted).

import type { BlkCompletion, BlkRequest } from '../../../virtio/blk-request.js';
import type { OperationAborted } from '../../../scsi/sbc/block-command-set.js';
import { VirtioBlkDriver } from '../../../virtio/blk-driver.js';
import { FreeList } from '../../../scsi/free-list.js';
import type { DataBufferPool } from './data-buffers.js';
import { QueueChoice, type QueueLoad } from './queue-load.js';
import { Submission, answerLater, promised } from './request-records.js';
import { OverlapOrder } from './overlap-order.js';

const FENCED: BlkCompletion = { kind: 'aborted', reason: 'device reset in progress' };
const DROPPED: BlkCompletion = { kind: 'aborted', reason: 'its command was aborted while it waited for an overlapping request' };

/** Queue `q`'s load among `loads`; RangeError for a queue the set does not use. */
export function queueLoad(loads: readonly QueueLoad[], q: number): QueueLoad {
  const load = loads[q];
  if (load === undefined) throw new RangeError(`queue ${q} is not one of this set's ${loads.length}`);
  return load;
}

/** The request queues of one VirtioBlockCommandSet, behind its reset fence. */
export class RequestQueues {
  readonly #driver: VirtioBlkDriver;
  /** The set's loads, one per queue, shared with it (it reports them). */
  readonly #loads: readonly QueueLoad[];
  readonly #choice: QueueChoice;
  readonly #data: DataBufferPool;
  #held = 0;
  #fenced = false;
  #resetEpoch = 0;
  #lost = false;
  readonly #resetWaiters: ((back: boolean) => void)[] = [];
  /** Free records (request-records.ts): one per request the set ever had out at once. */
  readonly #submissions = new FreeList<Submission>();
  /** Present only when the set's queues run on more than one device thread. */
  readonly #order: OverlapOrder | undefined;

  constructor(driver: VirtioBlkDriver, loads: readonly QueueLoad[], data: DataBufferPool) {
    this.#driver = driver;
    this.#loads = loads;
    this.#choice = new QueueChoice(loads, driver);
    this.#data = data;
    this.#order = onSeveralThreads(driver, loads.length)
      ? new OverlapOrder((req, then) => {
          this.#send(req, then);
        })
      : undefined;
  }

  /** Requests held back behind an overlapping one on another device thread (overlap-order.ts). */
  get waitingForOverlap(): number {
    return this.#order?.waiting ?? 0;
  }

  /** Whether requests may wait here for overlapping ones (the set's queues run on more than one device thread). */
  get ordersOverlaps(): boolean {
    return this.#order !== undefined;
  }

  /** Commands have been aborted: the requests of theirs still waiting for an overlapping one are answered unsent (overlap-order.ts). */
  dropAborted(): void {
    this.#order?.dropAborted(DROPPED);
  }

  /** Descriptors charged for requests, from submit() until their answer, on all queues. */
  get held(): number {
    return this.#held;
  }

  /** Whether the fence is up (a device reset runs). */
  get fenced(): boolean {
    return this.#fenced;
  }

  /** Raises the fence (VirtioBlockCommandSet.fence). */
  fence(): void {
    if (!this.#fenced) this.#resetEpoch++;
    this.#fenced = true;
    this.#data.fence();
    this.#order?.dropWaiting(FENCED);
  }

  /** Lowers the fence after a device reset (VirtioBlockCommandSet.unfence). */
  unfence(): void {
    if (this.#fenced) this.#resetEpoch++;
    this.#fenced = false;
    this.#data.unfence();
    for (const w of this.#resetWaiters.splice(0)) w(true);
  }

  /** The device did not come back from its reset: the fence stays, and whoever waits for the reset learns so. */
  deviceLost(): void {
    this.#lost = true;
    for (const w of this.#resetWaiters.splice(0)) w(false);
  }

  /** Odd while fenced (a device reset runs); see BlockCommandSet.resetEpoch. */
  get resetEpoch(): number {
    return this.#resetEpoch;
  }

  /** Resolves once no device reset runs: true when the device came back, false when it is gone. */
  afterReset(): Promise<boolean> {
    if (this.#lost) return Promise.resolve(false);
    if (!this.#fenced) return Promise.resolve(true);
    return new Promise((resolve) => this.#resetWaiters.push(resolve));
  }

  /** Submits through the driver's FIFO and resolves with the completion. */
  request(req: BlkRequest, aborted?: OperationAborted): Promise<BlkCompletion> {
    return promised((done) => {
      this.submit(req, done, aborted);
    });
  }

  /**
   * Submits through the FIFO of the queue QueueChoice picks, charging the
   * request's descriptors to it while it is out. `then` runs once, never
   * before submit returns (the driver answers a broken ring at once; that
   * answer is deferred). A request that finds no room waits in that queue's
   * FIFO, and that queue's completions let it in: the queue has room for none
   * only while requests (ours or another's) are in its ring, and each of
   * those completes or is aborted by a reset. `aborted` tells whether the
   * request's command has been aborted, for the overlap order.
   */
  submit(req: BlkRequest, then: (c: BlkCompletion) => void, aborted?: OperationAborted): void {
    if (this.#fenced) {
      queueMicrotask(() => {
        then(FENCED);
      });
      return;
    }
    if (this.#order === undefined) this.#send(req, then);
    else this.#order.submit(req, then, aborted, DROPPED);
  }

  /** submit() past the fence and the overlap order: onto the queue QueueChoice picks. */
  #send(req: BlkRequest, then: (c: BlkCompletion) => void): void {
    const q = this.#choice.pick();
    const load = queueLoad(this.#loads, q);
    const cost = this.#driver.descriptorCost(VirtioBlkDriver.dataBuffers(req), q);
    this.#held += cost;
    load.held += cost;
    if (load.held > load.maxHeld) load.maxHeld = load.held;
    load.inFlight++;
    if (load.inFlight > load.maxInFlight) load.maxInFlight = load.inFlight;
    load.requests++;
    const s = this.#submissions.take() ?? new Submission(this.#answered);
    s.cost = cost;
    s.load = load;
    s.then = then;
    s.submitting = true;
    try {
      this.#driver.enqueue(req, s.answered, q);
    } catch (e) {
      // Uncharged once: here, unless the driver answered inside enqueue (#answered did). A request the
      // driver kept before it threw may still be answered: that answer finds nothing left to uncharge.
      if (!s.cleared) {
        this.#held -= cost;
        load.held -= cost;
        load.inFlight--;
        load.requests--;
        s.load = undefined;
        s.cost = 0;
      }
      throw e;
    } finally {
      s.submitting = false;
      // Answered inside enqueue: the record is free now. Otherwise the driver has it (or, after a throw,
      // may have it: then it is dropped, never put back, until that answer comes).
      if (s.cleared) this.#submissions.put(s);
    }
  }

  /**
   * A request's answer from the driver: uncharge it, pass the answer on (a turn later inside enqueue), and
   * free its record (inside enqueue, submit frees it once enqueue has returned).
   */
  readonly #answered = (s: Submission, c: BlkCompletion): void => {
    const { cost, load, then, submitting } = s;
    s.clear();
    if (!submitting) this.#submissions.put(s);
    this.#held -= cost;
    if (load !== undefined) {
      load.held -= cost;
      load.inFlight--;
    }
    if (then === undefined) return;
    if (submitting) answerLater(then, c);
    else then(c);
  };
}

/** Whether the driver's first `queues` queues are served by more than one device thread (VirtioTransport.queueThread). */
function onSeveralThreads(driver: VirtioBlkDriver, queues: number): boolean {
  const transport = driver.transport;
  if (transport.queueThread === undefined) return false;
  const first = transport.queueThread(0);
  for (let q = 1; q < queues; q++) if (transport.queueThread(q) !== first) return true;
  return false;
}
