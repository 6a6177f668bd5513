// makePrivate: DP-SGD for a tfjs layers model, as Opacus' make_private. Each step draws a Poisson
// batch, computes every example's gradient norm by ghost clipping (layers.ts), per layer or over
// all layers (flat or per-layer clipping: Opacus' clipping modes), forms the clipped sum in float64
// from each example's own gradient (per-example.ts), adds lattice Gaussian noise from privkit's
// CSPRNG calibrated to the total bound (noised-sum.ts: the privacy argument), divides by the
// expected batch size, applies the model's optimizer and charges the accountant one
// subsampled-Gaussian step (Poisson sampling, add/remove neighbours).
import * as tf from '@tensorflow/tfjs-core';
import { calibrateNoiseMultiplier } from '../accounting/calibrate.js';
import { epsilonWithTail } from '../accounting/conversion.js';
import { tailDelta } from '../dp/sampler-error.js';
import { gaussianLatticeFor } from '../dp/secure.js';
import { PldAccountant } from '../accounting/pld-accountant.js';
import { RdpAccountant } from '../accounting/rdp-accountant.js';
import type { Accountant } from '../accounting/budget.js';
import { generatorOf } from '../dp/noise.js';
import { MAX_RNG_LENGTH, type Rng } from '../dp/rng.js';
import { PrivkitError } from '../errors.js';
import { ready } from '../wasm/runtime.js';
import { assertFunction, assertInteger, assertNumber, assertOneOf, describe, readOptions } from '../validate.js';
import { LayerChain, type LayersModelLike } from './layers.js';
import { resolveLoss, type LossName, type PerExampleLoss } from './losses.js';
import { noisedClippedMean, planRelease, totalBound, type NormGroup, type Release } from './noised-sum.js';
import type { ClipGroup } from './per-example.js';
import { isBatchTensor, poissonStepEvent } from './options.js';
import { assertSampleRate, poissonSample } from './sampling.js';

/** Options of {@link makePrivate}: the noise (or the epsilon to calibrate it for), the clip norm and the sampling. */
export interface MakePrivateOptions {
  /** z > 0: the noise standard deviation over the clip norm. Give this or `targetEpsilon`. */
  noiseMultiplier?: number;
  /** The epsilon (at `delta`) that `epochs` epochs must not exceed; the noise multiplier is calibrated for it. */
  targetEpsilon?: number;
  /** delta in (0, 1): required with targetEpsilon, and the default of `epsilon()`. */
  delta?: number;
  /**
   * C > 0: each example's gradient is clipped to L2 norm <= C (flat clipping over all trainable
   * weights). With `clipping: 'per-layer'`, each trainable layer's part is clipped to C / sqrt(L)
   * (L trainable layers), or to its own threshold C_l when an array of L thresholds is given (the
   * total bound is then sqrt(sum_l C_l^2)).
   */
  maxGradNorm: number | number[];
  /** 'flat' (default): one clip over all weights; 'per-layer': each trainable layer's gradient clipped to its own threshold (Opacus' per-layer clipping, by layer), the noise calibrated to the total bound. */
  clipping?: 'flat' | 'per-layer';
  /** q in (0, 1]: each record's Poisson inclusion probability. Give this or `expectedBatchSize`. */
  sampleRate?: number;
  /** q N: the expected batch size (q = expectedBatchSize / datasetSize). */
  expectedBatchSize?: number;
  /**
   * N (required): the number of training records, public (a bound on them, fixed before seeing the
   * data). The sampling rate, the denominator q N, the steps per epoch and a calibrated noise
   * multiplier come from it, and `fit` and `step` accept at most N records, so the epsilon covers
   * adding or removing any record of a dataset of up to N. It is never taken from the data: every
   * update is a lattice point divided by q N, so one coordinate would tell the dataset's size N from
   * N + 1, i.e. whether a record was added or removed.
   */
  datasetSize: number;
  /** The number of epochs `fit` trains by default and that targetEpsilon is calibrated for (1 by default; training longer spends more than targetEpsilon, which `epsilon()` reports). */
  epochs?: number;
  /** The accountant: 'rdp' (default) or 'pld' (tighter). */
  accountant?: 'rdp' | 'pld';
  /**
   * The per-example loss: a name, or (yTrue, yPred) => [batch] losses; by default the model's
   * compiled loss. A function's loss of example i must depend on example i's target and output
   * only: one that mixes examples (e.g. centred on the batch mean) lets a record move the others'
   * gradients, unclipped, and is outside the epsilon.
   */
  loss?: LossName | PerExampleLoss;
  /** The optimizer that applies the noised gradient; by default the model's compiled one. */
  optimizer?: tf.Optimizer;
  /** The generator of the batches and the noise (privkit's CSPRNG by default; a seeded one only for tests). */
  rng?: Rng;
  /** Where the one-time warning about layers without a ghost formula goes (console.warn by default). */
  onWarning?: (message: string) => void;
}

