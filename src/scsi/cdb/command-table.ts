// The command table as data: one descriptor per operation code / service action
// with its CDB length, data direction and CDB usage mask, and the commands
// vtcam's block device implements. registry.ts looks CDBs up in it and checks
// them against it (reserved bits → INVALID FIELD IN CDB with the exact field
// pointer); the same data drives REPORT SUPPORTED OPERATION CODES (cdb/rsoc.ts),
// docs and fuzzers.
// Spec: SPC-5 (REPORT SUPPORTED OPERATION CODES one_command format: CDB USAGE
// DATA; CONTROL byte from SAM-5), SBC-4 for the block commands — a revision with
// the 6-bit GROUP NUMBER, FORMAT UNIT FFMT (r10) and the DLD bits (r19).
//
// Usage mask convention: a 1 bit is a bit the device server evaluates and that
// may therefore be set; every 0 bit is reserved, obsolete, or a field vtcam
// does not implement, and setting it gets CHECK CONDITION, ILLEGAL REQUEST,
// INVALID FIELD IN CDB. Notable zeros:
// - CONTROL byte (last byte): NACA (bit 2, ACA is not supported — SAM-5 requires
//   INVALID FIELD IN CDB then), the obsolete FLAG/LINK bits 1..0, the reserved
//   bits 5..3 and the vendor-specific bits 7..6 (vtcam defines none).
// - READ(6)/WRITE(6) byte 1 bits 7..5 (formerly the LUN) and SYNCHRONIZE CACHE
//   byte 1 bit 2 (SBC-3's SYNC_NV) are the exceptions: ignored (descriptor
//   `ignored` mask), neither reported nor rejected.
// - READ/WRITE byte 1 bit 2 (RARC on READ, reserved on WRITE), bit 1 (obsolete,
//   formerly FUA_NV), bit 0 (obsolete; DLD2 on the 16-byte CDBs, command
//   duration limits are not implemented), and DLD1/DLD0 in byte 14 bits 7..6.
// - WRITE SAME byte 1 bits 2..1: PBDATA/LBDATA, obsolete in SBC-4 (SBC-3 let a
//   device that does not implement them reject them; both set was always invalid).
// - RESERVE(10)/RELEASE(10): third-party and long-ID reservations are not
//   implemented, so 3RDPTY, LONGID, THIRD PARTY DEVICE ID and PARAMETER LIST LENGTH
//   are all reserved here.
// - FORMAT UNIT byte 4 bits 1..0 (FFMT, fast format) and the vendor-specific byte 2.
// Protection (RDPROTECT/WRPROTECT/VRPROTECT) and DPO/FUA ARE in the masks: a
// logical unit without them derives its own table with restrictUsage().

import {
  MaintenanceInSa,
  PersistentReserveInSa,
  PersistentReserveOutSa,
  SanitizeSa,
  ScsiOp,
  ServiceActionIn16Sa,
  ThirdPartyCopyInSa,
  ThirdPartyCopyOutSa,
} from '../opcodes.js';

/** Direction of the data transfer a command may have ('out' even when a field can make it zero-length). */
export type DataDirection = 'none' | 'in' | 'out';

/** A multiple-bit CDB field: its byte and its bits (CommandDescriptor.fields). */
export interface CdbField {
  readonly byte: number;
  readonly mask: number;
}

