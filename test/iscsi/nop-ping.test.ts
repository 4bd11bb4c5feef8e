// The idle ping's timing (RFC 7143 §11.19): a NOP-In goes out after
// pingIntervalMs with nothing received, never earlier, however the receives
// fall; an unanswered ping ends the connection pingTimeoutMs later.

import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { NopPing } from '../../src/iscsi/nop-ping.js';

const INTERVAL = 500;
const TIMEOUT = 300;

function rig(mayPing = () => true): { nop: NopPing; pings: number[]; unanswered: number[] } {
  const pings: number[] = [];
  const unanswered: number[] = [];
  const nop = new NopPing({ pingIntervalMs: INTERVAL, pingTimeoutMs: TIMEOUT, loginTimeoutMs: 10_000 }, {
    mayPing,
    ping: () => { pings.push(performance.now()); },
    unanswered: () => { unanswered.push(performance.now()); },
  });
  return { nop, pings, unanswered };
}

describe('NopPing', () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('pings only after a whole interval with nothing received, counted from the last receive', () => {
    const { nop, pings } = rig();
    const t0 = performance.now();
    nop.arm();
    // A receive every 300 ms: the connection is never idle for 500 ms.
    for (let i = 0; i < 10; i++) {
      vi.advanceTimersByTime(300);
      nop.arm();
    }
    expect(pings).toEqual([]);
    const last = performance.now();
    expect(last - t0).toBe(3000);
    vi.advanceTimersByTime(INTERVAL - 1);
    expect(pings).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(pings).toEqual([last + INTERVAL]);
  });

  it('an unanswered ping is reported pingTimeoutMs after it went out; a receive meanwhile starts that wait over', () => {
    const { nop, pings, unanswered } = rig();
    nop.arm();
    vi.advanceTimersByTime(INTERVAL);
    expect(pings).toHaveLength(1);
    vi.advanceTimersByTime(200);
    nop.arm(); // something other than the answer arrived
    vi.advanceTimersByTime(TIMEOUT - 1);
    expect(unanswered).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(unanswered).toEqual([(pings[0] ?? Number.NaN) + 200 + TIMEOUT]);
  });

  it('an answered ping goes back to the interval', () => {
    const pings: number[] = [];
    const unanswered: number[] = [];
    let ttt = -1;
    const n = new NopPing({ pingIntervalMs: INTERVAL, pingTimeoutMs: TIMEOUT, loginTimeoutMs: 10_000 }, {
      mayPing: () => true,
      ping: (t) => { ttt = t; pings.push(performance.now()); },
      unanswered: () => { unanswered.push(performance.now()); },
    });
    n.arm();
    vi.advanceTimersByTime(INTERVAL);
    expect(n.answered(ttt)).toBe(true);
    n.arm();
    vi.advanceTimersByTime(INTERVAL - 1);
    expect(pings).toHaveLength(1);
    expect(unanswered).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(pings).toHaveLength(2);
    expect(n.answered(ttt ^ 1)).toBe(false);
  });

  it('stop() ends it: no ping, no timeout, and arm() does nothing after', () => {
    const { nop, pings, unanswered } = rig();
    nop.arm();
    vi.advanceTimersByTime(INTERVAL);
    nop.stop();
    nop.arm();
    vi.advanceTimersByTime(10 * INTERVAL);
    expect(pings).toHaveLength(1);
    expect(unanswered).toEqual([]);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('while pings are not allowed (login), the idle timer lapses until the next receive', () => {
    let allowed = false;
    const { nop, pings } = rig(() => allowed);
    nop.arm();
    vi.advanceTimersByTime(3 * INTERVAL);
    expect(pings).toEqual([]);
    expect(vi.getTimerCount()).toBe(0);
    allowed = true;
    nop.arm();
    vi.advanceTimersByTime(INTERVAL);
    expect(pings).toHaveLength(1);
  });

  it('a zero interval never pings', () => {
    const pings: number[] = [];
    const nop = new NopPing({ pingIntervalMs: 0, pingTimeoutMs: TIMEOUT, loginTimeoutMs: 10_000 }, { mayPing: () => true, ping: () => { pings.push(1); }, unanswered: () => undefined });
    nop.arm();
    vi.advanceTimersByTime(60_000);
    expect(pings).toEqual([]);
    expect(vi.getTimerCount()).toBe(0);
  });
});
