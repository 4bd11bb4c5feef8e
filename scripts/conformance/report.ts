// What a conformance run leaves behind: results.tsv (one line per test,
// `FAMILY.Suite.Test<TAB>status`, the layout other libiscsi result tables
// use, so they can be compared line by line), summary.txt (counts per
// personality and suite, every failed, not run and skipped test with why), and
// the verdict against the committed floor in expected.json.

import type { FinalStatus, Incident } from './invoke.js';
import { fullName, type TestId } from './plan.js';

export interface Outcome {
  readonly id: TestId;
  readonly personality: string;
  readonly status: FinalStatus;
  readonly note: string;
}

/** expected.json: the fewest passed tests a run may have. */
export interface Floor {
  readonly minPassed: number;
}

export function parseFloor(text: string): Floor | string {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    return `not JSON: ${e instanceof Error ? e.message : String(e)}`;
  }
  if (typeof v !== 'object' || v === null || !('minPassed' in v)) return 'needs {"minPassed": N}';
  const n = v.minPassed;
  return typeof n === 'number' && Number.isInteger(n) && n >= 0 ? { minPassed: n } : `minPassed must be an integer >= 0, got ${JSON.stringify(n)}`;
}

const STATUSES: readonly FinalStatus[] = ['passed', 'failed', 'skipped', 'notrun'];
/** Room for the longest personality label (its serve flags) in the tables. */
const LABEL_WIDTH = 52;

type Counts = Record<FinalStatus, number>;

function count(outcomes: readonly Outcome[]): Counts {
  const c: Counts = { passed: 0, failed: 0, skipped: 0, notrun: 0 };
  for (const o of outcomes) c[o.status]++;
  return c;
}

function groupBy(outcomes: readonly Outcome[], key: (o: Outcome) => string): Map<string, Outcome[]> {
  const m = new Map<string, Outcome[]>();
  for (const o of outcomes) {
    const k = key(o);
    const list = m.get(k);
    if (list === undefined) m.set(k, [o]);
    else list.push(o);
  }
  return m;
}

export function resultsTsv(outcomes: readonly Outcome[]): string {
  return outcomes.map((o) => `${fullName(o.id)}\t${o.status}\n`).join('');
}

/**
 * The run's verdict: problems that make it fail (empty when it passes). A
 * partial run (`floor` undefined) is not held to the floor, which counts the
 * whole suite, but every test it selected must have run.
 */
export function verdict(outcomes: readonly Outcome[], incidents: readonly Incident[], floor: Floor | undefined): string[] {
  const problems: string[] = [];
  const { passed, notrun } = count(outcomes);
  if (floor !== undefined && passed < floor.minPassed) problems.push(`${passed} tests passed, below the floor of ${floor.minPassed} in expected.json`);
  if (floor === undefined && notrun > 0) problems.push(`${notrun} of the ${outcomes.length} selected tests not run (a partial run passes only when every test it selected ran)`);
  if (incidents.length > 0) problems.push(`${incidents.length} incident(s): a client or the target crashed, hung or could not start (see summary.txt)`);
  return problems;
}

export interface SummaryInfo {
  readonly outcomes: readonly Outcome[];
  readonly incidents: readonly Incident[];
  /** expected.json's floor; undefined for a partial run (--suites selecting less than the whole list). */
  readonly floor: Floor | undefined;
  /** Header lines: client version, options, timing. */
  readonly header: readonly string[];
  /** The personalities in run order: serve flags, and whether the client opened two sessions. */
  readonly personalities: readonly { readonly name: string; readonly flags: readonly string[]; readonly secondPath?: boolean }[];
}

function row(name: string, width: number, c: Counts, total: number): string {
  return `${name.padEnd(width)} ${String(total).padStart(5)} ${STATUSES.map((s) => String(c[s]).padStart(7)).join(' ')}`;
}

export function summaryText(info: SummaryInfo): string {
  const { outcomes } = info;
  const all = count(outcomes);
  const out: string[] = [...info.header, ''];
  out.push(`tests ${outcomes.length}: passed ${all.passed}, failed ${all.failed}, skipped ${all.skipped}, notrun ${all.notrun}`);
  const problems = verdict(outcomes, info.incidents, info.floor);
  const { floor } = info;
  out.push(floor === undefined ? 'floor: not applied (partial run)' : `floor: minPassed ${floor.minPassed} (conformance/expected.json): ${all.passed >= floor.minPassed ? 'met' : 'NOT MET'}`);
  out.push(`verdict: ${problems.length === 0 ? 'PASS' : `FAIL (${problems.join('; ')})`}`);
  out.push('');
  const header = `${'tests'.padStart(5)} ${STATUSES.map((s) => s.padStart(7)).join(' ')}`;
  const byPersonality = groupBy(outcomes, (o) => o.personality);
  out.push(`${'personality'.padEnd(LABEL_WIDTH)} ${header}`);
  for (const p of info.personalities) {
    const list = byPersonality.get(p.name) ?? [];
    const label = `${p.name} (${p.flags.length === 0 ? 'no flags' : p.flags.join(' ')}${p.secondPath === true ? ', two sessions' : ''})`;
    out.push(row(label, LABEL_WIDTH, count(list), list.length));
  }
  out.push('');
  out.push(`${'suite'.padEnd(LABEL_WIDTH)} ${header}`);
  for (const [suite, list] of groupBy(outcomes, (o) => `${o.id.family}.${o.id.suite}`)) out.push(row(suite, LABEL_WIDTH, count(list), list.length));
  out.push('');
  out.push(`incidents (${info.incidents.length}):`);
  for (const i of info.incidents) out.push(`  ${i.pattern}: ${i.what}`);
  for (const status of ['failed', 'notrun', 'skipped'] as const) {
    const list = outcomes.filter((o) => o.status === status);
    out.push('');
    out.push(`${status} (${list.length}):`);
    for (const o of list) out.push(`  ${fullName(o.id).padEnd(52)} [${o.personality}] ${o.note}`);
  }
  return `${out.join('\n')}\n`;
}
