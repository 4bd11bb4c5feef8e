// Benchmark: 4 KiB random reads over iSCSI with libiscsi's iscsi-perf, at
// queue depth 1, 8 and 32, against `vtcam serve` (file backend) on each
// transport — local with each --io (auto, the default; async, through the
// thread pool; sync, on the event loop), and worker — and, in the same
// run, against tgt on an image of the same size: IOPS, and each vtcam as a
// fraction of tgt at the same depth.
//
// Each target runs in a process of its own, as tgtd does: an in-process
// target would share the benchmark's event loop and make the comparison
// about the harness. All stay up for the whole run and the points
// interleave in rounds (every target at QD 1, then at QD 8, …, in an order
// that rotates every round), and each vtcam row's ratio is the median of its
// per-round ratios to tgt at the same depth (bench/rounds.ts), so drift in
// what else the machine is doing lands on both sides of each ratio. Only the
// target being measured has work; the others sleep. Client and targets share
// the machine's cores; the numbers compare targets within one run, nothing more.

import { rmSync } from 'node:fs';
import { access, mkdtemp, open, rm } from 'node:fs/promises';
import { constants, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEFAULT_SERVE_BUSY_POLL_US } from '../src/cli/serve-args.js';
import { runIscsiPerf, type IscsiPerfRun } from './iscsi-perf.js';
import { cpuSeconds, findTool, startTgt, startVtcamServe, type RunningTarget } from './iscsi-targets.js';
import type { BenchRow } from './report.js';
import { medianSlice, pairedRatio } from './rounds.js';

const GROUP = 'iscsi-perf random 4 KiB read';
export const ISCSI_TGT = 'tgt';

/** One `vtcam serve` configuration the benchmark measures. */
export interface IscsiVtcamVariant {
  readonly name: string;
  readonly transport: 'local' | 'worker';
  readonly queues: number;
  /** `--io` on transport local (absent: serve's default, auto). */
  readonly io?: 'async' | 'sync';
}

/**
 * The vtcam rows, each against tgt: the transports `vtcam serve --transport` offers — local with each
 * `--io` (auto, the default: on the event loop while the page cache answers; async, the thread pool;
 * sync, always on the event loop), and worker with one queue (a second queue gained nothing on two cores).
 */
export const ISCSI_VTCAM_VARIANTS: readonly IscsiVtcamVariant[] = [
  { name: 'vtcam local (file)', transport: 'local', queues: 1 },
  { name: 'vtcam local io async (file)', transport: 'local', queues: 1, io: 'async' },
  { name: 'vtcam local io sync (file)', transport: 'local', queues: 1, io: 'sync' },
  { name: 'vtcam worker q1 (file)', transport: 'worker', queues: 1 },
];
export const ISCSI_DEPTHS = [1, 8, 32] as const;
/** Per point and round when BENCH_DURATION_MS is unset: 3 rounds × 15 points × 5 s plus warmups and start-up is about 4 min. */
export const ISCSI_DEFAULT_DURATION_MS = 5_000;
/**
 * Rounds when BENCH_ISCSI_ROUNDS is unset. On a shared VM a single point can
 * lose half its IOPS to another tenant for seconds; each round measures every
 * target at every depth again, interleaved; a row reports the median IOPS
 * and the median per-round ratio, so one bad stretch moves no verdict.
 */
export const ISCSI_DEFAULT_ROUNDS = 3;
export const ISCSI_DEFAULT_WARMUP_MS = 2_000;
/** Each target's image size: the same as the conformance runs' reference tgt. */
const IMAGE_BYTES = 256 * 2 ** 20;
const BLOCK_SIZE = 512;
const TRANSFER_BYTES = 4096;
/** Warmup depth: the deepest one, so vtcam's JIT has seen the busy path before anything is counted. */
const WARMUP_DEPTH = 32;
const INITIATOR = 'iqn.2026-11.org.vtcam:bench';
const TGT_IQN = 'iqn.2026-11.org.vtcam:bench-tgt';

const TARGETS = ISCSI_VTCAM_VARIANTS.length + 1;
/** Steps, for progress (each announced as it starts): start-up, one warmup per target, one run per round, target and depth. */
export function iscsiCases(rounds: number): number {
  return 1 + TARGETS + rounds * TARGETS * ISCSI_DEPTHS.length;
}

