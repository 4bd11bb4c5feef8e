// pass: raw CDBs in, the device's answer out, untouched: no retries, no
// recovery, every freeze an error completion brings released. CDBs are written
// from the SPC-5/SBC-4 tables; CAM status words from FreeBSD cam.h values.

import { describe, expect, test } from 'vitest';
import { PassPeriph } from '../../../src/cam/periph/pass.js';
import { MAX_CDB_LENGTH, type ScsiRequest } from '../../../src/cam/periph/request.js';
import { Asc, senseUnitAttention, senseNotReady } from '../../../src/scsi/sense.js';
import { FakeXpt, PATH, bytes, hex, tick } from './fake-xpt.js';

const CAM_REQ_CMP = 0x01;
const CAM_CMD_TIMEOUT = 0x0b;
const CAM_SCSI_STATUS_ERROR = 0x0c;
const CAM_REQUEUE_REQ = 0x1b;
const CAM_DEV_QFRZN = 0x40;
const CAM_AUTOSNS_VALID = 0x80;
const CHECK_CONDITION = 0x02;
const BUSY = 0x08;

async function setup(): Promise<{ xpt: FakeXpt; pass: PassPeriph }> {
  const xpt = await FakeXpt.create();
  return { xpt, pass: new PassPeriph(xpt, PATH) };
}

