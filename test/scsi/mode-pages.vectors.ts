// Mode parameter vectors, written by hand from the T10 tables:
//   mode parameter header (6):  MODE DATA LENGTH | MEDIUM TYPE | DEVICE-SPECIFIC PARAMETER | BLOCK DESCRIPTOR LENGTH
//   mode parameter header (10): MODE DATA LENGTH (2) | MEDIUM TYPE | DEVICE-SPECIFIC | reserved(7..1) LONGLBA(0) | reserved | BLOCK DESCRIPTOR LENGTH (2)
//   SBC-4 DEVICE-SPECIFIC PARAMETER: WP (7) | reserved | DPOFUA (4) | reserved
//   SBC-4 short LBA block descriptor: NUMBER OF LOGICAL BLOCKS (4) | reserved | LOGICAL BLOCK LENGTH (3)
//   SBC-4 long LBA block descriptor:  NUMBER OF LOGICAL BLOCKS (8) | reserved (4) | LOGICAL BLOCK LENGTH (4)
//   pages: PS|SPF|PAGE CODE, PAGE LENGTH, then the page's table:
//     01h Read-Write Error Recovery (0Ah): byte 2 AWRE ARRE TB RC EER PER DTE DCR, 3 READ RETRY COUNT, 4..6 obsolete,
//         7 LBPERE MWR(6..5) reserved, 8 WRITE RETRY COUNT, 9 reserved, 10..11 RECOVERY TIME LIMIT
//     08h Caching (12h): byte 2 IC ABPF CAP DISC SIZE WCE MF RCD, 3 DRRP|WRP, 4..11 pre-fetch fields,
//         12 FSW LBCSS DRA VS(4..3) SYNC_PROG(2..1) NV_DIS, 13 NUMBER OF CACHE SEGMENTS, 14..15 CACHE SEGMENT SIZE,
//         16 reserved, 17..19 obsolete
//     0Ah Control (0Ah): byte 2 TST(7..5) TMF_ONLY DPICZ D_SENSE GLTSD RLEC, 3 QAM(7..4) NUAR QERR(2..1) obsolete,
//         4 VS RAC UA_INTLCK_CTRL(5..4) SWP obsolete(2..0), 5 ATO TAS ATMPE RWWP SBLP AUTOLOAD MODE(2..0),
//         6..7 obsolete, 8..9 BUSY TIMEOUT PERIOD, 10..11 EXTENDED SELF-TEST COMPLETION TIME
//     1Ch Informational Exceptions Control (0Ah): byte 2 PERF reserved EBF EWASC DEXCPT TEST EBACKERR LOGERR,
//         3 reserved(7..4) MRIE(3..0), 4..7 INTERVAL TIMER, 8..11 REPORT COUNT
// vtcam defaults: AWRE ARRE; WCE from the info; QAM 1h, GLTSD 1; DEXCPT 1. Changeable: WCE, D_SENSE.

import type { LogicalUnitInfo } from '../../src/scsi/device-info.js';
import type { ModeSelectRequest, ModeSenseRequest, ModeState } from '../../src/scsi/mode-pages.js';
import { bigReadOnly, disk, z } from './inquiry.vectors.js';

export const RWER_DEFAULT = '01 0a  c0 00 00 00 00 00 00 00 00 00';
export const RWER_CHANGEABLE = '01 0a' + z(10);
export const CACHING_WCE1 = '08 12  04' + z(17);
export const CACHING_WCE0 = '08 12  00' + z(17);
export const CACHING_CHANGEABLE = '08 12  04' + z(17); // WCE only
export const CONTROL_DSENSE0 = '0a 0a  02 10' + z(8); // GLTSD, QAM 1h
export const CONTROL_DSENSE1 = '0a 0a  06 10' + z(8); // D_SENSE, GLTSD, QAM 1h
export const CONTROL_CHANGEABLE = '0a 0a  04 00 08' + z(7); // D_SENSE (byte 2 bit 2), SWP (byte 4 bit 3)
export const IEC_DEFAULT = '1c 0a  08 00' + z(8); // DEXCPT
export const IEC_CHANGEABLE = '1c 0a' + z(10);

