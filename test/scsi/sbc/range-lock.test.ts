// RangeLock: shared/exclusive locks over half-open LBA ranges, granted in
// arrival order among conflicting requests.

import { describe, expect, test } from 'vitest';
import { RangeLock } from '../../../src/scsi/sbc/range-lock.js';
import { settle } from './hooked-block-set.js';

/** An acquire whose grant the test can observe without awaiting it. */
interface Pending {
  readonly name: string;
  granted: boolean;
  release: () => void;
}

function take(lock: RangeLock, order: string[], name: string, lba: bigint, blocks: number, exclusive: boolean): Pending {
  const p: Pending = {
    name,
    granted: false,
    release: () => {
      throw new Error(`${name} released before it was granted`);
    },
  };
  void lock.acquire(lba, blocks, exclusive).then((release) => {
    p.granted = true;
    p.release = release;
    order.push(name);
  });
  return p;
}

type Take = (name: string, lba: number | bigint, blocks: number) => Pending;

function fixture(): { lock: RangeLock; order: string[]; s: Take; x: Take } {
  const lock = new RangeLock();
  const order: string[] = [];
  return {
    lock,
    order,
    s: (n, lba, blocks) => take(lock, order, n, BigInt(lba), blocks, false),
    x: (n, lba, blocks) => take(lock, order, n, BigInt(lba), blocks, true),
  };
}

