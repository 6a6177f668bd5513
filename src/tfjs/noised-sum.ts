// The private part of a DP-SGD step, shared by makePrivate and dpGradients: each example's clip
// factor c_i = min(1, C / (norm_i + 1e-6)) from its gradient norm (as Opacus' flat clipping); the
// clipped sum in float64 (per-example.ts); Gaussian noise on a lattice (privkit/dp's secure
// Gaussian, Google's "Secure Noise Generation" 2020) of standard deviation z C_eff; the division by
// the expected batch size (a fixed denominator, so that a batch's size reveals nothing: Opacus'
// expected_batch_size); the result converted to float32 for the optimizer.
//
// Privacy argument (the observer sees every released step: the noised sum, or anything computed
// from it, e.g. the model after each update; neighbouring datasets differ by adding or removing one
// record; the sampling is Poisson):
//
// 1. Per-example contributions. The backend computes each example's rows (activations, output
//    gradients, per-example gradients of batched ops) from that example's rows alone, with an order
//    of operations that does not depend on the other rows or on their number (true of tfjs' cpu,
//    wasm and webgl kernels: a row of a matMul, an entry of a batched matMul; tested by comparing
//    examples' norms and contributions bit for bit alone and in batches: cpu and wasm in Node,
//    test/tfjs/release.test.ts and wasm-rows.test.ts; cpu, wasm and webgl (SwiftShader) in
//    Chromium, test/e2e/tfjs-browser.test.ts). So the contribution e_i that per-example.ts forms
//    in float64 is a function of example i alone, and ||e_i|| <= C
//    holds exactly: its weight divides by a float64 norm of the very values summed, rounded up.
//    The float32 rounding of the backend only changes what e_i is, never its norm bound (this is
//    what the earlier float32 sum lacked: there, the rounding of the sum depended on all examples,
//    and a batch of n clipped gradients could sum to more than n C).
// 2. The float64 sum. Each coordinate is a recursive float64 sum of the n examples' entries, so
//    |computed - exact| <= gamma_(n-1) sum_i |e_i| per coordinate (Higham 2002, eq. 4.4), and in L2
//    <= gamma_(n-1) sum_i ||e_i|| <= gamma_n n C, with gamma_n = n 2^-53 / (1 - n 2^-53). The batch
//    has at most M examples, M a public bound (datasetSize + 1 for makePrivate: a batch is drawn
//    from the dataset or from its neighbour; 2^20 for dpGradients, which refuses larger batches).
//    So the computed sums of neighbouring batches differ by at most
//        Delta = C (1 + 2 M gamma_M)   (1 + 1.4e-8 for M = 8,001).
// 3. The lattice. The sum is rounded to the lattice r Z per coordinate and integer noise times r is
//    added (secure.ts; no floating-point operation after the noise, so the low-order bits of the
//    output reveal nothing of the sum: Mironov 2012). Rounding d coordinates moves a difference of
//    Delta by at most r sqrt(d) in L2 (latticeSensitivity): the release has L2 sensitivity
//    Delta_eff = Delta + r sqrt(d). The noise's standard deviation is sigma = z Delta_eff (z the
//    noise multiplier), so the accountant's Gaussian is the ideal subsampled Gaussian of noise
//    multiplier z on the rounded sum: the released lattice point is nearest(sum / r) + nearest(t N)
//    with t = sigma / r, a rounding (post-processing) of the continuous Gaussian mechanism.
// 4. The sampler's error (src/dp/sampler-error.ts). Off a tail set beyond about 16 sigma, the rounded
//    Ziggurat normal's pmf is within a factor e^(+-eta) of the ideal per coordinate, eta about
//    -ln(1 - 12.5 x 2^(bits - 50)) (gaussianSlackAt); the tail set has probability tau <= 1.4e-57 per
//    coordinate (gaussianTailAt). So one step's output pmf is within e^(+-s) of a mechanism A' that is
//    within total variation d tau of the real one, s = d eta: the RDP accountant adds s (2 alpha - 1)
//    / (alpha - 1) per step (the event's slack) and (1 + e^epsilon) T d tau to delta over T steps (the
//    event's tailMass); with the PLD accountant, (epsilon, delta) of the ideal Gaussians becomes
//    (epsilon + 2 T s, e^(T s) delta + (1 + e^epsilon) T d tau) (epsilon()).
//    The lattice step is 2^(ceil(log2 sigma) - bits) with bits = ceil(8 + log2 sqrt(d)) in
//    [12, 24]: r sqrt(d) <= 2^-7 sigma, i.e. at most ~0.8% z more noise, against a slack of about
//    12.5 d 2^(bits-50) per step (MNIST MLP, d = 101,770: bits 17, s = 1.5e-4 per step; tail 1.4e-52).
// 5. Post-processing: the division by the (public) expected batch size, the conversion to float32
//    and the optimizer.
import * as tf from '@tensorflow/tfjs-core';
import type { Rng } from '../dp/rng.js';
import { nextUp } from '../dp/calibration.js';
import { gaussianLatticeFor, gaussianOnLattice, gaussianResolutionAt, latticeSensitivity } from '../dp/secure.js';
import { PrivkitError } from '../errors.js';
import type { ClipGroup } from './per-example.js';

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

