// A tfjs layers model read as a chain of steps that privkit runs itself, so that one forward and
// backward pass yields every layer's input activations and output gradients, and from them each
// example's gradient norm without building per-example gradients ("ghost clipping": Goodfellow 2015,
// "Efficient per-example gradient computations"; Li et al. 2022, "Large language models can be
// strong differentially private learners", Sec. 4; Bu et al. 2023, "Differentially private
// optimization on large model at small cost", for convolutions through the unfolded input).
//
// For a layer y = a W (+ b) with input rows a_t and output gradients g_t of one example (t runs over
// the positions: 1 for a dense input, the sequence or the output pixels otherwise), the example's
// gradient is sum_t a_t^T g_t and its squared norm sum_{t,s} <a_t, a_s> <g_t, g_s>: a product of
// two T x T Gram matrices, or, when T^2 exceeds the size of the weight, the norm of the T-term sum
// built directly. Dense, Conv2D (channels last), Embedding and LayerNormalization (last axis) have
// such formulas; any other layer with trainable weights falls back to per-example gradients of that
// layer alone (a vector-Jacobian product per example, from its saved input and output gradient).
//
// The clipped sum is formed in float64 by privkit (per-example.ts, noised-sum.ts: the privacy
// argument) from each example's own gradient as the backend computes it from the saved inputs and
// output gradients, without a second forward pass: a dense layer on rank-2 input by the outer
// products of its rows (never built); a layer over positions (Conv2D through the unfolded input,
// Dense on sequences, LayerNormalization) by its per-example gradients from one batched matMul or
// sum; an Embedding by its rows summed per example; any other layer by per-example vector-Jacobian
// products. The ghost norms below give the clip factors; the sum re-checks each example's norm in
// float64 on the very values it adds.
//
// The norms are computed in the backend's floats, and a Gram-matrix formula squares before it
// cancels: its rounding error is relative to (sum_t |a_t| |g_t|)^2, not to the result, so an example
// whose positions cancel (a_1 ~ a_2 large, g_1 = -g_2) would get a norm of 0 while its gradient is
// large. Each formula therefore returns an upper bound: the computed value plus the worst-case
// rounding error of its sums (Higham, "Accuracy and stability of numerical algorithms", Sec. 3.1:
// a sum of n products in any order is within gamma_n = n u / (1 - n u) of its magnitudes' sum).
import * as tf from '@tensorflow/tfjs-core';
import { PrivkitError } from '../errors.js';
import { describe } from '../validate.js';
import { clippedSum, embeddingRows, materialized, outerProducts, type ClipGroup, type PerExampleGradients } from './per-example.js';

/** A tfjs layer as privkit reads it (tf.layers.Layer satisfies it). */
export interface LayerLike {
  /** The layer's name. */
  readonly name: string;
  /** Its weights that training updates. */
  readonly trainableWeights: ReadonlyArray<{
    /** The weight's tf.Variable. */
    read(): tf.Tensor;
  }>;
  /** Its class name, e.g. 'Dense'. */
  getClassName(): string;
  /** Its configuration. */
  getConfig(): object;
  /** Runs the layer. */
  apply(inputs: tf.Tensor | tf.Tensor[], kwargs?: object): unknown;
}

/** A tfjs layers model as privkit reads it (tf.Sequential and tf.LayersModel satisfy it). */
export interface LayersModelLike {
  /** The model's layers, in order. */
  readonly layers: readonly LayerLike[];
}

/** Layers that are random while training: privkit runs layers without tfjs's training flag, which would silently turn them off. */
const RANDOM_IN_TRAINING = new Set(['Dropout', 'SpatialDropout1D', 'GaussianNoise', 'GaussianDropout', 'AlphaDropout']);

