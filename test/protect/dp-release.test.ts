// dpContingencyTable and dpQuantiles: layout, domain handling, argument checks, and accuracy against
// the exact noise distributions and the exponential mechanism's selection law at fixed seeds; the
// Gaussian (epsilon, delta) table's sigma against mpmath's analytic Gaussian sigma
// (test/vectors/contingency-gaussian-vectors.py).
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { ready } from 'privkit';
import { createRng } from 'privkit/dp';
import { dpContingencyTable, dpQuantiles } from 'privkit/protect';
import { expectPrivkitError } from '../support/helpers.js';
import { discreteGaussianPmf } from '../support/noise-stats.js';

beforeAll(ready);

const gaussianVectors = JSON.parse(readFileSync(new URL('../vectors/contingency-gaussian.json', import.meta.url), 'utf8')) as {
  cases: { epsilon: number; delta: number; recordsPerUnit: number; sigma: string }[];
};

const seeded = (k: number) => createRng({ seed: new Uint8Array(32).fill(k) });

/** Sample mean and the standard error of the mean. */
function meanAndError(x: number[]): { mean: number; error: number } {
  const mean = x.reduce((a, b) => a + b, 0) / x.length;
  const variance = x.reduce((a, b) => a + (b - mean) ** 2, 0) / (x.length - 1);
  return { mean, error: Math.sqrt(variance / x.length) };
}

