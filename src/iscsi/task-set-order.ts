// Task set order across an ORDERED task, for the tasks of one session. Spec:
// SAM-5 §8.6 (task attributes: an ORDERED task is not enabled until every
// older task has ended, a SIMPLE one until every older ORDERED and HEAD OF
// QUEUE one has, HEAD OF QUEUE enters enabled), RFC 7143 §3.2.2.1 (a
// session's commands enter the task set in CmdSN order; immediate ones as
// they arrive).
//
// The CAM devq enforces those rules among the CCBs it holds (an ORDERED CCB
// is a barrier, HEAD OF QUEUE goes first), but the target holds part of the
// task set itself: a WRITE waiting for its Data-Out, a task its port has not
// admitted yet (preempt-gate.ts). Had a younger task gone to CAM meanwhile,
// the devq would have ordered it against nothing: an ORDERED READ would have
// read what the older WRITE had not written yet. So a task goes to the unit
// only in task set order across an ORDERED boundary, per LUN: an ORDERED task
// once every older task of the LUN has reached the unit (or ended), a SIMPLE
// one once no older ORDERED task of the LUN waits to; HEAD OF QUEUE at once.
// Past that point the devq orders them, as far as it does: it starts a HEAD
// OF QUEUE CCB first but beside SIMPLE ones, so a SIMPLE task is not held
// behind an older HEAD OF QUEUE one here either. The order is held back through the
// admission a task already goes through (ScsiTask #admit, LunAdmittable): a
// held task counts as not at the unit, and whatever ends it (ABORT TASK, a
// task set function, Logout, the connection dropping) ends it as it ends the
// others that have not reached the unit, withdrawing it from here.
//
// Per session only, though the unit reports TST 000b (one task set shared by
// every I_T nexus, Control mode page): commands of different sessions come
// over independent connections, so which of them is older is only the order
// the target happened to read them in, which no initiator can set or see;
// an initiator can rely on the order of its own CmdSNs alone. What reached
// the unit is still ordered there across every nexus by the devq.

import { lunNumber } from './nexus.js';
import type { LunAdmittable, TaskAttribute } from './lun.js';

/** A task as the order sees it (ScsiTask). */
export interface OrderedTask extends LunAdmittable {
  /** The LUN field, as the command carried it. */
  readonly lun: bigint;
  readonly tag: TaskAttribute;
  /** Started, and neither handed to the logical unit nor ended. */
  readonly unsubmitted: boolean;
}

/** The order of one session's task set; each task tells it as it starts, as it is admitted, and as it leaves. */
export class TaskSetOrder {
  /** The session's started tasks, in the order they entered the task set (a Map iterates in insertion order). */
  readonly #tasks: ReadonlyMap<number, OrderedTask>;
  /** ORDERED tasks started, not at the unit and not ended: while none, a SIMPLE task goes at once. */
  #orderedWaiting = 0;
  /** Tasks held here until older ones have gone (each withdrawn as it ends). */
  readonly #held = new Set<OrderedTask>();
  #releasing = false;
  #releaseQueued = false;
  /** Made once: a release deferred to a microtask (leave) costs no closure. */
  readonly #releaseLater = (): void => {
    this.#releaseQueued = false;
    this.#release();
  };

  constructor(tasks: ReadonlyMap<number, OrderedTask>) {
    this.#tasks = tasks;
  }

  /** `task` has entered the task set (ScsiTask.start). */
  enter(task: OrderedTask): void {
    if (task.tag === 'ordered') this.#orderedWaiting++;
  }

  /**
   * Whether `task`, its data in, may go to the unit now: undefined when it may. Otherwise it is held, its
   * admitted() is called once older tasks have gone, and the function returned withdraws it meanwhile.
   */
  admit(task: OrderedTask): (() => void) | undefined {
    // Nearly always: a SIMPLE task with no ORDERED one waiting anywhere in the session.
    if (task.tag === 'head' || (task.tag === 'simple' && this.#orderedWaiting === 0)) return undefined;
    if (this.#mayGo(task)) return undefined;
    this.#held.add(task);
    return () => {
      this.#held.delete(task);
    };
  }

  /**
   * `task` has reached the unit (after LunPort.start returned, so that what it lets go queues behind it), or
   * has ended short of it. Once per task. A task that ended lets the held ones go from a microtask: a sweep
   * that ends several tasks (the connection dropping, Logout, a task set function) has ended them all by
   * then, and none it was about to end reaches the unit in between.
   */
  leave(task: OrderedTask, ended: boolean): void {
    if (task.tag === 'ordered') this.#orderedWaiting--;
    if (this.#held.size === 0) return;
    if (!ended) this.#release();
    else if (!this.#releaseQueued) {
      this.#releaseQueued = true;
      queueMicrotask(this.#releaseLater);
    }
  }

  /** Whether no older task of `task`'s LUN keeps it from the unit (task set order, see the header). */
  #mayGo(task: OrderedTask): boolean {
    const lun = lunNumber(task.lun);
    for (const t of this.#tasks.values()) {
      if (t === task) return true;
      if (t.unsubmitted && (task.tag === 'ordered' || t.tag === 'ordered') && lunNumber(t.lun) === lun) return false;
    }
    return true;
  }

  /** Lets the held tasks that may go now go, oldest first. */
  #release(): void {
    // Letting one go may start it at the unit, which leaves and asks for a release from inside admitted():
    // that one is this pass's, which looks again after any task it let go.
    if (this.#releasing) return;
    this.#releasing = true;
    try {
      for (let moved = true; moved; ) {
        moved = false;
        for (const t of this.#tasks.values()) {
          if (!this.#held.has(t) || !this.#mayGo(t)) continue;
          this.#held.delete(t);
          t.admitted();
          moved = true;
        }
      }
    } finally {
      this.#releasing = false;
    }
  }
}
