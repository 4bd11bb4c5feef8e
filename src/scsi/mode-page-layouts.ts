// The mode pages vtcam supports, as T10 field tables. Spec: SPC-5 (INCITS 502)
// mode parameters (page_0 format, Control and Informational Exceptions Control
// mode pages); SBC-4 (INCITS 506) mode parameters (Read-Write Error Recovery
// and Caching mode pages). Field layouts cross-checked against sdparm's tables.
// What the fields hold is mode-page-values.ts; the mode parameter list that
// carries the pages (MODE SENSE data, MODE SELECT parameter list) is
// mode-pages.ts.
//
// Each page is a T10 table below: every bit of bytes 2..n is covered by exactly
// one field (reserved and obsolete runs included), so a MODE SELECT that
// touches a non-changeable bit is reported at the start of the field holding it
// (SPC-5 field pointer rule: a multi-bit field is pointed at by its most
// significant bit; whole-byte fields get no bit pointer).

/** PAGE CODE values (SPC-5 / SBC-4) vtcam supports, plus the "return all pages" code. */
export const ModePageCode = {
  READ_WRITE_ERROR_RECOVERY: 0x01,
  CACHING: 0x08,
  CONTROL: 0x0a,
  INFORMATIONAL_EXCEPTIONS_CONTROL: 0x1c,
  /** MODE SENSE only: all supported pages, ascending. */
  ALL_PAGES: 0x3f,
} as const;
export type ModePageCode = (typeof ModePageCode)[keyof typeof ModePageCode];

/** SUBPAGE CODE values MODE SENSE accepts: page_0 (00h) and "all subpages" (FFh). */
export const ModeSubpageCode = { PAGE_0: 0x00, ALL_SUBPAGES: 0xff } as const;
export type ModeSubpageCode = (typeof ModeSubpageCode)[keyof typeof ModeSubpageCode];

/** One field of a mode page: `byte` counted from the page start (the PAGE CODE byte), `msb` its top bit there, `bits` its width. */
export interface ModeField {
  readonly name: string;
  readonly byte: number;
  readonly msb: number;
  readonly bits: number;
}

/** A supported mode page: its PAGE LENGTH and the T10 table of bytes 2..PAGE LENGTH+1. */
export interface ModePageLayout {
  readonly code: number;
  readonly name: string;
  readonly pageLength: number;
  readonly fields: readonly ModeField[];
}

const f = (name: string, byte: number, msb: number, bits: number): ModeField => ({ name, byte, msb, bits });

/** SBC-4 Read-Write Error Recovery mode page (01h), PAGE LENGTH 0Ah. */
const READ_WRITE_ERROR_RECOVERY: ModePageLayout = {
  code: ModePageCode.READ_WRITE_ERROR_RECOVERY,
  name: 'Read-Write Error Recovery',
  pageLength: 0x0a,
  fields: [
    f('AWRE', 2, 7, 1), f('ARRE', 2, 6, 1), f('TB', 2, 5, 1), f('RC', 2, 4, 1),
    f('EER', 2, 3, 1), f('PER', 2, 2, 1), f('DTE', 2, 1, 1), f('DCR', 2, 0, 1), // EER, DCR obsolete in SBC-4
    f('READ RETRY COUNT', 3, 7, 8),
    f('Obsolete (CORRECTION SPAN)', 4, 7, 8),
    f('Obsolete (HEAD OFFSET COUNT)', 5, 7, 8),
    f('Obsolete (DATA STROBE OFFSET COUNT)', 6, 7, 8),
    f('LBPERE', 7, 7, 1), f('MWR', 7, 6, 2), f('Reserved', 7, 4, 5),
    f('WRITE RETRY COUNT', 8, 7, 8),
    f('Reserved', 9, 7, 8),
    f('RECOVERY TIME LIMIT', 10, 7, 16),
  ],
};

