import { describe, expect, it } from 'vitest';
import { ScsiTask } from '../../src/iscsi/task.js';
import { DataInRooms } from '../../src/iscsi/data-in-rooms.js';
import type { TaskLimits, TaskOutput } from '../../src/iscsi/task-types.js';
import type { LunPort, ScsiAnswer } from '../../src/iscsi/lun.js';
import type { DataOutPdu, ScsiCommandPdu } from '../../src/iscsi/pdu-types.js';

const BS = 512;
const LIMITS: TaskLimits = { initialR2T: true, immediateData: true, firstBurstLength: 65536, maxBurstLength: 4096, maxOutstandingR2T: 1, maxSendDataSegmentLength: 1024 };
const write10 = (blocks: number): Uint8Array => Uint8Array.of(0x2a, 0, 0, 0, 0, 9, 0, blocks >> 8, blocks & 0xff, 0);
const read10 = (blocks: number): Uint8Array => Uint8Array.of(0x28, 0, 0, 0, 0, 9, 0, blocks >> 8, blocks & 0xff, 0);

function cmd(o: Partial<ScsiCommandPdu> & { cdb: Uint8Array; expectedDataTransferLength: number }): ScsiCommandPdu {
  return { opcode: 1, immediate: false, itt: 7, final: true, read: false, write: false, attr: 1, lun: 0n, cmdSN: 1, expStatSN: 1, data: new Uint8Array(0), ...o };
}
const dataOut = (o: Partial<DataOutPdu> & { ttt: number; dataSN: number; bufferOffset: number; data: Uint8Array }): DataOutPdu => ({
  opcode: 5,
  immediate: false,
  itt: 7,
  final: true,
  lun: 0n,
  expStatSN: 1,
  ...o,
});

/** A LUN that records what it was asked and answers with `answer` (data for reads = `readData`). */
function fakeLun(answer: Partial<ScsiAnswer> = {}, readData?: Uint8Array): LunPort & { calls: { cdb: Uint8Array; direction: string; dataOut?: Uint8Array; length?: number }[] } {
  const calls: { cdb: Uint8Array; direction: string; dataOut?: Uint8Array; length?: number }[] = [];
  return {
    calls,
    start(c) {
      const { cdb, direction, dataOutBuffer: dataOut, dataInLength: length } = c;
      calls.push({ cdb, direction, ...(dataOut === undefined ? {} : { dataOut: Uint8Array.from(dataOut) }), ...(length === undefined ? {} : { length }) });
      // Later, as CAM answers.
      queueMicrotask(() => {
        c.answered({ status: 0, aborted: false, ...(readData === undefined ? {} : { data: readData }), ...answer });
      });
      return { abort: () => undefined };
    },
  };
}

function run(c: ScsiCommandPdu, lun: LunPort, limits = LIMITS, onFault?: (e: unknown) => void): { task: ScsiTask; out: TaskOutput[] } {
  const out: TaskOutput[] = [];
  const task = new ScsiTask(c, { blockSize: BS, maxCommandBytes: 2 ** 20 }, limits, lun, { out: (o) => out.push(o), ...(onFault === undefined ? {} : { onFault }) });
  task.start();
  return { task, out };
}

