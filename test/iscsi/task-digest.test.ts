// ScsiTask and a Data-Out PDU that failed its data digest, without a network
// (RFC 7143 §7.8, ErrorRecoveryLevel 0): the connection has Rejected and
// discarded the PDU and tells the task (dataDiscarded). ERL 0 has no
// recovery R2T, so the task must end with a SCSI Response, CHECK CONDITION,
// ABORTED COMMAND, PROTOCOL SERVICE CRC ERROR (§11.4.7.2: 0Bh, 47h/05h), sent
// only once all the data is in: each outstanding R2T answered up to its F bit,
// and the unsolicited burst. It solicits nothing more meanwhile, never
// reaches the logical unit, and a task management function may end it first.
// A Data-Out the connection dropped for a data segment over its
// MaxRecvDataSegmentLength (§13.12, Reject 04h) counts the same way and ends
// the task DATA PHASE ERROR (4Bh/00h): a Reject alone ends no task (§7.3).
// Sense bytes are fixed format (SPC-5), written out.

import { describe, expect, it } from 'vitest';
import type { TaskHooks, TaskLimits, TaskOutput } from '../../src/iscsi/task-types.js';
import type { LunCommand, LunPort } from '../../src/iscsi/lun.js';
import type { ScsiCommandPdu } from '../../src/iscsi/pdu-types.js';
import { hex } from './hex.js';
import { cmd, dataOut, headerOf, runTask, tttAt } from './task-harness.js';

const BS = 512;
/** Bursts of two blocks, one R2T outstanding at a time, InitialR2T=Yes. */
const LIMITS: TaskLimits = { initialR2T: true, immediateData: true, firstBurstLength: 2 * BS, maxBurstLength: 2 * BS, maxOutstandingR2T: 1, maxSendDataSegmentLength: 8192 };
/** The Target Transfer Tag of unsolicited Data-Out (§11.7.4). */
const UNSOLICITED = 0xffff_ffff;
const write10 = (blocks: number): Uint8Array => Uint8Array.of(0x2a, 0, 0, 0, 0, 9, 0, 0, blocks, 0);
/**
 * Fixed-format sense (SPC-5): response code 70h, SENSE KEY 0Bh ABORTED COMMAND (byte 2), ADDITIONAL SENSE
 * LENGTH 0Ah (byte 7), ASC 47h (byte 12), ASCQ 05h (byte 13): PROTOCOL SERVICE CRC ERROR.
 */
const CRC_ERROR_SENSE = '70 00 0b 00 00 00 00 0a 00 00 00 00 47 05 00 00 00 00';
/** The same with ASC 4Bh, ASCQ 00h: DATA PHASE ERROR. */
const DATA_PHASE_ERROR_SENSE = '70 00 0b 00 00 00 00 0a 00 00 00 00 4b 00 00 00 00 00';


/** A LUN that records the data of the commands it was given and answers each GOOD, a turn later. */
function recordingLun(): LunPort & { written: Uint8Array[] } {
  const lun = {
    written: [] as Uint8Array[],
    start: (c: LunCommand) => {
      lun.written.push(Uint8Array.from(c.dataOutBuffer ?? []));
      queueMicrotask(() => {
        c.answered({ status: 0, aborted: false });
      });
      return { abort: () => undefined };
    },
  };
  return lun;
}

const run = (c: ScsiCommandPdu, lun: LunPort, hooks: Partial<TaskHooks> = {}, limits = LIMITS): ReturnType<typeof runTask> => runTask(c, lun, limits, hooks);


/** The response at `out[i]` as the wire would carry it: status, residual, ExpDataSN, sense bytes. */
function responseAt(out: readonly TaskOutput[], i: number): { status: number; underflow: number | undefined; expDataSN: number; sense: string } {
  const r = out[i];
  if (r?.kind !== 'response') throw new Error(`expected a response at ${i}, got ${r?.kind ?? 'nothing'}`);
  return { status: r.status, underflow: r.residual.underflow ? r.residual.count : undefined, expDataSN: r.expDataSN, sense: hex(r.sense ?? new Uint8Array(0)) };
}

/** Whether `p` has settled by the end of this turn's microtasks. */
async function settled(p: Promise<void> | undefined): Promise<boolean> {
  if (p === undefined) return true;
  let done = false;
  void p.then(() => (done = true));
  await new Promise((r) => setImmediate(r));
  return done;
}

