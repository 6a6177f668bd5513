// Secure noise for released values, after Google's "Secure Noise Generation" (2020): every input is
// rounded to the lattice r Z and integer noise times r is added, so outputs never reveal input bits
// through floating-point effects.
//
// Resolution. r = 2^(ceil(log2(scale)) - 24), a power of two chosen from the noise scale only (never
// from the data); the noise scale in lattice units t = scale / r lies in (2^23, 2^24]. Google uses
// 2^40 (Laplace) and 2^57 (binomial Gaussian); we take 2^24 so that (a) every output is an exact
// double for |value| <= 2^52 r (>= 2^28 scale, e.g. counts up to 2.7e8 at scale 1) instead of
// Google's ~4096 scale, (b) the Gaussian discretization below stays near relative 2^-22 and (c) the
// sensitivity cost r / Delta stays below 2^-23 scale / Delta (about 1.2e-7 scale / Delta).
//
// Output. value -> (nearest(value / r) + Z) r with Z an integer: Laplace, Z two-sided geometric
// (discrete Laplace) with P(Z = z) proportional to exp(-|z| / t), sampled with integer and table
// arithmetic as |Z| = 2^22 Q + R (Q by inversion of a 64-bit uniform against a table of
// exp(-2^22 k / t), R by a uniform proposal accepted with probability exp(-R / t) against a 53-bit
// uniform), with Q's pmf within 5e-16 relative of the ideal (its threshold table is floor(p^k 2^64)
// exactly) and R's acceptance within 7.4e-16 (no log, no continuous intermediate: the pmf is not a
// rounded continuous density); Gaussian, Z = nearest(t N) with N the wasm Ziggurat normal: for an
// integer centre a, nearest(a + t N) = a + Z, so the release is a post-processing (rounding) of the
// continuous Gaussian mechanism on the rounded input, and has its privacy profile and RDP, up to the
// sampler's error (sampler-error.ts): a relative pmf error of about 12.5 t 2^-50 (3.13 x 2^-24 at the
// default 24 bits) for outputs within 16 sigma, and a tail set beyond about 16 sigma of probability
// below 1.4e-57 per coordinate, charged to delta (samplerTailMass). Every step is exact in float64:
// value / r and the product by r are scalings by a power of two, and |nearest(value / r) + Z| < 2^53.
//
// Why this defeats the attacks. Mironov (CCS 2012) shows that value + noise computed in floating
// point has a porous, input-dependent support: many doubles reachable from input 0 are unreachable
// from input 1, and one such output identifies the input. Casacuberta et al. (CCS 2022) show that the
// rounding of floating-point additions leaks in the same way. Here the output is always a point of
// the same lattice r Z whatever the input, every lattice point is reachable, and the probability of
// each output is the integer pmf at (output / r - nearest(value / r)): neighbouring inputs give the
// same support and probability ratios bounded exactly as for the discrete mechanism. No rounding
// happens after the noise is added. (Rounding or reordering inside the computation of the value
// itself, e.g. a float sum, is the caller's to bound: it is part of the sensitivity Delta.)
//
// Privacy cost. |round_r(a) - round_r(b)| <= |a - b| + r for one value (Google's Prop. 1), and
// rounding is per coordinate: for vectors that differ in k coordinates the shift can reach
// Delta_1 + k r in L1 and Delta_2 + r sqrt(k) in L2 (every differing coordinate crossing a rounding
// midpoint the same way; latticeSensitivity). Laplace with scale b is then (Delta_1 + k r) / b-DP,
// i.e. epsilon grows by the factor 1 + k r / Delta_1 <= 1 + k 2^-23 / epsilon. Gaussian: calibrate the
// continuous Gaussian for sensitivity Delta_2 + r sqrt(k). The samplers' pmf errors are charged too
// (samplerSlack, samplerTailMass): over d released coordinates the output's pmf is within e^{+-s} of
// the ideal mechanism's off a tail set of probability at most T, s = d (-log(1 - eta)), T = d tau,
// which turns (epsilon, delta) into (epsilon + 2s, e^s delta + (1 + e^(epsilon + 2s)) T) and adds
// s (2 alpha - 1) / (alpha - 1) to the RDP at order alpha (the tail is added at the conversion).
//
// Limits. scale in [2^-1000, 2^990]; values finite (E_NONFINITE) with |value| <= 2^52 r (E_ARG),
// which keeps value + noise exactly representable on the lattice.
import { nonFiniteError, PrivkitError } from '../errors.js';
import { assertInteger, assertNumber, describe, readOptions } from '../validate.js';
import { nextUp } from './calibration.js';
import { checkTypedArray, currentLength, StagingWindow } from '../wasm/boundary.js';
import { generatorOf, type NoiseKind } from './noise.js';
import type { Rng } from './rng.js';
import { roundedNormalError, slackOf } from './sampler-error.js';
import { dpWasm, type DpExports } from './wasm.js';

