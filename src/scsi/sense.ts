// Sense data: keys, additional sense codes, and the format-independent sense
// value every SCSI error travels as. Spec: SPC-5 §4.4 (sense data), Table 49
// (sense keys), Annex D (ASC/ASCQ assignments).

/** SPC-5 Table 49: sense keys. */
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

/** An additional sense code and its qualifier: a pair, because ASC 0x10 alone means three things. */
export interface AscAscq {
  readonly asc: number;
  readonly ascq: number;
}

/** SPC-5 Annex D: the ASC/ASCQ pairs vtcam reports, by their T10 names. */
export const Asc = {
  NO_ADDITIONAL_SENSE: { asc: 0x00, ascq: 0x00 },
  WRITE_ERROR: { asc: 0x0c, ascq: 0x00 },
  UNRECOVERED_READ_ERROR: { asc: 0x11, ascq: 0x00 },
  PARAMETER_LIST_LENGTH_ERROR: { asc: 0x1a, ascq: 0x00 },
  MISCOMPARE_DURING_VERIFY_OPERATION: { asc: 0x1d, ascq: 0x00 },
  INVALID_COMMAND_OPERATION_CODE: { asc: 0x20, ascq: 0x00 },
  LBA_OUT_OF_RANGE: { asc: 0x21, ascq: 0x00 },
  INVALID_FIELD_IN_CDB: { asc: 0x24, ascq: 0x00 },
  LOGICAL_UNIT_NOT_SUPPORTED: { asc: 0x25, ascq: 0x00 },
  INVALID_FIELD_IN_PARAMETER_LIST: { asc: 0x26, ascq: 0x00 },
  WRITE_PROTECTED: { asc: 0x27, ascq: 0x00 },
  SPACE_ALLOCATION_FAILED_WRITE_PROTECT: { asc: 0x27, ascq: 0x07 },
  POWER_ON_RESET_OR_BUS_DEVICE_RESET_OCCURRED: { asc: 0x29, ascq: 0x00 },
  MODE_PARAMETERS_CHANGED: { asc: 0x2a, ascq: 0x01 },
  CAPACITY_DATA_HAS_CHANGED: { asc: 0x2a, ascq: 0x09 },
  SAVING_PARAMETERS_NOT_SUPPORTED: { asc: 0x39, ascq: 0x00 },
  REPORTED_LUNS_DATA_HAS_CHANGED: { asc: 0x3f, ascq: 0x0e },
  INTERNAL_TARGET_FAILURE: { asc: 0x44, ascq: 0x00 },
} as const satisfies Record<string, AscAscq>;

/**
 * Sense-key-specific field pointer (SPC-5 §4.4.2.2 / Table 52): which byte (and
 * optionally bit) of the CDB (`cdb: true`, C/D = 1) or of the parameter list
 * (`cdb: false`) is wrong. Encoded with SKSV = 1.
 */
export interface FieldPointer {
  readonly cdb: boolean;
  readonly byte: number;
  /** Bit 0..7 (BPV = 1); absent when the whole byte/field is at fault. */
  readonly bit?: number;
}

/** Sense as a value, independent of the fixed (70h/71h) or descriptor (72h/73h) encoding. */
export interface SenseData {
  readonly key: SenseKey;
  readonly asc: number;
  readonly ascq: number;
  /** INFORMATION field (e.g. the LBA of a medium error, the MISCOMPARE offset). */
  readonly information?: bigint;
  /** Sense-key-specific field pointer (ILLEGAL REQUEST). */
  readonly field?: FieldPointer;
  /** Deferred error (71h/73h) rather than current (70h/72h). */
  readonly deferred?: boolean;
}

/** Builds sense from a key and an ASC/ASCQ pair. */
export function sense(key: SenseKey, code: AscAscq, extra: { information?: bigint; field?: FieldPointer } = {}): SenseData {
  return { key, asc: code.asc, ascq: code.ascq, ...extra };
}

/** ILLEGAL REQUEST with an optional field pointer (C/D = 1 by default: the CDB). */
export function senseIllegalRequest(code: AscAscq, field?: FieldPointer): SenseData {
  return field === undefined ? sense(SenseKey.ILLEGAL_REQUEST, code) : sense(SenseKey.ILLEGAL_REQUEST, code, { field });
}

/** ILLEGAL REQUEST, INVALID FIELD IN CDB, pointing at CDB byte `byte` (and `bit`). */
export function invalidFieldInCdb(byte: number, bit?: number): SenseData {
  return senseIllegalRequest(Asc.INVALID_FIELD_IN_CDB, bit === undefined ? { cdb: true, byte } : { cdb: true, byte, bit });
}

/** ILLEGAL REQUEST, INVALID FIELD IN PARAMETER LIST, pointing at parameter byte `byte` (and `bit`). */
export function invalidFieldInParameterList(byte: number, bit?: number): SenseData {
  return senseIllegalRequest(Asc.INVALID_FIELD_IN_PARAMETER_LIST, bit === undefined ? { cdb: false, byte } : { cdb: false, byte, bit });
}

/** Outcome of decoding a CDB or a parameter list: the value, or the sense to report. */
export type Decoded<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly fault: SenseData };
