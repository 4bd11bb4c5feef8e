// fio, driven from the worker benchmark as the file backend's physical
// baseline: one job per pattern and depth on the benchmark's image file, its
// `--output-format=json` report parsed into IOPS and latency percentiles.
//
// fio (3.x) writes the JSON report on stdout and its complaints on stderr; a
// job that could not run still prints a report, with a non-zero `error` (an
// errno) and no I/O, and fio exits 1. Only a report whose job ran without
// error, did I/O, and echoes the options we asked for counts.

import { spawn } from 'node:child_process';

export type FioRw = 'randread' | 'randwrite';
/** Asynchronous engines, in order of preference. */
export const FIO_ENGINES = ['io_uring', 'libaio'] as const;
export type FioEngine = (typeof FIO_ENGINES)[number];

/** One fio job: a single thread on one file for a fixed time. */
export interface FioJob {
  readonly filename: string;
  readonly rw: FioRw;
  /** Bytes per I/O. */
  readonly blockSize: number;
  readonly iodepth: number;
  readonly ioengine: FioEngine;
  /** O_DIRECT (`direct=1`); false is buffered I/O through the page cache. */
  readonly direct: boolean;
  /** Measured time, after the ramp. */
  readonly runtimeMs: number;
  /** Time run first and not counted (fio's `ramp_time`); 0 for none. */
  readonly rampMs: number;
}

/** What a successful fio job reported. */
export interface FioResult {
  readonly ok: true;
  readonly iops: number;
  /** Total latency percentiles in µs (fio's `lat`: submission plus completion), as the closed loop measures issue to completion. */
  readonly p50Us: number;
  readonly p99Us: number;
}

/** Why a job gave no number; `reason` is meant for the user. */
export interface FioFailure {
  readonly ok: false;
  readonly reason: string;
}

function checkInteger(name: string, value: number, min: number): void {
  if (!Number.isInteger(value) || value < min) throw new RangeError(`fio job ${name} must be an integer >= ${min}, got ${value}`);
}

/**
 * The job's options by fio's names, as fio echoes them under `job options`.
 * `invalidate=0` keeps the image's pages cached when the job starts: the file
 * backend reads through the same page cache, warm from the benchmark's own
 * writes, and fio's default would drop it first. `lat_percentiles=1` adds
 * percentiles of the total latency: with buffered io_uring a page-cache hit
 * completes inside the submit call, so the completion latency alone (`clat`,
 * about 0.1 µs then) leaves out nearly all of the time an I/O takes.
 */
function fioJobOptions(job: FioJob): Record<string, string> {
  checkInteger('blockSize', job.blockSize, 512);
  checkInteger('iodepth', job.iodepth, 1);
  checkInteger('runtimeMs', job.runtimeMs, 1);
  checkInteger('rampMs', job.rampMs, 0);
  return {
    name: 'vtcam-bench',
    filename: job.filename,
    rw: job.rw,
    bs: String(job.blockSize),
    iodepth: String(job.iodepth),
    ioengine: job.ioengine,
    direct: job.direct ? '1' : '0',
    runtime: `${job.runtimeMs}ms`,
    ramp_time: `${job.rampMs}ms`,
    invalidate: '0',
    lat_percentiles: '1',
  };
}

/** The command line for `job`, without the program name. */
export function fioArgs(job: FioJob): string[] {
  const options = Object.entries(fioJobOptions(job)).map(([k, v]) => `--${k}=${v}`);
  // norandommap: pick offsets independently, as the benchmark's own loop does, rather than cover each block once per pass.
  return [...options, '--time_based', '--norandommap', '--eta=never', '--output-format=json'];
}

/** Options a report must echo unchanged for its numbers to be the job we asked for. */
const ECHOED = ['rw', 'bs', 'iodepth', 'ioengine', 'direct', 'lat_percentiles'] as const;
/** fio's default percentile_list holds these; keys are printed with six decimals. */
const P50 = '50.000000';
const P99 = '99.000000';