describe('pass: results as the device gave them', () => {
  test('INQUIRY: data, resid, GOOD', async () => {
    const { xpt, pass } = await setup();
    const r = await pass.scsi({ cdb: bytes('12 00 00 00 60 00'), direction: 'in', length: 96 });
    expect(r.camStatus).toBe(CAM_REQ_CMP);
    expect(r.scsiStatus).toBe(0);
    expect(r.sense).toBeUndefined();
    const data = r.data ?? new Uint8Array(0);
    expect(data[0]).toBe(0x00); // PERIPHERAL DEVICE TYPE: direct access
    expect(new TextDecoder().decode(data.subarray(8, 16))).toBe('VTCAM   ');
    expect(r.resid).toBe(96 - data.length);
    expect(xpt.issued.map((c) => ({ dir: c.flags & 0xc0, len: c.dxferLen }))).toEqual([{ dir: 0x40, len: 96 }]);
    await xpt.settle();
  });

  test('READ past the capacity: CHECK CONDITION with sense, no retry, freeze released, next command runs', async () => {
    const { xpt, pass } = await setup();
    // READ(10) LBA 1024 (capacity 1024 blocks), 1 block.
    const r = await pass.scsi({ cdb: bytes('28 00 00 00 04 00 00 00 01 00'), direction: 'in', length: 512 });
    expect(r.camStatus).toBe(CAM_SCSI_STATUS_ERROR | CAM_DEV_QFRZN | CAM_AUTOSNS_VALID);
    expect(r.scsiStatus).toBe(CHECK_CONDITION);
    expect(hex(r.sense)).toBe('70 00 05 00 00 00 00 0a 00 00 00 00 21 00 00 00 00 00');
    expect(r.senseData).toEqual({ key: 0x5, asc: 0x21, ascq: 0x00 });
    expect(r.data).toBeUndefined();
    expect(r.resid).toBe(512);
    expect(xpt.issued).toHaveLength(1);
    expect(xpt.frozen).toBe(0);
    const tur = await pass.scsi({ cdb: bytes('00 00 00 00 00 00'), direction: 'none' });
    expect(tur.camStatus).toBe(CAM_REQ_CMP);
    await xpt.settle();
  });

  test('a UNIT ATTENTION is returned, not retried; the next command is GOOD', async () => {
    const { xpt, pass } = await setup();
    await pass.scsi({ cdb: bytes('00 00 00 00 00 00'), direction: 'none' }); // creates the I_T nexus
    xpt.lu.raiseUnitAttention(Asc.MODE_PARAMETERS_CHANGED);
    const r = await pass.scsi({ cdb: bytes('00 00 00 00 00 00'), direction: 'none' });
    expect(r.scsiStatus).toBe(CHECK_CONDITION);
    expect(r.senseData).toEqual({ key: 0x6, asc: 0x2a, ascq: 0x01 });
    expect((await pass.scsi({ cdb: bytes('00 00 00 00 00 00'), direction: 'none' })).scsiStatus).toBe(0);
    expect(xpt.issued).toHaveLength(3);
    await xpt.settle();
  });

  test.each([
    ['CAM_CMD_TIMEOUT', { status: CAM_CMD_TIMEOUT }, CAM_CMD_TIMEOUT | CAM_DEV_QFRZN, 0],
    ['CAM_REQUEUE_REQ', { status: CAM_REQUEUE_REQ }, CAM_REQUEUE_REQ | CAM_DEV_QFRZN, 0],
    ['SCSI BUSY', { status: CAM_SCSI_STATUS_ERROR, scsiStatus: BUSY }, CAM_SCSI_STATUS_ERROR | CAM_DEV_QFRZN, BUSY],
    [
      'NOT READY 04h/01h',
      { status: CAM_SCSI_STATUS_ERROR, scsiStatus: CHECK_CONDITION, sense: senseNotReady(Asc.LOGICAL_UNIT_IS_IN_PROCESS_OF_BECOMING_READY) },
      CAM_SCSI_STATUS_ERROR | CAM_DEV_QFRZN | CAM_AUTOSNS_VALID,
      CHECK_CONDITION,
    ],
  ])('%s comes back as is, once', async (_, inj, camStatus, scsiStatus) => {
    const { xpt, pass } = await setup();
    xpt.inject(inj);
    const r = await pass.scsi({ cdb: bytes('00 00 00 00 00 00'), direction: 'none' });
    expect({ camStatus: r.camStatus, scsiStatus: r.scsiStatus }).toEqual({ camStatus, scsiStatus });
    expect(xpt.issued).toHaveLength(1);
    await xpt.settle();
  });

  test('a UNIT ATTENTION injected with sense decodes to senseData', async () => {
    const { xpt, pass } = await setup();
    xpt.inject({ status: CAM_SCSI_STATUS_ERROR, scsiStatus: CHECK_CONDITION, sense: senseUnitAttention(Asc.POWER_ON_RESET_OR_BUS_DEVICE_RESET_OCCURRED) });
    const r = await pass.scsi({ cdb: bytes('00 00 00 00 00 00'), direction: 'none' });
    expect(r.senseData).toEqual({ key: 0x6, asc: 0x29, ascq: 0x00 });
    await xpt.settle();
  });

  test('WRITE(10) Data-Out reaches the disk', async () => {
    const { xpt, pass } = await setup();
    const data = new Uint8Array(512).map((_, i) => i & 0xff);
    const r = await pass.scsi({ cdb: bytes('2a 00 00 00 00 07 00 00 01 00'), direction: 'out', data });
    expect(r.camStatus).toBe(CAM_REQ_CMP);
    expect(r.resid).toBe(0);
    expect(hex(xpt.disk.peek(7n))).toBe(hex(data));
    await xpt.settle();
  });

  test('tag action, priority and timeout go into the CCB', async () => {
    const { xpt, pass } = await setup();
    await pass.scsi({ cdb: bytes('00 00 00 00 00 00'), direction: 'none', tagAction: 'ordered', priority: 0x300, timeoutMs: 1234 });
    await pass.scsi({ cdb: bytes('00 00 00 00 00 00'), direction: 'none', tagAction: 'head' });
    await pass.scsi({ cdb: bytes('00 00 00 00 00 00'), direction: 'none' });
    expect(xpt.issued.map((c) => [c.tagAction, c.priority, c.timeoutMs, c.retryCount])).toEqual([
      [0x22, 0x300, 1234, 0],
      [0x21, 0x480, 60_000, 0],
      [0x20, 0x480, 60_000, 0],
    ]);
    await xpt.settle();
  });

  test('commands sent together all run; each freeze is released', async () => {
    const { xpt, pass } = await setup();
    xpt.inject({ status: CAM_CMD_TIMEOUT, times: 5 });
    const rs = await Promise.all(Array.from({ length: 10 }, () => pass.scsi({ cdb: bytes('00 00 00 00 00 00'), direction: 'none' })));
    expect(rs.filter((r) => r.camStatus === (CAM_CMD_TIMEOUT | CAM_DEV_QFRZN))).toHaveLength(5);
    expect(rs.filter((r) => r.camStatus === CAM_REQ_CMP)).toHaveLength(5);
    expect(xpt.freezes).toBe(5);
    await tick();
    await xpt.settle();
  });
});

