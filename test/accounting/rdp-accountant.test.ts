// Privacy accounting (privkit/accounting): the published vectors of test/vectors/accounting.json (a copy of shared/vectors),
// the fractional-order RDP against numerical integration, the PLD against the exact Gaussian,
// edge cases, conversions, zCDP, budgets and argument errors.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  calibrateNoiseMultiplier,
  calibrateSteps,
  DEFAULT_ORDERS,
  discreteGaussianZcdp,
  PldAccountant,
  PrivacyBudget,
  RdpAccountant,
  zcdpToDelta,
  zcdpToEpsilon,
  type PrivacyEvent,
} from 'privkit/accounting';
import { expectPrivkitError, relativeError } from '../support/helpers.js';

interface Vectors {
  epsilon: Array<{ sampleRate: number; noiseMultiplier: number; steps: number; delta: number; epsilon: number; order: number }>;
  rdpPerOrder: Array<{
    sampleRate: number;
    noiseMultiplier: number;
    steps: number;
    orders: Array<number | string>;
    rdp: Array<number | string>;
    relTolerance: number;
  }>;
  calibration: Array<{ targetEpsilon: number; delta: number; sampleRate: number; steps: number; accountant: 'rdp'; noiseMultiplier: number }>;
  pld: Array<{ sampleRate: number; noiseMultiplier: number; steps: number; delta: number; epsilon: number }>;
}

const vectors = JSON.parse(
  readFileSync(new URL('../vectors/accounting.json', import.meta.url), 'utf8'),
) as Vectors;
const toNumber = (v: number | string) => (v === 'Infinity' ? Number.POSITIVE_INFINITY : Number(v));

/** The orders of the published vectors (Opacus' DEFAULT_ALPHAS): 1.1, ..., 10.9 and 12, ..., 63. */
const OPACUS_ORDERS = [...Array.from({ length: 99 }, (_, i) => 1 + (i + 1) / 10), ...Array.from({ length: 52 }, (_, i) => 12 + i)];

/**
 * A_alpha - 1 = E_{z ~ N(0, s^2)}[((1 - q) + q e^{(2z - 1)/(2 s^2)})^alpha - 1] by the trapezoid rule,
 * which converges exponentially for this smooth, fast-decaying integrand (step well inside its strip of analyticity).
 */
function aMinusOneByQuadrature(q: number, sigma: number, alpha: number): number {
  const h = Math.min(sigma / 16, (Math.PI * sigma * sigma) / 24);
  const lo = -14 * sigma;
  const hi = alpha + 14 * sigma;
  let total = 0;
  for (let z = lo; z <= hi; z += h) {
    const density = Math.exp((-z * z) / (2 * sigma * sigma)) / (Math.sqrt(2 * Math.PI) * sigma);
    const ratio = Math.log1p(q * Math.expm1((2 * z - 1) / (2 * sigma * sigma)));
    total += density * Math.expm1(alpha * ratio);
  }
  return total * h;
}

/** Standard normal CDF by Simpson integration of the density (test-side oracle, independent of the library). */
function normalCdf(x: number): number {
  if (x > 0) return 1 - normalCdf(-x);
  const lo = -40;
  const n = 20_000;
  const h = (x - lo) / n;
  const f = (t: number) => Math.exp((-t * t) / 2) / Math.sqrt(2 * Math.PI);
  let s = f(lo) + f(x);
  for (let i = 1; i < n; i++) s += (i % 2 === 1 ? 4 : 2) * f(lo + i * h);
  return (s * h) / 3;
}

/** Exact delta(eps) of the Gaussian mechanism with noise multiplier sigma (Balle & Wang 2018, Thm 8). */
function gaussianDelta(sigma: number, epsilon: number): number {
  return normalCdf(1 / (2 * sigma) - epsilon * sigma) - Math.exp(epsilon) * normalCdf(-1 / (2 * sigma) - epsilon * sigma);
}

/** The sampled Gaussian event of a vector row (the rows also carry their expected results). */
const eventOf = (v: { sampleRate: number; noiseMultiplier: number; steps?: number }) => ({ sampleRate: v.sampleRate, noiseMultiplier: v.noiseMultiplier, steps: v.steps ?? 1 });