/** One command (operation code, plus service action for commands that have them). */
export interface CommandDescriptor {
  /** T10 name in ScsiOp / service-action key style, e.g. `READ_10`, `READ_CAPACITY_16`. */
  readonly name: string;
  readonly opcode: number;
  /** Service action (CDB byte 1 bits 4..0) for operation codes that have service actions. */
  readonly serviceAction?: number;
  readonly cdbLength: number;
  readonly dataDir: DataDirection;
  /**
   * CDB USAGE DATA (SPC-5 one_command format): byte 0 is the operation code, then
   * per CDB byte the bits that may be set. Length = cdbLength. Treat as read-only.
   */
  readonly usage: Uint8Array;
  /**
   * Bits accepted but not evaluated (absent: none). They are not in CDB USAGE
   * DATA (SPC-5: an ignored bit reports 0) and checkUsage (registry.ts) does not reject them.
   * Length = cdbLength when present.
   */
  readonly ignored?: Uint8Array;
  /**
   * Multiple-bit fields among the bits the usage mask refuses (FFMT; RDPROTECT and its kin on a unit
   * without protection information, restrictUsage). SPC-5 4.4.2.4.2: a multiple-bit field in error is
   * pointed at by its first (left-most) bit, whichever of its bits are set; any other refused bit is
   * pointed at by itself (checkUsage, registry.ts).
   */
  readonly fields?: readonly CdbField[];
  /** NOMINAL COMMAND PROCESSING TIMEOUT, seconds (RSOC command timeouts descriptor; 0/absent = not specified). */
  readonly nominalTimeoutS?: number;
  /** RECOMMENDED COMMAND TIMEOUT, seconds (0/absent = not specified). */
  readonly recommendedTimeoutS?: number;
  /**
   * Executing the command again after it had some effect gives another
   * outcome (COMPARE AND WRITE would miscompare against its own write). A
   * transport must not execute it again on its own once a reset or a timeout
   * may have let part of it through: the SIM does not re-issue it after its
   * device reset, and the periph does not retry it after any completion that
   * leaves it open whether it acted (cam/periph/errors.ts); the initiator decides. Absent: executing it again ends as
   * executing it once. See executesOnce() in registry.ts.
   */
  readonly once?: true;
  /**
   * A Data-In command's ALLOCATION LENGTH field (SPC-5 §4.2.5.6: the most
   * parameter data the device server returns), or for a command without one
   * the fixed length of its parameter data (READ CAPACITY (10), SBC-4
   * §5.20.2). A transport whose buffer is shorter than this gives the device
   * server this much room and cuts what it sends (iSCSI: overflow residual,
   * RFC 7143 §11.4.5.1). Absent for block reads, whose TRANSFER LENGTH says it.
   */
  readonly dataIn?: { readonly byte: number; readonly size: 1 | 2 | 4 } | { readonly fixed: number };
}

const fromHex = (h: string): Uint8Array => Uint8Array.from(h.trim().split(/\s+/), (x) => parseInt(x, 16));

function cmd(
  name: string,
  opcode: number,
  dataDir: DataDirection,
  usageHex: string,
  serviceAction?: number,
  ignoredHex?: string,
): CommandDescriptor {
  const usage = fromHex(usageHex);
  const base: CommandDescriptor = { name, opcode, cdbLength: usage.length, dataDir, usage };
  const withSa = serviceAction === undefined ? base : { ...base, serviceAction };
  return ignoredHex === undefined ? withSa : { ...withSa, ignored: fromHex(ignoredHex) };
}

/** `d`, whose Data-In is at most the ALLOCATION LENGTH field of `size` bytes at `byte` (CommandDescriptor.dataIn). */
function allocation(byte: number, size: 1 | 2 | 4, d: CommandDescriptor): CommandDescriptor {
  return { ...d, dataIn: { byte, size } };
}

/** `d`, whose refused bits `mask` of byte `byte` are one multiple-bit field (CommandDescriptor.fields). */
function field(byte: number, mask: number, d: CommandDescriptor): CommandDescriptor {
  return { ...d, fields: [...(d.fields ?? []), { byte, mask }] };
}

/** `d`, marked as a command whose second execution does not end as one does (CommandDescriptor.once). */
function once(d: CommandDescriptor): CommandDescriptor {
  return { ...d, once: true };
}

const PRIN = PersistentReserveInSa;
const PROUT = PersistentReserveOutSa;
// SPC-5 table "PERSISTENT RESERVE OUT service actions and valid parameters": REGISTER, REGISTER AND IGNORE
// EXISTING KEY and CLEAR ignore SCOPE and TYPE (byte 2), so those bits are ignored here, not evaluated.
const PROUT_SCOPE_TYPE_IGNORED = '00 00 ff 00 00 00 00 00 00 00';

