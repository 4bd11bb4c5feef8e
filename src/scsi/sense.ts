// Sense data: keys, additional sense codes, and the format-independent sense
// value every SCSI error travels as, with its named constructors. Spec: SPC-5
// §4.4 (sense data, sense key table), Annex D (ASC/ASCQ assignments). The wire
// formats live in sense-codec.ts, the descriptions in sense-text.ts.

/** SPC-5 sense keys (SENSE KEY field, 4 bits; 0Ch is obsolete and not listed). */
export const SenseKey = {
  NO_SENSE: 0x0,
  RECOVERED_ERROR: 0x1,
  NOT_READY: 0x2,
  MEDIUM_ERROR: 0x3,
  HARDWARE_ERROR: 0x4,
  ILLEGAL_REQUEST: 0x5,
  UNIT_ATTENTION: 0x6,
  DATA_PROTECT: 0x7,
  BLANK_CHECK: 0x8,
  VENDOR_SPECIFIC: 0x9,
  COPY_ABORTED: 0xa,
  ABORTED_COMMAND: 0xb,
  VOLUME_OVERFLOW: 0xd,
  MISCOMPARE: 0xe,
  COMPLETED: 0xf,
} as const;
export type SenseKey = (typeof SenseKey)[keyof typeof SenseKey];

const SENSE_KEYS: ReadonlySet<number> = new Set(Object.values(SenseKey));

/** True for the sense keys SPC-5 defines (all of 0h..Fh except the obsolete 0Ch). */
export function isSenseKey(n: number): n is SenseKey {
  return SENSE_KEYS.has(n);
}

/** An additional sense code and its qualifier: a pair, because ASC 0x10 alone means three things. */
export interface AscAscq {
  readonly asc: number;
  readonly ascq: number;
}

/**
 * SPC-5 Annex D: the ASC/ASCQ pairs vtcam reports, by their T10 names (checked
 * against T10 asc-num.txt, 2016-07-30 listing). `LBA_OUT_OF_RANGE` abbreviates
 * LOGICAL BLOCK ADDRESS OUT OF RANGE and `NO_ADDITIONAL_SENSE` drops
 * "INFORMATION"; every other key is the T10 description in CAPS_SNAKE.
 */
