// Hex helpers for the iSCSI wire tests: vectors are written as spaced hex bytes.

export const norm = (h: string): string => h.trim().split(/\s+/).filter((x) => x !== '').join(' ');

export const hex = (b: Uint8Array): string => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join(' ');

export const bytes = (h: string): Uint8Array => {
  const n = norm(h);
  return n === '' ? new Uint8Array(0) : Uint8Array.from(n.split(' '), (x) => parseInt(x, 16));
};

export const concat = (...parts: readonly Uint8Array[]): Uint8Array => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
};

/** A BHS written as the RFC draws it: 4-byte rows. */
export const rows = (...r: readonly string[]): string => r.join(' ');
export const ZERO_ROW = '00 00 00 00';
