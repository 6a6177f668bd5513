// makePrivate and dpGradients against a reference DP-SGD step built the slow way: each example's
// gradient by its own backward pass through the layers' own forward, clipped by
// min(1, C / (norm + 1e-6)), summed, plus the same seeded lattice noise of the standard deviation
// the file header of src/tfjs/noised-sum.ts derives (recomputed here), divided by q N. Also: empty
// batches, accounting (the RDP/PLD accountants' epsilon for the same q, z, steps and the lattice
// sampler's slack), calibration, the Poisson sampler and the fallback warning.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import * as tfl from '@tensorflow/tfjs-layers';
import { PrivkitError, ready } from 'privkit';
import { PldAccountant, RdpAccountant } from 'privkit/accounting';
import { createRng } from 'privkit/dp';
import type { Rng } from '../../dist/src/dp/rng.js';
import { dpGradients, makePrivate, poissonSample } from 'privkit/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { gaussianOnLattice } from '../../dist/src/dp/secure.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
  await ready();
});

const seed = (n: number) => new Uint8Array(32).fill(n);

function buildModel(fallback = false): tfl.Sequential {
  const first = fallback ? tfl.layers.conv1d({ inputShape: [3, 2], filters: 2, kernelSize: 2, activation: 'tanh', name: 'slow_conv' }) : tfl.layers.dense({ inputShape: [6], units: 5, activation: 'relu' });
  const model = tfl.sequential({ layers: [first, ...(fallback ? [tfl.layers.flatten()] : []), tfl.layers.dense({ units: 3, activation: 'softmax' })] });
  model.compile({ optimizer: tf.train.sgd(1), loss: 'categoricalCrossentropy' });
  return model;
}

const categorical = (y: tf.Tensor, p: tf.Tensor) => tf.neg(tf.sum(tf.mul(y, tf.log(tf.clipByValue(tf.div(p, tf.sum(p, -1, true)), 1e-7, 1 - 1e-7))), -1));

/** The lattice granularity for d coordinates: ceil(8 + log2 sqrt(d)) bits, in [12, 24]. */
const latticeBits = (d: number) => Math.min(24, Math.max(12, Math.ceil(8 + Math.log2(Math.sqrt(d)))));

/**
 * The sampler's slack of one step over d coordinates (src/dp/sampler-error.ts): d (-ln(1 - eta)) with
 * eta = 2 D b / (1 - e^(-b / t)) + a D + a^2 2^-51 + 1e-12 at b = 16 (the tail set's start), a = b - R,
 * D the displacement below 16 (U1's grid and the logarithm's ulp of 45.1 over R, half ulps of 12.3 and
 * 16, and 16 x 2^-53) and t = 2^bits (the largest scale on the lattice).
 */
const R = 3.6541528853610088;
const D16 = (2 ** -52 + 2 ** -47) / R + 2 ** -50 + 2 ** -50 + 16 * 2 ** -53;
const A16 = 16 - R;
const stepSlack = (d: number) => d * -Math.log1p(-((2 * D16 * 16) / -Math.expm1(-16 / 2 ** latticeBits(d)) + A16 * D16 + A16 * A16 * 2 ** -51 + 1e-12));

/**
 * The noise's standard deviation for d coordinates, clip C, noise multiplier z and batches of at most
 * M examples: z times C (1 + 2 M gamma_M) + r sqrt(d), r = 2^(ceil(log2 sigma) - bits).
 */
function referenceSigma(d: number, clip: number, z: number, maxBatch: number): number {
  const gamma = (maxBatch * 2 ** -53) / (1 - maxBatch * 2 ** -53);
  const summed = clip * (1 + 2 * maxBatch * gamma);
  let sigma = z * summed;
  for (let i = 0; i < 4; i++) sigma = z * (summed + 2 ** (Math.ceil(Math.log2(sigma)) - latticeBits(d)) * Math.sqrt(d));
  return sigma;
}

/**
 * The DP-SGD update (the mean gradient) computed the slow way, with lattice noise from a generator
 * seeded like the one under test (batches of at most maxBatch examples), and the tolerance of a
 * comparison: 5e-6 plus one lattice step over the denominator (the slow sum and the step's differ by
 * float32 rounding, and may round to neighbouring lattice points). `clip` is C (flat clipping) or
 * one threshold per trainable layer (per-layer clipping: each layer's gradient clipped by
 * min(1, C_l / (its norm + 1e-6)), the noise for the total bound sqrt(sum C_l^2)).
 */
