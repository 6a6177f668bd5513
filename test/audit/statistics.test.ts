// The statistics under privkit/audit against independent values (test/vectors/audit.json, made by
// test/vectors/audit-vectors.py with mpmath at 40 digits): the incomplete beta function and its
// quantile, the Clopper-Pearson interval, and the one-run p-value and epsilon bound of Steinke,
// Nasr, Jagielski (2023); plus their argument checks.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { auditCanaryScores, betaQuantile, betaTails, clopperPearson, oneRunEpsilonLowerBound, oneRunPValue } from 'privkit/audit';
import { expectPrivkitError } from '../support/helpers.js';

interface Vectors {
  betaTails: { x: number; a: number; b: number; lower: number; upper: number }[];
  betaQuantile: { p: number; a: number; b: number; upper: boolean; x: number }[];
  clopperPearson: { k: number; n: number; confidence: number; lower: number; upper: number }[];
  oneRunPValue: { m: number; r: number; v: number; epsilon: number; delta: number; p: number }[];
  oneRunEpsilon: { m: number; r: number; v: number; delta: number; confidence: number; epsilon: number }[];
}
const vectors = JSON.parse(readFileSync(new URL('../vectors/audit.json', import.meta.url), 'utf8')) as Vectors;

const relative = (actual: number, expected: number) => (expected === 0 ? Math.abs(actual) : Math.abs(actual - expected) / Math.abs(expected));

describe('incomplete beta function', () => {
  it.each(vectors.betaTails)('I_$x($a, $b): both tails', ({ x, a, b, lower, upper }) => {
    const tails = betaTails(x, 1 - x, a, b);
    // The tail beyond x on the far side of the mean is computed directly (to 1e-9 relative however
    // small; 1e-13 away from the mean), the other as 1 minus it (to 1e-10 absolute).
    const direct = x < (a + 1) / (a + b + 2) ? 'lower' : 'upper';
    expect(relative(tails[direct], direct === 'lower' ? lower : upper)).toBeLessThan(1e-9);
    expect(Math.abs(tails.lower - lower)).toBeLessThan(1e-10);
    expect(Math.abs(tails.upper - upper)).toBeLessThan(1e-10);
  });

  it.each(vectors.betaQuantile)('quantile p=$p of Beta($a, $b) (upper tail: $upper) to 1e-11 relative', ({ p, a, b, upper, x }) => {
    expect(relative(betaQuantile(p, a, b, { upper }), x)).toBeLessThan(1e-11);
  });

  it('has the closed forms at the ends', () => {
    expect(betaQuantile(0, 3, 4)).toBe(0);
    expect(betaQuantile(1, 3, 4)).toBe(1);
    expect(betaQuantile(0, 3, 4, { upper: true })).toBe(1);
    // Beta(1, 1) is uniform; Beta(1, n): P[X <= x] = 1 - (1 - x)^n
    expect(relative(betaQuantile(0.3, 1, 1), 0.3)).toBeLessThan(1e-14);
    expect(relative(betaQuantile(0.005, 1, 1e6), -Math.expm1(Math.log1p(-0.005) / 1e6))).toBeLessThan(1e-12);
  });
});

describe('Clopper-Pearson interval', () => {
  it.each(vectors.clopperPearson)('$k of $n at confidence $confidence', ({ k, n, confidence, lower, upper }) => {
    const interval = clopperPearson(k, n, confidence);
    expect(relative(interval.lower, lower)).toBeLessThan(1e-11);
    expect(relative(interval.upper, upper)).toBeLessThan(1e-11);
  });

  it('rejects bad arguments, naming them', () => {
    expectPrivkitError(() => clopperPearson(5, 0, 0.9), 'E_ARG', 'trials');
    expectPrivkitError(() => clopperPearson(11, 10, 0.9), 'E_ARG', 'successes');
    expectPrivkitError(() => clopperPearson(-1, 10, 0.9), 'E_ARG', 'successes');
    expectPrivkitError(() => clopperPearson(1, 10, 1), 'E_ARG', 'confidence');
    expectPrivkitError(() => clopperPearson(1, 10, Number.NaN), 'E_ARG', 'confidence');
  });
});

