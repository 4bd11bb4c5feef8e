// What `npm run bench` is asked to do: its flags and BENCH_* variables, all
// checked before anything runs, so a typo is one line naming the flag or the
// variable (and the usage) with exit status 2, not a stack trace minutes in.

import { parseArgs } from 'node:util';
import { CAM_DEFAULT_ROUNDS } from './cam.js';
import { ISCSI_DEFAULT_DURATION_MS, ISCSI_DEFAULT_ROUNDS, ISCSI_DEFAULT_WARMUP_MS } from './iscsi.js';

/** The in-process benchmarks, in the order they run; BENCH_ONLY picks one. */
export const BENCHMARKS = ['virtio-local', 'scsi-sbc', 'cam', 'worker'] as const;
export type Benchmark = (typeof BENCHMARKS)[number];

/** Measured time and warm-up per point of the in-process benchmarks when BENCH_DURATION_MS / BENCH_WARMUP_MS are unset. */
export const BENCH_DEFAULT_DURATION_MS = 1500;
export const BENCH_DEFAULT_WARMUP_MS = 300;

export const BENCH_USAGE = `Usage: npm run bench [-- --iscsi | --help]
  (no flags)     the in-process benchmarks: ${BENCHMARKS.join(', ')}
  --iscsi        only the iSCSI benchmark, iscsi-perf against vtcam serve and tgt
                 (needs root, tgt and libiscsi-bin)
  -h, --help     this text
Environment:
  BENCH_ONLY=NAME           one in-process benchmark: ${BENCHMARKS.join('|')}
  BENCH_DURATION_MS=MS      measured time per point (default ${BENCH_DEFAULT_DURATION_MS}; --iscsi ${ISCSI_DEFAULT_DURATION_MS})
  BENCH_WARMUP_MS=MS        warm-up per point, 0 for none (default ${BENCH_DEFAULT_WARMUP_MS}; --iscsi ${ISCSI_DEFAULT_WARMUP_MS})
  BENCH_CAM_ROUNDS=N        the cam benchmark's interleaved rounds (default ${CAM_DEFAULT_ROUNDS})
  BENCH_ISCSI_ROUNDS=N      the iSCSI benchmark's rounds (default ${ISCSI_DEFAULT_ROUNDS})
  BENCH_ISCSI_CPU_PROF=DIR  run the vtcam target under node --cpu-prof, profile in DIR
  BENCH_OUT=DIR             where results go (default bench-results)
`;

export interface BenchOptions {
  readonly iscsi: boolean;
  /** BENCH_ONLY: the one in-process benchmark to run, or all of them. */
  readonly only: Benchmark | undefined;
  /** BENCH_DURATION_MS and BENCH_WARMUP_MS; undefined leaves the benchmark's default. */
  readonly durationMs: number | undefined;
  readonly warmupMs: number | undefined;
  readonly camRounds: number;
  readonly iscsiRounds: number;
  readonly cpuProfDir: string | undefined;
  readonly outDir: string;
}

/** The longest measured time or warm-up per point: a day, as `npm run conformance` bounds its timeouts. */
const MAX_MS = 86_400_000;

function isBenchmark(s: string): s is Benchmark {
  return (BENCHMARKS as readonly string[]).includes(s);
}

/** A whole number from the environment, at least `min` (and at most `max`); undefined when unset, or why not. */
function wholeNumber(env: Readonly<Record<string, string | undefined>>, name: string, min: number, max?: number): number | undefined | string {
  const text = env[name];
  if (text === undefined) return undefined;
  const n = Number(text);
  if (/^\d+$/.test(text) && n >= min && n <= (max ?? Number.MAX_SAFE_INTEGER)) return n;
  return `${name} must be a whole number ${max === undefined ? `>= ${min}` : `in ${min}..${max}`}, got '${text}'`;
}

/**
 * Parses `npm run bench`'s arguments and environment. Returns the options, BENCH_USAGE itself for
 * --help, or a message naming the bad flag or variable (the caller prints it with the usage, exit 2).
 */
export function parseBenchOptions(argv: readonly string[], env: Readonly<Record<string, string | undefined>>): BenchOptions | string {
  let v;
  try {
    v = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: { iscsi: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
    }).values;
  } catch (e) {
    return e instanceof Error ? e.message : String(e);
  }
  if (v.help === true) return BENCH_USAGE;
  const only = env['BENCH_ONLY'];
  if (only !== undefined && !isBenchmark(only)) return `BENCH_ONLY must be one of ${BENCHMARKS.join(', ')}, got '${only}'`;
  // --iscsi runs the iSCSI benchmark alone: a BENCH_ONLY beside it would be silently ignored.
  if (only !== undefined && v.iscsi === true) return `BENCH_ONLY=${only} picks an in-process benchmark and --iscsi the iSCSI one; give one of them`;
  const durationMs = wholeNumber(env, 'BENCH_DURATION_MS', 1, MAX_MS);
  if (typeof durationMs === 'string') return durationMs;
  const warmupMs = wholeNumber(env, 'BENCH_WARMUP_MS', 0, MAX_MS);
  if (typeof warmupMs === 'string') return warmupMs;
  const camRounds = wholeNumber(env, 'BENCH_CAM_ROUNDS', 1);
  if (typeof camRounds === 'string') return camRounds;
  const iscsiRounds = wholeNumber(env, 'BENCH_ISCSI_ROUNDS', 1);
  if (typeof iscsiRounds === 'string') return iscsiRounds;
  const bad = ['BENCH_ISCSI_CPU_PROF', 'BENCH_OUT'].find((name) => env[name] === '');
  if (bad !== undefined) return `${bad} must name a directory, got ''`;
  return {
    iscsi: v.iscsi === true,
    only,
    durationMs,
    warmupMs,
    camRounds: camRounds ?? CAM_DEFAULT_ROUNDS,
    iscsiRounds: iscsiRounds ?? ISCSI_DEFAULT_ROUNDS,
    cpuProfDir: env['BENCH_ISCSI_CPU_PROF'],
    outDir: env['BENCH_OUT'] ?? 'bench-results',
  };
}
