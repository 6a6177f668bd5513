// auditMechanism: a black-box statistical lower bound on the epsilon of a mechanism, from many runs
// on two neighbouring inputs (in the spirit of Ding et al. 2018, "Detecting Violations of
// Differential Privacy", and of Google's DP stochastic tester / DP-Auditorium).
//
// If a mechanism M is (epsilon, delta)-DP then for every event E and both orders of the inputs,
// P[M(a) in E] <= e^epsilon P[M(b) in E] + delta, i.e. epsilon >= log((P - delta) / Q). The auditor
// runs M `trials` times on each input, chooses E and the order on half of the runs
// (src/audit/events.ts), and estimates P and Q on the other half with Clopper-Pearson intervals,
// each end at level (1 - confidence) / 2: with probability at least `confidence`,
// epsilonLowerBound = log((P_lower - delta) / Q_upper) is below the true epsilon of any (., delta)
// guarantee M has. A bound above the claimed epsilon disproves the claim at that confidence.
import { PrivkitError } from '../errors.js';
import { assertPool } from '../pool/guards.js';
import type { PoolRunner } from '../pool/types.js';
import { assertInteger, assertNumber, describe, readOptions } from '../validate.js';
import { ready } from '../wasm/runtime.js';
import { chooseEvent, splitHalves } from './events.js';
import { auditSamples } from './pool-ops.js';
import { collectSamples, loadMechanism, MAX_SAMPLE_VALUES, type MechanismFunction, type MechanismModule, type Samples } from './sampling.js';
import { assertConfidence, clopperPearson, normalUpperQuantile, wilson } from './statistics.js';

/** Options of {@link auditMechanism}; `I` is the type of the mechanism's input. */
export interface AuditOptions<I = unknown> {
  /**
   * The mechanism: one release on one input, returning a number or an array-like of numbers of
   * fixed length (or a Promise of one). It is called with the same two input objects every time,
   * so it must not modify them. With `pool`, a MechanismModule that each worker imports.
   */
  mechanism: MechanismFunction<I> | MechanismModule;
  /** Two neighbouring inputs. */
  inputs: readonly [I, I];
  /** The claimed epsilon (>= 0). */
  epsilon: number;
  /** The claimed delta in [0, 1); default 0. */
  delta?: number;
  /** Runs on each input (100 to 2^26); default 1,000,000. Half choose the event, half estimate it. */
  trials?: number;
  /** Probability in (0, 1) that the lower bound is valid; default 0.99. */
  confidence?: number;
  /** Runs the trials in this pool's workers (mechanism must then be a MechanismModule). */
  pool?: PoolRunner;
}

/** The output event an audit found most telling, with its estimated probabilities. */
export interface AuditEvent {
  /** What the event tests, in words (e.g. "output >= 1.003"). */
  description: string;
  /** The input the event favours: P is the probability of the event on inputs[favours], Q on the other. */
  favours: 0 | 1;
  /** P on the estimation half: the estimate and its Clopper-Pearson lower end. */
  p: {
    /** The fraction of runs on inputs[favours] whose output is in the event. */
    estimate: number;
    /** Its Clopper-Pearson lower end. */
    lower: number;
  };
  /** Q on the estimation half: the estimate and its Clopper-Pearson upper end. */
  q: {
    /** The fraction of runs on the other input whose output is in the event. */
    estimate: number;
    /** Its Clopper-Pearson upper end. */
    upper: number;
  };
}

/** The outcome of {@link auditMechanism}. */
export interface AuditResult {
  /** log((P_lower - delta) / Q_upper), or 0 when that is not positive: a lower bound on epsilon with probability >= confidence. */
  epsilonLowerBound: number;
  /** epsilonLowerBound <= the claimed epsilon: the audit found no violation. */
  passed: boolean;
  /** The event that gave the bound. */
  event: AuditEvent;
  /** Runs on each input. */
  trials: number;
}

const DEFAULT_TRIALS = 1_000_000;
const MIN_TRIALS = 100;

