// The DP-SGD worker: a TensorFlow.js MLP (784-hidden-10) learns the MNIST digits in the browser,
// off the page's thread, with privkit/tfjs's makePrivate (Poisson batches, ghost clipping, Gaussian
// noise from privkit's CSPRNG, calibrated to the target epsilon at DELTA by the PLD accountant),
// then, if asked, the same model from the same initial weights without privacy (model.fit on
// shuffled batches of the expected batch size). It runs on tfjs's wasm backend (its .wasm files
// are bundled by Vite as assets, so nothing is fetched from elsewhere) or its cpu backend. One
// message per epoch: the test accuracy on the held-out digits and, for the private run, the
// epsilon spent so far.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import wasmUrl from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm?url';
import simdUrl from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm?url';
import threadedUrl from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-threaded-simd.wasm?url';
import * as tfl from '@tensorflow/tfjs-layers';
import { ready } from 'privkit';
import { createRng } from 'privkit/dp';
import { makePrivate } from 'privkit/tfjs';
import { loadDigits, seedBytes, type Digits } from './digits';
import { TFJS_RECIPE, type TfjsConfig, type TfjsEpoch, type TfjsMessage, type TfjsRequest } from './tfjs-protocol';
import { DELTA, MNIST_PIXELS } from './train-protocol';

const post = (message: TfjsMessage) => postMessage(message);

setWasmPaths({ 'tfjs-backend-wasm.wasm': wasmUrl, 'tfjs-backend-wasm-simd.wasm': simdUrl, 'tfjs-backend-wasm-threaded-simd.wasm': threadedUrl });
// On a cross-origin-isolated page tfjs would pick its threaded build, whose Emscripten thread
// workers fail to start from inside a bundled module worker: the single-threaded SIMD build runs.
tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);

function tensors(digits: Digits, count: number): { xs: tf.Tensor2D; ys: tf.Tensor2D } {
  return tf.tidy(() => ({
    xs: tf.tensor2d(digits.images.subarray(0, count * MNIST_PIXELS), [count, MNIST_PIXELS]),
    ys: tf.cast(tf.oneHot(tf.tensor1d(digits.labels.subarray(0, count), 'int32'), 10), 'float32') as tf.Tensor2D,
  }));
}

function buildModel(config: TfjsConfig): tfl.Sequential {
  // A seed fixes the initial weights too (tfjs's initializers draw from Math.random otherwise).
  const init = (layer: number) => (config.seed === undefined ? {} : { kernelInitializer: tfl.initializers.glorotUniform({ seed: config.seed + layer }) });
  const model = tfl.sequential({
    layers: [
      tfl.layers.dense({ inputShape: [MNIST_PIXELS], units: config.hidden, activation: TFJS_RECIPE.activation, ...init(0) }),
      tfl.layers.dense({ units: 10, activation: 'softmax', ...init(1) }),
    ],
  });
  model.compile({ optimizer: tf.train.momentum(TFJS_RECIPE.learningRate, TFJS_RECIPE.momentum), loss: 'categoricalCrossentropy' });
  return model;
}

function accuracy(model: tfl.Sequential, xs: tf.Tensor2D, ys: tf.Tensor2D): number {
  return tf.tidy(() => tf.mean(tf.cast(tf.equal(tf.argMax(model.predict(xs) as tf.Tensor, -1), tf.argMax(ys, -1)), 'float32')).dataSync()[0]!);
}

/** Epoch callbacks that time each epoch (up to its end, before the evaluation) and post its test accuracy. */
function epochReporter(run: TfjsEpoch['run'], model: tfl.Sequential, test: { xs: tf.Tensor2D; ys: tf.Tensor2D }, epsilon?: () => number) {
  let since = performance.now();
  return async (epoch: number) => {
    const ms = performance.now() - since;
    const report: TfjsEpoch = { run, epoch: epoch + 1, accuracy: accuracy(model, test.xs, test.ys), ms };
    if (epsilon !== undefined) report.epsilon = epsilon();
    post({ type: 'epoch', epoch: report });
    since = performance.now();
  };
}

async function train({ config, dataUrl }: TfjsRequest): Promise<void> {
  const started = performance.now();
  post({ type: 'progress', text: `Starting tfjs's ${config.backend} backend...` });
  if (!(await tf.setBackend(config.backend))) throw new Error(`tfjs's ${config.backend} backend did not initialize`);
  await Promise.all([tf.ready(), ready()]);
  post({ type: 'progress', text: 'Loading the digits...' });
  const digits = await loadDigits(dataUrl);
  const train = tensors(digits.train, config.examples);
  const test = tensors(digits.test, digits.test.labels.length);

  const model = buildModel(config);
  const initial = model.getWeights().map((w) => w.clone());
  post({ type: 'progress', text: `Calibrating the noise to epsilon ${config.targetEpsilon}...` });
  // makePrivate calibrates the noise multiplier up front, for the declared (public) dataset size.
  const dp = makePrivate(model, {
    targetEpsilon: config.targetEpsilon,
    delta: DELTA,
    maxGradNorm: TFJS_RECIPE.maxGradNorm,
    expectedBatchSize: config.batchSize,
    datasetSize: config.examples,
    epochs: config.epochs,
    accountant: TFJS_RECIPE.accountant,
    ...(config.seed === undefined ? {} : { rng: createRng({ seed: seedBytes(config.seed) }) }),
  });
  const sampleRate = dp.sampleRate;
  post({
    type: 'setup',
    setup: {
      backend: tf.getBackend(),
      paramCount: model.countParams(),
      noiseMultiplier: dp.noiseMultiplier,
      sampleRate,
      stepsPerEpoch: Math.max(1, Math.round(1 / sampleRate)),
      testImages: test.xs.shape[0],
    },
  });
  await dp.fit(train.xs, train.ys, { callbacks: { onEpochEnd: epochReporter('private', model, test, () => dp.epsilon()) } });

  if (config.baseline) {
    const baseline = buildModel(config);
    baseline.setWeights(initial);
    post({ type: 'progress', text: 'Training the same model without privacy...' });
    await baseline.fit(train.xs, train.ys, {
      epochs: config.epochs,
      batchSize: config.batchSize,
      shuffle: true,
      verbose: 0,
      callbacks: { onEpochEnd: epochReporter('baseline', baseline, test) },
    });
    baseline.dispose();
  }
  tf.dispose([...initial, train.xs, train.ys, test.xs, test.ys]);
  model.dispose();
  post({ type: 'done', totalMs: performance.now() - started });
}

addEventListener('message', (event: MessageEvent<TfjsRequest>) => {
  if (event.data?.type !== 'train') return;
  train(event.data).catch((error: unknown) => post({ type: 'error', message: error instanceof Error ? error.message : String(error) }));
});
