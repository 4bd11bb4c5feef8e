// Which libiscsi tests run against which device personality, and in which
// iscsi-test-cu invocations. A test that checks a feature the unit does not
// offer skips itself ("[SKIPPED] Logical unit is fully provisioned"), so each
// such test runs against a `vtcam serve` that offers the feature; everything
// else runs against the default export. The globs below follow the checks in
// libiscsi's test-tool (CHECK_FOR_THIN_PROVISIONING, CHECK_FOR_LBPPB_GT_1,
// CHECK_FOR_READONLY, CHECK_FOR_REMOVABLE, and the MultipathIO tests' need
// for a second path), plus one test that needs time rather than a feature:
// Sanitize.Reset wants a sanitize still running seconds after it started.

/** One test as `iscsi-test-cu --list` names it. */
export interface TestId {
  /** SCSI or iSCSI: the family the suite is listed under besides ALL. */
  readonly family: string;
  readonly suite: string;
  readonly test: string;
}

/** `Suite.Test`, unique across the list. */
export const testKey = (t: TestId): string => `${t.suite}.${t.test}`;
/** `FAMILY.Suite.Test`, as results.tsv names it. */
export const fullName = (t: TestId): string => `${t.family}.${t.suite}.${t.test}`;

export interface Personality {
  readonly name: string;
  /** `vtcam serve` flags for it. */
  readonly flags: readonly string[];
  /** Give iscsi-test-cu the LUN's URL twice, so it opens two sessions (a second "path"). */
  readonly secondPath: boolean;
  /** `Suite.Test` globs (`*` only) of the tests it runs; the default personality takes all the rest. */
  readonly tests: readonly string[];
  /** For the summary and the README. */
  readonly purpose: string;
  /**
   * Milliseconds its tests may print nothing on purpose (a sleep between
   * polls): the stall watchdog waits this long for them when that is longer
   * than the run's --stall-timeout. Per personality rather than a higher
   * default, so a target that stops answering still costs the other tests
   * only the default.
   */
  readonly stallMs?: number;
}

export const DEFAULT_PERSONALITY = 'default';

export const PERSONALITIES: readonly Personality[] = [
  {
    name: DEFAULT_PERSONALITY,
    flags: [],
    secondPath: false,
    tests: [],
    purpose: 'what `vtcam serve` exports without flags: read-write, fully provisioned, not removable',
  },
  {
    // Before 'thin': the first personality whose globs match a test runs it.
    name: 'thin-4k',
    flags: ['--thin', '--physical-block-size', '4096'],
    secondPath: false,
    tests: [
      'WriteSame10.UnmapUnaligned',
      'WriteSame16.UnmapUnaligned',
      'WriteSame10.InvalidDataOutSize',
      'WriteSame16.InvalidDataOutSize',
      'CompareAndWrite.InvalidDataOutSize',
    ],
    purpose: 'thin-provisioned with 4 KiB physical blocks under 512-byte logical ones (LBPPB 8), for the tests that skip unless LBPPB > 1: unaligned unmaps, Data-Out size checks',
  },
  {
    name: 'thin',
    flags: ['--thin'],
    secondPath: false,
    tests: ['Unmap.*', 'WriteSame10.Unmap*', 'WriteSame16.Unmap*', 'GetLBAStatus.UnmapSingle', 'Inquiry.BlockLimits'],
    purpose: 'thin-provisioned (LBPME 1): UNMAP, WRITE SAME with UNMAP, GET LBA STATUS of unmapped blocks, the Block Limits VPD unmap fields',
  },
  {
    name: 'read-only',
    flags: ['--read-only', '--thin'],
    secondPath: false,
    tests: ['ReadOnly.*'],
    purpose: 'write-protected (WP 1) and thin, so UNMAP exists to be refused: every command that writes must fail with DATA PROTECT',
  },
  {
    name: 'removable',
    flags: ['--removable', '--thin'],
    secondPath: false,
    tests: ['NoMedia.*', 'PreventAllow.*', 'StartStopUnit.*'],
    purpose: 'removable medium (RMB 1), thin so UNMAP exists to be refused without a medium: PREVENT ALLOW MEDIUM REMOVAL, START STOP UNIT with LOEJ, commands without a medium',
  },
  {
    // Sanitize.Reset starts an OVERWRITE, then after 3 s and again after its resets and a new login (about 5 s in)
    // wants it still running; then it polls TEST UNIT READY with 60 s sleeps. At 12 MiB/s the 256 MiB scratch LUN
    // takes about 21 s to overwrite, as on a unit with that write bandwidth.
    name: 'slow',
    flags: ['--max-bandwidth', '12M'],
    secondPath: false,
    tests: ['Sanitize.Reset'],
    stallMs: 90_000,
    purpose: 'the default export limited to 12 MiB/s, as a slower unit would be: a sanitize OVERWRITE lasts long enough to be reset under (Sanitize.Reset)',
  },
  {
    name: 'multipath',
    flags: [],
    secondPath: true,
    tests: ['MultipathIO.*'],
    purpose: 'the default export over two sessions, as two paths to the same logical unit',
  },
];