describe('RangeLock', () => {
  test('shared locks overlap freely', async () => {
    const { lock, order, s } = fixture();
    s('a', 0, 10);
    s('b', 5, 10);
    s('c', 0, 100);
    await settle();
    expect(order).toEqual(['a', 'b', 'c']);
    expect(lock.held).toBe(3);
    expect(lock.waiting).toBe(0);
  });

  test('exclusive waits for an overlapping shared lock, and is granted when it goes', async () => {
    const { lock, order, s, x } = fixture();
    const a = s('a', 0, 10);
    const e = x('e', 9, 1);
    await settle();
    expect(order).toEqual(['a']);
    expect(e.granted).toBe(false);
    expect([lock.held, lock.waiting]).toEqual([1, 1]);
    a.release();
    await settle();
    expect(order).toEqual(['a', 'e']);
    expect([lock.held, lock.waiting]).toEqual([1, 0]);
  });

  test('shared waits for an overlapping exclusive lock', async () => {
    const { lock, order, s, x } = fixture();
    const e = x('e', 100, 5);
    s('a', 104, 10);
    s('b', 90, 11); // [90, 101) overlaps
    await settle();
    expect(order).toEqual(['e']);
    expect(lock.waiting).toBe(2);
    e.release();
    await settle();
    expect(order).toEqual(['e', 'a', 'b']);
    expect(lock.held).toBe(2);
  });

  test('exclusive locks conflict with each other only when the ranges overlap (half-open)', async () => {
    const { lock, order, x } = fixture();
    const a = x('a', 0, 10);
    x('adjacent', 10, 10);
    x('top', 0xffff_ffff_ffff_fff0n, 16); // up to 2^64
    x('overlap', 9, 2);
    await settle();
    expect(order).toEqual(['a', 'adjacent', 'top']);
    expect(lock.waiting).toBe(1);
    a.release();
    await settle();
    // Still blocked by 'adjacent' ([10, 20) overlaps [9, 11)).
    expect(order).toEqual(['a', 'adjacent', 'top']);
  });

  test('conflicting waiters are granted in arrival order', async () => {
    const { order, x } = fixture();
    const first = x('first', 0, 4);
    const w = [x('w1', 0, 4), x('w2', 2, 4), x('w3', 3, 1)];
    await settle();
    first.release();
    for (const p of w) {
      await settle();
      expect(order.at(-1)).toBe(p.name);
      expect(w.filter((q) => q.granted).length).toBe(w.indexOf(p) + 1);
      p.release();
    }
    expect(order).toEqual(['first', 'w1', 'w2', 'w3']);
  });

  test('a stream of shared requests does not starve a waiting exclusive', async () => {
    const { lock, order, s, x } = fixture();
    const s0 = s('s0', 0, 8);
    const e = x('e', 4, 1);
    // Each new shared request arrives while the previous one is held; none may pass the exclusive.
    const later: Pending[] = [];
    for (let i = 1; i <= 5; i++) later.push(s(`s${i}`, i - 1, 8)); // all cover LBA 4
    await settle();
    expect(order).toEqual(['s0']);
    expect(lock.waiting).toBe(6);
    s0.release();
    await settle();
    expect(order).toEqual(['s0', 'e']);
    expect(later.some((p) => p.granted)).toBe(false);
    e.release();
    await settle();
    // Compatible waiters behind it go together.
    expect(order).toEqual(['s0', 'e', 's1', 's2', 's3', 's4', 's5']);
    expect([lock.held, lock.waiting]).toEqual([5, 0]);
    for (const p of later) p.release();
    expect(lock.held).toBe(0);
  });

  test('an exclusive behind shared waiters waits for them too', async () => {
    const { order, s, x } = fixture();
    const e1 = x('e1', 0, 4);
    const a = s('a', 0, 4);
    const b = s('b', 2, 1);
    const e2 = x('e2', 2, 1);
    await settle();
    e1.release();
    await settle();
    expect(order).toEqual(['e1', 'a', 'b']);
    a.release();
    await settle();
    expect(e2.granted).toBe(false);
    b.release();
    await settle();
    expect(order).toEqual(['e1', 'a', 'b', 'e2']);
  });

  test('a request that conflicts with nothing does not wait behind unrelated waiters', async () => {
    const { lock, order, s, x } = fixture();
    x('e', 0, 10);
    x('waits', 5, 1);
    s('elsewhere', 50, 10);
    x('elsewhere-x', 60, 1);
    await settle();
    expect(order).toEqual(['e', 'elsewhere', 'elsewhere-x']);
    expect(lock.waiting).toBe(1);
  });

  test('a waiter blocked only by an earlier waiter goes when that one is done', async () => {
    const { lock, order, s, x } = fixture();
    const held = x('held', 0, 10);
    const w1 = x('w1', 5, 10); // [5, 15): waits for held
    s('w2', 12, 8); // [12, 20): free of held, but conflicts with w1 ahead of it
    await settle();
    expect(order).toEqual(['held']);
    held.release();
    await settle();
    expect(order).toEqual(['held', 'w1']);
    expect(lock.waiting).toBe(1);
    w1.release();
    await settle();
    expect(order).toEqual(['held', 'w1', 'w2']);
  });

  test('a release does not let a waiter pass an earlier conflicting waiter that still waits', async () => {
    const { order, s, x } = fixture();
    const h1 = x('h1', 0, 10);
    const h2 = x('h2', 20, 10);
    const w1 = x('w1', 5, 20); // [5, 25): waits for h1 and h2
    const w2 = s('w2', 12, 3); // [12, 15): conflicts only with w1
    await settle();
    h1.release();
    await settle();
    expect(order).toEqual(['h1', 'h2']);
    expect(w2.granted).toBe(false);
    h2.release();
    await settle();
    expect(order).toEqual(['h1', 'h2', 'w1']);
    w1.release();
    await settle();
    expect(order).toEqual(['h1', 'h2', 'w1', 'w2']);
  });

  test('zero-length ranges never wait and are not counted', async () => {
    const { lock, order, s, x } = fixture();
    x('e', 0, 10);
    x('x0', 5, 0);
    s('s0', 5, 0);
    x('waits', 5, 1);
    x('x0-after-waiter', 5, 0);
    await settle();
    expect(order).toEqual(['e', 'x0', 's0', 'x0-after-waiter']);
    expect([lock.held, lock.waiting]).toEqual([1, 1]);
    const release = await lock.acquire(3n, 0, true);
    release();
    release();
    expect([lock.held, lock.waiting]).toEqual([1, 1]);
  });

  test('release is idempotent and releases only its own lock', async () => {
    const { lock, order, s, x } = fixture();
    const a = s('a', 0, 4);
    const b = s('b', 0, 4);
    const e = x('e', 0, 4);
    await settle();
    expect([lock.held, lock.waiting]).toEqual([2, 1]);
    a.release();
    a.release();
    a.release();
    await settle();
    expect([lock.held, lock.waiting]).toEqual([1, 1]);
    expect(e.granted).toBe(false);
    b.release();
    await settle();
    expect(order).toEqual(['a', 'b', 'e']);
    e.release();
    e.release();
    expect([lock.held, lock.waiting]).toEqual([0, 0]);
  });

  test('granted immediately: the promise resolves without waiting for a macrotask', async () => {
    const lock = new RangeLock();
    const release = await lock.acquire(0n, 1, true);
    expect(lock.held).toBe(1);
    release();
    expect(lock.held).toBe(0);
  });
});

describe('tryAcquire', () => {
  test('grants at once when free, refuses without queueing when anything conflicts', async () => {
    const locks = new RangeLock();
    const a = locks.tryAcquire(0n, 8, false);
    expect(a).toBeTypeOf('function');
    expect(locks.tryAcquire(4n, 8, false)).toBeTypeOf('function');
    expect(locks.tryAcquire(6n, 1, true)).toBeUndefined();
    expect(locks.waiting).toBe(0);
    expect(locks.tryAcquire(100n, 1, true)).toBeTypeOf('function');
    // A waiter ahead of a shared request makes it conflict too (FIFO among conflicting requests).
    const queued = locks.acquire(0n, 1, true);
    expect(locks.waiting).toBe(1);
    expect(locks.tryAcquire(0n, 1, false)).toBeUndefined();
    expect(locks.tryAcquire(0n, 0, true)).toBeTypeOf('function'); // zero length never conflicts
    expect(locks.held).toBe(3);
    a?.();
    // The shared lock on 4..12 does not cover block 0: the exclusive waiter is granted on the release itself.
    expect(locks.waiting).toBe(0);
    expect(locks.held).toBe(3);
    (await queued)();
    expect(locks.held).toBe(2);
  });
});

