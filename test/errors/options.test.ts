// A misspelt option of a call that sets a privacy guarantee is refused, not ignored: one row per call
// (events, calibration, mechanisms, DP aggregates, aggregators, budgets), each given its correct
// options plus one key it does not know, must fail with E_ARG naming that key — and succeed without it.
import { beforeAll, describe, expect, it } from 'vitest';
import { ready } from 'privkit';
import { calibrateNoiseMultiplier, calibrateSteps, PldAccountant, PrivacyBudget, RdpAccountant } from 'privkit/accounting';
import { dpCount, dpMean, gaussianMechanism, laplaceMechanism } from 'privkit/dp';
import { CentralDpAggregator, NonPrivateAggregator } from 'privkit/fl';
import { planDistributedDp } from 'privkit/secagg';
import { expectPrivkitError } from '../support/helpers.js';

beforeAll(ready);

interface Row {
  name: string;
  options: Record<string, unknown>;
  call: (options: Record<string, unknown>) => unknown;
  /** The argument name the error gives, before the key. */
  argument: string;
}

const sgm = { sampleRate: 0.01, noiseMultiplier: 1.1, steps: 100 };
const calibration = { targetEpsilon: 2, delta: 1e-5, sampleRate: 0.01 };

const ROWS: Row[] = [
  { name: 'RdpAccountant.step', options: sgm, call: (e) => new RdpAccountant().step(e as never), argument: 'event' },
  { name: 'PldAccountant.step', options: sgm, call: (e) => new PldAccountant().step(e as never), argument: 'event' },
  { name: 'calibrateNoiseMultiplier', options: { ...calibration, steps: 100 }, call: (o) => calibrateNoiseMultiplier(o as never), argument: 'options' },
  { name: 'calibrateSteps', options: { ...calibration, noiseMultiplier: 1.1 }, call: (o) => calibrateSteps(o as never), argument: 'options' },
  { name: 'PrivacyBudget', options: { epsilon: 1, delta: 1e-5 }, call: (o) => new PrivacyBudget(o as never), argument: 'options' },
  { name: 'gaussianMechanism', options: { epsilon: 1, delta: 1e-5, l2Sensitivity: 1 }, call: (o) => gaussianMechanism(o as never), argument: 'opts' },
  { name: 'laplaceMechanism', options: { epsilon: 1, l1Sensitivity: 1 }, call: (o) => laplaceMechanism(o as never), argument: 'opts' },
  { name: 'dpCount', options: { epsilon: 1 }, call: (o) => dpCount(10, o as never), argument: 'opts' },
  { name: 'dpMean', options: { epsilon: 1, lower: 0, upper: 1 }, call: (o) => dpMean(Float64Array.of(0.5, 0.25), o as never), argument: 'opts' },
  { name: 'CentralDpAggregator', options: { dimension: 4, clipNorm: 1, noiseMultiplier: 1 }, call: (o) => new CentralDpAggregator(o as never), argument: 'options' },
  { name: 'NonPrivateAggregator', options: { dimension: 4 }, call: (o) => new NonPrivateAggregator(o as never), argument: 'options' },
  {
    name: 'planDistributedDp',
    options: { clipNorm: 1, dimension: 16, clients: 20, noiseMultiplier: 1, bits: 20 },
    call: (o) => planDistributedDp(o as never),
    argument: 'options',
  },
];

describe('options a call does not know are E_ARG naming them', () => {
  it.each(ROWS)('$name', (row) => {
    expect(() => row.call({ ...row.options })).not.toThrow();
    // A typo of a real option (the misspelling the docs warn about) and a key the call never takes.
    const typo = row.name.includes('Accountant') ? 'noiseMultipler' : 'clipnorm';
    expectPrivkitError(() => row.call({ ...row.options, [typo]: 1 }), 'E_ARG', `${row.argument}.${typo}`);
  });

  it('a clip norm given to the non-private aggregator is refused rather than silently not applied', () => {
    expectPrivkitError(() => new NonPrivateAggregator({ dimension: 4, clipNorm: 1 } as never), 'E_ARG', 'options.clipNorm');
  });
});
