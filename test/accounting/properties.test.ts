// Property tests of privkit/accounting (fast-check, fixed seed): epsilon grows with steps and sampleRate
// and falls with sigma; the fractional-order RDP matches numerical integration; PLD <= RDP; calibrated
// sigma is minimal to 1e-4; a budget never records an overspending event.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { calibrateNoiseMultiplier, PldAccountant, PrivacyBudget, RdpAccountant, type PrivacyEvent } from 'privkit/accounting';
import { PrivkitError } from 'privkit';
import { FC_SEED, relativeError } from '../support/helpers.js';

fc.configureGlobal({ seed: FC_SEED, numRuns: 40, endOnFailure: true });

const sampleRate = fc.double({ min: 1e-4, max: 1, noNaN: true });
const sigma = fc.double({ min: 0.3, max: 20, noNaN: true });
const steps = fc.integer({ min: 1, max: 20_000 });
const delta = fc.constantFrom(1e-5, 1e-6, 1e-8);

const epsilon = (q: number, s: number, k: number, d: number) =>
  new RdpAccountant().step({ sampleRate: q, noiseMultiplier: s, steps: k }).getEpsilon(d).epsilon;

/** Monotone up to float rounding in the last bits. */
const atMost = (a: number, b: number) => a <= b * (1 + 1e-12) + 1e-15;

describe('RDP epsilon is monotone', () => {
  it('increases with steps', () => {
    fc.assert(
      fc.property(sampleRate, sigma, steps, steps, delta, (q, s, k1, k2, d) => atMost(epsilon(q, s, Math.min(k1, k2), d), epsilon(q, s, Math.max(k1, k2), d))),
    );
  });

  it('increases with sampleRate', () => {
    fc.assert(
      fc.property(sampleRate, sampleRate, sigma, steps, delta, (q1, q2, s, k, d) => atMost(epsilon(Math.min(q1, q2), s, k, d), epsilon(Math.max(q1, q2), s, k, d))),
    );
  });

  it('decreases with sigma', () => {
    fc.assert(
      fc.property(sampleRate, sigma, sigma, steps, delta, (q, s1, s2, k, d) => atMost(epsilon(q, Math.max(s1, s2), k, d), epsilon(q, Math.min(s1, s2), k, d))),
    );
  });
});

/** A_alpha - 1 by the trapezoid rule in z (see rdp-accountant.test.ts); exponentially accurate for this integrand. */
function aMinusOneByQuadrature(q: number, s: number, alpha: number): number {
  const h = Math.min(s / 16, (Math.PI * s * s) / 24);
  let total = 0;
  for (let z = -14 * s; z <= alpha + 14 * s; z += h) {
    const density = Math.exp((-z * z) / (2 * s * s)) / (Math.sqrt(2 * Math.PI) * s);
    total += density * Math.expm1(alpha * Math.log1p(q * Math.expm1((2 * z - 1) / (2 * s * s))));
  }
  return total * h;
}

it('fractional-order RDP matches numerical integration', () => {
  fc.assert(
    fc.property(
      // (Where A - 1 is below ~1e-8 both sides lose relative digits to double rounding: not compared.)
      fc.double({ min: 0.01, max: 0.99, noNaN: true }),
      fc.double({ min: 0.8, max: 8, noNaN: true }),
      fc.double({ min: 1.1, max: 12, noNaN: true }).filter((a) => !Number.isInteger(a)),
      (q, s, alpha) => {
        const rdp = new RdpAccountant({ orders: [alpha] }).step({ sampleRate: q, noiseMultiplier: s }).getRdp()[0]!;
        const expected = Math.log1p(aMinusOneByQuadrature(q, s, alpha)) / (alpha - 1);
        expect(relativeError(rdp, expected)).toBeLessThan(1e-7);
      },
    ),
    { numRuns: 60 },
  );
});

it('PLD epsilon is at most the RDP epsilon (also before taking the minimum with it)', () => {
  fc.assert(
    fc.property(
      fc.double({ min: 0.002, max: 0.1, noNaN: true }),
      fc.double({ min: 0.6, max: 2.5, noNaN: true }),
      fc.integer({ min: 20, max: 1000 }),
      delta,
      (q, s, k, d) => {
        const event = { sampleRate: q, noiseMultiplier: s, steps: k };
        const rdp = new RdpAccountant().step(event).getEpsilon(d).epsilon;
        const pld = new PldAccountant().step(event).getEpsilon(d);
        expect(pld.epsilon).toBeLessThanOrEqual(rdp);
        expect(pld.estimate + pld.errorBound).toBeLessThanOrEqual(rdp);
      },
    ),
    { numRuns: 8 },
  );
});

it('calibration returns the smallest sigma (to 1e-4) with epsilon <= target', () => {
  fc.assert(
    fc.property(
      fc.double({ min: 0.3, max: 12, noNaN: true }),
      fc.double({ min: 1e-3, max: 0.3, noNaN: true }),
      fc.integer({ min: 1, max: 10_000 }),
      delta,
      (targetEpsilon, q, k, d) => {
        const { noiseMultiplier } = calibrateNoiseMultiplier({ targetEpsilon, delta: d, sampleRate: q, steps: k });
        expect(epsilon(q, noiseMultiplier, k, d)).toBeLessThanOrEqual(targetEpsilon);
        expect(epsilon(q, noiseMultiplier * (1 - 1e-4), k, d)).toBeGreaterThan(targetEpsilon);
      },
    ),
    { numRuns: 15 },
  );
});

const event: fc.Arbitrary<PrivacyEvent> = fc.oneof(
  fc.record({ sampleRate: fc.double({ min: 1e-3, max: 0.2, noNaN: true }), noiseMultiplier: fc.double({ min: 0.5, max: 5, noNaN: true }), steps: fc.integer({ min: 1, max: 2000 }) }),
  fc.record({ mechanism: fc.constant('gaussian' as const), noiseMultiplier: fc.double({ min: 1, max: 50, noNaN: true }) }),
  fc.record({ mechanism: fc.constant('laplace' as const), noiseMultiplier: fc.double({ min: 1, max: 50, noNaN: true }) }),
);

it('a budget never records an event that overspends, and a refused event changes nothing', () => {
  fc.assert(
    fc.property(fc.double({ min: 0.5, max: 5, noNaN: true }), fc.array(event, { minLength: 1, maxLength: 10 }), (budgetEpsilon, events) => {
      const budget = new PrivacyBudget({ epsilon: budgetEpsilon, delta: 1e-5 });
      for (const e of events) {
        const before = { spent: budget.spent, count: budget.events.length };
        try {
          budget.spend(e);
        } catch (error) {
          expect(error).toBeInstanceOf(PrivkitError);
          expect((error as PrivkitError).code).toBe('E_BUDGET');
          expect({ spent: budget.spent, count: budget.events.length }).toEqual(before);
          continue;
        }
        expect(budget.events.length).toBe(before.count + 1);
        expect(budget.spent).toBeLessThanOrEqual(budgetEpsilon);
      }
      const replay = new RdpAccountant();
      for (const recorded of budget.events) replay.step(recorded);
      expect(replay.getEpsilon(1e-5).epsilon).toBeLessThanOrEqual(budgetEpsilon);
    }),
  );
});
