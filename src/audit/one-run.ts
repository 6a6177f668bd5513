// One-run auditing (Steinke, Nasr, Jagielski 2023, "Privacy Auditing with One (1) Training Run",
// NeurIPS 2023): m canaries are each included in the training data independently with probability
// 1/2, the model is trained once, each canary gets a score from the final model, and the auditor
// guesses "included" for the k highest scores and "excluded" for the k lowest. Their main theorem
// (the (epsilon, delta) case, arXiv:2305.08846 Sec. 3; the p-value and bisection of their
// appendix) bounds the number W of correct guesses among r guesses of an (epsilon, delta)-DP
// algorithm:
//
//   P[W >= v] <= f(v) + 2 m delta max_{i = 1..m} (f(v - i) - f(v)) / i,
//   f(w) = P[Binomial(r, e^epsilon / (e^epsilon + 1)) >= w],
//
// so v correct guesses reject (epsilon, delta)-DP at level alpha when that p-value is below alpha;
// the epsilon lower bound is the largest such epsilon, found by bisection as in their appendix.
// (For i > v, f(v - i) = 1 and the ratio only decreases with i, so the maximum is over i <= v.)
import { PrivkitError } from '../errors.js';
import { binomialUpperTail, logBinomialPmf } from '../math/beta.js';
import { assertInteger, assertNumber, describe, readOptions } from '../validate.js';
import { readArray, readNumbers } from '../validate-arrays.js';
import { assertConfidence } from './statistics.js';

/** The counts of a one-run audit (Steinke, Nasr, Jagielski 2023). */
export interface OneRunCounts {
  /** m: canaries, each included independently with probability 1/2. */
  canaries: number;
  /** r: guesses made (the rest abstain), 1 <= r <= m. */
  guesses: number;
  /** v: correct guesses, 0 <= v <= r. */
  correct: number;
  /** delta of the (epsilon, delta) guarantee tested; default 0. */
  delta?: number;
}

/** The outcome of a one-run audit. */
export interface OneRunResult {
  /** The largest epsilon rejected at `confidence` (0 when none is). */
  epsilonLowerBound: number;
  /** m: the canaries. */
  canaries: number;
  /** r: the guesses the bound was computed from. */
  guesses: number;
  /** v: the correct guesses among them. */
  correct: number;
  /** The delta of the (epsilon, delta) guarantee tested. */
  delta: number;
  /** The confidence of the bound. */
  confidence: number;
}

/** Options of {@link auditCanaryScores}. */
export interface CanaryScoresOptions {
  /** One score per canary: higher means "more likely included". */
  scores: ArrayLike<number>;
  /** Whether each canary was included (the secret the auditor guesses). */
  included: ArrayLike<boolean | number>;
  /** delta of the guarantee tested; default 0. */
  delta?: number;
  /** Probability in (0, 1) that the bound is valid; default 0.95 (as Steinke et al.). */
  confidence?: number;
  /**
   * Total guesses r (the ceil(r/2) highest scores guessed included, the floor(r/2) lowest
   * excluded). Default: the best of r = 2%, 5%, 10%, 20%, 50% and 100% of m, each tested at level
   * (1 - confidence) / 6 (Bonferroni), so the choice keeps the stated confidence.
   */
  guesses?: number;
}

const GUESS_FRACTIONS = [0.02, 0.05, 0.1, 0.2, 0.5, 1];

/** The counts of a one-run test, each read once (null or missing counts: every field missing). */
function checkCounts(given: unknown): { m: number; r: number; v: number; delta: number; epsilon: unknown; confidence: unknown } {
  const counts = readOptions(given as (OneRunCounts & { epsilon?: number; confidence?: number }) | undefined, ['canaries', 'guesses', 'correct', 'delta', 'epsilon', 'confidence'], 'counts', true);
  const m = assertInteger('canaries', counts.canaries, 1);
  const r = assertInteger('guesses', counts.guesses, 1);
  if (r > m) throw new PrivkitError('E_ARG', `guesses (${r}) must be <= canaries (${m})`, { argument: 'guesses' });
  const v = assertInteger('correct', counts.correct);
  if (v > r) throw new PrivkitError('E_ARG', `correct (${v}) must be <= guesses (${r})`, { argument: 'correct' });
  const delta = counts.delta === undefined ? 0 : assertNumber('delta', counts.delta, 'nonnegative');
  if (!(delta < 1)) throw new PrivkitError('E_ARG', `delta must be in [0, 1), got ${delta}`, { argument: 'delta' });
  return { m, r, v, delta, epsilon: counts.epsilon, confidence: counts.confidence };
}

/**
 * The p-value of the main theorem for v correct of r guesses on m canaries under (epsilon, delta)-DP (see the file header).
 *
 * @throws {PrivkitError} E_ARG when the counts are not integers with 1 <= r <= m and 0 <= v <= r, delta is not in [0, 1), or epsilon is not finite and >= 0.
 */
export function oneRunPValue(counts: OneRunCounts & { epsilon: number }): number {
  const { m, r, v, delta, epsilon } = checkCounts(counts);
  return pValue(m, r, v, assertNumber('epsilon', epsilon, 'nonnegative'), delta);
}

