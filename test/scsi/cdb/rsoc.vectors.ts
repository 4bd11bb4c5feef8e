// REPORT SUPPORTED OPERATION CODES and REPORT SUPPORTED TASK MANAGEMENT
// FUNCTIONS parameter data, written by hand from the SPC-5 tables:
//   all_commands: COMMAND DATA LENGTH (4) then per command OPERATION CODE, rsvd,
//     SERVICE ACTION (2), rsvd, byte 5 = CTDP(1) SERVACTV(0), CDB LENGTH (2),
//     then a 12-byte command timeouts descriptor when CTDP = 1;
//   one_command: rsvd, byte 1 = CTDP(7) SUPPORT(2..0) (011b supported,
//     001b not supported), CDB SIZE (2), CDB USAGE DATA, timeouts descriptor;
//   command timeouts descriptor: DESCRIPTOR LENGTH 000Ah, rsvd, COMMAND
//     SPECIFIC, NOMINAL COMMAND PROCESSING TIMEOUT (4), RECOMMENDED COMMAND TIMEOUT (4);
//   RSTMF: byte 0 ATS ATSS CACAS CTSS LURS QTS TRS WAKES, byte 1 QAES QTSS ITNRS,
//     extended: byte 3 ADDITIONAL DATA LENGTH 0Ch, byte 4 TMFTMOV, bytes 6..7 the
//     timeout selectors, 8..11 TMF LONG TIMEOUT, 12..15 TMF SHORT TIMEOUT.

import type { CommandDescriptor } from '../../../src/scsi/cdb/registry.js';

const u = (h: string): Uint8Array => Uint8Array.from(h.trim().split(/\s+/), (x) => parseInt(x, 16));

/** A small device: listed out of order on purpose (the output is sorted). */
export const smallSet: readonly CommandDescriptor[] = [
  {
    name: 'READ_CAPACITY_16',
    opcode: 0x9e,
    serviceAction: 0x10,
    cdbLength: 16,
    dataDir: 'in',
    usage: u('9e 1f ff ff ff ff ff ff ff ff ff ff ff ff 01 00'),
    recommendedTimeoutS: 0x0102_0304,
  },
  { name: 'TEST_UNIT_READY', opcode: 0x00, cdbLength: 6, dataDir: 'none', usage: u('00 00 00 00 00 00') },
  {
    name: 'READ_10',
    opcode: 0x28,
    cdbLength: 10,
    dataDir: 'in',
    usage: u('28 f8 ff ff ff ff 3f ff ff 00'),
    nominalTimeoutS: 1,
    recommendedTimeoutS: 30,
  },
];

export interface RsocDataVector {
  readonly name: string;
  readonly rctd: boolean;
  readonly reportingOptions: 0 | 1 | 2 | 3;
  readonly opcode: number;
  readonly sa: number;
  readonly hex: string;
}

export const rsocDataVectors: readonly RsocDataVector[] = [
  {
    name: 'all commands, no timeouts',
    rctd: false,
    reportingOptions: 0,
    opcode: 0,
    sa: 0,
    hex: `00 00 00 18
          00 00 00 00 00 00 00 06
          28 00 00 00 00 00 00 0a
          9e 00 00 10 00 01 00 10`,
  },
  {
    name: 'all commands, RCTD: every descriptor has CTDP and a timeouts descriptor',
    rctd: true,
    reportingOptions: 0,
    opcode: 0,
    sa: 0,
    hex: `00 00 00 3c
          00 00 00 00 00 02 00 06  00 0a 00 00 00 00 00 00 00 00 00 00
          28 00 00 00 00 02 00 0a  00 0a 00 00 00 00 00 01 00 00 00 1e
          9e 00 00 10 00 03 00 10  00 0a 00 00 00 00 00 00 01 02 03 04`,
  },
  {
    name: 'all commands ignore the requested opcode/SA',
    rctd: false,
    reportingOptions: 0,
    opcode: 0x9e,
    sa: 0x12,
    hex: '00 00 00 18  00 00 00 00 00 00 00 06  28 00 00 00 00 00 00 0a  9e 00 00 10 00 01 00 10',
  },
  { name: 'one opcode: READ(10)', rctd: false, reportingOptions: 1, opcode: 0x28, sa: 0, hex: '00 03 00 0a  28 f8 ff ff ff ff 3f ff ff 00' },
  {
    name: 'one opcode: READ(10), RCTD',
    rctd: true,
    reportingOptions: 1,
    opcode: 0x28,
    sa: 0,
    hex: '00 83 00 0a  28 f8 ff ff ff ff 3f ff ff 00  00 0a 00 00 00 00 00 01 00 00 00 1e',
  },
  { name: 'one opcode: requested SA is ignored', rctd: false, reportingOptions: 1, opcode: 0x00, sa: 0x1234, hex: '00 03 00 06  00 00 00 00 00 00' },
  { name: 'one opcode: not supported (WRITE(10))', rctd: false, reportingOptions: 1, opcode: 0x2a, sa: 0, hex: '00 01 00 00' },
  { name: 'one opcode: not supported has no timeouts descriptor', rctd: true, reportingOptions: 1, opcode: 0x2a, sa: 0, hex: '00 01 00 00' },
  {
    name: 'opcode + SA: READ CAPACITY(16)',
    rctd: false,
    reportingOptions: 2,
    opcode: 0x9e,
    sa: 0x10,
    // SPC-5 one_command: CDB USAGE DATA byte 1 holds the SERVICE ACTION queried (10h), not the field's mask.
    hex: '00 03 00 10  9e 10 ff ff ff ff ff ff ff ff ff ff ff ff 01 00',
  },
  { name: 'opcode + SA: GET LBA STATUS not supported', rctd: false, reportingOptions: 2, opcode: 0x9e, sa: 0x12, hex: '00 01 00 00' },
  { name: 'opcode + SA: SA above 5 bits not supported', rctd: false, reportingOptions: 2, opcode: 0x9e, sa: 0x0110, hex: '00 01 00 00' },
  { name: 'either: READ(10) with SA 0', rctd: false, reportingOptions: 3, opcode: 0x28, sa: 0, hex: '00 03 00 0a  28 f8 ff ff ff ff 3f ff ff 00' },
  { name: 'either: READ(10) with SA 1 is not supported', rctd: false, reportingOptions: 3, opcode: 0x28, sa: 1, hex: '00 01 00 00' },
  {
    name: 'either: READ CAPACITY(16), RCTD',
    rctd: true,
    reportingOptions: 3,
    opcode: 0x9e,
    sa: 0x10,
    hex: '00 83 00 10  9e 10 ff ff ff ff ff ff ff ff ff ff ff ff 01 00  00 0a 00 00 00 00 00 00 01 02 03 04',
  },
  { name: 'either: SERVICE ACTION IN(16) SA 0 is not supported', rctd: false, reportingOptions: 3, opcode: 0x9e, sa: 0, hex: '00 01 00 00' },
  { name: 'either: unknown opcode', rctd: false, reportingOptions: 3, opcode: 0xff, sa: 0, hex: '00 01 00 00' },
];

