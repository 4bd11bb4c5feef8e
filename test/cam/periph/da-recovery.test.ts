// da error recovery, one row of the table at a time: a status is injected (or
// provoked on the emulated unit), and the test counts the CCBs issued, checks
// the outcome and its typed error, and that every freeze was released (the
// fake XPT's settle() asserts the frozen count is back to 0 and releases
// equal freezes). Also: UNIT ATTENTION events, the capacity re-read, START
// STOP UNIT, the ordered-tag policy, device loss and close.

import { describe, expect, test, vi } from 'vitest';
import { DaPeriph, type DaOptions } from '../../../src/cam/periph/da.js';
import { CamError } from '../../../src/cam/periph/errors.js';
import { AsyncCode } from '../../../src/cam/xpt/periph-api.js';
import type { SbcEmulatorOptions } from '../../../src/scsi/sbc/unit-description.js';
import type { MemoryBlockSetOptions } from '../../../src/scsi/sbc/memory-block-set.js';
import { Asc, senseIllegalRequest, senseMiscompare, senseNotReady, senseUnitAttention, sense, SenseKey, type SenseData } from '../../../src/scsi/sense.js';
import { FakeXpt, PATH, checkCondition, tick, type Injection } from './fake-xpt.js';
import { camErrorOf } from '../../stack/fault-rig.js';

// FreeBSD cam.h values, written out.
const CAM_REQ_CMP = 0x01;
const CAM_BUSY = 0x05;
const CAM_DEV_NOT_THERE = 0x08;
const CAM_CMD_TIMEOUT = 0x0b;
const CAM_SCSI_STATUS_ERROR = 0x0c;
const CAM_REQUEUE_REQ = 0x1b;
const CAM_UNREC_HBA_ERROR = 0x19;
const CAM_REQ_ABORTED = 0x02;
const CAM_FUNC_NOTAVAIL = 0x3a;
const CAM_DEV_QFRZN = 0x40;
const CAM_AUTOSNS_VALID = 0x80;
// SAM-5 status codes.
const CHECK_CONDITION = 0x02;
const BUSY = 0x08;
const RESERVATION_CONFLICT = 0x18;
const TASK_SET_FULL = 0x28;

const FAST: DaOptions = { delays: { notReady: 1, busy: 1, queueFull: 1 } };

async function setup(opts: DaOptions = {}, disk: Partial<MemoryBlockSetOptions> = {}, emu: SbcEmulatorOptions = {}): Promise<{ xpt: FakeXpt; da: DaPeriph }> {
  const xpt = await FakeXpt.create(disk, emu);
  return { xpt, da: new DaPeriph(xpt, PATH, { ...FAST, ...opts }) };
}



