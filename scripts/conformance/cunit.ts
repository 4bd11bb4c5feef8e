// A parser for the verbose ("basic" run mode) output of CUnit as libiscsi's
// iscsi-test-cu prints it, fed as it arrives.
//
// What the stream looks like: CUnit writes "\nSuite: NAME" when a suite
// starts and "\n  Test: NAME ..." when a test starts, then the result token
// "passed" or "FAILED" (newer CUnit also "SKIPPED") with no newline of its
// own, a failure followed by "\n    1. file.c:LINE  - condition" lines. The
// test's own log lines, which -V makes plentiful, come between start and
// result, each "    text\n" (newer libiscsi puts a timestamp before text).
// So a result token is either glued to "..." or begins a line, and a log line
// never begins with one. libiscsi marks a feature the target does not offer
// with a "[SKIPPED]" log line while CUnit still says "passed"; such a test is
// reported as skipped here. Tests that log out or drop the connection and log
// in again (Sanitize.Reset, Reserve6.Logout, PreventAllow.ITNexusLoss, …)
// return early, without an assertion, when that login fails: they print
// "Failed to login to target" and CUnit says "passed" for checks that never
// ran. Such a test is failed here, noted with the client's "Login Failed."
// line (the target's reason) when it printed one.

export type CunitStatus = 'passed' | 'failed' | 'skipped' | 'incomplete';

export interface CunitTestResult {
  readonly suite: string;
  readonly test: string;
  /** `incomplete`: the test started and the output ended before its result (crash, kill). */
  readonly status: CunitStatus;
  /**
   * failed: the first "[FAILED]" log line, else the first failed assertion;
   * skipped: the first "[SKIPPED]" line; incomplete: the last line it printed.
   */
  readonly note: string;
}

/** CUnit's "tests" row of its Run Summary. */
export interface CunitSummary {
  readonly total: number;
  readonly ran: number;
  readonly passed: number;
  readonly failed: number;
  readonly inactive: number;
}

export interface CunitRun {
  /** The CUnit banner was printed: setup (login, device checks) succeeded and tests started. */
  readonly started: boolean;
  readonly results: readonly CunitTestResult[];
  readonly summary: CunitSummary | undefined;
}

const BANNER = 'CUnit - A unit testing framework';
const SUITE_RE = /^Suite: (.*)$/;
const TEST_RE = /^ {2}Test: (.*?) \.\.\.(.*)$/;
const RESULT_RE = /^(passed|FAILED|SKIPPED)/;
const ASSERTION_RE = /^ {4}1\. (.*?)(?: {4}.*)?$/;
const SUMMARY_TESTS_RE = /^\s*tests\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)/;
/** Newer libiscsi prefixes each log line with the local time. */
const TIMESTAMP_RE = /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+\s+/;
/** What a test logs (-V) when logging in again failed and it gives up (libiscsi test-tool). */
const RELOGIN_FAILED = 'Failed to login to target';
/** What the client's login helper prints, with the target's answer, when a login fails. */
const LOGIN_FAILED = 'Login Failed.';

const STATUS_OF: Readonly<Record<string, CunitStatus>> = { passed: 'passed', FAILED: 'failed', SKIPPED: 'skipped' };

function logText(raw: string): string {
  return raw.trim().replace(TIMESTAMP_RE, '');
}

interface Running {
  readonly suite: string;
  readonly test: string;
  skipNote: string | undefined;
  failNote: string | undefined;
  /** The test gave up after logging in again failed. */
  reloginFailed: boolean;
  /** The last "Login Failed." line, the reason a login failed (stderr: it may arrive before or after the above). */
  loginError: string | undefined;
  last: string;
}

/** Incremental parser: push() output as it arrives, end() when the process is gone. */
export class CunitParser {
  readonly #results: CunitTestResult[] = [];
  readonly #onResult: ((r: CunitTestResult) => void) | undefined;
  #partial = '';
  #started = false;
  #suite = '';
  #running: Running | undefined;
  /** The last test that failed, until its first assertion line has been seen. */
  #awaitingAssertion: { index: number; result: CunitTestResult } | undefined;
  #inSummary = false;
  #summary: CunitSummary | undefined;

  constructor(onResult?: (r: CunitTestResult) => void) {
    this.#onResult = onResult;
  }

