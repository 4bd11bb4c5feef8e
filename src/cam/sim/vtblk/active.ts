// The CCBs a SIM is working on. Each entry is reached from its CCB
// (ccb.simPriv, FreeBSD's ccb_h.spriv_ptr0) and kept in a list by index, so
// adding and removing one costs no hash table per I/O: a Map keyed by CCB,
// churned on every I/O, makes V8's scavenger keep garbage alive through the
// tables it has outgrown (see CcbHeader.xptPriv).

import type { ScsiIoCcb } from '../../xpt/sim-api.js';

/** One CCB at the SIM; a SIM adds its own state. The list owns `index` and `seq`. */
export interface ActiveCcb {
  readonly ccb: ScsiIoCcb;
  /** Position in its list, -1 when in none. */
  index: number;
  /** Order of arrival in its list. */
  seq: number;
}

/** The active CCBs of one SIM. */
export class ActiveCcbs<E extends ActiveCcb> {
  readonly #list: E[] = [];
  #seq = 0;

  get size(): number {
    return this.#list.length;
  }

  /** The entry of `ccb` in this list, if it is in it. */
  get(ccb: ScsiIoCcb): E | undefined {
    const e = ccb.simPriv as Partial<ActiveCcb> | null | undefined;
    if (typeof e !== 'object' || e === null || typeof e.index !== 'number') return undefined;
    // Identity with our own slot proves it is one of ours (an E).
    const mine = this.#list[e.index];
    return mine === e ? mine : undefined;
  }

  has(ccb: ScsiIoCcb): boolean {
    return this.get(ccb) !== undefined;
  }

  /** Adds `e`, replacing the entry its CCB had here (as a Map keyed by CCB would). */
  add(e: E): void {
    const old = this.get(e.ccb);
    if (old !== undefined) this.delete(old);
    e.index = this.#list.length;
    e.seq = this.#seq++;
    this.#list.push(e);
    e.ccb.simPriv = e;
  }

  /** Removes `e` if it is here (swap-remove: the list order is not arrival order). */
  delete(e: E): boolean {
    if (this.#list[e.index] !== e) return false;
    const last = this.#list.pop();
    if (last !== undefined && last !== e) {
      this.#list[e.index] = last;
      last.index = e.index;
    }
    e.index = -1;
    if (e.ccb.simPriv === e) e.ccb.simPriv = undefined;
    return true;
  }

  /** Every entry, in order of arrival. */
  values(): E[] {
    return [...this.#list].sort((a, b) => a.seq - b.seq);
  }

  /** Removes every entry; returns them in order of arrival. */
  clear(): E[] {
    const all = this.values();
    for (const e of all) this.delete(e);
    return all;
  }
}
