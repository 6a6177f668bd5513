// DP mechanisms that release values: Laplace (pure epsilon-DP) and analytic Gaussian ((epsilon, delta)-DP)
// through the secure lattice noise of secure.ts (Google, "Secure Noise Generation", 2020), with the
// rounding of every coordinate to the lattice charged to the sensitivity (latticeSensitivity); and
// the exact discrete Gaussian mechanism for integer data (Canonne, Kamath, Steinke 2020), which is
// rho-zCDP with rho = Delta^2 / (2 sigma^2).
// Every mechanism takes an `rng` option; a seeded (reproducible) Rng is for tests only, never for releases.
import { PrivkitError } from '../errors.js';
import { assertInteger, assertNumber, readOptions } from '../validate.js';
import { checkTypedArray } from '../wasm/boundary.js';
import { analyticGaussianSigma, nextUp } from './calibration.js';
import { discreteGaussianSampler, ExactSource, MAX_DISCRETE_SCALE } from './discrete.js';
import { MAX_NOISE_LENGTH, resolveRng, type NoiseKind } from './noise.js';
import { tailDelta } from './sampler-error.js';
import type { Rng } from './rng.js';
import { gaussianMechanismBits, gaussianOnLattice, gaussianResolutionAt, gaussianSlackAt, gaussianTailAt, laplaceResolution, latticeSensitivity, samplerSlack, secureLaplace } from './secure.js';

/** The generator option every mechanism takes. */
export interface MechanismOptions {
  /** The generator; default: this thread's CSPRNG. A seeded (reproducible) Rng is for tests only, never for releases. */
  rng?: Rng;
}

/** Options of {@link laplaceMechanism}. */
export interface LaplaceMechanismOptions extends MechanismOptions {
  /** Privacy parameter epsilon > 0. */
  epsilon: number;
  /** L1 sensitivity Delta > 0: the largest L1 change of the released vector between neighbouring datasets. */
  l1Sensitivity: number;
  /**
   * The longest vector `release` takes (default 1): each coordinate is rounded to the lattice, which
   * can add the resolution to each coordinate's change, so dimension x resolution is charged to Delta.
   */
  dimension?: number;
}

/** A calibrated Laplace mechanism made by {@link laplaceMechanism}. */
export interface LaplaceMechanism {
  /** The epsilon every release satisfies (pure epsilon-DP). */
  readonly epsilon: number;
  /** The L1 sensitivity Delta it was calibrated for. */
  readonly l1Sensitivity: number;
  /** The longest vector `release` takes. */
  readonly dimension: number;
  /** Noise scale b = (Delta + dimension x resolution) / epsilon (the rounding to the lattice is charged to Delta). */
  readonly scale: number;
  /** Lattice step of the released values (a power of two fixed by the scale). */
  readonly resolution: number;
  /**
   * A new array: each value rounded to the lattice plus lattice Laplace noise of scale `scale`. epsilon-DP. At most `dimension` values.
   *
   * @throws {PrivkitError} E_ARG when values is not a Float64Array or a value exceeds 2^52 x resolution in magnitude.
   * @throws {PrivkitError} E_SHAPE when values has more than `dimension` coordinates.
   * @throws {PrivkitError} E_NONFINITE when values holds NaN or +-Infinity.
   * @throws {PrivkitError} E_NOT_READY before `await ready()`.
   */
  release(values: Float64Array): Float64Array;
}

/** Options of {@link gaussianMechanism}. */
export interface GaussianMechanismOptions extends MechanismOptions {
  /** Privacy parameter epsilon > 0. */
  epsilon: number;
  /** Privacy parameter delta in (0, 1). */
  delta: number;
  /** L2 sensitivity Delta > 0 of the released vector. */
  l2Sensitivity: number;
  /** The longest vector `release` takes (default 1): resolution x sqrt(dimension) is charged to Delta (see LaplaceMechanismOptions). */
  dimension?: number;
}

