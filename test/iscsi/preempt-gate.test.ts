// The gate a LUN's commands pass while a PERSISTENT RESERVE OUT PREEMPT AND
// ABORT is at its logical unit (preempt-gate.ts; SPC-5 preempting and
// aborting, SAM-5 5.6 aborting commands), over a scripted unit: which
// commands it admits and when, in what order, what a withdrawn one does, and
// that a hold ends however the PREEMPT AND ABORT ends. PERSISTENT RESERVE OUT
// CDBs from SPC-5's table (5Fh, SERVICE ACTION in byte 1 bits 4..0).

import { describe, expect, it } from 'vitest';
import { PreemptGate, isPreemptAndAbort } from '../../src/iscsi/preempt-gate.js';
import type { LunCommand, LunPort, ScsiAnswer } from '../../src/iscsi/lun.js';
import { bytes, hex } from './hex.js';

/** PERSISTENT RESERVE OUT, PREEMPT AND ABORT (05h), TYPE 1h, PARAMETER LIST LENGTH 24. */
const PREEMPT_AND_ABORT = bytes('5f 05 01 00 00 00 00 00 18 00');
/** PERSISTENT RESERVE OUT, PREEMPT (04h). */
const PREEMPT = bytes('5f 04 01 00 00 00 00 00 18 00');
const TUR = bytes('00 00 00 00 00 00');
const GOOD: ScsiAnswer = { status: 0, aborted: false };
const cmd = (cdb: Uint8Array, answered: (a: ScsiAnswer) => void = () => undefined): LunCommand => ({ cdb, direction: 'none', dataOutBuffer: undefined, dataInLength: undefined, tag: 'simple', answered });

type Who = 'a' | 'b' | 'c';

/** A unit behind the gate, and senders that do as a task does: ask admit(), start once admitted. */
function rig(): {
  gate: PreemptGate;
  /** What reached the unit, as "<who> <first two CDB bytes>", in order. */
  reached: string[];
  /** Answers the command that reached the unit `i`-th; `acting` runs as its sender acts on the answer. */
  answer: (i: number, acting?: () => void) => void;
  send: (who: Who, cdb: Uint8Array) => { admitted: () => boolean; withdraw: () => void };
} {
  const gate = new PreemptGate();
  const reached: string[] = [];
  const dones: ((a: ScsiAnswer) => void)[] = [];
  const unit = (who: Who): LunPort => ({
    start(c) {
      reached.push(`${who} ${hex(c.cdb.subarray(0, 2))}`);
      dones.push((a) => {
        c.answered(a);
      });
      return { abort: () => undefined };
    },
  });
  const ports = { a: gate.port(unit('a'), 'a'), b: gate.port(unit('b'), 'b'), c: gate.port(unit('c'), 'c') };
  const actions = new Map<number, () => void>();
  return {
    gate,
    reached,
    answer: (i, acting) => {
      if (acting !== undefined) actions.set(i, acting);
      dones[i]?.(GOOD);
    },
    send: (who, cdb) => {
      let admitted = false;
      const i = dones.length;
      const start = (): void => {
        admitted = true;
        ports[who].start(cmd(cdb, () => actions.get(i)?.()));
      };
      const withdraw = ports[who].admit?.({ admitted: start });
      if (withdraw === undefined) start();
      return { admitted: () => admitted, withdraw: withdraw ?? (() => undefined) };
    },
  };
}

describe('isPreemptAndAbort', () => {
  it.each([
    ['5f 05 01 00 00 00 00 00 18 00', true],
    ['5f 04 01 00 00 00 00 00 18 00', false],
    ['5f 00 00 00 00 00 00 00 18 00', false],
    ['5e 05 00 00 00 00 00 10 00 00', false],
    ['00 05 00 00 00 00', false],
    ['', false],
  ])('%s → %s', (cdb, want) => {
    expect(isPreemptAndAbort(bytes(cdb))).toBe(want);
  });
});

describe('PreemptGate', () => {
  it('with no PREEMPT AND ABORT at the unit, every command is admitted at once; other PERSISTENT RESERVE OUT service actions hold nothing back', () => {
    const r = rig();
    r.send('a', PREEMPT);
    expect(r.send('b', TUR).admitted()).toBe(true);
    expect(r.reached).toEqual(['a 5f 04', 'b 00 00']);
  });

  it('while a’s PREEMPT AND ABORT is at the unit, b’s and c’s commands wait and a’s own go on; once a has acted on its answer they go, in the order they came', () => {
    const r = rig();
    r.send('a', PREEMPT_AND_ABORT);
    const waiting = [r.send('b', TUR), r.send('c', TUR), r.send('b', PREEMPT_AND_ABORT)];
    expect(r.send('a', TUR).admitted()).toBe(true);
    expect(waiting.map((w) => w.admitted())).toEqual([false, false, false]);
    let seenWhileActing: string[] = [];
    r.answer(0, () => {
      seenWhileActing = [...r.reached];
    });
    expect(seenWhileActing).toEqual(['a 5f 05', 'a 00 00']);
    expect(r.reached).toEqual(['a 5f 05', 'a 00 00', 'b 00 00', 'c 00 00', 'b 5f 05']);
    // b's PREEMPT AND ABORT, let go, holds the others back in turn: a's, the first sender's, too.
    expect(r.send('a', TUR).admitted()).toBe(false);
    expect(r.send('b', TUR).admitted()).toBe(true);
  });

  it('a hold taken while acting on the answer keeps the others back until released; releasing it again changes nothing', () => {
    const r = rig();
    r.send('a', PREEMPT_AND_ABORT);
    const b = r.send('b', TUR);
    let release = (): void => undefined;
    r.answer(0, () => {
      release = r.gate.hold('a');
    });
    expect(b.admitted()).toBe(false);
    release();
    expect(b.admitted()).toBe(true);
    const other = r.gate.hold('c');
    release();
    expect(r.send('b', TUR).admitted()).toBe(false);
    other();
    expect(r.reached).toEqual(['a 5f 05', 'b 00 00', 'b 00 00']);
  });

  it('a withdrawn command is never let go; those after it are', () => {
    const r = rig();
    r.send('a', PREEMPT_AND_ABORT);
    const b1 = r.send('b', TUR);
    const c1 = r.send('c', TUR);
    b1.withdraw();
    b1.withdraw();
    r.answer(0);
    expect([b1.admitted(), c1.admitted()]).toEqual([false, true]);
    expect(r.reached).toEqual(['a 5f 05', 'c 00 00']);
  });

  it('a PREEMPT AND ABORT that throws below holds nothing back', () => {
    const gate = new PreemptGate();
    const broken: LunPort = {
      start() {
        throw new Error('below');
      },
    };
    expect(() => gate.port(broken, 'a').start(cmd(PREEMPT_AND_ABORT))).toThrow('below');
    expect(gate.port(broken, 'b').admit?.({ admitted: () => undefined })).toBeUndefined();
  });
});
