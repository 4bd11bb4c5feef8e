// SPC-5 third-party copy, LID1: EXTENDED COPY with identification descriptor
// CSCD descriptors (E4h) and block device to block device segments (02h),
// RECEIVE COPY STATUS (LID1) and RECEIVE COPY OPERATING PARAMETERS. The copy
// manager copies within this logical unit only: a CSCD descriptor must name it
// by a designator of its Device Identification VPD page (the NAA one, or the
// T10 vendor ID one where it fits the 16 bytes a CSCD descriptor holds), as a
// direct-access device with its logical block length.
//
// Errors while processing segments are COPY ABORTED (SPC-5): a segment naming
// a CSCD descriptor that is missing or names another device → UNREACHABLE
// COPY TARGET; a range that does not fit the medium → NO ADDITIONAL SENSE
// INFORMATION (SPC-5 gives COPY ABORTED no code for it, and LOGICAL BLOCK
// ADDRESS OUT OF RANGE is a copy target's answer to a command the copy manager
// never sends); a read or write that fails → the failure's own ASC/ASCQ,
// without its LBA; a SANITIZE begun since the copy began → LOGICAL UNIT NOT
// READY, SANITIZE IN PROGRESS, what the unit answers the commands that met the
// sanitize (no data read before a sanitize may be written after it, SBC-4
// sanitize operations; FORMAT UNIT, the only other command that could replace
// the whole medium, changes nothing here). Segments before the failing one
// stay copied.
//
// A copy aborted while it runs (SAM-5 aborting commands: ABORT TASK SET,
// CLEAR TASK SET, PREEMPT AND ABORT; SbcCommand.aborted) stops before its next
// read or write, as one a device reset cut short does (LogicalUnit.run): SAM-5
// lets an aborted command leave part of its work done, and the task
// management function then waits for one chunk, not the whole list. The transport ends it as the abort says;
// a held status reads COMPLETED WITH ERRORS, segments and bytes as far as it
// got, as after a device reset.
//
// The sense names where the copy stopped (SPC-4 5.16.7.4, errors detected
// during processing of segment descriptors, as in SPC-2 7.2.3): the number of
// the segment being processed, from 0 in list order, in the third and fourth
// bytes of COMMAND-SPECIFIC INFORMATION, the same number RECEIVE COPY STATUS
// then reports as SEGMENTS PROCESSED; and in INFORMATION that segment's
// residual, its blocks not written to the destination, once any were (VALID 0
// before that). For EXTENDED COPY INFORMATION means the residual, so a failed
// read's or write's LBA there would read as one. An error in the segment
// descriptor itself also points at the field (segment pointer sense-key
// specific data, SD 1: from the start of that segment descriptor): its
// SOURCE or DESTINATION CSCD DESCRIPTOR ID for an unreachable copy target, its
// SOURCE or DESTINATION LOGICAL BLOCK ADDRESS for a range that does not fit.

import { BlockToBlockField, buildCopyOperatingParameters, buildCopyStatus, CopyManagerStatus, decodeExtendedCopyList, ListIdUsage, type BlockToBlockSegment, type CopyLimits, type CopyStatus, type IdentificationCscd } from '../copy-parameters.js';
import { ThirdPartyCopyInSa } from '../opcodes.js';
import { Asc, SenseKey, invalidFieldInCdb, sense, senseIllegalRequest, type AscAscq, type SenseData } from '../sense.js';
import { buildDeviceIdentification } from '../vpd.js';
import { GOOD, checkCondition, goodData, type CommandOutcome, type HandlerTable, type IssueEpoch, type LogicalUnit } from './context.js';
import { writeProtectFault } from './checks.js';
import { pieces } from './handlers-provisioning.js';
import type { OperationAborted } from './block-command-set.js';

/** CSCD descriptors a list may hold: a source and a destination. */
const MAX_CSCD_DESCRIPTORS = 2;
const MAX_SEGMENT_DESCRIPTORS = 64;
const CSCD_DESCRIPTOR_BYTES = 32;
const B2B_SEGMENT_BYTES = 28;
/** Bytes one read or write of a copy carries at most (the SIM's cost model sizes the request from it). */
export const COPY_CHUNK_BYTES = 1024 * 1024;
/** LIST IDENTIFIER (RECEIVE COPY STATUS CDB byte 2): where an unknown one points. */
const LIST_ID_BYTE = 2;
const DIRECT_ACCESS = 0x00;
const DEVICE_IDENTIFICATION_HEADER = 4;

/** The limits, for a unit of `blockSize`-byte blocks (BLOCK DEVICE NUMBER OF BLOCKS is 16 bits). */
export function copyLimits(blockSize: number): CopyLimits {
  return {
    maxCscdDescriptors: MAX_CSCD_DESCRIPTORS,
    maxSegmentDescriptors: MAX_SEGMENT_DESCRIPTORS,
    maxDescriptorListLength: MAX_CSCD_DESCRIPTORS * CSCD_DESCRIPTOR_BYTES + MAX_SEGMENT_DESCRIPTORS * B2B_SEGMENT_BYTES,
    maxSegmentBytes: 0xffff * blockSize,
  };
}

