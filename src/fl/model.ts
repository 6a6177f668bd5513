// Models for federated learning, each on one flat Float32Array parameter vector: softmax
// regression (multinomial logistic regression, inputs -> classes) and a one-hidden-layer ReLU
// perceptron (inputs -> hidden -> classes), the mean cross-entropy loss, its gradient by
// hand-written backpropagation, and evaluation (the models of McMahan et al. 2017, Sec. 3, in small).
//
// Layout (row-major): softmax regression [W (classes x inputs), b (classes)]; MLP [W1 (hidden x
// inputs), b1 (hidden), W2 (classes x hidden), b2 (classes)]. Samples are rows of a Float32Array
// (rows x inputs) with Uint8Array labels. The passes work sample by sample in float64 on the
// non-zero inputs only (MNIST digits are ~80% zeros) with scratch buffers allocated once per model,
// so the inner loops allocate nothing. A model object is plain code plus its `spec` (plain data),
// which is what crosses to pool workers.
import { nonFiniteError, PrivkitError } from '../errors.js';
import { createRng } from '../dp/rng.js';
import { assertFloat32Array, assertInteger, describe, readOptions } from '../validate.js';
import { assertBytes } from '../validate-arrays.js';
import { checkTypedArray } from '../wasm/boundary.js';

/** A model's architecture as plain data (what crosses to pool workers): every size given. */
export type ModelSpec =
  | {
      /** Softmax regression: p = softmax(W x + b). */
      type: 'softmax-regression';
      /** Features per sample. */
      inputs: number;
      /** Classes (2 to 256). */
      classes: number;
    }
  | {
      /** One hidden ReLU layer: p = softmax(W2 relu(W1 x + b1) + b2). */
      type: 'mlp';
      /** Features per sample. */
      inputs: number;
      /** Hidden units. */
      hidden: number;
      /** Classes (2 to 256). */
      classes: number;
    }
  | {
      /**
       * A model of another family (a subclass of Model written elsewhere, such as privkit/tfjs's
       * flModel). It trains in pool workers only when it carries `rebuild` and the pool's workers
       * register a factory for its `name` (./model-factories.ts; privkit/tfjs/worker registers
       * 'tfjs'); otherwise on the caller's thread only.
       */
      type: 'custom';
      /** What the model is, for messages, and the factory that rebuilds it in a worker (e.g. 'tfjs'). */
      name: string;
      /** Features per sample. */
      inputs: number;
      /** Classes (2 to 256). */
      classes: number;
      /** Plain (structured-cloneable) data from which the factory of `name` rebuilds the model in a pool worker. */
      rebuild?: unknown;
    };

/** What createModel takes: a ModelSpec whose sizes default to MNIST (784 inputs, 10 classes, 64 hidden units). */
export type ModelSpecInput =
  | {
      /** Softmax regression. */
      type: 'softmax-regression';
      /** Features per sample (default 784). */
      inputs?: number;
      /** Classes (default 10). */
      classes?: number;
    }
  | {
      /** One hidden ReLU layer. */
      type: 'mlp';
      /** Features per sample (default 784). */
      inputs?: number;
      /** Hidden units (default 64). */
      hidden?: number;
      /** Classes (default 10). */
      classes?: number;
    };

/** A model's quality on a data set. */
export interface Evaluation {
  /** Fraction of samples whose highest-scoring class is their label. */
  accuracy: number;
  /** Mean cross-entropy (natural log). */
  loss: number;
}

/** The result of {@link Model.lossAndGradient}. */
export interface LossAndGradient {
  /** Mean cross-entropy over the samples. */
  loss: number;
  /** Gradient of the mean loss with respect to the parameters. */
  gradient: Float32Array;
}

/** Totals over a range of samples: summed loss and the count of correct predictions. */
export interface BatchTotals {
  /** Summed cross-entropy (natural log) over the samples. */
  loss: number;
  /** How many samples the model classified correctly. */
  correct: number;
}

/** Largest layer width, and largest parameter count (2^27 floats, 512 MiB), accepted. */
const MAX_WIDTH = 1 << 16;
const MAX_PARAMS = 1 << 27;

/**
 * A model on one flat Float32Array parameter vector (softmax regression or a one-hidden-layer MLP),
 * made by {@link createModel}. Samples are rows of a Float32Array (rows x inputs) with Uint8Array
 * labels; the loss is the mean cross-entropy.
 */
