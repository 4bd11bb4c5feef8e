// SPC-5 commands of the SBC emulator: TEST UNIT READY, INQUIRY, REQUEST
// SENSE, REPORT LUNS, REPORT SUPPORTED OPERATION CODES, REPORT SUPPORTED TASK
// MANAGEMENT FUNCTIONS, MODE SENSE (6)/(10), MODE SELECT (6)/(10) and SEND
// DIAGNOSTIC. The data builders are in ../inquiry.ts, ../vpd.ts,
// ../mode-pages.ts, ../report-luns.ts and ../cdb/rsoc.ts; here is only what
// the commands do with the unit's state.

import { buildRsocData, buildRstmfData } from '../cdb/rsoc.js';
import { SelfTestCode, type SendDiagnosticCdb } from '../cdb/misc.js';
import { ModePageControl } from '../cdb/mode.js';
import { buildStandardInquiry } from '../inquiry.js';
import { applyModeSelect, buildModeSense, type PageControl } from '../mode-pages.js';
import { reportLuns } from '../report-luns.js';
import { encodeSense } from '../sense-codec.js';
import { Asc, SenseKey, invalidFieldInCdb, invalidFieldInParameterList, sense } from '../sense.js';
import { buildVpdPage } from '../vpd.js';
import { GOOD, checkCondition, fromDecoded, goodData, type HandlerTable } from './context.js';
import { STOPPED_BY_ABORT, UnitAttention } from './errors.js';

const PAGE_CONTROL: Readonly<Record<ModePageControl, PageControl>> = {
  [ModePageControl.CURRENT]: 'current',
  [ModePageControl.CHANGEABLE]: 'changeable',
  [ModePageControl.DEFAULT]: 'default',
  [ModePageControl.SAVED]: 'saved',
};

// SEND DIAGNOSTIC byte 1: SELF-TEST CODE (7..5), PF (4).
const SELF_TEST_CODE_FIELD = { byte: 1, bit: 7 } as const;
const PF_FIELD = { byte: 1, bit: 4 } as const;

/**
 * Whether a SEND DIAGNOSTIC runs a self-test that reads the medium (the
 * default one, SELFTEST 1, and the foreground short one): one block at LBA 0,
 * then one at the last LBA, one after the other (see sendDiagnostic below).
 */
export const selfTestReads = (f: SendDiagnosticCdb): boolean => f.selfTest || f.selfTestCode === SelfTestCode.FOREGROUND_SHORT;

