// Property tests over the whole SBC emulator. 1) Random CDB bytes (mostly the
// unit's own commands with fields inside their usage masks), random Data-Out,
// three I_T nexuses, small disks of 512- and 4096-byte blocks with and without
// discard / write-zeroes, read-only or not, and a fault hook failing random
// block operations: the emulator never throws, answers GOOD or CHECK CONDITION
// only, with well-formed sense from a fixed list (written out below from the
// error table and the handler docs), field pointers inside what was sent, data
// within the ALLOCATION LENGTH, and the unit still serves afterwards.
// 2) Random valid WRITE / READ / WRITE SAME / UNMAP / COMPARE AND WRITE agree
// with a plain byte-array model of the disk, failed commands included.

import { describe, expect, test } from 'vitest';
import fc from 'fast-check';
import { decodeSenseFull } from '../../../src/scsi/sense-codec.js';
import type { SenseData } from '../../../src/scsi/sense.js';
import { SbcEmulator } from '../../../src/scsi/sbc/emulator.js';
import type { SbcResult } from '../../../src/scsi/sbc/execute-api.js';
import { MemoryBlockSet, type MemoryBlockOp } from '../../../src/scsi/sbc/memory-block-set.js';
import type { BlockFailure, BlockRange, BlockStatus } from '../../../src/scsi/sbc/block-command-set.js';
import { encodeRw } from '../../../src/scsi/cdb/rw.js';
import { encodeWriteSame } from '../../../src/scsi/cdb/write-same.js';
import { encodeUnmap, encodeUnmapParameterList } from '../../../src/scsi/cdb/unmap.js';
import { encodeCompareAndWrite } from '../../../src/scsi/cdb/compare-and-write.js';
import { bytes, hex } from './harness.js';

const k3 = (key: number, asc: number, ascq: number): string => `${key.toString(16)}/${asc.toString(16)}/${ascq.toString(16)}`;

// Every (key, ASC, ASCQ) the emulator may answer with, from the errors.ts
// table, the emulator's check order and the handler docs (SPC-5 Annex D names).
const ALLOWED = new Set(
  [
    [0x05, 0x20, 0x00], // INVALID COMMAND OPERATION CODE
    [0x05, 0x24, 0x00], // INVALID FIELD IN CDB
    [0x05, 0x26, 0x00], // INVALID FIELD IN PARAMETER LIST
    [0x05, 0x1a, 0x00], // PARAMETER LIST LENGTH ERROR
    [0x05, 0x21, 0x00], // LOGICAL BLOCK ADDRESS OUT OF RANGE
    [0x05, 0x39, 0x00], // SAVING PARAMETERS NOT SUPPORTED
    [0x05, 0x0e, 0x03], // INVALID FIELD IN COMMAND INFORMATION UNIT
    [0x07, 0x27, 0x00], // WRITE PROTECTED
    [0x07, 0x27, 0x07], // SPACE ALLOCATION FAILED WRITE PROTECT
    [0x03, 0x11, 0x00], // UNRECOVERED READ ERROR
    [0x03, 0x0c, 0x00], // WRITE ERROR
    [0x04, 0x44, 0x00], // INTERNAL TARGET FAILURE
    [0x0e, 0x1d, 0x00], // MISCOMPARE DURING VERIFY OPERATION
    [0x02, 0x04, 0x02], // LOGICAL UNIT NOT READY, INITIALIZING COMMAND REQUIRED
    [0x06, 0x29, 0x00], // POWER ON, RESET, OR BUS DEVICE RESET OCCURRED
    [0x06, 0x29, 0x03], // BUS DEVICE RESET FUNCTION OCCURRED
    [0x06, 0x29, 0x07], // I_T NEXUS LOSS OCCURRED
    [0x06, 0x2a, 0x01], // MODE PARAMETERS CHANGED
    [0x06, 0x2a, 0x09], // CAPACITY DATA HAS CHANGED
    [0x02, 0x04, 0x1b], // LOGICAL UNIT NOT READY, SANITIZE IN PROGRESS
    [0x03, 0x31, 0x03], // SANITIZE COMMAND FAILED (after an injected fault)
    [0x05, 0x00, 0x16], // OPERATION IN PROGRESS (EXTENDED COPY list identifier in use)
    [0x05, 0x26, 0x06], // TOO MANY TARGET DESCRIPTORS
    [0x05, 0x26, 0x07], // UNSUPPORTED TARGET DESCRIPTOR TYPE CODE
    [0x05, 0x26, 0x08], // TOO MANY SEGMENT DESCRIPTORS
    [0x05, 0x26, 0x09], // UNSUPPORTED SEGMENT DESCRIPTOR TYPE CODE
    [0x0a, 0x08, 0x04], // COPY ABORTED, UNREACHABLE COPY TARGET
    [0x0a, 0x00, 0x00], // COPY ABORTED, a segment range past the capacity
    // COPY ABORTED carrying a failed read's or write's ASC/ASCQ (injected faults).
    [0x0a, 0x11, 0x00], [0x0a, 0x0c, 0x00], [0x0a, 0x20, 0x00], [0x0a, 0x27, 0x07], [0x0a, 0x44, 0x00],
    [0x05, 0x26, 0x04], // INVALID RELEASE OF PERSISTENT RESERVATION
    [0x06, 0x2a, 0x03], // RESERVATIONS PREEMPTED
    [0x06, 0x2a, 0x04], // RESERVATIONS RELEASED
    [0x06, 0x2a, 0x05], // REGISTRATIONS PREEMPTED
  ].map(([k, a, q]) => k3(k ?? -1, a ?? -1, q ?? -1)),
);

