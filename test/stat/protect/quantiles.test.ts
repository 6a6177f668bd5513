// dpQuantiles against its exact output law on a small grid, computed here point by point (not by
// runs, as the implementation does): 400,000 draws, chi-square at alpha = 1e-6 with a fixed seed.
import { beforeAll, describe, expect, it } from 'vitest';
import { ready } from 'privkit';
import { createRng } from 'privkit/dp';
import { dpQuantiles } from 'privkit/protect';
import { chiSquareCritical } from '../../support/noise-stats.js';

beforeAll(ready);

/** P(output = grid point y) for the exponential mechanism with utility -dist(q n, [#values < y, #values <= y]). */
function exactLaw(values: number[], q: number, epsilon: number, steps: number): number[] {
  const t = q * values.length;
  const weights = Array.from({ length: steps + 1 }, (_, y) => {
    const below = values.filter((v) => v < y).length;
    const atMost = values.filter((v) => v <= y).length;
    const distance = Math.max(below - t, t - atMost, 0);
    return Math.exp((-epsilon * distance) / (2 * (1 + 2 ** -15)));
  });
  const total = weights.reduce((a, b) => a + b);
  return weights.map((w) => w / total);
}

describe('dpQuantiles (statistical)', () => {
  it.each([
    { values: [2, 2, 7], q: 0.5, epsilon: 2 },
    { values: [0, 1, 1, 1, 4, 9, 10, 10], q: 0.25, epsilon: 1 },
    { values: [], q: 0.9, epsilon: 1 },
  ])('follows the exact law for $values at q = $q (400,000 draws)', ({ values, q, epsilon }) => {
    const steps = 10;
    const law = exactLaw(values, q, epsilon, steps);
    const rng = createRng({ seed: new Uint8Array(32).fill(values.length + 50) });
    const n = 400_000;
    const counts = new Float64Array(steps + 1);
    for (let i = 0; i < n; i++) counts[dpQuantiles(values, { quantiles: [q], lower: 0, upper: 10, steps, epsilon, rng })[0]!]!++;
    // pool the points expected fewer than 20 times into one bin
    let stat = 0;
    let bins = 0;
    let rareExpected = 0;
    let rareSeen = 0;
    law.forEach((p, y) => {
      if (n * p < 20) {
        rareExpected += n * p;
        rareSeen += counts[y]!;
      } else {
        stat += (counts[y]! - n * p) ** 2 / (n * p);
        bins++;
      }
    });
    if (rareExpected >= 20) {
      stat += (rareSeen - rareExpected) ** 2 / rareExpected;
      bins++;
    } else expect(rareSeen).toBeLessThan(rareExpected + 10 * Math.sqrt(rareExpected + 1) + 10);
    expect(stat).toBeLessThan(chiSquareCritical(bins - 1));
  }, 60_000);
});