export const SPC_HANDLERS: HandlerTable = {
  testUnitReady: {
    medium: true,
    run: () => GOOD,
  },

  inquiry: {
    medium: false,
    run: (lu, { fields }) =>
      fields.evpd ? fromDecoded(buildVpdPage(lu.info, fields.pageCode), fields.allocationLength) : goodData(buildStandardInquiry(lu.info), fields.allocationLength),
  },

  // SPC-5 REQUEST SENSE: the pending unit attention or deferred error (and it is
  // then cleared), else NOT READY while the medium is absent or the unit
  // stopped, else NO SENSE; always GOOD.
  // DESC picks the format for this data (D_SENSE is for CHECK CONDITION sense).
  requestSense: {
    medium: false,
    run: (lu, { fields, nexus }) => {
      const pending = lu.takePendingSense(nexus) ?? lu.mediumFault() ?? sense(SenseKey.NO_SENSE, Asc.NO_ADDITIONAL_SENSE);
      return goodData(encodeSense(pending, fields.desc ? 'descriptor' : 'fixed'), fields.allocationLength);
    },
  },

  reportLuns: {
    medium: false,
    // SPC-5: REPORT LUNS clears a REPORTED LUNS DATA HAS CHANGED unit attention of its I_T nexus.
    run: (lu, { fields, nexus }) => {
      const r = reportLuns(lu.luns, fields.selectReport);
      if (r.ok) lu.clearUnitAttention(nexus, UnitAttention.REPORTED_LUNS_DATA_HAS_CHANGED);
      return fromDecoded(r, fields.allocationLength);
    },
  },

  rsoc: {
    medium: false,
    run: (lu, { fields }) => fromDecoded(buildRsocData(lu.commands, fields), fields.allocationLength),
  },

  rstmf: {
    medium: false,
    run: (lu, { fields }) => goodData(buildRstmfData(lu.taskManagementFunctions, fields), fields.allocationLength),
  },

  modeSense: {
    medium: false,
    run: (lu, { fields, descriptor }) => {
      const req = {
        six: descriptor.cdbLength === 6,
        dbd: fields.dbd,
        llbaa: fields.llbaa,
        pc: PAGE_CONTROL[fields.pc],
        page: fields.pageCode,
        subpage: fields.subpageCode,
      };
      return fromDecoded(buildModeSense(req, lu.modeState(), lu.info), fields.allocationLength);
    },
  },

  modeSelect: {
    medium: false,
    parameterList: true,
    dataOutLength: (_lu, f) => f.parameterListLength,
    run: async (lu, { fields, descriptor, dataOut, nexus, epoch, aborted }) => {
      // Fewer bytes than PARAMETER LIST LENGTH came: the list ends early, so a
      // page the initiator meant to send may be missing. Cut at a page boundary
      // the bytes alone look valid (the header has no total length in MODE
      // SELECT), so check against the CDB: PARAMETER LIST LENGTH ERROR (SPC-5),
      // as for a page cut short, and nothing is applied. SP (a CDB field) is judged first.
      if (!fields.sp && dataOut.length < fields.parameterListLength) return checkCondition(sense(SenseKey.ILLEGAL_REQUEST, Asc.PARAMETER_LIST_LENGTH_ERROR));
      const req = { six: descriptor.cdbLength === 6, pf: fields.pf, sp: fields.sp };
      // Judged when its turn comes, against what the MODE SELECTs before it left (changeMode): judged
      // here, two running together each wrote back the whole state it had read, undoing the other.
      const failed = await lu.changeMode((current) => applyModeSelect(dataOut, req, current, lu.info), nexus, epoch, aborted);
      return failed === undefined ? GOOD : checkCondition(failed);
    },
  },

  // SPC-5 SEND DIAGNOSTIC. The default self-test (SELFTEST 1) and the
  // foreground short self-test read the first and the last logical block: the
  // path to the medium works or the command fails with the read's sense. The
  // background and extended self-tests need the Self-Test Results log page,
  // which vtcam does not have, so their codes are INVALID FIELD IN CDB. With
  // SELFTEST 0 and code 000b the parameter list holds diagnostic pages: none
  // is supported, so an empty list is the only valid one. An aborted
  // self-test issues no further read (SbcCommand.aborted).
  sendDiagnostic: {
    medium: true,
    parameterList: true,
    dataOutLength: (_lu, f) => f.parameterListLength,
    run: async (lu, { fields, dataOut, epoch, aborted }) => {
      const f = fields;
      const readTest = selfTestReads(f);
      if (!readTest && f.selfTestCode !== SelfTestCode.DEFAULT) return checkCondition(invalidFieldInCdb(SELF_TEST_CODE_FIELD.byte, SELF_TEST_CODE_FIELD.bit));
      if (!readTest) {
        if (f.parameterListLength === 0) return GOOD;
        if (!f.pf) return checkCondition(invalidFieldInCdb(PF_FIELD.byte, PF_FIELD.bit));
        if (dataOut.length < 4) return checkCondition(sense(SenseKey.ILLEGAL_REQUEST, Asc.PARAMETER_LIST_LENGTH_ERROR));
        return checkCondition(invalidFieldInParameterList(0)); // PAGE CODE: no diagnostic page is supported
      }
      const block = new Uint8Array(lu.info.blockSize);
      for (const lba of [0n, lu.info.blocks - 1n]) {
        if (aborted()) return checkCondition(STOPPED_BY_ABORT);
        const failed = await lu.run(epoch, 'read', () => lu.bcs.read(lba, block, aborted), lba);
        if (failed !== undefined) return checkCondition(failed);
      }
      return GOOD;
    },
  },
};
