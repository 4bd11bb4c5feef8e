// What task management and the events of SAM-5 do to the SBC emulator's
// logical unit beyond its mode parameters: ABORT TASK SET, CLEAR TASK SET and
// the aborting of PREEMPT AND ABORT (through the transport's TaskAborter,
// task-abort.ts), a logical unit reset and an I_T nexus loss. Spec: SAM-5
// (task management functions, aborting commands, logical unit reset, I_T
// nexus loss), SPC-5 (PREEMPT AND ABORT; TAS in the Control mode page;
// EXTENDED COPY held data), SBC-4 (PREVENT ALLOW MEDIUM REMOVAL).

import { TaskManagementFunction } from '../cdb/rsoc.js';
import { UnitAttention } from './errors.js';
import type { LogicalUnit } from './context.js';
import type { NexusConditions } from './nexus-state.js';
import { abortTasks, tellCommandsCleared, type TaskAborter } from './task-abort.js';

/** The task management functions a unit supports unless its options say otherwise (what RSOC reports). */
export const DEFAULT_TASK_MANAGEMENT_FUNCTIONS: readonly TaskManagementFunction[] = [
  TaskManagementFunction.ABORT_TASK,
  TaskManagementFunction.ABORT_TASK_SET,
  TaskManagementFunction.CLEAR_TASK_SET,
  TaskManagementFunction.LOGICAL_UNIT_RESET,
  TaskManagementFunction.I_T_NEXUS_RESET,
];

/**
 * One logical unit's task management: the transport's hooks for aborting
 * commands, and what each function or event does to the unit's medium,
 * EXTENDED COPY statuses, reservations and per-nexus conditions.
 */
export class TaskManagement {
  readonly #lu: LogicalUnit;
  readonly #conditions: NexusConditions;
  #aborter: TaskAborter | undefined;
  #preempted: ((nexuses: readonly string[], from: string) => void) | undefined;

  /** `lu` is read only when a function or event comes, so its owner may pass itself while it is being built. */
  constructor(lu: LogicalUnit, conditions: NexusConditions) {
    this.#lu = lu;
    this.#conditions = conditions;
  }

  /**
   * Tells the unit how to abort its commands (PREEMPT AND ABORT, ABORT TASK
   * SET, CLEAR TASK SET): what the transport running them (the SIM) does.
   * Without one nothing is aborted.
   */
  onAbortTasks(aborter: TaskAborter): void {
    this.#aborter = aborter;
  }

  /**
   * Hears, as a PREEMPT AND ABORT of nexus `from` preempts (within its start()
   * when it runs at once), whom it preempted: the preemption stands even if
   * the command is then aborted while it waits, and a transport holding their
   * commands short of the unit must still end them (SPC-5). GOOD names them too.
   */
  onPreempted(hook: (nexuses: readonly string[], from: string) => void): void {
    this.#preempted = hook;
  }

  /**
   * The unit's Reservations' TaskAbort: only PREEMPT AND ABORT aborts through
   * here, once it has preempted `nexuses`. The transport hears of them first,
   * whatever the command then ends with (see onPreempted).
   */
  preemptAndAbort(nexuses: readonly string[], from: string): Promise<void> {
    this.#preempted?.(nexuses, from);
    const preempted = new Set(nexuses);
    return this.#abortTasks((n) => preempted.has(n), from);
  }

  /**
   * SAM-5 ABORT TASK SET from `nexus`: every command of that I_T nexus is
   * aborted, without status, and no unit attention is established. Resolves
   * once they have all completed.
   */
  abortTaskSet(nexus: string): Promise<void> {
    return this.#abortTasks((n) => n === nexus, nexus);
  }

  /**
   * SAM-5 CLEAR TASK SET from `nexus`: the commands of every I_T nexus are
   * aborted; those of `nexus` end without status, the others' as TAS says
   * (see abortTasks, task-abort.ts). `transportAborted`: other nexuses whose
   * commands the transport aborted before they reached the unit, told as
   * those whose commands the unit aborted (TAS 0). Resolves once they have
   * all completed.
   */
  clearTaskSet(nexus: string, transportAborted: readonly string[]): Promise<void> {
    return this.#abortTasks(() => true, nexus, transportAborted);
  }

  /**
   * For a PERSISTENT RESERVE OUT PREEMPT AND ABORT of `from` that preempted
   * (onPreempted, CommandOutcome.preempted, SPC-5), the transport aborted
   * commands of `nexuses` it held short of the unit: they are told as if the
   * unit had aborted them (tellCommandsCleared, task-abort.ts).
   */
  transportAborted(from: string, nexuses: readonly string[]): void {
    tellCommandsCleared(this.#lu.info.taskAbortedStatus, this.#conditions, nexuses, from);
  }

  /**
   * LOGICAL UNIT RESET (SAM-5), also what a hard reset does to the unit,
   * besides its mode parameters: deferred errors are dropped, every
   * prevention of medium removal ends (SBC-4), held EXTENDED COPY statuses
   * are discarded (SPC-5), the unit is started when it has its medium, the
   * SPC-2 reservation is released, and every I_T nexus gets BUS DEVICE RESET
   * FUNCTION OCCURRED; lost I_T nexuses are forgotten (NexusConditions.forgetLost).
   * A running sanitize goes on (SBC-4), and so do IMMED flushes: the I_T
   * nexuses they serve outlive the reset, and a failure after it is theirs.
   */
  logicalUnitReset(): void {
    const lu = this.#lu;
    lu.medium.reset();
    lu.copies.reset();
    lu.stopped = !lu.medium.loaded;
    this.#conditions.dropDeferred();
    this.#conditions.forgetLost();
    lu.reservations.logicalUnitReset();
    this.#conditions.raise(UnitAttention.BUS_DEVICE_RESET);
  }

  /**
   * I_T nexus loss (the session ended, by logout or by a dropped connection):
   * its deferred errors go, those of its IMMED flushes still running too
   * (BackgroundFlush.forget), and its unit attentions are kept for its return,
   * which reports I_T NEXUS LOSS OCCURRED first (NexusConditions.lose); its
   * prevention of medium removal ends (SBC-4), the EXTENDED COPY statuses
   * held for it are discarded (SPC-5) and its SPC-2 reservation is released.
   */
  nexusLost(nexus: string): void {
    this.#conditions.lose(nexus);
    this.#lu.backgroundFlush.forget(nexus);
    this.#lu.medium.forgetNexus(nexus);
    this.#lu.copies.forgetNexus(nexus);
    this.#lu.reservations.nexusLost(nexus);
  }

  /** abortTasks with this unit's TaskAborter, TAS and nexus conditions. */
  #abortTasks(nexuses: (nexus: string) => boolean, from: string, transportAborted?: readonly string[]): Promise<void> {
    const done = abortTasks(this.#aborter, this.#lu.info.taskAbortedStatus, this.#conditions, nexuses, from, transportAborted);
    // Their abort checks say so now: those waiting for a range lock or their MODE SELECT turn give their place up.
    this.#lu.dropAbortedWaits();
    return done;
  }
}