describe('published vectors', () => {
  it.each(vectors.epsilon)('epsilon for q=$sampleRate, sigma=$noiseMultiplier, $steps steps', (v) => {
    const result = new RdpAccountant({ orders: OPACUS_ORDERS }).step(eventOf(v)).getEpsilon(v.delta);
    expect(relativeError(result.epsilon, v.epsilon)).toBeLessThan(1e-6);
    expect(result.order).toBe(v.order);
    expect(result.atEdge).toBe(false);
  });

  it.each(vectors.rdpPerOrder)('RDP per order (integer, fractional, Infinity) for q=$sampleRate, sigma=$noiseMultiplier', (v) => {
    const orders = v.orders.map(toNumber);
    const rdp = new RdpAccountant({ orders }).step(eventOf(v)).getRdp();
    v.rdp.map(toNumber).forEach((expected, k) => {
      if (expected === Number.POSITIVE_INFINITY) expect(rdp[k]).toBe(Number.POSITIVE_INFINITY);
      else expect(relativeError(rdp[k]!, expected), `order ${orders[k]}`).toBeLessThan(v.relTolerance);
    });
  });

  it.each(vectors.calibration)('calibration to epsilon $targetEpsilon beats Opacus (sigma <= $noiseMultiplier)', (v) => {
    const { targetEpsilon, delta, sampleRate, steps, accountant } = v;
    const result = calibrateNoiseMultiplier({ targetEpsilon, delta, sampleRate, steps, accountant });
    expect(result.noiseMultiplier).toBeLessThanOrEqual(v.noiseMultiplier);
    expect(result.epsilon).toBeLessThanOrEqual(v.targetEpsilon);
    const eps = (sigma: number) => new RdpAccountant().step({ ...eventOf(v), noiseMultiplier: sigma }).getEpsilon(v.delta).epsilon;
    expect(eps(result.noiseMultiplier)).toBeLessThanOrEqual(v.targetEpsilon);
    expect(eps(result.noiseMultiplier * (1 - 1e-4))).toBeGreaterThan(v.targetEpsilon);
    // Opacus' answer is also within target under the same orders.
    const opacus = new RdpAccountant({ orders: OPACUS_ORDERS }).step(eventOf(v)).getEpsilon(v.delta);
    expect(opacus.epsilon).toBeLessThanOrEqual(v.targetEpsilon);
  });

  it.each(vectors.pld)('PLD epsilon for q=$sampleRate, sigma=$noiseMultiplier, $steps steps', (v) => {
    const pld = new PldAccountant().step(eventOf(v)).getEpsilon(v.delta);
    const rdp = new RdpAccountant().step(eventOf(v)).getEpsilon(v.delta);
    expect(Math.abs(pld.epsilon - v.epsilon)).toBeLessThan(0.02);
    expect(pld.epsilon).toBeLessThanOrEqual(rdp.epsilon);
    expect(pld.estimate).toBeLessThan(pld.epsilon);
    expect(pld.errorBound).toBeLessThan(0.011);
  });
});

