// `vtcam demo`: build a virtio-blk device, print what was negotiated, and run
// a verified write/read pass through the ring with more requests outstanding
// than the ring holds.

import { MemoryBackend } from '../virtio/device/backends/memory.js';
import { FileBackend } from '../virtio/device/backends/file.js';
import type { BlockBackend } from '../virtio/device/backend.js';
import { attachLocalVirtioBlk, type LocalVirtioBlk } from '../virtio/local-stack.js';
import { VIRTIO_BLK_DRIVER_FEATURES } from '../virtio/blk-driver.js';
import { VIRTIO_BLK_S_OK, VIRTIO_BLK_T_FLUSH, VIRTIO_BLK_T_IN, VIRTIO_BLK_T_OUT, blkStatusName } from '../virtio/blk-wire.js';
import { VIRTIO_F_EVENT_IDX, VIRTIO_F_INDIRECT_DESC, featureMask, featureNames } from '../virtio/blk-features.js';
import type { DemoArgs } from './args.js';
import type { CliIo } from './io.js';
import { createProgress } from './progress.js';
import { imageFailure } from './image-error.js';

const DEFAULT_MEMORY_DISK = 64 * 2 ** 20;
/** The pass touches at most this much of the disk, so its shadow copy stays small. */
const PASS_REGION = 64 * 2 ** 20;
const OUTSTANDING = 256;