/** One layer of the chain, split at its tap point: the output before the activation (or the output). */
interface Step {
  readonly layer: LayerLike;
  /** The trainable variables of the layer, in its own order. */
  readonly variables: tf.Variable[];
  /** False for a layer whose norms come from per-example gradients. */
  readonly ghost: boolean;
  /** Refuses inputs the layer can not train on (an Embedding's ids), for a whole dataset before training. */
  checkInput?(input: tf.Tensor): void;
  /** The layer's output before its activation: where its output gradient is taken. */
  point(input: tf.Tensor): tf.Tensor;
  /** The activation after the tap point (none when absent). */
  after?(point: tf.Tensor): tf.Tensor;
  /** Each example's squared gradient norm over this layer's variables, [batch], from its input and the gradient at its tap point. */
  squaredNorms?(input: tf.Tensor, gradient: tf.Tensor): tf.Tensor1D;
  /** Each example's gradient of this layer's variables, as privkit sums it in float64 (per-example.ts), from its input and the gradient at its tap point. */
  perExample(input: tf.Tensor, gradient: tf.Tensor): PerExampleGradients;
}

/** A batch's backward pass through the chain: each example's gradient norm, and the clip-weighted gradient sum on demand. */
export interface ExampleGradients {
  /** Each example's gradient norm over all trainable weights, [batch]. */
  norms: tf.Tensor1D;
  /** Each example's gradient norm over each trainable layer's weights: per layer (in order), [batch]. */
  layerNorms: Float32Array[];
  /** The sum of the examples' losses. */
  loss: tf.Scalar;
  /**
   * The clipped sum sum_i e_i over all trainable variables (laid end to end in `variables` order),
   * in float64, with e_i's part over each group's trainable layers (indexes among the trainable
   * layers) of norm <= the group's bound for every example whatever the rounding (per-example.ts):
   * example i's gradient weighted by min(c_i, C_g / its float64 norm); c_i = 0 leaves it out.
   */
  clippedSum(groups: ClipGroup[]): { sum: Float64Array };
  /** Releases the saved inputs and gradients. */
  dispose(): void;
}

function config(layer: LayerLike): Record<string, unknown> {
  return layer.getConfig() as Record<string, unknown>;
}

function layerError(layer: LayerLike, reason: string): PrivkitError {
  return new PrivkitError('E_ARG', `model: layer ${JSON.stringify(layer.name)} (${layer.getClassName()}) ${reason}`, { argument: 'model' });
}

function applyLayer(layer: LayerLike, input: tf.Tensor): tf.Tensor {
  const out = layer.apply(input);
  if (!(out instanceof tf.Tensor)) throw layerError(layer, 'did not return one tensor');
  return out;
}

/** The activation function object of a Dense or Conv2D layer (tfjs keeps it as a field). */
function activationOf(layer: LayerLike): ((x: tf.Tensor) => tf.Tensor) | undefined {
  const activation = (layer as unknown as { activation?: { apply?: (x: tf.Tensor) => tf.Tensor } }).activation;
  if (typeof activation?.apply !== 'function') return undefined;
  return (x) => activation.apply!(x);
}

/** gamma_n for the backend's unit roundoff u, with n doubled to cover the rounding of the bound's own terms. */
function roundingFactor(n: number): number {
  const u = 2 ** -24; // float32: LayerChain refuses other precisions
  const nu = 2 * n * u;
  return nu < 1 ? nu / (1 - nu) : Infinity;
}

/** An upper bound on squared norms computed as sums of n products of pairs whose magnitudes sum to `magnitude` [batch] (Gram formulas): s + gamma_n magnitude^2. */
function gramBound(squared: tf.Tensor1D, magnitude: tf.Tensor1D, n: number): tf.Tensor1D {
  return tf.add(tf.relu(squared), tf.mul(roundingFactor(n), tf.square(magnitude)));
}

/**
 * An upper bound on the squared norms of m-entry sums over T positions, computed by summing the
 * positions' terms (of norms summing to `magnitude` [batch]) and then squaring:
 * (sqrt(s) (1 + gamma_m) + gamma_T magnitude)^2.
 */
function explicitBound(squared: tf.Tensor1D, m: number, magnitude: tf.Tensor1D, t: number): tf.Tensor1D {
  return tf.square(tf.add(tf.mul(tf.sqrt(tf.relu(squared)), 1 + roundingFactor(m)), tf.mul(roundingFactor(t), magnitude))) as tf.Tensor1D;
}

