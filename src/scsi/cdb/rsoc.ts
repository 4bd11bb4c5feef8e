// REPORT SUPPORTED OPERATION CODES and REPORT SUPPORTED TASK MANAGEMENT
// FUNCTIONS (MAINTENANCE IN service actions 0Ch and 0Dh): their CDBs and the
// parameter data, built from the command table. Spec: SPC-5 (REPORT SUPPORTED
// OPERATION CODES: CDB, REPORTING OPTIONS, all_commands and one_command
// parameter data, command timeouts descriptor; REPORT SUPPORTED TASK MANAGEMENT
// FUNCTIONS: CDB, basic and extended parameter data). The parameter data is
// returned whole; truncating it to ALLOCATION LENGTH is the caller's job.

import { invalidFieldInCdb, type Decoded } from '../sense.js';
import { MaintenanceInSa, ScsiOp } from '../opcodes.js';
import { findCommand, hasServiceActions, SERVICE_ACTION_MASK, type CommandDescriptor } from './registry.js';
import { assertUint, checkCdb, newCdb, U16_MAX, U32_MAX } from './codec.js';

/** REPORTING OPTIONS (RSOC CDB byte 2 bits 2..0); 100b..111b are reserved. */
export const RsocReportingOptions = {
  /** All commands, all_commands parameter data format. */
  ALL: 0b000,
  /** One operation code without service actions (an operation code with them is INVALID FIELD IN CDB). */
  OPCODE: 0b001,
  /** One operation code + service action (an operation code without them is INVALID FIELD IN CDB). */
  OPCODE_AND_SERVICE_ACTION: 0b010,
  /** One operation code, with a service action if it has them. */
  OPCODE_OPTIONAL_SERVICE_ACTION: 0b011,
} as const;
export type RsocReportingOptions = (typeof RsocReportingOptions)[keyof typeof RsocReportingOptions];

/** SUPPORT field of the one_command parameter data (byte 1 bits 2..0). */
export const RsocSupport = {
  NOT_AVAILABLE: 0b000,
  NOT_SUPPORTED: 0b001,
  SUPPORTED: 0b011,
  SUPPORTED_VENDOR_SPECIFIC: 0b101,
} as const;
export type RsocSupport = (typeof RsocSupport)[keyof typeof RsocSupport];

/** A decoded REPORT SUPPORTED OPERATION CODES CDB. */
export interface RsocCdb {
  /** RCTD (byte 2 bit 7): return command timeouts descriptors. */
  readonly rctd: boolean;
  /** REPORTING OPTIONS (byte 2 bits 2..0). */
  readonly reportingOptions: RsocReportingOptions;
  /** REQUESTED OPERATION CODE (byte 3). */
  readonly requestedOperationCode: number;
  /** REQUESTED SERVICE ACTION (bytes 4..5). */
  readonly requestedServiceAction: number;
  /** ALLOCATION LENGTH (bytes 6..9). */
  readonly allocationLength: number;
}

const RCTD = 0x80; // byte 2 bit 7
const REPORTING_OPTIONS = 0x07; // byte 2 bits 2..0
const REPORTING_OPTIONS_FIELD = { byte: 2, bit: 2 } as const;

/** Encodes REPORT SUPPORTED OPERATION CODES. */
export function encodeRsocCdb(cmd: Pick<RsocCdb, 'allocationLength'> & Partial<RsocCdb>): Uint8Array {
  const options = cmd.reportingOptions ?? RsocReportingOptions.ALL;
  const opcode = cmd.requestedOperationCode ?? 0;
  const sa = cmd.requestedServiceAction ?? 0;
  assertUint('reportingOptions', options, RsocReportingOptions.OPCODE_OPTIONAL_SERVICE_ACTION);
  assertUint('requestedOperationCode', opcode, 0xff);
  assertUint('requestedServiceAction', sa, U16_MAX);
  assertUint('allocationLength', cmd.allocationLength, U32_MAX);
  const { cdb, v } = newCdb(12, ScsiOp.MAINTENANCE_IN);
  v.setUint8(1, MaintenanceInSa.REPORT_SUPPORTED_OPERATION_CODES);
  v.setUint8(2, (cmd.rctd === true ? RCTD : 0) | options);
  v.setUint8(3, opcode);
  v.setUint16(4, sa);
  v.setUint32(6, cmd.allocationLength);
  return cdb;
}

