// The vtblk SIM's XPT function codes besides XPT_SCSI_IO (the Sim contract in
// xpt/sim-api.ts): XPT_PATH_INQ; XPT_ABORT, XPT_RESET_DEV and XPT_RESET_BUS,
// which become recoveries (recovery.ts), but for an XPT_ABORT of a CCB the SIM
// has handed back unstarted (deferred.ts): it has not reached the device, so
// it is only marked, and completes CAM_REQ_ABORTED on its turn instead of
// going back to the device queue, as for PREEMPT AND ABORT (aborts.ts);
// XPT_IT_NEXUS_LOST,
// XPT_ABORT_TASK_SET, XPT_CLEAR_TASK_SET and XPT_TRANSPORT_ABORTED, which go
// to the logical unit (SAM-5 I_T nexus loss and task management); and the
// codes the SIM does not implement. None is on the per-I/O path, so they live
// apart from it (sim.ts), each a few lines over the SIM's recoveries and its
// logical unit. Spec: SAM-5.

import type { SbcEmulator } from '../../../scsi/sbc/emulator.js';
import { CamStatus, XptFunc, type Ccb, type PathInq, type ScsiIoCcb } from '../../xpt/sim-api.js';
import type { ActiveCcbs } from './active.js';
import type { Active } from './entries.js';
import type { Recoveries } from './recovery.js';
import type { DeferredCompletions } from './deferred.js';

/** What the SIM's function codes besides XPT_SCSI_IO act on. */
export interface FunctionScope {
  readonly emulator: SbcEmulator;
  /** The SIM's active XPT_SCSI_IO CCBs (XPT_ABORT looks for its victim there, then among those handed back). */
  readonly active: ActiveCcbs<Active>;
  readonly recoveries: Recoveries;
  /** Completions on a later turn (never from inside action()), which detach settles. */
  readonly deferred: DeferredCompletions;
  /** XPT_PATH_INQ data. */
  pathInq(): PathInq;
}

/** action() for every CCB but XPT_SCSI_IO, while the SIM is running. */
export function otherFunction(ccb: Exclude<Ccb, ScsiIoCcb>, s: FunctionScope): void {
  switch (ccb.func) {
    case XptFunc.PATH_INQ:
      ccb.result = s.pathInq();
      s.deferred.later(ccb, CamStatus.REQ_CMP);
      return;
    case XptFunc.ABORT: {
      const target = ccb.abort;
      const entry = target.func === XptFunc.SCSI_IO ? s.active.get(target) : undefined;
      if (entry !== undefined) {
        s.recoveries.request({ kind: 'abort', victim: { ccb: entry.ccb, status: CamStatus.REQ_ABORTED }, requester: ccb });
        return;
      }
      const back = target.func === XptFunc.SCSI_IO ? s.deferred.givenBack.get(target) : undefined;
      // An abort that marked it already decides how it ends.
      if (back !== undefined) back.aborted ??= [];
      // After its victim, whose turn was set first.
      s.deferred.later(ccb, back === undefined ? CamStatus.UA_ABORT : CamStatus.REQ_CMP);
      return;
    }
    case XptFunc.RESET_DEV:
      s.recoveries.request({ kind: 'reset-dev', requester: ccb });
      return;
    case XptFunc.RESET_BUS:
      s.recoveries.request({ kind: 'reset-bus', requester: ccb });
      return;
    case XptFunc.IT_NEXUS_LOST:
      // SAM-5 I_T nexus loss, to the logical unit: nothing of the device is touched.
      s.emulator.forgetNexus(ccb.initiatorId);
      s.deferred.later(ccb, CamStatus.REQ_CMP);
      return;
    case XptFunc.ABORT_TASK_SET:
    case XptFunc.CLEAR_TASK_SET: {
      // The logical unit names whose commands end, and how (the SIM's TaskAborter, aborts.ts); done once they all have.
      const aborted = ccb.func === XptFunc.ABORT_TASK_SET ? s.emulator.abortTaskSet(ccb.initiatorId) : s.emulator.clearTaskSet(ccb.initiatorId, ccb.transportAborted);
      s.deferred.after(ccb, aborted);
      return;
    }
    case XptFunc.TRANSPORT_ABORTED:
      // News for the logical unit, told before action() returns: nothing is aborted here.
      s.emulator.transportAborted(ccb.initiatorId, ccb.transportAborted);
      s.deferred.later(ccb, CamStatus.REQ_CMP);
      return;
    case XptFunc.NOOP:
    case XptFunc.GDEV_TYPE:
    case XptFunc.GDEV_STATS:
    case XptFunc.SCAN_BUS:
    case XptFunc.SCAN_LUN:
    case XptFunc.REL_SIMQ:
      s.deferred.later(ccb, CamStatus.REQ_INVALID);
      return;
  }
}