describe('ScsiTask.dataDiscarded after a data digest error: the task ends CHECK CONDITION, PROTOCOL SERVICE CRC ERROR, once its data is in', () => {
  it('the F-bit Data-Out of the only burst: answered at once (nothing more is owed), EDTL as underflow, ExpDataSN the R2Ts sent; never at the unit', async () => {
    const lun = recordingLun();
    const { task, out } = run(cmd({ cdb: write10(2), expectedDataTransferLength: 2 * BS }), lun);
    const ttt = tttAt(out, 0);
    expect(task.dataOut(dataOut({ ttt, dataSN: 0, bufferOffset: 0, final: false }))).toBeUndefined();
    task.dataDiscarded(headerOf(dataOut({ ttt, dataSN: 1, bufferOffset: BS, final: true })), 'data-digest');
    await task.done;
    expect(out).toHaveLength(2);
    // CHECK CONDITION (02h); nothing of EDTL used; one R2T sent.
    expect(responseAt(out, 1)).toEqual({ status: 0x02, underflow: 2 * BS, expDataSN: 1, sense: CRC_ERROR_SENSE });
    expect(lun.written).toEqual([]);
  });

  it('a Data-Out before the F bit: the next one is in sequence, no response until the F bit, no further R2T', async () => {
    const lun = recordingLun();
    const { task, out } = run(cmd({ cdb: write10(3), expectedDataTransferLength: 3 * BS }), lun);
    const ttt = tttAt(out, 0);
    task.dataDiscarded(headerOf(dataOut({ ttt, dataSN: 0, bufferOffset: 0, final: false })), 'data-digest');
    expect(out).toHaveLength(1);
    expect(task.beforeUnit).toBe(true);
    // DataSN 1 at offset 512: the discarded PDU was counted, so this is no sequence error.
    expect(task.dataOut(dataOut({ ttt, dataSN: 1, bufferOffset: BS, final: true }))).toBeUndefined();
    await task.done;
    // No R2T for the third block: the response follows the first burst.
    expect(out.map((o) => o.kind)).toEqual(['r2t', 'response']);
    expect(responseAt(out, 1)).toEqual({ status: 0x02, underflow: 3 * BS, expDataSN: 1, sense: CRC_ERROR_SENSE });
    expect(lun.written).toEqual([]);
  });

  it('two R2Ts outstanding: the response waits for the F bit of the other one too', async () => {
    const lun = recordingLun();
    const { task, out } = run(cmd({ cdb: write10(4), expectedDataTransferLength: 4 * BS }), lun, {}, { ...LIMITS, maxOutstandingR2T: 2 });
    const [first, second] = [tttAt(out, 0), tttAt(out, 1)];
    task.dataDiscarded(headerOf(dataOut({ ttt: first, dataSN: 0, bufferOffset: 0, final: true, bytes: 2 * BS })), 'data-digest');
    expect(await settled(task.done)).toBe(false);
    expect(out).toHaveLength(2);
    expect(task.dataOut(dataOut({ ttt: second, dataSN: 0, bufferOffset: 2 * BS, final: true, bytes: 2 * BS }))).toBeUndefined();
    await task.done;
    expect(responseAt(out, 2)).toEqual({ status: 0x02, underflow: 4 * BS, expDataSN: 2, sense: CRC_ERROR_SENSE });
    expect(lun.written).toEqual([]);
  });

  it('unsolicited Data-Out (InitialR2T=No): waits for the unsolicited burst’s F bit and for the R2T sent for the rest', async () => {
    const lun = recordingLun();
    const limits = { ...LIMITS, initialR2T: false };
    const { task, out } = run(cmd({ cdb: write10(4), expectedDataTransferLength: 4 * BS, final: false }), lun, {}, limits);
    // FirstBurstLength (two blocks) unsolicited; the other two solicited at once.
    expect(out).toMatchObject([{ kind: 'r2t', bufferOffset: 2 * BS, length: 2 * BS }]);
    task.dataDiscarded(headerOf(dataOut({ ttt: UNSOLICITED, dataSN: 0, bufferOffset: 0, final: false })), 'data-digest');
    expect(task.dataOut(dataOut({ ttt: tttAt(out, 0), dataSN: 0, bufferOffset: 2 * BS, final: true, bytes: 2 * BS }))).toBeUndefined();
    expect(await settled(task.done)).toBe(false);
    expect(task.dataOut(dataOut({ ttt: UNSOLICITED, dataSN: 1, bufferOffset: BS, final: true }))).toBeUndefined();
    await task.done;
    expect(out.map((o) => o.kind)).toEqual(['r2t', 'response']);
    expect(responseAt(out, 1)).toEqual({ status: 0x02, underflow: 4 * BS, expDataSN: 1, sense: CRC_ERROR_SENSE });
    expect(lun.written).toEqual([]);
  });

  it('ABORT TASK while it waits: ends without a response, the sequence still open reported as owed', async () => {
    const lun = recordingLun();
    const owed: number[][] = [];
    const { task, out } = run(cmd({ cdb: write10(2), expectedDataTransferLength: 2 * BS }), lun, { onDataOwed: (ttts) => owed.push([...ttts]) });
    const ttt = tttAt(out, 0);
    task.dataDiscarded(headerOf(dataOut({ ttt, dataSN: 0, bufferOffset: 0, final: false })), 'data-digest');
    task.abort();
    await task.done;
    expect(out).toHaveLength(1);
    expect(owed).toEqual([[ttt]]);
    // What still comes on the sequence is the session's to drop: the ended task ignores it.
    expect(task.dataOut(dataOut({ ttt, dataSN: 1, bufferOffset: BS, final: true }))).toBeUndefined();
    expect({ out: out.length, written: lun.written }).toEqual({ out: 1, written: [] });
  });

  it('held by a task management function while it waits: hold settles at the F bit, no response goes out, the abort ends it silently', async () => {
    const lun = recordingLun();
    const { task, out } = run(cmd({ cdb: write10(2), expectedDataTransferLength: 2 * BS }), lun);
    const ttt = tttAt(out, 0);
    task.dataDiscarded(headerOf(dataOut({ ttt, dataSN: 0, bufferOffset: 0, final: false })), 'data-digest');
    const held = task.hold();
    expect(await settled(held)).toBe(false);
    task.dataOut(dataOut({ ttt, dataSN: 1, bufferOffset: BS, final: true }));
    expect(await settled(held)).toBe(true);
    expect(out).toHaveLength(1);
    task.abort();
    await task.done;
    expect({ out: out.length, written: lun.written }).toEqual({ out: 1, written: [] });
  });

  it('a discarded PDU that names no burst of the task changes nothing: the WRITE completes GOOD with the data it got', async () => {
    const lun = recordingLun();
    const { task, out } = run(cmd({ cdb: write10(1), expectedDataTransferLength: BS }), lun);
    const ttt = tttAt(out, 0);
    task.dataDiscarded(headerOf(dataOut({ ttt: ttt + 1, dataSN: 0, bufferOffset: 0, final: true })), 'data-digest');
    expect(task.dataOut(dataOut({ ttt, dataSN: 0, bufferOffset: 0, final: true }))).toBeUndefined();
    await task.done;
    expect(lun.written).toEqual([new Uint8Array(BS).fill(0xdd)]);
    expect(responseAt(out, 1)).toEqual({ status: 0, underflow: undefined, expDataSN: 1, sense: '' });
  });

  it('after the task has ended it is ignored', async () => {
    const lun = recordingLun();
    const { task, out } = run(cmd({ cdb: write10(1), expectedDataTransferLength: BS }), lun);
    const ttt = tttAt(out, 0);
    task.dataOut(dataOut({ ttt, dataSN: 0, bufferOffset: 0, final: true }));
    await task.done;
    task.dataDiscarded(headerOf(dataOut({ ttt, dataSN: 0, bufferOffset: 0, final: true })), 'data-digest');
    expect(out.map((o) => o.kind)).toEqual(['r2t', 'response']);
    expect(responseAt(out, 1).status).toBe(0);
  });
});