/** A calibrated Gaussian mechanism made by {@link gaussianMechanism}. */
export interface GaussianMechanism {
  /** The epsilon of the (epsilon, delta)-DP guarantee of every release. */
  readonly epsilon: number;
  /** The delta of the (epsilon, delta)-DP guarantee of every release. */
  readonly delta: number;
  /** The L2 sensitivity Delta it was calibrated for. */
  readonly l2Sensitivity: number;
  /** The longest vector `release` takes. */
  readonly dimension: number;
  /** Standard deviation: the analytic Gaussian sigma (Balle and Wang 2018) for sensitivity Delta + resolution x sqrt(dimension). */
  readonly sigma: number;
  /** Lattice step of the released values. */
  readonly resolution: number;
  /**
   * A new array: each value rounded to the lattice plus lattice Gaussian noise of standard deviation `sigma`. At most `dimension` values.
   *
   * @throws {PrivkitError} E_ARG when values is not a Float64Array or a value exceeds 2^52 x resolution in magnitude.
   * @throws {PrivkitError} E_SHAPE when values has more than `dimension` coordinates.
   * @throws {PrivkitError} E_NONFINITE when values holds NaN or +-Infinity.
   * @throws {PrivkitError} E_NOT_READY before `await ready()`.
   */
  release(values: Float64Array): Float64Array;
}

/** Options of {@link discreteGaussianMechanism}: the L2 sensitivity and either `sigma` or `rho`. */
export interface DiscreteGaussianMechanismOptions extends MechanismOptions {
  /** Standard-deviation parameter of the discrete Gaussian (0 < sigma <= 2^24). Give sigma or rho. */
  sigma?: number;
  /** Target zCDP rho > 0: sigma = Delta / sqrt(2 rho), rounded up. Give sigma or rho. */
  rho?: number;
  /** L2 sensitivity Delta > 0 of the integer-valued query (e.g. 1 for a count, sqrt(k) for k counts changing by 1). */
  l2Sensitivity: number;
}

/** A calibrated discrete Gaussian mechanism made by {@link discreteGaussianMechanism}. */
export interface DiscreteGaussianMechanism {
  /** The sigma parameter of the discrete Gaussian noise (given, or derived from rho and rounded up). */
  readonly sigma: number;
  /** The L2 sensitivity Delta of the integer query. */
  readonly l2Sensitivity: number;
  /** zCDP parameter Delta^2 / (2 sigma^2) (Canonne, Kamath, Steinke 2020, Theorem 14). */
  readonly rho: number;
  /**
   * A new Int32Array: values plus exact discrete Gaussian noise. Requires |values[i]| <= 2^30.
   *
   * @throws {PrivkitError} E_ARG when values is not an Int32Array or a value exceeds 2^30 in magnitude (`index` names it).
   * @throws {PrivkitError} E_OVERFLOW when a noised value leaves the Int32 range (probability < 2^-1000).
   * @throws {PrivkitError} E_NOT_READY before `await ready()`.
   */
  release(values: Int32Array): Int32Array;
}

/** Largest |value| the discrete Gaussian mechanism accepts: with sigma <= 2^24, value + noise then stays in Int32. */
export const MAX_DISCRETE_VALUE = 2 ** 30;

function checkValues(value: unknown, dimension: number): Float64Array {
  const values = checkTypedArray('values', value, ['Float64Array']);
  if (values.length > dimension) {
    throw new PrivkitError(
      'E_SHAPE',
      `values has ${values.length} coordinates but the mechanism was calibrated for dimension ${dimension} (the lattice rounding of every coordinate is charged)`,
      { argument: 'values' },
    );
  }
  return values;
}

/** Most doublings of the lattice step while the charged rounding feeds back into the scale. */
const MAX_LATTICE_STEPS = 64;

/**
 * The scale (and its lattice step r = resolutionOf(scale)) of a lattice release whose scale depends on
 * the charged sensitivity latticeSensitivity(noise, Delta, coordinates, r): starting from the step of
 * the uncharged scale, r can only grow (a larger r charges more, giving a larger scale and step), so
 * the first r that reproduces itself is the smallest consistent one. When the charge k r grows as
 * fast as the scale (too many coordinates for this epsilon) no r does: E_ARG.
 */
function latticeCalibration(
  noise: NoiseKind,
  sensitivity: number,
  coordinates: number,
  scaleFor: (charged: number) => number,
  resolutionOf: (scale: number) => number,
): { scale: number; resolution: number } {
  let r = resolutionOf(scaleFor(sensitivity));
  for (let step = 0; step < MAX_LATTICE_STEPS; step++) {
    const scale = scaleFor(latticeSensitivity(noise, sensitivity, coordinates, r));
    const next = resolutionOf(scale);
    if (next <= r) return { scale, resolution: next };
    r = next;
  }
  throw new PrivkitError(
    'E_ARG',
    `epsilon is too small for ${coordinates} coordinate(s) on the lattice: rounding each to a step of ~2^-24 noise scales would cost more than the noise covers`,
    { argument: coordinates === 1 ? 'epsilon' : 'dimension' },
  );
}