/** Decodes REPORT SUPPORTED OPERATION CODES. Reserved REPORTING OPTIONS → INVALID FIELD IN CDB, byte 2 bit 2. */
export function decodeRsocCdb(cdb: Uint8Array, commands?: readonly CommandDescriptor[]): Decoded<RsocCdb> {
  const checked = checkCdb(cdb, 'decodeRsocCdb', [ScsiOp.MAINTENANCE_IN], commands);
  if (!checked.ok) return checked;
  const { v, desc } = checked.value;
  if (desc.serviceAction !== MaintenanceInSa.REPORT_SUPPORTED_OPERATION_CODES) {
    throw new RangeError(`decodeRsocCdb: service action ${desc.serviceAction ?? 'none'} is not REPORT SUPPORTED OPERATION CODES`);
  }
  const b2 = v.getUint8(2);
  const options = b2 & REPORTING_OPTIONS;
  if (options > RsocReportingOptions.OPCODE_OPTIONAL_SERVICE_ACTION) {
    return { ok: false, fault: invalidFieldInCdb(REPORTING_OPTIONS_FIELD.byte, REPORTING_OPTIONS_FIELD.bit) };
  }
  return {
    ok: true,
    value: {
      rctd: (b2 & RCTD) !== 0,
      reportingOptions: options as RsocReportingOptions,
      requestedOperationCode: v.getUint8(3),
      requestedServiceAction: v.getUint16(4),
      allocationLength: v.getUint32(6),
    },
  };
}

const ALL_HEADER_LENGTH = 4; // COMMAND DATA LENGTH
const COMMAND_DESCRIPTOR_LENGTH = 8;
/** Command timeouts descriptor length; its DESCRIPTOR LENGTH field says 0Ah (the bytes after it). */
export const TIMEOUTS_DESCRIPTOR_LENGTH = 12;
const CTDP_ALL = 0x02; // command descriptor byte 5 bit 1
const SERVACTV = 0x01; // command descriptor byte 5 bit 0
const CTDP_ONE = 0x80; // one_command byte 1 bit 7
const ONE_HEADER_LENGTH = 4;

function putTimeouts(v: DataView, at: number, d: CommandDescriptor): void {
  v.setUint16(at, TIMEOUTS_DESCRIPTOR_LENGTH - 2); // DESCRIPTOR LENGTH
  // byte 2 reserved, byte 3 COMMAND SPECIFIC: 0 for every command vtcam has
  v.setUint32(at + 4, d.nominalTimeoutS ?? 0); // NOMINAL COMMAND PROCESSING TIMEOUT
  v.setUint32(at + 8, d.recommendedTimeoutS ?? 0); // RECOMMENDED COMMAND TIMEOUT
}

function allCommands(commands: readonly CommandDescriptor[], rctd: boolean): Uint8Array {
  const sorted = [...commands].sort((a, b) => a.opcode - b.opcode || (a.serviceAction ?? -1) - (b.serviceAction ?? -1));
  const each = COMMAND_DESCRIPTOR_LENGTH + (rctd ? TIMEOUTS_DESCRIPTOR_LENGTH : 0);
  const out = new Uint8Array(ALL_HEADER_LENGTH + each * sorted.length);
  const v = new DataView(out.buffer);
  v.setUint32(0, each * sorted.length); // COMMAND DATA LENGTH (n − 3)
  sorted.forEach((d, k) => {
    const at = ALL_HEADER_LENGTH + each * k;
    v.setUint8(at, d.opcode); // OPERATION CODE
    v.setUint16(at + 2, d.serviceAction ?? 0); // SERVICE ACTION
    v.setUint8(at + 5, (rctd ? CTDP_ALL : 0) | (d.serviceAction !== undefined ? SERVACTV : 0));
    v.setUint16(at + 6, d.cdbLength); // CDB LENGTH
    if (rctd) putTimeouts(v, at + COMMAND_DESCRIPTOR_LENGTH, d);
  });
  return out;
}

