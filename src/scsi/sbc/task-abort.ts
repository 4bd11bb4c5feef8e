// Aborting commands for the SBC emulator: how the transport that runs them is
// told to abort (TaskAborter), how each aborted command ends for a task
// management function or command of one I_T nexus, and which I_T nexuses are
// then told their commands were cleared. Spec: SAM-5 (aborting
// commands; ABORT TASK SET, CLEAR TASK SET), SPC-5 (PREEMPT AND ABORT).

import { Asc } from '../sense.js';
import type { NexusConditions } from './nexus-state.js';

/**
 * How an aborted command ends (SAM-5 aborting commands): without status, or
 * with TASK ABORTED status (TAS 1, a command of another I_T nexus than the one
 * that aborted it).
 */
export type AbortedCommandEnd = 'no-status' | 'task-aborted';

/** What a {@link TaskAborter} did. */
export interface TaskAbortResult {
  /** The I_T nexuses that had commands to abort. */
  readonly nexuses: readonly string[];
  /** Settles once every aborted command has completed. */
  readonly done: Promise<void>;
}

/**
 * Aborts every command the transport holds for this unit (queued or running)
 * whose I_T nexus `end` gives an ending for, and ends it so (undefined: the
 * nexus's commands are left alone). It is called from within the execute() /
 * start() of the command that aborts (PREEMPT AND ABORT), which it leaves
 * alone, before they return; or outside any command (ABORT TASK SET, CLEAR
 * TASK SET). An aborted command that has reached the unit may finish the
 * block operation it has in flight (a device may not take one back), but no
 * more: from then on the transport answers its ExecuteOptions.aborted true,
 * and one the emulator carries out in several (EXTENDED COPY, WRITE SAME,
 * UNMAP) stops there.
 * It ends as `end` said either way.
 */
export type TaskAborter = (end: (nexus: string) => AbortedCommandEnd | undefined) => TaskAbortResult;

/**
 * Aborts the commands of the I_T nexuses `nexuses` picks, through the
 * transport's TaskAborter (none: nothing is aborted), for a task management
 * function or command of `from` (SAM-5 aborting commands): the commands of
 * `from` end without status; those of the others with TASK ABORTED status
 * when TAS (`taskAbortedStatus`) is 1, else without status, and each other
 * nexus that had commands aborted gets COMMANDS CLEARED BY ANOTHER INITIATOR.
 *
 * `transportAborted` names nexuses whose commands the transport aborted
 * itself before they reached the unit (a CLEAR TASK SET's front end holds
 * part of the task set, SAM-5): with TAS 0 they count as nexuses that had
 * commands aborted — one unit attention each, `from` never.
 */
export function abortTasks(
  aborter: TaskAborter | undefined,
  taskAbortedStatus: boolean | undefined,
  conditions: NexusConditions,
  nexuses: (nexus: string) => boolean,
  from: string,
  transportAborted: readonly string[] = [],
): Promise<void> {
  const others: AbortedCommandEnd = taskAbortedStatus === true ? 'task-aborted' : 'no-status';
  const r = aborter?.((n) => (!nexuses(n) ? undefined : n === from ? 'no-status' : others));
  tellCommandsCleared(taskAbortedStatus, conditions, [...(r?.nexuses ?? []), ...transportAborted], from);
  return r?.done ?? Promise.resolve();
}

/**
 * Tells the I_T nexuses `nexuses`, which had commands aborted by a task
 * management function or command of `from`, as SAM-5 5.6 (aborting commands)
 * asks: with TAS 0 (`taskAbortedStatus` not true) each gets COMMANDS CLEARED
 * BY ANOTHER INITIATOR — once: one named twice, or still pending from an
 * earlier telling, is not raised again — and `from` never; with TAS 1 their
 * commands ended with TASK ABORTED status instead, and nobody gets one.
 */
export function tellCommandsCleared(taskAbortedStatus: boolean | undefined, conditions: NexusConditions, nexuses: Iterable<string>, from: string): void {
  if (taskAbortedStatus === true) return;
  for (const n of nexuses) if (n !== from) conditions.raiseFor(n, Asc.COMMANDS_CLEARED_BY_ANOTHER_INITIATOR);
}
