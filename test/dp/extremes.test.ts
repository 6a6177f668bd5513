// Every constructor and sampler of privkit/dp at huge, tiny and subnormal parameters: a result made
// of finite numbers (and a privacy parameter that is not understated), or a PrivkitError; never
// NaN, Infinity, a silently wrong parameter or a hang.
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { PrivkitError, ready } from 'privkit';
import {
  bernoulliExp,
  createRng,
  discreteGaussian,
  discreteGaussianMechanism,
  discreteLaplace,
  dpCount,
  dpHistogram,
  dpMean,
  dpSum,
  gaussianDelta,
  gaussianMechanism,
  gaussianNoise,
  laplaceMechanism,
  laplaceNoise,
  secureGaussian,
  secureLaplace,
} from 'privkit/dp';
import { FC_SEED } from '../support/helpers.js';

beforeAll(ready);

const rng = createRng({ seed: new Uint8Array(32).fill(9) });
const anyPositive = fc.double({ min: Number.MIN_VALUE, max: Number.MAX_VALUE, noNaN: true });
const finite = (values: ArrayLike<number> | number) => (typeof values === 'number' ? [values] : Array.from(values)).every(Number.isFinite);

/** Runs `call`: its result must satisfy `check`, or it must throw a PrivkitError with one of `codes`. */
function outcome<T>(call: () => T, check: (result: T) => void, codes = ['E_ARG', 'E_OVERFLOW']): void {
  let result: T;
  try {
    result = call();
  } catch (error) {
    expect(error).toBeInstanceOf(PrivkitError);
    expect(codes).toContain((error as PrivkitError).code);
    return;
  }
  check(result);
}

describe('privkit/dp at extreme parameters', () => {
  it('laplaceMechanism and gaussianMechanism: finite calibrations that cover the sensitivity, or an error', () => {
    fc.assert(
      fc.property(anyPositive, anyPositive, fc.double({ min: Number.MIN_VALUE, max: 1, maxExcluded: true, noNaN: true }), fc.integer({ min: 1, max: 2 ** 31 - 1 }), (epsilon, sensitivity, delta, dimension) => {
        outcome(
          () => laplaceMechanism({ epsilon, l1Sensitivity: sensitivity, dimension, rng }),
          (m) => {
            expect(finite([m.scale, m.resolution])).toBe(true);
            expect(m.scale * epsilon).toBeGreaterThanOrEqual(sensitivity + dimension * m.resolution);
            expect(finite(m.release(Float64Array.of(0)))).toBe(true);
          },
        );
        outcome(
          () => gaussianMechanism({ epsilon, delta, l2Sensitivity: sensitivity, dimension, rng }),
          (m) => {
            expect(finite([m.sigma, m.resolution])).toBe(true);
            const charged = sensitivity + m.resolution * Math.sqrt(dimension);
            expect(gaussianDelta(m.sigma, { epsilon, l2Sensitivity: charged })).toBeLessThanOrEqual(delta * (1 + 1e-9));
            expect(finite(m.release(Float64Array.of(0)))).toBe(true);
          },
        );
      }),
      { seed: FC_SEED, numRuns: 300 },
    );
  });

  it('discreteGaussianMechanism: rho is finite, normal and never understated; rho targets end (the audit-class hang at rho ~ 1e308)', () => {
    fc.assert(
      fc.property(anyPositive, anyPositive, (sensitivity, parameter) => {
        outcome(
          () => discreteGaussianMechanism({ sigma: parameter, l2Sensitivity: sensitivity, rng }),
          (m) => {
            expect(m.rho >= 2 ** -1022 && m.rho < Infinity).toBe(true);
            // the exact (Delta / sigma)^2 / 2 in BigInt-free form: compare against a scaled recomputation
            expect(m.rho).toBeGreaterThanOrEqual(((sensitivity / parameter) ** 2 / 2) * (1 - 1e-15));
          },
        );
        outcome(
          () => discreteGaussianMechanism({ rho: parameter, l2Sensitivity: sensitivity, rng }),
          (m) => {
            expect(m.rho).toBeLessThanOrEqual(parameter);
            expect(finite(m.release(Int32Array.of(0, 5)))).toBe(true);
          },
        );
      }),
      { seed: FC_SEED, numRuns: 500 },
    );
    outcome(
      () => discreteGaussianMechanism({ rho: 1.7e308, l2Sensitivity: 1, rng }),
      (m) => expect(m.rho).toBeLessThanOrEqual(1.7e308),
    );
  });

  it('aggregates: finite releases or an error at any epsilon', () => {
    const records = Float64Array.of(0.5, 2, 7);
    fc.assert(
      fc.property(anyPositive, (epsilon) => {
        outcome(() => dpCount(records, { epsilon, rng }), (v) => expect(finite(v)).toBe(true));
        outcome(() => dpSum(records, { epsilon, lower: 0, upper: 10, rng }), (v) => expect(finite(v)).toBe(true));
        outcome(() => dpMean(records, { epsilon, lower: 0, upper: 10, rng }), (v) => expect(finite(v)).toBe(true));
        outcome(() => dpHistogram(records, { epsilon, bins: 3, lower: 0, upper: 10, rng }).counts, (v) => expect(finite(v)).toBe(true));
        outcome(
          () => dpHistogram(records, { epsilon, delta: 1e-6, noise: 'gaussian', bins: 3, lower: 0, upper: 10, rng }).counts,
          (v) => expect(finite(v)).toBe(true),
        );
      }),
      { seed: FC_SEED, numRuns: 200 },
    );
  });

  it('samplers: finite samples or an error at any scale', () => {
    fc.assert(
      fc.property(anyPositive, (scale) => {
        outcome(() => gaussianNoise(4, scale, { rng }), (v) => expect(finite(v)).toBe(true));
        outcome(() => laplaceNoise(4, scale, { rng, dtype: 'float32' }), (v) => expect(finite(v)).toBe(true));
        outcome(() => secureGaussian(Float64Array.of(0, 1), scale, { rng }).values, (v) => expect(finite(v)).toBe(true));
        outcome(() => secureLaplace(Float64Array.of(0, 1), scale, { rng }).values, (v) => expect(finite(v)).toBe(true));
        outcome(() => discreteLaplace(4, scale, { rng }), (v) => expect(finite(v)).toBe(true));
        outcome(() => discreteGaussian(4, scale, { rng }), (v) => expect(finite(v)).toBe(true));
        outcome(() => bernoulliExp(4, scale, { rng }), (v) => expect(v.every((b) => b === 0 || b === 1)).toBe(true));
      }),
      { seed: FC_SEED, numRuns: 300 },
    );
  });
});
