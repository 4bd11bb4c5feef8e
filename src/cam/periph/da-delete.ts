// How da deletes and zeroes blocks (discard, writeZeroes), and what it has
// learnt its unit refuses. Spec: SBC-4 (UNMAP; WRITE SAME (10)/(16), NDOB
// and UNMAP bits; Block Limits VPD page B0h; Logical Block Provisioning VPD
// page B2h), SPC-5 (INVALID COMMAND OPERATION CODE 20h/00h, INVALID FIELD IN
// CDB 24h/00h with its sense-key specific field pointer).
//
// - discard: the first delete method the unit offers (da-plan.ts
//   deleteMethods, from LBPME and B2h) that it has not refused; one that the
//   unit rejects as an unknown command (20h/00h) is dropped and the next
//   tried, as FreeBSD da does; with none left, CamError CAM_FUNC_NOTAVAIL.
// - writeZeroes (and discard by WRITE SAME): WRITE SAME (16) with NDOB (no
//   Data-Out Buffer); if the unit rejects NDOB (24h/00h at byte 1 bit 0) or
//   WRITE SAME (16) (20h/00h), WRITE SAME with one zero block from then on.
// - UNMAP parameter lists and WRITE SAME ranges are cut to the B0h limits
//   (da-plan.ts) and issued as da issues the pieces of a split WRITE
//   (da-pieces.ts): the last first and alone, then the rest at once, settling
//   together, so that a range past the unit's capacity fails whole and
//   changes nothing, even when da has not heard of a shrink yet.

import { CamDir, CamStatus, type CamDeviceInfo } from '../xpt/periph-api.js';
import { encodeUnmap, encodeUnmapParameterList } from '../../scsi/cdb/unmap.js';
import { encodeWriteSame } from '../../scsi/cdb/write-same.js';
import { SenseKey } from '../../scsi/sense.js';
import { CamError } from './errors.js';
import { deleteMethods, maxWriteSameBlocks, planUnmap, splitRuns, type BlockRun, type DeleteMethod } from './da-plan.js';
import { issueChangePieces } from './da-pieces.js';
import type { RunRequest } from './recovery.js';

/** What a DeleteRunner asks of the periph that owns it. */
export interface DeleteHooks {
  /** The device as the periph knows it now (a capacity re-read may change it between two commands). */
  info(): CamDeviceInfo;
  /** Issues one command with the periph's recovery; rejects with CamError. */
  run(req: RunRequest): Promise<unknown>;
}

const isCamError = (e: unknown, key: SenseKey, asc: number): e is CamError =>
  e instanceof CamError && e.senseData?.key === key && e.senseData.asc === asc;

/** One periph's discard and write zeroes, with the delete methods and NDOB its unit has refused. */
export class DeleteRunner {
  readonly #hooks: DeleteHooks;
  readonly #disabled = new Set<DeleteMethod>();
  #ndob = true;

  constructor(hooks: DeleteHooks) {
    this.#hooks = hooks;
  }

  /** The delete method discard uses now; undefined when the unit has none left. */
  get method(): DeleteMethod | undefined {
    return deleteMethods(this.#hooks.info()).find((m) => !this.#disabled.has(m));
  }

  /** Deallocates (or, by the zeroing method, zeroes) `blocks` blocks at `lba`; the caller has checked the range. */
  async discard(lba: bigint, blocks: number): Promise<void> {
    if (blocks === 0) return;
    for (;;) {
      const method = this.method;
      if (method === undefined) {
        throw new CamError({ status: CamStatus.FUNC_NOTAVAIL, reason: 'the unit has no delete method (UNMAP, WRITE SAME) left' });
      }
      try {
        if (method === 'unmap') await this.#unmap(lba, blocks);
        else await this.#writeSame(lba, blocks, method === 'ws16-unmap');
        return;
      } catch (e) {
        if (!isCamError(e, SenseKey.ILLEGAL_REQUEST, 0x20)) throw e;
        this.#disabled.add(method);
      }
    }
  }

  /** Writes zeros to `blocks` blocks at `lba`; with `unmap` the unit may deallocate them instead, if it has LBPME and LBPWS. */
  writeZeroes(lba: bigint, blocks: number, unmap: boolean): Promise<void> {
    const info = this.#hooks.info();
    return this.#writeSame(lba, blocks, unmap && info.capacity.lbpme && info.provisioning?.lbpws === true);
  }

  /** UNMAP over a range, in parameter lists within the Block Limits (each list's descriptors run on from one another). */
  #unmap(lba: bigint, blocks: number): Promise<void> {
    return issueChangePieces(planUnmap(lba, blocks, this.#hooks.info().blockLimits), (list) => {
      const data = encodeUnmapParameterList(list);
      return this.#hooks.run({ cdb: encodeUnmap({ parameterListLength: data.length }), dir: CamDir.OUT, dataOut: data });
    });
  }

  /** WRITE SAME over a range, in pieces of at most MAXIMUM WRITE SAME LENGTH. */
  #writeSame(lba: bigint, blocks: number, unmap: boolean): Promise<void> {
    const runs = splitRuns(lba, blocks, maxWriteSameBlocks(this.#hooks.info().blockLimits));
    return issueChangePieces(runs, (run) => this.#writeSameRun(run, unmap));
  }

  async #writeSameRun(run: BlockRun, unmap: boolean): Promise<void> {
    if (this.#ndob) {
      try {
        await this.#hooks.run({ cdb: encodeWriteSame({ ...run, unmap, ndob: true }), dir: CamDir.NONE });
        return;
      } catch (e) {
        if (!rejectsNdob(e)) throw e;
        this.#ndob = false;
      }
    }
    // UNMAP needs the 16-byte CDB (LBPWS speaks for WRITE SAME (16)); zeroing takes the smaller one that fits.
    const cdb = encodeWriteSame({ ...run, unmap }, { minLength: unmap ? 16 : 10 });
    await this.#hooks.run({ cdb, dir: CamDir.OUT, dataOut: new Uint8Array(this.#hooks.info().capacity.blockSize) });
  }
}

/**
 * The unit refused WRITE SAME (16) with NDOB: INVALID FIELD IN CDB at byte 1
 * bit 0 (or with no field pointer), or no WRITE SAME (16) at all (the smaller
 * CDB may still work).
 */
function rejectsNdob(e: unknown): boolean {
  if (isCamError(e, SenseKey.ILLEGAL_REQUEST, 0x20)) return true;
  if (!isCamError(e, SenseKey.ILLEGAL_REQUEST, 0x24)) return false;
  const f = e.senseData?.field;
  return f === undefined || (f.cdb && f.byte === 1 && f.bit === 0);
}
