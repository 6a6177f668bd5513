// Statistics for the sampler tests: exact CDFs (normal, Laplace, discrete Laplace, rounded normal),
// the Kolmogorov-Smirnov statistic and its critical value, moments, and the chi-square tail.

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

/** Lanczos log-gamma (g = 7, 9 terms), ~1e-15 relative for z > 0.5. */
function logGamma(z: number): number {
  const g = [
    0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
    12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
  ];
  z -= 1;
  let x = g[0]!;
  for (let i = 1; i < 9; i++) x += g[i]! / (z + i);
  const t = z + 7.5;
  return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t + Math.log(x);
}

/** Regularized upper incomplete gamma Q(a, x): series below a + 1, Lentz continued fraction above. */
function gammaQ(a: number, x: number): number {
  const logPrefix = -x + a * Math.log(x) - logGamma(a);
  if (x < a + 1) {
    let term = 1 / a;
    let sum = term;
    for (let n = 1; n < 100_000 && Math.abs(term) > Math.abs(sum) * 1e-17; n++) {
      term *= x / (a + n);
      sum += term;
    }
    return 1 - Math.exp(logPrefix) * sum;
  }
  const tiny = 1e-300;
  let b = x + 1 - a;
  let c = 1 / tiny;
  let d = 1 / b;
  let h = d;
  for (let i = 1; i < 100_000; i++) {
    const an = -i * (i - a);
    b += 2;
    d = an * d + b;
    if (Math.abs(d) < tiny) d = tiny;
    c = b + an / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const delta = d * c;
    h *= delta;
    if (Math.abs(delta - 1) < 1e-16) break;
  }
  return Math.exp(logPrefix) * h;
}

/** P(X >= stat) for X ~ chi-square(df): the p-value of a chi-square statistic. */
export const chiSquareSf = (stat: number, df: number): number => gammaQ(df / 2, stat / 2);