export interface IscsiBenchOptions {
  /** Per point; iscsi-perf counts whole seconds, so this is rounded up. */
  readonly durationMs: number;
  /** Per target, before the first point; 0 skips it. */
  readonly warmupMs: number;
  /** Times every point is measured (interleaved rounds); rows report the median IOPS and the median per-round ratio to tgt. */
  readonly rounds: number;
  /** Directory for `vtcam serve`'s `--cpu-prof` profile; none when undefined. */
  readonly cpuProfDir?: string | undefined;
  readonly onStep?: (msg: string) => void;
}

/** What the run measured besides the rows: target CPU per point, for where the time goes. */
export interface IscsiBenchResult {
  /** One row per target and depth: the median IOPS of the rounds. */
  readonly rows: BenchRow[];
  /** Each row's IOPS in every round, in round order. */
  readonly roundIops: number[][];
  /** Target process CPU (user + system, all threads) as a percentage of one core, per row (the median round's); undefined without /proc. */
  readonly targetCpuPct: (number | undefined)[];
  readonly seconds: number;
  readonly imageBytes: number;
}

/** A missing tool and the package that provides it (Debian/Ubuntu names). */
const TOOLS = [
  { name: 'iscsi-perf', pkg: 'libiscsi-bin' },
  { name: 'tgtd', pkg: 'tgt' },
  { name: 'tgtadm', pkg: 'tgt' },
] as const;

function wholeSeconds(ms: number, what: string, min: number): number {
  if (!(Number.isFinite(ms) && ms >= 0)) throw new RangeError(`${what} must be a finite number of ms >= 0, got ${ms}`);
  return Math.max(min, Math.ceil(ms / 1000));
}

async function createImage(path: string): Promise<void> {
  // Sparse and all zero, the same for every target: reads never reach the disk.
  const fh = await open(path, 'wx');
  try {
    await fh.truncate(IMAGE_BYTES);
  } finally {
    await fh.close();
  }
}

/**
 * Runs the benchmark. Rejects with an Error whose message says what to do
 * when a tool is missing (which package to install) or this build has no
 * CLI, and when a target fails to start or an iscsi-perf run fails: no
 * numbers are reported from a broken run. Every target is stopped and the
 * images removed either way.
 */
