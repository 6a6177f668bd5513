// The lattice rounding of vectors is charged: for every secure mechanism, adversarial neighbouring
// inputs whose differing coordinates all cross a rounding midpoint the same way are released with
// one seed, so the outputs differ by exactly the rounding shift; that shift, measured in lattice
// units, must stay within what the mechanism charged (Delta_1 + d r for Laplace, Delta_2 + r sqrt(d)
// for Gaussian, one coordinate for a histogram or a scalar aggregate).
import { beforeAll, describe, expect, it } from 'vitest';
import { ready } from 'privkit';
import {
  analyticGaussianSigma,
  createRng,
  dpHistogram,
  dpSum,
  gaussianDelta,
  gaussianMechanism,
  laplaceMechanism,
  laplaceResolution,
} from 'privkit/dp';
import { latticeSensitivity } from '../../dist/src/dp/secure.js';
import { expectPrivkitError } from '../support/helpers.js';

beforeAll(ready);

const seeded = () => createRng({ seed: new Uint8Array(32).fill(42) });
/** How far below / above a rounding midpoint the adversarial inputs sit, in lattice units. */
const TAU = 2 ** -20;

/** The rounding shift out(a) - out(b) of two releases with the same noise, in lattice units (exact integers). */
function shiftUnits(outA: Float64Array, outB: Float64Array, r: number): Float64Array {
  const units = new Float64Array(outA.length);
  for (let i = 0; i < units.length; i++) units[i] = (outA[i]! - outB[i]!) / r;
  expect(units.every(Number.isInteger)).toBe(true);
  return units;
}

/**
 * Neighbours a, b at the given per-coordinate distances (in lattice units, each j + 2 TAU with j an
 * integer): b sits TAU below the midpoint (c + 1/2) r and a = b + distance sits TAU above the
 * midpoint (c + j + 1/2) r, so a rounds j + 1 steps above b. Every value is an exact double.
 */
function straddling(distances: Float64Array, r: number): { a: Float64Array; b: Float64Array } {
  const a = new Float64Array(distances.length);
  const b = new Float64Array(distances.length);
  for (let i = 0; i < distances.length; i++) {
    b[i] = ((i % 1000) - 500 + 0.5 - TAU) * r;
    a[i] = b[i]! + distances[i]! * r;
    if (a[i]! - b[i]! !== distances[i]! * r) expect.fail(`coordinate ${i} is not exact`);
  }
  return { a, b };
}

