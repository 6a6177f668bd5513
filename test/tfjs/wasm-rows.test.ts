// The backend assumption of the privacy argument (src/tfjs/noised-sum.ts, step 1) on the wasm
// backend (XNNPACK kernels), where it was tested only on cpu: an example's ghost norm and clipped
// contribution are bit-identical whether it is trained alone or in batches of other sizes and
// offsets (a kernel whose order of operations depended on the batch size or the other rows would
// let the other examples' contributions move with one record, beyond the charged sensitivity).
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
import * as tfl from '@tensorflow/tfjs-layers';
import { ready } from 'privkit';
import { beforeAll, describe, expect, it } from 'vitest';
import { LayerChain } from '../../dist/src/tfjs/layers.js';

beforeAll(async () => {
  await tf.setBackend('wasm');
  await ready();
});

/** Checks that examples `indexes` contribute bit-identically alone and in the batches [from, to) of `xs`. */
function expectRowsIndependent(model: tfl.Sequential, xs: tf.Tensor, ys: tf.Tensor, indexes: number[], batches: [number, number][]) {
  const chain = new LayerChain(model);
  const C = 0.05;
  const contribution = (from: number, to: number, index: number) => {
    const x = tf.slice(xs, from, to - from);
    const y = tf.slice(ys, from, to - from);
    const pass = chain.backward(x, (out) => tf.neg(tf.sum(tf.mul(y, tf.log(out)))) as tf.Scalar);
    const norms = pass.norms.dataSync();
    const factors = Float64Array.from(norms, (norm, i) => (i + from === index ? Math.min(1, C / (norm + 1e-6)) : 0));
    const { sum } = pass.clippedSum([{ layers: chain.trainableLayers.map((_, k) => k), factors, bound: C }]);
    tf.dispose([pass.norms, pass.loss, x, y]);
    pass.dispose();
    return { sum, norm: norms[index - from]! };
  };
  for (const index of indexes) {
    const alone = contribution(index, index + 1, index);
    for (const [from, to] of batches) {
      if (index < from || index >= to) continue;
      const inBatch = contribution(from, to, index);
      expect(inBatch.norm).toBe(alone.norm);
      expect(inBatch.sum).toEqual(alone.sum);
    }
  }
}

describe("an example's contribution is a function of that example alone, wasm backend", () => {
  it('MNIST-shaped MLP (784-128-10): batches of 1, 2, 4, 256, 257 and 300', () => {
    expect(tf.getBackend()).toBe('wasm');
    const model = tfl.sequential({ layers: [tfl.layers.dense({ inputShape: [784], units: 128, activation: 'relu' }), tfl.layers.dense({ units: 10, activation: 'softmax' })] });
    const xs = tf.randomUniform([300, 784], 0, 1, 'float32', 5);
    const ys = tf.oneHot(tf.randomUniform([300], 0, 10, 'int32', 6), 10);
    expectRowsIndependent(model, xs, ys, [0, 3, 255, 256], [[0, 300], [1, 257], [0, 256], [0, 4], [2, 4], [255, 257]]);
    tf.dispose([xs, ys]);
  });

  it('conv2d + conv2d + dense, dense on sequences + LayerNormalization, embedding: batches of 1, 2, 17 and 40', () => {
    const cnn = tfl.sequential({ layers: [tfl.layers.conv2d({ inputShape: [10, 10, 2], filters: 4, kernelSize: 3, activation: 'relu' }), tfl.layers.conv2d({ filters: 4, kernelSize: 3, padding: 'same', activation: 'relu' }), tfl.layers.flatten(), tfl.layers.dense({ units: 10, activation: 'softmax' })] });
    const sequence = tfl.sequential({ layers: [tfl.layers.dense({ inputShape: [6, 12], units: 16, activation: 'relu' }), tfl.layers.layerNormalization(), tfl.layers.flatten(), tfl.layers.dense({ units: 10, activation: 'softmax' })] });
    const embedding = tfl.sequential({ layers: [tfl.layers.embedding({ inputDim: 50, outputDim: 8, inputLength: 7 }), tfl.layers.flatten(), tfl.layers.dense({ units: 10, activation: 'softmax' })] });
    const ys = tf.oneHot(tf.randomUniform([40], 0, 10, 'int32', 6), 10);
    const inputs = [tf.randomNormal([40, 10, 10, 2], 0, 1, 'float32', 5), tf.randomNormal([40, 6, 12], 0, 1, 'float32', 7), tf.cast(tf.randomUniform([40, 7], 0, 50, 'int32', 3), 'float32')];
    [cnn, sequence, embedding].forEach((model, k) => expectRowsIndependent(model, inputs[k]!, ys, [0, 1, 16, 39], [[0, 40], [1, 40], [0, 17], [0, 2], [16, 18]]));
    tf.dispose([ys, ...inputs]);
  });
});
