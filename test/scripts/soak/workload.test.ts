// The soak's decisions: the same seed and slot give the same sequence, another
// slot or seed another one, and every range stays on the disk.

import { describe, expect, test } from 'vitest';
import { Workload, type Decision } from '../../../scripts/soak/workload.js';

const GEOMETRY = { blocks: 4096, hot: 512, maxBlocks: 256, maxCompareAndWrite: 8 };
const draw = (seed: number, slot: number, n: number): Decision[] => {
  const w = new Workload(seed, slot, GEOMETRY);
  return Array.from({ length: n }, () => w.next());
};
/** The same on a unit that unmaps (so UNMAP and WRITE SAME with UNMAP are drawn too). */
const drawThin = (seed: number, slot: number, n: number): Decision[] => {
  const w = new Workload(seed, slot, { ...GEOMETRY, unmap: { maxLbaCount: 300, maxDescriptors: 3, zeros: false } });
  return Array.from({ length: n }, () => w.next());
};

describe('Workload', () => {
  test('same seed and slot, same decisions; another slot or seed, others', () => {
    expect(draw(7, 0, 2000)).toEqual(draw(7, 0, 2000));
    expect(draw(7, 1, 50)).not.toEqual(draw(7, 0, 50));
    expect(draw(8, 0, 50)).not.toEqual(draw(7, 0, 50));
  });

  test('login offers follow the seed too, and never offer a first burst above the burst', () => {
    const offers = (seed: number): unknown[] => {
      const w = new Workload(seed, 0, GEOMETRY);
      return Array.from({ length: 200 }, () => w.loginOffer());
    };
    expect(offers(3)).toEqual(offers(3));
    const w = new Workload(3, 0, GEOMETRY);
    for (let i = 0; i < 500; i++) {
      const o = w.loginOffer();
      expect(o.FirstBurstLength).toBeLessThanOrEqual(o.MaxBurstLength);
    }
  });

  test('ranges stay on the disk and within the transfer limit; every kind of decision occurs', () => {
    const ds = draw(1, 0, 20_000);
    for (const d of ds) {
      if (d.kind === 'compare-and-write') {
        expect(d.verify).toHaveLength(d.blocks);
        expect(d.blocks).toBeLessThanOrEqual(8);
        expect(d.lba + d.blocks).toBeLessThanOrEqual(GEOMETRY.hot);
      }
      if (d.kind !== 'read' && d.kind !== 'write' && d.kind !== 'write-same') continue;
      expect(d.blocks).toBeGreaterThanOrEqual(1);
      expect(d.blocks).toBeLessThanOrEqual(256);
      expect(d.lba + d.blocks).toBeLessThanOrEqual(GEOMETRY.blocks);
    }
    expect(new Set(ds.map((d) => d.kind))).toEqual(new Set(['read', 'write', 'write-same', 'compare-and-write', 'sync-cache', 'abort-task', 'abort-task-set', 'clear-task-set', 'lu-reset', 'target-warm-reset', 'drop', 'logout']));
  });

  test('every command kind goes mostly SIMPLE, some ORDERED, fewer HEAD OF QUEUE', () => {
    const ds = [...draw(2, 1, 20_000), ...drawThin(2, 1, 200_000).filter((d) => d.kind !== 'read' && d.kind !== 'write' && d.kind !== 'write-same')];
    const kinds = ['read', 'write', 'write-same', 'compare-and-write', 'unmap', 'write-same-unmap', 'sync-cache'] as const;
    for (const kind of kinds) {
      const attrs = ds.flatMap((d) => (d.kind === kind ? [d.attr] : []));
      const share = (a: string): number => attrs.filter((x) => x === a).length / attrs.length;
      expect(attrs.length, kind).toBeGreaterThan(1000);
      expect(share('ordered'), kind).toBeGreaterThan(0.01);
      expect(share('ordered'), kind).toBeLessThan(0.04);
      expect(share('head'), kind).toBeGreaterThan(0.003);
      expect(share('head'), kind).toBeLessThan(share('ordered'));
      expect(share('simple'), kind).toBeGreaterThan(0.9);
    }
  });

  test('SYNCHRONIZE CACHE goes with IMMED about a third of the time; a thin unit\'s draws follow the seed too', () => {
    const immed = drawThin(5, 0, 100_000).flatMap((d) => (d.kind === 'sync-cache' ? [d.immed] : []));
    const share = immed.filter((x) => x).length / immed.length;
    expect(share).toBeGreaterThan(0.2);
    expect(share).toBeLessThan(0.4);
    expect(drawThin(5, 0, 5000)).toEqual(drawThin(5, 0, 5000));
    expect(drawThin(5, 1, 50)).not.toEqual(drawThin(5, 0, 50));
  });

  test("a decision's fields are named in draw order: the attribute after the command's own fields, IMMED after it", () => {
    const first = draw(1, 0, 400);
    const caw = first.find((d) => d.kind === 'compare-and-write');
    const sync = first.find((d) => d.kind === 'sync-cache');
    expect(caw).toBeDefined();
    expect(sync).toBeDefined();
    expect(Object.keys(caw ?? {})).toEqual(['kind', 'lba', 'blocks', 'verify', 'attr']);
    expect(Object.keys(sync ?? {})).toEqual(['kind', 'attr', 'immed']);
  });

  test('UNMAP and WRITE SAME with UNMAP only on a unit that unmaps, within its limits; SYNCHRONIZE CACHE everywhere', () => {
    expect(draw(1, 0, 20_000).filter((d) => d.kind === 'unmap' || d.kind === 'write-same-unmap')).toEqual([]);
    const w = new Workload(1, 0, { ...GEOMETRY, unmap: { maxLbaCount: 300, maxDescriptors: 3, zeros: true } });
    const ds = Array.from({ length: 20_000 }, () => w.next());
    const kinds = new Set(ds.map((d) => d.kind));
    expect([kinds.has('unmap'), kinds.has('write-same-unmap'), kinds.has('sync-cache')]).toEqual([true, true, true]);
    const ws = ds.flatMap((d) => (d.kind === 'write-same-unmap' ? [d.zeros] : []));
    expect(new Set(ws)).toEqual(new Set([true, false]));
    for (const d of ds) {
      if (d.kind !== 'unmap') continue;
      expect(d.ranges.length).toBeGreaterThanOrEqual(1);
      expect(d.ranges.length).toBeLessThanOrEqual(3);
      expect(d.ranges.reduce((n, r) => n + r.blocks, 0)).toBeLessThanOrEqual(300);
      for (const r of d.ranges) expect(r.lba + r.blocks).toBeLessThanOrEqual(GEOMETRY.blocks);
    }
  });

  test('a hot area larger than the disk is a bug', () => {
    expect(() => new Workload(1, 0, { blocks: 10, hot: 11, maxBlocks: 1, maxCompareAndWrite: 0 })).toThrow(RangeError);
  });
});
