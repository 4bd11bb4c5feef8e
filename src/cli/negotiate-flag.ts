// vtcam serve --negotiate KEY=VALUE: what the target answers for one login
// key, spelled as RFC 7143 §13 spells the key and its value (InitialR2T=No,
// MaxOutstandingR2T=4, HeaderDigest=CRC32C,None), given once per key. The
// values are checked by the library's own rules (negotiationPreferences), and
// a message names the key as the user wrote it.

import { negotiationPreferences, type NegotiationOptions } from '../iscsi/server-options.js';
import type { Digest } from '../iscsi/parameters.js';

type Kind = 'boolean' | 'number' | 'digests';

/** The keys a server may set, the option field each sets, and how its value is spelled. */
const NEGOTIATE_KEYS: readonly (readonly [key: string, field: keyof NegotiationOptions, kind: Kind])[] = [
  ['HeaderDigest', 'headerDigests', 'digests'],
  ['DataDigest', 'dataDigests', 'digests'],
  ['InitialR2T', 'initialR2T', 'boolean'],
  ['ImmediateData', 'immediateData', 'boolean'],
  ['MaxRecvDataSegmentLength', 'maxRecvDataSegmentLength', 'number'],
  ['MaxBurstLength', 'maxBurstLength', 'number'],
  ['FirstBurstLength', 'firstBurstLength', 'number'],
  ['MaxOutstandingR2T', 'maxOutstandingR2T', 'number'],
  ['DefaultTime2Wait', 'defaultTime2Wait', 'number'],
  ['DefaultTime2Retain', 'defaultTime2Retain', 'number'],
];

/** The key names --negotiate takes, for the usage text. */
export const NEGOTIATE_KEY_NAMES: readonly string[] = NEGOTIATE_KEYS.map(([key]) => key);

/** `text` as a value of `kind` (RFC 7143 §5.1: Yes/No, a decimal or 0x-hex number, a comma list), or undefined. */
function valueOf(kind: Kind, text: string): boolean | number | Digest[] | undefined {
  switch (kind) {
    case 'boolean':
      return text === 'Yes' ? true : text === 'No' ? false : undefined;
    case 'number':
      return /^(\d{1,15}|0x[0-9a-fA-F]{1,12})$/.test(text) ? Number(text) : undefined;
    case 'digests':
      return text.split(',') as Digest[];
  }
}

const SPELLING: Readonly<Record<Kind, string>> = { boolean: 'Yes or No', number: 'a number', digests: 'CRC32C and/or None, comma-separated' };

/** The --negotiate values as server options, or what is wrong with one of them. */
export function parseNegotiate(values: readonly string[]): NegotiationOptions | string {
  const o: Record<string, unknown> = {};
  const seen = new Set<string>();
  for (const v of values) {
    const eq = v.indexOf('=');
    const key = eq < 0 ? v : v.slice(0, eq);
    const entry = NEGOTIATE_KEYS.find(([k]) => k === key);
    if (entry === undefined) return `--negotiate '${v}': the key must be one of ${NEGOTIATE_KEY_NAMES.join(', ')} (as RFC 7143 spells them), as KEY=VALUE`;
    if (eq < 0) return `--negotiate '${v}' needs a value: ${key}=VALUE`;
    if (seen.has(key)) return `--negotiate gives ${key} twice; give it once`;
    seen.add(key);
    const [, field, kind] = entry;
    const value = valueOf(kind, v.slice(eq + 1));
    if (value === undefined) return `--negotiate ${key} takes ${SPELLING[kind]}, got '${v.slice(eq + 1)}'`;
    o[field] = value;
  }
  const options = o as NegotiationOptions;
  try {
    negotiationPreferences(options);
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    // The library names its option fields; the user wrote the RFC's keys.
    return NEGOTIATE_KEYS.reduce((m, [key, field]) => m.replaceAll(`negotiation.${field}`, key), message.replace(/^iSCSI server: /, '--negotiate: '));
  }
  return options;
}
