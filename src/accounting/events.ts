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

export type PrivacyEvent = SubsampledGaussianEvent | GaussianEvent | LaplaceEvent | ZcdpEvent;

/** A validated event with every default filled in. */
export type NormalizedEvent =
  | { mechanism: 'subsampled-gaussian'; noiseMultiplier: number; sampleRate: number; steps: number; sampling: 'poisson' | 'without-replacement' }
  | { mechanism: 'gaussian' | 'laplace'; noiseMultiplier: number; steps: number }
  | { mechanism: 'zcdp'; rho: number; steps: number };

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
  switch (mechanism) {
    case 'subsampled-gaussian': {
      const sampling = e['sampling'] ?? 'poisson';
      if (sampling !== 'poisson' && sampling !== 'without-replacement') {
        throw argError(`${name}.sampling`, `must be 'poisson' or 'without-replacement', got ${describe(sampling)}`);
      }
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
    default:
      throw argError(
        `${name}.mechanism`,
        `must be 'subsampled-gaussian', 'gaussian', 'laplace' or 'zcdp', got ${typeof mechanism === 'string' ? `'${mechanism}'` : describe(mechanism)}`,
      );
  }
}
