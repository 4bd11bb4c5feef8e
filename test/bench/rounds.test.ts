import { describe, expect, it } from 'vitest';
import { median, medianSlice, pairedRatio, runRounds, type Slice } from '../../bench/rounds.js';

const rate = (opsPerSec: number): Slice => ({ opsPerSec });

describe('runRounds', () => {
  it('measures every case once per round, rotating the order each round', async () => {
    const order: string[] = [];
    const run = (key: string) => (round: number) => {
      order.push(`${key}${round}`);
      return Promise.resolve(rate(round * 10 + key.charCodeAt(0)));
    };
    const out = await runRounds(['a', 'b', 'c'].map((key) => ({ key, run: run(key) })), 4);
    expect(order).toEqual(['a0', 'b0', 'c0', 'b1', 'c1', 'a1', 'c2', 'a2', 'b2', 'a3', 'b3', 'c3']);
    expect(out.get('b')?.map((s) => s.opsPerSec)).toEqual([98, 108, 118, 128]);
  });

  it('tells each slice before it runs', async () => {
    const told: string[] = [];
    await runRounds([{ key: 'x', run: () => Promise.resolve(rate(1)) }], 2, (key, round) => told.push(`${key}@${round}`));
    expect(told).toEqual(['x@0', 'x@1']);
  });

  it('fails the whole run when a slice fails, with no more slices after it', async () => {
    let after = 0;
    const cases = [
      { key: 'bad', run: () => Promise.reject(new Error('device gone')) },
      { key: 'ok', run: () => { after++; return Promise.resolve(rate(1)); } },
    ];
    await expect(runRounds(cases, 2)).rejects.toThrow('device gone');
    expect(after).toBe(0);
  });

  it('refuses bad rounds, no cases, duplicate keys and a rate that is not a rate', async () => {
    const one = [{ key: 'a', run: () => Promise.resolve(rate(1)) }];
    await expect(runRounds(one, 0)).rejects.toThrow('rounds must be a whole number >= 1, got 0');
    await expect(runRounds(one, 1.5)).rejects.toThrow('got 1.5');
    await expect(runRounds([], 1)).rejects.toThrow('at least one case');
    await expect(runRounds([...one, ...one], 1)).rejects.toThrow('case keys must differ, got a, a');
    await expect(runRounds([{ key: 'n', run: () => Promise.resolve(rate(Number.NaN)) }], 1)).rejects.toThrow('n round 0: opsPerSec must be finite and >= 0, got NaN');
  });
});

describe('median, medianSlice, pairedRatio', () => {
  it('median is the middle value, the lower middle for an even count, and never an average', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2);
    expect(median([7])).toBe(7);
    expect(() => median([])).toThrow('median of no values');
  });

  it('medianSlice keeps the median slice with its own latencies', () => {
    const s = medianSlice([{ opsPerSec: 5, p50Us: 1 }, { opsPerSec: 9, p50Us: 2 }, { opsPerSec: 7, p50Us: 3 }]);
    expect(s).toEqual({ opsPerSec: 7, p50Us: 3 });
  });

  it('pairedRatio is the median of per-round ratios: load that comes between two slices moves one round, not the result', () => {
    // The load arrived after round 0's path slice: the baseline ran slow in rounds 1 and 2, the path only in 2.
    const base = [rate(100), rate(10), rate(10)];
    const path = [rate(50), rate(50), rate(5)];
    expect(pairedRatio(path, base)).toBe(0.5);
    // The ratio of the two medians says 5.
    expect(medianSlice(path).opsPerSec / medianSlice(base).opsPerSec).toBe(5);
  });

  it('pairedRatio refuses unpaired slices and a baseline that did nothing', () => {
    expect(() => pairedRatio([rate(1)], [rate(1), rate(2)])).toThrow('one slice per round on both sides, got 1 and 2');
    expect(() => pairedRatio([], [])).toThrow('got 0 and 0');
    expect(() => pairedRatio([rate(1), rate(1)], [rate(1), rate(0)])).toThrow('baseline rate in round 1 is 0');
  });
});