function referenceUpdate(model: tfl.LayersModel, xs: tf.Tensor, ys: tf.Tensor, clip: number | number[], z: number, denominator: number, noiseSeed: Uint8Array, maxBatch: number): { update: Float64Array[]; tolerance: number } {
  const variables = model.trainableWeights.map((w) => w.read() as tf.Variable);
  const sums = variables.map((v) => new Float64Array(v.size));
  // the variables' indexes per clipping group: all of them, or each trainable layer's
  const layerSizes = model.layers.map((l) => l.trainableWeights.length).filter((n) => n > 0);
  let first = 0;
  const groups = Array.isArray(clip) ? layerSizes.map((n) => Array.from({ length: n }, () => first++)) : [variables.map((_, k) => k)];
  const bounds = Array.isArray(clip) ? clip : [clip];
  for (let i = 0; i < xs.shape[0]!; i++) {
    tf.tidy(() => {
      const { grads } = tf.variableGrads(() => tf.sum(categorical(tf.slice(ys, i, 1), model.apply(tf.slice(xs, i, 1)) as tf.Tensor)), variables);
      const values = variables.map((v) => grads[v.name]!.dataSync());
      groups.forEach((group, g) => {
        const norm = Math.sqrt(group.reduce((s, k) => s + Array.from(values[k]!).reduce((t, x) => t + x * x, 0), 0));
        const factor = Math.min(1, bounds[g]! / (norm + 1e-6));
        for (const k of group) values[k]!.forEach((x, j) => (sums[k]![j]! += factor * x));
      });
    });
  }
  const total = Math.sqrt(bounds.reduce((s, c) => s + c * c, 0));
  const d = sums.reduce((n, s) => n + s.length, 0);
  const flat = new Float64Array(d);
  let offset = 0;
  for (const s of sums) flat.set(s, (offset += s.length) - s.length);
  const sigma = referenceSigma(d, total, z, maxBatch);
  const noised = gaussianOnLattice(flat, sigma, latticeBits(d), { rng: createRng({ seed: noiseSeed }) as unknown as Rng }).values;
  offset = 0;
  const update = sums.map((s) => s.map(() => noised[offset++]! / denominator));
  return { update, tolerance: 5e-6 + 2 ** (Math.ceil(Math.log2(sigma)) - latticeBits(d)) / denominator };
}

const weightsOf = (model: tfl.LayersModel) => model.trainableWeights.map((w) => Float64Array.from(w.read().dataSync()));

function expectUpdate(before: Float64Array[], after: Float64Array[], { update, tolerance }: { update: Float64Array[]; tolerance: number }): void {
  update.forEach((u, k) => u.forEach((x, j) => expect(Math.abs(before[k]![j]! - after[k]![j]! - x)).toBeLessThanOrEqual(tolerance)));
}

function batch(n: number, shape: number[], dataSeed: number) {
  const xs = tf.randomNormal([n, ...shape], 0, 2, 'float32', dataSeed);
  const ys = tf.cast(tf.oneHot(tf.randomUniform([n], 0, 3, 'int32', dataSeed + 1), 3), 'float32');
  return { xs, ys };
}

