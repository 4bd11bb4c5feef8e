// The periph side of error recovery: issues a SCSI I/O CCB, and when it comes
// back applies the recovery table (errors.ts) — spends the retry or requeue
// allowance, releases the device queue freeze the completion carried, waits,
// starts the unit, has the capacity re-read, re-issues — until the command
// completes or fails with a CamError. Also the ordered-tag policy, and the
// list of outstanding commands a drain waits for. Whether a command is
// retried is errors.ts's decision alone: one that must not run twice (the
// SCSI command table's `once`) is not retried after a completion that leaves it
// open whether it acted (a timeout, a reset, a transport error, an abort, a
// medium or hardware error), and its CamError carries that status.
//
// Freezes (CAM_DEV_QFRZN): every completion that carries one has it released
// exactly once. A retry without delay releases, then re-issues. A delayed
// retry keeps the freeze for the delay, so the whole device backs off (as
// CAM's RELSIM_RELEASE_AFTER_TIMEOUT), then releases and re-issues. START
// STOP UNIT and the capacity re-read need the queue running, so they release
// first.
//
// Ordered tags: FreeBSD da sets DA_FLAG_NEED_OTAG when a timer (a quarter of
// the I/O timeout) finds I/O outstanding since its last tick, and sends the
// next I/O ORDERED, so a command the device keeps passing over cannot starve.
// Here the test is made when a command is issued: if the oldest outstanding
// command is older than `orderedTagAgeMs` and no ORDERED tag has been issued
// since it was, this one goes ORDERED. Commands that name their own tag, and
// the periph's recovery commands, are left alone. No timer, and nothing
// ordered while the device keeps up.

import {
  CAM_DEV_QFRZN,
  CamPriority,
  CamDir,
  TagAction,
  newScsiIo,
  type CamPath,
  type Ccb,
  type PeriphXpt,
  type ScsiIoCcb,
} from '../xpt/periph-api.js';
import { encodeStartStopUnit } from '../../scsi/cdb/misc.js';
import type { SenseData } from '../../scsi/sense.js';
import { CamError, ccbSense, commandName, decideRecovery, type Recovery, type RecoveryDelay } from './errors.js';
import type { CheckedRequest } from './request.js';

/** Delays before a retry, in ms, per RecoveryDelay. */
export interface RecoveryDelays {
  /** NOT READY (becoming ready): default 500. */
  readonly notReady: number;
  /** SCSI BUSY, CAM_BUSY, CAM_SCSI_BUSY, CAM_RESRC_UNAVAIL: default 100. */
  readonly busy: number;
  /** TASK SET FULL: default 10 (the device is only saying it has no room right now). */
  readonly queueFull: number;
}

/** Default waits before retries. */
export const DEFAULT_DELAYS: RecoveryDelays = { notReady: 500, busy: 100, queueFull: 10 };
/** FreeBSD da_retry_count. */
export const DEFAULT_RETRIES = 4;
/** Requeues a CCB gets before each further one spends a retry. */
export const DEFAULT_REQUEUE_LIMIT = 32;

/** How a RecoveryRunner retries and tags (DaOptions, resolved). */
export interface RecoveryOptions {
  readonly retries: number;
  readonly requeueLimit: number;
  readonly delays: RecoveryDelays;
  readonly timeoutMs: number;
  readonly orderedTagAgeMs: number;
  readonly now: () => number;
}

/** What the runner asks of the periph that owns it. */
export interface RecoveryHooks {
  /** A UNIT ATTENTION came back (once per report). Called from the completion path: must not throw. */
  unitAttention(sense: SenseData): void;
  /** CAPACITY DATA HAS CHANGED came back: re-read the capacity (resolves when done, never rejects). */
  capacityChanged(): Promise<void>;
}

/** A command for the runner: checked CCB fields, plus whether it is the periph's own recovery work. */
export interface RunRequest extends CheckedRequest {
  /** Recovery work (READ CAPACITY, START STOP UNIT): no capacity re-read, no START UNIT, no ordered-tag policy. */
  readonly internal?: boolean;
}

interface Op {
  readonly req: RunRequest;
  readonly seq: number;
  readonly firstIssued: number;
  readonly tagAction: TagAction;
  retriesLeft: number;
  requeues: number;
  /** Maps the completed CCB to what run() resolves with. */
  readonly result: ((ccb: ScsiIoCcb) => unknown) | undefined;
  /** Neighbours in the outstanding list. */
  older: Op | undefined;
  newer: Op | undefined;
  resolve(value: unknown): void;
  reject(e: unknown): void;
}

