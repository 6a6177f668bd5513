// Attacks on the epsilon of privkit/tfjs (review of the floating-point-safe release, issue 14), kept
// as tests: each builds the adversarial input or observation and checks that it no longer breaks the
// privacy argument of src/tfjs/noised-sum.ts.
//
// 1. A subnormal clip weight: with a tiny clip norm C, the weight w = C (1 - 2^-40) / norm of an
//    example with a large gradient is a subnormal double, rounded with a relative error up to
//    2^-1074 / w, so the contribution exceeds C (by 8e-9 C at C = 1e-296). Clip norms below 2^-500
//    are now refused (every weight is then a normal double).
// 2. The dataset's size through the lattice: the release is a lattice point k r divided by q N, so
//    one coordinate of one update tells N from N + 1 (k = update x q N / r is an integer only for
//    the true N): fit took N from the data, so adding or removing a record was visible in the model
//    with near certainty. datasetSize is now required: the plan's public N for any dataset of at
//    most that many records, never taken from the data.
// 3. A malformed record stopping training: an Embedding id out of range was refused when its record
//    was first sampled, after the steps before it were released, so the number of released steps
//    depended on the record's presence. fit now checks every record before the first step.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import * as tfl from '@tensorflow/tfjs-layers';
import { ready } from 'privkit';
import { createRng } from 'privkit/dp';
import { dpGradients, makePrivate } from 'privkit/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { LayerChain } from '../../dist/src/tfjs/layers.js';
import { MIN_CLIP_NORM, planRelease } from '../../dist/src/tfjs/noised-sum.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
  await ready();
});

const seed = (n: number) => new Uint8Array(32).fill(n);

describe('attack: a subnormal clip weight', () => {
  const model = tfl.sequential({ layers: [tfl.layers.dense({ inputShape: [1], units: 1, useBias: false, kernelInitializer: 'ones' })] });
  const chain = new LayerChain(model);
  /** The largest |e| / C over examples with gradient a g, a ~ 4e9 and g ~ 4e9 (ghost norm 1.6e19, finite in float32). */
  const worstRatio = (C: number) => {
    let worst = 0;
    for (let i = 0; i < 400; i++) {
      const a = Math.fround(4e9 * (1 + i / 600));
      const g = Math.fround(3.9e9 * (1 + i / 1400));
      const xs = tf.tensor2d([[a]]);
      const pass = chain.backward(xs, (out) => tf.sum(tf.mul(out, tf.scalar(g))));
      const { sum } = pass.clippedSum([{ layers: [0], factors: Float64Array.of(1), bound: C }]);
      tf.dispose([pass.norms, pass.loss, xs]);
      pass.dispose();
      worst = Math.max(worst, Math.abs(sum[0]!) / C);
    }
    return worst;
  };

  it('at C = 1e-296 a contribution exceeds C (the weight is subnormal): such clip norms are refused by makePrivate, dpGradients and the plan', () => {
    expect(worstRatio(1e-296)).toBeGreaterThan(1 + 1e-9);
    expect(() => planRelease(1, 1e-296, 1, 2)).toThrow(expect.objectContaining({ code: 'E_ARG', argument: 'maxGradNorm' }));
    expect(() => makePrivate(model, { noiseMultiplier: 1, maxGradNorm: 1e-296, sampleRate: 0.5, datasetSize: 4, optimizer: tf.train.sgd(1), loss: 'meanSquaredError' })).toThrow(
      expect.objectContaining({ code: 'E_ARG', argument: 'maxGradNorm' }),
    );
    const w = model.layers[0]!.trainableWeights[0]!.read() as tf.Variable;
    const xs = tf.ones([2, 1]);
    expect(() => dpGradients((x: tf.Tensor) => tf.sum(tf.matMul(x as tf.Tensor2D, w), 1), [w], xs, { maxGradNorm: 1e-296, noiseMultiplier: 1, expectedBatchSize: 2 })).toThrow(
      expect.objectContaining({ code: 'E_ARG', argument: 'maxGradNorm' }),
    );
    xs.dispose();
  });

  it('at the smallest accepted C (2^-500) every contribution is at most C', () => {
    expect(MIN_CLIP_NORM).toBe(2 ** -500);
    expect(worstRatio(MIN_CLIP_NORM)).toBeLessThanOrEqual(1);
    expect(planRelease(1, MIN_CLIP_NORM, 1, 2).sigma).toBeGreaterThan(MIN_CLIP_NORM);
  });
});

