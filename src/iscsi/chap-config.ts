// What makes a target's CHAP settings usable (RFC 7143 §12.1.3, §9.2.1), for
// the library (IscsiServer.listen) and the CLI (serve --chap-*) alike, each
// naming the fields its own way: names are CHAP_N text, secrets long enough to
// go without IPsec, a mutual pair whole, and never one secret for both
// directions.

import type { IscsiChapConfig } from './target.js';

/** RFC 7143 §9.2.1 (CHAP considerations): a secret of fewer than 96 random bits needs IPsec, which vtcam does not do. */
export const MIN_CHAP_SECRET_BYTES = 12;
/** A CHAP_N value is text (RFC 7143 text keys): no NUL, and nothing a terminal or a log would mangle. */
const CHAP_NAME_RE = /^[\x21-\x7e]+$/;

/** A field of IscsiChapConfig. */
export type ChapField = keyof IscsiChapConfig;

/** CHAP settings as given, any field missing. */
export type ChapSettings = Readonly<Partial<Record<ChapField, string | undefined>>>;

/** Why `c` cannot be used, each field called what `name` calls it; undefined when it can. */
export function chapConfigProblem(c: ChapSettings, name: (f: ChapField) => string): string | undefined {
  if ((c.user === undefined) !== (c.secret === undefined)) return c.user === undefined ? `${name('secret')} needs ${name('user')}` : `${name('user')} needs ${name('secret')}`;
  if ((c.mutualUser === undefined) !== (c.mutualSecret === undefined)) {
    return c.mutualUser === undefined ? `${name('mutualSecret')} needs ${name('mutualUser')}` : `${name('mutualUser')} needs ${name('mutualSecret')}`;
  }
  if (c.user === undefined) return c.mutualUser === undefined ? undefined : `mutual CHAP (${name('mutualUser')}) needs ${name('user')} and ${name('secret')} too`;
  for (const f of ['user', 'mutualUser'] as const) {
    const v = c[f];
    if (v !== undefined && !CHAP_NAME_RE.test(v)) return `${name(f)} must be printable ASCII without spaces, got '${v}'`;
  }
  for (const f of ['secret', 'mutualSecret'] as const) {
    const v = c[f];
    if (v !== undefined && Buffer.byteLength(v) < MIN_CHAP_SECRET_BYTES) {
      return `${name(f)} must be at least ${MIN_CHAP_SECRET_BYTES} bytes (96 bits; RFC 7143 wants IPsec below that), got ${Buffer.byteLength(v)}`;
    }
  }
  // §9.2.1: a secret that authenticates initiators must not authenticate the target, or a reflection succeeds.
  if (c.mutualSecret !== undefined && c.mutualSecret === c.secret) {
    return `${name('mutualSecret')} must differ from ${name('secret')} (RFC 7143 forbids one secret for both directions)`;
  }
  return undefined;
}