export const Asc = {
  NO_ADDITIONAL_SENSE: { asc: 0x00, ascq: 0x00 },
  OPERATION_IN_PROGRESS: { asc: 0x00, ascq: 0x16 },
  LOGICAL_UNIT_NOT_READY_CAUSE_NOT_REPORTABLE: { asc: 0x04, ascq: 0x00 },
  LOGICAL_UNIT_IS_IN_PROCESS_OF_BECOMING_READY: { asc: 0x04, ascq: 0x01 },
  LOGICAL_UNIT_NOT_READY_INITIALIZING_COMMAND_REQUIRED: { asc: 0x04, ascq: 0x02 },
  LOGICAL_UNIT_NOT_READY_FORMAT_IN_PROGRESS: { asc: 0x04, ascq: 0x04 },
  LOGICAL_UNIT_NOT_READY_SANITIZE_IN_PROGRESS: { asc: 0x04, ascq: 0x1b },
  LOGICAL_UNIT_COMMUNICATION_FAILURE: { asc: 0x08, ascq: 0x00 },
  UNREACHABLE_COPY_TARGET: { asc: 0x08, ascq: 0x04 },
  // T10 lists 0Ch/00h for tape and MMC only; disk targets (e.g. Linux scsi_debug) report it for write errors too.
  WRITE_ERROR: { asc: 0x0c, ascq: 0x00 },
  COPY_TARGET_DEVICE_NOT_REACHABLE: { asc: 0x0d, ascq: 0x02 },
  // The command's data length disagrees with its CDB (SAM-5: a field of the command information unit).
  INVALID_FIELD_IN_COMMAND_INFORMATION_UNIT: { asc: 0x0e, ascq: 0x03 },
  UNRECOVERED_READ_ERROR: { asc: 0x11, ascq: 0x00 },
  PARAMETER_LIST_LENGTH_ERROR: { asc: 0x1a, ascq: 0x00 },
  MISCOMPARE_DURING_VERIFY_OPERATION: { asc: 0x1d, ascq: 0x00 },
  INVALID_COMMAND_OPERATION_CODE: { asc: 0x20, ascq: 0x00 },
  LBA_OUT_OF_RANGE: { asc: 0x21, ascq: 0x00 },
  INVALID_FIELD_IN_CDB: { asc: 0x24, ascq: 0x00 },
  LOGICAL_UNIT_NOT_SUPPORTED: { asc: 0x25, ascq: 0x00 },
  INVALID_FIELD_IN_PARAMETER_LIST: { asc: 0x26, ascq: 0x00 },
  INVALID_RELEASE_OF_PERSISTENT_RESERVATION: { asc: 0x26, ascq: 0x04 },
  TOO_MANY_TARGET_DESCRIPTORS: { asc: 0x26, ascq: 0x06 },
  UNSUPPORTED_TARGET_DESCRIPTOR_TYPE_CODE: { asc: 0x26, ascq: 0x07 },
  TOO_MANY_SEGMENT_DESCRIPTORS: { asc: 0x26, ascq: 0x08 },
  UNSUPPORTED_SEGMENT_DESCRIPTOR_TYPE_CODE: { asc: 0x26, ascq: 0x09 },
  WRITE_PROTECTED: { asc: 0x27, ascq: 0x00 },
  HARDWARE_WRITE_PROTECTED: { asc: 0x27, ascq: 0x01 },
  LOGICAL_UNIT_SOFTWARE_WRITE_PROTECTED: { asc: 0x27, ascq: 0x02 },
  SPACE_ALLOCATION_FAILED_WRITE_PROTECT: { asc: 0x27, ascq: 0x07 },
  NOT_READY_TO_READY_CHANGE_MEDIUM_MAY_HAVE_CHANGED: { asc: 0x28, ascq: 0x00 },
  POWER_ON_RESET_OR_BUS_DEVICE_RESET_OCCURRED: { asc: 0x29, ascq: 0x00 },
  BUS_DEVICE_RESET_FUNCTION_OCCURRED: { asc: 0x29, ascq: 0x03 },
  I_T_NEXUS_LOSS_OCCURRED: { asc: 0x29, ascq: 0x07 },
  MODE_PARAMETERS_CHANGED: { asc: 0x2a, ascq: 0x01 },
  RESERVATIONS_PREEMPTED: { asc: 0x2a, ascq: 0x03 },
  RESERVATIONS_RELEASED: { asc: 0x2a, ascq: 0x04 },
  REGISTRATIONS_PREEMPTED: { asc: 0x2a, ascq: 0x05 },
  CAPACITY_DATA_HAS_CHANGED: { asc: 0x2a, ascq: 0x09 },
  COMMAND_SEQUENCE_ERROR: { asc: 0x2c, ascq: 0x00 },
  COMMANDS_CLEARED_BY_ANOTHER_INITIATOR: { asc: 0x2f, ascq: 0x00 },
  MEDIUM_FORMAT_CORRUPTED: { asc: 0x31, ascq: 0x00 },
  SANITIZE_COMMAND_FAILED: { asc: 0x31, ascq: 0x03 },
  THIN_PROVISIONING_SOFT_THRESHOLD_REACHED: { asc: 0x38, ascq: 0x07 },
  SAVING_PARAMETERS_NOT_SUPPORTED: { asc: 0x39, ascq: 0x00 },
  COMMAND_TIMEOUT_DURING_PROCESSING: { asc: 0x2e, ascq: 0x02 },
  COMMAND_TIMEOUT_DURING_PROCESSING_DUE_TO_ERROR_RECOVERY: { asc: 0x2e, ascq: 0x03 },
  MEDIUM_NOT_PRESENT: { asc: 0x3a, ascq: 0x00 },
  MICROCODE_HAS_BEEN_CHANGED: { asc: 0x3f, ascq: 0x01 },
  INQUIRY_DATA_HAS_CHANGED: { asc: 0x3f, ascq: 0x03 },
  REPORTED_LUNS_DATA_HAS_CHANGED: { asc: 0x3f, ascq: 0x0e },
  INTERNAL_TARGET_FAILURE: { asc: 0x44, ascq: 0x00 },
  PROTOCOL_SERVICE_CRC_ERROR: { asc: 0x47, ascq: 0x05 },
  INITIATOR_DETECTED_ERROR_MESSAGE_RECEIVED: { asc: 0x48, ascq: 0x00 },
  INVALID_MESSAGE_ERROR: { asc: 0x49, ascq: 0x00 },
  DATA_PHASE_ERROR: { asc: 0x4b, ascq: 0x00 },
  OVERLAPPED_COMMANDS_ATTEMPTED: { asc: 0x4e, ascq: 0x00 },
  MEDIUM_REMOVAL_PREVENTED: { asc: 0x53, ascq: 0x02 },
  // T10 marks 55h/00h processor-device only; vtcam reports it when the host runs out of resources.
  SYSTEM_RESOURCE_FAILURE: { asc: 0x55, ascq: 0x00 },
  INSUFFICIENT_RESOURCES: { asc: 0x55, ascq: 0x03 },
  INSUFFICIENT_REGISTRATION_RESOURCES: { asc: 0x55, ascq: 0x04 },
  LOW_POWER_CONDITION_ON: { asc: 0x5e, ascq: 0x00 },
} as const satisfies Record<string, AscAscq>;