describe('ScsiTask.dataDiscarded after a data segment over MaxRecvDataSegmentLength: CHECK CONDITION, DATA PHASE ERROR, once its data is in', () => {
  it('one before the F bit: counted by its header, no response until the F bit, no further R2T; never at the unit', async () => {
    const lun = recordingLun();
    const { task, out } = run(cmd({ cdb: write10(3), expectedDataTransferLength: 3 * BS }), lun);
    const ttt = tttAt(out, 0);
    expect(task.dataDiscarded(headerOf(dataOut({ ttt, dataSN: 0, bufferOffset: 0, final: false })), 'segment-too-long')).toBeUndefined();
    expect(out).toHaveLength(1);
    expect(task.dataOut(dataOut({ ttt, dataSN: 1, bufferOffset: BS, final: true }))).toBeUndefined();
    await task.done;
    expect(out.map((o) => o.kind)).toEqual(['r2t', 'response']);
    expect(responseAt(out, 1)).toEqual({ status: 0x02, underflow: 3 * BS, expDataSN: 1, sense: DATA_PHASE_ERROR_SENSE });
    expect(lun.written).toEqual([]);
  });

  it('one longer than its burst: DATA PHASE ERROR at once, the burst reported as owed', async () => {
    const lun = recordingLun();
    const owed: number[][] = [];
    const { task, out } = run(cmd({ cdb: write10(2), expectedDataTransferLength: 2 * BS }), lun, { onDataOwed: (ttts) => owed.push([...ttts]) });
    const ttt = tttAt(out, 0);
    expect(task.dataDiscarded(headerOf(dataOut({ ttt, dataSN: 0, bufferOffset: 0, final: true, bytes: 2 * BS + 4 })), 'segment-too-long')).toBe('too-much-data');
    await task.done;
    expect(responseAt(out, 1)).toEqual({ status: 0x02, underflow: 2 * BS, expDataSN: 1, sense: DATA_PHASE_ERROR_SENSE });
    expect(owed).toEqual([[ttt]]);
    expect(lun.written).toEqual([]);
  });

  it('a data digest error after it keeps the first reason: DATA PHASE ERROR', async () => {
    const lun = recordingLun();
    const { task, out } = run(cmd({ cdb: write10(2), expectedDataTransferLength: 2 * BS }), lun);
    const ttt = tttAt(out, 0);
    task.dataDiscarded(headerOf(dataOut({ ttt, dataSN: 0, bufferOffset: 0, final: false })), 'segment-too-long');
    task.dataDiscarded(headerOf(dataOut({ ttt, dataSN: 1, bufferOffset: BS, final: true })), 'data-digest');
    await task.done;
    expect(responseAt(out, 1).sense).toBe(DATA_PHASE_ERROR_SENSE);
  });
});