const DELAY_KEYS: Readonly<Record<Exclude<RecoveryDelay, 'none'>, keyof RecoveryDelays>> = {
  'not-ready': 'notReady',
  busy: 'busy',
  'queue-full': 'queueFull',
};

/** Issues CCBs for one path and recovers them. */
export class RecoveryRunner {
  readonly #xpt: PeriphXpt;
  readonly #path: CamPath;
  readonly #opts: RecoveryOptions;
  readonly #hooks: RecoveryHooks;
  /**
   * Outstanding commands, oldest first, as a linked list through the ops (no
   * hash table churned per I/O: see CcbHeader.xptPriv).
   */
  #oldest: Op | undefined;
  #newest: Op | undefined;
  #outstanding = 0;
  #seq = 0;
  #lastOrderedSeq = -1;
  #orderedTags = 0;
  #starting: Promise<void> | undefined;
  #invalid = false;
  #drainWaiters: (() => void)[] = [];

  constructor(xpt: PeriphXpt, path: CamPath, opts: RecoveryOptions, hooks: RecoveryHooks) {
    this.#xpt = xpt;
    this.#path = path;
    this.#opts = opts;
    this.#hooks = hooks;
  }

  /** Commands issued and not yet completed or failed (retries and waits included). */
  get outstanding(): number {
    return this.#outstanding;
  }

  /** ORDERED tags the ordered-tag policy has issued. */
  get orderedTags(): number {
    return this.#orderedTags;
  }

  /** The device is gone: nothing is retried any more (CAM_PERIPH_INVALID). */
  invalidate(): void {
    this.#invalid = true;
  }

  /** Resolves when no command is outstanding. */
  drained(): Promise<void> {
    if (this.#outstanding === 0) return Promise.resolve();
    return new Promise((resolve) => this.#drainWaiters.push(resolve));
  }

  /**
   * Issues a command; resolves with the completed CCB (or what `result` makes
   * of it: its exception rejects), rejects with a CamError once recovery
   * gives up. `result` saves the caller a promise step of its own per I/O.
   */
  run(req: RunRequest): Promise<ScsiIoCcb>;
  run<T>(req: RunRequest, result: (ccb: ScsiIoCcb) => T): Promise<T>;
  run(req: RunRequest, result?: (ccb: ScsiIoCcb) => unknown): Promise<unknown> {
    return new Promise((resolve, reject) => {
      const seq = this.#seq++;
      const now = this.#opts.now();
      // resolve/reject are the promise's own: #resolve and #reject take the op off the list first.
      const op: Op = {
        req,
        seq,
        firstIssued: now,
        tagAction: req.tagAction ?? this.#policyTag(req, now),
        retriesLeft: this.#opts.retries,
        requeues: 0,
        result,
        older: undefined,
        newer: undefined,
        resolve,
        reject,
      };
      if (op.tagAction === TagAction.ORDERED) this.#lastOrderedSeq = seq;
      this.#link(op);
      this.#issue(op);
    });
  }

  #resolve(op: Op, ccb: ScsiIoCcb): void {
    this.#finish(op);
    if (op.result === undefined) {
      op.resolve(ccb);
      return;
    }
    let value: unknown;
    try {
      value = op.result(ccb);
    } catch (e) {
      op.reject(e);
      return;
    }
    op.resolve(value);
  }

  #reject(op: Op, e: CamError): void {
    this.#finish(op);
    op.reject(e);
  }

  #policyTag(req: RunRequest, now: number): TagAction {
    if (req.internal === true) return TagAction.SIMPLE;
    const oldest = this.#oldest;
    if (oldest === undefined || oldest.seq <= this.#lastOrderedSeq) return TagAction.SIMPLE;
    if (now - oldest.firstIssued < this.#opts.orderedTagAgeMs) return TagAction.SIMPLE;
    this.#orderedTags++;
    return TagAction.ORDERED;
  }

  #link(op: Op): void {
    op.older = this.#newest;
    if (this.#newest === undefined) this.#oldest = op;
    else this.#newest.newer = op;
    this.#newest = op;
    this.#outstanding++;
  }

  #finish(op: Op): void {
    const { older, newer } = op;
    if (older === undefined) this.#oldest = newer;
    else older.newer = newer;
    if (newer === undefined) this.#newest = older;
    else newer.older = older;
    op.older = undefined;
    op.newer = undefined;
    this.#outstanding--;
    if (this.#outstanding > 0) return;
    const waiters = this.#drainWaiters;
    this.#drainWaiters = [];
    for (const w of waiters) w();
  }

  /** Every CCB's completion callback; the CCB names its op (periphPriv). */
  readonly #done = (c: Ccb): void => {
    const ccb = c as ScsiIoCcb;
    const op = ccb.periphPriv as Op | undefined;
    if (op === undefined) throw new Error(`recovery: ${commandName(ccb.cdb)} completed without its op (periphPriv)`);
    ccb.periphPriv = undefined;
    this.#completed(op, ccb);
  };

