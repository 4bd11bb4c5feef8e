// SBC-4 SANITIZE: OVERWRITE, BLOCK ERASE and EXIT FAILURE MODE. What the
// unit answers while a sanitize runs or after one failed is sanitize.ts's;
// here is what each service action does to the medium.
//
// - OVERWRITE writes the INITIALIZATION PATTERN, repeated from the start of
//   every logical block, over the whole medium, OVERWRITE COUNT times
//   (inverted on every other pass with INVERT), then flushes a write cache.
// - BLOCK ERASE deallocates every block, offered only where that erases and
//   can be shown: a discard whose blocks read back as zeros, or a write-zeroes
//   that may deallocate (as WRITE SAME with UNMAP does it), so nothing written
//   before can be read afterwards (WABEREQ 01b in the Block Device
//   Characteristics page); and an allocation query, so GET LBA STATUS reports
//   the deallocation SBC-4 asks of a block erase on a thin unit (virtio-blk
//   has no such query, and a device that only "may" deallocate cannot promise it).
// - CRYPTOGRAPHIC ERASE needs an encryption key to destroy; virtio-blk has
//   none, so the service action is not offered (INVALID FIELD IN CDB).
// A sanitize holds an exclusive lock over the whole medium: commands already
// running finish first, and nothing else touches a block until it ends.
// Nothing that aborts the SANITIZE command stops the operation (SBC-4), but a
// SANITIZE without IMMED that its transport aborts (ABORT TASK SET, CLEAR TASK
// SET; a PREEMPT AND ABORT meets SANITIZE IN PROGRESS) answers before its next
// block operation, so the function that aborted it completes then (SAM-5)
// rather than after the whole erase; the unit reports SANITIZE IN PROGRESS
// meanwhile, as after IMMED.

import { SanitizeSa } from '../opcodes.js';
import { SANITIZE_PLL_BYTE, decodeOverwriteParameters, OVERWRITE_HEADER, type OverwriteParameters, type SanitizeCdb } from '../cdb/sanitize.js';
import { Asc, invalidFieldInCdb, senseIllegalRequest, senseNotReady, type SenseData } from '../sense.js';
import { ACROSS_RESETS, GOOD, checkCondition, type CommandOutcome, type HandlerTable, type LogicalUnit } from './context.js';
import { firstFault, flushIfCached, writeProtectFault } from './checks.js';
import { MEDIUM_NOT_PRESENT } from './medium.js';
import { fill, pieces } from './handlers-provisioning.js';
import type { BlockGeometry, OperationAborted } from './block-command-set.js';
import { SANITIZE_FAILED } from './sanitize.js';
import { acrossResets } from './across-resets.js';

/** Bytes one OVERWRITE write carries at most (the SIM's cost model sizes the request from it). */
export const OVERWRITE_CHUNK_BYTES = 1024 * 1024;
/** SERVICE ACTION field (byte 1 bits 4..0): where a refused EXIT FAILURE MODE points. */
const SERVICE_ACTION_FIELD = { byte: 1, bit: 4 } as const;
const NOT_READY_STOPPED = senseNotReady(Asc.LOGICAL_UNIT_NOT_READY_INITIALIZING_COMMAND_REQUIRED);

/** `pattern` repeated from the start of each of `blocks` blocks, bitwise inverted when `invert`. */
function patternChunk(pattern: Uint8Array, blockSize: number, blocks: number, invert: boolean): Uint8Array {
  const out = new Uint8Array(blocks * blockSize);
  for (let i = 0; i < blockSize; i++) out[i] = (pattern[i % pattern.length] ?? 0) ^ (invert ? 0xff : 0);
  for (let b = 1; b < blocks; b++) out.copyWithin(b * blockSize, 0, blockSize);
  return out;
}

/** Called before each of a sanitize's block operations: where an aborted SANITIZE's answer is released (see start). */
type Between = () => void;

async function overwrite(lu: LogicalUnit, p: OverwriteParameters, between: Between): Promise<SenseData | undefined> {
  const bs = lu.info.blockSize;
  const total = lu.info.blocks;
  const perChunk = Math.max(1, Math.min(Math.floor(OVERWRITE_CHUNK_BYTES / bs), lu.maxTransferBlocks));
  const chunkBlocks = total < BigInt(perChunk) ? Number(total) : perChunk;
  for (let pass = 0; pass < p.count; pass++) {
    const chunk = patternChunk(p.pattern, bs, chunkBlocks, p.invert && pass % 2 === 1);
    for (const piece of pieces(0n, total, chunkBlocks)) {
      const data = chunk.subarray(0, piece.blocks * bs);
      between();
      // A write a device reset cut short is issued again (across-resets.ts): writing the pattern twice is harmless.
      const failed = await acrossResets(lu.bcs, () => lu.run(ACROSS_RESETS, 'write', () => lu.bcs.write(piece.lba, data), piece.lba));
      if (failed !== undefined) return failed;
      lu.sanitizer.advance(piece.blocks);
    }
  }
  between();
  return acrossResets(lu.bcs, () => flushIfCached(lu, ACROSS_RESETS));
}

/** Whether BLOCK ERASE is offered over a device with these capabilities and an allocation query or not (see the file header). */
export function canBlockErase(g: BlockGeometry, reportsMapping: boolean): boolean {
  return reportsMapping && (g.discard?.zeroes === true || g.writeZeroes?.mayUnmap === true);
}

