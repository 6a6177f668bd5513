// Analytic Gaussian calibration (Balle and Wang 2018) and its erfc, the secure Laplace / Gaussian /
// discrete Gaussian mechanisms, and Google-style bounded aggregates (count, sum, mean, histogram).
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { ready } from 'privkit';
import {
  analyticGaussianSigma,
  classicGaussianSigma,
  createRng,
  discreteGaussianMechanism,
  dpCount,
  dpHistogram,
  dpMean,
  dpSum,
  erfc,
  erfcx,
  exactSum,
  gaussianDelta,
  gaussianMechanism,
  gaussianResolution,
  laplaceMechanism,
  laplaceResolution,
  normalCdf,
  secureValueBound,
} from 'privkit/dp';
import { samplerSlack, samplerTailMass } from '../../dist/src/dp/secure.js';
import { FC_SEED } from '../support/helpers.js';

beforeAll(ready);

const seeded = (k: number) => createRng({ seed: new Uint8Array(32).fill(k) });
const rel = (a: number, b: number) => Math.abs(a / b - 1);
const rejects = (f: () => unknown, argument: string, code = 'E_ARG') => expect(f).toThrow(expect.objectContaining({ code, argument }));

describe('erfc (Cody 1969)', () => {
  it('matches 20-digit mpmath values to 1e-15 relative', () => {
    const known: [number, number][] = [
      [-3, 1.9999779095030014146],
      [-1, 1.8427007929497148693],
      [-1e-3, 1.0011283787909692364],
      [0, 1],
      [0.25, 0.72367360983176306701],
      [0.5, 0.47950012218695346232],
      [0.75, 0.2888443663464848684],
      [1, 0.15729920705028513066],
      [2.5, 0.00040695201744495893956],
      [4, 1.5417257900280018852e-8],
      [6, 2.1519736712498913117e-17],
      [10, 2.088487583762544757e-45],
      [26, 5.6631924088561428465e-296],
    ];
    for (const [x, value] of known) expect(rel(erfc(x), value), `erfc(${x})`).toBeLessThan(1e-15);
    expect(rel(normalCdf(-8), 6.2209605742717841235e-16)).toBeLessThan(1e-14);
    expect(rel(normalCdf(-1.5), 0.066807201268858066004)).toBeLessThan(1e-15);
    expect(rel(normalCdf(2), 0.9772498680518207928)).toBeLessThan(1e-15);
    expect(erfc(30)).toBe(0);
    expect(erfc(-30)).toBe(2);
  });

  it('erfcx(x) = erfc(x) e^{x^2}, and erfc(-x) = 2 - erfc(x)', () => {
    fc.assert(
      fc.property(fc.double({ min: -5, max: 25, noNaN: true }), (x) => {
        expect(rel(erfcx(x), erfc(x) * Math.exp(x * x))).toBeLessThan(x > 5 ? 1e-12 : 1e-14);
        expect(Math.abs(erfc(-x) - (2 - erfc(x)))).toBeLessThan(4e-16);
      }),
      { seed: FC_SEED, numRuns: 300 },
    );
  });
});

