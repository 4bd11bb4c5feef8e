// da recovery for a command that must not run twice (COMPARE AND WRITE) after
// a completion that leaves it open whether the command acted, in whole or in
// part: one CCB, and the caller gets a CamError with the real status, sense
// and the reason; WRITE (10) after the same completion is retried and runs.
// After a completion that says the command was not executed, COMPARE AND
// WRITE is retried and runs as well. (CAM_CMD_TIMEOUT, CAM_SCSI_BUS_RESET and
// CAM_BDR_SENT are in da-recovery.test.ts.) Statuses are written out: CAM
// from FreeBSD cam.h, SCSI status from SAM-5, sense from SPC-5.

import { describe, expect, test } from 'vitest';
import { DaPeriph } from '../../../src/cam/periph/da.js';
import { Asc, sense, senseNotReady, SenseKey } from '../../../src/scsi/sense.js';
import { FakeXpt, PATH, bytes, checkCondition, type Injection } from './fake-xpt.js';
import { camErrorOf } from '../../stack/fault-rig.js';

const CAM_REQ_CMP = 0x01;
const CAM_REQ_CMP_ERR = 0x04;
const CAM_SEL_TIMEOUT = 0x0a;
const CAM_SCSI_STATUS_ERROR = 0x0c;
const CAM_MSG_REJECT_REC = 0x0d;
const CAM_UNCOR_PARITY = 0x0f;
const CAM_AUTOSENSE_FAIL = 0x10;
const CAM_DATA_RUN_ERR = 0x12;
const CAM_UNEXP_BUSFREE = 0x13;
const CAM_SCSI_IT_NEXUS_LOST = 0x1d;
const CAM_DEV_QFRZN = 0x40;
const CAM_AUTOSNS_VALID = 0x80;
const CHECK_CONDITION = 0x02;
const TASK_ABORTED = 0x40;

/** COMPARE AND WRITE (SBC-4): 89h, LBA 0, NUMBER OF LOGICAL BLOCKS (byte 13) 1. */
const CAW = bytes('89 00 00 00 00 00 00 00 00 00 00 00 00 01 00 00');
/** WRITE (10) (SBC-4): 2Ah, LBA 0, TRANSFER LENGTH 1. */
const WRITE_10 = bytes('2a 00 00 00 00 00 00 00 01 00');
const BS = 512;

async function setup(): Promise<{ xpt: FakeXpt; da: DaPeriph }> {
  const xpt = await FakeXpt.create();
  return { xpt, da: new DaPeriph(xpt, PATH, { delays: { notReady: 1, busy: 1, queueFull: 1 } }) };
}

/** COMPARE AND WRITE of LBA 0 expecting zeros (what a fresh disk holds) and writing `tag`. */
const caw = (da: DaPeriph, tag = 0xa5) => {
  const out = new Uint8Array(2 * BS);
  out.fill(tag, BS);
  return da.scsi({ cdb: CAW, direction: 'out', data: out });
};
const write10 = (da: DaPeriph) => da.scsi({ cdb: WRITE_10, direction: 'out', data: new Uint8Array(BS).fill(0x5a) });



const WHY = ': it may have acted, and executing it again would not end as executing it once';

