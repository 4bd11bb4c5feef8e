// The `vtcam` command as npm installs it: a symlink to the CLI module, which
// Node keeps in argv[1]. The module used to run main() only when argv[1]
// ended in /cli/main.js (read as a URL), so an installed `vtcam` printed
// nothing and exited 0 for any arguments, a bad flag included; so did a
// checkout whose path holds '#'. Run from the TypeScript sources through tsx,
// as the worker transport's tests run its module.

import { afterAll, describe, expect, test } from 'vitest';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

/** A symlink named `vtcam` to the CLI module, in a fresh directory whose name holds `#`. */
async function installedBin(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'vtcam-bin#'));
  dirs.push(d);
  const bin = join(d, 'vtcam');
  await symlink(MAIN, bin);
  return bin;
}

function run(bin: string, args: readonly string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', bin, ...args], (error, stdout, stderr) => {
      resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : -1, stdout, stderr });
    });
  });
}

describe('vtcam through a symlink (npm bin), in a path with #', () => {
  test('--version prints the package version', async () => {
    const pkg = JSON.parse(await readFile(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
    expect(await run(await installedBin(), ['--version'])).toEqual({ code: 0, stdout: `${pkg.version}\n`, stderr: '' });
  });

  test('a bad flag exits 2 with the message', async () => {
    const r = await run(await installedBin(), ['--bogus']);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/Unknown option '--bogus'/);
  });
});