const NEXUSES = ['a', 'b', 'c'] as const;
const TUR = bytes('00 00 00 00 00 00');
const REQUEST_SENSE = bytes('03 00 00 00 12 00');
const START = bytes('1b 00 00 00 01 00');
const READ_LBA0 = bytes('28 00 00 00 00 00 00 00 01 00');
/** SANITIZE OVERWRITE, one pass of zeros (SBC-4 parameter list: count 1, pattern length 1). */
const SANITIZE_OVERWRITE = bytes('48 01 00 00 00 00 00 00 05 00');
const OVERWRITE_ONCE = bytes('01 00 00 01 00');
// PERSISTENT RESERVE OUT, PARAMETER LIST LENGTH 24: REGISTER AND IGNORE EXISTING KEY (SA 6) with SERVICE
// ACTION RESERVATION KEY 1, then CLEAR (SA 3) with RESERVATION KEY 1.
const PROUT_REGISTER_KEY_1 = [bytes('5f 06 00 00 00 00 00 00 18 00'), bytes('00 00 00 00 00 00 00 00  00 00 00 00 00 00 00 01  00 00 00 00 00 00 00 00')] as const;
const PROUT_CLEAR_KEY_1 = [bytes('5f 03 00 00 00 00 00 00 18 00'), bytes('00 00 00 00 00 00 00 01  00 00 00 00 00 00 00 00  00 00 00 00 00 00 00 00')] as const;

/** mulberry32: a small deterministic PRNG, seeded by fast-check, for the fault hook and data bytes. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const be = (cdb: Uint8Array, from: number, n: number): number => {
  let v = 0;
  for (let i = 0; i < n; i++) v = v * 256 + (cdb[from + i] ?? 0);
  return v;
};

/** ALLOCATION LENGTH (or exact Data-In length for READ) of a data-in CDB, from the SPC-5/SBC-4 CDB tables; undefined for the rest. */
function dataInLimit(cdb: Uint8Array, blockSize: number): { max: number; exact: boolean } | undefined {
  switch (cdb[0] ?? -1) {
    case 0x03: // REQUEST SENSE
    case 0x1a: // MODE SENSE (6)
      return { max: be(cdb, 4, 1), exact: false };
    case 0x12: // INQUIRY
      return { max: be(cdb, 3, 2), exact: false };
    case 0x5a: // MODE SENSE (10)
    case 0x5e: // PERSISTENT RESERVE IN
    case 0x37: // READ DEFECT DATA (10)
      return { max: be(cdb, 7, 2), exact: false };
    case 0xb7: // READ DEFECT DATA (12)
      return { max: be(cdb, 6, 4), exact: false };
    case 0x25: // READ CAPACITY (10): 8 bytes
      return { max: 8, exact: false };
    case 0x9e: // SERVICE ACTION IN (16)
    case 0x84: // THIRD-PARTY COPY IN (RECEIVE COPY STATUS / OPERATING PARAMETERS)
      return { max: be(cdb, 10, 4), exact: false };
    case 0xa0: // REPORT LUNS
    case 0xa3: // MAINTENANCE IN
      return { max: be(cdb, 6, 4), exact: false };
    case 0x08: // READ (6): 0 means 256 blocks
      return { max: (be(cdb, 4, 1) || 256) * blockSize, exact: true };
    case 0x28:
      return { max: be(cdb, 7, 2) * blockSize, exact: true };
    case 0xa8:
      return { max: be(cdb, 6, 4) * blockSize, exact: true };
    case 0x88:
      return { max: be(cdb, 10, 4) * blockSize, exact: true };
    default:
      return undefined;
  }
}

/**
 * A MemoryBlockSet that records the calls it rejects as caller bugs (RangeError:
 * past the capacity, over the discard / write-zeroes limits, partial blocks).
 * The emulator reports such a throw as INTERNAL TARGET FAILURE, which an
 * injected fault could explain; this tells them apart.
 */
class StrictBlockSet extends MemoryBlockSet {
  readonly callerBugs: string[] = [];

  #guard<T>(what: string, f: () => T): T {
    try {
      return f();
    } catch (e) {
      if (e instanceof RangeError) this.callerBugs.push(`${what}: ${e.message}`);
      throw e;
    }
  }

  override read(lba: bigint, into: Uint8Array): Promise<BlockStatus> {
    return this.#guard('read', () => super.read(lba, into));
  }

  override write(lba: bigint, data: Uint8Array): Promise<BlockStatus> {
    return this.#guard('write', () => super.write(lba, data));
  }

  override discard(ranges: readonly BlockRange[]): Promise<BlockStatus> {
    return this.#guard('discard', () => super.discard(ranges));
  }

  override writeZeroes(range: BlockRange, unmap: boolean): Promise<BlockStatus> {
    return this.#guard('writeZeroes', () => super.writeZeroes(range, unmap));
  }
}

