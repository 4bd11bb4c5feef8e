// One invocation and its recovery, against a fake iscsi-test-cu (node -e):
// what it runs depends on --test, like the real one. A suite whose second
// test hangs, a client that crashes, a login that fails, a time cap reached.

import { describe, expect, test } from 'vitest';
import { runInvocation, type RunContext, type TestOutcome } from '../../../scripts/conformance/invoke.js';
import type { WatchedExit } from '../../../scripts/conformance/watchdog.js';

// The fake client. Suite S: A passes, B hangs (alone too), C passes. Suite
// Crash: X dies of SIGSEGV mid-test, Y passes when run alone. NoLogin never
// gets to CUnit. It prints its arguments on stderr first.
const FAKE_CLIENT = `
const argv = process.argv.slice(1);
process.stderr.write('argv ' + JSON.stringify(argv) + '\\n');
const pattern = (argv.find((a) => a.startsWith('--test=')) || '').slice(7);
const out = (s) => process.stdout.write(s);
const hang = () => setInterval(() => {}, 1000);
if (pattern === 'ALL.NoLogin') { out('Login Failed. no such target\\n'); process.exit(255); }
out('\\n\\n     CUnit - A unit testing framework for C - Version 2.1-3\\n\\n');
const [, suite, only] = pattern.split('.');
out('\\nSuite: ' + suite);
const tests = { S: ['A', 'B', 'C'], Crash: ['X', 'Y'] }[suite].filter((t) => only === undefined || t === only);
for (const t of tests) {
  out('\\n  Test: ' + t + ' ...\\n    running ' + t + '\\n');
  if (t === 'B') { hang(); break; }
  if (t === 'X') { process.kill(process.pid, 'SIGSEGV'); hang(); break; }
  out('passed');
}
if (!tests.includes('B') && !tests.includes('X')) out('\\n\\nRun Summary:\\n');
`;

interface Harness {
  readonly ctx: RunContext;
  readonly records: { pattern: string; exit: WatchedExit }[];
  readonly streamed: TestOutcome[];
  readonly restarts: string[];
}

function harness(over: Partial<RunContext> = {}): Harness {
  const records: { pattern: string; exit: WatchedExit }[] = [];
  const streamed: TestOutcome[] = [];
  const restarts: string[] = [];
  const ctx: RunContext = {
    client: [process.execPath, '-e', FAKE_CLIENT, '--'],
    options: ['--dataloss', '-V'],
    stallMs: 1000,
    capMs: 20_000,
    graceMs: 500,
    deadline: Date.now() + 60_000,
    targets: () => ['iscsi://127.0.0.1:3260/iqn.2026-11.org.vtcam:disk0/0'],
    record: (pattern, exit) => records.push({ pattern, exit }),
    onOutcome: (o) => streamed.push(o),
    afterAbnormalEnd: (why) => {
      restarts.push(why);
      return Promise.resolve();
    },
    ...over,
  };
  return { ctx, records, streamed, restarts };
}

const sorted = (list: readonly TestOutcome[]): TestOutcome[] => [...list].sort((a, b) => a.key.localeCompare(b.key));

describe('runInvocation', () => {
  test('onSpawn gets every client process as it starts (the runner kills them if it is interrupted)', async () => {
    const pids: (number | undefined)[] = [];
    const h = harness({ onSpawn: (child) => pids.push(child.pid) });
    await runInvocation('ALL.S', ['S.A', 'S.B', 'S.C'], h.ctx);
    // The suite, then C alone.
    expect(pids).toHaveLength(2);
    expect(pids.every((p) => typeof p === 'number')).toBe(true);
  });

  test('a suite that hangs on its second test: that test fails, the rest runs one at a time', async () => {
    const h = harness();
    const r = await runInvocation('ALL.S', ['S.A', 'S.B', 'S.C'], h.ctx);
    expect(sorted(r.outcomes)).toEqual([
      { key: 'S.A', status: 'passed', note: '' },
      { key: 'S.B', status: 'failed', note: 'no result: killed after 1 s without output (target not answering?); last output: running B' },
      { key: 'S.C', status: 'passed', note: '' },
    ]);
    // The suite once, then only C: B already has its verdict.
    expect(h.records.map((x) => x.pattern)).toEqual(['ALL.S', 'ALL.S.C']);
    expect(h.records[0]?.exit.killed).toBe('stall');
    expect(r.incidents).toEqual([{ pattern: 'ALL.S', what: 'killed after 1 s without output (target not answering?)' }]);
    expect(h.restarts).toHaveLength(1);
    expect(sorted(h.streamed)).toEqual(sorted(r.outcomes));
  });

  test('the client gets its wrapper arguments, the options, --test and the target URLs in that order', async () => {
    const h = harness({ client: [process.execPath, '-e', FAKE_CLIENT, '--', '-oL'], targets: () => ['iscsi://a/iqn.x:y/0', 'iscsi://a/iqn.x:y/0'] });
    await runInvocation('ALL.S.A', ['S.A'], h.ctx);
    const argv = /argv (.*)\n/.exec(h.records[0]?.exit.output ?? '')?.[1];
    expect(JSON.parse(argv ?? 'null')).toEqual(['-oL', '--dataloss', '-V', '--test=ALL.S.A', 'iscsi://a/iqn.x:y/0', 'iscsi://a/iqn.x:y/0']);
  });

  test('a client that crashes mid-test: that test fails with the signal, the next one runs alone', async () => {
    const h = harness();
    const r = await runInvocation('ALL.Crash', ['Crash.X', 'Crash.Y'], h.ctx);
    expect(sorted(r.outcomes)).toEqual([
      { key: 'Crash.X', status: 'failed', note: 'no result: client died of SIGSEGV; last output: running X' },
      { key: 'Crash.Y', status: 'passed', note: '' },
    ]);
    expect(r.incidents).toEqual([{ pattern: 'ALL.Crash', what: 'client died of SIGSEGV' }]);
    expect(h.restarts).toEqual(['client died of SIGSEGV']);
  });

  test('a single test that hangs is failed, and nothing is retried', async () => {
    const h = harness();
    const r = await runInvocation('ALL.S.B', ['S.B'], h.ctx);
    expect(r.outcomes).toEqual([{ key: 'S.B', status: 'failed', note: 'no result: killed after 1 s without output (target not answering?); last output: running B' }]);
    expect(h.records).toHaveLength(1);
  });

  test('a client that never starts the tests: all notrun, one incident with what it said, the target restarted', async () => {
    const h = harness();
    const r = await runInvocation('ALL.NoLogin', ['NoLogin.P', 'NoLogin.Q'], h.ctx);
    expect(r.outcomes.map((o) => [o.key, o.status])).toEqual([
      ['NoLogin.P', 'notrun'],
      ['NoLogin.Q', 'notrun'],
    ]);
    expect(r.outcomes[0]?.note).toMatch(/^iscsi-test-cu setup failed \(client exited with status 255\): .*Login Failed\. no such target$/);
    expect(r.incidents).toHaveLength(1);
    expect(h.records).toHaveLength(1);
    expect(h.restarts).toEqual(['setup failed (client exited with status 255)']);
  });

  test('past the deadline nothing runs: notrun', async () => {
    const h = harness({ deadline: Date.now() - 1 });
    const r = await runInvocation('ALL.S', ['S.A', 'S.B'], h.ctx);
    expect(r.outcomes).toEqual([
      { key: 'S.A', status: 'notrun', note: 'the total time cap was reached first' },
      { key: 'S.B', status: 'notrun', note: 'the total time cap was reached first' },
    ]);
    expect(h.records).toEqual([]);
  });
});