/**
 * The commands vtcam's block device implements, sorted by operation code then
 * service action. Usage masks are written from the SPC-5/SBC-4 CDB tables.
 * SANITIZE lists OVERWRITE, BLOCK ERASE and EXIT FAILURE MODE (no CRYPTOGRAPHIC ERASE: no encryption).
 * PERSISTENT RESERVE OUT lists REGISTER..REGISTER AND IGNORE EXISTING KEY only
 * (no REGISTER AND MOVE, no REPLACE LOST RESERVATION).
 * The `once` commands (executed again, they end otherwise): SANITIZE, whose
 * sanitize goes on across a reset (SBC-4), so the command executed again
 * finds it running (NOT READY, SANITIZE IN PROGRESS); PERSISTENT RESERVE OUT,
 * where a REGISTER that changed the key meets that key (RESERVATION CONFLICT)
 * and a PREEMPT finds the preempted registration gone (SPC-5); EXTENDED COPY,
 * whose destination may overlap its source, so it would read what it already
 * overwrote (SPC-5); COMPARE AND WRITE, which would compare against its own
 * write (SBC-4: MISCOMPARE).
 */
export const COMMANDS: readonly CommandDescriptor[] = [
  cmd('TEST_UNIT_READY', ScsiOp.TEST_UNIT_READY, 'none', '00 00 00 00 00 00'),
  allocation(4, 1, cmd('REQUEST_SENSE', ScsiOp.REQUEST_SENSE, 'in', '03 01 00 00 ff 00')),
  field(4, 0x03, cmd('FORMAT_UNIT', ScsiOp.FORMAT_UNIT, 'out', '04 ff 00 00 00 00')),
  // Byte 1 bits 7..5 of READ(6)/WRITE(6) held the LUN in SCSI-2 and initiators
  // for old devices still fill them; they are reserved now, and ignored here.
  cmd('READ_6', ScsiOp.READ_6, 'in', '08 1f ff ff ff 00', undefined, '00 e0 00 00 00 00'),
  cmd('WRITE_6', ScsiOp.WRITE_6, 'out', '0a 1f ff ff ff 00', undefined, '00 e0 00 00 00 00'),
  allocation(3, 2, cmd('INQUIRY', ScsiOp.INQUIRY, 'in', '12 01 ff ff ff 00')),
  cmd('MODE_SELECT_6', ScsiOp.MODE_SELECT_6, 'out', '15 11 00 00 ff 00'),
  cmd('RESERVE_6', ScsiOp.RESERVE_6, 'none', '16 00 00 00 00 00'),
  cmd('RELEASE_6', ScsiOp.RELEASE_6, 'none', '17 00 00 00 00 00'),
  allocation(4, 1, cmd('MODE_SENSE_6', ScsiOp.MODE_SENSE_6, 'in', '1a 08 ff ff ff 00')),
  cmd('START_STOP_UNIT', ScsiOp.START_STOP_UNIT, 'none', '1b 01 00 0f f7 00'),
  cmd('SEND_DIAGNOSTIC', ScsiOp.SEND_DIAGNOSTIC, 'out', '1d f7 00 ff ff 00'),
  cmd('PREVENT_ALLOW_MEDIUM_REMOVAL', ScsiOp.PREVENT_ALLOW_MEDIUM_REMOVAL, 'none', '1e 00 00 00 03 00'),
  { ...cmd('READ_CAPACITY_10', ScsiOp.READ_CAPACITY_10, 'in', '25 00 ff ff ff ff 00 00 01 00'), dataIn: { fixed: 8 } },
  cmd('READ_10', ScsiOp.READ_10, 'in', '28 f8 ff ff ff ff 3f ff ff 00'),
  cmd('WRITE_10', ScsiOp.WRITE_10, 'out', '2a f8 ff ff ff ff 3f ff ff 00'),
  cmd('WRITE_AND_VERIFY_10', ScsiOp.WRITE_AND_VERIFY_10, 'out', '2e f6 ff ff ff ff 3f ff ff 00'),
  cmd('VERIFY_10', ScsiOp.VERIFY_10, 'out', '2f f6 ff ff ff ff 3f ff ff 00'),
  cmd('PRE_FETCH_10', ScsiOp.PRE_FETCH_10, 'none', '34 02 ff ff ff ff 3f ff ff 00'),
  // Byte 1 bit 2: SBC-3's SYNC_NV (obsolete in SBC-4). Initiators still set it; with no separate
  // non-volatile cache it would change nothing, so it is ignored rather than refused.
  cmd('SYNCHRONIZE_CACHE_10', ScsiOp.SYNCHRONIZE_CACHE_10, 'none', '35 02 ff ff ff ff 3f ff ff 00', undefined, '00 04 00 00 00 00 00 00 00 00'),
  allocation(7, 2, cmd('READ_DEFECT_DATA_10', ScsiOp.READ_DEFECT_DATA_10, 'in', '37 00 1f 00 00 00 00 ff ff 00')),
  cmd('WRITE_SAME_10', ScsiOp.WRITE_SAME_10, 'out', '41 f8 ff ff ff ff 3f ff ff 00'),
  cmd('UNMAP', ScsiOp.UNMAP, 'out', '42 01 00 00 00 00 3f ff ff 00'),
  // IMMED (7), AUSE (5), SERVICE ACTION; only OVERWRITE takes a parameter list.
  once(cmd('SANITIZE_OVERWRITE', ScsiOp.SANITIZE, 'out', '48 bf 00 00 00 00 00 ff ff 00', SanitizeSa.OVERWRITE)),
  once(cmd('SANITIZE_BLOCK_ERASE', ScsiOp.SANITIZE, 'none', '48 bf 00 00 00 00 00 00 00 00', SanitizeSa.BLOCK_ERASE)),
  once(cmd('SANITIZE_EXIT_FAILURE_MODE', ScsiOp.SANITIZE, 'none', '48 bf 00 00 00 00 00 00 00 00', SanitizeSa.EXIT_FAILURE_MODE)),
  cmd('MODE_SELECT_10', ScsiOp.MODE_SELECT_10, 'out', '55 11 00 00 00 00 00 ff ff 00'),
  cmd('RESERVE_10', ScsiOp.RESERVE_10, 'none', '56 00 00 00 00 00 00 00 00 00'),
  cmd('RELEASE_10', ScsiOp.RELEASE_10, 'none', '57 00 00 00 00 00 00 00 00 00'),
  allocation(7, 2, cmd('MODE_SENSE_10', ScsiOp.MODE_SENSE_10, 'in', '5a 18 ff ff 00 00 00 ff ff 00')),
  allocation(7, 2, cmd('PERSISTENT_RESERVE_IN_READ_KEYS', ScsiOp.PERSISTENT_RESERVE_IN, 'in', '5e 1f 00 00 00 00 00 ff ff 00', PRIN.READ_KEYS)),
  allocation(7, 2, cmd('PERSISTENT_RESERVE_IN_READ_RESERVATION', ScsiOp.PERSISTENT_RESERVE_IN, 'in', '5e 1f 00 00 00 00 00 ff ff 00', PRIN.READ_RESERVATION)),
  allocation(7, 2, cmd('PERSISTENT_RESERVE_IN_REPORT_CAPABILITIES', ScsiOp.PERSISTENT_RESERVE_IN, 'in', '5e 1f 00 00 00 00 00 ff ff 00', PRIN.REPORT_CAPABILITIES)),
  allocation(7, 2, cmd('PERSISTENT_RESERVE_IN_READ_FULL_STATUS', ScsiOp.PERSISTENT_RESERVE_IN, 'in', '5e 1f 00 00 00 00 00 ff ff 00', PRIN.READ_FULL_STATUS)),
  once(cmd('PERSISTENT_RESERVE_OUT_REGISTER', ScsiOp.PERSISTENT_RESERVE_OUT, 'out', '5f 1f 00 00 00 ff ff ff ff 00', PROUT.REGISTER, PROUT_SCOPE_TYPE_IGNORED)),
  once(cmd('PERSISTENT_RESERVE_OUT_RESERVE', ScsiOp.PERSISTENT_RESERVE_OUT, 'out', '5f 1f ff 00 00 ff ff ff ff 00', PROUT.RESERVE)),
  once(cmd('PERSISTENT_RESERVE_OUT_RELEASE', ScsiOp.PERSISTENT_RESERVE_OUT, 'out', '5f 1f ff 00 00 ff ff ff ff 00', PROUT.RELEASE)),
  once(cmd('PERSISTENT_RESERVE_OUT_CLEAR', ScsiOp.PERSISTENT_RESERVE_OUT, 'out', '5f 1f 00 00 00 ff ff ff ff 00', PROUT.CLEAR, PROUT_SCOPE_TYPE_IGNORED)),
  once(cmd('PERSISTENT_RESERVE_OUT_PREEMPT', ScsiOp.PERSISTENT_RESERVE_OUT, 'out', '5f 1f ff 00 00 ff ff ff ff 00', PROUT.PREEMPT)),
  once(cmd('PERSISTENT_RESERVE_OUT_PREEMPT_AND_ABORT', ScsiOp.PERSISTENT_RESERVE_OUT, 'out', '5f 1f ff 00 00 ff ff ff ff 00', PROUT.PREEMPT_AND_ABORT)),
  once(
    cmd(
      'PERSISTENT_RESERVE_OUT_REGISTER_AND_IGNORE_EXISTING_KEY',
      ScsiOp.PERSISTENT_RESERVE_OUT,
      'out',
      '5f 1f 00 00 00 ff ff ff ff 00',
      PROUT.REGISTER_AND_IGNORE_EXISTING_KEY,
      PROUT_SCOPE_TYPE_IGNORED,
    ),
  ),
  once(cmd('EXTENDED_COPY_LID1', ScsiOp.THIRD_PARTY_COPY_OUT, 'out', '83 1f 00 00 00 00 00 00 00 00 ff ff ff ff 00 00', ThirdPartyCopyOutSa.EXTENDED_COPY_LID1)),
  allocation(10, 4, cmd('RECEIVE_COPY_STATUS_LID1', ScsiOp.THIRD_PARTY_COPY_IN, 'in', '84 1f ff 00 00 00 00 00 00 00 ff ff ff ff 00 00', ThirdPartyCopyInSa.RECEIVE_COPY_STATUS_LID1)),
  allocation(10, 4, cmd(
    'RECEIVE_COPY_OPERATING_PARAMETERS',
    ScsiOp.THIRD_PARTY_COPY_IN,
    'in',
    '84 1f 00 00 00 00 00 00 00 00 ff ff ff ff 00 00',
    ThirdPartyCopyInSa.RECEIVE_COPY_OPERATING_PARAMETERS,
  )),
  cmd('READ_16', ScsiOp.READ_16, 'in', '88 f8 ff ff ff ff ff ff ff ff ff ff ff ff 3f 00'),
  once(cmd('COMPARE_AND_WRITE', ScsiOp.COMPARE_AND_WRITE, 'out', '89 f8 ff ff ff ff ff ff ff ff 00 00 00 ff 3f 00')),
  cmd('WRITE_16', ScsiOp.WRITE_16, 'out', '8a f8 ff ff ff ff ff ff ff ff ff ff ff ff 3f 00'),
  cmd('ORWRITE_16', ScsiOp.ORWRITE_16, 'out', '8b f8 ff ff ff ff ff ff ff ff ff ff ff ff 3f 00'),
  cmd('WRITE_AND_VERIFY_16', ScsiOp.WRITE_AND_VERIFY_16, 'out', '8e f6 ff ff ff ff ff ff ff ff ff ff ff ff 3f 00'),
  cmd('VERIFY_16', ScsiOp.VERIFY_16, 'out', '8f f6 ff ff ff ff ff ff ff ff ff ff ff ff 3f 00'),
  cmd('PRE_FETCH_16', ScsiOp.PRE_FETCH_16, 'none', '90 02 ff ff ff ff ff ff ff ff ff ff ff ff 3f 00'),
  cmd(
    'SYNCHRONIZE_CACHE_16',
    ScsiOp.SYNCHRONIZE_CACHE_16,
    'none',
    '91 02 ff ff ff ff ff ff ff ff ff ff ff ff 3f 00',
    undefined,
    '00 04 00 00 00 00 00 00 00 00 00 00 00 00 00 00',
  ),
  cmd('WRITE_SAME_16', ScsiOp.WRITE_SAME_16, 'out', '93 f9 ff ff ff ff ff ff ff ff ff ff ff ff 3f 00'),
  allocation(10, 4, cmd(
    'READ_CAPACITY_16',
    ScsiOp.SERVICE_ACTION_IN_16,
    'in',
    '9e 1f ff ff ff ff ff ff ff ff ff ff ff ff 01 00',
    ServiceActionIn16Sa.READ_CAPACITY_16,
  )),
  allocation(10, 4, cmd(
    'GET_LBA_STATUS',
    ScsiOp.SERVICE_ACTION_IN_16,
    'in',
    '9e 1f ff ff ff ff ff ff ff ff ff ff ff ff ff 00',
    ServiceActionIn16Sa.GET_LBA_STATUS,
  )),
  allocation(6, 4, cmd('REPORT_LUNS', ScsiOp.REPORT_LUNS, 'in', 'a0 00 ff 00 00 00 ff ff ff ff 00 00')),
  allocation(6, 4, cmd(
    'REPORT_SUPPORTED_OPERATION_CODES',
    ScsiOp.MAINTENANCE_IN,
    'in',
    'a3 1f 87 ff ff ff ff ff ff ff 00 00',
    MaintenanceInSa.REPORT_SUPPORTED_OPERATION_CODES,
  )),
  allocation(6, 4, cmd(
    'REPORT_SUPPORTED_TASK_MANAGEMENT_FUNCTIONS',
    ScsiOp.MAINTENANCE_IN,
    'in',
    'a3 1f 80 00 00 00 ff ff ff ff 00 00',
    MaintenanceInSa.REPORT_SUPPORTED_TASK_MANAGEMENT_FUNCTIONS,
  )),
  cmd('READ_12', ScsiOp.READ_12, 'in', 'a8 f8 ff ff ff ff ff ff ff ff 3f 00'),
  cmd('WRITE_12', ScsiOp.WRITE_12, 'out', 'aa f8 ff ff ff ff ff ff ff ff 3f 00'),
  cmd('WRITE_AND_VERIFY_12', ScsiOp.WRITE_AND_VERIFY_12, 'out', 'ae f6 ff ff ff ff ff ff ff ff 3f 00'),
  cmd('VERIFY_12', ScsiOp.VERIFY_12, 'out', 'af f6 ff ff ff ff ff ff ff ff 3f 00'),
  allocation(6, 4, cmd('READ_DEFECT_DATA_12', ScsiOp.READ_DEFECT_DATA_12, 'in', 'b7 1f ff ff ff ff ff ff ff ff 00 00')),
];

