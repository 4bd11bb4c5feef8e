// REPORT LUNS as the target port sees it, and the answers for a LUN the
// target does not have (SPC-5 §4.6.x, SAM-5 §5.9.x):
// INQUIRY reports PERIPHERAL QUALIFIER 011b / type 1Fh ("not capable of
// supporting a device here"), REPORT LUNS lists the LUNs that exist, REQUEST
// SENSE returns LOGICAL UNIT NOT SUPPORTED as data, and every other command
// ends CHECK CONDITION, ILLEGAL REQUEST, LOGICAL UNIT NOT SUPPORTED (25h/00h).

import { ScsiOp } from '../scsi/opcodes.js';
import { ScsiStatus } from '../scsi/status.js';
import { reportLuns } from '../scsi/report-luns.js';
import { encodeSense } from '../scsi/sense-codec.js';
import { Asc, senseIllegalRequest } from '../scsi/sense.js';
import type { LunPort, ScsiAnswer } from './lun.js';

const NOT_SUPPORTED = encodeSense(senseIllegalRequest(Asc.LOGICAL_UNIT_NOT_SUPPORTED), 'fixed');
/** Standard INQUIRY data, 36 bytes: byte 0 = 011b << 5 | 1Fh, VERSION 07h, RESPONSE DATA FORMAT 2, ADDITIONAL LENGTH 31. */
const NO_DEVICE_INQUIRY = (() => {
  const d = new Uint8Array(36);
  d[0] = (0b011 << 5) | 0x1f;
  d[2] = 0x07;
  d[3] = 0x02;
  d[4] = 31;
  return d;
})();

const check = (): ScsiAnswer => ({ status: ScsiStatus.CHECK_CONDITION, sense: NOT_SUPPORTED, aborted: false });

function allocation(cdb: Uint8Array): number {
  // INQUIRY / REQUEST SENSE: ALLOCATION LENGTH bytes 3..4 / byte 4; REPORT LUNS: bytes 6..9 (SPC-5 §6.7, §6.39, §6.33).
  if (cdb[0] === ScsiOp.REPORT_LUNS) return (((cdb[6] ?? 0) << 24) | ((cdb[7] ?? 0) << 16) | ((cdb[8] ?? 0) << 8) | (cdb[9] ?? 0)) >>> 0;
  if (cdb[0] === ScsiOp.INQUIRY) return ((cdb[3] ?? 0) << 8) | (cdb[4] ?? 0);
  return cdb[4] ?? 0;
}

/**
 * A LunPort that lists the target's LUNs in REPORT LUNS (SAM-5 §5.x: the
 * inventory the initiator sees through this target port), whatever LUN
 * number the device server behind `port` believes it has. The device still
 * checks the CDB, unit attentions and reservations; only GOOD parameter data
 * is replaced, cut to the ALLOCATION LENGTH.
 */
export function targetLunList(port: LunPort, luns: readonly number[]): LunPort {
  return {
    async scsi(cdb, direction, dataOut, length, tag, signal) {
      const a = await port.scsi(cdb, direction, dataOut, length, tag, signal);
      if (cdb[0] !== ScsiOp.REPORT_LUNS || a.status !== ScsiStatus.GOOD || a.aborted) return a;
      const r = reportLuns(luns, cdb[2] ?? 0);
      return r.ok ? { ...a, data: r.value.subarray(0, allocation(cdb)) } : a;
    },
  };
}

/** A LunPort that answers for a missing LUN; `luns` are the target's real LUNs, for REPORT LUNS. */
export function syntheticAnswer(luns: readonly number[]): LunPort {
  return {
    scsi(cdb) {
      const op = cdb[0];
      const data = (bytes: Uint8Array): Promise<ScsiAnswer> => Promise.resolve({ status: ScsiStatus.GOOD, data: bytes.subarray(0, allocation(cdb)), aborted: false });
      if (op === ScsiOp.INQUIRY && cdb.length >= 6 && ((cdb[1] ?? 0) & 1) === 0) return data(NO_DEVICE_INQUIRY);
      if (op === ScsiOp.REQUEST_SENSE && cdb.length >= 6) return data(NOT_SUPPORTED);
      if (op === ScsiOp.REPORT_LUNS && cdb.length >= 12) {
        const r = reportLuns(luns, cdb[2] ?? 0);
        return r.ok ? data(r.value) : Promise.resolve({ status: ScsiStatus.CHECK_CONDITION, sense: encodeSense(r.fault, 'fixed'), aborted: false });
      }
      return Promise.resolve(check());
    },
  };
}