/** log2 of the noise scale in lattice units (t = scale / r is in (2^(BITS-1), 2^BITS]). */
export const SECURE_GRANULARITY_BITS = 24;

/**
 * Relative error of one coordinate's Laplace noise pmf against the ideal mechanism: the threshold
 * table and acceptance (5e-16 + 7.4e-16, with 1.7e-16 per restart, rounded up). It has no tail set.
 */
const LAPLACE_PMF_ERROR = 2e-15;

/**
 * The slack s of a release of `coordinates` lattice values (internal): off the tail set
 * ({@link samplerTailMass}), the output's pmf is within a factor e^{+-s} of the ideal mechanism's,
 * s = coordinates x -log(1 - eta). A (epsilon, delta) guarantee of the ideal mechanism becomes
 * (epsilon + 2s, e^s delta) before the tail; RDP at order alpha grows by s (2 alpha - 1) / (alpha - 1).
 */
export function samplerSlack(noise: NoiseKind, coordinates: number): number {
  return noise === 'laplace' ? nextUp(coordinates * slackOf(LAPLACE_PMF_ERROR)) : gaussianSlackAt(SECURE_GRANULARITY_BITS, coordinates);
}

/**
 * The tail mass T of a release of `coordinates` lattice values (internal): the probability of the
 * outputs the slack does not cover (sampler-error.ts), which adds (1 + e^epsilon) T to delta.
 */
export function samplerTailMass(noise: NoiseKind, coordinates: number): number {
  return noise === 'laplace' ? 0 : gaussianTailAt(SECURE_GRANULARITY_BITS, coordinates);
}

/**
 * The slack of {@link gaussianOnLattice} at a granularity of `bits` over `coordinates` coordinates
 * (internal): the rounded Ziggurat normal's pmf error at the largest noise scale in lattice units,
 * t = 2^bits (sampler-error.ts: about 12.5 t 2^-50).
 */
export function gaussianSlackAt(bits: number, coordinates: number): number {
  return nextUp(coordinates * slackOf(roundedNormalError(2 ** checkBits(bits)).pmfError));
}

/**
 * The tail mass of {@link gaussianOnLattice} at a granularity of `bits` over `coordinates`
 * coordinates (internal): at the smallest noise scale in lattice units, t = 2^(bits-1), where the
 * cells reaching past 16 sigma start closest to the centre.
 */
export function gaussianTailAt(bits: number, coordinates: number): number {
  return nextUp(coordinates * roundedNormalError(2 ** (checkBits(bits) - 1)).tailMass);
}

/**
 * The granularity for a Gaussian release of d coordinates (internal): ceil(8 + log2 sqrt(d)) in
 * [12, 24], so that the rounding's r sqrt(d) <= 2^-7 sigma (at most ~0.8% more noise) while the
 * sampler's slack, about 12.5 d 2^(bits-50), stays far below what 24 bits would charge for long vectors.
 */
export function gaussianBitsFor(coordinates: number): number {
  return Math.min(SECURE_GRANULARITY_BITS, Math.max(12, Math.ceil(8 + Math.log2(Math.sqrt(coordinates)))));
}