/** INVALID FIELD IN CDB, byte 2 bit 2 (REPORTING OPTIONS), as FreeBSD CTL points. */
export const rsocDataFaults: readonly { name: string; reportingOptions: 1 | 2; opcode: number; sa: number }[] = [
  { name: 'option 001b for an opcode with service actions', reportingOptions: 1, opcode: 0x9e, sa: 0x10 },
  { name: 'option 010b for an opcode without service actions', reportingOptions: 2, opcode: 0x28, sa: 0 },
  { name: 'option 010b for an unimplemented opcode (no service actions here)', reportingOptions: 2, opcode: 0x2a, sa: 0 },
];

export const rstmfVectors: readonly { name: string; repd: boolean; tmfs: readonly string[]; timeouts?: { long: number; short: number; useLong: readonly string[] }; hex: string }[] = [
  { name: 'none', repd: false, tmfs: [], hex: '00 00 00 00' },
  {
    name: 'SAM-5 set without CLEAR ACA and WAKEUP',
    repd: false,
    tmfs: ['ABORT_TASK', 'ABORT_TASK_SET', 'CLEAR_TASK_SET', 'LOGICAL_UNIT_RESET', 'QUERY_TASK', 'TARGET_RESET', 'QUERY_ASYNCHRONOUS_EVENT', 'QUERY_TASK_SET', 'I_T_NEXUS_RESET'],
    hex: 'de 07 00 00',
  },
  {
    name: 'all eleven',
    repd: false,
    tmfs: ['ABORT_TASK', 'ABORT_TASK_SET', 'CLEAR_ACA', 'CLEAR_TASK_SET', 'LOGICAL_UNIT_RESET', 'QUERY_TASK', 'TARGET_RESET', 'WAKEUP', 'QUERY_ASYNCHRONOUS_EVENT', 'QUERY_TASK_SET', 'I_T_NEXUS_RESET'],
    hex: 'ff 07 00 00',
  },
  { name: 'extended, no timeouts', repd: true, tmfs: ['ABORT_TASK', 'LOGICAL_UNIT_RESET'], hex: '88 00 00 0c 00 00 00 00 00 00 00 00 00 00 00 00' },
  {
    name: 'extended with timeouts: LU RESET and I_T NEXUS RESET use the long one',
    repd: true,
    tmfs: ['ABORT_TASK', 'LOGICAL_UNIT_RESET', 'I_T_NEXUS_RESET'],
    timeouts: { long: 600, short: 50, useLong: ['LOGICAL_UNIT_RESET', 'I_T_NEXUS_RESET'] },
    hex: '88 01 00 0c 01 00 08 01 00 00 02 58 00 00 00 32',
  },
  {
    name: 'extended, every selector',
    repd: true,
    tmfs: [],
    timeouts: {
      long: 0xffff_ffff,
      short: 0,
      useLong: ['ABORT_TASK', 'ABORT_TASK_SET', 'CLEAR_ACA', 'CLEAR_TASK_SET', 'LOGICAL_UNIT_RESET', 'QUERY_TASK', 'QUERY_ASYNCHRONOUS_EVENT', 'QUERY_TASK_SET', 'I_T_NEXUS_RESET'],
    },
    hex: '00 00 00 0c 01 00 fc 07 ff ff ff ff 00 00 00 00',
  },
];
