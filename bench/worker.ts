// Benchmark (issue 6): 4 KiB random reads and writes through `da` at queue
// depth 1, 32 and 256, memory and file backends, with the device on the
// local transport (same thread) and in worker threads with 1, 2 and 4
// queues; for the file backend, fio on the same image file in the same run as
// the physical baseline. Each worker row is compared with local at the same
// backend, pattern and depth ("ratio"), each file row also with buffered fio
// ("vs floor"). `worker 2q/1t` is 2 queues on 1 device thread: the stack's
// default thread count, one per queue but no more than the CPUs beside the
// driver's thread.
//
// Rows whose configuration cannot start here (a stack that fails to come up,
// fio missing or unable to run) are kept with no figures and the reason,
// instead of stopping the run; the reasons are printed under the table.

import { rmSync } from 'node:fs';
import { mkdtemp, open, rm } from 'node:fs/promises';
import { availableParallelism, constants, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createStack, type Stack } from '../src/stack.js';
import type { BlockBackend } from '../src/virtio/device/backend.js';
import { MemoryBackend, type MemoryBackendOptions } from '../src/virtio/device/backends/memory.js';
import { FileBackend } from '../src/virtio/device/backends/file.js';
import { SharedMemoryBackend } from '../src/virtio/device/backends/shared-memory.js';
import { probeFio, runFio, type FioEngine, type FioFailure, type FioProbe, type FioRw } from './fio.js';
import { findTool } from './iscsi-targets.js';
import { runClosedLoop } from './measure.js';
import type { BenchRow } from './report.js';
import { xorshift } from './rng.js';

const BLOCK = 4096;
/** The image file and the memory disk: large enough that random 4 KiB I/O does not stay in the CPU caches. */
export const WORKER_IMAGE_BYTES = 256 * 2 ** 20;
const BLOCKS = WORKER_IMAGE_BYTES / BLOCK;
/** Ring size: QD 256 fits one ring with indirect descriptors, so the deepest point measures the rings, not the devq. */
export const WORKER_QUEUE_SIZE = 256;
export const WORKER_DEPTHS = [1, 32, 256] as const;
const RWS: readonly FioRw[] = ['randread', 'randwrite'];
const BACKENDS = ['memory', 'file'] as const;
type BackendKind = (typeof BACKENDS)[number];

/** Row names; `local` is the baseline of the worker rows. */
export const LOCAL = 'local';
const WORKER_QUEUES = [1, 2, 4] as const;
/** Device threads the stack starts by default for `queues` (one per queue, at most the CPUs beside the main thread). */
const threadsFor = (queues: number): number => Math.min(queues, Math.max(1, availableParallelism() - 1));
const workerName = (queues: number, pollUs = 0): string => `worker ${queues}q/${threadsFor(queues)}t${pollUs > 0 ? ` poll ${pollUs}us` : ''}`;
/** The device side's polling mode, measured next to sleeping at once: idle workers spin on the doorbell this long. */
const POLL_US = 50;
const POLL_QUEUES = [1, 2] as const;
const fioName = (engine: FioEngine, direct: boolean): string => `fio ${engine}${direct ? ' direct' : ''}`;

/** Where the device runs, on how many queues, and how long an idle worker polls. */
interface Transport {
  readonly name: string;
  readonly worker: boolean;
  readonly queues: number;
  readonly pollUs: number;
}
const LOCAL_TRANSPORT: Transport = { name: LOCAL, worker: false, queues: 1, pollUs: 0 };
/** Stacks per backend: local, a worker one per queue count, then the polling ones. */
const TRANSPORTS: readonly Transport[] = [
  LOCAL_TRANSPORT,
  ...WORKER_QUEUES.map((queues) => ({ name: workerName(queues), worker: true, queues, pollUs: 0 })),
  ...POLL_QUEUES.map((queues) => ({ name: workerName(queues, POLL_US), worker: true, queues, pollUs: POLL_US })),
];

