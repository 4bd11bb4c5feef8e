// shellWord: what the CLI prints for the user to paste must stay one shell
// word. Checked against a real POSIX shell: `sh -c 'printf %s "$1"' sh WORD`
// would not prove the quoting, so each word is pasted into a command line that
// sh parses, and what sh received must be the value.

import { execFileSync } from 'node:child_process';
import { describe, expect, test } from 'vitest';
import { shellWord } from '../../src/cli/shell-word.js';

/** What `sh` makes of `word` as the one argument of printf. */
function throughSh(word: string): string {
  return execFileSync('sh', ['-c', `printf %s ${word}`], { encoding: 'utf8' });
}

describe('shellWord', () => {
  test.each(['disk.img', '/var/lib/vtcam/disk-1.img', 'alice', 'user@host', 'a%b', 'k=v,w', 'C:x'])('%s is plain: unchanged', (s) => {
    expect(shellWord(s)).toBe(s);
    expect(throughSh(shellWord(s))).toBe(s);
  });

  test.each([
    ['my disk.img', "'my disk.img'"],
    ["it's", `'it'\\''s'`],
    ['$HOME', "'$HOME'"],
    ['a;rm -rf x', "'a;rm -rf x'"],
    ['`id`', "'`id`'"],
    ['*.img', "'*.img'"],
    ['~/x', "'~/x'"],
    ['a"b', `'a"b'`],
    ['', "''"],
  ])('%s is quoted as %s, and sh reads it back whole', (s, quoted) => {
    expect(shellWord(s)).toBe(quoted);
    expect(throughSh(shellWord(s))).toBe(s);
  });
});
