// The watchdog, with fake children (node -e): one that goes silent, one that
// ignores SIGTERM, one that talks slowly but steadily, one that runs too long,
// one that cannot start, and wrapper scripts (sh -c) whose work runs in a
// grandchild that holds the output pipes.

import { describe, expect, test } from 'vitest';
import { runWatched } from '../../../scripts/conformance/watchdog.js';
import { gone } from './procs.js';

const node = (script: string): { command: string; args: string[] } => ({ command: process.execPath, args: ['-e', script] });

describe('runWatched', () => {
  test('a child that exits by itself: its output, stdout and stderr, and its status', async () => {
    const r = await runWatched({ ...node("process.stdout.write('out\\n'); process.stderr.write('err\\n'); process.exitCode = 3"), stallMs: 5000, capMs: 10_000 });
    expect(r).toMatchObject({ code: 3, signal: null, killed: undefined, spawnError: undefined });
    expect(r.output.split('\n').sort()).toEqual(['', 'err', 'out']);
  });

  test('a child that goes silent is killed (SIGTERM) after the stall time, keeping what it printed', async () => {
    const t0 = Date.now();
    const seen: string[] = [];
    const r = await runWatched({
      ...node("process.stdout.write('  Test: Eject ...\\n'); setInterval(() => {}, 1000)"),
      // Long enough for node to start and print first on a loaded machine.
      stallMs: 1000,
      capMs: 20_000,
      onOutput: (t) => seen.push(t),
    });
    expect(r.killed).toBe('stall');
    expect(r.signal).toBe('SIGTERM');
    expect(r.output).toBe('  Test: Eject ...\n');
    expect(seen.join('')).toBe(r.output);
    expect(Date.now() - t0).toBeLessThan(8000);
  });

  test('a silent child that ignores SIGTERM gets SIGKILL after the grace period', async () => {
    const r = await runWatched({
      ...node("process.on('SIGTERM', () => {}); process.stdout.write('x'); setInterval(() => {}, 1000)"),
      stallMs: 1000,
      capMs: 20_000,
      graceMs: 300,
    });
    expect(r.killed).toBe('stall');
    expect(r.signal).toBe('SIGKILL');
  });

  test('steady output keeps a child alive past the stall time', async () => {
    const r = await runWatched({
      ...node("let n = 0; process.stdout.write('-'); const t = setInterval(() => { process.stdout.write(String(n)); if (++n === 8) clearInterval(t); }, 300)"),
      stallMs: 1500,
      capMs: 20_000,
    });
    expect(r).toMatchObject({ code: 0, killed: undefined, output: '-01234567' });
  });

  test('a child that talks forever is stopped by the cap', async () => {
    // The cap is generous enough for node to start and print on a loaded machine; the stall time is never reached.
    const r = await runWatched({ ...node("setInterval(() => process.stdout.write('.'), 50)"), stallMs: 10_000, capMs: 2000 });
    expect(r.killed).toBe('cap');
    expect(r.signal).toBe('SIGTERM');
    expect(r.output.length).toBeGreaterThan(0);
  });

  test('a command that does not exist is a spawn error, not a rejection', async () => {
    const r = await runWatched({ command: '/nonexistent/iscsi-test-cu', args: [], stallMs: 1000, capMs: 1000 });
    expect(r.spawnError).toMatch(/ENOENT/);
    expect(r.killed).toBeUndefined();
    expect(r.output).toBe('');
  });

  test('a silent wrapper whose work runs in a grandchild: the whole group is killed and the run settles', async () => {
    // Before, SIGTERM reached the shell only; `sleep` kept the pipes open and the promise never settled.
    const r = await runWatched({ command: 'sh', args: ['-c', 'sleep 1000 & echo "$!"; wait'], stallMs: 1000, capMs: 20_000, graceMs: 300 });
    expect(r.killed).toBe('stall');
    const pid = Number(r.output.trim());
    expect(Number.isInteger(pid) && pid > 0, r.output).toBe(true);
    await gone(pid);
  }, 20_000);

  test('a grandchild that left the group still holding the pipes: settled once the child has exited and the drain time passed', async () => {
    const r = await runWatched({ command: 'sh', args: ['-c', 'setsid sleep 1000 & echo "$!"; exit 4'], stallMs: 10_000, capMs: 20_000, drainMs: 300 });
    const pid = Number(r.output.trim());
    try {
      expect(r).toMatchObject({ code: 4, signal: null, killed: undefined });
    } finally {
      if (pid > 0) process.kill(pid, 'SIGKILL');
    }
  }, 20_000);

  test('onSpawn gets the child as it starts, leading its own process group', async () => {
    const pids: (number | undefined)[] = [];
    const r = await runWatched({ command: 'sh', args: ['-c', 'ps -o pgid= -p $$'], stallMs: 5000, capMs: 10_000, onSpawn: (c) => pids.push(c.pid) });
    expect(r.code).toBe(0);
    expect(pids).toHaveLength(1);
    expect(Number(r.output.trim())).toBe(pids[0]);
  });
});