/**
 * Field pointer sense-key-specific data (SPC-5 §4.4, ILLEGAL REQUEST only):
 * which byte (and optionally bit) of the CDB (`cdb: true`, C/D = 1) or of the
 * parameter list (`cdb: false`, C/D = 0) is wrong. Encoded with SKSV = 1.
 * For a multi-byte or multi-bit field, point at its most significant byte and
 * bit (the left-most one in the spec tables).
 */
export interface FieldPointer {
  readonly cdb: boolean;
  /** FIELD POINTER, 0..65535. */
  readonly byte: number;
  /** BIT POINTER 0..7 (BPV = 1); absent when the whole byte/field is at fault. */
  readonly bit?: number;
}

/**
 * Segment pointer sense-key-specific data (SPC-5, COPY ABORTED only): which
 * byte (and optionally bit) of an EXTENDED COPY parameter list is wrong,
 * counted from the start of the segment descriptor whose number the third and
 * fourth bytes of COMMAND-SPECIFIC INFORMATION hold (`segmentDescriptor:
 * true`, SD = 1) or from the start of the parameter list (SD = 0). Encoded
 * with SKSV = 1; for a multi-byte field, point at its most significant byte.
 */
export interface SegmentPointer {
  readonly segmentDescriptor: boolean;
  /** FIELD POINTER, 0..65535. */
  readonly byte: number;
  /** BIT POINTER 0..7 (BPV = 1); absent when the whole byte/field is at fault. */
  readonly bit?: number;
}

/**
 * Sense as a value, independent of the fixed (70h/71h) or descriptor (72h/73h)
 * encoding (see `sense-codec.ts`). Optional fields are absent when not reported;
 * the codec treats a zero COMMAND-SPECIFIC INFORMATION or FRU code as absent.
 */
export interface SenseData {
  readonly key: SenseKey;
  readonly asc: number;
  readonly ascq: number;
  /** INFORMATION field (e.g. the LBA of a medium error, the MISCOMPARE offset), 0..2^64-1. */
  readonly information?: bigint;
  /** Sense-key-specific field pointer (ILLEGAL REQUEST only). */
  readonly field?: FieldPointer;
  /** Sense-key-specific PROGRESS INDICATION, 0..65535 of 65536 (NO SENSE / NOT READY only). */
  readonly progress?: number;
  /** Sense-key-specific segment pointer (COPY ABORTED only). */
  readonly segment?: SegmentPointer;
  /** COMMAND-SPECIFIC INFORMATION field, 1..2^64-1 (0 means "none"). */
  readonly commandSpecific?: bigint;
  /** FIELD REPLACEABLE UNIT CODE, 1..255 (0 means "no specific unit"). */
  readonly fru?: number;
  /** Deferred error (71h/73h) rather than current (70h/72h). */
  readonly deferred?: boolean;
}

