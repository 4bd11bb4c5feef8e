// Operation codes and service action codes of the commands a SPC/SBC direct-access
// block device like vtcam's handles. Spec: SPC-5 (operation code assignments,
// Annex) and SBC-4 (direct-access commands); names follow the T10 tables with
// "(10)" written as "_10". Which of them the device actually implements is the
// command table in cdb/command-table.ts, not this list.

/** Operation codes (CDB byte 0). */
export const ScsiOp = {
  TEST_UNIT_READY: 0x00,
  REQUEST_SENSE: 0x03,
  FORMAT_UNIT: 0x04,
  READ_6: 0x08,
  WRITE_6: 0x0a,
  INQUIRY: 0x12,
  MODE_SELECT_6: 0x15,
  /** SPC-2; obsolete since SPC-3, still sent by older initiators. */
  RESERVE_6: 0x16,
  /** SPC-2; obsolete since SPC-3. */
  RELEASE_6: 0x17,
  MODE_SENSE_6: 0x1a,
  START_STOP_UNIT: 0x1b,
  SEND_DIAGNOSTIC: 0x1d,
  PREVENT_ALLOW_MEDIUM_REMOVAL: 0x1e,
  READ_CAPACITY_10: 0x25,
  READ_10: 0x28,
  WRITE_10: 0x2a,
  WRITE_AND_VERIFY_10: 0x2e,
  VERIFY_10: 0x2f,
  PRE_FETCH_10: 0x34,
  SYNCHRONIZE_CACHE_10: 0x35,
  READ_DEFECT_DATA_10: 0x37,
  WRITE_SAME_10: 0x41,
  UNMAP: 0x42,
  /** Has service actions (SanitizeSa). */
  SANITIZE: 0x48,
  MODE_SELECT_10: 0x55,
  /** SPC-2; obsolete since SPC-3. */
  RESERVE_10: 0x56,
  /** SPC-2; obsolete since SPC-3. */
  RELEASE_10: 0x57,
  MODE_SENSE_10: 0x5a,
  /** Has service actions (PersistentReserveInSa). */
  PERSISTENT_RESERVE_IN: 0x5e,
  /** Has service actions (PersistentReserveOutSa). */
  PERSISTENT_RESERVE_OUT: 0x5f,
  /** THIRD-PARTY COPY OUT (SPC-5), formerly EXTENDED COPY: has service actions (ThirdPartyCopyOutSa). */
  THIRD_PARTY_COPY_OUT: 0x83,
  /** THIRD-PARTY COPY IN (SPC-5), formerly RECEIVE COPY RESULTS: has service actions (ThirdPartyCopyInSa). */
  THIRD_PARTY_COPY_IN: 0x84,
  READ_16: 0x88,
  COMPARE_AND_WRITE: 0x89,
  WRITE_16: 0x8a,
  ORWRITE_16: 0x8b,
  WRITE_AND_VERIFY_16: 0x8e,
  VERIFY_16: 0x8f,
  PRE_FETCH_16: 0x90,
  SYNCHRONIZE_CACHE_16: 0x91,
  WRITE_SAME_16: 0x93,
  /** SERVICE ACTION IN (16): has service actions (ServiceActionIn16Sa). */
  SERVICE_ACTION_IN_16: 0x9e,
  REPORT_LUNS: 0xa0,
  /** Has service actions (MaintenanceInSa). */
  MAINTENANCE_IN: 0xa3,
  READ_12: 0xa8,
  WRITE_12: 0xaa,
  WRITE_AND_VERIFY_12: 0xae,
  VERIFY_12: 0xaf,
  READ_DEFECT_DATA_12: 0xb7,
} as const;
export type ScsiOp = (typeof ScsiOp)[keyof typeof ScsiOp];

/** SERVICE ACTION IN (16) service actions (CDB byte 1 bits 4..0). SBC-4. */
export const ServiceActionIn16Sa = {
  READ_CAPACITY_16: 0x10,
  GET_LBA_STATUS: 0x12,
} as const;
export type ServiceActionIn16Sa = (typeof ServiceActionIn16Sa)[keyof typeof ServiceActionIn16Sa];

/** MAINTENANCE IN service actions (CDB byte 1 bits 4..0). SPC-5. */
export const MaintenanceInSa = {
  REPORT_SUPPORTED_OPERATION_CODES: 0x0c,
  REPORT_SUPPORTED_TASK_MANAGEMENT_FUNCTIONS: 0x0d,
} as const;
export type MaintenanceInSa = (typeof MaintenanceInSa)[keyof typeof MaintenanceInSa];

/** PERSISTENT RESERVE IN service actions (CDB byte 1 bits 4..0). SPC-5. */
export const PersistentReserveInSa = {
  READ_KEYS: 0x00,
  READ_RESERVATION: 0x01,
  REPORT_CAPABILITIES: 0x02,
  READ_FULL_STATUS: 0x03,
} as const;
export type PersistentReserveInSa = (typeof PersistentReserveInSa)[keyof typeof PersistentReserveInSa];

/** PERSISTENT RESERVE OUT service actions (CDB byte 1 bits 4..0). SPC-5. */
export const PersistentReserveOutSa = {
  REGISTER: 0x00,
  RESERVE: 0x01,
  RELEASE: 0x02,
  CLEAR: 0x03,
  PREEMPT: 0x04,
  PREEMPT_AND_ABORT: 0x05,
  REGISTER_AND_IGNORE_EXISTING_KEY: 0x06,
  REGISTER_AND_MOVE: 0x07,
  REPLACE_LOST_RESERVATION: 0x08,
} as const;
export type PersistentReserveOutSa = (typeof PersistentReserveOutSa)[keyof typeof PersistentReserveOutSa];

/** SANITIZE service actions (CDB byte 1 bits 4..0). SBC-4. vtcam has no encryption, so no CRYPTOGRAPHIC ERASE. */
export const SanitizeSa = {
  OVERWRITE: 0x01,
  BLOCK_ERASE: 0x02,
  CRYPTOGRAPHIC_ERASE: 0x03,
  EXIT_FAILURE_MODE: 0x1f,
} as const;
export type SanitizeSa = (typeof SanitizeSa)[keyof typeof SanitizeSa];

/** THIRD-PARTY COPY OUT service actions (CDB byte 1 bits 4..0). SPC-5; vtcam implements the LID1 EXTENDED COPY only. */
export const ThirdPartyCopyOutSa = {
  EXTENDED_COPY_LID1: 0x00,
} as const;
export type ThirdPartyCopyOutSa = (typeof ThirdPartyCopyOutSa)[keyof typeof ThirdPartyCopyOutSa];

/** THIRD-PARTY COPY IN service actions (CDB byte 1 bits 4..0). SPC-5; the LID1 ones vtcam implements. */
export const ThirdPartyCopyInSa = {
  RECEIVE_COPY_STATUS_LID1: 0x00,
  RECEIVE_COPY_OPERATING_PARAMETERS: 0x03,
} as const;
export type ThirdPartyCopyInSa = (typeof ThirdPartyCopyInSa)[keyof typeof ThirdPartyCopyInSa];
