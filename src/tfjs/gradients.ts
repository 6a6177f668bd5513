// dpGradients: the private gradient of any tfjs loss for custom training loops. It knows nothing
// of the model's layers, so each example's gradient comes from its own backward pass (the general,
// slow path; makePrivate uses ghost norms instead); the clipped sum of those gradients in float64,
// the noise and the scaling are makePrivate's (per-example.ts, noised-sum.ts).
import * as tf from '@tensorflow/tfjs-core';
import { PrivkitError } from '../errors.js';
import { generatorOf } from '../dp/noise.js';
import type { Rng } from '../dp/rng.js';
import type { Accountant } from '../accounting/budget.js';
import { assertFunction, assertNumber, describe, readOptions } from '../validate.js';
import { RdpAccountant } from '../accounting/rdp-accountant.js';
import { MAX_BATCH, noisedClippedMean, planRelease, type NoisedGradients } from './noised-sum.js';
import { clippedSum, materialized, type ClipGroup } from './per-example.js';
import { assertAccountant, isBatchTensor, poissonStepEvent } from './options.js';
import { assertSampleRate } from './sampling.js';

/** A batch: one tensor, an array of tensors or an object of tensors, each with the examples on axis 0. */
export type Batch = tf.Tensor | tf.Tensor[] | { [name: string]: tf.Tensor };

/** Options of {@link dpGradients}. */
export interface DpGradientsOptions {
  /** C > 0: each example's gradient is scaled to norm <= C. */
  maxGradNorm: number;
  /** z > 0: the noise standard deviation is z C. */
  noiseMultiplier: number;
  /** What the noised sum is divided by: sampleRate x dataset size for Poisson batches (not the batch's own size). */
  expectedBatchSize: number;
  /** The noise generator (privkit's CSPRNG by default; a seeded one only for tests). */
  rng?: Rng;
  /** When given, charged one Poisson-sampled step (`sampleRate` required): an RdpAccountant (the step carries the lattice sampler's slack, which PldAccountant does not compose). */
  accountant?: Accountant;
  /** q: the Poisson sampling rate of the batch, for the accountant. */
  sampleRate?: number;
}

/**
 * The DP-SGD gradient of one Poisson-sampled batch for a custom training loop: every example's
 * gradient clipped to norm `maxGradNorm`, summed, Gaussian noise of standard deviation
 * noiseMultiplier x maxGradNorm added to each coordinate, divided by `expectedBatchSize`. Apply it
 * with `optimizer.applyGradients(result.grads)` and dispose the tensors.
 *
 * `lossFn(batch)` must return one loss per example (shape [batch]) and each example's loss must
 * depend on that example only. Per-example norms take one backward pass per example here;
 * `makePrivate` computes them for a whole batch at once (ghost clipping).
 *
 * @param lossFn - the per-example losses of a batch.
 * @param variables - the variables to differentiate (all trainable variables the loss uses).
 * @param batch - the batch (may be empty: then the result is the noise alone).
 * @param opts - clip norm, noise multiplier, denominator, generator and accounting.
 * @throws {PrivkitError} E_ARG when lossFn is not a function, variables is not a non-empty array of tf.Variable, batch holds no tensor, tensors of different batch sizes or more than 2^20 examples, or an option is out of range (maxGradNorm >= 2^-500; noiseMultiplier, expectedBatchSize > 0; sampleRate in (0, 1] and given with accountant; accountant an RdpAccountant).
 * @throws {PrivkitError} E_SHAPE when lossFn does not return [batch] losses.
 * @throws {PrivkitError} E_NOT_READY before `await ready()`.
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs-core';
 * import '@tensorflow/tfjs-backend-cpu';
 * import { ready } from 'privkit';
 * import { dpGradients } from 'privkit/tfjs';
 * await ready();
 * const w = tf.variable(tf.zeros([3, 1]));
 * const xs = tf.randomNormal([8, 3]);
 * const ys = tf.randomNormal([8, 1]);
 * const lossFn = ([x, y]: tf.Tensor[]) => tf.sum(tf.square(tf.sub(tf.matMul(x as tf.Tensor2D, w), y!)), 1);
 * const { grads } = dpGradients(lossFn, [w], [xs, ys], { maxGradNorm: 1, noiseMultiplier: 1.1, expectedBatchSize: 8 });
 * tf.train.sgd(0.1).applyGradients(grads);
 * ```
 */
