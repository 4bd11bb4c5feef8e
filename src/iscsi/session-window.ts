// A session's command window and the order of its non-immediate PDUs (RFC
// 7143 §3.2.2.1, §4.2.2.1): ExpCmdSN, MaxCmdSN, which CmdSNs are taken, and
// the PDUs that came ahead of ExpCmdSN and wait for the CmdSNs before theirs
// (a SCSI Command as the task the session made for it as it came, any other
// PDU as what delivering it runs), delivered in CmdSN order; a CmdSN an ABORT
// TASK takes as received without running it (§11.5.1, session-tmf.ts); and
// the watchdog on a gap left open (progress-watchdog.ts).
//
// The window is the device queue's: MaxCmdSN is opened only as far as the
// LUNs' openings at login plus a bounded queue allow (`depth`), so an
// initiator that honours it never has more commands outstanding than the
// devq runs plus that queue (immediate commands, outside the window, are
// refused past the same depth: Session.command). The depth stays fixed for
// the session: initiators ignore a MaxCmdSN that moves backwards (§4.2.2.1),
// and openings that shrink later (QUEUE FULL) only lengthen the devq's own
// queue, which stays bounded.
//
// Its own module: the session (session.ts) says when a command enters the
// window and when its task ends, and what delivering a command does. Nearly
// every command is the next in order with nothing waiting: next() lets it
// through with no closure and no entry here.

import { MAX_COMMAND_WINDOW, snAdd, snLt } from './serial.js';
import { ScsiTask } from './task.js';
import type { SessionHost } from './session-types.js';
import { ProgressWatchdog } from './progress-watchdog.js';

/** What waits for its turn: a SCSI Command's task, made as it came (Session #hold), or what delivering another PDU runs. */
export type WaitingPdu = ScsiTask | (() => void);

/** One session's command window: ExpCmdSN and MaxCmdSN, the PDUs waiting for an earlier CmdSN, and the gap watchdog. */
export class SessionWindow {
  /** The commands the window spans, the session's depth: at least 1, and never past the serial window. */
  readonly depth: number;
  #expCmdSN: number;
  /**
   * The non-immediate commands delivered (ExpCmdSN moved past them) and not ended, running or deferred: what
   * fills the window. Immediate ones are outside it (§3.2.2.1) and bounded apart (Session.command).
   */
  #windowed = 0;
  /** Non-immediate PDUs that arrived ahead of ExpCmdSN, by CmdSN (§4.2.2.1: delivered in order). */
  readonly #waiting = new Map<number, WaitingPdu>();
  /**
   * A CmdSN gap left open for a whole timeout drops the connection: commands after it wait with their Data-Out
   * buffers, and at ErrorRecoveryLevel 0 a command lost on the way (§7.8) is recovered only by the initiator.
   */
  readonly #gapWatchdog: ProgressWatchdog;
  /** Where a SCSI Command's task goes once its turn has come (the session runs it, or holds it behind a task-set function). */
  readonly #enter: (task: ScsiTask) => void;

