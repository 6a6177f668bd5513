// Ghost-clipping norms (upper bounds: exact but for a rounding margin) and clip-weighted sums
// (src/tfjs/layers.ts) against the slow way: each example's gradient by its own backward pass
// through the layers' own forward (model.apply), on random models of every supported layer kind,
// a layer without a ghost formula (per-example fallback) and random shapes.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import * as tfl from '@tensorflow/tfjs-layers';
import fc from 'fast-check';
import { PrivkitError, ready } from 'privkit';
import { beforeAll, describe, expect, it } from 'vitest';
import { LayerChain } from '../../dist/src/tfjs/layers.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
  await ready();
});

/** Sum over examples of squared error against `ys`, per example. */
const perExampleLoss = (ys: tf.Tensor) => (out: tf.Tensor) => tf.sum(tf.reshape(tf.square(tf.sub(out, ys)), [out.shape[0]!, -1]), 1);

/** Each example's gradients (flattened, per variable), one backward pass per example. */
function slowGradients(model: tfl.LayersModel, xs: tf.Tensor, ys: tf.Tensor): Float64Array[][] {
  const variables = model.trainableWeights.map((w) => w.read() as tf.Variable);
  const out: Float64Array[][] = [];
  for (let i = 0; i < xs.shape[0]!; i++) {
    tf.tidy(() => {
      const x = tf.slice(xs, i, 1);
      const y = tf.slice(ys, i, 1);
      const { grads } = tf.variableGrads(() => tf.sum(perExampleLoss(y)(model.apply(x) as tf.Tensor)), variables);
      out.push(variables.map((v) => Float64Array.from(grads[v.name]!.dataSync())));
    });
  }
  return out;
}

/** Ghost norms and the weighted sum for weights `c`, compared with the per-example gradients. */
function compare(model: tfl.LayersModel, xs: tf.Tensor, ys: tf.Tensor, c: Float32Array, relative: number): void {
  const slow = slowGradients(model, xs, ys);
  const chain = new LayerChain(model);
  const pass = chain.backward(xs, (out) => tf.sum(perExampleLoss(ys)(out)));
  // no clipping (an infinite bound): the float64 sum weighted by c alone
  const { sum } = pass.clippedSum([{ layers: pass.layerNorms.map((_, k) => k), factors: Float64Array.from(c), bound: Infinity }]);
  const norms = pass.norms.dataSync();
  slow.forEach((grads, i) => {
    const norm = Math.sqrt(grads.reduce((s, g) => s + g.reduce((t, x) => t + x * x, 0), 0));
    // the ghost norm is an upper bound (the computed norm plus its worst-case rounding error): never
    // below the per-example norm, and above it by no more than that bound. The bound grows with the
    // cancellation in the Gram sums, which depends on the layers' (unseeded) initial weights: 2e-4
    // relative was seen on these shapes, so the utility side allows 1e-3 (privacy is the lower side).
    expect(norms[i]! - norm).toBeGreaterThanOrEqual(-relative * Math.max(norm, 1e-3));
    expect(norms[i]! - norm).toBeLessThanOrEqual(100 * relative * Math.max(norm, 1e-3));
  });
  let offset = 0;
  chain.variables.forEach((v, k) => {
    const got = sum.subarray(offset, (offset += v.size));
    const want = slow[0]![k]!.map((_, j) => slow.reduce((s, grads, i) => s + c[i]! * grads[k]![j]!, 0));
    const scale = Math.max(1e-3, ...want.map(Math.abs));
    want.forEach((w, j) => expect(Math.abs(got[j]! - w)).toBeLessThanOrEqual(relative * scale));
  });
  tf.dispose([pass.norms, pass.loss]);
  pass.dispose();
}

/** Builds a model and random data for it, and compares norms and a weighted sum. */
function check(layers: tfl.layers.Layer[], inputShape: number[], data: 'float' | { ids: number }, batch: number, seed: number): void {
  const model = tfl.sequential({ layers });
  const before = tf.memory().numTensors;
  tf.tidy(() => {
    const xs = typeof data === 'object' ? tf.cast(tf.randomUniform([batch, ...inputShape], 0, data.ids, 'int32', seed), 'float32') : tf.randomNormal([batch, ...inputShape], 0, 1, 'float32', seed);
    const outShape = model.outputs[0]!.shape.slice(1) as number[];
    const ys = tf.randomNormal([batch, ...outShape], 0, 1, 'float32', seed + 1);
    // clip factors are in [0, 1] (0 leaves an example out)
    const c = Float32Array.from({ length: batch }, (_, i) => Math.abs((i * 7919 + seed) % 97) / 97);
    compare(model, xs, ys, c, 1e-5);
  });
  // only the unfold filters (one per Conv2D layer, cached) stay
  expect(tf.memory().numTensors).toBe(before + layers.filter((l) => l.getClassName() === 'Conv2D').length);
  model.dispose();
}