describe('one-run auditing (Steinke, Nasr, Jagielski 2023)', () => {
  it.each(vectors.oneRunPValue)('p-value for $v of $r guesses on $m canaries at ($epsilon, $delta)', ({ m, r, v, epsilon, delta, p }) => {
    expect(relative(oneRunPValue({ canaries: m, guesses: r, correct: v, epsilon, delta }), p)).toBeLessThan(1e-10);
  });

  it.each(vectors.oneRunEpsilon)('epsilon bound for $v of $r guesses on $m canaries, delta $delta, confidence $confidence', ({ m, r, v, delta, confidence, epsilon }) => {
    const bound = oneRunEpsilonLowerBound({ canaries: m, guesses: r, correct: v, delta, confidence });
    expect(Math.abs(bound - epsilon)).toBeLessThan(1e-8 * Math.max(1, epsilon));
    expect(bound).toBeLessThanOrEqual(epsilon + 1e-12); // the bisection keeps the rejected side
  });

  it('guesses from the extremes of the scores and Bonferroni-corrects the choice of how many', () => {
    // 100 canaries, the first 50 included; scores rank them perfectly
    const scores = Float64Array.from({ length: 100 }, (_, i) => (i < 50 ? 1 + i : -i));
    const included = Uint8Array.from({ length: 100 }, (_, i) => (i < 50 ? 1 : 0));
    const fixed = auditCanaryScores({ scores, included, guesses: 40, confidence: 0.95 });
    expect(fixed).toMatchObject({ guesses: 40, correct: 40, canaries: 100, delta: 0 });
    expect(fixed.epsilonLowerBound).toBe(oneRunEpsilonLowerBound({ canaries: 100, guesses: 40, correct: 40, confidence: 0.95 }));
    const searched = auditCanaryScores({ scores, included, confidence: 0.95 });
    expect(searched.guesses).toBe(100);
    expect(searched.epsilonLowerBound).toBe(oneRunEpsilonLowerBound({ canaries: 100, guesses: 100, correct: 100, confidence: 1 - 0.05 / 6 }));
    // reversed scores: every guess wrong, no bound
    expect(auditCanaryScores({ scores: scores.map((s) => -s), included }).epsilonLowerBound).toBe(0);
  });

  it('rejects bad arguments, naming them', () => {
    expectPrivkitError(() => oneRunPValue({ canaries: 10, guesses: 11, correct: 1, epsilon: 1 }), 'E_ARG', 'guesses');
    expectPrivkitError(() => oneRunPValue({ canaries: 10, guesses: 5, correct: 6, epsilon: 1 }), 'E_ARG', 'correct');
    expectPrivkitError(() => oneRunPValue({ canaries: 10, guesses: 5, correct: 3, epsilon: -1 }), 'E_ARG', 'epsilon');
    expectPrivkitError(() => oneRunEpsilonLowerBound({ canaries: 0, guesses: 0, correct: 0 }), 'E_ARG', 'canaries');
    expectPrivkitError(() => oneRunEpsilonLowerBound({ canaries: 10, guesses: 5, correct: 3, delta: 1 }), 'E_ARG', 'delta');
    expectPrivkitError(() => auditCanaryScores({ scores: [1, 2], included: [true] }), 'E_SHAPE', 'included');
    expectPrivkitError(() => auditCanaryScores({ scores: [1, Number.NaN], included: [true, false] }), 'E_NONFINITE', 'scores', 1);
    expectPrivkitError(() => auditCanaryScores({ scores: [], included: [] }), 'E_ARG', 'scores');
    expectPrivkitError(() => auditCanaryScores({ scores: [1, 2], included: [true, false], guesses: 3 }), 'E_ARG', 'guesses');
  });
});
