// Recovery and config changes of the vtblk SIM. Spec: VIRTIO 1.2 §5.2, SAM-5
// (unit attention).
//
// Recovery (a CCB timed out, XPT_ABORT of an active CCB, XPT_RESET_DEV,
// XPT_RESET_BUS, the driver found the ring broken): virtio-blk cannot cancel one
// request, so every one is the same device reset, one at a time:
//  1. every active CCB is captured: its emulator answer will be ignored, and it
//     is not completed yet, because the device may still own its guest buffers;
//  2. the SIM queue is frozen and the block set fenced (no new requests);
//  3. driver.restart(): the device reset returns once the device no longer
//     touches memory, then every outstanding request is aborted (which frees its
//     buffers) and the device is initialised again;
//  4. the unit is reset (mode parameters, deferred errors) and every I_T nexus
//     gets one unit attention: 29h/03h after XPT_RESET_DEV, 29h/00h otherwise;
//  5. the captured CCBs complete: the timed-out one CAM_CMD_TIMEOUT, the
//     aborted one CAM_REQ_ABORTED, CCBs caught in flight by a broken ring
//     CAM_UNREC_HBA_ERROR, every other one CAM_REQUEUE_REQ (the XPT re-issues
//     it), but for a command whose second execution would not end as one does
//     (COMPARE AND WRITE, PERSISTENT RESERVE OUT, EXTENDED COPY, SANITIZE: the
//     emulator's mayReissue, from the SCSI command table's `once`): the reset
//     may have let part of it through, so it ends with what cut it short,
//     CAM_BDR_SENT after a device reset (XPT_RESET_DEV, XPT_ABORT) and
//     CAM_SCSI_BUS_RESET after a bus reset (XPT_RESET_BUS, a timeout, a
//     broken ring), as the async event of step 6 says (FreeBSD cam.h: "A SCSI
//     BDR msg was sent to target", "SCSI Bus Reset Sent/Received"; aic7xxx
//     completes the commands its bus device reset or bus reset cut short so).
//     Not CAM_REQ_ABORTED: nobody asked for this abort, and a front end
//     answers a CCB someone aborted with no status at all (SAM-5: a reset
//     aborts the task set; the unit attention tells the initiator). No periph
//     retries such a command after either status (periph/errors.ts);
//     then the ABORT/RESET CCBs CAM_REQ_CMP;
//  6. AC_BUS_RESET (timeout, bus reset, broken ring) or AC_SENT_BDR (device
//     reset, abort), and the SIM queue is released.
// A device that fails to initialise again, or whose reset never finishes (the
// transport gives it up, e.g. backend I/O that never ends), is lost: its CCBs
// complete CAM_DEV_NOT_THERE (the victim keeps its timeout), AC_LOST_DEVICE is
// reported, and buffers the device may still write stay quarantined.
//
// CCBs that PREEMPT AND ABORT or task management aborted end as their abort
// said, even in a recovery (aborts.ts).
//
// A CCB given back for re-issue is marked (ScsiIoCcb.reissued): its command
// was received before the reset, and its first run may have reached the
// medium, so run again it is not the initiator's next command and leaves step
// 4's unit attention pending for that one (SAM-5 unit attention condition).
// Answered UNIT ATTENTION, which says it was not executed, it would have the
// initiator believe the medium holds what it held before.
//
// The emulator's execution of a captured command does not stop by itself: its
// answer is ignored, and a reset fails what it has on the ring, but it may be
// between two block operations (waiting for a range lock, say) until after
// the reset. Each of its later operations finds the block set's reset epoch
// moved since the command began and fails without reaching the device
// (LogicalUnit.run), so the re-issued CCB is the only one acting.

import type { SbcEmulator } from '../../../scsi/sbc/emulator.js';
import { UnitAttention } from '../../../scsi/sbc/errors.js';
import type { VirtioBlkDriver } from '../../../virtio/blk-driver.js';
import { AsyncCode, CAM_LUN_WILDCARD, CAM_TARGET_WILDCARD, CamStatus, type CamPath, type Ccb, type ScsiIoCcb, type SimHandle } from '../../xpt/sim-api.js';
import type { ActiveCcbs } from './active.js';
import { settleAborts } from './aborts.js';
import type { Active, Recovery } from './entries.js';
import type { VirtioBlockCommandSet } from './translate.js';

type RecoveryKind = 'timeout' | 'abort' | 'reset-dev' | 'reset-bus' | 'broken';

/** What a recovery is asked for. */
export interface RecoveryRequest {
  readonly kind: RecoveryKind;
  /** The CCB the recovery is for (timeout, abort) and what it completes with. */
  readonly victim?: { readonly ccb: ScsiIoCcb; readonly status: number };
  /** The XPT_ABORT / XPT_RESET_* CCB to complete when done. */
  readonly requester?: Ccb;
}