describe('ScsiTask: Data-Out', () => {
  it('solicits with R2Ts of at most MaxBurstLength, one outstanding, and writes the data in order', async () => {
    const lun = fakeLun();
    const { task, out } = run(cmd({ cdb: write10(16), write: true, expectedDataTransferLength: 16 * BS }), lun);
    expect(out).toEqual([{ kind: 'r2t', itt: 7, lun: 0n, r2tSN: 0, ttt: expect.any(Number) as number, bufferOffset: 0, length: 4096 }]);
    const payload = Uint8Array.from({ length: 16 * BS }, (_, i) => i & 0xff);
    for (let burst = 0; burst < 2; burst++) {
      const r2t = out.at(-1);
      if (r2t?.kind !== 'r2t') throw new Error('expected an R2T');
      // Two Data-Out PDUs per burst: DataSN 0 and 1 within the burst, absolute Buffer Offsets.
      expect(task.dataOut(dataOut({ ttt: r2t.ttt, dataSN: 0, bufferOffset: r2t.bufferOffset, data: payload.subarray(r2t.bufferOffset, r2t.bufferOffset + 2048), final: false }))).toBeUndefined();
      expect(task.dataOut(dataOut({ ttt: r2t.ttt, dataSN: 1, bufferOffset: r2t.bufferOffset + 2048, data: payload.subarray(r2t.bufferOffset + 2048, r2t.bufferOffset + 4096) }))).toBeUndefined();
    }
    await task.done;
    expect(out.flatMap((o) => (o.kind === 'r2t' ? [[o.r2tSN, o.bufferOffset]] : []))).toEqual([[0, 0], [1, 4096]]);
    expect(lun.calls).toHaveLength(1);
    expect(lun.calls[0]?.dataOut).toEqual(payload);
    expect(out.at(-1)).toEqual({ kind: 'response', itt: 7, lun: 0n, status: 0, residual: { overflow: false, underflow: false, count: 0 }, expDataSN: 2 });
  });

  it('immediate data counts as the start of the unsolicited burst; R2Ts ask only for the rest', async () => {
    const lun = fakeLun();
    const payload = new Uint8Array(2 * BS).fill(0x33);
    const { task, out } = run(cmd({ cdb: write10(2), write: true, expectedDataTransferLength: 2 * BS, data: payload.subarray(0, BS) }), lun);
    expect(out).toEqual([{ kind: 'r2t', itt: 7, lun: 0n, r2tSN: 0, ttt: expect.any(Number) as number, bufferOffset: BS, length: BS }]);
    const r2t = out[0];
    if (r2t?.kind !== 'r2t') throw new Error('expected an R2T');
    task.dataOut(dataOut({ ttt: r2t.ttt, dataSN: 0, bufferOffset: BS, data: payload.subarray(BS) }));
    await task.done;
    expect(lun.calls[0]?.dataOut).toEqual(payload);
  });

  it('EDTL short by a block: TRANSFER LENGTH lowered, overflow reported', async () => {
    const lun = fakeLun();
    const { task, out } = run(cmd({ cdb: write10(2), write: true, expectedDataTransferLength: BS, data: new Uint8Array(BS).fill(1) }), lun);
    await task.done;
    expect([...(lun.calls[0]?.cdb ?? [])]).toEqual([...write10(1)]);
    expect(out.at(-1)).toMatchObject({ kind: 'response', status: 0, residual: { overflow: true, underflow: false, count: BS } });
  });

  it.each([
    ['a wrong DataSN', { dataSN: 1, bufferOffset: 0 }, 'bad-datasn'],
    ['a Buffer Offset that skips ahead', { dataSN: 0, bufferOffset: 4 }, 'bad-offset'],
  ] as const)('%s ends the task with ABORTED COMMAND / DATA PHASE ERROR and nothing is executed', async (_, f, fault) => {
    const lun = fakeLun();
    const { task, out } = run(cmd({ cdb: write10(1), write: true, expectedDataTransferLength: BS }), lun);
    const r2t = out[0];
    if (r2t?.kind !== 'r2t') throw new Error('expected an R2T');
    expect(task.dataOut(dataOut({ ttt: r2t.ttt, data: new Uint8Array(BS), ...f }))).toBe(fault);
    await task.done;
    expect(lun.calls).toHaveLength(0);
    const resp = out.at(-1);
    if (resp?.kind !== 'response') throw new Error('expected a response');
    expect(resp.status).toBe(0x02);
    // Fixed sense: key at byte 2, ASC/ASCQ at 12/13.
    expect([resp.sense?.[2], resp.sense?.[12], resp.sense?.[13]]).toEqual([0x0b, 0x4b, 0x00]);
  });

  it.each([
    ['the first of two bursts ended by one block with F', 16, BS],
    ['the first of two bursts ended by an empty Data-Out with F', 16, 0],
    ['the only burst ended by one block with F', 8, BS],
  ] as const)('%s: DATA PHASE ERROR at once, no further R2T, nothing executed (RFC 7143 §11.8.4, §11.7.1)', async (_, blocks, bytes) => {
    const lun = fakeLun();
    const { task, out } = run(cmd({ cdb: write10(blocks), write: true, expectedDataTransferLength: blocks * BS }), lun);
    const r2t = out[0];
    if (r2t?.kind !== 'r2t') throw new Error('expected an R2T');
    expect(r2t.length).toBe(4096);
    expect(task.dataOut(dataOut({ ttt: r2t.ttt, dataSN: 0, bufferOffset: 0, data: new Uint8Array(bytes).fill(0xaa) }))).toBe('short-burst');
    await task.done;
    expect(lun.calls).toEqual([]);
    // One R2T only; the response names it (ExpDataSN 1) and no byte of EDTL as used.
    expect(out.map((o) => o.kind)).toEqual(['r2t', 'response']);
    const resp = out[1];
    if (resp?.kind !== 'response') throw new Error('expected a response');
    expect([resp.status, resp.expDataSN, resp.residual]).toEqual([0x02, 1, { overflow: false, underflow: true, count: blocks * BS }]);
    expect([resp.sense?.[2], resp.sense?.[12], resp.sense?.[13]]).toEqual([0x0b, 0x4b, 0x00]);
  });

  it('an unsolicited burst (InitialR2T=No) ended by its F bit before min(FirstBurstLength, EDTL) ends DATA PHASE ERROR too, nothing executed', async () => {
    const lun = fakeLun();
    const limits: TaskLimits = { ...LIMITS, initialR2T: false };
    const { task, out } = run(cmd({ cdb: write10(2), write: true, final: false, expectedDataTransferLength: 2 * BS }), lun, limits);
    expect(out).toEqual([]);
    expect(task.dataOut(dataOut({ ttt: 0xffff_ffff, dataSN: 0, bufferOffset: 0, data: new Uint8Array(BS) }))).toBe('short-burst');
    await task.done;
    expect(lun.calls).toEqual([]);
    const resp = out.at(-1);
    if (resp?.kind !== 'response') throw new Error('expected a response');
    expect([resp.status, resp.sense?.[2], resp.sense?.[12], resp.sense?.[13]]).toEqual([0x02, 0x0b, 0x4b, 0x00]);
  });

  it('more data than the R2T asked for is refused; an unknown TTT too', () => {
    const lun = fakeLun();
    const { task, out } = run(cmd({ cdb: write10(1), write: true, expectedDataTransferLength: BS }), lun);
    const r2t = out[0];
    if (r2t?.kind !== 'r2t') throw new Error('expected an R2T');
    expect(task.dataOut(dataOut({ ttt: r2t.ttt + 1, dataSN: 0, bufferOffset: 0, data: new Uint8Array(BS) }))).toBe('unknown-ttt');
    expect(task.dataOut(dataOut({ ttt: r2t.ttt, dataSN: 0, bufferOffset: 0, data: new Uint8Array(BS + 4) }))).toBe('too-much-data');
  });
});

