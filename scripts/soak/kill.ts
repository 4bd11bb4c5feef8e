// --kill-at: durability across a SIGKILL of the target. SYNCHRONIZE CACHE
// answered GOOD says every write completed before it is on the medium (SBC-4
// SYNCHRONIZE CACHE (10)), so it survives the target's death. The soak takes a
// snapshot of the model (a READ of the whole disk, ShadowDisk.readSent) just
// before sending SYNCHRONIZE CACHE on a session of its own, while the workload
// goes on; once it is answered GOOD, and a random moment later, the target is
// killed. After the restart each block may hold what the snapshot allowed —
// which rules out what a write answered GOOD before the snapshot overwrote —
// or the data of any write sent after it, landed or not.
//
// That SYNCHRONIZE CACHE goes without IMMED: with IMMED, GOOD comes before the
// flush ends (SBC-4), so it is no durability point. The workload's own
// SYNCHRONIZE CACHEs, ORDERED or with IMMED included, add none either: one
// answered GOOD before the snapshot covers only writes settled before it, which
// the snapshot already holds, and the check takes none sent after it.

import { classify, syncCache10Cdb } from './scsi.js';
import type { Session } from './session.js';
import type { ReadRecord, ShadowDisk } from './shadow.js';

/** Tries before the soak gives up on a GOOD SYNCHRONIZE CACHE (each answer that it was not executed is one). */
const SYNC_ATTEMPTS = 10;

export interface KillOutcome {
  /** What the disk may hold after the restart, to check with ShadowDisk.readDone. */
  readonly snapshot: ReadRecord;
  readonly delayMs: number;
}

/**
 * Sends SYNCHRONIZE CACHE (10) on `s` until it is answered GOOD, waits `delayMs`, then calls `kill`; resolves with
 * the snapshot taken before the GOOD one was sent, or a reason when no SYNCHRONIZE CACHE was answered GOOD.
 */
export async function killAfterSync(s: Pick<Session, 'send'>, shadow: ShadowDisk, delayMs: number, kill: () => void): Promise<KillOutcome | string> {
  let last = 'not sent';
  for (let i = 0; i < SYNC_ATTEMPTS; i++) {
    const snapshot = shadow.readSent(0, shadow.blocks);
    const res = await (await s.send({ cdb: syncCache10Cdb(false), label: 'SYNCHRONIZE CACHE (10) before the kill' }))?.result;
    if (res?.kind === 'status' && res.status === 0) {
      await new Promise((r) => setTimeout(r, delayMs));
      kill();
      return { snapshot, delayMs };
    }
    shadow.readDropped(snapshot);
    if (res?.kind !== 'status') return `SYNCHRONIZE CACHE (10) before the kill: ${res?.kind ?? 'not sent'}`;
    const { name, outcome } = classify(res.status, res.sense);
    last = name;
    if (outcome !== 'not-done' && outcome !== 'unknown') return `SYNCHRONIZE CACHE (10) before the kill: ${name}`;
  }
  return `SYNCHRONIZE CACHE (10) before the kill: ${last} ${SYNC_ATTEMPTS} times`;
}
