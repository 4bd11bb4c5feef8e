// The completions the vtblk SIM owes on a later turn, and how detach settles
// them. A CCB the SIM answers without doing anything completes on a later turn:
// never from inside action() (the XPT may be mid-dispatch), and never in a
// loop of microtasks that would starve the device of the turns it needs to
// free the ring a requeued CCB waits for. An XPT_SCSI_IO handed back unstarted
// (CAM_REQUEUE_REQ for a ring shortage or a recovery, CAM_UNREC_HBA_ERROR for
// a broken ring) does too, kept meanwhile where aborts find it (aborts.ts). An
// XPT_ABORT_TASK_SET / XPT_CLEAR_TASK_SET completes once the commands it
// aborted have.
//
// Sim.detach promises that nothing is left active once it resolves, and the
// XPT completes whatever is left itself (CAM_DEV_NOT_THERE): a completion the
// SIM still sent after that would be a second one. So detach completes every
// owed CCB CAM_DEV_NOT_THERE at once (failAll), as it does its active ones,
// and the later turn finds it gone and does nothing.

import { CamStatus, type Ccb, type ScsiIoCcb } from '../../xpt/sim-api.js';
import { ActiveCcbs } from './active.js';
import { settleAborts } from './aborts.js';
import type { GivenBack } from './entries.js';

/** One completion owed: what it will complete with. */
interface Owed {
  readonly ccb: Ccb;
  readonly status: number;
  readonly scsiStatus: number | undefined;
}

/** How the SIM completes CCBs. */
export interface CompleteCcb {
  /** Completes `ccb` with a CAM status (and SCSI status) and no SCSI data. */
  finish(ccb: Ccb, status: number, scsiStatus?: number): void;
  /** Completes an aborted CCB as its abort said. */
  finishAborted(e: GivenBack): void;
}

/** The completions one SIM owes on a later turn. Not on the READ/WRITE path: each costs a closure. */
export class DeferredCompletions {
  /** XPT_SCSI_IO CCBs handed back unstarted whose completion has not run yet. */
  readonly givenBack = new ActiveCcbs<GivenBack>();
  readonly #owed = new Set<Owed>();
  readonly #sim: CompleteCcb;

  constructor(sim: CompleteCcb) {
    this.#sim = sim;
  }

  /** Completes `ccb` with `status` on a later turn. */
  later(ccb: Ccb, status: number, scsiStatus?: number): void {
    const owed: Owed = { ccb, status, scsiStatus };
    this.#owed.add(owed);
    setImmediate(() => {
      this.#pay(owed);
    });
  }

  /** Completes `ccb` CAM_REQ_CMP once `settled` resolves (a task-set abort waiting for what it aborted). */
  after(ccb: Ccb, settled: Promise<void>): void {
    const owed: Owed = { ccb, status: CamStatus.REQ_CMP, scsiStatus: undefined };
    this.#owed.add(owed);
    void settled.then(() => {
      this.#pay(owed);
    });
  }

  /**
   * Hands `ccb` back unstarted with `status` on a later turn. Until then it is
   * neither at the SIM nor waiting in the device queue, so it is kept in
   * `givenBack`; if an abort marks it meanwhile, it completes as the abort says.
   */
  giveBack(ccb: ScsiIoCcb, status: number, scsiStatus?: number): void {
    const entry: GivenBack = { ccb, index: -1, seq: 0, aborted: undefined };
    this.givenBack.add(entry);
    setImmediate(() => {
      // Gone: detach completed it.
      if (!this.givenBack.delete(entry)) return;
      if (entry.aborted === undefined) {
        this.#sim.finish(ccb, status, scsiStatus);
        return;
      }
      this.#sim.finishAborted(entry);
      settleAborts(entry);
    });
  }

  /** For detach: completes every CCB owed CAM_DEV_NOT_THERE now; their later turns do nothing. */
  failAll(): void {
    for (const e of this.givenBack.clear()) {
      this.#sim.finish(e.ccb, CamStatus.DEV_NOT_THERE);
      settleAborts(e);
    }
    for (const owed of [...this.#owed]) {
      this.#owed.delete(owed);
      this.#sim.finish(owed.ccb, CamStatus.DEV_NOT_THERE);
    }
  }

  #pay(owed: Owed): void {
    // Gone: detach completed it.
    if (this.#owed.delete(owed)) this.#sim.finish(owed.ccb, owed.status, owed.scsiStatus);
  }
}
