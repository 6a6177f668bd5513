// Sweep rows of privkit/tfjs on a tiny Dense model (4 inputs, 2 classes, 8 records) on the tfjs cpu
// backend, so that every valid call trains in milliseconds. Models, tensors and optimizers are
// opaque tfjs objects: their wrong types are swept ('instance'), their contents are not.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import * as tfl from '@tensorflow/tfjs-layers';
import * as tj from 'privkit/tfjs';
import { fn, instance, int, num, obj, oneOf, positive, probability, rngField, union, type Row, type SweepRow } from '../sweep-harness.js';
import { seeded } from './fixtures.js';

const entry = 'privkit/tfjs';

async function cpu(): Promise<void> {
  if (tf.getBackend() !== 'cpu') await tf.setBackend('cpu');
}

function model(): tfl.Sequential {
  const m = tfl.sequential({ layers: [tfl.layers.dense({ inputShape: [4], units: 3, activation: 'relu', kernelInitializer: 'ones' }), tfl.layers.dense({ units: 2, activation: 'softmax', kernelInitializer: 'ones' })] });
  m.compile({ optimizer: tf.train.sgd(0.1), loss: 'categoricalCrossentropy' });
  return m;
}

const xs = () => tf.tensor2d([1, 0, 0.5, 0, 0, 1, 0, 0.5, 1, 1, 0, 0, 0, 0, 1, 1, 0.5, 0.5, 0, 0, 0, 0.25, 0.75, 1, 1, 2, 0, 0, 0, 0, 3, 1], [8, 4]);
const ys = () => tf.tensor2d([1, 0, 0, 1, 1, 0, 0, 1, 1, 0, 0, 1, 1, 0, 0, 1], [8, 2]);
const lossNames = ['categoricalCrossentropy', 'sparseCategoricalCrossentropy', 'binaryCrossentropy', 'meanSquaredError'];

const common = {
  maxGradNorm: positive(),
  clipping: oneOf(['flat', 'per-layer'], { optional: true }),
  delta: probability({ optional: true }),
  datasetSize: int(1, 2 ** 28),
  accountant: oneOf(['rdp', 'pld'], { optional: true }),
  loss: union([oneOf(lossNames), fn()], { optional: true }),
  optimizer: instance('tf.Optimizer', { optional: true }),
  rng: rngField(),
  onWarning: fn({ optional: true }),
};

const privateModel = () => tj.makePrivate(model(), { noiseMultiplier: 1, maxGradNorm: 1, sampleRate: 0.5, datasetSize: 8, delta: 1e-5, rng: seeded() });
const weights = (dp: tj.PrivateModel) => (dp.model as tfl.Sequential).getWeights().map((w) => Array.from(w.dataSync()));

