// Completion latency as a power-of-two histogram (the shape of FreeBSD's
// devstat bintime buckets, coarsened): cheap enough to update on every CCB.

/** Buckets kept; the last one also holds everything slower (2^31 µs ≈ 36 min). */
export const LATENCY_BUCKETS = 32;

/** Latencies at or past this many µs go in the last bucket. */
const SLOWEST = 2 ** (LATENCY_BUCKETS - 1);

/** Bucket of a latency: bucket i holds latencies below 2^i µs and at least 2^(i-1) µs (bucket 0: below 1 µs). */
export function latencyBucket(us: number): number {
  if (!(us >= 1)) return 0; // also NaN and negative (a clock that stepped back)
  if (us >= SLOWEST) return LATENCY_BUCKETS - 1;
  return 32 - Math.clz32(us); // clz32 truncates to an integer itself
}

/** A latency histogram in microseconds. */
export class LatencyHistogram {
  // Float64: exact counts to 2^53, and a store that never changes the array's element kind.
  readonly #counts = new Float64Array(LATENCY_BUCKETS);

  record(us: number): void {
    const b = latencyBucket(us);
    this.#counts[b] = (this.#counts[b] ?? 0) + 1;
  }

  /** A copy of the counts, index = bucket. */
  snapshot(): number[] {
    return Array.from(this.#counts);
  }
}
