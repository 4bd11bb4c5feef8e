// Runs a child process under a watchdog. iscsi-test-cu has no command timeout
// of its own: when a target stops answering it waits forever, printing
// nothing. So a child that is silent for `stallMs`, or still running after
// `capMs`, gets SIGTERM, and SIGKILL if it outlives a grace period.
//
// The child leads its own process group and the signals go to the group: a
// wrapper script passed as the client (LD_LIBRARY_PATH, valgrind) runs the
// real client as its child, which a signal to the wrapper alone never reaches.

import { spawn, type ChildProcess } from 'node:child_process';

export interface WatchOptions {
  readonly command: string;
  readonly args: readonly string[];
  /** No output (stdout or stderr) for this long kills the child. */
  readonly stallMs: number;
  /** The child may run at most this long in all. */
  readonly capMs: number;
  /** Between SIGTERM and SIGKILL (default 5 s). */
  readonly graceMs?: number;
  /**
   * After the child exits, how long its output pipes may stay open (default 2 s):
   * a process it left behind outside its group can hold them for ever.
   */
  readonly drainMs?: number;
  /** Each chunk of output as it arrives, stdout and stderr interleaved. */
  readonly onOutput?: (text: string) => void;
  /** The child as soon as it is spawned, so an interrupted runner can kill it (children.ts). */
  readonly onSpawn?: (child: ChildProcess) => void;
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
const DEFAULT_DRAIN_MS = 2000;

/** Signals the process group `child` leads; a group already gone is no error. */
export function signalGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // ESRCH: every member has exited.
  }
}

/** Runs the child to its end; never rejects. */
export function runWatched(opts: WatchOptions): Promise<WatchedExit> {
  return new Promise((resolve) => {
    const child = spawn(opts.command, [...opts.args], { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    opts.onSpawn?.(child);
    const chunks: string[] = [];
    let killed: KillReason | undefined;
    let spawnError: string | undefined;
    let stallTimer: NodeJS.Timeout | undefined;
    let killTimer: NodeJS.Timeout | undefined;
    let drainTimer: NodeJS.Timeout | undefined;

    const kill = (reason: KillReason): void => {
      if (killed !== undefined) return;
      killed = reason;
      clearTimeout(stallTimer);
      signalGroup(child, 'SIGTERM');
      killTimer = setTimeout(() => {
        signalGroup(child, 'SIGKILL');
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
    let settled = false;
    const settle = (code: number | null, signal: NodeJS.Signals | null): void => {
      if (settled) return;
      settled = true;
      for (const t of [stallTimer, capTimer, killTimer, drainTimer]) clearTimeout(t);
      resolve({ output: chunks.join(''), code, signal, killed, spawnError });
    };
    // Decoded per stream, so a character split between two reads stays whole.
    child.stdout.setEncoding('utf8').on('data', onData);
    child.stderr.setEncoding('utf8').on('data', onData);
    child.on('error', (e) => {
      spawnError = e.message;
    });
    child.on('exit', (code, signal) => {
      // 'close' waits for every holder of the pipes; one that escaped the group would hold them for ever.
      drainTimer = setTimeout(() => {
        signalGroup(child, 'SIGKILL');
        child.stdout.destroy();
        child.stderr.destroy();
        settle(code, signal);
      }, opts.drainMs ?? DEFAULT_DRAIN_MS);
    });
    child.on('close', (code, signal) => {
      settle(code, signal);
    });
    armStall();
  });
}