describe('analytic Gaussian sigma (Balle and Wang 2018)', () => {
  // Roots of delta(sigma) = delta solved with mpmath at 60 digits.
  const table: [number, number, number, number][] = [
    [1, 1e-5, 1, 3.7306316348159418],
    [0.1, 1e-5, 1, 30.749566131977448],
    [0.5, 1e-6, 2, 16.115236961450089],
    [2, 1e-8, 1, 2.6529267680558253],
    [5, 1e-10, 1, 1.2807779778932222],
    [10, 1e-5, 1, 0.49988861970900851],
    [0.01, 1e-10, 1, 501.29213292600074],
    [1, 0.1, 1, 1.0858777651918565],
    [0.05, 1e-3, 3, 90.0309863415704],
    [20, 1e-20, 1, 0.50342606306204477],
    [1, 1e-100, 1, 21.009409042300621],
    [3, 1e-200, 0.5, 5.0109987939581755],
  ];

  it('matches high-precision roots to 1e-12 relative', () => {
    for (const [epsilon, delta, l2Sensitivity, sigma] of table) {
      expect(rel(analyticGaussianSigma({ epsilon, delta, l2Sensitivity }), sigma), `${epsilon}, ${delta}`).toBeLessThan(1e-12);
    }
  });

  it('epsilon = 1, delta = 1e-5, Delta = 1: 3.7306 against the classic, looser 4.8448', () => {
    const params = { epsilon: 1, delta: 1e-5, l2Sensitivity: 1 };
    expect(classicGaussianSigma(params)).toBeCloseTo(4.8448, 4);
    expect(analyticGaussianSigma(params)).toBeCloseTo(3.7306, 4);
  });

  it('the delta equation holds to 1e-12 relative, sigma is minimal, and beats the classic bound for epsilon <= 1', () => {
    fc.assert(
      fc.property(
        fc.double({ min: -2, max: 1.3, noNaN: true }),
        fc.double({ min: -15, max: -0.5, noNaN: true }),
        fc.double({ min: -3, max: 3, noNaN: true }),
        (logEps, logDelta, logSens) => {
          const epsilon = 10 ** logEps;
          const delta = 10 ** logDelta;
          const l2Sensitivity = 10 ** logSens;
          const sigma = analyticGaussianSigma({ epsilon, delta, l2Sensitivity });
          expect(rel(gaussianDelta(sigma, { epsilon, l2Sensitivity }), delta)).toBeLessThan(1e-12);
          expect(gaussianDelta(sigma * (1 - 1e-9), { epsilon, l2Sensitivity })).toBeGreaterThan(delta);
          // the equation as written, with the library's normal CDF, where its cancellation is mild
          if (epsilon >= 0.1 && delta >= 1e-10) {
            const s = sigma / l2Sensitivity;
            const direct = normalCdf(1 / (2 * s) - epsilon * s) - Math.exp(epsilon) * normalCdf(-1 / (2 * s) - epsilon * s);
            expect(rel(direct, delta)).toBeLessThan(1e-11);
          }
          if (epsilon <= 1) expect(sigma).toBeLessThan(classicGaussianSigma({ epsilon, delta, l2Sensitivity }));
        },
      ),
      { seed: FC_SEED, numRuns: 200 },
    );
  });

  it('rejects bad parameters', () => {
    const ok = { epsilon: 1, delta: 1e-5, l2Sensitivity: 1 };
    for (const [key, bad] of [
      ['epsilon', 0],
      ['epsilon', Number.NaN],
      ['delta', 0],
      ['delta', 1],
      ['delta', -1e-5],
      ['l2Sensitivity', Number.POSITIVE_INFINITY],
      ['l2Sensitivity', -1],
    ] as const) {
      rejects(() => analyticGaussianSigma({ ...ok, [key]: bad }), key);
      rejects(() => classicGaussianSigma({ ...ok, [key]: bad }), key);
    }
    rejects(() => gaussianDelta(0, ok), 'sigma');
  });
});

/** Sample variance of released noise around the inputs. */
function noiseMoments(out: Float64Array, input: Float64Array): { mean: number; variance: number; kurtosis: number } {
  let m1 = 0;
  let m2 = 0;
  let m4 = 0;
  for (let i = 0; i < out.length; i++) {
    const z = out[i]! - input[i]!;
    m1 += z;
    m2 += z * z;
    m4 += z ** 4;
  }
  const n = out.length;
  return { mean: m1 / n, variance: m2 / n, kurtosis: m4 / n / (m2 / n) ** 2 };
}

