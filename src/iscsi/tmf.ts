// Task management (RFC 7143 §4.2.3, §11.5, §11.6): the function codes and
// responses, the tasks a function covers as a session hands them over
// (TaskSnapshot, OthersTasks), and the wait for the Data-Out the sender still
// owes them before the function acts.

/** Function field of the Task Management Function Request (§11.5.1). */
export const TmfFunction = {
  ABORT_TASK: 1,
  ABORT_TASK_SET: 2,
  CLEAR_ACA: 3,
  CLEAR_TASK_SET: 4,
  LOGICAL_UNIT_RESET: 5,
  TARGET_WARM_RESET: 6,
  TARGET_COLD_RESET: 7,
  TASK_REASSIGN: 8,
} as const;

/** Response field of the Task Management Function Response (§11.6.1). */
export const TmfResponse = {
  COMPLETE: 0,
  TASK_DOES_NOT_EXIST: 1,
  LUN_DOES_NOT_EXIST: 2,
  TASK_STILL_ALLEGIANT: 3,
  REASSIGNMENT_NOT_SUPPORTED: 4,
  NOT_SUPPORTED: 5,
  AUTHORIZATION_FAILED: 6,
  REJECTED: 255,
} as const;

/**
 * Whose action aborts a session's tasks, which decides how each ends (SAM-5
 * aborting commands): the session's own task management — no response;
 * another session's — TASK ABORTED status when the unit's TAS is 1, else no
 * response; a power on (TARGET COLD RESET, RFC 7143 §11.5.1) — no response,
 * as the connections end.
 */
export type AbortedBy = 'this-session' | 'another-session' | 'power-on';

/**
 * Tasks as a task management function found them when it arrived: those it
 * covers. A command that comes in while the function waits for the logical
 * unit is not one of them (RFC 7143 §4.2.3, affected tasks: those received
 * before the function), and must not be aborted by it.
 */
export interface TaskSnapshot {
  /**
   * Whether one of them, now, has not reached the logical unit: it waits for Data-Out (a task runs there as
   * soon as its data is complete and its port admits it, task.ts), for older tasks (task-set-order.ts), for
   * its port to admit it (preempt-gate.ts), for a task-set function of its session to end (held back before
   * it started, Session #deferred), or a task management function holds it. Such a task is in the unit's
   * task set all the same (SAM-5: the target holds that part of it).
   */
  readonly awaitsData: boolean;
  /**
   * Holds those that have not reached the logical unit (ScsiTask.hold: no further R2T, not executed); resolves
   * once the R2Ts they had outstanding have all been answered up to their F bits (or the tasks ended).
   * Undefined when none had one outstanding.
   */
  hold(): Promise<void> | undefined;
  /** Aborts those still running, each ending as `by` and its unit's TAS say; resolves when they have ended. */
  end(by: AbortedBy): Promise<void>;
}

/** The other sessions' TaskSnapshots, taken together (SessionHost.othersTasks). */
export interface OthersTasks {
  /** The I_T nexus ids of the sessions whose snapshot awaitsData: what a CLEAR TASK SET aborts of theirs before it reaches the unit. */
  readonly awaitingData: readonly string[];
  /** Aborts every snapshot's tasks as TaskSnapshot.end does; resolves when they have all ended. */
  end(by: AbortedBy): Promise<void>;
}

/**
 * Before a task management function that aborts several tasks acts, the
 * target waits for the Data-Out answering the R2Ts the sender's affected tasks
 * have outstanding (§11.5.1: the target "MUST wait for responses on all
 * affected target transfer tags before acting"; §4.2.3.3 asks the same of the
 * resets), which the initiator keeps sending. `mine` is held meanwhile: no
 * further R2T, nothing reaches the logical unit, and what comes is dropped
 * with the tasks. Other sessions' tasks are not waited for (§4.2.3.3: the
 * target MAY wait for third-party initiators). A sender that has not answered
 * within `timeoutMs` loses its connection through `drop`, which ends its
 * tasks (§11.5.1: the target "may drop the connection to complete the
 * requested task set function"), as one that does not answer a ping does.
 */
export async function awaitOwedData(mine: TaskSnapshot, timeoutMs: number, drop: (reason: string) => void): Promise<void> {
  const answered = mine.hold();
  if (answered === undefined) return;
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'late'>((resolve) => {
    timer = setTimeout(resolve, timeoutMs, 'late');
    timer.unref();
  });
  const first = await Promise.race([answered, late]);
  clearTimeout(timer);
  if (first === 'late') drop(`R2Ts unanswered ${timeoutMs} ms after a task management request`);
}
