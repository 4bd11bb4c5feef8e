// A small deterministic random number generator for benchmark LBAs: the same
// seed gives the same access pattern in every run, so runs compare.

/** xorshift32 (Marsaglia): a uint32 stream from `seed` (0 is taken as 1). */
export function xorshift(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x;
  };
}
