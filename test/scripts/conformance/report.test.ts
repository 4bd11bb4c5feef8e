// results.tsv, summary.txt and the verdict against expected.json.

import { describe, expect, test } from 'vitest';
import { parseFloor, resultsTsv, summaryText, verdict, type Outcome } from '../../../scripts/conformance/report.js';

const o = (suite: string, t: string, personality: string, status: Outcome['status'], note = ''): Outcome => ({ id: { family: 'SCSI', suite, test: t }, personality, status, note });

const OUTCOMES: readonly Outcome[] = [
  o('Inquiry', 'Standard', 'default', 'passed'),
  o('Inquiry', 'BlockLimits', 'thin', 'passed'),
  o('Read10', 'Simple', 'default', 'failed', '[FAILED] READ10 returned CHECK CONDITION'),
  o('ExtendedCopy', 'Simple', 'default', 'skipped', '[SKIPPED] EXTENDEDCOPY is not implemented.'),
  o('ReadOnly', 'ReadOnlySBC', 'read-only', 'notrun', 'vtcam serve is not running (see incidents)'),
];

describe('parseFloor', () => {
  test('a committed floor', () => {
    expect(parseFloor('{"minPassed": 150}')).toEqual({ minPassed: 150 });
    expect(parseFloor('{ "minPassed": 0 }\n')).toEqual({ minPassed: 0 });
  });

  test.each([
    ['', /^not JSON/],
    ['{}', /needs \{"minPassed": N\}/],
    ['[]', /needs \{"minPassed": N\}/],
    ['{"minPassed": -1}', /minPassed must be an integer >= 0, got -1/],
    ['{"minPassed": 1.5}', /got 1\.5/],
    ['{"minPassed": "150"}', /got "150"/],
  ])('%j is refused', (text, re) => {
    expect(parseFloor(text)).toMatch(re);
  });
});

describe('resultsTsv', () => {
  test('FAMILY.Suite.Test <TAB> status, one line each, in the given order', () => {
    expect(resultsTsv(OUTCOMES)).toBe(
      'SCSI.Inquiry.Standard\tpassed\nSCSI.Inquiry.BlockLimits\tpassed\nSCSI.Read10.Simple\tfailed\nSCSI.ExtendedCopy.Simple\tskipped\nSCSI.ReadOnly.ReadOnlySBC\tnotrun\n',
    );
    expect(resultsTsv([])).toBe('');
  });
});

describe('verdict', () => {
  test('passes at the floor with no incidents', () => {
    expect(verdict(OUTCOMES, [], { minPassed: 2 })).toEqual([]);
  });

  test('fails below the floor', () => {
    expect(verdict(OUTCOMES, [], { minPassed: 3 })).toEqual(['2 tests passed, below the floor of 3 in expected.json']);
  });

  test('a partial run (no floor): passes when every selected test ran, whatever passed', () => {
    const ran = OUTCOMES.filter((x) => x.status !== 'notrun');
    expect(verdict(ran, [], undefined)).toEqual([]);
  });

  test('a partial run (no floor) fails when a selected test did not run', () => {
    expect(verdict(OUTCOMES, [], undefined)).toEqual(['1 of the 5 selected tests not run (a partial run passes only when every test it selected ran)']);
  });

  test('fails on any incident, whatever passed', () => {
    expect(verdict(OUTCOMES, [{ pattern: 'ALL.Read10', what: 'client died of SIGSEGV' }], { minPassed: 0 })).toEqual([
      '1 incident(s): a client or the target crashed, hung or could not start (see summary.txt)',
    ]);
  });
});

describe('summaryText', () => {
  const text = summaryText({
    outcomes: OUTCOMES,
    incidents: [{ pattern: 'serve (read-only)', what: 'vtcam serve exited with status 2 before it was ready' }],
    floor: { minPassed: 2 },
    header: ['HEADER LINE'],
    personalities: [
      { name: 'default', flags: [] },
      { name: 'thin', flags: ['--thin'] },
      { name: 'read-only', flags: ['--read-only'] },
      { name: 'multipath', flags: [], secondPath: true },
    ],
  });
  const lines = text.split('\n');

  test('totals, floor and verdict after the header', () => {
    expect(lines.slice(0, 5)).toEqual([
      'HEADER LINE',
      '',
      'tests 5: passed 2, failed 1, skipped 1, notrun 1',
      'floor: minPassed 2 (conformance/expected.json): met',
      'verdict: FAIL (1 incident(s): a client or the target crashed, hung or could not start (see summary.txt))',
    ]);
  });

  test('a row per personality (with its flags) and per suite', () => {
    expect(text).toContain(`${'default (no flags)'.padEnd(52)}     3       1       1       1       0`);
    expect(text).toContain(`${'thin (--thin)'.padEnd(52)}     1       1       0       0       0`);
    expect(text).toContain(`${'read-only (--read-only)'.padEnd(52)}     1       0       0       0       1`);
    expect(text).toContain(`${'multipath (no flags, two sessions)'.padEnd(52)}     0       0       0       0       0`);
    expect(text).toContain(`${'SCSI.Inquiry'.padEnd(52)}     2       2       0       0       0`);
  });

  test('incidents, then failed, notrun and skipped tests with personality and note', () => {
    const from = lines.indexOf('incidents (1):');
    expect(lines.slice(from)).toEqual([
      'incidents (1):',
      '  serve (read-only): vtcam serve exited with status 2 before it was ready',
      '',
      'failed (1):',
      `  ${'SCSI.Read10.Simple'.padEnd(52)} [default] [FAILED] READ10 returned CHECK CONDITION`,
      '',
      'notrun (1):',
      `  ${'SCSI.ReadOnly.ReadOnlySBC'.padEnd(52)} [read-only] vtcam serve is not running (see incidents)`,
      '',
      'skipped (1):',
      `  ${'SCSI.ExtendedCopy.Simple'.padEnd(52)} [default] [SKIPPED] EXTENDEDCOPY is not implemented.`,
      '',
    ]);
  });
});

describe('summaryText of a partial run', () => {
  test('says the floor is not applied, and fails on tests not run', () => {
    const lines = summaryText({ outcomes: OUTCOMES, incidents: [], floor: undefined, header: ['H'], personalities: [] }).split('\n');
    expect(lines.slice(2, 5)).toEqual([
      'tests 5: passed 2, failed 1, skipped 1, notrun 1',
      'floor: not applied (partial run)',
      'verdict: FAIL (1 of the 5 selected tests not run (a partial run passes only when every test it selected ran))',
    ]);
  });
});
