// One iscsi-test-cu invocation and its recovery. The output is parsed as it
// arrives; when the client is killed by the watchdog or dies, the test it was
// running is failed, and the tests it never reached run again one at a time,
// so a target that hangs on one command costs that test, not the suite.

import type { ChildProcess } from 'node:child_process';
import { CunitParser, type CunitTestResult } from './cunit.js';
import { runWatched, type WatchedExit } from './watchdog.js';

export type FinalStatus = 'passed' | 'failed' | 'skipped' | 'notrun';

/** The verdict on one test, keyed `Suite.Test`. */
export interface TestOutcome {
  readonly key: string;
  readonly status: FinalStatus;
  readonly note: string;
}

/** Something that makes the run untrustworthy: a client killed or crashed, a setup that failed. */
export interface Incident {
  readonly pattern: string;
  readonly what: string;
}

export interface RunContext {
  /** The client and any wrapper before its options, e.g. ['stdbuf', '-oL', 'iscsi-test-cu']. */
  readonly client: readonly [string, ...string[]];
  /** Options for every invocation (--dataloss, initiator names, -V). */
  readonly options: readonly string[];
  readonly stallMs: number;
  readonly capMs: number;
  readonly graceMs?: number;
  /** Nothing starts after this time (Date.now() scale); what is left is `notrun`. */
  readonly deadline: number;
  /** The URL(s) to test now; a restarted target has a new port. */
  targets(): readonly string[];
  /** Each finished invocation with its raw output, for the logs. */
  record(pattern: string, exit: WatchedExit): void;
  /** Each client process as it is spawned (the leader of its own process group), so an interrupted runner can kill it. */
  onSpawn?(child: ChildProcess): void;
  /** Each test's outcome once, as soon as it is known (for progress; the result of runInvocation is what counts). */
  onOutcome?(o: TestOutcome): void;
  /**
   * After an invocation that was killed or crashed, or never got past login
   * and the client's device checks: the target may be wedged, and the runner
   * restarts it here so one bad command does not cost every test after it.
   */
  afterAbnormalEnd?(why: string): Promise<void>;
}

export interface InvocationResult {
  readonly outcomes: readonly TestOutcome[];
  readonly incidents: readonly Incident[];
}

function describeEnd(exit: WatchedExit, ctx: RunContext): string {
  if (exit.spawnError !== undefined) return `client did not start: ${exit.spawnError}`;
  if (exit.killed === 'stall') return `killed after ${ctx.stallMs / 1000} s without output (target not answering?)`;
  if (exit.killed === 'cap') return `killed by the ${ctx.capMs / 1000} s cap per invocation`;
  if (exit.signal !== null) return `client died of ${exit.signal}`;
  return `client exited with status ${exit.code ?? 'unknown'}`;
}

function lastLines(output: string, n: number): string {
  return output
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '')
    .slice(-n)
    .join(' | ');
}

/**
 * Runs `--test=pattern`, which should report each of `expected` (`Suite.Test`
 * keys); resolves with an outcome for every one of them. Never rejects.
 */
export async function runInvocation(pattern: string, expected: readonly string[], ctx: RunContext): Promise<InvocationResult> {
  const outcomes = new Map<string, TestOutcome>();
  const incidents: Incident[] = [];
  const settle = (o: TestOutcome): void => {
    if (outcomes.has(o.key) || !expected.includes(o.key)) return;
    outcomes.set(o.key, o);
    ctx.onOutcome?.(o);
  };
  if (Date.now() >= ctx.deadline) {
    for (const key of expected) settle({ key, status: 'notrun', note: 'the total time cap was reached first' });
    return { outcomes: [...outcomes.values()], incidents };
  }

  const streamed = (r: CunitTestResult): void => {
    // Final as soon as CUnit printed it; an incomplete test is judged below, knowing why the output ended.
    if (r.status !== 'incomplete') settle({ key: `${r.suite}.${r.test}`, status: r.status, note: r.note });
  };
  const parser = new CunitParser(streamed);
  const [command, ...wrapper] = ctx.client;
  const exit = await runWatched({
    command,
    args: [...wrapper, ...ctx.options, `--test=${pattern}`, ...ctx.targets()],
    stallMs: ctx.stallMs,
    capMs: ctx.capMs,
    ...(ctx.graceMs === undefined ? {} : { graceMs: ctx.graceMs }),
    ...(ctx.onSpawn === undefined ? {} : { onSpawn: (child: ChildProcess) => ctx.onSpawn?.(child) }),
    onOutput: (text) => {
      parser.push(text);
    },
  });
  const run = parser.end();
  ctx.record(pattern, exit);

  const why = describeEnd(exit, ctx);
  const abnormal = exit.killed !== undefined || exit.signal !== null || exit.spawnError !== undefined;
  if (abnormal) incidents.push({ pattern, what: why });
  // The failure notes in `run` are complete (the first assertion comes after the streamed result).
  for (const r of run.results) {
    const key = `${r.suite}.${r.test}`;
    if (r.status === 'incomplete') settle({ key, status: 'failed', note: `no result: ${why}${r.note === '' ? '' : `; last output: ${r.note}`}` });
    else if (r.status === 'failed' && outcomes.get(key)?.note === '') outcomes.set(key, { key, status: 'failed', note: r.note });
  }
  if (abnormal) await ctx.afterAbnormalEnd?.(why);

  const missing = expected.filter((k) => !outcomes.has(k));
  if (missing.length === 0) return { outcomes: [...outcomes.values()], incidents };
  if (!run.started) {
    // Login or the client's own device checks failed: no test ran.
    const said = lastLines(exit.output, 2);
    incidents.push({ pattern, what: `iscsi-test-cu did not start the tests (${why})${said === '' ? '' : `: ${said}`}` });
    if (!abnormal) await ctx.afterAbnormalEnd?.(`setup failed (${why})`);
    for (const key of missing) settle({ key, status: 'notrun', note: `iscsi-test-cu setup failed (${why})${said === '' ? '' : `: ${said}`}` });
    return { outcomes: [...outcomes.values()], incidents };
  }
  if (expected.length === 1) {
    for (const key of missing) settle({ key, status: 'failed', note: `no result: ${why}` });
    return { outcomes: [...outcomes.values()], incidents };
  }
  for (const key of missing) {
    const one = await runInvocation(`ALL.${key}`, [key], ctx);
    for (const o of one.outcomes) outcomes.set(o.key, o);
    incidents.push(...one.incidents);
  }
  return { outcomes: [...outcomes.values()], incidents };
}
