// answerOf: what a SCSI Response carries for each way CAM ends a command
// (RFC 7143 §11.4; SAM-5 status). Sense bytes are fixed format (SPC-5: response
// code 70h, SENSE KEY byte 2 bits 3..0, ADDITIONAL SENSE LENGTH byte 7 = 0Ah,
// ASC byte 12, ASCQ byte 13), written out from SPC-5's tables; CAM status
// words from FreeBSD cam.h.

import { describe, expect, test } from 'vitest';
import { answerOf } from '../../src/iscsi/lun.js';
import type { ScsiResult } from '../../src/cam/periph/request.js';
import { hex } from './hex.js';

const DEV_QFRZN = 0x40;
const result = (camStatus: number): ScsiResult => ({ camStatus, scsiStatus: 0, resid: 0 });
const senseHex = (s: Uint8Array | undefined): string | undefined => (s === undefined ? undefined : hex(s));

/** ABORTED COMMAND (0Bh), COMMAND TIMEOUT DURING PROCESSING DUE TO ERROR RECOVERY (2Eh/03h). */
const CUT_SHORT_BY_RECOVERY = '70 00 0b 00 00 00 00 0a 00 00 00 00 2e 03 00 00 00 00';
/** ILLEGAL REQUEST (05h), LOGICAL UNIT NOT SUPPORTED (25h/00h). */
const LUN_NOT_SUPPORTED = '70 00 05 00 00 00 00 0a 00 00 00 00 25 00 00 00 00 00';
/** ABORTED COMMAND (0Bh), COMMAND TIMEOUT DURING PROCESSING (2Eh/02h). */
const TIMED_OUT = '70 00 0b 00 00 00 00 0a 00 00 00 00 2e 02 00 00 00 00';

describe('answerOf', () => {
  test.each([
    ['CAM_BDR_SENT (the SIM reset the device under it)', 0x17],
    ['CAM_SCSI_BUS_RESET (the SIM reset the bus under it)', 0x0e],
    ['CAM_BDR_SENT with CAM_DEV_QFRZN', 0x17 | DEV_QFRZN],
  ])('%s: CHECK CONDITION, ABORTED COMMAND 2Eh/03h, answered', (_, cam) => {
    const a = answerOf(result(cam));
    expect({ status: a.status, sense: senseHex(a.sense), aborted: a.aborted, data: a.data }).toEqual({ status: 0x02, sense: CUT_SHORT_BY_RECOVERY, aborted: false, data: undefined });
  });

  test('CAM_CMD_TIMEOUT keeps COMMAND TIMEOUT DURING PROCESSING (2Eh/02h)', () => {
    const a = answerOf(result(0x0b));
    expect({ status: a.status, sense: senseHex(a.sense), aborted: a.aborted }).toEqual({ status: 0x02, sense: TIMED_OUT, aborted: false });
  });

  test('CAM_REQ_ABORTED (an abort someone asked for) still sends no response', () => {
    expect(answerOf(result(0x02))).toEqual({ status: 0x40, aborted: true });
  });

  test.each([
    ['CAM_DEV_NOT_THERE (the device was lost)', 0x08],
    ['CAM_SEL_TIMEOUT (the device did not answer selection)', 0x0a],
    ['CAM_PATH_INVALID (the bus was detached: the stack closed)', 0x07],
  ])('%s: CHECK CONDITION, ILLEGAL REQUEST 25h/00h, the LUN gone', (_, cam) => {
    const a = answerOf(result(cam));
    expect({ status: a.status, sense: senseHex(a.sense), aborted: a.aborted, lunGone: a.lunGone }).toEqual({ status: 0x02, sense: LUN_NOT_SUPPORTED, aborted: false, lunGone: true });
  });
});