/** Each example's sum over positions of the norms of its rows: [batch, T, f] -> [batch]. */
function rowNormSum(x: tf.Tensor3D): tf.Tensor1D {
  return tf.sum(tf.sqrt(tf.sum(tf.square(x), 2)), 1);
}

/** Rows (positions) of a per-example tensor: [batch, positions, features]. */
function positions(x: tf.Tensor): tf.Tensor3D {
  const batch = x.shape[0]!;
  const features = x.shape[x.rank - 1]!;
  return tf.reshape(x, [batch, -1, features]);
}

/**
 * An upper bound on each example's ||sum_t a_t^T g_t||^2 for activations a [batch, T, p] and
 * gradients g [batch, T, q] (exact but for the rounding bound): by Gram matrices when T^2 <= p q
 * (Li et al. 2022), else by the explicit p x q sum.
 */
function weightSquaredNorms(a: tf.Tensor3D, g: tf.Tensor3D): tf.Tensor1D {
  const [, t, p] = a.shape;
  const q = g.shape[2];
  const magnitude = tf.sum(tf.mul(tf.sqrt(tf.sum(tf.square(a), 2)), tf.sqrt(tf.sum(tf.square(g), 2))), 1) as tf.Tensor1D;
  if (t === 1) return gramBound(tf.mul(tf.sum(tf.square(a), [1, 2]), tf.sum(tf.square(g), [1, 2])), magnitude, p + q + 1);
  if (t * t <= p * q) return gramBound(tf.sum(tf.mul(tf.matMul(a, a, false, true), tf.matMul(g, g, false, true)), [1, 2]), magnitude, p + q + t * t);
  return explicitBound(tf.sum(tf.square(tf.matMul(a, g, true, false)), [1, 2]), p * q, magnitude, t);
}

/** All positions of all examples as rows: [batch x positions, features]. */
function rows(x: tf.Tensor): tf.Tensor2D {
  return tf.reshape(x, [-1, x.shape[x.rank - 1]!]);
}

/** An upper bound on each example's ||sum_t g_t||^2: the bias gradient's squared norm. */
function biasSquaredNorms(g: tf.Tensor3D): tf.Tensor1D {
  return explicitBound(tf.sum(tf.square(tf.sum(g, 1)), 1), g.shape[2], rowNormSum(g), g.shape[1]);
}

function denseStep(layer: LayerLike, variables: tf.Variable[]): Step | undefined {
  const activation = activationOf(layer);
  const [kernel, bias] = variables;
  if (activation === undefined || kernel === undefined || kernel.rank !== 2) return undefined;
  const outputs = kernel.shape[1]!;
  return {
    layer,
    variables,
    ghost: true,
    point(input) {
      const s = input.rank === 2 ? tf.matMul(input as tf.Tensor2D, kernel as tf.Tensor2D) : tf.reshape(tf.matMul(rows(input), kernel as tf.Tensor2D), [...input.shape.slice(0, -1), outputs]);
      return bias === undefined ? s : tf.add(s, bias);
    },
    after: activation,
    squaredNorms(input, gradient) {
      const g = positions(gradient);
      const norms = weightSquaredNorms(positions(input), g);
      return bias === undefined ? norms : tf.add(norms, biasSquaredNorms(g));
    },
    perExample(input, gradient) {
      const n = input.shape[0]!;
      if (input.rank === 2) return outerProducts(input.dataSync() as Float32Array, gradient.dataSync() as Float32Array, n, bias !== undefined);
      return materialized(download(() => positionSums(positions(input), positions(gradient), bias !== undefined)), n);
    },
  };
}

/** The identity filter that turns conv2d into patch extraction: [kh, kw, c, kh kw c]. */
function unfoldFilter(kh: number, kw: number, channels: number): tf.Tensor4D {
  const k = kh * kw * channels;
  return tf.reshape(tf.eye(k), [kh, kw, channels, k]);
}

