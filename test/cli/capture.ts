// A CliIo that records what the CLI prints, for tests.

import type { CliIo } from '../../src/cli/io.js';

export interface CapturedIo extends CliIo {
  readonly lines: string[];
  readonly errors: string[];
  /** What was drawn on the progress stream. */
  readonly drawn: string[];
}

export function capture(tty = false): CapturedIo {
  const lines: string[] = [];
  const errors: string[] = [];
  const drawn: string[] = [];
  return {
    lines,
    errors,
    drawn,
    out: (l) => lines.push(l),
    error: (m) => errors.push(m),
    progress: { isTTY: tty, columns: 80, write: (c: string) => drawn.push(c) },
  };
}