describe('recovery table, row by row (TEST UNIT READY through da.scsi, retries 4, requeue limit 32)', () => {
  const tur = (da: DaPeriph) => da.scsi({ cdb: new Uint8Array(6), direction: 'none' });

  // [row, injection, times injected, outcome: CCBs issued then 'ok' or the CamStatus of the error]
  const rows: [string, Injection, number, number, 'ok' | number][] = [
    ['CAM_REQUEUE_REQ: requeued without spending retries', { status: CAM_REQUEUE_REQ }, 10, 11, 'ok'],
    ['CAM_BUSY: requeued after a delay', { status: CAM_BUSY }, 6, 7, 'ok'],
    ['SCSI BUSY: requeued after a delay', { status: CAM_SCSI_STATUS_ERROR, scsiStatus: BUSY }, 6, 7, 'ok'],
    ['TASK SET FULL: requeued after a delay', { status: CAM_SCSI_STATUS_ERROR, scsiStatus: TASK_SET_FULL }, 6, 7, 'ok'],
    ['CAM_CMD_TIMEOUT: retried 4 times, then succeeds', { status: CAM_CMD_TIMEOUT }, 4, 5, 'ok'],
    ['CAM_CMD_TIMEOUT: fails after 4 retries', { status: CAM_CMD_TIMEOUT }, 5, 5, CAM_CMD_TIMEOUT],
    ['CAM_DEV_NOT_THERE: fails at once', { status: CAM_DEV_NOT_THERE }, 1, 1, CAM_DEV_NOT_THERE],
    ['CAM_UNREC_HBA_ERROR: fails at once', { status: CAM_UNREC_HBA_ERROR }, 1, 1, CAM_UNREC_HBA_ERROR],
    ['CAM_REQ_ABORTED: fails at once', { status: CAM_REQ_ABORTED }, 1, 1, CAM_REQ_ABORTED],
    ['RESERVATION CONFLICT: fails at once', { status: CAM_SCSI_STATUS_ERROR, scsiStatus: RESERVATION_CONFLICT }, 1, 1, CAM_SCSI_STATUS_ERROR],
    ['CHECK CONDITION without sense: retried', { status: CAM_SCSI_STATUS_ERROR, scsiStatus: CHECK_CONDITION }, 2, 3, 'ok'],
    ['NOT READY 04h/01h: retried after a delay', checkCondition(senseNotReady(Asc.LOGICAL_UNIT_IS_IN_PROCESS_OF_BECOMING_READY)), 3, 4, 'ok'],
    ['NOT READY 04h/01h: fails after 4 retries', checkCondition(senseNotReady(Asc.LOGICAL_UNIT_IS_IN_PROCESS_OF_BECOMING_READY)), 9, 5, CAM_SCSI_STATUS_ERROR],
    ['NOT READY 3Ah/00h MEDIUM NOT PRESENT: fails at once', checkCondition(senseNotReady(Asc.MEDIUM_NOT_PRESENT)), 1, 1, CAM_SCSI_STATUS_ERROR],
    ['NOT READY 04h/04h FORMAT IN PROGRESS: fails at once', checkCondition(senseNotReady(Asc.LOGICAL_UNIT_NOT_READY_FORMAT_IN_PROGRESS)), 1, 1, CAM_SCSI_STATUS_ERROR],
    ['HARDWARE ERROR: retried', checkCondition(sense(SenseKey.HARDWARE_ERROR, Asc.INTERNAL_TARGET_FAILURE)), 2, 3, 'ok'],
    ['ABORTED COMMAND: retried', checkCondition(sense(SenseKey.ABORTED_COMMAND, Asc.DATA_PHASE_ERROR)), 4, 5, 'ok'],
    ['ILLEGAL REQUEST: fails at once', checkCondition(senseIllegalRequest(Asc.INVALID_FIELD_IN_CDB, { byte: 1 })), 1, 1, CAM_SCSI_STATUS_ERROR],
    ['DATA PROTECT: fails at once', checkCondition(sense(SenseKey.DATA_PROTECT, Asc.WRITE_PROTECTED)), 1, 1, CAM_SCSI_STATUS_ERROR],
    ['MISCOMPARE: fails at once', checkCondition(senseMiscompare(3)), 1, 1, CAM_SCSI_STATUS_ERROR],
    ['RECOVERED ERROR: completes', checkCondition(sense(SenseKey.RECOVERED_ERROR, Asc.NO_ADDITIONAL_SENSE)), 1, 1, 'ok'],
    ['deferred error: retried', checkCondition({ ...sense(SenseKey.MEDIUM_ERROR, Asc.WRITE_ERROR), deferred: true }), 1, 2, 'ok'],
  ];

  test.each(rows)('%s', async (_, inj, times, issued, outcome) => {
    const { xpt, da } = await setup();
    xpt.inject({ ...inj, times });
    const p = tur(da);
    if (outcome === 'ok') {
      await p;
    } else {
      const e = await camErrorOf(p);
      expect(e.camStatus).toBe(outcome);
      expect(e.status & 0x3f).toBe(outcome);
      expect(e.scsiStatus).toBe(inj.scsiStatus ?? 0);
      expect(e.senseData).toEqual(inj.sense);
    }
    expect(xpt.issued).toHaveLength(issued);
    expect(xpt.freezes).toBe(Math.min(times, issued));
    await xpt.settle();
  });

  test('requeues beyond the requeue limit spend retries', async () => {
    const { xpt, da } = await setup({ requeueLimit: 2, retries: 1 });
    xpt.inject({ status: CAM_REQUEUE_REQ, times: 4 });
    const e = await camErrorOf(tur(da));
    expect(e.camStatus).toBe(CAM_REQUEUE_REQ);
    expect(e.retries).toBe(1);
    expect(e.message).toBe('TEST UNIT READY failed (retries exhausted: requeued by the SIM): CAM_REQUEUE_REQ|CAM_DEV_QFRZN, after 1 retry');
    expect(xpt.issued).toHaveLength(4); // 1 + 2 free requeues + 1 retry
    await xpt.settle();
  });

  test('retries: 0 fails on the first retryable error', async () => {
    const { xpt, da } = await setup({ retries: 0 });
    xpt.inject({ status: CAM_CMD_TIMEOUT });
    const e = await camErrorOf(tur(da));
    expect(e.message).toBe('TEST UNIT READY failed (retries exhausted: command timed out): CAM_CMD_TIMEOUT|CAM_DEV_QFRZN');
    expect(xpt.issued).toHaveLength(1);
    await xpt.settle();
  });

  test('the CCB carries the retries left', async () => {
    const { xpt, da } = await setup();
    xpt.inject({ status: CAM_CMD_TIMEOUT, times: 2 });
    await tur(da);
    expect(xpt.issued.map((c) => c.retryCount)).toEqual([4, 3, 2]);
    await xpt.settle();
  });
});

