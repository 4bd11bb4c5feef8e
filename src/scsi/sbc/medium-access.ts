// Whether the SBC emulator's logical unit can access its medium now, and if
// not, what a command that needs the medium is answered with (also what
// REQUEST SENSE reports when nothing else is pending). Spec: SBC-4 (sanitize
// operations, START STOP UNIT, removable medium), SPC-5 (REQUEST SENSE).

import { Asc, senseNotReady, type SenseData } from '../sense.js';
import type { LogicalUnit } from './context.js';
import { MEDIUM_NOT_PRESENT } from './medium.js';
import { SANITIZE_FAILED } from './sanitize.js';

/** NOT READY, LOGICAL UNIT NOT READY, INITIALIZING COMMAND REQUIRED (04h/02h): the unit is stopped. */
const NOT_READY_STOPPED = senseNotReady(Asc.LOGICAL_UNIT_NOT_READY_INITIALIZING_COMMAND_REQUIRED);

/**
 * Why medium access on `lu` is refused now, or undefined, in this order: a
 * sanitize runs (04h/1Bh), no medium (3Ah/00h), the sanitize failure mode
 * (MEDIUM ERROR 31h/03h), stopped (04h/02h).
 */
export function mediumAccessFault(lu: Pick<LogicalUnit, 'sanitizer' | 'medium' | 'stopped'>): SenseData | undefined {
  const sanitizing = lu.sanitizer.inProgress();
  if (sanitizing !== undefined) return sanitizing;
  if (!lu.medium.loaded) return MEDIUM_NOT_PRESENT;
  if (lu.sanitizer.active) return SANITIZE_FAILED;
  return lu.stopped ? NOT_READY_STOPPED : undefined;
}