/** COPY ABORTED with `code` for the field of the segment descriptor at `byte` (segment pointer, SD 1). */
const badField = (code: AscAscq, byte: number): SenseData => sense(SenseKey.COPY_ABORTED, code, { segment: { segmentDescriptor: true, byte } });
const SOURCE_UNREACHABLE = badField(Asc.UNREACHABLE_COPY_TARGET, BlockToBlockField.SOURCE_CSCD_DESCRIPTOR_ID);
const DESTINATION_UNREACHABLE = badField(Asc.UNREACHABLE_COPY_TARGET, BlockToBlockField.DESTINATION_CSCD_DESCRIPTOR_ID);
const SOURCE_OUT_OF_RANGE = badField(Asc.NO_ADDITIONAL_SENSE, BlockToBlockField.SOURCE_LOGICAL_BLOCK_ADDRESS);
const DESTINATION_OUT_OF_RANGE = badField(Asc.NO_ADDITIONAL_SENSE, BlockToBlockField.DESTINATION_LOGICAL_BLOCK_ADDRESS);
/**
 * COPY ABORTED with `code` (a failed read's or write's ASC/ASCQ, or SANITIZE
 * IN PROGRESS) after `written` of the segment's `blocks` reached the
 * destination: the residual in INFORMATION once any did.
 */
const abortedAfter = (code: AscAscq, blocks: number, written: number): SenseData =>
  sense(SenseKey.COPY_ABORTED, code, written === 0 ? {} : { information: BigInt(blocks - written) });
/**
 * What an aborted copy answers after `written` of the segment's `blocks`: COPY
 * ABORTED, no code for it (the transport ends the command as its abort says,
 * so no initiator sees this), the residual in INFORMATION once any were written.
 */
const stoppedAfter = (blocks: number, written: number): SenseData => abortedAfter(Asc.NO_ADDITIONAL_SENSE, blocks, written);
/** `s` raised while processing segment `index`: its number in COMMAND-SPECIFIC INFORMATION's third and fourth bytes, the first two zero. */
const inSegment = (s: SenseData, index: number): SenseData => ({ ...s, commandSpecific: BigInt(index) });

