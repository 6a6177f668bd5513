// Distributed discrete Gaussian: the accounting event (KLS21, Prop. 14 under subsampling) and the
// parameter plan (scale, local noise, wrap-around bound).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PrivkitError } from 'privkit';
import { RdpAccountant } from 'privkit/accounting';
import { planDistributedDp } from 'privkit/secagg';
import { expectPrivkitError, FC_SEED } from '../support/helpers.js';

const base = { clipNorm: 1, dimension: 7850, clients: 100, noiseMultiplier: 1.2 };

function epsilon(event: Parameters<RdpAccountant['step']>[0], delta = 1e-5): number {
  return new RdpAccountant().step(event).getEpsilon(delta).epsilon;
}

describe('distributed discrete Gaussian accounting', () => {
  it('matches the central Gaussian with the same total noise when the local noise is large (tau -> 0)', () => {
    const event = { mechanism: 'distributed-discrete-gaussian' as const, localSigma: 50, clients: 16, l2Sensitivity: 120, dimension: 1024, steps: 10 };
    const central = { mechanism: 'gaussian' as const, noiseMultiplier: (4 * 50) / 120, steps: 10 };
    expect(epsilon(event)).toBeCloseTo(epsilon(central), 10);
  });

  it('charges the gap between a sum of discrete Gaussians and one discrete Gaussian when the local noise is small', () => {
    const event = { mechanism: 'distributed-discrete-gaussian' as const, clients: 16, dimension: 4096, steps: 1 };
    const small = epsilon({ ...event, localSigma: 0.5, l2Sensitivity: 1 });
    const central = epsilon({ mechanism: 'gaussian', noiseMultiplier: (4 * 0.5) / 1 });
    expect(small).toBeGreaterThan(central * 1.05);
  });

  it('subsampling lowers epsilon, never below the subsampled Gaussian with the same noise', () => {
    const common = { localSigma: 200, clients: 25, l2Sensitivity: 1000, dimension: 8192, steps: 100 };
    const full = epsilon({ mechanism: 'distributed-discrete-gaussian', ...common });
    for (const sampling of ['poisson', 'without-replacement'] as const) {
      const neighbours = sampling === 'poisson' ? 'add-remove' : 'replace-one';
      const sub = epsilon({ mechanism: 'distributed-discrete-gaussian', ...common, sampleRate: 0.05, sampling, neighbours });
      const gaussian = epsilon({ noiseMultiplier: 1, sampleRate: 0.05, steps: 100, sampling, neighbours });
      expect(sub).toBeLessThan((sampling === 'poisson' ? full : epsilon({ mechanism: 'distributed-discrete-gaussian', ...common, neighbours })) / 3);
      expect(sub).toBeGreaterThanOrEqual(gaussian * (1 - 1e-9));
    }
  });

  it('rejects bad events with the field named', () => {
    const ok = { mechanism: 'distributed-discrete-gaussian' as const, localSigma: 2, clients: 4, l2Sensitivity: 3, dimension: 8 };
    expectPrivkitError(() => epsilon({ ...ok, localSigma: 0.25 }), 'E_ARG', 'event.localSigma');
    expectPrivkitError(() => epsilon({ ...ok, clients: 0 }), 'E_ARG', 'event.clients');
    expectPrivkitError(() => epsilon({ ...ok, dimension: 1.5 }), 'E_ARG', 'event.dimension');
    expectPrivkitError(() => epsilon({ ...ok, l2Sensitivity: Number.NaN }), 'E_ARG', 'event.l2Sensitivity');
    expectPrivkitError(() => epsilon({ ...ok, sampleRate: 2 }), 'E_ARG', 'event.sampleRate');
    // l1 >= l2 for every vector: a smaller l1 would shrink the bound's second term.
    expectPrivkitError(() => epsilon({ ...ok, l1Sensitivity: 2 }), 'E_ARG', 'event.l1Sensitivity');
  });
});

