// privkit/fl units: model gradients against finite differences, known-answer evaluation, local
// training, the aggregators' arithmetic and noise, client splitting, the pooled local training
// (bit for bit the sync path), the FedAvg server (sampling, clipping, averaging, momentum,
// accounting, calibration) and the validation of every option.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clipAndSum, ready } from 'privkit';
import { RdpAccountant } from 'privkit/accounting';
import { createRng } from 'privkit/dp';
import {
  CentralDpAggregator,
  createModel,
  FedAvg,
  localUpdate,
  NonPrivateAggregator,
  runFedAvg,
  splitClients,
  type AggregateResult,
  type Dataset,
  type FedAvgOptions,
  type Model,
  type UpdateAggregator,
} from 'privkit/fl';
import { createPool, sharedFloat32Array, type Pool } from 'privkit/pool';
import { gaussianLatticeFor, gaussianOnLattice } from '../../dist/src/dp/secure.js';
import { createRng as createDistRng } from '../../dist/src/dp/rng.js';
import { expectPrivkitError } from '../support/helpers.js';

const seedOf = (n: number): Uint8Array => {
  const seed = new Uint8Array(32);
  seed[0] = n;
  seed[31] = 0xf1;
  return seed;
};

/**
 * A learnable synthetic task: `rows` samples of `inputs` features, class = which block of
 * features holds the bump, with some exact zeros (as images have) and seeded noise.
 */
function synthetic(rows: number, inputs: number, classes: number, seed: number): Dataset {
  const u = createRng({ seed: seedOf(seed) }).uniform(rows * (inputs + 1));
  const images = new Float32Array(rows * inputs);
  const labels = new Uint8Array(rows);
  const block = Math.floor(inputs / classes);
  for (let r = 0; r < rows; r++) {
    const label = Math.floor(u[rows * inputs + r]! * classes);
    labels[r] = label;
    for (let i = 0; i < inputs; i++) {
      const v = u[r * inputs + i]!;
      const bump = Math.floor(i / block) === label ? 0.8 : 0;
      images[r * inputs + i] = v < 0.3 ? 0 : bump + 0.5 * v;
    }
  }
  return { images, labels };
}

const norm = (x: Float32Array): number => Math.sqrt(x.reduce((s, v) => s + v * v, 0));

await ready();