describe('may have acted: COMPARE AND WRITE fails at once with its real status; WRITE (10) is retried', () => {
  // [condition, injection, the row's reason]
  const rows: [string, Injection, string][] = [
    ['CAM_REQ_CMP_ERR', { status: CAM_REQ_CMP_ERR }, 'transport error'],
    ['CAM_UNEXP_BUSFREE', { status: CAM_UNEXP_BUSFREE }, 'transport error'],
    ['CAM_UNCOR_PARITY', { status: CAM_UNCOR_PARITY }, 'transport error'],
    ['CAM_DATA_RUN_ERR', { status: CAM_DATA_RUN_ERR }, 'transport error'],
    ['CAM_AUTOSENSE_FAIL', { status: CAM_AUTOSENSE_FAIL }, 'transport error'],
    ['CAM_SCSI_IT_NEXUS_LOST', { status: CAM_SCSI_IT_NEXUS_LOST }, 'transport error'],
    ['unlisted CAM status (CAM_MSG_REJECT_REC)', { status: CAM_MSG_REJECT_REC }, 'transport error'],
    ['TASK ABORTED', { status: CAM_SCSI_STATUS_ERROR, scsiStatus: TASK_ABORTED }, 'task aborted'],
    ['CHECK CONDITION without autosense', { status: CAM_SCSI_STATUS_ERROR, scsiStatus: CHECK_CONDITION }, 'check condition without sense'],
    ['MEDIUM ERROR 0Ch/00h', checkCondition({ ...sense(SenseKey.MEDIUM_ERROR, Asc.WRITE_ERROR), information: 0n }), 'medium error'],
    ['HARDWARE ERROR 44h/00h', checkCondition(sense(SenseKey.HARDWARE_ERROR, Asc.INTERNAL_TARGET_FAILURE)), 'hardware error'],
    ['ABORTED COMMAND 4Bh/00h', checkCondition(sense(SenseKey.ABORTED_COMMAND, Asc.DATA_PHASE_ERROR)), 'aborted command'],
  ];

  test.each(rows)('%s', async (_, inj, reason) => {
    const { xpt, da } = await setup();
    xpt.inject(inj);
    const e = await camErrorOf(caw(da));
    const withSense = inj.sense === undefined ? 0 : CAM_AUTOSNS_VALID;
    expect({ cam: e.camStatus, status: e.status, scsi: e.scsiStatus, sense: e.senseData, retries: e.retries, reason: e.reason }).toEqual({
      cam: inj.status,
      status: inj.status | CAM_DEV_QFRZN | withSense,
      scsi: inj.scsiStatus ?? 0,
      sense: inj.sense,
      retries: 0,
      reason: reason + WHY,
    });
    expect(xpt.issued).toHaveLength(1);
    // Nothing ran it: the disk still holds zeros.
    expect(xpt.disk.peek(0n).every((b) => b === 0)).toBe(true);
    await xpt.settle();

    const w = await setup();
    w.xpt.inject(inj);
    expect((await write10(w.da)).camStatus).toBe(CAM_REQ_CMP);
    expect(w.xpt.issued).toHaveLength(2);
    await w.xpt.settle();
  });

  test('the message says what happened and why it was not retried', async () => {
    const { xpt, da } = await setup();
    xpt.inject({ status: CAM_SCSI_STATUS_ERROR, scsiStatus: TASK_ABORTED });
    const e = await camErrorOf(caw(da));
    expect(e.message).toBe(`COMPARE AND WRITE failed (task aborted${WHY}): CAM_SCSI_STATUS_ERROR|CAM_DEV_QFRZN, TASK ABORTED`);
    await xpt.settle();
  });
});

describe('not executed: COMPARE AND WRITE is retried and runs', () => {
  // [condition, injection, CCBs issued: the failed one, START STOP UNIT where asked for, the retry]
  const rows: [string, Injection, number][] = [
    ['CAM_SEL_TIMEOUT', { status: CAM_SEL_TIMEOUT }, 2],
    ['UNIT ATTENTION 29h/00h', checkCondition(sense(SenseKey.UNIT_ATTENTION, Asc.POWER_ON_RESET_OR_BUS_DEVICE_RESET_OCCURRED)), 2],
    ['NOT READY 04h/01h', checkCondition(senseNotReady(Asc.LOGICAL_UNIT_IS_IN_PROCESS_OF_BECOMING_READY)), 2],
    ['NOT READY 04h/02h', checkCondition(senseNotReady(Asc.LOGICAL_UNIT_NOT_READY_INITIALIZING_COMMAND_REQUIRED)), 3],
    ['deferred MEDIUM ERROR', checkCondition({ ...sense(SenseKey.MEDIUM_ERROR, Asc.WRITE_ERROR), deferred: true }), 2],
  ];

  test.each(rows)('%s', async (_, inj, issued) => {
    const { xpt, da } = await setup();
    xpt.inject({ ...inj, match: (c) => c.cdb[0] === 0x89 });
    expect((await caw(da, 0x3c)).camStatus).toBe(CAM_REQ_CMP);
    expect(xpt.issued).toHaveLength(issued);
    expect(xpt.issued.filter((c) => c.cdb[0] === 0x89)).toHaveLength(2);
    // It ran once: the block holds what it wrote.
    expect(xpt.disk.peek(0n).every((b) => b === 0x3c)).toBe(true);
    await xpt.settle();
  });
});