describe('planDistributedDp', () => {
  it('pads the dimension, splits the central noise across clients and keeps the wrap probability at the target', () => {
    const plan = planDistributedDp({ ...base, bits: 20, wrapProbability: 1e-6 });
    expect(plan.dimension).toBe(8192);
    expect(plan.localSigma * Math.sqrt(plan.clients)).toBeCloseTo(base.noiseMultiplier * base.clipNorm * plan.scale, 6);
    expect(plan.wrapProbability).toBeCloseTo(1e-6, 12);
    // One more bit doubles the scale (to within the rounding term).
    const wider = planDistributedDp({ ...base, bits: 21, wrapProbability: 1e-6 });
    expect(wider.scale / plan.scale).toBeCloseTo(2, 3);
  });

  it('rounding inflates the sensitivity only a little once the scaled clip norm dwarfs sqrt(d)', () => {
    const plan = planDistributedDp(base);
    const scaledClip = base.clipNorm * plan.scale;
    expect(plan.l2Sensitivity).toBeGreaterThan(scaledClip);
    expect(plan.l2Sensitivity / scaledClip).toBeLessThan(1.001);
    const central = epsilon({ mechanism: 'gaussian', noiseMultiplier: base.noiseMultiplier, steps: 50 });
    const distributed = epsilon({ ...plan.event({}), steps: 50 });
    expect(distributed).toBeGreaterThan(central);
    expect(distributed).toBeLessThan(central * 1.01);
  });

  it('names replace-one neighbours for sampling without replacement, which the accountant charges at twice the sensitivities', () => {
    const plan = planDistributedDp(base);
    const poisson = plan.event({ sampleRate: 1 });
    const wor = plan.event({ sampleRate: 1, sampling: 'without-replacement' });
    expect(poisson).toMatchObject({ l2Sensitivity: plan.l2Sensitivity, neighbours: 'add-remove' });
    expect(wor).toMatchObject({ l2Sensitivity: plan.l2Sensitivity, l1Sensitivity: plan.l1Sensitivity, neighbours: 'replace-one' });
    const doubled = { ...poisson, l2Sensitivity: 2 * plan.l2Sensitivity, l1Sensitivity: 2 * plan.l1Sensitivity };
    expect(epsilon(wor)).toBeCloseTo(epsilon(doubled), 12);
    expect(plan.event()).toMatchObject({ sampleRate: 1, clients: base.clients });
  });

  it('accounts a round with fewer survivors as less noise (higher epsilon)', () => {
    const plan = planDistributedDp(base);
    expect(epsilon(plan.event({ clients: 80 }))).toBeGreaterThan(epsilon(plan.event({})));
  });

  it('refuses parameters that cannot work', () => {
    expectPrivkitError(() => planDistributedDp({ ...base, bits: 4 }), 'E_ARG', 'bits');
    expectPrivkitError(() => planDistributedDp({ ...base, bits: 33 }), 'E_ARG', 'bits');
    expectPrivkitError(() => planDistributedDp({ ...base, clipNorm: 0 }), 'E_ARG', 'clipNorm');
    expectPrivkitError(() => planDistributedDp({ ...base, noiseMultiplier: -1 }), 'E_ARG', 'noiseMultiplier');
    expectPrivkitError(() => planDistributedDp({ ...base, wrapProbability: 1 }), 'E_ARG', 'wrapProbability');
    expectPrivkitError(() => planDistributedDp({ ...base, clients: 2.5 }), 'E_ARG', 'clients');
    expectPrivkitError(() => planDistributedDp({ ...base, dimension: 2 ** 28 + 1 }), 'E_ARG', 'dimension');
    expectPrivkitError(() => planDistributedDp({ ...base, noiseClients: base.clients + 1 }), 'E_ARG', 'noiseClients');
    // the audit's case: clipNorm 1e-320 gave an Infinity scale silently
    expectPrivkitError(() => planDistributedDp({ ...base, clipNorm: 1e-320 }), 'E_ARG', 'clipNorm');
    expectPrivkitError(() => planDistributedDp({ ...base, noiseMultiplier: 1e-320 }), 'E_ARG', 'bits');
  });

  it('any finite parameters give a plan of finite, positive numbers or a PrivkitError (never NaN or Infinity)', () => {
    const anyPositive = fc.double({ min: Number.MIN_VALUE, max: Number.MAX_VALUE, noNaN: true });
    fc.assert(
      fc.property(anyPositive, anyPositive, fc.integer({ min: 1, max: 2 ** 20 }), fc.integer({ min: 1, max: 10_000 }), (clipNorm, noiseMultiplier, dimension, clients) => {
        let plan: ReturnType<typeof planDistributedDp>;
        try {
          plan = planDistributedDp({ clipNorm, noiseMultiplier, dimension, clients, bits: 32 });
        } catch (error) {
          expect(error).toBeInstanceOf(PrivkitError);
          expect((error as PrivkitError).code).toBe('E_ARG');
          return;
        }
        for (const value of [plan.scale, plan.localSigma, plan.conditionalBound, plan.l2Sensitivity, plan.l1Sensitivity]) {
          expect(Number.isFinite(value) && value > 0).toBe(true);
        }
        expect(plan.wrapProbability).toBeLessThanOrEqual(1e-9 * (1 + 1e-9));
        expect(plan.localSigma).toBeGreaterThanOrEqual(0.5);
      }),
      { seed: FC_SEED, numRuns: 500 },
    );
  });
});

describe('a round with more survivors never costs more than the fewest', () => {
  it('charges tau and the slack for every planned client, so the fewest survivors are the worst case', () => {
    // Small local noise (10 bits): tau is not negligible and grows with the count, the sensitivity term shrinks.
    const plan = planDistributedDp({ clipNorm: 1, dimension: 6, clients: 500, noiseClients: 250, noiseMultiplier: 27, bits: 10 });
    const worst = epsilon({ ...plan.event({ clients: 250, sampleRate: 0.1, sampling: 'without-replacement' }), steps: 3 });
    for (const survivors of [250, 300, 400, 500]) {
      expect(epsilon({ ...plan.event({ clients: survivors, sampleRate: 0.1, sampling: 'without-replacement' }), steps: 3 })).toBeLessThanOrEqual(worst);
    }
    expect(plan.event({ clients: 300 })).toMatchObject({ clients: 300, tauClients: 500 });
    expectPrivkitError(() => plan.event({ clients: 501 }), 'E_ARG', 'round.clients');
  });
});