/** Steps, for progress: the image, the fio probe, fio buffered and direct per pattern and depth, then every stack's points. */
export const WORKER_CASES = 2 + 2 * RWS.length * WORKER_DEPTHS.length + BACKENDS.length * TRANSPORTS.length * RWS.length * WORKER_DEPTHS.length;

export interface WorkerBenchOptions {
  readonly durationMs: number;
  readonly warmupMs: number;
  readonly onStep?: (msg: string) => void;
}

/** A row this build could not measure, and why. */
export interface Unavailable {
  readonly group: string;
  readonly name: string;
  readonly qd: number;
  readonly reason: string;
}

export interface WorkerBenchResult {
  /** Baselines named ({@link linkBaselines}); call computeRatios before reporting. */
  readonly rows: BenchRow[];
  readonly unavailable: Unavailable[];
  /** What ran on what: the memory backend class, fio's engine, O_DIRECT. */
  readonly meta: Record<string, string | number>;
}

const groupOf = (backend: BackendKind, rw: FioRw): string => `${backend} ${rw}`;

const measured = (r: BenchRow): boolean => Number.isFinite(r.opsPerSec) && r.opsPerSec > 0;

/**
 * Names each row's baselines: a worker row is compared with `local` at the
 * same group (backend and pattern) and depth; every vtcam row of a file group
 * also with `fioBaseline` at that depth. A baseline is named only when that
 * row was measured, so a missing fio or a local stack that did not start
 * leaves ratios out rather than pointing at no figure.
 */
export function linkBaselines(rows: readonly BenchRow[], fioBaseline: string | undefined): BenchRow[] {
  const has = (group: string, name: string, qd: unknown): boolean =>
    rows.some((r) => r.group === group && r.name === name && r.params['qd'] === qd && measured(r));
  return rows.map((r): BenchRow => {
    const out: BenchRow = { ...r };
    const vtcam = r.name === LOCAL || r.name.startsWith('worker ');
    if (!measured(r) || !vtcam) return out;
    const qd = r.params['qd'];
    if (r.name !== LOCAL && has(r.group, LOCAL, qd)) out.baseline = LOCAL;
    if (fioBaseline !== undefined && r.group.startsWith('file ') && has(r.group, fioBaseline, qd)) out.floorBaseline = fioBaseline;
    return out;
  });
}

/** Rows in reading order: by `groups`, then depth, then `names` (anything not listed goes after, in measured order). */
export function orderRows(rows: readonly BenchRow[], groups: readonly string[], names: readonly string[]): BenchRow[] {
  const rank = (list: readonly string[], x: string): number => (list.includes(x) ? list.indexOf(x) : list.length);
  return [...rows].sort(
    (a, b) => rank(groups, a.group) - rank(groups, b.group) || Number(a.params['qd']) - Number(b.params['qd']) || rank(names, a.name) - rank(names, b.name),
  );
}

// ---------------------------------------------------------------------------
// Backends and stacks

type MemoryBackendClass = new (opts: MemoryBackendOptions) => BlockBackend;

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** A 1 MiB pattern, non-zero and different in every 4 KiB block, so reads return written data rather than holes. */
function fillPattern(): Uint8Array {
  const next = xorshift(0x5eed);
  const chunk = new Uint8Array(2 ** 20);
  const view = new DataView(chunk.buffer);
  for (let i = 0; i < chunk.length; i += 4) view.setUint32(i, next() | 0x01010101);
  return chunk;
}

async function createImage(path: string, chunk: Uint8Array): Promise<void> {
  const fh = await open(path, 'wx');
  try {
    for (let at = 0; at < WORKER_IMAGE_BYTES; at += chunk.length) await fh.write(chunk, 0, chunk.length, at);
  } finally {
    await fh.close();
  }
}

/**
 * A memory disk of the benchmark's size, prefilled with `chunk`, from `cls`;
 * or why there is none (a constructor that throws, a failed write).
 */
