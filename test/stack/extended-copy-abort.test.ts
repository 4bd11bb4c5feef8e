// An EXTENDED COPY (LID1) aborted while it copies, through CAM (SAM-5
// aborting commands: ABORT TASK, ABORT TASK SET, CLEAR TASK SET; SPC-5
// PREEMPT AND ABORT): the copy manager issues its reads and writes chunk by
// chunk, so the aborted copy stops after the chunk in flight and the function
// waits for that chunk alone, not for the rest of the list. The copy ends as
// the abort says (without status; TASK ABORTED with TAS 1 for another I_T
// nexus's function) and its held status (RECEIVE COPY STATUS, LIST ID USAGE
// 00b) reads COMPLETED WITH ERRORS with what was copied. The backend holds
// every read of the source past its first chunk, so each case is
// deterministic: without the stop, the next chunk's read is seen held. CDBs
// and parameter lists from the SPC-5 tables; CAM status words from FreeBSD cam.h.

import { afterEach, describe, expect, test } from 'vitest';
import { createStack, type Stack } from '../../src/stack.js';
import { MemoryBackend } from '../../src/virtio/device/backends/memory.js';
import type { ScsiResult } from '../../src/cam/periph/request.js';
import { ProbeBackend, hex, senseTriple, until } from './helpers.js';
import { expectIdle } from './fault-rig.js';
import { A, B, ProutAction, bytes, list, prout, run, settle, track, type Who } from './pr-fixtures.js';

const BS = 512;
const STATUS_MASK = 0x3f;
const REQ_CMP = 0x01;
const REQ_ABORTED = 0x02;
const SCSI_STATUS_ERROR = 0x0c;
/** SCSI status TASK ABORTED (SAM-5). */
const TASK_ABORTED = 0x40;
/** Where the copy reads and writes, and how many blocks (several chunks of at most 1 MiB). */
const SOURCE = 8192;
const DESTINATION = 0;
const BLOCKS = 8192;
const LIST_ID = 7;
/** TYPE 1h: Write Exclusive (no reservation is held, but PREEMPT AND ABORT checks the field). */
const WE = 1;
/** COPY MANAGER STATUS (RECEIVE COPY STATUS LID1 byte 4): operation completed with errors. */
const COMPLETED_WITH_ERRORS = 0x02;

