// The CAM heap (src/cam/queue.ts): order by (priority, generation), FIFO
// within a priority across a generation wrap, O(log n) removal of any entry.

import { describe, expect, test } from 'vitest';
import fc from 'fast-check';
import { CAM_UNQUEUED_INDEX, CamQueue, nextGeneration, queueBefore, type CamqEntry } from '../../src/cam/queue.js';

interface E extends CamqEntry {
  readonly id: number;
}
const entry = (id: number, priority: number, generation: number): E => ({ id, priority, generation, index: CAM_UNQUEUED_INDEX });

describe('queueBefore', () => {
  test('lower priority value first, then older generation', () => {
    expect(queueBefore(entry(0, 0x380, 9), entry(1, 0x480, 1))).toBe(true);
    expect(queueBefore(entry(0, 0x480, 1), entry(1, 0x480, 2))).toBe(true);
    expect(queueBefore(entry(0, 0x480, 2), entry(1, 0x480, 1))).toBe(false);
    expect(queueBefore(entry(0, 0x480, 2), entry(1, 0x480, 2))).toBe(false);
  });

  test('generations compare wrap-safe across 2^31', () => {
    expect(nextGeneration(0x7fffffff)).toBe(-0x80000000);
    expect(nextGeneration(-1)).toBe(0);
    expect(queueBefore(entry(0, 1, 0x7fffffff), entry(1, 1, -0x80000000))).toBe(true);
    expect(queueBefore(entry(0, 1, -0x80000000), entry(1, 1, 0x7fffffff))).toBe(false);
    expect(queueBefore(entry(0, 1, -1), entry(1, 1, 0))).toBe(true);
  });
});

describe('CamQueue', () => {
  test('FIFO within a priority across the generation wrap', () => {
    const q = new CamQueue<E>();
    let g = 0x7ffffffd;
    for (let id = 0; id < 6; id++) {
      q.insert(entry(id, 5, g));
      g = nextGeneration(g);
    }
    expect(q.drain().map((e) => e.id)).toEqual([0, 1, 2, 3, 4, 5]);
  });

  test('entries know their index; remove from the middle keeps the heap', () => {
    const q = new CamQueue<E>();
    const es = [entry(0, 3, 0), entry(1, 1, 1), entry(2, 2, 2), entry(3, 1, 3), entry(4, 0, 4)];
    es.forEach((e) => {
      q.insert(e);
    });
    for (const e of es) expect(q.has(e)).toBe(true);
    const middle = es[2] as E;
    q.remove(middle);
    expect(middle.index).toBe(CAM_UNQUEUED_INDEX);
    expect(q.has(middle)).toBe(false);
    expect(q.size).toBe(4);
    expect(q.drain().map((e) => e.id)).toEqual([4, 1, 3, 0]);
  });

  test('caller bugs throw: double insert, removing what is not queued, a NaN priority', () => {
    const q = new CamQueue<E>();
    const e = entry(0, 1, 0);
    q.insert(e);
    expect(() => {
      q.insert(e);
    }).toThrow(/already queued at index 0/);
    const other = new CamQueue<E>();
    expect(() => {
      other.remove(e);
    }).toThrow(/not in this queue/);
    expect(() => {
      q.insert(entry(1, Number.NaN, 1));
    }).toThrow(RangeError);
    expect(q.shift()).toBe(e);
    expect(q.shift()).toBeUndefined();
    expect(q.peek()).toBeUndefined();
  });

  test('property: any sequence of inserts and removals leaves in (priority, generation) order', () => {
    fc.assert(
      fc.property(
        fc.array(fc.oneof(fc.record({ op: fc.constant('insert' as const), priority: fc.integer({ min: 0, max: 4 }) }), fc.record({ op: fc.constant('remove' as const), pick: fc.nat() }), fc.record({ op: fc.constant('shift' as const) })), { maxLength: 300 }),
        fc.integer({ min: -0x80000000, max: 0x7fffffff }),
        (ops, startGen) => {
          const q = new CamQueue<E>();
          const model: E[] = [];
          let g = startGen;
          let id = 0;
          const sorted = (): E[] => [...model].sort((a, b) => a.priority - b.priority || a.id - b.id);
          for (const op of ops) {
            if (op.op === 'insert') {
              const e = entry(id++, op.priority, g);
              g = nextGeneration(g);
              q.insert(e);
              model.push(e);
            } else if (op.op === 'remove' && model.length > 0) {
              const e = model.splice(op.pick % model.length, 1)[0] as E;
              q.remove(e);
            } else if (op.op === 'shift') {
              const want = sorted()[0];
              expect(q.shift()).toBe(want);
              if (want !== undefined) model.splice(model.indexOf(want), 1);
            }
            expect(q.size).toBe(model.length);
            expect(q.peek()).toBe(sorted()[0]);
          }
          expect(q.drain()).toEqual(sorted());
        },
      ),
    );
  });
});
