// Where the CLI writes, so tests can capture it.

import type { ProgressStream } from './progress.js';

export interface CliIo {
  out(line: string): void;
  error(message: string): void;
  /** Where progress lines go (drawn only when it is a TTY). */
  readonly progress: ProgressStream;
}

/**
 * Lets `out` lose its reader (`vtcam modepage -m 0x3f | head -1`) without ending the process: Node reports
 * the closed pipe as an EPIPE 'error' event, which unhandled ends it with a stack trace. The stream is
 * destroyed then and what is left to print is dropped (processIo.out); the command goes on and exits as it
 * would have (serve keeps serving: its logs go to stderr). Any other error is still thrown.
 */
export function tolerateClosedPipe(out: NodeJS.EventEmitter): void {
  out.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code !== 'EPIPE' && e.code !== 'ERR_STREAM_DESTROYED') throw e;
  });
}

/** Writes `line` to `out` unless its reader has gone (tolerateClosedPipe). */
export function writeLine(out: NodeJS.WritableStream & { readonly destroyed: boolean }, line: string): void {
  if (!out.destroyed) out.write(`${line}\n`);
}

export const processIo: CliIo = {
  out: (line) => {
    writeLine(process.stdout, line);
  },
  error: (message) => process.stderr.write(`vtcam: ${message}\n`),
  progress: process.stderr,
};
