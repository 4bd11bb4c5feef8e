// The pass periph: raw CDBs to one device, answers back untouched. What SCSI
// command test suites need (FreeBSD's pass(4) / camcontrol cmd): no error
// recovery, no retries, no sense interpretation — the caller sees exactly what
// the device (or the transport) said. The one thing pass does with an error
// completion is release the device queue freeze it carried (CAM_DEV_QFRZN),
// as FreeBSD's passdone does, so later commands run.
//
// It is also what a front end serving many initiators (the iSCSI target)
// drives the device through: each command may name its initiator (I_T nexus
// and TransportID), submit()'s handle (or scsi()'s AbortSignal) aborts one
// command (XPT_ABORT, SAM-5 ABORT TASK), abortTaskSet() and clearTaskSet() are
// ABORT TASK SET and CLEAR TASK SET (XPT_ABORT_TASK_SET, XPT_CLEAR_TASK_SET),
// resetDevice() is LOGICAL UNIT RESET (XPT_RESET_DEV), nexusLost()
// tells the logical unit that an initiator's I_T nexus is gone
// (XPT_IT_NEXUS_LOST), and transportAborted() which nexuses' commands the
// front end aborted for a PREEMPT AND ABORT (XPT_TRANSPORT_ABORTED), so
// nothing above CAM ever touches the SIM.

import { whenAborted } from './abort-signals.js';
import {
  CAM_DEV_QFRZN,
  CamPriority,
  CamStatus,
  XptFunc,
  camStatus,
  newAbort,
  newCcb,
  newNexusLost,
  newScsiIo,
  newTaskSet,
  type CamPath,
  type Ccb,
  type CcbInitiator,
  type PeriphXpt,
  type ScsiIoCcb,
} from '../xpt/periph-api.js';
import { CamError } from './errors.js';
import { checkInitiator, checkRequest, resultOf, type CheckedRequest, type ScsiRequest, type ScsiResult } from './request.js';

/** A command pass.submit() sent: abort() asks CAM to abort it (SAM-5 ABORT TASK); harmless once it finished. */
export class PassCommand {
  readonly #xpt: PeriphXpt;
  readonly #ccb: ScsiIoCcb;

  constructor(xpt: PeriphXpt, ccb: ScsiIoCcb) {
    this.#xpt = xpt;
    this.#ccb = ccb;
  }

  abort(): void {
    this.#xpt.action(newAbort(this.#ccb.path, this.#ccb));
  }
}

/** Raw SCSI access to the device at a path. */
export class PassPeriph {
  readonly path: CamPath;
  readonly #xpt: PeriphXpt;

  /** @throws RangeError when the XPT has no device at `path`. */
  constructor(xpt: PeriphXpt, path: CamPath) {
    if (xpt.device(path) === undefined) throw new RangeError(`pass: no device at ${path.bus}:${path.target}:${path.lun}`);
    this.#xpt = xpt;
    this.path = path;
  }