describe('a command that must not run twice, cut short (COMPARE AND WRITE through da.scsi)', () => {
  // COMPARE AND WRITE (SBC-4): 89h, LBA 0, NUMBER OF LOGICAL BLOCKS (byte 13) 1; Data-Out: verify block, write block.
  const caw = (da: DaPeriph) =>
    da.scsi({ cdb: Uint8Array.of(0x89, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0), direction: 'out', data: new Uint8Array(1024) });
  const CAM_SCSI_BUS_RESET = 0x0e;
  const CAM_BDR_SENT = 0x17;

  test.each([
    ['CAM_CMD_TIMEOUT', CAM_CMD_TIMEOUT],
    ['CAM_SCSI_BUS_RESET', CAM_SCSI_BUS_RESET],
    ['CAM_BDR_SENT', CAM_BDR_SENT],
  ])('%s: fails with that status, one CCB, no retry spent', async (_, status) => {
    const { xpt, da } = await setup();
    xpt.inject({ status });
    const e = await camErrorOf(caw(da));
    expect({ cam: e.camStatus, retries: e.retries }).toEqual({ cam: status, retries: 0 });
    expect(xpt.issued).toHaveLength(1);
    await xpt.settle();
  });

  test('CAM_REQUEUE_REQ (never reached the unit): issued again, and it runs', async () => {
    const { xpt, da } = await setup();
    xpt.inject({ status: CAM_REQUEUE_REQ });
    expect((await caw(da)).camStatus).toBe(CAM_REQ_CMP);
    expect(xpt.issued).toHaveLength(2);
    await xpt.settle();
  });
});

describe('delays keep the device queue frozen', () => {
  test('SCSI BUSY: the freeze is held for the busy delay, other I/O waits, then everything runs', async () => {
    const { xpt, da } = await setup({ delays: { busy: 30 } });
    xpt.inject({ status: CAM_SCSI_STATUS_ERROR, scsiStatus: BUSY });
    const t0 = performance.now();
    const first = da.flush();
    await tick();
    await tick();
    expect(xpt.frozen).toBe(1);
    const second = da.read(0n, 1);
    await tick();
    expect(xpt.issued).toHaveLength(1);
    expect(xpt.queued).toBe(1);
    await Promise.all([first, second]);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(25);
    expect(xpt.issued).toHaveLength(3);
    await xpt.settle();
  });
});