const DISK_SHORT_BD = '00 20 00 00  00 00 02 00'; // 200000h blocks of 512
const DISK_LONG_BD = '00 00 00 00 00 20 00 00  00 00 00 00  00 00 02 00';
const BIG_SHORT_BD = 'ff ff ff ff  00 00 10 00'; // 2^32 + 1 blocks do not fit: FFFFFFFFh
const BIG_LONG_BD = '00 00 00 01 00 00 00 01  00 00 00 00  00 00 10 00';

export const stateDefault: ModeState = { wce: true, dSense: false, swp: false };
const stateOff: ModeState = { wce: false, dSense: true, swp: false };

const sense6 = (page: number, extra: Partial<ModeSenseRequest> = {}): ModeSenseRequest => ({ six: true, dbd: true, llbaa: false, pc: 'current', page, subpage: 0, ...extra });
const sense10 = (page: number, extra: Partial<ModeSenseRequest> = {}): ModeSenseRequest => ({ six: false, dbd: true, llbaa: false, pc: 'current', page, subpage: 0, ...extra });

export interface ModeSenseVector {
  readonly name: string;
  readonly info: LogicalUnitInfo;
  readonly state: ModeState;
  readonly req: ModeSenseRequest;
  readonly hex: string;
}

export const modeSenseVectors: readonly ModeSenseVector[] = [
  // Each page in current / changeable / default (MODE SENSE (6), DBD: header 4 bytes, DPOFUA).
  { name: '01h current', info: disk, state: stateDefault, req: sense6(0x01), hex: '0f 00 10 00  ' + RWER_DEFAULT },
  { name: '01h changeable', info: disk, state: stateDefault, req: sense6(0x01, { pc: 'changeable' }), hex: '0f 00 10 00  ' + RWER_CHANGEABLE },
  { name: '01h default', info: disk, state: stateOff, req: sense6(0x01, { pc: 'default' }), hex: '0f 00 10 00  ' + RWER_DEFAULT },
  { name: '08h current, WCE 1', info: disk, state: stateDefault, req: sense6(0x08), hex: '17 00 10 00  ' + CACHING_WCE1 },
  { name: '08h current, WCE 0', info: disk, state: stateOff, req: sense6(0x08), hex: '17 00 10 00  ' + CACHING_WCE0 },
  { name: '08h changeable', info: disk, state: stateOff, req: sense6(0x08, { pc: 'changeable' }), hex: '17 00 10 00  ' + CACHING_CHANGEABLE },
  { name: '08h changeable, WCE fixed: nothing changeable', info: { ...disk, writeCacheChangeable: false }, state: stateDefault, req: sense6(0x08, { pc: 'changeable' }), hex: '17 00 10 00  08 12' + z(18) },
  { name: '08h default ignores the state (WCE 1 from the info)', info: disk, state: stateOff, req: sense6(0x08, { pc: 'default' }), hex: '17 00 10 00  ' + CACHING_WCE1 },
  { name: '08h default, write cache off in the info, WP', info: bigReadOnly, state: stateDefault, req: sense6(0x08, { pc: 'default' }), hex: '17 00 90 00  ' + CACHING_WCE0 },
  { name: '0Ah current, D_SENSE 0', info: disk, state: stateDefault, req: sense6(0x0a), hex: '0f 00 10 00  ' + CONTROL_DSENSE0 },
  { name: '0Ah current, D_SENSE 1', info: disk, state: stateOff, req: sense6(0x0a), hex: '0f 00 10 00  ' + CONTROL_DSENSE1 },
  { name: '0Ah changeable', info: disk, state: stateDefault, req: sense6(0x0a, { pc: 'changeable' }), hex: '0f 00 10 00  ' + CONTROL_CHANGEABLE },
  { name: '0Ah default ignores the state', info: disk, state: stateOff, req: sense6(0x0a, { pc: 'default' }), hex: '0f 00 10 00  ' + CONTROL_DSENSE0 },
  { name: '1Ch current', info: disk, state: stateOff, req: sense6(0x1c), hex: '0f 00 10 00  ' + IEC_DEFAULT },
  { name: '1Ch changeable', info: disk, state: stateDefault, req: sense6(0x1c, { pc: 'changeable' }), hex: '0f 00 10 00  ' + IEC_CHANGEABLE },
  { name: '1Ch default', info: disk, state: stateDefault, req: sense6(0x1c, { pc: 'default' }), hex: '0f 00 10 00  ' + IEC_DEFAULT },

  // Headers and block descriptors.
  { name: '(6) short block descriptor', info: disk, state: stateDefault, req: sense6(0x08, { dbd: false }), hex: '1f 00 10 08  ' + DISK_SHORT_BD + '  ' + CACHING_WCE1 },
  { name: '(10) no block descriptor', info: disk, state: stateDefault, req: sense10(0x08), hex: '00 1a 00 10 00 00 00 00  ' + CACHING_WCE1 },
  { name: '(10) short block descriptor', info: disk, state: stateDefault, req: sense10(0x08, { dbd: false }), hex: '00 22 00 10 00 00 00 08  ' + DISK_SHORT_BD + '  ' + CACHING_WCE1 },
  {
    name: '(10) LLBAA: long block descriptor, LONGLBA 1',
    info: disk,
    state: stateDefault,
    req: sense10(0x08, { dbd: false, llbaa: true }),
    hex: '00 2a 00 10 01 00 00 10  ' + DISK_LONG_BD + '  ' + CACHING_WCE1,
  },
  { name: '(10) LLBAA with DBD: no descriptor, LONGLBA 0', info: disk, state: stateDefault, req: sense10(0x08, { llbaa: true }), hex: '00 1a 00 10 00 00 00 00  ' + CACHING_WCE1 },
  {
    name: '(6) WP, NUMBER OF LOGICAL BLOCKS FFFFFFFFh when too big',
    info: bigReadOnly,
    state: stateDefault,
    req: sense6(0x01, { dbd: false }),
    hex: '17 00 90 08  ' + BIG_SHORT_BD + '  ' + RWER_DEFAULT,
  },
  {
    name: '(10) WP, long descriptor carries the full count',
    info: bigReadOnly,
    state: stateDefault,
    req: sense10(0x01, { dbd: false, llbaa: true }),
    hex: '00 22 00 90 01 00 00 10  ' + BIG_LONG_BD + '  ' + RWER_DEFAULT,
  },
  {
    name: 'changeable values: header and block descriptor stay current',
    info: bigReadOnly,
    state: stateDefault,
    req: sense6(0x08, { dbd: false, pc: 'changeable' }),
    hex: '1f 00 90 08  ' + BIG_SHORT_BD + '  ' + CACHING_CHANGEABLE,
  },

  // All pages, ascending; subpage FFh.
  {
    name: '(6) 3Fh/00h all pages, current',
    info: disk,
    state: stateDefault,
    req: sense6(0x3f),
    hex: '3b 00 10 00  ' + RWER_DEFAULT + '  ' + CACHING_WCE1 + '  ' + CONTROL_DSENSE0 + '  ' + IEC_DEFAULT,
  },
  {
    name: '(10) 3Fh/FFh all pages and subpages, changeable, with block descriptor',
    info: disk,
    state: stateDefault,
    req: sense10(0x3f, { subpage: 0xff, dbd: false, pc: 'changeable' }),
    hex: '00 46 00 10 00 00 00 08  ' + DISK_SHORT_BD + '  ' + RWER_CHANGEABLE + '  ' + CACHING_CHANGEABLE + '  ' + CONTROL_CHANGEABLE + '  ' + IEC_CHANGEABLE,
  },
  {
    name: '(10) 3Fh default, after a state change',
    info: disk,
    state: stateOff,
    req: sense10(0x3f, { pc: 'default' }),
    hex: '00 3e 00 10 00 00 00 00  ' + RWER_DEFAULT + '  ' + CACHING_WCE1 + '  ' + CONTROL_DSENSE0 + '  ' + IEC_DEFAULT,
  },
  { name: '08h/FFh is the page itself (no subpages)', info: disk, state: stateDefault, req: sense6(0x08, { subpage: 0xff }), hex: '17 00 10 00  ' + CACHING_WCE1 },
];