interface Injected {
  hw: number; // flush/write-cache failures mapped to INTERNAL TARGET FAILURE, and throws
  medium: number;
  noSpace: number;
  unsupported: number;
  writeCacheUnsupported: number;
}

function classify(op: MemoryBlockOp, s: BlockFailure, inj: Injected): void {
  if (s === 'unsupported') {
    if (op === 'write-cache') inj.writeCacheUnsupported++;
    else inj.unsupported++;
  } else if (op === 'write-cache' || (op === 'flush' && s === 'io-error')) inj.hw++;
  else if (s === 'no-space' && op !== 'read' && op !== 'mapping') inj.noSpace++;
  else inj.medium++;
}

// A non-zero field byte: small, around the 64-block capacity (edges of the LBA range), or anything.
const byteArb = fc.oneof(
  { weight: 3, arbitrary: fc.integer({ min: 1, max: 8 }) },
  { weight: 1, arbitrary: fc.integer({ min: 56, max: 72 }) },
  { weight: 1, arbitrary: fc.integer({ min: 1, max: 255 }) },
);

// CDB field bytes: a per-CDB density decides how many are non-zero, so that
// sparse CDBs (small LBAs and lengths on a 16-byte CDB) reach the handlers.
const fieldsArb = fc
  .tuple(
    fc.constantFrom(4, 15, 40),
    fc.array(fc.tuple(fc.nat(99), byteArb), { minLength: 16, maxLength: 16 }),
  )
  .map(([density, bs]) => bs.map(([roll, v]) => (roll < density ? v : 0)));

const rawCmdArb = fc.record({
  any: fc.integer({ min: 0, max: 7 }), // 0: any opcode and length; else a command of the unit
  pick: fc.nat(),
  fields: fieldsArb,
  flip: fc.oneof({ weight: 6, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: fc.nat(127) }), // one bit outside the usage mask, now and then
  length: fc.constantFrom('exact', 'exact', 'exact', 'padded', 'short'),
  anyLength: fc.integer({ min: 0, max: 16 }),
  anyOpcode: fc.integer({ min: 0, max: 255 }),
  data: fc.constantFrom('exact', 'exact', 'structured', 'structured', 'none', 'short', 'long', 'random'),
  zeroData: fc.boolean(),
  seed: fc.nat(),
  nexus: fc.constantFrom(...NEXUSES),
});
type RawCmd = typeof rawCmdArb extends fc.Arbitrary<infer T> ? T : never;

const eventArb = fc.oneof(
  fc.constant({ event: 'reset' as const }),
  fc.record({ event: fc.constant('resize' as const), blocks: fc.integer({ min: 16, max: 96 }) }),
  fc.record({ event: fc.constant('forget' as const), nexus: fc.constantFrom(...NEXUSES) }),
);
const stepArb = fc.oneof({ weight: 14, arbitrary: fc.array(rawCmdArb, { minLength: 1, maxLength: 3 }) }, { weight: 1, arbitrary: eventArb });

