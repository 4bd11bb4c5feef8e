// DataInGate (data-in-gate.ts): a connection's commands with Data-In go to
// their units only while the output not yet sent and the Data-In of those
// already let go stay within the limit; the rest wait in the order they came.

import { describe, expect, it } from 'vitest';
import { DATA_IN_HIGH_WATER, DataInGate, type DataInWaiter } from '../../src/iscsi/data-in-gate.js';

/** A command that asks the gate again when told it may go, as a task does (ScsiTask #admit). */
function command(gate: DataInGate, bytes: number, log: string[], name: string): DataInWaiter & { ask(): boolean; withdraw: (() => void) | undefined } {
  const c = {
    withdraw: undefined as (() => void) | undefined,
    ask(): boolean {
      const w = gate.admit(c, bytes);
      if (w === undefined) log.push(name);
      c.withdraw = w;
      return w === undefined;
    },
    admitted(): void {
      c.ask();
    },
  };
  return c;
}

describe('DataInGate', () => {
  it('lets commands go while they fit with the backlog; the rest wait, and go in order as commands end', () => {
    let backlog = 0;
    const gate = new DataInGate(() => backlog, 100);
    const log: string[] = [];
    expect(command(gate, 60, log, 'a').ask()).toBe(true);
    expect(command(gate, 30, log, 'b').ask()).toBe(true);
    const c = command(gate, 20, log, 'c');
    const d = command(gate, 5, log, 'd');
    expect(c.ask()).toBe(false);
    // d would fit (95), but c came first: it waits behind it.
    expect(d.ask()).toBe(false);
    expect(gate.committed).toBe(90);
    expect(gate.waiting).toBe(2);
    // a's Data-In is in the output now: 30 committed + 60 backlog + 20 > 100, nothing goes.
    backlog = 60;
    gate.release(60);
    expect(log).toEqual(['a', 'b']);
    // The socket took it: c and d go, in order.
    backlog = 0;
    gate.wake();
    expect(log).toEqual(['a', 'b', 'c', 'd']);
    expect(gate.committed).toBe(55);
    expect(gate.waiting).toBe(0);
  });

  it('one command alone goes however long, once the backlog is under the limit; not while it is over', () => {
    let backlog = 150;
    const gate = new DataInGate(() => backlog, 100);
    const log: string[] = [];
    const big = command(gate, 1000, log, 'big');
    expect(big.ask()).toBe(false);
    backlog = 100;
    gate.wake();
    expect(log).toEqual(['big']);
    expect(gate.committed).toBe(1000);
  });

  it('a withdrawn command leaves the queue; commands without Data-In pass and count nothing', () => {
    const gate = new DataInGate(() => 0, 100);
    const log: string[] = [];
    command(gate, 100, log, 'a').ask();
    const b = command(gate, 50, log, 'b');
    const c = command(gate, 50, log, 'c');
    b.ask();
    c.ask();
    b.withdraw?.();
    expect(command(gate, 0, log, 'none').ask()).toBe(true);
    gate.release(100);
    expect(log).toEqual(['a', 'none', 'c']);
    expect(gate.committed).toBe(50);
  });

  it('a command that ends while it is told it may go (answered at once) lets the next one go in the same wake', () => {
    let backlog = 200;
    const gate = new DataInGate(() => backlog, 100);
    const log: string[] = [];
    const quick: DataInWaiter = {
      admitted(): void {
        expect(gate.admit(quick, 80)).toBeUndefined();
        log.push('quick');
        gate.release(80);
      },
    };
    expect(gate.admit(quick, 80)).toBeDefined();
    const next = command(gate, 80, log, 'next');
    expect(next.ask()).toBe(false);
    backlog = 0;
    gate.wake();
    expect(log).toEqual(['quick', 'next']);
    expect(gate.committed).toBe(80);
  });

  it('defaults to 32 MiB; a limit that is not a positive whole number is a RangeError', () => {
    expect(DATA_IN_HIGH_WATER).toBe(32 * 2 ** 20);
    for (const bad of [0, -1, 1.5, Number.NaN]) expect(() => new DataInGate(() => 0, bad)).toThrow(RangeError);
  });
});
