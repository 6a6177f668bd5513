// Exact discrete samplers (CKS20): chi-square goodness of fit against the exact PMF with fixed seeds at
// alpha = 1e-6, the exact Bernoulli(exp(-gamma)) and unbiased bounded-integer building blocks, and errors.
import { beforeAll, describe, expect, it } from 'vitest';
import { ready } from 'privkit';
import { bernoulliExp, createRng, discreteGaussian, discreteLaplace, uniformBelow } from 'privkit/dp';
import { chiSquareSf } from '../support/noise-stats.js';

beforeAll(ready);

const seeded = (k: number) => createRng({ seed: new Uint8Array(32).fill(k) });

/**
 * Pearson chi-square p-value of integer samples against `pmf` (normalized over the integers): one bin
 * per integer whose expected count is >= 20, the two tails pooled into one bin each.
 */
function chiSquarePValue(samples: Int32Array, pmf: (x: number) => number): { p: number; df: number } {
  const n = samples.length;
  let k = 0;
  while (n * pmf(k + 1) >= 20) k++;
  const expected: number[] = [];
  let inner = 0;
  for (let x = -k; x <= k; x++) {
    expected.push(n * pmf(x));
    inner += pmf(x);
  }
  const tail = Math.max(0, (1 - inner) / 2); // symmetric distributions
  const observed = new Array<number>(2 * k + 1).fill(0);
  let low = 0;
  let high = 0;
  for (const s of samples) {
    if (s < -k) low++;
    else if (s > k) high++;
    else observed[s + k]!++;
  }
  let stat = 0;
  for (let i = 0; i < observed.length; i++) stat += (observed[i]! - expected[i]!) ** 2 / expected[i]!;
  let df = observed.length - 1;
  if (n * tail >= 5) {
    stat += (low - n * tail) ** 2 / (n * tail) + (high - n * tail) ** 2 / (n * tail);
    df += 2;
  } else {
    expect(low + high).toBeLessThanOrEqual(5 + 10 * n * tail); // tails that should be (almost) empty are
  }
  return { p: chiSquareSf(stat, df), df };
}

const laplacePmf = (scale: number) => (x: number) => Math.tanh(1 / (2 * scale)) * Math.exp(-Math.abs(x) / scale);

function gaussianPmf(sigma: number): (x: number) => number {
  let z = 0;
  const reach = Math.ceil(40 * sigma + 40);
  for (let x = -reach; x <= reach; x++) z += Math.exp(-(x * x) / (2 * sigma * sigma));
  return (x) => Math.exp(-(x * x) / (2 * sigma * sigma)) / z;
}

describe('chi-square helper', () => {
  it('matches mpmath survival values', () => {
    expect(chiSquareSf(56.49, 15)).toBeCloseTo(1.001342443e-6, 14);
    expect(chiSquareSf(3, 2) / 0.22313016014843 - 1).toBeLessThan(1e-12);
    expect(Math.abs(chiSquareSf(100, 60) / 0.00091682886145608 - 1)).toBeLessThan(1e-10);
    expect(Math.abs(chiSquareSf(20, 30) / 0.916541527065337 - 1)).toBeLessThan(1e-10);
  });
});

describe('discreteLaplace (CKS20 Algorithm 2)', () => {
  // 1 + 2^-52 has a 53-bit numerator: the BigInt acceptance path
  for (const [i, scale] of [0.5, 1, 3.7, 20, 1 + 2 ** -52, 0.1].entries()) {
    it(`fits the exact PMF at scale ${scale} (chi-square, alpha 1e-6)`, () => {
      const samples = discreteLaplace(150_000, scale, { rng: seeded(10 + i) });
      const { p, df } = chiSquarePValue(samples, laplacePmf(scale));
      expect(df).toBeGreaterThanOrEqual(scale >= 1 ? 4 : 2);
      expect(p).toBeGreaterThan(1e-6);
    });
  }

  it('a tiny scale gives zeros (P(x != 0) ~ 2 e^-1000)', () => {
    expect(discreteLaplace(2000, 1e-3, { rng: seeded(3) }).every((x) => x === 0)).toBe(true);
    expect(discreteLaplace(100, 2 ** -1074, { rng: seeded(3) }).every((x) => x === 0)).toBe(true);
  });

  it('large scales: variance 2 e^{-1/b} / (1 - e^{-1/b})^2 within 5 standard errors', () => {
    const scale = 2 ** 20 + 0.3;
    const n = 40_000;
    const x = discreteLaplace(n, scale, { rng: seeded(4) });
    let m2 = 0;
    for (const v of x) m2 += (v / scale) ** 2;
    m2 /= n;
    const q = Math.exp(-1 / scale);
    const expected = (2 * q) / (1 - q) ** 2 / scale ** 2;
    expect(Math.abs(m2 - expected)).toBeLessThan(5 * Math.sqrt(20 / n));
  });

  it('is reproducible with a seed, and fresh without one', () => {
    expect(discreteLaplace(500, 2.5, { rng: seeded(5) })).toEqual(discreteLaplace(500, 2.5, { rng: seeded(5) }));
    expect(discreteLaplace(500, 2.5)).not.toEqual(discreteLaplace(500, 2.5));
    expect(discreteLaplace(0, 1)).toEqual(new Int32Array(0));
  });
});

