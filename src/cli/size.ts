// Sizes as people type them on the command line, the virtqueue size, and flags given twice. A module of its own so the
// per-command argument parsers can share it without importing args.ts, which
// imports them (a cycle would leave their usage texts undefined at load).

const SIZE_RE = /^(\d+)([KMGT]?)(i?B)?$/i;
const UNITS: Record<string, number> = { '': 1, K: 2 ** 10, M: 2 ** 20, G: 2 ** 30, T: 2 ** 40 };

/** Why `text`, given for `flag`, is not a size parseSize takes: not one at all, zero, or past 2^53 − 1 bytes. */
export function sizeProblem(flag: string, text: string): string {
  const m = SIZE_RE.exec(text.trim());
  const n = m === null ? NaN : Number(m[1]) * (UNITS[(m[2] ?? '').toUpperCase()] ?? 1);
  if (n > Number.MAX_SAFE_INTEGER) return `${flag} ${text} is too large: at most 8191T (2^53 − 1 bytes)`;
  return `${flag} must be a positive size such as 64M or 1G, got '${text}'`;
}

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

/** A parseArgs token (node:util, `tokens: true`): only what repeatedFlag reads. */
interface FlagToken {
  readonly kind: string;
  readonly name?: string;
  readonly rawName?: string;
  readonly value?: string | undefined;
}

/**
 * The problem with a flag given more than once (`--memory 64M --memory 1G`), which parseArgs would settle
 * silently by the last: a conflict the user should resolve. Undefined when each flag appears once, but for
 * the `repeatable` ones, which take one value each time (parseArgs `multiple`).
 */
export function repeatedFlag(tokens: readonly FlagToken[] | undefined, repeatable: readonly string[] = []): string | undefined {
  const seen = new Map<string, FlagToken>();
  for (const t of tokens ?? []) {
    if (t.kind !== 'option' || t.name === undefined || repeatable.includes(t.name)) continue;
    const first = seen.get(t.name);
    if (first === undefined) {
      seen.set(t.name, t);
      continue;
    }
    const shown = (x: FlagToken): string => (x.value === undefined ? (x.rawName ?? t.name ?? '') : `${x.rawName ?? ''} ${x.value}`);
    return `${t.rawName ?? t.name} is given twice ('${shown(first)}', then '${shown(t)}'); give it once`;
  }
  return undefined;
}
