// Every child process the runner has started and that is still running, from
// the moment it is spawned: a SIGINT or SIGTERM to the runner kills them all
// before it exits. A client left behind busy-loops reconnecting to a target
// that is gone, and a serve still starting would go on listening with its
// scratch image, so "started and not yet ready" counts as running.

import type { ChildProcess } from 'node:child_process';
import { constants } from 'node:os';

/** The children of one run. */
export class LiveChildren {
  readonly #live = new Map<ChildProcess, boolean>();

  /** Tracks `child` until it exits; `group`: it leads its own process group (spawned detached), and the group is killed. */
  add(child: ChildProcess, group = false): void {
    if (child.exitCode !== null || child.signalCode !== null) return;
    this.#live.set(child, group);
    child.once('exit', () => {
      this.#live.delete(child);
    });
  }

  /** How many are still running. */
  get size(): number {
    return this.#live.size;
  }

  /** SIGKILL to every child (to its whole group where it leads one). */
  killAll(): void {
    for (const [child, group] of this.#live) {
      if (child.pid === undefined) continue;
      try {
        process.kill(group ? -child.pid : child.pid, 'SIGKILL');
      } catch {
        // ESRCH: it exited between its 'exit' event and now.
      }
    }
  }
}

/** The exit status of a process ended by `signal`, as a shell reports it: 128 + its number (130 for SIGINT, 143 for SIGTERM). */
export function signalExitStatus(signal: NodeJS.Signals): number {
  return 128 + constants.signals[signal];
}

/**
 * On SIGINT or SIGTERM: kill every child in `children`, run `cleanup`, and
 * exit with the signal's status. Returns the function that removes the handlers.
 */
export function stopAllOnSignal(children: LiveChildren, cleanup: () => void): () => void {
  const interrupted = (signal: NodeJS.Signals): void => {
    children.killAll();
    cleanup();
    process.exit(signalExitStatus(signal));
  };
  process.on('SIGINT', interrupted);
  process.on('SIGTERM', interrupted);
  return () => {
    process.off('SIGINT', interrupted);
    process.off('SIGTERM', interrupted);
  };
}
