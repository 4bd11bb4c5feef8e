// The da periph: a block device API (read, write, flush, discard, write
// zeroes, and raw SCSI) over one direct-access logical unit, with CAM's error
// recovery (errors.ts, recovery.ts). Modelled on FreeBSD sys/cam/scsi/
// scsi_da.c (read, not ported). Spec: SBC-4.
//
// - READ/WRITE: the 10-byte CDB when the LBA fits 32 bits and the count 16
//   bits, else the 16-byte one; READ(12)/WRITE(12) are skipped, as Linux sd
//   skips them: they reach no LBA and no length the other two do not.
// - Requests larger than the maximum I/O (Block Limits MAXIMUM TRANSFER
//   LENGTH, the transport's maxIoBytes) are split and the data assembled in
//   LBA order. A read's pieces are issued at once (but for one past the
//   capacity da knows, which goes first); a write's last piece goes first and
//   alone, so that a write past the unit's real capacity changes nothing
//   (da-pieces.ts). A request fails with the first piece that fails.
// - discard and writeZeroes: UNMAP or WRITE SAME, by the unit's delete
//   method and what it has refused (da-delete.ts).
// - Capacity: re-read (READ CAPACITY (16), else (10); da-capacity.ts) on
//   CAPACITY DATA HAS CHANGED and on AC_GETDEV_CHANGED; AC_LOST_DEVICE stops
//   retries and new I/O.
// - Caller bugs (an LBA that is not a non-negative bigint, a count that is not
//   a non-negative integer, data that is not whole blocks) throw RangeError
//   synchronously; device outcomes reject with CamError.

import { constants } from 'node:buffer';
import {
  AsyncCode,
  CamDir,
  CamStatus,
  DEFAULT_TIMEOUT_MS,
  coarseNow,
  type CamDeviceInfo,
  type CamPath,
  type PeriphXpt,
  type ScsiIoCcb,
} from '../xpt/periph-api.js';
import { encodeReadWrite } from '../../scsi/cdb/rw.js';
import { encodeSyncCache } from '../../scsi/cdb/sync-cache.js';
import type { SenseData } from '../../scsi/sense.js';
import { CamError } from './errors.js';
import type { DaCapacity } from './capacity.js';
import { CapacityReader } from './da-capacity.js';
import { DeleteRunner } from './da-delete.js';
import { maxTransferBlocks, runEnd, splitRuns, type BlockRun, type DeleteMethod } from './da-plan.js';
import { issueChangePieces, issueReadPieces } from './da-pieces.js';
import {
  DEFAULT_DELAYS,
  DEFAULT_REQUEUE_LIMIT,
  DEFAULT_RETRIES,
  RecoveryRunner,
  type RecoveryDelays,
  type RecoveryOptions,
  type RunRequest,
} from './recovery.js';
import { checkRequest, resultOf, type ScsiRequest, type ScsiResult } from './request.js';

export type { DaCapacity } from './capacity.js';
export type { DeleteMethod } from './da-plan.js';

/** DaPeriph tuning; every field has a default. */
export interface DaOptions {
  /** Largest transfer one CCB may carry, in bytes (XPT_PATH_INQ maxIoBytes); 0 or absent: only Block Limits bound it. */
  readonly maxIoBytes?: number;
  /** Retries per command (FreeBSD da_retry_count); default 4. */
  readonly retries?: number;
  /** Requeues (BUSY, TASK SET FULL, CAM_REQUEUE_REQ, …) per command before each spends a retry; default 32. */
  readonly requeueLimit?: number;
  /** Timeout of each CCB in ms; default DEFAULT_TIMEOUT_MS (60 s, FreeBSD da_default_timeout). */
  readonly timeoutMs?: number;
  /** Waits before retries, in ms. */
  readonly delays?: Partial<RecoveryDelays>;
  /**
   * Age in ms of the oldest outstanding command after which the next goes
   * ORDERED; default a quarter of timeoutMs (of 60 s when timeoutMs is 0),
   * FreeBSD's ordered-tag interval. Infinity: never.
   */
  readonly orderedTagAgeMs?: number;
  /** Clock for the ordered-tag policy, in ms; default performance.now, read once per run of synchronous code (coarseNow). */
  readonly now?: () => number;
}