/**
 * The granularity of a one-shot (epsilon, delta) Gaussian release whose neighbours differ in k
 * coordinates (internal; gaussianMechanism and its callers). Its two charges in epsilon are about
 * epsilon z 2^(1-bits) sqrt(k) for the rounding (z = sigma / Delta) and 24 k 2^(bits-50) for the
 * sampler's slack; at epsilon z ~ 5 (delta 1e-5..1e-6) their sum is smallest at bits ~ 24.4 - log2(k) / 4:
 * 24 bits for one coordinate, 19 for 2^22.
 */
export function gaussianMechanismBits(coordinates: number): number {
  return Math.min(SECURE_GRANULARITY_BITS, Math.max(12, Math.round(24.4 - Math.log2(coordinates) / 4)));
}

/**
 * A Gaussian release of d coordinates at {@link gaussianBitsFor}(d) (internal): its granularity and
 * the sampler's slack and tail mass over the d coordinates, as the accountants' events take them.
 */
export function gaussianLatticeFor(coordinates: number): { bits: number; slack: number; tailMass: number } {
  const bits = gaussianBitsFor(coordinates);
  return { bits, slack: gaussianSlackAt(bits, coordinates), tailMass: gaussianTailAt(bits, coordinates) };
}

/** The lattice step of {@link gaussianOnLattice} for `sigma` at `bits` (internal): 2^(ceil(log2 sigma) - bits). */
export function gaussianResolutionAt(sigma: number, bits: number): number {
  return resolution('sigma', sigma, checkBits(bits));
}

/**
 * secureGaussian at a coarser lattice (internal): t = sigma / r in (2^(bits-1), 2^bits] instead of
 * (2^23, 2^24]. A smaller `bits` charges more lattice rounding (r sqrt(k)) and less sampler slack
 * ({@link gaussianSlackAt}): for a long vector released many times (DP-SGD's gradient) the slack
 * of 24 bits would dominate the privacy cost.
 *
 * @throws {PrivkitError} as secureGaussian; E_ARG when bits is not an integer in [8, 24].
 */
export function gaussianOnLattice(values: Float64Array, sigma: number, bits: number, opts?: SecureNoiseOptions): SecureNoiseResult {
  const { rng } = readOptions(opts, ['rng']);
  const r = resolution('sigma', sigma, checkBits(bits));
  const t = sigma / r;
  return lattice(values, r, rng, (kernels, g, ptr, count, bound) => kernels.secureGaussianLattice(g, ptr, count, r, t, bound));
}

function checkBits(bits: number): number {
  return assertInteger('bits', bits, 8, SECURE_GRANULARITY_BITS);
}
const MIN_SCALE = 2 ** -1000;
const MAX_SCALE = 2 ** 990;
/**
 * log2 of M, the block of the geometric split G = M Q + R: M = 2^22, so M / t is in [1/4, 1/2) (the
 * uniform proposal for R is accepted with probability >= 79%; Q is usually below 16, the size of the
 * kernel's branch-free comparison; the kernel needs M <= 2^23).
 */
const GEOMETRIC_BLOCK_BITS = SECURE_GRANULARITY_BITS - 2;

/** Options of {@link secureLaplace} and {@link secureGaussian}. */
export interface SecureNoiseOptions {
  /** The generator; default: this thread's CSPRNG. A seeded Rng is reproducible and not for releases. */
  rng?: Rng;
}

/** A release of {@link secureLaplace} or {@link secureGaussian}. */
export interface SecureNoiseResult {
  /** New array: each input rounded to a multiple of `resolution`, plus integer noise times `resolution`. */
  values: Float64Array;
  /** The lattice step r (a power of two, a function of the scale only). */
  resolution: number;
}

/**
 * The lattice step of secureLaplace for `scale`: 2^(ceil(log2 scale) - 24).
 *
 * @throws {PrivkitError} E_ARG when scale is not finite or outside [2^-1000, 2^990].
 */
export function laplaceResolution(scale: number): number {
  return resolution('scale', scale);
}

/**
 * The lattice step of secureGaussian for `sigma`: 2^(ceil(log2 sigma) - 24).
 *
 * @throws {PrivkitError} E_ARG when sigma is not finite or outside [2^-1000, 2^990].
 */