const activation = fc.constantFrom('linear', 'relu', 'tanh', 'sigmoid') as fc.Arbitrary<'linear' | 'relu' | 'tanh' | 'sigmoid'>;

describe('ghost norms equal per-example gradient norms', () => {
  it('Dense stacks (with and without bias, 2-D and sequence inputs)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 9 }), fc.integer({ min: 1, max: 12 }), fc.integer({ min: 1, max: 12 }), fc.integer({ min: 1, max: 5 }), fc.integer({ min: 1, max: 4 }), activation, fc.boolean(), fc.integer(), (batch, din, hidden, dout, time, act, useBias, seed) => {
        const sequence = time > 1;
        const inputShape = sequence ? [time, din] : [din];
        check([tfl.layers.dense({ inputShape, units: hidden, activation: act, useBias }), tfl.layers.dense({ units: dout, useBias: !useBias })], inputShape, 'float', batch, seed);
      }),
      { seed: 14, numRuns: 25 },
    );
  });

  it('Conv2D (valid and same padding, strides, bias) + Dense', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 5 }), fc.integer({ min: 3, max: 7 }), fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 4 }), fc.constantFrom(1, 2, 3), fc.constantFrom('valid', 'same'), fc.constantFrom(1, 2), fc.boolean(), fc.integer(), (batch, size, channels, filters, kernel, padding, stride, useBias, seed) => {
        const inputShape = [size, size, channels];
        check(
          [
            tfl.layers.conv2d({ inputShape, filters, kernelSize: kernel, padding: padding as 'valid' | 'same', strides: stride, useBias, activation: 'relu' }),
            tfl.layers.conv2d({ filters: 2, kernelSize: 1 }),
            tfl.layers.flatten(),
            tfl.layers.dense({ units: 3 }),
          ],
          inputShape,
          'float',
          batch,
          seed,
        );
      }),
      { seed: 15, numRuns: 20 },
    );
  });

  it('Embedding (repeated tokens) + LayerNormalization + Dense', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 6 }), fc.integer({ min: 2, max: 6 }), fc.integer({ min: 1, max: 7 }), fc.integer({ min: 2, max: 8 }), fc.integer(), (batch, vocabulary, length, width, seed) => {
        check(
          [
            tfl.layers.embedding({ inputDim: vocabulary, outputDim: width, inputLength: length, inputShape: [length] }),
            tfl.layers.layerNormalization(),
            tfl.layers.flatten(),
            tfl.layers.dense({ units: 2, activation: 'tanh' }),
          ],
          [length],
          { ids: vocabulary },
          batch,
          seed,
        );
      }),
      { seed: 16, numRuns: 20 },
    );
  });

  it('a layer without a ghost formula (Conv1D) falls back to per-example gradients of that layer', () => {
    const conv = () => tfl.layers.conv1d({ inputShape: [6, 2], filters: 3, kernelSize: 2, activation: 'relu', name: 'conv1d_fallback' });
    const chain = new LayerChain(tfl.sequential({ layers: [conv(), tfl.layers.flatten(), tfl.layers.dense({ units: 2 })] }));
    expect(chain.perExampleLayers).toEqual(['conv1d_fallback']);
    check([conv(), tfl.layers.flatten(), tfl.layers.dense({ units: 2 })], [6, 2], 'float', 5, 7);
  });

  it('norms of a frozen layer are left out', () => {
    const frozen = tfl.layers.dense({ inputShape: [4], units: 3, trainable: false });
    const model = tfl.sequential({ layers: [frozen, tfl.layers.dense({ units: 2 })] });
    expect(new LayerChain(model).variables.length).toBe(2);
    check([tfl.layers.dense({ inputShape: [4], units: 3, trainable: false }), tfl.layers.dense({ units: 2 })], [4], 'float', 4, 3);
  });
});

