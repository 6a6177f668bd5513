// The private part of a DP-SGD step, shared by makePrivate and dpGradients: from each example's
// gradient norm, the clip factors c_i = min(1, C / (norm_i + 1e-6)) (as Opacus' flat clipping); the
// clipped sum sum_i c_i grad_i, the gradient of the loss weighted by c (never per-example
// gradients); Gaussian noise N(0, (z C)^2) per coordinate from privkit's CSPRNG sampler, copied
// into the backend once; and the division by the expected batch size (a fixed denominator, so that
// a batch's size reveals nothing: Opacus' expected_batch_size).
import * as tf from '@tensorflow/tfjs-core';
import type { Rng } from '../dp/rng.js';
import { gaussianNoise } from '../dp/noise.js';

/** 1 - 8 u for float32's unit roundoff u = 2^-24. */
const CLIP_MARGIN = 1 - 2 ** -21;

/** What one private gradient step produced: only `grads` is private; `norms`, `clippedCount` and `loss` are computed from the batch without noise (the trainer's diagnostics, outside the epsilon). */
export interface NoisedGradients {
  /** The noised mean gradient per variable name (tensors the caller disposes, e.g. after optimizer.applyGradients). */
  grads: tf.NamedTensorMap;
  /** Each example's gradient norm before clipping. */
  norms: Float32Array;
  /** How many examples were clipped (norm > maxGradNorm). */
  clippedCount: number;
  /** The mean of the examples' losses (NaN for an empty batch). */
  loss: number;
}

/** The parameters of the private sum. */
export interface NoiseParameters {
  /** C: the bound on each example's gradient norm. */
  maxGradNorm: number;
  /** z: the noise standard deviation over C. */
  noiseMultiplier: number;
  /** What the noised sum is divided by: q N for Poisson batches. */
  denominator: number;
  /** The noise generator. */
  rng: Rng;
}

/**
 * The noised clipped mean gradient of `variables`, given each example's gradient norm and the
 * gradient of the batch's loss weighted per example (`weightedSum(c)` = the gradient of
 * sum_i c_i loss_i per variable name, where an example with c_i = 0 must add exactly nothing,
 * even when its own gradient is not finite).
 */
export function noisedClippedMean(
  variables: readonly tf.Variable[],
  norms: tf.Tensor1D,
  weightedSum: (weights: tf.Tensor1D) => tf.NamedTensorMap,
  params: NoiseParameters,
): Omit<NoisedGradients, 'loss'> {
  const { maxGradNorm, noiseMultiplier, denominator, rng } = params;
  const normValues = norms.dataSync() as Float32Array;
  let clippedCount = 0;
  for (const norm of normValues) if (!(norm <= maxGradNorm)) clippedCount++;
  const sums = new Map<tf.Variable, tf.Tensor>();
  if (normValues.length > 0) {
    // C shrunk by a few float32 roundings (of the sum, the division and the scaling), so that c_i
    // times an upper bound of the norm stays <= C after rounding; an example whose norm is not
    // finite (an infinite or NaN feature, an overflow) gets c_i = 0, and weightedSum leaves it out
    // entirely (0 x Infinity would be NaN)
    const weights = tf.tidy(() => tf.where(tf.isFinite(norms), tf.minimum(1, tf.div(maxGradNorm * CLIP_MARGIN, tf.add(norms, 1e-6))), tf.zerosLike(norms)) as tf.Tensor1D);
    try {
      const grads = weightedSum(weights);
      for (const variable of variables) {
        const grad = grads[variable.name];
        if (grad !== undefined) sums.set(variable, grad);
      }
    } finally {
      weights.dispose();
    }
  }
  const total = variables.reduce((n, v) => n + v.size, 0);
  const noise = gaussianNoise(total, noiseMultiplier * maxGradNorm, { rng, dtype: 'float32' });
  const grads: tf.NamedTensorMap = {};
  let offset = 0;
  for (const variable of variables) {
    const part = tf.tensor(noise.subarray(offset, offset + variable.size), variable.shape, 'float32');
    offset += variable.size;
    const sum = sums.get(variable);
    grads[variable.name] = tf.tidy(() => tf.div(sum === undefined ? part : tf.add(sum, part), denominator));
    part.dispose();
    sum?.dispose();
  }
  noise.fill(0);
  return { grads, norms: normValues.slice(), clippedCount };
}