describe('makePrivate step equals the slow reference', () => {
  for (const fallback of [false, true]) {
    it(fallback ? 'with a per-example (fallback) layer' : 'Dense layers by ghost norms', async () => {
      const model = buildModel(fallback);
      const warnings: string[] = [];
      const dp = makePrivate(model, { noiseMultiplier: 0.7, maxGradNorm: 0.5, sampleRate: 0.25, datasetSize: 40, rng: createRng({ seed: seed(3) }), onWarning: (m) => warnings.push(m) });
      expect(warnings.length).toBe(fallback ? 1 : 0);
      if (fallback) expect(warnings[0]).toContain('"slow_conv"');
      const { xs, ys } = batch(9, fallback ? [3, 2] : [6], 11);
      const before = weightsOf(model);
      const update = referenceUpdate(model, xs, ys, 0.5, 0.7, 10, seed(3), 41);
      const result = await dp.step({ xs, ys });
      expect(result.batchSize).toBe(9);
      expect(result.clippedCount).toBeGreaterThan(0);
      expectUpdate(before, weightsOf(model), update);
      expect(dp.steps).toBe(1);
      // a step leaves no tensor behind
      const tensors = tf.memory().numTensors;
      await dp.step({ xs, ys });
      expect(tf.memory().numTensors).toBe(tensors);
    });
  }

  for (const thresholds of [[0.3, 0.2], undefined]) {
    it(`per-layer clipping (${thresholds === undefined ? 'C / sqrt(L) each' : 'thresholds per layer'}): each layer's gradient clipped to its own threshold, noise for the total`, async () => {
      const model = buildModel();
      const clip = thresholds ?? [0.4 / Math.SQRT2, 0.4 / Math.SQRT2];
      const dp = makePrivate(model, { noiseMultiplier: 0.8, maxGradNorm: thresholds ?? 0.4, clipping: 'per-layer', sampleRate: 0.25, datasetSize: 40, rng: createRng({ seed: seed(8) }) });
      const { xs, ys } = batch(9, [6], 17);
      const before = weightsOf(model);
      const update = referenceUpdate(model, xs, ys, clip, 0.8, 10, seed(8), 41);
      const result = await dp.step({ xs, ys });
      expect(result.clippedCount).toBeGreaterThan(0);
      expectUpdate(before, weightsOf(model), update);
      // flat clipping at the total bound is a different update (its clip factors are not per layer)
      const flat = referenceUpdate(model, xs, ys, Math.hypot(...clip), 0.8, 10, seed(8), 41);
      expect(flat.update.some((u, k) => u.some((x, j) => Math.abs(x - update.update[k]![j]!) > 10 * update.tolerance))).toBe(true);
    });
  }

  it('per-layer thresholds: one positive threshold per trainable layer, and only with per-layer clipping', () => {
    const options = { noiseMultiplier: 1, sampleRate: 0.5, datasetSize: 8 };
    expect(() => makePrivate(buildModel(), { ...options, maxGradNorm: [1, 2, 3], clipping: 'per-layer' })).toThrow(expect.objectContaining({ code: 'E_ARG', argument: 'maxGradNorm' }));
    expect(() => makePrivate(buildModel(), { ...options, maxGradNorm: [1], clipping: 'per-layer' })).toThrow(expect.objectContaining({ code: 'E_ARG', argument: 'maxGradNorm' }));
    expect(() => makePrivate(buildModel(), { ...options, maxGradNorm: [1, 2] })).toThrow(expect.objectContaining({ code: 'E_ARG', argument: 'maxGradNorm' }));
    expect(() => makePrivate(buildModel(), { ...options, maxGradNorm: [1, -2], clipping: 'per-layer' })).toThrow(expect.objectContaining({ code: 'E_ARG', argument: 'maxGradNorm[1]' }));
  });

  it('an empty batch updates by the noise alone', async () => {
    const model = buildModel();
    const dp = makePrivate(model, { noiseMultiplier: 1.3, maxGradNorm: 2, expectedBatchSize: 8, datasetSize: 64, rng: createRng({ seed: seed(5) }) });
    const { xs, ys } = batch(0, [6], 1);
    const before = weightsOf(model);
    const update = referenceUpdate(model, xs, ys, 2, 1.3, 8, seed(5), 65);
    expect(update.update.some((u) => u.some((x) => x !== 0))).toBe(true);
    const result = await dp.step({ xs, ys });
    expect(result).toEqual({ loss: NaN, batchSize: 0, clippedCount: 0 });
    expectUpdate(before, weightsOf(model), update);
  });
});

/**
 * Runs one step of makePrivate (noise 1e-9 C, sgd(1), q N = 1) on a one-example batch whose output
 * gradients are `outputGradients` (a squared-error loss against targets chosen for them) and
 * returns the norm of the update: the example's clipped contribution, which must be <= C.
 */