export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${Number.isInteger(v) ? v.toString() : v.toFixed(1)} ${units[i] ?? 'B'}`;
}

async function openBackend(args: DemoArgs, io: CliIo): Promise<{ backend: BlockBackend; label: string; scratch: boolean } | undefined> {
  if (args.image === undefined) {
    const size = args.size ?? DEFAULT_MEMORY_DISK;
    return { backend: new MemoryBackend({ blocks: size / args.blockSize, blockSize: args.blockSize, readOnly: args.readOnly }), label: 'memory (sparse)', scratch: true };
  }
  const existed = await FileBackend.open(args.image, { readOnly: true, blockSize: args.blockSize }).then(async (b) => {
    if (b instanceof FileBackend) await b.close();
    return b instanceof FileBackend;
  });
  const fb = await FileBackend.open(args.image, {
    lock: true,
    readOnly: args.readOnly,
    blockSize: args.blockSize,
    ...(args.size === undefined ? {} : { create: { size: args.size } }),
  });
  if (!(fb instanceof FileBackend)) {
    io.error(await imageFailure(fb, { creates: true, readOnly: args.readOnly }));
    return undefined;
  }
  // Never overwrite data in an image the user already had: the pass only reads it.
  return { backend: fb, label: `file ${args.image}${existed ? '' : ' (created sparse)'}`, scratch: !existed };
}

function describe(s: LocalVirtioBlk, label: string, io: CliIo): void {
  const cfg = s.driver.config;
  const bytes = Number(cfg.capacity) * 512;
  io.out(`virtio-blk device on the local transport`);
  io.out(`  backend   ${label}, ${formatBytes(bytes)} (${cfg.capacity} sectors), ${s.device.readOnly ? 'read-only' : 'read-write'}`);
  io.out(`  features  ${featureNames(s.driver.features).map((n) => n.replace(/^VIRTIO_(BLK_)?F_/, '')).join(' ')}`);
  io.out(`  config    blk_size ${cfg.blkSize} · seg_max ${cfg.segMax} · size_max ${formatBytes(cfg.sizeMax)} · writeback ${cfg.writeback === 0 ? 'off' : 'on'} · num_queues ${cfg.numQueues}`);
  io.out(`  queue 0   ${s.driver.queueSize()} entries · a 4 KiB read costs ${s.driver.descriptorCost(1)} descriptor(s) · ${s.driver.fits(1)} such requests fit`);
}

/** xorshift32, so a pass is reproducible. */
function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x;
  };
}

interface PassResult { reads: number; writes: number; mismatches: number; errors: string[] }

async function verifiedPass(s: LocalVirtioBlk, requests: number, write: boolean, io: CliIo): Promise<PassResult> {
  const blk = s.driver.config.blkSize;
  const region = Math.min(PASS_REGION, Number(s.driver.config.capacity) * 512);
  const blocks = region / blk;
  const shadow = new Uint8Array(region);
  const known = new Uint8Array(blocks);
  const busy = new Uint8Array(blocks);
  const maxBlocks = Math.min(blocks, Math.max(1, Math.floor(65536 / blk)));
  // Requests never overlap, so at most half the region may be busy: a random pick then always terminates fast.
  const outstanding = Math.max(1, Math.min(OUTSTANDING, requests, Math.floor(blocks / (2 * maxBlocks))));
  const overlaps = (lba: number, n: number): boolean => busy.subarray(lba, lba + n).includes(1);
  const next = rng(0x5eed);
  const res: PassResult = { reads: 0, writes: 0, mismatches: 0, errors: [] };
  const progress = createProgress(requests, 'verified pass', io.progress);
  let issued = 0;
  const one = async (id: number): Promise<void> => {
    const n = 1 + (next() % maxBlocks);
    let lba = next() % (blocks - n + 1);
    while (overlaps(lba, n)) lba = next() % (blocks - n + 1);
    busy.fill(1, lba, lba + n);
    const len = n * blk;
    const buf = s.allocator.alloc(len, 512);
    if (buf === undefined) throw new Error('guest memory exhausted');
    const view = s.memory.view(buf.addr, len) as Uint8Array;
    const isWrite = write && (next() & 1) === 1;
    if (isWrite) {
      view.fill(id & 0xff);
      new DataView(view.buffer, view.byteOffset).setUint32(0, id);
    }
    const c = await s.driver.request({ type: isWrite ? VIRTIO_BLK_T_OUT : VIRTIO_BLK_T_IN, sector: BigInt((lba * blk) / 512), data: [buf] });
    if (c.kind !== 'done' || c.status !== VIRTIO_BLK_S_OK) {
      res.errors.push(`${isWrite ? 'write' : 'read'} at block ${lba}: ${c.kind === 'done' ? blkStatusName(c.status) : c.reason}`);
    } else if (isWrite) {
      shadow.set(view, lba * blk);
      known.fill(1, lba, lba + n);
      res.writes++;
    } else {
      for (let i = 0; i < n; i++) {
        if (known[lba + i] === 0) {
          shadow.set(view.subarray(i * blk, (i + 1) * blk), (lba + i) * blk);
          known[lba + i] = 1;
        } else if (Buffer.compare(view.subarray(i * blk, (i + 1) * blk), shadow.subarray((lba + i) * blk, (lba + i + 1) * blk)) !== 0) {
          res.mismatches++;
        }
      }
      res.reads++;
    }
    s.allocator.free(buf.addr);
    busy.fill(0, lba, lba + n);
    progress.tick();
  };
  const worker = async (): Promise<void> => {
    while (issued < requests) await one(issued++);
  };
  await Promise.all(Array.from({ length: outstanding }, worker));
  if (write) {
    const f = await s.driver.request({ type: VIRTIO_BLK_T_FLUSH });
    if (f.kind !== 'done' || f.status !== VIRTIO_BLK_S_OK) res.errors.push('flush failed');
  }
  progress.done();
  return res;
}

/** Runs the demo; returns the process exit status. */
export async function runDemo(args: DemoArgs, io: CliIo): Promise<number> {
  const opened = await openBackend(args, io);
  if (opened === undefined) return 1;
  let features = VIRTIO_BLK_DRIVER_FEATURES;
  if (!args.indirect) features &= ~featureMask(VIRTIO_F_INDIRECT_DESC);
  if (!args.eventIdx) features &= ~featureMask(VIRTIO_F_EVENT_IDX);
  const s = await attachLocalVirtioBlk({ backend: opened.backend, queueSize: args.queueSize, features, device: { blockSize: args.blockSize, queueMaxSize: 32768 } });
  if (!('driver' in s)) {
    io.error(`the driver could not attach: ${s.reason}`);
    await opened.backend.close();
    return 1;
  }
  describe(s, opened.label, io);
  let status = 0;
  if (args.requests > 0) {
    const write = opened.scratch && !args.readOnly;
    const t0 = process.hrtime.bigint();
    const r = await verifiedPass(s, args.requests, write, io);
    const secs = Number(process.hrtime.bigint() - t0) / 1e9;
    const ds = s.driver.stats;
    const irq = s.device.interruptStats(0);
    io.out(`verified pass: ${args.requests} requests (${r.writes} writes, ${r.reads} reads${write ? '' : ', read-only'}) in ${secs.toFixed(2)} s, ${Math.round(args.requests / secs).toLocaleString('en-US')} req/s`);
    io.out(`  doorbells ${ds.notifies} (suppressed ${ds.suppressed}) · interrupts ${irq?.interrupted ?? 0} (suppressed ${irq?.suppressed ?? 0})`);
    if (r.mismatches > 0 || r.errors.length > 0) {
      io.error(`${r.mismatches} data mismatches, ${r.errors.length} failed requests${r.errors[0] === undefined ? '' : `; first: ${r.errors[0]}`}`);
      status = 1;
    } else {
      io.out('  all data verified');
    }
  }
  await s.driver.close();
  await opened.backend.close();
  return status;
}
