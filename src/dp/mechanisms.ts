// DP mechanisms that release values: Laplace (pure epsilon-DP) and analytic Gaussian ((epsilon, delta)-DP)
// through the secure lattice noise of secure.ts (Google, "Secure Noise Generation", 2020), with the
// rounding to the lattice charged to the sensitivity; and the exact discrete Gaussian mechanism for
// integer data (Canonne, Kamath, Steinke 2020), which is rho-zCDP with rho = Delta^2 / (2 sigma^2).
// Every mechanism takes an `rng` option; a seeded (reproducible) Rng is for tests only, never for releases.
import { PrivkitError } from '../errors.js';
import { assertNumber, describe } from '../validate.js';
import { analyticGaussianSigma, nextUp } from './calibration.js';
import { discreteGaussianSampler, ExactSource, MAX_DISCRETE_SCALE } from './discrete.js';
import { resolveRng } from './noise.js';
import type { Rng } from './rng.js';
import { gaussianResolution, laplaceResolution, secureGaussian, secureLaplace } from './secure.js';

export interface MechanismOptions {
  /** The generator; default: this thread's CSPRNG. A seeded (reproducible) Rng is for tests only, never for releases. */
  rng?: Rng;
}

export interface LaplaceMechanismOptions extends MechanismOptions {
  /** Privacy parameter epsilon > 0. */
  epsilon: number;
  /** L1 sensitivity Delta > 0: the largest L1 change of the released vector between neighbouring datasets. */
  l1Sensitivity: number;
}

export interface LaplaceMechanism {
  readonly epsilon: number;
  readonly l1Sensitivity: number;
  /** Noise scale b = (Delta + resolution) / epsilon (the rounding to the lattice adds `resolution` to Delta). */
  readonly scale: number;
  /** Lattice step of the released values (a power of two fixed by the scale). */
  readonly resolution: number;
  /** A new array: each value rounded to the lattice plus lattice Laplace noise of scale `scale`. epsilon-DP. */
  release(values: Float64Array): Float64Array;
}

export interface GaussianMechanismOptions extends MechanismOptions {
  /** Privacy parameter epsilon > 0. */
  epsilon: number;
  /** Privacy parameter delta in (0, 1). */
  delta: number;
  /** L2 sensitivity Delta > 0 of the released vector. */
  l2Sensitivity: number;
}

export interface GaussianMechanism {
  readonly epsilon: number;
  readonly delta: number;
  readonly l2Sensitivity: number;
  /** Standard deviation: the analytic Gaussian sigma (Balle and Wang 2018) for sensitivity Delta + resolution. */
  readonly sigma: number;
  /** Lattice step of the released values. */
  readonly resolution: number;
  /** A new array: each value rounded to the lattice plus lattice Gaussian noise of standard deviation `sigma`. */
  release(values: Float64Array): Float64Array;
}

export interface DiscreteGaussianMechanismOptions extends MechanismOptions {
  /** Standard-deviation parameter of the discrete Gaussian (0 < sigma <= 2^24). Give sigma or rho. */
  sigma?: number;
  /** Target zCDP rho > 0: sigma = Delta / sqrt(2 rho), rounded up. Give sigma or rho. */
  rho?: number;
  /** L2 sensitivity Delta > 0 of the integer-valued query (e.g. 1 for a count, sqrt(k) for k counts changing by 1). */
  l2Sensitivity: number;
}

export interface DiscreteGaussianMechanism {
  readonly sigma: number;
  readonly l2Sensitivity: number;
  /** zCDP parameter Delta^2 / (2 sigma^2) (Canonne, Kamath, Steinke 2020, Theorem 14). */
  readonly rho: number;
  /** A new Int32Array: values plus exact discrete Gaussian noise. Requires |values[i]| <= 2^30. */
  release(values: Int32Array): Int32Array;
}

/** Largest |value| the discrete Gaussian mechanism accepts: with sigma <= 2^24, value + noise then stays in Int32. */
export const MAX_DISCRETE_VALUE = 2 ** 30;

function options<T>(opts: T): T {
  if (opts === null || typeof opts !== 'object') {
    throw new PrivkitError('E_ARG', `options must be an object, got ${describe(opts)}`, { argument: 'options' });
  }
  return opts;
}

function checkValues(values: unknown): Float64Array {
  if (!(values instanceof Float64Array)) {
    throw new PrivkitError('E_ARG', `values must be a Float64Array, got ${describe(values)}`, { argument: 'values' });
  }
  return values;
}

/** Delta + r rounded up (never below the exact sum). */
function inflate(sensitivity: number, resolution: number): number {
  return nextUp(sensitivity + resolution);
}

/**
 * Noise scale and lattice step of an epsilon-DP lattice Laplace release: the smallest (up to two ulps)
 * scale b with b >= (Delta + r(b)) / epsilon, r(b) = laplaceResolution(b).
 */