export abstract class Model {
  /** The normalized spec: plain data that recreates this model with createModel. */
  abstract readonly spec: ModelSpec;
  /** Length of the parameter vector. */
  abstract readonly paramCount: number;

  /**
   * Scratch: indices of the gathered non-zero inputs.
   *
   * @internal
   */
  protected readonly nonZeroIndex: Int32Array;
  /**
   * Scratch: values of the gathered non-zero inputs.
   *
   * @internal
   */
  protected readonly nonZeroValue: Float64Array;
  /**
   * Scratch: one sample's logits.
   *
   * @internal
   */
  protected readonly logits: Float64Array;

  protected constructor(
    /** Features per sample. */
    readonly inputs: number,
    /** Number of classes. */
    readonly classes: number,
  ) {
    this.nonZeroIndex = new Int32Array(inputs);
    this.nonZeroValue = new Float64Array(inputs);
    this.logits = new Float64Array(classes);
  }

  /**
   * Initial parameters (zeros for softmax regression; Glorot-uniform weights for the MLP, drawn from `seed` or the CSPRNG).
   *
   * @param opts - `seed`: a 32-byte key for reproducible weights (MLP only).
   * @throws {PrivkitError} E_ARG when seed is not a Uint8Array of 32 bytes; E_NOT_READY before `await ready()` (MLP only).
   */
  abstract initParams(opts?: { seed?: Uint8Array }): Float32Array;

  /**
   * The kernel under evaluate, lossAndGradient and localUpdate: for the samples order[start..end)
   * (or start..end when `order` is null), adds the gradient of their summed loss into `gradient`
   * (when given) and returns their summed loss and correct count. Implementations call checkBatch
   * first (types, lengths, the batch's sample indices and labels: O(batch)); the values of params
   * and images are not scanned (the checked methods do that).
   */
  abstract accumulate(
    params: Float32Array,
    images: Float32Array,
    labels: Uint8Array,
    order: Uint32Array | null,
    start: number,
    end: number,
    gradient: Float64Array | null,
  ): BatchTotals;

  /**
   * Mean cross-entropy over the samples and its gradient.
   *
   * @throws {PrivkitError} E_ARG, E_SHAPE, E_NONFINITE when params or the samples do not fit the model (see {@link Model.checkParams}, {@link Model.checkData}).
   */
  lossAndGradient(params: Float32Array, images: Float32Array, labels: Uint8Array): LossAndGradient {
    this.checkParams(params);
    const n = this.checkData(images, labels);
    const sum = new Float64Array(this.paramCount);
    const { loss } = this.accumulate(params, images, labels, null, 0, n, sum);
    const gradient = new Float32Array(this.paramCount);
    for (let j = 0; j < sum.length; j++) gradient[j] = sum[j]! / n;
    return { loss: loss / n, gradient };
  }

  /**
   * Accuracy and mean cross-entropy on the samples.
   *
   * @throws {PrivkitError} E_ARG, E_SHAPE, E_NONFINITE when params or the samples do not fit the model.
   */
  evaluate(params: Float32Array, images: Float32Array, labels: Uint8Array): Evaluation {
    this.checkParams(params);
    const n = this.checkData(images, labels);
    const { loss, correct } = this.accumulate(params, images, labels, null, 0, n, null);
    return { accuracy: correct / n, loss: loss / n };
  }

  /** The seed of initParams' options (checked: undefined or 32 bytes; null options as none). */
  protected initSeed(opts: unknown): Uint8Array | undefined {
    const { seed } = readOptions(opts as { seed?: Uint8Array } | undefined, ['seed']);
    return seed === undefined ? undefined : assertBytes('opts.seed', seed, 32);
  }