async function memoryDisk(cls: MemoryBackendClass, chunk: Uint8Array): Promise<BlockBackend | string> {
  let backend: BlockBackend;
  try {
    backend = new cls({ blocks: BLOCKS, blockSize: BLOCK });
  } catch (e) {
    return `${cls.name}: ${errorText(e)}`;
  }
  for (let offset = 0; offset < backend.size; offset += chunk.length) {
    const status = await backend.write(offset, chunk);
    if (status !== 'ok') {
      await backend.close();
      return `${cls.name}: prefilling failed at ${offset}: ${status}`;
    }
  }
  return backend;
}

async function openImage(path: string): Promise<BlockBackend> {
  const fb = await FileBackend.open(path, { blockSize: BLOCK });
  if (!(fb instanceof FileBackend)) throw new Error(fb.message);
  return fb;
}

/**
 * The local memory stack: on SharedMemoryBackend, the medium the worker rows
 * need, when it works on the local transport too, so that local and worker
 * rows differ only in where the device runs; else on MemoryBackend.
 * `backend` says which, and why.
 */
async function localMemoryStack(chunk: Uint8Array): Promise<{ stack: Stack | string; backend: string }> {
  const stack = await tryStack(await memoryDisk(SharedMemoryBackend, chunk), LOCAL_TRANSPORT);
  if (typeof stack !== 'string') return { stack, backend: 'SharedMemoryBackend' };
  return {
    stack: await tryStack(await memoryDisk(MemoryBackend, chunk), LOCAL_TRANSPORT),
    backend: `MemoryBackend (SharedMemoryBackend on the local transport: ${stack})`,
  };
}

/** A stack on `backend` (which the stack then owns), or why there is none; the backend is closed then. */
async function tryStack(backend: BlockBackend | string, transport: Transport): Promise<Stack | string> {
  if (typeof backend === 'string') return backend;
  try {
    return await createStack({
      backend,
      transport: transport.worker ? 'worker' : 'local',
      queues: transport.queues,
      ...(transport.worker ? { pollUs: transport.pollUs } : {}),
      queueSize: WORKER_QUEUE_SIZE,
      device: { blockSize: BLOCK },
    });
  } catch (e) {
    await backend.close();
    return errorText(e);
  }
}

// ---------------------------------------------------------------------------
// Measurement

/** Rows as they are measured, and the ones that could not be. */
class Results {
  readonly rows: BenchRow[] = [];
  readonly unavailable: Unavailable[] = [];
  readonly #step: (msg: string) => void;

  constructor(step: (msg: string) => void) {
    this.#step = step;
  }

  step(msg: string): void {
    this.#step(msg);
  }

  put(row: BenchRow): void {
    this.rows.push(row);
  }

  /** A row without figures: not measured, for `reason`. */
  skip(group: string, name: string, qd: number, reason: string): void {
    this.unavailable.push({ group, name, qd, reason });
    this.rows.push({ group, name, params: { qd, status: 'unavailable' }, opsPerSec: NaN });
  }
}

/** Every point of one stack, or its rows marked unavailable for `stack`'s reason. Closes the stack. */
async function measureStack(stack: Stack | string, backend: BackendKind, name: string, opts: WorkerBenchOptions, out: Results): Promise<void> {
  if (typeof stack === 'string') {
    for (const rw of RWS) {
      for (const qd of WORKER_DEPTHS) {
        out.step(`${backend} ${name} ${rw} qd ${qd}: unavailable`);
        out.skip(groupOf(backend, rw), name, qd, stack);
      }
    }
    return;
  }
  try {
    const da = stack.da(0);
    const pattern = fillPattern().slice(0, BLOCK);
    for (const rw of RWS) {
      for (const qd of WORKER_DEPTHS) {
        out.step(`${backend} ${name} ${rw} qd ${qd}`);
        const next = xorshift(qd * 7919 + rw.length);
        const r = await runClosedLoop({
          depth: qd,
          warmupMs: opts.warmupMs,
          durationMs: opts.durationMs,
          op: async () => {
            const lba = BigInt(next() % BLOCKS);
            if (rw === 'randread') await da.read(lba, 1);
            else await da.write(lba, pattern);
          },
        });
        out.put({ group: groupOf(backend, rw), name, params: { qd }, opsPerSec: r.opsPerSec, p50Us: r.p50Us, p99Us: r.p99Us });
      }
    }
  } finally {
    await stack.close();
  }
}