const rows: Row[] = [
  {
    entry,
    export: 'makePrivate',
    label: 'makePrivate noiseMultiplier',
    setup: cpu,
    aliases: { 'opts.noiseMultiplier': ['noiseMultiplier'], 'opts.sampleRate': ['sampleRate'] },
    params: [
      { name: 'model', domain: instance('tfjs layers model') },
      { name: 'opts', domain: obj({ ...common, noiseMultiplier: positive(), sampleRate: num({ above: 0, max: 1 }), epochs: int(1, 1e6, { optional: true }) }) },
    ],
    args: () => [model(), { noiseMultiplier: 1.1, maxGradNorm: 1, sampleRate: 0.5, datasetSize: 8, delta: 1e-5, accountant: 'rdp', loss: 'categoricalCrossentropy', epochs: 2, rng: seeded(), onWarning: () => undefined }],
    call: ([m, o]) => tj.makePrivate(m, o),
    observe: (dp: tj.PrivateModel) => [dp.noiseMultiplier, dp.sampleRate, dp.steps],
  },
  {
    entry,
    export: 'makePrivate',
    label: 'makePrivate targetEpsilon',
    setup: cpu,
    aliases: { 'opts.targetEpsilon': ['noiseMultiplier'], 'opts.expectedBatchSize': ['sampleRate'] },
    params: [
      { name: 'model', domain: instance('tfjs layers model') },
      { name: 'opts', domain: obj({ ...common, delta: probability(), targetEpsilon: positive(), expectedBatchSize: num({ above: 0, max: 8 }), epochs: int(1, 1e6, { optional: true }) }) },
    ],
    args: () => [model(), { targetEpsilon: 3, delta: 1e-5, maxGradNorm: 1, expectedBatchSize: 4, datasetSize: 8, epochs: 3, rng: seeded() }],
    call: ([m, o]) => tj.makePrivate(m, o),
    observe: (dp: tj.PrivateModel) => [dp.noiseMultiplier, dp.sampleRate],
  },
  {
    entry,
    export: 'PrivateModel',
    label: 'PrivateModel#step',
    setup: async () => {
      await cpu();
      return privateModel();
    },
    aliases: { 'batch.xs': ['batch'], 'batch.ys': ['batch'] },
    params: [{ name: 'batch', domain: obj({ xs: instance('tf.Tensor'), ys: instance('tf.Tensor') }) }],
    args: () => [{ xs: xs(), ys: ys() }],
    call: ([b], dp: tj.PrivateModel) => dp.step(b),
    observe: (result: tj.StepResult, _args, dp: tj.PrivateModel) => [result, weights(dp)],
  },
  {
    entry,
    export: 'PrivateModel',
    label: 'PrivateModel#fit',
    setup: async () => {
      await cpu();
      return privateModel();
    },
    params: [
      { name: 'xs', domain: instance('tf.Tensor') },
      { name: 'ys', domain: instance('tf.Tensor') },
      { name: 'opts', domain: obj({ epochs: int(1, 1e6, { optional: true }), callbacks: obj({ onBatchEnd: fn({ optional: true }), onEpochEnd: fn({ optional: true }) }, { optional: true }), signal: instance('AbortSignal', { optional: true }) }, { optional: true }) },
    ],
    args: () => [xs(), ys(), { epochs: 1, callbacks: { onBatchEnd: () => undefined, onEpochEnd: () => undefined } }],
    call: ([x, y, o], dp: tj.PrivateModel) => dp.fit(x, y, o),
    observe: (result: unknown, _args, dp: tj.PrivateModel) => [result, weights(dp)],
  },
  {
    entry,
    export: 'PrivateModel',
    label: 'PrivateModel#epsilon',
    setup: async () => {
      await cpu();
      const dp = privateModel();
      await dp.step({ xs: xs(), ys: ys() });
      return dp;
    },
    params: [{ name: 'delta', domain: probability({ optional: true }) }],
    args: () => [1e-6],
    call: ([d], dp: tj.PrivateModel) => dp.epsilon(d),
  },
  {
    entry,
    export: 'dpGradients',
    setup: cpu,
    params: [
      { name: 'lossFn', domain: fn() },
      { name: 'variables', domain: instance('tf.Variable[]') },
      { name: 'batch', domain: instance('batch of tensors') },
      { name: 'opts', domain: obj({ maxGradNorm: positive(), noiseMultiplier: positive(), expectedBatchSize: positive(), rng: rngField(), accountant: instance('accountant', { optional: true }), sampleRate: num({ above: 0, max: 1, optional: true }) }) },
    ],
    args: () => {
      const w = tf.variable(tf.ones([4, 2]));
      return [([x, y]: tf.Tensor[]) => tf.sum(tf.square(tf.sub(tf.matMul(x as tf.Tensor2D, w), y!)), 1), [w], [xs(), ys()], { maxGradNorm: 1, noiseMultiplier: 1, expectedBatchSize: 4, rng: seeded(), sampleRate: 0.5 }];
    },
    call: ([l, v, b, o]) => tj.dpGradients(l, v, b, o),
    observe: (r: tj.NoisedGradients) => [Object.values(r.grads).map((g) => Array.from(g.dataSync())), r.norms, r.clippedCount, r.loss],
  },
  {
    entry,
    export: 'flModel',
    setup: cpu,
    params: [
      { name: 'model', domain: instance('tfjs layers model') },
      { name: 'opts', domain: obj({ inputs: int(1, 1 << 16), classes: int(2, 256), inputShape: instance('shape', { optional: true }) }) },
    ],
    args: () => [model(), { inputs: 4, classes: 2, inputShape: [2, 2] }],
    call: ([m, o]) => tj.flModel(m, o),
    // the topology names each fresh model differently (dense_Dense1, dense_Dense2, ...): what the options set is compared
    observe: (m: { paramCount: number; spec: { rebuild?: { inputShape: number[]; backend: string } } }) => {
      const { rebuild, ...spec } = m.spec;
      return [m.paramCount, spec, rebuild?.inputShape, rebuild?.backend];
    },
  },
  {
    entry,
    export: 'poissonSample',
    params: [
      { name: 'size', domain: int(0, 2 ** 28) },
      { name: 'sampleRate', domain: num({ above: 0, max: 1 }) },
      { name: 'opts', domain: obj({ rng: rngField() }, { optional: true }) },
    ],
    args: () => [100, 0.3, { rng: seeded() }],
    call: ([n, q, o]) => tj.poissonSample(n, q, o),
  },
];

export const tfjsRows: SweepRow[] = rows;