function oneCommand(d: CommandDescriptor | undefined, rctd: boolean): Uint8Array {
  if (d === undefined) return Uint8Array.of(0, RsocSupport.NOT_SUPPORTED, 0, 0);
  const out = new Uint8Array(ONE_HEADER_LENGTH + d.cdbLength + (rctd ? TIMEOUTS_DESCRIPTOR_LENGTH : 0));
  const v = new DataView(out.buffer);
  v.setUint8(1, (rctd ? CTDP_ONE : 0) | RsocSupport.SUPPORTED);
  v.setUint16(2, d.cdbLength); // CDB SIZE
  out.set(d.usage.subarray(0, d.cdbLength), ONE_HEADER_LENGTH); // CDB USAGE DATA
  // SPC-5 one_command format: the SERVICE ACTION field of CDB USAGE DATA holds the service action queried, not a mask.
  if (d.serviceAction !== undefined) out[ONE_HEADER_LENGTH + 1] = ((d.usage[1] ?? 0) & ~SERVICE_ACTION_MASK) | d.serviceAction;
  if (rctd) putTimeouts(v, ONE_HEADER_LENGTH + d.cdbLength, d);
  return out;
}

/**
 * Builds the REPORT SUPPORTED OPERATION CODES parameter data for `commands`
 * (the logical unit's table, e.g. COMMANDS or a restrictUsage() copy):
 * - ALL: the all_commands format, sorted by operation code then service
 *   action, with a timeouts descriptor after every command descriptor (CTDP = 1)
 *   when RCTD is set;
 * - OPCODE: INVALID FIELD IN CDB (byte 2 bit 2) when the operation code has
 *   service actions, else one_command data;
 * - OPCODE_AND_SERVICE_ACTION: INVALID FIELD IN CDB (byte 2 bit 2) when the
 *   operation code has no service actions in `commands` (an unimplemented
 *   operation code included, as SPC-5 reads literally), else one_command data;
 * - OPCODE_OPTIONAL_SERVICE_ACTION: one_command data; for an operation code
 *   without service actions a non-zero REQUESTED SERVICE ACTION is "not supported".
 * one_command data for an unimplemented command is SUPPORT 001b and CDB SIZE 0
 * (4 bytes, no timeouts descriptor).
 */
export function buildRsocData(commands: readonly CommandDescriptor[], request: RsocCdb): Decoded<Uint8Array> {
  const op = request.requestedOperationCode;
  const sa = request.requestedServiceAction;
  const withSa = hasServiceActions(op, commands);
  const badOptions = { ok: false, fault: invalidFieldInCdb(REPORTING_OPTIONS_FIELD.byte, REPORTING_OPTIONS_FIELD.bit) } as const;
  switch (request.reportingOptions) {
    case RsocReportingOptions.ALL:
      return { ok: true, value: allCommands(commands, request.rctd) };
    case RsocReportingOptions.OPCODE:
      if (withSa) return badOptions;
      return { ok: true, value: oneCommand(findCommand(op, undefined, commands), request.rctd) };
    case RsocReportingOptions.OPCODE_AND_SERVICE_ACTION:
      if (!withSa) return badOptions;
      return { ok: true, value: oneCommand(findCommand(op, sa, commands), request.rctd) };
    case RsocReportingOptions.OPCODE_OPTIONAL_SERVICE_ACTION: {
      const d = withSa ? findCommand(op, sa, commands) : sa === 0 ? findCommand(op, undefined, commands) : undefined;
      return { ok: true, value: oneCommand(d, request.rctd) };
    }
  }
}