/** How a step's sum is released: fixed by the model's size, the clip norm, the noise multiplier and the batch bound. */
export interface Release {
  /** C: the bound on each example's contribution. */
  maxGradNorm: number;
  /** z: the noise standard deviation over the charged sensitivity (the accountant's noise multiplier). */
  noiseMultiplier: number;
  /** The charged L2 sensitivity of the released lattice sum: C (1 + 2 M gamma_M) + r sqrt(d). */
  sensitivity: number;
  /** The noise's standard deviation: noiseMultiplier x sensitivity. */
  sigma: number;
  /** The lattice granularity: sigma / r in (2^(bits-1), 2^bits]. */
  bits: number;
  /** The sampler's pmf slack per step over the d coordinates (gaussianSlackAt). */
  slack: number;
  /** The sampler's tail mass per step over the d coordinates (gaussianTailAt). */
  tailMass: number;
}

/** The largest batch dpGradients takes (its public bound M). */
export const MAX_BATCH = 2 ** 20;

/**
 * The smallest clip bound C (each group's C_g): the float64 norm of any example's values is below
 * 2^512 (its square is a finite double), so every weight C (1 - 2^-40) / norm is a normal double and
 * the absolute rounding of subnormal products (2^-1075 each) stays far below 2^-40 C. Below it, a
 * subnormal weight rounds with a relative error up to 2^-1074 / w (8e-9 at C = 1e-296 and a norm of
 * 1.6e19) and a contribution exceeds C.
 */
export const MIN_CLIP_NORM = 2 ** -500;

/** Refuses a clip bound below MIN_CLIP_NORM. */
function assertClipNorm(bound: number, argument: string): void {
  if (!(bound >= MIN_CLIP_NORM)) throw new PrivkitError('E_ARG', `${argument} must be >= 2^-500 (smaller clip weights are subnormal doubles whose rounding is not bounded relative to the clip norm), got ${bound}`, { argument });
}

/**
 * The release of a d-coordinate sum of at most `maxBatch` contributions of norm <= maxGradNorm with
 * noise multiplier z (see the file header, steps 2-4).
 */
export function planRelease(dimension: number, maxGradNorm: number, noiseMultiplier: number, maxBatch: number): Release {
  assertClipNorm(maxGradNorm, 'maxGradNorm');
  const gamma = (maxBatch * 2 ** -53) / (1 - maxBatch * 2 ** -53);
  const summed = nextUp(maxGradNorm * nextUp(1 + nextUp(2 * maxBatch * gamma)));
  const { bits, slack, tailMass } = gaussianLatticeFor(dimension);
  // the lattice step grows with sigma and sigma with the charged sensitivity: iterate to the fixed point (one or two steps)
  let sigma = nextUp(noiseMultiplier * summed);
  let sensitivity: number;
  for (;;) {
    sensitivity = latticeSensitivity('gaussian', summed, dimension, gaussianResolutionAt(sigma, bits));
    if (noiseMultiplier * sensitivity <= sigma) break;
    sigma = nextUp(noiseMultiplier * sensitivity);
  }
  // the lattice is exact for |sum| <= 2^52 r (secure.ts); a sum of maxBatch contributions stays within it, or the plan is refused up front (never a data-dependent error mid-training)
  if (maxBatch * summed > 2 ** 52 * gaussianResolutionAt(sigma, bits)) {
    throw new PrivkitError('E_ARG', `noiseMultiplier ${noiseMultiplier} is too small for sums of up to ${maxBatch} examples on the noise lattice (they could exceed 2^52 lattice steps)`, { argument: 'noiseMultiplier' });
  }
  return { maxGradNorm, noiseMultiplier, sensitivity, sigma, bits, slack, tailMass };
}

