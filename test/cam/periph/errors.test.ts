// The recovery table as a pure function (decideRecovery), the typed error's
// fields and words, and READ CAPACITY parsing. Status values are FreeBSD
// cam.h's and SAM-5's, sense codes SPC-5's, written out here.

import { describe, expect, test } from 'vitest';
import { CamError, commandName, decideRecovery, scsiStatusName, type Recovery } from '../../../src/cam/periph/errors.js';
import { parseReadCapacity10, parseReadCapacity16 } from '../../../src/cam/periph/capacity.js';
import { newScsiIo, CamDir, type ScsiIoCcb } from '../../../src/cam/xpt/periph-api.js';
import { encodeSense } from '../../../src/scsi/sense-codec.js';
import type { SenseData } from '../../../src/scsi/sense.js';
import { bytes } from './fake-xpt.js';

const AUTOSNS = 0x80;

function ccb(status: number, scsiStatus = 0, s?: SenseData, opts: { raw?: boolean } = {}): ScsiIoCcb {
  const c = newScsiIo({ path: { bus: 0, target: 0, lun: 0 }, cdb: bytes('28 00 00 00 00 05 00 00 01 00'), dir: CamDir.IN, dataInLength: 512 });
  c.status = status;
  c.scsiStatus = scsiStatus;
  if (s !== undefined) {
    c.status |= AUTOSNS;
    c.sense = encodeSense(s, 'fixed');
    if (opts.raw !== true) c.senseData = s;
  }
  return c;
}

type Want = Pick<Recovery, 'action' | 'budget' | 'delay'> & Partial<Pick<Recovery, 'unitAttention' | 'reprobe'>>;
const cc = (key: number, asc: number, ascq: number, more: Partial<SenseData> = {}): ScsiIoCcb => ccb(0x0c, 0x02, { key: key as SenseData['key'], asc, ascq, ...more });

