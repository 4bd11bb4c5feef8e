// The results folder of npm run bench (BENCH_OUT) and npm run conformance
// (--out): made with its parents, or one line saying why not. A path under a
// file, or under /proc (where Node's recursive mkdir loops for ever), is an
// answer, not a hang.

import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { prepareOutDir } from '../../src/cli/out-dir.js';

const base = mkdtempSync(join(tmpdir(), 'vtcam-out-dir-'));
afterAll(() => {
  rmSync(base, { recursive: true, force: true });
});

describe('prepareOutDir', () => {
  test('a missing folder is made with its parents; an existing one is fine', () => {
    const dir = join(base, 'a', 'b', 'c');
    expect(prepareOutDir(dir)).toBeUndefined();
    expect(statSync(dir).isDirectory()).toBe(true);
    expect(prepareOutDir(dir)).toBeUndefined();
  });

  test('a path under a file: ENOTDIR in one line', () => {
    const file = join(base, 'file');
    writeFileSync(file, '');
    expect(prepareOutDir(join(file, 'x'))).toBe(`cannot use ${join(file, 'x')} for results: ENOTDIR: not a directory, mkdir '${join(file, 'x')}'`);
  });

  test('a file: not a directory', () => {
    const file = join(base, 'file2');
    writeFileSync(file, '');
    expect(prepareOutDir(file)).toBe(`${file} is not a directory`);
  });

  test('a folder under /proc: an error, not an endless mkdir', () => {
    expect(prepareOutDir('/proc/vtcam-nope/x')).toMatch(/^cannot use \/proc\/vtcam-nope\/x for results: E[A-Z]+: .*mkdir '\/proc\/vtcam-nope'$/);
  }, 10_000);
});