describe('MEDIUM ERROR', () => {
  test('a read error is retried 4 times, then fails with the LBA, the sense and words', async () => {
    const { xpt, da } = await setup({}, { fault: (op, lba) => (op === 'read' && lba === 5n ? 'io-error' : undefined) });
    const e = await camErrorOf(da.read(5n, 1));
    expect(xpt.issued).toHaveLength(5);
    expect(e).toBeInstanceOf(Error);
    expect(e.name).toBe('CamError');
    expect(e.camStatus).toBe(CAM_SCSI_STATUS_ERROR);
    expect(e.status).toBe(CAM_SCSI_STATUS_ERROR | CAM_DEV_QFRZN | CAM_AUTOSNS_VALID);
    expect(e.scsiStatus).toBe(CHECK_CONDITION);
    expect(e.senseData).toEqual({ key: 0x3, asc: 0x11, ascq: 0x00, information: 5n });
    expect(e.sense?.[2]).toBe(0x03);
    expect(e.lba).toBe(5n);
    expect(e.retries).toBe(4);
    expect(e.message).toBe(
      'READ(10) failed (retries exhausted: medium error): CAM_SCSI_STATUS_ERROR|CAM_DEV_QFRZN|CAM_AUTOSNS_VALID, CHECK CONDITION, ' +
        'MEDIUM ERROR: UNRECOVERED READ ERROR (11h/00h), information 0x5, after 4 retries',
    );
    await xpt.settle();
  });

  test('a transient error is retried and the data is right', async () => {
    let failures = 2;
    const { xpt, da } = await setup({}, { fault: (op) => (op === 'write' && failures-- > 0 ? 'io-error' : undefined) });
    const data = new Uint8Array(512).fill(0xa5);
    await da.write(9n, data);
    expect(xpt.issued).toHaveLength(3);
    expect(xpt.disk.peek(9n)).toEqual(data);
    await xpt.settle();
  });
});

describe('device errors that are not retried', () => {
  test('LBA out of range: ILLEGAL REQUEST, one CCB, no LBA field', async () => {
    const { xpt, da } = await setup();
    const e = await camErrorOf(da.read(1024n, 1));
    expect(e.senseData).toEqual({ key: 0x5, asc: 0x21, ascq: 0x00 });
    expect(e.lba).toBeUndefined();
    expect(e.retries).toBe(0);
    expect(xpt.issued).toHaveLength(1);
    await xpt.settle();
  });

  test('write to a read-only unit: DATA PROTECT, one CCB', async () => {
    const { xpt, da } = await setup({}, { readOnly: true });
    const e = await camErrorOf(da.write(0n, new Uint8Array(512)));
    expect(e.senseData?.key).toBe(0x7);
    expect(e.senseData?.asc).toBe(0x27);
    expect(xpt.issued).toHaveLength(1);
    await xpt.settle();
  });

  test('a short read is an error, not zeros', async () => {
    const { xpt, da } = await setup();
    xpt.inject({ status: CAM_REQ_CMP, dataIn: new Uint8Array(100) });
    const e = await camErrorOf(da.read(0n, 1));
    expect(e.message).toBe('READ(10) failed (short transfer: 100 of 512 bytes (resid 412)): CAM_REQ_CMP');
    await xpt.settle();
  });
});

describe('NOT READY, INITIALIZING COMMAND REQUIRED', () => {
  test('a stopped unit is started (START STOP UNIT, START = 1) and the read retried', async () => {
    const { xpt, da } = await setup();
    await xpt.disk.write(2n, new Uint8Array(512).fill(7));
    xpt.lu.stopped = true;
    const data = await da.read(2n, 1);
    expect(data[0]).toBe(7);
    expect(xpt.cdbs()).toEqual(['28 00 00 00 00 02 00 00 01 00', '1b 00 00 00 01 00', '28 00 00 00 00 02 00 00 01 00']);
    expect(xpt.issued[1]?.priority).toBe(0x300);
    expect(xpt.lu.stopped).toBe(false);
    await xpt.settle();
  });

  test('many commands meeting a stopped unit share one START STOP UNIT', async () => {
    const { xpt, da } = await setup();
    xpt.lu.stopped = true;
    await Promise.all(Array.from({ length: 8 }, (_, i) => da.read(BigInt(i), 1)));
    expect(xpt.cdbs().filter((c) => c.startsWith('1b'))).toHaveLength(1);
    expect(xpt.issued).toHaveLength(17);
    await xpt.settle();
  });

  test('when START STOP UNIT fails, the command fails with its own error and the START failure as cause', async () => {
    const { xpt, da } = await setup({ retries: 1 });
    xpt.inject(checkCondition(senseNotReady(Asc.LOGICAL_UNIT_NOT_READY_INITIALIZING_COMMAND_REQUIRED)));
    xpt.inject({ ...checkCondition(senseIllegalRequest(Asc.INVALID_FIELD_IN_CDB, { byte: 4 })), match: (c) => c.cdb[0] === 0x1b });
    const e = await camErrorOf(da.flush());
    expect(e.senseData).toEqual({ key: 0x2, asc: 0x04, ascq: 0x02 });
    expect(e.reason).toBe('START STOP UNIT failed');
    expect(e.cause).toBeInstanceOf(CamError);
    expect((e.cause as CamError).cdb?.[0]).toBe(0x1b);
    expect(xpt.issued).toHaveLength(2);
    await xpt.settle();
  });
});

