// Calibration: the smallest noise multiplier (or the most steps) that keeps epsilon at or below a target,
// by bracketing and bisection on the accountant's own epsilon (RDP or PLD).
import { PrivkitError } from '../errors.js';
import { assertNumber, describe, readOptions } from '../validate.js';
import { argError, assertDelta, assertSampleRate, assertSteps, resolveSampling, type Neighbours, type Sampling } from './events.js';
import { normalizeOrders } from './orders.js';
import { PldAccountant } from './pld-accountant.js';
import { RdpAccountant } from './rdp-accountant.js';

/** Options of {@link calibrateNoiseMultiplier}: the target, the sampling and the length of training. */
export interface CalibrationOptions {
  /** The epsilon to reach or stay below (> 0). */
  targetEpsilon: number;
  /** The delta the epsilon is at, in (0, 1). */
  delta: number;
  /** q in (0, 1]: the Poisson inclusion probability, or batch size / dataset size without replacement. */
  sampleRate: number;
  /** Either `steps` or `epochs` (steps = floor(epochs / sampleRate), as Opacus). */
  steps?: number;
  /** Passes over the data (> 0), instead of `steps`. */
  epochs?: number;
  /** The accountant whose epsilon is calibrated: 'rdp' (default) or 'pld' (tighter; Poisson sampling, no slack). */
  accountant?: 'rdp' | 'pld';
  /** As in the accountant's events: 'poisson' (default, add/remove neighbours) or 'without-replacement' (neighbours 'replace-one', required). */
  sampling?: Sampling;
  /** The neighbouring relation, as in the accountant's events ('replace-one' required without replacement). */
  neighbours?: Neighbours;
  /** The sampler's slack, as in the events (RDP accountant only); 0 by default. */
  slack?: number;
  /** The sampler's tail mass per step, as in the events; 0 by default. */
  tailMass?: number;
  /** RDP orders (RDP accountant only). */
  orders?: readonly number[];
}

/** The result of {@link calibrateNoiseMultiplier}. */
export interface CalibrationResult {
  /**
   * The smallest noise multiplier found (to a relative 1e-4) whose epsilon is <= targetEpsilon: the
   * standard deviation to add to the sum divided by the clip norm, whatever the neighbouring relation.
   */
  noiseMultiplier: number;
  /** Its epsilon. */
  epsilon: number;
  /** The steps it is calibrated for (given, or derived from the epochs). */
  steps: number;
}

/** sigma is found to this relative precision: sigma (1 - RELATIVE_TOLERANCE) already exceeds the target. */
const RELATIVE_TOLERANCE = 1e-4;
const MAX_NOISE_MULTIPLIER = 1e6;
const MIN_NOISE_MULTIPLIER = 1e-6;
const MAX_STEPS = 2 ** 40;

function assertTarget(value: unknown): number {
  return assertNumber('targetEpsilon', value, 'positive');
}

function resolveSteps(options: { steps?: number; epochs?: number; sampleRate: number }): number {
  if (options.steps !== undefined && options.epochs !== undefined) throw argError('epochs', 'must not be given together with steps');
  if (options.steps !== undefined) return assertSteps('steps', options.steps);
  if (options.epochs === undefined) throw argError('steps', 'or epochs must be given');
  const epochs = assertNumber('epochs', options.epochs, 'positive');
  // A tiny allowance so that e.g. 15 / 0.0025 is 6000 even when the division rounds down.
  const steps = Math.floor(epochs / options.sampleRate + 1e-9);
  if (!(steps >= 1 && steps <= Number.MAX_SAFE_INTEGER)) {
    throw argError('epochs', `gives ${steps} steps at sampleRate ${options.sampleRate}; epochs / sampleRate must be in [1, 2^53)`);
  }
  return steps;
}

type EpsilonOf = (noiseMultiplier: number, steps: number) => number;

