// The test inventory (`iscsi-test-cu --list`), which personality runs each
// test, and how a personality's tests become invocations.

import { describe, expect, test } from 'vitest';
import { PERSONALITIES, fullName, invocationsFor, parseTestList, personalityOf, stallMsFor, testKey, type Personality, type TestId } from '../../../scripts/conformance/plan.js';

// The shape of --list output: FAMILY, FAMILY.Suite, FAMILY.Suite.Test; ALL
// first, then SCSI and iSCSI, then LINUX repeating some suites.
const LIST = `ALL
ALL.Inquiry
ALL.Inquiry.Standard
ALL.Inquiry.BlockLimits
ALL.ReadOnly
ALL.ReadOnly.ReadOnlySBC
ALL.Unmap
ALL.Unmap.Simple
ALL.Unmap.VPD
ALL.WriteSame10
ALL.WriteSame10.Simple
ALL.WriteSame10.Unmap
ALL.WriteSame10.UnmapUntilEnd
ALL.WriteSame10.UnmapUnaligned
ALL.WriteSame10.InvalidDataOutSize
ALL.WriteSame16
ALL.WriteSame16.UnmapUnaligned
ALL.WriteSame16.InvalidDataOutSize
ALL.GetLBAStatus
ALL.GetLBAStatus.Simple
ALL.GetLBAStatus.UnmapSingle
ALL.CompareAndWrite
ALL.CompareAndWrite.InvalidDataOutSize
ALL.NoMedia
ALL.NoMedia.NoMediaSBC
ALL.PreventAllow
ALL.PreventAllow.Eject
ALL.StartStopUnit
ALL.StartStopUnit.NoLoej
ALL.iSCSIcmdsn
ALL.iSCSIcmdsn.iSCSICmdSnTooHigh
ALL.MultipathIO
ALL.MultipathIO.Simple
ALL.Sanitize
ALL.Sanitize.Overwrite
ALL.Sanitize.Reset
SCSI
SCSI.Inquiry
SCSI.Inquiry.Standard
SCSI.Inquiry.BlockLimits
SCSI.ReadOnly
SCSI.Unmap
SCSI.WriteSame10
SCSI.WriteSame16
SCSI.GetLBAStatus
SCSI.CompareAndWrite
SCSI.NoMedia
SCSI.PreventAllow
SCSI.StartStopUnit
SCSI.MultipathIO
SCSI.Sanitize
iSCSI
iSCSI.iSCSIcmdsn
iSCSI.iSCSIcmdsn.iSCSICmdSnTooHigh
LINUX
LINUX.Inquiry
LINUX.Inquiry.Standard
`;

const tests = parseTestList(LIST);
const byKey = (key: string): TestId => {
  const t = tests.find((x) => testKey(x) === key);
  if (t === undefined) throw new Error(`${key} is not in the sample list`);
  return t;
};

describe('parseTestList', () => {
  test('the ALL family in order, each suite with its SCSI or iSCSI family', () => {
    expect(tests).toHaveLength(22);
    expect(tests[0]).toEqual({ family: 'SCSI', suite: 'Inquiry', test: 'Standard' });
    expect(fullName(byKey('iSCSIcmdsn.iSCSICmdSnTooHigh'))).toBe('iSCSI.iSCSIcmdsn.iSCSICmdSnTooHigh');
    expect(tests.map(testKey).slice(0, 3)).toEqual(['Inquiry.Standard', 'Inquiry.BlockLimits', 'ReadOnly.ReadOnlySBC']);
  });

  test('nothing listed, nothing parsed; a suite no other family lists keeps ALL', () => {
    expect(parseTestList('')).toEqual([]);
    expect(parseTestList('Login Failed.\n')).toEqual([]);
    expect(parseTestList('ALL.Foo.Bar\n')).toEqual([{ family: 'ALL', suite: 'Foo', test: 'Bar' }]);
  });
});

