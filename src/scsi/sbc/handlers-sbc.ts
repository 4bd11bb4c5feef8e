// SBC-4 commands about the unit rather than its data: READ CAPACITY (10)/(16),
// START STOP UNIT, PREVENT ALLOW MEDIUM REMOVAL, SYNCHRONIZE CACHE (10)/(16),
// PRE-FETCH (10)/(16) and FORMAT UNIT.

import { buildReadCapacity10Data, buildReadCapacity16Data } from '../capacity-data.js';
import { PowerCondition } from '../cdb/misc.js';
import { Asc, invalidFieldInCdb, invalidFieldInParameterList, senseIllegalRequest } from '../sense.js';
import { GOOD, checkCondition, goodData, type CommandOutcome, type HandlerTable, type LogicalUnit } from './context.js';
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

/** Flushes the device cache; `immed` returns at once and reports a failure as a deferred error. */
async function synchronize(lu: LogicalUnit, immed: boolean, nexus: string): Promise<CommandOutcome> {
  if (!lu.geometry.flush) return GOOD;
  const flushing = lu.run('flush', () => lu.bcs.flush());
  if (immed) {
    void flushing.then((failed) => {
      if (failed !== undefined) lu.deferError(nexus, failed);
    });
    return GOOD;
  }
  const failed = await flushing;
  return failed === undefined ? GOOD : checkCondition(failed);
}

export const SBC_HANDLERS: HandlerTable = {
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

  // SBC-4 START STOP UNIT. START 0 flushes (unless NO_FLUSH) and stops the
  // unit: medium access is then NOT READY, INITIALIZING COMMAND REQUIRED until
  // START 1, as a disk spun down would answer. LOEJ has nothing to eject on a
  // non-removable unit and is ignored, as QEMU and tgt do. A POWER CONDITION
  // other than START_VALID (0h) ignores START and LOEJ (SBC-4); a virtual disk
  // has no power states to move between, so it changes nothing (the decoder
  // has already refused the reserved values).
  startStopUnit: {
    medium: false,
    run: async (lu, { fields }) => {
      if (fields.powerCondition !== PowerCondition.START_VALID) return GOOD;
      if (fields.start) {
        lu.stopped = false;
        return GOOD;
      }
      if (!fields.noFlush && lu.geometry.flush) {
        const failed = await lu.run('flush', () => lu.bcs.flush());
        if (failed !== undefined) return checkCondition(failed);
      }
      lu.stopped = true;
      return GOOD;
    },
  },

  // Nothing can be removed from a virtio-blk disk; the state has no effect (SBC-4 allows that for RMB 0).
  preventAllow: {
    medium: false,
    run: () => GOOD,
  },

  syncCache: {
    medium: true,
    run: (lu, { fields, nexus }) => {
      const fault = lbaRangeFault(lu, fields.lba, fields.blocks);
      return fault !== undefined ? checkCondition(fault) : synchronize(lu, fields.immed, nexus);
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
