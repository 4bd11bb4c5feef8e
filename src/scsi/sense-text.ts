// Human-readable sense: sense key names, ASC/ASCQ descriptions and one-line
// summaries of a SenseData. Spec: SPC-5 §4.4 (sense key table), Annex D (ASC and
// ASCQ assignments); descriptions are the T10 names as listed in T10
// asc-num.txt (2016-07-30), limited to the codes block targets and iSCSI
// initiators commonly meet. Codes not in the table fall to the range rules below.

import type { SenseData } from './sense.js';

/** Sense key names by value; 0Ch (formerly EQUAL) is obsolete and has none. */
const SENSE_KEY_TEXT: ReadonlyMap<number, string> = new Map([
  [0x0, 'NO SENSE'],
  [0x1, 'RECOVERED ERROR'],
  [0x2, 'NOT READY'],
  [0x3, 'MEDIUM ERROR'],
  [0x4, 'HARDWARE ERROR'],
  [0x5, 'ILLEGAL REQUEST'],
  [0x6, 'UNIT ATTENTION'],
  [0x7, 'DATA PROTECT'],
  [0x8, 'BLANK CHECK'],
  [0x9, 'VENDOR SPECIFIC'],
  [0xa, 'COPY ABORTED'],
  [0xb, 'ABORTED COMMAND'],
  [0xd, 'VOLUME OVERFLOW'],
  [0xe, 'MISCOMPARE'],
  [0xf, 'COMPLETED'],
]);