describe('dpContingencyTable', () => {
  const people = [
    { sex: 'f', smoker: true, age: 30 },
    { sex: 'f', smoker: false, age: 41 },
    { sex: 'm', smoker: false, age: 52 },
    { sex: 'm', smoker: false },
    { sex: 'x', smoker: true, age: 30 }, // outside the sex domain: not counted
    { smoker: true }, // sex missing: the null cell
  ];

  it('counts row-major over the public domains (noise negligible at epsilon 1e6)', () => {
    const table = dpContingencyTable(people, {
      columns: ['sex', 'smoker'],
      domains: { sex: ['f', 'm', null], smoker: [true, false] },
      epsilon: 1e6,
      rng: seeded(1),
    });
    expect(table.shape).toEqual([3, 2]);
    expect(table.columns).toEqual(['sex', 'smoker']);
    expect(table.domains).toEqual([['f', 'm', null], [true, false]]);
    expect([...table.counts]).toEqual([1, 1, 0, 2, 1, 0]);
    const ages = dpContingencyTable(people, { columns: ['age'], domains: { age: [30, 41, 52, '30'] }, epsilon: 1e6, rng: seeded(2) });
    expect([...ages.counts]).toEqual([2, 1, 1, 0]); // 30 and '30' are different values
  });

  it('adds discrete Laplace noise of scale 1/epsilon (4,000 cells: mean, E|noise| and variance against the exact law)', () => {
    const records: { a: number; b: number }[] = [];
    for (let a = 0; a < 40; a++) for (let b = 0; b < 100; b++) for (let c = 0; c < 40; c++) records.push({ a, b });
    const domains = { a: Array.from({ length: 40 }, (_, i) => i), b: Array.from({ length: 100 }, (_, i) => i) };
    const epsilon = 0.5;
    const table = dpContingencyTable(records, { columns: ['a', 'b'], domains, epsilon, rng: seeded(3) });
    expect(table.scale).toBeGreaterThanOrEqual(1 / epsilon);
    const noise = [...table.counts].map((c) => c - 40);
    const r = Math.exp(-epsilon);
    // P(k) proportional to r^|k|: E|X| = 2r / (1 - r^2), E X^2 = 2r / (1 - r)^2
    const absMean = (2 * r) / (1 - r * r);
    const second = (2 * r) / (1 - r) ** 2;
    const m = meanAndError(noise);
    expect(Math.abs(m.mean)).toBeLessThan(5 * m.error);
    const abs = meanAndError(noise.map(Math.abs));
    expect(Math.abs(abs.mean - absMean)).toBeLessThan(5 * abs.error);
    const squares = meanAndError(noise.map((x) => x * x));
    expect(Math.abs(squares.mean - second)).toBeLessThan(5 * squares.error);
  });

  it('adds discrete Gaussian noise of sigma 1/sqrt(2 rho) and clamps counts at 0', () => {
    const records = Array.from({ length: 4000 * 30 }, (_, i) => ({ c: i % 4000 }));
    const domains = { c: Array.from({ length: 4000 }, (_, i) => i) };
    const table = dpContingencyTable(records, { columns: ['c'], domains, noise: 'gaussian', rho: 0.125, rng: seeded(4) });
    expect(table.scale).toBeGreaterThanOrEqual(2);
    const { K, p } = discreteGaussianPmf(2);
    let variance = 0;
    for (let k = -K; k <= K; k++) variance += k * k * p[k + K]!;
    const squares = meanAndError([...table.counts].map((c) => (c - 30) ** 2));
    expect(Math.abs(squares.mean - variance)).toBeLessThan(5 * squares.error);
    // empty cells with noise of scale 10: about half would be negative before post-processing
    const empty = dpContingencyTable([], { columns: ['c'], domains, epsilon: 0.1, rng: seeded(5) });
    expect(empty.counts.every((c) => c >= 0 && Number.isInteger(c))).toBe(true);
    expect(empty.counts.filter((c) => c === 0).length).toBeGreaterThan(1800);
  });

  it('calibrates Gaussian noise for (epsilon, delta) to the analytic Gaussian sigma of sensitivity c (mpmath), charging only the lattice', () => {
    const domains = { c: Array.from({ length: 100 }, (_, i) => i) };
    for (const v of gaussianVectors.cases) {
      const unit = v.recordsPerUnit === 1 ? {} : { privacyUnit: 'person', maxRecordsPerUnit: v.recordsPerUnit };
      const table = dpContingencyTable([], { columns: ['c'], domains, noise: 'gaussian', epsilon: v.epsilon, delta: v.delta, ...unit, rng: seeded(9) });
      const exact = Number(v.sigma);
      // never below Balle and Wang's sigma; above it by the lattice rounding's and the sampler's charges only (relative 2^-23 sigma sqrt(k) / c and 2 k 3 2^-24 / epsilon)
      expect(table.scale, `${JSON.stringify(v)}`).toBeGreaterThanOrEqual(exact);
      expect(table.scale / exact - 1, `${JSON.stringify(v)}`).toBeLessThan(2 ** -23 + (3 * (2 * v.recordsPerUnit * 3 * 2 ** -24)) / v.epsilon); // sigma moves up to ~2x the relative epsilon charge
    }
  });

  it('adds Gaussian noise of the calibrated sigma for (epsilon, delta), released as integers >= 0', () => {
    const records = Array.from({ length: 4000 * 30 }, (_, i) => ({ c: i % 4000 }));
    const domains = { c: Array.from({ length: 4000 }, (_, i) => i) };
    const table = dpContingencyTable(records, { columns: ['c'], domains, noise: 'gaussian', epsilon: 1, delta: 1e-5, rng: seeded(6) });
    expect(table.counts.every((c) => Number.isInteger(c) && c >= 0)).toBe(true);
    // rounding the lattice value to an integer adds a uniform error of variance 1/12 (the lattice is far finer than 1)
    const variance = table.scale ** 2 + 1 / 12;
    const squares = meanAndError([...table.counts].map((c) => (c - 30) ** 2));
    expect(Math.abs(squares.mean - variance)).toBeLessThan(5 * squares.error);
    const mean = meanAndError([...table.counts].map((c) => c - 30));
    expect(Math.abs(mean.mean)).toBeLessThan(5 * mean.error);
  });

  it('releases large counts exactly at tiny noise on the (epsilon, delta) path: no silent cap at the sampler range (found by review)', () => {
    // sigma ~ 0.07 (the largest epsilon whose e^epsilon x the sampler's tail mass fits delta is ~119): counts are added
    // as integers, never through the sampler's exact range 2^52 r (2^25 here), where they used to be capped
    const records = Array.from({ length: 2 ** 21 }, () => ({ a: 'x' }));
    for (const epsilon of [50, 100]) {
      const table = dpContingencyTable(records, { columns: ['a'], domains: { a: ['x', 'y'] }, noise: 'gaussian', epsilon, delta: 0.5, rng: seeded(9) });
      expect([...table.counts]).toEqual([2 ** 21, 0]);
    }
  });

  it('refuses bad arguments, naming them', () => {
    const base = { columns: ['s'], domains: { s: ['a', 'b'] }, epsilon: 1 };
    expectPrivkitError(() => dpContingencyTable([], { ...base, columns: [] }), 'E_ARG', 'columns');
    expectPrivkitError(() => dpContingencyTable([], { ...base, columns: ['s', 's'] }), 'E_ARG', 'columns');
    expectPrivkitError(() => dpContingencyTable([], { ...base, columns: ['t'] }), 'E_ARG', 'domains.t');
    expectPrivkitError(() => dpContingencyTable([], { ...base, domains: { s: [] } }), 'E_ARG', 'domains.s');
    expectPrivkitError(() => dpContingencyTable([], { ...base, domains: { s: ['a', 'a'] } }), 'E_ARG', 'domains.s');
    expectPrivkitError(() => dpContingencyTable([], { ...base, domains: { s: [NaN] } }), 'E_ARG', 'domains.s', 0);
    expectPrivkitError(() => dpContingencyTable([], { ...base, domains: { s: [{}] as never } }), 'E_ARG', 'domains.s', 0);
    const wide = { columns: ['a', 'b'], domains: { a: Array.from({ length: 5000 }, (_, i) => i), b: Array.from({ length: 5000 }, (_, i) => i) }, epsilon: 1 };
    expectPrivkitError(() => dpContingencyTable([], wide), 'E_ARG', 'domains');
    expectPrivkitError(() => dpContingencyTable([], { ...base, epsilon: 0 }), 'E_ARG', 'epsilon');
    expectPrivkitError(() => dpContingencyTable([], { ...base, epsilon: 2 ** -25 }), 'E_ARG', 'epsilon');
    expectPrivkitError(() => dpContingencyTable([], { ...base, epsilon: undefined }), 'E_ARG', 'epsilon');
    expectPrivkitError(() => dpContingencyTable([], { ...base, rho: 1 }), 'E_ARG', 'rho');
    expectPrivkitError(() => dpContingencyTable([], { ...base, epsilon: undefined, noise: 'gaussian' }), 'E_ARG', 'rho');
    expectPrivkitError(() => dpContingencyTable([], { ...base, noise: 'gaussian', rho: 1 }), 'E_ARG', 'epsilon');
    expectPrivkitError(() => dpContingencyTable([], { ...base, noise: 'gaussian' }), 'E_ARG', 'delta');
    expectPrivkitError(() => dpContingencyTable([], { ...base, epsilon: undefined, noise: 'gaussian', delta: 1e-5 }), 'E_ARG', 'epsilon');
    expectPrivkitError(() => dpContingencyTable([], { ...base, epsilon: undefined, noise: 'gaussian', rho: 1, delta: 1e-5 }), 'E_ARG', 'delta');
    expectPrivkitError(() => dpContingencyTable([], { ...base, noise: 'gaussian', delta: 1 }), 'E_ARG', 'delta');
    expectPrivkitError(() => dpContingencyTable([], { ...base, noise: 'gaussian', delta: 0 }), 'E_ARG', 'delta');
    expectPrivkitError(() => dpContingencyTable([], { ...base, noise: 'gaussian', epsilon: 0, delta: 1e-5 }), 'E_ARG', 'epsilon');
    expectPrivkitError(() => dpContingencyTable([], { ...base, delta: 1e-5 }), 'E_ARG', 'delta');
    expectPrivkitError(() => dpContingencyTable([], { ...base, epsilom: 1 } as never), 'E_ARG', 'opts.epsilom');
    expectPrivkitError(() => dpContingencyTable([], { ...base, noise: 'cauchy' as never }), 'E_ARG', 'noise');
    expectPrivkitError(() => dpContingencyTable([3 as never], base), 'E_ARG', 'records', 0);
    expectPrivkitError(() => dpContingencyTable([], { ...base, rng: {} as never }), 'E_ARG', 'opts.rng');
  });
});