/** Commands with RDPROTECT/WRPROTECT/VRPROTECT in byte 1 bits 7..5. */
export const PROTECT_COMMANDS: readonly string[] = [
  'READ_10', 'READ_12', 'READ_16', 'WRITE_10', 'WRITE_12', 'WRITE_16',
  'WRITE_AND_VERIFY_10', 'WRITE_AND_VERIFY_12', 'WRITE_AND_VERIFY_16',
  'VERIFY_10', 'VERIFY_12', 'VERIFY_16', 'WRITE_SAME_10', 'WRITE_SAME_16', 'COMPARE_AND_WRITE', 'ORWRITE_16',
];
/** Byte 1 bits 7..5: the protection field of PROTECT_COMMANDS. */
export const PROTECT_MASK = 0xe0;

/** Commands with DPO (byte 1 bit 4) and, except VERIFY/WRITE AND VERIFY, FUA (byte 1 bit 3). */
export const DPO_FUA_COMMANDS: readonly string[] = [
  'READ_10', 'READ_12', 'READ_16', 'WRITE_10', 'WRITE_12', 'WRITE_16',
  'WRITE_AND_VERIFY_10', 'WRITE_AND_VERIFY_12', 'WRITE_AND_VERIFY_16',
  'VERIFY_10', 'VERIFY_12', 'VERIFY_16', 'COMPARE_AND_WRITE', 'ORWRITE_16',
];
/** Byte 1 bits 4..3: DPO and FUA. */
export const DPO_FUA_MASK = 0x18;
