// exponentialMechanism's Gumbel-max sampler against the exact selection probabilities: 2,000,000 draws
// (enough to see a 1% relative error in every candidate above probability 0.05 at ~4 standard
// deviations), chi-square at alpha = 1e-6 with a fixed seed, including log-weights 30 apart.
import { beforeAll, describe, expect, it } from 'vitest';
import { ready } from 'privkit';
import { createRng, exponentialMechanism } from 'privkit/dp';
import { chiSquareCritical } from '../../support/noise-stats.js';

beforeAll(ready);

function chiSquare(counts: Float64Array, probabilities: number[], n: number): number {
  return probabilities.reduce((s, p, i) => s + (counts[i]! - n * p) ** 2 / (n * p), 0);
}

describe('exponentialMechanism (statistical)', () => {
  it('selects with probability base x exp(epsilon score / 2) (2e6 draws, chi-square alpha = 1e-6)', () => {
    const scores = [0, 0.5, 1, 2, 3, -1];
    const base = [1, 2, 1, 1, 0.25, 4];
    const epsilon = 1;
    const weights = scores.map((s, i) => base[i]! * Math.exp((epsilon * s) / 2));
    const total = weights.reduce((a, b) => a + b);
    const rng = createRng({ seed: new Uint8Array(32).fill(41) });
    const n = 2_000_000;
    const counts = new Float64Array(scores.length);
    for (let i = 0; i < n; i++) counts[exponentialMechanism(scores, { epsilon, baseMeasure: base, rng })]!++;
    expect(chiSquare(counts, weights.map((w) => w / total), n)).toBeLessThan(chiSquareCritical(scores.length - 1));
  }, 60_000);

  it('keeps the ratio of candidates whose log-weights are far from the best (1e6 draws)', () => {
    // log-weights 0, -3, -6 and -30 (scores at epsilon 2): the last has probability ~1e-13, never seen
    const scores = [0, -3, -6, -30];
    const weights = scores.map((s) => Math.exp(s));
    const total = weights.reduce((a, b) => a + b);
    const rng = createRng({ seed: new Uint8Array(32).fill(42) });
    const n = 1_000_000;
    const counts = new Float64Array(scores.length);
    for (let i = 0; i < n; i++) counts[exponentialMechanism(scores, { epsilon: 2, rng })]!++;
    expect(counts[3]).toBe(0);
    expect(chiSquare(counts.subarray(0, 3), weights.slice(0, 3).map((w) => w / total), n)).toBeLessThan(chiSquareCritical(2));
  }, 60_000);
});