describe('RdpAccountant', () => {
  it('has the default orders 1.1..10.9, 11..63, 128, 256, 512, 1024', () => {
    expect(DEFAULT_ORDERS).toHaveLength(156);
    expect(DEFAULT_ORDERS.slice(0, 3)).toEqual([1.1, 1.2, 1.3]);
    expect(DEFAULT_ORDERS[98]).toBeCloseTo(10.9, 12);
    expect(DEFAULT_ORDERS.slice(99, 101)).toEqual([11, 12]);
    expect(DEFAULT_ORDERS.slice(-5)).toEqual([63, 128, 256, 512, 1024]);
  });

  it('matches numerical integration at fractional orders (the exact signed series, not the absolute-value bound)', () => {
    for (const [q, sigma, alpha] of [
      [0.01, 2.5, 1.5],
      [0.05, 0.9, 2.7],
      [0.2, 1.3, 7.35],
      [0.5, 2, 1.05],
      [0.9, 3, 4.5],
      [0.003, 0.7, 12.25],
    ] as const) {
      const rdp = new RdpAccountant({ orders: [alpha] }).step({ sampleRate: q, noiseMultiplier: sigma }).getRdp()[0]!;
      const expected = Math.log1p(aMinusOneByQuadrature(q, sigma, alpha)) / (alpha - 1);
      expect(relativeError(rdp, expected), `q=${q} sigma=${sigma} alpha=${alpha}`).toBeLessThan(1e-8);
    }
  });

  it('handles q = 1 (the plain Gaussian), sigma = 0 and Infinity orders', () => {
    const full = new RdpAccountant({ orders: [1.5, 2, 32] }).step({ sampleRate: 1, noiseMultiplier: 2 }).getRdp();
    expect([...full]).toEqual([1.5 / 8, 2 / 8, 32 / 8]);
    const gaussian = new RdpAccountant({ orders: [1.5, 2, 32] }).step({ mechanism: 'gaussian', noiseMultiplier: 2, steps: 3 }).getRdp();
    expect([...gaussian]).toEqual([(3 * 1.5) / 8, (3 * 2) / 8, (3 * 32) / 8]);
    const noiseless = new RdpAccountant().step({ sampleRate: 0.01, noiseMultiplier: 0 });
    expect(noiseless.getEpsilon(1e-5)).toEqual({ epsilon: Number.POSITIVE_INFINITY });
    expect(noiseless.getDelta(10).delta).toBe(1);
  });

  it('flags an optimum at the edge of the orders', () => {
    const acc = new RdpAccountant().step({ mechanism: 'gaussian', noiseMultiplier: 1000 });
    expect(acc.getEpsilon(1e-5)).toMatchObject({ order: 1024, atEdge: true });
    const low = new RdpAccountant({ orders: [8, 16, 32] }).step({ sampleRate: 0.04, noiseMultiplier: 1.5, steps: 2250 });
    expect(low.getEpsilon(1e-5)).toMatchObject({ order: 8, atEdge: true });
  });

  it('composes Laplace releases (pure DP at order Infinity) with DP-SGD steps', () => {
    const laplace = new RdpAccountant({ orders: [2, Number.POSITIVE_INFINITY] }).step({ mechanism: 'laplace', noiseMultiplier: 4, steps: 3 });
    expect(laplace.getRdp()[1]).toBe(3 / 4);
    expect(laplace.getEpsilon(1e-9)).toMatchObject({ epsilon: 0.75, order: Number.POSITIVE_INFINITY });
    // Mironov 2017, Prop. 6 at alpha = 2: log(2/3 e^{1/b} + 1/3 e^{-2/b}).
    expect(relativeError(laplace.getRdp()[0]!, 3 * Math.log((2 / 3) * Math.exp(0.25) + Math.exp(-0.5) / 3))).toBeLessThan(1e-14);
    const mixed = new RdpAccountant().step({ sampleRate: 0.01, noiseMultiplier: 1.1, steps: 1000 }).step({ mechanism: 'laplace', noiseMultiplier: 10 });
    const alone = new RdpAccountant().step({ sampleRate: 0.01, noiseMultiplier: 1.1, steps: 1000 });
    expect(mixed.getEpsilon(1e-5).epsilon).toBeGreaterThan(alone.getEpsilon(1e-5).epsilon);
    expect(mixed.events).toHaveLength(2);
  });

  it('accounts sampling without replacement with replace-one neighbours at twice the sensitivity, below WBK19', () => {
    const q = 0.05;
    const z = 2.4; // sigma / C; replace-one moves the sum by 2C, so the Gaussian of z / 2 = 1.2
    const event = { sampleRate: q, noiseMultiplier: z, sampling: 'without-replacement', neighbours: 'replace-one' } as const;
    const rdp = (alpha: number, e: PrivacyEvent = event) => new RdpAccountant({ orders: [alpha] }).step(e).getRdp()[0]!;
    // q = 1: the plain Gaussian at sensitivity 2C.
    expect(relativeError(rdp(3, { ...event, sampleRate: 1 }), (3 * 4) / (2 * z * z))).toBeLessThan(1e-12);
    // WBK19, Thm 9 at alpha = 2 for sigma' = z / 2 is a valid but looser bound; the profile bound is below it.
    const e2 = 4 / (z * z);
    const wbk19 = Math.log1p(q * q * Math.min(4 * Math.expm1(e2), 2 * Math.exp(e2)));
    expect(rdp(2)).toBeLessThanOrEqual(wbk19);
    // ... and above the Poisson-subsampled Gaussian at z / 2, the RDP of a concrete neighbouring pair.
    for (const alpha of [1.5, 2, 4, 16]) {
      expect(rdp(alpha)).toBeGreaterThan(rdp(alpha, { sampleRate: q, noiseMultiplier: z / 2 }));
    }
  });

  it('converts both ways: getDelta(getEpsilon(delta)) = delta', () => {
    const acc = new RdpAccountant().step({ sampleRate: 0.0025, noiseMultiplier: 1.3, steps: 6000 });
    const { epsilon, order } = acc.getEpsilon(1e-5);
    const back = acc.getDelta(epsilon);
    expect(back.order).toBe(order);
    expect(relativeError(back.delta, 1e-5)).toBeLessThan(1e-9);
    expect(acc.getDelta(0).delta).toBeGreaterThan(1e-5);
    expect(new RdpAccountant().getEpsilon(1e-5)).toEqual({ epsilon: 0 });
    expect(new RdpAccountant().getDelta(0)).toEqual({ delta: 0 });
  });

  it('clone() is independent', () => {
    const acc = new RdpAccountant().step({ sampleRate: 0.01, noiseMultiplier: 1, steps: 10 });
    const copy = acc.clone().step({ sampleRate: 0.01, noiseMultiplier: 1, steps: 10 });
    expect(copy.getRdp()[50]).toBeCloseTo(2 * acc.getRdp()[50]!, 12);
    expect(acc.events).toHaveLength(1);
  });
});

