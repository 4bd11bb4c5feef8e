// Sizes as people type them on the command line. A module of its own so the
// per-command argument parsers can share it without importing args.ts, which
// imports them (a cycle would leave their usage texts undefined at load).

const SIZE_RE = /^(\d+)([KMGT]?)(i?B)?$/i;
const UNITS: Record<string, number> = { '': 1, K: 2 ** 10, M: 2 ** 20, G: 2 ** 30, T: 2 ** 40 };

/** Parses "64M", "1G", "4096" (binary units) into bytes. */
export function parseSize(text: string): number | undefined {
  const m = SIZE_RE.exec(text.trim());
  if (m === null) return undefined;
  const n = Number(m[1]) * (UNITS[(m[2] ?? '').toUpperCase()] ?? 1);
  return Number.isSafeInteger(n) && n > 0 ? n : undefined;
}
