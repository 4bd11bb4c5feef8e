// vtcam serve --negotiate KEY=VALUE: what the target answers for one login
// key, spelled as RFC 7143 §13 spells the key and its value (InitialR2T=No,
// MaxOutstandingR2T=4, HeaderDigest=CRC32C,None), given once per key. Which
// keys, and what kind of value each takes, is the library's NEGOTIATION_KEYS
// with the key table's rows; the values are checked by the library's own rules
// (negotiationPreferences), and a message names the key as the user wrote it.

import { NEGOTIATION_KEYS, keyRange, negotiationPreferences, type NegotiationOptions } from '../iscsi/server-options.js';
import type { KeySpec } from '../iscsi/keys.js';

/** The key names --negotiate takes, for the usage text. */
export const NEGOTIATE_KEY_NAMES: readonly string[] = NEGOTIATION_KEYS.map(([, spec]) => spec.name);

/** `text` as a value of the key `spec` (RFC 7143 §5.1: Yes/No, a decimal or 0x-hex number, a comma list), or how it is spelled. */
function valueOf(spec: KeySpec, text: string): boolean | number | string[] | { readonly spelling: string } {
  if (keyRange(spec) !== undefined) return /^(\d{1,15}|0x[0-9a-fA-F]{1,12})$/.test(text) ? Number(text) : { spelling: 'a number' };
  if (spec.kind === 'boolean-and' || spec.kind === 'boolean-or') return text === 'Yes' ? true : text === 'No' ? false : { spelling: 'Yes or No' };
  return text.split(',');
}

/** The --negotiate values as server options, or what is wrong with one of them. */
export function parseNegotiate(values: readonly string[]): NegotiationOptions | string {
  const o: Record<string, unknown> = {};
  const seen = new Set<string>();
  for (const v of values) {
    const eq = v.indexOf('=');
    const key = eq < 0 ? v : v.slice(0, eq);
    const entry = NEGOTIATION_KEYS.find(([, spec]) => spec.name === key);
    if (entry === undefined) return `--negotiate '${v}': the key must be one of ${NEGOTIATE_KEY_NAMES.join(', ')} (as RFC 7143 spells them), as KEY=VALUE`;
    if (eq < 0) return `--negotiate '${v}' needs a value: ${key}=VALUE`;
    if (seen.has(key)) return `--negotiate gives ${key} twice; give it once`;
    seen.add(key);
    const [field, spec] = entry;
    const value = valueOf(spec, v.slice(eq + 1));
    if (typeof value === 'object' && !Array.isArray(value)) return `--negotiate ${key} takes ${value.spelling}, got '${v.slice(eq + 1)}'`;
    o[field] = value;
  }
  const options = o as NegotiationOptions;
  try {
    negotiationPreferences(options);
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    // The library names its option fields; the user wrote the RFC's keys.
    return NEGOTIATION_KEYS.reduce((m, [field, spec]) => m.replaceAll(`negotiation.${field}`, spec.name), message.replace(/^iSCSI server: /, '--negotiate: '));
  }
  return options;
}