/** Called with the sense of a UNIT ATTENTION; an exception it throws is rethrown from a microtask. */
export type UnitAttentionListener = (sense: SenseData) => void;

const U64_END = 1n << 64n;
/** The longest Uint8Array this Node makes (buffer.constants.MAX_LENGTH): da.read's largest answer. */
const MAX_READ_BYTES = constants.MAX_LENGTH;
/** An LBA up to here plus any safe-integer count stays within 2^64: checkRange needs no bigint sum below it. */
const U64_END_LESS_SAFE = U64_END - BigInt(Number.MAX_SAFE_INTEGER);

/** Block access to the direct-access device at a path. */
export class DaPeriph {
  readonly path: CamPath;
  readonly #runner: RecoveryRunner;
  readonly #maxIoBytes: number;
  readonly #listeners = new Set<UnitAttentionListener>();
  readonly #capacity: CapacityReader;
  readonly #delete: DeleteRunner;
  readonly #unsubscribe: () => void;
  #info: CamDeviceInfo;
  /** maxTransferBlocks for #info, worked out when #info changes: every read and write asks. */
  #maxBlocks: number;
  #gone: string | undefined;

  /** @throws RangeError when the XPT has no device at `path`, or for an option out of range. */
  constructor(xpt: PeriphXpt, path: CamPath, opts: DaOptions = {}) {
    const info = xpt.device(path);
    if (info === undefined) throw new RangeError(`da: no device at ${path.bus}:${path.target}:${path.lun}`);
    const maxIoBytes = opts.maxIoBytes ?? 0;
    if (!Number.isSafeInteger(maxIoBytes) || maxIoBytes < 0 || (maxIoBytes > 0 && maxIoBytes < info.capacity.blockSize)) {
      throw new RangeError(`da: maxIoBytes must be 0 or at least one block (${info.capacity.blockSize}), got ${maxIoBytes}`);
    }
    const recovery = recoveryOptions(opts);
    this.path = path;
    this.#info = info;
    this.#maxIoBytes = maxIoBytes;
    this.#maxBlocks = maxTransferBlocks(info, info.capacity.blockSize, maxIoBytes);
    this.#capacity = new CapacityReader({
      run: (req) => this.#run(req),
      apply: (cap) => {
        this.#info = { ...this.#info, capacity: cap };
        this.#maxBlocks = maxTransferBlocks(this.#info, cap.blockSize, this.#maxIoBytes);
      },
    });
    this.#delete = new DeleteRunner({ info: () => this.#info, run: (req) => this.#run(req) });
    this.#runner = new RecoveryRunner(xpt, path, recovery, {
      unitAttention: (s) => {
        for (const cb of this.#listeners) {
          try {
            cb(s);
          } catch (e) {
            // A listener's bug must not break the completion path it is called from: rethrow it on its own.
            queueMicrotask(() => {
              throw e;
            });
          }
        }
      },
      capacityChanged: () => this.#capacity.refreshQuietly(),
    });
    this.#unsubscribe = xpt.onAsync(AsyncCode.GETDEV_CHANGED | AsyncCode.LOST_DEVICE, path, (code) => {
      if (code === AsyncCode.LOST_DEVICE) {
        this.#gone ??= 'device lost';
        this.#runner.invalidate();
      } else {
        void this.#capacity.refreshQuietly();
      }
    });
  }

  /** Capacity in logical blocks, block size in bytes, and the provisioning bits of READ CAPACITY (16). */
  get capacity(): DaCapacity {
    return this.#info.capacity;
  }

  /** What the bus scan found, with the capacity as last read. */
  get info(): CamDeviceInfo {
    return this.#info;
  }

  /** The delete method discard uses now; undefined when the unit has none left. */
  get deleteMethod(): DeleteMethod | undefined {
    return this.#delete.method;
  }

  /** Blocks one READ/WRITE CCB carries at most. */
  get maxTransferBlocks(): number {
    return this.#maxBlocks;
  }

  /** Commands outstanding (issued, not yet completed or failed). */
  get outstanding(): number {
    return this.#runner.outstanding;
  }

  /** ORDERED tags issued so that no command starves. */
  get orderedTags(): number {
    return this.#runner.orderedTags;
  }

  /** Calls `cb` with the sense of every UNIT ATTENTION a command of this periph receives; returns the unsubscribe function. */
  onUnitAttention(cb: UnitAttentionListener): () => void {
    this.#listeners.add(cb);
    return () => this.#listeners.delete(cb);
  }

  /**
   * Reads `blocks` logical blocks at `lba`. A read that takes one CCB returns
   * that CCB's Data-In buffer itself; a split one is read into a new array (readInto).
   * A small buffer (up to 8 KiB) is a view into an ArrayBuffer it shares with
   * other reads (the emulator pools them, as Node pools small Buffers): mind
   * its byteOffset, and copy it before transferring its `buffer`.
   */
  read(lba: bigint, blocks: number): Promise<Uint8Array> {
    checkRange('da.read', lba, blocks);
    const bs = this.capacity.blockSize;
    const max = this.maxTransferBlocks;
    // One CCB (nearly every read): its buffer is the answer, no run list, no assembly.
    if (blocks >= 1 && blocks <= max) return this.#readRun(lba, blocks, bs);
    // Past the known capacity the unit refuses the piece that crosses it: ask it that first, before making a
    // buffer the request may not need (or that no Uint8Array can be).
    const past = this.#pastCapacity(lba, blocks);
    if (past !== undefined) return this.#readRun(past.lba, past.blocks, bs).then(() => this.#readSplit(lba, blocks, bs));
    return this.#readSplit(lba, blocks, bs);
  }

  /** A read of more blocks than one CCB carries, into a new array. */
  #readSplit(lba: bigint, blocks: number, bs: number): Promise<Uint8Array> {
    if (blocks * bs > MAX_READ_BYTES) {
      return Promise.reject(new RangeError(`da.read: ${blocks} blocks are ${blocks * bs} bytes, more than one Uint8Array holds (${MAX_READ_BYTES}); read them in parts with readInto`));
    }
    const out = new Uint8Array(blocks * bs);
    return this.#split(lba, out, (l, b, view) => this.#readRunInto(l, b, view), 'read').then(() => out);
  }

  /**
   * Reads `into.length / blockSize` logical blocks at `lba` into `into`
   * (whole blocks), the way a FreeBSD bio carries its own bio_data: the SIM
   * transfers straight into it, so no Data-In buffer is made. A split read
   * fills its pieces in place. If the read fails, the bytes of `into` are
   * unspecified (part of the transfer may have landed).
   */
  readInto(lba: bigint, into: Uint8Array): Promise<void> {
    const bs = this.capacity.blockSize;
    if (!(into instanceof Uint8Array) || into.length % bs !== 0) {
      throw new RangeError(`da.readInto: into must be whole ${bs}-byte blocks, got ${into instanceof Uint8Array ? `${into.length} bytes` : typeof into}`);
    }
    const blocks = into.length / bs;
    checkRange('da.readInto', lba, blocks);
    const max = this.maxTransferBlocks;
    if (blocks >= 1 && blocks <= max) return this.#readRunInto(lba, blocks, into);
    return this.#split(lba, into, (l, b, view) => this.#readRunInto(l, b, view), 'read');
  }

  /** Writes `data` (whole blocks) at `lba`. */
  write(lba: bigint, data: Uint8Array): Promise<void> {
    const bs = this.capacity.blockSize;
    if (!(data instanceof Uint8Array) || data.length % bs !== 0) {
      throw new RangeError(`da.write: data must be whole ${bs}-byte blocks, got ${data instanceof Uint8Array ? `${data.length} bytes` : typeof data}`);
    }
    const blocks = data.length / bs;
    checkRange('da.write', lba, blocks);
    const max = this.maxTransferBlocks;
    if (blocks >= 1 && blocks <= max) return this.#writeRun(lba, blocks, data);
    return this.#split(lba, data, (l, b, view) => this.#writeRun(l, b, view), 'change');
  }

  /**
   * A transfer of `buf` (whole blocks at `lba`) past the largest one CCB may
   * carry: one CCB per run, each on its own view of `buf`, issued by
   * da-pieces.ts as a `read` (a run past the known capacity first and alone)
   * or a `change` (the last run first and alone); settles once every piece has.
   */
  #split(lba: bigint, buf: Uint8Array, run: (lba: bigint, blocks: number, view: Uint8Array) => Promise<void>, kind: 'read' | 'change'): Promise<void> {
    const bs = this.capacity.blockSize;
    const piece = (r: BlockRun): Promise<void> => {
      const at = Number(r.lba - lba) * bs;
      return run(r.lba, r.blocks, buf.subarray(at, at + r.blocks * bs));
    };
    const runs = splitRuns(lba, buf.length / bs, this.maxTransferBlocks);
    return kind === 'change' ? issueChangePieces(runs, piece) : issueReadPieces(runs, this.capacity.blocks, runEnd, piece);
  }

  /** The piece of a split request at `lba` that crosses the capacity as last read, or undefined when it ends inside. */
  #pastCapacity(lba: bigint, blocks: number): BlockRun | undefined {
    const end = this.capacity.blocks;
    if (lba + BigInt(blocks) <= end) return undefined;
    return splitRuns(lba, blocks, this.maxTransferBlocks).find((r) => runEnd(r) > end);
  }

  /** SYNCHRONIZE CACHE (10) over the whole medium: completed writes become durable. */
  async flush(): Promise<void> {
    await this.#run({ cdb: encodeSyncCache(), dir: CamDir.NONE });
  }

  /** Deallocates (or, by the zeroing method, zeroes) `blocks` blocks at `lba` with the unit's delete method. */
  discard(lba: bigint, blocks: number): Promise<void> {
    checkRange('da.discard', lba, blocks);
    return this.#delete.discard(lba, blocks);
  }

  /** Writes zeros to `blocks` blocks at `lba`; `unmap` lets the unit deallocate them instead (needs LBPWS). */
  writeZeroes(lba: bigint, blocks: number, opts: { readonly unmap?: boolean } = {}): Promise<void> {
    checkRange('da.writeZeroes', lba, blocks);
    return this.#delete.writeZeroes(lba, blocks, opts.unmap === true);
  }

  /**
   * A raw SCSI command, with da's error recovery (unlike pass). Resolves with
   * the result of the command as finally completed; rejects with CamError when
   * recovery gives up.
   * @throws RangeError for a malformed request (see checkRequest), and for a
   *   `signal`: da retries a command as new CCBs, so aborting one is pass's.
   */
  scsi(req: ScsiRequest): Promise<ScsiResult> {
    const r = checkRequest(req, 'da.scsi');
    if (r.signal !== undefined) throw new RangeError('da.scsi: signal (abort) is for pass.scsi; da recovers commands with retries');
    return this.#run(r).then(resultOf);
  }

  /** Re-reads the capacity (READ CAPACITY (16), or (10) when the unit rejects 16), one read at a time. */
  refreshCapacity(): Promise<DaCapacity> {
    return this.#capacity.refresh();
  }

  /**
   * Stops new I/O (it fails with CAM_DEV_NOT_THERE) and resolves when
   * everything outstanding has finished. Until then a lost device (its bus
   * deregistered, as stack.close() does) still stops every retry.
   */
  close(): Promise<void> {
    this.#gone ??= 'periph closed';
    return this.#runner.drained().then(this.#unsubscribe);
  }

  /** One READ (10)/(16) CCB; resolves with its Data-In buffer, which must be whole. */
  #readRun(lba: bigint, blocks: number, bs: number): Promise<Uint8Array> {
    return this.#run({ cdb: encodeReadWrite('READ', lba, blocks), dir: CamDir.IN, dataInLength: blocks * bs }, wholeDataIn);
  }

  /** One READ (10)/(16) CCB transferring into `into` (exactly its blocks). */
  #readRunInto(lba: bigint, blocks: number, into: Uint8Array): Promise<void> {
    return this.#run({ cdb: encodeReadWrite('READ', lba, blocks), dir: CamDir.IN, dataInLength: into.length, dataInto: into }, wholeDataInto);
  }

  /** One WRITE (10)/(16) CCB carrying `data`. */
  #writeRun(lba: bigint, blocks: number, data: Uint8Array): Promise<void> {
    return this.#run({ cdb: encodeReadWrite('WRITE', lba, blocks), dir: CamDir.OUT, dataOut: data }, wholeDataOut);
  }

  #run(req: RunRequest): Promise<ScsiIoCcb>;
  #run<T>(req: RunRequest, result: (ccb: ScsiIoCcb) => T): Promise<T>;
  #run<T>(req: RunRequest, result?: (ccb: ScsiIoCcb) => T): Promise<T | ScsiIoCcb> {
    if (this.#gone !== undefined) {
      return Promise.reject(new CamError({ status: CamStatus.DEV_NOT_THERE, cdb: req.cdb, reason: this.#gone }));
    }
    return result === undefined ? this.#runner.run(req) : this.#runner.run(req, result);
  }
}

/** DaOptions with their defaults, checked (RangeError); createStack checks its `da` with it before the device starts. */
export function recoveryOptions(opts: DaOptions): RecoveryOptions {
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const r: RecoveryOptions = {
    retries: opts.retries ?? DEFAULT_RETRIES,
    requeueLimit: opts.requeueLimit ?? DEFAULT_REQUEUE_LIMIT,
    delays: { ...DEFAULT_DELAYS, ...opts.delays },
    timeoutMs,
    orderedTagAgeMs: opts.orderedTagAgeMs ?? (timeoutMs > 0 ? timeoutMs : DEFAULT_TIMEOUT_MS) / 4,
    now: opts.now ?? coarseNow,
  };
  for (const [name, n] of Object.entries({ retries: r.retries, requeueLimit: r.requeueLimit, timeoutMs, ...r.delays })) {
    if (!Number.isFinite(n) || n < 0) throw new RangeError(`da: ${name} must be a non-negative number, got ${n}`);
  }
  if (!Number.isInteger(r.retries) || !Number.isInteger(r.requeueLimit)) {
    throw new RangeError(`da: retries and requeueLimit must be integers, got ${r.retries} and ${r.requeueLimit}`);
  }
  if (Number.isNaN(r.orderedTagAgeMs) || r.orderedTagAgeMs < 0) {
    throw new RangeError(`da: orderedTagAgeMs must be ≥ 0 (Infinity: never), got ${r.orderedTagAgeMs}`);
  }
  return r;
}

function checkRange(who: string, lba: bigint, blocks: number): void {
  if (typeof lba !== 'bigint' || lba < 0n) throw new RangeError(`${who}: lba must be a non-negative bigint, got ${String(lba)}`);
  if (!Number.isSafeInteger(blocks) || blocks < 0) throw new RangeError(`${who}: blocks must be a non-negative integer, got ${blocks}`);
  if (lba > U64_END_LESS_SAFE && lba + BigInt(blocks) > U64_END) throw new RangeError(`${who}: lba ${lba} + ${blocks} blocks passes 2^64`);
}

/** A READ's result: its Data-In, all of it (dxferLen is the length asked for). */
function wholeDataIn(ccb: ScsiIoCcb): Uint8Array {
  const got = ccb.dataIn;
  if (ccb.resid !== 0 || got?.length !== ccb.dxferLen) throw shortTransfer(ccb, ccb.dxferLen);
  return got;
}

/** A readInto's result: every byte of its buffer transferred. */
function wholeDataInto(ccb: ScsiIoCcb): void {
  if (ccb.resid !== 0 || ccb.dataIn?.length !== ccb.dxferLen) throw shortTransfer(ccb, ccb.dxferLen);
}

/** A WRITE's result: every Data-Out byte taken. */
function wholeDataOut(ccb: ScsiIoCcb): void {
  if (ccb.resid !== 0) throw shortTransfer(ccb, ccb.dxferLen);
}

function shortTransfer(ccb: ScsiIoCcb, len: number): CamError {
  const moved = ccb.dataIn?.length ?? len - ccb.resid;
  return CamError.fromCcb(ccb, `short transfer: ${moved} of ${len} bytes (resid ${ccb.resid})`, 0);
}