const invalidCdb = (byte: number, bit?: number) => ({ key: 0x5, asc: 0x24, ascq: 0x00, field: bit === undefined ? { cdb: true, byte } : { cdb: true, byte, bit } });
const invalidParam = (byte: number, bit?: number) => ({ key: 0x5, asc: 0x26, ascq: 0x00, field: bit === undefined ? { cdb: false, byte } : { cdb: false, byte, bit } });
const PARAMETER_LIST_LENGTH_ERROR = { key: 0x5, asc: 0x1a, ascq: 0x00 };

export interface ModeSenseFaultVector {
  readonly name: string;
  readonly req: ModeSenseRequest;
  readonly fault: object;
}

export const modeSenseFaultVectors: readonly ModeSenseFaultVector[] = [
  { name: 'page 00h (vendor specific) → PAGE CODE, byte 2 bit 5', req: sense6(0x00), fault: invalidCdb(2, 5) },
  { name: 'page 02h (Disconnect-Reconnect, not supported)', req: sense6(0x02), fault: invalidCdb(2, 5) },
  { name: 'page 1Ah (Power Condition, not supported)', req: sense10(0x1a), fault: invalidCdb(2, 5) },
  { name: 'page 3Eh', req: sense10(0x3e), fault: invalidCdb(2, 5) },
  { name: 'subpage 01h of 08h → SUBPAGE CODE, byte 3', req: sense6(0x08, { subpage: 0x01 }), fault: invalidCdb(3) },
  { name: 'subpage 01h of 0Ah (Control Extension, not supported)', req: sense10(0x0a, { subpage: 0x01 }), fault: invalidCdb(3) },
  { name: 'subpage FEh of 3Fh', req: sense10(0x3f, { subpage: 0xfe }), fault: invalidCdb(3) },
  {
    name: 'saved values → SAVING PARAMETERS NOT SUPPORTED, PC byte 2 bit 7',
    req: sense6(0x08, { pc: 'saved' }),
    fault: { key: 0x5, asc: 0x39, ascq: 0x00, field: { cdb: true, byte: 2, bit: 7 } },
  },
  { name: 'saved values of all pages', req: sense10(0x3f, { pc: 'saved' }), fault: { key: 0x5, asc: 0x39, ascq: 0x00, field: { cdb: true, byte: 2, bit: 7 } } },
  { name: 'an unsupported page is reported before saved values', req: sense6(0x02, { pc: 'saved' }), fault: invalidCdb(2, 5) },
];

