#!/usr/bin/env node
// The `vtcam` command.

import { readFileSync } from 'node:fs';
import { USAGE, parseCli } from './args.js';
import { runDemo } from './demo.js';
import { decodeCdbCommand, decodeSenseCommand } from './decode.js';
import { runCamCommand } from './camcontrol.js';
import { processIo, tolerateClosedPipe, type CliIo } from './io.js';

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: string };
  return pkg.version ?? 'unknown';
}

/** Runs the CLI with `argv` (without node and script); resolves with the exit status. */
export async function main(argv: readonly string[], io: CliIo = processIo): Promise<number> {
  const parsed = parseCli(argv);
  if (!parsed.ok) {
    io.error(`${parsed.message}\nTry 'vtcam --help' for the options.`);
    return 2;
  }
  switch (parsed.args.command) {
    case 'help':
      io.out(USAGE.trimEnd());
      return 0;
    case 'version':
      io.out(version());
      return 0;
    case 'demo':
      return runDemo(parsed.args, io);
    case 'sense':
      return decodeSenseCommand(parsed.args.bytes, io);
    case 'cdb':
      return decodeCdbCommand(parsed.args.bytes, io);
    case 'cam':
      return runCamCommand(parsed.args.cam, io);
    case 'serve': {
      // Loaded here: the other commands need none of the iSCSI target.
      const { runServe } = await import('./serve.js');
      return runServe(parsed.args.serve, io);
    }
  }
}

const invoked = process.argv[1] === undefined ? '' : new URL(`file://${process.argv[1]}`).pathname;
if (invoked.endsWith('/cli/main.js')) {
  tolerateClosedPipe(process.stdout);
  process.exitCode = await main(process.argv.slice(2));
}