describe('dpQuantiles', () => {
  it('errs by the exponential mechanism law (300 medians of 0..2000: mean rank error against the exact expectation, all within the tail bound)', () => {
    const values = Array.from({ length: 2001 }, (_, i) => i);
    const epsilon = 1;
    // candidates j = 0..2000 (grid step 1): rank distance d(j) = max(0, |j - 1000| - 1/2), probability ~ exp(-epsilon d / 2)
    const d = (j: number) => Math.max(0, Math.abs(j - 1000) - 0.5);
    let z = 0;
    let expected = 0;
    for (let j = 0; j <= 2000; j++) {
      const w = Math.exp((-epsilon * d(j)) / (2 * (1 + 2 ** -15)));
      z += w;
      expected += w * d(j);
    }
    expected /= z;
    const rng = seeded(6);
    const errors = Array.from({ length: 300 }, () => {
      const [median] = dpQuantiles(values, { quantiles: [0.5], lower: 0, upper: 2000, steps: 2000, epsilon, rng });
      expect(Number.isInteger(median)).toBe(true);
      return d(median!);
    });
    const m = meanAndError(errors);
    expect(Math.abs(m.mean - expected), `${m.mean} vs ${expected}`).toBeLessThan(5 * m.error);
    // P[d > (2 / epsilon)(ln |candidates| + s)] <= e^-s; s = ln(1e6) bounds all 300 with probability > 0.9997
    const tail = (2 / epsilon) * (Math.log(2001) + Math.log(1e6));
    expect(Math.max(...errors)).toBeLessThan(tail);
  });

  it('releases sorted grid points in [lower, upper], clamping values and splitting epsilon', () => {
    const values = [-1e9, -Infinity, 3, 4, 5, 6, 7, Infinity, 1e9];
    const rng = seeded(7);
    for (let i = 0; i < 50; i++) {
      const out = dpQuantiles(values, { quantiles: [0, 0.5, 1], lower: 0, upper: 10, steps: 20, epsilon: 30, rng });
      expect(out.length).toBe(3);
      for (let k = 0; k < 3; k++) {
        expect(out[k]).toBeGreaterThanOrEqual(0);
        expect(out[k]).toBeLessThanOrEqual(10);
        expect(Number.isInteger(out[k]! * 2)).toBe(true); // grid of step 0.5
        if (k > 0) expect(out[k]).toBeGreaterThanOrEqual(out[k - 1]!);
      }
    }
    const tight = dpQuantiles(values, { quantiles: [0, 1], lower: 0, upper: 10, steps: 20, epsilon: 200, rng });
    expect([...tight]).toEqual([0, 10]);
    const empty = dpQuantiles([], { quantiles: [0.5], lower: -1, upper: 1, epsilon: 1, rng });
    expect(Math.abs(empty[0]!)).toBeLessThanOrEqual(1);
  });

  it('refuses bad arguments, naming them', () => {
    const base = { quantiles: [0.5], lower: 0, upper: 1, epsilon: 1 };
    expectPrivkitError(() => dpQuantiles([1, NaN], base), 'E_NONFINITE', 'values', 1);
    expectPrivkitError(() => dpQuantiles(['1'] as never, base), 'E_ARG', 'values', 0);
    expectPrivkitError(() => dpQuantiles([], { ...base, quantiles: [] }), 'E_ARG', 'quantiles');
    expectPrivkitError(() => dpQuantiles([], { ...base, quantiles: [0.5, 0.5] }), 'E_ARG', 'quantiles', 1);
    expectPrivkitError(() => dpQuantiles([], { ...base, quantile: [0.5] } as never), 'E_ARG', 'opts.quantile');
    expectPrivkitError(() => dpQuantiles([], { ...base, quantiles: [1.5] }), 'E_ARG', 'quantiles', 0);
    expectPrivkitError(() => dpQuantiles([], { ...base, lower: 1 }), 'E_ARG', 'upper');
    expectPrivkitError(() => dpQuantiles([], { ...base, lower: -Infinity }), 'E_ARG', 'lower');
    expectPrivkitError(() => dpQuantiles([], { ...base, upper: 2 ** 961 }), 'E_ARG', 'upper');
    expectPrivkitError(() => dpQuantiles([], { ...base, epsilon: -1 }), 'E_ARG', 'epsilon');
    expectPrivkitError(() => dpQuantiles([], { ...base, epsilon: 2 ** -21 }), 'E_ARG', 'epsilon');
    expectPrivkitError(() => dpQuantiles([], { ...base, steps: 0 }), 'E_ARG', 'steps');
    expectPrivkitError(() => dpQuantiles([], { ...base, steps: 2 ** 32 + 1 }), 'E_ARG', 'steps');
    expectPrivkitError(() => dpQuantiles([], { ...base, rng: 1 as never }), 'E_ARG', 'opts.rng');
  });
});

