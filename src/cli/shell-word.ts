// A value the CLI prints inside a command for the user to paste (a path in
// `chmod u+w PATH`, a CHAP user name in an environment assignment): one POSIX
// shell word whatever it holds. Plain words stay as they are, so the common
// case reads as typed; anything else is single-quoted, the one quoting in
// which the shell gives no character a meaning (POSIX.1-2017 XCU §2.2.2), with
// each ' written as '\'' (close, escaped quote, reopen).

/** Characters that are never special to the shell, in any position of a word. */
const PLAIN = /^[\w@%+=:,./-]+$/;

/** `s` as one shell word: unchanged when plain, else single-quoted. */
export function shellWord(s: string): string {
  return PLAIN.test(s) ? s : `'${s.replaceAll("'", `'\\''`)}'`;
}