export async function benchIscsi(opts: IscsiBenchOptions): Promise<IscsiBenchResult> {
  const seconds = wholeSeconds(opts.durationMs, 'durationMs', 1);
  if (!(Number.isInteger(opts.rounds) && opts.rounds >= 1)) throw new RangeError(`rounds must be a whole number >= 1, got ${opts.rounds}`);
  const warmupSeconds = wholeSeconds(opts.warmupMs, 'warmupMs', 0);
  const step = opts.onStep ?? (() => undefined);

  const found = await Promise.all(TOOLS.map(async (t) => ({ ...t, path: await findTool(t.name) })));
  const missing = found.filter((t) => t.path === undefined);
  if (missing.length > 0) {
    const pkgs = [...new Set(missing.map((t) => t.pkg))].join(' ');
    throw new Error(
      `the iSCSI benchmark needs ${missing.map((t) => t.name).join(', ')}, not found on PATH; install it with \`apt-get install -y ${pkgs}\` (Debian/Ubuntu)`,
    );
  }
  const tool = (name: string): string => found.find((t) => t.name === name)?.path ?? name;
  // This module runs from <build>/bench/; the CLI was compiled next to it.
  const cli = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
  try {
    await access(cli);
  } catch {
    throw new Error(`no vtcam CLI at ${cli}; run the benchmark through \`npm run bench -- --iscsi\`, which builds it`);
  }

  const dir = await mkdtemp(join(tmpdir(), 'vtcam-bench-iscsi-'));
  const targets: RunningTarget[] = [];
  // Every target process from its spawn on, a target still starting included (and tgtd's socket files).
  const kills: (() => void)[] = [];
  const onSpawn = (kill: () => void): void => {
    kills.push(kill);
  };
  const client = new AbortController();
  // tgtd is our child but ignores SIGINT: on Ctrl-C, take the client and every target down before leaving.
  const interrupted = (signal: NodeJS.Signals): void => {
    client.abort();
    for (const kill of kills) kill();
    rmSync(dir, { recursive: true, force: true });
    process.stderr.write(`\n${signal}: stopped the iSCSI targets\n`);
    process.exit(128 + constants.signals[signal]);
  };
  process.once('SIGINT', interrupted);
  process.once('SIGTERM', interrupted);
  try {
    // An image per target: no two processes share a file's page cache state or locks.
    const vtcamDisks = ISCSI_VTCAM_VARIANTS.map((variant, i) => ({ variant, image: join(dir, `vtcam-${i}.img`) }));
    const tgtImage = join(dir, 'tgt.img');
    await Promise.all([...vtcamDisks.map((d) => d.image), tgtImage].map((path) => createImage(path)));
    step(`starting ${ISCSI_VTCAM_VARIANTS.length} vtcam serve and tgtd`);

    const sides: { readonly name: string; readonly target: RunningTarget; readonly baseline: string | undefined }[] = [];
    for (const { variant: v, image } of vtcamDisks) {
      const vtcam = await startVtcamServe({
        cli,
        image,
        blockSize: BLOCK_SIZE,
        transport: v.transport,
        queues: v.queues,
        ...(v.io === undefined ? {} : { io: v.io }),
        ...(opts.cpuProfDir === undefined ? {} : { nodeFlags: ['--cpu-prof', '--cpu-prof-dir', opts.cpuProfDir] }),
        onSpawn,
      });
      if ('error' in vtcam) throw new Error(`${v.name}: ${vtcam.error}`);
      targets.push(vtcam);
      sides.push({ name: v.name, target: vtcam, baseline: ISCSI_TGT });
    }
    const tgt = await startTgt({ tgtd: tool('tgtd'), tgtadm: tool('tgtadm'), image: tgtImage, targetName: TGT_IQN, onSpawn });
    if ('error' in tgt) throw new Error(tgt.error);
    targets.push(tgt);
    sides.push({ name: ISCSI_TGT, target: tgt, baseline: undefined });
    const perf = async (target: RunningTarget, queueDepth: number, runSeconds: number): Promise<{ iops: number; cpuPct: number | undefined }> => {
      const run: IscsiPerfRun = { url: target.url, initiatorName: INITIATOR, queueDepth, blocks: TRANSFER_BYTES / BLOCK_SIZE, seconds: runSeconds, random: true };
      const cpu0 = await cpuSeconds(target.pid);
      const t0 = performance.now();
      const r = await runIscsiPerf(run, tool('iscsi-perf'), client.signal);
      const wall = (performance.now() - t0) / 1000;
      const cpu1 = await cpuSeconds(target.pid);
      const died = target.died();
      if (died !== undefined) throw new Error(died);
      if (!r.ok) throw new Error(`${target.url} at QD ${queueDepth}: ${r.reason}`);
      // The LUN's block size comes from the target; a 4 KiB-block LUN would make -b 8 a 32 KiB read.
      if (r.transferBytes !== TRANSFER_BYTES || !r.random || r.queueDepth !== queueDepth) {
        throw new Error(`${target.url}: iscsi-perf ran ${r.random ? 'random' : 'sequential'} ${r.transferBytes}-byte reads at QD ${r.queueDepth}, not random ${TRANSFER_BYTES}-byte at QD ${queueDepth}`);
      }
      const cpuPct = cpu0 === undefined || cpu1 === undefined ? undefined : (100 * (cpu1 - cpu0)) / wall;
      return { iops: r.iops, cpuPct };
    };

    if (warmupSeconds > 0) {
      for (const s of sides) {
        step(`warmup ${s.name} (${warmupSeconds} s)`);
        await perf(s.target, WARMUP_DEPTH, warmupSeconds);
      }
    } else {
      for (const s of sides) step(`no warmup for ${s.name}`);
    }

    // points[i]: every round's measurement of one target at one depth, rows in table order (depth, then target).
    const points = ISCSI_DEPTHS.flatMap((qd) => sides.map((side) => ({ qd, side, runs: [] as { opsPerSec: number; cpuPct: number | undefined }[] })));
    for (let round = 1; round <= opts.rounds; round++) {
      for (const qd of ISCSI_DEPTHS) {
        const atDepth = points.filter((p) => p.qd === qd);
        // The order rotates every round (rounds.ts), so no target always runs first or last at a depth.
        for (let i = 0; i < atDepth.length; i++) {
          const p = atDepth[(i + round - 1) % atDepth.length] as (typeof points)[number];
          step(`round ${round}/${opts.rounds}: ${p.side.name} qd=${p.qd} (${seconds} s)`);
          const r = await perf(p.side.target, p.qd, seconds);
          p.runs.push({ opsPerSec: r.iops, cpuPct: r.cpuPct });
        }
      }
    }
    const rows: BenchRow[] = [];
    const targetCpuPct: (number | undefined)[] = [];
    for (const p of points) {
      const m = medianSlice(p.runs);
      const row: BenchRow = { group: GROUP, name: p.side.name, params: { qd: p.qd }, opsPerSec: m.opsPerSec };
      const base = p.side.baseline === undefined ? undefined : points.find((b) => b.qd === p.qd && b.side.name === p.side.baseline);
      // The ratio pairs each round's vtcam run with tgt's run at the same depth in that round.
      rows.push(base === undefined ? row : { ...row, baseline: ISCSI_TGT, ratio: pairedRatio(p.runs, base.runs) });
      targetCpuPct.push(m.cpuPct);
    }
    return { rows, roundIops: points.map((p) => p.runs.map((r) => r.opsPerSec)), targetCpuPct, seconds, imageBytes: IMAGE_BYTES };
  } finally {
    process.off('SIGINT', interrupted);
    process.off('SIGTERM', interrupted);
    const problems = (await Promise.all(targets.map((t) => t.stop()))).filter((p) => p !== undefined);
    await rm(dir, { recursive: true, force: true });
    for (const p of problems) process.stderr.write(`iscsi bench: ${p}\n`);
  }
}