describe('ScsiTask: Data-In', () => {
  it('splits Data-In to the initiator segment size and MaxBurstLength sequences, status in the last PDU', async () => {
    const data = Uint8Array.from({ length: 10 * BS }, (_, i) => (i * 7) & 0xff);
    const { task, out } = run(cmd({ cdb: read10(10), read: true, expectedDataTransferLength: 10 * BS }), fakeLun({}, data));
    await task.done;
    const ins = out.filter((o) => o.kind === 'data-in');
    expect(out.flatMap((o) => (o.kind === 'data-in' ? [[o.dataSN, o.bufferOffset, o.data.length, o.final]] : []))).toEqual([
      [0, 0, 1024, false],
      [1, 1024, 1024, false],
      [2, 2048, 1024, false],
      [3, 3072, 1024, true],
      [4, 4096, 1024, true],
    ]);
    const last = ins.at(-1);
    expect(last?.kind === 'data-in' ? last.status : undefined).toEqual({ scsiStatus: 0, residual: { overflow: false, underflow: false, count: 0 } });
    expect(out.some((o) => o.kind === 'response')).toBe(false);
  });

  it('READ of one block with EDTL 200 sends 200 bytes, overflow 312', async () => {
    const { task, out } = run(cmd({ cdb: read10(1), read: true, expectedDataTransferLength: 200 }), fakeLun({}, new Uint8Array(BS).fill(9)));
    await task.done;
    const last = out.at(-1);
    if (last?.kind !== 'data-in') throw new Error('expected Data-In with status');
    expect(last.data.length).toBe(200);
    expect(last.status?.residual).toEqual({ overflow: true, underflow: false, count: BS - 200 });
  });

  it('EDTL 0 for a one-block READ: no Data-In, a SCSI Response with overflow', async () => {
    const { task, out } = run(cmd({ cdb: read10(1), read: true, expectedDataTransferLength: 0 }), fakeLun({}, new Uint8Array(BS)));
    await task.done;
    expect(out).toEqual([{ kind: 'response', itt: 7, lun: 0n, status: 0, residual: { overflow: true, underflow: false, count: BS }, expDataSN: 0 }]);
  });

  it('an allocation-length command returning less than EDTL reports an underflow', async () => {
    const inquiry = Uint8Array.of(0x12, 0, 0, 0, 255, 0);
    const { task, out } = run(cmd({ cdb: inquiry, read: true, expectedDataTransferLength: 255 }), fakeLun({}, new Uint8Array(96)));
    await task.done;
    const last = out.at(-1);
    expect(last?.kind === 'data-in' ? last.status?.residual : undefined).toEqual({ overflow: false, underflow: true, count: 255 - 96 });
  });

  it('CHECK CONDITION with sense: Data-In without status, then a SCSI Response carrying the sense', async () => {
    const senseBytes = Uint8Array.of(0x70, 0, 5, 0, 0, 0, 0, 10, 0, 0, 0, 0, 0x24, 0, 0, 0, 0, 0);
    const { task, out } = run(cmd({ cdb: read10(1), read: true, expectedDataTransferLength: BS }), fakeLun({ status: 2, sense: senseBytes }));
    await task.done;
    expect(out).toEqual([{ kind: 'response', itt: 7, lun: 0n, status: 2, residual: { overflow: false, underflow: true, count: BS }, sense: senseBytes, expDataSN: 0 }]);
  });
});