describe('PldAccountant', () => {
  it('is within its error bound of the exact Gaussian mechanism, and above it', () => {
    for (const sigma of [0.8, 2]) {
      const pld = new PldAccountant().step({ mechanism: 'gaussian', noiseMultiplier: sigma }).getEpsilon(1e-5);
      expect(gaussianDelta(sigma, pld.epsilon)).toBeLessThanOrEqual(1e-5);
      expect(gaussianDelta(sigma, pld.estimate - 0.005)).toBeGreaterThan(1e-5);
      expect(gaussianDelta(sigma, pld.estimate + 0.005)).toBeLessThan(1e-5);
    }
  });

  it('getDelta and getEpsilon agree; no events cost nothing; sigma = 0 costs everything', () => {
    const acc = new PldAccountant().step({ sampleRate: 0.02, noiseMultiplier: 1, steps: 200 });
    const { epsilon } = acc.getEpsilon(1e-5);
    const delta = acc.getDelta(epsilon).delta;
    expect(delta).toBeLessThanOrEqual(1.0001e-5);
    expect(delta).toBeGreaterThan(0.5e-5);
    expect(new PldAccountant().getEpsilon(1e-5).epsilon).toBe(0);
    expect(new PldAccountant().step({ sampleRate: 0.5, noiseMultiplier: 0 }).getEpsilon(1e-5).epsilon).toBe(Number.POSITIVE_INFINITY);
  });

  it('merges repeated events and composes heterogeneous ones', () => {
    const split = new PldAccountant().step({ sampleRate: 0.02, noiseMultiplier: 1, steps: 100 }).step({ sampleRate: 0.02, noiseMultiplier: 1, steps: 100 });
    const whole = new PldAccountant().step({ sampleRate: 0.02, noiseMultiplier: 1, steps: 200 });
    expect(split.getEpsilon(1e-5).epsilon).toBe(whole.getEpsilon(1e-5).epsilon);
    const mixed = whole.clone().step({ mechanism: 'gaussian', noiseMultiplier: 5 });
    expect(mixed.getEpsilon(1e-5).epsilon).toBeGreaterThan(whole.getEpsilon(1e-5).epsilon);
    expect(mixed.getEpsilon(1e-5).epsilon).toBeLessThanOrEqual(
      new RdpAccountant().step({ sampleRate: 0.02, noiseMultiplier: 1, steps: 200 }).step({ mechanism: 'gaussian', noiseMultiplier: 5 }).getEpsilon(1e-5).epsilon,
    );
  });

  it('refuses events it can not account, naming the field', () => {
    const acc = new PldAccountant();
    expectPrivkitError(() => acc.step({ sampleRate: 0.1, noiseMultiplier: 1, sampling: 'without-replacement', neighbours: 'replace-one' }), 'E_ARG', 'event.sampling');
    expectPrivkitError(() => acc.step({ mechanism: 'laplace', noiseMultiplier: 1 }), 'E_ARG', 'event.mechanism');
    expect(acc.events).toHaveLength(0);
  });
});

