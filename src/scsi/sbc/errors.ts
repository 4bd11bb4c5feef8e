// The one error table: how a block operation's failure becomes sense data, and
// the unit attention conditions the emulator raises. Spec: SPC-5 (sense keys,
// unit attention), SBC-4 (medium and write errors, thin provisioning), Annex D
// of SPC-5 for the ASC/ASCQ pairs. Everything the SBC emulator reports for a
// failed block operation comes from BLOCK_ERROR_TABLE; nothing else builds such
// sense.
//
// | operation     | io-error                        | unsupported            | no-space                  | no-resources |
// |---------------|---------------------------------|------------------------|---------------------------|--------------|
// | read          | 03h/11h/00h UNRECOVERED READ ERROR | 05h/20h/00h         | 03h/11h/00h               | 05h/55h/03h INSUFFICIENT RESOURCES |
// | write         | 03h/0Ch/00h WRITE ERROR         | 05h/20h/00h            | 07h/27h/07h SPACE ALLOCATION FAILED WRITE PROTECT | 05h/55h/03h |
// | flush         | 04h/44h/00h INTERNAL TARGET FAILURE | 05h/20h/00h        | 07h/27h/07h               | 05h/55h/03h  |
// | discard       | 03h/0Ch/00h WRITE ERROR         | 05h/20h/00h            | 07h/27h/07h               | 05h/55h/03h  |
// | write-zeroes  | 03h/0Ch/00h WRITE ERROR         | 05h/20h/00h            | 07h/27h/07h               | 05h/55h/03h  |
// | write-cache   | 04h/44h/00h                     | 05h/26h/00h (the WCE change, parameter list) | 04h/44h/00h | 05h/55h/03h |
// | mapping       | 03h/11h/00h                     | 05h/20h/00h            | 03h/11h/00h               | 05h/55h/03h  |
//
// Why these: a read that fails is an unrecovered read error on the medium; a
// write, discard or zeroing that fails is a write error (T10 lists 0Ch/00h for
// tape and MMC, disk targets such as Linux scsi_debug and QEMU use it too); a
// flush failure is not tied to any LBA, so it is the target's own failure; an
// UNSUPP from the device for an operation the emulator was told exists means
// the command cannot be done (INVALID COMMAND OPERATION CODE); a thin device out
// of space is SBC-4's SPACE ALLOCATION FAILED WRITE PROTECT. An operation the
// block device can never find the resources for (a transfer larger than its
// memory for data can ever hold) is no flaw in the medium, and MEDIUM ERROR
// would have initiators treat good blocks as bad (SPC-5 sense keys): it is
// INSUFFICIENT RESOURCES under ILLEGAL REQUEST, the unit as configured cannot
// run the command and the same command would fail again, so neither da nor
// an initiator retries it (QEMU answers its own ENOMEM with HARDWARE ERROR,
// INTERNAL TARGET FAILURE, which initiators do retry). A BlockCommandSet
// whose promise rejects (a bug) is reported as HARDWARE ERROR, INTERNAL TARGET
// FAILURE.

import { Asc, SenseKey, sense, type AscAscq, type SenseData } from '../sense.js';
import type { BlockFailure } from './block-command-set.js';

/** The block operations the emulator issues. */
export type BlockOperation = 'read' | 'write' | 'flush' | 'discard' | 'write-zeroes' | 'write-cache' | 'mapping';

interface SenseCode {
  readonly key: SenseKey;
  readonly code: AscAscq;
}

const c = (key: SenseKey, code: AscAscq): SenseCode => ({ key, code });
const READ_ERROR = c(SenseKey.MEDIUM_ERROR, Asc.UNRECOVERED_READ_ERROR);
const WRITE_ERROR = c(SenseKey.MEDIUM_ERROR, Asc.WRITE_ERROR);
const TARGET_FAILURE = c(SenseKey.HARDWARE_ERROR, Asc.INTERNAL_TARGET_FAILURE);
const UNSUPPORTED = c(SenseKey.ILLEGAL_REQUEST, Asc.INVALID_COMMAND_OPERATION_CODE);
const OUT_OF_SPACE = c(SenseKey.DATA_PROTECT, Asc.SPACE_ALLOCATION_FAILED_WRITE_PROTECT);
const NO_RESOURCES = c(SenseKey.ILLEGAL_REQUEST, Asc.INSUFFICIENT_RESOURCES);