function conv2dStep(layer: LayerLike, variables: tf.Variable[]): Step | undefined {
  const c = config(layer);
  const activation = activationOf(layer);
  const [kernel, bias] = variables;
  if (activation === undefined || kernel === undefined || kernel.rank !== 4 || c.dataFormat !== 'channelsLast') return undefined;
  if (c.padding !== 'valid' && c.padding !== 'same') return undefined;
  const strides = c.strides as [number, number];
  const dilations = c.dilationRate as [number, number];
  const padding = c.padding;
  const [kh, kw, channels] = kernel.shape as [number, number, number, number];
  let unfold: tf.Tensor4D | undefined;
  return {
    layer,
    variables,
    ghost: true,
    point(input) {
      const s = tf.conv2d(input as tf.Tensor4D, kernel as tf.Tensor4D, strides, padding, 'NHWC', dilations);
      return bias === undefined ? s : tf.add(s, bias);
    },
    after: activation,
    squaredNorms(input, gradient) {
      // Bu et al. 2023: the kernel's per-example gradient is U^T G for the unfolded input U [pixels, kh kw c]
      unfold ??= tf.keep(unfoldFilter(kh, kw, channels));
      const patches = tf.conv2d(input as tf.Tensor4D, unfold, strides, padding, 'NHWC', dilations);
      const g = positions(gradient);
      const norms = weightSquaredNorms(positions(patches), g);
      return bias === undefined ? norms : tf.add(norms, biasSquaredNorms(g));
    },
    perExample(input, gradient) {
      const values = download(() => {
        unfold ??= tf.keep(unfoldFilter(kh, kw, channels));
        return positionSums(positions(tf.conv2d(input as tf.Tensor4D, unfold, strides, padding, 'NHWC', dilations)), positions(gradient), bias !== undefined);
      });
      return materialized(values, input.shape[0]!);
    },
  };
}

function embeddingStep(layer: LayerLike, variables: tf.Variable[]): Step | undefined {
  const [table] = variables;
  if (variables.length !== 1 || table === undefined || table.rank !== 2) return undefined;
  const [vocabulary, dim] = table.shape as [number, number];
  return {
    layer,
    variables,
    ghost: true,
    checkInput: (input) => checkIds(layer, input, vocabulary),
    point(input) {
      checkIds(layer, input, vocabulary);
      return applyLayer(layer, input);
    },
    squaredNorms(input, gradient) {
      // the example's gradient has row v = sum of g_t over the positions t holding token v, so its
      // squared norm is sum_{t,s} [id_t = id_s] <g_t, g_s>
      const ids = tf.reshape(tf.cast(input, 'int32'), [input.shape[0]!, -1]);
      const same = tf.cast(tf.equal(tf.expandDims(ids, 2), tf.expandDims(ids, 1)), 'float32');
      const g = positions(gradient);
      const t = g.shape[1];
      return gramBound(tf.sum(tf.mul(same, tf.matMul(g, g, false, true)), [1, 2]), rowNormSum(g), g.shape[2] + t * t);
    },
    perExample(input, gradient) {
      const [ids] = download(() => [tf.cast(input, 'int32')]);
      return embeddingRows(ids as unknown as Int32Array, gradient.dataSync() as Float32Array, input.shape[0]!, dim);
    },
  };
}

/**
 * Refuses ids that are not integers in [0, vocabulary) (tfjs would cast them and gather a wrong
 * or zero row: training on another token than the data's, silently).
 */
function checkIds(layer: LayerLike, input: tf.Tensor, vocabulary: number): void {
  const ids = input.dataSync();
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i]!;
    if (!(Number.isInteger(id) && id >= 0 && id < vocabulary)) {
      throw new PrivkitError('E_ARG', `xs: layer ${JSON.stringify(layer.name)} (Embedding) takes integer ids in [0, ${vocabulary}), got ${id} at flat index ${i}`, { argument: 'xs', index: i });
    }
  }
}

