import { describe, expect, it } from 'vitest';
import { ReadWriteOrder, type DataOpKind } from '../../../../src/virtio/device/backends/read-write-order.js';

// Each operation is a promise the test settles by hand, and logs when it starts
// and ends, so the order the class imposes is read off the log.

interface Op {
  readonly done: Promise<string>;
  end(): void;
  fail(): void;
}

const log: string[] = [];

function start(order: ReadWriteOrder, name: string, kind: DataOpKind, offset: number, length: number): Op {
  let end = (): void => undefined;
  let fail = (): void => undefined;
  const done = order.run(kind, offset, length, () => {
    log.push(`start ${name}`);
    return new Promise<string>((resolve, reject) => {
      // Once only: ending an ended operation is a no-op.
      end = () => {
        end = fail = () => undefined;
        log.push(`end ${name}`);
        resolve(name);
      };
      fail = () => {
        end = fail = () => undefined;
        log.push(`fail ${name}`);
        reject(new Error(`${name} failed`));
      };
    });
  });
  return { done, end: () => { end(); }, fail: () => { fail(); } };
}

/** Lets every promise reaction that is ready run. */
const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('ReadWriteOrder', () => {
  it('is idle with nothing in flight, busy while an operation is, idle again once it ended', async () => {
    const order = new ReadWriteOrder();
    expect(order.idle).toBe(true);
    log.length = 0;
    const r = start(order, 'R', 'read', 0, 512);
    expect(order.idle).toBe(false);
    r.end();
    expect(await r.done).toBe('R');
    expect(order.idle).toBe(true);
  });

  it('a write waits for an earlier overlapping read, a read for an earlier overlapping write', async () => {
    const order = new ReadWriteOrder();
    log.length = 0;
    const r1 = start(order, 'R1', 'read', 0, 4096);
    const w = start(order, 'W', 'write', 3584, 1024);
    await settle();
    expect(log).toEqual(['start R1']);
    r1.end();
    await settle();
    expect(log).toEqual(['start R1', 'end R1', 'start W']);
    const r2 = start(order, 'R2', 'read', 4096, 512);
    await settle();
    expect(log).toEqual(['start R1', 'end R1', 'start W']);
    w.end();
    await settle();
    expect(log.slice(3)).toEqual(['end W', 'start R2']);
    r2.end();
    expect(await Promise.all([r1.done, w.done, r2.done])).toEqual(['R1', 'W', 'R2']);
    expect(order.idle).toBe(true);
  });

  it('reads beside reads, writes beside writes, and a read and a write on adjacent ranges start at once', () => {
    const order = new ReadWriteOrder();
    log.length = 0;
    const ops = [
      start(order, 'R1', 'read', 0, 4096),
      start(order, 'R2', 'read', 0, 4096),
      start(order, 'W1', 'write', 4096, 4096),
      start(order, 'W2', 'write', 4096, 512),
      start(order, 'R3', 'read', 8192, 512),
    ];
    expect(log).toEqual(['start R1', 'start R2', 'start W1', 'start W2', 'start R3']);
    for (const op of ops) op.end();
  });

  it('in arrival order: a read that came after a waiting write waits for it, though the read the write waits for is still running', async () => {
    const order = new ReadWriteOrder();
    log.length = 0;
    const r1 = start(order, 'R1', 'read', 0, 1024);
    const w = start(order, 'W', 'write', 512, 512);
    const r2 = start(order, 'R2', 'read', 0, 1024);
    // Another read beside R1 that the write does not touch goes at once.
    const r3 = start(order, 'R3', 'read', 0, 512);
    await settle();
    expect(log).toEqual(['start R1', 'start R3']);
    r1.end();
    r3.end();
    await settle();
    expect(log.slice(2)).toEqual(['end R1', 'end R3', 'start W']);
    w.end();
    await settle();
    expect(log.slice(5)).toEqual(['end W', 'start R2']);
    r2.end();
    await Promise.all([r1.done, w.done, r2.done, r3.done]);
    expect(order.idle).toBe(true);
  });

  it('a write waits for every earlier overlapping read, each ending in its own time', async () => {
    const order = new ReadWriteOrder();
    log.length = 0;
    const r1 = start(order, 'R1', 'read', 0, 512);
    const r2 = start(order, 'R2', 'read', 1024, 512);
    const w = start(order, 'W', 'write', 0, 2048);
    r2.end();
    await settle();
    expect(log).toEqual(['start R1', 'start R2', 'end R2']);
    r1.end();
    await settle();
    expect(log.slice(3)).toEqual(['end R1', 'start W']);
    w.end();
    await w.done;
  });

  it('an operation that fails lets the ones waiting for it run, and its caller gets the failure', async () => {
    const order = new ReadWriteOrder();
    log.length = 0;
    const w = start(order, 'W', 'write', 0, 512);
    const r = start(order, 'R', 'read', 0, 512);
    w.fail();
    await expect(w.done).rejects.toThrow('W failed');
    await settle();
    expect(log).toEqual(['start W', 'fail W', 'start R']);
    r.end();
    expect(await r.done).toBe('R');
    expect(order.idle).toBe(true);
  });

  it('an operation that throws instead of returning a promise throws to its caller and holds nothing', async () => {
    const order = new ReadWriteOrder();
    expect(() => order.run('write', 0, 512, () => { throw new RangeError('bad range'); })).toThrow('bad range');
    expect(order.idle).toBe(true);
    log.length = 0;
    const r = start(order, 'R', 'read', 0, 512);
    expect(log).toEqual(['start R']);
    r.end();
    await r.done;
  });

  it('holds nothing once a thousand overlapping operations have ended', async () => {
    const order = new ReadWriteOrder();
    log.length = 0;
    const ops: Op[] = [];
    for (let i = 0; i < 1000; i++) ops.push(start(order, `op${i}`, i % 3 === 0 ? 'write' : 'read', (i % 8) * 512, 4096));
    // Each ends as soon as it has started: the whole chain drains in arrival order among conflicting pairs.
    for (let round = 0; round < 1000 && !order.idle; round++) {
      for (const op of ops) op.end();
      await settle();
    }
    expect(order.idle).toBe(true);
    expect(log.filter((l) => l.startsWith('end')).length).toBe(1000);
  });
});
