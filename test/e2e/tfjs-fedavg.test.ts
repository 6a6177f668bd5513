// DP-FedAvg of a tfjs model through privkit/fl's FedAvg (flModel): on the README's synthetic digits,
// with the same clients, seeds, zero initial weights and epsilon, it reaches the built-in softmax
// regression's accuracy within one point (the goal for the tfjs adapter).
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import * as tfl from '@tensorflow/tfjs-layers';
import { ready } from 'privkit';
import { createRng } from 'privkit/dp';
import { createModel, runFedAvg, splitClients, type Model } from 'privkit/fl';
import { flModel } from 'privkit/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';

beforeAll(async () => {
  await tf.setBackend('cpu');
  await ready();
});

describe('DP-FedAvg of a tfjs model', () => {
  it('DP-FedAvg of the tfjs model is within one point of the built-in softmax model at the same epsilon', async () => {
    // the README's synthetic digits: noise plus a brighter block of 78 pixels at the label's position
    const rng = createRng({ seed: new Uint8Array(32) });
    const images = Float32Array.from(rng.uniform(2000 * 784), (v) => v / 2);
    const labels = Uint8Array.from({ length: 2000 }, (_, i) => i % 10);
    labels.forEach((label, i) => images.subarray(i * 784 + label * 78, i * 784 + label * 78 + 78).forEach((_, j, block) => (block[j] += 0.5)));
    const run = (model: Model) =>
      runFedAvg({
        model,
        clients: splitClients(100, { images, labels }),
        rounds: 15,
        clientsPerRound: 20,
        local: { epochs: 1, batchSize: 10, learningRate: 0.5 },
        clipNorm: 0.5,
        targetEpsilon: 8,
        delta: 1e-5,
        serverMomentum: 0.9,
        initialParams: new Float32Array(model.paramCount),
        seed: new Uint8Array(32).fill(3),
        test: { images, labels },
      });
    const builtIn = await run(createModel({ type: 'softmax-regression' }));
    const tfjs = await run(flModel(tfl.sequential({ layers: [tfl.layers.dense({ inputShape: [784], units: 10, activation: 'softmax' })] }), { inputs: 784, classes: 10 }));
    console.log(`DP-FedAvg at epsilon ${tfjs.epsilon.toFixed(2)}: tfjs model ${(100 * tfjs.accuracy!).toFixed(1)}%, built-in softmax ${(100 * builtIn.accuracy!).toFixed(1)}%`);
    expect(tfjs.epsilon).toBe(builtIn.epsilon);
    expect(tfjs.epsilon).toBeLessThanOrEqual(8);
    expect(builtIn.accuracy!).toBeGreaterThan(0.8);
    expect(Math.abs(tfjs.accuracy! - builtIn.accuracy!)).toBeLessThanOrEqual(0.01);
  });

});