describe('tryHold / release', () => {
  test('a hold conflicts as the lock it stands for, and release gives it back once', () => {
    const locks = new RangeLock();
    const shared = locks.tryHold(0n, 8, false);
    expect(shared).toBeDefined();
    expect(locks.tryHold(4n, 8, false)).toBeDefined();
    expect(locks.tryHold(7n, 1, true)).toBeUndefined();
    expect(locks.held).toBe(2);
    if (shared === undefined) throw new Error('unreachable');
    locks.release(shared);
    expect(locks.held).toBe(1);
    locks.release(shared); // idempotent: the other hold stays
    expect(locks.held).toBe(1);
    expect(locks.tryHold(0n, 4, true)).toBeDefined();
    expect(locks.held).toBe(2);
  });

  test('releasing a hold wakes a waiter it blocked', async () => {
    const locks = new RangeLock();
    const hold = locks.tryHold(10n, 2, false);
    if (hold === undefined) throw new Error('unreachable');
    let granted = false;
    const waiter = locks.acquire(11n, 1, true).then((release) => {
      granted = true;
      return release;
    });
    await Promise.resolve();
    expect(granted).toBe(false);
    locks.release(hold);
    (await waiter)();
    expect(granted).toBe(true);
    expect(locks.held).toBe(0);
  });

  test('a zero-length range never conflicts and holds nothing', () => {
    const locks = new RangeLock();
    expect(locks.tryHold(0n, 4, true)).toBeDefined();
    const none = locks.tryHold(0n, 0, true);
    expect(none).toBeDefined();
    expect(locks.held).toBe(1);
    if (none !== undefined) locks.release(none);
    expect(locks.held).toBe(1);
  });

  test('release of something that is no hold is a caller bug', () => {
    const locks = new RangeLock();
    expect(() => {
      locks.release({ from: 0n, blocks: 1, exclusive: false });
    }).toThrow(RangeError);
  });
});

describe('dropAborted: a command aborted while it waits gives its place up', () => {
  /** An acquire with an abort check; `outcome` says whether it was granted or dropped. */
  function takeAbortable(lock: RangeLock, lba: number, blocks: number, exclusive: boolean, aborted: () => boolean) {
    const p = { outcome: 'waiting' as 'waiting' | 'granted' | 'dropped', release: (): void => undefined };
    void lock.acquire(BigInt(lba), blocks, exclusive, aborted).then((release) => {
      if (release === undefined) p.outcome = 'dropped';
      else {
        p.outcome = 'granted';
        p.release = release;
      }
    });
    return p;
  }

  test('only waiters whose check says aborted are dropped; one behind a dropped one goes if nothing else holds it back', async () => {
    const { lock, order, s } = fixture();
    const held = s('held', 0, 10);
    const flags = { a: false };
    const a = takeAbortable(lock, 5, 10, true, () => flags.a); // [5, 15) exclusive: waits for held
    const b = takeAbortable(lock, 12, 4, false, () => false); // [12, 16): free of held, waits behind a
    const c = takeAbortable(lock, 2, 2, true, () => false); // [2, 4) exclusive: waits for held
    await settle();
    expect([a.outcome, b.outcome, c.outcome, lock.waiting]).toEqual(['waiting', 'waiting', 'waiting', 3]);
    lock.dropAborted();
    await settle();
    expect([a.outcome, b.outcome, lock.waiting]).toEqual(['waiting', 'waiting', 3]);
    flags.a = true;
    lock.dropAborted();
    await settle();
    expect([a.outcome, b.outcome, c.outcome, lock.waiting, lock.held]).toEqual(['dropped', 'granted', 'waiting', 1, 2]);
    held.release();
    await settle();
    expect(c.outcome).toBe('granted');
    expect(order).toEqual(['held']);
  });

  test('already aborted: a request that must wait resolves undefined at once, queueing nothing; one that is free is still granted', async () => {
    const { lock, x } = fixture();
    x('held', 0, 10);
    await settle();
    const waits = takeAbortable(lock, 5, 1, false, () => true);
    const free = takeAbortable(lock, 20, 1, false, () => true);
    await settle();
    expect([waits.outcome, free.outcome, lock.waiting, lock.held]).toEqual(['dropped', 'granted', 0, 2]);
  });

  test('a waiter without an abort check is never dropped', async () => {
    const { lock, s, x } = fixture();
    const held = x('held', 0, 10);
    const w = s('w', 0, 1);
    await settle();
    lock.dropAborted();
    await settle();
    expect([w.granted, lock.waiting]).toEqual([false, 1]);
    held.release();
    await settle();
    expect(w.granted).toBe(true);
  });
});