/** The SIM's life: it answers CAM_DEV_NOT_THERE once its device is lost or it is detached. */
export type SimState = 'running' | 'lost' | 'detached';

/**
 * The SIM as its recovery sees it. The state the SIM's I/O path reads (the
 * recovery running, the SIM's life) stays in the SIM's own fields, so that
 * path pays nothing for the split; the recovery reaches it through these.
 */
export interface RecoveryHost {
  readonly driver: VirtioBlkDriver;
  readonly bcs: VirtioBlockCommandSet;
  readonly emulator: SbcEmulator;
  readonly active: ActiveCcbs<Active>;
  /** The recovery running; while there is one, the SIM hands new CCBs back (CAM_REQUEUE_REQ). */
  readonly recovery: () => Recovery | undefined;
  readonly setRecovery: (rec: Recovery | undefined) => void;
  readonly state: () => SimState;
  /** The device did not come back: the SIM is lost from now on. */
  readonly lose: () => void;
  /** The XPT handle, if bound. */
  readonly handle: () => SimHandle | undefined;
  /** The XPT handle; throws when the SIM is not bound. */
  readonly bound: () => SimHandle;
  /** The SIM's one path (target 0, LUN 0). */
  readonly path: () => CamPath;
  /** Completes a CCB with a CAM status and no SCSI data. */
  readonly finish: (ccb: Ccb, status: number) => void;
  /** Completes an aborted CCB as its abort said. */
  readonly finishAborted: (e: Active) => void;
}

/** What a recovery reports, and what it completes the CCBs it cut short and may not re-issue with (step 5). */
interface RecoveryReport {
  readonly async: AsyncCode;
  readonly cutShort: CamStatus;
}

const BUS_RESET: RecoveryReport = { async: AsyncCode.BUS_RESET, cutShort: CamStatus.SCSI_BUS_RESET };
const SENT_BDR: RecoveryReport = { async: AsyncCode.SENT_BDR, cutShort: CamStatus.BDR_SENT };

const REPORT_OF: Readonly<Record<RecoveryKind, RecoveryReport>> = {
  timeout: BUS_RESET,
  'reset-bus': BUS_RESET,
  broken: BUS_RESET,
  abort: SENT_BDR,
  'reset-dev': SENT_BDR,
};

/** The recoveries of one SIM, run one at a time (see the file header), and its config changes. */
export class Recoveries {
  readonly #host: RecoveryHost;
  #recovered: Promise<void> = Promise.resolve();
  readonly #pending: RecoveryRequest[] = [];
  #readOnly: boolean;

  constructor(host: RecoveryHost) {
    this.#host = host;
    this.#readOnly = host.bcs.readOnly;
  }

  /** Settles once the recoveries started so far have ended. */
  get settled(): Promise<void> {
    return this.#recovered;
  }

  /** Starts a recovery, or queues it behind the one running (one running for the same victim takes its requester). */
  request(req: RecoveryRequest): void {
    const current = this.#host.recovery();
    if (current !== undefined) {
      const captured = req.victim === undefined ? undefined : this.#host.active.get(req.victim.ccb);
      if (req.victim !== undefined && captured?.captured === current) {
        // An aborted CCB ends as its abort said (#finishAborted), not with a timeout's status.
        if (captured.aborted === undefined) captured.final = req.victim.status;
        if (req.requester !== undefined) current.requesters.push(req.requester);
        return;
      }
      // A reset in progress already repairs a broken ring.
      if (req.kind !== 'broken') this.#pending.push(req);
      return;
    }
    this.#recovered = this.#recover(req);
  }