export function gaussianResolution(sigma: number): number {
  return resolution('sigma', sigma);
}

/**
 * The largest |value| the secure samplers accept for noise scale `scale`: 2^52 times the resolution.
 *
 * @throws {PrivkitError} E_ARG when scale is not finite or outside [2^-1000, 2^990].
 */
export function secureValueBound(scale: number): number {
  return 2 ** 52 * resolution('scale', scale);
}

/**
 * The sensitivity to charge for a release through the lattice of step `resolution` (internal: not part
 * of the public API). Rounding moves each coordinate by at most r/2 and leaves a coordinate on which
 * neighbouring inputs agree unchanged, so if they differ in at most `coordinates` coordinates (the
 * vector length, or a smaller public bound: 1 for a histogram under add/remove) the rounded vectors
 * differ by at most Delta + k r in L1 ('laplace': Delta the L1 sensitivity) and Delta + r sqrt(k) in
 * L2 ('gaussian': Delta the L2 sensitivity; triangle inequality with the rounding errors, each
 * below r per coordinate). Both are attained up to o(r) by neighbours whose differing coordinates
 * all cross a rounding midpoint the same way. Rounded up: never below the exact bound.
 */
export function latticeSensitivity(noise: NoiseKind, sensitivity: number, coordinates: number, resolution: number): number {
  assertNumber('sensitivity', sensitivity, 'positive');
  const k = assertInteger('coordinates', coordinates, 1);
  assertNumber('resolution', resolution, 'positive');
  let charged: number;
  if (noise === 'laplace') charged = nextUp(sensitivity + nextUp(k * resolution));
  else if (noise === 'gaussian') charged = nextUp(sensitivity + nextUp(resolution * nextUp(Math.sqrt(k))));
  else throw new PrivkitError('E_ARG', `noise must be 'laplace' or 'gaussian', got ${describe(noise)}`, { argument: 'noise' });
  if (!Number.isFinite(charged)) {
    throw new PrivkitError('E_OVERFLOW', `the charged sensitivity of ${k} coordinates at resolution ${resolution} overflows`, {
      argument: 'sensitivity',
    });
  }
  return charged;
}

/**
 * Laplace noise of scale `scale` on the lattice: returns new values
 * (nearest(v / r) + Z) r with Z two-sided geometric, P(Z = z) proportional to exp(-|z| r / scale).
 * With L1 sensitivity Delta over vectors differing in k coordinates this is (Delta + k r) / scale-DP
 * (see latticeSensitivity). Resists the floating-point attacks on textbook Laplace noise (Mironov 2012):
 * use it for values that are released.
 *
 * @param values - the exact values to release (not modified).
 * @param scale - the Laplace scale b, in [2^-1000, 2^990].
 * @returns new noised values and the lattice step r = {@link laplaceResolution}(scale).
 * @throws {PrivkitError} E_ARG when values is not an attached Float64Array, scale is not finite or outside [2^-1000, 2^990], a value exceeds {@link secureValueBound}(scale) in magnitude, or opts.rng is not an Rng from createRng.
 * @throws {PrivkitError} E_NONFINITE when values holds NaN or +-Infinity.
 * @throws {PrivkitError} E_SHAPE when values' buffer is resized or detached during the call.
 * @throws {PrivkitError} E_NOT_READY before `await ready()`.
 *
 * @example
 * ```ts
 * import { ready } from 'privkit';
 * import { secureLaplace } from 'privkit/dp';
 * await ready();
 * const counts = new Float64Array([1200, 37, 5]); // a histogram: L1 sensitivity 1 under add/remove
 * const epsilon = 1;
 * const { values, resolution } = secureLaplace(counts, 1 / epsilon); // costs (1 + resolution) / scale
 * ```
 */
