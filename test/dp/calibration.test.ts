// Analytic Gaussian calibration against 100-digit references (test/vectors/gaussian-delta.json, made by
// scripts/gaussian-delta-vectors.py): delta(sigma) to 1e-12 relative and the calibrated sigma's true
// delta within 1e-12 of the target over epsilon in [1e-12, 100] and delta in [1e-300, 0.5), the
// audit's tiny-epsilon cases, and extreme parameters (an error, never NaN, Infinity or a hang).
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { PrivkitError, ready } from 'privkit';
import { analyticGaussianSigma, classicGaussianSigma, gaussianDelta } from 'privkit/dp';
import { FC_SEED } from '../support/helpers.js';

beforeAll(ready);

interface Root {
  epsilon: number;
  delta: number;
  s: string;
  logSlope: string;
}
interface Point {
  epsilon: number;
  s: string;
  delta: string;
}
const vectors = JSON.parse(readFileSync(new URL('../vectors/gaussian-delta.json', import.meta.url), 'utf8')) as {
  roots: Root[];
  points: Point[];
};
const inBox = (epsilon: number, delta: number) => epsilon >= 1e-12 && epsilon <= 100 && delta >= 1e-300 && delta < 0.5;

describe('gaussianDelta', () => {
  it('matches the 100-digit values to 1e-12 relative (around every grid root, at the method switches, random)', () => {
    expect(vectors.points.length).toBeGreaterThan(2000);
    let worst = 0;
    for (const p of vectors.points) {
      const expected = Number(p.delta);
      const got = gaussianDelta(Number(p.s), { epsilon: p.epsilon, l2Sensitivity: 1 });
      const error = Math.abs(got / expected - 1);
      if (!(error <= 1e-12)) expect.fail(`epsilon ${p.epsilon}, s ${p.s}: got ${got}, expected ${p.delta} (relative error ${error})`);
      worst = Math.max(worst, error);
    }
    expect(worst).toBeGreaterThan(0); // the comparison is not vacuous
  });

  it('is scale-free: gaussianDelta(c sigma, c Delta) = gaussianDelta(sigma, Delta) for powers of two c', () => {
    for (const c of [2 ** -900, 2 ** -40, 2 ** 40, 2 ** 900]) {
      expect(gaussianDelta(3.5 * c, { epsilon: 0.7, l2Sensitivity: c })).toBe(gaussianDelta(3.5, { epsilon: 0.7, l2Sensitivity: 1 }));
    }
  });

  it('tends to 1 and 0 at the extremes instead of NaN', () => {
    expect(gaussianDelta(1e-308, { epsilon: 1, l2Sensitivity: 1e308 })).toBe(1);
    expect(gaussianDelta(5e-324, { epsilon: 1e-300, l2Sensitivity: 1 })).toBe(1);
    expect(gaussianDelta(1e308, { epsilon: 1, l2Sensitivity: 1e-308 })).toBe(0);
    expect(gaussianDelta(1, { epsilon: 1.7e308, l2Sensitivity: 1 })).toBe(0);
  });
});

