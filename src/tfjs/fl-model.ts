// A tfjs layers model as a privkit/fl Model, so that FedAvg (central DP or secure aggregation)
// trains it like the built-in models: its trainable weights are read and written as one flat
// Float32Array (layer by layer, each weight in its row-major order), and a batch's summed
// cross-entropy and its gradient come from tfjs. Samples are FedAvg's: rows of a Float32Array and
// Uint8Array class labels; the model must end in a softmax over `classes`. Its spec carries the
// model's topology (model.toJSON) and the backend, from which a pool worker started from
// privkit/tfjs/worker (./worker.ts) rebuilds it, so clients also train in a pool.
import * as tf from '@tensorflow/tfjs-core';
import { PrivkitError } from '../errors.js';
import { Model, type BatchTotals, type ModelSpec } from '../fl/model.js';
import { assertInteger, readOptions } from '../validate.js';
import { LayerChain, type LayersModelLike } from './layers.js';

/** Options of {@link flModel}. */
export interface FlModelOptions {
  /** Features per sample: the length of one row of FedAvg's images. */
  inputs: number;
  /** Classes (2 to 256): the width of the model's softmax output. */
  classes: number;
  /** The shape one sample is given to the model in ([inputs] by default; e.g. [28, 28, 1]). */
  inputShape?: number[];
}

const MAX_WIDTH = 1 << 16;

/** What a pool worker rebuilds a tfjs model from (the spec's `rebuild`): its topology, the sample shape and the backend. */
export interface TfjsRebuild {
  /** The model's topology as plain data (model.toJSON(null, false)). */
  topology: object;
  /** The shape one sample is given to the model in. */
  inputShape: number[];
  /** The tfjs backend the caller trains on (the worker must have it registered). */
  backend: string;
}

/** The rebuild data of a tfjs layers model (one that serializes its topology), else undefined. */
function rebuildOf(model: LayersModelLike, inputShape: number[]): TfjsRebuild | undefined {
  const toJSON = (model as { toJSON?: unknown }).toJSON;
  if (typeof toJSON !== 'function') return undefined;
  const topology: unknown = toJSON.call(model, null, false);
  return typeof topology === 'object' && topology !== null ? { topology, inputShape: inputShape.slice(), backend: tf.getBackend() } : undefined;
}

class TfjsModel extends Model {
  readonly spec: ModelSpec;
  readonly paramCount: number;
  readonly #chain: LayerChain;
  readonly #inputShape: number[];

  constructor(chain: LayerChain, inputs: number, classes: number, inputShape: number[], rebuild: TfjsRebuild | undefined) {
    super(inputs, classes);
    this.#chain = chain;
    this.#inputShape = inputShape;
    this.paramCount = chain.variables.reduce((n, v) => n + v.size, 0);
    this.spec = { type: 'custom', name: 'tfjs', inputs, classes, ...(rebuild === undefined ? {} : { rebuild }) };
  }

  /** The tfjs model's current weights, flattened (the seed is checked but unused: tfjs draws its own initial weights). */
  initParams(opts?: { seed?: Uint8Array }): Float32Array {
    this.initSeed(opts);
    const params = new Float32Array(this.paramCount);
    let offset = 0;
    for (const v of this.#chain.variables) {
      params.set(v.dataSync() as Float32Array, offset);
      offset += v.size;
    }
    return params;
  }

