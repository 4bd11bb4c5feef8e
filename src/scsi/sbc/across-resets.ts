// Work that outlives the command that started it and goes on across device
// resets: a sanitize (SBC-4: resets do not stop one) and the flush of an IMMED
// command that has answered GOOD already (background-flush.ts). A device reset
// fails whatever it finds on the ring although nothing failed, so such an
// operation is issued again once the device is back; only what fails without a
// reset, or a device that does not come back, is a failure.

import type { SenseData } from '../sense.js';
import type { BlockCommandSet } from './block-command-set.js';

/**
 * Runs `op` until it succeeds or fails for a reason other than a device reset
 * (BlockCommandSet.resetEpoch moved while it ran, or was odd): then it is
 * issued again once the reset has ended, or fails as it did when the device
 * is gone. A block set that counts no resets runs it once, with no promise
 * step added (a failure is then what the next command hears of, as at once).
 */
export function acrossResets(bcs: BlockCommandSet, op: () => Promise<SenseData | undefined>): Promise<SenseData | undefined> {
  const epoch = bcs.resetEpoch;
  if (epoch === undefined || bcs.afterReset === undefined) return op();
  return op().then(async (failed) => {
    const now = bcs.resetEpoch ?? epoch;
    if (failed === undefined || (now === epoch && now % 2 === 0)) return failed;
    return (await bcs.afterReset?.()) === true ? acrossResets(bcs, op) : failed;
  });
}
