// What `npm pack` ships, as a consumer installs it. The build's source maps
// and declaration maps point at ../src, so the sources go in the package too
// (they were left out: every map in it pointed at a missing file); the build
// runs before packing, so a clean clone cannot publish an empty package; and
// the license package.json names ships as text. Listed with --ignore-scripts
// and --dry-run: nothing is built or written here.

import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, test } from 'vitest';

const ROOT = join(import.meta.dirname, '..', '..');
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  license: string;
  scripts: Record<string, string>;
  exports: Record<string, string | Record<string, string>>;
};

function packed(): Set<string> {
  const out = execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  const [entry] = JSON.parse(out) as { files: { path: string }[] }[];
  return new Set(entry?.files.map((f) => f.path));
}

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') ? [relative(ROOT, join(dir, e.name))] : []));
}

describe('npm pack', () => {
  const files = packed();

  test('every source file the maps point at is in the package', () => {
    const missing = sources(join(ROOT, 'src')).filter((f) => !files.has(f));
    expect(missing).toEqual([]);
    expect(files.has('src/index.ts')).toBe(true);
  });

  test('the license package.json names ships as LICENSE', () => {
    expect(files.has('LICENSE')).toBe(true);
    const first = readFileSync(join(ROOT, 'LICENSE'), 'utf8').split('\n')[0];
    expect(first?.replace(/ /g, '-')).toBe(`${pkg.license}-License`);
  });

  test('packing builds first, from a clean dist, so no stale module ships', () => {
    expect(pkg.scripts['prepack']).toMatch(/rmSync\('dist'.*&& npm run build$/);
  });

  test('no tests, benchmarks or scripts ship', () => {
    expect([...files].filter((f) => /^(test|bench|scripts|conformance)\//.test(f))).toEqual([]);
  });
});