/** A batch for {@link PrivateModel.step}: inputs and targets with the examples on axis 0. */
export interface TrainingBatch {
  /** The inputs. */
  xs: tf.Tensor;
  /** The targets. */
  ys: tf.Tensor;
}

/**
 * What one private step reports. `loss`, `batchSize` and `clippedCount` are computed from the batch
 * without noise: the trainer's own diagnostics, not covered by the epsilon (do not publish them).
 */
export interface StepResult {
  /** The mean loss of the batch's examples before the update (NaN for an empty batch). */
  loss: number;
  /** The batch's size. */
  batchSize: number;
  /** How many of its examples had their gradient clipped. */
  clippedCount: number;
}

/** One epoch of {@link PrivateModel.fit}. */
export interface EpochLogs {
  /** The mean loss of the epoch's examples (each measured before its step's update; not private, as StepResult.loss). */
  loss: number;
  /** The epsilon spent so far at makePrivate's delta (NaN when it was not given). */
  epsilon: number;
}

/** What {@link PrivateModel.fit} returns. */
export interface FitHistory {
  /** Per epoch, in order. */
  epochs: EpochLogs[];
}

/** Callbacks of {@link PrivateModel.fit}. */
export interface FitCallbacks {
  /** After each step. */
  onBatchEnd?: (step: number, logs: StepResult) => void | Promise<void>;
  /** After each epoch, with the mean loss of its steps and the epsilon spent so far. */
  onEpochEnd?: (epoch: number, logs: EpochLogs) => void | Promise<void>;
}

/** Options of {@link PrivateModel.fit}. */
export interface FitOptions {
  /** Epochs to train (the makePrivate option by default); an epoch is round(1 / q) Poisson batches. */
  epochs?: number;
  /** Progress callbacks. */
  callbacks?: FitCallbacks;
  /** Aborts training between steps (rejects with E_ABORTED). */
  signal?: AbortSignal;
}

/** The most epochs a training run may be planned or fitted for. */
const MAX_EPOCHS = 1e6;

/** makePrivate's options, checked. */
interface ResolvedOptions {
  /** C_g of each clipping group: [C] (flat) or one per trainable layer. */
  bounds: number[];
  /** The total bound: sqrt(sum_g C_g^2) (noised-sum.ts totalBound). */
  maxGradNorm: number;
  noiseMultiplier: number | undefined;
  targetEpsilon: number | undefined;
  delta: number | undefined;
  sampleRate: number | undefined;
  expectedBatchSize: number | undefined;
  epochs: number;
  accountant: 'rdp' | 'pld';
}

/** The privacy plan, fixed by makePrivate's options and the model's size. */
interface Plan {
  datasetSize: number;
  sampleRate: number;
  noiseMultiplier: number;
  /** How each step's sum is released (its batches have at most datasetSize + 1 examples: the dataset's or its neighbour's). */
  release: Release;
}

/** A model trained with DP-SGD, made by {@link makePrivate}. */
export class PrivateModel {
  /** The trained model (its weights are updated in place). */
  readonly model: LayersModelLike;
  /** Names of layers whose gradient norms come from per-example gradients (no ghost formula: slower). */
  readonly perExampleLayers: readonly string[];
  readonly #chain: LayerChain;
  readonly #loss: PerExampleLoss;
  readonly #optimizer: tf.Optimizer;
  readonly #rng: Rng;
  readonly #accountant: Accountant;
  readonly #options: ResolvedOptions;
  readonly #plan: Plan;
  #steps = 0;