export function calibrateSecureLaplace(epsilon: number, l1Sensitivity: number): { scale: number; resolution: number } {
  const base = l1Sensitivity / epsilon;
  if (!(base >= 2 ** -990 && base <= 2 ** 980)) {
    throw new PrivkitError('E_ARG', `l1Sensitivity / epsilon must be in [2^-990, 2^980], got ${base}`, { argument: 'epsilon' });
  }
  let r = laplaceResolution(base);
  for (;;) {
    const scale = nextUp(inflate(l1Sensitivity, r) / epsilon);
    const next = laplaceResolution(scale);
    if (next === r) return { scale, resolution: r };
    r = next;
  }
}

/** Sigma and lattice step of an (epsilon, delta)-DP lattice Gaussian release: analytic sigma for sensitivity Delta + r(sigma). */
export function calibrateSecureGaussian(
  epsilon: number,
  delta: number,
  l2Sensitivity: number,
): { sigma: number; resolution: number } {
  let sigma = analyticGaussianSigma({ epsilon, delta, l2Sensitivity });
  if (!(sigma >= 2 ** -990 && sigma <= 2 ** 980)) {
    throw new PrivkitError('E_ARG', `the calibrated sigma ${sigma} is outside [2^-990, 2^980]`, { argument: 'epsilon' });
  }
  let r = gaussianResolution(sigma);
  for (;;) {
    sigma = analyticGaussianSigma({ epsilon, delta, l2Sensitivity: inflate(l2Sensitivity, r) });
    const next = gaussianResolution(sigma);
    if (next === r) return { sigma, resolution: r };
    r = next;
  }
}

/**
 * The Laplace mechanism: releases values + Laplace(scale) noise on the lattice of secureLaplace, with
 * scale = (Delta + resolution) / epsilon so that the rounding to the lattice is paid for: epsilon-DP
 * for any query of L1 sensitivity Delta (the resolution is <= 2^-23 scale, so the extra noise is a
 * relative 2^-23 / epsilon at most).
 */
export function laplaceMechanism(opts: LaplaceMechanismOptions): LaplaceMechanism {
  const { epsilon, l1Sensitivity, rng } = options(opts);
  assertNumber('epsilon', epsilon, 'positive');
  assertNumber('l1Sensitivity', l1Sensitivity, 'positive');
  const generator = resolveRng({ rng });
  const { scale, resolution } = calibrateSecureLaplace(epsilon, l1Sensitivity);
  return {
    epsilon,
    l1Sensitivity,
    scale,
    resolution,
    release: (values) => secureLaplace(checkValues(values), scale, { rng: generator }).values,
  };
}

/**
 * The analytic Gaussian mechanism (Balle and Wang 2018): releases values + N(0, sigma^2) noise on the
 * lattice of secureGaussian, sigma calibrated for sensitivity Delta + resolution. (epsilon, delta)-DP
 * for any query of L2 sensitivity Delta, up to the 2^-25 relative pmf error of the lattice Gaussian
 * (see secure.ts).
 */
export function gaussianMechanism(opts: GaussianMechanismOptions): GaussianMechanism {
  const { epsilon, delta, l2Sensitivity, rng } = options(opts);
  assertNumber('epsilon', epsilon, 'positive');
  assertNumber('delta', delta, 'positive');
  if (!(delta < 1)) throw new PrivkitError('E_ARG', `delta must be in (0, 1), got ${delta}`, { argument: 'delta' });
  assertNumber('l2Sensitivity', l2Sensitivity, 'positive');
  const generator = resolveRng({ rng });
  const { sigma, resolution } = calibrateSecureGaussian(epsilon, delta, l2Sensitivity);
  return {
    epsilon,
    delta,
    l2Sensitivity,
    sigma,
    resolution,
    release: (values) => secureGaussian(checkValues(values), sigma, { rng: generator }).values,
  };
}

/**
 * The discrete Gaussian mechanism for integer-valued queries (Canonne, Kamath, Steinke 2020): adds
 * exact discrete Gaussian noise (discreteGaussian) to each value; rho-zCDP with
 * rho = Delta^2 / (2 sigma^2) for L2 sensitivity Delta. Give `sigma` or a target `rho`.
 */
export function discreteGaussianMechanism(opts: DiscreteGaussianMechanismOptions): DiscreteGaussianMechanism {
  const { sigma: givenSigma, rho: givenRho, l2Sensitivity, rng } = options(opts);
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
    sigma = delta / Math.sqrt(2 * rho);
    while ((delta * delta) / (2 * sigma * sigma) > rho) sigma = nextUp(sigma);
    name = 'rho';
  }
  if (!(sigma <= MAX_DISCRETE_SCALE)) {
    throw new PrivkitError('E_ARG', `sigma must be <= 2^24 so that samples fit Int32, got ${sigma}`, { argument: name });
  }
  const generator = resolveRng({ rng });
  return {
    sigma,
    l2Sensitivity: delta,
    rho: (delta * delta) / (2 * sigma * sigma),
    release: (values) => {
      if (!(values instanceof Int32Array)) {
        throw new PrivkitError('E_ARG', `values must be an Int32Array, got ${describe(values)}`, { argument: 'values' });
      }
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
