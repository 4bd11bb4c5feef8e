#!/usr/bin/env node
// The `vtcam` command.

import { readFileSync, realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
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

/**
 * Whether Node runs this module as the program: the script it was given is
 * this file once symlinks are followed. npm installs the `vtcam` bin as a
 * symlink, which Node keeps in argv[1], and a path may hold `#` or `?`, so
 * neither the name nor a URL made of the path will do.
 */
function isProgram(): boolean {
  const script = process.argv[1];
  if (script === undefined) return false;
  try {
    return realpathSync(script) === fileURLToPath(import.meta.url);
  } catch {
    return false;
  }
}

if (isProgram()) {
  tolerateClosedPipe(process.stdout);
  process.exitCode = await main(process.argv.slice(2));
}
