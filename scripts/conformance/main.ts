// `npm run conformance`: libiscsi's iscsi-test-cu, every test, against
// `vtcam serve` (the built CLI) on loopback. Each device personality the
// tests need gets its own serve process on a free port with a scratch image;
// results go to conformance/results.tsv and conformance/summary.txt, raw
// output to conformance/raw/ (a partial run's to conformance/raw/partial/,
// scope.ts). Exit status 0 when at least expected.json's minPassed tests
// passed (a partial run: every selected test ran) and nothing crashed or hung,
// 1 otherwise, 2 when the run could not start (usage, no iscsi-test-cu, CLI
// not built).

import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { prepareOutDir } from '../../src/cli/out-dir.js';
import { createProgress } from '../../src/cli/progress.js';
import { DEFAULT_TARGET_NAME } from '../../src/cli/serve-args.js';
import { LiveChildren, stopAllOnSignal } from './children.js';
import { runInvocation, type Incident, type RunContext } from './invoke.js';
import { PERSONALITIES, invocationsFor, parseTestList, personalityOf, stallMsFor, testKey, type Personality, type TestId } from './plan.js';
import { parseFloor, resultsTsv, summaryText, verdict, type Outcome } from './report.js';
import { PARTIAL_OUT, runScope } from './scope.js';
import { startServe, type ServeChild } from './serve-child.js';

const USAGE = `Usage: npm run conformance -- [options]
  --suites GLOB,...        only these suites (e.g. "Read1*,Inquiry"); default all
  --stall-timeout SEC      kill iscsi-test-cu after SEC without output (default 30; a
                           personality whose tests sleep longer allows more, see plan.ts)
  --total-timeout SEC      start nothing after SEC; the rest is notrun (default 1200)
  --iscsi-test-cu PATH     the client (default: iscsi-test-cu from PATH)
  --out DIR                where results go (default conformance/ in the package;
                           for a partial run conformance/raw/partial/)
`;

const INITIATOR_1 = 'iqn.2026-11.org.vtcam:conformance-1';
const INITIATOR_2 = 'iqn.2026-11.org.vtcam:conformance-2';
/** Scratch image per personality: sparse, so only what the tests write takes space. */
const IMAGE_SIZE = '256M';
const CAP_PER_INVOCATION_MS = 300_000;
const READY_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 30_000;

const ROOT = resolve(fileURLToPath(new URL('../../..', import.meta.url)));

interface Options {
  readonly suites: readonly RegExp[] | undefined;
  readonly suitesText: string | undefined;
  readonly stallMs: number;
  readonly totalMs: number;
  readonly client: string;
  /** --out; undefined leaves it to the run's scope (scope.ts). */
  readonly out: string | undefined;
}

function seconds(name: string, text: string | undefined, def: number): number | string {
  if (text === undefined) return def * 1000;
  const n = Number(text);
  return /^\d+$/.test(text) && n >= 1 && n <= 86_400 ? n * 1000 : `--${name} must be whole seconds in 1..86400, got '${text}'`;
}

function parseOptions(argv: readonly string[]): Options | string {
  let v;
  try {
    v = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        suites: { type: 'string' },
        'stall-timeout': { type: 'string' },
        'total-timeout': { type: 'string' },
        'iscsi-test-cu': { type: 'string' },
        out: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }).values;
  } catch (e) {
    return e instanceof Error ? e.message : String(e);
  }
  if (v.help === true) return USAGE;
  const stallMs = seconds('stall-timeout', v['stall-timeout'], 30);
  if (typeof stallMs === 'string') return stallMs;
  const totalMs = seconds('total-timeout', v['total-timeout'], 1200);
  if (typeof totalMs === 'string') return totalMs;
  const suites = v.suites?.split(',').filter((g) => g !== '').map((g) => new RegExp(`^${g.split('*').map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`));
  return { suites, suitesText: v.suites, stallMs, totalMs, client: v['iscsi-test-cu'] ?? 'iscsi-test-cu', out: v.out === undefined ? undefined : resolve(v.out) };
}

function packageVersion(pkg: string): string | undefined {
  const r = spawnSync('dpkg-query', ['-W', '-f=${Version}', pkg], { encoding: 'utf8' });
  return r.status === 0 && r.stdout !== '' ? r.stdout : undefined;
}

/** The personalities whose tests may be silent longer than the run's stall timeout, for the summary: " (slow: 90 s)". */
function allowances(ran: readonly Personality[], stallMs: number): string {
  const longer = ran.filter((p) => stallMsFor(p, stallMs) > stallMs).map((p) => `${p.name}: ${stallMsFor(p, stallMs) / 1000} s`);
  return longer.length === 0 ? '' : ` (${longer.join(', ')})`;
}

