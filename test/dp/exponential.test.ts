// exponentialMechanism: argument checks, the base measure, extreme scores, reproducibility with a
// seed, and a quick goodness of fit (the 2e6-sample chi-square is in test/stat/dp/exponential.test.ts).
import { beforeAll, describe, expect, it } from 'vitest';
import { ready } from 'privkit';
import { createRng, exponentialMechanism } from 'privkit/dp';
import { expectPrivkitError } from '../support/helpers.js';
import { chiSquareCritical } from '../support/noise-stats.js';

beforeAll(ready);

const seeded = (k: number) => createRng({ seed: new Uint8Array(32).fill(k) });

describe('exponentialMechanism', () => {
  it('never picks a candidate of base weight 0, and survives scores far apart', () => {
    const rng = seeded(1);
    for (let i = 0; i < 200; i++) expect(exponentialMechanism([5, 0, 5], { epsilon: 1, baseMeasure: [0, 1, 0], rng })).toBe(1);
    for (let i = 0; i < 200; i++) expect(exponentialMechanism([1e300, -1e300, 0], { epsilon: 1, rng })).toBe(0);
    // 2000 below the best: probability e^-1000, never drawn (and no NaN or -1)
    for (let i = 0; i < 200; i++) expect(exponentialMechanism([0, 2000], { epsilon: 1, rng })).toBe(1);
    expect(exponentialMechanism([7], { epsilon: 1e-9, rng })).toBe(0);
  });

  it('is reproducible with a seed', () => {
    const a = seeded(3);
    const b = seeded(3);
    const run = (rng: ReturnType<typeof seeded>) => Array.from({ length: 100 }, () => exponentialMechanism([0, 1, 2, 3], { epsilon: 2, rng }));
    const first = run(a);
    expect(first).toEqual(run(b));
    expect(new Set(first).size).toBeGreaterThan(1);
  });

  it('follows base x exp(epsilon score / (2 sensitivity)) (20,000 draws, chi-square at alpha = 1e-6)', () => {
    const scores = [0, 1, 2, 4];
    const base = [3, 1, 0.5, 2];
    const epsilon = 1.5;
    const sensitivity = 2;
    const weights = scores.map((s, i) => base[i]! * Math.exp((epsilon * s) / (2 * sensitivity)));
    const total = weights.reduce((a, b) => a + b);
    const counts = new Float64Array(4);
    const rng = seeded(4);
    const n = 20_000;
    for (let i = 0; i < n; i++) counts[exponentialMechanism(scores, { epsilon, sensitivity, baseMeasure: base, rng })]!++;
    const stat = weights.reduce((s, w, i) => s + (counts[i]! - (n * w) / total) ** 2 / ((n * w) / total), 0);
    expect(stat).toBeLessThan(chiSquareCritical(3));
  });

  it('refuses bad arguments, naming them', () => {
    expectPrivkitError(() => exponentialMechanism([], { epsilon: 1 }), 'E_ARG', 'scores');
    expectPrivkitError(() => exponentialMechanism([1, NaN], { epsilon: 1 }), 'E_NONFINITE', 'scores', 1);
    expectPrivkitError(() => exponentialMechanism([1], { epsilon: 0 }), 'E_ARG', 'epsilon');
    expectPrivkitError(() => exponentialMechanism([1], { epsilon: 1, sensitivity: -1 }), 'E_ARG', 'sensitivity');
    expectPrivkitError(() => exponentialMechanism([1, 2], { epsilon: 1, baseMeasure: [1] }), 'E_SHAPE', 'baseMeasure');
    expectPrivkitError(() => exponentialMechanism([1, 2], { epsilon: 1, baseMeasure: [0, 0] }), 'E_ARG', 'baseMeasure');
    expectPrivkitError(() => exponentialMechanism([1, 2], { epsilon: 1, baseMeasure: [1, -1] }), 'E_ARG', 'baseMeasure', 1);
    expectPrivkitError(() => exponentialMechanism([1], { epsilon: 1, rng: {} as never }), 'E_ARG', 'opts.rng');
    expectPrivkitError(() => exponentialMechanism([1], null as never), 'E_ARG', 'epsilon');
  });
});
