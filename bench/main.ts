// `npm run bench`: runs the benchmarks, prints a table with ratios against the
// baseline measured in the same run, and writes JSON, text and SVG results to
// bench-results/. BENCH_DURATION_MS / BENCH_WARMUP_MS shorten or lengthen runs.

import { cpus } from 'node:os';
import { benchVirtioLocal, VIRTIO_LOCAL_CASES } from './virtio-local.js';
import { computeRatios, formatTable, renderSvgChart, writeReport } from './report.js';
import { createProgress } from '../src/cli/progress.js';
import { writeFile } from 'node:fs/promises';

const durationMs = Number(process.env['BENCH_DURATION_MS'] ?? 1500);
const warmupMs = Number(process.env['BENCH_WARMUP_MS'] ?? 300);
const outDir = process.env['BENCH_OUT'] ?? 'bench-results';

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