describe('calibration', () => {
  it('accepts epochs (steps = floor(epochs / sampleRate)) and a PLD accountant', () => {
    const byEpochs = calibrateNoiseMultiplier({ targetEpsilon: 1, delta: 1e-5, sampleRate: 0.0025, epochs: 15 });
    expect(byEpochs.steps).toBe(6000);
    const pld = calibrateNoiseMultiplier({ targetEpsilon: 2, delta: 1e-5, sampleRate: 0.02, steps: 100, accountant: 'pld' });
    const rdp = calibrateNoiseMultiplier({ targetEpsilon: 2, delta: 1e-5, sampleRate: 0.02, steps: 100 });
    expect(pld.noiseMultiplier).toBeLessThan(rdp.noiseMultiplier);
    const eps = (sigma: number) => new PldAccountant().step({ sampleRate: 0.02, noiseMultiplier: sigma, steps: 100 }).getEpsilon(1e-5).epsilon;
    expect(eps(pld.noiseMultiplier)).toBeLessThanOrEqual(2);
    expect(eps(pld.noiseMultiplier * (1 - 1e-4))).toBeGreaterThan(2);
  });

  it('finds the most steps within a target', () => {
    const { steps, epsilon } = calibrateSteps({ targetEpsilon: 3, delta: 1e-5, sampleRate: 0.01, noiseMultiplier: 1 });
    expect(epsilon).toBeLessThanOrEqual(3);
    const eps = (k: number) => new RdpAccountant().step({ sampleRate: 0.01, noiseMultiplier: 1, steps: k }).getEpsilon(1e-5).epsilon;
    expect(eps(steps)).toBe(epsilon);
    expect(eps(steps + 1)).toBeGreaterThan(3);
  });

  it('charges the sampler slack when it finds the most steps', () => {
    const withSlack = calibrateSteps({ targetEpsilon: 3, delta: 1e-5, sampleRate: 0.01, noiseMultiplier: 1, slack: 1e-4 });
    const eps = (k: number) => new RdpAccountant().step({ sampleRate: 0.01, noiseMultiplier: 1, steps: k, slack: 1e-4 }).getEpsilon(1e-5).epsilon;
    expect(eps(withSlack.steps)).toBeLessThanOrEqual(3);
    expect(eps(withSlack.steps + 1)).toBeGreaterThan(3);
    expect(withSlack.steps).toBeLessThan(calibrateSteps({ targetEpsilon: 3, delta: 1e-5, sampleRate: 0.01, noiseMultiplier: 1 }).steps);
  });

  it('errors when the target is unreachable', () => {
    expectPrivkitError(() => calibrateNoiseMultiplier({ targetEpsilon: 1e-3, delta: 1e-5, sampleRate: 0.5, steps: 10 }), 'E_ARG', 'targetEpsilon');
    expectPrivkitError(() => calibrateSteps({ targetEpsilon: 0.1, delta: 1e-5, sampleRate: 1, noiseMultiplier: 1 }), 'E_ARG', 'targetEpsilon');
  });
});

