// virtio-blk request handlers, one per request type (VIRTIO 1.2 §5.2.6), as a
// table rather than a switch ladder. They see the device only through
// {@link BlkRequestContext}, which VirtioBlkDevice implements.

import type { GuestMemory, GuestRange } from '../guest-memory.js';
import type { BackendStatus, BlockBackend } from './backend.js';
import type { VirtioBlkConfig } from '../blk-config.js';
import { sgRead } from './sg.js';
import {
  VIRTIO_BLK_ID_BYTES,
  VIRTIO_BLK_S_IOERR,
  VIRTIO_BLK_S_OK,
  VIRTIO_BLK_S_UNSUPP,
  VIRTIO_BLK_SECTOR_SIZE,
  VIRTIO_BLK_T_DISCARD,
  VIRTIO_BLK_T_FLUSH,
  VIRTIO_BLK_T_GET_ID,
  VIRTIO_BLK_T_IN,
  VIRTIO_BLK_T_OUT,
  VIRTIO_BLK_T_WRITE_ZEROES,
  VirtioBlkDiscardWriteZeroes,
  decodeDiscardSegment,
  segmentFlagsStatus,
} from '../blk-wire.js';
import { VIRTIO_BLK_F_DISCARD, VIRTIO_BLK_F_FLUSH, VIRTIO_BLK_F_WRITE_ZEROES } from '../blk-features.js';

/** What a handler may ask of the device. */
export interface BlkRequestContext {
  readonly memory: GuestMemory;
  readonly backend: BlockBackend;
  readonly readOnly: boolean;
  readonly writeback: boolean;
  readonly serial: Uint8Array;
  /** Block-aligned length, aligned start, inside capacity (a sector past 2^53 is past any capacity). */
  checkRange(sector: number, bytes: number): boolean;
  hasDriverFeature(bit: number): boolean;
  limits(): Pick<VirtioBlkConfig, 'maxDiscardSectors' | 'maxDiscardSeg' | 'maxWriteZeroesSectors' | 'maxWriteZeroesSeg'>;
}

export interface BlkResult {
  readonly status: number;
  /** Bytes written into the data-in buffers (the used length is this plus the status byte). */
  readonly written: number;
}

export const OK0: BlkResult = { status: VIRTIO_BLK_S_OK, written: 0 };
export const IOERR: BlkResult = { status: VIRTIO_BLK_S_IOERR, written: 0 };
export const UNSUPP: BlkResult = { status: VIRTIO_BLK_S_UNSUPP, written: 0 };

/**
 * The last OK result with data: results are immutable, and a run of READs
 * mostly writes one length, so they share one object instead of one each.
 */
let okWritten: BlkResult = OK0;

function fromBackend(s: BackendStatus, written = 0): BlkResult {
  switch (s) {
    case 'ok':
      if (written === 0) return OK0;
      if (okWritten.written !== written) okWritten = { status: VIRTIO_BLK_S_OK, written };
      return okWritten;
    case 'unsupported': return UNSUPP;
    case 'io-error':
    case 'no-space': return IOERR;
  }
}

/**
 * A parsed request, ready for its type's handler. Lent for the handler's
 * synchronous part only: the queue engine reuses the object and its lists for
 * the next request, so a handler reads what it needs before it awaits.
 */
export interface BlkRequestData {
  /** The header's sector; a number (one past 2^53 is inexact, and past any capacity all the same). */
  readonly sector: number;
  readonly dataOut: readonly GuestRange[];
  readonly dataOutLen: number;
  readonly dataIn: readonly GuestRange[];
  readonly dataInLen: number;
}

type Handler = (dev: BlkRequestContext, req: BlkRequestData) => Promise<BlkResult> | BlkResult;

// IN and OUT are nearly every request: their path uses explicit promises, not
// async functions, and a one-segment transfer (the usual one) no array.

const firstFailure = (results: readonly BackendStatus[]): BackendStatus => results.find((s) => s !== 'ok') ?? 'ok';

