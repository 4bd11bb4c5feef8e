// CAM status codes, numbered as FreeBSD's cam.h (cam_status) so that people
// who know CAM can read traces. The low six bits are the status; DEV_QFRZN and
// AUTOSNS_VALID are flags OR'ed on top.

export const CamStatus = {
  REQ_INPROG: 0x00,
  REQ_CMP: 0x01,
  REQ_ABORTED: 0x02,
  UA_ABORT: 0x03,
  REQ_CMP_ERR: 0x04,
  BUSY: 0x05,
  REQ_INVALID: 0x06,
  PATH_INVALID: 0x07,
  DEV_NOT_THERE: 0x08,
  UA_TERMIO: 0x09,
  SEL_TIMEOUT: 0x0a,
  CMD_TIMEOUT: 0x0b,
  SCSI_STATUS_ERROR: 0x0c,
  MSG_REJECT_REC: 0x0d,
  SCSI_BUS_RESET: 0x0e,
  UNCOR_PARITY: 0x0f,
  AUTOSENSE_FAIL: 0x10,
  NO_HBA: 0x11,
  DATA_RUN_ERR: 0x12,
  UNEXP_BUSFREE: 0x13,
  SEQUENCE_FAIL: 0x14,
  CCB_LEN_ERR: 0x15,
  PROVIDE_FAIL: 0x16,
  BDR_SENT: 0x17,
  REQ_TERMIO: 0x18,
  UNREC_HBA_ERROR: 0x19,
  REQ_TOO_BIG: 0x1a,
  REQUEUE_REQ: 0x1b,
  ATA_STATUS_ERROR: 0x1c,
  SCSI_IT_NEXUS_LOST: 0x1d,
  IDE: 0x33,
  RESRC_UNAVAIL: 0x34,
  UNACKED_EVENT: 0x35,
  MESSAGE_RECV: 0x36,
  INVALID_CDB: 0x37,
  LUN_INVALID: 0x38,
  TID_INVALID: 0x39,
  FUNC_NOTAVAIL: 0x3a,
  NO_NEXUS: 0x3b,
  IID_INVALID: 0x3c,
  CDB_RECVD: 0x3d,
  LUN_ALRDY_ENA: 0x3e,
  SCSI_BUSY: 0x3f,
} as const;
export type CamStatus = (typeof CamStatus)[keyof typeof CamStatus];

/** The device queue was frozen because of this error (the receiver must release it). */
export const CAM_DEV_QFRZN = 0x40;
/** Autosense data in the CCB is valid. */
export const CAM_AUTOSNS_VALID = 0x80;
/** The bits of `status` that hold the CamStatus. */
export const CAM_STATUS_MASK = 0x3f;

/** The CamStatus part of a CCB status word. */
export function camStatus(status: number): CamStatus {
  return (status & CAM_STATUS_MASK) as CamStatus;
}

const NAMES = new Map<number, string>(Object.entries(CamStatus).map(([k, v]) => [v, `CAM_${k}`]));

/** "CAM_SCSI_STATUS_ERROR|CAM_DEV_QFRZN|CAM_AUTOSNS_VALID" for logs and errors. */
export function camStatusName(status: number): string {
  const parts = [NAMES.get(status & CAM_STATUS_MASK) ?? `CAM_STATUS_0x${(status & CAM_STATUS_MASK).toString(16)}`];
  if ((status & CAM_DEV_QFRZN) !== 0) parts.push('CAM_DEV_QFRZN');
  if ((status & CAM_AUTOSNS_VALID) !== 0) parts.push('CAM_AUTOSNS_VALID');
  return parts.join('|');
}
