// An interrupted conformance run: SIGTERM or SIGINT to the runner alone kills
// the client with everything it started and a serve not yet ready, and the
// runner exits 128 + the signal's number. Before, only a ready serve was
// killed: the client went on busy-looping with PPID 1, a starting serve kept
// listening, and the status was 130 whatever the signal.

import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';
import { LiveChildren, signalExitStatus } from '../../../scripts/conformance/children.js';
import { alive, gone } from './procs.js';

const FIXTURE = fileURLToPath(new URL('fixtures/interrupted-run.ts', import.meta.url));

interface Interrupted {
  readonly status: number | null;
  readonly stdout: string;
  readonly pids: readonly number[];
}

/** Runs the fixture until it says `ready`, sends `signal` to it alone, and waits for its end. */
function interrupt(signal: NodeJS.Signals): Promise<Interrupted> {
  return new Promise((resolve) => {
    const run = spawn(process.execPath, ['--import', 'tsx', FIXTURE], { stdio: ['ignore', 'pipe', 'inherit'] });
    let stdout = '';
    run.stdout.setEncoding('utf8').on('data', (text: string) => {
      const before = stdout;
      stdout += text;
      if (!before.includes('ready\n') && stdout.includes('ready\n')) run.kill(signal);
    });
    run.on('close', (status) => {
      const pids = [...stdout.matchAll(/^(?:client|grandchild|serve) (\d+)$/gm)].map((m) => Number(m[1]));
      resolve({ status, stdout, pids });
    });
  });
}

describe('stopAllOnSignal', () => {
  test.each([
    ['SIGTERM', 143],
    ['SIGINT', 130],
  ] as const)('%s: the client, its grandchild and the starting serve are killed; cleanup ran; exit %i', async (signal, status) => {
    const r = await interrupt(signal);
    expect(r.status, r.stdout).toBe(status);
    expect(r.stdout).toContain('cleanup\n');
    expect(r.pids).toHaveLength(3);
    for (const pid of r.pids) await gone(pid);
  }, 30_000);
});

describe('LiveChildren', () => {
  test('a child is tracked until it exits', async () => {
    const children = new LiveChildren();
    const child = spawn(process.execPath, ['-e', ''], { stdio: 'ignore' });
    children.add(child);
    expect(children.size).toBe(1);
    await new Promise((r) => child.once('exit', r));
    expect(children.size).toBe(0);
  });

  test('killAll kills a child that is not its own group leader', async () => {
    const children = new LiveChildren();
    const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
    children.add(child);
    const ended = new Promise((r) => child.once('exit', (_code, sig) => { r(sig); }));
    children.killAll();
    expect(await ended).toBe('SIGKILL');
    expect(alive(child.pid ?? 0)).toBe(false);
  });
});

test('signalExitStatus: 128 + the signal number', () => {
  expect(signalExitStatus('SIGINT')).toBe(130);
  expect(signalExitStatus('SIGTERM')).toBe(143);
  expect(signalExitStatus('SIGKILL')).toBe(137);
});
