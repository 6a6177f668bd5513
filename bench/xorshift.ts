// xorshift32 (Marsaglia 2003): reproducible benchmark inputs, with no imports so that page
// scripts bundled for the browser can use it too.

/** Deterministic data for benchmarks (xorshift32): NOT privacy randomness, only reproducible inputs. */
export function xorshift32(seed: number): () => number {
  let s = seed >>> 0 || 0x9e3779b9;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 4294967296; // uniform in [0, 1)
  };
}
