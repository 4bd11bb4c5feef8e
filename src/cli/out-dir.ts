// The folder a tool writes its results to (`npm run bench`'s BENCH_OUT,
// `npm run conformance`'s --out), made and checked before any work starts:
// a bad one is one line and exit status 2, not a stack trace after minutes of
// measuring.

import { accessSync, constants, existsSync, mkdirSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

/** Creates `dir` (and its missing parents) and checks it is a writable directory; returns why not, or undefined. */
export function prepareOutDir(dir: string): string | undefined {
  const abs = resolve(dir);
  // One level at a time: Node 20's recursive mkdir loops for ever on some paths (/proc/x).
  const missing: string[] = [];
  for (let at = abs; !existsSync(at); at = dirname(at)) {
    missing.unshift(at);
    if (dirname(at) === at) break;
  }
  try {
    for (const d of missing) mkdirSync(d);
    if (!statSync(abs).isDirectory()) return `${dir} is not a directory`;
    accessSync(abs, constants.W_OK | constants.X_OK);
  } catch (e) {
    return `cannot use ${dir} for results: ${e instanceof Error ? e.message : String(e)}`;
  }
  return undefined;
}