/**
 * Audits `mechanism` on two neighbouring inputs against its claimed (epsilon, delta): runs it `trials`
 * times on each input, chooses an output event on half of the runs and bounds epsilon from below
 * with Clopper-Pearson intervals on the other half. With probability at least `confidence` the bound
 * is below the true epsilon, so `passed: false` disproves the claim. Calls `ready()` itself.
 *
 * @throws {PrivkitError} E_ARG (as a rejection) when options is not an object, inputs is not a pair, epsilon is not finite and >= 0, delta is not in [0, 1), trials is not an integer >= 100, confidence is not in (0, 1), pool is not a Pool (or is given with a mechanism function), the mechanism module can not be loaded, the mechanism throws or returns something other than a number or a non-empty array of numbers, or trials x output length exceeds 2^26.
 * @throws {PrivkitError} E_SHAPE (as a rejection) when the mechanism's output length changes between runs; E_NONFINITE when an output is NaN or +-Infinity.
 * @throws {PrivkitError} E_WORKER (as a rejection) when a pool worker fails.
 *
 * @example
 * ```ts
 * import { auditMechanism } from 'privkit/audit';
 * import { laplaceMechanism } from 'privkit/dp';
 * const counts = laplaceMechanism({ epsilon: 1, l1Sensitivity: 1 });
 * const result = await auditMechanism({
 *   mechanism: (count: number) => counts.release(Float64Array.of(count))[0]!,
 *   inputs: [0, 1], // two neighbouring datasets' counts
 *   epsilon: 1,
 *   trials: 100_000,
 * });
 * console.log(result.passed, result.epsilonLowerBound, result.event.description);
 * ```
 */
export async function auditMechanism<I>(given: AuditOptions<I>): Promise<AuditResult> {
  const options = readOptions(given, ['mechanism', 'inputs', 'epsilon', 'delta', 'trials', 'confidence', 'pool'], 'options', true);
  const { mechanism, inputs, pool } = options;
  if (!Array.isArray(inputs) || inputs.length !== 2) {
    throw new PrivkitError('E_ARG', `inputs must be an array of two neighbouring inputs, got ${describe(inputs)}`, { argument: 'inputs' });
  }
  const epsilon = assertNumber('epsilon', options.epsilon, 'nonnegative');
  const delta = options.delta === undefined ? 0 : assertNumber('delta', options.delta, 'nonnegative');
  if (!(delta < 1)) throw new PrivkitError('E_ARG', `delta must be in [0, 1), got ${delta}`, { argument: 'delta' });
  // at most one output value per trial fits MAX_SAMPLE_VALUES; a pool is told no more either
  const trials = options.trials === undefined ? DEFAULT_TRIALS : assertInteger('trials', options.trials, MIN_TRIALS, MAX_SAMPLE_VALUES);
  const confidence = options.confidence === undefined ? 0.99 : assertConfidence('confidence', options.confidence);

  let samples: Samples;
  if (pool !== undefined) {
    assertPool(pool, 'pool');
    if (typeof mechanism === 'function') {
      throw new PrivkitError('E_ARG', 'with a pool, mechanism must be { module, export } (a function can not be sent to worker threads)', {
        argument: 'mechanism',
      });
    }
    samples = await pool.run(auditSamples, mechanism as MechanismModule, [inputs[0], inputs[1]], trials);
  } else {
    const run = await loadMechanism(mechanism);
    await ready();
    samples = await collectSamples(run, [inputs[0], inputs[1]], trials);
  }
  return estimate(samples, epsilon, delta, confidence);
}

/** Chooses the event on the even trials and bounds epsilon with the odd ones. */
function estimate(samples: Samples, epsilon: number, delta: number, confidence: number): AuditResult {
  const { selection, estimation } = splitHalves(samples);
  const n = selection.n;
  const z = normalUpperQuantile((1 - confidence) / 2);
  const rank = (favoured: number, other: number, rows = n): number => {
    const p = wilson(Math.min(favoured, rows), rows, z).lower - delta;
    return p > 0 ? Math.log(p / wilson(Math.min(other, rows), rows, z).upper) : Number.NEGATIVE_INFINITY;
  };
  const chosen = chooseEvent(selection, samples.dimension, rank);
  const counts = chosen.count(estimation);
  const inP = counts[chosen.favours];
  const inQ = counts[1 - chosen.favours]!;
  const pLower = clopperPearson(inP, n, confidence).lower;
  const qUpper = clopperPearson(inQ, n, confidence).upper;
  const bound = pLower - delta > 0 ? Math.log((pLower - delta) / qUpper) : 0;
  const epsilonLowerBound = Math.max(0, bound);
  return {
    epsilonLowerBound,
    passed: epsilonLowerBound <= epsilon,
    event: {
      description: chosen.description,
      favours: chosen.favours,
      p: { estimate: inP / n, lower: pLower },
      q: { estimate: inQ / n, upper: qUpper },
    },
    trials: samples.trials,
  };
}
