// SBC-4 commands about the unit rather than its data: READ CAPACITY (10)/(16),
// SYNCHRONIZE CACHE (10)/(16), PRE-FETCH (10)/(16), FORMAT UNIT and READ
// DEFECT DATA (10)/(12) (START STOP
// UNIT and PREVENT ALLOW MEDIUM REMOVAL are in handlers-medium.ts).

import { buildReadCapacity10Data, buildReadCapacity16Data } from '../capacity-data.js';
import { DEFECT_REQUEST_BYTE, DefectListFormat } from '../cdb/defect-data.js';
import { Asc, invalidFieldInCdb, invalidFieldInParameterList, senseIllegalRequest } from '../sense.js';
import { GOOD, checkCondition, goodData, type CommandOutcome, type HandlerTable, type IssueEpoch, type LogicalUnit } from './context.js';
import type { OperationAborted } from './block-command-set.js';
import { LBA_OUT_OF_RANGE, blocksToEnd, firstFault, lbaRangeFault, writeProtectFault } from './checks.js';

// FORMAT UNIT parameter list header (SBC-4): short 4 bytes, long (LONGLIST) 8 bytes.
const FORMAT_SHORT_HEADER = 4;
const FORMAT_LONG_HEADER = 8;
const PROTECTION_FIELD_USAGE = 0x07; // byte 0 bits 2..0
const FOV = 0x80; // byte 1 bit 7; DPRY (6), DCRT (5), STPF (4), IP (3) need it
const FOV_DEPENDENT = 0x78;
const IP = 0x08; // byte 1 bit 3: an initialization pattern descriptor follows
const P_I_INFORMATION = 0xf0; // long header byte 3 bits 7..4
const FMTPINFO_FIELD = { byte: 1, bit: 7 } as const;

// READ DEFECT DATA parameter data (SBC-4): a 4-byte header (10) or an 8-byte one
// (12, with GENERATION CODE), then the address descriptors.
const DEFECT_HEADER: Readonly<Record<10 | 12, number>> = { 10: 4, 12: 8 };
const PLISTV = 0x10; // header byte 1 bit 4
const GLISTV = 0x08; // header byte 1 bit 3
const DEFECT_LIST_FORMAT_BIT = 2; // most significant bit of DEFECT LIST FORMAT (bits 2..0)

/** Flushes the device cache; `immed` returns at once and reports a failure as a deferred error (background-flush.ts). */
async function synchronize(lu: LogicalUnit, since: IssueEpoch, immed: boolean, nexus: string, aborted: OperationAborted): Promise<CommandOutcome> {
  if (!lu.geometry.flush) return GOOD;
  if (immed) {
    lu.backgroundFlush.request(nexus);
    return GOOD;
  }
  const failed = await lu.run(since, 'flush', () => lu.bcs.flush(aborted));
  return failed === undefined ? GOOD : checkCondition(failed);
}