  /** The checks of accumulate's arguments (see accumulate). */
  protected checkBatch(
    params: unknown,
    images: unknown,
    labels: unknown,
    order: unknown,
    start: unknown,
    end: unknown,
    gradient: unknown,
  ): void {
    assertFloat32Array('params', params);
    if (params.length !== this.paramCount) throw new PrivkitError('E_SHAPE', `params.length must be ${this.paramCount}, got ${params.length}`, { argument: 'params' });
    const y = checkTypedArray('labels', labels, ['Uint8Array']);
    assertFloat32Array('images', images);
    if (images.length !== y.length * this.inputs) {
      throw new PrivkitError('E_SHAPE', `images.length must be labels.length x ${this.inputs}, got ${images.length}`, { argument: 'images' });
    }
    const indices = order === null ? undefined : checkTypedArray('order', order, ['Uint32Array']);
    const last = assertInteger('end', end, 0, indices === undefined ? y.length : indices.length);
    const first = assertInteger('start', start, 0, last);
    for (let s = first; s < last; s++) {
      const n = indices === undefined ? s : indices[s]!;
      if (n >= y.length) throw new PrivkitError('E_ARG', `order[${s}] = ${n} is not a sample index (< ${y.length})`, { argument: 'order', index: s });
      if (y[n]! >= this.classes) throw new PrivkitError('E_ARG', `labels[${n}] is ${y[n]}; labels must be < ${this.classes}`, { argument: 'labels', index: n });
    }
    if (gradient !== null) {
      const g = checkTypedArray('gradient', gradient, ['Float64Array']);
      if (g.length !== this.paramCount) throw new PrivkitError('E_SHAPE', `gradient.length must be ${this.paramCount}, got ${g.length}`, { argument: 'gradient' });
    }
  }

  /**
   * Checks a parameter vector: a Float32Array of paramCount finite values.
   *
   * @throws {PrivkitError} E_ARG when params is not an attached Float32Array; E_SHAPE when its length is not paramCount; E_NONFINITE at its first NaN or +-Infinity.
   */
  checkParams(params: unknown, name = 'params'): asserts params is Float32Array {
    assertFloat32Array(name, params);
    if (params.length !== this.paramCount) {
      throw new PrivkitError('E_SHAPE', `${name}.length must be ${this.paramCount} for this model, got ${params.length}`, { argument: name });
    }
    assertFinite(name, params);
  }

  /**
   * Checks samples: images a Float32Array of labels.length x inputs finite values, labels a
   * Uint8Array of at least one class index below `classes`. Returns the sample count. `name`
   * prefixes the argument names in errors (e.g. `clients[3].`).
   *
   * @throws {PrivkitError} E_ARG when labels is not a Uint8Array, a label is not below `classes`, or images is not an attached Float32Array.
   * @throws {PrivkitError} E_SHAPE when there are no samples or images.length is not labels.length x inputs.
   * @throws {PrivkitError} E_NONFINITE when images holds NaN or +-Infinity.
   */
  checkData(images: unknown, givenLabels: unknown, name = ''): number {
    const labels = checkTypedArray(`${name}labels`, givenLabels, ['Uint8Array']);
    assertFloat32Array(`${name}images`, images);
    const n = labels.length;
    if (n === 0) throw new PrivkitError('E_SHAPE', `${name}labels must hold at least one sample`, { argument: `${name}labels` });
    if (images.length !== n * this.inputs) {
      throw new PrivkitError(
        'E_SHAPE',
        `${name}images.length must be labels.length x ${this.inputs} = ${n * this.inputs}, got ${images.length}`,
        { argument: `${name}images` },
      );
    }
    for (let i = 0; i < n; i++) {
      if (labels[i]! >= this.classes) {
        throw new PrivkitError('E_ARG', `${name}labels[${i}] is ${labels[i]}; labels must be < ${this.classes}`, {
          argument: `${name}labels`,
          index: i,
        });
      }
    }
    assertFinite(`${name}images`, images);
    return n;
  }

  /**
   * Gathers the non-zero inputs of sample n into the scratch buffers; returns their count.
   *
   * @internal
   */
  protected gather(images: Float32Array, n: number): number {
    const d = this.inputs;
    const offset = n * d;
    const index = this.nonZeroIndex;
    const value = this.nonZeroValue;
    let count = 0;
    for (let i = 0; i < d; i++) {
      const v = images[offset + i]!;
      if (v !== 0) {
        index[count] = i;
        value[count] = v;
        count++;
      }
    }
    return count;
  }

  /**
   * bias + the dot product of the gathered sample (nnz values) with the weight row at `row` of params.
   *
   * @internal
   */
  protected sparseDot(params: Float32Array, row: number, bias: number, nnz: number): number {
    const index = this.nonZeroIndex;
    const value = this.nonZeroValue;
    let a = bias;
    for (let t = 0; t < nnz; t++) a += params[row + index[t]!]! * value[t]!;
    return a;
  }