/** The backend I/O for each data segment; the first failure, else ok. Rejects when the backend throws. */
function ioSegments(dev: BlkRequestContext, sector: number, ranges: readonly GuestRange[], write: boolean): Promise<BackendStatus> {
  let offset = sector * VIRTIO_BLK_SECTOR_SIZE;
  const io = (r: GuestRange): Promise<BackendStatus> | undefined => {
    const view = dev.memory.view(r.addr, r.len);
    if (view === undefined) return undefined;
    const p = write ? dev.backend.write(offset, view) : dev.backend.read(offset, view);
    offset += r.len;
    return p;
  };
  try {
    const only = ranges.length === 1 ? ranges[0] : undefined;
    if (only !== undefined) return io(only) ?? Promise.resolve('io-error');
    const ops: Promise<BackendStatus>[] = [];
    for (const r of ranges) {
      const p = io(r);
      if (p === undefined) return Promise.resolve('io-error');
      ops.push(p);
    }
    return Promise.all(ops).then(firstFailure);
  } catch (e) {
    return Promise.reject(e instanceof Error ? e : new Error(String(e)));
  }
}

/**
 * ioSegments done at once, with the backend's synchronous forms (readSync,
 * writeSync); undefined when the backend has none or says not now (syncReady).
 * A throw is io-error, as a rejection is on the asynchronous path.
 */
function ioSegmentsNow(dev: BlkRequestContext, sector: number, ranges: readonly GuestRange[], write: boolean): BackendStatus | undefined {
  const b = dev.backend;
  if ((write ? b.writeSync === undefined : b.readSync === undefined) || b.syncReady?.() === false) return undefined;
  const mem = dev.memory;
  let offset = sector * VIRTIO_BLK_SECTOR_SIZE;
  let status: BackendStatus = 'ok';
  try {
    for (const r of ranges) {
      if (!mem.contains(r.addr, r.len)) return 'io-error';
      // Guest memory itself with the range's index: no view per segment.
      const s = (write ? b.writeSync?.(offset, mem.bytes, r.addr, r.len) : b.readSync?.(offset, mem.bytes, r.addr, r.len)) ?? 'io-error';
      if (status === 'ok') status = s;
      offset += r.len;
    }
  } catch {
    return 'io-error';
  }
  return status;
}

// The asynchronous halves are functions of their own: a closure in the
// handler would cost every request its captured context, synchronous or not.

const handleIn: Handler = (dev, req) => {
  if (req.dataOutLen !== 0 || !dev.checkRange(req.sector, req.dataInLen)) return IOERR;
  const now = ioSegmentsNow(dev, req.sector, req.dataIn, false);
  if (now !== undefined) return fromBackend(now, now === 'ok' ? req.dataInLen : 0);
  return readLater(dev, req);
};

function readLater(dev: BlkRequestContext, req: BlkRequestData): Promise<BlkResult> {
  // req is lent: keep the length, not the request.
  const len = req.dataInLen;
  return ioSegments(dev, req.sector, req.dataIn, false).then((s) => fromBackend(s, s === 'ok' ? len : 0));
}

// Write-through mode (writeback = 0): a write is durable before it completes.
const afterWrite = (dev: BlkRequestContext, s: BackendStatus): BlkResult | Promise<BlkResult> =>
  s === 'ok' && !dev.writeback ? dev.backend.flush().then((f) => fromBackend(f)) : fromBackend(s);

const handleOut: Handler = (dev, req) => {
  if (req.dataInLen !== 0 || dev.readOnly || !dev.checkRange(req.sector, req.dataOutLen)) return IOERR;
  const now = ioSegmentsNow(dev, req.sector, req.dataOut, true);
  if (now !== undefined) return afterWrite(dev, now);
  return writeLater(dev, req);
};