describe('decideRecovery', () => {
  const rows: [string, ScsiIoCcb, Want][] = [
    ['CAM_REQ_CMP', ccb(0x01), { action: 'complete', budget: 'none', delay: 'none' }],
    ['CAM_REQUEUE_REQ', ccb(0x1b), { action: 'retry', budget: 'requeue', delay: 'none' }],
    ['CAM_BUSY', ccb(0x05), { action: 'retry', budget: 'requeue', delay: 'busy' }],
    ['CAM_SCSI_BUSY', ccb(0x3f), { action: 'retry', budget: 'requeue', delay: 'busy' }],
    ['CAM_RESRC_UNAVAIL', ccb(0x34), { action: 'retry', budget: 'requeue', delay: 'busy' }],
    ['CAM_CMD_TIMEOUT', ccb(0x0b), { action: 'retry', budget: 'retry', delay: 'none' }],
    ['CAM_REQ_CMP_ERR', ccb(0x04), { action: 'retry', budget: 'retry', delay: 'none' }],
    ['CAM_SEL_TIMEOUT', ccb(0x0a), { action: 'retry', budget: 'retry', delay: 'none' }],
    ['unlisted CAM status (CAM_MSG_REJECT_REC)', ccb(0x0d), { action: 'retry', budget: 'retry', delay: 'none' }],
    ['CAM_DEV_NOT_THERE', ccb(0x08), { action: 'fail', budget: 'none', delay: 'none' }],
    ['CAM_PATH_INVALID', ccb(0x07), { action: 'fail', budget: 'none', delay: 'none' }],
    ['CAM_REQ_INVALID', ccb(0x06), { action: 'fail', budget: 'none', delay: 'none' }],
    ['CAM_REQ_TOO_BIG', ccb(0x1a), { action: 'fail', budget: 'none', delay: 'none' }],
    ['CAM_REQ_ABORTED', ccb(0x02), { action: 'fail', budget: 'none', delay: 'none' }],
    ['CAM_UNREC_HBA_ERROR', ccb(0x19), { action: 'fail', budget: 'none', delay: 'none' }],
    ['GOOD under SCSI_STATUS_ERROR', ccb(0x0c, 0x00), { action: 'complete', budget: 'none', delay: 'none' }],
    ['BUSY', ccb(0x0c, 0x08), { action: 'retry', budget: 'requeue', delay: 'busy' }],
    ['TASK SET FULL', ccb(0x0c, 0x28), { action: 'retry', budget: 'requeue', delay: 'queue-full' }],
    ['TASK ABORTED', ccb(0x0c, 0x40), { action: 'retry', budget: 'retry', delay: 'none' }],
    ['RESERVATION CONFLICT', ccb(0x0c, 0x18), { action: 'fail', budget: 'none', delay: 'none' }],
    ['ACA ACTIVE', ccb(0x0c, 0x30), { action: 'fail', budget: 'none', delay: 'none' }],
    ['unknown SCSI status 0x22', ccb(0x0c, 0x22), { action: 'fail', budget: 'none', delay: 'none' }],
    ['CHECK CONDITION, no autosense', ccb(0x0c, 0x02), { action: 'retry', budget: 'retry', delay: 'none' }],
    ['sense without CAM_AUTOSNS_VALID is ignored', { ...cc(0x05, 0x24, 0x00), status: 0x0c }, { action: 'retry', budget: 'retry', delay: 'none' }],
    ['NO SENSE', cc(0x0, 0x00, 0x00), { action: 'complete', budget: 'none', delay: 'none' }],
    ['RECOVERED ERROR', cc(0x1, 0x17, 0x01), { action: 'complete', budget: 'none', delay: 'none' }],
    ['NOT READY 04h/00h', cc(0x2, 0x04, 0x00), { action: 'retry', budget: 'retry', delay: 'not-ready' }],
    ['NOT READY 04h/01h', cc(0x2, 0x04, 0x01), { action: 'retry', budget: 'retry', delay: 'not-ready' }],
    ['NOT READY 04h/02h', cc(0x2, 0x04, 0x02), { action: 'start-unit', budget: 'retry', delay: 'none' }],
    ['NOT READY 04h/03h', cc(0x2, 0x04, 0x03), { action: 'fail', budget: 'none', delay: 'none' }],
    ['NOT READY 3Ah/02h', cc(0x2, 0x3a, 0x02), { action: 'fail', budget: 'none', delay: 'none' }],
    ['MEDIUM ERROR', cc(0x3, 0x11, 0x00, { information: 5n }), { action: 'retry', budget: 'retry', delay: 'none' }],
    ['HARDWARE ERROR', cc(0x4, 0x44, 0x00), { action: 'retry', budget: 'retry', delay: 'none' }],
    ['ILLEGAL REQUEST', cc(0x5, 0x21, 0x00), { action: 'fail', budget: 'none', delay: 'none' }],
    ['UNIT ATTENTION 29h/00h', cc(0x6, 0x29, 0x00), { action: 'retry', budget: 'retry', delay: 'none', unitAttention: true, reprobe: false }],
    ['UNIT ATTENTION 2Ah/09h', cc(0x6, 0x2a, 0x09), { action: 'retry', budget: 'retry', delay: 'none', unitAttention: true, reprobe: true }],
    ['DATA PROTECT', cc(0x7, 0x27, 0x00), { action: 'fail', budget: 'none', delay: 'none' }],
    ['BLANK CHECK', cc(0x8, 0x00, 0x00), { action: 'fail', budget: 'none', delay: 'none' }],
    ['ABORTED COMMAND', cc(0xb, 0x4b, 0x00), { action: 'retry', budget: 'retry', delay: 'none' }],
    ['MISCOMPARE', cc(0xe, 0x1d, 0x00), { action: 'fail', budget: 'none', delay: 'none' }],
    ['deferred MEDIUM ERROR', cc(0x3, 0x0c, 0x00, { deferred: true }), { action: 'retry', budget: 'retry', delay: 'none', unitAttention: false }],
  ];

  test.each(rows)('%s', (_, c, want) => {
    expect(decideRecovery(c)).toMatchObject(want);
  });

  test('sense bytes are decoded when the SIM gave no senseData', () => {
    const c = ccb(0x0c, 0x02, { key: 0x6, asc: 0x2a, ascq: 0x09 }, { raw: true });
    expect(c.senseData).toBeUndefined();
    expect(decideRecovery(c)).toMatchObject({ reprobe: true, unitAttention: true });
  });
});

