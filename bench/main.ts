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
//
// Flags and variables are all checked before anything runs (bench/options.ts):
// a bad one exits 2 with its name and the usage; --help prints the usage. So
// are BENCH_OUT and BENCH_ISCSI_CPU_PROF: made if missing, and a folder that
// cannot be written exits 2 in one line before anything is measured.

import { cpus } from 'node:os';
import { benchVirtioLocal, VIRTIO_LOCAL_CASES } from './virtio-local.js';
import { benchScsiSbc, SCSI_SBC_CASES } from './scsi-sbc.js';
import { benchCam, camCases } from './cam.js';
import { benchWorker, formatWorkerSummary, WORKER_CASES } from './worker.js';
import { computeRatios, formatTable, renderSvgChart, writeReport } from './report.js';
import { benchIscsi, formatIscsiSummary, iscsiCases, ISCSI_DEFAULT_DURATION_MS, ISCSI_DEFAULT_WARMUP_MS } from './iscsi.js';
import { prepareOutDir } from '../src/cli/out-dir.js';
import { createProgress } from '../src/cli/progress.js';
import { benchSteps } from './steps.js';
import { writeFile } from 'node:fs/promises';
import { BENCH_DEFAULT_DURATION_MS, BENCH_DEFAULT_WARMUP_MS, BENCH_USAGE, parseBenchOptions, type Benchmark, type BenchOptions } from './options.js';