describe('UNIT ATTENTION', () => {
  test('retried, reported once to each listener, listeners can unsubscribe', async () => {
    const { xpt, da } = await setup();
    await da.flush(); // the I_T nexus exists from here on
    const seen: SenseData[] = [];
    const other: SenseData[] = [];
    da.onUnitAttention((s) => seen.push(s));
    const off = da.onUnitAttention((s) => other.push(s));
    xpt.lu.raiseUnitAttention(Asc.MODE_PARAMETERS_CHANGED);
    await da.read(0n, 1);
    expect(seen).toEqual([{ key: 0x6, asc: 0x2a, ascq: 0x01 }]);
    expect(other).toHaveLength(1);
    off();
    xpt.lu.raiseUnitAttention(Asc.REPORTED_LUNS_DATA_HAS_CHANGED);
    await da.read(0n, 1);
    expect(seen.map((s) => [s.asc, s.ascq])).toEqual([
      [0x2a, 0x01],
      [0x3f, 0x0e],
    ]);
    expect(other).toHaveLength(1);
    expect(xpt.issued).toHaveLength(5);
    await xpt.settle();
  });

  test('a UNIT ATTENTION spends a retry (CAM SF_RETRY_UA): with retries 0 it fails', async () => {
    const { xpt, da } = await setup({ retries: 0 });
    xpt.inject(checkCondition(senseUnitAttention(Asc.POWER_ON_RESET_OR_BUS_DEVICE_RESET_OCCURRED)));
    const seen: SenseData[] = [];
    da.onUnitAttention((s) => seen.push(s));
    const e = await camErrorOf(da.flush());
    expect(e.reason).toBe('retries exhausted: unit attention');
    expect(seen).toHaveLength(1);
    await xpt.settle();
  });

  test('CAPACITY DATA HAS CHANGED: READ CAPACITY (16) before the retry, capacity updated, event once', async () => {
    const { xpt, da } = await setup();
    await da.flush();
    expect(da.capacity.blocks).toBe(1024n);
    const seen: SenseData[] = [];
    da.onUnitAttention((s) => seen.push(s));
    xpt.disk.resize(4096n);
    xpt.lu.refreshGeometry();
    await da.read(2000n, 1);
    expect(da.capacity).toEqual({ blocks: 4096n, blockSize: 512, physicalBlockExp: 0, lbpme: true, lbprz: true });
    expect(da.info.capacity.blocks).toBe(4096n);
    expect(seen).toEqual([{ key: 0x6, asc: 0x2a, ascq: 0x09 }]);
    expect(xpt.cdbs().slice(1)).toEqual([
      '28 00 00 00 07 d0 00 00 01 00',
      '9e 10 00 00 00 00 00 00 00 00 00 00 00 20 00 00',
      '28 00 00 00 07 d0 00 00 01 00',
    ]);
    await xpt.settle();
  });

  test('READ CAPACITY (10) when the unit rejects (16)', async () => {
    const { xpt, da } = await setup();
    xpt.inject({ ...checkCondition(senseIllegalRequest(Asc.INVALID_FIELD_IN_CDB, { byte: 1, bit: 4 })), match: (c) => c.cdb[0] === 0x9e });
    xpt.disk.resize(2048n);
    xpt.lu.refreshGeometry();
    const cap = await da.refreshCapacity();
    expect(cap).toEqual({ blocks: 2048n, blockSize: 512, physicalBlockExp: 0, lbpme: false, lbprz: false });
    expect(xpt.cdbs().at(-1)).toBe('25 00 00 00 00 00 00 00 00 00');
    await xpt.settle();
  });

  test('AC_GETDEV_CHANGED re-reads the capacity', async () => {
    const { xpt, da } = await setup();
    xpt.disk.resize(3000n);
    xpt.lu.refreshGeometry();
    xpt.fire(AsyncCode.GETDEV_CHANGED);
    for (let i = 0; i < 20 && da.capacity.blocks !== 3000n; i++) await tick();
    expect(da.capacity.blocks).toBe(3000n);
    expect(xpt.cdbs().every((c) => c.startsWith('9e 10'))).toBe(true);
    await xpt.settle();
  });
});

