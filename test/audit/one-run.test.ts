// One-run auditing (Steinke, Nasr, Jagielski 2023) of DP-SGD and DP-FedAvg with canaries, from
// examples/audit-cases.ts with fixed seeds: privkit's loops stay below their accountant's epsilon,
// planted bugs (noise scaled for the mean, a misreported noise multiplier) are caught above it.
// Confidence 1 - 1e-4 per case: the theorem's p-value carries a term 2 m delta, so with m = 1,000
// canaries and delta = 1e-8 stricter levels would cost most of the power; the privkit cases have
// margins of several units of epsilon. Then the canary aggregator's arithmetic and the argument checks.
import { describe, expect, it } from 'vitest';
import { ready } from 'privkit';
import { auditDpSgd, auditFedAvg, CanaryAggregator } from 'privkit/audit';
import { NonPrivateAggregator, createModel, type FedAvgOptions } from 'privkit/fl';
import { ONE_RUN_CASES } from '../../dist/examples/audit-cases.js';
import { expectPrivkitError } from '../support/helpers.js';

const CONFIDENCE = 1 - 1e-4;
const seed = (n: number) => Uint8Array.from({ length: 32 }, (_, i) => (i === 0 ? n : i === 31 ? 0x1b : 0));

await ready();

describe.each(ONE_RUN_CASES.map((c, k) => ({ ...c, k })))('$name ($source)', (c) => {
  it(c.source === 'privkit' ? 'stays below the accountant' : 'is caught above the accountant', async () => {
    const result = await c.run(seed(c.k), CONFIDENCE);
    expect(result.confidence).toBe(CONFIDENCE);
    expect(result.correct).toBeLessThanOrEqual(result.guesses);
    if (c.source === 'privkit') expect(result.epsilonLowerBound).toBeLessThanOrEqual(result.accountantEpsilon);
    else expect(result.epsilonLowerBound, `${result.correct} of ${result.guesses}`).toBeGreaterThan(result.accountantEpsilon);
  }, 60_000);
});

describe('CanaryAggregator', () => {
  it('adds the updates of the present canaries that take part, and reports only the real updates', async () => {
    const canaries = new CanaryAggregator({ aggregator: new NonPrivateAggregator({ dimension: 6 }), canaries: 20, dimension: 6, clipNorm: 2, sampleRate: 1, seed: seed(9) });
    expect(canaries.noiseMultiplier).toBe(0);
    for (let i = 0; i < 20; i++) {
      const u = canaries.directions.subarray(i * 6, (i + 1) * 6);
      expect(Math.hypot(...u)).toBeCloseTo(2, 5);
    }
    const present = [...canaries.present].reduce((n, v) => n + v, 0);
    expect(present).toBeGreaterThan(0);
    expect(present).toBeLessThan(20);
    const real = Float32Array.of(1, 0, 0, 0, 0, 0);
    const { sum, included } = await canaries.aggregate([real], 1);
    expect(included).toBe(1);
    const expected = Float64Array.from(real);
    canaries.present.forEach((p, i) => {
      if (p) for (let j = 0; j < 6; j++) expected[j] += canaries.directions[i * 6 + j]!;
    });
    sum.forEach((v, j) => expect(v).toBeCloseTo(expected[j]!, 5));
    // scores are the projections of the model's movement on each canary direction
    const scores = canaries.scores(new Float32Array(6), Float32Array.from(expected));
    scores.forEach((s, i) => {
      let dot = 0;
      for (let j = 0; j < 6; j++) dot += expected[j]! * canaries.directions[i * 6 + j]!;
      expect(s).toBeCloseTo(dot, 4);
    });
  });

  it('rejects bad arguments, naming them', () => {
    const aggregator = new NonPrivateAggregator({ dimension: 3 });
    const base = { aggregator, canaries: 4, dimension: 3, clipNorm: 1, sampleRate: 0.5 };
    expectPrivkitError(() => new CanaryAggregator({ ...base, aggregator: {} as never }), 'E_ARG', 'options.aggregator');
    expectPrivkitError(() => new CanaryAggregator({ ...base, canaries: 0 }), 'E_ARG', 'options.canaries');
    expectPrivkitError(() => new CanaryAggregator({ ...base, sampleRate: 1.5 }), 'E_ARG', 'options.sampleRate');
    expectPrivkitError(() => new CanaryAggregator({ ...base, clipNorm: -1 }), 'E_ARG', 'options.clipNorm');
    expectPrivkitError(() => new CanaryAggregator({ ...base, seed: new Uint8Array(3) }), 'E_ARG', 'options.seed');
    expectPrivkitError(() => new CanaryAggregator(base).scores(new Float32Array(2), new Float32Array(3)), 'E_SHAPE', 'initialParams');
  });
});

