// The CUnit output parser, on hand-written samples of what iscsi-test-cu -V
// prints (fixtures/): results, notes, the run summary, a run cut short, and
// output arriving in arbitrary pieces.

import { readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { CunitParser, parseCunit, type CunitTestResult } from '../../../scripts/conformance/cunit.js';

const fixture = (name: string): string => readFileSync(new URL(`fixtures/${name}`, import.meta.url), 'utf8');

const COMPLETE: readonly CunitTestResult[] = [
  { suite: 'Inquiry', test: 'Standard', status: 'passed', note: '' },
  { suite: 'Inquiry', test: 'AllocLength', status: 'passed', note: '' },
  { suite: 'Inquiry', test: 'BlockLimits', status: 'skipped', note: '[SKIPPED] Logical unit is fully provisioned. Skipping test' },
  {
    suite: 'ReadCapacity16',
    test: 'Simple',
    status: 'failed',
    note: '[FAILED] READCAPACITY16 command failed : SENSE KEY:ILLEGAL_REQUEST(5) ASCQ:INVALID_OPERATION_CODE(0x2000)',
  },
  // No [FAILED] line: the first assertion, without the log line glued after it.
  { suite: 'ReadCapacity16', test: 'Alloclen', status: 'failed', note: 'assertion test_readcapacity16_alloclen.c:35  - CU_ASSERT_EQUAL(ret,0)' },
  // A log line glued to "Test: X ..." (no blank line first) still counts.
  { suite: 'ReadCapacity16', test: 'Protection', status: 'skipped', note: '[SKIPPED] Logical unit does not support protection information' },
  // Newer libiscsi puts a timestamp before the text.
  { suite: 'StartStopUnit', test: 'Simple', status: 'skipped', note: '[SKIPPED] Media is not removable.' },
  // A test that skipped part of itself and then failed is failed.
  { suite: 'StartStopUnit', test: 'PwrCnd', status: 'failed', note: '[FAILED] STARTSTOPUNIT returned GOOD, expected CHECK CONDITION' },
];

describe('parseCunit', () => {
  test('a complete run: every test with status and note, and the summary', () => {
    const run = parseCunit(fixture('cunit-complete.txt'));
    expect(run.started).toBe(true);
    expect(run.results).toEqual(COMPLETE);
    expect(run.summary).toEqual({ total: 8, ran: 8, passed: 5, failed: 3, inactive: 0 });
  });

  test('a run cut short: the test that was running is incomplete, with the last line it printed', () => {
    const run = parseCunit(fixture('cunit-crashed.txt'));
    expect(run.started).toBe(true);
    expect(run.summary).toBeUndefined();
    expect(run.results).toEqual([
      { suite: 'PreventAllow', test: 'Simple', status: 'passed', note: '' },
      { suite: 'PreventAllow', test: 'Eject', status: 'incomplete', note: 'Send PREVENTALLOW with PREVENT=1' },
    ]);
  });

  test('a client that never got to CUnit: not started, no results', () => {
    const run = parseCunit('Login Failed. iscsi_service failed with : iscsi_service_reconnect_if_loggedin. Can not reconnect right now.\n\nFailed to connect to SCSI device 0\n');
    expect(run).toEqual({ started: false, results: [], summary: undefined });
  });

  test('a test whose result token is the last thing printed, without a newline', () => {
    const run = parseCunit('Suite: Read10\n  Test: Simple ...\n    reading\npassed');
    expect(run.results).toEqual([{ suite: 'Read10', test: 'Simple', status: 'passed', note: '' }]);
  });

  test('newer CUnit prints SKIPPED as the result token', () => {
    expect(parseCunit('Suite: A\n  Test: B ...SKIPPED\n').results).toEqual([{ suite: 'A', test: 'B', status: 'skipped', note: '' }]);
  });

  test('log lines that only mention a result are not results', () => {
    const run = parseCunit('Suite: A\n  Test: B ...\n    passed the first check\n    FAILED is what we expect next\n');
    expect(run.results).toEqual([{ suite: 'A', test: 'B', status: 'incomplete', note: 'FAILED is what we expect next' }]);
  });

  test('a test that gave up when it could not log in again is failed, with the target\'s answer, whichever stream printed first', () => {
    // What Sanitize.Reset printed against a unit whose sanitize had failed (31h/03h): the client's
    // login helper writes "Login Failed." on stderr, the test its own line on stdout, then CUnit "passed".
    const tail = '    Reconnect to target\n';
    const loginFailed = 'Login Failed. SENSE KEY:(null)(3) ASCQ:(null)(0x3103)\n';
    const gaveUp = '    Failed to login to target\n';
    const note = 'logging in again failed, so the checks after it never ran: Login Failed. SENSE KEY:(null)(3) ASCQ:(null)(0x3103)';
    for (const body of [loginFailed + gaveUp, gaveUp + loginFailed]) {
      expect(parseCunit(`Suite: Sanitize\n  Test: Reset ...\n${tail}${body}passed\n`).results).toEqual([{ suite: 'Sanitize', test: 'Reset', status: 'failed', note }]);
    }
    // Without the client's line (older libiscsi, or stderr lost): the test's own words.
    expect(parseCunit(`Suite: A\n  Test: B ...\n${gaveUp}passed\n`).results).toEqual([
      { suite: 'A', test: 'B', status: 'failed', note: 'logging in again failed, so the checks after it never ran: Failed to login to target' },
    ]);
    // A login that failed and was retried successfully by the test is no failure; nor is the same text mid-line.
    expect(parseCunit(`Suite: A\n  Test: B ...\n${loginFailed}    retrying: Failed to login to target is what we avoid\npassed\n`).results).toEqual([{ suite: 'A', test: 'B', status: 'passed', note: '' }]);
    // A CUnit failure keeps its own note: the first assertion.
    expect(parseCunit(`Suite: A\n  Test: B ...\n${gaveUp}FAILED\n    1. test_b.c:10  - CU_ASSERT_EQUAL(ret,0)\n`).results).toEqual([
      { suite: 'A', test: 'B', status: 'failed', note: 'assertion test_b.c:10  - CU_ASSERT_EQUAL(ret,0)' },
    ]);
  });

  test('CRLF line ends', () => {
    expect(parseCunit('Suite: A\r\n  Test: B ...\r\n    [SKIPPED] no\r\npassed\r\n').results).toEqual([{ suite: 'A', test: 'B', status: 'skipped', note: '[SKIPPED] no' }]);
  });
});

describe('CunitParser, fed in pieces', () => {
  test('any split of the output gives the same results, each reported once as it completes', () => {
    const text = fixture('cunit-complete.txt');
    for (const size of [1, 3, 7, 64, 4096]) {
      const seen: string[] = [];
      const p = new CunitParser((r) => seen.push(`${r.suite}.${r.test}:${r.status}`));
      for (let i = 0; i < text.length; i += size) p.push(text.slice(i, i + size));
      const run = p.end();
      expect(run.results).toEqual(COMPLETE);
      expect(seen).toEqual(COMPLETE.map((r) => `${r.suite}.${r.test}:${r.status}`));
    }
  });

  test('a result is reported when its line ends, before end()', () => {
    const seen: string[] = [];
    const p = new CunitParser((r) => seen.push(r.test));
    p.push('Suite: A\n  Test: B ...\n    log\npass');
    expect(seen).toEqual([]);
    p.push('ed\n  Test: C ...');
    expect(seen).toEqual(['B']);
    expect(p.end().results.map((r) => [r.test, r.status])).toEqual([
      ['B', 'passed'],
      ['C', 'incomplete'],
    ]);
  });
});