describe('laplaceMechanism', () => {
  it('scale = (Delta + resolution) / epsilon, just above Delta / epsilon', () => {
    for (const [epsilon, l1Sensitivity] of [
      [1, 1],
      [0.1, 3],
      [2.5, 0.01],
      [1e-6, 1e6],
      [1, 1 - 2 ** -40], // Delta / epsilon just below a power of two: the resolution doubles
    ] as const) {
      const m = laplaceMechanism({ epsilon, l1Sensitivity });
      expect(m.epsilon).toBe(epsilon);
      expect(m.resolution).toBe(laplaceResolution(m.scale));
      // Calibrated for epsilon less twice the sampler's slack (samplerSlack, charged for its 2e-15 pmf error).
      const ideal = epsilon - 2 * samplerSlack('laplace', 1);
      expect(m.scale).toBeGreaterThanOrEqual((l1Sensitivity + m.resolution) / ideal);
      expect(rel(m.scale, (l1Sensitivity + m.resolution) / ideal)).toBeLessThan(1e-15);
      expect(m.scale / (l1Sensitivity / epsilon) - 1).toBeLessThan(2 ** -22 / Math.min(1, epsilon));
    }
  });

  it('releases on the resolution lattice with variance 2 scale^2 and kurtosis 6', () => {
    const rng = seeded(1);
    const m = laplaceMechanism({ epsilon: 0.5, l1Sensitivity: 1, dimension: 200_000, rng });
    const input = Float64Array.from({ length: 200_000 }, (_, i) => (i % 7) * 0.3 - 1);
    const out = m.release(input);
    expect(out).not.toBe(input);
    expect(out.every((v) => Number.isInteger(v / m.resolution))).toBe(true);
    const { mean, variance, kurtosis } = noiseMoments(out, input);
    const n = input.length;
    expect(Math.abs(mean) / m.scale).toBeLessThan(4.9 * Math.sqrt(2 / n));
    expect(rel(variance, 2 * m.scale ** 2)).toBeLessThan(4.9 * Math.sqrt(5 / n));
    expect(Math.abs(kurtosis - 6)).toBeLessThan(0.5);
  });

  it('is reproducible with a seeded rng', () => {
    const a = laplaceMechanism({ epsilon: 1, l1Sensitivity: 1, dimension: 100, rng: seeded(2) }).release(new Float64Array(100));
    const b = laplaceMechanism({ epsilon: 1, l1Sensitivity: 1, dimension: 100, rng: seeded(2) }).release(new Float64Array(100));
    expect(a).toEqual(b);
  });

  it('rejects bad arguments', () => {
    for (const [key, bad] of [
      ['epsilon', 0],
      ['epsilon', Number.NaN],
      ['epsilon', 'x'],
      ['l1Sensitivity', -1],
      ['l1Sensitivity', Number.POSITIVE_INFINITY],
    ] as const) {
      rejects(() => laplaceMechanism({ epsilon: 1, l1Sensitivity: 1, [key]: bad } as never), key);
    }
    rejects(() => laplaceMechanism({ epsilon: 1e-300, l1Sensitivity: 1e10 }), 'epsilon');
    // no options: the first required field is named; a non-object is refused as such
    rejects(() => laplaceMechanism(undefined as never), 'epsilon');
    rejects(() => laplaceMechanism(1 as never), 'opts');
    rejects(() => laplaceMechanism({ epsilon: 1, l1Sensitivity: 1, rng: 3 as never }), 'opts.rng');
    rejects(() => laplaceMechanism({ epsilon: 1, l1Sensitivity: 1, dimension: 0 }), 'dimension');
    rejects(() => laplaceMechanism({ epsilon: 1, l1Sensitivity: 1, dimension: 2.5 }), 'dimension');
    const m = laplaceMechanism({ epsilon: 1, l1Sensitivity: 1, dimension: 2 });
    rejects(() => m.release(new Float32Array(3) as never), 'values');
    rejects(() => m.release(Float64Array.of(0, Number.NaN)), 'values', 'E_NONFINITE');
    rejects(() => m.release(new Float64Array(3)), 'values', 'E_SHAPE');
  });
});