/** Same designator (CODE SET, ASSOCIATION, DESIGNATOR TYPE, length, value), PROTOCOL IDENTIFIER and PIV aside. */
function sameDesignator(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length || a.length < DEVICE_IDENTIFICATION_HEADER) return false;
  if (((a[0] ?? 0) & 0x0f) !== ((b[0] ?? 0) & 0x0f) || ((a[1] ?? 0) & 0x3f) !== ((b[1] ?? 0) & 0x3f)) return false;
  for (let i = 3; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** The designation descriptors of this unit's Device Identification VPD page. */
function designations(lu: LogicalUnit): Uint8Array[] {
  const page = buildDeviceIdentification(lu.info);
  const out: Uint8Array[] = [];
  for (let o = DEVICE_IDENTIFICATION_HEADER; o + DEVICE_IDENTIFICATION_HEADER <= page.length; ) {
    const n = DEVICE_IDENTIFICATION_HEADER + (page[o + 3] ?? 0);
    out.push(page.subarray(o, o + n));
    o += n;
  }
  return out;
}

/** The CSCD descriptor names this logical unit: one of its designators, direct access, its block length. */
function namesThisUnit(lu: LogicalUnit, c: IdentificationCscd | undefined): boolean {
  if (c?.peripheralType !== DIRECT_ACCESS || c.blockLength !== lu.info.blockSize) return false;
  return designations(lu).some((d) => sameDesignator(d, c.designation));
}

/**
 * Copies one segment in chunks, backwards when the destination overlaps the
 * source from above, for a copy of epoch `since` begun when
 * `lu.sanitizer.begun` was `sanitizes`, until `aborted` says the command was
 * aborted (checked before each read and each write). Undefined when done.
 */
async function copySegment(lu: LogicalUnit, since: IssueEpoch, aborted: OperationAborted, sanitizes: number, s: BlockToBlockSegment, onBytes: (n: number) => void): Promise<SenseData | undefined> {
  const end = lu.info.blocks;
  if (s.sourceLba + BigInt(s.blocks) > end) return SOURCE_OUT_OF_RANGE;
  if (s.destinationLba + BigInt(s.blocks) > end) return DESTINATION_OUT_OF_RANGE;
  const bs = lu.info.blockSize;
  const perChunk = Math.max(1, Math.min(Math.floor(COPY_CHUNK_BYTES / bs), lu.maxTransferBlocks));
  const chunks = [...pieces(0n, BigInt(s.blocks), perChunk)];
  if (s.destinationLba > s.sourceLba) chunks.reverse();
  let written = 0;
  for (const c of chunks) {
    const from = s.sourceLba + c.lba;
    const to = s.destinationLba + c.lba;
    if (aborted()) return stoppedAfter(s.blocks, written);
    const buf = new Uint8Array(c.blocks * bs);
    const release = await lu.locks.acquire(from, c.blocks, false, aborted);
    if (release === undefined) return stoppedAfter(s.blocks, written);
    const read = await lu.run(since, 'read', () => lu.bcs.read(from, buf, aborted)).finally(release);
    if (read !== undefined) return abortedAfter(read, s.blocks, written);
    const releaseWrite = await lu.locks.acquire(to, c.blocks, false, aborted);
    if (releaseWrite === undefined) return stoppedAfter(s.blocks, written);
    // A sanitize may have taken the whole medium between the two locks (taking
    // one lock over both ranges instead would queue behind its exclusive lock
    // while holding the read's) and completed: `buf` may then hold data it
    // erased, which must not land again (SBC-4 sanitize operations).
    if (lu.sanitizer.begun !== sanitizes) {
      releaseWrite();
      return abortedAfter(Asc.LOGICAL_UNIT_NOT_READY_SANITIZE_IN_PROGRESS, s.blocks, written);
    }
    if (aborted()) {
      releaseWrite();
      return stoppedAfter(s.blocks, written);
    }
    const wrote = await lu.run(since, 'write', () => lu.bcs.write(to, buf, aborted)).finally(releaseWrite);
    if (wrote !== undefined) return abortedAfter(wrote, s.blocks, written);
    written += c.blocks;
    onBytes(buf.length);
  }
  return undefined;
}

export const COPY_HANDLERS: HandlerTable = {
  extendedCopy: {
    medium: true,
    parameterList: true,
    dataOutLength: (_lu, f) => f.parameterListLength,
    check: (lu) => writeProtectFault(lu),
    run: async (lu, { fields: f, dataOut, nexus, epoch, aborted }): Promise<CommandOutcome> => {
      // SPC-5: a PARAMETER LIST LENGTH of zero copies nothing and is not an error.
      if (f.parameterListLength === 0) return GOOD;
      if (dataOut.length < f.parameterListLength) return checkCondition(senseIllegalRequest(Asc.PARAMETER_LIST_LENGTH_ERROR));
      const decoded = decodeExtendedCopyList(dataOut, copyLimits(lu.info.blockSize));
      if (!decoded.ok) return checkCondition(decoded.fault);
      const list = decoded.value;
      const held = list.listIdUsage === ListIdUsage.HOLD;
      // SPC-5: the LIST IDENTIFIER is unique per I_T nexus among the copies
      // being processed, held status (00b) or not (10b); only 11b has none.
      const listed = list.listIdUsage !== ListIdUsage.NO_LIST_ID;
      if (listed && !lu.copies.begin(nexus, list.listId)) return checkCondition(senseIllegalRequest(Asc.OPERATION_IN_PROGRESS));
      const sanitizes = lu.sanitizer.begun;
      let status: CopyStatus = { status: CopyManagerStatus.IN_PROGRESS, segmentsProcessed: 0, bytes: 0n };
      if (held) lu.copies.hold(nexus, list.listId, status);
      const copied = lu.copies.serialize(async () => {
        for (const [index, s] of list.segments.entries()) {
          if (!namesThisUnit(lu, list.cscds[s.source])) return inSegment(SOURCE_UNREACHABLE, index);
          if (!namesThisUnit(lu, list.cscds[s.destination])) return inSegment(DESTINATION_UNREACHABLE, index);
          const error = await copySegment(lu, epoch, aborted, sanitizes, s, (n) => {
            status = { ...status, bytes: status.bytes + BigInt(n) };
          });
          if (error !== undefined) return inSegment(error, index);
          status = { ...status, segmentsProcessed: status.segmentsProcessed + 1 };
          if (held) lu.copies.update(nexus, list.listId, status);
        }
        return undefined;
      });
      const failed = await (listed ? copied.finally(() => { lu.copies.end(nexus, list.listId); }) : copied);
      if (held) lu.copies.update(nexus, list.listId, { ...status, status: failed === undefined ? CopyManagerStatus.COMPLETED : CopyManagerStatus.COMPLETED_WITH_ERRORS });
      return failed === undefined ? GOOD : checkCondition(failed);
    },
  },

  // RECEIVE COPY STATUS (LID1) for a list identifier of this I_T nexus (one
  // never held, or already handed over once complete, is INVALID FIELD IN CDB
  // at LIST IDENTIFIER), and RECEIVE COPY OPERATING PARAMETERS.
  receiveCopyResults: {
    medium: false,
    run: (lu, { fields: f, nexus }) => {
      if (f.serviceAction === ThirdPartyCopyInSa.RECEIVE_COPY_OPERATING_PARAMETERS) {
        return goodData(buildCopyOperatingParameters(copyLimits(lu.info.blockSize)), f.allocationLength);
      }
      const s = lu.copies.takeStatus(nexus, f.listId);
      return s === undefined ? checkCondition(invalidFieldInCdb(LIST_ID_BYTE)) : goodData(buildCopyStatus(s), f.allocationLength);
    },
  },
};