  /**
   * gradient[row + i] += g x (gathered sample)_i over the nnz gathered values.
   *
   * @internal
   */
  protected sparseAxpy(gradient: Float64Array, row: number, g: number, nnz: number): void {
    const index = this.nonZeroIndex;
    const value = this.nonZeroValue;
    for (let t = 0; t < nnz; t++) gradient[row + index[t]!] += g * value[t]!;
  }

  /**
   * Turns this.logits into softmax probabilities in place; adds the sample's cross-entropy
   * -log p(label) (as log-sum-exp, stable) and whether the label is the arg-max (first maximum) to `totals`.
   *
   * @internal
   */
  protected softmax(label: number, totals: BatchTotals): void {
    const z = this.logits;
    const k = this.classes;
    let best = 0;
    for (let c = 1; c < k; c++) if (z[c]! > z[best]!) best = c;
    const max = z[best]!;
    const margin = z[label]! - max;
    let total = 0;
    for (let c = 0; c < k; c++) {
      const e = Math.exp(z[c]! - max);
      z[c] = e;
      total += e;
    }
    totals.loss += Math.log(total) - margin;
    if (best === label) totals.correct++;
    for (let c = 0; c < k; c++) z[c] = z[c]! / total;
  }
}

/** Multinomial logistic regression: p = softmax(W x + b). */
class SoftmaxRegression extends Model {
  readonly spec: ModelSpec;
  readonly paramCount: number;

  constructor(inputs: number, classes: number) {
    super(inputs, classes);
    this.spec = { type: 'softmax-regression', inputs, classes };
    this.paramCount = classes * inputs + classes;
  }

  initParams(opts?: { seed?: Uint8Array }): Float32Array {
    this.initSeed(opts);
    return new Float32Array(this.paramCount);
  }

  accumulate(
    params: Float32Array,
    images: Float32Array,
    labels: Uint8Array,
    order: Uint32Array | null,
    start: number,
    end: number,
    gradient: Float64Array | null,
  ): BatchTotals {
    this.checkBatch(params, images, labels, order, start, end, gradient);
    const d = this.inputs;
    const k = this.classes;
    const bias = k * d;
    const z = this.logits;
    const totals: BatchTotals = { loss: 0, correct: 0 };
    for (let s = start; s < end; s++) {
      const n = order === null ? s : order[s]!;
      const nnz = this.gather(images, n);
      for (let c = 0; c < k; c++) z[c] = this.sparseDot(params, c * d, params[bias + c]!, nnz);
      const label = labels[n]!;
      this.softmax(label, totals);
      if (gradient === null) continue;
      for (let c = 0; c < k; c++) {
        const g = c === label ? z[c]! - 1 : z[c]!;
        gradient[bias + c] += g;
        this.sparseAxpy(gradient, c * d, g, nnz);
      }
    }
    return totals;
  }
}

/** One hidden ReLU layer: p = softmax(W2 relu(W1 x + b1) + b2). */
class Mlp extends Model {
  readonly spec: ModelSpec;
  readonly paramCount: number;
  private readonly hidden: number;
  private readonly activation: Float64Array;
  private readonly hiddenGradient: Float64Array;

  constructor(inputs: number, hidden: number, classes: number) {
    super(inputs, classes);
    this.spec = { type: 'mlp', inputs, hidden, classes };
    this.hidden = hidden;
    this.paramCount = hidden * inputs + hidden + classes * hidden + classes;
    this.activation = new Float64Array(hidden);
    this.hiddenGradient = new Float64Array(hidden);
  }

  /** Glorot-uniform weights (Glorot and Bengio 2010), zero biases. */
  initParams(opts?: { seed?: Uint8Array }): Float32Array {
    const { inputs: d, hidden: h, classes: k } = this;
    const seed = this.initSeed(opts);
    const rng = createRng(seed === undefined ? {} : { seed });
    const params = new Float32Array(this.paramCount);
    const fill = (offset: number, count: number, fanIn: number, fanOut: number): void => {
      const limit = Math.sqrt(6 / (fanIn + fanOut));
      const u = rng.uniform(count);
      for (let j = 0; j < count; j++) params[offset + j] = (2 * u[j]! - 1) * limit;
    };
    fill(0, h * d, d, h);
    fill(h * d + h, k * h, h, k);
    return params;
  }