  accumulate(params: Float32Array, images: Float32Array, labels: Uint8Array, order: Uint32Array | null, start: number, end: number, gradient: Float64Array | null): BatchTotals {
    this.checkBatch(params, images, labels, order, start, end, gradient);
    const count = end - start;
    if (count === 0) return { loss: 0, correct: 0 };
    const rows = new Float32Array(count * this.inputs);
    const batchLabels = new Int32Array(count);
    for (let s = 0; s < count; s++) {
      const n = order === null ? start + s : order[start + s]!;
      rows.set(images.subarray(n * this.inputs, (n + 1) * this.inputs), s * this.inputs);
      batchLabels[s] = labels[n]!;
    }
    this.#load(params);
    return tf.tidy(() => {
      const xs = tf.tensor(rows, [count, ...this.#inputShape]);
      const ys = tf.oneHot(tf.tensor1d(batchLabels, 'int32'), this.classes);
      let correct = 0;
      const lossOf = () => {
        const p = this.#chain.forward(xs);
        if (p.rank !== 2 || p.shape[1] !== this.classes) {
          throw new PrivkitError('E_SHAPE', `model must output [batch, ${this.classes}] class probabilities, got [${p.shape.join(', ')}]`, { argument: 'model' });
        }
        correct = tf.sum(tf.cast(tf.equal(tf.argMax(p, 1), tf.argMax(ys, 1)), 'int32')).dataSync()[0]!;
        return tf.neg(tf.sum(tf.mul(ys, tf.log(tf.clipByValue(p, 1e-7, 1))))) as tf.Scalar;
      };
      if (gradient === null) return { loss: lossOf().dataSync()[0]!, correct };
      const { value, grads } = tf.variableGrads(lossOf, this.#chain.variables);
      let offset = 0;
      for (const v of this.#chain.variables) {
        const g = grads[v.name]!.dataSync();
        for (let j = 0; j < g.length; j++) gradient[offset + j]! += g[j]!;
        offset += v.size;
      }
      return { loss: value.dataSync()[0]!, correct };
    });
  }

  /** Writes the flat parameters into the tfjs variables. */
  #load(params: Float32Array): void {
    let offset = 0;
    for (const v of this.#chain.variables) {
      tf.tidy(() => v.assign(tf.tensor(params.subarray(offset, offset + v.size), v.shape, 'float32')));
      offset += v.size;
    }
  }
}

/**
 * A privkit/fl `Model` backed by a tfjs layers model (a chain of layers ending in a softmax), for
 * `FedAvg` / `runFedAvg` with central DP or secure aggregation. Parameters are the model's
 * trainable weights flattened layer by layer. Local training runs tfjs on the caller's thread, or in
 * a pool whose workers start from a script that imports a tfjs backend and then
 * 'privkit/tfjs/worker' (`createPool({ workerUrl })`): each worker rebuilds the model from its
 * topology (layers tfjs can deserialize) on the backend active when flModel was called.
 * `initParams()` returns the model's current weights.
 *
 * @param model - the tfjs model (its weights are overwritten while it trains).
 * @param opts - the sample width and class count, and the shape a sample is given to the model in.
 * @throws {PrivkitError} E_ARG when the model is not a chain of tfjs layers with trainable weights, inputs is not an integer in [1, 65536], classes not in [2, 256], or inputShape does not hold `inputs` values.
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs-core';
 * import '@tensorflow/tfjs-backend-cpu';
 * import * as tfl from '@tensorflow/tfjs-layers';
 * import { ready } from 'privkit';
 * import { runFedAvg, splitClients } from 'privkit/fl';
 * import { flModel } from 'privkit/tfjs';
 * await ready();
 * const net = tfl.sequential({ layers: [tfl.layers.dense({ inputShape: [4], units: 2, activation: 'softmax' })] });
 * const images = Float32Array.from({ length: 400 }, (_, i) => ((i * 7) % 5) / 5);
 * const labels = Uint8Array.from({ length: 100 }, (_, i) => (images[4 * i]! > 0.5 ? 1 : 0));
 * const result = await runFedAvg({ model: flModel(net, { inputs: 4, classes: 2 }), clients: splitClients(10, { images, labels }),
 *   rounds: 3, clientsPerRound: 5, local: { epochs: 1, batchSize: 5, learningRate: 0.5 }, clipNorm: 1, noiseMultiplier: 1 });
 * console.log(result.epsilon);
 * ```
 */
export function flModel(model: LayersModelLike, opts: FlModelOptions): Model {
  const given = readOptions(opts, ['inputs', 'classes', 'inputShape']);
  const inputs = assertInteger('inputs', given.inputs, 1, MAX_WIDTH);
  const classes = assertInteger('classes', given.classes, 2, 256);
  const inputShape = given.inputShape === undefined ? [inputs] : given.inputShape;
  if (!Array.isArray(inputShape) || inputShape.length === 0 || inputShape.some((d) => !Number.isSafeInteger(d) || d < 1) || inputShape.reduce((a, b) => a * b, 1) !== inputs) {
    throw new PrivkitError('E_ARG', `inputShape must be positive integers whose product is inputs (${inputs})`, { argument: 'inputShape' });
  }
  return new TfjsModel(new LayerChain(model), inputs, classes, inputShape.slice(), rebuildOf(model, inputShape));
}