/** A logical unit that counts aborts but ignores them: the command answers only when the test releases it. */
function ignoringLun(): { lun: LunPort; release: (a: ScsiAnswer) => void; aborts: () => number } {
  let answer: (a: ScsiAnswer) => void = () => undefined;
  let aborts = 0;
  const lun: LunPort = {
    start: (c) => {
      answer = (a) => {
        c.answered(a);
      };
      return { abort: () => aborts++ };
    },
  };
  return { lun, release: (a) => { answer(a); }, aborts: () => aborts };
}

describe('ScsiTask: Data-In rooms', () => {
  /** A LUN that answers a READ with `fill` written into the room it was given (or into a new array without one). */
  function roomLun(fill: number, own = false): LunPort & { rooms: (Uint8Array | undefined)[] } {
    const rooms: (Uint8Array | undefined)[] = [];
    return {
      rooms,
      start(c) {
        rooms.push(c.dataInRoom);
        const data = own || c.dataInRoom === undefined ? new Uint8Array(c.dataInLength ?? 0) : c.dataInRoom.subarray(0, c.dataInLength);
        data.fill(fill);
        queueMicrotask(() => {
          c.answered({ status: 0, data, aborted: false });
        });
        return { abort: () => undefined };
      },
    };
  }

  function runWithRooms(c: ScsiCommandPdu, lun: LunPort, limits: TaskLimits): { task: ScsiTask; out: TaskOutput[]; asked: number[] } {
    const out: TaskOutput[] = [];
    const asked: number[] = [];
    const rooms = new DataInRooms();
    const hooks = {
      out: (o: TaskOutput) => out.push(o),
      dataInRoom: (bytes: number) => {
        asked.push(bytes);
        return rooms.take(bytes);
      },
    };
    const task = new ScsiTask(c, { blockSize: BS, maxCommandBytes: 2 ** 20 }, limits, lun, hooks);
    task.start();
    return { task, out, asked };
  }

  const WIDE: TaskLimits = { ...LIMITS, maxSendDataSegmentLength: 8192, maxBurstLength: 8192 };

  it('a READ one Data-In PDU carries lands in a room, and its PDU gets the 48 bytes in front of the room for its header', async () => {
    const lun = roomLun(0x6b);
    const { task, out, asked } = runWithRooms(cmd({ cdb: read10(8), read: true, expectedDataTransferLength: 8 * BS }), lun, WIDE);
    await task.done;
    const room = lun.rooms[0];
    if (room === undefined) throw new Error('expected a room');
    expect(asked).toEqual([8 * BS]);
    expect(out).toHaveLength(1);
    const d = out[0];
    if (d?.kind !== 'data-in') throw new Error('expected a Data-In');
    expect(d.data).toEqual(new Uint8Array(8 * BS).fill(0x6b));
    expect([d.data.buffer === room.buffer, d.data.byteOffset]).toEqual([true, room.byteOffset]);
    expect([d.header?.buffer === room.buffer, d.header?.byteOffset, d.header?.length]).toEqual([true, room.byteOffset - 48, 48]);
    expect(d.status?.scsiStatus).toBe(0);
  });

  it('no room when the transfer takes more than one PDU (MaxRecvDataSegmentLength, MaxBurstLength), nor for an EDTL that needs padding', async () => {
    for (const [edtl, limits] of [
      [4 * BS, LIMITS], // 2048 bytes past the initiator's 1024-byte segments
      [16 * BS, { ...WIDE, maxBurstLength: 4096 }], // two sequences
      [BS - 2, WIDE], // 510 bytes: padded on the wire
    ] as const) {
      const lun = roomLun(1);
      const { task, out, asked } = runWithRooms(cmd({ cdb: read10(Math.ceil(edtl / BS)), read: true, expectedDataTransferLength: edtl }), lun, limits);
      await task.done;
      expect(asked).toEqual([]);
      expect(lun.rooms).toEqual([undefined]);
      expect(out.every((o) => o.kind !== 'data-in' || o.header === undefined)).toBe(true);
    }
  });

  it('no header space is named when the unit answered from a buffer of its own', async () => {
    const lun = roomLun(2, true);
    const { task, out, asked } = runWithRooms(cmd({ cdb: read10(1), read: true, expectedDataTransferLength: BS }), lun, WIDE);
    await task.done;
    expect(asked).toEqual([BS]);
    expect(out.map((o) => (o.kind === 'data-in' ? o.header : 'other'))).toEqual([undefined]);
  });

  it('the room itself as the answer (not a view of it) gets its header space too', async () => {
    const lun: LunPort = {
      start(c) {
        const room = c.dataInRoom;
        if (room === undefined) throw new Error('expected a room');
        room.fill(7);
        queueMicrotask(() => {
          c.answered({ status: 0, data: room, aborted: false });
        });
        return { abort: () => undefined };
      },
    };
    const { task, out } = runWithRooms(cmd({ cdb: read10(2), read: true, expectedDataTransferLength: 2 * BS }), lun, WIDE);
    await task.done;
    const d = out[0];
    if (d?.kind !== 'data-in') throw new Error('expected a Data-In');
    expect([d.header?.buffer === d.data.buffer, (d.header?.byteOffset ?? 0) + 48]).toEqual([true, d.data.byteOffset]);
  });

  it('a room whose data goes in several PDUs after all (MaxRecvDataSegmentLength lowered meanwhile) names no header space', async () => {
    const limits = { ...WIDE };
    const lun = roomLun(0x33);
    const { task, out, asked } = runWithRooms(cmd({ cdb: read10(8), read: true, expectedDataTransferLength: 8 * BS }), lun, limits);
    // The initiator declares a smaller MaxRecvDataSegmentLength (§13.12) before the answer comes.
    limits.maxSendDataSegmentLength = 1024;
    await task.done;
    expect(asked).toEqual([8 * BS]);
    const dataIns = out.filter((o) => o.kind === 'data-in');
    expect(dataIns.map((o) => [o.data.length, o.header])).toEqual([0, 1, 2, 3].map(() => [1024, undefined]));
  });

  it('a room that cannot be had fails that command (HARDWARE ERROR, INTERNAL TARGET FAILURE), reported as a fault', async () => {
    const out: TaskOutput[] = [];
    const faults: unknown[] = [];
    const lun = roomLun(1);
    const hooks = {
      out: (o: TaskOutput) => out.push(o),
      onFault: (e: unknown) => faults.push(e),
      dataInRoom: (): Uint8Array => {
        throw new RangeError('Array buffer allocation failed');
      },
    };
    const task = new ScsiTask(cmd({ cdb: read10(1), read: true, expectedDataTransferLength: BS }), { blockSize: BS, maxCommandBytes: 2 ** 20 }, WIDE, lun, hooks);
    expect(() => {
      task.start();
    }).not.toThrow();
    await task.done;
    expect(lun.rooms).toEqual([]);
    expect(faults).toHaveLength(1);
    const r = out[0];
    if (r?.kind !== 'response') throw new Error('expected a SCSI Response');
    expect([r.status, (r.sense?.[2] ?? 0) & 0x0f, r.sense?.[12]]).toEqual([2, 0x04, 0x44]);
  });

  it('writes and commands without data ask for no room, nor does a READ with EDTL 0', async () => {
    const lun = roomLun(3);
    const w = runWithRooms(cmd({ cdb: write10(1), write: true, expectedDataTransferLength: BS, data: new Uint8Array(BS) }), lun, { ...WIDE, immediateData: true });
    await w.task.done;
    const t = runWithRooms(cmd({ cdb: new Uint8Array(6), expectedDataTransferLength: 0 }), lun, WIDE);
    await t.task.done;
    const r = runWithRooms(cmd({ cdb: read10(1), read: true, expectedDataTransferLength: 0 }), lun, WIDE);
    await r.task.done;
    expect([...w.asked, ...t.asked, ...r.asked]).toEqual([]);
  });
});