  /** @internal use makePrivate */
  constructor(model: LayersModelLike, chain: LayerChain, loss: PerExampleLoss, optimizer: tf.Optimizer, rng: Rng, options: ResolvedOptions, datasetSize: number) {
    this.model = model;
    this.#chain = chain;
    this.perExampleLayers = chain.perExampleLayers;
    this.#loss = loss;
    this.#optimizer = optimizer;
    this.#rng = rng;
    this.#options = options;
    this.#accountant = options.accountant === 'pld' ? new PldAccountant() : new RdpAccountant();
    this.#plan = this.#makePlan(datasetSize);
  }

  /** z: the noise multiplier in use (calibrated when targetEpsilon was given). */
  get noiseMultiplier(): number {
    return this.#plan.noiseMultiplier;
  }

  /** q: the Poisson sampling rate in use. */
  get sampleRate(): number {
    return this.#plan.sampleRate;
  }

  /** The private steps taken so far. */
  get steps(): number {
    return this.#steps;
  }

  /**
   * The epsilon spent so far at `delta` (the makePrivate option by default), by the accountant:
   * for an observer of every model update, about any one training record (add/remove neighbours).
   *
   * @throws {PrivkitError} E_ARG when delta is not in (0, 1) or neither given nor set by makePrivate.
   */
  epsilon(delta?: number): number {
    if (delta === undefined && this.#options.delta === undefined) throw new PrivkitError('E_ARG', 'delta must be given (makePrivate was called without one)', { argument: 'delta' });
    const d = delta === undefined ? this.#options.delta! : assertDelta(delta);
    if (this.#steps === 0) return 0;
    if (this.#options.accountant === 'rdp') return this.#accountant.getEpsilon(d).epsilon;
    // the PLD composes ideal Gaussians; the lattice sampler's slack s and tail mass per step are charged
    // on the whole transcript (noised-sum.ts, step 4): (epsilon, delta) -> (epsilon + 2 T s, e^(T s) delta + (1 + e^epsilon) T tau)
    const { slack, tailMass } = gaussianLatticeFor(this.#dimension);
    const total = this.#steps * slack;
    const ideal = (at: number) => ({ epsilon: this.#accountant.getEpsilon(at * Math.exp(-total)).epsilon + 2 * total });
    return epsilonWithTail(ideal, d, this.#steps * tailMass * (1 + 1e-15), { epsilon: Number.POSITIVE_INFINITY }).epsilon;
  }

  /**
   * One private step on a batch the caller drew by Poisson sampling at the plan's sampleRate
   * (e.g. with `poissonSample`): norms, clipped sum, noise, optimizer update, accounting.
   *
   * @throws {PrivkitError} E_ARG when batch.xs / batch.ys are not tensors of the same batch size, the batch holds more than datasetSize examples, or an Embedding layer's ids are not integers in [0, inputDim).
   */
  async step(batch: TrainingBatch): Promise<StepResult> {
    await ready();
    const { xs, ys } = readOptions(batch, ['xs', 'ys'], 'batch');
    if (!isBatchTensor(xs) || !isBatchTensor(ys) || xs.shape[0] !== ys.shape[0]) {
      throw new PrivkitError('E_ARG', `batch must be { xs, ys }: tensors with the same size on axis 0, got ${describe(xs)} and ${describe(ys)}`, { argument: 'batch' });
    }
    // the sum's rounding is charged for batches of up to datasetSize + 1 examples (noised-sum.ts)
    if (xs.shape[0]! > this.#plan.datasetSize) {
      throw new PrivkitError('E_ARG', `batch must hold at most datasetSize (${this.#plan.datasetSize}) examples, got ${xs.shape[0]}`, { argument: 'batch' });
    }
    return this.#step(this.#plan, xs, ys);
  }

  /**
   * Trains with DP-SGD: each epoch is round(1 / q) steps on Poisson samples of (xs, ys) drawn from
   * the CSPRNG (batches vary in size and may be empty). The plan (q, the denominator q N, the steps
   * per epoch) comes from the declared datasetSize, whatever the number of records in xs (at most
   * datasetSize: see MakePrivateOptions.datasetSize).
   *
   * @throws {PrivkitError} E_ARG when xs and ys are not tensors with the same number of records, their count exceeds datasetSize, an option is out of range, or (before any step) an Embedding first layer's ids in xs are not integers in [0, inputDim).
   * @throws {PrivkitError} E_ABORTED when the signal aborts (between steps).
   */
  async fit(xs: tf.Tensor, ys: tf.Tensor, opts?: FitOptions): Promise<FitHistory> {
    const given = readOptions(opts, ['epochs', 'callbacks', 'signal']);
    const epochs = given.epochs === undefined ? this.#options.epochs : assertInteger('epochs', given.epochs, 1, MAX_EPOCHS);
    const callbacks = readOptions(given.callbacks, ['onBatchEnd', 'onEpochEnd'], 'callbacks');
    const onBatchEnd = callbacks.onBatchEnd === undefined ? undefined : assertFunction<NonNullable<FitCallbacks['onBatchEnd']>>('callbacks.onBatchEnd', callbacks.onBatchEnd);
    const onEpochEnd = callbacks.onEpochEnd === undefined ? undefined : assertFunction<NonNullable<FitCallbacks['onEpochEnd']>>('callbacks.onEpochEnd', callbacks.onEpochEnd);
    const signal = given.signal;
    if (signal !== undefined && !(signal instanceof AbortSignal)) throw new PrivkitError('E_ARG', `signal must be an AbortSignal, got ${describe(signal)}`, { argument: 'signal' });
    if (!isBatchTensor(xs)) throw new PrivkitError('E_ARG', `xs must be a tensor with the records on axis 0, got ${describe(xs)}`, { argument: 'xs' });
    if (!isBatchTensor(ys) || ys.shape[0] !== xs.shape[0]) {
      throw new PrivkitError('E_ARG', `ys must be a tensor with as many records as xs (${xs.shape[0]}), got ${isBatchTensor(ys) ? `shape [${ys.shape.join(', ')}]` : describe(ys)}`, { argument: 'ys' });
    }
    await ready();
    const size = xs.shape[0]!;
    const plan = this.#plan;
    // the declared size is the public N of the plan: a neighbouring dataset (one record more or less) trains with the same plan
    if (size > plan.datasetSize) throw new PrivkitError('E_ARG', `xs must hold at most datasetSize (${plan.datasetSize}) records, got ${size}`, { argument: 'xs' });
    // every record is checked before the first step: a record refused when first sampled would end the released steps at a data-dependent count
    this.#chain.checkInput(xs);
    const stepsPerEpoch = Math.max(1, Math.round(1 / plan.sampleRate));
    const history: EpochLogs[] = [];
    for (let epoch = 0; epoch < epochs; epoch++) {
      let lossSum = 0;
      let lossCount = 0;
      for (let s = 0; s < stepsPerEpoch; s++) {
        if (signal?.aborted) throw new PrivkitError('E_ABORTED', 'fit was aborted', { cause: signal.reason });
        const indexes = tf.tensor1d(Int32Array.from(poissonSample(size, plan.sampleRate, { rng: this.#rng })), 'int32');
        const batchXs = tf.gather(xs, indexes);
        const batchYs = tf.gather(ys, indexes);
        indexes.dispose();
        let result: StepResult;
        try {
          result = this.#step(plan, batchXs, batchYs);
        } finally {
          tf.dispose([batchXs, batchYs]);
        }
        if (result.batchSize > 0) {
          lossSum += result.loss * result.batchSize;
          lossCount += result.batchSize;
        }
        await onBatchEnd?.(this.#steps, result);
        await tf.nextFrame();
      }
      const logs: EpochLogs = { loss: lossCount === 0 ? NaN : lossSum / lossCount, epsilon: this.#options.delta === undefined ? NaN : this.epsilon() };
      history.push(logs);
      await onEpochEnd?.(epoch, logs);
    }
    return { epochs: history };
  }

  /** d: the number of trained parameters. */
  get #dimension(): number {
    return this.#chain.variables.reduce((n, v) => n + v.size, 0);
  }

  #makePlan(datasetSize: number): Plan {
    const { sampleRate, expectedBatchSize, noiseMultiplier, targetEpsilon, delta, epochs, accountant } = this.#options;
    const q = sampleRate ?? expectedBatchSize! / datasetSize;
    if (q > 1) throw new PrivkitError('E_ARG', `expectedBatchSize must be <= datasetSize (${datasetSize}), got ${expectedBatchSize}`, { argument: 'expectedBatchSize' });
    const z = noiseMultiplier ?? this.#calibrate(targetEpsilon!, delta!, q, epochs * Math.max(1, Math.round(1 / q)), accountant);
    return { datasetSize, sampleRate: q, noiseMultiplier: z, release: planRelease(this.#dimension, this.#options.maxGradNorm, z, datasetSize + 1) };
  }

  /** The clipping groups of a batch: all trainable layers under the total norm (flat), or each layer under its own. */
  #groups(pass: { norms: tf.Tensor1D; layerNorms: Float32Array[] }): NormGroup[] {
    const { bounds } = this.#options;
    if (bounds.length === 1) return [{ layers: pass.layerNorms.map((_, k) => k), norms: pass.norms.dataSync() as Float32Array, bound: bounds[0]! }];
    return bounds.map((bound, k) => ({ layers: [k], norms: pass.layerNorms[k]!, bound }));
  }

  /** The noise multiplier for which `steps` steps spend targetEpsilon at delta, the sampler's slack included (as epsilon() charges it). */
  #calibrate(targetEpsilon: number, delta: number, sampleRate: number, steps: number, accountant: 'rdp' | 'pld'): number {
    const { slack, tailMass } = gaussianLatticeFor(this.#dimension);
    if (accountant === 'rdp') return calibrateNoiseMultiplier({ targetEpsilon, delta, sampleRate, steps, accountant, slack, tailMass }).noiseMultiplier;
    const total = steps * slack;
    // epsilon() reserves (1 + e^epsilon) of the tail from delta; epsilon <= targetEpsilon, so this reserve covers it
    const idealDelta = (delta - tailDelta(targetEpsilon, steps * tailMass * (1 + 1e-15))) * Math.exp(-total);
    if (!(targetEpsilon > 2 * total)) {
      throw new PrivkitError('E_ARG', `targetEpsilon ${targetEpsilon} does not cover the noise sampler's slack over ${steps} steps (${2 * total})`, { argument: 'targetEpsilon' });
    }
    if (!(idealDelta > 0)) {
      throw new PrivkitError('E_ARG', `delta ${delta} does not cover the noise sampler's tail over ${steps} steps`, { argument: 'delta' });
    }
    return calibrateNoiseMultiplier({ targetEpsilon: targetEpsilon - 2 * total, delta: idealDelta, sampleRate, steps, accountant }).noiseMultiplier;
  }

  #step(plan: Plan, xs: tf.Tensor, ys: tf.Tensor): StepResult {
    const size = xs.shape[0]!;
    if (size === 0) return this.#update(plan, [], () => ({ sum: new Float64Array(0) }), NaN);
    const pass = this.#chain.backward(xs, (output) => tf.sum(this.#loss(ys, output)));
    try {
      return this.#update(plan, this.#groups(pass), pass.clippedSum, pass.loss.dataSync()[0]! / size);
    } finally {
      tf.dispose([pass.norms, pass.loss]);
      pass.dispose();
    }
  }

  #update(plan: Plan, groups: NormGroup[], clippedSum: (groups: ClipGroup[]) => { sum: Float64Array }, loss: number): StepResult {
    const { grads, clippedCount, norms } = noisedClippedMean(this.#chain.variables, groups, clippedSum, {
      release: plan.release,
      denominator: plan.sampleRate * plan.datasetSize,
      rng: this.#rng,
    });
    this.#optimizer.applyGradients(grads);
    tf.dispose(Object.values(grads));
    // the PLD accountant composes the ideal Gaussian; its slack and tail are charged in epsilon()
    this.#accountant.step(poissonStepEvent(plan.noiseMultiplier, plan.sampleRate, this.#options.accountant === 'rdp' ? plan.release : { slack: 0, tailMass: 0 }));
    this.#steps++;
    return { loss, batchSize: norms.length, clippedCount };
  }
}

function assertDelta(value: unknown): number {
  const d = assertNumber('delta', value, 'positive');
  if (d >= 1) throw new PrivkitError('E_ARG', `delta must be in (0, 1), got ${describe(value)}`, { argument: 'delta' });
  return d;
}

/**
 * Makes a tfjs layers model (tf.Sequential, or a tf.LayersModel whose layers form a chain) train
 * with DP-SGD: per-example gradient norms by ghost clipping for Dense, Conv2D, Embedding and
 * LayerNormalization layers (other layers with weights by per-example gradients of that layer, with
 * a one-time warning naming it), flat or per-layer clipping to maxGradNorm, Gaussian noise from privkit's
 * CSPRNG, Poisson batches, the expected batch size as denominator and an RDP or PLD accountant.
 * Layers that are random in training (Dropout, GaussianNoise, ...), BatchNormalization and
 * stateful, regularized or constrained layers and tied weights are refused. Custom layers must
 * compute each example's output from that example alone (privkit can not check it; a layer that
 * mixes the batch is outside the epsilon).
 *
 * @param model - the model (compiled, or give `loss` and `optimizer`).
 * @param opts - noise or target epsilon, clip norm, sampling, the (public) dataset size, accountant.
 * @throws {PrivkitError} E_ARG when the model is not a chain of tfjs layers with trainable weights, a layer is refused, or an option is missing or out of range (datasetSize always, an integer >= 1; exactly one of noiseMultiplier / targetEpsilon, and of sampleRate / expectedBatchSize <= datasetSize; delta with targetEpsilon; maxGradNorm an array only with clipping 'per-layer', of one threshold >= 2^-500 per trainable layer; a single maxGradNorm >= 2^-500, or C / sqrt(L) with per-layer clipping).
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs-core';
 * import '@tensorflow/tfjs-backend-cpu';
 * import * as tfl from '@tensorflow/tfjs-layers';
 * import { makePrivate } from 'privkit/tfjs';
 * const model = tfl.sequential({ layers: [tfl.layers.dense({ inputShape: [4], units: 8, activation: 'relu' }), tfl.layers.dense({ units: 2, activation: 'softmax' })] });
 * model.compile({ optimizer: tf.train.sgd(0.1), loss: 'categoricalCrossentropy' });
 * const xs = tf.randomNormal([64, 4]);
 * const ys = tf.oneHot(tf.randomUniform([64], 0, 2, 'int32'), 2);
 * const dp = makePrivate(model, { targetEpsilon: 3, delta: 1e-5, maxGradNorm: 1, expectedBatchSize: 16, datasetSize: 64, epochs: 2 });
 * await dp.fit(xs, ys);
 * console.log(dp.epsilon()); // <= 3
 * ```
 */
export function makePrivate(model: LayersModelLike, opts: MakePrivateOptions): PrivateModel {
  const given = readOptions(opts, ['noiseMultiplier', 'targetEpsilon', 'delta', 'maxGradNorm', 'clipping', 'sampleRate', 'expectedBatchSize', 'datasetSize', 'epochs', 'accountant', 'loss', 'optimizer', 'rng', 'onWarning']);
  const clipping = assertOneOf('clipping', given.clipping, ['flat', 'per-layer'] as const, 'flat');
  if (Array.isArray(given.maxGradNorm) && clipping !== 'per-layer') {
    throw new PrivkitError('E_ARG', "maxGradNorm must be a number with clipping 'flat' (an array of thresholds is per layer)", { argument: 'maxGradNorm' });
  }
  const thresholds = Array.isArray(given.maxGradNorm) ? given.maxGradNorm.map((c, k) => assertNumber(`maxGradNorm[${k}]`, c, 'positive')) : [assertNumber('maxGradNorm', given.maxGradNorm, 'positive')];
  if ((given.noiseMultiplier === undefined) === (given.targetEpsilon === undefined)) {
    throw new PrivkitError('E_ARG', 'exactly one of noiseMultiplier and targetEpsilon must be given', { argument: given.noiseMultiplier === undefined ? 'noiseMultiplier' : 'targetEpsilon' });
  }
  const noiseMultiplier = given.noiseMultiplier === undefined ? undefined : assertNumber('noiseMultiplier', given.noiseMultiplier, 'positive');
  const targetEpsilon = given.targetEpsilon === undefined ? undefined : assertNumber('targetEpsilon', given.targetEpsilon, 'positive');
  const delta = given.delta === undefined ? undefined : assertDelta(given.delta);
  if (targetEpsilon !== undefined && delta === undefined) throw new PrivkitError('E_ARG', 'delta must be given with targetEpsilon', { argument: 'delta' });
  if ((given.sampleRate === undefined) === (given.expectedBatchSize === undefined)) {
    throw new PrivkitError('E_ARG', 'exactly one of sampleRate and expectedBatchSize must be given', { argument: given.sampleRate === undefined ? 'sampleRate' : 'expectedBatchSize' });
  }
  const sampleRate = given.sampleRate === undefined ? undefined : assertSampleRate(given.sampleRate);
  const expectedBatchSize = given.expectedBatchSize === undefined ? undefined : assertNumber('expectedBatchSize', given.expectedBatchSize, 'positive');
  if (given.datasetSize === undefined) {
    throw new PrivkitError('E_ARG', 'datasetSize must be given: the number of training records, public (or a public bound on it); taken from the data, every update would reveal it exactly', { argument: 'datasetSize' });
  }
  const datasetSize = assertInteger('datasetSize', given.datasetSize, 1, MAX_RNG_LENGTH);
  const epochs = given.epochs === undefined ? 1 : assertInteger('epochs', given.epochs, 1, MAX_EPOCHS);
  const accountant = assertOneOf('accountant', given.accountant, ['rdp', 'pld'] as const, 'rdp');
  const rng = generatorOf(given.rng);
  const onWarning = given.onWarning === undefined ? (message: string) => console.warn(message) : assertFunction<(message: string) => void>('onWarning', given.onWarning);
  const chain = new LayerChain(model);
  const layers = chain.trainableLayers.length;
  if (Array.isArray(given.maxGradNorm) && thresholds.length !== layers) {
    throw new PrivkitError('E_ARG', `maxGradNorm must hold one threshold per trainable layer (${layers}: ${chain.trainableLayers.join(', ')}), got ${thresholds.length}`, { argument: 'maxGradNorm' });
  }
  // per-layer with one number: the equal split C / sqrt(L), whose total bound is C
  const bounds = clipping === 'flat' || Array.isArray(given.maxGradNorm) ? thresholds : Array.from({ length: layers }, () => thresholds[0]! / Math.sqrt(layers));
  const maxGradNorm = totalBound(bounds);
  const compiled = model as { loss?: unknown; optimizer?: unknown };
  const loss = resolveLoss(given.loss, compiled.loss);
  const optimizer = given.optimizer === undefined ? compiled.optimizer : given.optimizer;
  if (typeof optimizer !== 'object' || optimizer === null || !(optimizer instanceof tf.Optimizer)) {
    throw new PrivkitError('E_ARG', `optimizer must be a tf.Optimizer (or the model compiled with one), got ${describe(optimizer)}`, { argument: 'optimizer' });
  }
  if (chain.perExampleLayers.length > 0) {
    onWarning(`privkit/tfjs: no ghost-clipping formula for layer(s) ${chain.perExampleLayers.map((name) => JSON.stringify(name)).join(', ')}; their gradient norms are computed example by example (slower)`);
  }
  const options = { bounds, maxGradNorm, noiseMultiplier, targetEpsilon, delta, sampleRate, expectedBatchSize, epochs, accountant };
  return new PrivateModel(model, chain, loss, optimizer, rng, options, datasetSize);
}
