// Confidence intervals for the auditor: the exact Clopper-Pearson interval (from the beta quantile
// of src/math/beta.ts) for the held-out estimate, and the cheaper Wilson score interval used only
// to rank candidate events on the selection half.
import { PrivkitError } from '../errors.js';
import { betaQuantile } from '../math/beta.js';
import { normalCdf } from '../math/special.js';
import { assertInteger, assertNumber } from '../validate.js';

/** A confidence interval [lower, upper]. */
export interface Interval {
  /** The lower end. */
  lower: number;
  /** The upper end. */
  upper: number;
}

/** A confidence level in (0, 1). */
export function assertConfidence(name: string, value: unknown): number {
  const c = assertNumber(name, value);
  if (!(c > 0 && c < 1)) throw new PrivkitError('E_ARG', `${name} must be in (0, 1), got ${c}`, { argument: name });
  return c;
}

/**
 * The two-sided Clopper-Pearson interval (Clopper and Pearson 1934) for a binomial proportion
 * after `successes` of `trials`: each end misses the true proportion with probability at most
 * (1 - confidence) / 2. lower = the (1-c)/2 quantile of Beta(k, n - k + 1) (0 when k = 0),
 * upper = the 1 - (1-c)/2 quantile of Beta(k + 1, n - k) (1 when k = n).
 *
 * @throws {PrivkitError} E_ARG when trials is not an integer >= 1, successes is not an integer in [0, trials], or confidence is not in (0, 1).
 */
export function clopperPearson(successes: number, trials: number, confidence: number): Interval {
  const n = assertInteger('trials', trials, 1);
  const k = assertInteger('successes', successes);
  if (k > n) throw new PrivkitError('E_ARG', `successes (${k}) must be <= trials (${n})`, { argument: 'successes' });
  const tail = (1 - assertConfidence('confidence', confidence)) / 2;
  return {
    lower: k === 0 ? 0 : betaQuantile(tail, k, n - k + 1),
    upper: k === n ? 1 : betaQuantile(tail, k + 1, n - k, { upper: true }),
  };
}

/** z with P[N(0, 1) > z] = tail, for 0 < tail < 1/2 (bisection on the normal CDF). */
export function normalUpperQuantile(tail: number): number {
  let lo = 0;
  let hi = 40;
  for (let i = 0; i < 200 && hi - lo > 1e-12; i++) {
    const mid = 0.5 * (lo + hi);
    if (normalCdf(-mid) > tail) lo = mid;
    else hi = mid;
  }
  return 0.5 * (lo + hi);
}

/** The Wilson score interval (Wilson 1927) at normal quantile z, for ranking candidates: k of n, k may be fractional. */
export function wilson(k: number, n: number, z: number): Interval {
  const z2 = z * z;
  const center = (k + z2 / 2) / (n + z2);
  const half = (z / (n + z2)) * Math.sqrt(Math.max(0, (k * (n - k)) / n) + z2 / 4);
  return { lower: Math.max(0, center - half), upper: Math.min(1, center + half) };
}
