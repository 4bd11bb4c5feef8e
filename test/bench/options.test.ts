// `npm run bench`'s flags and BENCH_* variables: checked before anything runs,
// a bad one named with exit 2 and the usage (it was a stack trace), --help the
// usage. The benchmarks themselves never run here: every case stops at parsing.

import { describe, expect, test } from 'vitest';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { BENCH_USAGE, parseBenchOptions } from '../../bench/options.js';

const MAIN = fileURLToPath(new URL('../../bench/main.ts', import.meta.url));

describe('parseBenchOptions', () => {
  test('nothing given: every in-process benchmark with its defaults', () => {
    expect(parseBenchOptions([], {})).toEqual({
      iscsi: false,
      only: undefined,
      durationMs: undefined,
      warmupMs: undefined,
      camRounds: 5,
      iscsiRounds: 3,
      cpuProfDir: undefined,
      outDir: 'bench-results',
    });
  });

  test.each(['virtio-local', 'scsi-sbc', 'cam', 'worker'])('BENCH_ONLY=%s: that benchmark alone', (name) => {
    expect(parseBenchOptions([], { BENCH_ONLY: name })).toMatchObject({ iscsi: false, only: name });
  });

  test('--iscsi and every variable but BENCH_ONLY (which picks an in-process benchmark)', () => {
    const env = {
      BENCH_DURATION_MS: '200',
      BENCH_WARMUP_MS: '0',
      BENCH_CAM_ROUNDS: '1',
      BENCH_ISCSI_ROUNDS: '7',
      BENCH_ISCSI_CPU_PROF: '/tmp/prof',
      BENCH_OUT: 'out',
    };
    expect(parseBenchOptions(['--iscsi'], env)).toEqual({
      iscsi: true,
      only: undefined,
      durationMs: 200,
      warmupMs: 0,
      camRounds: 1,
      iscsiRounds: 7,
      cpuProfDir: '/tmp/prof',
      outDir: 'out',
    });
  });

  test.each([['--help'], ['-h']])('%s: the usage', (flag) => {
    expect(parseBenchOptions([flag], {})).toBe(BENCH_USAGE);
  });

  test.each([
    [['--bogus'], {}, "Unknown option '--bogus'"],
    [['--iscsi=yes'], {}, "Option '--iscsi' does not take an argument"],
    [['cam'], {}, "Unexpected argument 'cam'"],
    [[], { BENCH_ONLY: 'nope' }, "BENCH_ONLY must be one of virtio-local, scsi-sbc, cam, worker, got 'nope'"],
    [[], { BENCH_ONLY: '' }, "BENCH_ONLY must be one of virtio-local, scsi-sbc, cam, worker, got ''"],
    [[], { BENCH_DURATION_MS: 'abc' }, "BENCH_DURATION_MS must be a whole number in 1..86400000, got 'abc'"],
    [[], { BENCH_DURATION_MS: '0' }, "BENCH_DURATION_MS must be a whole number in 1..86400000, got '0'"],
    [[], { BENCH_DURATION_MS: '86400001' }, "BENCH_DURATION_MS must be a whole number in 1..86400000, got '86400001'"],
    [[], { BENCH_WARMUP_MS: '-1' }, "BENCH_WARMUP_MS must be a whole number in 0..86400000, got '-1'"],
    [[], { BENCH_CAM_ROUNDS: '0' }, "BENCH_CAM_ROUNDS must be a whole number >= 1, got '0'"],
    [[], { BENCH_ISCSI_ROUNDS: '2.5' }, "BENCH_ISCSI_ROUNDS must be a whole number >= 1, got '2.5'"],
    [[], { BENCH_OUT: '' }, "BENCH_OUT must name a directory, got ''"],
    [['--iscsi'], { BENCH_ONLY: 'cam' }, 'BENCH_ONLY=cam picks an in-process benchmark and --iscsi the iSCSI one; give one of them'],
  ])('%j %j: %s', (argv, env, message) => {
    const r = parseBenchOptions(argv, env);
    expect(typeof r).toBe('string');
    expect(r).toContain(message);
  });
});

function bench(args: readonly string[], env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', MAIN, ...args], { env: { ...process.env, ...env } }, (error, stdout, stderr) => {
      resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : -1, stdout, stderr });
    });
  });
}

describe('npm run bench with bad input', () => {
  test.each([
    [['--bogus'], {}, "bench: Unknown option '--bogus'"],
    [[], { BENCH_ONLY: 'nope' }, "bench: BENCH_ONLY must be one of virtio-local, scsi-sbc, cam, worker, got 'nope'"],
    [['--iscsi'], { BENCH_ONLY: 'worker' }, 'bench: BENCH_ONLY=worker picks an in-process benchmark and --iscsi the iSCSI one; give one of them'],
  ])('%j %j: exit 2, the message and the usage on stderr, no stack trace', async (args, env, message) => {
    const r = await bench(args, env);
    expect(r).toMatchObject({ code: 2, stdout: '' });
    expect(r.stderr.startsWith(message)).toBe(true);
    expect(r.stderr.endsWith(`\n${BENCH_USAGE}`)).toBe(true);
    expect(r.stderr).not.toMatch(/\bat .*:\d+:\d+/);
  });

  test('a BENCH_OUT that cannot be made: exit 2 in one line before anything is measured', async () => {
    // BENCH_OUT under a file; the benchmark itself would take well under a second here.
    const r = await bench([], { BENCH_ONLY: 'scsi-sbc', BENCH_DURATION_MS: '1', BENCH_WARMUP_MS: '0', BENCH_OUT: `${MAIN}/x` });
    expect(r).toEqual({ code: 2, stdout: '', stderr: `bench: BENCH_OUT: cannot use ${MAIN}/x for results: ENOTDIR: not a directory, mkdir '${MAIN}/x'\n` });
  });

  test('--help: the usage on stdout, exit 0', async () => {
    expect(await bench(['--help'], {})).toEqual({ code: 0, stdout: BENCH_USAGE, stderr: '' });
  });
});