/** SPC-5 Annex D: [ASC, ASCQ, description], in numeric order. */
const ASC_TABLE: readonly (readonly [asc: number, ascq: number, text: string])[] = [
  [0x00, 0x00, 'NO ADDITIONAL SENSE INFORMATION'],
  [0x00, 0x06, 'I/O PROCESS TERMINATED'],
  [0x00, 0x16, 'OPERATION IN PROGRESS'],
  [0x00, 0x17, 'CLEANING REQUESTED'],
  [0x00, 0x1d, 'ATA PASS THROUGH INFORMATION AVAILABLE'],
  [0x02, 0x00, 'NO SEEK COMPLETE'],
  [0x03, 0x00, 'PERIPHERAL DEVICE WRITE FAULT'],
  [0x04, 0x00, 'LOGICAL UNIT NOT READY, CAUSE NOT REPORTABLE'],
  [0x04, 0x01, 'LOGICAL UNIT IS IN PROCESS OF BECOMING READY'],
  [0x04, 0x02, 'LOGICAL UNIT NOT READY, INITIALIZING COMMAND REQUIRED'],
  [0x04, 0x03, 'LOGICAL UNIT NOT READY, MANUAL INTERVENTION REQUIRED'],
  [0x04, 0x04, 'LOGICAL UNIT NOT READY, FORMAT IN PROGRESS'],
  [0x04, 0x05, 'LOGICAL UNIT NOT READY, REBUILD IN PROGRESS'],
  [0x04, 0x06, 'LOGICAL UNIT NOT READY, RECALCULATION IN PROGRESS'],
  [0x04, 0x07, 'LOGICAL UNIT NOT READY, OPERATION IN PROGRESS'],
  [0x04, 0x09, 'LOGICAL UNIT NOT READY, SELF-TEST IN PROGRESS'],
  [0x04, 0x0a, 'LOGICAL UNIT NOT ACCESSIBLE, ASYMMETRIC ACCESS STATE TRANSITION'],
  [0x04, 0x0b, 'LOGICAL UNIT NOT ACCESSIBLE, TARGET PORT IN STANDBY STATE'],
  [0x04, 0x0c, 'LOGICAL UNIT NOT ACCESSIBLE, TARGET PORT IN UNAVAILABLE STATE'],
  [0x04, 0x0e, 'LOGICAL UNIT NOT READY, SECURITY SESSION IN PROGRESS'],
  [0x04, 0x11, 'LOGICAL UNIT NOT READY, NOTIFY (ENABLE SPINUP) REQUIRED'],
  [0x04, 0x14, 'LOGICAL UNIT NOT READY, SPACE ALLOCATION IN PROGRESS'],
  [0x04, 0x1a, 'LOGICAL UNIT NOT READY, START STOP UNIT COMMAND IN PROGRESS'],
  [0x04, 0x1b, 'LOGICAL UNIT NOT READY, SANITIZE IN PROGRESS'],
  [0x04, 0x1c, 'LOGICAL UNIT NOT READY, ADDITIONAL POWER USE NOT YET GRANTED'],
  [0x05, 0x00, 'LOGICAL UNIT DOES NOT RESPOND TO SELECTION'],
  [0x08, 0x00, 'LOGICAL UNIT COMMUNICATION FAILURE'],
  [0x08, 0x01, 'LOGICAL UNIT COMMUNICATION TIME-OUT'],
  [0x08, 0x02, 'LOGICAL UNIT COMMUNICATION PARITY ERROR'],
  [0x08, 0x04, 'UNREACHABLE COPY TARGET'],
  [0x0a, 0x00, 'ERROR LOG OVERFLOW'],
  [0x0b, 0x00, 'WARNING'],
  [0x0b, 0x01, 'WARNING - SPECIFIED TEMPERATURE EXCEEDED'],
  [0x0c, 0x00, 'WRITE ERROR'],
  [0x0c, 0x02, 'WRITE ERROR - AUTO REALLOCATION FAILED'],
  [0x0c, 0x03, 'WRITE ERROR - RECOMMEND REASSIGNMENT'],
  [0x0c, 0x0c, 'WRITE ERROR - UNEXPECTED UNSOLICITED DATA'],
  [0x0c, 0x0d, 'WRITE ERROR - NOT ENOUGH UNSOLICITED DATA'],
  [0x0d, 0x02, 'COPY TARGET DEVICE NOT REACHABLE'],
  [0x0e, 0x03, 'INVALID FIELD IN COMMAND INFORMATION UNIT'],
  [0x10, 0x01, 'LOGICAL BLOCK GUARD CHECK FAILED'],
  [0x10, 0x02, 'LOGICAL BLOCK APPLICATION TAG CHECK FAILED'],
  [0x10, 0x03, 'LOGICAL BLOCK REFERENCE TAG CHECK FAILED'],
  [0x11, 0x00, 'UNRECOVERED READ ERROR'],
  [0x11, 0x01, 'READ RETRIES EXHAUSTED'],
  [0x11, 0x02, 'ERROR TOO LONG TO CORRECT'],
  [0x11, 0x04, 'UNRECOVERED READ ERROR - AUTO REALLOCATE FAILED'],
  [0x11, 0x0b, 'UNRECOVERED READ ERROR - RECOMMEND REASSIGNMENT'],
  [0x11, 0x0c, 'UNRECOVERED READ ERROR - RECOMMEND REWRITE THE DATA'],
  [0x11, 0x13, 'READ ERROR - FAILED RETRANSMISSION REQUEST'],
  [0x14, 0x01, 'RECORD NOT FOUND'],
  [0x15, 0x01, 'MECHANICAL POSITIONING ERROR'],
  [0x16, 0x00, 'DATA SYNCHRONIZATION MARK ERROR'],
  [0x17, 0x01, 'RECOVERED DATA WITH RETRIES'],
  [0x18, 0x00, 'RECOVERED DATA WITH ERROR CORRECTION APPLIED'],
  [0x1a, 0x00, 'PARAMETER LIST LENGTH ERROR'],
  [0x1d, 0x00, 'MISCOMPARE DURING VERIFY OPERATION'],
  [0x1d, 0x01, 'MISCOMPARE VERIFY OF UNMAPPED LBA'],
  [0x20, 0x00, 'INVALID COMMAND OPERATION CODE'],
  [0x20, 0x02, 'ACCESS DENIED - NO ACCESS RIGHTS'],
  [0x21, 0x00, 'LOGICAL BLOCK ADDRESS OUT OF RANGE'],
  [0x21, 0x01, 'INVALID ELEMENT ADDRESS'],
  [0x21, 0x04, 'UNALIGNED WRITE COMMAND'],
  [0x24, 0x00, 'INVALID FIELD IN CDB'],
  [0x24, 0x01, 'CDB DECRYPTION ERROR'],
  [0x24, 0x08, 'INVALID XCDB'],
  [0x25, 0x00, 'LOGICAL UNIT NOT SUPPORTED'],
  [0x26, 0x00, 'INVALID FIELD IN PARAMETER LIST'],
  [0x26, 0x01, 'PARAMETER NOT SUPPORTED'],
  [0x26, 0x02, 'PARAMETER VALUE INVALID'],
  [0x26, 0x03, 'THRESHOLD PARAMETERS NOT SUPPORTED'],
  [0x26, 0x04, 'INVALID RELEASE OF PERSISTENT RESERVATION'],
  [0x26, 0x06, 'TOO MANY TARGET DESCRIPTORS'],
  [0x26, 0x07, 'UNSUPPORTED TARGET DESCRIPTOR TYPE CODE'],
  [0x26, 0x08, 'TOO MANY SEGMENT DESCRIPTORS'],
  [0x26, 0x09, 'UNSUPPORTED SEGMENT DESCRIPTOR TYPE CODE'],
  [0x27, 0x00, 'WRITE PROTECTED'],
  [0x27, 0x01, 'HARDWARE WRITE PROTECTED'],
  [0x27, 0x02, 'LOGICAL UNIT SOFTWARE WRITE PROTECTED'],
  [0x27, 0x03, 'ASSOCIATED WRITE PROTECT'],
  [0x27, 0x04, 'PERSISTENT WRITE PROTECT'],
  [0x27, 0x05, 'PERMANENT WRITE PROTECT'],
  [0x27, 0x07, 'SPACE ALLOCATION FAILED WRITE PROTECT'],
  [0x28, 0x00, 'NOT READY TO READY CHANGE, MEDIUM MAY HAVE CHANGED'],
  [0x29, 0x00, 'POWER ON, RESET, OR BUS DEVICE RESET OCCURRED'],
  [0x29, 0x01, 'POWER ON OCCURRED'],
  [0x29, 0x02, 'SCSI BUS RESET OCCURRED'],
  [0x29, 0x03, 'BUS DEVICE RESET FUNCTION OCCURRED'],
  [0x29, 0x04, 'DEVICE INTERNAL RESET'],
  [0x29, 0x07, 'I_T NEXUS LOSS OCCURRED'],
  [0x2a, 0x00, 'PARAMETERS CHANGED'],
  [0x2a, 0x01, 'MODE PARAMETERS CHANGED'],
  [0x2a, 0x02, 'LOG PARAMETERS CHANGED'],
  [0x2a, 0x03, 'RESERVATIONS PREEMPTED'],
  [0x2a, 0x04, 'RESERVATIONS RELEASED'],
  [0x2a, 0x05, 'REGISTRATIONS PREEMPTED'],
  [0x2a, 0x06, 'ASYMMETRIC ACCESS STATE CHANGED'],
  [0x2a, 0x07, 'IMPLICIT ASYMMETRIC ACCESS STATE TRANSITION FAILED'],
  [0x2a, 0x08, 'PRIORITY CHANGED'],
  [0x2a, 0x09, 'CAPACITY DATA HAS CHANGED'],
  [0x2a, 0x10, 'TIMESTAMP CHANGED'],
  [0x2c, 0x00, 'COMMAND SEQUENCE ERROR'],
  [0x2c, 0x07, 'PREVIOUS BUSY STATUS'],
  [0x2c, 0x08, 'PREVIOUS TASK SET FULL STATUS'],
  [0x2c, 0x09, 'PREVIOUS RESERVATION CONFLICT STATUS'],
  [0x2e, 0x02, 'COMMAND TIMEOUT DURING PROCESSING'],
  [0x2e, 0x03, 'COMMAND TIMEOUT DURING PROCESSING DUE TO ERROR RECOVERY'],
  [0x2f, 0x00, 'COMMANDS CLEARED BY ANOTHER INITIATOR'],
  [0x2f, 0x01, 'COMMANDS CLEARED BY POWER LOSS NOTIFICATION'],
  [0x2f, 0x02, 'COMMANDS CLEARED BY DEVICE SERVER'],
  [0x2f, 0x03, 'SOME COMMANDS CLEARED BY QUEUING LAYER EVENT'],
  [0x30, 0x00, 'INCOMPATIBLE MEDIUM INSTALLED'],
  [0x31, 0x00, 'MEDIUM FORMAT CORRUPTED'],
  [0x31, 0x01, 'FORMAT COMMAND FAILED'],
  [0x31, 0x03, 'SANITIZE COMMAND FAILED'],
  [0x32, 0x00, 'NO DEFECT SPARE LOCATION AVAILABLE'],
  [0x37, 0x00, 'ROUNDED PARAMETER'],
  [0x38, 0x07, 'THIN PROVISIONING SOFT THRESHOLD REACHED'],
  [0x39, 0x00, 'SAVING PARAMETERS NOT SUPPORTED'],
  [0x3a, 0x00, 'MEDIUM NOT PRESENT'],
  [0x3a, 0x01, 'MEDIUM NOT PRESENT - TRAY CLOSED'],
  [0x3a, 0x02, 'MEDIUM NOT PRESENT - TRAY OPEN'],
  [0x3d, 0x00, 'INVALID BITS IN IDENTIFY MESSAGE'],
  [0x3e, 0x00, 'LOGICAL UNIT HAS NOT SELF-CONFIGURED YET'],
  [0x3e, 0x01, 'LOGICAL UNIT FAILURE'],
  [0x3e, 0x02, 'TIMEOUT ON LOGICAL UNIT'],
  [0x3e, 0x03, 'LOGICAL UNIT FAILED SELF-TEST'],
  [0x3f, 0x00, 'TARGET OPERATING CONDITIONS HAVE CHANGED'],
  [0x3f, 0x01, 'MICROCODE HAS BEEN CHANGED'],
  [0x3f, 0x02, 'CHANGED OPERATING DEFINITION'],
  [0x3f, 0x03, 'INQUIRY DATA HAS CHANGED'],
  [0x3f, 0x05, 'DEVICE IDENTIFIER CHANGED'],
  [0x3f, 0x0e, 'REPORTED LUNS DATA HAS CHANGED'],
  [0x3f, 0x0f, 'ECHO BUFFER OVERWRITTEN'],
  [0x3f, 0x12, 'iSCSI IP ADDRESS ADDED'],
  [0x3f, 0x13, 'iSCSI IP ADDRESS REMOVED'],
  [0x3f, 0x14, 'iSCSI IP ADDRESS CHANGED'],
  [0x3f, 0x16, 'MICROCODE HAS BEEN CHANGED WITHOUT RESET'],
  [0x43, 0x00, 'MESSAGE ERROR'],
  [0x44, 0x00, 'INTERNAL TARGET FAILURE'],
  [0x44, 0x01, 'PERSISTENT RESERVATION INFORMATION LOST'],
  [0x45, 0x00, 'SELECT OR RESELECT FAILURE'],
  [0x47, 0x00, 'SCSI PARITY ERROR'],
  [0x47, 0x01, 'DATA PHASE CRC ERROR DETECTED'],
  [0x47, 0x03, 'INFORMATION UNIT iuCRC ERROR DETECTED'],
  [0x47, 0x05, 'PROTOCOL SERVICE CRC ERROR'],
  [0x47, 0x7f, 'SOME COMMANDS CLEARED BY ISCSI PROTOCOL EVENT'],
  [0x48, 0x00, 'INITIATOR DETECTED ERROR MESSAGE RECEIVED'],
  [0x49, 0x00, 'INVALID MESSAGE ERROR'],
  [0x4a, 0x00, 'COMMAND PHASE ERROR'],
  [0x4b, 0x00, 'DATA PHASE ERROR'],
  [0x4b, 0x01, 'INVALID TARGET PORT TRANSFER TAG RECEIVED'],
  [0x4b, 0x02, 'TOO MUCH WRITE DATA'],
  [0x4b, 0x03, 'ACK/NAK TIMEOUT'],
  [0x4b, 0x04, 'NAK RECEIVED'],
  [0x4b, 0x05, 'DATA OFFSET ERROR'],
  [0x4b, 0x06, 'INITIATOR RESPONSE TIMEOUT'],
  [0x4b, 0x07, 'CONNECTION LOST'],
  [0x4c, 0x00, 'LOGICAL UNIT FAILED SELF-CONFIGURATION'],
  [0x4e, 0x00, 'OVERLAPPED COMMANDS ATTEMPTED'],
  [0x53, 0x00, 'MEDIA LOAD OR EJECT FAILED'],
  [0x53, 0x02, 'MEDIUM REMOVAL PREVENTED'],
  [0x55, 0x00, 'SYSTEM RESOURCE FAILURE'],
  [0x55, 0x02, 'INSUFFICIENT RESERVATION RESOURCES'],
  [0x55, 0x03, 'INSUFFICIENT RESOURCES'],
  [0x55, 0x04, 'INSUFFICIENT REGISTRATION RESOURCES'],
  [0x55, 0x0b, 'INSUFFICIENT POWER FOR OPERATION'],
  [0x5d, 0x00, 'FAILURE PREDICTION THRESHOLD EXCEEDED'],
  [0x5d, 0xff, 'FAILURE PREDICTION THRESHOLD EXCEEDED (FALSE)'],
  [0x5e, 0x00, 'LOW POWER CONDITION ON'],
  [0x5e, 0x01, 'IDLE CONDITION ACTIVATED BY TIMER'],
  [0x5e, 0x02, 'STANDBY CONDITION ACTIVATED BY TIMER'],
  [0x5e, 0x03, 'IDLE CONDITION ACTIVATED BY COMMAND'],
  [0x5e, 0x04, 'STANDBY CONDITION ACTIVATED BY COMMAND'],
  [0x65, 0x00, 'VOLTAGE FAULT'],
  [0x67, 0x0a, 'SET TARGET PORT GROUPS COMMAND FAILED'],
  [0x68, 0x00, 'LOGICAL UNIT NOT CONFIGURED'],
  [0x74, 0x71, 'LOGICAL UNIT ACCESS NOT AUTHORIZED'],
];

