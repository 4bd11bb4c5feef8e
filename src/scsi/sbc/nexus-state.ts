// What the SBC emulator holds for each I_T nexus: its pending unit attentions
// and deferred errors, reported to the nexus's next command or by REQUEST
// SENSE. Spec: SAM-5 (unit attention condition, I_T nexus loss), SPC-5
// (deferred errors).

import { senseUnitAttention, type AscAscq, type SenseData } from '../sense.js';
import { UnitAttention, isResetCondition } from './errors.js';

/** One I_T nexus's pending conditions, oldest first. */
export interface NexusState {
  unitAttentions: AscAscq[];
  deferred: SenseData[];
}

/**
 * The pending conditions of every I_T nexus the unit knows, over a map the
 * emulator also reads (its READ/WRITE fast path looks a nexus up directly).
 * A nexus is known from its first command until it is forgotten.
 */
export class NexusConditions {
  readonly #nexuses: Map<string, NexusState>;
  readonly #opts: { readonly powerOnUnitAttention?: boolean };

  constructor(nexuses: Map<string, NexusState>, opts: { readonly powerOnUnitAttention?: boolean }) {
    this.#nexuses = nexuses;
    this.#opts = opts;
  }

  /** The state of `id`, made on its first command: with POWER ON, RESET OR BUS DEVICE RESET OCCURRED unless the options turn that off. */
  of(id: string): NexusState {
    let n = this.#nexuses.get(id);
    if (n === undefined) {
      n = { unitAttentions: this.#opts.powerOnUnitAttention === false ? [] : [UnitAttention.POWER_ON_RESET], deferred: [] };
      this.#nexuses.set(id, n);
    }
    return n;
  }

  /** Queues a unit attention for every known I_T nexus except `except`; a reset condition supersedes what was queued. */
  raise(code: AscAscq, except?: string): void {
    for (const [id, n] of this.#nexuses) {
      if (id === except) continue;
      if (isResetCondition(code)) n.unitAttentions = [code];
      else if (!n.unitAttentions.some((u) => u.asc === code.asc && u.ascq === code.ascq)) n.unitAttentions.push(code);
    }
  }

  /**
   * A unit attention for one I_T nexus (a reservation change, commands
   * cleared). A nexus the unit does not know (never seen, or lost) gets none:
   * its first command reports the power-on condition, which supersedes it.
   */
  raiseFor(nexus: string, code: AscAscq): void {
    const n = this.#nexuses.get(nexus);
    if (n !== undefined && !n.unitAttentions.some((u) => u.asc === code.asc && u.ascq === code.ascq)) n.unitAttentions.push(code);
  }

  /** Drops a queued unit attention of `nexus`. */
  clear(nexus: string, code: AscAscq): void {
    const n = this.of(nexus);
    n.unitAttentions = n.unitAttentions.filter((u) => u.asc !== code.asc || u.ascq !== code.ascq);
  }

  /** The pending sense for `nexus` (a unit attention, else a deferred error), removed. */
  takePending(nexus: string): SenseData | undefined {
    const n = this.of(nexus);
    const ua = n.unitAttentions.shift();
    if (ua !== undefined) return senseUnitAttention(ua);
    return n.deferred.shift();
  }

  /** Reports `s` as a deferred error to `nexus`'s next command. */
  defer(nexus: string, s: SenseData): void {
    this.of(nexus).deferred.push({ ...s, deferred: true });
  }

  /** Drops every nexus's deferred errors (a logical unit reset). */
  dropDeferred(): void {
    for (const n of this.#nexuses.values()) n.deferred = [];
  }

  /** Forgets `nexus` (I_T nexus loss): a later command from it starts afresh. */
  forget(nexus: string): void {
    this.#nexuses.delete(nexus);
  }
}
