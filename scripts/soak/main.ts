// `npm run soak`: a randomized iSCSI soak of `vtcam serve` (the built CLI) on
// loopback, checked against a model of the disk (see run.ts and USAGE).
// Exit status 0 with no findings, 1 with findings, 2 for bad flags or a
// target that could not be started, 128 + the signal on SIGINT or SIGTERM
// (the target killed and the scratch image removed first).

import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { USAGE, parseSoakArgs } from './args.js';
import { SoakSetupError, runSoak } from './run.js';

const ROOT = resolve(fileURLToPath(new URL('../../..', import.meta.url)));

async function main(argv: readonly string[]): Promise<number> {
  const parsed = parseSoakArgs(argv, Date.now() % 1_000_000);
  if (parsed.kind === 'help') {
    process.stdout.write(USAGE);
    return 0;
  }
  if (parsed.kind === 'error') {
    process.stderr.write(`soak: ${parsed.message}\n${USAGE}`);
    return 2;
  }
  const cli = join(ROOT, 'dist/cli/main.js');
  if (!existsSync(cli)) {
    process.stderr.write('soak: dist/cli/main.js is missing; run `npm run build` (npm run soak does)\n');
    return 2;
  }
  try {
    const { tally } = await runSoak(parsed.options, {
      cli: [process.execPath, cli],
      out: { isTTY: process.stdout.isTTY, write: (t) => process.stdout.write(t) },
      rerunPrefix: 'npm run soak --',
      exitOnSignal: true,
    });
    return tally.findings.length === 0 ? 0 : 1;
  } catch (e) {
    if (!(e instanceof SoakSetupError)) throw e;
    process.stderr.write(`soak: ${e.message}\n`);
    return 2;
  }
}

process.exitCode = await main(process.argv.slice(2));