/** Task management functions (SAM-5 / SPC-5 names). */
export const TaskManagementFunction = {
  ABORT_TASK: 'ABORT_TASK',
  ABORT_TASK_SET: 'ABORT_TASK_SET',
  CLEAR_ACA: 'CLEAR_ACA',
  CLEAR_TASK_SET: 'CLEAR_TASK_SET',
  LOGICAL_UNIT_RESET: 'LOGICAL_UNIT_RESET',
  QUERY_TASK: 'QUERY_TASK',
  /** Obsolete in SAM-5. */
  TARGET_RESET: 'TARGET_RESET',
  /** Obsolete in SAM-5. */
  WAKEUP: 'WAKEUP',
  QUERY_ASYNCHRONOUS_EVENT: 'QUERY_ASYNCHRONOUS_EVENT',
  QUERY_TASK_SET: 'QUERY_TASK_SET',
  I_T_NEXUS_RESET: 'I_T_NEXUS_RESET',
} as const;
export type TaskManagementFunction = (typeof TaskManagementFunction)[keyof typeof TaskManagementFunction];

/** Where each function's support bit (ATS, ATSS, CACAS, CTSS, LURS, QTS, TRS, WAKES; QAES, QTSS, ITNRS) sits. */
const TMF_SUPPORT_BIT: Readonly<Record<TaskManagementFunction, { readonly byte: number; readonly mask: number }>> = {
  ABORT_TASK: { byte: 0, mask: 0x80 },
  ABORT_TASK_SET: { byte: 0, mask: 0x40 },
  CLEAR_ACA: { byte: 0, mask: 0x20 },
  CLEAR_TASK_SET: { byte: 0, mask: 0x10 },
  LOGICAL_UNIT_RESET: { byte: 0, mask: 0x08 },
  QUERY_TASK: { byte: 0, mask: 0x04 },
  TARGET_RESET: { byte: 0, mask: 0x02 },
  WAKEUP: { byte: 0, mask: 0x01 },
  QUERY_ASYNCHRONOUS_EVENT: { byte: 1, mask: 0x04 },
  QUERY_TASK_SET: { byte: 1, mask: 0x02 },
  I_T_NEXUS_RESET: { byte: 1, mask: 0x01 },
};

/** Extended format timeout selectors (ATTS … ITNRTS): 1 = TMF LONG TIMEOUT applies. */
const TMF_TIMEOUT_SELECTOR: Partial<Readonly<Record<TaskManagementFunction, { readonly byte: number; readonly mask: number }>>> = {
  ABORT_TASK: { byte: 6, mask: 0x80 },
  ABORT_TASK_SET: { byte: 6, mask: 0x40 },
  CLEAR_ACA: { byte: 6, mask: 0x20 },
  CLEAR_TASK_SET: { byte: 6, mask: 0x10 },
  LOGICAL_UNIT_RESET: { byte: 6, mask: 0x08 },
  QUERY_TASK: { byte: 6, mask: 0x04 },
  QUERY_ASYNCHRONOUS_EVENT: { byte: 7, mask: 0x04 },
  QUERY_TASK_SET: { byte: 7, mask: 0x02 },
  I_T_NEXUS_RESET: { byte: 7, mask: 0x01 },
};

/** A decoded REPORT SUPPORTED TASK MANAGEMENT FUNCTIONS CDB. */
export interface RstmfCdb {
  /** REPD (byte 2 bit 7): extended parameter data. */
  readonly repd: boolean;
  /** ALLOCATION LENGTH (bytes 6..9). */
  readonly allocationLength: number;
}

const REPD = 0x80; // byte 2 bit 7
/** Basic (REPD = 0) and extended (REPD = 1) parameter data lengths. */
export const RSTMF_BASIC_LENGTH = 4;
export const RSTMF_EXTENDED_LENGTH = 16;
const TMFTMOV = 0x01; // extended byte 4 bit 0