  #issue(op: Op): void {
    const { req } = op;
    const ccb = newScsiIo({
      path: this.#path,
      cdb: req.cdb,
      dir: req.dir,
      dataOut: req.dataOut,
      dataInLength: req.dataInLength,
      dataInto: req.dataInto,
      tagAction: op.tagAction,
      priority: req.priority ?? CamPriority.NORMAL,
      timeoutMs: req.timeoutMs ?? this.#opts.timeoutMs,
      retryCount: op.retriesLeft,
      initiator: req.initiator,
      done: this.#done,
    });
    ccb.periphPriv = op;
    this.#xpt.action(ccb);
  }

  #completed(op: Op, ccb: ScsiIoCcb): void {
    const r = decideRecovery(ccb);
    if (r.unitAttention) {
      const s = ccbSense(ccb);
      if (s !== undefined) this.#hooks.unitAttention(s);
    }
    if (r.action === 'complete') {
      if ((ccb.status & CAM_DEV_QFRZN) !== 0) this.#xpt.releaseDevq(this.#path, 1, true);
      this.#resolve(op, ccb);
      return;
    }
    this.#recover(op, ccb, r);
  }

  /** Everything but a plain completion: fail, or spend an allowance and re-issue (after a wait, a START UNIT, a capacity re-read). */
  #recover(op: Op, ccb: ScsiIoCcb, r: Recovery): void {
    let frozen = (ccb.status & CAM_DEV_QFRZN) !== 0;
    const release = (): void => {
      if (!frozen) return;
      frozen = false;
      this.#xpt.releaseDevq(this.#path, 1, true);
    };
    const spent = this.#opts.retries - op.retriesLeft;
    const fail = (reason: string, cause?: unknown): void => {
      release();
      this.#reject(op, CamError.fromCcb(ccb, reason, spent, cause));
    };
    if (r.action === 'fail') {
      fail(r.reason);
      return;
    }
    if (this.#invalid) {
      fail('device is gone, not retried');
      return;
    }
    if (r.action === 'start-unit' && op.req.internal === true) {
      fail('not ready during recovery');
      return;
    }
    if (r.budget === 'requeue' && op.requeues < this.#opts.requeueLimit) {
      op.requeues++;
    } else if (r.budget !== 'none') {
      if (op.retriesLeft === 0) {
        fail(`retries exhausted: ${r.reason}`);
        return;
      }
      op.retriesLeft--;
    }
    // Re-checked when a wait ends: the device may have gone meanwhile.
    const reissue = (): void => {
      if (this.#invalid) fail('device is gone, not retried');
      else this.#issue(op);
    };
    const delay = r.delay === 'none' ? 0 : this.#opts.delays[DELAY_KEYS[r.delay]];
    if (delay > 0) {
      setTimeout(() => {
        release();
        reissue();
      }, delay);
      return;
    }
    release();
    if (r.action === 'start-unit') {
      this.#startUnit().then(reissue, (e: unknown) => {
        fail('START STOP UNIT failed', e);
      });
    } else if (r.reprobe && op.req.internal !== true) {
      void this.#hooks.capacityChanged().then(reissue);
    } else {
      this.#issue(op);
    }
  }

  /** START STOP UNIT with START = 1 (CAM's SS_START), one at a time however many commands asked for it. */
  #startUnit(): Promise<void> {
    this.#starting ??= this.run({ cdb: encodeStartStopUnit({ start: true }), dir: CamDir.NONE, priority: CamPriority.OOB, internal: true }).then(
      () => {
        this.#starting = undefined;
      },
      (e: unknown) => {
        this.#starting = undefined;
        throw e;
      },
    );
    return this.#starting;
  }
}