describe('models', () => {
  it('normalize their specs and count parameters', () => {
    const softmax = createModel({ type: 'softmax-regression' });
    expect(softmax.spec).toEqual({ type: 'softmax-regression', inputs: 784, classes: 10 });
    expect(softmax.paramCount).toBe(7850);
    const mlp = createModel({ type: 'mlp', hidden: 32 });
    expect(mlp.spec).toEqual({ type: 'mlp', inputs: 784, hidden: 32, classes: 10 });
    expect(mlp.paramCount).toBe(784 * 32 + 32 + 32 * 10 + 10);
    expect(softmax.initParams()).toEqual(new Float32Array(7850));
    const init = mlp.initParams({ seed: seedOf(1) });
    expect(init).toEqual(mlp.initParams({ seed: seedOf(1) }));
    const limit = Math.sqrt(6 / (784 + 32));
    expect(Math.max(...init.subarray(0, 784 * 32).map(Math.abs))).toBeLessThanOrEqual(limit);
    expect(init.subarray(784 * 32, 784 * 32 + 32)).toEqual(new Float32Array(32));
  });

  it('reject bad specs', () => {
    expectPrivkitError(() => createModel({ type: 'cnn' } as never), 'E_ARG', 'spec.type');
    // null options are no options: the first missing field is named; a non-object is refused as such
    expectPrivkitError(() => createModel(null as never), 'E_ARG', 'spec.type');
    expectPrivkitError(() => createModel('mlp' as never), 'E_ARG', 'spec');
    expectPrivkitError(() => createModel({ type: 'softmax-regression', classes: 1 }), 'E_ARG', 'spec.classes');
    expectPrivkitError(() => createModel({ type: 'softmax-regression', classes: 300 }), 'E_ARG', 'spec.classes');
    expectPrivkitError(() => createModel({ type: 'mlp', hidden: 0 }), 'E_ARG', 'spec.hidden');
    expectPrivkitError(() => createModel({ type: 'mlp', inputs: 2.5 }), 'E_ARG', 'spec.inputs');
    expectPrivkitError(() => createModel({ type: 'mlp', inputs: 60000, hidden: 60000 }), 'E_ARG', 'spec');
  });

  for (const spec of [
    { type: 'softmax-regression', inputs: 12, classes: 4 },
    { type: 'mlp', inputs: 12, hidden: 7, classes: 4 },
  ] as const) {
    it(`${spec.type}: the gradient matches central finite differences`, () => {
      const model = createModel(spec);
      const data = synthetic(9, 12, 4, 3);
      // Every weight and bias uniform in (-0.5, 0.5), so no coordinate is special.
      const params = Float32Array.from(createRng({ seed: seedOf(4) }).uniform(model.paramCount), (u) => u - 0.5);
      const { loss, gradient } = model.lossAndGradient(params, data.images, data.labels);
      expect(loss).toBeCloseTo(model.evaluate(params, data.images, data.labels).loss, 12);
      let checked = 0;
      for (let j = 0; j < params.length; j++) {
        const at = (value: number): number => {
          const p = params.slice();
          p[j] = value;
          return model.evaluate(p, data.images, data.labels).loss;
        };
        const plus = Math.fround(params[j]! + 1e-3);
        const minus = Math.fround(params[j]! - 1e-3);
        const numeric = (at(plus) - at(minus)) / (plus - minus);
        expect(Math.abs(gradient[j]! - numeric)).toBeLessThanOrEqual(1e-4 * (1 + Math.abs(numeric)));
        if (numeric !== 0) checked++;
      }
      expect(checked).toBeGreaterThan(params.length / 2);
    });
  }

  it('evaluate gives known answers', () => {
    const model = createModel({ type: 'softmax-regression', inputs: 2, classes: 2 });
    const params = Float32Array.of(1, 0, 0, 1, 0, 0); // W = I, b = 0
    const images = Float32Array.of(1, 0, 0, 1, 2, 0);
    const labels = Uint8Array.of(0, 0, 0);
    const { accuracy, loss } = model.evaluate(params, images, labels);
    expect(accuracy).toBeCloseTo(2 / 3, 15);
    expect(loss).toBeCloseTo((Math.log1p(Math.exp(-1)) + Math.log1p(Math.exp(1)) + Math.log1p(Math.exp(-2))) / 3, 14);
    const zero = createModel({ type: 'softmax-regression', classes: 10 });
    const data = synthetic(5, 784, 10, 1);
    expect(zero.evaluate(zero.initParams(), data.images, data.labels).loss).toBeCloseTo(Math.log(10), 14);
    // Extreme logits stay finite: log-sum-exp.
    const huge = Float32Array.of(1e30, 0, 0, 1e30, 0, 0);
    expect(model.evaluate(huge, Float32Array.of(1, 0), Uint8Array.of(1)).loss).toBeCloseTo(1e30, -25);
  });

  it('reject bad parameters and data with the offending argument', () => {
    const model = createModel({ type: 'softmax-regression', inputs: 4, classes: 3 });
    const params = new Float32Array(model.paramCount);
    const images = new Float32Array(8);
    const labels = Uint8Array.of(0, 2);
    expectPrivkitError(() => model.evaluate(new Float32Array(3), images, labels), 'E_SHAPE', 'params');
    expectPrivkitError(() => model.evaluate(new Float64Array(15) as never, images, labels), 'E_ARG', 'params');
    const nan = params.slice();
    nan[7] = NaN;
    expect(expectPrivkitError(() => model.evaluate(nan, images, labels), 'E_NONFINITE', 'params').index).toBe(7);
    expectPrivkitError(() => model.evaluate(params, new Float32Array(7), labels), 'E_SHAPE', 'images');
    expectPrivkitError(() => model.evaluate(params, images, [0, 2] as never), 'E_ARG', 'labels');
    expectPrivkitError(() => model.evaluate(params, new Float32Array(0), new Uint8Array(0)), 'E_SHAPE', 'labels');
    expect(expectPrivkitError(() => model.evaluate(params, images, Uint8Array.of(0, 3)), 'E_ARG', 'labels').index).toBe(1);
    const bad = images.slice();
    bad[5] = Infinity;
    expect(expectPrivkitError(() => model.lossAndGradient(params, bad, labels), 'E_NONFINITE', 'images').index).toBe(5);
  });
});

describe('localUpdate', () => {
  const data = synthetic(40, 30, 3, 5);
  for (const model of [createModel({ type: 'softmax-regression', inputs: 30, classes: 3 }), createModel({ type: 'mlp', inputs: 30, hidden: 8, classes: 3 })]) {
    it(`${model.spec.type}: lowers the client's loss and is reproducible from its seed`, () => {
      const params = model.initParams({ seed: seedOf(9) });
      const before = model.evaluate(params, data.images, data.labels).loss;
      const opts = { epochs: 3, batchSize: 8, learningRate: 0.3, seed: seedOf(1) };
      const delta = localUpdate(model, params, data.images, data.labels, opts);
      const trained = params.map((w, j) => w + delta[j]!);
      expect(model.evaluate(trained, data.images, data.labels).loss).toBeLessThan(0.7 * before);
      expect(localUpdate(model, params, data.images, data.labels, opts)).toEqual(delta);
      expect(localUpdate(model, params, data.images, data.labels, { ...opts, seed: seedOf(2) })).not.toEqual(delta);
      // One full batch, one epoch: exactly one SGD step on the mean gradient, whatever the order.
      const step = localUpdate(model, params, data.images, data.labels, { epochs: 1, batchSize: 40, learningRate: 0.5 });
      const { gradient } = model.lossAndGradient(params, data.images, data.labels);
      step.forEach((v, j) => expect(Math.abs(v + 0.5 * gradient[j]!)).toBeLessThanOrEqual(1e-6));
    });
  }

  it('validates its options and reports divergence', () => {
    const model = createModel({ type: 'softmax-regression', inputs: 30, classes: 3 });
    const params = model.initParams();
    const ok = { epochs: 1, batchSize: 4, learningRate: 0.1 };
    const call = (opts: unknown) => () => localUpdate(model, params, data.images, data.labels, opts as never);
    expectPrivkitError(call({ ...ok, epochs: 0 }), 'E_ARG', 'opts.epochs');
    expectPrivkitError(call({ ...ok, batchSize: 1.5 }), 'E_ARG', 'opts.batchSize');
    expectPrivkitError(call({ ...ok, learningRate: -1 }), 'E_ARG', 'opts.learningRate');
    expectPrivkitError(call({ ...ok, learningRate: NaN }), 'E_ARG', 'opts.learningRate');
    expectPrivkitError(call({ ...ok, seed: new Uint8Array(16) }), 'E_ARG', 'opts.seed');
    expectPrivkitError(call(undefined), 'E_ARG', 'opts.epochs');
    expectPrivkitError(call(7), 'E_ARG', 'opts');
    expectPrivkitError(() => localUpdate({ type: 'mlp' } as never, params, data.images, data.labels, ok), 'E_ARG', 'model');
    expectPrivkitError(call({ ...ok, learningRate: 1e300 }), 'E_OVERFLOW', 'opts.learningRate');
  });
});