/** The optional parts of a `SenseData`. */
export type SenseDetail = Omit<SenseData, 'key' | 'asc' | 'ascq'>;

/** Builds sense from a key and an ASC/ASCQ pair. */
export function sense(key: SenseKey, code: AscAscq, extra: SenseDetail = {}): SenseData {
  return { key, asc: code.asc, ascq: code.ascq, ...extra };
}

/** A field pointer as callers write it: C/D defaults to 1 (the CDB). */
export type FieldPointerInit = Omit<FieldPointer, 'cdb'> & { readonly cdb?: boolean };

/** ILLEGAL REQUEST with an optional field pointer (C/D = 1 by default: the CDB). */
export function senseIllegalRequest(code: AscAscq, field?: FieldPointerInit): SenseData {
  if (field === undefined) return sense(SenseKey.ILLEGAL_REQUEST, code);
  const cdb = field.cdb ?? true;
  const pointer: FieldPointer = field.bit === undefined ? { cdb, byte: field.byte } : { cdb, byte: field.byte, bit: field.bit };
  return sense(SenseKey.ILLEGAL_REQUEST, code, { field: pointer });
}

/** ILLEGAL REQUEST, INVALID FIELD IN CDB, pointing at CDB byte `byte` (and `bit`). */
export function invalidFieldInCdb(byte: number, bit?: number): SenseData {
  return senseIllegalRequest(Asc.INVALID_FIELD_IN_CDB, bit === undefined ? { cdb: true, byte } : { cdb: true, byte, bit });
}

/** ILLEGAL REQUEST, INVALID FIELD IN PARAMETER LIST, pointing at parameter byte `byte` (and `bit`). */
export function invalidFieldInParameterList(byte: number, bit?: number): SenseData {
  return senseIllegalRequest(Asc.INVALID_FIELD_IN_PARAMETER_LIST, bit === undefined ? { cdb: false, byte } : { cdb: false, byte, bit });
}

/** MEDIUM ERROR, with the failing LBA in INFORMATION when known (e.g. UNRECOVERED READ ERROR). */
export function senseMediumError(code: AscAscq, lba?: bigint): SenseData {
  return lba === undefined ? sense(SenseKey.MEDIUM_ERROR, code) : sense(SenseKey.MEDIUM_ERROR, code, { information: lba });
}

/** DATA PROTECT (e.g. WRITE PROTECTED). */
export function senseDataProtect(code: AscAscq): SenseData {
  return sense(SenseKey.DATA_PROTECT, code);
}

/** UNIT ATTENTION (e.g. POWER ON, RESET, OR BUS DEVICE RESET OCCURRED). */
export function senseUnitAttention(code: AscAscq): SenseData {
  return sense(SenseKey.UNIT_ATTENTION, code);
}

/** ABORTED COMMAND (e.g. DATA PHASE ERROR). */
export function senseAbortedCommand(code: AscAscq): SenseData {
  return sense(SenseKey.ABORTED_COMMAND, code);
}

/**
 * MISCOMPARE, MISCOMPARE DURING VERIFY OPERATION (0Eh/1Dh/00h), with INFORMATION
 * set to the offset of the first byte that differed (SBC-4 COMPARE AND WRITE,
 * VERIFY with BYTCHK).
 */
export function senseMiscompare(offset: bigint | number): SenseData {
  return sense(SenseKey.MISCOMPARE, Asc.MISCOMPARE_DURING_VERIFY_OPERATION, { information: BigInt(offset) });
}

/** NOT READY, with an optional PROGRESS INDICATION (e.g. FORMAT IN PROGRESS, 0..65535 of 65536). */
export function senseNotReady(code: AscAscq, progress?: number): SenseData {
  return progress === undefined ? sense(SenseKey.NOT_READY, code) : sense(SenseKey.NOT_READY, code, { progress });
}

/** HARDWARE ERROR (e.g. INTERNAL TARGET FAILURE). */
export function senseHardwareError(code: AscAscq): SenseData {
  return sense(SenseKey.HARDWARE_ERROR, code);
}

/** Outcome of decoding a CDB or a parameter list: the value, or the sense to report. */
export type Decoded<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly fault: SenseData };