async function contribution(model: tfl.LayersModel, xs: tf.Tensor, outputGradients: tf.Tensor): Promise<number> {
  const ys = tf.sub(model.predict(xs) as tf.Tensor, tf.div(outputGradients, 2));
  const squaredError = (y: tf.Tensor, p: tf.Tensor) => tf.sum(tf.reshape(tf.square(tf.sub(p, y)), [p.shape[0]!, -1]), 1);
  const dp = makePrivate(model, { noiseMultiplier: 1e-9, maxGradNorm: 1, sampleRate: 1, datasetSize: 1, loss: squaredError, optimizer: tf.train.sgd(1), rng: createRng({ seed: seed(9) }) });
  const before = weightsOf(model);
  await dp.step({ xs, ys });
  const after = weightsOf(model);
  return Math.sqrt(before.reduce((s, w, k) => s + w.reduce((t, x, j) => t + (x - after[k]![j]!) ** 2, 0), 0));
}

describe('clipping holds against examples built to defeat the norm formulas', () => {
  it('a non-finite example (attack: an Infinity feature makes its norm Infinity, c = 0, and 0 x Infinity = NaN poisons the model when it is sampled)', async () => {
    // the same step with and without the poisoned record, from the same weights and noise: the record must add nothing (c = 0)
    const steps = await Promise.all(
      [[[1, 2, 0, 0, 0, 0]], [[1, 2, 0, 0, 0, 0], [Infinity, 0, 0, 0, 0, 0]]].map(async (rows) => {
        const model = buildModel();
        model.setWeights(buildModel().getWeights().map((w) => tf.onesLike(w)));
        const dp = makePrivate(model, { noiseMultiplier: 1, maxGradNorm: 1, sampleRate: 0.5, datasetSize: 4, rng: createRng({ seed: seed(3) }) });
        const result = await dp.step({ xs: tf.tensor2d(rows), ys: tf.tensor2d(rows.map(() => [1, 0, 0])) });
        return { weights: weightsOf(model), clippedCount: result.clippedCount };
      }),
    );
    const [clean, poisoned] = steps as [(typeof steps)[0], (typeof steps)[0]];
    poisoned.weights.forEach((w, k) => w.forEach((x, j) => expect(x).toBe(clean.weights[k]![j]!)));
    expect(poisoned.clippedCount).toBe(clean.clippedCount + 1);
  });

  it('dpGradients: an example whose loss is not finite adds nothing', async () => {
    const w = tf.variable(tf.ones([2, 1]));
    const lossFn = ([x]: tf.Tensor[]) => tf.sum(tf.square(tf.matMul(x as tf.Tensor2D, w)), 1);
    const [clean, poisoned] = [[[1, 2]], [[1, 2], [NaN, 1]]].map((rows) => {
      const { grads } = dpGradients(lossFn, [w], [tf.tensor2d(rows)], { maxGradNorm: 1, noiseMultiplier: 1, expectedBatchSize: 2, rng: createRng({ seed: seed(4) }) });
      return Array.from(grads[w.name]!.dataSync());
    });
    expect(poisoned).toEqual(clean);
  });

  it('Dense over positions (attack: a_1 ~ a_2 large and g_1 = -g_2 cancel in the Gram formula, which rounds the norm to 0)', async () => {
    const model = tfl.sequential({ layers: [tfl.layers.dense({ inputShape: [2, 2], units: 2, useBias: false, kernelInitializer: 'ones' })] });
    // gradient sum_t a_t^T g_t = (a_2 - a_1)^T g_2: norm 20 x 200 sqrt(2), but <a_t, a_s> = 1e10 for all t, s in float32
    const xs = tf.tensor3d([[[1e5, 0], [1e5, 20]]]);
    const slow = tf.tidy(() => {
      const kernel = model.trainableWeights[0]!.read() as tf.Variable;
      const g = tf.tensor3d([[[-200, -200], [200, 200]]]);
      const { grads } = tf.variableGrads(() => tf.sum(tf.mul(model.apply(xs) as tf.Tensor, g)), [kernel]);
      return tf.norm(grads[kernel.name]!).dataSync()[0]!;
    });
    expect(slow).toBeGreaterThan(5000);
    expect(await contribution(model, xs, tf.tensor3d([[[-200, -200], [200, 200]]]))).toBeLessThanOrEqual(1);
  });

  it('Embedding with a repeated token (attack: g_1 = -g_2 + d, |g| = 1e6, cancel in the Gram formula)', async () => {
    const model = tfl.sequential({ layers: [tfl.layers.embedding({ inputDim: 3, outputDim: 2, inputLength: 2, inputShape: [2] })] });
    // the token's row gets g_1 + g_2 = (100, 0): norm 100, while |g_1|^2 + |g_2|^2 + 2 <g_1, g_2> rounds to about 0
    expect(await contribution(model, tf.tensor2d([[1, 1]]), tf.tensor3d([[[1e6, 0], [-1e6 + 100, 0]]]))).toBeLessThanOrEqual(1);
  });
});

