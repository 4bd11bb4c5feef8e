// The target's Data-Out buffer budget on its own (data-out-budget.ts): grants
// that fit, FIFO waits, release and withdraw, the per-session share (half the
// budget; a session holding nothing may take one command), take (now or
// nothing, for unsolicited data), bad arguments.

import { describe, expect, it } from 'vitest';
import { DataOutBudget, DEFAULT_DATA_OUT_BUDGET, type DataOutClaim } from '../../src/iscsi/data-out-budget.js';

/** A claim that records, in `log`, when it is granted. */
function claim(name: string, log: string[]): DataOutClaim {
  return {
    granted: () => {
      log.push(name);
    },
  };
}

describe('DataOutBudget', () => {
  it('grants what fits at once, and counts it until released', () => {
    const b = new DataOutBudget(100);
    const s = b.account();
    const log: string[] = [];
    expect(s.reserve(claim('a', log), 30)).toBe(true);
    expect(s.reserve(claim('b', log), 20)).toBe(true);
    expect(b.state).toEqual({ bytes: 100, sessionBytes: 50, held: 50, waiting: 0, waitingBytes: 0 });
    expect(s.held).toBe(50);
    s.release(30);
    s.release(20);
    expect(b.state.held).toBe(0);
    expect(s.held).toBe(0);
    // Granted at once: no claimant is called back.
    expect(log).toEqual([]);
  });

  it('what does not fit waits, FIFO: a small reservation does not overtake a larger one waiting for the budget', () => {
    const b = new DataOutBudget(100);
    const [s1, s2, s3, s4] = [b.account(), b.account(), b.account(), b.account()];
    const log: string[] = [];
    expect(s1.reserve(claim('s1', log), 40)).toBe(true);
    expect(s2.reserve(claim('s2', log), 40)).toBe(true);
    expect(s3.reserve(claim('s3a', log), 30)).toBe(false);
    // Its session's next one queues behind it; s4's fits the budget but waits behind s3's (FIFO).
    expect(s3.reserve(claim('s3b', log), 10)).toBe(false);
    expect(s4.reserve(claim('s4', log), 10)).toBe(false);
    expect(b.state).toEqual({ bytes: 100, sessionBytes: 50, held: 80, waiting: 3, waitingBytes: 50 });
    s1.release(40);
    expect(log).toEqual(['s3a', 's3b', 's4']);
    expect(b.state).toEqual({ bytes: 100, sessionBytes: 50, held: 90, waiting: 0, waitingBytes: 0 });
  });

  it('the walk stops at the first reservation the budget cannot hold', () => {
    const b = new DataOutBudget(100);
    const [s1, s2, s3] = [b.account(), b.account(), b.account()];
    const log: string[] = [];
    expect(s1.reserve(claim('s1', log), 50)).toBe(true);
    expect(s2.reserve(claim('s2', log), 50)).toBe(true);
    expect(s3.reserve(claim('s3a', log), 40)).toBe(false);
    expect(s1.reserve(claim('s1b', log), 20)).toBe(false);
    s2.release(50);
    // s3a (40) fits; s1b would take s1 to 70, past its share: it waits for s1 to release.
    expect(log).toEqual(['s3a']);
    s1.release(50);
    expect(log).toEqual(['s3a', 's1b']);
    expect(b.state.held).toBe(60);
  });

  it('one session holds at most half: past its share it waits, and the others are granted past it', () => {
    const b = new DataOutBudget(100);
    const hostile = b.account();
    const other = b.account();
    const log: string[] = [];
    expect(hostile.reserve(claim('h1', log), 25)).toBe(true);
    expect(hostile.reserve(claim('h2', log), 25)).toBe(true);
    expect(hostile.reserve(claim('h3', log), 25)).toBe(false);
    expect(hostile.reserve(claim('h4', log), 1)).toBe(false);
    // Passed over: h3 and h4 wait for their own session's share, not for the budget.
    expect(other.reserve(claim('o1', log), 25)).toBe(true);
    expect(other.reserve(claim('o2', log), 25)).toBe(true);
    expect(b.state).toEqual({ bytes: 100, sessionBytes: 50, held: 100, waiting: 2, waitingBytes: 26 });
    other.release(25);
    // The budget has room, the hostile session none: its reservations stay where they are.
    expect(log).toEqual([]);
    expect(other.reserve(claim('o3', log), 25)).toBe(true);
    hostile.release(25);
    other.release(25);
    // h3 first; h4 would take its session to 51, past its share of 50, so it waits for the next release.
    expect(log).toEqual(['h3']);
    hostile.release(25);
    expect(log).toEqual(['h3', 'h4']);
    expect(hostile.held).toBe(26);
  });

  it('a session holding nothing may take one command larger than its share', () => {
    const b = new DataOutBudget(100);
    const s1 = b.account();
    const s2 = b.account();
    const log: string[] = [];
    expect(s1.reserve(claim('big', log), 80)).toBe(true);
    expect(s1.reserve(claim('more', log), 10)).toBe(false);
    expect(s2.reserve(claim('s2', log), 20)).toBe(true);
    s2.release(20);
    s1.release(80);
    expect(log).toEqual(['more']);
    // Nearly the whole budget, to a session that holds nothing, once the budget has room.
    const s3 = b.account();
    expect(s3.reserve(claim('nearly all', log), 95)).toBe(false);
    s1.release(10);
    expect(log).toEqual(['more', 'nearly all']);
    expect(b.state.held).toBe(95);
  });

  it('withdraw: a waiting reservation leaves the queue, and the ones behind it may go', () => {
    const b = new DataOutBudget(100);
    const [s1, s2, s3] = [b.account(), b.account(), b.account()];
    const log: string[] = [];
    expect(s1.reserve(claim('s1', log), 50)).toBe(true);
    expect(s3.reserve(claim('s3', log), 40)).toBe(true);
    const head = claim('head', log);
    expect(s2.reserve(head, 50)).toBe(false);
    expect(s3.reserve(claim('s3b', log), 10)).toBe(false);
    s2.withdraw(head);
    expect(log).toEqual(['s3b']);
    expect(b.state).toEqual({ bytes: 100, sessionBytes: 50, held: 100, waiting: 0, waitingBytes: 0 });
    // Withdrawn: never granted, and withdrawing again (or a claim that never waited) does nothing.
    s2.withdraw(head);
    s1.release(50);
    expect(log).toEqual(['s3b']);
  });

  it('a claimant that ends as it is granted releases at once; the walk it starts sees a consistent queue', () => {
    const b = new DataOutBudget(100);
    const s1 = b.account();
    const s2 = b.account();
    const s3 = b.account();
    const log: string[] = [];
    expect(s1.reserve(claim('s1', log), 100)).toBe(true);
    s2.reserve(
      {
        granted: () => {
          log.push('s2');
          s2.release(60);
        },
      },
      60,
    );
    s3.reserve(claim('s3', log), 50);
    s1.release(100);
    expect(log).toEqual(['s2', 's3']);
    expect(b.state).toEqual({ bytes: 100, sessionBytes: 50, held: 50, waiting: 0, waitingBytes: 0 });
  });

  it('take: what reserve would grant now is taken; anything else is refused, and nothing waits', () => {
    const b = new DataOutBudget(100);
    const [s1, s2, s3] = [b.account(), b.account(), b.account()];
    const log: string[] = [];
    // A session holding nothing may take one command past its share, within the budget.
    expect(s1.take(60)).toBe(true);
    // Past its share, and past the budget: refused, no waiter.
    expect(s1.take(10)).toBe(false);
    expect(s2.take(41)).toBe(false);
    expect(b.state).toEqual({ bytes: 100, sessionBytes: 50, held: 60, waiting: 0, waitingBytes: 0 });
    // It does not pass a reservation that waits for the budget, although its bytes fit.
    expect(s2.reserve(claim('s2', log), 50)).toBe(false);
    expect(s3.take(10)).toBe(false);
    expect(b.state).toEqual({ bytes: 100, sessionBytes: 50, held: 60, waiting: 1, waitingBytes: 50 });
    s1.release(60);
    expect(log).toEqual(['s2']);
    expect(s3.take(10)).toBe(true);
    expect(b.state).toEqual({ bytes: 100, sessionBytes: 50, held: 60, waiting: 0, waitingBytes: 0 });
    for (const bad of [0, -1, 0.5, 101]) expect(() => s3.take(bad)).toThrow(RangeError);
    expect(s3.held).toBe(10);
  });

  it('bad arguments are RangeErrors, and the budget still works afterwards', () => {
    for (const bad of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53]) expect(() => new DataOutBudget(bad)).toThrow(RangeError);
    const b = new DataOutBudget(100);
    const s = b.account();
    const log: string[] = [];
    for (const bad of [0, -1, 0.5, 101]) expect(() => s.reserve(claim('x', log), bad)).toThrow(RangeError);
    expect(() => {
      s.release(1);
    }).toThrow(/holding 0/);
    expect(s.reserve(claim('a', log), 100)).toBe(true);
    const waiting = claim('w', log);
    expect(s.reserve(waiting, 1)).toBe(false);
    expect(() => s.reserve(waiting, 1)).toThrow(/waiting already/);
    expect(() => {
      s.release(101);
    }).toThrow(RangeError);
    s.release(100);
    expect(log).toEqual(['w']);
    expect(b.state).toEqual({ bytes: 100, sessionBytes: 50, held: 1, waiting: 0, waitingBytes: 0 });
  });

  it('the default is 256 MiB', () => {
    expect(DEFAULT_DATA_OUT_BUDGET).toBe(256 * 1024 * 1024);
  });
});