const serveArgs = (p: Personality, image: string): string[] => [
  join(ROOT, 'dist/cli/main.js'), 'serve', '--address', '127.0.0.1', '--port', '0', '--target-name', DEFAULT_TARGET_NAME, '--image', image, '--size', IMAGE_SIZE, ...p.flags,
];

async function main(argv: readonly string[]): Promise<number> {
  const opts = parseOptions(argv);
  if (typeof opts === 'string') {
    if (opts === USAGE) {
      process.stdout.write(USAGE);
      return 0;
    }
    process.stderr.write(`conformance: ${opts}\n${USAGE}`);
    return 2;
  }
  if (!existsSync(join(ROOT, 'dist/cli/main.js'))) {
    process.stderr.write('conformance: dist/cli/main.js is missing; run `npm run build` (npm run conformance does)\n');
    return 2;
  }
  const listed = spawnSync(opts.client, ['--list'], { encoding: 'utf8' });
  if (listed.error !== undefined) {
    process.stderr.write(`conformance: cannot run ${opts.client} (${listed.error.message}); install it: apt-get install -y libiscsi-bin\n`);
    return 2;
  }
  const all = parseTestList(listed.stdout);
  const tests = all.filter((t) => opts.suites?.some((re) => re.test(t.suite)) ?? true);
  if (tests.length === 0) {
    process.stderr.write(`conformance: no tests to run (${opts.client} --list printed ${listed.stdout.length} bytes; --suites matched nothing?)\n`);
    return 2;
  }
  const floorFile = join(ROOT, 'conformance/expected.json');
  const committed = parseFloor(existsSync(floorFile) ? readFileSync(floorFile, 'utf8') : '{}');
  if (typeof committed === 'string') {
    process.stderr.write(`conformance: ${floorFile}: ${committed}\n`);
    return 2;
  }
  const { partial, out, floor } = runScope(tests.length, all.length, opts.out, ROOT, committed);

  // stdbuf makes the client's stdout line-buffered: the stall watchdog then sees
  // progress as it happens, and a crash loses nothing of what was printed.
  const hasStdbuf = spawnSync('stdbuf', ['--version']).status === 0;
  const client: readonly [string, ...string[]] = hasStdbuf ? ['stdbuf', '-oL', '-eL', opts.client] : [opts.client];
  const options = ['--dataloss', '--allow-sanitize', '-V', `--initiator-name=${INITIATOR_1}`, `--initiator-name-2=${INITIATOR_2}`];
  // Before anything runs: a folder that cannot take the results would otherwise fail only after the whole run.
  const badOut = prepareOutDir(out);
  if (badOut !== undefined) {
    process.stderr.write(`conformance: --out: ${badOut}\n`);
    return 2;
  }
  const raw = join(out, 'raw');
  rmSync(raw, { recursive: true, force: true });
  mkdirSync(raw, { recursive: true });
  writeFileSync(join(raw, 'list.txt'), listed.stdout);
  const scratch = mkdtempSync(join(tmpdir(), 'vtcam-conformance-'));
  let current: ServeChild | undefined;
  // Read through a call: the callbacks below replace `current` while an invocation runs.
  const running = (): ServeChild | undefined => current;
  // Every client and serve from its spawn on, a serve still starting included: an interrupted run leaves none behind.
  const children = new LiveChildren();
  const stopHandling = stopAllOnSignal(children, () => {
    rmSync(scratch, { recursive: true, force: true });
  });

  // The plan first: once the progress line is drawn, nothing else goes to the terminal until the end.
  const plan = PERSONALITIES.map((p) => ({ p, mine: tests.filter((t) => personalityOf(t).name === p.name) })).filter((x) => x.mine.length > 0);
  for (const { p, mine } of plan) process.stdout.write(`${`${p.name}:`.padEnd(11)} ${String(mine.length).padStart(3)} tests, ${['vtcam serve', ...p.flags].join(' ')}${p.secondPath ? ' (two sessions)' : ''}\n`);
  const started = new Date();
  const deadline = Date.now() + opts.totalMs;
  const outcomes: Outcome[] = [];
  const incidents: Incident[] = [];
  const progress = createProgress(tests.length, 'conformance');
  let invocations = 0;
  try {
    for (const { p, mine } of plan) {
      const byKey = new Map<string, TestId>(mine.map((t) => [testKey(t), t]));
      const serveLog = join(raw, `serve-${p.name}.log`);
      const start = async (): Promise<ServeChild | undefined> => {
        const s = await startServe({
          command: process.execPath,
          args: serveArgs(p, join(scratch, `${p.name}.img`)),
          log: (text) => {
            appendFileSync(serveLog, text);
          },
          readyTimeoutMs: READY_TIMEOUT_MS,
          onSpawn: (child) => {
            children.add(child);
          },
        });
        if ('error' in s) {
          incidents.push({ pattern: `serve (${p.name})`, what: s.error });
          return undefined;
        }
        return s;
      };
      current = await start();
      const ctx: RunContext = {
        client,
        options,
        stallMs: stallMsFor(p, opts.stallMs),
        capMs: CAP_PER_INVOCATION_MS,
        deadline,
        targets: () => (current === undefined ? [] : p.secondPath ? [current.url, current.url] : [current.url]),
        onSpawn: (child) => {
          children.add(child, true);
        },
        record: (pattern, exit) => {
          invocations++;
          writeFileSync(join(raw, `${String(invocations).padStart(3, '0')}-${p.name}-${pattern.replace(/[^A-Za-z0-9_.-]/g, '_')}.txt`), exit.output);
        },
        onOutcome: (o) => {
          progress.tick(`${p.name} ${o.key} ${o.status}`);
        },
        // A target that hung or lost a client may be wedged: the rest runs against a fresh one on the same image.
        afterAbnormalEnd: async () => {
          const problem = await current?.stop(STOP_TIMEOUT_MS);
          if (problem !== undefined) incidents.push({ pattern: `serve (${p.name})`, what: problem });
          current = await start();
        },
      };
      for (const inv of invocationsFor(tests, mine)) {
        const keys = inv.tests.map(testKey);
        if (running() === undefined) {
          for (const t of inv.tests) {
            outcomes.push({ id: t, personality: p.name, status: 'notrun', note: 'vtcam serve is not running (see incidents)' });
            progress.tick(`${p.name} ${testKey(t)} notrun`);
          }
          continue;
        }
        const r = await runInvocation(inv.pattern, keys, ctx);
        for (const o of r.outcomes) {
          const id = byKey.get(o.key);
          if (id !== undefined) outcomes.push({ id, personality: p.name, status: o.status, note: o.note });
        }
        incidents.push(...r.incidents);
        const died = running()?.died();
        if (died !== undefined) {
          incidents.push({ pattern: inv.pattern, what: died });
          current = await start();
        }
      }
      const problem = await current?.stop(STOP_TIMEOUT_MS);
      if (problem !== undefined) incidents.push({ pattern: `serve (${p.name})`, what: problem });
      current = undefined;
    }
  } finally {
    stopHandling();
    rmSync(scratch, { recursive: true, force: true });
  }
  progress.done();

  // In list order, whatever order the personalities ran in.
  const order = new Map(tests.map((t, i) => [testKey(t), i]));
  outcomes.sort((a, b) => (order.get(testKey(a.id)) ?? 0) - (order.get(testKey(b.id)) ?? 0));
  const version = packageVersion('libiscsi-bin');
  const header = [
    'vtcam conformance: libiscsi iscsi-test-cu against vtcam serve',
    `client:      ${opts.client}${version === undefined ? '' : ` (libiscsi-bin ${version})`}${hasStdbuf ? ', line-buffered by stdbuf' : ''}`,
    `options:     ${options.join(' ')}`,
    `started:     ${started.toISOString()}, ${Math.round((Date.now() - started.getTime()) / 1000)} s, ${invocations} invocations`,
    `watchdog:    ${opts.stallMs / 1000} s without output${allowances(plan.map((x) => x.p), opts.stallMs)}, ${CAP_PER_INVOCATION_MS / 1000} s per invocation, ${opts.totalMs / 1000} s in all`,
  ];
  if (opts.suitesText !== undefined) {
    header.push(`suites:      ${opts.suitesText} (${partial ? `a partial run, ${tests.length} of ${all.length} tests: the floor of ${committed.minPassed} is not applied, every selected test must run` : 'every test: a full run'})`);
  }
  const summary = summaryText({ outcomes, incidents, floor, header, personalities: PERSONALITIES });
  writeFileSync(join(out, 'results.tsv'), resultsTsv(outcomes));
  writeFileSync(join(out, 'summary.txt'), summary);
  const head = summary.split('\n\n')[1] ?? '';
  const where = partial && opts.out === undefined ? ` (a partial run: ${PARTIAL_OUT}/, the committed conformance/results.tsv and summary.txt untouched)` : '';
  process.stdout.write(`${head}\nfull summary: ${join(out, 'summary.txt')}${where}\n`);
  return verdict(outcomes, incidents, floor).length === 0 ? 0 : 1;
}

process.exitCode = await main(process.argv.slice(2));
