// TensorFlow.js suite of `npm run bench`: one training step of a tfjs model, private and not. Rows:
// privkit/tfjs's DP step (makePrivate: ghost-clipping norms, clip-weighted backward pass, CSPRNG
// noise, optimizer update), the non-private step of the same model and batch (optimizer.minimize of
// the mean loss: the baseline), and the per-example path (dpGradients: one backward pass per example,
// as a user without ghost clipping would do it: the reference). Models: the MNIST MLP 784-128-10 at
// batch 256 on the wasm and cpu backends, and a small CNN (two 3x3 convolutions + dense) at batch 64 on
// the cpu backend (tfjs 4.22's wasm backend cannot train convolutions: no Conv2DBackpropFilter).
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, platform, release } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import * as tfl from '@tensorflow/tfjs-layers';
import { ready } from '../src/index.js';
import { dpGradients, makePrivate } from '../src/tfjs/index.js';
import { formatTable, measure, type Row, type TimingOptions } from './harness.js';

const TIMING: TimingOptions = { time: 1500, iterations: 5, warmupTime: 300, warmupIterations: 2 };

interface Case {
  name: string;
  batch: number;
  inputShape: number[];
  layers: () => tfl.layers.Layer[];
  /** Run the per-example path (slow: one backward pass per example). */
  perExample: boolean;
  /** The backends it trains on (tfjs 4.22's wasm backend has no Conv2DBackpropFilter kernel). */
  backends: string[];
}

const CASES: Case[] = [
  {
    name: 'MLP 784-128-10',
    batch: 256,
    inputShape: [784],
    layers: () => [tfl.layers.dense({ inputShape: [784], units: 128, activation: 'relu' }), tfl.layers.dense({ units: 10, activation: 'softmax' })],
    perExample: true,
    backends: ['wasm', 'cpu'],
  },
  {
    name: 'CNN conv3x3(8)-conv3x3(16)-dense(10)',
    batch: 64,
    inputShape: [28, 28, 1],
    layers: () => [
      tfl.layers.conv2d({ inputShape: [28, 28, 1], filters: 8, kernelSize: 3, strides: 2, activation: 'relu' }),
      tfl.layers.conv2d({ filters: 16, kernelSize: 3, strides: 2, activation: 'relu' }),
      tfl.layers.flatten(),
      tfl.layers.dense({ units: 10, activation: 'softmax' }),
    ],
    perExample: true,
    backends: ['cpu'],
  },
];

function compiled(c: Case): tfl.Sequential {
  const model = tfl.sequential({ layers: c.layers() });
  model.compile({ optimizer: tf.train.sgd(0.01), loss: 'categoricalCrossentropy' });
  return model;
}

const crossEntropy = (ys: tf.Tensor, p: tf.Tensor) => tf.neg(tf.sum(tf.mul(ys, tf.log(tf.clipByValue(p, 1e-7, 1))), -1));

async function caseRows(backend: string, c: Case): Promise<Row[]> {
  const xs = tf.randomUniform([c.batch, ...c.inputShape]);
  const ys = tf.cast(tf.oneHot(tf.randomUniform([c.batch], 0, 10, 'int32'), 10), 'float32');
  const plain = compiled(c);
  const privateModel = compiled(c);
  const dp = makePrivate(privateModel, { noiseMultiplier: 1, maxGradNorm: 1, expectedBatchSize: c.batch, datasetSize: 100 * c.batch });
  const slow = compiled(c);
  const slowVariables = slow.trainableWeights.map((w) => w.read() as tf.Variable);
  const optimizer = tf.train.sgd(0.01);
  try {
    return await measure(
      {
        kernel: `${c.name}, tfjs ${backend}`,
        shape: `batch ${c.batch}`,
        inputBytes: xs.size * 4,
        tasks: [
          { name: 'privkit/tfjs DP step (ghost clipping)', kind: 'library', fn: () => dp.step({ xs, ys }) },
          { name: 'non-private step (optimizer.minimize)', kind: 'baseline', fn: () => tf.tidy(() => {
            plain.optimizer.minimize(() => tf.mean(crossEntropy(ys, plain.apply(xs) as tf.Tensor)) as tf.Scalar);
          }) },
          ...(c.perExample
            ? [
                {
                  name: 'per-example gradients (dpGradients)',
                  kind: 'reference' as const,
                  fn: () => {
                    const { grads } = dpGradients(([x, y]: tf.Tensor[]) => crossEntropy(y!, slow.apply(x!) as tf.Tensor), slowVariables, [xs, ys], { maxGradNorm: 1, noiseMultiplier: 1, expectedBatchSize: c.batch });
                    optimizer.applyGradients(grads);
                    tf.dispose(Object.values(grads));
                  },
                },
              ]
            : []),
        ],
      },
      TIMING,
    );
  } finally {
    tf.dispose([xs, ys]);
    plain.dispose();
    privateModel.dispose();
    slow.dispose();
  }
}

export async function tfjsSuite(): Promise<void> {
  const started = performance.now();
  await ready();
  const rows: Row[] = [];
  for (const backend of ['wasm', 'cpu']) {
    if (!(await tf.setBackend(backend))) throw new Error(`tfjs backend ${backend} is not available`);
    for (const c of CASES.filter((c) => c.backends.includes(backend))) {
      const result = await caseRows(backend, c);
      rows.push(...result);
      console.log(`\n${c.name}, tfjs ${backend} backend, batch ${c.batch}: one training step`);
      console.log(formatTable(result));
    }
  }
  const machine = { cpu: cpus()[0]?.model ?? 'unknown', cores: cpus().length, os: `${platform()} ${release()}`, node: process.version, tfjs: tf.version_core };
  const file = join(dirname(fileURLToPath(import.meta.url)), '../../bench/results/tfjs.json');
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, JSON.stringify({ date: new Date().toISOString(), machine, rows }, null, 2) + '\n');
  console.log(`\n${machine.cpu}, ${machine.cores} cores, Node ${machine.node}, tfjs ${machine.tfjs}; ${((performance.now() - started) / 1000).toFixed(0)} s`);
  console.log('In these tables "x copy" = the non-private step\'s time / the row\'s time (1 / x is the DP slowdown) and "x JS" = the per-example path\'s time / the row\'s time; "GB/s" reads the input batch.');
}