/** The issue's goal: vtcam at least this many times tgt's IOPS … */
export const ISCSI_TARGET_RATIO = 1.5;
/** … at these depths. */
const TARGET_DEPTHS: readonly number[] = [8, 32];

/**
 * Lines printed under the table: with several rounds, each row's IOPS in every
 * round; each target's CPU per depth (a percentage of one core, all threads;
 * vtcam's event loop alone cannot use more than about 100 %); then whether
 * each vtcam row met the goal at each goal depth. `rows` must carry ratios
 * (computeRatios).
 */
export function formatIscsiSummary(rows: readonly BenchRow[], targetCpuPct: readonly (number | undefined)[], roundIops?: readonly (readonly number[])[]): string {
  const lines: string[] = [];
  if (roundIops?.some((r) => r.length > 1) === true) {
    lines.push('IOPS in each round (the table shows the median IOPS and the median of the per-round ratios):');
    rows.forEach((r, i) => {
      const mine = roundIops[i] ?? [];
      const tgt = r.baseline === undefined ? undefined : roundIops[rows.findIndex((b) => b.name === r.baseline && b.params['qd'] === r.params['qd'])];
      const perRound = tgt === undefined ? '' : ` (× tgt: ${mine.map((n, k) => (n / (tgt[k] ?? Number.NaN)).toFixed(2)).join(' / ')})`;
      lines.push(`  ${r.name} qd=${String(r.params['qd'])}: ${mine.map((n) => Math.round(n).toLocaleString('en-US')).join(' / ')}${perRound}`);
    });
  }
  lines.push(`target CPU (user + system, % of one core, the median round; vtcam serve's includes its busy polling, --busy-poll-us ${DEFAULT_SERVE_BUSY_POLL_US} by default):`);
  rows.forEach((r, i) => {
    const pct = targetCpuPct[i];
    lines.push(`  ${r.name} qd=${String(r.params['qd'])}: ${pct === undefined ? 'unknown (no /proc)' : `${pct.toFixed(0)} %`}`);
  });
  for (const qd of TARGET_DEPTHS) {
    for (const r of rows) {
      if (r.baseline !== ISCSI_TGT || r.params['qd'] !== qd || r.ratio === undefined) continue;
      const met = r.ratio >= ISCSI_TARGET_RATIO;
      lines.push(`goal vtcam >= ${ISCSI_TARGET_RATIO}× tgt at qd=${qd}, ${r.name}: ${met ? 'met' : 'NOT met'} (${r.ratio.toFixed(2)}×)`);
    }
  }
  return lines.join('\n') + '\n';
}