  /**
   * A window of `depth` commands from ExpCmdSN `initialCmdSN` (the login's); `host` gives the gap its timeout
   * and the way to drop the connection; `enter` takes each SCSI Command delivered from the waiting ones.
   */
  constructor(depth: number, initialCmdSN: number, host: Pick<SessionHost, 'dataOutTimeoutMs' | 'drop'>, enter: (task: ScsiTask) => void) {
    // The openings plus the allowance may pass the serial window; MaxCmdSN must not (§4.2.2.1).
    this.depth = Math.min(MAX_COMMAND_WINDOW, Math.max(1, depth));
    this.#expCmdSN = initialCmdSN >>> 0;
    this.#enter = enter;
    this.#gapWatchdog = new ProgressWatchdog(host.dataOutTimeoutMs, {
      owed: () => this.#waiting.size > 0,
      expired: () => {
        host.drop(`CmdSN ${this.#expCmdSN} missing for ${host.dataOutTimeoutMs / 1000} s while ${this.#waiting.size} later PDU(s) waited for it`);
      },
    });
  }

  get expCmdSN(): number {
    return this.#expCmdSN;
  }

  /**
   * MaxCmdSN: ExpCmdSN plus the room left under the depth, minus one (a closed window is MaxCmdSN = ExpCmdSN − 1).
   * It never moves backwards (§4.2.2.1: an initiator ignores a smaller one, and goes on sending up to the one it
   * holds): a delivered command raises ExpCmdSN and the commands in the window together; commands waiting for a
   * gap in CmdSN are inside the window already; immediate commands take no CmdSN, so they take no room either.
   */
  get maxCmdSN(): number {
    return snAdd(this.#expCmdSN, this.depth - this.#windowed - 1);
  }

  /** A delivered non-immediate command takes its place in the window (its task runs, or is deferred). */
  entered(): void {
    this.#windowed++;
  }

  /** A delivered non-immediate command's task ended: its place in the window is free. */
  left(): void {
    this.#windowed--;
  }

  /**
   * Whether a SCSI Command with this CmdSN runs at once: it is ExpCmdSN, nothing waits, and the window has room
   * for it. If so ExpCmdSN moves past it, and the caller delivers it.
   */
  next(cmdSN: number): boolean {
    if (cmdSN !== this.#expCmdSN || this.#waiting.size !== 0 || snLt(this.maxCmdSN, cmdSN)) return false;
    this.#expCmdSN = snAdd(this.#expCmdSN, 1);
    return true;
  }

  /** Whether a non-immediate PDU with this CmdSN is taken (§4.2.2.1: one outside [ExpCmdSN, MaxCmdSN] is silently ignored). */
  takes(cmdSN: number): boolean {
    return !snLt(cmdSN, this.#expCmdSN) && !snLt(this.maxCmdSN, cmdSN) && !this.#waiting.has(cmdSN);
  }

  /** A PDU with a CmdSN `takes` took: it waits for its turn, which may be now. */
  wait(cmdSN: number, pdu: WaitingPdu): void {
    this.#waiting.set(cmdSN, pdu);
    this.deliver();
  }

  /** Orders a PDU that is not a SCSI Command: run now when immediate; false when its CmdSN is not taken and it was dropped. */
  ordered(cmdSN: number, immediate: boolean, run: () => void): boolean {
    if (immediate) {
      run();
      return true;
    }
    if (!this.takes(cmdSN)) return false;
    this.wait(cmdSN, run);
    return true;
  }

  /** Takes the PDU with this CmdSN as received without running anything for it (a task made for it ends), and delivers those after it that wait. */
  skip(cmdSN: number): void {
    const held = this.#waiting.get(cmdSN);
    if (held instanceof ScsiTask) held.abort();
    this.#waiting.set(cmdSN, () => undefined);
    this.deliver();
  }

  /** The task with this ITT waiting for an earlier CmdSN, if any (Session #heldTask). */
  heldTask(itt: number): ScsiTask | undefined {
    if (this.#waiting.size === 0) return undefined;
    for (const w of this.#waiting.values()) if (w instanceof ScsiTask && w.itt === itt) return w;
    return undefined;
  }

  /** Delivers waiting PDUs from ExpCmdSN on, as long as there is no gap; a gap left open arms its watchdog. */
  deliver(): void {
    for (let next = this.#waiting.get(this.#expCmdSN); next !== undefined; next = this.#waiting.get(this.#expCmdSN)) {
      this.#waiting.delete(this.#expCmdSN);
      this.#expCmdSN = snAdd(this.#expCmdSN, 1);
      this.#gapWatchdog.heard();
      if (next instanceof ScsiTask) this.#enter(next);
      else next();
    }
    if (this.#waiting.size > 0) this.#gapWatchdog.owing();
  }

  /** The session ended: the gap is no longer watched, and the tasks still waiting are aborted. */
  close(): void {
    this.#gapWatchdog.stop();
    for (const w of this.#waiting.values()) if (w instanceof ScsiTask) w.abort();
    this.#waiting.clear();
  }
}