function pValue(m: number, r: number, v: number, epsilon: number, delta: number): number {
  if (v === 0) return 1;
  // q = e^eps / (e^eps + 1) and 1 - q, both without cancellation
  const q = 1 / (1 + Math.exp(-epsilon));
  const oneMinusQ = 1 / (1 + Math.exp(epsilon));
  const tail = binomialUpperTail(v, r, q, oneMinusQ);
  if (delta === 0) return Math.min(1, tail);
  // max over i of P[v - i <= Bin < v] / i, the pmf walked down from v - 1 in log space
  const logQ = -Math.log1p(Math.exp(-epsilon));
  const log1mQ = -Math.log1p(Math.exp(epsilon));
  const stepDown = log1mQ - logQ; // log pmf(j - 1) - log pmf(j) = log(j / (r - j + 1)) + stepDown
  let logPmf = logBinomialPmf(v - 1, r, logQ, log1mQ);
  let window = 0;
  let ratio = 0;
  for (let i = 1; i <= v; i++) {
    const j = v - i;
    window += Math.exp(logPmf);
    ratio = Math.max(ratio, window / i);
    if (j > 0) logPmf += Math.log(j / (r - j + 1)) + stepDown;
  }
  return Math.min(1, tail + 2 * m * delta * ratio);
}

/**
 * The epsilon lower bound of Steinke, Nasr, Jagielski (2023) for v correct of r guesses on m
 * canaries: the largest epsilon whose p-value is below 1 - confidence (to 1e-10).
 *
 * @throws {PrivkitError} E_ARG when the counts are not integers with 1 <= r <= m and 0 <= v <= r, delta is not in [0, 1), or confidence is not in (0, 1).
 */
export function oneRunEpsilonLowerBound(counts: OneRunCounts & { confidence?: number }): number {
  const { m, r, v, delta, confidence: given } = checkCounts(counts);
  const confidence = given === undefined ? 0.95 : assertConfidence('confidence', given);
  return epsilonBound(m, r, v, delta, 1 - confidence);
}

function epsilonBound(m: number, r: number, v: number, delta: number, alpha: number): number {
  if (pValue(m, r, v, 0, delta) >= alpha) return 0;
  let lo = 0; // p-value < alpha here
  let hi = 1;
  while (pValue(m, r, v, hi, delta) < alpha) {
    lo = hi;
    hi *= 2;
    if (hi > 2 ** 12) return lo; // cannot happen for r >= 1: the p-value tends to 1
  }
  while (hi - lo > 1e-10 * Math.max(1, lo)) {
    const mid = 0.5 * (lo + hi);
    if (pValue(m, r, v, mid, delta) < alpha) lo = mid;
    else hi = mid;
  }
  return lo;
}

/**
 * One-run audit from canary scores: guesses included for the highest scores and excluded for the
 * lowest, counts the correct guesses and converts them with the main theorem (see `guesses` for how many).
 *
 * @throws {PrivkitError} E_ARG when options is not an object, scores or included is not a non-empty array, delta is not in [0, 1), confidence is not in (0, 1), or guesses is not an integer in [1, canaries].
 * @throws {PrivkitError} E_SHAPE when included and scores differ in length; E_NONFINITE when a score is NaN or +-Infinity.
 */
export function auditCanaryScores(given: CanaryScoresOptions): OneRunResult {
  const options = readOptions(given, ['scores', 'included', 'delta', 'confidence', 'guesses'], 'options', true);
  const scores = readNumbers('scores', options.scores, { finite: true });
  const m = scores.length;
  if (m === 0) throw new PrivkitError('E_ARG', 'scores must hold at least one score', { argument: 'scores' });
  const included = readArray('included', options.included, (name, value, index) => {
    if (value === true || value === 1) return true;
    if (value === false || value === 0) return false;
    throw new PrivkitError('E_ARG', `${name} must be a boolean (or 0 or 1), got ${describe(value)}`, { argument: 'included', index });
  });
  if (included.length !== m) {
    throw new PrivkitError('E_SHAPE', `included has ${included.length} entries for ${m} scores`, { argument: 'included' });
  }
  const delta = options.delta === undefined ? 0 : assertNumber('delta', options.delta, 'nonnegative');
  if (!(delta < 1)) throw new PrivkitError('E_ARG', `delta must be in [0, 1), got ${delta}`, { argument: 'delta' });
  const confidence = options.confidence === undefined ? 0.95 : assertConfidence('confidence', options.confidence);
  let candidates: number[];
  if (options.guesses !== undefined) {
    const r = assertInteger('guesses', options.guesses, 1);
    if (r > m) throw new PrivkitError('E_ARG', `guesses (${r}) must be <= the number of canaries (${m})`, { argument: 'guesses' });
    candidates = [r];
  } else {
    candidates = [...new Set(GUESS_FRACTIONS.map((f) => Math.max(1, Math.round(f * m))))];
  }
  const alpha = (1 - confidence) / candidates.length;
  const order = Array.from({ length: m }, (_, i) => i).sort((i, j) => scores[j]! - scores[i]! || i - j);
  let best: OneRunResult | undefined;
  for (const r of candidates) {
    const high = Math.ceil(r / 2);
    let correct = 0;
    for (let k = 0; k < high; k++) if (included[order[k]!]) correct++;
    for (let k = m - (r - high); k < m; k++) if (!included[order[k]!]) correct++;
    const epsilonLowerBound = epsilonBound(m, r, correct, delta, alpha);
    if (best === undefined || epsilonLowerBound > best.epsilonLowerBound) {
      best = { epsilonLowerBound, canaries: m, guesses: r, correct, delta, confidence };
    }
  }
  return best!;
}