describe('analyticGaussianSigma', () => {
  it('is the root to 1e-12 and its true delta exceeds the target by < 1e-12 relative (epsilon 1e-12..100, delta 1e-300..0.5, and beyond)', () => {
    const grid = vectors.roots.filter((r) => inBox(r.epsilon, r.delta));
    expect(grid.length).toBeGreaterThanOrEqual(16 * 13);
    for (const r of vectors.roots) {
      const exact = Number(r.s);
      const sigma = analyticGaussianSigma({ epsilon: r.epsilon, delta: r.delta, l2Sensitivity: 1 });
      const what = `epsilon ${r.epsilon}, delta ${r.delta}: sigma ${sigma}, exact ${r.s}`;
      expect(Math.abs(sigma / exact - 1), what).toBeLessThan(1e-12);
      // log(true delta(sigma) / delta) to first order: the slope of log delta in log s times the relative offset
      expect(Number(r.logSlope) * (sigma / exact - 1), what).toBeLessThan(1e-12);
    }
  });

  it("the audit's tiny-epsilon cases: no weaker sigma", () => {
    // previously 5.45e14 (delta ~1e-6 instead of 1e-50). The exact root is 1.2202e15 (checked with mpmath
    // against both the closed form and a direct integral of the privacy-loss tail).
    const sigma = analyticGaussianSigma({ epsilon: 1e-14, delta: 1e-50, l2Sensitivity: 1 });
    expect(Math.abs(sigma / 1.2202420081740842e15 - 1)).toBeLessThan(1e-12);
    // as epsilon -> 0, delta(s) -> erf(1 / (2 sqrt 2 s)) and the root -> 1 / (delta sqrt(2 pi)) (1 - 1 / (24 s^2))
    const limit = 1 / (1e-5 * Math.sqrt(2 * Math.PI));
    for (const epsilon of [1e-300, 5e-324]) {
      const sigma = analyticGaussianSigma({ epsilon, delta: 1e-5, l2Sensitivity: 1 });
      expect(Math.abs(sigma / (limit * (1 - 1 / (24 * limit * limit))) - 1)).toBeLessThan(1e-12);
    }
  });

  it('scales with Delta over the whole double range, and refuses sigmas beyond it', () => {
    const base = analyticGaussianSigma({ epsilon: 1, delta: 1e-5, l2Sensitivity: 1 });
    for (const c of [2 ** -1000, 2 ** 1000]) {
      expect(analyticGaussianSigma({ epsilon: 1, delta: 1e-5, l2Sensitivity: c }) / c).toBe(base);
    }
    expect(() => analyticGaussianSigma({ epsilon: 1, delta: 1e-5, l2Sensitivity: 1e308 })).toThrow(
      expect.objectContaining({ code: 'E_OVERFLOW', argument: 'l2Sensitivity' }),
    );
    expect(() => analyticGaussianSigma({ epsilon: 1, delta: 1e-5, l2Sensitivity: 1e-320 })).toThrow(
      expect.objectContaining({ code: 'E_ARG', argument: 'l2Sensitivity' }),
    );
  });

  it('classicGaussianSigma refuses an overflowing or subnormal sigma', () => {
    expect(() => classicGaussianSigma({ epsilon: 1e-320, delta: 1e-5, l2Sensitivity: 1 })).toThrow(
      expect.objectContaining({ code: 'E_OVERFLOW', argument: 'epsilon' }),
    );
    expect(() => classicGaussianSigma({ epsilon: 1e300, delta: 1e-5, l2Sensitivity: 1e-30 })).toThrow(
      expect.objectContaining({ code: 'E_ARG', argument: 'epsilon' }),
    );
  });

  it('any finite parameters give a finite sigma meeting delta, or a PrivkitError (never NaN, Infinity or a hang)', () => {
    const anyPositive = fc.double({ min: Number.MIN_VALUE, max: Number.MAX_VALUE, noNaN: true });
    const anyDelta = fc.double({ min: Number.MIN_VALUE, max: 1, maxExcluded: true, noNaN: true });
    fc.assert(
      fc.property(anyPositive, anyDelta, anyPositive, (epsilon, delta, l2Sensitivity) => {
        for (const calibrate of [analyticGaussianSigma, classicGaussianSigma]) {
          let sigma: number;
          try {
            sigma = calibrate({ epsilon, delta, l2Sensitivity });
          } catch (error) {
            expect(error).toBeInstanceOf(PrivkitError);
            expect(['E_ARG', 'E_OVERFLOW']).toContain((error as PrivkitError).code);
            continue;
          }
          expect(Number.isFinite(sigma) && sigma >= 2 ** -1022).toBe(true);
          if (calibrate === analyticGaussianSigma) {
            // within the 1e-12 of the evaluation (the search compares logs)
            expect(gaussianDelta(sigma, { epsilon, l2Sensitivity })).toBeLessThanOrEqual(delta * (1 + 1e-12));
          }
        }
      }),
      { seed: FC_SEED, numRuns: 2000 },
    );
  });
});
