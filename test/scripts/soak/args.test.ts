// `npm run soak` flags: defaults, and each bad flag refused by name with exit
// status 2 before anything starts.

import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';
import { parseSoakArgs } from '../../../scripts/soak/args.js';

const MAIN = fileURLToPath(new URL('../../../scripts/soak/main.ts', import.meta.url));

function run(args: readonly string[]): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', MAIN, ...args], (error, _stdout, stderr) => {
      resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : -1, stderr });
    });
  });
}

describe('parseSoakArgs', () => {
  test('defaults: the given seed, 60 s, sessions from the seed, no serve flags', () => {
    expect(parseSoakArgs([], 42)).toEqual({ kind: 'run', options: { seed: 42, seconds: 60, kill: false, sessions: undefined, serveArgs: [] } });
  });

  test('every flag, --serve-arg repeated in order', () => {
    const argv = ['--seed', '4294967295', '--seconds', '5', '--sessions', '16', '--serve-arg=--transport', '--serve-arg=worker'];
    expect(parseSoakArgs(argv, 0)).toEqual({ kind: 'run', options: { seed: 4294967295, seconds: 5, kill: false, sessions: 16, serveArgs: ['--transport', 'worker'] } });
    expect(parseSoakArgs(['--kill-at', '20'], 1)).toEqual({ kind: 'run', options: { seed: 1, seconds: 20, kill: true, sessions: undefined, serveArgs: [] } });
    expect(parseSoakArgs(['-h'], 0)).toEqual({ kind: 'help' });
  });

  test.each([
    [['--seed=-1'], "--seed must be a whole number in 0..4294967295, got '-1'"],
    [['--seed=4294967296'], "--seed must be a whole number in 0..4294967295, got '4294967296'"],
    [['--seed', '1.5'], "--seed must be a whole number in 0..4294967295, got '1.5'"],
    [['--seconds', '0'], "--seconds must be a whole number in 1..86400, got '0'"],
    [['--seconds', '86401'], "--seconds must be a whole number in 1..86400, got '86401'"],
    [['--sessions', '17'], "--sessions must be a whole number in 1..16, got '17'"],
    [['--kill-at', '0'], "--kill-at must be a whole number in 1..86400, got '0'"],
    [['--kill-at', '10', '--seconds', '20'], '--kill-at replaces --seconds: give one of them'],
    [['--sessions', ''], "--sessions must be a whole number in 1..16, got ''"],
    [['--serve-arg=--port', '--serve-arg=3260'], '--serve-arg=--port: the soak sets --port itself'],
    [['--serve-arg=--image=/tmp/x'], '--serve-arg=--image=/tmp/x: the soak sets --image itself'],
  ])('%j is refused: %s', (argv, message) => {
    expect(parseSoakArgs(argv, 0)).toEqual({ kind: 'error', message });
  });

  test('an unknown flag and a flag without its value are refused by name', () => {
    expect(parseSoakArgs(['--seeds', '1'], 0)).toMatchObject({ kind: 'error', message: expect.stringContaining("'--seeds'") as unknown });
    expect(parseSoakArgs(['--seconds'], 0)).toMatchObject({ kind: 'error', message: expect.stringContaining("'--seconds <value>'") as unknown });
    expect(parseSoakArgs(['extra'], 0)).toMatchObject({ kind: 'error', message: expect.stringContaining("'extra'") as unknown });
  });
});

describe('npm run soak with a bad flag', () => {
  test('exits 2 with the message and the usage, before looking for the built CLI', async () => {
    const r = await run(['--seconds', '0']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^soak: --seconds must be a whole number in 1\.\.86400, got '0'\nUsage: npm run soak/);
  });

  test('--help exits 0', async () => {
    expect((await run(['--help'])).code).toBe(0);
  });
});
