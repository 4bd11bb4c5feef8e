// XPT_REL_SIMQ on one device queue (FreeBSD cam_xpt.c, XPT_REL_SIMQ in
// xpt_action_default): which requests are valid, the openings
// RELSIM_ADJUST_OPENINGS sets, and whether the freezes the request hands over
// are released now or owned by a pending release until its condition (a
// timeout, the next completion, the queue emptying). Its own module because
// only a periph recovering from an error sends it, never the I/O path; the
// freeze counts and pending releases are freeze.ts, the queue devq.ts.

import { RelSim } from './ccb.js';
import { CamStatus } from './status.js';
import { RELEASE_CONDITIONS, type Freezes } from './freeze.js';
import type { RelSimRequest } from './devq-api.js';

/**
 * Applies `req` to the device queue whose freezes are `freezes` (`idle`:
 * nothing of it is active). CAM_REQ_INVALID, with nothing changed, for
 * openings below 1, a release count the caller does not hold (more than the
 * freezes no pending release owns) or a bad timeout; otherwise CAM_REQ_CMP,
 * after `adjust` got the new openings (RELSIM_ADJUST_OPENINGS) and the freezes
 * were released or handed to a pending release.
 */
export function applyRelSim(req: RelSimRequest, freezes: Freezes, idle: boolean, adjust: (openings: number) => void): CamStatus {
  const adjusting = (req.releaseFlags & RelSim.ADJUST_OPENINGS) !== 0;
  if (adjusting && !(Number.isInteger(req.openings) && req.openings >= 1)) return CamStatus.REQ_INVALID;
  const count = req.releaseCount;
  if (!Number.isInteger(count) || count < 0 || count > freezes.free) return CamStatus.REQ_INVALID;
  const when = req.releaseFlags & RELEASE_CONDITIONS;
  const timed = (when & RelSim.RELEASE_AFTER_TIMEOUT) !== 0;
  if (timed && !(Number.isFinite(req.releaseTimeoutMs) && req.releaseTimeoutMs >= 0)) return CamStatus.REQ_INVALID;
  if (adjusting) adjust(req.openings);
  // With nothing active, "after the queue empties" has happened, and "after
  // the next completion" alone never would: both release now.
  const now = when === 0 || (idle && ((when & RelSim.RELEASE_AFTER_QEMPTY) !== 0 || when === RelSim.RELEASE_AFTER_CMDCMPLT));
  if (count > 0) {
    if (now) freezes.release(count);
    else freezes.releaseLater(count, when, req.releaseTimeoutMs);
  }
  return CamStatus.REQ_CMP;
}
