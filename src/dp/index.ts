// privkit/dp: randomness and noise for differential privacy.
export { createRng, MAX_RNG_LENGTH } from './rng.js';
export type { Rng, RngOptions } from './rng.js';
export { discreteLaplace, discreteGaussian, bernoulliExp, uniformBelow, MAX_DISCRETE_SCALE } from './discrete.js';
export type { DiscreteOptions, DiscreteGaussianOptions } from './discrete.js';
export { gaussianNoise, laplaceNoise, addGaussianNoise, addLaplaceNoise, MAX_NOISE_LENGTH } from './noise.js';
export type { NoiseOptions, AddNoiseOptions, NoiseDtype } from './noise.js';
export { secureLaplace, secureGaussian, laplaceResolution, gaussianResolution, secureValueBound, SECURE_GRANULARITY_BITS } from './secure.js';
export type { SecureNoiseOptions, SecureNoiseResult } from './secure.js';
export { analyticGaussianSigma, classicGaussianSigma, gaussianDelta } from './calibration.js';
export { erfc, erfcx, normalCdf } from '../math/public.js';
export type { GaussianCalibration } from './calibration.js';
export { laplaceMechanism, gaussianMechanism, discreteGaussianMechanism, MAX_DISCRETE_VALUE } from './mechanisms.js';
export type {
  MechanismOptions,
  LaplaceMechanism,
  LaplaceMechanismOptions,
  GaussianMechanism,
  GaussianMechanismOptions,
  DiscreteGaussianMechanism,
  DiscreteGaussianMechanismOptions,
} from './mechanisms.js';
export { dpCount, dpSum, dpMean, dpHistogram, exactSum, MAX_RECORDS } from './aggregates.js';
export type { AggregateOptions, BoundedOptions, HistogramOptions, DpHistogram } from './aggregates.js';
export { exponentialMechanism } from './exponential.js';
export type { ExponentialMechanismOptions } from './exponential.js';