function globRe(glob: string): RegExp {
  const body = glob.split('*').map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*');
  return new RegExp(`^${body}$`);
}

/** How long the stall watchdog waits for `p`'s invocations: its allowance, or the run's `stallMs` when that is longer. */
export function stallMsFor(p: Personality, stallMs: number): number {
  return Math.max(stallMs, p.stallMs ?? 0);
}

/** The personality a test runs against: the first that claims it, else the default. */
export function personalityOf(t: TestId, table: readonly Personality[] = PERSONALITIES): Personality {
  const key = testKey(t);
  const claimed = table.find((p) => p.tests.some((g) => globRe(g).test(key)));
  const fallback = table.find((p) => p.name === DEFAULT_PERSONALITY);
  if (fallback === undefined) throw new Error(`the personality table has no '${DEFAULT_PERSONALITY}' entry`);
  return claimed ?? fallback;
}

/**
 * Parses `iscsi-test-cu --list`: "FAMILY", "FAMILY.Suite" and
 * "FAMILY.Suite.Test" lines. The ALL family lists every test once, in run
 * order; a suite's family is the first other one listing it (SCSI, iSCSI;
 * LINUX repeats a subset later).
 */
export function parseTestList(text: string): TestId[] {
  const family = new Map<string, string>();
  const all: { suite: string; test: string }[] = [];
  for (const raw of text.split('\n')) {
    const parts = raw.trim().split('.');
    if (parts.length < 2 || parts.length > 3) continue;
    const [fam = '', suite = '', test] = parts;
    if (fam === 'ALL') {
      if (test !== undefined) all.push({ suite, test });
    } else if (!family.has(suite)) {
      family.set(suite, fam);
    }
  }
  return all.map((t) => ({ family: family.get(t.suite) ?? 'ALL', ...t }));
}

/** One iscsi-test-cu run: its --test value and the tests it should report. */
export interface Invocation {
  readonly pattern: string;
  readonly tests: readonly TestId[];
}

/**
 * The invocations for `mine` (a subset of `all`): `ALL.Suite` for a suite it
 * takes whole, so a hang or a client crash costs one suite at most, and
 * `ALL.Suite.Test` for each test of a suite it shares with another
 * personality. (iscsi-test-cu takes comma-separated patterns too, but each
 * registers its suite again, and CUnit versions differ on a duplicate suite
 * name: some drop the second registration and its tests with it.)
 */
export function invocationsFor(all: readonly TestId[], mine: readonly TestId[]): Invocation[] {
  const bySuite = new Map<string, TestId[]>();
  for (const t of mine) {
    const list = bySuite.get(t.suite);
    if (list === undefined) bySuite.set(t.suite, [t]);
    else list.push(t);
  }
  return [...bySuite].flatMap(([suite, tests]) =>
    all.filter((t) => t.suite === suite).length === tests.length ? [{ pattern: `ALL.${suite}`, tests }] : tests.map((t) => ({ pattern: `ALL.${testKey(t)}`, tests: [t] })),
  );
}
