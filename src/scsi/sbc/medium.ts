// The medium of a logical unit and what keeps it in: loaded or not, and which
// I_T nexuses have prevented its removal. Spec: SBC-4 (PREVENT ALLOW MEDIUM
// REMOVAL, START STOP UNIT LOEJ), SPC-5 (RMB), SAM-5 (I_T nexus loss, logical
// unit reset).
//
// A fixed disk (RMB 0) always has its medium: PREVENT ALLOW MEDIUM REMOVAL has
// nothing to act on there and LOEJ nothing to eject. A removable unit (RMB 1)
// keeps one prevention per I_T nexus: removal is prevented while any nexus
// holds one (SBC-4: prevention ends once every nexus that prevented it has
// allowed it again), a nexus's prevention ends with the nexus (I_T nexus loss,
// logout) and with its registration when a PERSISTENT RESERVE OUT PREEMPT,
// PREEMPT AND ABORT or CLEAR removes that (reservations.ts), and every one
// ends with a logical unit reset or hard reset.

import { Asc, senseIllegalRequest, senseNotReady, type SenseData } from '../sense.js';

/** NOT READY, MEDIUM NOT PRESENT (3Ah/00h): medium access on a removable unit whose medium was ejected. */
export const MEDIUM_NOT_PRESENT: SenseData = senseNotReady(Asc.MEDIUM_NOT_PRESENT);
/** ILLEGAL REQUEST, MEDIUM REMOVAL PREVENTED (53h/02h): LOEJ while a prevention is in effect. */
export const MEDIUM_REMOVAL_PREVENTED: SenseData = senseIllegalRequest(Asc.MEDIUM_REMOVAL_PREVENTED);

/** The medium state of one logical unit. */
export class Medium {
  /** RMB: the medium can be removed (ejected and loaded with START STOP UNIT LOEJ). */
  readonly removable: boolean;
  #loaded = true;
  readonly #preventing = new Set<string>();

  constructor(removable: boolean) {
    this.removable = removable;
  }

  /** The medium is in the unit (always, for a fixed disk). */
  get loaded(): boolean {
    return this.#loaded;
  }

  /** Some I_T nexus prevents removal. */
  get prevented(): boolean {
    return this.#preventing.size > 0;
  }

  /** PREVENT ALLOW MEDIUM REMOVAL from `nexus` (PREVENT 01b or 00b); nothing to keep on a fixed disk. */
  setPrevent(nexus: string, prevent: boolean): void {
    if (!this.removable) return;
    if (prevent) this.#preventing.add(nexus);
    else this.#preventing.delete(nexus);
  }

  /**
   * START STOP UNIT with LOEJ: loads (true) or unloads the medium of a
   * removable unit. The caller refuses it while {@link prevented}.
   */
  setLoaded(loaded: boolean): void {
    if (!this.removable) throw new RangeError('a fixed disk has no medium to load or eject');
    this.#loaded = loaded;
  }

  /** I_T nexus loss (or logout): that nexus's prevention ends. */
  forgetNexus(nexus: string): void {
    this.#preventing.delete(nexus);
  }

  /** Logical unit reset or hard reset: every prevention ends; the medium stays where it is. */
  reset(): void {
    this.#preventing.clear();
  }
}
