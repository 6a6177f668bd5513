// Statistics for the sampler tests: exact CDFs (normal, Laplace, discrete Laplace, rounded normal),
// the Kolmogorov-Smirnov statistic and its critical value, moments, the chi-square tail and its
// critical value, and a binned chi-square test of integer samples whose bins are sized so that a
// given relative error in any one of them is visible.

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

/** The exact discrete Gaussian pmf on [-K, K] (K = 12 sigma + 12: the mass beyond is below 1e-31). */
export function discreteGaussianPmf(sigma: number): { K: number; p: Float64Array } {
  const K = Math.ceil(12 * sigma + 12);
  const p = new Float64Array(2 * K + 1);
  let total = 0;
  for (let k = -K; k <= K; k++) total += p[k + K] = Math.exp(-(k * k) / (2 * sigma * sigma));
  for (let i = 0; i < p.length; i++) p[i]! /= total;
  return { K, p };
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

/** The critical value x with P(X >= x) = alpha for X ~ chi-square(df) (bisection on chiSquareSf). */
export function chiSquareCritical(df: number, alpha = 1e-6): number {
  let lo = 0;
  let hi = df + 10;
  while (chiSquareSf(hi, df) > alpha) hi *= 2;
  for (let i = 0; i < 200 && hi - lo > 1e-12 * hi; i++) {
    const mid = 0.5 * (lo + hi);
    if (chiSquareSf(mid, df) > alpha) lo = mid;
    else hi = mid;
  }
  return hi;
}

/** A histogram of integer samples on [-K, K]: counts[k + K]; samples beyond the range go to the end cells. */
export class IntegerHistogram {
  readonly counts: Float64Array;
  total = 0;

  constructor(readonly K: number) {
    this.counts = new Float64Array(2 * K + 1);
  }

  add(samples: ArrayLike<number>): void {
    const { K, counts } = this;
    for (let i = 0; i < samples.length; i++) counts[Math.min(2 * K, Math.max(0, samples[i]! + K))]!++;
    this.total += samples.length;
  }
}

export interface IntegerChiSquare {
  /** Pearson's statistic, its degrees of freedom (bins - 1) and p-value. */
  stat: number;
  df: number;
  p: number;
  bins: number;
  /** The fewest samples any bin expects. */
  minExpected: number;
  /**
   * The relative error of the least populated bin whose contribution alone, delta^2 E, reaches the
   * critical value at alpha: any single bin off by this much (or more) fails the test on average
   * by a margin of df (the statistic's null mean).
   */
  resolution: number;
}

/**
 * Pearson chi-square test of a histogram of integer samples against the pmf p on the same cells
 * (p[k + K], summing to 1). Bins grow outward from the pmf's mode: the mode and as many neighbours
 * on both sides as it takes to expect `minExpected` samples, then on each side runs of consecutive
 * integers pooled until a run expects at least minExpected (a side's remainder joins its outermost
 * run, or the center when it has none). Given `resolution` instead, minExpected is the least
 * count E for which a relative error `resolution` in a bin of E samples contributes the critical
 * value, resolution^2 E = chiSquareCritical(df, alpha), found by iterating over df (the bin count
 * falls as E grows, so this settles in a few rounds). The statistic's chi-square law needs
 * minExpected >= ~20.
 */
export function integerChiSquare(
  histogram: IntegerHistogram,
  p: Float64Array,
  opts: { minExpected?: number; resolution?: number; alpha?: number },
): IntegerChiSquare {
  const alpha = opts.alpha ?? 1e-6;
  const n = histogram.total;
  const makeBins = (minExpected: number) => binsOutward(p, n, minExpected);
  let binOf: Int32Array;
  let expected: number[];
  if (opts.resolution === undefined) {
    ({ binOf, expected } = makeBins(opts.minExpected ?? 20));
  } else {
    let minExpected = chiSquareCritical(1, alpha) / opts.resolution ** 2;
    for (let round = 0; ; round++) {
      ({ binOf, expected } = makeBins(minExpected));
      const needed = chiSquareCritical(Math.max(1, expected.length - 1), alpha) / opts.resolution ** 2;
      if (needed <= minExpected || round === 20) break;
      minExpected = needed;
    }
  }
  const observed = new Float64Array(expected.length);
  for (let i = 0; i < histogram.counts.length; i++) observed[binOf[i]!]! += histogram.counts[i]!;
  let stat = 0;
  for (let b = 0; b < expected.length; b++) stat += (observed[b]! - expected[b]!) ** 2 / expected[b]!;
  const df = expected.length - 1;
  const fewest = Math.min(...expected);
  return {
    stat,
    df,
    p: chiSquareSf(stat, df),
    bins: expected.length,
    minExpected: fewest,
    resolution: Math.sqrt(chiSquareCritical(Math.max(1, df), alpha) / fewest),
  };
}

/**
 * integerChiSquare's bins: binOf[cell] and the expected count of each bin (n p summed over its cells).
 */
function binsOutward(p: Float64Array, n: number, minExpected: number): { binOf: Int32Array; expected: number[] } {
  let mode = 0;
  for (let i = 1; i < p.length; i++) if (p[i]! > p[mode]!) mode = i;
  type Run = { cells: number[]; expected: number };
  // the center: the mode and its neighbours on both sides, widened until it expects minExpected
  const center: Run = { cells: [mode], expected: n * p[mode]! };
  let below = mode;
  let above = mode;
  while (center.expected < minExpected && (below > 0 || above < p.length - 1)) {
    for (const cell of [--below, ++above]) {
      if (cell < 0 || cell >= p.length) continue;
      center.cells.push(cell);
      center.expected += n * p[cell]!;
    }
  }
  /** The runs of one side, outward from the mode. */
  const side = (step: 1 | -1): Run[] => {
    const runs: Run[] = [];
    let run: Run = { cells: [], expected: 0 };
    for (let i = (step > 0 ? above : below) + step; i >= 0 && i < p.length; i += step) {
      run.cells.push(i);
      run.expected += n * p[i]!;
      if (run.expected >= minExpected) {
        runs.push(run);
        run = { cells: [], expected: 0 };
      }
    }
    const home = runs[runs.length - 1] ?? center;
    home.cells.push(...run.cells);
    home.expected += run.expected;
    return runs;
  };
  const ordered = [...side(-1).reverse(), center, ...side(1)];
  const binOf = new Int32Array(p.length);
  ordered.forEach((run, b) => run.cells.forEach((cell) => (binOf[cell] = b)));
  return { binOf, expected: ordered.map((run) => run.expected) };
}