/**
 * Codes the table does not list, first match wins: the Annex D rows whose ASCQ
 * is a parameter ("NNh"), then the vendor-specific ranges (ASC 80h..FFh; ASCQ
 * 80h..FFh under any standard ASC). Anything else is reserved or unknown.
 */
const ASC_RANGES: readonly {
  readonly asc: readonly [min: number, max: number];
  readonly ascq: readonly [min: number, max: number];
  readonly text: (asc: number, ascq: number) => string;
}[] = [
  { asc: [0x40, 0x40], ascq: [0x80, 0xff], text: (_, q) => `DIAGNOSTIC FAILURE ON COMPONENT ${hh(q)}h` },
  { asc: [0x4d, 0x4d], ascq: [0x00, 0xff], text: (_, q) => `TAGGED OVERLAPPED COMMANDS (TASK TAG ${hh(q)}h)` },
  { asc: [0x70, 0x70], ascq: [0x00, 0xff], text: (_, q) => `DECOMPRESSION EXCEPTION SHORT ALGORITHM ID OF ${hh(q)}h` },
  { asc: [0x80, 0xff], ascq: [0x00, 0xff], text: (a, q) => `VENDOR SPECIFIC ASC ${x2(a)} ASCQ ${x2(q)}` },
  { asc: [0x00, 0x7f], ascq: [0x80, 0xff], text: (a, q) => `ASC ${x2(a)} VENDOR SPECIFIC ASCQ ${x2(q)}` },
];

