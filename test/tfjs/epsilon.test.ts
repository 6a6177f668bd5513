// makePrivate's epsilon for the standard MNIST config (784-128-10, N 8000, expected batch 512, 10
// epochs, target epsilon 3 at delta 1e-5) against independent computations (test/vectors/
// tfjs-epsilon-*.py): the Poisson-subsampled Gaussian's RDP by Mironov, Talwar and Zhang 2019
// (mpmath: exact binomial sums at integer orders, integrals at fractional ones) plus the lattice
// sampler's slack, converted by Balle et al. 2020; and a discretized PLD composed by FFT, sandwiched
// between pessimistic and optimistic roundings, with the slack charged as PrivateModel.epsilon does.
import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import * as tfl from '@tensorflow/tfjs-layers';
import { ready } from 'privkit';
import { createRng } from 'privkit/dp';
import { makePrivate } from 'privkit/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';

const vectors = JSON.parse(readFileSync(new URL('../vectors/tfjs-epsilon.json', import.meta.url), 'utf8'));

beforeAll(async () => {
  await tf.setBackend('cpu');
  await ready();
});

/** The calibrated model after the config's 160 steps (on empty batches: the accounting does not depend on the data). */
async function trained(accountant: 'rdp' | 'pld') {
  const { datasetSize, expectedBatchSize, epochs, steps, delta, targetEpsilon } = vectors.config;
  const model = tfl.sequential({ layers: [tfl.layers.dense({ inputShape: [784], units: 128, activation: 'tanh' }), tfl.layers.dense({ units: 10, activation: 'softmax' })] });
  const dp = makePrivate(model, { targetEpsilon, delta, maxGradNorm: 1, expectedBatchSize, epochs, accountant, datasetSize, loss: 'categoricalCrossentropy', optimizer: tf.train.sgd(0.5), rng: createRng({ seed: new Uint8Array(32).fill(1) }) });
  const xs = tf.zeros([0, 784]);
  const ys = tf.zeros([0, 10]);
  for (let s = 0; s < steps; s++) await dp.step({ xs, ys });
  tf.dispose([xs, ys]);
  return dp;
}

describe('epsilon of the MNIST config against independent computations', () => {
  it('RDP: the calibrated noise multiplier and the epsilon after 160 steps match the mpmath RDP with slack (to 1e-6, never below)', async () => {
    const dp = await trained('rdp');
    expect(dp.sampleRate).toBe(vectors.config.sampleRate);
    expect(dp.noiseMultiplier).toBeCloseTo(vectors.rdp.noiseMultiplier, 12);
    const epsilon = dp.epsilon();
    expect(epsilon).toBeLessThanOrEqual(vectors.config.targetEpsilon);
    expect(epsilon).toBeGreaterThanOrEqual(vectors.rdp.epsilonAllOrdersBelow30 - 1e-9);
    expect(epsilon - vectors.rdp.epsilonAllOrdersBelow30).toBeLessThan(1e-6);
  }, 30_000);

  it('PLD: the epsilon after 160 steps is at least the optimistic and within 0.01 above the pessimistic discretized PLD (slack charged)', async () => {
    const dp = await trained('pld');
    expect(dp.noiseMultiplier).toBeCloseTo(vectors.pld.noiseMultiplier, 12);
    const epsilon = dp.epsilon();
    expect(epsilon).toBeLessThanOrEqual(vectors.config.targetEpsilon);
    expect(epsilon).toBeGreaterThanOrEqual(vectors.pld.optimistic);
    expect(epsilon).toBeLessThan(vectors.pld.pessimistic + 0.01);
  }, 30_000);
});