/** fio buffered (the baseline) or with O_DIRECT (for information) at every pattern and depth, on the file groups. */
async function measureFio(image: string, program: string, probe: FioProbe | FioFailure, direct: boolean, opts: WorkerBenchOptions, out: Results): Promise<void> {
  const name = probe.ok ? fioName(probe.engine, direct) : `fio${direct ? ' direct' : ''}`;
  for (const rw of RWS) {
    for (const qd of WORKER_DEPTHS) {
      const group = groupOf('file', rw);
      out.step(`${name} ${rw} qd ${qd}`);
      if (!probe.ok || (direct && probe.noDirect !== undefined)) {
        out.skip(group, name, qd, probe.ok ? `O_DIRECT: ${probe.noDirect ?? ''}` : probe.reason);
        continue;
      }
      const r = await runFio({ filename: image, rw, blockSize: BLOCK, iodepth: qd, ioengine: probe.engine, direct, runtimeMs: opts.durationMs, rampMs: opts.warmupMs }, program);
      if (r.ok) out.put({ group, name, params: { qd }, opsPerSec: r.iops, p50Us: r.p50Us, p99Us: r.p99Us });
      else out.skip(group, name, qd, r.reason);
    }
  }
}

/**
 * Runs the benchmark. The image file is created in a fresh directory under
 * the OS temporary directory and removed at the end (also on SIGINT and
 * SIGTERM). A failure inside a measured run rejects (no figures from a broken
 * run); a configuration that cannot start gives unavailable rows.
 */
