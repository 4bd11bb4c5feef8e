// `npm run bench`: runs the benchmarks, prints a table with ratios against the
// baseline measured in the same run, and writes JSON, text and SVG results to
// bench-results/. BENCH_DURATION_MS / BENCH_WARMUP_MS shorten or lengthen runs;
// BENCH_ONLY=virtio-local|scsi-sbc|cam|worker runs one benchmark;
// BENCH_CAM_ROUNDS sets the cam benchmark's interleaved rounds (5). The worker
// benchmark (bench/worker.ts) also runs fio when it is installed.
//
// `npm run bench -- --iscsi` runs only the iSCSI benchmark (bench/iscsi.ts):
// iscsi-perf against `vtcam serve` and tgt, 5 s per point and 3 interleaved
// rounds (medians reported) unless BENCH_DURATION_MS / BENCH_ISCSI_ROUNDS say
// otherwise; it needs tgt and libiscsi-bin installed and exits 1 when they
// are not. BENCH_ISCSI_CPU_PROF=DIR runs the vtcam target under
// `node --cpu-prof` and leaves its profile in DIR.

import { cpus } from 'node:os';
import { benchVirtioLocal, VIRTIO_LOCAL_CASES } from './virtio-local.js';
import { benchScsiSbc, SCSI_SBC_CASES } from './scsi-sbc.js';
import { benchCam, camCases, CAM_DEFAULT_ROUNDS } from './cam.js';
import { benchWorker, formatWorkerSummary, WORKER_CASES } from './worker.js';
import { computeRatios, formatTable, renderSvgChart, writeReport } from './report.js';
import { benchIscsi, formatIscsiSummary, iscsiCases, ISCSI_DEFAULT_DURATION_MS, ISCSI_DEFAULT_ROUNDS, ISCSI_DEFAULT_WARMUP_MS } from './iscsi.js';
import { createProgress } from '../src/cli/progress.js';
import { writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';

const durationMs = Number(process.env['BENCH_DURATION_MS'] ?? 1500);
const warmupMs = Number(process.env['BENCH_WARMUP_MS'] ?? 300);
const outDir = process.env['BENCH_OUT'] ?? 'bench-results';
const BENCHMARKS = ['virtio-local', 'scsi-sbc', 'cam', 'worker'] as const;
const only = process.env['BENCH_ONLY'];
if (only !== undefined && !(BENCHMARKS as readonly string[]).includes(only)) {
  throw new RangeError(`BENCH_ONLY must be one of ${BENCHMARKS.join(', ')}, got '${only}'`);
}
const { values: flags } = parseArgs({ options: { iscsi: { type: 'boolean', default: false } } });
const wanted = (name: (typeof BENCHMARKS)[number]): boolean => !flags.iscsi && (only === undefined || only === name);

/** A rounds count from the environment, or `fallback`. */
function roundsFrom(name: string, fallback: number): number {
  const text = process.env[name] ?? String(fallback);
  const rounds = Number(text);
  if (!/^\d+$/.test(text) || rounds < 1) throw new RangeError(`${name} must be a whole number >= 1, got '${text}'`);
  return rounds;
}

if (wanted('virtio-local')) {
  const progress = createProgress(VIRTIO_LOCAL_CASES.length + 1, 'bench virtio-local');
  const rows = computeRatios(await benchVirtioLocal({ durationMs, warmupMs, onStep: (msg) => { progress.tick(msg); } }));
  progress.done();

  const paths = await writeReport(outDir, 'virtio-local', {
    meta: { benchmark: 'virtio-local', durationMs, warmupMs, cpus: cpus().length, blockSize: 4096, backend: 'memory', transport: 'local' },
    rows,
  });
  const ratioSvg = paths.svg.replace(/\.svg$/, '.ratio.svg');
  await writeFile(ratioSvg, renderSvgChart(rows.filter((r) => r.ratio !== undefined), { title: 'virtio-local: req/s as a fraction of a bare 4 KiB memcpy', metric: 'ratio' }));
  process.stdout.write(`${formatTable(rows)}\n\nwrote ${paths.json}, ${paths.table}, ${paths.svg}, ${ratioSvg}\n`);
}

if (wanted('scsi-sbc')) {
  const sbcProgress = createProgress(SCSI_SBC_CASES, 'bench scsi-sbc');
  const sbcRows = computeRatios(await benchScsiSbc({ durationMs, warmupMs, onStep: (msg) => { sbcProgress.tick(msg); } }));
  sbcProgress.done();
  const sbcPaths = await writeReport(outDir, 'scsi-sbc', {
    meta: { benchmark: 'scsi-sbc', durationMs, warmupMs, cpus: cpus().length, blockSize: 4096, blockSet: 'memory' },
    rows: sbcRows,
  });
  const sbcRatioSvg = sbcPaths.svg.replace(/\.svg$/, '.ratio.svg');
  await writeFile(sbcRatioSvg, renderSvgChart(sbcRows.filter((r) => r.ratio !== undefined), { title: 'scsi-sbc: commands/s as a fraction of the block set called directly', metric: 'ratio' }));
  process.stdout.write(`\n${formatTable(sbcRows)}\n\nwrote ${sbcPaths.json}, ${sbcPaths.table}, ${sbcPaths.svg}, ${sbcRatioSvg}\n`);
}

if (wanted('cam')) {
  const rounds = roundsFrom('BENCH_CAM_ROUNDS', CAM_DEFAULT_ROUNDS);
  const camProgress = createProgress(camCases(rounds), 'bench cam');
  const camRows = computeRatios(await benchCam({ durationMs, warmupMs, rounds, onStep: (msg) => { camProgress.tick(msg); } }));
  camProgress.done();
  const camPaths = await writeReport(outDir, 'cam', {
    meta: { benchmark: 'cam', durationMs, warmupMs, rounds, ratio: 'median of per-round ratios (interleaved rounds)', cpus: cpus().length, blockSize: 4096, backend: 'memory', transport: 'local' },
    rows: camRows,
  });
  const camRatioSvg = camPaths.svg.replace(/\.svg$/, '.ratio.svg');
  await writeFile(camRatioSvg, renderSvgChart(camRows.filter((r) => r.ratio !== undefined), { title: 'cam: IOPS through da / pass as a fraction of the virtio driver alone', metric: 'ratio' }));
  process.stdout.write(`\n${formatTable(camRows)}\n\nwrote ${camPaths.json}, ${camPaths.table}, ${camPaths.svg}, ${camRatioSvg}\n`);
}

if (wanted('worker')) {
  const workerProgress = createProgress(WORKER_CASES, 'bench worker');
  const worker = await benchWorker({ durationMs, warmupMs, onStep: (msg) => { workerProgress.tick(msg); } });
  workerProgress.done();
  const workerRows = computeRatios(worker.rows);
  const workerPaths = await writeReport(outDir, 'worker', {
    meta: { benchmark: 'worker', durationMs, warmupMs, cpus: cpus().length, blockSize: 4096, ...worker.meta },
    rows: workerRows,
  });
  const workerRatioSvg = workerPaths.svg.replace(/\.svg$/, '.ratio.svg');
  await writeFile(workerRatioSvg, renderSvgChart(workerRows.filter((r) => r.ratio !== undefined), { title: 'worker: IOPS through da on worker threads as a fraction of the local transport', metric: 'ratio' }));
  process.stdout.write(`\n${formatTable(workerRows)}\n${formatWorkerSummary(workerRows, worker.unavailable, worker.meta)}\nwrote ${workerPaths.json}, ${workerPaths.table}, ${workerPaths.svg}, ${workerRatioSvg}\n`);
}

if (flags.iscsi) {
  const rounds = roundsFrom('BENCH_ISCSI_ROUNDS', ISCSI_DEFAULT_ROUNDS);
  const iscsiProgress = createProgress(iscsiCases(rounds), 'bench iscsi');
  const iscsiDurationMs = process.env['BENCH_DURATION_MS'] === undefined ? ISCSI_DEFAULT_DURATION_MS : durationMs;
  const iscsiWarmupMs = process.env['BENCH_WARMUP_MS'] === undefined ? ISCSI_DEFAULT_WARMUP_MS : warmupMs;
  try {
    const result = await benchIscsi({
      durationMs: iscsiDurationMs,
      warmupMs: iscsiWarmupMs,
      rounds,
      cpuProfDir: process.env['BENCH_ISCSI_CPU_PROF'],
      onStep: (msg) => { iscsiProgress.tick(msg); },
    });
    iscsiProgress.done();
    const iscsiRows = computeRatios(result.rows);
    const iscsiPaths = await writeReport(outDir, 'iscsi', {
      meta: { benchmark: 'iscsi', secondsPerPoint: result.seconds, rounds, roundIops: result.roundIops, warmupMs: iscsiWarmupMs, cpus: cpus().length, blockSize: 512, transferBytes: 4096, imageBytes: result.imageBytes, backend: 'file', targetCpuPct: result.targetCpuPct },
      rows: iscsiRows,
    });
    const iscsiRatioSvg = iscsiPaths.svg.replace(/\.svg$/, '.ratio.svg');
    await writeFile(iscsiRatioSvg, renderSvgChart(iscsiRows.filter((r) => r.ratio !== undefined), { title: 'iscsi: vtcam serve IOPS as a fraction of tgt at the same queue depth', metric: 'ratio' }));
    process.stdout.write(`\n${formatTable(iscsiRows)}\n${formatIscsiSummary(iscsiRows, result.targetCpuPct, result.roundIops)}\nwrote ${iscsiPaths.json}, ${iscsiPaths.table}, ${iscsiPaths.svg}, ${iscsiRatioSvg}\n`);
  } catch (e) {
    iscsiProgress.done();
    process.stderr.write(`bench iscsi: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exitCode = 1;
  }
}
