// Sampling without replacement with replace-one neighbours (src/accounting/replace-one.ts): the RDP
// from the Gaussian's privacy profile against 40-digit values of its closed form computed independently
// (scripts/vectors/replace_one_rdp.py), above the RDP of a concrete neighbouring pair, and below the
// general bound of Wang, Balle, Kasiviswanathan 2019.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { PldAccountant, RdpAccountant } from 'privkit/accounting';
import { expectPrivkitError } from '../support/helpers.js';

interface Case {
  sampleRate: number;
  sigma: number;
  order: number;
  rdp: number;
  pairRdp: number;
}
const { cases } = JSON.parse(readFileSync(new URL('../vectors/replace-one-rdp.json', import.meta.url), 'utf8')) as { cases: Case[] };

/** One step's RDP at `order` for noise multiplier z = 2 sigma (sigma in units of the replace-one sensitivity 2C). */
function rdp(sampleRate: number, sigma: number, order: number): number {
  return new RdpAccountant({ orders: [order] })
    .step({ noiseMultiplier: 2 * sigma, sampleRate, sampling: 'without-replacement', neighbours: 'replace-one' })
    .getRdp()[0]!;
}

describe('RDP of the Gaussian sampled without replacement, replace-one neighbours', () => {
  it.each(cases)('q $sampleRate, sigma $sigma, order $order: an upper bound within 1% of the exact symmetric integral', (c) => {
    const value = rdp(c.sampleRate, c.sigma, c.order);
    // Never below the exact value (up to float rounding) and never below the concrete pair's RDP.
    expect(value).toBeGreaterThanOrEqual(c.rdp * (1 - 1e-9));
    expect(value).toBeGreaterThanOrEqual(c.pairRdp * (1 - 1e-9));
    // At most 1% above it (the upper Riemann sum's overshoot), unless the no-amplification bound is smaller.
    expect(value).toBeLessThanOrEqual(Math.min(c.rdp * 1.01, c.order / (2 * c.sigma * c.sigma)) * (1 + 1e-12));
  });

  it('is the plain Gaussian at twice the sensitivity when the whole dataset is the batch', () => {
    for (const order of [1.5, 2, 10, 64]) expect(rdp(1, 1.3, order)).toBeCloseTo(order / (2 * 1.3 * 1.3), 12);
  });

  it('is far below the general bound of WBK19 (Thm 9) where that bound is loose', () => {
    // WBK19 at alpha = 2: log(1 + q^2 min(4 (e^eps(2) - 1), 2 e^eps(2))), eps(2) = 1 / sigma^2.
    for (const [q, sigma] of [
      [0.1, 1.9],
      [0.01, 1],
      [0.3, 2.5],
    ] as const) {
      const e2 = 1 / (sigma * sigma);
      const wbk19 = Math.log1p(q * q * Math.min(4 * Math.expm1(e2), 2 * Math.exp(e2)));
      expect(rdp(q, sigma, 2)).toBeLessThan(wbk19 * 0.75);
    }
  });

  it('gives the federated example its noise: epsilon 3 after 100 rounds at q = 0.1 needs z in (3.6, 4.0)', () => {
    const epsilonAt = (z: number) =>
      new RdpAccountant()
        .step({ noiseMultiplier: z, sampleRate: 0.1, steps: 100, sampling: 'without-replacement', neighbours: 'replace-one' })
        .getEpsilon(1e-5).epsilon;
    expect(epsilonAt(3.6)).toBeGreaterThan(3);
    expect(epsilonAt(4.0)).toBeLessThan(3);
  });
});

describe("a sampler's pmf slack", () => {
  const event = { noiseMultiplier: 3, sampleRate: 0.1, sampling: 'without-replacement', neighbours: 'replace-one' } as const;
  const rdpAt = (order: number, e: object) => new RdpAccountant({ orders: [order] }).step(e as never).getRdp()[0]!;

  it('adds s (2 alpha - 1) / (alpha - 1) to the RDP of an unsampled Gaussian, in either relation', () => {
    for (const order of [1.5, 4, 32]) {
      const extra = (1e-3 * (2 * order - 1)) / (order - 1);
      expect(rdpAt(order, { mechanism: 'gaussian', noiseMultiplier: 2, slack: 1e-3 })).toBeCloseTo(order / 8 + extra, 12);
      expect(rdpAt(order, { ...event, sampleRate: 1, slack: 1e-3 })).toBeCloseTo((4 * order) / 18 + extra, 12);
    }
  });

  it('raises the subsampled RDP, by at most what it adds unsampled', () => {
    for (const order of [2, 8]) {
      const ideal = rdpAt(order, event);
      const slack = rdpAt(order, { ...event, slack: 1e-4 });
      expect(slack).toBeGreaterThan(ideal);
      expect(slack - ideal).toBeLessThanOrEqual((1e-4 * (2 * order - 1)) / (order - 1) + 1e-12);
    }
  });

  it('is refused by the PLD accountant, which composes ideal Gaussians only', () => {
    expectPrivkitError(() => new PldAccountant().step({ noiseMultiplier: 1, sampleRate: 0.1, slack: 1e-4 }), 'E_ARG', 'event.slack');
  });
});
