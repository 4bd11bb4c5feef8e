// One short soak end to end: `vtcam serve` (run from the sources through tsx,
// as test/cli runs the CLI) under two sessions for 10 s with a fixed seed.
// It must check reads, see task management and drops, and find nothing; and
// one shorter on a thin-provisioned target, where it must unmap; and one
// that ends with a SIGKILL and checks the synced writes after the restart.

import { fileURLToPath } from 'node:url';
import { expect, test } from 'vitest';
import { runSoak } from '../../../scripts/soak/run.js';

const MAIN = fileURLToPath(new URL('../../../src/cli/main.ts', import.meta.url));

test('seed 7, 2 sessions, 10 s: reads checked, resets and drops survived, 0 findings', async () => {
  let out = '';
  const { tally, summary } = await runSoak(
    { seed: 7, seconds: 10, kill: false, sessions: 2, serveArgs: [] },
    { cli: [process.execPath, '--import', 'tsx', MAIN], out: { isTTY: false, write: (t) => { out += t; } }, rerunPrefix: 'npm run soak --' },
  );
  expect(tally.findings, out).toEqual([]);
  expect(tally.readsChecked).toBeGreaterThan(100);
  expect(tally.commands.write).toBeGreaterThan(100);
  expect(tally.commands['write-same']).toBeGreaterThan(10);
  expect(tally.disruptions['lu-reset'] + tally.disruptions['abort-task'] + tally.disruptions.drop).toBeGreaterThan(0);
  expect(summary).toContain('soak summary (seed 7)');
  expect(summary).toContain('findings:   0');
}, 120_000);

test('seed 2, thin target, 6 s: UNMAP, WRITE SAME with UNMAP and SYNCHRONIZE CACHE sent, 0 findings', async () => {
  let out = '';
  const { tally } = await runSoak(
    { seed: 2, seconds: 6, kill: false, sessions: 2, serveArgs: ['--thin'] },
    { cli: [process.execPath, '--import', 'tsx', MAIN], out: { isTTY: false, write: (t) => { out += t; } }, rerunPrefix: 'npm run soak --' },
  );
  expect(tally.findings, out).toEqual([]);
  expect(out).toContain('UNMAP up to 4294967295 blocks in 4095 descriptors, LBPRZ 0 (unmapped blocks unchecked)');
  expect(tally.commands.unmap).toBeGreaterThan(10);
  expect(tally.commands['write-same-unmap']).toBeGreaterThan(10);
  expect(tally.commands['sync-cache']).toBeGreaterThan(5);
}, 120_000);

test('seed 4, --kill-at 4: SIGKILL after a SYNCHRONIZE CACHE GOOD, restart, the synced writes read back, 0 findings', async () => {
  let out = '';
  const { tally } = await runSoak(
    { seed: 4, seconds: 4, kill: true, sessions: 2, serveArgs: [] },
    { cli: [process.execPath, '--import', 'tsx', MAIN], out: { isTTY: false, write: (t) => { out += t; } }, rerunPrefix: 'npm run soak --' },
  );
  expect(tally.findings, out).toEqual([]);
  expect(out).toMatch(/soak: SIGKILL \d+ ms after SYNCHRONIZE CACHE GOOD; restarted, reading the disk back/);
  expect(tally.commands.write).toBeGreaterThan(100);
}, 120_000);
