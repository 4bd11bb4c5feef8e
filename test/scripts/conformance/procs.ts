// Whether a process the test started is gone, from /proc (Linux).

import { readFileSync } from 'node:fs';

/** Whether `pid` is still a live process (a zombie waiting for its reaper counts as gone). */
export function alive(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

/** Waits until `pid` is gone; the test's timeout is the failure. */
export async function gone(pid: number): Promise<void> {
  while (alive(pid)) await new Promise((r) => setTimeout(r, 50));
}
