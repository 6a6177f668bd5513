// RDP numerics at every parameter: the Poisson-subsampled Gaussian against exact values computed with
// mpmath at 45+ digits (test/vectors/rdp-mpmath.json, made by scripts/vectors/rdp_mpmath.py), tiny RDPs
// that keep their relative precision, extreme noise multipliers and orders that return promptly with a
// valid bound, the Laplace RDP for large scales, and the log-space helpers at their edges.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { PrivacyBudget, RdpAccountant } from 'privkit/accounting';
import { rdpLaplace, rdpPoissonGaussian } from '../../dist/src/accounting/rdp.js';
import { erfcx, logAdd, logErfc, logSub } from '../../dist/src/math/special.js';
import { expectPrivkitError, relativeError } from '../support/helpers.js';

interface RdpVector {
  sampleRate: number;
  noiseMultiplier: number;
  alpha: number;
  rdp: number;
}

const vectors = (
  JSON.parse(readFileSync(new URL('../vectors/rdp-mpmath.json', import.meta.url), 'utf8')) as { vectors: RdpVector[] }
).vectors;

/** Bounds every subsampled-Gaussian RDP must respect: the i = alpha term below, the unsubsampled Gaussian above. */
function bracket(q: number, sigma: number, alpha: number): [number, number] {
  const gaussian = alpha / (2 * sigma) / sigma;
  return [Math.max(0, gaussian + (alpha * Math.log(q)) / (alpha - 1)), gaussian];
}

describe('Poisson-subsampled Gaussian RDP against mpmath', () => {
  it(`matches ${vectors.length} exact values (orders 1.01..1024, q 1e-20..0.999999, sigma 0.15..1e8) to 1e-12 relative`, () => {
    let worst = 0;
    for (const v of vectors) {
      const rdp = rdpPoissonGaussian(v.sampleRate, v.noiseMultiplier, v.alpha);
      const error = relativeError(rdp, v.rdp);
      worst = Math.max(worst, error);
      expect(error, `q=${v.sampleRate} sigma=${v.noiseMultiplier} alpha=${v.alpha}: ${rdp} vs ${v.rdp}`).toBeLessThan(1e-12);
    }
    expect(worst).toBeGreaterThan(0);
  });

  it('keeps its digits where the RDP is ~1e-15 or far smaller (q = 1e-6, sigma = 50, alpha = 1.1 and below)', () => {
    const tiny = vectors.filter((v) => v.rdp < 1e-12);
    expect(tiny.length).toBeGreaterThan(20);
    for (const v of tiny) expect(relativeError(rdpPoissonGaussian(v.sampleRate, v.noiseMultiplier, v.alpha), v.rdp)).toBeLessThan(1e-12);
  });

  it('reaches the same values through RdpAccountant.getRdp', () => {
    const sample = vectors.filter((_, i) => i % 7 === 0);
    for (const v of sample) {
      const [rdp] = new RdpAccountant({ orders: [v.alpha] }).step({ sampleRate: v.sampleRate, noiseMultiplier: v.noiseMultiplier }).getRdp();
      expect(relativeError(rdp!, v.rdp)).toBeLessThan(1e-12);
    }
  });
});