describe('decideRecovery: a command that must not run twice', () => {
  // COMPARE AND WRITE (SBC-4): 89h, NUMBER OF LOGICAL BLOCKS (byte 13) 1. PERSISTENT RESERVE OUT (SPC-5) REGISTER:
  // 5Fh, service action 00h, PARAMETER LIST LENGTH (bytes 5..8) 24. EXTENDED COPY (LID1) (SPC-5): 83h, service action
  // 00h, LIST LENGTH (bytes 10..13) 20h. SANITIZE (SBC-4) BLOCK ERASE: 48h, service action 02h. READ (10) and WRITE (10)
  // (SBC-4) of LBA 5, 1 block.
  const CAW = bytes('89 00 00 00 00 00 00 00 00 05 00 00 00 01 00 00');
  const PROUT_REGISTER = bytes('5f 00 00 00 00 00 00 00 18 00');
  const EXTENDED_COPY = bytes('83 00 00 00 00 00 00 00 00 00 00 00 00 20 00 00');
  const SANITIZE_BLOCK_ERASE = bytes('48 02 00 00 00 00 00 00 00 00');
  const ONCE = [CAW, PROUT_REGISTER, EXTENDED_COPY, SANITIZE_BLOCK_ERASE];
  const READ = bytes('28 00 00 00 00 05 00 00 01 00');
  const WRITE = bytes('2a 00 00 00 00 05 00 00 01 00');
  const with_ = (c: ScsiIoCcb, cdb: Uint8Array): ScsiIoCcb => ({ ...c, cdb });
  const FAIL = { action: 'fail', budget: 'none', delay: 'none' } as const;
  const RETRY = { action: 'retry', budget: 'retry', delay: 'none' } as const;
  const WHY = ': it may have acted, and executing it again would not end as executing it once';

  // [condition, completed CCB, the reason of the row]. CAM statuses from FreeBSD cam.h; SCSI statuses from SAM-5.
  const mayHaveActed: [string, ScsiIoCcb, string][] = [
    ['CAM_CMD_TIMEOUT', ccb(0x0b), 'command timed out'],
    ['CAM_SCSI_BUS_RESET', ccb(0x0e), 'cut short by a bus reset'],
    ['CAM_BDR_SENT', ccb(0x17), 'cut short by a bus device reset'],
    ['CAM_REQ_CMP_ERR', ccb(0x04), 'transport error'],
    ['CAM_UNEXP_BUSFREE', ccb(0x13), 'transport error'],
    ['CAM_UNCOR_PARITY', ccb(0x0f), 'transport error'],
    ['CAM_DATA_RUN_ERR', ccb(0x12), 'transport error'],
    ['CAM_AUTOSENSE_FAIL', ccb(0x10), 'transport error'],
    ['CAM_SCSI_IT_NEXUS_LOST', ccb(0x1d), 'transport error'],
    ['unlisted CAM status (CAM_MSG_REJECT_REC)', ccb(0x0d), 'transport error'],
    ['TASK ABORTED', ccb(0x0c, 0x40), 'task aborted'],
    ['CHECK CONDITION without autosense', ccb(0x0c, 0x02), 'check condition without sense'],
    ['MEDIUM ERROR 0Ch/00h', cc(0x3, 0x0c, 0x00, { information: 5n }), 'medium error'],
    ['HARDWARE ERROR 44h/00h', cc(0x4, 0x44, 0x00), 'hardware error'],
    ['ABORTED COMMAND 4Bh/00h', cc(0xb, 0x4b, 0x00), 'aborted command'],
    ['ABORTED COMMAND 2Eh/02h', cc(0xb, 0x2e, 0x02), 'aborted command'],
  ];

  test.each(mayHaveActed)('%s: COMPARE AND WRITE, PERSISTENT RESERVE OUT, EXTENDED COPY, SANITIZE fail; READ and WRITE are retried', (_, c, reason) => {
    for (const cdb of ONCE) expect(decideRecovery(with_(c, cdb))).toMatchObject({ ...FAIL, reason: reason + WHY });
    for (const cdb of [READ, WRITE]) expect(decideRecovery(with_(c, cdb))).toMatchObject({ ...RETRY, reason });
  });

  // [condition, completed CCB, what every command gets]: the command was not executed, so a retry is safe.
  const notExecuted: [string, ScsiIoCcb, Want][] = [
    ['CAM_SEL_TIMEOUT', ccb(0x0a), RETRY],
    ['CAM_REQUEUE_REQ', ccb(0x1b), { action: 'retry', budget: 'requeue', delay: 'none' }],
    ['CAM_BUSY', ccb(0x05), { action: 'retry', budget: 'requeue', delay: 'busy' }],
    ['CAM_SCSI_BUSY', ccb(0x3f), { action: 'retry', budget: 'requeue', delay: 'busy' }],
    ['CAM_RESRC_UNAVAIL', ccb(0x34), { action: 'retry', budget: 'requeue', delay: 'busy' }],
    ['SCSI BUSY', ccb(0x0c, 0x08), { action: 'retry', budget: 'requeue', delay: 'busy' }],
    ['TASK SET FULL', ccb(0x0c, 0x28), { action: 'retry', budget: 'requeue', delay: 'queue-full' }],
    ['UNIT ATTENTION 29h/00h', cc(0x6, 0x29, 0x00), { ...RETRY, unitAttention: true }],
    ['UNIT ATTENTION 2Ah/09h', cc(0x6, 0x2a, 0x09), { ...RETRY, unitAttention: true, reprobe: true }],
    ['NOT READY 04h/01h', cc(0x2, 0x04, 0x01), { action: 'retry', budget: 'retry', delay: 'not-ready' }],
    ['NOT READY 04h/02h', cc(0x2, 0x04, 0x02), { action: 'start-unit', budget: 'retry', delay: 'none' }],
    ['deferred MEDIUM ERROR', cc(0x3, 0x0c, 0x00, { deferred: true }), RETRY],
  ];

  test.each(notExecuted)('%s: not executed, so retried for COMPARE AND WRITE and the others too', (_, c, want) => {
    for (const cdb of [...ONCE, READ]) {
      const r = decideRecovery(with_(c, cdb));
      expect(r).toMatchObject(want);
      expect(r.once).toBeUndefined();
    }
  });

  test('rows that fail anyway fail alike', () => {
    for (const c of [ccb(0x0c, 0x18), cc(0xe, 0x1d, 0x00), ccb(0x02)]) {
      expect(decideRecovery(with_(c, CAW))).toBe(decideRecovery(with_(c, READ)));
    }
  });

  test('a CDB the command table does not know is retried: the device server rejects it without acting', () => {
    // Operation code FFh (vendor specific), and COMPARE AND WRITE cut to 15 bytes.
    for (const cdb of [bytes('ff 00 00 00 00 00'), CAW.subarray(0, 15)]) expect(decideRecovery(with_(ccb(0x0c, 0x40), cdb))).toMatchObject(RETRY);
  });
});