async function blockErase(lu: LogicalUnit, between: Between): Promise<SenseData | undefined> {
  // fill asks before each block operation whether to stop: a sanitize never does (SBC-4), but there it is between two.
  const goOn = (): boolean => {
    between();
    return false;
  };
  const failed = await fill(lu, ACROSS_RESETS, goOn, 0n, lu.info.blocks, new Uint8Array(lu.info.blockSize), true);
  if (failed === undefined) lu.sanitizer.advance(Number(lu.info.blocks));
  return failed;
}

/**
 * Runs one sanitize operation under a lock over the whole medium. Resolves
 * with the command's outcome: GOOD, or SANITIZE COMMAND FAILED once the unit
 * is in the failure mode (a failed write is the reason, not the answer).
 */
async function sanitize(lu: LogicalUnit, f: SanitizeCdb, work: number, op: () => Promise<SenseData | undefined>): Promise<CommandOutcome> {
  lu.sanitizer.begin(work);
  let failed: SenseData | undefined;
  try {
    const release = await lu.locks.acquire(0n, Number(lu.info.blocks), true);
    try {
      failed = await op();
    } finally {
      release();
    }
  } catch {
    failed = SANITIZE_FAILED;
  }
  lu.sanitizer.finish(failed === undefined, f.ause);
  return failed === undefined ? GOOD : checkCondition(SANITIZE_FAILED);
}

/**
 * IMMED answers now and lets the operation run (its outcome is the failure
 * mode's to report). Without IMMED the command answers when the operation
 * ends, or, once its transport has aborted it (`aborted`), before the
 * operation's next block operation: SANITIZE IN PROGRESS, an answer the
 * transport never delivers (it ends the command as the abort says), while the
 * operation goes on. A SANITIZE waiting for the medium lock is answered once
 * it has it and the operation has begun.
 */
function start(lu: LogicalUnit, f: SanitizeCdb, aborted: OperationAborted, work: number, op: (between: Between) => Promise<SenseData | undefined>): Promise<CommandOutcome> | CommandOutcome {
  if (f.immed) {
    void sanitize(lu, f, work, () => op(NOTHING_TO_RELEASE));
    return GOOD;
  }
  return new Promise((resolve, reject) => {
    const between = (): void => {
      const running = aborted() ? lu.sanitizer.inProgress() : undefined;
      if (running !== undefined) resolve(checkCondition(running));
    };
    sanitize(lu, f, work, () => op(between)).then(resolve, reject);
  });
}

/** The Between of a sanitize whose command has answered already (IMMED). */
const NOTHING_TO_RELEASE: Between = () => undefined;

export const SANITIZE_HANDLERS: HandlerTable = {
  // The command table offers OVERWRITE and EXIT FAILURE MODE always, BLOCK
  // ERASE where it erases (see the file header); other service actions never
  // get here. PARAMETER LIST LENGTH is zero except for OVERWRITE (the usage
  // masks), where it must be 5 .. logical block length + 4.
  sanitize: {
    // Not `medium`: SANITIZE is how a unit in the sanitize failure mode gets out of it.
    medium: false,
    parameterList: true,
    dataOutLength: (_lu, f) => f.parameterListLength,
    check: (lu, { fields: f }) =>
      firstFault(
        () => {
          const pll = f.parameterListLength;
          return f.serviceAction === SanitizeSa.OVERWRITE && (pll <= OVERWRITE_HEADER || pll > lu.info.blockSize + OVERWRITE_HEADER) ? invalidFieldInCdb(SANITIZE_PLL_BYTE) : undefined;
        },
        () => (lu.medium.loaded ? undefined : MEDIUM_NOT_PRESENT),
        () => (lu.stopped ? NOT_READY_STOPPED : undefined),
        () => (f.serviceAction === SanitizeSa.EXIT_FAILURE_MODE ? undefined : writeProtectFault(lu)),
      ),
    run: (lu, { fields: f, dataOut, aborted }) => {
      switch (f.serviceAction) {
        case SanitizeSa.OVERWRITE: {
          if (dataOut.length < f.parameterListLength) return checkCondition(senseIllegalRequest(Asc.PARAMETER_LIST_LENGTH_ERROR));
          const p = decodeOverwriteParameters(dataOut, lu.info.blockSize);
          if (!p.ok) return checkCondition(p.fault);
          // The pattern lives in the Data-Out Buffer, which the transport may reuse once IMMED has answered.
          const params = { ...p.value, pattern: Uint8Array.from(p.value.pattern) };
          return start(lu, f, aborted, params.count * Number(lu.info.blocks), (between) => overwrite(lu, params, between));
        }
        case SanitizeSa.BLOCK_ERASE:
          return start(lu, f, aborted, Number(lu.info.blocks), (between) => blockErase(lu, between));
        case SanitizeSa.EXIT_FAILURE_MODE:
          return lu.sanitizer.exitFailureMode() === 'not-allowed' ? checkCondition(invalidFieldInCdb(SERVICE_ACTION_FIELD.byte, SERVICE_ACTION_FIELD.bit)) : GOOD;
        default:
          return checkCondition(invalidFieldInCdb(SERVICE_ACTION_FIELD.byte, SERVICE_ACTION_FIELD.bit));
      }
    },
  },
};
