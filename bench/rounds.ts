// Interleaved rounds, for ratios on a shared and noisy machine.
//
// Two cases measured one after the other may meet two different machines:
// a neighbour's load comes and goes over seconds to minutes. So each case is
// measured in several short slices, the cases taking turns round by round
// (the order rotates, so no case always runs first or last in a round), and a
// case is compared with its baseline round by round: the ratio reported is the
// median of the per-round ratios, each from two slices a few seconds apart.
// The rate reported is the case's median slice.

/** One slice of a case: its rate, and the latencies measured with it when there are any. */
export interface Slice {
  readonly opsPerSec: number;
  readonly p50Us?: number;
  readonly p99Us?: number;
}

/** A case: measured once per round by `run`; `round` counts from 0. */
export interface RoundCase<K extends string, S extends Slice = Slice> {
  readonly key: K;
  run(round: number): Promise<S>;
}

/** What each case measured, one slice per round in round order. */
export type RoundSlices<K extends string, S extends Slice = Slice> = ReadonlyMap<K, readonly S[]>;

/**
 * Runs `rounds` rounds; in round r the cases run in their order rotated by r
 * (round 0: as given). `onSlice` is told before each slice. A failing slice
 * fails the whole run: no partial numbers.
 */
export async function runRounds<K extends string, S extends Slice>(cases: readonly RoundCase<K, S>[], rounds: number, onSlice?: (key: K, round: number) => void): Promise<RoundSlices<K, S>> {
  if (!Number.isInteger(rounds) || rounds < 1) throw new RangeError(`rounds must be a whole number >= 1, got ${rounds}`);
  if (cases.length === 0) throw new RangeError('runRounds needs at least one case');
  const keys = new Set(cases.map((c) => c.key));
  if (keys.size !== cases.length) throw new RangeError(`runRounds: case keys must differ, got ${cases.map((c) => c.key).join(', ')}`);
  const out = new Map<K, S[]>(cases.map((c) => [c.key, []]));
  for (let round = 0; round < rounds; round++) {
    for (let i = 0; i < cases.length; i++) {
      const c = cases[(i + round) % cases.length] as RoundCase<K, S>;
      onSlice?.(c.key, round);
      const slice = await c.run(round);
      if (!(Number.isFinite(slice.opsPerSec) && slice.opsPerSec >= 0)) throw new RangeError(`${c.key} round ${round}: opsPerSec must be finite and >= 0, got ${slice.opsPerSec}`);
      (out.get(c.key) as S[]).push(slice);
    }
  }
  return out;
}

/** The median of `xs` (the lower middle one for an even count, so it is always a measured value). */
export function median(xs: readonly number[]): number {
  if (xs.length === 0) throw new RangeError('median of no values');
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.floor((sorted.length - 1) / 2)] as number;
}

/** The slice with the median rate (lower middle for an even count), with its own latencies. */
export function medianSlice<S extends Slice>(slices: readonly S[]): S {
  const m = median(slices.map((s) => s.opsPerSec));
  return slices.find((s) => s.opsPerSec === m) as S;
}

/** The median over rounds of `of[r].opsPerSec / to[r].opsPerSec`: both lists hold one slice per round. */
export function pairedRatio(of: readonly Slice[], to: readonly Slice[]): number {
  if (of.length !== to.length || of.length === 0) throw new RangeError(`pairedRatio needs one slice per round on both sides, got ${of.length} and ${to.length}`);
  const ratios = of.map((s, r) => {
    const base = (to[r] as Slice).opsPerSec;
    if (!(base > 0)) throw new RangeError(`pairedRatio: baseline rate in round ${r} is ${base}; a ratio needs a positive rate`);
    return s.opsPerSec / base;
  });
  return median(ratios);
}