function layerNormalizationStep(layer: LayerLike, variables: tf.Variable[], rank: number | undefined): Step | undefined {
  const c = config(layer);
  const axis = c.axis as number[] | number;
  const axes = Array.isArray(axis) ? axis : [axis];
  const lastAxis = axes.length === 1 && (axes[0] === -1 || (rank !== undefined && axes[0] === rank - 1));
  if (!lastAxis) return undefined;
  // tfjs 4.22's own LayerNormalization fails without both gamma and beta, so only that form is read
  const [gamma, beta] = variables;
  if (c.center !== true || c.scale !== true || gamma === undefined || beta === undefined || variables.length !== 2) return undefined;
  const epsilon = c.epsilon as number;
  const normalize = (input: tf.Tensor) => {
    const { mean, variance } = tf.moments(input, -1, true);
    return tf.mul(tf.sub(input, mean), tf.rsqrt(tf.add(variance, epsilon)));
  };
  return {
    layer,
    variables,
    ghost: true,
    point: (input) => tf.add(tf.mul(normalize(input), gamma), beta),
    squaredNorms(input, gradient) {
      // gamma's per-example gradient is sum_t g_t * normalized_t, beta's sum_t g_t
      const g = positions(gradient);
      const terms = tf.mul(g, positions(normalize(input))) as tf.Tensor3D;
      return tf.add(explicitBound(tf.sum(tf.square(tf.sum(terms, 1)), 1), g.shape[2], rowNormSum(terms), g.shape[1]), biasSquaredNorms(g));
    },
    perExample(input, gradient) {
      const values = download(() => {
        const g = positions(gradient);
        return [tf.sum(tf.mul(g, positions(normalize(input))), 1), tf.sum(g, 1)];
      });
      return materialized(values, input.shape[0]!);
    },
  };
}

/** Any layer with trainable weights: per-example vector-Jacobian products of that layer alone. */
function perExampleStep(layer: LayerLike, variables: tf.Variable[]): Step {
  return {
    layer,
    variables,
    ghost: false,
    point: (input) => applyLayer(layer, input),
    squaredNorms(input, gradient) {
      const batch = input.shape[0]!;
      const norms: tf.Scalar[] = [];
      for (let i = 0; i < batch; i++) {
        const a = tf.slice(input, i, 1);
        const g = tf.slice(gradient, i, 1);
        const { value, grads } = tf.variableGrads(() => tf.sum(tf.mul(applyLayer(layer, a), g)), variables);
        value.dispose();
        norms.push(tf.addN(Object.values(grads).map((v) => tf.sum(tf.square(v)))) as tf.Scalar);
      }
      return batch === 0 ? tf.zeros([0]) : tf.stack(norms) as tf.Tensor1D;
    },
    perExample(input, gradient) {
      const batch = input.shape[0]!;
      const values = download(() => {
        const each = Array.from({ length: batch }, (_, i) => layerVjp(variables, (x) => applyLayer(layer, x), tf.slice(input, i, 1), tf.slice(gradient, i, 1)));
        return variables.map((_, k) => tf.stack(each.map((grads) => grads[k]!)));
      });
      return materialized(values, batch);
    },
  };
}

/** Each example's gradient of a layer's kernel, sum_t a_t^T g_t ([batch, p, q]), and of its bias, sum_t g_t ([batch, q]), from a [batch, T, p] and g [batch, T, q]: each batch entry from that example's rows alone. */
function positionSums(a: tf.Tensor3D, g: tf.Tensor3D, withBias: boolean): tf.Tensor[] {
  const kernel = tf.matMul(a, g, true, false);
  return withBias ? [kernel, tf.sum(g, 1)] : [kernel];
}

/** The values of the tensors `build` makes (disposed). */
function download(build: () => tf.Tensor[]): Float32Array[] {
  const tensors = tf.tidy(build);
  try {
    return tensors.map((t) => t.dataSync() as Float32Array);
  } finally {
    tf.dispose(tensors);
  }
}

function plainStep(layer: LayerLike): Step {
  return { layer, variables: [], ghost: true, point: (input) => applyLayer(layer, input), perExample: () => materialized([], 0) };
}