  accumulate(
    params: Float32Array,
    images: Float32Array,
    labels: Uint8Array,
    order: Uint32Array | null,
    start: number,
    end: number,
    gradient: Float64Array | null,
  ): BatchTotals {
    this.checkBatch(params, images, labels, order, start, end, gradient);
    const { inputs: d, hidden: h, classes: k } = this;
    const b1 = h * d;
    const w2 = b1 + h;
    const b2 = w2 + k * h;
    const z = this.logits;
    const a = this.activation;
    const da = this.hiddenGradient;
    const totals: BatchTotals = { loss: 0, correct: 0 };
    for (let s = start; s < end; s++) {
      const n = order === null ? s : order[s]!;
      const nnz = this.gather(images, n);
      for (let u = 0; u < h; u++) {
        const pre = this.sparseDot(params, u * d, params[b1 + u]!, nnz);
        a[u] = pre > 0 ? pre : 0;
      }
      for (let c = 0; c < k; c++) {
        const row = w2 + c * h;
        let out = params[b2 + c]!;
        for (let u = 0; u < h; u++) out += params[row + u]! * a[u]!;
        z[c] = out;
      }
      const label = labels[n]!;
      this.softmax(label, totals);
      if (gradient === null) continue;
      da.fill(0);
      for (let c = 0; c < k; c++) {
        const g = c === label ? z[c]! - 1 : z[c]!;
        const row = w2 + c * h;
        gradient[b2 + c] += g;
        for (let u = 0; u < h; u++) {
          gradient[row + u] += g * a[u]!;
          da[u] += g * params[row + u]!;
        }
      }
      for (let u = 0; u < h; u++) {
        if (!(a[u]! > 0)) continue;
        gradient[b1 + u] += da[u]!;
        this.sparseAxpy(gradient, u * d, da[u]!, nnz);
      }
    }
    return totals;
  }
}

/**
 * A model from its spec: `{ type: 'softmax-regression' }` or `{ type: 'mlp', hidden? }`, sizes defaulting to MNIST's.
 *
 * @throws {PrivkitError} E_ARG when spec is not an object, its type is unknown, a size is not an integer in [1, 65536], classes is not in [2, 256], or the model would have more than 2^27 parameters.
 */
export function createModel(given: ModelSpecInput): Model {
  const spec = readOptions(given as { type?: unknown; inputs?: number; classes?: number; hidden?: number } | undefined, ['type', 'inputs', 'classes', 'hidden'], 'spec');
  const inputs = width('spec.inputs', spec.inputs === undefined ? 784 : spec.inputs);
  const classes = width('spec.classes', spec.classes === undefined ? 10 : spec.classes);
  if (classes < 2) throw new PrivkitError('E_ARG', `spec.classes must be >= 2, got ${classes}`, { argument: 'spec.classes' });
  if (classes > 256) throw new PrivkitError('E_ARG', `spec.classes must be <= 256 (labels are bytes), got ${classes}`, { argument: 'spec.classes' });
  const model =
    spec.type === 'softmax-regression'
      ? new SoftmaxRegression(inputs, classes)
      : spec.type === 'mlp'
        ? new Mlp(inputs, width('spec.hidden', spec.hidden === undefined ? 64 : spec.hidden), classes)
        : undefined;
  if (model === undefined) {
    throw new PrivkitError('E_ARG', `spec.type must be 'softmax-regression' or 'mlp', got ${describe(spec.type)}`, {
      argument: 'spec.type',
    });
  }
  if (model.paramCount > MAX_PARAMS) {
    throw new PrivkitError('E_ARG', `spec gives ${model.paramCount} parameters; at most ${MAX_PARAMS} are supported`, { argument: 'spec' });
  }
  return model;
}

function width(name: string, value: unknown): number {
  const n = assertInteger(name, value, 1);
  if (n > MAX_WIDTH) throw new PrivkitError('E_ARG', `${name} must be <= ${MAX_WIDTH}, got ${n}`, { argument: name });
  return n;
}

/** Throws E_NONFINITE at the first NaN or infinity of x. */
export function assertFinite(name: string, x: Float32Array): void {
  for (let i = 0; i < x.length; i++) if (!Number.isFinite(x[i]!)) throw nonFiniteError(name, i, x[i]!);
}
