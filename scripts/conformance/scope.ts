// Full run or partial run, and what follows from it. The committed results
// (conformance/results.tsv, summary.txt) and the floor in expected.json
// describe the whole suite: a run of some suites writes elsewhere by default,
// so it never replaces them, and is judged without the floor. What counts is
// what --suites selected, not whether it was given: `--suites '*'` is a full run.

import { join } from 'node:path';
import type { Floor } from './report.js';

/** Where a partial run writes when --out is not given: untracked, under the ignored raw/ folder. */
export const PARTIAL_OUT = 'conformance/raw/partial';

export interface RunScope {
  /** Fewer tests selected than iscsi-test-cu lists. */
  readonly partial: boolean;
  /** Where results.tsv, summary.txt and raw/ go. */
  readonly out: string;
  /** The floor the run is held to; undefined for a partial run. */
  readonly floor: Floor | undefined;
}

/**
 * The scope of a run of `selected` of the `listed` tests. `out` is --out when
 * given; `root` is the package folder.
 */
export function runScope(selected: number, listed: number, out: string | undefined, root: string, committed: Floor): RunScope {
  const partial = selected < listed;
  return {
    partial,
    out: out ?? join(root, partial ? PARTIAL_OUT : 'conformance'),
    floor: partial ? undefined : committed,
  };
}