/** Runs what the options ask for; resolves with the exit status. */
async function run(o: BenchOptions): Promise<number> {
  const durationMs = o.durationMs ?? BENCH_DEFAULT_DURATION_MS;
  const warmupMs = o.warmupMs ?? BENCH_DEFAULT_WARMUP_MS;
  const outDir = o.outDir;
  const wanted = (name: Benchmark): boolean => !o.iscsi && (o.only === undefined || o.only === name);

  if (wanted('virtio-local')) {
    const steps = benchSteps(createProgress(VIRTIO_LOCAL_CASES.length + 1, 'bench virtio-local'));
    const rows = computeRatios(await benchVirtioLocal({ durationMs, warmupMs, onStep: steps.onStep }));
    steps.end();

    const paths = await writeReport(outDir, 'virtio-local', {
      meta: { benchmark: 'virtio-local', durationMs, warmupMs, cpus: cpus().length, blockSize: 4096, backend: 'memory', transport: 'local' },
      rows,
    });
    const ratioSvg = paths.svg.replace(/\.svg$/, '.ratio.svg');
    await writeFile(ratioSvg, renderSvgChart(rows.filter((r) => r.ratio !== undefined), { title: 'virtio-local: req/s as a fraction of a bare 4 KiB memcpy', metric: 'ratio' }));
    process.stdout.write(`${formatTable(rows)}\n\nwrote ${paths.json}, ${paths.table}, ${paths.svg}, ${ratioSvg}\n`);
  }

  if (wanted('scsi-sbc')) {
    const sbcSteps = benchSteps(createProgress(SCSI_SBC_CASES, 'bench scsi-sbc'));
    const sbcRows = computeRatios(await benchScsiSbc({ durationMs, warmupMs, onStep: sbcSteps.onStep }));
    sbcSteps.end();
    const sbcPaths = await writeReport(outDir, 'scsi-sbc', {
      meta: { benchmark: 'scsi-sbc', durationMs, warmupMs, cpus: cpus().length, blockSize: 4096, blockSet: 'memory' },
      rows: sbcRows,
    });
    const sbcRatioSvg = sbcPaths.svg.replace(/\.svg$/, '.ratio.svg');
    await writeFile(sbcRatioSvg, renderSvgChart(sbcRows.filter((r) => r.ratio !== undefined), { title: 'scsi-sbc: commands/s as a fraction of the block set called directly', metric: 'ratio' }));
    process.stdout.write(`\n${formatTable(sbcRows)}\n\nwrote ${sbcPaths.json}, ${sbcPaths.table}, ${sbcPaths.svg}, ${sbcRatioSvg}\n`);
  }

  if (wanted('cam')) {
    const rounds = o.camRounds;
    const camSteps = benchSteps(createProgress(camCases(rounds), 'bench cam'));
    const camRows = computeRatios(await benchCam({ durationMs, warmupMs, rounds, onStep: camSteps.onStep }));
    camSteps.end();
    const camPaths = await writeReport(outDir, 'cam', {
      meta: { benchmark: 'cam', durationMs, warmupMs, rounds, ratio: 'median of per-round ratios (interleaved rounds)', cpus: cpus().length, blockSize: 4096, backend: 'memory', transport: 'local' },
      rows: camRows,
    });
    const camRatioSvg = camPaths.svg.replace(/\.svg$/, '.ratio.svg');
    await writeFile(camRatioSvg, renderSvgChart(camRows.filter((r) => r.ratio !== undefined), { title: 'cam: IOPS through da / pass as a fraction of the virtio driver alone', metric: 'ratio' }));
    process.stdout.write(`\n${formatTable(camRows)}\n\nwrote ${camPaths.json}, ${camPaths.table}, ${camPaths.svg}, ${camRatioSvg}\n`);
  }

  if (wanted('worker')) {
    const workerSteps = benchSteps(createProgress(WORKER_CASES, 'bench worker'));
    const worker = await benchWorker({ durationMs, warmupMs, onStep: workerSteps.onStep });
    workerSteps.end();
    const workerRows = computeRatios(worker.rows);
    const workerPaths = await writeReport(outDir, 'worker', {
      meta: { benchmark: 'worker', durationMs, warmupMs, cpus: cpus().length, blockSize: 4096, ...worker.meta },
      rows: workerRows,
    });
    const workerRatioSvg = workerPaths.svg.replace(/\.svg$/, '.ratio.svg');
    await writeFile(workerRatioSvg, renderSvgChart(workerRows.filter((r) => r.ratio !== undefined), { title: 'worker: IOPS through da on worker threads as a fraction of the local transport', metric: 'ratio' }));
    process.stdout.write(`\n${formatTable(workerRows)}\n${formatWorkerSummary(workerRows, worker.unavailable, worker.meta)}\nwrote ${workerPaths.json}, ${workerPaths.table}, ${workerPaths.svg}, ${workerRatioSvg}\n`);
  }

  if (o.iscsi) {
    const rounds = o.iscsiRounds;
    const iscsiProgress = createProgress(iscsiCases(rounds), 'bench iscsi');
    const iscsiSteps = benchSteps(iscsiProgress);
    const iscsiDurationMs = o.durationMs ?? ISCSI_DEFAULT_DURATION_MS;
    const iscsiWarmupMs = o.warmupMs ?? ISCSI_DEFAULT_WARMUP_MS;
    try {
      const result = await benchIscsi({
        durationMs: iscsiDurationMs,
        warmupMs: iscsiWarmupMs,
        rounds,
        cpuProfDir: o.cpuProfDir,
        onStep: iscsiSteps.onStep,
      });
      iscsiSteps.end();
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
      return 1;
    }
  }

  return 0;
}

async function main(argv: readonly string[]): Promise<number> {
  const opts = parseBenchOptions(argv, process.env);
  if (typeof opts === 'string') {
    if (opts === BENCH_USAGE) {
      process.stdout.write(BENCH_USAGE);
      return 0;
    }
    process.stderr.write(`bench: ${opts}\n${BENCH_USAGE}`);
    return 2;
  }
  // Before anything runs: a folder that cannot take the results would otherwise fail only after the measuring.
  for (const [name, dir] of [['BENCH_OUT', opts.outDir], ['BENCH_ISCSI_CPU_PROF', opts.cpuProfDir]] as const) {
    const bad = dir === undefined ? undefined : prepareOutDir(dir);
    if (bad !== undefined) {
      process.stderr.write(`bench: ${name}: ${bad}\n`);
      return 2;
    }
  }
  return run(opts);
}

process.exitCode = await main(process.argv.slice(2));
