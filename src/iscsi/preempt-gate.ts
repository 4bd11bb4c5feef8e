// Holding a LUN's commands back while a PERSISTENT RESERVE OUT PREEMPT AND
// ABORT is at its logical unit. Spec: SPC-5 (preempting and aborting: the
// preempt, the abort of the preempted I_T nexuses' commands and its unit
// attentions are one uninterrupted series of actions; a command received
// while the PERSISTENT RESERVE OUT runs may meet the old reservation or the
// new one), SAM-5 5.6 (aborting commands).
//
// The unit aborts the commands it holds as the PERSISTENT RESERVE OUT runs,
// but the target holds part of the task set (a WRITE waiting for Data-Out),
// and learns whose to end only from the command's answer, which names the
// preempted I_T nexuses (GOOD, or aborted while it waited: the preemption
// stands either way). It ends them then and tells the unit whose they were
// (pass.transportAborted: with TAS 0, COMMANDS CLEARED BY ANOTHER INITIATOR).
// Had one of those nexuses reached the unit in between, it would have met
// the unit without that unit attention (a command GOOD before it), and a
// WRITE whose data came in meanwhile would have run instead of being aborted.
// So from the moment a PREEMPT AND ABORT goes to the unit until its answer
// has been acted on, the gate admits no command of another I_T nexus to the
// LUN (LunPort.admit): a task whose data is in waits, not at the unit, so the
// preempted nexuses' ones end with their other tasks; the rest go on when the
// gate opens, in the order they came, under the new reservation. The
// sender's own commands are not held back: its own command tells it nothing.

import { ScsiOp, PersistentReserveOutSa } from '../scsi/opcodes.js';
import { answeringTo, type LunAdmittable, type LunCall, type LunCommand, type LunPort } from './lun.js';

/** SERVICE ACTION of a PERSISTENT RESERVE OUT CDB: byte 1 bits 4..0 (SPC-5). */
const SERVICE_ACTION = 0x1f;

/** Whether `cdb` is a PERSISTENT RESERVE OUT with SERVICE ACTION PREEMPT AND ABORT. */
export function isPreemptAndAbort(cdb: Uint8Array): boolean {
  return cdb[0] === ScsiOp.PERSISTENT_RESERVE_OUT && ((cdb[1] ?? 0) & SERVICE_ACTION) === PersistentReserveOutSa.PREEMPT_AND_ABORT;
}

/** A command waiting to be admitted: whose, and what to tell when it may go. */
interface Waiting {
  readonly nexus: string;
  readonly cmd: LunAdmittable;
}

/** The gate of one LUN of a target, shared by the ports of every session to it. */
export class PreemptGate {
  /** Holds in force, by the I_T nexus that took them: every other nexus's commands wait. */
  readonly #holds = new Map<string, number>();
  /** Commands waiting to be admitted, in the order they came. */
  readonly #waiting: Waiting[] = [];
  #lettingGo = false;

  /**
   * The LUN's port `inner` for I_T nexus `nexus`, through this gate: start()
   * a command once admit() has let it go.
   */
  port(inner: LunPort, nexus: string): LunPort {
    return {
      admit: (cmd) => this.#admit(nexus, cmd),
      start: (cmd) => this.#start(inner, nexus, cmd),
    };
  }

  /**
   * Holds back the commands of every I_T nexus but `nexus` until the
   * returned function is called (once: later calls do nothing); then those no
   * other hold keeps back are let go, in the order they came.
   */
  hold(nexus: string): () => void {
    this.#holds.set(nexus, (this.#holds.get(nexus) ?? 0) + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (this.#holds.get(nexus) ?? 1) - 1;
      if (left === 0) this.#holds.delete(nexus);
      else this.#holds.set(nexus, left);
      this.#letGo();
    };
  }

  /** Whether a hold taken by another I_T nexus keeps `nexus`'s commands back. */
  #holdsBack(nexus: string): boolean {
    // Nearly always: no PREEMPT AND ABORT anywhere, and every command asks.
    if (this.#holds.size === 0) return false;
    for (const holder of this.#holds.keys()) if (holder !== nexus) return true;
    return false;
  }

  #admit(nexus: string, cmd: LunAdmittable): (() => void) | undefined {
    if (!this.#holdsBack(nexus)) return undefined;
    const w: Waiting = { nexus, cmd };
    this.#waiting.push(w);
    return () => {
      const i = this.#waiting.indexOf(w);
      if (i >= 0) this.#waiting.splice(i, 1);
    };
  }

  /** Starts `cmd` at the unit; a PREEMPT AND ABORT holds the others back until its task has acted on its answer. */
  #start(inner: LunPort, nexus: string, cmd: LunCommand): LunCall {
    if (!isPreemptAndAbort(cmd.cdb)) return inner.start(cmd);
    const release = this.hold(nexus);
    try {
      return inner.start(
        answeringTo(cmd, (a) => {
          try {
            cmd.answered(a);
          } finally {
            release();
          }
        }),
      );
    } catch (e) {
      release();
      throw e;
    }
  }

  /** Lets go, in the order they came, the waiting commands no hold keeps back any more. */
  #letGo(): void {
    // A command let go may take a hold (a PREEMPT AND ABORT) or end one: the loop looks again after each.
    if (this.#lettingGo) return;
    this.#lettingGo = true;
    try {
      for (let w = this.#next(); w !== undefined; w = this.#next()) {
        this.#waiting.splice(this.#waiting.indexOf(w), 1);
        w.cmd.admitted();
      }
    } finally {
      this.#lettingGo = false;
    }
  }

  #next(): Waiting | undefined {
    return this.#waiting.find((w) => !this.#holdsBack(w.nexus));
  }
}