const ASC_TEXT: ReadonlyMap<number, string> = new Map(ASC_TABLE.map(([asc, ascq, text]) => [(asc << 8) | ascq, text]));

/** Two upper-case hex digits, as T10 writes codes ("24h"). */
const hh = (n: number): string => n.toString(16).toUpperCase().padStart(2, '0');
/** `0x` plus two lower-case hex digits. */
const x2 = (n: number): string => `0x${n.toString(16).padStart(2, '0')}`;

function checkByte(field: string, n: number, max: number): void {
  if (!Number.isInteger(n) || n < 0 || n > max) throw new RangeError(`${field} ${n} is not an integer in 0..${max}`);
}

/**
 * The name of a sense key ("ILLEGAL REQUEST"); the obsolete 0Ch reads "SENSE KEY 0x0c".
 * @throws RangeError if `key` is not an integer in 0..15.
 */
export function senseText(key: number): string {
  checkByte('sense key', key, 0xf);
  return SENSE_KEY_TEXT.get(key) ?? `SENSE KEY ${x2(key)}`;
}

/**
 * The T10 description of an ASC/ASCQ pair ("INVALID FIELD IN CDB"), a range
 * rule's text ("VENDOR SPECIFIC ASC 0x80 ASCQ 0x01"), or "ASC 0x.. ASCQ 0x.."
 * for a reserved or unlisted pair.
 * @throws RangeError if either code is not a byte.
 */