export function secureLaplace(values: Float64Array, scale: number, opts?: SecureNoiseOptions): SecureNoiseResult {
  const { rng } = readOptions(opts, ['rng']);
  const r = resolution('scale', scale);
  const t = scale / r;
  return lattice(values, r, rng, (kernels, g, ptr, count, bound) =>
    kernels.secureLaplaceLattice(g, ptr, count, r, t, bound, GEOMETRIC_BLOCK_BITS),
  );
}

/**
 * Gaussian noise of standard deviation `sigma` on the lattice: returns new values
 * (nearest(v / r) + Z) r with Z a discrete Gaussian of standard deviation sigma / r (see the file header).
 * Calibrate sigma for the L2 sensitivity Delta + r sqrt(k) of vectors differing in k coordinates.
 *
 * @param values - the exact values to release (not modified).
 * @param sigma - the standard deviation, in [2^-1000, 2^990].
 * @returns new noised values and the lattice step r = {@link gaussianResolution}(sigma).
 * @throws {PrivkitError} E_ARG when values is not an attached Float64Array, sigma is not finite or outside [2^-1000, 2^990], a value exceeds {@link secureValueBound}(sigma) in magnitude, or opts.rng is not an Rng from createRng.
 * @throws {PrivkitError} E_NONFINITE when values holds NaN or +-Infinity.
 * @throws {PrivkitError} E_SHAPE when values' buffer is resized or detached during the call.
 * @throws {PrivkitError} E_NOT_READY before `await ready()`.
 *
 * @example
 * ```ts
 * import { ready } from 'privkit';
 * import { analyticGaussianSigma, secureGaussian } from 'privkit/dp';
 * await ready();
 * const sums = new Float64Array([12.5, -3.25]); // L2 sensitivity 1
 * const sigma = analyticGaussianSigma({ epsilon: 1, delta: 1e-6, l2Sensitivity: 1 });
 * const { values } = secureGaussian(sums, sigma);
 * ```
 */
export function secureGaussian(values: Float64Array, sigma: number, opts?: SecureNoiseOptions): SecureNoiseResult {
  return gaussianOnLattice(values, sigma, SECURE_GRANULARITY_BITS, opts);
}

function resolution(name: string, scale: number, bits = SECURE_GRANULARITY_BITS): number {
  assertNumber(name, scale, 'positive');
  if (scale < MIN_SCALE || scale > MAX_SCALE) {
    throw new PrivkitError('E_ARG', `${name} must be in [2^-1000, 2^990] for secure noise, got ${scale}`, { argument: name });
  }
  // ceil(log2(scale)), corrected for any rounding of Math.log2.
  let e = Math.ceil(Math.log2(scale));
  while (2 ** e < scale) e++;
  while (2 ** (e - 1) >= scale) e--;
  return 2 ** (e - bits);
}

/** The lattice release of `values` with the `rng` option already read (see the file header). */
function lattice(
  values: Float64Array,
  r: number,
  rngOption: unknown,
  kernel: (kernels: DpExports, g: number, ptr: number, count: number, bound: number) => number,
): SecureNoiseResult {
  checkTypedArray('values', values, ['Float64Array']);
  const rng = generatorOf(rngOption);
  const bound = 2 ** 52 * r;
  const length = currentLength(values);
  const out = new Float64Array(length);
  if (length === 0) return { values: out, resolution: r };
  // Chunks of `values` go straight into a window of wasm memory (secret: it holds inputs plus
  // noise) and the results into `out` (one copy each way; no intermediate copy of the input).
  rng.withGenerator(dpWasm, (kernels, g, arena) => {
    const io = { input: { array: values, name: 'values' }, output: { array: out, name: 'out' } };
    new StagingWindow(arena, 8, length, true).stream(length, io, (ptr, count, start) => {
      const bad = kernel(kernels, g, ptr, count, bound);
      if (bad >= 0) {
        const index = start + bad;
        const value = values[index]!;
        if (!Number.isFinite(value)) throw nonFiniteError('values', index, value);
        throw new PrivkitError(
          'E_ARG',
          `|values[${index}]| (${value}) exceeds 2^52 x resolution (${bound}); larger values are not exact on the lattice`,
          { argument: 'values', index },
        );
      }
    });
  });
  return { values: out, resolution: r };
}