/**
 * The float width the backend computes in. The webgl backend's own floatPrecision() answers 16
 * whenever tfjs renders to float32 textures (tfjs 4.22, tensorflow/tfjs#6980), so for it the flag
 * that picks the texture format is read instead.
 */
function backendFloatBits(): number {
  if (tf.getBackend() === 'webgl') return tf.env().getBool('WEBGL_RENDER_FLOAT32_ENABLED') ? 32 : 16;
  return tf.backend().floatPrecision();
}

/** The layers of a model that run as a chain, each with its norm formula. */
export class LayerChain {
  /** The trainable variables of every layer, in order. */
  readonly variables: tf.Variable[];
  /** Names of the layers whose norms come from per-example gradients (no ghost formula). */
  readonly perExampleLayers: string[];
  /** Names of the layers with trainable weights, in order (the layers of ExampleGradients.layerNorms and of clipping groups). */
  readonly trainableLayers: string[];
  readonly #steps: Step[];

  /**
   * Reads `model`'s layers.
   *
   * @throws {PrivkitError} E_ARG when the backend computes in 16-bit floats, the model is not a chain of single-input layers, or a layer is random in training, a BatchNormalization, stateful, regularized or constrained, or shares a trainable weight with another layer.
   */
  constructor(model: unknown) {
    const layers = (model as { layers?: unknown } | null)?.layers;
    if (typeof model !== 'object' || model === null || !Array.isArray(layers)) {
      throw new PrivkitError('E_ARG', `model must be a tf.Sequential or tf.LayersModel, got ${describe(model)}`, { argument: 'model' });
    }
    // In 16-bit floats (WebGL without float32 textures) the norms' rounding bound exceeds 1: every
    // example would be left out and training would silently do nothing.
    const precision = backendFloatBits();
    if (precision !== 32) {
      throw new PrivkitError('E_ARG', `model: the tfjs backend '${tf.getBackend()}' computes in ${precision}-bit floats; DP-SGD needs 32-bit (e.g. WebGL with float32 textures, wasm or cpu)`, {
        argument: 'model',
      });
    }
    this.#steps = [];
    let previous: unknown;
    for (const layer of layers as LayerLike[]) {
      if (typeof layer?.getClassName !== 'function' || typeof layer.apply !== 'function') {
        throw new PrivkitError('E_ARG', `model.layers must hold tfjs layers, got ${describe(layer)}`, { argument: 'model' });
      }
      const className = layer.getClassName();
      if (className === 'InputLayer') {
        previous = layer;
        continue;
      }
      checkChained(layer, previous);
      previous = layer;
      this.#steps.push(stepOf(layer));
    }
    if (this.#steps.length === 0) throw new PrivkitError('E_ARG', 'model has no layers', { argument: 'model' });
    this.variables = this.#steps.flatMap((step) => step.variables);
    if (this.variables.length === 0) throw new PrivkitError('E_ARG', 'model has no trainable weights', { argument: 'model' });
    // a weight shared by two layers (tied weights) gets the sum of both layers' gradients, whose
    // norm the per-layer norms do not bound (||u + v||^2 > ||u||^2 + ||v||^2 when u, v align)
    const owners = new Map<tf.Variable, LayerLike>();
    for (const step of this.#steps) {
      for (const variable of step.variables) {
        const owner = owners.get(variable);
        if (owner !== undefined) throw layerError(step.layer, `shares the weight ${JSON.stringify(variable.name)} with layer ${JSON.stringify(owner.name)}: privkit/tfjs does not train tied weights (their per-layer gradient norms would under-estimate the example's gradient norm)`);
        owners.set(variable, step.layer);
      }
    }
    this.perExampleLayers = this.#steps.filter((step) => step.variables.length > 0 && !step.ghost).map((step) => step.layer.name);
    this.trainableLayers = this.#steps.filter((step) => step.variables.length > 0).map((step) => step.layer.name);
  }

  /**
   * Refuses a dataset that the first layer can not train on (an Embedding's ids not integers in
   * [0, inputDim)) before any step: a record refused mid-training would stop the released steps
   * when it is first sampled, and their number would tell whether it is in the dataset.
   *
   * @throws {PrivkitError} E_ARG naming the layer and the flat index of the first bad id.
   */
  checkInput(input: tf.Tensor): void {
    this.#steps[0]!.checkInput?.(input);
  }

  /** The model's output for `input`. */
  forward(input: tf.Tensor): tf.Tensor {
    return this.#steps.reduce((x, step) => run(step, x), input);
  }

  /**
   * Runs the model on `input` and the backward pass of `lossOf(output)` (a scalar: the sum of the
   * examples' losses) down to the first trainable layer, keeping each trainable layer's input and
   * the gradient at its tap point; from them each example's gradient norm (ghost clipping) and, on
   * demand, the clip-weighted gradient sum. The result's tensors are the caller's to dispose.
   */
  backward(input: tf.Tensor, lossOf: (output: tf.Tensor) => tf.Scalar): ExampleGradients {
    const trainable = this.#steps.filter((step) => step.variables.length > 0);
    const inputs: tf.Tensor[] = [];
    const gradients: (tf.Tensor | undefined)[] = [];
    const anchor = tf.scalar(0);
    const release = () => tf.dispose([...inputs, ...gradients.filter((t): t is tf.Tensor => t !== undefined)]);
    try {
      const { value: loss, grads } = tf.valueAndGrads((zero: tf.Tensor) => {
        let tapped = 0;
        const output = this.#steps.reduce((x, step) => {
          if (step.variables.length === 0) return run(step, x);
          const k = tapped++;
          inputs[k] = tf.keep(tf.clone(x));
          // the anchor (a zero) on the first tap point ends the backward pass there
          const point = k === 0 ? tf.add(step.point(x), zero) : step.point(x);
          const captured = captureGradient(point, (dy) => {
            gradients[k] = tf.keep(tf.clone(dy));
          });
          return step.after === undefined ? captured : step.after(captured);
        }, input);
        return lossOf(output);
      })([anchor]);
      tf.dispose(grads);
      // a layer the loss does not depend on has zero gradients
      const gradientAt = (k: number) => gradients[k] ?? tf.zeros(trainable[k]!.point(inputs[k]!).shape);
      const squared = tf.tidy(() => trainable.map((step, k) => step.squaredNorms!(inputs[k]!, gradientAt(k))));
      const norms = tf.tidy(() => tf.sqrt(tf.addN(squared)) as tf.Tensor1D);
      const layerNorms = squared.map((s) => Float32Array.from(s.dataSync(), Math.sqrt));
      tf.dispose(squared);
      return {
        norms,
        layerNorms,
        loss: loss as tf.Scalar,
        clippedSum: (groups) => {
          const layers = trainable.map((step, k) => {
            const gradient = gradientAt(k);
            try {
              return step.perExample(inputs[k]!, gradient);
            } finally {
              if (gradient !== gradients[k]) gradient.dispose();
            }
          });
          return clippedSum(layers, trainable.map((step) => step.variables.map((v) => v.size)), groups);
        },
        dispose: release,
      };
    } catch (error) {
      release();
      throw error;
    } finally {
      anchor.dispose();
    }
  }
}