export function dpGradients<B extends Batch>(lossFn: (batch: B) => tf.Tensor, variables: tf.Variable[], batch: B, opts: DpGradientsOptions): NoisedGradients {
  const given = readOptions(opts, ['maxGradNorm', 'noiseMultiplier', 'expectedBatchSize', 'rng', 'accountant', 'sampleRate']);
  const maxGradNorm = assertNumber('maxGradNorm', given.maxGradNorm, 'positive');
  const noiseMultiplier = assertNumber('noiseMultiplier', given.noiseMultiplier, 'positive');
  const expectedBatchSize = assertNumber('expectedBatchSize', given.expectedBatchSize, 'positive');
  const rng = generatorOf(given.rng);
  const accountant = given.accountant === undefined ? undefined : assertAccountant('accountant', given.accountant);
  if (accountant !== undefined && !(accountant instanceof RdpAccountant)) {
    throw new PrivkitError('E_ARG', "accountant must be an RdpAccountant: each step carries the lattice noise sampler's slack, which PldAccountant does not compose", { argument: 'accountant' });
  }
  const sampleRate = given.sampleRate === undefined ? undefined : assertSampleRate(given.sampleRate);
  if (accountant !== undefined && sampleRate === undefined) throw new PrivkitError('E_ARG', 'sampleRate must be given with accountant', { argument: 'sampleRate' });
  const loss = assertFunction<(batch: B) => tf.Tensor>('lossFn', lossFn);
  if (!Array.isArray(variables) || variables.length === 0 || !variables.every((v) => v instanceof tf.Variable)) {
    throw new PrivkitError('E_ARG', `variables must be a non-empty array of tf.Variable, got ${describe(variables)}`, { argument: 'variables' });
  }
  const size = batchSize(batch);
  if (size > MAX_BATCH) throw new PrivkitError('E_ARG', `batch must hold at most ${MAX_BATCH} examples (the public bound of the sum's rounding), got ${size}`, { argument: 'batch' });
  const perExampleLoss = (b: B): tf.Tensor1D => {
    const out = loss(b);
    const rows = batchSize(b);
    if (!(out instanceof tf.Tensor) || out.rank !== 1 || out.shape[0] !== rows) {
      throw new PrivkitError('E_SHAPE', `lossFn must return one loss per example (shape [${rows}]), got ${out instanceof tf.Tensor ? `shape [${out.shape.join(', ')}]` : describe(out)}`, { argument: 'lossFn' });
    }
    return out as tf.Tensor1D;
  };

  // the plan first: a refused clip norm or noise multiplier costs no backward pass
  const layout = [variables.map((v) => v.size)];
  const release = planRelease(layout[0]!.reduce((s, m) => s + m, 0), maxGradNorm, noiseMultiplier, MAX_BATCH);

  // each example's gradient per variable, row i of a [size, variable size] array
  const values = variables.map((v) => new Float32Array(size * v.size));
  const norms = new Float32Array(size);
  let lossSum = 0;
  for (let i = 0; i < size; i++) {
    tf.tidy(() => {
      const example = sliceBatch(batch, i);
      const { value, grads } = tf.variableGrads(() => tf.sum(perExampleLoss(example)), variables);
      lossSum += value.dataSync()[0]!;
      let squared = 0;
      variables.forEach((v, k) => {
        const g = grads[v.name] === undefined ? new Float32Array(v.size) : (grads[v.name]!.dataSync() as Float32Array);
        values[k]!.set(g, i * v.size);
        for (const x of g) squared += x * x;
      });
      norms[i] = Math.sqrt(squared);
    });
  }
  const sum = (groups: ClipGroup[]) => clippedSum([materialized(values, size)], layout, groups);
  const result = noisedClippedMean(variables, [{ layers: [0], norms, bound: maxGradNorm }], sum, { release, denominator: expectedBatchSize, rng });
  values.forEach((v) => v.fill(0));
  if (accountant !== undefined) accountant.step(poissonStepEvent(noiseMultiplier, sampleRate!, release));
  return { ...result, loss: size === 0 ? NaN : lossSum / size };
}

function tensorsOf(batch: Batch): tf.Tensor[] {
  if (batch instanceof tf.Tensor) return [batch];
  if (Array.isArray(batch)) return batch;
  if (typeof batch === 'object' && batch !== null) return Object.values(batch);
  return [];
}

/** The number of examples of a batch (all its tensors agree on axis 0). */
export function batchSize(batch: Batch): number {
  const tensors = tensorsOf(batch);
  if (tensors.length === 0 || !tensors.every(isBatchTensor)) {
    throw new PrivkitError('E_ARG', `batch must be a tensor, an array or an object of tensors with the examples on axis 0, got ${describe(batch)}`, { argument: 'batch' });
  }
  const size = tensors[0]!.shape[0]!;
  if (tensors.some((t) => t.shape[0] !== size)) {
    throw new PrivkitError('E_ARG', `batch tensors must have the same size on axis 0, got ${tensors.map((t) => t.shape[0]).join(', ')}`, { argument: 'batch' });
  }
  return size;
}

function sliceBatch<B extends Batch>(batch: B, i: number): B {
  if (batch instanceof tf.Tensor) return tf.slice(batch, i, 1) as B;
  if (Array.isArray(batch)) return batch.map((t) => tf.slice(t, i, 1)) as B;
  return Object.fromEntries(Object.entries(batch).map(([k, t]) => [k, tf.slice(t, i, 1)])) as B;
}