describe('ScsiTask: abort', () => {
  it('an aborted task sends nothing, even when its command completes afterwards', async () => {
    let release: (a: ScsiAnswer) => void = () => undefined;
    let aborts = 0;
    const lun: LunPort = {
      start: (c) => {
        release = (a) => {
          c.answered(a);
        };
        return {
          abort: () => {
            aborts++;
            c.answered({ status: 0x40, aborted: true });
          },
        };
      },
    };
    const { task, out } = run(cmd({ cdb: read10(1), read: true, expectedDataTransferLength: BS }), lun);
    await Promise.resolve();
    task.abort();
    release({ status: 0, data: new Uint8Array(BS), aborted: false });
    await task.done;
    expect(out).toEqual([]);
    expect(task.aborted).toBe(true);
    expect(aborts).toBe(1);
  });
});

describe('ScsiTask: abort while the logical unit cannot stop the command', () => {
  it('an abort the unit ignores still ends the task without a response when the command later completes GOOD', async () => {
    const { lun, release, aborts } = ignoringLun();
    const { task, out } = run(cmd({ cdb: read10(1), read: true, expectedDataTransferLength: BS }), lun);
    task.abort();
    expect(aborts()).toBe(1);
    release({ status: 0, data: new Uint8Array(BS), aborted: false });
    await task.done;
    expect(out).toEqual([]);
  });

  it('an abort that comes while start() runs reaches the command once start() returns', async () => {
    let aborts = 0;
    let release: (a: ScsiAnswer) => void = () => undefined;
    const lun: LunPort = {
      start: (c) => {
        release = (a) => {
          c.answered(a);
        };
        task.abort();
        return { abort: () => aborts++ };
      },
    };
    const out: TaskOutput[] = [];
    const task = new ScsiTask(cmd({ cdb: read10(1), read: true, expectedDataTransferLength: BS }), { blockSize: BS, maxCommandBytes: 2 ** 20 }, LIMITS, lun, { out: (o) => out.push(o) });
    task.start();
    expect(aborts).toBe(1);
    release({ status: 0x40, aborted: true });
    await task.done;
    expect(out).toEqual([]);
  });
});

