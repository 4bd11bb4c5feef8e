// One child process the benchmark started, watched from its spawn: how it
// ended (a promise, and a value once known) and the tail of what it printed,
// so a target that dies or will not stop is reported in one line with its own
// last words. iscsi-targets.ts watches `vtcam serve` and tgtd through it.

import type { ChildProcess } from 'node:child_process';

/** How a child ended: its exit status, or the signal that killed it. */
export interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/** An exit in words, to follow the process's name ("tgtd was killed by SIGKILL"). */
export const exitText = (e: Exit): string => (e.signal === null ? `exited with status ${e.code ?? 'unknown'}` : `was killed by ${e.signal}`);

/** A child's exit, as a promise and as a value once known; the last 2 KB of its output for messages. */
export class Watched {
  readonly child: ChildProcess;
  readonly exited: Promise<Exit>;
  #exit: Exit | undefined;
  #tail = '';

  constructor(child: ChildProcess) {
    this.child = child;
    this.exited = new Promise((resolve) => {
      child.on('close', (code, signal) => {
        const e = { code, signal };
        this.#exit = e;
        resolve(e);
      });
    });
    const keep = (text: string): void => {
      this.#tail = (this.#tail + text).slice(-2000);
    };
    child.stdout?.setEncoding('utf8').on('data', keep);
    child.stderr?.setEncoding('utf8').on('data', keep);
  }

  /** How the child ended; undefined while it runs. A method, not a field: it changes across awaits. */
  exit(): Exit | undefined {
    return this.#exit;
  }

  /** The child's last few output lines, joined by ` | `. */
  said(lines = 3): string {
    return this.#tail.trim().split('\n').slice(-lines).join(' | ');
  }

  /** Waits up to `ms` for the exit; true when it came. */
  async exitsWithin(ms: number): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<false>((r) => (timer = setTimeout(() => { r(false); }, ms)));
    const done = await Promise.race([this.exited.then(() => true), timeout]);
    clearTimeout(timer);
    return done;
  }
}