describe('aggregators', () => {
  const dimension = 6;
  const deltas = [Float32Array.of(3, 4, 0, 0, 0, 0), Float32Array.of(0, 0, 0.1, 0, 0, 0.2), Float32Array.of(0, 0, 0, 0, 5, 0)];

  it('NonPrivateAggregator sums exactly', async () => {
    const aggregator = new NonPrivateAggregator({ dimension });
    expect(aggregator.noiseMultiplier).toBe(0);
    const { sum, included } = await aggregator.aggregate(deltas, 1);
    expect(included).toBe(3);
    expect(sum).toEqual(Float32Array.of(3, 4, 0.1, 0, 5, 0.2));
    expect(await aggregator.aggregate([], 2)).toEqual({ sum: new Float32Array(dimension), included: 0 });
  });

  it('CentralDpAggregator clips to clipNorm, sums, and adds secure Gaussian noise z C_eff', async () => {
    const aggregator = new CentralDpAggregator({ dimension, clipNorm: 1, noiseMultiplier: 0.5, rng: createRng({ seed: seedOf(3) }) });
    const { sum, included } = await aggregator.aggregate(deltas, 1);
    expect(included).toBe(3);
    // Same arithmetic by hand: clip (3,4,..) to norm 1 and (..,5,..) to 1, sum, then the secure sampler from the same seed.
    const clipped = Float64Array.from(clipAndSum(new Float32Array([...deltas[0]!, ...deltas[1]!, ...deltas[2]!]), 3, 1).sum);
    expect(Array.from(clipped).map((v) => Math.fround(v))).toEqual(Array.from(Float32Array.of(0.6, 0.8, 0.1, 0, 1, 0.2)));
    expect(aggregator.latticeBits).toBe(12); // ceil(8 + log2 sqrt(6)), at least 12
    const expected = gaussianOnLattice(clipped, aggregator.noiseStddev, 12, { rng: createDistRng({ seed: seedOf(3) }) }).values;
    expect(sum).toEqual(Float32Array.from(expected));
  });

  it('CentralDpAggregator charges the float32 clipping, the float64 sum and the lattice rounding (independent recomputation)', () => {
    const d = 7850;
    const aggregator = new CentralDpAggregator({ dimension: d, clipNorm: 0.1, noiseMultiplier: 3.8 });
    // C1 = C (1 + 5 * 2^-24) (+ a subnormal term), the sum of up to 2^20 rows: 2 N gamma_N, the lattice: r sqrt(d),
    // r <= 2^(1 - bits) sigma with bits = ceil(8 + log2 sqrt(d)) = 15 at d = 7850 (so r sqrt(d) <= 2^-7 sigma).
    expect(aggregator.latticeBits).toBe(15);
    const n = 2 ** 20;
    const gamma = (n * 2 ** -53) / (1 - n * 2 ** -53);
    const bound = 0.1 * (1 + 5 * 2 ** -24) * (1 + 2 * n * gamma) + 2 ** -14 * aggregator.noiseStddev * Math.sqrt(d);
    expect(aggregator.noiseStddev).toBeGreaterThanOrEqual(3.8 * 0.1 * (1 + 5 * 2 ** -24) * (1 + 2 * n * gamma));
    expect(aggregator.noiseStddev).toBeLessThanOrEqual(3.8 * bound * (1 + 1e-12));
    expect(aggregator.noiseStddev / (3.8 * 0.1)).toBeLessThan(1 / (1 - 3.8 * 2 ** -7)); // r sqrt(d) <= 2^-7 sigma: at most z x 0.8% more noise
  });

  it('CentralDpAggregator noise has standard deviation z C_eff (about z C), also in an empty round', async () => {
    const big = 40_000;
    const aggregator = new CentralDpAggregator({ dimension: big, clipNorm: 2, noiseMultiplier: 1.5, rng: createRng({ seed: seedOf(4) }) });
    const { sum, included } = await aggregator.aggregate([], 1);
    expect(included).toBe(0);
    const mean = sum.reduce((s, v) => s + v, 0) / big;
    const sd = Math.sqrt(sum.reduce((s, v) => s + (v - mean) ** 2, 0) / (big - 1));
    // sd of the sample sd is ~ 3 / sqrt(2 x 40000) = 0.0106; 5 of those: alpha ~ 1e-6.
    expect(Math.abs(sd - 3)).toBeLessThan(0.053);
    expect(Math.abs(mean)).toBeLessThan((5 * 3) / Math.sqrt(big));
  });

  it('reject bad options and inputs', async () => {
    expectPrivkitError(() => new NonPrivateAggregator({ dimension: 0 }), 'E_ARG', 'options.dimension');
    expectPrivkitError(() => new NonPrivateAggregator(undefined as never), 'E_ARG', 'options.dimension');
    expectPrivkitError(() => new NonPrivateAggregator([10] as never), 'E_ARG', 'options');
    expectPrivkitError(() => new CentralDpAggregator({ dimension: 3, clipNorm: 0, noiseMultiplier: 1 }), 'E_ARG', 'options.clipNorm');
    expectPrivkitError(() => new CentralDpAggregator({ dimension: 3, clipNorm: 1, noiseMultiplier: 0 }), 'E_ARG', 'options.noiseMultiplier');
    expectPrivkitError(() => new CentralDpAggregator({ dimension: 3, clipNorm: 1, noiseMultiplier: 1, rng: {} as never }), 'E_ARG', 'opts.rng');
    const aggregator = new CentralDpAggregator({ dimension, clipNorm: 1, noiseMultiplier: 1 });
    const error = await aggregator.aggregate([deltas[0]!, new Float32Array(5)], 1).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'E_SHAPE', argument: 'clippedDeltas', index: 1 });
    const nan = Float32Array.of(0, 0, NaN, 0, 0, 0);
    expect(await aggregator.aggregate([nan], 1).catch((e: unknown) => e)).toMatchObject({ code: 'E_NONFINITE', argument: 'clippedDeltas[0]', index: 2 });
    expect(await aggregator.aggregate(deltas, 0).catch((e: unknown) => e)).toMatchObject({ code: 'E_ARG', argument: 'round' });
    expect(await aggregator.aggregate('x' as never, 1).catch((e: unknown) => e)).toMatchObject({ code: 'E_ARG', argument: 'clippedDeltas' });
  });
});