describe('ScsiTask: abort with TASK ABORTED status (TAS 1, another I_T nexus)', () => {
  it('a running READ ends with a SCSI Response of TASK ABORTED once the unit answers, without its data, whatever the answer', async () => {
    const { lun, release, aborts } = ignoringLun();
    const { task, out } = run(cmd({ cdb: read10(1), read: true, expectedDataTransferLength: BS }), lun);
    task.abort('task-aborted');
    // A later abort (the session's own) does not change how the task ends.
    task.abort();
    expect(aborts()).toBe(2);
    expect(out).toEqual([]);
    release({ status: 0, data: new Uint8Array(BS).fill(7), aborted: false });
    await task.done;
    expect(out).toEqual([{ kind: 'response', itt: 7, lun: 0n, status: 0x40, residual: { overflow: false, underflow: true, count: BS }, sense: undefined, expDataSN: 0 }]);
  });

  it('a WRITE waiting for its Data-Out answers at once: the R2Ts sent count in ExpDataSN, the data received in the residual', async () => {
    const lun = fakeLun();
    const { task, out } = run(cmd({ cdb: write10(2), write: true, expectedDataTransferLength: 2 * BS }), lun, { ...LIMITS, maxBurstLength: BS, maxOutstandingR2T: 2 });
    expect(out.map((o) => o.kind)).toEqual(['r2t', 'r2t']);
    const r2t = out[0];
    if (r2t?.kind !== 'r2t') throw new Error('expected an R2T');
    expect(task.dataOut(dataOut({ ttt: r2t.ttt, dataSN: 0, bufferOffset: 0, data: new Uint8Array(BS) }))).toBeUndefined();
    task.abort('task-aborted');
    await task.done;
    expect(lun.calls).toEqual([]);
    expect(out.slice(2)).toEqual([{ kind: 'response', itt: 7, lun: 0n, status: 0x40, residual: { overflow: false, underflow: true, count: BS }, sense: undefined, expDataSN: 2 }]);
  });
});