describe('CamError', () => {
  test('fields and message from a CCB', () => {
    const c = cc(0x3, 0x11, 0x00, { information: 0x1234n });
    c.status |= 0x40;
    const e = CamError.fromCcb(c, 'retries exhausted: medium error', 4);
    expect(e).toBeInstanceOf(Error);
    expect(e.name).toBe('CamError');
    expect(e.camStatus).toBe(0x0c);
    expect(e.status).toBe(0xcc);
    expect(e.scsiStatus).toBe(0x02);
    expect(e.lba).toBe(0x1234n);
    expect(e.sense?.length).toBe(18);
    expect(e.cdb?.[0]).toBe(0x28);
    expect(e.retries).toBe(4);
    expect(e.message).toBe(
      'READ(10) failed (retries exhausted: medium error): CAM_SCSI_STATUS_ERROR|CAM_DEV_QFRZN|CAM_AUTOSNS_VALID, CHECK CONDITION, ' +
        'MEDIUM ERROR: UNRECOVERED READ ERROR (11h/00h), information 0x1234, after 4 retries',
    );
  });

  test('INFORMATION is the LBA only for MEDIUM, HARDWARE and RECOVERED ERROR', () => {
    expect(CamError.fromCcb(cc(0x4, 0x44, 0x00, { information: 7n }), 'x', 0).lba).toBe(7n);
    expect(CamError.fromCcb(cc(0xe, 0x1d, 0x00, { information: 7n }), 'x', 0).lba).toBeUndefined();
    expect(CamError.fromCcb(cc(0x3, 0x11, 0x00), 'x', 0).lba).toBeUndefined();
  });

  test('without sense: no sense fields, no SCSI status words', () => {
    const e = CamError.fromCcb(ccb(0x08), 'device is not there', 0);
    expect(e.sense).toBeUndefined();
    expect(e.senseData).toBeUndefined();
    expect(e.message).toBe('READ(10) failed (device is not there): CAM_DEV_NOT_THERE');
  });

  test('a cause is kept', () => {
    const cause = new Error('inner');
    expect(CamError.fromCcb(ccb(0x0b), 'x', 1, cause).cause).toBe(cause);
  });
});