const scenarioArb = fc.record({
  blockSize: fc.constantFrom(512 as const, 4096 as const),
  discard: fc.boolean(),
  writeZeroes: fc.boolean(),
  readOnly: fc.oneof({ weight: 3, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
  writeCache: fc.boolean(),
  faultRate: fc.constantFrom(0, 0.2, 0.5),
  seed: fc.nat(),
  powerOn: fc.boolean(),
  dSense: fc.boolean(),
});

/** A parameter list that mostly parses (UNMAP, MODE SELECT), patched into the CDB's PARAMETER LIST LENGTH. */
function structured(cdb: Uint8Array, raw: RawCmd, rnd: () => number): Uint8Array | undefined {
  const op = cdb[0];
  if (op === 0x42 && cdb.length >= 10) {
    const n = raw.seed % 4;
    const list = new Uint8Array(8 + 16 * n);
    const v = new DataView(list.buffer);
    v.setUint16(0, 6 + 16 * n);
    v.setUint16(2, 16 * n);
    for (let k = 0; k < n; k++) {
      v.setUint32(8 + 16 * k + 4, Math.floor(rnd() * 100)); // UNMAP LOGICAL BLOCK ADDRESS (low half)
      v.setUint32(8 + 16 * k + 8, Math.floor(rnd() * 12)); // NUMBER OF LOGICAL BLOCKS
    }
    cdb[7] = list.length >> 8;
    cdb[8] = list.length & 0xff;
    return list;
  }
  if ((op === 0x15 || op === 0x55) && cdb.length >= (op === 0x15 ? 6 : 10)) {
    const header = op === 0x15 ? 4 : 8;
    const caching = raw.seed % 2 === 0;
    const page = caching ? [0x08, 0x12, rnd() < 0.5 ? 0x04 : 0, ...new Array<number>(17).fill(0)] : [0x0a, 0x0a, rnd() < 0.5 ? 0x06 : 0x02, 0x10, ...new Array<number>(8).fill(0)];
    const list = Uint8Array.from([...new Array<number>(header).fill(0), ...page]);
    cdb[1] = (cdb[1] ?? 0) | 0x10; // PF
    if (op === 0x15) cdb[4] = list.length;
    else cdb[8] = list.length;
    return list;
  }
  return undefined;
}

function buildCdb(lu: SbcEmulator, raw: RawCmd): Uint8Array {
  if (raw.any === 0) {
    const cdb = new Uint8Array(raw.anyLength);
    if (cdb.length > 0) cdb[0] = raw.anyOpcode;
    for (let i = 1; i < cdb.length; i++) cdb[i] = raw.fields[i] ?? 0;
    return cdb;
  }
  const d = lu.commands[raw.pick % lu.commands.length];
  if (d === undefined) throw new Error('empty command table');
  const len = raw.length === 'padded' ? 16 : raw.length === 'short' ? raw.pick % d.cdbLength : d.cdbLength;
  const cdb = new Uint8Array(Math.max(len, raw.length === 'short' ? 0 : d.cdbLength));
  cdb[0] = d.opcode;
  for (let i = 1; i < d.cdbLength && i < cdb.length; i++) cdb[i] = (raw.fields[i] ?? 0) & (d.usage[i] ?? 0);
  if (d.serviceAction !== undefined && cdb.length > 1) cdb[1] = ((cdb[1] ?? 0) & ~0x1f) | d.serviceAction;
  if (raw.flip !== null && cdb.length > 1) {
    const byte = 1 + (raw.flip % (cdb.length - 1));
    cdb[byte] = (cdb[byte] ?? 0) ^ (1 << (raw.flip >> 4) % 8);
  }
  return cdb;
}

function buildData(lu: SbcEmulator, cdb: Uint8Array, raw: RawCmd, bs: number): Uint8Array {
  const rnd = prng(raw.seed);
  if (raw.data === 'structured') {
    const list = structured(cdb, raw, rnd);
    if (list !== undefined) return list;
  }
  // A transfer far past the 64-block disk is rejected before its data is looked at: cap what is built.
  const need = Math.min(lu.dataOutLength(cdb), 2 * 64 * bs + 1024);
  const length = {
    exact: need,
    structured: need,
    none: 0,
    short: Math.max(0, need - 1 - (raw.seed % bs)),
    long: need + (raw.seed % 700),
    random: raw.seed % (2 * bs + 1),
  }[raw.data];
  const data = new Uint8Array(length);
  if (!raw.zeroData) {
    const chunk = Uint8Array.from({ length: 61 }, () => Math.floor(rnd() * 256)); // 61: not a divisor of any block size
    for (let i = 0; i < length; i += chunk.length) data.set(chunk.subarray(0, Math.min(chunk.length, length - i)), i);
  }
  return data;
}

/** Checks one sense buffer (CHECK CONDITION or REQUEST SENSE data) and counts it against what was injected. */
function checkSense(
  raw: Uint8Array,
  ctx: { cdb: Uint8Array; dataOut: Uint8Array; need: number; dSense: boolean | undefined; capacity: bigint; allocationLength?: number },
  seen: Injected,
  inj: Injected,
): SenseData {
  const d = decodeSenseFull(raw);
  if (d === undefined) throw new Error(`undecodable sense ${hex(raw)}`);
  expect([0x70, 0x71, 0x72, 0x73]).toContain(d.responseCode);
  // REQUEST SENSE cuts its data at the ALLOCATION LENGTH; CHECK CONDITION sense is whole.
  expect(d.truncated && raw.length !== ctx.allocationLength, hex(raw)).toBe(false);
  expect(d.hasAsc || raw.length === ctx.allocationLength, hex(raw)).toBe(true);
  if (ctx.dSense !== undefined) expect(d.format, `D_SENSE ${ctx.dSense}: ${hex(raw)}`).toBe(ctx.dSense ? 'descriptor' : 'fixed');
  const s = d.sense;
  const t = k3(s.key, s.asc, s.ascq);
  expect(ALLOWED.has(t), `${t} for CDB ${hex(ctx.cdb)}`).toBe(true);
  if (s.field !== undefined) {
    expect(s.key).toBe(0x05);
    if (s.field.cdb) expect(s.field.byte, `field pointer for CDB ${hex(ctx.cdb)}`).toBeLessThan(Math.max(ctx.cdb.length, 1));
    else expect(s.field.byte, `parameter pointer for CDB ${hex(ctx.cdb)}`).toBeLessThan(Math.min(ctx.dataOut.length, ctx.need));
  }
  // Only SYNCHRONIZE CACHE IMMED defers: its flush's failures per the error table.
  if (d.responseCode === 0x71 || d.responseCode === 0x73) expect(['4/44/0', '5/20/0', '7/27/7']).toContain(t);
  if (t === '4/44/0') expect(++seen.hw, 'INTERNAL TARGET FAILURE without an injected fault').toBeLessThanOrEqual(inj.hw);
  // The sanitize failure mode answers every medium access the same way once any fault broke a sanitize.
  if (t === '3/31/3') expect(inj.hw + inj.medium + inj.noSpace + inj.unsupported, 'SANITIZE COMMAND FAILED without an injected fault').toBeGreaterThan(0);
  else if (s.key === 0x03) {
    expect(++seen.medium, `${t} without an injected fault`).toBeLessThanOrEqual(inj.medium);
    if (s.information !== undefined) expect(s.information).toBeLessThan(ctx.capacity);
  }
  if (t === '7/27/7') expect(++seen.noSpace).toBeLessThanOrEqual(inj.noSpace);
  if (t === '5/20/0' && s.field === undefined) expect(++seen.unsupported).toBeLessThanOrEqual(inj.unsupported);
  if (t === '5/26/0' && s.field === undefined) expect(++seen.writeCacheUnsupported).toBeLessThanOrEqual(inj.writeCacheUnsupported);
  if (t === 'e/1d/0') expect(s.information).toBeDefined();
  return s;
}

/** What the random run reached, by outcome: a fuzzer that only sees faults proves little. */
const reached = new Map<string, number>();
const note = (what: string): void => {
  reached.set(what, (reached.get(what) ?? 0) + 1);
};

describe('SbcEmulator on random CDBs', () => {
  test('never throws; GOOD or CHECK CONDITION with allowed, well-formed sense; data within the allocation length; keeps serving', async () => {
    await fc.assert(
      fc.asyncProperty(scenarioArb, fc.array(stepArb, { minLength: 1, maxLength: 8 }), async (sc, steps) => {
        const rnd = prng(sc.seed);
        const inj: Injected = { hw: 0, medium: 0, noSpace: 0, unsupported: 0, writeCacheUnsupported: 0 };
        const seen: Injected = { hw: 0, medium: 0, noSpace: 0, unsupported: 0, writeCacheUnsupported: 0 };
        let faults = sc.faultRate > 0;
        const disk = new StrictBlockSet({
          blocks: 64,
          blockSize: sc.blockSize,
          readOnly: sc.readOnly,
          writeCache: sc.writeCache,
          discard: sc.discard ? { maxBlocks: 8, maxSegments: 2, granularity: 0, zeroes: true } : false,
          writeZeroes: sc.writeZeroes ? { maxBlocks: 16, mayUnmap: true } : false,
          fault: (op) => {
            if (!faults || rnd() >= sc.faultRate) return undefined;
            const x = rnd();
            if (x < 0.1) {
              inj.hw++;
              throw new Error(`injected throw in ${op}`);
            }
            const s: BlockFailure = x < 0.4 ? 'io-error' : x < 0.7 ? 'unsupported' : 'no-space';
            classify(op, s, inj);
            return s;
          },
        });
        const lu = await SbcEmulator.create(disk, { powerOnUnitAttention: sc.powerOn, maxCompareAndWriteBlocks: 4 });
        const bs = sc.blockSize;
        if (sc.dSense) {
          // Half the runs start with D_SENSE set, so descriptor-format sense is met by more than the random MODE SELECTs
          // that happen to set it: MODE SELECT (6) with PF, a 4-byte header and the Control mode page (SPC-5: 0Ah,
          // length 0Ah, byte 2 D_SENSE 04h | GLTSD 02h, byte 3 QUEUE ALGORITHM MODIFIER 1), past the power-on unit attention.
          const select = Uint8Array.of(0x15, 0x10, 0, 0, 16, 0);
          const list = Uint8Array.of(0, 0, 0, 0, 0x0a, 0x0a, 0x06, 0x10, 0, 0, 0, 0, 0, 0, 0, 0);
          let r = await lu.execute(select, { dataOut: list, nexus: 'a' });
          if (r.status === 0x02 && sc.powerOn) r = await lu.execute(select, { dataOut: list, nexus: 'a' });
          expect(r.status, hex(r.sense)).toBe(0x00);
          expect(lu.modeState().dSense).toBe(true);
        }

        const one = async (raw: RawCmd): Promise<void> => {
          const cdb = buildCdb(lu, raw);
          const dataOut = buildData(lu, cdb, raw, bs);
          const need = lu.dataOutLength(cdb);
          let r: SbcResult;
          try {
            r = await lu.execute(cdb, { dataOut, nexus: raw.nexus });
          } catch (e) {
            throw new Error(`execute threw for CDB ${hex(cdb)}: ${String(e)}`);
          }
          expect([0x00, 0x02, 0x18], `status for CDB ${hex(cdb)}`).toContain(r.status);
          if (r.status === 0x18) {
            // RESERVATION CONFLICT (a random RESERVE or PERSISTENT RESERVE OUT came first): no sense, no data.
            expect([r.sense, r.data], `RESERVATION CONFLICT for CDB ${hex(cdb)}`).toEqual([undefined, undefined]);
            note('reservation conflict');
            return;
          }
          expect(disk.callerBugs, `block calls for CDB ${hex(cdb)}`).toEqual([]);
          if (r.status === 0x00) note([0x08, 0x28, 0xa8, 0x88].includes(cdb[0] ?? -1) ? 'good read' : 'good');
          if (r.senseData !== undefined) note(`sense ${k3(r.senseData.key, r.senseData.asc, r.senseData.ascq)}`);
          if (r.sense !== undefined) note(`format ${((r.sense[0] ?? 0) & 0x7f).toString(16)}`);
          if (r.status === 0x00) {
            expect(r.sense).toBeUndefined();
            const limit = dataInLimit(cdb, bs);
            const got = r.data?.length ?? 0;
            if (limit === undefined) expect(got, `Data-In for CDB ${hex(cdb)}`).toBe(0);
            else if (limit.exact) expect(got, `READ data for CDB ${hex(cdb)}`).toBe(limit.max);
            else expect(got, `Data-In for CDB ${hex(cdb)}`).toBeLessThanOrEqual(limit.max);
            if (cdb[0] === 0x03 && r.data !== undefined && r.data.length >= 14) {
              const s = decodeSenseFull(r.data);
              expect(s?.format, `REQUEST SENSE DESC ${(cdb[1] ?? 0) & 1}`).toBe(((cdb[1] ?? 0) & 1) === 1 ? 'descriptor' : 'fixed');
              const allocationLength = cdb[4] ?? 0;
              if (s !== undefined && s.sense.key !== 0) checkSense(r.data, { cdb, dataOut, need, dSense: undefined, capacity: disk.geometry().blocks, allocationLength }, seen, inj);
            }
          } else {
            expect(r.data, `CHECK CONDITION with data for CDB ${hex(cdb)}`).toBeUndefined();
            const raw8 = r.sense;
            if (raw8 === undefined) throw new Error(`CHECK CONDITION without sense for CDB ${hex(cdb)}`);
            const s = checkSense(raw8, { cdb, dataOut, need, dSense: lu.modeState().dSense, capacity: disk.geometry().blocks }, seen, inj);
            expect([r.senseData?.key, r.senseData?.asc, r.senseData?.ascq]).toEqual([s.key, s.asc, s.ascq]);
          }
        };

        for (const step of steps) {
          if (Array.isArray(step)) {
            await Promise.all(step.map(one));
          } else if (step.event === 'reset') {
            lu.resetLogicalUnit();
          } else if (step.event === 'resize') {
            disk.resize(BigInt(step.blocks));
            lu.refreshGeometry();
          } else {
            lu.forgetNexus(step.nexus);
          }
        }

        // Let IMMED flushes settle, then the unit must serve every nexus again.
        await new Promise((resolve) => setImmediate(resolve));
        faults = false;
        // A reservation left by the random commands would refuse what follows: LOGICAL UNIT RESET ends an
        // SPC-2 one, a registrant's CLEAR every persistent one (nexus a registers first, whatever it held).
        lu.resetLogicalUnit();
        for (const [cdb, dataOut] of [PROUT_REGISTER_KEY_1, PROUT_CLEAR_KEY_1]) {
          let r = await lu.execute(cdb, { dataOut, nexus: 'a' });
          for (let i = 0; i < 16 && r.senseData?.key === 0x06; i++) r = await lu.execute(cdb, { dataOut, nexus: 'a' });
          expect(r.status, hex(r.sense)).toBe(0x00);
        }
        expect(lu.locks.held).toBe(0);
        expect(lu.locks.waiting).toBe(0);
        for (const nexus of NEXUSES) {
          let drained = false;
          for (let i = 0; i < 16 && !drained; i++) {
            const r = await lu.execute(REQUEST_SENSE, { nexus });
            expect(r.status).toBe(0x00);
            const s = decodeSenseFull(r.data ?? new Uint8Array(0));
            if (s === undefined) throw new Error(`REQUEST SENSE data ${hex(r.data)}`);
            const t = k3(s.sense.key, s.sense.asc, s.sense.ascq);
            if (t === '2/4/1b') {
              // An IMMED SANITIZE still runs: let it finish (each pass over 64 blocks takes a few turns).
              await new Promise((resolve) => setTimeout(resolve, 1));
              i--;
            } else if (t === '3/31/3') {
              // A sanitize failed (injected fault): one that succeeds ends the failure mode.
              expect((await lu.execute(SANITIZE_OVERWRITE, { dataOut: OVERWRITE_ONCE, nexus })).status).toBe(0x00);
            }
            drained = s.sense.key === 0x00 || t === '2/4/2';
          }
          expect(drained, `unit attentions keep coming for ${nexus}`).toBe(true);
          expect((await lu.execute(START, { nexus })).status).toBe(0x00);
          expect((await lu.execute(TUR, { nexus })).status).toBe(0x00);
          const r = await lu.execute(READ_LBA0, { nexus });
          expect(r.status, hex(r.sense)).toBe(0x00);
          expect(r.data?.length).toBe(bs);
        }
        if (sc.readOnly) {
          expect(disk.mappedBlocks).toBe(0);
          expect(disk.calls.filter((c) => c.op === 'write' || c.op === 'discard' || c.op === 'write-zeroes')).toEqual([]);
        }
      }),
      { numRuns: 700 },
    );
    // The runs reached the handlers, the injected faults and the unit-wide conditions (expected counts are 3..50× these).
    const count = (k: string): number => reached.get(k) ?? 0;
    expect(count('good read')).toBeGreaterThan(20);
    expect(count('good')).toBeGreaterThan(300);
    expect(count('sense 3/11/0') + count('sense 3/c/0')).toBeGreaterThan(0);
    expect(count('sense 4/44/0')).toBeGreaterThan(0);
    expect(count('sense 2/4/2')).toBeGreaterThan(5);
    expect(count('sense 7/27/0')).toBeGreaterThan(20);
    expect(count('sense 6/29/0')).toBeGreaterThan(50);
    expect(count('sense 6/2a/9')).toBeGreaterThan(5);
    expect(count('format 72')).toBeGreaterThan(0);
  });
});

// ---------------------------------------------------------------------------
// Data model: a 256-block disk against a plain Uint8Array.

const MODEL_BLOCKS = 256;
const BS = 512;

const modelCmdArb = fc.oneof(
  fc.record({ kind: fc.constant('write' as const), lba: fc.integer({ min: 0, max: 260 }), blocks: fc.integer({ min: 0, max: 6 }), fill: fc.integer({ min: 1, max: 255 }), len: fc.constantFrom(10, 16) }),
  fc.record({ kind: fc.constant('read' as const), lba: fc.integer({ min: 0, max: 260 }), blocks: fc.integer({ min: 0, max: 6 }), len: fc.constantFrom(6, 10, 16) }),
  fc.record({
    kind: fc.constant('writeSame' as const),
    lba: fc.integer({ min: 0, max: 260 }),
    blocks: fc.integer({ min: 0, max: 12 }),
    fill: fc.constantFrom(0, 0, 0x5c),
    unmap: fc.boolean(),
    ndob: fc.boolean(),
    len: fc.constantFrom(10, 16),
  }),
  fc.record({ kind: fc.constant('unmap' as const), ranges: fc.array(fc.record({ lba: fc.integer({ min: 0, max: 258 }), blocks: fc.integer({ min: 0, max: 10 }) }), { maxLength: 3 }) }),
  fc.record({ kind: fc.constant('caw' as const), lba: fc.integer({ min: 0, max: 257 }), blocks: fc.integer({ min: 0, max: 3 }), mismatch: fc.oneof(fc.constant(null), fc.nat(3 * BS - 1)), fill: fc.integer({ min: 0, max: 255 }) }),
);
const modelStepArb = fc.record({
  cmd: modelCmdArb,
  fault: fc.oneof({ weight: 5, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: fc.constantFrom<BlockFailure>('io-error', 'unsupported', 'no-space') }),
});

const outside = (lba: number, blocks: number): boolean => lba + blocks > MODEL_BLOCKS;

/** Byte equality without vitest's deep-equal (slow on large typed arrays); the message shows the first difference. */
function expectSameBytes(got: Uint8Array | undefined, want: Uint8Array, label: string): void {
  const g = got ?? new Uint8Array(0);
  let at = g.length === want.length ? -1 : Math.min(g.length, want.length);
  for (let i = 0; i < Math.min(g.length, want.length) && at < 0; i++) if (g[i] !== want[i]) at = i;
  if (at >= 0) expect(`${label}: byte ${at}: ${hex(g.subarray(at, at + 8))}`).toBe(`${label}: byte ${at}: ${hex(want.subarray(at, at + 8))}`);
}

describe('SbcEmulator data against a byte-array model', () => {
  test('WRITE / READ / WRITE SAME / UNMAP / COMPARE AND WRITE, failures changing nothing', async () => {
    await fc.assert(
      fc.asyncProperty(fc.boolean(), fc.boolean(), fc.array(modelStepArb, { minLength: 1, maxLength: 25 }), async (discard, writeZeroes, steps) => {
        let armed: BlockFailure | undefined;
        const disk = new StrictBlockSet({
          blocks: MODEL_BLOCKS,
          discard: discard ? { maxBlocks: 4, maxSegments: 2, granularity: 0, zeroes: true } : false,
          writeZeroes: writeZeroes ? { maxBlocks: 5, mayUnmap: true } : false,
          fault: () => {
            const f = armed;
            armed = undefined; // only the command's first block operation fails
            return f;
          },
        });
        const lu = await SbcEmulator.create(disk, { powerOnUnitAttention: false });
        const model = new Uint8Array(MODEL_BLOCKS * BS);
        const lbpws = discard || writeZeroes;

        for (const { cmd, fault } of steps) {
          armed = fault ?? undefined;
          let cdb: Uint8Array;
          let dataOut: Uint8Array = new Uint8Array(0);
          // What the model says must happen: a key/ASC/ASCQ, 'io' (the injected fault) or 'good' (then `apply`).
          let expected: string;
          let apply = (): void => undefined;
          let touchesBlocks = false;
          switch (cmd.kind) {
            case 'write': {
              cdb = encodeRw({ op: 'WRITE', lba: BigInt(cmd.lba), blocks: cmd.blocks }, { minLength: cmd.len });
              dataOut = new Uint8Array(cmd.blocks * BS).map((_, i) => (cmd.fill + i) & 0xff);
              touchesBlocks = cmd.blocks > 0;
              expected = outside(cmd.lba, cmd.blocks) ? '5/21/0' : 'good';
              apply = () => {
                model.set(dataOut, cmd.lba * BS);
              };
              break;
            }
            case 'read': {
              cdb = encodeRw({ op: 'READ', lba: BigInt(cmd.lba), blocks: cmd.blocks || 1 }, { minLength: cmd.len });
              touchesBlocks = true;
              expected = outside(cmd.lba, cmd.blocks || 1) ? '5/21/0' : 'good';
              break;
            }
            case 'writeSame': {
              const ndob = cmd.ndob && cmd.len === 16;
              cdb = encodeWriteSame({ lba: BigInt(cmd.lba), blocks: cmd.blocks, unmap: cmd.unmap, ndob }, { minLength: cmd.len });
              const pattern = new Uint8Array(BS).fill(ndob ? 0 : cmd.fill);
              if (!ndob) dataOut = pattern;
              touchesBlocks = true;
              if (cmd.unmap && !lbpws) expected = '5/24/0';
              else if (outside(cmd.lba, cmd.blocks)) expected = '5/21/0';
              else expected = 'good';
              // WSNZ 0: NUMBER OF LOGICAL BLOCKS 0 runs to the end of the medium.
              const covered = cmd.blocks === 0 ? MODEL_BLOCKS - cmd.lba : cmd.blocks;
              touchesBlocks = covered > 0;
              apply = () => {
                for (let b = 0; b < covered; b++) model.set(pattern, (cmd.lba + b) * BS);
              };
              break;
            }
            case 'unmap': {
              dataOut = encodeUnmapParameterList(cmd.ranges.map((r) => ({ lba: BigInt(r.lba), blocks: r.blocks })));
              cdb = encodeUnmap({ parameterListLength: dataOut.length });
              touchesBlocks = cmd.ranges.some((r) => r.blocks > 0);
              if (!discard) expected = '5/20/0';
              else if (cmd.ranges.some((r) => outside(r.lba, r.blocks))) expected = '5/21/0';
              else expected = 'good';
              apply = () => {
                for (const r of cmd.ranges) model.fill(0, r.lba * BS, (r.lba + r.blocks) * BS); // LBPRZ
              };
              break;
            }
            case 'caw': {
              cdb = encodeCompareAndWrite({ lba: BigInt(cmd.lba), blocks: cmd.blocks });
              const n = cmd.blocks * BS;
              const verify = model.slice(cmd.lba * BS, cmd.lba * BS + n);
              const write = new Uint8Array(n).fill(cmd.fill);
              const at = cmd.mismatch === null || cmd.mismatch >= n ? -1 : cmd.mismatch;
              if (at >= 0) verify[at] = (verify[at] ?? 0) ^ 0xff;
              dataOut = Uint8Array.from([...verify, ...write]);
              touchesBlocks = cmd.blocks > 0;
              if (outside(cmd.lba, cmd.blocks)) expected = '5/21/0';
              else if (cmd.blocks === 0) expected = 'good';
              else if (fault !== null) expected = 'io'; // the read for the compare fails first
              else if (at >= 0) expected = 'e/1d/0';
              else expected = 'good';
              apply = () => {
                model.set(write, cmd.lba * BS);
              };
              break;
            }
          }
          if (expected === 'good' && touchesBlocks && fault !== null) expected = 'io';
          const r = await lu.execute(cdb, { dataOut });
          const label = `${JSON.stringify(cmd)} fault ${String(fault)} → ${hex(r.sense)}`;
          expect(disk.callerBugs, label).toEqual([]);
          if (expected === 'good') {
            expect(r.status, label).toBe(0x00);
            apply();
            if (cmd.kind === 'read') {
              const n = (cmd.blocks || 1) * BS;
              expectSameBytes(r.data, model.subarray(cmd.lba * BS, cmd.lba * BS + n), label);
            }
          } else {
            expect(r.status, label).toBe(0x02);
            const s = decodeSenseFull(r.sense ?? new Uint8Array(0))?.sense;
            if (s === undefined) throw new Error(label);
            if (expected === 'io') expect([0x03, 0x05, 0x07], label).toContain(s.key);
            else expect(k3(s.key, s.asc, s.ascq), label).toBe(expected);
            if (expected === 'e/1d/0') expect(s.information, label).toBe(BigInt(cmd.kind === 'caw' ? (cmd.mismatch ?? -1) : -1));
          }
          // The blocks the command named hold what the model holds (unchanged when it failed).
          const ranges = cmd.kind === 'unmap' ? cmd.ranges : [{ lba: cmd.lba, blocks: cmd.kind === 'read' ? 0 : cmd.blocks }];
          for (const { lba, blocks } of ranges) {
            for (let b = lba; b < Math.min(lba + blocks, MODEL_BLOCKS); b++) {
              expectSameBytes(disk.peek(BigInt(b)), model.subarray(b * BS, (b + 1) * BS), `${label}: block ${b}`);
            }
          }
          armed = undefined;
        }
        // The whole medium equals the model (unmapped blocks read as zeros: LBPRZ).
        const image = new Uint8Array(MODEL_BLOCKS * BS);
        for (let lba = 0; lba < MODEL_BLOCKS; lba++) image.set(disk.peek(BigInt(lba)), lba * BS);
        expectSameBytes(image, model, 'medium vs model');
        expect(lu.locks.held).toBe(0);
      }),
      { numRuns: 300 },
    );
  });
});