describe('ScsiTask: answers from the logical unit', () => {
  it('an answer given before start() returns is sent, and a second answer is ignored', async () => {
    let finished = 0;
    let again: (a: ScsiAnswer) => void = () => undefined;
    const lun: LunPort = {
      start: (c) => {
        again = (a) => {
          c.answered(a);
        };
        c.answered({ status: 0, data: new Uint8Array(BS).fill(7), aborted: false });
        return { abort: () => undefined };
      },
    };
    const out: TaskOutput[] = [];
    const task = new ScsiTask(cmd({ cdb: read10(1), read: true, expectedDataTransferLength: BS }), { blockSize: BS, maxCommandBytes: 2 ** 20 }, LIMITS, lun, {
      out: (o) => out.push(o),
      onFinish: () => finished++,
    });
    task.start();
    expect(out).toHaveLength(1);
    expect(out[0]).toMatchObject({ kind: 'data-in', dataSN: 0, final: true, status: { scsiStatus: 0 } });
    again({ status: 2, aborted: false });
    await task.done;
    expect(out).toHaveLength(1);
    expect(finished).toBe(1);
  });

  it('a logical unit that throws fails that command with HARDWARE ERROR, INTERNAL TARGET FAILURE and reports the fault', async () => {
    const faults: unknown[] = [];
    const boom = new Error('boom');
    const lun: LunPort = {
      start: () => {
        throw boom;
      },
    };
    const { task, out } = run(cmd({ cdb: read10(1), read: true, expectedDataTransferLength: BS }), lun, LIMITS, (e) => faults.push(e));
    await task.done;
    expect(faults).toEqual([boom]);
    const r = out.at(-1);
    if (r?.kind !== 'response') throw new Error('expected a SCSI Response');
    expect(r.status).toBe(2);
    // Fixed-format sense: key at byte 2, ASC/ASCQ at 12/13 (SPC-5 §4.4.3): 04h, 44h/00h.
    expect([r.sense?.[2], r.sense?.[12], r.sense?.[13]]).toEqual([0x04, 0x44, 0x00]);
  });

  it('done settles for a task that already ended', async () => {
    const { task } = run(cmd({ cdb: read10(1), read: true, expectedDataTransferLength: BS }), fakeLun({}, new Uint8Array(BS)));
    await task.done;
    await expect(task.done).resolves.toBeUndefined();
  });
});