const sel6: ModeSelectRequest = { six: true, pf: true, sp: false };
const sel10: ModeSelectRequest = { six: false, pf: true, sp: false };
const HDR6 = '00 00 00 00';
const HDR6_BD = '00 00 00 08';
const HDR10 = '00 00 00 00 00 00 00 00';
const HDR10_LONG_BD = '00 00 00 00 01 00 00 10';

export interface ModeSelectVector {
  readonly name: string;
  readonly info: LogicalUnitInfo;
  readonly state: ModeState;
  readonly req: ModeSelectRequest;
  readonly params: string;
  readonly result: { readonly state: ModeState; readonly changed: boolean } | { readonly fault: object };
}

export const modeSelectVectors: readonly ModeSelectVector[] = [
  // Good path.
  { name: '(6) WCE off', info: disk, state: stateDefault, req: sel6, params: HDR6 + ' ' + CACHING_WCE0, result: { state: { wce: false, dSense: false, swp: false }, changed: true } },
  { name: '(10) D_SENSE on', info: disk, state: stateDefault, req: sel10, params: HDR10 + ' ' + CONTROL_DSENSE1, result: { state: { wce: true, dSense: true, swp: false }, changed: true } },
  {
    name: '(6) block descriptor and both pages',
    info: disk,
    state: stateDefault,
    req: sel6,
    params: HDR6_BD + ' ' + DISK_SHORT_BD + ' ' + CACHING_WCE0 + ' ' + CONTROL_DSENSE1,
    result: { state: { wce: false, dSense: true, swp: false }, changed: true },
  },
  { name: 'flip both back', info: disk, state: stateOff, req: sel6, params: HDR6 + ' ' + CONTROL_DSENSE0 + ' ' + CACHING_WCE1, result: { state: stateDefault, changed: true } },
  { name: 'same values: not changed', info: disk, state: stateDefault, req: sel6, params: HDR6 + ' ' + CACHING_WCE1, result: { state: stateDefault, changed: false } },
  { name: 'empty parameter list is not an error', info: disk, state: stateDefault, req: sel6, params: '', result: { state: stateDefault, changed: false } },
  { name: 'empty parameter list with PF 0', info: disk, state: stateDefault, req: { ...sel10, pf: false }, params: '', result: { state: stateDefault, changed: false } },
  { name: 'header only with PF 0', info: disk, state: stateDefault, req: { ...sel6, pf: false }, params: HDR6, result: { state: stateDefault, changed: false } },
  { name: 'header and block descriptor with PF 0', info: disk, state: stateDefault, req: { ...sel6, pf: false }, params: HDR6_BD + ' ' + DISK_SHORT_BD, result: { state: stateDefault, changed: false } },
  { name: 'NUMBER OF LOGICAL BLOCKS 0 keeps the capacity', info: disk, state: stateDefault, req: sel6, params: HDR6_BD + ' 00 00 00 00 00 00 02 00', result: { state: stateDefault, changed: false } },
  { name: '(10) long descriptor, count 0', info: disk, state: stateDefault, req: sel10, params: HDR10_LONG_BD + ' 00 00 00 00 00 00 00 00  00 00 00 00  00 00 02 00', result: { state: stateDefault, changed: false } },
  { name: '(10) long descriptor, the full count', info: bigReadOnly, state: stateDefault, req: sel10, params: HDR10_LONG_BD + ' ' + BIG_LONG_BD, result: { state: stateDefault, changed: false } },
  { name: '(6) short descriptor FFFFFFFFh for a capacity that does not fit', info: bigReadOnly, state: stateDefault, req: sel6, params: HDR6_BD + ' ' + BIG_SHORT_BD, result: { state: stateDefault, changed: false } },
  {
    name: 'MODE SENSE data echoed back (MODE DATA LENGTH, WP, DPOFUA ignored)',
    info: disk,
    state: stateDefault,
    req: sel6,
    params: '43 00 90 08  ' + DISK_SHORT_BD + '  ' + RWER_DEFAULT + '  ' + CACHING_WCE1 + '  ' + CONTROL_DSENSE0 + '  ' + IEC_DEFAULT,
    result: { state: stateDefault, changed: false },
  },
  { name: 'PS bit is reserved in MODE SELECT and ignored', info: disk, state: stateDefault, req: sel6, params: HDR6 + ' 88 12 00' + z(17), result: { state: { wce: false, dSense: false, swp: false }, changed: true } },
  { name: 'the last copy of a page wins', info: disk, state: stateDefault, req: sel6, params: HDR6 + ' ' + CACHING_WCE0 + ' ' + CACHING_WCE1, result: { state: stateDefault, changed: false } },
  { name: 'WCE fixed (writeCacheChangeable false): echoing the current value is fine', info: { ...disk, writeCacheChangeable: false }, state: stateDefault, req: sel6, params: HDR6 + ' ' + CACHING_WCE1, result: { state: stateDefault, changed: false } },
  { name: 'WCE is changeable on a read-only unit too', info: bigReadOnly, state: { wce: false, dSense: false, swp: false }, req: sel6, params: HDR6 + ' ' + CACHING_WCE1, result: { state: { wce: true, dSense: false, swp: false }, changed: true } },

  // CDB faults.
  { name: 'SP 1 → INVALID FIELD IN CDB byte 1 bit 0', info: disk, state: stateDefault, req: { ...sel6, sp: true }, params: HDR6 + ' ' + CACHING_WCE0, result: { fault: invalidCdb(1, 0) } },
  { name: 'SP 1 with an empty list', info: disk, state: stateDefault, req: { ...sel10, sp: true }, params: '', result: { fault: invalidCdb(1, 0) } },
  { name: 'PF 0 with page data → INVALID FIELD IN CDB byte 1 bit 4', info: disk, state: stateDefault, req: { ...sel6, pf: false }, params: HDR6 + ' ' + CACHING_WCE0, result: { fault: invalidCdb(1, 4) } },

  // Header and block descriptor faults.
  { name: '(6) header truncated → PARAMETER LIST LENGTH ERROR', info: disk, state: stateDefault, req: sel6, params: '00 00 00', result: { fault: PARAMETER_LIST_LENGTH_ERROR } },
  { name: '(10) header truncated', info: disk, state: stateDefault, req: sel10, params: '00 00 00 00 00 00 00', result: { fault: PARAMETER_LIST_LENGTH_ERROR } },
  { name: '(6) BLOCK DESCRIPTOR LENGTH 4 → byte 3', info: disk, state: stateDefault, req: sel6, params: '00 00 00 04  00 00 00 00', result: { fault: invalidParam(3) } },
  { name: '(6) two block descriptors → byte 3', info: disk, state: stateDefault, req: sel6, params: '00 00 00 10  ' + DISK_SHORT_BD + ' ' + DISK_SHORT_BD, result: { fault: invalidParam(3) } },
  { name: '(10) 16-byte descriptor without LONGLBA → byte 6', info: disk, state: stateDefault, req: sel10, params: '00 00 00 00 00 00 00 10  ' + DISK_LONG_BD, result: { fault: invalidParam(6) } },
  { name: '(10) 8-byte descriptor with LONGLBA → byte 6', info: disk, state: stateDefault, req: sel10, params: '00 00 00 00 01 00 00 08  ' + DISK_SHORT_BD, result: { fault: invalidParam(6) } },
  { name: '(6) block descriptor truncated', info: disk, state: stateDefault, req: sel6, params: HDR6_BD + ' 00 20 00 00 00 00 02', result: { fault: PARAMETER_LIST_LENGTH_ERROR } },
  { name: '(6) NUMBER OF LOGICAL BLOCKS 5 → byte 4', info: disk, state: stateDefault, req: sel6, params: HDR6_BD + ' 00 00 00 05  00 00 02 00', result: { fault: invalidParam(4) } },
  { name: '(6) NUMBER OF LOGICAL BLOCKS one too many', info: disk, state: stateDefault, req: sel6, params: HDR6_BD + ' 00 20 00 01  00 00 02 00', result: { fault: invalidParam(4) } },
  { name: '(6) LOGICAL BLOCK LENGTH 4096 on a 512 unit → byte 9', info: disk, state: stateDefault, req: sel6, params: HDR6_BD + ' 00 20 00 00  00 00 10 00', result: { fault: invalidParam(9) } },
  { name: '(6) LOGICAL BLOCK LENGTH 0', info: disk, state: stateDefault, req: sel6, params: HDR6_BD + ' 00 00 00 00  00 00 00 00', result: { fault: invalidParam(9) } },
  { name: '(10) long LOGICAL BLOCK LENGTH 4096 → byte 20', info: disk, state: stateDefault, req: sel10, params: HDR10_LONG_BD + ' 00 00 00 00 00 20 00 00  00 00 00 00  00 00 10 00', result: { fault: invalidParam(20) } },
  { name: '(10) long NUMBER OF LOGICAL BLOCKS wrong → byte 8', info: bigReadOnly, state: stateDefault, req: sel10, params: HDR10_LONG_BD + ' 00 00 00 01 00 00 00 02  00 00 00 00  00 00 10 00', result: { fault: invalidParam(8) } },
  { name: '(6) short FFFFFFFFh on a unit that fits → byte 4', info: disk, state: stateDefault, req: sel6, params: HDR6_BD + ' ff ff ff ff  00 00 02 00', result: { fault: invalidParam(4) } },

  // Page framing faults.
  { name: 'unsupported page 02h → byte 4 bit 5', info: disk, state: stateDefault, req: sel6, params: HDR6 + ' 02 0e' + z(14), result: { fault: invalidParam(4, 5) } },
  { name: 'page 3Fh is not a page → byte 4 bit 5', info: disk, state: stateDefault, req: sel6, params: HDR6 + ' 3f 0a' + z(10), result: { fault: invalidParam(4, 5) } },
  { name: '(10) unsupported page after a block descriptor → byte 24 bit 5', info: disk, state: stateDefault, req: sel10, params: HDR10_LONG_BD + ' ' + DISK_LONG_BD + ' 00 00', result: { fault: invalidParam(24, 5) } },
  { name: 'SPF 1 (sub_page format) → SUBPAGE CODE byte 5', info: disk, state: stateDefault, req: sel6, params: HDR6 + ' 4a 01 00 1c' + z(28), result: { fault: invalidParam(5) } },
  { name: 'SPF 1 even when the SUBPAGE CODE byte equals the PAGE LENGTH → byte 5', info: disk, state: stateDefault, req: sel6, params: HDR6 + ' 4a 0a 00 0a' + z(10), result: { fault: invalidParam(5) } },
  { name: 'PAGE LENGTH 0Ah for Caching → byte 5', info: disk, state: stateDefault, req: sel6, params: HDR6 + ' 08 0a' + z(10), result: { fault: invalidParam(5) } },
  { name: 'PAGE LENGTH 0 for Control', info: disk, state: stateDefault, req: sel6, params: HDR6 + ' 0a 00', result: { fault: invalidParam(5) } },
  { name: 'page truncated → PARAMETER LIST LENGTH ERROR', info: disk, state: stateDefault, req: sel6, params: HDR6 + ' 08 12 04' + z(7), result: { fault: PARAMETER_LIST_LENGTH_ERROR } },
  { name: 'one stray byte after a page', info: disk, state: stateDefault, req: sel6, params: HDR6 + ' ' + CACHING_WCE1 + ' 0a', result: { fault: PARAMETER_LIST_LENGTH_ERROR } },

  // Non-changeable fields: pointer at the field holding the first differing bit (its MSB; no bit for whole bytes).
  { name: 'RCD → byte 6 bit 0', info: disk, state: stateDefault, req: sel6, params: HDR6 + ' 08 12 05' + z(17), result: { fault: invalidParam(6, 0) } },
  { name: '(10) RCD → byte 10 bit 0', info: disk, state: stateDefault, req: sel10, params: HDR10 + ' 08 12 05' + z(17), result: { fault: invalidParam(10, 0) } },
  { name: '(6) with block descriptor, RCD → byte 14 bit 0', info: disk, state: stateDefault, req: sel6, params: HDR6_BD + ' ' + DISK_SHORT_BD + ' 08 12 05' + z(17), result: { fault: invalidParam(14, 0) } },
  { name: 'WCE fixed (writeCacheChangeable false): WCE 0 → byte 6 bit 2', info: { ...disk, writeCacheChangeable: false }, state: stateDefault, req: sel6, params: HDR6 + ' 08 12 00' + z(17), result: { fault: invalidParam(6, 2) } },
  { name: 'Caching NUMBER OF CACHE SEGMENTS → byte 17, whole byte', info: disk, state: stateDefault, req: sel6, params: HDR6 + ' 08 12 04' + z(10) + ' 01' + z(6), result: { fault: invalidParam(17) } },
  { name: 'Caching obsolete bytes 17..19, low byte → byte 21 (field start)', info: disk, state: stateDefault, req: sel6, params: HDR6 + ' 08 12 04' + z(16) + ' 01', result: { fault: invalidParam(21) } },
  { name: 'Caching SYNC_PROG 01b → byte 16 bit 2', info: disk, state: stateDefault, req: sel6, params: HDR6 + ' 08 12 04' + z(9) + ' 02' + z(7), result: { fault: invalidParam(16, 2) } },
  { name: 'Control TST 001b → byte 6 bit 7 (the field MSB, not bit 5)', info: disk, state: stateDefault, req: sel6, params: HDR6 + ' 0a 0a 22 10' + z(8), result: { fault: invalidParam(6, 7) } },
  { name: 'Control QUEUE ALGORITHM MODIFIER 0h → byte 7 bit 7', info: disk, state: stateDefault, req: sel6, params: HDR6 + ' 0a 0a 02 00' + z(8), result: { fault: invalidParam(7, 7) } },
  { name: 'Control QERR 01b → byte 7 bit 2', info: disk, state: stateDefault, req: sel6, params: HDR6 + ' 0a 0a 02 12' + z(8), result: { fault: invalidParam(7, 2) } },
  { name: 'Control GLTSD 0 → byte 6 bit 1', info: disk, state: stateDefault, req: sel6, params: HDR6 + ' 0a 0a 00 10' + z(8), result: { fault: invalidParam(6, 1) } },
  { name: 'Control SWP on', info: disk, state: stateDefault, req: sel6, params: HDR6 + ' 0a 0a 02 10 08' + z(7), result: { state: { wce: true, dSense: false, swp: true }, changed: true } },
  { name: 'Control SWP bit 2 beside it (obsolete) → byte 8 bit 2', info: disk, state: stateDefault, req: sel6, params: HDR6 + ' 0a 0a 02 10 04' + z(7), result: { fault: invalidParam(8, 2) } },
  { name: 'Control TAS → byte 9 bit 6', info: disk, state: stateDefault, req: sel6, params: HDR6 + ' 0a 0a 02 10 00 40' + z(6), result: { fault: invalidParam(9, 6) } },
  { name: 'Control BUSY TIMEOUT PERIOD low byte → byte 12', info: disk, state: stateDefault, req: sel6, params: HDR6 + ' 0a 0a 02 10 00 00 00 00 00 01 00 00', result: { fault: invalidParam(12) } },
  { name: 'Control D_SENSE and TST together: TST comes first', info: disk, state: stateDefault, req: sel6, params: HDR6 + ' 0a 0a 26 10' + z(8), result: { fault: invalidParam(6, 7) } },
  { name: 'IEC MRIE 1h → byte 7 bit 3 (the field MSB)', info: disk, state: stateDefault, req: sel6, params: HDR6 + ' 1c 0a 08 01' + z(8), result: { fault: invalidParam(7, 3) } },
  { name: 'IEC DEXCPT 0 → byte 6 bit 3', info: disk, state: stateDefault, req: sel6, params: HDR6 + ' 1c 0a 00 00' + z(8), result: { fault: invalidParam(6, 3) } },
  { name: 'IEC reserved bit 6 → byte 6 bit 6', info: disk, state: stateDefault, req: sel6, params: HDR6 + ' 1c 0a 48 00' + z(8), result: { fault: invalidParam(6, 6) } },
  { name: 'IEC reserved nibble of byte 3 → byte 7 bit 7', info: disk, state: stateDefault, req: sel6, params: HDR6 + ' 1c 0a 08 10' + z(8), result: { fault: invalidParam(7, 7) } },
  { name: 'IEC INTERVAL TIMER → byte 8', info: disk, state: stateDefault, req: sel6, params: HDR6 + ' 1c 0a 08 00 00 00 00 0a 00 00 00 00', result: { fault: invalidParam(8) } },
  { name: 'R-W Error Recovery AWRE 0 → byte 6 bit 7', info: disk, state: stateDefault, req: sel6, params: HDR6 + ' 01 0a 40' + z(9), result: { fault: invalidParam(6, 7) } },
  { name: 'R-W Error Recovery reserved bit 0 of byte 7 → byte 11 bit 4 (reserved run 4..0)', info: disk, state: stateDefault, req: sel6, params: HDR6 + ' 01 0a c0 00 00 00 00 01 00 00 00 00', result: { fault: invalidParam(11, 4) } },
  { name: 'R-W Error Recovery MWR 01b → byte 11 bit 6', info: disk, state: stateDefault, req: sel6, params: HDR6 + ' 01 0a c0 00 00 00 00 20 00 00 00 00', result: { fault: invalidParam(11, 6) } },
  { name: 'R-W Error Recovery RECOVERY TIME LIMIT → byte 14', info: disk, state: stateDefault, req: sel6, params: HDR6 + ' 01 0a c0 00 00 00 00 00 00 00 ff ff', result: { fault: invalidParam(14) } },
  {
    name: 'a valid page followed by a bad one: fault at the second, nothing applied',
    info: disk,
    state: stateDefault,
    req: sel6,
    params: HDR6 + ' ' + CACHING_WCE0 + ' 0a 0a 22 10' + z(8),
    result: { fault: invalidParam(26, 7) },
  },
];
