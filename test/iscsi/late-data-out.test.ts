// LateDataOut (late-data-out.ts): Data-Out for an ended task is taken while
// it answers a sequence the task left open, up to that sequence's F bit;
// anything else is Reject, Invalid PDU field (RFC 7143 §11.17.1, reason 09h).
// At most `limit` ITTs are remembered, the oldest forgotten first.

import { describe, expect, it } from 'vitest';
import { LateDataOut } from '../../src/iscsi/late-data-out.js';
import type { DataOutPdu } from '../../src/iscsi/pdu-types.js';

const INVALID_PDU_FIELD = 0x09;
const UNSOLICITED = 0xffff_ffff;
const late = (itt: number, ttt: number, final: boolean): DataOutPdu => ({
  opcode: 5,
  immediate: false,
  itt,
  lun: 0n,
  expStatSN: 1,
  ttt,
  dataSN: 0,
  bufferOffset: 0,
  final,
  data: new Uint8Array(512),
});

describe('LateDataOut', () => {
  it('takes each open sequence up to its F bit, then rejects it', () => {
    const l = new LateDataOut(4);
    l.remember(7, [0x10, UNSOLICITED]);
    expect(l.take(late(7, 0x10, false))).toBeUndefined();
    expect(l.take(late(7, 0x10, true))).toBeUndefined();
    expect(l.take(late(7, 0x10, false))).toBe(INVALID_PDU_FIELD);
    expect(l.take(late(7, UNSOLICITED, true))).toBeUndefined();
    expect(l.take(late(7, UNSOLICITED, false))).toBe(INVALID_PDU_FIELD);
  });

  it('rejects a TTT the ended task never opened, and an ITT it never saw', () => {
    const l = new LateDataOut(4);
    l.remember(7, [0x10]);
    expect(l.take(late(7, 0x11, true))).toBe(INVALID_PDU_FIELD);
    expect(l.take(late(8, 0x10, true))).toBe(INVALID_PDU_FIELD);
  });

  it('remembers at most `limit` ITTs, forgetting the oldest; a new task of an ITT replaces what the old one left', () => {
    const l = new LateDataOut(2);
    l.remember(1, [0x10]);
    l.remember(2, [0x20]);
    l.remember(1, [0x11]);
    l.remember(3, [0x30]);
    expect(l.take(late(2, 0x20, true))).toBe(INVALID_PDU_FIELD);
    expect(l.take(late(1, 0x10, true))).toBe(INVALID_PDU_FIELD);
    expect(l.take(late(1, 0x11, true))).toBeUndefined();
    expect(l.take(late(3, 0x30, true))).toBeUndefined();
  });

  it('forgets everything at clear()', () => {
    const l = new LateDataOut(2);
    l.remember(1, [0x10]);
    l.clear();
    expect(l.take(late(1, 0x10, true))).toBe(INVALID_PDU_FIELD);
  });

  it.each([0, -1, 1.5, Number.NaN])('rejects a limit of %s', (n) => {
    expect(() => new LateDataOut(n)).toThrow(new RangeError(`LateDataOut: limit must be a positive integer, got ${n}`));
  });
});
