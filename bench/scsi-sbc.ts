// Benchmark: the SBC emulator's cost per command. 4 KiB READ(10), WRITE(10)
// and COMPARE AND WRITE through SbcEmulator.execute on an in-memory block set,
// at queue depth 1 and 32, each against the same block set called directly
// with the same operation and depth (the floor: what the emulator adds is
// decoding, checks, locking and the result).

import { SbcEmulator } from '../src/scsi/sbc/emulator.js';
import { MemoryBlockSet } from '../src/scsi/sbc/memory-block-set.js';
import { xorshift } from './rng.js';
import { runClosedLoop } from './measure.js';
import type { BenchRow } from './report.js';

const BLOCK = 4096;
const BLOCKS = 16384; // 64 MiB
const GROUP = 'scsi-sbc';

export interface ScsiSbcOptions {
  readonly durationMs: number;
  readonly warmupMs: number;
  readonly onStep?: (msg: string) => void;
}

type Op = 'read' | 'write' | 'compare-and-write';
const EMULATED: readonly { readonly op: Op; readonly name: string; readonly baseline: string }[] = [
  { op: 'read', name: 'READ(10) 4 KiB', baseline: 'block set read 4 KiB' },
  { op: 'write', name: 'WRITE(10) 4 KiB', baseline: 'block set write 4 KiB' },
  { op: 'compare-and-write', name: 'COMPARE AND WRITE 4 KiB', baseline: 'block set read+write 4 KiB' },
];
const DEPTHS = [1, 32] as const;

/** Number of cases, for progress. */
export const SCSI_SBC_CASES = 2 * EMULATED.length * DEPTHS.length;

function cdb10(opcode: number, lba: number): Uint8Array {
  const c = new Uint8Array(10);
  const v = new DataView(c.buffer);
  v.setUint8(0, opcode);
  v.setUint32(2, lba);
  v.setUint16(7, 1);
  return c;
}

function cdbCaw(lba: number): Uint8Array {
  const c = new Uint8Array(16);
  const v = new DataView(c.buffer);
  v.setUint8(0, 0x89); // COMPARE AND WRITE
  v.setBigUint64(2, BigInt(lba));
  v.setUint8(13, 1); // NUMBER OF LOGICAL BLOCKS
  return c;
}

async function filledSet(): Promise<MemoryBlockSet> {
  const set = new MemoryBlockSet({ blocks: BLOCKS, blockSize: BLOCK, record: false });
  const chunk = new Uint8Array(256 * BLOCK).fill(0x5a);
  for (let lba = 0; lba < BLOCKS; lba += 256) await set.write(BigInt(lba), chunk);
  return set;
}

async function measure(depth: number, opts: ScsiSbcOptions, op: (lba: number) => Promise<void>): Promise<{ opsPerSec: number; p50Us: number; p99Us: number }> {
  const next = xorshift(depth * 7919);
  return runClosedLoop({ depth, warmupMs: opts.warmupMs, durationMs: opts.durationMs, op: () => op(next() % BLOCKS) });
}

export async function benchScsiSbc(opts: ScsiSbcOptions): Promise<BenchRow[]> {
  const set = await filledSet();
  const lu = await SbcEmulator.create(set, { powerOnUnitAttention: false });
  const pattern = new Uint8Array(BLOCK).fill(0x5a);
  const rows: BenchRow[] = [];
  const direct: Readonly<Record<Op, (lba: number) => Promise<void>>> = {
    read: async (lba) => {
      if ((await set.read(BigInt(lba), new Uint8Array(BLOCK))) !== 'ok') throw new Error('read failed');
    },
    write: async (lba) => {
      if ((await set.write(BigInt(lba), pattern)) !== 'ok') throw new Error('write failed');
    },
    'compare-and-write': async (lba) => {
      const cur = new Uint8Array(BLOCK);
      if ((await set.read(BigInt(lba), cur)) !== 'ok' || (await set.write(BigInt(lba), pattern)) !== 'ok') throw new Error('read+write failed');
    },
  };
  const cawData = new Uint8Array(2 * BLOCK).fill(0x5a);
  const emulated: Readonly<Record<Op, (lba: number) => Promise<void>>> = {
    read: async (lba) => {
      const r = await lu.execute(cdb10(0x28, lba));
      if (r.status !== 0 || r.data?.length !== BLOCK) throw new Error(`READ(10) failed: ${r.status}`);
    },
    write: async (lba) => {
      const r = await lu.execute(cdb10(0x2a, lba), { dataOut: pattern });
      if (r.status !== 0) throw new Error(`WRITE(10) failed: ${r.status}`);
    },
    'compare-and-write': async (lba) => {
      const r = await lu.execute(cdbCaw(lba), { dataOut: cawData });
      if (r.status !== 0) throw new Error(`COMPARE AND WRITE failed: ${r.status}`);
    },
  };
  for (const e of EMULATED) {
    for (const qd of DEPTHS) {
      opts.onStep?.(`${e.baseline} qd ${qd}`);
      const base = await measure(qd, opts, direct[e.op]);
      rows.push({ group: GROUP, name: e.baseline, params: { qd }, ...base });
      opts.onStep?.(`${e.name} qd ${qd}`);
      const r = await measure(qd, opts, emulated[e.op]);
      rows.push({ group: GROUP, name: e.name, params: { qd }, ...r, baseline: e.baseline });
    }
  }
  return rows;
}