/** epsilon does not cover twice the samplers' pmf slack (or delta its tail) over this many coordinates (named as latticeCalibration names them). */
function slackError(epsilon: number, coordinates: number): PrivkitError {
  return new PrivkitError(
    'E_ARG',
    `epsilon ${epsilon} (or delta) does not cover the noise sampler's error over ${coordinates} coordinate(s) (twice samplerSlack, and samplerTailMass): raise epsilon or release fewer coordinates`,
    { argument: coordinates === 1 ? 'epsilon' : 'dimension' },
  );
}

/**
 * Noise scale and lattice step of an epsilon-DP lattice Laplace release of vectors that differ in at
 * most `coordinates` coordinates: the smallest scale b (up to two ulps) with
 * b >= (Delta + coordinates r(b)) / epsilon, r(b) = laplaceResolution(b).
 */
export function calibrateSecureLaplace(
  epsilon: number,
  l1Sensitivity: number,
  coordinates = 1,
): { scale: number; resolution: number } {
  const base = l1Sensitivity / epsilon;
  if (!(base >= 2 ** -990 && base <= 2 ** 980)) {
    throw new PrivkitError('E_ARG', `l1Sensitivity / epsilon must be in [2^-990, 2^980], got ${base}`, { argument: 'epsilon' });
  }
  // The sampler's pmf slack s costs 2s of epsilon (samplerSlack): calibrate the ideal mechanism for epsilon - 2s.
  const ideal = epsilon - 2 * samplerSlack('laplace', coordinates);
  if (!(ideal > 0)) throw slackError(epsilon, coordinates);
  return latticeCalibration('laplace', l1Sensitivity, coordinates, (charged) => nextUp(charged / ideal), laplaceResolution);
}

/**
 * Sigma, lattice step and granularity of an (epsilon, delta)-DP lattice Gaussian release (gaussianOnLattice
 * at `bits`) of vectors that differ in at most `coordinates` coordinates: the analytic sigma for
 * sensitivity Delta + r(sigma) sqrt(coordinates).
 */
export function calibrateSecureGaussian(
  epsilon: number,
  delta: number,
  l2Sensitivity: number,
  coordinates = 1,
): { sigma: number; resolution: number; bits: number } {
  // The lattice's granularity for this many differing coordinates (gaussianMechanismBits), and the sampler's
  // pmf slack s and tail mass T there: the ideal mechanism at (epsilon - 2s, e^-s (delta - (1 + e^epsilon) T))
  // is (epsilon, delta) here (sampler-error.ts).
  const bits = gaussianMechanismBits(coordinates);
  const slack = gaussianSlackAt(bits, coordinates);
  const tail = tailDelta(epsilon, gaussianTailAt(bits, coordinates));
  const ideal = { epsilon: epsilon - 2 * slack, delta: (delta - tail) * Math.exp(-slack) * (1 - 1e-15) };
  if (!(ideal.epsilon > 0) || !(ideal.delta > 0)) throw slackError(epsilon, coordinates);
  const sigmaFor = (charged: number) => {
    const sigma = analyticGaussianSigma({ ...ideal, l2Sensitivity: charged });
    if (!(sigma >= 2 ** -990 && sigma <= 2 ** 980)) {
      throw new PrivkitError('E_ARG', `the calibrated sigma ${sigma} is outside [2^-990, 2^980]`, { argument: 'epsilon' });
    }
    return sigma;
  };
  const { scale, resolution } = latticeCalibration('gaussian', l2Sensitivity, coordinates, sigmaFor, (sigma) => gaussianResolutionAt(sigma, bits));
  return { sigma: scale, resolution, bits };
}

/**
 * The Laplace mechanism: releases values + Laplace(scale) noise on the lattice of secureLaplace, with
 * scale = (Delta + dimension x resolution) / epsilon so that the rounding of every coordinate to the
 * lattice is paid for: epsilon-DP for any query of L1 sensitivity Delta with at most `dimension`
 * values (the resolution is <= 2^-23 scale, so the extra noise is a relative dimension x 2^-23 / epsilon at most).
 *
 * @throws {PrivkitError} E_ARG when opts is not an object, epsilon or l1Sensitivity is not finite and > 0, l1Sensitivity / epsilon is outside [2^-990, 2^980], dimension is not an integer in [1, 2^28], epsilon is too small for the lattice rounding of `dimension` coordinates, or opts.rng is not an Rng from createRng.
 *
 * @example
 * ```ts
 * import { ready } from 'privkit';
 * import { laplaceMechanism } from 'privkit/dp';
 * await ready();
 * const counts = laplaceMechanism({ epsilon: 0.5, l1Sensitivity: 1, dimension: 3 });
 * const released = counts.release(new Float64Array([1200, 37, 5])); // scale ~ 2
 * ```
 */