describe('personalityOf', () => {
  test.each([
    ['Inquiry.Standard', 'default'],
    ['Inquiry.BlockLimits', 'thin'],
    ['Unmap.Simple', 'thin'],
    ['Unmap.VPD', 'thin'],
    ['WriteSame10.Simple', 'default'],
    ['WriteSame10.Unmap', 'thin'],
    ['WriteSame10.UnmapUntilEnd', 'thin'],
    ['WriteSame10.UnmapUnaligned', 'thin-4k'],
    ['WriteSame10.InvalidDataOutSize', 'thin-4k'],
    ['WriteSame16.UnmapUnaligned', 'thin-4k'],
    ['GetLBAStatus.Simple', 'default'],
    ['GetLBAStatus.UnmapSingle', 'thin'],
    ['CompareAndWrite.InvalidDataOutSize', 'thin-4k'],
    ['ReadOnly.ReadOnlySBC', 'read-only'],
    ['NoMedia.NoMediaSBC', 'removable'],
    ['PreventAllow.Eject', 'removable'],
    ['StartStopUnit.NoLoej', 'removable'],
    ['MultipathIO.Simple', 'multipath'],
    ['Sanitize.Reset', 'slow'],
    ['Sanitize.Overwrite', 'default'],
    ['iSCSIcmdsn.iSCSICmdSnTooHigh', 'default'],
  ])('%s runs on %s', (key, name) => {
    expect(personalityOf(byKey(key)).name).toBe(name);
  });

  test('every glob of the table claims a test of the sample, so none is a typo', () => {
    const fallback = PERSONALITIES.find((p) => p.name === 'default') as Personality;
    for (const p of PERSONALITIES) {
      for (const g of p.tests) {
        const onlyG = { ...p, tests: [g] };
        expect(tests.some((t) => personalityOf(t, [onlyG, fallback]) === onlyG), `${p.name}: ${g}`).toBe(true);
      }
    }
  });

  test('a table without the default personality is a programming error', () => {
    const thin = PERSONALITIES.find((p) => p.name === 'thin') as Personality;
    expect(() => personalityOf(byKey('Inquiry.Standard'), [thin])).toThrow(/no 'default' entry/);
  });

  test('only the multipath personality gives two paths; flags are serve flags', () => {
    expect(PERSONALITIES.filter((p) => p.secondPath).map((p) => p.name)).toEqual(['multipath']);
    expect(Object.fromEntries(PERSONALITIES.map((p) => [p.name, p.flags]))).toEqual({
      default: [],
      'thin-4k': ['--thin', '--physical-block-size', '4096'],
      thin: ['--thin'],
      'read-only': ['--read-only', '--thin'],
      removable: ['--removable', '--thin'],
      slow: ['--max-bandwidth', '12M'],
      multipath: [],
    });
  });

  test('only the slow personality may be silent longer than the default 30 s: 90 s, for Sanitize.Reset\'s 60 s sleeps', () => {
    expect(PERSONALITIES.filter((p) => p.stallMs !== undefined).map((p) => [p.name, p.stallMs])).toEqual([['slow', 90_000]]);
    const slow = personalityOf(byKey('Sanitize.Reset'));
    const other = personalityOf(byKey('Sanitize.Overwrite'));
    expect(stallMsFor(slow, 30_000)).toBe(90_000);
    expect(stallMsFor(other, 30_000)).toBe(30_000);
    // A run's --stall-timeout longer than the allowance wins.
    expect(stallMsFor(slow, 120_000)).toBe(120_000);
    expect(stallMsFor(other, 5_000)).toBe(5_000);
  });
});

describe('invocationsFor', () => {
  test('a whole suite is one ALL.Suite invocation; a shared suite runs test by test', () => {
    const thin = tests.filter((t) => personalityOf(t).name === 'thin');
    expect(invocationsFor(tests, thin).map((i) => [i.pattern, i.tests.map(testKey)])).toEqual([
      ['ALL.Inquiry.BlockLimits', ['Inquiry.BlockLimits']],
      ['ALL.Unmap', ['Unmap.Simple', 'Unmap.VPD']],
      ['ALL.WriteSame10.Unmap', ['WriteSame10.Unmap']],
      ['ALL.WriteSame10.UnmapUntilEnd', ['WriteSame10.UnmapUntilEnd']],
      ['ALL.GetLBAStatus.UnmapSingle', ['GetLBAStatus.UnmapSingle']],
    ]);
    const thin4k = tests.filter((t) => personalityOf(t).name === 'thin-4k');
    expect(invocationsFor(tests, thin4k).map((i) => [i.pattern, i.tests.map(testKey)])).toEqual([
      ['ALL.WriteSame10.UnmapUnaligned', ['WriteSame10.UnmapUnaligned']],
      ['ALL.WriteSame10.InvalidDataOutSize', ['WriteSame10.InvalidDataOutSize']],
      ['ALL.WriteSame16', ['WriteSame16.UnmapUnaligned', 'WriteSame16.InvalidDataOutSize']],
      ['ALL.CompareAndWrite', ['CompareAndWrite.InvalidDataOutSize']],
    ]);
  });

  test('a test given to a personality of its own out of a suite runs alone; the rest of the suite stays one test at a time on default', () => {
    const slow = tests.filter((t) => personalityOf(t).name === 'slow');
    expect(invocationsFor(tests, slow).map((i) => [i.pattern, i.tests.map(testKey)])).toEqual([['ALL.Sanitize.Reset', ['Sanitize.Reset']]]);
    const rest = tests.filter((t) => t.suite === 'Sanitize' && personalityOf(t).name === 'default');
    expect(invocationsFor(tests, rest).map((i) => i.pattern)).toEqual(['ALL.Sanitize.Overwrite']);
  });

  test('every test lands in exactly one invocation of exactly one personality', () => {
    const seen = PERSONALITIES.flatMap((p) => invocationsFor(tests, tests.filter((t) => personalityOf(t) === p)).flatMap((i) => i.tests.map(testKey)));
    expect([...seen].sort()).toEqual(tests.map(testKey).sort());
  });
});