function run(step: Step, input: tf.Tensor): tf.Tensor {
  const point = step.point(input);
  return step.after === undefined ? point : step.after(point);
}

/** The gradient of sum(point(input) * cotangent) with respect to a layer's variables: its weight gradient for that output gradient. */
function layerVjp(variables: tf.Variable[], point: (input: tf.Tensor) => tf.Tensor, input: tf.Tensor, cotangent: tf.Tensor): tf.Tensor[] {
  const { value, grads } = tf.variableGrads(() => tf.sum(tf.mul(point(input), cotangent)), variables);
  value.dispose();
  return variables.map((v) => grads[v.name] ?? tf.zerosLike(v));
}

/** The identity on `x` whose backward pass hands the incoming gradient to `onGradient`. */
function captureGradient(x: tf.Tensor, onGradient: (dy: tf.Tensor) => void): tf.Tensor {
  const identity = tf.customGrad(((value: tf.Tensor, save: tf.GradSaveFunc) => {
    save([]);
    return {
      value: tf.clone(value),
      gradFunc: (dy: tf.Tensor | tf.Tensor[]) => {
        const gradient = Array.isArray(dy) ? dy[0]! : dy;
        onGradient(gradient);
        return gradient;
      },
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return identity(x);
}

function checkChained(layer: LayerLike, previous: unknown): void {
  const nodes = (layer as unknown as { inboundNodes?: { inboundLayers?: unknown[] }[] }).inboundNodes;
  if (!Array.isArray(nodes) || nodes.length === 0) return;
  const inbound = nodes[0]!.inboundLayers ?? [];
  // only the first layer may be fed by an input: a later one fed by an input is a branch (a second head or a second input)
  const fromPrevious = inbound.length === 1 && (previous === undefined || inbound[0] === previous);
  if (nodes.length !== 1 || !fromPrevious) throw layerError(layer, 'is not fed by the layer before it: privkit/tfjs trains chains of layers (as tf.Sequential)');
}

/** The layers inside a layer: a nested model's layers, a wrapper's layer (TimeDistributed, Bidirectional). */
function innerLayers(layer: LayerLike): LayerLike[] {
  const fields = layer as unknown as { layers?: unknown; layer?: unknown; forwardLayer?: unknown; backwardLayer?: unknown };
  const inner = [...(Array.isArray(fields.layers) ? fields.layers : []), fields.layer, fields.forwardLayer, fields.backwardLayer];
  return inner.filter((l): l is LayerLike => typeof (l as LayerLike | undefined)?.getClassName === 'function');
}

/** Refuses a layer (or a layer inside it) that DP training can not run as the model would. */
function checkTrainable(layer: LayerLike): void {
  const className = layer.getClassName();
  if (RANDOM_IN_TRAINING.has(className)) {
    throw layerError(layer, 'is random while training, and privkit runs layers in inference mode, which would silently turn it off: remove it');
  }
  if (className === 'BatchNormalization') {
    throw layerError(layer, "normalizes with statistics of the whole batch while training, so one example's gradient depends on the others (as Opacus, refused): use LayerNormalization");
  }
  const c = config(layer);
  if (c.stateful === true) {
    throw layerError(layer, 'is stateful: its state carries the examples of one step into the next and into the released model, without noise: use stateful: false');
  }
  for (const key of ['kernelRegularizer', 'biasRegularizer', 'activityRegularizer', 'embeddingsRegularizer', 'gammaRegularizer', 'betaRegularizer', 'kernelConstraint', 'biasConstraint', 'embeddingsConstraint', 'gammaConstraint', 'betaConstraint']) {
    if (c[key] !== undefined && c[key] !== null) throw layerError(layer, `has a ${key}, which DP training does not apply`);
  }
  innerLayers(layer).forEach(checkTrainable);
}

function stepOf(layer: LayerLike): Step {
  checkTrainable(layer);
  const className = layer.getClassName();
  const variables = layer.trainableWeights.map((w) => w.read());
  if (!variables.every((v): v is tf.Variable => v instanceof tf.Variable)) throw layerError(layer, 'has trainable weights that are not tf.Variable');
  if (variables.length === 0) return plainStep(layer);
  const inputRank = inputRankOf(layer);
  const ghost =
    className === 'Dense'
      ? denseStep(layer, variables)
      : className === 'Conv2D'
        ? conv2dStep(layer, variables)
        : className === 'Embedding'
          ? embeddingStep(layer, variables)
          : className === 'LayerNormalization'
            ? layerNormalizationStep(layer, variables, inputRank)
            : undefined;
  return ghost ?? perExampleStep(layer, variables);
}

/** The rank of a built layer's input, when tfjs knows it. */
function inputRankOf(layer: LayerLike): number | undefined {
  try {
    const shape = (layer as unknown as { inputShape?: unknown }).inputShape;
    return Array.isArray(shape) && !Array.isArray(shape[0]) ? shape.length : undefined;
  } catch {
    return undefined;
  }
}