function isRecord(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

function finiteAt(obj: Record<string, unknown>, key: string): number | undefined {
  const v = obj[key];
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

/**
 * Parses fio's JSON report (its stdout) for `job`. Text before the report
 * (fio sometimes prints notes there) is skipped. Fails, saying why, when the
 * report is missing or malformed, the job has an error, it did no I/O of the
 * job's direction, the echoed options differ from the job's, or the p50/p99
 * total latencies are absent.
 */
export function parseFioJson(stdout: string, job: FioJob): FioResult | FioFailure {
  const start = stdout.search(/^\{/m);
  if (start === -1) return { ok: false, reason: 'fio printed no JSON report' };
  let report: unknown;
  try {
    report = JSON.parse(stdout.slice(start));
  } catch (e) {
    return { ok: false, reason: `fio's JSON report does not parse: ${e instanceof Error ? e.message : String(e)}` };
  }
  const jobs = isRecord(report) ? report['jobs'] : undefined;
  if (!Array.isArray(jobs) || jobs.length !== 1) return { ok: false, reason: 'fio\'s report does not hold exactly one job' };
  const j: unknown = jobs[0];
  if (!isRecord(j)) return { ok: false, reason: 'fio\'s job report is not an object' };
  const error = finiteAt(j, 'error');
  if (error !== 0) return { ok: false, reason: `fio's job failed with error ${error ?? 'unknown'}` };

  const echoed = j['job options'];
  const wanted = fioJobOptions(job);
  if (!isRecord(echoed)) return { ok: false, reason: 'fio\'s report has no job options' };
  for (const key of ECHOED) {
    if (echoed[key] !== wanted[key]) {
      return { ok: false, reason: `fio ran ${key}=${String(echoed[key])}, not ${key}=${String(wanted[key])}` };
    }
  }

  const side = j[job.rw === 'randread' ? 'read' : 'write'];
  if (!isRecord(side)) return { ok: false, reason: `fio's report has no ${job.rw} statistics` };
  const iops = finiteAt(side, 'iops');
  if (iops === undefined || iops <= 0 || (finiteAt(side, 'total_ios') ?? 0) <= 0) {
    return { ok: false, reason: `fio did no ${job.rw} I/O` };
  }
  const lat = side['lat_ns'];
  const pct = isRecord(lat) ? lat['percentile'] : undefined;
  const p50 = isRecord(pct) ? finiteAt(pct, P50) : undefined;
  const p99 = isRecord(pct) ? finiteAt(pct, P99) : undefined;
  if (p50 === undefined || p99 === undefined) {
    return { ok: false, reason: `fio's report has no lat_ns percentiles ${P50} and ${P99}` };
  }
  return { ok: true, iops, p50Us: p50 / 1000, p99Us: p99 / 1000 };
}

/** A job still running this long past its ramp and runtime has hung (a stuck device): it is killed. */
const GRACE_MS = 20_000;

/** The last lines fio wrote to stderr, for a failure message. */
function tail(stderr: string): string {
  const lines = stderr.split('\n').map((l) => l.trim()).filter((l) => l !== '');
  return lines.length === 0 ? 'nothing on stderr' : lines.slice(-2).join(' | ');
}

/**
 * Runs `job` with fio (`program`, by default looked up on PATH) and parses
 * its report. A non-zero exit, a kill (a job past its time by
 * {@link GRACE_MS}) and a report that does not parse are failures quoting
 * what fio said on stderr.
 */
export function runFio(job: FioJob, program = 'fio'): Promise<FioResult | FioFailure> {
  const args = fioArgs(job);
  return new Promise((resolve) => {
    const child = spawn(program, args, {
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: job.rampMs + job.runtimeMs + GRACE_MS,
      killSignal: 'SIGKILL',
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => { stdout += s; });
    child.stderr.setEncoding('utf8').on('data', (s: string) => { stderr += s; });
    child.on('error', (e) => {
      resolve({ ok: false, reason: `cannot run fio: ${e.message}` });
    });
    child.on('close', (code, signal) => {
      if (signal !== null) {
        resolve({ ok: false, reason: `fio was killed by ${signal} (still running ${GRACE_MS / 1000} s past its time?): ${tail(stderr)}` });
        return;
      }
      const parsed = parseFioJson(stdout, job);
      if (!parsed.ok) resolve({ ok: false, reason: `${parsed.reason}: ${tail(stderr)}` });
      else if (code !== 0) resolve({ ok: false, reason: `fio exited with status ${code ?? 'unknown'}: ${tail(stderr)}` });
      else resolve(parsed);
    });
  });
}

/** What {@link probeFio} found this machine can run. */
export interface FioProbe {
  readonly ok: true;
  readonly engine: FioEngine;
  /** Why `direct=1` does not work on the image's file system; absent when it does. */
  readonly noDirect?: string;
}

const PROBE_MS = 200;

/**
 * Finds the first engine of {@link FIO_ENGINES} that runs a short buffered
 * read job on `filename` (io_uring can be missing from the kernel or blocked
 * by a seccomp profile), then whether that engine can also run with O_DIRECT
 * there (tmpfs and some overlay file systems refuse it).
 */
export async function probeFio(filename: string, program = 'fio'): Promise<FioProbe | FioFailure> {
  const job = (ioengine: FioEngine, direct: boolean): FioJob => ({
    filename, rw: 'randread', blockSize: 4096, iodepth: 1, ioengine, direct, runtimeMs: PROBE_MS, rampMs: 0,
  });
  const failures: string[] = [];
  for (const engine of FIO_ENGINES) {
    const buffered = await runFio(job(engine, false), program);
    if (!buffered.ok) {
      failures.push(`${engine}: ${buffered.reason}`);
      continue;
    }
    const direct = await runFio(job(engine, true), program);
    return direct.ok ? { ok: true, engine } : { ok: true, engine, noDirect: direct.reason };
  }
  return { ok: false, reason: `fio can use none of ${FIO_ENGINES.join(', ')} here (${failures.join('; ')})` };
}
