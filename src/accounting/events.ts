// Privacy events: what an accountant records with `step(event)` and a budget with `spend(event)`,
// and their validation (every bad field throws a PrivkitError naming it).
import { PrivkitError } from '../errors.js';
import { assertInteger, assertNumber, describe } from '../validate.js';

/** One or more DP-SGD steps: the Gaussian mechanism (noise sigma = noiseMultiplier x clip norm) on a subsampled batch. */
export interface SubsampledGaussianEvent {
  mechanism?: 'subsampled-gaussian';
  /** sigma / l2 sensitivity (the clip norm). 0 means no noise (infinite epsilon). */
  noiseMultiplier: number;
  /** q in (0, 1]: the Poisson inclusion probability, or batch size / dataset size without replacement. */
  sampleRate: number;
  /** How many times the step is repeated; a positive integer, 1 by default. */
  steps?: number;
  /** 'poisson' (add/remove neighbours, as Opacus' DPDataLoader) or 'without-replacement' (fixed-size batches, replace-one neighbours). */
  sampling?: 'poisson' | 'without-replacement';
}

/** A released statistic with Gaussian noise: sigma = noiseMultiplier x l2 sensitivity. */
export interface GaussianEvent {
  mechanism: 'gaussian';
  noiseMultiplier: number;
  steps?: number;
}

/** A released statistic with Laplace noise: scale b = noiseMultiplier x l1 sensitivity (pure epsilon = 1 / noiseMultiplier). */
export interface LaplaceEvent {
  mechanism: 'laplace';
  noiseMultiplier: number;
  steps?: number;
}

/** A mechanism known to be rho-zCDP (e.g. the discrete Gaussian, see `discreteGaussianZcdp`). */
export interface ZcdpEvent {
  mechanism: 'zcdp';
  rho: number;
  steps?: number;
}

/**
 * A sum of `clients` integer vectors, each with its own discrete Gaussian noise N_Z(0, localSigma^2)
 * per coordinate (the distributed discrete Gaussian of Kairouz, Liu, Steinke 2021), released through
 * secure aggregation. Every quantity is in quantized (integer) units.
 */
export interface DistributedDiscreteGaussianEvent {
  mechanism: 'distributed-discrete-gaussian';
  /** Standard deviation of one client's noise per coordinate, in quantized units (>= 1/2). */
  localSigma: number;
  /** How many clients' noise is in the released sum (the survivors of secure aggregation). */
  clients: number;
  /** Bound on the l2 norm of one client's quantized vector (add/remove-one sensitivity). */
  l2Sensitivity: number;
  /** Bound on its l1 norm; sqrt(dimension) x l2Sensitivity by default. */
  l1Sensitivity?: number;
  /** Length of the vectors. */
  dimension: number;
  /** Probability that a client takes part in a round; 1 by default. */
  sampleRate?: number;
  sampling?: 'poisson' | 'without-replacement';
  steps?: number;
}

export type PrivacyEvent = SubsampledGaussianEvent | GaussianEvent | LaplaceEvent | ZcdpEvent | DistributedDiscreteGaussianEvent;

/** A validated event with every default filled in. */
export type NormalizedEvent =
  | { mechanism: 'subsampled-gaussian'; noiseMultiplier: number; sampleRate: number; steps: number; sampling: 'poisson' | 'without-replacement' }
  | { mechanism: 'gaussian' | 'laplace'; noiseMultiplier: number; steps: number }
  | { mechanism: 'zcdp'; rho: number; steps: number }
  | {
      mechanism: 'distributed-discrete-gaussian';
      localSigma: number;
      clients: number;
      l2Sensitivity: number;
      l1Sensitivity: number;
      dimension: number;
      sampleRate: number;
      sampling: 'poisson' | 'without-replacement';
      steps: number;
    };