export async function benchWorker(opts: WorkerBenchOptions): Promise<WorkerBenchResult> {
  const out = new Results(opts.onStep ?? (() => undefined));
  const meta: Record<string, string | number> = { imageBytes: WORKER_IMAGE_BYTES, queueSize: WORKER_QUEUE_SIZE };
  const dir = await mkdtemp(join(tmpdir(), 'vtcam-bench-worker-'));
  const interrupted = (signal: NodeJS.Signals): void => {
    rmSync(dir, { recursive: true, force: true });
    process.stderr.write(`\n${signal}: removed the benchmark image\n`);
    process.exit(128 + constants.signals[signal]);
  };
  process.once('SIGINT', interrupted);
  process.once('SIGTERM', interrupted);
  try {
    const image = join(dir, 'image');
    const chunk = fillPattern();
    out.step(`creating a ${WORKER_IMAGE_BYTES / 2 ** 20} MiB image`);
    await createImage(image, chunk);

    out.step('probing fio');
    const program = await findTool('fio');
    const probe: FioProbe | FioFailure = program === undefined
      ? { ok: false, reason: 'fio not found on PATH; install it with `apt-get install -y fio` (Debian/Ubuntu)' }
      : await probeFio(image, program);
    meta['fio'] = probe.ok ? probe.engine : probe.reason;
    if (probe.ok) meta['fioDirect'] = probe.noDirect === undefined ? 'yes' : `no: ${probe.noDirect}`;
    // Buffered fio first, on the page cache the file rows then use; O_DIRECT
    // last, because its writes drop cached pages the file rows would miss.
    await measureFio(image, program ?? 'fio', probe, false, opts, out);

    for (const transport of TRANSPORTS) {
      let stack: Stack | string;
      if (transport.worker) {
        stack = await tryStack(await memoryDisk(SharedMemoryBackend, chunk), transport);
      } else {
        const local = await localMemoryStack(chunk);
        meta['memoryBackend'] = local.backend;
        stack = local.stack;
      }
      await measureStack(stack, 'memory', transport.name, opts, out);
    }
    for (const transport of TRANSPORTS) {
      await measureStack(await tryStack(await openImage(image), transport), 'file', transport.name, opts, out);
    }

    await measureFio(image, program ?? 'fio', probe, true, opts, out);
    const fioNames = probe.ok ? [fioName(probe.engine, false), fioName(probe.engine, true)] : [];
    const groups = BACKENDS.flatMap((b) => RWS.map((rw) => groupOf(b, rw)));
    const rows = orderRows(linkBaselines(out.rows, fioNames[0]), groups, [...fioNames, ...TRANSPORTS.map((t) => t.name)]);
    return { rows, unavailable: out.unavailable, meta };
  } finally {
    process.off('SIGINT', interrupted);
    process.off('SIGTERM', interrupted);
    await rm(dir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------
// Summary

/** Issue 6's goals: worker with more than one queue beats local at this depth … */
const GOAL_QD = 32;
/** … and the file backend reaches this fraction of fio's IOPS there. */
export const WORKER_FIO_GOAL = 0.7;

/**
 * Lines printed under the table: what ran on what (`meta`), what the two
 * ratio columns compare, why rows have no figures (each reason once, with the
 * rows it covers), and whether the issue's goals were met at QD 32. `rows`
 * must carry ratios (computeRatios).
 */
export function formatWorkerSummary(rows: readonly BenchRow[], unavailable: readonly Unavailable[], meta: Readonly<Record<string, string | number>>): string {
  const lines = [
    ...['memoryBackend', 'fio', 'fioDirect'].filter((k) => meta[k] !== undefined).map((k) => `${k}: ${String(meta[k])}`),
    'ratio: × local at the same backend, pattern and depth; vs floor: × buffered fio at the same pattern and depth',
  ];
  const reasons = new Map<string, Set<string>>();
  for (const u of unavailable) {
    const names = reasons.get(u.reason) ?? new Set<string>();
    names.add(`${u.group.split(' ')[0] ?? u.group} ${u.name}`);
    reasons.set(u.reason, names);
  }
  for (const [reason, names] of reasons) lines.push(`unavailable (${[...names].join(', ')}): ${reason}`);

  const atGoal = rows.filter((r) => r.params['qd'] === GOAL_QD);
  for (const group of [...new Set(atGoal.map((r) => r.group))]) {
    const inGroup = atGoal.filter((r) => r.group === group);
    const mq = bestBy(inGroup.filter((r) => r.name.startsWith('worker ') && !r.name.startsWith('worker 1q')), (r) => r.ratio);
    lines.push(goalLine(`worker+MQ > local at qd=${GOAL_QD}, ${group}`, mq, mq?.ratio, (x) => x > 1));
    if (group.startsWith('file ')) {
      const vsFio = bestBy(inGroup, (r) => r.floorRatio);
      lines.push(goalLine(`file >= ${WORKER_FIO_GOAL}× fio at qd=${GOAL_QD}, ${group}`, vsFio, vsFio?.floorRatio, (x) => x >= WORKER_FIO_GOAL));
    }
  }
  return lines.join('\n') + '\n';
}

function goalLine(goal: string, best: BenchRow | undefined, ratio: number | undefined, met: (x: number) => boolean): string {
  if (best === undefined || ratio === undefined) return `goal ${goal}: not measured`;
  return `goal ${goal}: ${met(ratio) ? 'met' : 'NOT met'} (best ${best.name}, ${ratio.toFixed(2)}×)`;
}

/** The row with the largest defined `key`, or undefined when no row has one. */
function bestBy(rows: readonly BenchRow[], key: (r: BenchRow) => number | undefined): BenchRow | undefined {
  let best: BenchRow | undefined;
  let bestKey = -Infinity;
  for (const r of rows) {
    const k = key(r);
    if (k !== undefined && k > bestKey) {
      best = r;
      bestKey = k;
    }
  }
  return best;
}