/** Encodes REPORT SUPPORTED TASK MANAGEMENT FUNCTIONS. */
export function encodeRstmfCdb(cmd: Pick<RstmfCdb, 'allocationLength'> & Partial<RstmfCdb>): Uint8Array {
  assertUint('allocationLength', cmd.allocationLength, U32_MAX);
  const { cdb, v } = newCdb(12, ScsiOp.MAINTENANCE_IN);
  v.setUint8(1, MaintenanceInSa.REPORT_SUPPORTED_TASK_MANAGEMENT_FUNCTIONS);
  v.setUint8(2, cmd.repd === true ? REPD : 0);
  v.setUint32(6, cmd.allocationLength);
  return cdb;
}

/** Decodes REPORT SUPPORTED TASK MANAGEMENT FUNCTIONS (reserved bits only). */
export function decodeRstmfCdb(cdb: Uint8Array, commands?: readonly CommandDescriptor[]): Decoded<RstmfCdb> {
  const checked = checkCdb(cdb, 'decodeRstmfCdb', [ScsiOp.MAINTENANCE_IN], commands);
  if (!checked.ok) return checked;
  const { v, desc } = checked.value;
  if (desc.serviceAction !== MaintenanceInSa.REPORT_SUPPORTED_TASK_MANAGEMENT_FUNCTIONS) {
    throw new RangeError(`decodeRstmfCdb: service action ${desc.serviceAction ?? 'none'} is not REPORT SUPPORTED TMFs`);
  }
  return { ok: true, value: { repd: (v.getUint8(2) & REPD) !== 0, allocationLength: v.getUint32(6) } };
}

/** TMF timeouts for the extended format (TMFTMOV = 1), in units of 100 ms. */
export interface TmfTimeouts {
  /** TMF LONG TIMEOUT. */
  readonly longTimeout100ms: number;
  /** TMF SHORT TIMEOUT. */
  readonly shortTimeout100ms: number;
  /** Functions whose timeout selector is set (the long timeout applies); the others use the short one. */
  readonly useLong: readonly TaskManagementFunction[];
}

/**
 * Builds REPORT SUPPORTED TASK MANAGEMENT FUNCTIONS parameter data: 4 bytes
 * (basic) or, with REPD, 16 bytes (extended: ADDITIONAL DATA LENGTH 0Ch, and
 * TMFTMOV, the selectors and the two timeouts when `timeouts` is given).
 */
export function buildRstmfData(
  supported: readonly TaskManagementFunction[],
  request: Pick<RstmfCdb, 'repd'>,
  timeouts?: TmfTimeouts,
): Uint8Array {
  const out = new Uint8Array(request.repd ? RSTMF_EXTENDED_LENGTH : RSTMF_BASIC_LENGTH);
  const v = new DataView(out.buffer);
  for (const f of supported) {
    const { byte, mask } = TMF_SUPPORT_BIT[f];
    v.setUint8(byte, v.getUint8(byte) | mask);
  }
  if (!request.repd) return out;
  v.setUint8(3, RSTMF_EXTENDED_LENGTH - RSTMF_BASIC_LENGTH); // ADDITIONAL DATA LENGTH
  if (timeouts === undefined) return out;
  assertUint('longTimeout100ms', timeouts.longTimeout100ms, U32_MAX);
  assertUint('shortTimeout100ms', timeouts.shortTimeout100ms, U32_MAX);
  v.setUint8(4, TMFTMOV);
  for (const f of timeouts.useLong) {
    const sel = TMF_TIMEOUT_SELECTOR[f];
    if (sel === undefined) throw new RangeError(`${f} has no timeout selector`);
    v.setUint8(sel.byte, v.getUint8(sel.byte) | sel.mask);
  }
  v.setUint32(8, timeouts.longTimeout100ms); // TMF LONG TIMEOUT
  v.setUint32(12, timeouts.shortTimeout100ms); // TMF SHORT TIMEOUT
  return out;
}
