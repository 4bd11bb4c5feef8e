// Where the CLI writes, so tests can capture it.

import type { ProgressStream } from './progress.js';

export interface CliIo {
  out(line: string): void;
  error(message: string): void;
  /** Where progress lines go (drawn only when it is a TTY). */
  readonly progress: ProgressStream;
}

export const processIo: CliIo = {
  out: (line) => process.stdout.write(`${line}\n`),
  error: (message) => process.stderr.write(`vtcam: ${message}\n`),
  progress: process.stderr,
};