export function laplaceMechanism(opts: LaplaceMechanismOptions): LaplaceMechanism {
  const o = readOptions(opts, ['epsilon', 'l1Sensitivity', 'dimension', 'rng'], 'opts', true);
  const epsilon = assertNumber('epsilon', o.epsilon, 'positive');
  const l1Sensitivity = assertNumber('l1Sensitivity', o.l1Sensitivity, 'positive');
  const { dimension: givenDimension, rng } = o;
  const dimension = checkDimension(givenDimension);
  const generator = resolveRng({ rng });
  const { scale, resolution } = calibrateSecureLaplace(epsilon, l1Sensitivity, dimension);
  return {
    epsilon,
    l1Sensitivity,
    dimension,
    scale,
    resolution,
    release: (values) => secureLaplace(checkValues(values, dimension), scale, { rng: generator }).values,
  };
}

/**
 * The analytic Gaussian mechanism (Balle and Wang 2018): releases values + N(0, sigma^2) noise on the
 * lattice of secureGaussian, sigma calibrated for sensitivity Delta + resolution x sqrt(dimension).
 * (epsilon, delta)-DP for any query of L2 sensitivity Delta with at most `dimension` values, up to
 * the lattice Gaussian's sampler error, which the calibration pays for (samplerSlack, samplerTailMass; see secure.ts).
 *
 * @throws {PrivkitError} E_ARG when opts is not an object, epsilon or l2Sensitivity is not finite and > 0, delta is not in (0, 1), dimension is not an integer in [1, 2^28], the calibrated sigma is outside [2^-990, 2^980], epsilon is too small for the lattice rounding of `dimension` coordinates, or opts.rng is not an Rng from createRng.
 *
 * @example
 * ```ts
 * import { ready } from 'privkit';
 * import { gaussianMechanism } from 'privkit/dp';
 * await ready();
 * const mechanism = gaussianMechanism({ epsilon: 1, delta: 1e-6, l2Sensitivity: 1, dimension: 2 });
 * console.log(mechanism.sigma);
 * const released = mechanism.release(new Float64Array([0.25, -1.5]));
 * ```
 */
export function gaussianMechanism(opts: GaussianMechanismOptions): GaussianMechanism {
  const o = readOptions(opts, ['epsilon', 'delta', 'l2Sensitivity', 'dimension', 'rng'], 'opts', true);
  const epsilon = assertNumber('epsilon', o.epsilon, 'positive');
  const delta = assertNumber('delta', o.delta, 'positive');
  if (!(delta < 1)) throw new PrivkitError('E_ARG', `delta must be in (0, 1), got ${delta}`, { argument: 'delta' });
  const l2Sensitivity = assertNumber('l2Sensitivity', o.l2Sensitivity, 'positive');
  const { dimension: givenDimension, rng } = o;
  const dimension = checkDimension(givenDimension);
  const generator = resolveRng({ rng });
  const { sigma, resolution, bits } = calibrateSecureGaussian(epsilon, delta, l2Sensitivity, dimension);
  return {
    epsilon,
    delta,
    l2Sensitivity,
    dimension,
    sigma,
    resolution,
    release: (values) => gaussianOnLattice(checkValues(values, dimension), sigma, bits, { rng: generator }).values,
  };
}

/** The `dimension` option: an integer in [1, 2^31 - 1], 1 by default. */
function checkDimension(dimension: unknown): number {
  if (dimension === undefined) return 1;
  const k = assertInteger('dimension', dimension, 1);
  if (k > MAX_NOISE_LENGTH) throw new PrivkitError('E_ARG', `dimension must be <= ${MAX_NOISE_LENGTH}, got ${k}`, { argument: 'dimension' });
  return k;
}