describe('gaussianMechanism', () => {
  it('sigma is the analytic sigma for Delta + resolution', () => {
    for (const [epsilon, delta, l2Sensitivity] of [
      [1, 1e-5, 1],
      [0.3, 1e-8, 2],
      [8, 1e-6, 0.5],
    ] as const) {
      const m = gaussianMechanism({ epsilon, delta, l2Sensitivity });
      expect(m.resolution).toBe(gaussianResolution(m.sigma));
      expect(m.sigma).toBeGreaterThan(analyticGaussianSigma({ epsilon, delta, l2Sensitivity }));
      // The ideal mechanism is calibrated at (epsilon - 2s, e^-s (delta - (1 + e^epsilon) T)) for the sampler's slack s and tail mass T.
      const slack = samplerSlack('gaussian', 1);
      const tail = samplerTailMass('gaussian', 1);
      expect(tail).toBeLessThan(1e-56);
      const ideal = { epsilon: epsilon - 2 * slack, delta: (delta - (1 + Math.exp(epsilon)) * tail * (1 + 1e-12)) * Math.exp(-slack) * (1 - 1e-15) };
      expect(rel(m.sigma, analyticGaussianSigma({ ...ideal, l2Sensitivity: l2Sensitivity + m.resolution }))).toBeLessThan(1e-15);
      expect(gaussianDelta(m.sigma, { epsilon: ideal.epsilon, l2Sensitivity: l2Sensitivity + m.resolution })).toBeLessThanOrEqual(ideal.delta * (1 + 1e-12));
    }
  });

  it('releases on the lattice with variance sigma^2', () => {
    const m = gaussianMechanism({ epsilon: 1, delta: 1e-5, l2Sensitivity: 1, dimension: 200_000, rng: seeded(3) });
    const input = Float64Array.from({ length: 200_000 }, (_, i) => Math.sin(i) * 100);
    const out = m.release(input);
    expect(out.every((v) => Number.isInteger(v / m.resolution))).toBe(true);
    const { mean, variance } = noiseMoments(out, input);
    const n = input.length;
    expect(Math.abs(mean) / m.sigma).toBeLessThan(4.9 / Math.sqrt(n));
    expect(rel(variance, m.sigma ** 2)).toBeLessThan(4.9 * Math.sqrt(2 / n));
  });

  it('rejects bad arguments', () => {
    const ok = { epsilon: 1, delta: 1e-5, l2Sensitivity: 1 };
    for (const [key, bad] of [
      ['epsilon', -1],
      ['delta', 1],
      ['delta', 0],
      ['delta', undefined],
      ['l2Sensitivity', 0],
      ['dimension', -1],
      ['dimension', 2 ** 31],
    ] as const) {
      rejects(() => gaussianMechanism({ ...ok, [key]: bad } as never), key);
    }
    rejects(() => gaussianMechanism(ok).release([1, 2] as never), 'values');
    rejects(() => gaussianMechanism(ok).release(new Float64Array(2)), 'values', 'E_SHAPE');
    // the charge grows as fast as the noise: 2^-24 sigma sqrt(d) >= Delta has no consistent lattice
    rejects(() => gaussianMechanism({ epsilon: 1e-3, delta: 1e-5, l2Sensitivity: 1, dimension: 2 ** 30 }), 'dimension');
  });
});

describe('discreteGaussianMechanism', () => {
  it('rho = Delta^2 / (2 sigma^2); a target rho gives the smallest sigma meeting it', () => {
    expect(discreteGaussianMechanism({ sigma: 2, l2Sensitivity: 1 }).rho).toBe(0.125);
    expect(discreteGaussianMechanism({ sigma: 10, l2Sensitivity: 3 }).rho).toBeCloseTo(0.045, 15);
    for (const rho of [0.5, 0.01, 1e-4, 0.3]) {
      const m = discreteGaussianMechanism({ rho, l2Sensitivity: 2 });
      expect(m.rho).toBeLessThanOrEqual(rho);
      expect(rel(m.sigma, 2 / Math.sqrt(2 * rho))).toBeLessThan(1e-15);
    }
  });

  it('adds exact discrete Gaussian noise: integer outputs, mean 0, variance sigma^2', () => {
    const m = discreteGaussianMechanism({ sigma: 5, l2Sensitivity: 1, rng: seeded(4) });
    const input = Int32Array.from({ length: 100_000 }, (_, i) => (i % 11) - 5);
    const out = m.release(input);
    expect(out).toBeInstanceOf(Int32Array);
    let m1 = 0;
    let m2 = 0;
    for (let i = 0; i < out.length; i++) {
      const z = out[i]! - input[i]!;
      m1 += z;
      m2 += z * z;
    }
    const n = out.length;
    expect(Math.abs(m1 / n) / 5).toBeLessThan(4.9 / Math.sqrt(n));
    // the discrete Gaussian's variance equals sigma^2 to ~1e-300 at sigma = 5
    expect(rel(m2 / n, 25)).toBeLessThan(4.9 * Math.sqrt(2 / n));
  });

  it('rejects bad arguments', () => {
    rejects(() => discreteGaussianMechanism({ l2Sensitivity: 1 }), 'sigma');
    rejects(() => discreteGaussianMechanism({ sigma: 1, rho: 1, l2Sensitivity: 1 }), 'rho');
    rejects(() => discreteGaussianMechanism({ sigma: -1, l2Sensitivity: 1 }), 'sigma');
    rejects(() => discreteGaussianMechanism({ sigma: 2 ** 25, l2Sensitivity: 1 }), 'sigma');
    rejects(() => discreteGaussianMechanism({ rho: 1e-20, l2Sensitivity: 1 }), 'rho');
    rejects(() => discreteGaussianMechanism({ rho: Number.NaN, l2Sensitivity: 1 }), 'rho');
    rejects(() => discreteGaussianMechanism({ sigma: 1, l2Sensitivity: 0 }), 'l2Sensitivity');
    const m = discreteGaussianMechanism({ sigma: 1, l2Sensitivity: 1 });
    rejects(() => m.release(new Float64Array(2) as never), 'values');
    expect(() => m.release(Int32Array.of(0, 2 ** 30 + 1))).toThrow(expect.objectContaining({ code: 'E_ARG', argument: 'values', index: 1 }));
  });
});

