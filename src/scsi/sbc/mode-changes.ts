// MODE SELECT, carried out on the SBC emulator's logical unit: what a
// parameter list the MODE SELECT handler accepted (mode-pages.ts judges it)
// does to the unit and its block device. A WCE change reaches the device,
// after a flush when the write cache goes off; D_SENSE and SWP change on the
// unit; every other I_T nexus gets MODE PARAMETERS CHANGED. One unit's MODE
// SELECTs run one at a time, in arrival order (serial-queue.ts), since each
// reads the mode parameters, may wait for the device, and then changes them.
// One whose command is aborted (ABORT TASK SET, CLEAR TASK SET, PREEMPT AND
// ABORT) while it waits for its turn or for its flush changes nothing (SAM-5
// aborting commands: it stops where it is): waiting for its turn, it gives
// the turn up at once (dropAborted), so the function does not wait for the
// MODE SELECT ahead; its flush, held back behind other commands' writes, ends
// unsent.
// Spec: SPC-5 (MODE SELECT, Control mode page, unit attention), SBC-4
// (Caching mode page), SAM-5 (task attributes, logical unit reset).

import type { SenseData } from '../sense.js';
import type { ModeState } from '../mode-pages.js';
import { STOPPED_BY_ABORT, UnitAttention, blockFailureSense } from './errors.js';
import type { OperationAborted } from './block-command-set.js';
import type { IssueEpoch, LogicalUnit, ModeSelection } from './context.js';
import { SerialQueue } from './serial-queue.js';

/**
 * Sets the unit's own mode parameters to what a MODE SELECT changed, once the
 * device has taken a WCE change: each field of `next` that differs from
 * `from`, and only those, so that one a reset put back to its default while
 * the MODE SELECT waited for a flush stays so (on a device that counts no
 * resets, nothing stops the MODE SELECT then).
 */
export type ModeCommit = (next: ModeState, from: ModeState) => void;

/** One logical unit's MODE SELECTs, applied one at a time in arrival order. */
export class ModeChanges {
  readonly #lu: LogicalUnit;
  readonly #commit: ModeCommit;
  readonly #queue = new SerialQueue();

  /** `lu` is read only when a MODE SELECT comes, so its owner may pass itself while it is being built. */
  constructor(lu: LogicalUnit, commit: ModeCommit) {
    this.#lu = lu;
    this.#commit = commit;
  }

  /** LogicalUnit.changeMode: judged when its turn comes, against the state the MODE SELECTs before it left. */
  change(select: ModeSelection, nexus: string, since: IssueEpoch, aborted: OperationAborted): Promise<SenseData | undefined> {
    return this.#queue.run<SenseData | undefined>(async () => {
      const lu = this.#lu;
      // A device reset since the MODE SELECT began aborted it (see LogicalUnit.run), maybe while it waited
      // its turn: it must not undo the defaults the reset restored. The answer is never delivered.
      if (since !== undefined && lu.bcs.resetEpoch !== since) return blockFailureSense('write-cache', 'io-error');
      if (aborted()) return STOPPED_BY_ABORT;
      const from = lu.modeState();
      const r = select(from);
      if (!r.ok) return r.fault;
      if (!r.value.changed) return undefined;
      const next = r.value.state;
      if (next.wce !== from.wce) {
        // Leaving write-back: what the cache holds must be durable before writes stop being cached.
        if (!next.wce && lu.geometry.flush) {
          const failed = await lu.run(since, 'flush', () => lu.bcs.flush(aborted));
          if (failed !== undefined) return failed;
          if (aborted()) return STOPPED_BY_ABORT;
        }
        const failed = await lu.run(since, 'write-cache', () => lu.bcs.setWriteCache(next.wce));
        if (failed !== undefined) return failed;
      }
      this.#commit(next, from);
      lu.raiseUnitAttention(UnitAttention.MODE_PARAMETERS_CHANGED, nexus);
      return undefined;
    }, { aborted, answer: STOPPED_BY_ABORT });
  }

  /** The MODE SELECTs waiting for their turn whose commands have been aborted answer so at once, changing nothing. */
  dropAborted(): void {
    this.#queue.dropAborted();
  }
}