describe('names', () => {
  test.each([
    ['28 00 00 00 00 00 00 00 01 00', 'READ(10)'],
    ['93 00 00 00 00 00 00 00 00 00 00 00 00 01 00 00', 'WRITE SAME(16)'],
    ['9e 10 00 00 00 00 00 00 00 00 00 00 00 20 00 00', 'READ CAPACITY(16)'],
    ['35 00 00 00 00 00 00 00 00 00', 'SYNCHRONIZE CACHE(10)'],
    ['00 00 00 00 00 00', 'TEST UNIT READY'],
    ['ff', 'opcode 0xff'],
  ])('%s is %s', (cdb, name) => {
    expect(commandName(bytes(cdb))).toBe(name);
  });

  test('SCSI status names', () => {
    expect(scsiStatusName(0x28)).toBe('TASK SET FULL');
    expect(scsiStatusName(0x22)).toBe('SCSI status 0x22');
  });
});

describe('READ CAPACITY data', () => {
  test('(16): last LBA + 1, block length, exponent, LBPME, LBPRZ', () => {
    // RETURNED LOGICAL BLOCK ADDRESS 3FFh, LOGICAL BLOCK LENGTH 200h, RC BASIS 01b, exponent 3, LBPME|LBPRZ.
    const d = bytes('00 00 00 00 00 00 03 ff 00 00 02 00 10 03 c0 00' + ' 00'.repeat(16));
    expect(parseReadCapacity16(d)).toEqual({ blocks: 1024n, blockSize: 512, physicalBlockExp: 3, lbpme: true, lbprz: true });
    expect(parseReadCapacity16(bytes('ff ff ff ff ff ff ff fe 00 00 10 00 00 00 80 00'))).toEqual({
      blocks: 0xffff_ffff_ffff_ffffn,
      blockSize: 4096,
      physicalBlockExp: 0,
      lbpme: true,
      lbprz: false,
    });
    expect(parseReadCapacity16(d.subarray(0, 15))).toBeUndefined();
    expect(parseReadCapacity16(new Uint8Array(32))).toBeUndefined(); // block length 0
  });

  test('(10)', () => {
    expect(parseReadCapacity10(bytes('00 00 03 ff 00 00 02 00'))).toEqual({ blocks: 1024n, blockSize: 512, physicalBlockExp: 0, lbpme: false, lbprz: false });
    expect(parseReadCapacity10(bytes('00 00 03 ff 00 00 02'))).toBeUndefined();
  });
});