describe('dpContingencyTable with a privacy unit', () => {
  const visits = [
    { patient: 'p1', ward: 'a' },
    { patient: 'p1', ward: 'a' },
    { patient: 'p1', ward: 'b' },
    { patient: 'p2', ward: 'b' },
    { patient: 7, ward: 'a' },
    { patient: '7', ward: 'b' }, // another person than the number 7
  ];
  const opts = { columns: ['ward'], domains: { ward: ['a', 'b'] }, privacyUnit: 'patient', epsilon: 1e6 };

  it('counts at most maxRecordsPerUnit records per person, in input order, and scales the noise by it', () => {
    const one = dpContingencyTable(visits, { ...opts, rng: seeded(8) });
    expect([...one.counts]).toEqual([2, 2]); // p1's first visit, p2, 7, '7'
    const two = dpContingencyTable(visits, { ...opts, maxRecordsPerUnit: 2, rng: seeded(8) });
    expect([...two.counts]).toEqual([3, 2]);
    expect(two.scale).toBeGreaterThanOrEqual(2 * one.scale);
    expect(two.scale).toBeLessThan(2 * one.scale * (1 + 1e-15));
    const gaussian = dpContingencyTable(visits, { ...opts, epsilon: undefined, noise: 'gaussian', rho: 0.5, maxRecordsPerUnit: 3, rng: seeded(9) });
    expect(gaussian.scale).toBeGreaterThanOrEqual(3);
  });

  it('refuses a missing unit value and bad unit options', () => {
    expectPrivkitError(() => dpContingencyTable([...visits, { ward: 'a' }], opts), 'E_ARG', 'records[6].patient', 6);
    expectPrivkitError(() => dpContingencyTable([{ patient: NaN, ward: 'a' }], opts), 'E_ARG', 'records[0].patient', 0);
    expectPrivkitError(() => dpContingencyTable(visits, { ...opts, privacyUnit: 3 as never }), 'E_ARG', 'privacyUnit');
    expectPrivkitError(() => dpContingencyTable(visits, { ...opts, maxRecordsPerUnit: 0 }), 'E_ARG', 'maxRecordsPerUnit');
    expectPrivkitError(() => dpContingencyTable(visits, { ...opts, privacyUnit: undefined, maxRecordsPerUnit: 2 }), 'E_ARG', 'maxRecordsPerUnit');
  });
});