describe('refused batches', () => {
  it('Embedding ids that are not integers in [0, inputDim) (tfjs would gather a wrong row silently)', async () => {
    const model = tfl.sequential({ layers: [tfl.layers.embedding({ inputDim: 3, outputDim: 2, inputLength: 2, inputShape: [2] }), tfl.layers.flatten(), tfl.layers.dense({ units: 2, activation: 'softmax' })] });
    const dp = makePrivate(model, { noiseMultiplier: 1, maxGradNorm: 1, sampleRate: 0.5, datasetSize: 8, loss: 'categoricalCrossentropy', optimizer: tf.train.sgd(0.1), rng: createRng({ seed: seed(1) }) });
    const ys = tf.tensor2d([[1, 0]]);
    for (const ids of [[0, 3], [-1, 0], [1.5, 2], [NaN, 1]]) {
      await expect(dp.step({ xs: tf.tensor2d([ids]), ys })).rejects.toMatchObject({ code: 'E_ARG', argument: 'xs' });
    }
    expect(dp.steps).toBe(0);
    await dp.step({ xs: tf.tensor2d([[0, 2]]), ys });
    expect(dp.steps).toBe(1);
  });

  it("a batch larger than the dataset (the sum's rounding is charged for datasetSize + 1)", async () => {
    const dp = makePrivate(buildModel(), { noiseMultiplier: 1, maxGradNorm: 1, sampleRate: 0.5, datasetSize: 4 });
    const { xs, ys } = batch(5, [6], 1);
    await expect(dp.step({ xs, ys })).rejects.toMatchObject({ code: 'E_ARG', argument: 'batch' });
  });

  it('dpGradients with a PldAccountant (each step carries the lattice sampler slack)', () => {
    const w = tf.variable(tf.ones([2, 1]));
    const call = () => dpGradients(([x]: tf.Tensor[]) => tf.sum(tf.matMul(x as tf.Tensor2D, w), 1), [w], [tf.ones([2, 2])], { maxGradNorm: 1, noiseMultiplier: 1, expectedBatchSize: 2, accountant: new PldAccountant(), sampleRate: 0.5 });
    expect(call).toThrow(expect.objectContaining({ code: 'E_ARG', argument: 'accountant' }));
  });
});

describe('dpGradients equals the slow reference', () => {
  it('a custom loss over a batch given as an array of tensors', () => {
    const model = buildModel();
    const variables = model.trainableWeights.map((w) => w.read() as tf.Variable);
    const { xs, ys } = batch(7, [6], 21);
    const { update, tolerance } = referenceUpdate(model, xs, ys, 0.3, 2, 5, seed(9), 2 ** 20);
    const accountant = new RdpAccountant();
    const result = dpGradients(([x, y]: tf.Tensor[]) => categorical(y!, model.apply(x!) as tf.Tensor), variables, [xs, ys], { maxGradNorm: 0.3, noiseMultiplier: 2, expectedBatchSize: 5, rng: createRng({ seed: seed(9) }), accountant, sampleRate: 0.1 });
    variables.forEach((v, k) => {
      const got = result.grads[v.name]!.dataSync();
      update[k]!.forEach((x, j) => expect(Math.abs(got[j]! - x)).toBeLessThanOrEqual(tolerance));
    });
    expect(result.norms.length).toBe(7);
    const d = variables.reduce((n, v) => n + v.size, 0);
    expect(accountant.getEpsilon(1e-5).epsilon).toBeCloseTo(new RdpAccountant().step({ noiseMultiplier: 2, sampleRate: 0.1, slack: stepSlack(d) }).getEpsilon(1e-5).epsilon, 12);
    tf.dispose(Object.values(result.grads));
  });

  it('refuses a loss that is not per example', () => {
    const w = tf.variable(tf.zeros([2]));
    const call = () => dpGradients(() => tf.sum(w), [w], tf.zeros([3, 2]), { maxGradNorm: 1, noiseMultiplier: 1, expectedBatchSize: 3 });
    expect(call).toThrow(PrivkitError);
    expect(call).toThrow(/lossFn must return one loss per example/);
  });
});