describe('splitClients', () => {
  const data = synthetic(23, 5, 3, 7);

  it('deals contiguous IID views, sizes differing by at most one', () => {
    const clients = splitClients(4, data);
    expect(clients.map((c) => c.labels.length)).toEqual([6, 6, 6, 5]);
    expect(clients[1]!.images.buffer).toBe(data.images.buffer);
    expect(clients[1]!.images).toEqual(data.images.subarray(30, 60));
    expect(clients[3]!.labels).toEqual(data.labels.subarray(18));
  });

  it('sorts by label (stably) for the non-IID split, keeping shared memory shared', () => {
    const shared = { images: sharedFloat32Array(data.images.length), labels: data.labels };
    shared.images.set(data.images);
    const clients = splitClients(3, shared, { partition: 'label-sorted' });
    const labels = clients.flatMap((c) => Array.from(c.labels));
    expect(labels).toEqual(Array.from(data.labels).sort((a, b) => a - b));
    expect(clients[0]!.images.buffer).toBeInstanceOf(SharedArrayBuffer);
    const first = Array.from(data.labels).findIndex((l) => l === labels[0]);
    expect(clients[0]!.images.subarray(0, 5)).toEqual(data.images.subarray(first * 5, first * 5 + 5));
  });

  it('rejects bad arguments', () => {
    expectPrivkitError(() => splitClients(0, data), 'E_ARG', 'count');
    expectPrivkitError(() => splitClients(24, data), 'E_ARG', 'count');
    expectPrivkitError(() => splitClients(2, data, { partition: 'shards' as never }), 'E_ARG', 'opts.partition');
    expectPrivkitError(() => splitClients(2, { images: new Float32Array(7), labels: data.labels }), 'E_SHAPE', 'data.images');
    expectPrivkitError(() => splitClients(2, { images: data.images, labels: new Uint8Array(0) }), 'E_ARG', 'data.labels');
  });
});