/** The parameters of one noised step. */
export interface NoiseParameters {
  /** How the sum is released (planRelease). */
  release: Release;
  /** What the noised sum is divided by: q N for Poisson batches. */
  denominator: number;
  /** The noise generator. */
  rng: Rng;
}

/** Layers clipped together in a step (all of them for flat clipping, one for per-layer): their indexes, each example's norm over them, and their bound C_g. */
export interface NormGroup {
  /** Indexes of the group's layers (as the clipped sum numbers them). */
  layers: number[];
  /** Each example's gradient norm over the group's layers. */
  norms: Float32Array;
  /** C_g: the bound on each example's norm over them. */
  bound: number;
}

/**
 * The total bound C of per-group bounds C_g: sqrt(sum_g C_g^2) in float64. Each group's part of a
 * contribution is bounded by C_g (1 - 2^-40)(1 + 2^-50) (per-example.ts), and the computed square
 * root is within (groups + 2) 2^-53 of the exact one, so the exact bound on ||e_i|| is below it for
 * up to 2^11 groups.
 */
export function totalBound(bounds: readonly number[]): number {
  if (bounds.length > 2 ** 11) throw new PrivkitError('E_ARG', `at most 2048 clipping groups, got ${bounds.length}`, { argument: 'maxGradNorm' });
  bounds.forEach((c) => assertClipNorm(c, 'maxGradNorm'));
  return Math.sqrt(bounds.reduce((s, c) => s + c * c, 0));
}

/**
 * The noised clipped mean gradient of `variables`, given each example's gradient norms per group of
 * layers and the float64 clipped sum for per-example clip factors (`clippedSum(groups)`: every
 * example's contribution over a group of norm <= C_g, per-example.ts; examples with c_i = 0 left
 * out). The release's maxGradNorm must be totalBound of the groups' bounds.
 */
export function noisedClippedMean(
  variables: readonly tf.Variable[],
  groups: readonly NormGroup[],
  clippedSum: (groups: ClipGroup[]) => { sum: Float64Array },
  params: NoiseParameters,
): Omit<NoisedGradients, 'loss'> {
  const { release, denominator, rng } = params;
  const { sigma, bits } = release;
  const size = groups[0]?.norms.length ?? 0;
  const norms = Float32Array.from({ length: size }, (_, i) => Math.sqrt(groups.reduce((s, g) => s + g.norms[i]! ** 2, 0)));
  let clippedCount = 0;
  for (let i = 0; i < size; i++) if (groups.some((g) => !(g.norms[i]! <= g.bound))) clippedCount++;
  const dimension = variables.reduce((n, v) => n + v.size, 0);
  let sum: Float64Array = new Float64Array(dimension);
  if (size > 0) {
    // c_i = min(1, C_g / (norm + 1e-6)) per group; an example whose norm is not finite (an infinite or NaN feature, an overflow) is left out
    const clipGroups = groups.map(({ layers, norms: groupNorms, bound }) => ({
      layers,
      bound,
      factors: Float64Array.from(groupNorms, (norm) => (Number.isFinite(norm) ? Math.min(1, bound / (norm + 1e-6)) : 0)),
    }));
    sum = clippedSum(clipGroups).sum;
    if (sum.length !== dimension) throw new PrivkitError('E_SHAPE', `the clipped sum has ${sum.length} coordinates, the variables ${dimension}`);
  }
  const noised = gaussianOnLattice(sum, sigma, bits, { rng }).values;
  sum.fill(0);
  const grads: tf.NamedTensorMap = {};
  let offset = 0;
  for (const variable of variables) {
    const mean = new Float32Array(variable.size);
    for (let j = 0; j < mean.length; j++) mean[j] = noised[offset + j]! / denominator;
    offset += variable.size;
    grads[variable.name] = tf.tensor(mean, variable.shape, 'float32');
  }
  noised.fill(0);
  return { grads, norms, clippedCount };
}
