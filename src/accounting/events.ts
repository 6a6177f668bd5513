// Privacy events: what an accountant records with `step(event)` and a budget with `spend(event)`,
// and their validation (every bad field throws a PrivkitError naming it).
import { PrivkitError } from '../errors.js';
import { assertInteger, assertNumber, describe } from '../validate.js';

/** One or more DP-SGD steps: the Gaussian mechanism (noise sigma = noiseMultiplier x clip norm) on a subsampled batch. */
export interface SubsampledGaussianEvent {
  mechanism?: 'subsampled-gaussian';
  /**
   * sigma / l2 sensitivity. 0 means no noise (infinite epsilon). With Poisson sampling (add/remove
   * neighbours) the sensitivity of a sum of clipped terms is the clip norm C; without replacement
   * (replace-one neighbours) it is 2C, so pass sigma / (2C) there.
   */
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
  /**
   * l2 sensitivity of the sum: a bound on one client's quantized vector under add/remove neighbours
   * (Poisson sampling), twice that under replace-one (sampling without replacement; see
   * subsampledDistributedEvent).
   */
  l2Sensitivity: number;
  /** l1 sensitivity, in [l2Sensitivity, sqrt(dimension) x l2Sensitivity]; the upper end by default. */
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
        l1Sensitivity: l1Sensitivity(name, e['l1Sensitivity'], l2Sensitivity, dimension),
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

/** The l1 sensitivity of a distributed discrete Gaussian event: l2 <= l1 <= sqrt(d) l2 for any vector. */
function l1Sensitivity(name: string, value: unknown, l2: number, dimension: number): number {
  const most = Math.sqrt(dimension) * l2;
  if (value === undefined) return most;
  const l1 = assertNumber(`${name}.l1Sensitivity`, value, 'nonnegative');
  if (l1 < l2) throw argError(`${name}.l1Sensitivity`, `must be >= l2Sensitivity (${l2}), got ${l1}`);
  return Math.min(l1, most);
}

/**
 * The accounting event of one round of a distributed discrete Gaussian release (`release`: its noise,
 * clients and add/remove sensitivities) whose clients were sampled at rate q: under sampling without
 * replacement the neighbours replace one client, so both sensitivities double (the difference of two
 * clients' vectors).
 */
export function subsampledDistributedEvent(
  release: Omit<DistributedDiscreteGaussianEvent, 'sampleRate' | 'sampling' | 'steps' | 'mechanism'>,
  sampleRate: number,
  sampling: 'poisson' | 'without-replacement',
): DistributedDiscreteGaussianEvent {
  const factor = sampling === 'poisson' ? 1 : 2;
  const l1 = release.l1Sensitivity ?? Math.sqrt(release.dimension) * release.l2Sensitivity;
  return {
    mechanism: 'distributed-discrete-gaussian',
    localSigma: release.localSigma,
    clients: release.clients,
    dimension: release.dimension,
    l2Sensitivity: factor * release.l2Sensitivity,
    l1Sensitivity: factor * l1,
    sampleRate,
    sampling,
  };
}