describe('pooled local training', () => {
  let pool: Pool;
  beforeAll(async () => {
    pool = await createPool({ threads: 2 });
  });
  afterAll(async () => {
    await pool.close();
  });

  const data = synthetic(50, 30, 3, 11);
  for (const model of [createModel({ type: 'softmax-regression', inputs: 30, classes: 3 }), createModel({ type: 'mlp', inputs: 30, hidden: 6, classes: 3 })]) {
    it(`${model.spec.type}: pool.localUpdates equals localUpdate bit for bit (plain and shared inputs)`, async () => {
      const params = model.initParams({ seed: seedOf(5) });
      const opts = { epochs: 2, batchSize: 4, learningRate: 0.2 };
      const shared = { images: sharedFloat32Array(data.images.length), labels: data.labels };
      shared.images.set(data.images);
      for (const source of [data, shared]) {
        const tasks = splitClients(5, source).map((client, k) => ({ ...client, seed: seedOf(20 + k) }));
        const deltas = await pool.localUpdates(model, params, tasks, opts);
        expect(deltas.length).toBe(5 * model.paramCount);
        tasks.forEach((task, k) => {
          const expected = localUpdate(model, params, task.images, task.labels, { ...opts, seed: task.seed });
          expect(deltas.subarray(k * model.paramCount, (k + 1) * model.paramCount)).toEqual(expected);
        });
      }
    });
  }

  it('validates on the caller side and keeps working', async () => {
    const model = createModel({ type: 'softmax-regression', inputs: 30, classes: 3 });
    const params = model.initParams();
    const opts = { epochs: 1, batchSize: 4, learningRate: 0.2 };
    const [a, b] = splitClients(2, data);
    expect(await pool.localUpdates(model, params, [], opts)).toHaveLength(0);
    const reject = (promise: Promise<unknown>) => promise.catch((e: unknown) => e);
    expect(await reject(pool.localUpdates(model, params, [a!, { ...b!, labels: b!.labels.subarray(1) }], opts))).toMatchObject({
      code: 'E_SHAPE',
      argument: 'clients[1].images',
    });
    expect(await reject(pool.localUpdates(model, params, [a!], { ...opts, seed: seedOf(1) } as never))).toMatchObject({ code: 'E_ARG', argument: 'opts.seed' });
    expect(await reject(pool.localUpdates(model, new Float32Array(3), [a!], opts))).toMatchObject({ code: 'E_SHAPE', argument: 'params' });
    expect(await reject(pool.localUpdates(model, params, [{ ...a!, seed: new Uint8Array(3) }], opts))).toMatchObject({
      code: 'E_ARG',
      argument: 'clients[0].seed',
    });
    // A worker-side failure (divergence) travels back as a PrivkitError.
    expect(await reject(pool.localUpdates(model, params, [a!, b!], { epochs: 1, batchSize: 4, learningRate: 1e300 }))).toMatchObject({
      code: 'E_OVERFLOW',
      argument: 'opts.learningRate',
    });
    const unseeded = await pool.localUpdates(model, params, [a!, b!], opts);
    expect(unseeded.every(Number.isFinite)).toBe(true);
  });
});

