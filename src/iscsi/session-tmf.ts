// What a session's Task Management Function Request does (RFC 7143 §11.5.1,
// SAM-5 task management functions): which tasks each function covers, the
// wait for the Data-Out its sender still owes them (tmf.ts awaitOwedData),
// the logical unit's part through CAM, and the response code. Also the
// session's tasks as a function takes them, one of its own session's or of
// another, or a preemption (Session.tasksOn, TaskSnapshot), and how each
// ends, as whose action aborts it and its unit's TAS say. Its own module: it
// runs only for the rare function, apart from the session's command path,
// and reaches the session through the few parts a TmfScope gives it. The
// session orders the request by CmdSN and holds back new commands to a task
// set while a function acts on it (session.ts #fences); a command so held
// back was received all the same (ExpCmdSN moved past it), so the functions
// that come after it cover it, and end it before it ever runs.

import { snLe, snLt } from './serial.js';
import { lunNumber } from './nexus.js';
import type { TaskMgmtRequestPdu } from './pdu-types.js';
import type { ScsiTask } from './task.js';
import type { TaskAbortEnd } from './task-types.js';
import type { SessionHost } from './session-types.js';
import { TmfFunction, TmfResponse, awaitOwedData, type AbortedBy, type TaskSnapshot } from './tmf.js';

/** What a task management function acts through: its session's parts (the session makes one, once). */
export interface TmfScope {
  readonly host: SessionHost;
  /** The session's started tasks, by ITT. */
  readonly tasks: ReadonlyMap<number, ScsiTask>;
  /** The session's tasks held back behind a task-set function (Session #deferred), in the order they came: delivered, not started. */
  readonly deferred: () => readonly ScsiTask[];
  /**
   * Ends `task`, if it is still held back, as `end` says, before it ever runs, and gives its place in the window
   * back; false when it is not held (it has started since, or ended).
   */
  readonly endDeferred: (task: ScsiTask, end: TaskAbortEnd) => boolean;
  readonly expCmdSN: () => number;
  readonly maxCmdSN: () => number;
  /** Takes the PDU with this CmdSN as received without running anything for it, and delivers those after it that wait. */
  readonly skip: (cmdSN: number) => void;
}

/**
 * Session.tasksOn: the tasks of session `s` on LUN `lun` (undefined: every LUN) as of now, or only those that
 * have not reached the logical unit ('before-unit'): its started tasks and those it holds back behind a
 * task-set function, which are in the task set too (RFC 7143 §4.2.3: received before the function) and have
 * not reached the unit; end(by) aborts each as abortEndOf says.
 */
export function snapshotTasks(s: TmfScope, lun: number | undefined, only?: 'before-unit'): TaskSnapshot {
  const onLun = (t: ScsiTask): boolean => lun === undefined || lunNumber(t.lun) === lun;
  const started = [...s.tasks.values()].filter((t) => onLun(t) && (only === undefined || t.beforeUnit));
  const deferred = s.deferred().filter(onLun);
  const hit = [...started, ...deferred];
  return {
    get awaitsData() {
      return hit.some((t) => t.beforeUnit) || deferred.some((t) => s.deferred().includes(t));
    },
    hold: () => {
      const owed = hit.flatMap((t) => t.hold() ?? []);
      return owed.length === 0 ? undefined : Promise.all(owed).then(() => undefined);
    },
    end: async (by) => {
      // One held back when the snapshot was taken may have started since (its own session's function ended
      // meanwhile): it was received before this function all the same, and is aborted as a started one is.
      for (const t of hit) {
        const end = abortEndOf(s.host, t.lun, by);
        if (!s.endDeferred(t, end)) t.abort(end);
      }
      await Promise.all(hit.map((t) => t.done));
    },
  };
}

/** How a task on LUN field `lun` of a session of `host` that `by` aborts ends. */
export function abortEndOf(host: SessionHost, lun: bigint, by: AbortedBy): TaskAbortEnd {
  if (by !== 'another-session') return 'no-status';
  const n = lunNumber(lun);
  return n !== undefined && host.lun(n)?.taskAbortedStatus === true ? 'task-aborted' : 'no-status';
}

/** The sender's Data-Out owed to `mine` before a function acts on them (awaitOwedData), with this session's bound. */
function awaitSendersData(s: TmfScope, mine: TaskSnapshot): Promise<void> {
  return awaitOwedData(mine, s.host.dataOutTimeoutMs, (reason) => {
    s.host.drop(reason);
  });
}

