// The PLD accountant at scale: compositions of up to 1e8 steps and a small epsilonError against exact
// epsilons from Fourier inversion at 50 digits (test/vectors/pld-mpmath.json, made by
// scripts/vectors/pld_mpmath.py, no discretization involved). The PLD upper bound must never be
// below the exact value, and above it by no more than its stated margins; the accountant's answer
// must lie between the exact value and the RDP bound. Also the edge cases of the grid sizing.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { PldAccountant, RdpAccountant } from 'privkit/accounting';
import { composePld, pldDelta, pldEpsilon } from '../../../dist/src/accounting/pld.js';
import { expectPrivkitError } from '../../support/helpers.js';

interface ExactCase {
  sampleRate: number;
  noiseMultiplier: number;
  steps: number;
  delta: number;
  /** The exact epsilon: the larger of the two directions. */
  epsilon: number;
  /** -d log(delta) / d eps at the exact epsilon. */
  logDeltaSlope: number;
}

const cases = (JSON.parse(readFileSync(new URL('../../vectors/pld-mpmath.json', import.meta.url), 'utf8')) as { cases: ExactCase[] }).cases;

/** The accountant's share of delta set aside for the PLD's slack (pld-accountant.ts). */
const SLACK_SHARE = 1e-3;

const group = (v: ExactCase) => ({ sampleRate: v.sampleRate, noiseMultiplier: v.noiseMultiplier, steps: v.steps });

describe('PLD upper bound against the exact epsilon', () => {
  it.each(cases)('q=$sampleRate sigma=$noiseMultiplier, $steps steps, delta $delta: exact <= upper <= exact + margins', (v) => {
    const pld = composePld([group(v)], 0.01, v.delta * SLACK_SHARE);
    const { upper, estimate } = pldEpsilon(pld, v.delta);
    const slack = Math.max(...pld.directions.map((d) => d.deltaSlack));
    expect(upper).toBeGreaterThanOrEqual(v.epsilon);
    // The margins: the epsilon shift, and delta lowered by the slack (which moves epsilon by about
    // -log(1 - slack / delta) / slope); a 1% allowance covers the curvature of log delta over that move.
    const slackMove = -Math.log1p(-slack / v.delta) / v.logDeltaSlope;
    expect(upper - v.epsilon).toBeLessThanOrEqual(1.01 * (pld.epsilonShift + slackMove) + 1e-9 * v.epsilon);
    // The point estimate is a bias-corrected discretization: within the shift of the exact value.
    expect(Math.abs(estimate - v.epsilon)).toBeLessThanOrEqual(pld.epsilonShift);
    // The delta bound agrees: delta at the upper epsilon is within the target.
    expect(pldDelta(pld, upper)).toBeLessThanOrEqual(v.delta * (1 + 1e-9));
  });
});

describe('PldAccountant on the compositions where it once reported epsilon 0', () => {
  const find = (q: number, sigma: number, steps: number) =>
    cases.find((v) => v.sampleRate === q && v.noiseMultiplier === sigma && v.steps === steps)!;

  it.each([find(0.01, 1.1, 1e8), find(0.01, 0.8, 3e7)])('q=$sampleRate sigma=$noiseMultiplier, $steps steps: between the exact epsilon and the RDP bound', (v) => {
    const pld = new PldAccountant().step(group(v)).getEpsilon(v.delta);
    const rdp = new RdpAccountant().step(group(v)).getEpsilon(v.delta).epsilon;
    expect(rdp).toBeGreaterThanOrEqual(v.epsilon);
    expect(pld.epsilon).toBeGreaterThanOrEqual(v.epsilon);
    // The PLD itself, not the RDP fallback, answers: its margin is what separates it from the exact value.
    expect(pld.epsilon).toBeLessThan(rdp);
    expect(pld.epsilon - v.epsilon).toBeLessThan(2 * pld.errorBound);
    expect(Math.abs(pld.estimate - v.epsilon)).toBeLessThan(pld.errorBound);
  });

  it('q=0.05 sigma=3, 1e5 steps, epsilonError 1e-5: coarsens the grid to fit 2^22 cells, so the margin grows past 1e-5 but stays small', () => {
    const v = find(0.05, 3, 1e5);
    const pld = new PldAccountant({ epsilonError: 1e-5 }).step(group(v)).getEpsilon(v.delta);
    const rdp = new RdpAccountant().step(group(v)).getEpsilon(v.delta).epsilon;
    expect(pld.epsilon).toBeGreaterThanOrEqual(v.epsilon);
    expect(pld.epsilon).toBeLessThan(rdp);
    expect(pld.errorBound).toBeGreaterThan(1e-5);
    expect(pld.errorBound).toBeLessThan(0.05);
    expect(pld.epsilon - v.epsilon).toBeLessThan(0.05);
    expect(Math.abs(pld.estimate - v.epsilon)).toBeLessThan(1e-3);
  });
});

