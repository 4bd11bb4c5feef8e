// An interrupted soak: SIGTERM or SIGINT to the soak alone kills the vtcam
// serve it started, ready or still starting, removes its scratch image, and
// the soak exits 128 + the signal's number. Before, the soak died of the
// signal and left the serve listening with its scratch directory behind.

import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, expect, test } from 'vitest';
import { alive, gone } from '../conformance/procs.js';

const FIXTURE = fileURLToPath(new URL('fixtures/interrupted-soak.ts', import.meta.url));

/** The live processes whose command line names `dir`: the serves started on a scratch image under it. */
function processesUnder(dir: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(dir) && alive(Number(entry))) pids.push(Number(entry));
    } catch {
      // It exited while the list was read.
    }
  }
  return pids;
}

let dir = '';

afterEach(() => {
  // Whatever a failed check left behind.
  for (const pid of processesUnder(dir)) process.kill(pid, 'SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

interface Interrupted {
  readonly status: number | null;
  readonly signal: NodeJS.Signals | null;
  /** The serves that ran when the signal was sent. */
  readonly serves: readonly number[];
}

/** Runs the fixture in `mode` with $TMPDIR under a folder of its own, sends `signal` to it alone once its serve runs (`running`: and the soak has printed its banner), and waits for its end. */
function interrupt(mode: 'starting' | 'running', signal: NodeJS.Signals): Promise<Interrupted> {
  dir = mkdtempSync(join(tmpdir(), 'soak-interrupt-'));
  const run = spawn(process.execPath, ['--import', 'tsx', FIXTURE, mode], { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, TMPDIR: dir } });
  let stdout = '';
  run.stdout.setEncoding('utf8').on('data', (text: string) => {
    stdout += text;
  });
  let serves: number[] = [];
  const poll = setInterval(() => {
    serves = processesUnder(dir);
    if (serves.length === 0 || (mode === 'running' && !stdout.includes('ready\n'))) return;
    clearInterval(poll);
    run.kill(signal);
  }, 100);
  return new Promise((resolve) => {
    run.on('close', (status, sig) => {
      clearInterval(poll);
      resolve({ status, signal: sig, serves });
    });
  });
}

test.each([
  ['starting', 'SIGTERM', 143],
  ['starting', 'SIGINT', 130],
  ['running', 'SIGTERM', 143],
] as const)('serve %s, %s: the serve is killed, the scratch image removed, exit %i', async (mode, signal, status) => {
  const r = await interrupt(mode, signal);
  expect(r, 'the soak died of the signal').toMatchObject({ status, signal: null });
  expect(r.serves).toHaveLength(1);
  for (const pid of r.serves) await gone(pid);
  // tsx keeps its cache under $TMPDIR too (tsx-0).
  expect(readdirSync(dir).filter((name) => name.startsWith('vtcam-soak-'))).toEqual([]);
}, 60_000);