/** The table in the file header, as data. */
export const BLOCK_ERROR_TABLE: Readonly<Record<BlockOperation, Readonly<Record<BlockFailure, SenseCode>>>> = {
  read: { 'io-error': READ_ERROR, unsupported: UNSUPPORTED, 'no-space': READ_ERROR, 'no-resources': NO_RESOURCES },
  write: { 'io-error': WRITE_ERROR, unsupported: UNSUPPORTED, 'no-space': OUT_OF_SPACE, 'no-resources': NO_RESOURCES },
  flush: { 'io-error': TARGET_FAILURE, unsupported: UNSUPPORTED, 'no-space': OUT_OF_SPACE, 'no-resources': NO_RESOURCES },
  discard: { 'io-error': WRITE_ERROR, unsupported: UNSUPPORTED, 'no-space': OUT_OF_SPACE, 'no-resources': NO_RESOURCES },
  'write-zeroes': { 'io-error': WRITE_ERROR, unsupported: UNSUPPORTED, 'no-space': OUT_OF_SPACE, 'no-resources': NO_RESOURCES },
  'write-cache': {
    'io-error': TARGET_FAILURE,
    unsupported: c(SenseKey.ILLEGAL_REQUEST, Asc.INVALID_FIELD_IN_PARAMETER_LIST),
    'no-space': TARGET_FAILURE,
    'no-resources': NO_RESOURCES,
  },
  mapping: { 'io-error': READ_ERROR, unsupported: UNSUPPORTED, 'no-space': READ_ERROR, 'no-resources': NO_RESOURCES },
};

/**
 * Sense for a failed block operation, from BLOCK_ERROR_TABLE. `lba` goes into
 * INFORMATION for medium errors when the failing block is known (failingBlock).
 */
export function blockFailureSense(op: BlockOperation, status: BlockFailure, lba?: bigint): SenseData {
  const { key, code } = BLOCK_ERROR_TABLE[op][status];
  return lba !== undefined && key === SenseKey.MEDIUM_ERROR ? sense(key, code, { information: lba }) : sense(key, code);
}

/**
 * The block a failed block operation over `blocks` blocks at `lba` names in
 * INFORMATION: SBC-4 has it be the LBA in error, and virtio-blk fails a
 * request whole without saying which of its blocks failed (virtio 1.2 §5.2.6),
 * so only a one-block operation knows it. Otherwise INFORMATION stays invalid,
 * as QEMU's scsi-disk leaves it, rather than naming a block that may be good.
 */
export function failingBlock(lba: bigint, blocks: number | bigint): bigint | undefined {
  return blocks === 1 || blocks === 1n ? lba : undefined;
}

/** Sense for a BlockCommandSet that threw or rejected: a bug below us, reported, not propagated. */
export const IMPLEMENTATION_FAILURE: SenseData = sense(TARGET_FAILURE.key, TARGET_FAILURE.code);

/**
 * What a command its transport aborted answers when it stops before its next
 * block operation (SbcCommand.aborted): ABORTED COMMAND, no additional sense.
 * No initiator sees it: the transport ends the command as its abort says
 * (SAM-5 aborting commands).
 */
export const STOPPED_BY_ABORT: SenseData = sense(SenseKey.ABORTED_COMMAND, Asc.NO_ADDITIONAL_SENSE);

/**
 * Unit attention conditions (SAM-5 unit attention condition, SPC-5 Annex D),
 * in precedence order: a power on or reset supersedes every condition queued
 * before it.
 */
export const UnitAttention = {
  /** The logical unit was created or lost power (SAM-5: reported once to every I_T nexus). */
  POWER_ON_RESET: Asc.POWER_ON_RESET_OR_BUS_DEVICE_RESET_OCCURRED,
  /** A LOGICAL UNIT RESET or target reset task management function ran. */
  BUS_DEVICE_RESET: Asc.BUS_DEVICE_RESET_FUNCTION_OCCURRED,
  I_T_NEXUS_LOSS: Asc.I_T_NEXUS_LOSS_OCCURRED,
  /** A removable unit's medium was loaded (START STOP UNIT LOEJ): it may not be the one there before. */
  NOT_READY_TO_READY_CHANGE: Asc.NOT_READY_TO_READY_CHANGE_MEDIUM_MAY_HAVE_CHANGED,
  /** READ CAPACITY would now report something else (virtio config change of `capacity`). */
  CAPACITY_DATA_HAS_CHANGED: Asc.CAPACITY_DATA_HAS_CHANGED,
  /** Another I_T nexus changed a mode parameter (MODE SELECT, or the device changed `writeback`). */
  MODE_PARAMETERS_CHANGED: Asc.MODE_PARAMETERS_CHANGED,
  /** REPORT LUNS would now report something else. */
  REPORTED_LUNS_DATA_HAS_CHANGED: Asc.REPORTED_LUNS_DATA_HAS_CHANGED,
  INQUIRY_DATA_HAS_CHANGED: Asc.INQUIRY_DATA_HAS_CHANGED,
} as const satisfies Record<string, AscAscq>;
export type UnitAttention = (typeof UnitAttention)[keyof typeof UnitAttention];

/** True for the reset-class conditions (ASC 29h) that clear every condition queued before them. */
export function isResetCondition(ua: AscAscq): boolean {
  return ua.asc === Asc.POWER_ON_RESET_OR_BUS_DEVICE_RESET_OCCURRED.asc;
}
