// Sizes as people type them on the command line, and the virtqueue size. A module of its own so the
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

/**
 * Smallest virtqueue that holds a one-segment request beside the SIM's default reserve of two flushes:
 * with indirect descriptors each costs one descriptor (2 + 1 → 4); without, a flush costs 2 and a one-segment
 * request 3 (4 + 3 → 8). See cam/sim/vtblk/budget.ts.
 */
export const MIN_QUEUE_SIZE = { indirect: 4, direct: 8 } as const;

/** The problem with a --queue-size value (a power of two in min..32768), or undefined when it is one. */
export function queueSizeProblem(text: string, min: number): string | undefined {
  const n = Number(text);
  if (/^\d+$/.test(text) && n >= min && n <= 32768 && (n & (n - 1)) === 0) return undefined;
  return `--queue-size must be a power of two in ${min}..32768, got '${text}'`;
}