function epsilonFunction(options: CalibrationOptions, delta: number, sampleRate: number): EpsilonOf {
  const accountant = options.accountant === undefined ? 'rdp' : options.accountant;
  // Checks sampling and neighbours once, as the accountant will (a without-replacement call must name replace-one).
  const { sampling, neighbours } = resolveSampling('', options.sampling, options.neighbours, sampleRate);
  const slack = options.slack === undefined ? 0 : assertNumber('slack', options.slack, 'nonnegative');
  const tailMass = options.tailMass === undefined ? 0 : assertNumber('tailMass', options.tailMass, 'nonnegative');
  if (!(tailMass < 1)) throw argError('tailMass', `must be < 1, got ${tailMass}`);
  if (accountant === 'rdp') {
    const orders = normalizeOrders(options.orders);
    return (noiseMultiplier, steps) =>
      new RdpAccountant({ orders }).step({ noiseMultiplier, sampleRate, steps, sampling, neighbours, slack, tailMass }).getEpsilon(delta).epsilon;
  }
  if (accountant === 'pld') {
    if (sampling !== 'poisson') throw argError('sampling', "must be 'poisson' with accountant 'pld'");
    if (slack > 0) throw argError('slack', "must be 0 with accountant 'pld' (use 'rdp')");
    return (noiseMultiplier, steps) => new PldAccountant().step({ noiseMultiplier, sampleRate, steps, tailMass }).getEpsilon(delta).epsilon;
  }
  throw argError('accountant', `must be 'rdp' or 'pld', got ${describe(accountant)}`);
}

/**
 * The smallest noise multiplier (within a relative 1e-4) whose epsilon after `steps` steps is <= targetEpsilon.
 * Throws E_ARG (targetEpsilon) when no noise multiplier up to 1e6 reaches the target.
 *
 * @returns the noise multiplier sigma / C (C the clip norm), its epsilon and the steps.
 * @throws {PrivkitError} E_ARG when options is not an object, targetEpsilon is not finite and > 0, delta is not in (0, 1), sampleRate is not in (0, 1], not exactly one of steps (a positive integer) and epochs (> 0) is given, sampling, neighbours, slack, tailMass, orders or accountant is invalid (or 'pld' with sampling without replacement or a slack), or the target is unreachable.
 *
 * @example
 * ```ts
 * import { calibrateNoiseMultiplier } from 'privkit/accounting';
 * const { noiseMultiplier, epsilon, steps } = calibrateNoiseMultiplier({
 *   targetEpsilon: 3,
 *   delta: 1e-5,
 *   sampleRate: 256 / 60_000,
 *   epochs: 15,
 * });
 * // add noise of standard deviation noiseMultiplier x maxNorm to each clipped batch sum
 * ```
 */
export function calibrateNoiseMultiplier(given: CalibrationOptions): CalibrationResult {
  const options = readOptions(given, ['targetEpsilon', 'delta', 'sampleRate', 'steps', 'epochs', 'accountant', 'sampling', 'neighbours', 'slack', 'tailMass', 'orders'], 'options', true) as CalibrationOptions;
  const target = assertTarget(options.targetEpsilon);
  const delta = assertDelta('delta', options.delta);
  const sampleRate = assertSampleRate('sampleRate', options.sampleRate);
  const steps = resolveSteps(options);
  const epsilonOf = epsilonFunction(options, delta, sampleRate);

  // Bracket: epsilon(lo) > target >= epsilon(hi). The PLD search starts from the RDP answer, which it never exceeds.
  let hi = options.accountant === 'pld' ? calibrateNoiseMultiplier({ ...options, accountant: 'rdp' }).noiseMultiplier : 1;
  let epsHi = epsilonOf(hi, steps);
  while (epsHi > target) {
    if (hi >= MAX_NOISE_MULTIPLIER) {
      throw new PrivkitError(
        'E_ARG',
        `targetEpsilon ${target} is unreachable: epsilon is still ${epsHi} with noiseMultiplier ${hi} (delta ${delta}, sampleRate ${sampleRate}, ${steps} steps)`,
        { argument: 'targetEpsilon' },
      );
    }
    hi *= 2;
    epsHi = epsilonOf(hi, steps);
  }
  let lo = hi / 2;
  while (!(epsilonOf(lo, steps) > target)) {
    hi = lo;
    lo /= 2;
    if (lo < MIN_NOISE_MULTIPLIER) {
      return { noiseMultiplier: hi, epsilon: epsilonOf(hi, steps), steps };
    }
  }
  epsHi = epsilonOf(hi, steps);
  while (hi - lo > 0.5 * RELATIVE_TOLERANCE * hi) {
    const mid = Math.sqrt(lo * hi);
    const eps = epsilonOf(mid, steps);
    if (eps > target) lo = mid;
    else {
      hi = mid;
      epsHi = eps;
    }
  }
  return { noiseMultiplier: hi, epsilon: epsHi, steps };
}

