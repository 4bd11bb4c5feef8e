// Runs a child process under a watchdog. iscsi-test-cu has no command timeout
// of its own: when a target stops answering it waits forever, printing
// nothing. So a child that is silent for `stallMs`, or still running after
// `capMs`, gets SIGTERM, and SIGKILL if it outlives a grace period.

import { spawn } from 'node:child_process';

export interface WatchOptions {
  readonly command: string;
  readonly args: readonly string[];
  /** No output (stdout or stderr) for this long kills the child. */
  readonly stallMs: number;
  /** The child may run at most this long in all. */
  readonly capMs: number;
  /** Between SIGTERM and SIGKILL (default 5 s). */
  readonly graceMs?: number;
  /** Each chunk of output as it arrives, stdout and stderr interleaved. */
  readonly onOutput?: (text: string) => void;
}

export type KillReason = 'stall' | 'cap';

export interface WatchedExit {
  /** Everything the child printed, stdout and stderr in arrival order. */
  readonly output: string;
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  /** Why the watchdog killed the child; undefined when it ended on its own. */
  readonly killed: KillReason | undefined;
  /** The child could not be started (ENOENT, EACCES); nothing ran. */
  readonly spawnError: string | undefined;
}

const DEFAULT_GRACE_MS = 5000;

/** Runs the child to its end; never rejects. */
export function runWatched(opts: WatchOptions): Promise<WatchedExit> {
  return new Promise((resolve) => {
    const child = spawn(opts.command, [...opts.args], { stdio: ['ignore', 'pipe', 'pipe'] });
    const chunks: string[] = [];
    let killed: KillReason | undefined;
    let spawnError: string | undefined;
    let stallTimer: NodeJS.Timeout | undefined;
    let killTimer: NodeJS.Timeout | undefined;

    const kill = (reason: KillReason): void => {
      if (killed !== undefined) return;
      killed = reason;
      clearTimeout(stallTimer);
      child.kill('SIGTERM');
      killTimer = setTimeout(() => {
        child.kill('SIGKILL');
      }, opts.graceMs ?? DEFAULT_GRACE_MS);
    };
    const armStall = (): void => {
      clearTimeout(stallTimer);
      if (killed !== undefined) return;
      stallTimer = setTimeout(() => {
        kill('stall');
      }, opts.stallMs);
    };
    const capTimer = setTimeout(() => {
      kill('cap');
    }, opts.capMs);
    const onData = (text: string): void => {
      chunks.push(text);
      opts.onOutput?.(text);
      armStall();
    };
    // Decoded per stream, so a character split between two reads stays whole.
    child.stdout.setEncoding('utf8').on('data', onData);
    child.stderr.setEncoding('utf8').on('data', onData);
    child.on('error', (e) => {
      spawnError = e.message;
    });
    child.on('close', (code, signal) => {
      clearTimeout(stallTimer);
      clearTimeout(capTimer);
      clearTimeout(killTimer);
      resolve({ output: chunks.join(''), code, signal, killed, spawnError });
    });
    armStall();
  });
}