describe('argument checks', () => {
  it('auditDpSgd names the bad argument', async () => {
    const base = { canaries: 10, dimension: 20, steps: 2, sampleRate: 0.5, noiseMultiplier: 1, examples: 10 };
    const cases: [object, string][] = [
      [{ ...base, canaries: 0 }, 'canaries'],
      [{ ...base, sampleRate: 2 }, 'sampleRate'],
      [{ ...base, noiseMultiplier: 0 }, 'noiseMultiplier'],
      [{ ...base, delta: 1 }, 'delta'],
      [{ ...base, confidence: 1 }, 'confidence'],
      [{ ...base, privatize: 3 }, 'privatize'],
      [{ ...base, seed: 'x' }, 'seed'],
    ];
    for (const [options, argument] of cases) await expect(auditDpSgd(options as never), argument).rejects.toMatchObject({ code: 'E_ARG', argument });
    await expect(auditDpSgd({ ...base, privatize: () => new Float32Array(3) })).rejects.toMatchObject({ code: 'E_SHAPE', argument: 'privatize' });
  });

  it('auditFedAvg needs Poisson sampling given explicitly and a noise multiplier or an aggregator', async () => {
    const model = createModel({ type: 'softmax-regression', inputs: 4, classes: 2 });
    const client = { images: new Float32Array(8), labels: Uint8Array.of(0, 1) };
    const fedAvg: FedAvgOptions = { model, clients: [client, client], rounds: 1, clientsPerRound: 1, local: { epochs: 1, batchSize: 2, learningRate: 0.1 }, clipNorm: 1, noiseMultiplier: 1, sampling: 'poisson' };
    const { sampling: _omitted, ...withoutSampling } = fedAvg;
    const cases: [object, string][] = [
      [{ fedAvg: withoutSampling, canaries: 4 }, 'fedAvg.sampling'],
      [{ fedAvg: { ...fedAvg, sampling: 'without-replacement' }, canaries: 4 }, 'fedAvg.sampling'],
      [{ fedAvg: { ...fedAvg, noiseMultiplier: undefined, targetEpsilon: 1 }, canaries: 4 }, 'fedAvg.targetEpsilon'],
      [{ fedAvg: { ...fedAvg, noiseMultiplier: undefined }, canaries: 4 }, 'fedAvg.noiseMultiplier'],
      [{ fedAvg: { ...fedAvg, aggregator: new NonPrivateAggregator({ dimension: model.paramCount }) }, canaries: 4 }, 'fedAvg.noiseMultiplier'],
      [{ fedAvg: { ...fedAvg, clipNorm: undefined }, canaries: 4 }, 'fedAvg.clipNorm'],
      [{ fedAvg, canaries: 0 }, 'options.canaries'],
      [{ fedAvg, canaries: 2 ** 20 + 1 }, 'options.canaries'],
      [{ fedAvg: { ...fedAvg, clientsPerRound: 3 }, canaries: 4 }, 'fedAvg.clientsPerRound'],
      // no fedAvg options (null) are no fields: the first one checked is named; a non-object is refused as such
      [{ fedAvg: null, canaries: 4 }, 'fedAvg.sampling'],
      [{ fedAvg: 'fedAvg', canaries: 4 }, 'fedAvg'],
    ];
    for (const [options, argument] of cases) await expect(auditFedAvg(options as never), argument).rejects.toMatchObject({ code: 'E_ARG', argument });
  });
});
