// A single cam benchmark case for a profiler: one path (da, da-into for readInto, pass or the virtio
// driver alone), one operation, one queue depth, on the same stack bench/cam.ts
// builds, for PROFILE_MS. Run it under `node --cpu-prof` (or `--prof`):
//
//   npx tsc -p tsconfig.bench.json && \
//   PROFILE_PATH=da PROFILE_OP=read PROFILE_QD=32 node --cpu-prof dist-bench/bench/profile-cam.js
//
// It prints the IOPS it saw, so a profile can be matched with a bench run.

import { createStack } from '../src/stack.js';
import { MemoryBackend } from '../src/virtio/device/backends/memory.js';
import { VIRTIO_BLK_DRIVER_FEATURES } from '../src/virtio/blk-driver.js';
import { VIRTIO_BLK_S_OK, VIRTIO_BLK_T_IN, VIRTIO_BLK_T_OUT } from '../src/virtio/blk-wire.js';
import { VIRTIO_F_INDIRECT_DESC, featureMask } from '../src/virtio/blk-features.js';
import type { GuestRange } from '../src/virtio/guest-memory.js';
import { xorshift } from './rng.js';
import { runClosedLoop } from './measure.js';

const BLOCK = 4096;
const DISK = 64 * 2 ** 20;
const BLOCKS = DISK / BLOCK;

const path = process.env['PROFILE_PATH'] ?? 'da';
const op = process.env['PROFILE_OP'] ?? 'read';
const qd = Number(process.env['PROFILE_QD'] ?? 32);
const ring = Number(process.env['PROFILE_RING'] ?? 128);
const indirect = (process.env['PROFILE_DESC'] ?? 'direct') === 'indirect';
const durationMs = Number(process.env['PROFILE_MS'] ?? 5000);
if (!['da', 'da-into', 'pass', 'virtio'].includes(path)) throw new RangeError(`PROFILE_PATH must be da, da-into, pass or virtio, got '${path}'`);
if (path === 'da-into' && op !== 'read') throw new RangeError('PROFILE_PATH=da-into reads (da.readInto); PROFILE_OP must be read');
if (op !== 'read' && op !== 'write') throw new RangeError(`PROFILE_OP must be read or write, got '${op}'`);

const stack = await createStack({
  backend: new MemoryBackend({ blocks: BLOCKS, blockSize: BLOCK }),
  queueSize: ring,
  features: indirect ? VIRTIO_BLK_DRIVER_FEATURES : VIRTIO_BLK_DRIVER_FEATURES & ~featureMask(VIRTIO_F_INDIRECT_DESC),
  device: { blockSize: BLOCK },
  memorySize: 128 * 2 ** 20,
});
const da = stack.da(0);
const pass = stack.pass(0);
const chunk = new Uint8Array(2 ** 20).fill(0x5a);
for (let lba = 0n; lba < BigInt(BLOCKS); lba += BigInt(chunk.length / BLOCK)) await da.write(lba, chunk);
const pattern = new Uint8Array(BLOCK).fill(0xa5);
const next = xorshift(qd * 37 + ring);
const { driver, allocator } = stack.virtio;
const buffers: GuestRange[] = [];
const mine = Array.from({ length: qd }, () => new Uint8Array(BLOCK));
if (path === 'virtio') {
  for (let i = 0; i < qd; i++) {
    const b = allocator.alloc(BLOCK, BLOCK);
    if (b === undefined) throw new Error('guest memory exhausted');
    buffers.push(b);
  }
}

const ops: Record<string, () => Promise<void>> = {
  da: async () => {
    const lba = BigInt(next() % BLOCKS);
    if (op === 'read') await da.read(lba, 1);
    else await da.write(lba, pattern);
  },
  'da-into': async () => {
    const buf = mine.pop();
    if (buf === undefined) throw new Error('no buffer');
    await da.readInto(BigInt(next() % BLOCKS), buf);
    mine.push(buf);
  },
  pass: async () => {
    const lba = next() % BLOCKS;
    const cdb = Uint8Array.of(op === 'read' ? 0x28 : 0x2a, 0, lba >>> 24, (lba >>> 16) & 0xff, (lba >>> 8) & 0xff, lba & 0xff, 0, 0, 1, 0);
    const r = op === 'read' ? await pass.scsi({ cdb, direction: 'in', length: BLOCK }) : await pass.scsi({ cdb, direction: 'out', data: pattern });
    if ((r.camStatus & 0x3f) !== 0x01) throw new Error(`pass ${op} failed: status 0x${r.camStatus.toString(16)}`);
  },
  virtio: async () => {
    const buf = buffers.pop();
    if (buf === undefined) throw new Error('no buffer');
    const sector = BigInt((next() % BLOCKS) * (BLOCK / 512));
    const done = await driver.request({ type: op === 'read' ? VIRTIO_BLK_T_IN : VIRTIO_BLK_T_OUT, sector, data: [buf] });
    buffers.push(buf);
    if (done.kind !== 'done' || done.status !== VIRTIO_BLK_S_OK) throw new Error(`virtio ${op} failed`);
  },
};
const run = ops[path];
if (run === undefined) throw new Error('unreachable');
// CPU time per I/O as well as wall time: on a shared machine it is the steadier of the two.
let issued = 0;
const cpu0 = process.cpuUsage();
const r = await runClosedLoop({
  depth: qd,
  warmupMs: 300,
  durationMs,
  op: () => {
    issued++;
    return run();
  },
});
const cpu = process.cpuUsage(cpu0);
await stack.close();
process.stdout.write(`${path} ${op} qd ${qd} ring ${ring} ${indirect ? 'indirect' : 'direct'}: ${Math.round(r.opsPerSec)} IOPS, ` +
  `${(1e6 / r.opsPerSec).toFixed(2)} µs per I/O, ${((cpu.user + cpu.system) / issued).toFixed(2)} µs CPU per I/O, p50 ${r.p50Us.toFixed(1)} µs\n`);