  /** For detach: takes the ABORT/RESET CCBs of the recovery running and of those queued, which it completes. */
  takeRequesters(): Ccb[] {
    return [...(this.#host.recovery()?.requesters.splice(0) ?? []), ...this.#pending.splice(0).flatMap((r) => (r.requester === undefined ? [] : [r.requester]))];
  }

  async #recover(req: RecoveryRequest): Promise<void> {
    const host = this.#host;
    if (req.victim !== undefined && !host.active.has(req.victim.ccb)) {
      // The CCB completed before its turn came: nothing left to abort or time out.
      if (req.requester !== undefined) host.finish(req.requester, CamStatus.UA_ABORT);
      return this.#nextRecovery();
    }
    // A PREEMPT AND ABORT waiting for its aborts has nothing on the ring: it goes on, unless it is the victim.
    const entries = [...host.active.values()].filter((e) => e.awaits === undefined || e.ccb === req.victim?.ccb);
    const rec: Recovery = { entries, requesters: req.requester === undefined ? [] : [req.requester] };
    for (const e of rec.entries) {
      e.captured = rec;
      // An aborted CCB is not re-issued, and ends as its abort said even as the victim.
      e.final = e.aborted !== undefined ? CamStatus.REQ_ABORTED : req.victim?.ccb === e.ccb ? req.victim.status : CamStatus.REQUEUE_REQ;
    }
    host.setRecovery(rec);
    const handle = host.bound();
    handle.freezeSimq(1);
    host.bcs.fence();
    const failed = await host.driver.restart();
    host.setRecovery(undefined);
    if (host.state() === 'detached') {
      // detach() completed everything; only the freeze is left to drop.
      handle.releaseSimq(1, false);
      return;
    }
    const path = host.path();
    if (failed !== undefined) {
      // Stays fenced: a device lost in its reset may still write the quarantined buffers.
      host.bcs.deviceLost();
      host.lose();
      this.#completeCaptured(rec, (e) => (e.final === CamStatus.REQUEUE_REQ ? CamStatus.DEV_NOT_THERE : e.final), CamStatus.REQ_CMP_ERR);
      for (const p of this.#pending.splice(0)) if (p.requester !== undefined) host.finish(p.requester, CamStatus.DEV_NOT_THERE);
      handle.async(AsyncCode.LOST_DEVICE, path, failed.reason);
      handle.releaseSimq(1, true);
      return;
    }
    host.bcs.unfence();
    const roChanged = host.bcs.readOnly !== this.#readOnly;
    this.#readOnly = host.bcs.readOnly;
    // A config change that came during the recovery was not acted on (configChanged waits for it): the
    // reset's unit attention covers the initiator, but the XPT must still re-read what changed.
    const changed = host.emulator.refreshGeometry() || roChanged;
    host.emulator.resetLogicalUnit();
    if (req.kind !== 'reset-dev') host.emulator.raiseUnitAttention(UnitAttention.POWER_ON_RESET);
    // A command that must not run twice is not re-issued: the reset may have let part of it through (step 5).
    const report = REPORT_OF[req.kind];
    this.#completeCaptured(rec, (e) => (e.final === CamStatus.REQUEUE_REQ && !host.emulator.mayReissue(e.ccb.cdb) ? report.cutShort : e.final), CamStatus.REQ_CMP);
    const code = report.async;
    // A bus reset concerns the whole bus (wildcard target and LUN), a device reset the device.
    handle.async(code, code === AsyncCode.BUS_RESET ? { bus: handle.bus, target: CAM_TARGET_WILDCARD, lun: CAM_LUN_WILDCARD } : path);
    if (changed) handle.async(AsyncCode.GETDEV_CHANGED, path);
    handle.releaseSimq(1, true);
    return this.#nextRecovery();
  }

  /** Completes a recovery's CCBs: its victim first, then the rest, then the CCBs that asked for it. */
  #completeCaptured(rec: Recovery, status: (e: Active) => number, requesterStatus: number): void {
    const host = this.#host;
    const order = [...rec.entries].sort((a, b) => Number(b.final !== CamStatus.REQUEUE_REQ) - Number(a.final !== CamStatus.REQUEUE_REQ));
    for (const e of order) {
      if (!host.active.delete(e)) continue;
      if (e.aborted === undefined) {
        const s = status(e);
        // Run again, it is the command the reset caught, not the initiator's next one (see the file header).
        if (s === CamStatus.REQUEUE_REQ) e.ccb.reissued = true;
        host.finish(e.ccb, s);
      } else host.finishAborted(e);
      settleAborts(e);
    }
    for (const r of rec.requesters.splice(0)) host.finish(r, requesterStatus);
  }

  #nextRecovery(): Promise<void> {
    const next = this.#pending.shift();
    return next === undefined ? Promise.resolve() : this.#recover(next);
  }

  /** Capacity, write cache or write protection changed (VIRTIO 1.2 §5.2.4, config change notification). */
  configChanged(): void {
    const host = this.#host;
    if (host.state() !== 'running' || host.recovery() !== undefined) return;
    if (host.driver.broken !== undefined) {
      this.request({ kind: 'broken' });
      return;
    }
    const readOnly = host.bcs.readOnly;
    const roChanged = readOnly !== this.#readOnly;
    this.#readOnly = readOnly;
    const changed = host.emulator.refreshGeometry();
    // Write protection is the WP bit of the mode parameter header.
    if (roChanged) host.emulator.raiseUnitAttention(UnitAttention.MODE_PARAMETERS_CHANGED);
    const handle = host.handle();
    if ((changed || roChanged) && handle !== undefined) handle.async(AsyncCode.GETDEV_CHANGED, host.path());
  }
}