export function ascText(asc: number, ascq: number): string {
  checkByte('ASC', asc, 0xff);
  checkByte('ASCQ', ascq, 0xff);
  const known = ASC_TEXT.get((asc << 8) | ascq);
  if (known !== undefined) return known;
  const rule = ASC_RANGES.find((r) => asc >= r.asc[0] && asc <= r.asc[1] && ascq >= r.ascq[0] && ascq <= r.ascq[1]);
  return rule === undefined ? `ASC ${x2(asc)} ASCQ ${x2(ascq)}` : rule.text(asc, ascq);
}

/**
 * One line for logs and errors, e.g.
 * "ILLEGAL REQUEST: INVALID FIELD IN CDB (24h/00h), CDB byte 1 bit 3" or
 * "MEDIUM ERROR: UNRECOVERED READ ERROR (11h/00h), information 0x1234".
 * Details follow in a fixed order: field pointer, progress or segment pointer,
 * information, command-specific information, FRU code, deferred.
 */
export function describeSense(s: SenseData): string {
  return [`${senseText(s.key)}: ${ascText(s.asc, s.ascq)} (${hh(s.asc)}h/${hh(s.ascq)}h)`, ...senseDetails(s)].join(', ');
}

/** describeSense's details, after the sense key and ASC/ASCQ: for a line whose ASC/ASCQ is said otherwise. */
export function senseDetails(s: SenseData): string[] {
  const parts: string[] = [];
  if (s.field !== undefined) {
    const where = `${s.field.cdb ? 'CDB' : 'parameter list'} byte ${s.field.byte}`;
    parts.push(s.field.bit === undefined ? where : `${where} bit ${s.field.bit}`);
  }
  if (s.segment !== undefined) {
    const where = `${s.segment.segmentDescriptor ? 'segment descriptor' : 'parameter list'} byte ${s.segment.byte}`;
    parts.push(s.segment.bit === undefined ? where : `${where} bit ${s.segment.bit}`);
  }
  // PROGRESS INDICATION is a fraction of 65536; round down so "100%" means done.
  if (s.progress !== undefined) parts.push(`progress ${Math.floor((s.progress * 100) / 0x10000)}%`);
  if (s.information !== undefined) parts.push(`information 0x${s.information.toString(16)}`);
  if (s.commandSpecific !== undefined) parts.push(`command-specific information 0x${s.commandSpecific.toString(16)}`);
  if (s.fru !== undefined) parts.push(`FRU code ${x2(s.fru)}`);
  if (s.deferred === true) parts.push('deferred error');
  return parts;
}