/** The zCDP of the discrete Gaussian, (Delta / sigma)^2 / 2, as a ratio so Delta^2 and sigma^2 cannot under- or overflow alone. */
function zcdpOf(sensitivity: number, sigma: number): number {
  const ratio = sensitivity / sigma;
  return (ratio * ratio) / 2;
}

/**
 * The discrete Gaussian mechanism for integer-valued queries (Canonne, Kamath, Steinke 2020): adds
 * exact discrete Gaussian noise (discreteGaussian) to each value; rho-zCDP with
 * rho = Delta^2 / (2 sigma^2) for L2 sensitivity Delta. Give `sigma` or a target `rho`.
 *
 * @throws {PrivkitError} E_ARG when opts is not an object, l2Sensitivity is not finite and > 0, both or neither of sigma and rho are given, either is not finite and > 0, sigma (given or derived) exceeds 2^24, rho falls out of the double range, or opts.rng is not an Rng from createRng.
 *
 * @example
 * ```ts
 * import { ready } from 'privkit';
 * import { discreteGaussianMechanism } from 'privkit/dp';
 * import { zcdpToEpsilon } from 'privkit/accounting';
 * await ready();
 * const mechanism = discreteGaussianMechanism({ rho: 0.125, l2Sensitivity: 1 }); // sigma = 2
 * const released = mechanism.release(new Int32Array([42, 7, 0]));
 * const { epsilon } = zcdpToEpsilon(mechanism.rho, 1e-6);
 * ```
 */
export function discreteGaussianMechanism(opts: DiscreteGaussianMechanismOptions): DiscreteGaussianMechanism {
  const { sigma: givenSigma, rho: givenRho, l2Sensitivity, rng } = readOptions(opts, ['sigma', 'rho', 'l2Sensitivity', 'rng'], 'opts', true);
  const delta = assertNumber('l2Sensitivity', l2Sensitivity, 'positive');
  let sigma: number;
  let name: 'sigma' | 'rho';
  if (givenSigma !== undefined) {
    if (givenRho !== undefined) {
      throw new PrivkitError('E_ARG', 'give either sigma or rho, not both', { argument: 'rho' });
    }
    sigma = assertNumber('sigma', givenSigma, 'positive');
    name = 'sigma';
  } else {
    if (givenRho === undefined) throw new PrivkitError('E_ARG', 'sigma or rho is required', { argument: 'sigma' });
    const rho = assertNumber('rho', givenRho, 'positive');
    // sqrt(2) sqrt(rho): no overflow; the rounding is fixed by a few ulps upwards
    sigma = delta / (Math.SQRT2 * Math.sqrt(rho));
    for (let step = 0; !(sigma > 0 && zcdpOf(delta, sigma) <= rho); step++) {
      if (step === 64) throw new PrivkitError('E_ARG', `rho ${rho} is too large for l2Sensitivity ${delta}`, { argument: 'rho' });
      sigma = sigma > 0 ? nextUp(sigma) : Number.MIN_VALUE;
    }
    name = 'rho';
  }
  if (!(sigma <= MAX_DISCRETE_SCALE)) {
    throw new PrivkitError('E_ARG', `sigma must be <= 2^24 so that samples fit Int32, got ${sigma}`, { argument: name });
  }
  const rho = zcdpOf(delta, sigma);
  if (!(rho >= 2 ** -1022 && rho < Infinity)) {
    throw new PrivkitError('E_ARG', `rho = (l2Sensitivity / sigma)^2 / 2 = ${rho} is out of the double range`, { argument: name });
  }
  const generator = resolveRng({ rng });
  return {
    sigma,
    l2Sensitivity: delta,
    rho,
    release: (values) => {
      checkTypedArray('values', values, ['Int32Array']);
      for (let i = 0; i < values.length; i++) {
        if (Math.abs(values[i]!) > MAX_DISCRETE_VALUE) {
          throw new PrivkitError('E_ARG', `|values[${i}]| (${values[i]}) exceeds 2^30`, { argument: 'values', index: i });
        }
      }
      const sample = discreteGaussianSampler(sigma, new ExactSource(generator, values.length * 12));
      const out = new Int32Array(values.length);
      for (let i = 0; i < values.length; i++) {
        const v = values[i]! + sample();
        if (v > 0x7fffffff || v < -0x80000000) {
          throw new PrivkitError('E_OVERFLOW', `values[${i}] plus noise left the Int32 range (probability < 2^-1000)`, {
            argument: 'values',
            index: i,
          });
        }
        out[i] = v;
      }
      return out;
    },
  };
}