/** Carries out the function `req` asks for; resolves with the Response field of its response (§11.6.1). */
export async function performTmf(req: TaskMgmtRequestPdu, s: TmfScope): Promise<number> {
  const fn = req.function;
  if (fn === TmfFunction.TASK_REASSIGN) return TmfResponse.REASSIGNMENT_NOT_SUPPORTED;
  if (fn === TmfFunction.CLEAR_ACA) return TmfResponse.NOT_SUPPORTED;
  if (fn === TmfFunction.TARGET_WARM_RESET || fn === TmfFunction.TARGET_COLD_RESET) {
    // A warm reset is a LOGICAL UNIT RESET of every LUN (SAM-5); a cold one is a power on as well, which
    // ends every session's connection after this response: their tasks end without responses.
    const mine = snapshotTasks(s, undefined);
    const others = s.host.othersTasks(undefined);
    await awaitSendersData(s, mine);
    await mine.end('this-session');
    await others.end(fn === TmfFunction.TARGET_COLD_RESET ? 'power-on' : 'another-session');
    await Promise.all(s.host.luns.flatMap((n) => s.host.lun(n)?.reset() ?? []));
    if (fn === TmfFunction.TARGET_COLD_RESET) s.host.coldReset();
    return TmfResponse.COMPLETE;
  }
  const n = lunNumber(req.lun);
  const lun = n === undefined ? undefined : s.host.lun(n);
  if (n === undefined || lun === undefined) return TmfResponse.LUN_DOES_NOT_EXIST;
  switch (fn) {
    case TmfFunction.ABORT_TASK: {
      const rtt = req.referencedTaskTag;
      const task = s.tasks.get(rtt) ?? s.deferred().find((t) => t.itt === rtt);
      if (task !== undefined && lunNumber(task.lun) === n) {
        // One held back behind a task-set function was received, so it exists (§11.5.1): withdrawn, it never runs.
        if (!s.endDeferred(task, 'no-status')) task.abort();
        await task.done;
        return TmfResponse.COMPLETE;
      }
      // §11.5.1: a referenced command not received yet — RefCmdSN inside the window and before the TMF's own
      // CmdSN — is considered received (it will never run) and the abort is complete. One received and
      // already finished no longer exists.
      const ref = req.refCmdSN;
      if (snLe(s.expCmdSN(), ref) && snLe(ref, s.maxCmdSN()) && snLt(ref, req.cmdSN)) {
        s.skip(ref);
        return TmfResponse.COMPLETE;
      }
      return TmfResponse.TASK_DOES_NOT_EXIST;
    }
    // SAM-5: the logical unit aborts the commands it holds — without a device reset, and telling the other
    // I_T nexuses as its TAS says (CLEAR TASK SET) — then the tasks that have not reached it end here: the
    // sender's without responses, the other sessions' as the same TAS says. The tasks covered are those
    // received before the function (RFC 7143 §4.2.3, affected tasks): taken before the sender's Data-Out
    // and the unit are waited for, so a command that arrives meanwhile is left alone.
    case TmfFunction.ABORT_TASK_SET: {
      const mine = snapshotTasks(s, n);
      await awaitSendersData(s, mine);
      await lun.abortTaskSet();
      await mine.end('this-session');
      return TmfResponse.COMPLETE;
    }
    // The other sessions' tasks that have not reached the unit are named as it clears: with TAS 0 their
    // I_T nexuses get COMMANDS CLEARED BY ANOTHER INITIATOR as the unit's own do (SAM-5, SPC-5 Control mode page).
    case TmfFunction.CLEAR_TASK_SET: {
      const mine = snapshotTasks(s, n);
      const others = s.host.othersTasks(n);
      await awaitSendersData(s, mine);
      await lun.clearTaskSet(others.awaitingData);
      await mine.end('this-session');
      await others.end('another-session');
      return TmfResponse.COMPLETE;
    }
    case TmfFunction.LOGICAL_UNIT_RESET: {
      const mine = snapshotTasks(s, n);
      const others = s.host.othersTasks(n);
      await awaitSendersData(s, mine);
      await mine.end('this-session');
      await others.end('another-session');
      await lun.reset();
      return TmfResponse.COMPLETE;
    }
    default:
      return TmfResponse.NOT_SUPPORTED;
  }
}