export const SBC_HANDLERS: HandlerTable = {
  // SBC-4 READ DEFECT DATA (10)/(12). A virtual disk has no defects: both lists
  // exist and are empty, so the data is the header alone, with PLISTV/GLISTV
  // echoing what was requested, the requested DEFECT LIST FORMAT (an empty list
  // is the same in every address descriptor format), DEFECT LIST LENGTH 0 and,
  // in the 12-byte form, GENERATION CODE 0 (generation codes not supported).
  // The vendor-specific format (110b) defines nothing here and 111b is
  // reserved: INVALID FIELD IN CDB at DEFECT LIST FORMAT.
  readDefectData: {
    medium: true,
    run: (_lu, { fields: f, descriptor }) => {
      const len = descriptor.cdbLength === 10 ? 10 : 12;
      if (f.format > DefectListFormat.PHYSICAL_SECTOR) return checkCondition(invalidFieldInCdb(DEFECT_REQUEST_BYTE[len], DEFECT_LIST_FORMAT_BIT));
      const out = new Uint8Array(DEFECT_HEADER[len]);
      out[1] = (f.reqPlist ? PLISTV : 0) | (f.reqGlist ? GLISTV : 0) | f.format;
      return goodData(out, f.allocationLength);
    },
  },

  // PMI (obsolete in SBC-4) asks for the last LBA before a delay; vtcam has no
  // such boundary, so it reports the last LBA, and an LBA past it is out of range.
  readCapacity10: {
    medium: true,
    run: (lu, { fields }) =>
      fields.pmi && fields.lba >= lu.info.blocks ? checkCondition(LBA_OUT_OF_RANGE) : goodData(buildReadCapacity10Data(lu.info)),
  },

  readCapacity16: {
    medium: true,
    run: (lu, { fields }) =>
      fields.pmi && fields.lba >= lu.info.blocks
        ? checkCondition(LBA_OUT_OF_RANGE)
        : goodData(buildReadCapacity16Data(lu.info), fields.allocationLength),
  },

  syncCache: {
    medium: true,
    run: (lu, { fields, nexus, epoch, aborted }) => {
      const fault = lbaRangeFault(lu, fields.lba, fields.blocks);
      return fault !== undefined ? checkCondition(fault) : synchronize(lu, epoch, fields.immed, nexus, aborted);
    },
  },

  // No cache to fill, so nothing is pre-fetched and the answer is GOOD, never
  // CONDITION MET (SBC-4: GOOD when the blocks would not fit the cache).
  prefetch: {
    medium: true,
    run: (lu, { fields }) => {
      const blocks = fields.blocks === 0 ? blocksToEnd(lu, fields.lba) : BigInt(fields.blocks);
      const fault = lbaRangeFault(lu, fields.lba, blocks);
      return fault !== undefined ? checkCondition(fault) : GOOD;
    },
  },

  // SBC-4 FORMAT UNIT, as a no-op: a virtual disk has no defects and nothing
  // to re-initialize. Protection information cannot be formatted in
  // (FMTPINFO, PROTECTION FIELD USAGE), a defect list or an initialization
  // pattern cannot be applied, and the options that need FOV need FOV.
  formatUnit: {
    medium: true,
    parameterList: true,
    dataOutLength: (_lu, f) => (f.fmtdata ? (f.longlist ? FORMAT_LONG_HEADER : FORMAT_SHORT_HEADER) : 0),
    check: (lu, { fields }) =>
      firstFault(
        () => (fields.fmtpinfo !== 0 ? invalidFieldInCdb(FMTPINFO_FIELD.byte, FMTPINFO_FIELD.bit) : undefined),
        () => writeProtectFault(lu),
      ),
    run: (_lu, { fields, dataOut }) => {
      if (!fields.fmtdata) return GOOD;
      const header = fields.longlist ? FORMAT_LONG_HEADER : FORMAT_SHORT_HEADER;
      if (dataOut.length < header) return checkCondition(senseIllegalRequest(Asc.PARAMETER_LIST_LENGTH_ERROR));
      const v = new DataView(dataOut.buffer, dataOut.byteOffset, dataOut.byteLength);
      const b0 = v.getUint8(0);
      const b1 = v.getUint8(1);
      if ((b0 & PROTECTION_FIELD_USAGE) !== 0) return checkCondition(invalidFieldInParameterList(0, 2));
      if ((b1 & FOV) === 0 && (b1 & FOV_DEPENDENT) !== 0) return checkCondition(invalidFieldInParameterList(1, 31 - Math.clz32(b1 & FOV_DEPENDENT)));
      if ((b1 & IP) !== 0) return checkCondition(invalidFieldInParameterList(1, 3));
      // Long header byte 3: P_I_INFORMATION (7..4), PROTECTION INTERVAL EXPONENT (3..0). SPC-5: for a
      // multiple-bit field in error the BIT POINTER is the field's most significant bit.
      if (fields.longlist && (v.getUint8(3) & P_I_INFORMATION) !== 0) return checkCondition(invalidFieldInParameterList(3, 7));
      if (fields.longlist && v.getUint8(3) !== 0) return checkCondition(invalidFieldInParameterList(3, 3));
      const defectListLength = fields.longlist ? v.getUint32(4) : v.getUint16(2);
      if (defectListLength !== 0) return checkCondition(invalidFieldInParameterList(fields.longlist ? 4 : 2));
      return GOOD;
    },
  },
};