describe('attack: the dataset size read from the lattice of the released update', () => {
  const N = 40;
  const q = 0.5;
  const data = (records: number) => ({ xs: tf.randomNormal([records, 3], 0, 1, 'float32', 11), ys: tf.randomNormal([records, 2], 0, 1, 'float32', 12) });

  /** The model after the first private step on `records` records (zero weights, SGD with learning rate 1: the weights are minus the released update). */
  const firstUpdate = async (records: number, datasetSize: number) => {
    const model = tfl.sequential({ layers: [tfl.layers.dense({ inputShape: [3], units: 2, kernelInitializer: 'zeros', biasInitializer: 'zeros' })] });
    const dp = makePrivate(model, { noiseMultiplier: 1, maxGradNorm: 1, sampleRate: q, datasetSize, loss: 'meanSquaredError', optimizer: tf.train.sgd(1), rng: createRng({ seed: seed(4) }) });
    const { xs, ys } = data(records);
    let update: number[] = [];
    await dp.fit(xs, ys, { epochs: 1, callbacks: { onBatchEnd: (step) => void (step === 1 && (update = model.getWeights().flatMap((t) => Array.from(t.dataSync(), (x) => -x)))) } });
    tf.dispose([xs, ys]);
    return update;
  };

  /** The attacker's test of "the dataset has n records": how many coordinates are lattice points k r / (q n), k an integer. */
  const latticeHits = (update: number[], n: number) => {
    const { sigma, bits } = planRelease(update.length, 1, 1, n + 1);
    const r = 2 ** (Math.ceil(Math.log2(sigma)) - bits);
    return update.filter((u) => {
      const k = (u * q * n) / r;
      return Math.abs(k - Math.round(k)) < 2e-3;
    }).length;
  };

  it('makePrivate refuses to run without a declared datasetSize: N taken from the data shows in the update whether a record was removed', async () => {
    const model = tfl.sequential({ layers: [tfl.layers.dense({ inputShape: [3], units: 2 })] });
    const options = { noiseMultiplier: 1, maxGradNorm: 1, sampleRate: q, loss: 'meanSquaredError', optimizer: tf.train.sgd(1) } as const;
    // @ts-expect-error datasetSize is required
    expect(() => makePrivate(model, options)).toThrow(expect.objectContaining({ code: 'E_ARG', argument: 'datasetSize' }));
    // what it would leak: a plan whose N is the data's own size (N - 1 records after a removal)
    const removed = await firstUpdate(N - 1, N - 1);
    expect(latticeHits(removed, N - 1)).toBe(8);
    expect(latticeHits(removed, N)).toBeLessThan(4);
  });

  it('with datasetSize declared, fit on the dataset and on its neighbour with a record removed uses the same public N: both updates are lattice points of q N', async () => {
    const full = await firstUpdate(N, N);
    const removed = await firstUpdate(N - 1, N);
    expect(latticeHits(full, N)).toBe(8);
    expect(latticeHits(removed, N)).toBe(8);
    expect(latticeHits(removed, N - 1)).toBeLessThan(4);
  });

  it('fit refuses more records than the declared datasetSize (the public bound of the plan)', async () => {
    const model = tfl.sequential({ layers: [tfl.layers.dense({ inputShape: [3], units: 2 })] });
    const dp = makePrivate(model, { noiseMultiplier: 1, maxGradNorm: 1, sampleRate: q, datasetSize: N, loss: 'meanSquaredError', optimizer: tf.train.sgd(1) });
    const { xs, ys } = data(N + 1);
    await expect(dp.fit(xs, ys)).rejects.toMatchObject({ code: 'E_ARG', argument: 'xs' });
    tf.dispose([xs, ys]);
  });
});

describe('attack: a malformed record ends training at a data-dependent step', () => {
  it('fit refuses an Embedding id out of range before any step is released', async () => {
    const model = tfl.sequential({ layers: [tfl.layers.embedding({ inputDim: 5, outputDim: 2, inputLength: 2, inputShape: [2] }), tfl.layers.flatten(), tfl.layers.dense({ units: 2, activation: 'softmax' })] });
    const before = model.getWeights().map((t) => Array.from(t.dataSync()));
    const dp = makePrivate(model, { noiseMultiplier: 1, maxGradNorm: 1, sampleRate: 0.01, datasetSize: 200, loss: 'categoricalCrossentropy', optimizer: tf.train.sgd(1), rng: createRng({ seed: seed(2) }) });
    const ids = Array.from({ length: 400 }, (_, i) => i % 5);
    ids[399] = 5; // the last record's second id is out of range: rarely in the first batches at q = 0.01
    const xs = tf.tensor2d(ids, [200, 2]);
    const ys = tf.oneHot(tf.tensor1d(Array.from({ length: 200 }, (_, i) => i % 2), 'int32'), 2);
    let steps = 0;
    await expect(dp.fit(xs, ys, { callbacks: { onBatchEnd: () => void steps++ } })).rejects.toMatchObject({ code: 'E_ARG', argument: 'xs', index: 399 });
    expect(steps).toBe(0);
    expect(dp.steps).toBe(0);
    expect(model.getWeights().map((t) => Array.from(t.dataSync()))).toEqual(before);
    tf.dispose([xs, ys]);
  });
});