describe('FedAvg', () => {
  const inputs = 30;
  const model: Model = createModel({ type: 'softmax-regression', inputs, classes: 3 });
  const train = synthetic(400, inputs, 3, 13);
  const test = synthetic(200, inputs, 3, 14);
  const clients = splitClients(100, train);
  const base: FedAvgOptions = {
    model,
    clients,
    rounds: 20,
    clientsPerRound: 20,
    local: { epochs: 1, batchSize: 4, learningRate: 0.5 },
    test,
    evalEvery: 5,
    seed: seedOf(8),
  };

  /** An aggregator that records what it is given and answers with a fixed sum. */
  class Recorder implements UpdateAggregator {
    readonly calls: { deltas: Float32Array[]; round: number }[] = [];
    constructor(
      readonly noiseMultiplier: number,
      private readonly answer: (deltas: Float32Array[]) => AggregateResult,
    ) {}
    async aggregate(deltas: Float32Array[], round: number): Promise<AggregateResult> {
      this.calls.push({ deltas: deltas.map((d) => d.slice()), round });
      return this.answer(deltas);
    }
  }

  it('cancellation: runFedAvg stops with E_ABORTED; an aborted round leaves the run as before it; progress per round and per client', async () => {
    const done: number[] = [];
    const controller = new AbortController();
    const reason = new Error('stop');
    const run = runFedAvg(base, {
      signal: controller.signal,
      onProgress: (rounds, total) => {
        done.push(rounds);
        expect(total).toBe(20);
        if (rounds === 3) controller.abort(reason);
      },
    });
    await expect(run).rejects.toMatchObject({ code: 'E_ABORTED', name: 'PrivkitError', cause: reason });
    expect(done).toEqual([1, 2, 3]);

    const fedavg = new FedAvg(base);
    await fedavg.runRound();
    const params = fedavg.params.slice();
    const trained: number[] = [];
    const stop = new AbortController();
    const round = fedavg.runRound({
      signal: stop.signal,
      onProgress: (clients, total) => {
        trained.push(clients);
        expect(total).toBe(20);
        if (clients === 5) stop.abort();
      },
    });
    await expect(round).rejects.toMatchObject({ code: 'E_ABORTED' });
    expect(trained).toEqual([1, 2, 3, 4, 5]);
    expect(fedavg.round).toBe(1);
    expect(fedavg.params).toEqual(params);
    await expect(fedavg.runRound({ signal: 'stop' as never })).rejects.toMatchObject({ code: 'E_ARG', argument: 'opts.signal' });
    expect((await fedavg.runRound()).round).toBe(2);
  });

  it('learns without noise; metrics, evaluation rounds and reproducibility', async () => {
    const seen: number[] = [];
    const result = await runFedAvg(base, { onRound: (m) => void seen.push(m.round) });
    expect(seen).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    expect(result.history.filter((m) => m.accuracy !== undefined).map((m) => m.round)).toEqual([5, 10, 15, 20]);
    expect(result.accuracy).toBeGreaterThan(0.9);
    expect(result.epsilon).toBe(Infinity);
    expect(result.noiseMultiplier).toBe(0);
    for (const m of result.history) {
      expect(m.dropouts).toBe(0);
      expect(m.included).toBe(m.sampled);
      expect(m.clipped).toBe(0);
    }
    // Fixed-size samples: exactly 20 of 100 per round. Poisson: 20 expected, 400 draws in all (sd ~8).
    expect(result.history.every((m) => m.sampled === 20)).toBe(true);
    const poisson = await runFedAvg({ ...base, sampling: 'poisson', rounds: 20 });
    const total = poisson.history.reduce((n, m) => n + m.sampled, 0);
    expect(Math.abs(total - 400)).toBeLessThan(45);
    expect(poisson.history.some((m) => m.sampled !== 20)).toBe(true);
    expect(await runFedAvg(base)).toEqual({ ...result, history: expect.any(Array) });
  });

  it('trains the same on the pool as on this thread', async () => {
    const pool = await createPool({ threads: 2 });
    try {
      const options = { ...base, rounds: 6, clipNorm: 0.5, noiseMultiplier: 0.8, dropoutRate: 0.2 };
      const pooled = await runFedAvg({ ...options, pool });
      const local = await runFedAvg(options);
      expect(pooled.params).toEqual(local.params);
    } finally {
      await pool.close();
    }
  });

  it('clips every update to clipNorm, drops clients, and averages with the fixed denominator under noise', async () => {
    const d = model.paramCount;
    const constant = Float32Array.from({ length: d }, (_, j) => (j % 7) - 3);
    const recorder = new Recorder(1, (deltas) => ({ sum: constant.slice(), included: deltas.length }));
    const fedavg = new FedAvg({ ...base, clipNorm: 0.05, aggregator: recorder, dropoutRate: 0.3, serverLearningRate: 2 });
    const before = fedavg.params;
    const metrics = await fedavg.runRound();
    const { deltas, round } = recorder.calls[0]!;
    expect(round).toBe(1);
    expect(deltas.length).toBe(metrics.included);
    expect(metrics.sampled - metrics.dropouts).toBe(metrics.included);
    expect(metrics.clipped).toBeGreaterThan(0);
    for (const delta of deltas) expect(norm(delta)).toBeLessThanOrEqual(0.05 * (1 + 1e-6));
    // w1 = w0 + eta x sum / clientsPerRound, whatever the number included.
    const after = fedavg.params;
    after.forEach((w, j) => expect(w).toBeCloseTo(before[j]! + (2 * constant[j]!) / 20, 6));
    // Dropouts over more rounds: about 30% of those sampled (~400 sampled: sd of the rate ~0.023).
    const history = [metrics];
    for (let r = 0; r < 19; r++) history.push(await fedavg.runRound());
    const sampled = history.reduce((n, m) => n + m.sampled, 0);
    const dropped = history.reduce((n, m) => n + m.dropouts, 0);
    expect(Math.abs(dropped / sampled - 0.3)).toBeLessThan(0.12);
    expect(recorder.calls.map((c) => c.deltas.length)).toEqual(history.map((m) => m.included));
    expect(fedavg.round).toBe(20);
  });

  it('applies server momentum (FedAvgM) and averages over the included updates without noise', async () => {
    const d = model.paramCount;
    const s = Float32Array.from({ length: d }, (_, j) => ((j % 5) - 2) / 10);
    const recorder = new Recorder(0, () => ({ sum: s.slice(), included: 4 }));
    const fedavg = new FedAvg({ ...base, aggregator: recorder, serverMomentum: 0.5, serverLearningRate: 0.1 });
    const w0 = fedavg.params;
    await fedavg.runRound();
    await fedavg.runRound();
    // v1 = s/4, w1 = w0 + 0.1 v1; v2 = 0.5 v1 + s/4, w2 = w1 + 0.1 v2: w2 = w0 + 0.1 x 2.5 x s/4.
    fedavg.params.forEach((w, j) => expect(w).toBeCloseTo(w0[j]! + (0.1 * 2.5 * s[j]!) / 4, 6));
    expect(fedavg.epsilon).toBe(Infinity);
  });

  it('accounts every round with the RDP accountant (fixed-size samples with replace-one neighbours by default; Poisson with add/remove)', async () => {
    const dp = { ...base, rounds: 5, clipNorm: 1, noiseMultiplier: 1.1, delta: 1e-6 };
    const wor = await runFedAvg(dp);
    expect(wor.history.every((m) => m.sampled === 20)).toBe(true);
    // The secure lattice sampler's pmf slack and tail mass over the model's coordinates are charged with every round.
    const { slack, tailMass } = gaussianLatticeFor(model.paramCount);
    expect(slack).toBeGreaterThan(0);
    expect(tailMass).toBeGreaterThan(0);
    const worExpected = new RdpAccountant()
      .step({ noiseMultiplier: 1.1, sampleRate: 0.2, steps: 5, sampling: 'without-replacement', neighbours: 'replace-one', slack, tailMass })
      .getEpsilon(1e-6).epsilon;
    expect(wor.epsilon).toBeCloseTo(worExpected, 12);
    expect(wor.delta).toBe(1e-6);
    expect(wor.observer).toMatch(/participant counts/);
    const epsilons = wor.history.map((m) => m.epsilon);
    expect([...epsilons].sort((a, b) => a - b)).toEqual(epsilons);
    const poisson = await runFedAvg({ ...dp, sampling: 'poisson' });
    const expected = new RdpAccountant().step({ noiseMultiplier: 1.1, sampleRate: 0.2, steps: 5, slack, tailMass }).getEpsilon(1e-6).epsilon;
    expect(poisson.epsilon).toBeCloseTo(expected, 12);
    expect(poisson.epsilon).toBeGreaterThan(new RdpAccountant().step({ noiseMultiplier: 1.1, sampleRate: 0.2, steps: 5 }).getEpsilon(1e-6).epsilon);
    expect(poisson.observer).toMatch(/only/);
    // Given the count, replacing a client costs more than adding one under Poisson sampling.
    expect(wor.epsilon).toBeGreaterThan(poisson.epsilon);
  });

  it('calibrates the noise to a target epsilon and refuses rounds beyond it', async () => {
    const fedavg = new FedAvg({ ...base, rounds: 4, clipNorm: 1, targetEpsilon: 2 });
    expect(fedavg.noiseMultiplier).toBeGreaterThan(0.5);
    for (let r = 0; r < 4; r++) await fedavg.runRound();
    expect(fedavg.epsilon).toBeLessThanOrEqual(2);
    expect(fedavg.epsilon).toBeGreaterThan(1.99);
    expect(await fedavg.runRound().catch((e: unknown) => e)).toMatchObject({ code: 'E_BUDGET' });
    const accounted = new RdpAccountant()
      .step({
        noiseMultiplier: fedavg.noiseMultiplier,
        sampleRate: 0.2,
        steps: 4,
        sampling: 'without-replacement',
        neighbours: 'replace-one',
        slack: gaussianLatticeFor(model.paramCount).slack,
        tailMass: gaussianLatticeFor(model.paramCount).tailMass,
      })
      .getEpsilon(1e-5).epsilon;
    expect(accounted).toBeLessThanOrEqual(2);
    expect(accounted).toBeGreaterThan(1.99);
  });

  it('refuses a round that could overspend the budget of an aggregator calibrated elsewhere, and rounds past `rounds`', async () => {
    const aggregator = new CentralDpAggregator({ dimension: model.paramCount, clipNorm: 1, noiseMultiplier: 1.5 });
    const epsilonAfter = (rounds: number) =>
      new RdpAccountant()
        .step({ noiseMultiplier: 1.5, sampleRate: 0.2, steps: rounds, sampling: 'without-replacement', neighbours: 'replace-one' })
        .getEpsilon(1e-5).epsilon;
    const target = (epsilonAfter(2) + epsilonAfter(3)) / 2;
    const fedavg = new FedAvg({ ...base, rounds: 10, clipNorm: 1, aggregator, targetEpsilon: target });
    await fedavg.runRound();
    await fedavg.runRound();
    expect(await fedavg.runRound().catch((e: unknown) => e)).toMatchObject({ code: 'E_BUDGET' });
    expect(fedavg.round).toBe(2);
    const capped = new FedAvg({ ...base, rounds: 1, clipNorm: 1, aggregator });
    await capped.runRound();
    expect(await capped.runRound().catch((e: unknown) => e)).toMatchObject({ code: 'E_BUDGET' });
  });

  it('a client whose training diverges contributes a zero update under DP, so the round still completes', async () => {
    const wild: Dataset = { images: new Float32Array(model.inputs * 4).fill(3e38), labels: new Uint8Array([1, 0, 1, 0]) };
    const options = { ...base, clients: [wild, ...base.clients.slice(1)], clientsPerRound: 100, rounds: 1, local: { epochs: 1, batchSize: 1, learningRate: 1 } };
    const metrics = await new FedAvg({ ...options, clipNorm: 1, noiseMultiplier: 5 }).runRound();
    expect(metrics.included).toBe(100);
    // The same client trained directly: 'throw' (the default) refuses the diverged model, 'zero' returns zeros.
    const params = model.initParams({ seed: new Uint8Array(32) });
    const diverging = { epochs: 3, batchSize: 1, learningRate: 1e30 };
    expect(() => localUpdate(model, params, wild.images, wild.labels, diverging)).toThrow(/diverged/);
    expect(Array.from(localUpdate(model, params, wild.images, wild.labels, { ...diverging, divergence: 'zero' })).every((v) => v === 0)).toBe(true);
  });

  it('refuses Poisson sampling with an aggregator whose release reveals the count', () => {
    const revealing: UpdateAggregator = { noiseMultiplier: 1, aggregate: () => Promise.resolve({ sum: new Float32Array(model.paramCount), included: 0 }) };
    expectPrivkitError(() => new FedAvg({ ...base, clipNorm: 1, aggregator: revealing, sampling: 'poisson' }), 'E_ARG', 'options.sampling');
    expect(() => new FedAvg({ ...base, clipNorm: 1, aggregator: revealing })).not.toThrow();
  });

  it('refuses overlapping rounds and checks what a custom aggregator returns', async () => {
    const fedavg = new FedAvg(base);
    const first = fedavg.runRound();
    expect(await fedavg.runRound().catch((e: unknown) => e)).toMatchObject({ code: 'E_ARG', argument: 'runRound' });
    await first;
    const d = model.paramCount;
    const answers: [AggregateResult, string, string][] = [
      [{ sum: new Float32Array(d - 1), included: 0 }, 'E_SHAPE', 'aggregate().sum'],
      [{ sum: new Float32Array(d).fill(NaN), included: 0 }, 'E_NONFINITE', 'aggregate().sum'],
      [{ sum: new Float32Array(d), included: 10_000 }, 'E_ARG', 'aggregate().included'],
      [{ sum: new Float32Array(d), included: -1 }, 'E_ARG', 'aggregate().included'],
    ];
    for (const [answer, code, argument] of answers) {
      const bad = new FedAvg({ ...base, aggregator: new Recorder(0, () => answer) });
      expect(await bad.runRound().catch((e: unknown) => e)).toMatchObject({ code, argument });
    }
  });

  it('validates every option', () => {
    const bad = (patch: Record<string, unknown>, code: string, argument: string) =>
      expectPrivkitError(() => new FedAvg({ ...base, ...patch } as FedAvgOptions), code, argument);
    expectPrivkitError(() => new FedAvg(undefined as never), 'E_ARG', 'model');
    expectPrivkitError(() => new FedAvg('options' as never), 'E_ARG', 'options');
    bad({ model: { type: 'softmax-regression' } }, 'E_ARG', 'model');
    bad({ clients: [] }, 'E_ARG', 'options.clients');
    bad({ clients: [clients[0], { images: new Float32Array(5), labels: Uint8Array.of(1) }] }, 'E_SHAPE', 'options.clients[1].images');
    bad({ rounds: 0 }, 'E_ARG', 'options.rounds');
    bad({ clientsPerRound: 101 }, 'E_ARG', 'options.clientsPerRound');
    bad({ clientsPerRound: 0 }, 'E_ARG', 'options.clientsPerRound');
    bad({ sampling: 'with-replacement' }, 'E_ARG', 'options.sampling');
    bad({ local: undefined }, 'E_ARG', 'options.local.epochs');
    bad({ local: 3 }, 'E_ARG', 'options.local');
    bad({ local: { epochs: 1, batchSize: 0, learningRate: 1 } }, 'E_ARG', 'options.local.batchSize');
    bad({ clipNorm: 0 }, 'E_ARG', 'options.clipNorm');
    bad({ noiseMultiplier: 1 }, 'E_ARG', 'options.clipNorm');
    bad({ noiseMultiplier: -1, clipNorm: 1 }, 'E_ARG', 'options.noiseMultiplier');
    bad({ targetEpsilon: 1 }, 'E_ARG', 'options.clipNorm');
    bad({ targetEpsilon: 0, clipNorm: 1 }, 'E_ARG', 'options.targetEpsilon');
    bad({ targetEpsilon: 1, noiseMultiplier: 1, clipNorm: 1 }, 'E_ARG', 'options.noiseMultiplier');
    bad({ delta: 1 }, 'E_ARG', 'options.delta');
    bad({ serverLearningRate: 0 }, 'E_ARG', 'options.serverLearningRate');
    bad({ serverMomentum: 1 }, 'E_ARG', 'options.serverMomentum');
    bad({ dropoutRate: -0.1 }, 'E_ARG', 'options.dropoutRate');
    bad({ test: { images: new Float32Array(inputs), labels: Uint8Array.of(3) } }, 'E_ARG', 'options.test.labels');
    bad({ evalEvery: 0 }, 'E_ARG', 'options.evalEvery');
    bad({ initialParams: new Float32Array(3) }, 'E_SHAPE', 'options.initialParams');
    bad({ pool: {} }, 'E_ARG', 'options.pool');
    bad({ seed: new Uint8Array(31) }, 'E_ARG', 'options.seed');
    bad({ aggregator: { noiseMultiplier: 0 } }, 'E_ARG', 'options.aggregator');
    bad({ aggregator: new NonPrivateAggregator({ dimension: model.paramCount }), noiseMultiplier: 1, clipNorm: 1 }, 'E_ARG', 'options.noiseMultiplier');
    bad({ aggregator: new Recorder(NaN, () => ({ sum: new Float32Array(0), included: 0 })) }, 'E_ARG', 'options.aggregator.noiseMultiplier');
    bad({ aggregator: new Recorder(1, () => ({ sum: new Float32Array(0), included: 0 })) }, 'E_ARG', 'options.clipNorm');
    const central = (clipNorm: number) => new CentralDpAggregator({ dimension: model.paramCount, clipNorm, noiseMultiplier: 1 });
    bad({ aggregator: central(1), clipNorm: 2 }, 'E_ARG', 'options.clipNorm');
    bad({ aggregator: central(2), clipNorm: 1 }, 'E_ARG', 'options.clipNorm');
    // Without options.clipNorm the run clips to the aggregator's own bound (noise then needs no second clip norm).
    expect(() => new FedAvg({ ...base, aggregator: central(2) })).not.toThrow();
    expectPrivkitError(() => new FedAvg(base).evaluate({ images: new Float32Array(2), labels: Uint8Array.of(0) }), 'E_SHAPE', 'data.images');
  });
});
