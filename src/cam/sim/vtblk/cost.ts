// What a SCSI command costs the virtqueue: the descriptors of the largest
// single virtio-blk request the SBC emulator will issue for it (VIRTIO 1.2
// §2.7.5.3: header + data segments + status, or one indirect descriptor). The
// emulator issues a command's requests one after another, so the largest one
// is what the command holds of the ring at any moment. Spec: SBC-4 for which
// commands touch the medium.
//
// | command                                   | largest request                        |
// |-------------------------------------------|----------------------------------------|
// | READ / WRITE / VERIFY / WRITE AND VERIFY, | IN/OUT of the transfer's data segments |
// |   COMPARE AND WRITE (n blocks)            |   (a FUA flush after it costs less)    |
// | WRITE SAME, zero block, WRITE_ZEROES      | WRITE_ZEROES, one segment array        |
// | WRITE SAME, other data                    | OUT of min(blocks, max transfer)       |
// | ORWRITE (n blocks)                        | IN, then OUT, of the transfer's data   |
// | SANITIZE OVERWRITE, EXTENDED COPY         | IN/OUT of one chunk (1 MiB or less)    |
// | UNMAP, SANITIZE BLOCK ERASE               | DISCARD, one segment array             |
// | SYNCHRONIZE CACHE, MODE SELECT,           | FLUSH (when the device has one)        |
// |   START STOP UNIT                         |                                        |
// | SEND DIAGNOSTIC, SELFTEST 1 or the        | IN of one block (LBA 0, then the last  |
// |   foreground short self-test              |   LBA: one after the other, SPC-5)     |
// | everything else, and CDBs the unit rejects | 0: never reaches the ring             |
//
// A transfer longer than the unit's MAXIMUM TRANSFER LENGTH costs 0 as well:
// the emulator refuses it before any I/O.

import { decodeCdb } from '../../../scsi/cdb/decode.js';
import { SanitizeSa, ScsiOp } from '../../../scsi/opcodes.js';
import type { SbcEmulator } from '../../../scsi/sbc/emulator.js';
import { OVERWRITE_CHUNK_BYTES } from '../../../scsi/sbc/handlers-sanitize.js';
import { COPY_CHUNK_BYTES } from '../../../scsi/sbc/handlers-copy.js';
import { selfTestReads } from '../../../scsi/sbc/handlers-spc.js';
import type { VirtioBlkDriver } from '../../../virtio/blk-driver.js';
import type { VirtioBlockCommandSet } from './translate.js';

/** What the cost of a command depends on. */
export interface CostModel {
  readonly emulator: SbcEmulator;
  readonly bcs: VirtioBlockCommandSet;
  /** Descriptors a request with `dataBuffers` data buffers costs on any of the SIM's queues (the most, where they differ). */
  requestCost(dataBuffers: number): number;
}

/**
 * The descriptor cost of requests with 0..`maxDataBuffers` data buffers on
 * queues 0..`queues` − 1, taken from the driver once: the XPT asks for costs
 * while the device is being reset (and its queues torn down), and the answer
 * does not change across a reset. The queues share the negotiated features, so
 * a request costs the same on each; the table keeps the most anyway, as the
 * block set may send a request to any of them.
 */
export function requestCostTable(driver: VirtioBlkDriver, queues: number, maxDataBuffers: number): (dataBuffers: number) => number {
  const table = Array.from({ length: maxDataBuffers + 1 }, (_, n) => {
    let cost = 0;
    for (let q = 0; q < queues; q++) cost = Math.max(cost, driver.descriptorCost(n, q));
    return cost;
  });
  return (n) => {
    const cost = table[n];
    if (cost === undefined) throw new RangeError(`no request carries ${n} data buffers (at most ${maxDataBuffers})`);
    return cost;
  };
}

/** Cost of an IN/OUT request for `blocks` logical blocks; 0 when the unit refuses a transfer that long. */
function transferCost(m: CostModel, blocks: number): number {
  if (blocks === 0 || blocks > m.emulator.maxTransferBlocks) return 0;
  return m.requestCost(m.bcs.dataSegments(blocks * m.emulator.geometry.blockSize));
}

/** Cost of the chunked transfers SANITIZE OVERWRITE and EXTENDED COPY make: at most `bytes`, the transfer limit, the medium. */
function chunkCost(m: CostModel, bytes: number): number {
  const g = m.emulator.geometry;
  const blocks = Math.max(1, Math.min(Math.floor(bytes / g.blockSize), m.emulator.maxTransferBlocks));
  return transferCost(m, g.blocks < BigInt(blocks) ? Number(g.blocks) : blocks);
}