describe('discreteGaussian (CKS20 Algorithm 3)', () => {
  for (const [i, sigma] of [0.5, 1, 3.7, 20, 1 + 2 ** -52, 0.3].entries()) {
    it(`fits the exact PMF at sigma ${sigma} (chi-square, alpha 1e-6)`, () => {
      const samples = discreteGaussian(150_000, sigma, { rng: seeded(30 + i) });
      const { p, df } = chiSquarePValue(samples, gaussianPmf(sigma));
      expect(df).toBeGreaterThanOrEqual(2);
      expect(p).toBeGreaterThan(1e-6);
    });
  }

  it('large sigma: variance sigma^2 within 5 standard errors, mean 0', () => {
    const sigma = 12345.678;
    const n = 40_000;
    const x = discreteGaussian(n, sigma, { rng: seeded(6) });
    let m1 = 0;
    let m2 = 0;
    for (const v of x) {
      m1 += v / sigma;
      m2 += (v / sigma) ** 2;
    }
    expect(Math.abs(m1 / n)).toBeLessThan(5 / Math.sqrt(n));
    expect(Math.abs(m2 / n - 1)).toBeLessThan(5 * Math.sqrt(2 / n));
  });

  it('the chi-square test rejects a wrong sigma (the test has power)', () => {
    const samples = discreteGaussian(150_000, 3.7, { rng: seeded(7) });
    expect(chiSquarePValue(samples, gaussianPmf(3.8)).p).toBeLessThan(1e-6);
    expect(chiSquarePValue(discreteLaplace(150_000, 3.7, { rng: seeded(8) }), laplacePmf(3.8)).p).toBeLessThan(1e-6);
  });
});

describe('exact building blocks', () => {
  const binomialZ = (successes: number, n: number, p: number) => (successes - n * p) / Math.sqrt(n * p * (1 - p));

  it('bernoulliExp(gamma) succeeds with probability exp(-gamma) (|z| < 4.89, alpha 1e-6)', () => {
    // 1 + 2^-52 and 0.1 have large dyadic denominators (BigInt path); 2.5 runs two exp(-1) rounds first
    for (const [i, gamma] of [0.5, 1, 2.5, 1e-3, 1 + 2 ** -52, 0.1, 7].entries()) {
      const n = 200_000;
      const trials = bernoulliExp(n, gamma, { rng: seeded(50 + i) });
      const successes = trials.reduce((a, b) => a + b, 0);
      expect(trials.every((t) => t === 0 || t === 1)).toBe(true);
      expect(Math.abs(binomialZ(successes, n, Math.exp(-gamma)))).toBeLessThan(4.89);
    }
    expect(bernoulliExp(1000, 0, { rng: seeded(1) }).every((t) => t === 1)).toBe(true);
    expect(bernoulliExp(1000, 800, { rng: seeded(1) }).every((t) => t === 0)).toBe(true);
  });

  it('uniformBelow has no modulo bias: for bound 3 * 2^k the lowest third gets 1/3, not 1/2', () => {
    // reducing a 32-bit (or 53-bit) word modulo 3 * 2^30 (3 * 2^50) would put half the mass below 2^30 (2^50)
    for (const [i, k] of [30, 50].entries()) {
      const bound = 3 * 2 ** k;
      const n = 120_000;
      const u = uniformBelow(n, bound, { rng: seeded(60 + i) });
      expect(u.every((v) => Number.isInteger(v) && v >= 0 && v < bound)).toBe(true);
      const low = u.reduce((a, v) => a + (v < 2 ** k ? 1 : 0), 0);
      expect(Math.abs(binomialZ(low, n, 1 / 3))).toBeLessThan(4.89);
      const high = u.reduce((a, v) => a + (v >= 2 * 2 ** k ? 1 : 0), 0);
      expect(Math.abs(binomialZ(high, n, 1 / 3))).toBeLessThan(4.89);
    }
  });

  it('uniformBelow is uniform on small bounds (chi-square) and covers the full 53-bit range', () => {
    for (const [i, bound] of [2, 7, 1000].entries()) {
      const n = 100_000;
      const counts = new Array<number>(bound).fill(0);
      for (const v of uniformBelow(n, bound, { rng: seeded(70 + i) })) counts[v]!++;
      const stat = counts.reduce((a, c) => a + (c - n / bound) ** 2 / (n / bound), 0);
      expect(chiSquareSf(stat, bound - 1)).toBeGreaterThan(1e-6);
    }
    expect(uniformBelow(10, 1)).toEqual(new Float64Array(10));
    const big = uniformBelow(2000, Number.MAX_SAFE_INTEGER, { rng: seeded(80) });
    expect(big.some((v) => v >= 2 ** 52)).toBe(true);
    expect(big.some((v) => v % 2 === 1)).toBe(true);
  });
});

describe('errors', () => {
  const rejects = (f: () => unknown, argument: string, code = 'E_ARG') =>
    expect(f).toThrow(expect.objectContaining({ code, argument }));

  it('rejects bad lengths, scales, sigmas, gammas, bounds and generators', () => {
    for (const sampler of [discreteLaplace, discreteGaussian]) {
      const name = sampler === discreteLaplace ? 'scale' : 'sigma';
      for (const length of [-1, 1.5, Number.NaN, 2 ** 28 + 1, '3' as unknown as number]) rejects(() => sampler(length, 1), 'length');
      for (const bad of [0, -1, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 24 * 1.01, '1' as unknown as number]) {
        rejects(() => sampler(3, bad), name);
      }
      rejects(() => sampler(3, 1, { rng: {} as never }), 'opts.rng');
      rejects(() => sampler(3, 1, 5 as never), 'opts');
    }
    rejects(() => bernoulliExp(3, -0.5), 'gamma');
    rejects(() => bernoulliExp(3, Number.POSITIVE_INFINITY), 'gamma');
    for (const bound of [0, 2.5, 2 ** 53, -3]) rejects(() => uniformBelow(3, bound), 'bound');
  });
});