describe('zCDP', () => {
  it('gives rho = sensitivity^2 / (2 sigma^2) for the discrete Gaussian and converts to (epsilon, delta) (CKS20)', () => {
    expect(discreteGaussianZcdp({ sigma: 4, sensitivity: 2 })).toBe(0.125);
    expect(discreteGaussianZcdp({ sigma: 2 })).toBe(0.125);
    const { epsilon } = zcdpToEpsilon(0.125, 1e-6);
    // CKS20's bound is tighter than the classic rho + 2 sqrt(rho log(1/delta)) (Bun & Steinke 2016).
    expect(epsilon).toBeLessThan(0.125 + 2 * Math.sqrt(0.125 * Math.log(1e6)));
    expect(epsilon).toBeGreaterThan(0.125 + 2 * Math.sqrt(0.125 * Math.log(1e6)) - 0.5);
    expect(relativeError(zcdpToDelta(0.125, epsilon).delta, 1e-6)).toBeLessThan(1e-8);
    expect(zcdpToEpsilon(0, 1e-6).epsilon).toBe(0);
  });

  it('composes with other events in the RDP accountant (RDP = alpha rho)', () => {
    const acc = new RdpAccountant().step({ mechanism: 'zcdp', rho: 0.05, steps: 2 });
    expect(acc.getRdp()[0]).toBeCloseTo(1.1 * 0.1, 15);
    const continuous = zcdpToEpsilon(0.1, 1e-6).epsilon;
    expect(acc.getEpsilon(1e-6).epsilon).toBeGreaterThanOrEqual(continuous);
    expect(acc.getEpsilon(1e-6).epsilon).toBeLessThan(continuous * 1.001);
  });
});

describe('PrivacyBudget', () => {
  it('records events, reports spent and remaining, and refuses an overspending event without changing state', () => {
    const budget = new PrivacyBudget({ epsilon: 2, delta: 1e-5 });
    const event: PrivacyEvent = { sampleRate: 0.01, noiseMultiplier: 1, steps: 100 };
    let spent = 0;
    for (let i = 0; i < 8; i++) {
      const now = budget.spend(event);
      expect(now).toBeGreaterThan(spent);
      spent = now;
    }
    expect(budget.spent).toBe(spent);
    expect(budget.remaining).toBeCloseTo(2 - spent, 12);
    expect(budget.canSpend(event)).toBe(false);
    const error = expectPrivkitError(() => budget.spend(event), 'E_BUDGET', 'event');
    expect(error.message).toMatch(/budget 2/);
    expect(budget.spent).toBe(spent);
    expect(budget.events).toEqual([{ ...event, steps: 800, mechanism: 'subsampled-gaussian', sampling: 'poisson', neighbours: 'add-remove', slack: 0, tailMass: 0 }]);
    expect(budget.canSpend({ mechanism: 'gaussian', noiseMultiplier: 50 })).toBe(true);
  });

  it('works with a PLD accountant and starts from an existing accountant (copied)', () => {
    const event: PrivacyEvent = { sampleRate: 0.01, noiseMultiplier: 1, steps: 400 };
    const pld = new PrivacyBudget({ epsilon: 2, delta: 1e-5, accountant: 'pld' });
    const rdp = new PrivacyBudget({ epsilon: 2, delta: 1e-5 });
    expect([pld.spent, rdp.spent]).toEqual([0, 0]);
    expect(pld.spend(event)).toBeLessThan(rdp.spend(event));
    const acc = new RdpAccountant().step(event);
    const budget = new PrivacyBudget({ epsilon: 3, delta: 1e-5, accountant: acc });
    expect(budget.spent).toBe(acc.getEpsilon(1e-5).epsilon);
    budget.spend(event);
    expect(acc.events).toHaveLength(1);
    expectPrivkitError(() => new PrivacyBudget({ epsilon: 0.1, delta: 1e-5, accountant: acc }), 'E_BUDGET', 'accountant');
  });
});

