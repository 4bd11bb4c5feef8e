// What the SBC emulator holds for each I_T nexus: its pending unit attentions
// and deferred errors, reported to the nexus's next command or by REQUEST
// SENSE; and, for a while, the unit attentions of nexuses that were lost, for
// their initiator ports' return. Spec: SAM-5 (unit attention condition, I_T
// nexus loss), SPC-5 (deferred errors; unit attentions of registrations).

import { senseUnitAttention, type AscAscq, type SenseData } from '../sense.js';
import { UnitAttention, isResetCondition } from './errors.js';

/** One I_T nexus's pending conditions, oldest first. */
export interface NexusState {
  unitAttentions: AscAscq[];
  deferred: SenseData[];
}

/**
 * Lost I_T nexuses whose unit attentions a unit keeps, the earliest lost
 * dropped first: one initiator logging in under ever new ISIDs must not grow
 * them without end. A dropped one returns to what a new nexus gets (POWER ON,
 * RESET OR BUS DEVICE RESET OCCURRED), as after a restart.
 */
export const MAX_LOST_NEXUSES = 1024;

/** `queue` with `code` established (in place, but for a reset condition, which supersedes what was queued); a condition already queued is not queued twice. */
function establish(queue: AscAscq[], code: AscAscq): AscAscq[] {
  if (isResetCondition(code)) return [code];
  if (!queue.some((u) => u.asc === code.asc && u.ascq === code.ascq)) queue.push(code);
  return queue;
}

/**
 * The pending conditions of every I_T nexus the unit knows, over a map the
 * emulator also reads (its READ/WRITE fast path looks a nexus up directly).
 * A nexus is known from its first command until it is lost; then its unit
 * attentions are kept apart (at most MAX_LOST_NEXUSES, until a logical unit
 * reset) for its return.
 */
export class NexusConditions {
  readonly #nexuses: Map<string, NexusState>;
  readonly #opts: { readonly powerOnUnitAttention?: boolean };
  /** The pending unit attentions of lost nexuses, in the order they were lost. */
  readonly #lost = new Map<string, AscAscq[]>();

  constructor(nexuses: Map<string, NexusState>, opts: { readonly powerOnUnitAttention?: boolean }) {
    this.#nexuses = nexuses;
    this.#opts = opts;
  }

  /**
   * The state of `id`, made on its first command: with POWER ON, RESET OR BUS
   * DEVICE RESET OCCURRED unless the options turn that off; a nexus that was
   * lost takes up the unit attentions kept for it instead (see lose).
   */
  of(id: string): NexusState {
    let n = this.#nexuses.get(id);
    if (n === undefined) {
      const kept = this.#lost.get(id);
      this.#lost.delete(id);
      n = { unitAttentions: kept ?? (this.#opts.powerOnUnitAttention === false ? [] : [UnitAttention.POWER_ON_RESET]), deferred: [] };
      this.#nexuses.set(id, n);
    }
    return n;
  }

  /** Queues a unit attention for every known I_T nexus except `except`, and for every lost one; a reset condition supersedes what was queued. */
  raise(code: AscAscq, except?: string): void {
    for (const [id, n] of this.#nexuses) if (id !== except) n.unitAttentions = establish(n.unitAttentions, code);
    for (const [id, queue] of this.#lost) if (id !== except) this.#lost.set(id, establish(queue, code));
  }

  /**
   * A unit attention for one I_T nexus (a reservation change, commands
   * cleared), also while it is lost: SPC-5 establishes REGISTRATIONS
   * PREEMPTED for the initiator port of a registration, which outlives its
   * nexus. A nexus the unit never saw gets none: its first command reports
   * the power-on condition, which supersedes it.
   */
  raiseFor(nexus: string, code: AscAscq): void {
    const n = this.#nexuses.get(nexus);
    if (n !== undefined) n.unitAttentions = establish(n.unitAttentions, code);
    const kept = this.#lost.get(nexus);
    if (kept !== undefined) this.#lost.set(nexus, establish(kept, code));
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

  /**
   * Reports `s` as a deferred error to `nexus`'s next command; none to a nexus
   * the unit does not know: a lost one, whose loss dropped them, or one it
   * never saw, which sent nothing that could have failed.
   */
  defer(nexus: string, s: SenseData): void {
    this.#nexuses.get(nexus)?.deferred.push({ ...s, deferred: true });
  }

  /** Drops every nexus's deferred errors (a logical unit reset). */
  dropDeferred(): void {
    for (const n of this.#nexuses.values()) n.deferred = [];
  }

  /**
   * I_T nexus loss of `nexus` (SAM-5): its deferred errors are dropped, and its
   * unit attentions kept for its initiator port's return, as I_T NEXUS LOSS
   * OCCURRED (29h/07h) — or the power on or reset condition it had pending:
   * those events include a nexus loss and outrank it (SAM-5 unit attention
   * precedence), and like it supersede what was queued. Conditions raised
   * while it is away queue behind (raise, raiseFor). A nexus the unit never
   * saw leaves nothing: on its return it gets what a new nexus gets.
   */
  lose(nexus: string): void {
    const n = this.#nexuses.get(nexus);
    if (n === undefined) return;
    this.#nexuses.delete(nexus);
    this.#lost.set(nexus, [n.unitAttentions.find(isResetCondition) ?? UnitAttention.I_T_NEXUS_LOSS]);
    const earliest = this.#lost.keys().next();
    if (this.#lost.size > MAX_LOST_NEXUSES && earliest.done !== true) this.#lost.delete(earliest.value);
  }

  /**
   * Forgets every lost nexus (a logical unit reset, also what power on does):
   * each returns to what a new nexus gets, POWER ON, RESET OR BUS DEVICE
   * RESET OCCURRED (unless the options turn that off), which names the reset too.
   */
  forgetLost(): void {
    this.#lost.clear();
  }
}