describe('grid sizing at the edges', () => {
  it.each([
    [1e-12, 0.5, 1000],
    [0.001, 0.001, 1],
    [0.5, 5, 2 ** 30],
    [1 - 1e-12, 5, 1],
    [1, 1e4, 1000],
    [0.5, 1e12, 2 ** 30],
  ])('q=%s sigma=%s, %s steps: a consistent answer (no NaN; delta at the epsilon it reports within target)', (q, sigma, steps) => {
    const pld = composePld([{ sampleRate: q, noiseMultiplier: sigma, steps }], 0.01, 1e-8);
    const { upper, estimate } = pldEpsilon(pld, 1e-5);
    expect(Number.isNaN(upper) || Number.isNaN(estimate)).toBe(false);
    expect(upper).toBeGreaterThanOrEqual(estimate);
    expect(estimate).toBeGreaterThanOrEqual(0);
    if (upper < Number.POSITIVE_INFINITY) expect(pldDelta(pld, upper)).toBeLessThanOrEqual(1e-5 * (1 + 1e-9));
    else expect(pldDelta(pld, 1e6)).toBeGreaterThan(1e-5);
  });

  it('says it has no bound (delta 1, epsilon Infinity) when no grid of 2^22 cells can hold the rounding noise of 2^50 steps', () => {
    const pld = composePld([{ sampleRate: 1e-9, noiseMultiplier: 5, steps: 2 ** 50 }], 0.01, 1e-8);
    expect(pld.directions).toHaveLength(0);
    expect(pldDelta(pld, 100)).toBe(1);
    expect(pldEpsilon(pld, 1e-5).upper).toBe(Number.POSITIVE_INFINITY);
    const accountant = new PldAccountant().step({ sampleRate: 1e-9, noiseMultiplier: 5, steps: 2 ** 50 });
    const rdp = new RdpAccountant().step({ sampleRate: 1e-9, noiseMultiplier: 5, steps: 2 ** 50 }).getEpsilon(1e-5).epsilon;
    expect(accountant.getEpsilon(1e-5).epsilon).toBe(rdp);
  });

  it('answers getDelta at huge epsilon (the RDP delta underflows to 0) without hanging', () => {
    const accountant = new PldAccountant().step({ sampleRate: 0.02, noiseMultiplier: 1, steps: 200 });
    expect(accountant.getDelta(2 ** 31).delta).toBe(0);
    expect(accountant.getDelta(1e6).delta).toBe(0);
  });

  it('rejects malformed groups and budgets with E_ARG', () => {
    const ok = { sampleRate: 0.01, noiseMultiplier: 1, steps: 10 };
    expectPrivkitError(() => composePld([], 0.01, 1e-8), 'E_ARG', 'groups');
    expectPrivkitError(() => composePld([{ ...ok, sampleRate: 0 }], 0.01, 1e-8), 'E_ARG', 'sampleRate');
    expectPrivkitError(() => composePld([{ ...ok, noiseMultiplier: 0 }], 0.01, 1e-8), 'E_ARG', 'noiseMultiplier');
    expectPrivkitError(() => composePld([{ ...ok, steps: 2 ** 53 }], 0.01, 1e-8), 'E_ARG', 'steps');
    expectPrivkitError(() => composePld([ok, { ...ok, steps: 2 ** 53 - 5 }], 0.01, 1e-8), 'E_ARG', 'steps');
    expectPrivkitError(() => composePld([ok], 0, 1e-8), 'E_ARG', 'epsilonError');
    expectPrivkitError(() => composePld([ok], 0.01, Number.NaN), 'E_ARG', 'deltaError');
  });
});
