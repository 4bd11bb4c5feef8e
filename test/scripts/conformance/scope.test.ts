// Full run or partial run: what --suites selected decides where results go
// and whether the floor applies. A partial run used to overwrite the
// committed results.tsv and summary.txt and be held to a floor of 0, and
// `--suites '*'` (every test) skipped the floor.

import { describe, expect, test } from 'vitest';
import { PARTIAL_OUT, runScope } from '../../../scripts/conformance/scope.js';

const FLOOR = { minPassed: 218 };

describe('runScope', () => {
  test('every listed test selected (no --suites, or one matching all): a full run, the committed folder, the floor', () => {
    expect(runScope(230, 230, undefined, '/pkg', FLOOR)).toEqual({ partial: false, out: '/pkg/conformance', floor: FLOOR });
  });

  test('fewer tests selected: a partial run, written under the ignored raw/ folder, no floor', () => {
    expect(runScope(7, 230, undefined, '/pkg', FLOOR)).toEqual({ partial: true, out: `/pkg/${PARTIAL_OUT}`, floor: undefined });
    expect(PARTIAL_OUT).toBe('conformance/raw/partial');
  });

  test('--out is used as given, partial or not', () => {
    expect(runScope(7, 230, '/tmp/o', '/pkg', FLOOR)).toEqual({ partial: true, out: '/tmp/o', floor: undefined });
    expect(runScope(230, 230, '/tmp/o', '/pkg', FLOOR)).toEqual({ partial: false, out: '/tmp/o', floor: FLOOR });
  });
});
