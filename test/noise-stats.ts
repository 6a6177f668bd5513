// Statistics for the sampler tests: exact CDFs (normal, Laplace, discrete Laplace, rounded normal),
// the Kolmogorov-Smirnov statistic and its critical value, and moments.

/** erfc(x) to ~1e-13: Taylor series of erf for |x| < 3, Lentz continued fraction beyond. */
export function erfc(x: number): number {
  if (x < 0) return 2 - erfc(-x);
  if (x < 3) {
    let term = x;
    let sum = x;
    for (let n = 1; n < 200; n++) {
      term *= (-x * x) / n;
      const add = term / (2 * n + 1);
      sum += add;
      if (Math.abs(add) < 1e-17 * Math.abs(sum)) break;
    }
    return 1 - (2 / Math.sqrt(Math.PI)) * sum;
  }
  // erfc(x) = exp(-x^2)/sqrt(pi) * 1/(x + 1/2/(x + 1/(x + 3/2/(x + ...))))
  const tiny = 1e-300;
  let f = x;
  let c = x;
  let d = 0;
  for (let n = 1; n < 500; n++) {
    const a = n / 2;
    d = x + a * d;
    d = d === 0 ? tiny : 1 / d;
    c = x + a / c;
    if (c === 0) c = tiny;
    const delta = c * d;
    f *= delta;
    if (Math.abs(delta - 1) < 1e-16) break;
  }
  return Math.exp(-x * x) / Math.sqrt(Math.PI) / f;
}

export const normalCdf = (x: number, sigma = 1): number => 0.5 * erfc(-x / (sigma * Math.SQRT2));
export const laplaceCdf = (x: number, b = 1): number => (x < 0 ? 0.5 * Math.exp(x / b) : 1 - 0.5 * Math.exp(-x / b));

/** CDF of the two-sided geometric P(Z = z) = (1 - q)/(1 + q) q^|z|, q = exp(-1/t). */
export function discreteLaplaceCdf(z: number, t: number): number {
  const q = Math.exp(-1 / t);
  return z < 0 ? Math.pow(q, -z) / (1 + q) : 1 - Math.pow(q, z + 1) / (1 + q);
}

/**
 * Kolmogorov-Smirnov statistic of `samples` against `cdf`. With `discrete`, samples are integers and
 * cdf(z - 1) is the left limit at z.
 */
export function ksStatistic(samples: ArrayLike<number>, cdf: (x: number) => number, discrete = false): number {
  const sorted = Float64Array.from(samples).sort();
  const n = sorted.length;
  let d = 0;
  for (let i = 0; i < n; ) {
    let j = i;
    while (j + 1 < n && sorted[j + 1] === sorted[i]) j++;
    const x = sorted[i]!;
    const below = discrete ? cdf(x - 1) : cdf(x);
    d = Math.max(d, (j + 1) / n - cdf(x), below - i / n);
    i = j + 1;
  }
  return d;
}

/** Critical value of the KS statistic at significance alpha (asymptotic, two-sided). */
export const ksCritical = (n: number, alpha = 1e-6): number => Math.sqrt(-Math.log(alpha / 2) / (2 * n));

export function moments(x: ArrayLike<number>): { mean: number; variance: number; kurtosis: number } {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i]!;
  const mean = s / x.length;
  let m2 = 0;
  let m4 = 0;
  for (let i = 0; i < x.length; i++) {
    const d = x[i]! - mean;
    m2 += d * d;
    m4 += d * d * d * d;
  }
  const variance = m2 / x.length;
  return { mean, variance, kurtosis: m4 / x.length / (variance * variance) };
}

/** A 32-byte seed from a small integer (tests only). */
export const seed = (k: number): Uint8Array => Uint8Array.from({ length: 32 }, (_, i) => (k * 131 + i * 7) & 0xff);