describe('accounting', () => {
  it('epsilon is the accountant of the same (q, z, steps); targetEpsilon is met after the calibrated epochs', async () => {
    for (const accountant of ['rdp', 'pld'] as const) {
      const model = buildModel();
      const dp = makePrivate(model, { targetEpsilon: 2, delta: 1e-5, maxGradNorm: 1, expectedBatchSize: 10, datasetSize: 40, epochs: 2, accountant, rng: createRng({ seed: seed(7) }) });
      expect(dp.epsilon()).toBe(0);
      const { xs, ys } = batch(40, [6], 3);
      const epochsSeen: number[] = [];
      const history = await dp.fit(xs, ys, { callbacks: { onEpochEnd: (epoch) => void epochsSeen.push(epoch) } });
      expect(epochsSeen).toEqual([0, 1]);
      expect(dp.sampleRate).toBe(0.25);
      expect(dp.steps).toBe(8);
      // the lattice sampler's slack s per step: in each RDP step, or as (epsilon + 2 T s, delta e^(-T s)) on the PLD's transcript
      const s = stepSlack(model.trainableWeights.reduce((n, w) => n + w.read().size, 0));
      const event = { noiseMultiplier: dp.noiseMultiplier, sampleRate: 0.25, steps: 8, sampling: 'poisson', neighbours: 'add-remove' } as const;
      const expected = accountant === 'rdp' ? new RdpAccountant().step({ ...event, slack: s }).getEpsilon(1e-5).epsilon : new PldAccountant().step(event).getEpsilon(1e-5 * Math.exp(-8 * s)).epsilon + 16 * s;
      expect(dp.epsilon()).toBeCloseTo(expected, accountant === 'rdp' ? 12 : 6);
      expect(dp.epsilon()).toBeLessThanOrEqual(2);
      expect(dp.epsilon()).toBeGreaterThan(1.9);
      expect(history.epochs[1]!.epsilon).toBe(dp.epsilon());
    }
  });

  it('fit aborts between steps', async () => {
    const dp = makePrivate(buildModel(), { noiseMultiplier: 1, maxGradNorm: 1, sampleRate: 0.5, datasetSize: 10 });
    const { xs, ys } = batch(10, [6], 3);
    const controller = new AbortController();
    const run = dp.fit(xs, ys, { epochs: 3, signal: controller.signal, callbacks: { onBatchEnd: () => controller.abort() } });
    await expect(run).rejects.toMatchObject({ code: 'E_ABORTED' });
    expect(dp.steps).toBe(1);
  });
});

describe('poissonSample', () => {
  it('includes each record with probability q, ascending, reproducibly with a seed', async () => {
    const n = 200_000;
    const q = 0.01;
    const a = poissonSample(n, q, { rng: createRng({ seed: seed(1) }) });
    const b = poissonSample(n, q, { rng: createRng({ seed: seed(1) }) });
    expect(a).toEqual(b);
    // binomial(n, q): 6 standard deviations
    expect(Math.abs(a.length - n * q)).toBeLessThan(6 * Math.sqrt(n * q * (1 - q)));
    for (let i = 1; i < a.length; i++) expect(a[i]!).toBeGreaterThan(a[i - 1]!);
    expect(a[a.length - 1]!).toBeLessThan(n);
    // records past the first generator chunk (65,536) are sampled too, at the same rate
    const late = a.filter((i) => i >= 131_072).length;
    expect(Math.abs(late - (n - 131_072) * q)).toBeLessThan(6 * Math.sqrt((n - 131_072) * q));
    expect(poissonSample(0, 0.5).length).toBe(0);
    expect(poissonSample(5, 1).length).toBe(5);
  });
});
