// The sanitize state of a logical unit. Spec: SBC-4 (sanitize operations,
// SANITIZE command): while a sanitize operation runs, the unit answers every
// command but INQUIRY, REPORT LUNS and REQUEST SENSE with NOT READY, LOGICAL
// UNIT NOT READY, SANITIZE IN PROGRESS and a PROGRESS INDICATION; a sanitize
// that failed leaves the unit in the sanitize failure mode, where medium
// access is MEDIUM ERROR, SANITIZE COMMAND FAILED until a sanitize succeeds or
// (when the failed one had AUSE set) EXIT FAILURE MODE ends it. Neither is
// affected by a reset or an I_T nexus loss: the state belongs to the unit.

import { Asc, SenseKey, sense, senseNotReady, type SenseData } from '../sense.js';

/** MEDIUM ERROR, SANITIZE COMMAND FAILED (31h/03h). */
export const SANITIZE_FAILED: SenseData = sense(SenseKey.MEDIUM_ERROR, Asc.SANITIZE_COMMAND_FAILED);
/** PROGRESS INDICATION's denominator (SPC-5: a fraction of 65536). */
const PROGRESS_SCALE = 65536;

/** What EXIT FAILURE MODE did. */
export type ExitFailureMode = 'exited' | 'not-allowed' | 'not-failed';

/** One unit's sanitize operation: running (with its progress), failed, or neither. */
export class Sanitizer {
  #total = 0;
  #done = 0;
  #running = false;
  #begun = 0;
  #failed: { readonly ause: boolean } | undefined;

  /** A sanitize operation runs or failed: medium access is refused (the READ/WRITE fast path's check). */
  get active(): boolean {
    return this.#running || this.#failed !== undefined;
  }

  get running(): boolean {
    return this.#running;
  }

  /**
   * Sanitize operations begun on this unit so far: work that holds medium data
   * across lock releases (an EXTENDED COPY's chunk, read then written) tells by
   * it that the data may predate a sanitize, which no data may survive.
   */
  get begun(): number {
    return this.#begun;
  }

  /** NOT READY, SANITIZE IN PROGRESS with the PROGRESS INDICATION, while one runs. */
  inProgress(): SenseData | undefined {
    if (!this.#running) return undefined;
    const fraction = this.#total === 0 ? 0 : this.#done / this.#total;
    return senseNotReady(Asc.LOGICAL_UNIT_NOT_READY_SANITIZE_IN_PROGRESS, Math.min(PROGRESS_SCALE - 1, Math.floor(fraction * PROGRESS_SCALE)));
  }

  /** SANITIZE COMMAND FAILED while in the sanitize failure mode. */
  failure(): SenseData | undefined {
    return this.#failed === undefined ? undefined : SANITIZE_FAILED;
  }

  /** Starts an operation of `total` work units (a new sanitize also ends the failure mode, if it succeeds). */
  begin(total: number): void {
    if (this.#running) throw new RangeError('a sanitize operation is already running');
    this.#running = true;
    this.#begun++;
    this.#total = total;
    this.#done = 0;
  }

  /** `units` more of the operation are done. */
  advance(units: number): void {
    this.#done += units;
  }

  /** Ends the running operation: success clears the failure mode, failure enters it (remembering AUSE). */
  finish(ok: boolean, ause: boolean): void {
    this.#running = false;
    this.#failed = ok ? undefined : { ause };
  }

  /** EXIT FAILURE MODE: ends the failure mode if the failed sanitize allowed it (AUSE 1). */
  exitFailureMode(): ExitFailureMode {
    if (this.#failed === undefined) return 'not-failed';
    if (!this.#failed.ause) return 'not-allowed';
    this.#failed = undefined;
    return 'exited';
  }
}
