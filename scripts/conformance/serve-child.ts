// A `vtcam serve` child process: started, waited for until it prints its
// READY line (see READY_PREFIX in src/cli/serve-args.ts), and stopped the way
// a user would, with SIGTERM, expecting a clean exit 0.

import { spawn, type ChildProcess } from 'node:child_process';
import { READY_PREFIX } from '../../src/cli/serve-args.js';

export interface ServeChildOptions {
  /** The command and its arguments, e.g. [node, 'dist/cli/main.js', 'serve', '--port', '0', …]. */
  readonly command: string;
  readonly args: readonly string[];
  /** Everything the child prints, stdout and stderr. */
  readonly log: (text: string) => void;
  /** How long to wait for READY. */
  readonly readyTimeoutMs: number;
  /** The child as soon as it is spawned, before READY, so an interrupted runner can kill it (children.ts). */
  readonly onSpawn?: (child: ChildProcess) => void;
}

export interface ServeChild {
  /** The URL from the READY line: iscsi://HOST:PORT/IQN/0. */
  readonly url: string;
  /** Why the child is gone, when it ended without being stopped; undefined while it runs. */
  died(): string | undefined;
  /** SIGTERM, then wait up to `timeoutMs`; resolves with what went wrong, or undefined for a clean exit 0. */
  stop(timeoutMs: number): Promise<string | undefined>;
  /** SIGKILL now (the runner itself is being interrupted). */
  kill(): void;
}

interface Ended {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

const endText = (e: Ended): string => (e.signal !== null ? `killed by ${e.signal}` : `exited with status ${e.code ?? 'unknown'}`);

function whenEnded(child: ChildProcess): Promise<Ended> {
  return new Promise((resolve) => {
    child.on('close', (code, signal) => {
      resolve({ code, signal });
    });
  });
}

/** Starts the child; resolves once it is READY, or with a message saying why it never got there. */
export function startServe(opts: ServeChildOptions): Promise<ServeChild | { readonly error: string }> {
  const child = spawn(opts.command, [...opts.args], { stdio: ['ignore', 'pipe', 'pipe'] });
  opts.onSpawn?.(child);
  const ended = whenEnded(child);
  let end: Ended | undefined;
  let stopping = false;
  void ended.then((e) => {
    end = e;
  });
  let stderrTail = '';
  child.stderr.setEncoding('utf8').on('data', (text: string) => {
    opts.log(text);
    stderrTail = (stderrTail + text).slice(-2000);
  });
  return new Promise((resolve) => {
    let partial = '';
    let settled = false;
    const settle = (v: ServeChild | { readonly error: string }): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(v);
    };
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      settle({ error: `vtcam serve printed no READY line within ${opts.readyTimeoutMs / 1000} s` });
    }, opts.readyTimeoutMs);
    child.on('error', (e) => {
      settle({ error: `cannot start vtcam serve: ${e.message}` });
    });
    child.stdout.setEncoding('utf8').on('data', (text: string) => {
      opts.log(text);
      if (settled) return;
      const lines = (partial + text).split('\n');
      partial = lines.pop() ?? '';
      const ready = lines.find((l) => l.startsWith(READY_PREFIX));
      if (ready === undefined) return;
      settle({
        url: ready.slice(READY_PREFIX.length).trim(),
        kill: () => {
          stopping = true;
          child.kill('SIGKILL');
        },
        died: () => (end === undefined || stopping ? undefined : `vtcam serve ${endText(end)} while tests ran`),
        async stop(timeoutMs) {
          if (end !== undefined) return stopping ? undefined : `vtcam serve ${endText(end)} before it was stopped`;
          stopping = true;
          child.kill('SIGTERM');
          let kill: NodeJS.Timeout | undefined;
          const outcome = await Promise.race([ended, new Promise<'timeout'>((r) => (kill = setTimeout(() => { r('timeout'); }, timeoutMs)))]);
          clearTimeout(kill);
          if (outcome === 'timeout') {
            child.kill('SIGKILL');
            await ended;
            return `vtcam serve did not stop within ${timeoutMs / 1000} s of SIGTERM (killed)`;
          }
          return outcome.code === 0 ? undefined : `vtcam serve ${endText(outcome)} on SIGTERM, not 0`;
        },
      });
    });
    void ended.then((e) => {
      const said = stderrTail.trim().split('\n').slice(-3).join(' | ');
      settle({ error: `vtcam serve ${endText(e)} before it was ready${said === '' ? '' : `: ${said}`}` });
    });
  });
}