describe('argument errors', () => {
  const acc = new RdpAccountant();
  const good = { sampleRate: 0.01, noiseMultiplier: 1 };
  it.each([
    ['sampleRate 0', { ...good, sampleRate: 0 }, 'event.sampleRate'],
    ['sampleRate > 1', { ...good, sampleRate: 1.5 }, 'event.sampleRate'],
    ['sampleRate NaN', { ...good, sampleRate: Number.NaN }, 'event.sampleRate'],
    ['noiseMultiplier < 0', { ...good, noiseMultiplier: -1 }, 'event.noiseMultiplier'],
    ['noiseMultiplier missing', { sampleRate: 0.1 }, 'event.noiseMultiplier'],
    ['steps 0', { ...good, steps: 0 }, 'event.steps'],
    ['steps 1.5', { ...good, steps: 1.5 }, 'event.steps'],
    ['sampling', { ...good, sampling: 'shuffle' }, 'event.sampling'],
    ['without replacement, no relation named', { ...good, sampling: 'without-replacement' }, 'event.neighbours'],
    ['without replacement, add-remove', { ...good, sampling: 'without-replacement', neighbours: 'add-remove' }, 'event.neighbours'],
    ['Poisson, replace-one', { ...good, neighbours: 'replace-one' }, 'event.neighbours'],
    ['neighbours', { ...good, neighbours: 'swap' }, 'event.neighbours'],
    ['mechanism', { ...good, mechanism: 'exponential' }, 'event.mechanism'],
    ['rho < 0', { mechanism: 'zcdp', rho: -1 }, 'event.rho'],
    ['not an object', 3, 'event'],
  ])('step: %s', (_, event, argument) => {
    expectPrivkitError(() => acc.step(event as PrivacyEvent), 'E_ARG', argument);
    expect(acc.events).toHaveLength(0);
  });

  it.each([0, 1, -1, Number.NaN, '1e-5'])('getEpsilon: delta %s', (delta) => {
    expectPrivkitError(() => acc.getEpsilon(delta as number), 'E_ARG', 'delta');
    expectPrivkitError(() => new PldAccountant().getEpsilon(delta as number), 'E_ARG', 'delta');
  });

  it('orders, epsilon, options', () => {
    expectPrivkitError(() => new RdpAccountant({ orders: [2, 1] }), 'E_ARG', 'orders', 1);
    expectPrivkitError(() => new RdpAccountant({ orders: [] }), 'E_ARG', 'orders');
    expectPrivkitError(() => acc.getDelta(-1), 'E_ARG', 'epsilon');
    expectPrivkitError(() => new PldAccountant({ epsilonError: 0 }), 'E_ARG', 'epsilonError');
    const base = { targetEpsilon: 1, delta: 1e-5, sampleRate: 0.01, steps: 100 };
    expectPrivkitError(() => calibrateNoiseMultiplier({ ...base, targetEpsilon: 0 }), 'E_ARG', 'targetEpsilon');
    expectPrivkitError(() => calibrateNoiseMultiplier({ ...base, targetEpsilon: Number.POSITIVE_INFINITY }), 'E_ARG', 'targetEpsilon');
    expectPrivkitError(() => calibrateNoiseMultiplier({ ...base, delta: 1 }), 'E_ARG', 'delta');
    expectPrivkitError(() => calibrateNoiseMultiplier({ ...base, sampleRate: 2 }), 'E_ARG', 'sampleRate');
    expectPrivkitError(() => calibrateNoiseMultiplier({ ...base, steps: -3 }), 'E_ARG', 'steps');
    expectPrivkitError(() => calibrateNoiseMultiplier({ ...base, epochs: 2 }), 'E_ARG', 'epochs');
    expectPrivkitError(() => calibrateNoiseMultiplier({ ...base, steps: undefined }), 'E_ARG', 'steps');
    expectPrivkitError(() => calibrateNoiseMultiplier({ ...base, steps: undefined, epochs: 0.001 }), 'E_ARG', 'epochs');
    expectPrivkitError(() => calibrateNoiseMultiplier({ ...base, accountant: 'gdp' as 'rdp' }), 'E_ARG', 'accountant');
    const { steps: _steps, ...stepsBase } = base;
    expectPrivkitError(() => calibrateSteps({ ...stepsBase, noiseMultiplier: -1 }), 'E_ARG', 'noiseMultiplier');
    expectPrivkitError(() => new PrivacyBudget({ epsilon: -1, delta: 1e-5 }), 'E_ARG', 'epsilon');
    expectPrivkitError(() => new PrivacyBudget({ epsilon: 1, delta: 0 }), 'E_ARG', 'delta');
    expectPrivkitError(() => new PrivacyBudget({ epsilon: 1, delta: 1e-5, accountant: 'prv' as 'rdp' }), 'E_ARG', 'accountant');
    expectPrivkitError(() => discreteGaussianZcdp({ sigma: 0 }), 'E_ARG', 'sigma');
    expectPrivkitError(() => zcdpToEpsilon(-1, 1e-5), 'E_ARG', 'rho');
    expectPrivkitError(() => zcdpToEpsilon(1, 2), 'E_ARG', 'delta');
    expectPrivkitError(() => zcdpToDelta(1, Number.NaN), 'E_ARG', 'epsilon');
  });
});
