// REPORT LUNS as the target port sees it, and the answers for a LUN the
// target does not have (SPC-5 §4.6.x, SAM-5 §5.9.x):
// INQUIRY reports PERIPHERAL QUALIFIER 011b / type 1Fh ("not capable of
// supporting a device here"), REPORT LUNS lists the LUNs that exist, REQUEST
// SENSE returns LOGICAL UNIT NOT SUPPORTED as data, and every other command
// ends CHECK CONDITION, ILLEGAL REQUEST, LOGICAL UNIT NOT SUPPORTED (25h/00h).
// A LUN whose device is gone (ScsiAnswer.lunGone) is answered the same way,
// but for INQUIRY's qualifier: 001b, type 00h, a direct-access device that is
// not connected now (SPC-5 §6.7.2), so that an initiator can still rescan.

import { ScsiOp } from '../scsi/opcodes.js';
import { ScsiStatus } from '../scsi/status.js';
import { reportLuns } from '../scsi/report-luns.js';
import { decodeInquiry } from '../scsi/cdb/inquiry.js';
import { decodeReportLuns } from '../scsi/cdb/report-luns.js';
import { decodeRequestSense } from '../scsi/cdb/misc.js';
import { INQUIRY_VERSION, PeripheralDeviceType, PeripheralQualifier } from '../scsi/inquiry.js';
import { encodeSense } from '../scsi/sense-codec.js';
import { Asc, senseIllegalRequest, type Decoded, type SenseData } from '../scsi/sense.js';
import { answeringTo, type LunCall, type LunPort, type ScsiAnswer } from './lun.js';

const NOT_SUPPORTED = encodeSense(senseIllegalRequest(Asc.LOGICAL_UNIT_NOT_SUPPORTED), 'fixed');
/** Standard INQUIRY data, 36 bytes (SPC-5 §6.7.2): qualifier 011b / type 1Fh, VERSION, RESPONSE DATA FORMAT 2, ADDITIONAL LENGTH 31. */
function inquiryData(qualifier: PeripheralQualifier, type: PeripheralDeviceType): Uint8Array {
  const d = new Uint8Array(36);
  d[0] = (qualifier << 5) | type;
  d[2] = INQUIRY_VERSION;
  d[3] = 0x02;
  d[4] = 31;
  return d;
}
const NO_DEVICE_INQUIRY = inquiryData(PeripheralQualifier.NOT_SUPPORTED, PeripheralDeviceType.UNKNOWN_OR_NO_DEVICE_TYPE);
/** The same, for a LUN whose direct-access device is gone: qualifier 001b, type 00h. */
const LOST_DEVICE_INQUIRY = inquiryData(PeripheralQualifier.NOT_CONNECTED, PeripheralDeviceType.DIRECT_ACCESS_BLOCK_DEVICE);
/** The commands a LUN whose device is gone answers as a missing one does (the rest keep the unit's 25h/00h). */
const ANSWERED_WHEN_GONE: ReadonlySet<number> = new Set([ScsiOp.INQUIRY, ScsiOp.REPORT_LUNS, ScsiOp.REQUEST_SENSE]);

const answer = (a: Omit<ScsiAnswer, 'aborted'>): ScsiAnswer => ({ ...a, aborted: false });
const fault = (s: SenseData): ScsiAnswer => answer({ status: ScsiStatus.CHECK_CONDITION, sense: encodeSense(s, 'fixed') });
const good = (bytes: Uint8Array, allocationLength: number): ScsiAnswer => answer({ status: ScsiStatus.GOOD, data: bytes.subarray(0, allocationLength) });
/** What a synthetic answer returns as its call: it has already finished, so there is nothing to abort. */
const FINISHED: LunCall = { abort: () => undefined };

/** The target's REPORT LUNS parameter data for a decoded CDB, or the CDB's fault. */
function lunList(luns: readonly number[], cdb: Uint8Array): Decoded<Uint8Array> {
  const d = decodeReportLuns(cdb);
  if (!d.ok) return d;
  const r = reportLuns(luns, d.value.selectReport);
  return r.ok ? { ok: true, value: r.value.subarray(0, d.value.allocationLength) } : r;
}

/**
 * A LunPort that lists the target's LUNs in REPORT LUNS (SAM-5 §5.x: the
 * inventory the initiator sees through this target port), whatever LUN
 * number the device server behind `port` believes it has. The device still
 * checks the CDB, unit attentions and reservations; only GOOD parameter data
 * is replaced, cut to the ALLOCATION LENGTH. Once the device is gone, INQUIRY,
 * REPORT LUNS and REQUEST SENSE get a missing LUN's answers.
 */
export function targetLunList(port: LunPort, luns: readonly number[]): LunPort {
  return {
    start(cmd) {
      if (!ANSWERED_WHEN_GONE.has(cmd.cdb[0] ?? -1)) return port.start(cmd);
      return port.start(
        answeringTo(cmd, (a) => {
          if (a.lunGone === true) {
            cmd.answered(missingLunAnswer(luns, cmd.cdb, LOST_DEVICE_INQUIRY));
            return;
          }
          if (cmd.cdb[0] !== ScsiOp.REPORT_LUNS || a.status !== ScsiStatus.GOOD || a.aborted) {
            cmd.answered(a);
            return;
          }
          const r = lunList(luns, cmd.cdb);
          cmd.answered(r.ok ? { ...a, data: r.value } : a);
        }),
      );
    },
  };
}

/** A LunPort that answers for a missing LUN; `luns` are the target's real LUNs, for REPORT LUNS. */
export function syntheticAnswer(luns: readonly number[]): LunPort {
  return {
    start(cmd) {
      cmd.answered(missingLunAnswer(luns, cmd.cdb, NO_DEVICE_INQUIRY));
      return FINISHED;
    },
  };
}

/** The answer for a LUN with no device (`inquiry`: its standard INQUIRY data). */
function missingLunAnswer(luns: readonly number[], cdb: Uint8Array, inquiry: Uint8Array): ScsiAnswer {
  switch (cdb[0] ?? -1) {
    case ScsiOp.INQUIRY: {
      // Only the standard data exists here; a VPD page of a missing LUN is LOGICAL UNIT NOT SUPPORTED.
      const d = decodeInquiry(cdb);
      if (!d.ok) return fault(d.fault);
      return d.value.evpd ? answer({ status: ScsiStatus.CHECK_CONDITION, sense: NOT_SUPPORTED }) : good(inquiry, d.value.allocationLength);
    }
    case ScsiOp.REQUEST_SENSE: {
      const d = decodeRequestSense(cdb);
      return d.ok ? good(NOT_SUPPORTED, d.value.allocationLength) : fault(d.fault);
    }
    case ScsiOp.REPORT_LUNS: {
      const r = lunList(luns, cdb);
      return r.ok ? answer({ status: ScsiStatus.GOOD, data: r.value }) : fault(r.fault);
    }
    default:
      return answer({ status: ScsiStatus.CHECK_CONDITION, sense: NOT_SUPPORTED });
  }
}