describe('pass: malformed requests throw RangeError', () => {
  const cdb = bytes('00 00 00 00 00 00');
  const bad: [string, unknown, RegExp][] = [
    ['empty CDB', { cdb: new Uint8Array(0), direction: 'none' }, /cdb must be a Uint8Array of 1\.\.32 bytes, got 0 bytes/],
    ['33-byte CDB', { cdb: new Uint8Array(MAX_CDB_LENGTH + 1), direction: 'none' }, /got 33 bytes/],
    ['CDB not bytes', { cdb: [0, 0, 0, 0, 0, 0], direction: 'none' }, /cdb must be a Uint8Array/],
    ['unknown direction', { cdb, direction: 'both' }, /direction must be 'in', 'out' or 'none', got 'both'/],
    ['out without data', { cdb, direction: 'out' }, /'out' needs data/],
    ['out with length', { cdb, direction: 'out', data: new Uint8Array(1), length: 1 }, /length .* only for direction 'in'/],
    ['in without length', { cdb, direction: 'in' }, /'in' needs length/],
    ['in with negative length', { cdb, direction: 'in', length: -1 }, /'in' needs length, an integer 0\.\.4294967295, or into, got -1/],
    ['in with fractional length', { cdb, direction: 'in', length: 1.5 }, /got 1\.5/],
    ['in with length 2^32', { cdb, direction: 'in', length: 2 ** 32 }, /got 4294967296/],
    ['in with data', { cdb, direction: 'in', length: 1, data: new Uint8Array(1) }, /data .* only for direction 'out'/],
    ['none with length', { cdb, direction: 'none', length: 0 }, /only for direction 'in'/],
    ['none with data', { cdb, direction: 'none', data: new Uint8Array(0) }, /only for direction 'out'/],
    ['unknown tag', { cdb, direction: 'none', tagAction: 'aca' }, /tagAction must be 'simple', 'ordered' or 'head', got 'aca'/],
    ['negative timeout', { cdb, direction: 'none', timeoutMs: -5 }, /timeoutMs must be an integer 0\.\.2147483647, got -5/],
    ['timeout past 2^31 - 1', { cdb, direction: 'none', timeoutMs: 2 ** 31 }, /got 2147483648/],
    ['fractional priority', { cdb, direction: 'none', priority: 0.5 }, /priority must be a non-negative integer, got 0\.5/],
  ];

  test.each(bad)('%s', async (_, req, message) => {
    const { xpt, pass } = await setup();
    expect(() => pass.scsi(req as ScsiRequest)).toThrow(RangeError);
    expect(() => pass.scsi(req as ScsiRequest)).toThrow(message);
    expect(xpt.issued).toHaveLength(0);
    // The periph still works afterwards.
    expect((await pass.scsi({ cdb, direction: 'none' })).camStatus).toBe(CAM_REQ_CMP);
  });

  test('limits: 1- and 32-byte CDBs, length 0 and empty Data-Out are accepted', async () => {
    const { xpt, pass } = await setup();
    // Unknown to the unit, but well-formed requests: the device answers.
    const r1 = await pass.scsi({ cdb: bytes('00'), direction: 'none' });
    expect(r1.scsiStatus).toBe(CHECK_CONDITION);
    const r32 = await pass.scsi({ cdb: new Uint8Array(32).fill(0x7f, 0, 1), direction: 'in', length: 0 });
    expect(r32.senseData?.key).toBe(0x5);
    const r0 = await pass.scsi({ cdb: bytes('2a 00 00 00 00 00 00 00 00 00'), direction: 'out', data: new Uint8Array(0) });
    expect(r0.camStatus).toBe(CAM_REQ_CMP);
    expect(xpt.issued).toHaveLength(3);
    await xpt.settle();
  });

  test('no device at the path', async () => {
    const xpt = await FakeXpt.create();
    expect(() => new PassPeriph(xpt, { bus: 0, target: 0, lun: 1 })).toThrow(/pass: no device at 0:0:1/);
  });
});