describe('lattice rounding of vectors is charged', () => {
  it('Laplace: the L1 shift of adversarial neighbours (Delta_1 + (d - 1) r and more) stays within Delta_1 + d r', () => {
    for (const [epsilon, l1Sensitivity, d] of [
      [1, 1, 2],
      [0.1, 1.3, 1000],
      [2, 0.7, 50_000],
    ] as const) {
      const m = laplaceMechanism({ epsilon, l1Sensitivity, dimension: d, rng: seeded() });
      const r = m.resolution;
      // d - 1 coordinates move by 2 TAU each (one step up each); the rest of the budget goes to the first
      const rest = l1Sensitivity / r - (d - 1) * 2 * TAU; // lattice units
      const first = Math.floor(rest - 2 * TAU) + 2 * TAU; // j + 2 TAU <= rest
      const distances = new Float64Array(d).fill(2 * TAU);
      distances[0] = first;
      const { a, b } = straddling(distances, r);
      let l1 = 0;
      for (let i = 0; i < d; i++) l1 += Math.abs(a[i]! - b[i]!);
      expect(l1).toBeLessThanOrEqual(l1Sensitivity);
      const outA = laplaceMechanism({ epsilon, l1Sensitivity, dimension: d, rng: seeded() }).release(a);
      const outB = laplaceMechanism({ epsilon, l1Sensitivity, dimension: d, rng: seeded() }).release(b);
      const shift = shiftUnits(outA, outB, r).reduce((s, u) => s + Math.abs(u), 0) * r;
      const what = `epsilon ${epsilon}, Delta ${l1Sensitivity}, d ${d}: shift ${shift}`;
      // the attack: the old charge Delta + r is exceeded (by (d - 2) r at least)
      expect(shift, what).toBeGreaterThanOrEqual(l1Sensitivity + (d - 1) * r - r);
      if (d > 2) expect(shift, what).toBeGreaterThan(l1Sensitivity + r);
      // the charge covers it, and the noise scale pays for the charge: privacy loss shift / scale <= epsilon
      const charged = latticeSensitivity('laplace', l1Sensitivity, d, r);
      expect(shift, what).toBeLessThanOrEqual(charged);
      expect(shift / m.scale, what).toBeLessThanOrEqual(epsilon);
      expect(charged / m.scale, what).toBeLessThanOrEqual(epsilon);
    }
  });

  it('Gaussian: the L2 shift of adversarial neighbours reaches ~Delta_2 + r sqrt(d) and stays within it; delta holds at d = 2^22', () => {
    for (const [epsilon, delta, l2Sensitivity, d] of [
      [1, 1e-5, 1, 1000],
      [0.3, 1e-8, 2.5, 10_000],
      [0.3, 1e-5, 1, 2 ** 22], // the audit's d (19 bits there); its epsilon 0.01 is below the sampler's slack (refused, below)
    ] as const) {
      const m = gaussianMechanism({ epsilon, delta, l2Sensitivity, dimension: d, rng: seeded() });
      const r = m.resolution;
      // every coordinate at j or j + 1 steps plus 2 TAU, as many at j + 1 as the L2 budget allows
      const budget = (l2Sensitivity / r) ** 2; // squared, lattice units
      const j = Math.floor(Math.sqrt(budget / d) - 2 * TAU);
      const low = (j + 2 * TAU) ** 2;
      const high = (j + 1 + 2 * TAU) ** 2;
      const up = Math.min(d, Math.floor((budget - d * low) / (high - low) * (1 - 1e-12)));
      const distances = new Float64Array(d).fill(j + 2 * TAU);
      distances.fill(j + 1 + 2 * TAU, 0, up);
      // ||a - b||_2 <= Delta exactly: distances are multiples of 2^-19 lattice units (BigInt arithmetic)
      const fixed = (x: number) => BigInt(x * 2 ** 19);
      const squared = BigInt(up) * fixed(j + 1 + 2 * TAU) ** 2n + BigInt(d - up) * fixed(j + 2 * TAU) ** 2n;
      expect(squared <= fixed(l2Sensitivity / r) ** 2n).toBe(true);
      const { a, b } = straddling(distances, r);
      // the mechanism's own release (its lattice), with the same noise for both
      const outA = gaussianMechanism({ epsilon, delta, l2Sensitivity, dimension: d, rng: seeded() }).release(a);
      const outB = gaussianMechanism({ epsilon, delta, l2Sensitivity, dimension: d, rng: seeded() }).release(b);
      let squaredShift = 0;
      for (const u of shiftUnits(outA, outB, r)) squaredShift += u * u;
      const shift = Math.sqrt(squaredShift) * r;
      const charged = latticeSensitivity('gaussian', l2Sensitivity, d, r);
      const what = `epsilon ${epsilon}, d ${d}: shift ${shift}, charged ${charged}, r sqrt(d) ${r * Math.sqrt(d)}`;
      expect(shift, what).toBeLessThanOrEqual(charged);
      // the attack: nearly all of r sqrt(d) on top of Delta (the old charge was Delta + r)
      expect(shift - l2Sensitivity, what).toBeGreaterThan(0.99 * r * Math.sqrt(d));
      // delta at the actual shift stays at the target (to the 1e-12 of the calibration)
      expect(gaussianDelta(m.sigma, { epsilon, l2Sensitivity: shift }), what).toBeLessThanOrEqual(delta * (1 + 1e-12));
      if (d === 2 ** 22) {
        // the old calibration (Delta + r) fails this neighbour pair
        const old = analyticGaussianSigma({ epsilon, delta, l2Sensitivity: l2Sensitivity + r });
        expect(gaussianDelta(old, { epsilon, l2Sensitivity: shift }), what).toBeGreaterThan(delta * (1 + 1e-6));
      }
    }
    // At the audit's epsilon 0.01, the sampler's slack over 2^22 coordinates (19 bits: 2s = 0.047) exceeds epsilon.
    expectPrivkitError(() => gaussianMechanism({ epsilon: 0.01, delta: 1e-5, l2Sensitivity: 1, dimension: 2 ** 22 }), 'E_ARG', 'dimension');
  });

  it('dpHistogram: one record moves one rounded count by at most 1 + r, whatever the number of bins', () => {
    // epsilon 1.5 x 2^-24: lattice step 4 > 1, so counts straddle rounding midpoints (1 -> 0, 2 -> 0 or 4, 3 -> 4)
    const epsilon = 1.5 * 2 ** -24;
    const r = laplaceMechanism({ epsilon, l1Sensitivity: 1 }).resolution;
    expect(r).toBe(4);
    const base = Float64Array.from({ length: 3000 }, (_, i) => (i % 1000) / 100); // 30 records per bin at 100 bins
    for (const extra of [0.05, 3.33, 9.99]) {
      const withOne = Float64Array.of(...base, extra);
      const opts = { epsilon, bins: 100, lower: 0, upper: 10 };
      const h0 = dpHistogram(base, { ...opts, rng: seeded() }).counts;
      const h1 = dpHistogram(withOne, { ...opts, rng: seeded() }).counts;
      const moved = Array.from(shiftUnits(h1, h0, r)).filter((u) => u !== 0);
      expect(moved.length).toBeLessThanOrEqual(1);
      for (const u of moved) expect(Math.abs(u) * r).toBeLessThanOrEqual(1 + r);
    }
    // Gaussian noise: the same one-coordinate charge
    const g0 = dpHistogram(base, { epsilon: 0.5, delta: 1e-6, noise: 'gaussian', bins: 1000, lower: 0, upper: 10, rng: seeded() });
    const g1 = dpHistogram(Float64Array.of(...base, 5), { epsilon: 0.5, delta: 1e-6, noise: 'gaussian', bins: 1000, lower: 0, upper: 10, rng: seeded() });
    const differences = Array.from(g1.counts, (v, i) => v - g0.counts[i]!).filter((v) => v !== 0);
    expect(differences).toEqual([1]);
  });

  it('dpSum: the neighbour adding one record at the bound shifts the rounded sum by at most Delta + r', () => {
    const epsilon = 1e-7; // scale ~1e7, lattice step 2^0 .. 1
    const upper = 3.25;
    const scale = upper / epsilon;
    const r = laplaceResolution(scale);
    // records summing to just below a midpoint; adding `upper` lands just above another
    const below = (1000 + 0.5 - TAU) * r;
    const records = Float64Array.of(below / 2, below / 2);
    const outB = dpSum(records, { epsilon, lower: 0, upper, rng: seeded() });
    const outA = dpSum(Float64Array.of(...records, upper), { epsilon, lower: 0, upper, rng: seeded() });
    const shift = Math.abs(outA - outB);
    expect(shift).toBeLessThanOrEqual(upper * (1 + 2 ** -19) + r);
  });
});