/** SBC-4 Caching mode page (08h), PAGE LENGTH 12h. */
const CACHING: ModePageLayout = {
  code: ModePageCode.CACHING,
  name: 'Caching',
  pageLength: 0x12,
  fields: [
    f('IC', 2, 7, 1), f('ABPF', 2, 6, 1), f('CAP', 2, 5, 1), f('DISC', 2, 4, 1),
    f('SIZE', 2, 3, 1), f('WCE', 2, 2, 1), f('MF', 2, 1, 1), f('RCD', 2, 0, 1),
    f('DEMAND READ RETENTION PRIORITY', 3, 7, 4), f('WRITE RETENTION PRIORITY', 3, 3, 4),
    f('DISABLE PRE-FETCH TRANSFER LENGTH', 4, 7, 16),
    f('MINIMUM PRE-FETCH', 6, 7, 16),
    f('MAXIMUM PRE-FETCH', 8, 7, 16),
    f('MAXIMUM PRE-FETCH CEILING', 10, 7, 16),
    f('FSW', 12, 7, 1), f('LBCSS', 12, 6, 1), f('DRA', 12, 5, 1), f('Vendor specific', 12, 4, 2),
    f('SYNC_PROG', 12, 2, 2), f('NV_DIS', 12, 0, 1),
    f('NUMBER OF CACHE SEGMENTS', 13, 7, 8),
    f('CACHE SEGMENT SIZE', 14, 7, 16),
    f('Reserved', 16, 7, 8),
    f('Obsolete (NON-CACHE SEGMENT SIZE)', 17, 7, 24),
  ],
};

/** SPC-5 Control mode page (0Ah), PAGE LENGTH 0Ah. */
const CONTROL: ModePageLayout = {
  code: ModePageCode.CONTROL,
  name: 'Control',
  pageLength: 0x0a,
  fields: [
    f('TST', 2, 7, 3), f('TMF_ONLY', 2, 4, 1), f('DPICZ', 2, 3, 1), f('D_SENSE', 2, 2, 1), f('GLTSD', 2, 1, 1), f('RLEC', 2, 0, 1),
    f('QUEUE ALGORITHM MODIFIER', 3, 7, 4), f('NUAR', 3, 3, 1), f('QERR', 3, 2, 2), f('Obsolete (DQUE)', 3, 0, 1),
    f('VS', 4, 7, 1), f('RAC', 4, 6, 1), f('UA_INTLCK_CTRL', 4, 5, 2), f('SWP', 4, 3, 1), f('Obsolete', 4, 2, 3),
    f('ATO', 5, 7, 1), f('TAS', 5, 6, 1), f('ATMPE', 5, 5, 1), f('RWWP', 5, 4, 1), f('SBLP', 5, 3, 1), f('AUTOLOAD MODE', 5, 2, 3),
    f('Obsolete (READY AER HOLDOFF PERIOD)', 6, 7, 16),
    f('BUSY TIMEOUT PERIOD', 8, 7, 16),
    f('EXTENDED SELF-TEST COMPLETION TIME', 10, 7, 16),
  ],
};

/** SPC-5 Informational Exceptions Control mode page (1Ch), PAGE LENGTH 0Ah. */
const INFORMATIONAL_EXCEPTIONS_CONTROL: ModePageLayout = {
  code: ModePageCode.INFORMATIONAL_EXCEPTIONS_CONTROL,
  name: 'Informational Exceptions Control',
  pageLength: 0x0a,
  fields: [
    f('PERF', 2, 7, 1), f('Reserved', 2, 6, 1), f('EBF', 2, 5, 1), f('EWASC', 2, 4, 1),
    f('DEXCPT', 2, 3, 1), f('TEST', 2, 2, 1), f('EBACKERR', 2, 1, 1), f('LOGERR', 2, 0, 1),
    f('Reserved', 3, 7, 4), f('MRIE', 3, 3, 4),
    f('INTERVAL TIMER', 4, 7, 32),
    f('REPORT COUNT', 8, 7, 32),
  ],
};

/** The supported mode pages, ascending by PAGE CODE (the order of a 3Fh request). */
export const MODE_PAGE_LAYOUTS: readonly ModePageLayout[] = [READ_WRITE_ERROR_RECOVERY, CACHING, CONTROL, INFORMATIONAL_EXCEPTIONS_CONTROL];

/** The supported page with this PAGE CODE, if any. */
export function findModePageLayout(code: number): ModePageLayout | undefined {
  return MODE_PAGE_LAYOUTS.find((l) => l.code === code);
}
