// Plain-TypeScript reference of privkit/tfjs's outer-product sum (assembly/tfjs/outer-products.ts,
// weightedOuterSum): the exact float64 operations, in their order, that the privacy argument of
// src/tfjs/noised-sum.ts bounds. The oracle of the kernel's property test (bit for bit); not exported.

/**
 * sum[j q + k] += fl(fl(w_i a[i p + j]) g[i q + k]) for the examples i = 0..n-1 in order, skipping
 * those with w_i = 0 (their values may not be finite) and the products with fl(w_i a_ij) = 0;
 * a [n, p] and g [n, q] row-major, sum [p, q]. Nothing is checked.
 */
export function weightedOuterSum(a: Float32Array, g: Float32Array, w: Float64Array, n: number, p: number, q: number, sum: Float64Array): void {
  for (let i = 0; i < n; i++) {
    const wi = w[i]!;
    if (wi === 0) continue;
    for (let j = 0; j < p; j++) {
      const x = wi * a[i * p + j]!;
      if (x === 0) continue;
      for (let k = 0; k < q; k++) sum[j * q + k] = sum[j * q + k]! + x * g[i * q + k]!;
    }
  }
}
