// Which READ and WRITE (10)/(16) the emulator's fast path (fast-path.ts) may
// answer in place of the generic command steps (command-steps.ts), and the
// range lock hold it then runs under. A module of its own because it is a
// promise kept to two others: it admits a command only when every check the
// generic path makes (command-steps.ts, then the READ/WRITE handler in
// handlers-rw.ts, in their order) would pass, so that the two paths answer
// alike; what it declines, the generic path answers, faults included.
// Spec: SAM-5 (a pending unit attention or deferred error is reported to the
// nexus's next command, which a command re-issued after a reset is not),
// SBC-4 READ/WRITE.

import type { ReadWriteFields } from '../cdb/rw.js';
import { lbaRangeFault, writeProtectFault } from './checks.js';
import type { LogicalUnit } from './context.js';
import type { NexusState } from './nexus-state.js';
import type { RangeHold } from './range-lock.js';

/**
 * The range lock's hold for `rw` in the ordinary case — nearly all I/O:
 * nothing pending for the I_T nexus (`nexus`, undefined before its first
 * command) unless the command is `reissued` after a device reset (what is
 * pending is not its to report, ExecuteOptions.reissued), the unit started,
 * no sanitize, no reservation, no FUA write, every check of the READ/WRITE
 * handler passed, the whole Data-Out there (`need` bytes), the range lock
 * free at once. Undefined otherwise: the generic path then answers the
 * command, exactly as it always does.
 */
export function fastPathHold(lu: LogicalUnit, nexus: NexusState | undefined, rw: ReadWriteFields, need: number, dataOut: Uint8Array, reissued: boolean): RangeHold | undefined {
  if (nexus === undefined || (!reissued && (nexus.unitAttentions.length > 0 || nexus.deferred.length > 0))) return undefined;
  // A reservation: the generic path decides whether the command conflicts.
  if (lu.stopped || lu.sanitizer.active || lu.reservations.reserved) return undefined;
  if (rw.blocks === 0 || (rw.write && rw.fua)) return undefined;
  // The handler's checks (handlers-rw.ts), in its order; a fault is the generic path's to report.
  if (rw.write && writeProtectFault(lu) !== undefined) return undefined;
  if (lbaRangeFault(lu, rw.lba, rw.blocks) !== undefined || rw.blocks > lu.maxTransferBlocks) return undefined;
  if (dataOut.length < need) return undefined;
  return lu.locks.tryHold(rw.lba, rw.blocks, false);
}