/** A decoder tied to a Dense layer's kernel (x K^T), listing that kernel as its own trainable weight. */
class TiedTranspose extends tfl.layers.Layer {
  static readonly className = 'TiedTranspose';
  readonly #source: tfl.layers.Layer;
  constructor(source: tfl.layers.Layer) {
    super({});
    this.#source = source;
  }
  override build(): void {
    (this as unknown as { _trainableWeights: unknown[] })._trainableWeights = [this.#source.trainableWeights[0]];
    this.built = true;
  }
  override computeOutputShape(shape: tfl.Shape | tfl.Shape[]): tfl.Shape {
    return [(shape as tfl.Shape)[0]!, this.#source.trainableWeights[0]!.shape[0]!];
  }
  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    const x = Array.isArray(inputs) ? inputs[0]! : inputs;
    return tf.matMul(x as tf.Tensor2D, this.#source.trainableWeights[0]!.read() as tf.Tensor2D, false, true);
  }
}

describe('LayerChain refuses what it cannot train privately', () => {
  const refuses = (layers: tfl.layers.Layer[], pattern: RegExp) => {
    const model = tfl.sequential({ layers });
    try {
      new LayerChain(model);
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(PrivkitError);
      expect((error as PrivkitError).code).toBe('E_ARG');
      expect((error as PrivkitError).message).toMatch(pattern);
    }
  };
  it('a backend that computes in 16-bit floats (WebGL without float32 textures)', () => {
    const backend = tf.backend();
    const own = backend.floatPrecision;
    backend.floatPrecision = () => 16;
    try {
      refuses([tfl.layers.dense({ inputShape: [3], units: 2 })], /16-bit floats/);
    } finally {
      backend.floatPrecision = own;
    }
    expect(() => new LayerChain(tfl.sequential({ layers: [tfl.layers.dense({ inputShape: [3], units: 2 })] }))).not.toThrow();
  });

  it('random layers, regularizers, non-models', () => {
    refuses([tfl.layers.dense({ inputShape: [3], units: 2 }), tfl.layers.dropout({ rate: 0.5 })], /Dropout.*random while training/);
    refuses([tfl.layers.dense({ inputShape: [3], units: 2, kernelRegularizer: tfl.regularizers.l2() })], /kernelRegularizer/);
    refuses([tfl.layers.dense({ inputShape: [3], units: 2 }), tfl.layers.batchNormalization()], /BatchNormalization.*LayerNormalization/);
    expect(() => new LayerChain({})).toThrow(/model must be/);
    expect(() => new LayerChain(tfl.sequential({ layers: [tfl.layers.flatten({ inputShape: [2, 2] })] }))).toThrow(/no trainable weights/);
  });
  it('a functional model whose second layer is a second head on the input (it would be trained as a chain a -> b, which is not the model)', () => {
    const input = tfl.input({ shape: [4] });
    const heads = ['a', 'b'].map((name) => tfl.layers.dense({ units: 4, name }).apply(input) as tfl.SymbolicTensor);
    expect(() => new LayerChain(tfl.model({ inputs: input, outputs: heads }))).toThrow(/"b" \(Dense\) is not fed by the layer before it/);
    const chain = tfl.layers.dense({ units: 4 }).apply(tfl.layers.dense({ units: 4 }).apply(input)) as tfl.SymbolicTensor;
    expect(new LayerChain(tfl.model({ inputs: input, outputs: chain })).variables.length).toBe(4);
  });

  it('stateful layers (attack: the state after a step is computed from the batch without noise, is part of the released model and feeds the next step)', () => {
    const stateful = () => tfl.layers.simpleRNN({ units: 2, stateful: true, recurrentInitializer: 'glorotNormal', batchInputShape: [1, 3, 2] });
    // the state a forward pass leaves behind is a function of the example it saw
    const probe = tfl.sequential({ layers: [stateful()] });
    const states = [tf.ones([1, 3, 2]), tf.zeros([1, 3, 2])].map((x) => {
      probe.resetStates();
      tf.dispose(probe.predict(x) as tf.Tensor);
      return Array.from((probe.layers[0] as unknown as { states: tf.Tensor[] }).states[0]!.dataSync());
    });
    expect(states[0]).not.toEqual(states[1]);
    refuses([stateful(), tfl.layers.dense({ units: 1 })], /stateful/);
    // also inside a wrapper, which privkit runs as one layer
    refuses([tfl.layers.bidirectional({ layer: tfl.layers.simpleRNN({ units: 2, stateful: true, recurrentInitializer: 'glorotNormal' }) as tfl.RNN, batchInputShape: [1, 3, 2] }), tfl.layers.dense({ units: 1 })], /\(SimpleRNN\) is stateful/);
    refuses([tfl.layers.timeDistributed({ layer: tfl.layers.dense({ units: 2, kernelRegularizer: tfl.regularizers.l2() }), inputShape: [3, 2] })], /\(Dense\) has a kernelRegularizer/);
  });

  it('tied weights (attack: a kernel used by two layers has gradient u + v, whose norm exceeds sqrt(||u||^2 + ||v||^2))', () => {
    const encoder = tfl.layers.dense({ inputShape: [3], units: 3, useBias: false });
    refuses([encoder, new TiedTranspose(encoder)], /shares the weight .* with layer/);
  });
});