describe('ordered tags', () => {
  test('the next command goes ORDERED once the oldest outstanding one is older than orderedTagAgeMs', async () => {
    let now = 0;
    const { xpt, da } = await setup({ orderedTagAgeMs: 100, now: () => now });
    xpt.hold = true;
    const ps = [da.read(0n, 1)];
    now = 50;
    ps.push(da.read(1n, 1));
    now = 99;
    ps.push(da.read(2n, 1));
    now = 100;
    ps.push(da.read(3n, 1)); // oldest is 100 ms old: ORDERED
    ps.push(da.read(4n, 1)); // an ORDERED tag was issued after the oldest: SIMPLE
    await tick();
    expect(xpt.issued.map((c) => c.tagAction)).toEqual([0x20, 0x20, 0x20, 0x22, 0x20]);
    expect(da.orderedTags).toBe(1);
    xpt.runHeld();
    await Promise.all(ps);
    now = 10_000;
    await da.read(5n, 1); // nothing outstanding: SIMPLE
    expect(xpt.issued.at(-1)?.tagAction).toBe(0x20);
    expect(da.orderedTags).toBe(1);
    await xpt.settle();
  });

  test('a retry keeps its tag; caller tags are left alone', async () => {
    let now = 0;
    const { xpt, da } = await setup({ orderedTagAgeMs: 10, now: () => now });
    xpt.hold = true;
    const a = da.read(0n, 1);
    now = 20;
    xpt.inject({ status: CAM_CMD_TIMEOUT, match: (c) => c.tagAction === 0x22 });
    const b = da.read(1n, 1);
    const c = da.scsi({ cdb: new Uint8Array(6), direction: 'none', tagAction: 'head' });
    await tick();
    xpt.runHeld();
    await Promise.all([a, b, c]);
    expect(xpt.issued.map((x) => x.tagAction)).toEqual([0x20, 0x22, 0x21, 0x22]);
    await xpt.settle();
  });
});

describe('device loss and close', () => {
  test('AC_LOST_DEVICE: in-flight errors are not retried, new I/O fails CAM_DEV_NOT_THERE without a CCB', async () => {
    const { xpt, da } = await setup();
    xpt.hold = true;
    xpt.inject({ status: CAM_CMD_TIMEOUT });
    const p = da.read(0n, 1);
    await tick();
    xpt.fire(AsyncCode.LOST_DEVICE);
    xpt.runHeld();
    const e = await camErrorOf(p);
    expect(e.camStatus).toBe(CAM_CMD_TIMEOUT);
    expect(e.reason).toBe('device is gone, not retried');
    const e2 = await camErrorOf(da.read(0n, 1));
    expect(e2.camStatus).toBe(CAM_DEV_NOT_THERE);
    expect(e2.message).toBe('READ(10) failed (device lost): CAM_DEV_NOT_THERE');
    expect(xpt.issued).toHaveLength(1);
    await xpt.settle();
  });

  test('a device lost while close waits: what is outstanding is not retried, close resolves, then it unsubscribes', async () => {
    const { xpt, da } = await setup();
    xpt.hold = true;
    xpt.inject({ status: CAM_CMD_TIMEOUT });
    const p = da.read(0n, 1);
    const c = da.close();
    await tick();
    // The bus is deregistered (stack.close): AC_LOST_DEVICE reaches the closing periph.
    xpt.fire(AsyncCode.LOST_DEVICE);
    xpt.runHeld();
    const e = await camErrorOf(p);
    expect(e.camStatus).toBe(CAM_CMD_TIMEOUT);
    expect(e.reason).toBe('device is gone, not retried');
    await c;
    expect(xpt.issued).toHaveLength(1);
    expect(xpt.subscribers).toBe(0);
    // Closed before it was lost: later I/O says so.
    expect((await camErrorOf(da.flush())).reason).toBe('periph closed');
    await xpt.settle();
  });

  test('close waits for outstanding I/O, unsubscribes, and later I/O fails', async () => {
    const { xpt, da } = await setup();
    expect(xpt.subscribers).toBe(1);
    xpt.hold = true;
    const p = da.read(0n, 1);
    let closed = false;
    const c = da.close().then(() => (closed = true));
    await tick();
    expect(closed).toBe(false);
    expect(da.outstanding).toBe(1);
    xpt.runHeld();
    await p;
    await c;
    expect(closed).toBe(true);
    expect(xpt.subscribers).toBe(0);
    const e = await camErrorOf(da.flush());
    expect(e.reason).toBe('periph closed');
    await xpt.settle();
  });
});