describe('extreme noise multipliers and orders', () => {
  const orders = [1 + 1e-9, 1.01, 1.1, 1.5, 2, 2.5, 10.9, 64, 1024, 5e4 + 0.5, 1e6, 1e12];
  const rates = [5e-324, 1e-300, 1e-12, 0.01, 0.5, 1 - 1e-12, 1];
  const sigmas = [5e-324, 1e-200, 1e-155, 1e-100, 1e-5, 0.01, 0.1, 1, 1e5, 1e100, 1e154, 1e200, 1e308];

  it('returns a positive RDP inside [i = alpha term, unsubsampled Gaussian] or Infinity, never NaN, for every combination', () => {
    for (const q of rates) {
      for (const sigma of sigmas) {
        // Replace-one neighbours without replacement: the same Gaussian at noise multiplier 2 sigma (sensitivity 2C).
        const replaceOne = Number.isFinite(2 * sigma)
          ? new RdpAccountant({ orders }).step({ noiseMultiplier: 2 * sigma, sampleRate: q, sampling: 'without-replacement', neighbours: 'replace-one' }).getRdp()
          : undefined;
        for (const [k, alpha] of orders.entries()) {
          const rdp = rdpPoissonGaussian(q, sigma, alpha);
          const [lower, upper] = bracket(q, sigma, alpha);
          const where = `q=${q} sigma=${sigma} alpha=${alpha}: ${rdp}`;
          expect(rdp, where).toBeGreaterThan(0);
          if (rdp === Number.POSITIVE_INFINITY) {
            // Only where the true value is beyond the double range.
            expect(lower, where).toBe(Number.POSITIVE_INFINITY);
            continue;
          }
          expect(rdp, where).toBeLessThanOrEqual(Math.max(upper, Number.MIN_VALUE));
          expect(rdp, where).toBeGreaterThanOrEqual(lower * (1 - 1e-12));
          if (replaceOne === undefined) continue;
          const wor = replaceOne[k]!;
          expect(wor, where).toBeGreaterThan(0);
          expect(wor, where).toBeLessThanOrEqual(Math.max(upper, Number.MIN_VALUE) * (1 + 1e-15));
        }
      }
    }
  });

  it('follows RDP ~ alpha q^2 / (2 sigma^2) for huge sigma (1e10 .. 1e150) instead of rounding to 0', () => {
    for (const sigma of [1e10, 1e50, 1e150]) {
      for (const q of [1e-6, 0.01, 0.5]) {
        for (const alpha of [1.1, 2, 10.9, 1024]) {
          const asymptote = (alpha * q * q) / (2 * sigma) / sigma;
          expect(relativeError(rdpPoissonGaussian(q, sigma, alpha), asymptote), `q=${q} sigma=${sigma} alpha=${alpha}`).toBeLessThan(1e-9);
        }
      }
    }
  });

  it('equals the i = alpha term for tiny sigma, where it dominates A_alpha by a factor e^(1/sigma^2)', () => {
    for (const sigma of [1e-3, 1e-50, 1e-150]) {
      for (const alpha of [1 + 1e-9, 1.5, 2, 10.9, 1024]) {
        // Dominance: alpha (alpha - 1) / (2 sigma^2) must dwarf the binomial factors (~ alpha log(1/q)).
        if (!((alpha - 1) / (2 * sigma) / sigma > 1e6 * Math.log(100))) continue;
        const [lower] = bracket(0.01, sigma, alpha);
        expect(relativeError(rdpPoissonGaussian(0.01, sigma, alpha), lower), `sigma=${sigma} alpha=${alpha}`).toBeLessThan(1e-12);
      }
    }
  });

  it('answers the accountants and budgets promptly at sigma = 1e308 and 1e-320', () => {
    const budget = new PrivacyBudget({ epsilon: 1, delta: 1e-5 });
    expect(budget.canSpend({ noiseMultiplier: 1e308, sampleRate: 0.01, steps: 1000 })).toBe(true);
    expect(budget.canSpend({ noiseMultiplier: 1e-320, sampleRate: 0.01 })).toBe(false);
    const rdp = new RdpAccountant().step({ noiseMultiplier: 1e308, sampleRate: 0.5, steps: 2 ** 40 }).getEpsilon(1e-5);
    expect(rdp.epsilon).toBeGreaterThanOrEqual(0);
    expect(rdp.epsilon).toBeLessThan(0.01);
  });

  it('rejects arguments outside the domain with E_ARG', () => {
    expectPrivkitError(() => rdpPoissonGaussian(0, 1, 2), 'E_ARG', 'sampleRate');
    expectPrivkitError(() => rdpPoissonGaussian(1.5, 1, 2), 'E_ARG', 'sampleRate');
    expectPrivkitError(() => rdpPoissonGaussian(0.1, Number.NaN, 2), 'E_ARG', 'noiseMultiplier');
    expectPrivkitError(() => rdpPoissonGaussian(0.1, Number.POSITIVE_INFINITY, 2), 'E_ARG', 'noiseMultiplier');
    expectPrivkitError(() => rdpPoissonGaussian(0.1, 1, 1), 'E_ARG', 'alpha');
    expectPrivkitError(() => rdpPoissonGaussian(0.1, 1, Number.NaN), 'E_ARG', 'alpha');
    expectPrivkitError(() => rdpLaplace(-1, 2), 'E_ARG', 'noiseMultiplier');
  });
});

describe('Laplace RDP', () => {
  /** Mironov 2017, Prop. 6, with the larger exponential factored out: accurate where the RDP is not small. */
  const direct = (b: number, alpha: number) =>
    1 / b + Math.log(alpha / (2 * alpha - 1) + ((alpha - 1) / (2 * alpha - 1)) * Math.exp(-(2 * alpha - 1) / b)) / (alpha - 1);

  it('agrees with the direct formula where that one is accurate, on both sides of the series switch', () => {
    for (const alpha of [1.1, 2, 10.9, 64]) {
      for (const b of [0.05, 0.5, 0.99 * alpha, 1.01 * alpha, 3, 30]) {
        expect(relativeError(rdpLaplace(b, alpha), direct(b, alpha)), `b=${b} alpha=${alpha}`).toBeLessThan(1e-10);
      }
    }
  });

  it('keeps its digits for large scales, where RDP = alpha eps^2 / 2 (1 - eps / 3 + (1 + 2 alpha - 2 alpha^2) eps^2 / 12 + ...)', () => {
    for (const alpha of [1.1, 2, 10.9, 1024]) {
      for (const b of [1e4, 1e8, 1e20, 1e150]) {
        const eps = 1 / b;
        const expected = ((alpha * eps * eps) / 2) * (1 - eps / 3 + ((1 + 2 * alpha - 2 * alpha * alpha) * eps * eps) / 12);
        expect(relativeError(rdpLaplace(b, alpha), expected), `b=${b} alpha=${alpha}`).toBeLessThan(1e-12 + (alpha * eps) ** 3);
      }
    }
  });
});

describe('log-space helpers at their edges', () => {
  it('handle infinities without NaN', () => {
    expect(logErfc(Number.NEGATIVE_INFINITY)).toBe(Math.LN2);
    expect(logErfc(Number.POSITIVE_INFINITY)).toBe(Number.NEGATIVE_INFINITY);
    expect(erfcx(Number.NEGATIVE_INFINITY)).toBe(Number.POSITIVE_INFINITY);
    expect(erfcx(-30)).toBe(Number.POSITIVE_INFINITY);
    expect(logAdd(Number.POSITIVE_INFINITY, Number.POSITIVE_INFINITY)).toBe(Number.POSITIVE_INFINITY);
    expect(logAdd(700, 700)).toBeCloseTo(700 + Math.LN2, 12);
    expect(logSub(Number.POSITIVE_INFINITY, 1)).toBe(Number.POSITIVE_INFINITY);
    expect(logSub(Number.POSITIVE_INFINITY, Number.POSITIVE_INFINITY)).toBeNaN();
  });
});