describe('exactSum', () => {
  it('equals the correctly rounded exact sum (BigInt oracle)', () => {
    // doubles m 2^e with |m| < 2^53, e in [-60, 60]: exact multiples of 2^-60
    const dyadic = fc
      .tuple(fc.integer({ min: -(2 ** 53) + 1, max: 2 ** 53 - 1 }), fc.integer({ min: -60, max: 60 }))
      .map(([m, e]) => m * 2 ** e);
    fc.assert(
      fc.property(fc.array(dyadic, { maxLength: 40 }), (xs) => {
        const exact = xs.reduce((acc, x) => acc + BigInt(x * 2 ** 60), 0n);
        // Number(bigint) rounds correctly (ties to even); the scaling by 2^-60 is exact
        expect(exactSum(xs)).toBe(Number(exact) * 2 ** -60);
      }),
      { seed: FC_SEED, numRuns: 400 },
    );
    expect(exactSum([1e16, 1, -1e16])).toBe(1);
    expect(exactSum([0.1, 0.2, 0.3])).toBe(0.6); // the naive left-to-right sum is 0.6000000000000001
    expect(exactSum([])).toBe(0);
  });
});

describe('bounded aggregates', () => {
  const records = Float64Array.from({ length: 1000 }, (_, i) => i / 100); // 0 .. 9.99

  it('with a huge epsilon the results are close to the true values', () => {
    const rng = seeded(5);
    expect(dpCount(records, { epsilon: 1e4, rng })).toBeCloseTo(1000, 2);
    expect(dpCount(1234, { epsilon: 1e4, rng })).toBeCloseTo(1234, 2);
    expect(dpSum(records, { epsilon: 1e4, lower: 0, upper: 10, rng })).toBeCloseTo(4995, 1);
    expect(dpMean(records, { epsilon: 1e4, lower: 0, upper: 10, rng })).toBeCloseTo(4.995, 3);
  });

  it('clamps records to [lower, upper]', () => {
    const rng = seeded(6);
    // values 0..9.99 clamped to [2, 5]: 200 x 2 + sum(2..4.99) + 500 x 5
    const truth = 200 * 2 + (300 * (2 + 4.99)) / 2 + 500 * 5;
    expect(dpSum(records, { epsilon: 1e4, lower: 2, upper: 5, rng })).toBeCloseTo(truth, 1);
    expect(dpMean(records, { epsilon: 1e4, lower: 2, upper: 5, rng })).toBeCloseTo(truth / 1000, 3);
    const extreme = Float64Array.of(Number.NEGATIVE_INFINITY, 1e300, -7, Number.POSITIVE_INFINITY);
    expect(dpSum(extreme, { epsilon: 1e4, lower: -1, upper: 1, rng })).toBeCloseTo(0, 2);
    expect(dpMean(extreme, { epsilon: 1e4, lower: -1, upper: 1, rng })).toBeCloseTo(0, 3);
  });

  it('dpMean stays within the bounds, even with tiny epsilon or no records', () => {
    const rng = seeded(7);
    for (let i = 0; i < 200; i++) {
      const mean = dpMean(records.subarray(0, i % 5), { epsilon: 0.01, lower: 3, upper: 4, rng });
      expect(mean).toBeGreaterThanOrEqual(3);
      expect(mean).toBeLessThanOrEqual(4);
    }
  });

  it('dpMean splits epsilon: normalized-sum noise of scale (upper - lower) / 2 / (epsilon / 2) over the count', () => {
    // all records at the midpoint: the normalized sum is 0, so mean - mid = Lap(b) / max(1, noisy count)
    const rng = seeded(8);
    const n = 1000;
    const atMid = new Float64Array(n).fill(5);
    const trials = 4000;
    let m2 = 0;
    for (let i = 0; i < trials; i++) m2 += (dpMean(atMid, { epsilon: 1, lower: 0, upper: 10, rng }) - 5) ** 2;
    const b = 5 / 0.5; // sensitivity 5, epsilon / 2
    // the noisy count (scale 2) perturbs the denominator by ~0.3 %: allow it within the tolerance
    expect(rel(m2 / trials, (2 * b * b) / (n * n))).toBeLessThan(4.9 * Math.sqrt(5 / trials) + 0.01);
  });

  it('dpCount noise has variance 2 / epsilon^2', () => {
    const rng = seeded(9);
    const trials = 8000;
    let m2 = 0;
    for (let i = 0; i < trials; i++) m2 += (dpCount(500, { epsilon: 0.5, rng }) - 500) ** 2;
    expect(rel(m2 / trials, 2 / 0.25)).toBeLessThan(4.9 * Math.sqrt(5 / trials));
  });

  it('dpHistogram counts records per bin (last edge inclusive, outside records dropped)', () => {
    const rng = seeded(10);
    const data = Float64Array.of(0, 0.5, 1, 1.5, 2, 2, 3, -1, 3.5, Number.POSITIVE_INFINITY);
    const h = dpHistogram(data, { epsilon: 1e4, edges: [0, 1, 2, 3], rng });
    expect(Array.from(h.edges)).toEqual([0, 1, 2, 3]);
    expect(Array.from(h.counts, (c) => Math.round(c))).toEqual([2, 2, 3]);
    const g = dpHistogram(records, { epsilon: 100, delta: 1e-9, noise: 'gaussian', bins: 4, lower: 0, upper: 8, rng });
    expect(Array.from(g.edges)).toEqual([0, 2, 4, 6, 8]);
    expect(Array.from(g.counts, (c) => Math.round(c))).toEqual([200, 200, 200, 201]); // 8 itself is in the last bin
    // noise of the right size: Laplace scale 1 at epsilon 1
    const many = dpHistogram(new Float64Array(0), { epsilon: 1, bins: 20_000, lower: 0, upper: 1, rng });
    const m2 = many.counts.reduce((a, c) => a + c * c, 0) / many.counts.length;
    expect(rel(m2, 2)).toBeLessThan(4.9 * Math.sqrt(5 / 20_000));
  });

  it('whether a call succeeds does not depend on the data: counts are exact at any size, sums beyond the lattice range saturate', () => {
    const rng = seeded(11);
    // the audit's case: 2^19 + 1 records at epsilon 1000 used to throw while 2^19 worked; counts then used to saturate at 2^52 r
    for (const n of [2 ** 19, 2 ** 19 + 1, 10 ** 15]) {
      const count = dpCount(n, { epsilon: 1000, rng });
      expect(n).toBeGreaterThan(secureValueBound(laplaceMechanism({ epsilon: 1000, l1Sensitivity: 1 }).scale) / 2);
      expect(Math.abs(count - n)).toBeLessThan(n < 2 ** 40 ? 0.05 : 0.25); // 10^15: the double nearest n + noise
    }
    // scale 1 + r just above 1: r = 2^-23, range 2^52 r = 2^29, far below 10^15
    expect(secureValueBound(laplaceMechanism({ epsilon: 1, l1Sensitivity: 1 }).scale)).toBe(2 ** 29);
    expect(Math.abs(dpCount(10 ** 15, { epsilon: 1, rng }) - 10 ** 15)).toBeLessThan(60);
    // 1000 records at the bound 1 at epsilon 1e7 (scale ~1e-7, r = 2^-47): the sum 1000 is beyond 2^52 r = 32
    expect(dpSum(new Float64Array(1000).fill(1), { epsilon: 1e7, lower: 0, upper: 1, rng })).toBeCloseTo(32, 4);
    // (the normalized sum 500 saturated at 32, over the exact count 1000, plus the midpoint: biased, but no error)
    expect(dpMean(new Float64Array(1000).fill(1), { epsilon: 1e7, lower: 0, upper: 1, rng })).toBeCloseTo(0.5 + 32 / 1000, 6);
    const h = dpHistogram(new Float64Array(1000).fill(0.75), { epsilon: 1e7, bins: 2, lower: 0, upper: 1, rng });
    expect(h.counts[0]).toBeCloseTo(0, 4);
    expect(h.counts[1]).toBeCloseTo(1000, 4);
    const g = dpHistogram(new Float64Array(1000).fill(0.75), { epsilon: 100, delta: 1e-9, noise: 'gaussian', bins: 2, lower: 0, upper: 1, rng });
    expect(Math.round(g.counts[1]!)).toBe(1000);
  });

  it('rejects bad arguments with the argument name', () => {
    const ok = { epsilon: 1, lower: 0, upper: 1 };
    for (const f of [dpSum, dpMean]) {
      rejects(() => f(records, { ...ok, epsilon: 0 }), 'epsilon');
      rejects(() => f(records, { ...ok, epsilon: Number.NaN }), 'epsilon');
      rejects(() => f(records, { ...ok, lower: Number.NEGATIVE_INFINITY }), 'lower');
      rejects(() => f(records, { ...ok, upper: Number.NaN }), 'upper');
      rejects(() => f(records, { ...ok, lower: 1, upper: 1 }), 'upper');
      rejects(() => f(records, { ...ok, upper: 1e300 }), 'upper');
      rejects(() => f([1, 2] as never, ok), 'records');
      rejects(() => f(Float64Array.of(1, Number.NaN), ok), 'records', 'E_NONFINITE');
      rejects(() => f(records, undefined as never), 'epsilon');
      rejects(() => f(records, [] as never), 'opts');
      rejects(() => f(records, { ...ok, rng: {} as never }), 'opts.rng');
    }
    rejects(() => dpCount(-1, { epsilon: 1 }), 'records');
    rejects(() => dpCount(2.5, { epsilon: 1 }), 'records');
    rejects(() => dpCount(records, { epsilon: -1 }), 'epsilon');
    rejects(() => dpCount(Float64Array.of(Number.NaN), { epsilon: 1 }), 'records', 'E_NONFINITE');
    const h = { epsilon: 1, bins: 3, lower: 0, upper: 1 };
    rejects(() => dpHistogram(records, { ...h, bins: 0 }), 'bins');
    rejects(() => dpHistogram(records, { ...h, bins: 1.5 }), 'bins');
    rejects(() => dpHistogram(records, { ...h, lower: 2 }), 'upper');
    rejects(() => dpHistogram(records, { ...h, edges: [0, 1] }), 'bins');
    rejects(() => dpHistogram(records, { epsilon: 1 }), 'edges');
    rejects(() => dpHistogram(records, { epsilon: 1, edges: [0, 2, 1] }), 'edges');
    rejects(() => dpHistogram(records, { epsilon: 1, edges: [0, Number.NaN] }), 'edges', 'E_NONFINITE');
    rejects(() => dpHistogram(records, { epsilon: 1, edges: [0] }), 'edges');
    rejects(() => dpHistogram(records, { ...h, noise: 'uniform' as never }), 'noise');
    rejects(() => dpHistogram(records, { ...h, noise: 'gaussian' }), 'delta');
    rejects(() => dpHistogram(records, { ...h, noise: 'gaussian', delta: 1.5 }), 'delta');
    rejects(() => dpHistogram(records, { ...h, delta: 1e-5 }), 'delta');
    rejects(() => dpHistogram(records, { ...h, epsilon: 0 }), 'epsilon');
    rejects(() => dpHistogram(Float64Array.of(Number.NaN), h), 'records', 'E_NONFINITE');
  });
});
