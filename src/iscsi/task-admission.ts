// How a SCSI task whose data is in is let go to its logical unit: past its
// connection's Data-In gate (data-in-gate.ts: what the connection's READs
// will send stays bounded), its session's task set order (task-set-order.ts:
// older tasks first across an ORDERED one), and its LUN's port
// (LunPort.admit: the target may hold the LUN's commands back a while,
// preempt-gate.ts), asked in that order. Each lets the task go now, or keeps
// it and tells it once it may (admitted), when the task asks them all again;
// meanwhile the task counts as not at the unit, and ending it withdraws it.
// The gate counts the task's Data-In from when the task passes it until the
// task ends. ScsiTask (task.ts) extends it with the rest of the command's
// life and says when to ask and when the task has ended. A base class, not a
// member, as TaskCommand (task-command.ts) is: the task stays the one object
// made per command. The two fields it works on are declared in ScsiTask,
// with the task's other state: a class between TaskCommand and ScsiTask with
// fields of its own (or private methods, which mark each instance) would add
// a step to every command's construction; one with methods only adds none.

import type { LunPort } from './lun.js';
import type { OrderedTask } from './task-set-order.js';
import type { DataInGate, DataInWaiter } from './data-in-gate.js';
import type { TaskHooks } from './task-types.js';
import { TaskCommand } from './task-command.js';

/** A task's way to its logical unit, through the Data-In gate, the task set order and the port. */
export abstract class TaskAdmission extends TaskCommand implements OrderedTask, DataInWaiter {
  /** What withdraws the task from the gate, order or port that keeps it (admit); undefined otherwise. */
  protected abstract admission: (() => void) | undefined;
  /** The Data-In bytes the connection's gate counts for the task since it passed it (passDataInGate); 0 before. */
  protected abstract dataInGateBytes: number;

  /** OrderedTask: started, and neither at the unit nor ended. */
  abstract get unsubmitted(): boolean;

  /** Moves the task on as far as it goes now (ScsiTask); run again once it is admitted. */
  protected abstract advance(): void;

  /**
   * Whether the task may go to the unit now: the Data-In gate (passed once), then the task set order, then the
   * port admit it. Else the one that keeps it calls admitted() once it may, and advance() asks them all again.
   */
  protected admit(hooks: TaskHooks, port: LunPort): boolean {
    const withdraw = this.passDataInGate(hooks.dataInGate) ?? hooks.taskSetOrder?.admit(this) ?? port.admit?.(this);
    if (withdraw === undefined) return true;
    this.admission = withdraw;
    return false;
  }

  /** The connection's Data-In gate (hooks.dataInGate), passed once: undefined then, else what withdraws the task from it. */
  protected passDataInGate(gate: DataInGate | undefined): (() => void) | undefined {
    const bytes = this.dataInLength;
    if (gate === undefined || bytes === undefined || this.dataInGateBytes > 0) return undefined;
    const withdraw = gate.admit(this, bytes);
    if (withdraw === undefined) this.dataInGateBytes = bytes;
    return withdraw;
  }

  /** LunAdmittable: the Data-In gate, the task set order, or the port lets the task go to the unit now. */
  admitted(): void {
    this.admission = undefined;
    this.advance();
  }

  /** The task has ended: withdrawn from whichever keeps it, if one does. */
  protected withdraw(): void {
    this.admission?.();
    this.admission = undefined;
  }

  /** The task has ended: the Data-In gate stops counting its bytes, which may let another task go at once. */
  protected leaveDataInGate(gate: DataInGate | undefined): void {
    const gated = this.dataInGateBytes;
    this.dataInGateBytes = 0;
    if (gated > 0) gate?.release(gated);
  }
}