function isZero(b: Uint8Array): boolean {
  for (const x of b) if (x !== 0) return false;
  return true;
}

/** Big-endian unsigned field of `bytes` bytes at `at` (indexed: a DataView over a small CDB costs more than all of cost()). */
function beField(cdb: Uint8Array, at: number, bytes: number): number {
  let n = 0;
  for (let i = at; i < at + bytes; i++) n = n * 256 + (cdb[i] ?? 0);
  return n;
}

/**
 * TRANSFER LENGTH of the READ/WRITE CDBs nearly all I/O uses (SBC-4 READ (10),
 * WRITE (10): bytes 7..8; READ (16), WRITE (16): bytes 10..13), read straight
 * from the bytes: cost() runs on every dispatch and a full decode costs more
 * than the rest of it. Other fields cannot make the request larger, and a CDB
 * the unit then rejects only makes the estimate high.
 */
const FAST_LENGTH: ReadonlyMap<number, { readonly cdbLength: number; readonly at: number; readonly bytes: number }> = new Map([
  [ScsiOp.READ_10, { cdbLength: 10, at: 7, bytes: 2 }],
  [ScsiOp.WRITE_10, { cdbLength: 10, at: 7, bytes: 2 }],
  [ScsiOp.READ_16, { cdbLength: 16, at: 10, bytes: 4 }],
  [ScsiOp.WRITE_16, { cdbLength: 16, at: 10, bytes: 4 }],
]);

/** Descriptors the largest virtio-blk request `cdb` causes (see the table above). */
export function commandCost(m: CostModel, cdb: Uint8Array, dataOut: Uint8Array | undefined): number {
  const fast = FAST_LENGTH.get(cdb[0] ?? -1);
  if (cdb.length === fast?.cdbLength) return transferCost(m, beField(cdb, fast.at, fast.bytes));
  const d = decodeCdb(cdb, m.emulator.commands);
  if (!d.ok) return 0;
  const g = m.emulator.geometry;
  const flush = g.flush ? m.requestCost(0) : 0;
  const c = d.value;
  switch (c.kind) {
    case 'rw':
    case 'compareAndWrite':
    case 'orWrite':
      // A FUA flush after the data never costs more than the data request (it has no data buffer).
      return transferCost(m, c.fields.blocks);
    case 'writeSame': {
      const f = c.fields;
      // NUMBER OF LOGICAL BLOCKS 0 runs to the end of the medium: as large as any count can be.
      const blocks = f.blocks === 0 ? m.emulator.maxTransferBlocks : f.blocks;
      const block = f.ndob ? undefined : dataOut?.subarray(0, g.blockSize);
      if (g.writeZeroes !== undefined && (block === undefined || isZero(block))) return m.requestCost(1);
      return transferCost(m, Math.min(blocks, m.emulator.maxTransferBlocks));
    }
    case 'unmap':
      return c.fields.parameterListLength === 0 ? 0 : m.requestCost(1);
    case 'sanitize':
      if (c.fields.serviceAction === SanitizeSa.BLOCK_ERASE) return m.requestCost(1);
      return c.fields.serviceAction === SanitizeSa.OVERWRITE ? chunkCost(m, OVERWRITE_CHUNK_BYTES) : 0;
    case 'extendedCopy':
      return c.fields.parameterListLength === 0 ? 0 : chunkCost(m, COPY_CHUNK_BYTES);
    case 'syncCache':
    case 'modeSelect':
    case 'startStopUnit':
      return flush;
    case 'sendDiagnostic':
      // Its self-tests read one block at a time; the parameter-list forms do no I/O.
      return selfTestReads(c.fields) ? transferCost(m, 1) : 0;
    case 'readCapacity10':
    case 'readCapacity16':
    case 'getLbaStatus':
    case 'inquiry':
    case 'prefetch':
    case 'modeSense':
    case 'reportLuns':
    case 'testUnitReady':
    case 'requestSense':
    case 'preventAllow':
    case 'formatUnit':
    case 'reserveRelease':
    case 'persistentReserveIn':
    case 'persistentReserveOut':
    case 'rsoc':
    case 'rstmf':
    case 'readDefectData':
    case 'receiveCopyResults':
      return 0;
  }
}
