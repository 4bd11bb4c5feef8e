// SBC-4 commands that start, stop, load and eject the medium: START STOP UNIT
// and PREVENT ALLOW MEDIUM REMOVAL. The medium state (loaded, preventions per
// I_T nexus) is in medium.ts; `stopped` is the unit's.

import { PowerCondition } from '../cdb/misc.js';
import { GOOD, checkCondition, type CommandOutcome, type HandlerTable, type IssueEpoch, type LogicalUnit } from './context.js';
import { UnitAttention } from './errors.js';
import type { OperationAborted } from './block-command-set.js';
import { MEDIUM_NOT_PRESENT, MEDIUM_REMOVAL_PREVENTED } from './medium.js';

/**
 * The flush that precedes a stop (NO_FLUSH 0). With IMMED the command has
 * already answered, so a failure becomes a deferred error for the nexus
 * (background-flush.ts). Without IMMED it carries the command's abort check:
 * a FLUSH held back when the command is aborted ends unsent, and the unit
 * does not stop.
 */
async function flushBeforeStop(lu: LogicalUnit, since: IssueEpoch, immed: boolean, nexus: string, aborted: OperationAborted): Promise<CommandOutcome | undefined> {
  if (!lu.geometry.flush) return undefined;
  if (immed) {
    lu.backgroundFlush.request(nexus);
    return undefined;
  }
  const failed = await lu.run(since, 'flush', () => lu.bcs.flush(aborted));
  return failed === undefined ? undefined : checkCondition(failed);
}

export const MEDIUM_HANDLERS: HandlerTable = {
  // SBC-4 START STOP UNIT. START 0 flushes (unless NO_FLUSH) and stops the
  // unit: medium access is then NOT READY, INITIALIZING COMMAND REQUIRED until
  // START 1, as a disk spun down would answer. LOEJ with START 0 also unloads
  // the medium of a removable unit (medium access is then NOT READY, MEDIUM NOT
  // PRESENT), LOEJ with START 1 loads it; both are refused with MEDIUM REMOVAL
  // PREVENTED while a prevention is in effect. A fixed disk has nothing to
  // eject and ignores LOEJ, as QEMU and tgt do. A POWER CONDITION other than
  // START_VALID (0h) ignores START and LOEJ (SBC-4); a virtual disk has no
  // power states to move between, so it changes nothing (the decoder has
  // already refused the reserved values). IMMED answers once the state has
  // changed, before the flush ends; a failed flush is then a deferred error.
  startStopUnit: {
    medium: false,
    run: async (lu, { fields, nexus, epoch, aborted }) => {
      if (fields.powerCondition !== PowerCondition.START_VALID) return GOOD;
      const loej = fields.loej && lu.medium.removable;
      if (loej && lu.medium.prevented) return checkCondition(MEDIUM_REMOVAL_PREVENTED);
      if (fields.start) {
        // Nothing to spin up without a medium: `stopped` stays true while there is none.
        if (!loej && !lu.medium.loaded) return checkCondition(MEDIUM_NOT_PRESENT);
        if (loej && !lu.medium.loaded) {
          lu.medium.setLoaded(true);
          // SPC-5: the other I_T nexuses learn that the medium may have changed.
          lu.raiseUnitAttention(UnitAttention.NOT_READY_TO_READY_CHANGE, nexus);
        }
        lu.stopped = false;
        return GOOD;
      }
      if (!fields.noFlush && lu.medium.loaded) {
        const failed = await flushBeforeStop(lu, epoch, fields.immed, nexus, aborted);
        if (failed !== undefined) return failed;
      }
      lu.stopped = true;
      if (loej) lu.medium.setLoaded(false);
      return GOOD;
    },
  },

  // SBC-4 PREVENT ALLOW MEDIUM REMOVAL: on a removable unit, PREVENT 01b keeps
  // the medium in until this I_T nexus sends PREVENT 00b (or is lost, or has
  // its registration preempted or cleared, or the unit is reset); on a fixed
  // disk nothing can be removed and the state has no effect (SBC-4 allows that
  // for RMB 0). Works without a medium.
  preventAllow: {
    medium: false,
    run: (lu, { fields, nexus }) => {
      lu.medium.setPrevent(nexus, fields.prevent === 1);
      return GOOD;
    },
  },
};