  push(text: string): void {
    const lines = (this.#partial + text).split('\n');
    this.#partial = lines.pop() ?? '';
    for (const line of lines) this.#line(line.replace(/\r$/, ''));
  }

  /** Flushes the last line; a test still running is `incomplete`. */
  end(): CunitRun {
    if (this.#partial !== '') this.#line(this.#partial);
    this.#partial = '';
    if (this.#running !== undefined) this.#finish('incomplete');
    return { started: this.#started, results: [...this.#results], summary: this.#summary };
  }

  #line(line: string): void {
    if (line.includes(BANNER)) {
      this.#started = true;
      return;
    }
    const suite = SUITE_RE.exec(line);
    if (suite !== null) {
      if (this.#running !== undefined) this.#finish('incomplete');
      this.#suite = suite[1] ?? '';
      this.#awaitingAssertion = undefined;
      return;
    }
    const test = TEST_RE.exec(line);
    if (test !== null) {
      if (this.#running !== undefined) this.#finish('incomplete');
      this.#awaitingAssertion = undefined;
      this.#running = { suite: this.#suite, test: test[1] ?? '', skipNote: undefined, failNote: undefined, reloginFailed: false, loginError: undefined, last: '' };
      this.#afterStart(test[2] ?? '');
      return;
    }
    if (line.startsWith('Run Summary:')) {
      if (this.#running !== undefined) this.#finish('incomplete');
      this.#inSummary = true;
      return;
    }
    if (this.#inSummary) {
      const m = SUMMARY_TESTS_RE.exec(line);
      if (m !== null) {
        this.#summary = { total: Number(m[1]), ran: Number(m[2]), passed: Number(m[3]), failed: Number(m[4]), inactive: Number(m[5]) };
        this.#inSummary = false;
      }
      return;
    }
    if (this.#running !== undefined) {
      this.#afterStart(line);
      return;
    }
    const a = this.#awaitingAssertion;
    const assertion = a === undefined ? null : ASSERTION_RE.exec(line);
    if (a !== undefined && assertion !== null) {
      const note = a.result.note === '' ? `assertion ${assertion[1] ?? ''}` : a.result.note;
      this.#results[a.index] = { ...a.result, note };
      this.#awaitingAssertion = undefined;
    }
  }

  /** A line (or the rest of the "Test:" line) while a test runs: its result token or a log line. */
  #afterStart(text: string): void {
    const r = this.#running;
    if (r === undefined) return;
    const token = RESULT_RE.exec(text);
    if (token !== null) {
      this.#finish(STATUS_OF[token[1] ?? ''] ?? 'failed');
      return;
    }
    const msg = logText(text);
    if (msg === '') return;
    r.last = msg;
    if (msg.startsWith('[SKIPPED]')) r.skipNote ??= msg;
    if (msg.startsWith('[FAILED]')) r.failNote ??= msg;
    if (msg.startsWith(LOGIN_FAILED)) r.loginError = msg;
    if (msg.startsWith(RELOGIN_FAILED)) r.reloginFailed = true;
  }

  #finish(status: CunitStatus): void {
    const r = this.#running;
    if (r === undefined) return;
    this.#running = undefined;
    // CUnit says "passed" for a test that skipped itself, or gave up when it could not log in again; a failure stays a failure.
    const gaveUp = status === 'passed' && r.reloginFailed;
    const final: CunitStatus = gaveUp ? 'failed' : status === 'passed' && r.skipNote !== undefined ? 'skipped' : status;
    const why = gaveUp ? `logging in again failed, so the checks after it never ran: ${r.loginError ?? RELOGIN_FAILED}` : '';
    const note = final === 'failed' ? (r.failNote ?? why) : final === 'skipped' ? (r.skipNote ?? '') : final === 'incomplete' ? r.last : '';
    const result: CunitTestResult = { suite: r.suite, test: r.test, status: final, note };
    this.#results.push(result);
    if (final === 'failed') this.#awaitingAssertion = { index: this.#results.length - 1, result };
    this.#onResult?.(result);
  }
}

/** Parses a whole captured output. */
export function parseCunit(text: string): CunitRun {
  const p = new CunitParser();
  p.push(text);
  return p.end();
}