  /**
   * Sends one CDB and resolves with what came back, error or not (the promise
   * rejects only for a malformed request). With `req.signal`, an abort sends
   * XPT_ABORT for the command's CCB: it then completes CAM_REQ_ABORTED (or
   * with its real status, had it finished); a signal aborted before the call
   * sends nothing and resolves CAM_REQ_ABORTED.
   * @throws RangeError for a malformed request (see checkRequest).
   */
  scsi(req: ScsiRequest): Promise<ScsiResult> {
    const r = checkRequest(req, 'pass.scsi');
    const signal = r.signal;
    return new Promise((resolve) => {
      if (signal === undefined) {
        this.#xpt.action(this.#ccb(r, resolve));
        return;
      }
      let done = (): void => undefined;
      const ccb = this.#ccb(r, (result) => {
        done();
        resolve(result);
      });
      if (signal.aborted) {
        ccb.status = CamStatus.REQ_ABORTED;
        resolve(resultOf(ccb));
        return;
      }
      // A CCB that finished before the abort makes XPT_ABORT find nothing (CAM_UA_ABORT), which changes nothing.
      done = whenAborted(signal, () => {
        this.#xpt.action(newAbort(this.path, ccb));
      });
      this.#xpt.action(ccb);
    });
  }

  /**
   * Sends one CDB and calls `done` once with what came back, error or not:
   * scsi() without a promise or an AbortSignal, for a front end that runs
   * many commands (the iSCSI target). The returned handle's abort() sends
   * XPT_ABORT for the command's CCB, which then completes CAM_REQ_ABORTED
   * (or with its real status, had it finished). `done` may run before
   * submit() returns (CAM answers some CCBs at once, e.g. for a device that
   * is gone). `done` runs inside CAM's completion path and must not throw,
   * as a CCB's completion callback must not: catch in it what can fail.
   * @throws RangeError for a malformed request (see checkRequest), or one
   *   with a `signal` (that is scsi()'s).
   */
  submit(req: ScsiRequest, done: (r: ScsiResult) => void): PassCommand {
    const r = checkRequest(req, 'pass.submit');
    if (r.signal !== undefined) throw new RangeError('pass.submit: signal is for pass.scsi; abort through the returned handle');
    const ccb = this.#ccb(r, done);
    this.#xpt.action(ccb);
    return new PassCommand(this.#xpt, ccb);
  }

  /** The CCB for a checked request; its completion releases the devq freeze it carries (as passdone does). */
  #ccb(r: CheckedRequest, done: (r: ScsiResult) => void): ScsiIoCcb {
    const ccb = newScsiIo({
      path: this.path,
      cdb: r.cdb,
      dir: r.dir,
      dataOut: r.dataOut,
      dataInLength: r.dataInLength,
      dataInto: r.dataInto,
      tagAction: r.tagAction,
      priority: r.priority,
      timeoutMs: r.timeoutMs,
      initiator: r.initiator,
      retryCount: 0,
      done: this.#completed,
    });
    ccb.periphPriv = done;
    return ccb;
  }

  /**
   * Every pass CCB's completion, its caller's callback in periphPriv: one
   * function for all, not a closure per command.
   */
  readonly #completed = (c: Ccb): void => {
    if ((c.status & CAM_DEV_QFRZN) !== 0) this.#xpt.releaseDevq(this.path, 1, true);
    const done = c.periphPriv as (r: ScsiResult) => void;
    done(resultOf(c as ScsiIoCcb));
  };

  /**
   * LOGICAL UNIT RESET through CAM (XPT_RESET_DEV, past the device queue):
   * resolves once the device has been reset — commands in flight complete,
   * every I_T nexus gets a unit attention, an SPC-2 reservation is released
   * (persistent ones stay). Rejects with a CamError when CAM could not reset
   * it (e.g. CAM_DEV_NOT_THERE).
   */
  resetDevice(): Promise<void> {
    return new Promise((resolve, reject) => {
      const done = (c: Ccb): void => {
        if (camStatus(c.status) === CamStatus.REQ_CMP) resolve();
        else reject(new CamError({ status: c.status, reason: 'XPT_RESET_DEV' }));
      };
      this.#xpt.action(newCcb(XptFunc.RESET_DEV, this.path, done, CamPriority.OOB));
    });
  }

  /**
   * Tells the logical unit that `initiator`'s I_T nexus is gone (its session
   * ended: logout or a dropped connection): SAM-5 I_T nexus loss — its unit
   * attentions are forgotten, its SPC-2 reservation released; registrations
   * and persistent reservations stay. Abort the initiator's own commands
   * first (their handles or signals). Resolves when done, also when the device is gone
   * (nothing is left to tell).
   * @throws RangeError for a malformed initiator (see checkRequest).
   */
  nexusLost(initiator: CcbInitiator): Promise<void> {
    const { id } = checkInitiator(initiator, 'pass.nexusLost');
    return new Promise((resolve) => {
      this.#xpt.action(
        newNexusLost(this.path, id, () => {
          resolve();
        }),
      );
    });
  }

  /**
   * SAM-5 ABORT TASK SET from `initiator` (a front end's task management
   * function): every command of that I_T nexus on the logical unit completes
   * CAM_REQ_ABORTED — at once while it waits in the device queue, once the
   * device has answered it when it is at the device (no device reset) — and
   * no I_T nexus gets a unit attention. Resolves once they have all
   * completed, also when the device is gone (nothing is left to abort).
   * @throws RangeError for a malformed initiator (see checkRequest).
   */
  abortTaskSet(initiator: CcbInitiator): Promise<void> {
    return this.#taskSet(XptFunc.ABORT_TASK_SET, initiator, 'pass.abortTaskSet');
  }

  /**
   * SAM-5 CLEAR TASK SET from `initiator`: as abortTaskSet, for the commands
   * of every I_T nexus on the logical unit. The initiator's own complete
   * CAM_REQ_ABORTED; another nexus's as the unit's TAS says: CAM_REQ_ABORTED,
   * and that nexus gets COMMANDS CLEARED BY ANOTHER INITIATOR (TAS 0), or
   * CAM_SCSI_STATUS_ERROR with TASK ABORTED status (TAS 1).
   *
   * `transportAborted` names (by CcbInitiator.id) the other I_T nexuses whose
   * commands the front end aborted itself for this function because they had
   * not reached the logical unit yet (an iSCSI WRITE waiting for Data-Out):
   * with TAS 0 they get COMMANDS CLEARED BY ANOTHER INITIATOR as well, once
   * each; the sender never does.
   * @throws RangeError for a malformed initiator (see checkRequest), or a
   *   `transportAborted` that is not an array of non-empty strings.
   */
  clearTaskSet(initiator: CcbInitiator, transportAborted: readonly string[] = []): Promise<void> {
    return this.#taskSet(XptFunc.CLEAR_TASK_SET, initiator, 'pass.clearTaskSet', checkIds(transportAborted, 'pass.clearTaskSet'));
  }

  /**
   * Tells the logical unit that, for a PERSISTENT RESERVE OUT PREEMPT AND
   * ABORT of `initiator` that preempted (ScsiResult.preempted, whatever it
   * completed with), the front end aborted commands of the I_T nexuses
   * `transportAborted` (by CcbInitiator.id) that had not reached it (SPC-5;
   * SAM-5 aborting commands). With TAS 0 each gets COMMANDS CLEARED BY ANOTHER INITIATOR as
   * if the unit had aborted them — once, `initiator` never — and that is
   * established before this returns; with TAS 1 nothing changes. Resolves
   * when the CCB has completed, also when the device is gone.
   * @throws RangeError for a malformed initiator (see checkRequest), or a
   *   `transportAborted` that is not an array of non-empty strings.
   */
  transportAborted(initiator: CcbInitiator, transportAborted: readonly string[]): Promise<void> {
    return this.#taskSet(XptFunc.TRANSPORT_ABORTED, initiator, 'pass.transportAborted', checkIds(transportAborted, 'pass.transportAborted'));
  }

  #taskSet(func: Parameters<typeof newTaskSet>[0], initiator: CcbInitiator, caller: string, transportAborted: readonly string[] = []): Promise<void> {
    const { id } = checkInitiator(initiator, caller);
    return new Promise((resolve) => {
      this.#xpt.action(
        newTaskSet(
          func,
          this.path,
          id,
          () => {
            resolve();
          },
          transportAborted,
        ),
      );
    });
  }

  /** CCBs the device queue lets be active at once now (its tag limit); 0 once the device is gone. */
  openings(): number {
    return this.#xpt.stats(this.path)?.tagLimit ?? 0;
  }

  /** True when `other` drives the same device (the same XPT and path): one logical unit, however many pass periphs reach it. */
  sameDevice(other: PassPeriph): boolean {
    const [a, b] = [this.path, other.path];
    return other.#xpt === this.#xpt && a.bus === b.bus && a.target === b.target && a.lun === b.lun;
  }
}

/**
 * `ids` checked as initiator ids (non-empty strings), copied: the CCB outlives
 * the call and the caller's array may change.
 * @throws RangeError naming `caller` otherwise.
 */
function checkIds(ids: readonly string[], caller: string): readonly string[] {
  // Widened: JavaScript callers can pass anything.
  const given: unknown = ids;
  if (!Array.isArray(given)) throw new RangeError(`${caller}: transportAborted must be an array of initiator ids, got ${String(given)}`);
  for (const [i, id] of (given as unknown[]).entries()) {
    if (typeof id !== 'string' || id === '') throw new RangeError(`${caller}: transportAborted[${i}] must be a non-empty string, got ${typeof id === 'string' ? "''" : String(id)}`);
  }
  return [...ids];
}
