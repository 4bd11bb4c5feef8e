// A Session's Data-Out watchdog without a network (progress-watchdog.ts):
// with InitialR2T=No a WRITE whose command PDU is not final leaves its
// unsolicited burst open (RFC 7143 §3.2.4.2, §13.10); the `vtcam serve`
// target never negotiates that, so this is where the branch is exercised. An
// initiator that never sends the burst has its connection dropped a timeout
// later, whatever Data-Out it sends that moves no burst on (Rejected, or
// empty and not final); one that sends it, however slowly, keeps it; a
// session that owes nothing is never checked. Fake timers.

import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Session } from '../../src/iscsi/session.js';
import type { SessionOutput } from '../../src/iscsi/session-types.js';
import type { TaskLimits } from '../../src/iscsi/task-types.js';
import type { LunCommand, LunPort } from '../../src/iscsi/lun.js';
import type { DataOutPdu, ScsiCommandPdu } from '../../src/iscsi/pdu-types.js';
import { sessionOn } from './session-harness.js';
import { headerOf } from './task-harness.js';

const BS = 512;
const TIMEOUT = 1000;
const LIMITS: TaskLimits = { initialR2T: false, immediateData: true, firstBurstLength: 64 * 1024, maxBurstLength: 64 * 1024, maxOutstandingR2T: 1, maxSendDataSegmentLength: 8192 };
const UNSOLICITED = 0xffff_ffff;

/** A unit that answers every command GOOD at once. */
const good: LunPort = {
  start(cmd: LunCommand) {
    cmd.answered({ status: 0, aborted: false });
    return { abort: () => undefined };
  },
};

function session(): { s: Session; drops: string[]; out: SessionOutput[] } {
  const { s, drops, out } = sessionOn(good, { limits: LIMITS, dataOutTimeoutMs: TIMEOUT });
  return { s, drops, out };
}

/** WRITE (10) of 2 blocks at LBA 9, no immediate data, F 0: 1 KiB of unsolicited Data-Out to follow. */
const write: ScsiCommandPdu = {
  opcode: 1,
  immediate: false,
  itt: 7,
  final: false,
  read: false,
  write: true,
  attr: 1,
  lun: 0n,
  cmdSN: 1,
  expStatSN: 1,
  cdb: Uint8Array.of(0x2a, 0, 0, 0, 0, 9, 0, 0, 2, 0),
  expectedDataTransferLength: 2 * BS,
  data: new Uint8Array(0),
};
const unsolicited = (dataSN: number, final: boolean): DataOutPdu => ({
  opcode: 5,
  immediate: false,
  itt: 7,
  lun: 0n,
  expStatSN: 1,
  ttt: UNSOLICITED,
  dataSN,
  bufferOffset: dataSN * BS,
  final,
  data: new Uint8Array(BS).fill(0xdd),
});

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('Session: Data-Out owed and not sent', () => {
  it('an unsolicited burst that never comes drops the connection a timeout after the command', () => {
    const { s, drops } = session();
    expect(s.command(write)).toBeUndefined();
    vi.advanceTimersByTime(TIMEOUT - 1);
    expect(drops).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(drops).toEqual([`no Data-Out for ${TIMEOUT / 1000} s while the initiator owed some (R2Ts unanswered or unsolicited data not sent)`]);
  });

  it('a burst sent slowly keeps the connection, and once the WRITE has ended nothing is checked', () => {
    const { s, drops, out } = session();
    s.command(write);
    vi.advanceTimersByTime(0.9 * TIMEOUT);
    expect(s.dataOut(unsolicited(0, false))).toBeUndefined();
    vi.advanceTimersByTime(0.9 * TIMEOUT);
    expect(s.dataOut(unsolicited(1, true))).toBeUndefined();
    expect(out.filter((o) => o.kind === 'response')).toHaveLength(1);
    vi.advanceTimersByTime(10 * TIMEOUT);
    expect(drops).toEqual([]);
    expect(vi.getTimerCount()).toBe(0);
  });

  it.each([
    ['ITT FFFFFFFFh, naming no task (Reject 09h)', (s: Session) => s.dataOut({ ...unsolicited(0, false), itt: 0xffff_ffff }), 0x09],
    ['a TTT naming no burst of the task (Reject 09h)', (s: Session) => s.dataOut({ ...unsolicited(0, false), ttt: 0x1234 }), 0x09],
    ['an empty PDU of the burst, F 0, DataSN in order', (s: Session, i: number) => s.dataOut({ ...unsolicited(i, false), bufferOffset: 0, data: new Uint8Array(0) }), undefined],
    [
      'one discarded for its data digest, naming no burst',
      (s: Session) => {
        s.dataDiscarded(headerOf({ ...unsolicited(0, false), ttt: 0x1234 }), 'data-digest');
        return undefined;
      },
      undefined,
    ],
  ] as const)('Data-Out that moves no burst on, %s, keeps nothing alive: dropped a timeout after the command', (_, junk, reason) => {
    const { s, drops } = session();
    s.command(write);
    for (let i = 0; i < 8; i++) {
      vi.advanceTimersByTime(TIMEOUT / 4 - 1);
      if (i < 3) expect(drops).toEqual([]);
      expect(junk(s, i)).toBe(reason);
      vi.advanceTimersByTime(1);
    }
    expect(drops).toEqual([`no Data-Out for ${TIMEOUT / 1000} s while the initiator owed some (R2Ts unanswered or unsolicited data not sent)`]);
  });

  it('a session that ended checks no more', () => {
    const { s, drops } = session();
    s.command(write);
    s.close();
    vi.advanceTimersByTime(10 * TIMEOUT);
    expect(drops).toEqual([]);
  });
});

/** READ (10) of 1 block, ITT `itt`, CmdSN `cmdSN`: it needs no Data-Out, so only the CmdSN order holds it. */
const read = (itt: number, cmdSN: number): ScsiCommandPdu => ({
  ...write,
  itt,
  cmdSN,
  final: true,
  read: true,
  write: false,
  cdb: Uint8Array.of(0x28, 0, 0, 0, 0, 0, 0, 0, 1, 0),
  expectedDataTransferLength: BS,
});

describe('Session: a CmdSN gap left open (progress-watchdog.ts)', () => {
  it('commands held behind a missing CmdSN drop the connection a timeout or so after ExpCmdSN last moved', () => {
    const { s, drops, out } = session();
    // CmdSN 1 never comes; 2 and 3 wait for it.
    expect(s.command(read(11, 2))).toBeUndefined();
    expect(s.command(read(12, 3))).toBeUndefined();
    vi.advanceTimersByTime(TIMEOUT - 1);
    expect(drops).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(drops).toEqual([`CmdSN 1 missing for ${TIMEOUT / 1000} s while 2 later PDU(s) waited for it`]);
    expect(out.filter((o) => o.kind === 'response' || o.kind === 'data-in')).toEqual([]);
  });

  it('a gap filled in time runs what waited and keeps the connection; with no gap nothing is checked', () => {
    const { s, drops, out } = session();
    s.command(read(11, 2));
    vi.advanceTimersByTime(0.9 * TIMEOUT);
    s.command(read(10, 1));
    expect(s.expCmdSN).toBe(3);
    expect(out.filter((o) => o.kind === 'response' || o.kind === 'data-in')).toHaveLength(2);
    vi.advanceTimersByTime(10 * TIMEOUT);
    expect(drops).toEqual([]);
    expect(vi.getTimerCount()).toBe(0);
  });
});