const u16 = (n: number): number[] => [n >> 8, n & 0xff];
const u32 = (n: number): number[] => [n >>> 24, (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff];
const u64 = (n: number): number[] => [0, 0, 0, 0, ...u32(n)];

/**
 * The parameter list: header (LIST IDENTIFIER, LIST ID USAGE 00b: hold the
 * status; CSCD DESCRIPTOR LIST LENGTH 32, SEGMENT DESCRIPTOR LIST LENGTH 28),
 * one identification CSCD descriptor E4h naming the unit by `naa` (block
 * length 512), one block to block segment 02h from SOURCE to DESTINATION.
 */
function copyList(naa: Uint8Array): Uint8Array {
  const e4 = new Array<number>(32).fill(0);
  e4[0] = 0xe4;
  naa.forEach((b, i) => (e4[4 + i] = b));
  [e4[29], e4[30], e4[31]] = [0, BS >> 8, BS & 0xff];
  const segment = [0x02, 0, ...u16(0x18), ...u16(0), ...u16(0), 0, 0, ...u16(BLOCKS), ...u64(SOURCE), ...u64(DESTINATION)];
  return Uint8Array.from([LIST_ID, 0x00, ...u16(32), 0, 0, 0, 0, ...u32(28), ...u32(0), ...e4, ...segment]);
}
/** EXTENDED COPY (LID1), 83h/00h, PARAMETER LIST LENGTH `n`. */
const xcopy = (n: number): Uint8Array => Uint8Array.of(0x83, 0, 0, 0, 0, 0, 0, 0, 0, 0, ...u32(n), 0, 0);
/** RECEIVE COPY STATUS (LID1), 84h/00h, of LIST_ID, ALLOCATION LENGTH 12. */
const RECEIVE_COPY_STATUS = Uint8Array.of(0x84, 0x00, LIST_ID, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 12, 0, 0);

let stack: Stack | undefined;
let probe: ProbeBackend | undefined;
afterEach(async () => {
  if (probe !== undefined) {
    probe.holdIf = undefined;
    probe.releaseHeld();
  }
  await stack?.close();
  stack = undefined;
  probe = undefined;
});

/**
 * A stack with TAS as `tas`, the source filled with a pattern, A and B past
 * their power-on unit attentions and registered (keys a1h, b2h); A's copy
 * sent (with `signal`, to abort it), its first chunk copied and the read of
 * its second held at the backend. Returns the copy's result and how many bytes one chunk is.
 */
async function copyInFlight(tas: boolean, signal?: AbortSignal): Promise<{ s: Stack; p: ProbeBackend; copy: ReturnType<typeof track<ScsiResult>>; chunk: number }> {
  const inner = new MemoryBackend({ blocks: SOURCE + BLOCKS });
  const source = new Uint8Array(BLOCKS * BS);
  for (let i = 0; i < source.length; i++) source[i] = (i * 7 + 3) & 0xff;
  expect(await inner.write(SOURCE * BS, source)).toBe('ok');
  const p = new ProbeBackend(inner);
  probe = p;
  const s = await createStack({ backend: p, queueSize: 64, ...(tas ? { emulator: { taskAbortedStatus: true } } : {}) });
  stack = s;
  for (const who of [A, B]) await settle(s, who);
  for (const [who, key] of [[A, 0xa1], [B, 0xb2]] as const) expect(cam(await run(s, who, prout(ProutAction.REGISTER_AND_IGNORE), list(0, key)))).toBe(REQ_CMP);
  const vpd = await run(s, A, bytes('12 01 83 00 ff 00'));
  expect(vpd.data?.[5]).toBe(0x03); // the NAA designator first
  const naa = Uint8Array.from(vpd.data?.subarray(4, 16) ?? []);
  let chunk = 0;
  p.onStart = (op) => {
    if (op.kind === 'read' && op.offset === SOURCE * BS) chunk = op.length;
  };
  p.holdIf = (op) => op.kind === 'read' && op.offset > SOURCE * BS;
  const l = copyList(naa);
  const copy = track(s.pass(0).scsi({ cdb: xcopy(l.length), initiator: A, direction: 'out', data: l, ...(signal === undefined ? {} : { signal }) }), [], 'copy');
  await until(() => p.heldCount === 1, 'the copy’s second read at the backend');
  expect(chunk).toBeGreaterThan(0);
  expect(chunk).toBeLessThan(BLOCKS * BS);
  return { s, p, copy, chunk };
}

const cam = (r: ScsiResult): number => r.camStatus & STATUS_MASK;
const ending = (r: ScsiResult): { cam: number; scsi: number; sense: Uint8Array | undefined } => ({ cam: cam(r), scsi: r.scsiStatus, sense: r.sense });
const NO_STATUS = { cam: REQ_ABORTED, scsi: 0, sense: undefined };
const ABORTED_STATUS = { cam: SCSI_STATUS_ERROR, scsi: TASK_ABORTED, sense: undefined };

/**
 * Lets the held read go and waits until `settled` says the abort is over, or
 * until the copy reads on (a read held again): it must have stopped instead.
 * Then checks the medium: the first chunk copied, the rest untouched.
 */
async function expectStopped(p: ProbeBackend, chunk: number, settled: () => boolean): Promise<void> {
  const started = p.started;
  expect(p.releaseHeld()).toBe(1);
  await until(() => settled() || p.heldCount > 0, 'the abort over, or the copy reading on');
  expect({ settled: settled(), held: p.heldCount }).toEqual({ settled: true, held: 0 });
  // The released read was the last operation the copy started: no write of its chunk, no later read.
  expect(p.started).toBe(started);
  const dst = new Uint8Array(BLOCKS * BS);
  expect(await p.inner.read(DESTINATION * BS, dst)).toBe('ok');
  const src = new Uint8Array(chunk);
  expect(await p.inner.read(SOURCE * BS, src)).toBe('ok');
  expect(Buffer.compare(dst.subarray(0, chunk), src)).toBe(0);
  expect(dst.subarray(chunk).findIndex((b) => b !== 0)).toBe(-1);
}

/** RECEIVE COPY STATUS as `who` (past its unit attentions): COMPLETED WITH ERRORS, no segment processed, TRANSFER COUNT `bytes`. */
async function expectHeldStatus(s: Stack, who: Who, bytesCopied: number): Promise<void> {
  await settle(s, who);
  const r = await run(s, who, RECEIVE_COPY_STATUS);
  expect(cam(r)).toBe(REQ_CMP);
  // AVAILABLE DATA 8; COPY MANAGER STATUS; SEGMENTS PROCESSED; TRANSFER COUNT UNITS 00h (bytes); TRANSFER COUNT.
  expect(hex(r.data?.subarray(0, 12))).toBe(hex(Uint8Array.of(0, 0, 0, 8, COMPLETED_WITH_ERRORS, 0, 0, 0, ...u32(bytesCopied))));
}

describe('an aborted EXTENDED COPY stops after the chunk in flight', () => {
  test('ABORT TASK (XPT_ABORT, the control): the device reset stops it; the copy completes without status, its held status discarded with the reset', async () => {
    const ac = new AbortController();
    const { s, p, copy, chunk } = await copyInFlight(false, ac.signal);
    ac.abort();
    await expectStopped(p, chunk, () => copy.done());
    expect(ending(await copy.p)).toEqual(NO_STATUS);
    // The SIM resets the device for XPT_ABORT, a logical unit reset to the unit (SPC-5: held data discarded).
    expect(await settle(s, A)).toEqual(['6,41,0']);
    const r = await run(s, A, RECEIVE_COPY_STATUS);
    expect(senseTriple(r.sense)).toEqual([5, 0x24, 0]); // INVALID FIELD IN CDB (at LIST IDENTIFIER)
    expectIdle(s);
  });

  test('ABORT TASK SET from A: the function completes after that chunk; the copy without status', async () => {
    const { s, p, copy, chunk } = await copyInFlight(false);
    const fn = track(s.pass(0).abortTaskSet(A), [], 'ABORT TASK SET');
    await expectStopped(p, chunk, () => fn.done() && copy.done());
    expect(ending(await copy.p)).toEqual(NO_STATUS);
    await expectHeldStatus(s, A, chunk);
    expectIdle(s);
  });

  test.each([false, true])('CLEAR TASK SET from B (TAS %s): the function completes after that chunk; A’s copy as TAS says', async (tas) => {
    const { s, p, copy, chunk } = await copyInFlight(tas);
    const fn = track(s.pass(0).clearTaskSet(B), [], 'CLEAR TASK SET');
    await expectStopped(p, chunk, () => fn.done() && copy.done());
    expect(ending(await copy.p)).toEqual(tas ? ABORTED_STATUS : NO_STATUS);
    await expectHeldStatus(s, A, chunk);
    expectIdle(s);
  });

  test.each([false, true])('PREEMPT AND ABORT of A’s key by B (TAS %s): GOOD after that chunk; A’s copy as TAS says', async (tas) => {
    const { s, p, copy, chunk } = await copyInFlight(tas);
    const preempt = track(run(s, B, prout(ProutAction.PREEMPT_AND_ABORT, WE), list(0xb2, 0xa1)), [], 'PREEMPT AND ABORT');
    await expectStopped(p, chunk, () => preempt.done() && copy.done());
    expect(ending(await preempt.p)).toEqual({ cam: REQ_CMP, scsi: 0, sense: undefined });
    expect(ending(await copy.p)).toEqual(tas ? ABORTED_STATUS : NO_STATUS);
    await expectHeldStatus(s, A, chunk);
    expectIdle(s);
  });
});