describe('typed errors', () => {
  test('discard refusal is CAM_FUNC_NOTAVAIL', async () => {
    const { xpt, da } = await setup({}, { discard: false, writeZeroes: false });
    xpt.inject({ ...checkCondition(senseIllegalRequest(Asc.INVALID_COMMAND_OPERATION_CODE, { byte: 0 })), times: 10 });
    const e = await camErrorOf(da.discard(0n, 1));
    expect(e.camStatus).toBe(CAM_FUNC_NOTAVAIL);
    expect(e.scsiStatus).toBe(0);
    expect(e.senseData).toBeUndefined();
    expect(e.message).toBe('command failed (the unit has no delete method (UNMAP, WRITE SAME) left): CAM_FUNC_NOTAVAIL');
    await xpt.settle();
  });
});

describe('edge cases', () => {
  test('the device goes away during a delay: the retry is not issued', async () => {
    const { xpt, da } = await setup({ delays: { busy: 20 } });
    xpt.inject({ status: CAM_SCSI_STATUS_ERROR, scsiStatus: BUSY });
    const p = da.flush();
    await tick();
    await tick();
    xpt.fire(AsyncCode.LOST_DEVICE);
    const e = await camErrorOf(p);
    expect(e.reason).toBe('device is gone, not retried');
    expect(xpt.issued).toHaveLength(1);
    await xpt.settle();
  });

  test('a listener that throws does not break the completion; its error is rethrown on its own', async () => {
    // A clock of its own: the default one (coarseNow) queues a microtask of its own.
    const { xpt, da } = await setup({ now: () => 0 });
    const queued: (() => void)[] = [];
    vi.stubGlobal('queueMicrotask', (f: () => void) => queued.push(f));
    try {
      da.onUnitAttention(() => {
        throw new Error('listener bug');
      });
      const seen: SenseData[] = [];
      da.onUnitAttention((s) => seen.push(s));
      xpt.inject(checkCondition(senseUnitAttention(Asc.POWER_ON_RESET_OR_BUS_DEVICE_RESET_OCCURRED)));
      await da.flush();
      expect(seen).toHaveLength(1);
      expect(queued).toHaveLength(1);
      expect(() => queued[0]?.()).toThrow('listener bug');
    } finally {
      vi.unstubAllGlobals();
    }
    await xpt.settle();
  });

  test('orderedTagAgeMs: Infinity never orders; NaN and negative are refused', async () => {
    let now = 0;
    const { xpt, da } = await setup({ orderedTagAgeMs: Infinity, now: () => now });
    xpt.hold = true;
    const a = da.read(0n, 1);
    now = 1e12;
    const b = da.read(1n, 1);
    await tick();
    xpt.runHeld();
    await Promise.all([a, b]);
    expect(xpt.issued.map((c) => c.tagAction)).toEqual([0x20, 0x20]);
    expect(() => new DaPeriph(xpt, PATH, { orderedTagAgeMs: Number.NaN })).toThrow(/orderedTagAgeMs must be ≥ 0 \(Infinity: never\), got NaN/);
    expect(() => new DaPeriph(xpt, PATH, { orderedTagAgeMs: -1 })).toThrow(/got -1/);
    await xpt.settle();
  });
});