/** An E_ARG error about `argument` (and, for an array, the element at `index`). */
export function argError(argument: string, message: string, index?: number): PrivkitError {
  const where = index === undefined ? argument : `${argument}[${index}]`;
  return new PrivkitError('E_ARG', `${where} ${message}`, index === undefined ? { argument } : { argument, index });
}

export function assertSampleRate(name: string, value: unknown): number {
  const q = assertNumber(name, value, 'positive');
  if (q > 1) throw argError(name, `must be in (0, 1], got ${q}`);
  return q;
}

export function assertDelta(name: string, value: unknown): number {
  const delta = assertNumber(name, value, 'positive');
  if (delta >= 1) throw argError(name, `must be in (0, 1), got ${delta}`);
  return delta;
}

export function assertSteps(name: string, value: unknown): number {
  return assertInteger(name, value, 1);
}

/** Checks an event and fills in its defaults; `name` prefixes the field names in errors (e.g. `event`). */
export function normalizeEvent(event: unknown, name = 'event'): NormalizedEvent {
  if (typeof event !== 'object' || event === null) {
    throw argError(name, `must be an object, got ${describe(event)}`);
  }
  const e = event as Record<string, unknown>;
  const steps = e['steps'] === undefined ? 1 : assertSteps(`${name}.steps`, e['steps']);
  const mechanism = e['mechanism'] ?? 'subsampled-gaussian';
  const sampling = e['sampling'] ?? 'poisson';
  if (sampling !== 'poisson' && sampling !== 'without-replacement') {
    throw argError(`${name}.sampling`, `must be 'poisson' or 'without-replacement', got ${describe(sampling)}`);
  }
  switch (mechanism) {
    case 'subsampled-gaussian': {
      return {
        mechanism: 'subsampled-gaussian',
        noiseMultiplier: assertNumber(`${name}.noiseMultiplier`, e['noiseMultiplier'], 'nonnegative'),
        sampleRate: assertSampleRate(`${name}.sampleRate`, e['sampleRate']),
        steps,
        sampling,
      };
    }
    case 'gaussian':
    case 'laplace':
      return {
        mechanism: mechanism === 'gaussian' ? 'gaussian' : 'laplace',
        noiseMultiplier: assertNumber(`${name}.noiseMultiplier`, e['noiseMultiplier'], 'nonnegative'),
        steps,
      };
    case 'zcdp':
      return { mechanism: 'zcdp', rho: assertNumber(`${name}.rho`, e['rho'], 'nonnegative'), steps };
    case 'distributed-discrete-gaussian': {
      const localSigma = assertNumber(`${name}.localSigma`, e['localSigma'], 'positive');
      if (localSigma < 0.5) throw argError(`${name}.localSigma`, `must be >= 0.5 (KLS21, Prop. 14), got ${localSigma}`);
      const dimension = assertInteger(`${name}.dimension`, e['dimension'], 1);
      const l2Sensitivity = assertNumber(`${name}.l2Sensitivity`, e['l2Sensitivity'], 'nonnegative');
      return {
        mechanism: 'distributed-discrete-gaussian',
        localSigma,
        clients: assertInteger(`${name}.clients`, e['clients'], 1),
        l2Sensitivity,
        l1Sensitivity:
          e['l1Sensitivity'] === undefined
            ? Math.sqrt(dimension) * l2Sensitivity
            : assertNumber(`${name}.l1Sensitivity`, e['l1Sensitivity'], 'nonnegative'),
        dimension,
        sampleRate: e['sampleRate'] === undefined ? 1 : assertSampleRate(`${name}.sampleRate`, e['sampleRate']),
        sampling,
        steps,
      };
    }
    default:
      throw argError(
        `${name}.mechanism`,
        `must be 'subsampled-gaussian', 'gaussian', 'laplace', 'zcdp' or 'distributed-discrete-gaussian', got ${typeof mechanism === 'string' ? `'${mechanism}'` : describe(mechanism)}`,
      );
  }
}