/** Options of {@link calibrateSteps}. */
export interface StepsCalibrationOptions {
  /** The epsilon to stay at or below (> 0). */
  targetEpsilon: number;
  /** The delta the epsilon is at, in (0, 1). */
  delta: number;
  /** q in (0, 1], as in {@link CalibrationOptions.sampleRate}. */
  sampleRate: number;
  /** sigma / C of every step (>= 0). */
  noiseMultiplier: number;
  /** 'rdp' (default) or 'pld'. */
  accountant?: 'rdp' | 'pld';
  /** 'poisson' (default) or 'without-replacement', as in {@link CalibrationOptions.sampling}. */
  sampling?: Sampling;
  /** The neighbouring relation, as in {@link CalibrationOptions.neighbours}. */
  neighbours?: Neighbours;
  /** The sampler's slack, as in {@link CalibrationOptions.slack} (RDP accountant only); 0 by default. */
  slack?: number;
  /** The sampler's tail mass per step, as in {@link CalibrationOptions.tailMass}; 0 by default. */
  tailMass?: number;
  /** RDP orders (RDP accountant only). */
  orders?: readonly number[];
}

/**
 * The largest number of steps whose epsilon is <= targetEpsilon; throws E_ARG (targetEpsilon) if even one step exceeds it.
 * The search stops at 2^40 steps.
 *
 * @throws {PrivkitError} E_ARG when options is not an object, targetEpsilon is not finite and > 0, delta is not in (0, 1), sampleRate is not in (0, 1], noiseMultiplier is not finite and >= 0, sampling, neighbours, orders or accountant is invalid, or one step already exceeds the target.
 */
export function calibrateSteps(given: StepsCalibrationOptions): {
  /** The most steps within the target. */
  steps: number;
  /** Their epsilon. */
  epsilon: number;
} {
  const options = readOptions(given, ['targetEpsilon', 'delta', 'sampleRate', 'noiseMultiplier', 'accountant', 'sampling', 'neighbours', 'slack', 'tailMass', 'orders'], 'options', true) as StepsCalibrationOptions;
  const target = assertTarget(options.targetEpsilon);
  const delta = assertDelta('delta', options.delta);
  const sampleRate = assertSampleRate('sampleRate', options.sampleRate);
  const noiseMultiplier = assertNumber('noiseMultiplier', options.noiseMultiplier, 'nonnegative');
  const epsilonOf = epsilonFunction(options, delta, sampleRate);
  if (epsilonOf(noiseMultiplier, 1) > target) {
    throw new PrivkitError('E_ARG', `targetEpsilon ${target} is unreachable: one step already costs epsilon ${epsilonOf(noiseMultiplier, 1)}`, {
      argument: 'targetEpsilon',
    });
  }
  let lo = 1;
  let hi = 2;
  while (hi <= MAX_STEPS && epsilonOf(noiseMultiplier, hi) <= target) {
    lo = hi;
    hi *= 2;
  }
  while (hi - lo > 1 && lo < MAX_STEPS) {
    const mid = Math.floor((lo + hi) / 2);
    if (epsilonOf(noiseMultiplier, mid) <= target) lo = mid;
    else hi = mid;
  }
  return { steps: lo, epsilon: epsilonOf(noiseMultiplier, lo) };
}
