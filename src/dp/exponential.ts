// The exponential mechanism (McSherry and Talwar 2007): candidate i is chosen with probability
// proportional to base_i x exp(epsilon x score_i / (2 Delta)), which is epsilon-DP when no score moves
// by more than Delta between neighbouring datasets (and the base measure is public).
//
// Sampling is by the Gumbel-max trick: argmax_i (log w_i + G_i) with independent standard Gumbels G_i
// picks i with probability w_i / sum_j w_j, without ever exponentiating a log-weight (no overflow,
// no underflow, no normalising sum). Floating-point caveat (Mironov 2012 warns that float samplers
// leak through what they can not output): a Gumbel computed as -log(-log U) from a uniform on the
// 2^-53 grid near 1 is confined to about [-6.6, 36.7], so a candidate more than ~43 below the best
// log-weight could never be chosen and a neighbour could make it choosable: an output with
// probability 0 on one dataset and > 0 on the other. Here the exponential variate E = -log U is drawn
// from both tails at full double precision (U = h or 1 - h with h uniform on (0, 1/2), every double
// reachable, and -log1p(-h) for the upper half), so E spans [5e-324, 745] and G = -log E spans
// [-6.7, 744]: only candidates more than ~740 below the best (probability < e^-737 < 2^-1063 each)
// are unreachable. What remains are the relative rounding errors of log and of the sums (a few
// ulps: selection probabilities off by a relative ~1e-15), a far smaller effect than any epsilon,
// but not a formal proof: callers that need a hard bound charge a sensitivity margin (dpQuantiles
// does). Outputs are candidate indices, a public finite set, so no output is porous.
import { PrivkitError } from '../errors.js';
import { assertNumber, readOptions } from '../validate.js';
import { readNumbers } from '../validate-arrays.js';
import { generatorOf } from './noise.js';
import type { Rng } from './rng.js';

/** Options of {@link exponentialMechanism}. */
export interface ExponentialMechanismOptions {
  /** Privacy parameter epsilon > 0. */
  epsilon: number;
  /** Most any score changes between neighbouring datasets (> 0); default 1. */
  sensitivity?: number;
  /** Public non-negative weight of each candidate (e.g. the length of an interval); default 1 each. A candidate of weight 0 is never chosen. */
  baseMeasure?: ArrayLike<number>;
  /** The generator; default: this thread's CSPRNG. A seeded (reproducible) Rng is for tests only, never for releases. */
  rng?: Rng;
}

/** Most candidates of one call. */
const MAX_CANDIDATES = 2 ** 26;

/**
 * The exponential mechanism: returns index i with probability proportional to
 * baseMeasure[i] x exp(epsilon x scores[i] / (2 sensitivity)), sampled by the Gumbel-max trick with
 * the CSPRNG (full-precision Gumbels; see the module comment for what float rounding leaves).
 * epsilon-DP when every score has the given sensitivity under the chosen neighbour relation.
 *
 * @param scores - the utility of each candidate (finite; 1 to 2^26 candidates).
 * @throws {PrivkitError} E_ARG when opts is not an object, scores is not an array of 1 to 2^26 finite numbers, epsilon or sensitivity is not finite and > 0, baseMeasure is not an array of finite numbers >= 0 of the same length with one > 0, or opts.rng is not an Rng from createRng.
 * @throws {PrivkitError} E_NONFINITE when a score or weight is NaN or +-Infinity (`index` names it).
 * @throws {PrivkitError} E_NOT_READY before `await ready()`.
 *
 * @example
 * ```ts
 * import { ready } from 'privkit';
 * import { exponentialMechanism } from 'privkit/dp';
 * await ready();
 * // the most common of three answers, privately: the scores are counts (sensitivity 1)
 * const votes = [120, 95, 3];
 * const winner = exponentialMechanism(votes, { epsilon: 0.5 });
 * ```
 */
export function exponentialMechanism(scores: ArrayLike<number>, opts: ExponentialMechanismOptions): number {
  const o = readOptions(opts, ['epsilon', 'sensitivity', 'baseMeasure', 'rng']);
  const epsilon = assertNumber('epsilon', o.epsilon, 'positive');
  const sensitivity = o.sensitivity === undefined ? 1 : assertNumber('sensitivity', o.sensitivity, 'positive');
  const u = readNumbers('scores', scores, { finite: true }, MAX_CANDIDATES);
  if (u.length === 0) throw new PrivkitError('E_ARG', 'scores must hold at least one candidate', { argument: 'scores' });
  const base = o.baseMeasure === undefined ? undefined : readNumbers('baseMeasure', o.baseMeasure, { finite: true, min: 0 }, MAX_CANDIDATES);
  if (base !== undefined && base.length !== u.length) {
    throw new PrivkitError('E_SHAPE', `baseMeasure has ${base.length} weights for ${u.length} scores`, { argument: 'baseMeasure' });
  }
  if (base !== undefined && !base.some((w) => w > 0)) throw new PrivkitError('E_ARG', 'baseMeasure must give some candidate a weight > 0', { argument: 'baseMeasure' });
  const rng = generatorOf(o.rng);
  const factor = epsilon / (2 * sensitivity);
  // log-weights relative to the best score among the choosable candidates, which thus gets a finite
  // log-weight whatever epsilon (differences of nearby scores are exact: Sterbenz)
  let best = -Infinity;
  for (let i = 0; i < u.length; i++) if (base === undefined || base[i]! > 0) best = Math.max(best, u[i]!);
  const logWeights = new Float64Array(u.length);
  for (let i = 0; i < u.length; i++) {
    const gap = u[i]! - best;
    logWeights[i] = (base === undefined ? 0 : Math.log(base[i]!)) + (gap === 0 ? 0 : factor * gap);
  }
  return gumbelArgmax(logWeights, rng);
}

/**
 * argmax_i (logWeights[i] + G_i) with full-precision standard Gumbels G_i from `rng`: index i with
 * probability exp(logWeights[i]) / sum_j exp(logWeights[j]). Entries of -Infinity are never chosen;
 * at least one entry must be finite (callers check).
 */
export function gumbelArgmax(logWeights: Float64Array, rng: Rng): number {
  const m = logWeights.length;
  const uniforms = rng.uniform(m);
  const bits = rng.uint32(Math.ceil(m / 32));
  let best = -1;
  let bestKey = -Infinity;
  for (let i = 0; i < m; i++) {
    const w = logWeights[i]!;
    if (w === -Infinity) continue;
    // U = h or 1 - h (one random bit) with h = uniform / 2 uniform on (0, 1/2): E = -log U from both tails at full precision
    const h = Math.max(uniforms[i]! * 0.5, Number.MIN_VALUE); // only 2^-1074 / 2 would round to 0
    const upperHalf = (bits[i >>> 5]! >>> (i & 31)) & 1;
    const exponential = upperHalf === 1 ? -Math.log1p(-h) : -Math.log(h);
    const key = w - Math.log(exponential);
    if (key > bestKey) {
      bestKey = key;
      best = i;
    }
  }
  uniforms.fill(0);
  return best;
}
