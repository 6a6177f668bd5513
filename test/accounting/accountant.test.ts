// Accountants for real training loops: repeated events merged into counts (step() O(1)), cached
// epsilons, clones and budgets in O(distinct events), no limit short of memory, versioned JSON.
import { describe, expect, it } from 'vitest';
import { PldAccountant, PrivacyBudget, RdpAccountant, type PrivacyEvent } from 'privkit/accounting';
import { expectPrivkitError } from '../support/helpers.js';

const sgd: PrivacyEvent = { noiseMultiplier: 1.1, sampleRate: 0.01 };

describe('accountants in a training loop', () => {
  it('merges repeated events: a million steps one by one equal one event of a million steps', () => {
    const loop = new RdpAccountant();
    for (let i = 0; i < 1_000_000; i++) loop.step(sgd);
    const once = new RdpAccountant().step({ ...sgd, steps: 1_000_000 });
    expect(loop.events).toEqual(once.events);
    expect(loop.events).toHaveLength(1);
    expect(loop.getEpsilon(1e-5).epsilon).toBeCloseTo(once.getEpsilon(1e-5).epsilon, 9);
  });

  it('merges events that were not consecutive (composition is commutative) and keeps different ones apart', () => {
    const acc = new RdpAccountant();
    const other: PrivacyEvent = { mechanism: 'gaussian', noiseMultiplier: 4 };
    for (let i = 0; i < 10; i++) acc.step(sgd).step(other);
    expect(acc.events.map((e) => e.steps)).toEqual([10, 10]);
    const direct = new RdpAccountant().step({ ...sgd, steps: 10 }).step({ ...other, steps: 10 });
    expect(acc.getRdp()).toEqual(direct.getRdp());
  });

  it('keeps 10^7 steps and clones, budgets and serializes them in O(distinct events)', () => {
    const acc = new RdpAccountant().step({ ...sgd, steps: 10_000_000 });
    const budget = new PrivacyBudget({ epsilon: 1e4, delta: 1e-5, accountant: acc });
    for (let i = 0; i < 1000; i++) budget.spend(sgd);
    expect(budget.events).toEqual([{ ...acc.events[0]!, steps: 10_001_000 }]);
    expect(acc.clone().events).toEqual(acc.events);
    expect(RdpAccountant.fromJSON(JSON.stringify(budget.accountant)).getEpsilon(1e-5)).toEqual(budget.accountant.getEpsilon(1e-5));
  });

  it('refuses steps beyond 2^53 with E_OVERFLOW and changes nothing', () => {
    const acc = new RdpAccountant().step({ ...sgd, steps: Number.MAX_SAFE_INTEGER });
    expectPrivkitError(() => acc.step(sgd), 'E_OVERFLOW', 'event.steps');
    expect(acc.events[0]!.steps).toBe(Number.MAX_SAFE_INTEGER);
  });

  it('caches epsilons until the next step', () => {
    const acc = new RdpAccountant().step(sgd);
    const first = acc.getEpsilon(1e-5);
    expect(acc.getEpsilon(1e-5)).toEqual(first);
    acc.step(sgd);
    expect(acc.getEpsilon(1e-5).epsilon).toBeGreaterThan(first.epsilon);
    // A returned result is a copy: mutating it does not change the cache.
    const result = acc.getEpsilon(1e-5);
    result.epsilon = 0;
    expect(acc.getEpsilon(1e-5).epsilon).toBeGreaterThan(0);
  });
});

describe('toJSON / fromJSON', () => {
  const events: PrivacyEvent[] = [
    { ...sgd, steps: 300 },
    { noiseMultiplier: 3.8, sampleRate: 0.1, steps: 7, sampling: 'without-replacement', neighbours: 'replace-one' },
    { mechanism: 'laplace', noiseMultiplier: 2 },
    { mechanism: 'zcdp', rho: 0.01, steps: 3 },
    { mechanism: 'distributed-discrete-gaussian', localSigma: 40, clients: 50, l2Sensitivity: 300, dimension: 1024, sampleRate: 0.1 },
  ];

  it('round-trips an RDP accountant (with Infinity among its orders) through JSON text', () => {
    const acc = new RdpAccountant({ orders: [1.5, 2, 8, 32, Number.POSITIVE_INFINITY] });
    for (const e of events) acc.step(e);
    const json = JSON.stringify(acc);
    const back = RdpAccountant.fromJSON(json);
    expect(back.orders).toEqual(acc.orders);
    expect(back.events).toEqual(acc.events);
    expect(back.getRdp()).toEqual(acc.getRdp());
    expect(JSON.parse(json)).toMatchObject({ format: 'privkit-accountant', version: 1, accountant: 'rdp' });
  });

  it('round-trips a PLD accountant', () => {
    const acc = new PldAccountant({ epsilonError: 0.05 }).step({ ...sgd, steps: 100 }).step({ mechanism: 'gaussian', noiseMultiplier: 5 });
    const back = PldAccountant.fromJSON(acc.toJSON());
    expect(back.epsilonError).toBe(0.05);
    expect(back.getEpsilon(1e-5)).toEqual(acc.getEpsilon(1e-5));
  });

  const good = new RdpAccountant().step(sgd).toJSON();
  it.each([
    ['not JSON', '{', 'json'],
    ['an array', [], 'json'],
    ['null', null, 'json'],
    ['another format', { ...good, format: 'x' }, 'json.format'],
    ['a newer version', { ...good, version: 2 }, 'json.version'],
    ['the other accountant', { ...good, accountant: 'pld' }, 'json.accountant'],
    ['no events', { ...good, events: undefined }, 'json.events'],
    ['a bad order', { ...good, orders: [0.5] }, 'json.orders'],
    ['a bad event', { ...good, events: [{ noiseMultiplier: -1, sampleRate: 0.1 }] }, 'json.events[0].noiseMultiplier'],
    ['an ambiguous event', { ...good, events: [{ noiseMultiplier: 1, sampleRate: 0.1, sampling: 'without-replacement' }] }, 'json.events[0].neighbours'],
  ])('fromJSON refuses %s with E_ARG', (_, json, argument) => {
    expectPrivkitError(() => RdpAccountant.fromJSON(json), 'E_ARG', argument);
  });
});