describe('latticeSensitivity', () => {
  it('is Delta + k r (L1) and Delta + r sqrt(k) (L2), rounded up; rejects bad arguments', () => {
    expect(latticeSensitivity('laplace', 1, 1000, 2 ** -20)).toBeGreaterThanOrEqual(1 + 1000 * 2 ** -20);
    expect(latticeSensitivity('laplace', 1, 1000, 2 ** -20)).toBeLessThan((1 + 1000 * 2 ** -20) * (1 + 1e-15));
    expect(latticeSensitivity('gaussian', 1, 2 ** 22, 2 ** -15)).toBeGreaterThanOrEqual(1 + 2 ** -4);
    expect(latticeSensitivity('gaussian', 1, 3, 0.5)).toBeGreaterThan(1 + 0.5 * Math.sqrt(3));
    expect(() => latticeSensitivity('uniform' as never, 1, 1, 1)).toThrow(expect.objectContaining({ code: 'E_ARG', argument: 'noise' }));
    expect(() => latticeSensitivity('laplace', 1, 0, 1)).toThrow(expect.objectContaining({ code: 'E_ARG', argument: 'coordinates' }));
    expect(() => latticeSensitivity('laplace', 1e308, 2 ** 30, 2 ** 1000)).toThrow(expect.objectContaining({ code: 'E_OVERFLOW' }));
  });
});