function writeLater(dev: BlkRequestContext, req: BlkRequestData): Promise<BlkResult> {
  return ioSegments(dev, req.sector, req.dataOut, true).then((s) => afterWrite(dev, s));
}

const handleFlush: Handler = async (dev, req) => {
  if (!dev.hasDriverFeature(VIRTIO_BLK_F_FLUSH)) return UNSUPP;
  if (req.dataInLen !== 0) return IOERR;
  return fromBackend(await dev.backend.flush());
};

const handleGetId: Handler = (dev, req) => {
  // §5.2.6: the ID is 20 bytes, NUL-padded, not NUL-terminated when 20 long.
  const n = Math.min(VIRTIO_BLK_ID_BYTES, req.dataInLen);
  let done = 0;
  for (const r of req.dataIn) {
    if (done === n) break;
    const take = Math.min(r.len, n - done);
    dev.memory.copyIn(r.addr, dev.serial.subarray(done, done + take));
    done += take;
  }
  return { status: VIRTIO_BLK_S_OK, written: n };
};

function makeDiscardHandler(type: typeof VIRTIO_BLK_T_DISCARD | typeof VIRTIO_BLK_T_WRITE_ZEROES): Handler {
  const feature = type === VIRTIO_BLK_T_DISCARD ? VIRTIO_BLK_F_DISCARD : VIRTIO_BLK_F_WRITE_ZEROES;
  return async (dev, req) => {
    if (!dev.hasDriverFeature(feature)) return UNSUPP;
    if (dev.readOnly || req.dataInLen !== 0) return IOERR;
    const n = req.dataOutLen / VirtioBlkDiscardWriteZeroes.SIZE;
    if (!Number.isInteger(n) || n === 0) return IOERR;
    const lim = dev.limits();
    const maxSeg = type === VIRTIO_BLK_T_DISCARD ? lim.maxDiscardSeg : lim.maxWriteZeroesSeg;
    const maxSectors = type === VIRTIO_BLK_T_DISCARD ? lim.maxDiscardSectors : lim.maxWriteZeroesSectors;
    if (n > maxSeg) return UNSUPP;
    const payload = sgRead(dev.memory, req.dataOut, 0, req.dataOutLen);
    if (payload === undefined) return IOERR;
    const segs = [];
    for (let i = 0; i < n; i++) {
      const seg = decodeDiscardSegment(payload, i * VirtioBlkDiscardWriteZeroes.SIZE);
      if (segmentFlagsStatus(type, seg.flags) !== VIRTIO_BLK_S_OK) return UNSUPP;
      if (seg.numSectors > maxSectors || !dev.checkRange(Number(seg.sector), seg.numSectors * VIRTIO_BLK_SECTOR_SIZE)) return IOERR;
      segs.push(seg);
    }
    for (const seg of segs) {
      const offset = Number(seg.sector) * VIRTIO_BLK_SECTOR_SIZE;
      const length = seg.numSectors * VIRTIO_BLK_SECTOR_SIZE;
      const s = type === VIRTIO_BLK_T_DISCARD ? await dev.backend.discard(offset, length) : await dev.backend.writeZeroes(offset, length, seg.unmap);
      if (s !== 'ok') return fromBackend(s);
    }
    // They change the medium as a write does: in write-through mode stable before they complete (§5.2.6.2).
    return afterWrite(dev, 'ok');
  };
}

export const HANDLERS: ReadonlyMap<number, Handler> = new Map<number, Handler>([
  [VIRTIO_BLK_T_IN, handleIn],
  [VIRTIO_BLK_T_OUT, handleOut],
  [VIRTIO_BLK_T_FLUSH, handleFlush],
  [VIRTIO_BLK_T_GET_ID, handleGetId],
  [VIRTIO_BLK_T_DISCARD, makeDiscardHandler(VIRTIO_BLK_T_DISCARD)],
  [VIRTIO_BLK_T_WRITE_ZEROES, makeDiscardHandler(VIRTIO_BLK_T_WRITE_ZEROES)],
]);
