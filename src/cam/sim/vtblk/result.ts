// How the SBC emulator's answer becomes a completed XPT_SCSI_IO CCB (FreeBSD
// struct ccb_scsiio: status, scsi_status, sense_data, resid). Spec: SAM-5
// (status), SPC-5 (allocation length), FreeBSD cam_ccb.h.
//
// | emulator answer                         | ccb.status                         | data, resid                        |
// |-----------------------------------------|------------------------------------|------------------------------------|
// | GOOD, Data-In ≤ dxferLen                | CAM_REQ_CMP                        | dataIn, dxferLen − length          |
// | GOOD, Data-In > dxferLen (overrun)      | CAM_DATA_RUN_ERR                   | first dxferLen bytes, 0            |
// | GOOD, Data-Out command                  | CAM_REQ_CMP                        | dxferLen − bytes the command takes |
// | GOOD, PREEMPT AND ABORT                 | CAM_REQ_CMP, `preempted` named     | as a Data-Out command              |
// | CHECK CONDITION                         | CAM_SCSI_STATUS_ERROR | AUTOSNS_VALID | none, dxferLen                   |
// | any other status (BUSY, TASK SET FULL…) | CAM_SCSI_STATUS_ERROR              | none, dxferLen                     |
//
// Overrun: the ALLOCATION LENGTH or TRANSFER LENGTH in the CDB asked for more
// than the CCB's buffer holds. A real HBA moves what fits and reports a data
// overrun; reporting CAM_REQ_CMP would hide lost data (a READ whose buffer is
// one block short), so the CCB says CAM_DATA_RUN_ERR with the SCSI status the
// unit returned and the bytes that fit. A Data-Out Buffer longer than the
// command takes is not an error: the unit asks for fewer bytes (an underrun,
// counted in resid). One shorter than the command takes reaches the emulator
// as it is and is answered 0Eh/03h. Data-In lands in the issuer's buffer
// when the CCB has one (data_ptr); `dataIn` is then a view of it. A PREEMPT
// AND ABORT's `preempted` is set here on GOOD, and by the SIM as the command
// preempts (SbcEmulator.onPreempted), so that it stays whatever the CCB
// completes with.

import type { SbcResult } from '../../../scsi/sbc/execute-api.js';
import { ScsiStatus } from '../../../scsi/status.js';
import { CAM_AUTOSNS_VALID, CamDir, CamStatus, CcbFlag, type ScsiIoCcb } from '../../xpt/sim-api.js';

/** No Data-In, for commands without a Data-In Buffer (only its length is looked at). */
const NO_DATA = new Uint8Array(0);

/**
 * The first `moved` bytes of `data` as the CCB's Data-In: in the issuer's
 * buffer when it supplied one (copied there unless the emulator already
 * transferred into it), else `data` itself.
 */
function intoDataPtr(ptr: Uint8Array | undefined, data: Uint8Array, moved: number): Uint8Array {
  if (ptr === undefined) return moved === data.length ? data : data.subarray(0, moved);
  if (data !== ptr && (data.buffer !== ptr.buffer || data.byteOffset !== ptr.byteOffset)) ptr.set(data.subarray(0, moved));
  return moved === ptr.length ? ptr : ptr.subarray(0, moved);
}

/** Sets a CCB's outcome without SCSI data: recovery, ring full, device gone. */
export function setCamOutcome(ccb: ScsiIoCcb, status: number, scsiStatus: number = ScsiStatus.GOOD): void {
  ccb.status = status;
  ccb.scsiStatus = scsiStatus;
  ccb.dataIn = undefined;
  ccb.resid = ccb.dxferLen;
  ccb.sense = undefined;
  ccb.senseData = undefined;
}

/**
 * Fills `ccb` from the emulator's answer (table above). `dataOutTaken` is the
 * Data-Out length the command asked for (SbcEmulator.dataOutLength).
 */
export function setScsiOutcome(ccb: ScsiIoCcb, r: SbcResult, dataOutTaken: number): void {
  const dir = ccb.flags & CcbFlag.DIR_MASK;
  if (r.status === ScsiStatus.CHECK_CONDITION && r.sense !== undefined) {
    setCamOutcome(ccb, CamStatus.SCSI_STATUS_ERROR | CAM_AUTOSNS_VALID, r.status);
    ccb.sense = r.sense;
    ccb.senseData = r.senseData;
    return;
  }
  if (r.status !== ScsiStatus.GOOD && r.status !== ScsiStatus.CONDITION_MET) {
    setCamOutcome(ccb, CamStatus.SCSI_STATUS_ERROR, r.status);
    return;
  }
  setCamOutcome(ccb, CamStatus.REQ_CMP, r.status);
  if (r.preempted !== undefined) ccb.preempted = r.preempted;
  // A fresh empty buffer only where it is handed out (Data-In); every WRITE would allocate one otherwise.
  const data = r.data ?? (dir === CamDir.IN ? new Uint8Array(0) : NO_DATA);
  if (dir === CamDir.IN) {
    const moved = Math.min(data.length, ccb.dxferLen);
    if (data.length > ccb.dxferLen) ccb.status = CamStatus.DATA_RUN_ERR;
    ccb.dataIn = intoDataPtr(ccb.dataPtr, data, moved);
    ccb.resid = ccb.dxferLen - moved;
    return;
  }
  // Data-In with no Data-In Buffer to put it in: every byte overran.
  if (data.length > 0) ccb.status = CamStatus.DATA_RUN_ERR;
  ccb.resid = dir === CamDir.OUT ? ccb.dxferLen - Math.min(ccb.dxferLen, dataOutTaken) : ccb.dxferLen;
}
