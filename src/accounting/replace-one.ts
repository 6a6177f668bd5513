// Renyi DP of a mechanism run on a fixed-size sample drawn without replacement, under replace-one
// neighbours, computed from the base mechanism's privacy profile.
//
// Let the batch of m records be drawn uniformly from n (q = m / n) and let the two neighbouring
// datasets differ in one record, x versus y. Coupling the draws (Balle, Barthe, Gaboardi 2018, Sec. 5),
// both outputs are one mixture over the other records, each component of the form
//   mu = (1-q) K(a) + q K(b),   mu' = (1-q) K(a) + q K(c),
// where K(.) is the base mechanism on a batch and (a, b), (a, c), (b, c) are replace-one neighbouring
// batches. For gamma >= 1 the advanced joint convexity of the hockey-stick divergence (BBG18, Thm 2)
// and joint convexity give, with g an upper bound on the base's profile H_gamma(K(b) || K(a)) over
// replace-one pairs,
//   H_u(mu || mu') <= h(u) = q g(1 + (u - 1) / q)   for every u >= 1, and the same for H_u(mu' || mu),
// and the mixture over the coupling keeps both bounds. Renyi divergences are integrals of hockey-stick
// divergences in both directions: for alpha > 1 and L = dP/dQ,
//   E_Q[L^alpha] = 1 + alpha (alpha - 1) int_1^inf ( u^(alpha-2) H_u(P || Q) + u^(-alpha-1) H_u(Q || P) ) du,
// so each step is (alpha, eps)-RDP with
//   exp((alpha - 1) eps) <= 1 + alpha (alpha - 1) int_1^inf ( u^(alpha-2) + u^(-alpha-1) ) h(u) du.
// For the Gaussian mechanism this equals 1 + E_Q[1{L > 1} (L^alpha - 1)(1 - L^(1-alpha))] for the pair
// P = (1-q) N(0, s^2) + q N(1, s^2), Q = N(0, s^2): the symmetrization of the Poisson pair at twice
// the sensitivity, tighter by far than the general bound of Wang, Balle, Kasiviswanathan 2019 (at
// q = 0.1 and 100 steps, epsilon 3 needs noise multiplier 3.80 here against 12.1 there). It is at least
// the exact RDP of that Poisson pair, which a concrete neighbouring pair attains, so nothing tighter
// of this form exists.
//
// The integral is evaluated as an upper Riemann sum (h is non-increasing) on a fine grid in log u,
// with the exact integral of the weights on each cell and an analytic bound on the tail beyond the
// grid, so the result is an upper bound up to floating-point rounding.
import { logAdd, logNormalCdf } from '../math/special.js';

/**
 * An upper bound on the privacy profile of the base mechanism over replace-one neighbouring batches:
 * log H_gamma as a function of log gamma >= 0 (non-increasing), with a bound on its tail integral.
 */
export interface LogProfile {
  logH(logGamma: number): number;
  /**
   * An upper bound on log of int_{e^v}^inf 2 u^(alpha-2) g(u e^shift) du, or +Infinity when it has none:
   * the tail of the RDP integral, whose profile q g(1 + (u - 1) / q) is at most g(u / (2q)) for u >= 2.
   */
  logTail(alpha: number, v: number, shift: number): number;
}

/** The Gaussian mechanism's profile at sigma = noise standard deviation / replace-one sensitivity. */
export function gaussianProfile(sigma: number): LogProfile {
  const c = 1 / (2 * sigma);
  return {
    // H_gamma(N(1, s^2) || N(0, s^2)) = Phi(c - s eps) - gamma Phi(-c - s eps), eps = log gamma, c = 1 / (2 s).
    logH(eps) {
      const x = sigma * eps;
      const a = logNormalCdf(c - x);
      const b = eps + logNormalCdf(-c - x);
      // Well conditioned: the difference keeps its digits.
      if (b < a - 1e-6) return a + Math.log1p(-Math.exp(b - a));
      // Otherwise (huge sigma, eps near 0) bound the two terms apart: Phi(c - x) - Phi(-c - x) <= 2c phi(x) cosh(c x)
      // (the integral of phi over [x - c, x + c]), less (e^eps - 1) Phi(-c - x) taken a little low.
      const logD = Math.log(2 * c) - (x * x) / 2 - 0.5 * Math.log(2 * Math.PI) + c * x + Math.log1p(Math.exp(-2 * c * x)) - Math.LN2;
      const logSub = eps > 0 ? Math.log(Math.expm1(eps)) + logNormalCdf(-c - x) : Number.NEGATIVE_INFINITY;
      return logSub < logD ? logD + Math.log1p(-Math.exp(logSub - logD) * (1 - 1e-12)) : logD;
    },
    // g(u e^shift) <= Phi(c - s (v + shift)) <= exp(-(s v - c')^2 / 2) for s v >= c' = c - s shift, so the tail is a
    // Gaussian integral in v: int_V^inf 2 e^{(alpha - 1) v - (s v - c')^2 / 2} dv = 2 e^K sqrt(2 pi) / s Phi(-s (V - m)).
    logTail(alpha, v, shift) {
      const c1 = c - sigma * shift;
      if (sigma * v < c1) return Number.POSITIVE_INFINITY;
      // The maximum of the exponent at m = (c' s + alpha - 1) / s^2, arranged so that no square overflows.
      const w = (alpha - 1) / sigma;
      const m = c1 / sigma + w / sigma;
      const k = (alpha - 1) * m - (w * w) / 2;
      return Math.LN2 + k + 0.5 * Math.log(2 * Math.PI) - Math.log(sigma) + logNormalCdf(-sigma * (v - m));
    },
  };
}

/**
 * The profile of a mechanism whose output pmf is within a factor e^{+-s} of one with profile `ideal`:
 * H_gamma(P' || Q') <= e^s H_{gamma e^{-2s}}(P || Q), capped at 1 (and the tail bound grows by e^s
 * with the profile evaluated 2s lower, which a shift of -2s in log gamma gives).
 */
export function withSlack(ideal: LogProfile, slack: number): LogProfile {
  if (slack === 0) return ideal;
  return {
    logH(logGamma) {
      const t = logGamma - 2 * slack;
      if (t >= 0) return Math.min(0, slack + ideal.logH(t));
      // Below gamma = 1: H_g(P || Q) = 1 - g + g H_{1/g}(Q || P), and the reverse order has the same bound.
      const g = Math.exp(t);
      return Math.min(0, slack + Math.log(1 - g + g * Math.exp(ideal.logH(-t))));
    },
    logTail: (alpha, v, shift) => slack + ideal.logTail(alpha, v, shift - 2 * slack),
  };
}

/**
 * The profile implied by an RDP curve (eps(beta) at each of `orders`): H_{e^t} <= exp((beta - 1)(eps(beta) - t
 * + log(1 - 1/beta)) - log beta) at every order (Balle et al. 2020, Thm 21), minimized over the orders.
 */
export function rdpProfile(rdp: (beta: number) => number, orders: readonly number[]): LogProfile {
  const finite = orders.filter((beta) => Number.isFinite(beta) && Number.isFinite(rdp(beta))).sort((a, b) => a - b);
  const offset = finite.map((beta) => (beta - 1) * (rdp(beta) + Math.log1p(-1 / beta)) - Math.log(beta));
  // The lower envelope of the lines offset - (beta - 1) t and of 0 (H <= 1), by increasing slope magnitude:
  // hull[i] is minimal on [breaks[i - 1], breaks[i]).
  const lines: [number, number][] = [[0, 0], ...finite.map((beta, i): [number, number] => [offset[i]!, beta - 1])];
  const hull: [number, number][] = [];
  const breaks: number[] = [];
  for (const line of lines) {
    for (;;) {
      const top = hull[hull.length - 1];
      if (top === undefined) break;
      // Where the new line meets the top one; the top line is useless if that is at or before the top's own start.
      const meet = (line[0] - top[0]) / (line[1] - top[1]);
      if (line[1] === top[1] ? line[0] <= top[0] : hull.length > 1 && meet <= breaks[breaks.length - 1]!) {
        hull.pop();
        breaks.pop();
      } else {
        if (line[1] !== top[1]) breaks.push(meet);
        break;
      }
    }
    if (hull.length === 0 || line[1] !== hull[hull.length - 1]![1]) hull.push(line);
  }
  return {
    logH(t) {
      let lo = 0;
      let hi = breaks.length;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (breaks[mid]! <= t) lo = mid + 1;
        else hi = mid;
      }
      const [a, b] = hull[lo]!;
      return a - b * t;
    },
    // g(u e^shift) <= e^{offset(beta) - (beta - 1) shift} u^-(beta - 1), so for beta > alpha
    // int_U^inf 2 u^(alpha - 2) g du <= 2 e^{offset - (beta - 1) shift} U^(alpha - beta) / (beta - alpha).
    logTail(alpha, v, shift) {
      let best = Number.POSITIVE_INFINITY;
      for (let i = 0; i < finite.length; i++) {
        const beta = finite[i]!;
        if (beta > alpha) best = Math.min(best, Math.LN2 + offset[i]! - (beta - 1) * shift + (alpha - beta) * v - Math.log(beta - alpha));
      }
      return best;
    },
  };
}

/**
 * The grid is uniform in t = log gamma (u = 1 + q (e^t - 1)), fine where the subsampled profile changes
 * (u - 1 of the order of q); it ends where the profile falls below e^-FLOOR or at MAX_LOG_GAMMA, and the
 * tail beyond is the profile's bound.
 */
const STEP = 1e-3;
const MAX_LOG_GAMMA = 40;
const FLOOR = 745;
/** Terms below the largest by more than this (in log) are not summed one by one; they count as the cut-off each. */
const NEGLIGIBLE = 60;
/** Cells per block: a block whose largest possible term is under the cut-off is counted whole without visiting its cells. */
const BLOCK = 256;

/** The grid: per cell, log(h(u_k) (u_{k+1} - u_k)) and log u at both ends (increasing). */
interface Grid {
  logMass: Float64Array;
  logLeft: Float64Array;
  logRight: Float64Array;
  /** Per block, the largest and smallest logMass. */
  blockMax: Float64Array;
  blockMin: Float64Array;
}

function buildGrid(q: number, profile: LogProfile): Grid {
  const logMass: number[] = [];
  const logLeft: number[] = [];
  const logRight: number[] = [];
  const logQ = Math.log(q);
  const logWidth = Math.log(Math.expm1(STEP));
  for (let k = 0; k * STEP < MAX_LOG_GAMMA; k++) {
    const t = k * STEP;
    const logH = logQ + profile.logH(t);
    // Stop once the profile is negligible and u >= 2, where the tail bound takes over.
    if (logH < -FLOOR && q * Math.expm1(t) >= 1) break;
    // u_k = 1 + q (e^t - 1); u_{k+1} - u_k = q e^t (e^STEP - 1).
    logMass.push(logH + logQ + t + logWidth);
    logLeft.push(Math.log1p(q * Math.expm1(t)));
    logRight.push(Math.log1p(q * Math.expm1(t + STEP)));
  }
  const blocks = Math.ceil(logMass.length / BLOCK);
  const blockMax = new Float64Array(blocks).fill(Number.NEGATIVE_INFINITY);
  const blockMin = new Float64Array(blocks).fill(Number.POSITIVE_INFINITY);
  logMass.forEach((m, k) => {
    const b = Math.floor(k / BLOCK);
    blockMax[b] = Math.max(blockMax[b]!, m);
    blockMin[b] = Math.min(blockMin[b]!, m);
  });
  return { logMass: Float64Array.from(logMass), logLeft: Float64Array.from(logLeft), logRight: Float64Array.from(logRight), blockMax, blockMin };
}

/**
 * log of an upper bound on sum_k h(u_k) int_{u_k}^{u_{k+1}} u^s du <= sum_k h(u_k) (u_{k+1} - u_k) max(u_k^s, u_{k+1}^s)
 * (h is non-increasing, so h(u_k) bounds it on the cell), with every term under the cut-off counted as the cut-off.
 */
function logWeightedSum(grid: Grid, s: number): number {
  const { logMass, blockMax, blockMin } = grid;
  const logU = s >= 0 ? grid.logRight : grid.logLeft;
  const n = logMass.length;
  const term = (k: number) => logMass[k]! + s * logU[k]!;
  // Within a block log u rises from logU[first] to logU[last]: bounds on every term of the block.
  const blockBounds = (b: number): [number, number] => {
    const first = b * BLOCK;
    const last = Math.min(n, first + BLOCK) - 1;
    const [lowU, highU] = s >= 0 ? [logU[first]!, logU[last]!] : [logU[last]!, logU[first]!];
    return [blockMin[b]! + s * lowU, blockMax[b]! + s * highU];
  };
  let reference = Number.NEGATIVE_INFINITY;
  for (let b = 0; b < blockMax.length; b++) reference = Math.max(reference, blockBounds(b)[0]);
  if (reference === Number.NEGATIVE_INFINITY) {
    for (let b = 0; b < blockMax.length; b++) reference = Math.max(reference, blockBounds(b)[1]);
    if (reference === Number.NEGATIVE_INFINITY) return reference;
  }
  const cutoff = reference - NEGLIGIBLE;
  let sum = 0;
  let dropped = 0;
  for (let b = 0; b < blockMax.length; b++) {
    const first = b * BLOCK;
    const last = Math.min(n, first + BLOCK) - 1;
    if (blockBounds(b)[1] < cutoff) {
      dropped += last - first + 1;
      continue;
    }
    for (let k = first; k <= last; k++) {
      const t = term(k);
      if (t >= cutoff) sum += Math.exp(t - reference);
      else dropped++;
    }
  }
  return reference + Math.log(sum + dropped * Math.exp(-NEGLIGIBLE));
}

/**
 * The RDP at each of `orders` of one step of a mechanism with profile `profile`, on a sample drawn
 * without replacement at rate q, under replace-one neighbours (see the file header). An order the
 * grid can not bound is Infinity (the caller takes the minimum with other valid bounds).
 */
export function rdpReplaceOneSampled(q: number, profile: LogProfile, orders: readonly number[]): Float64Array {
  const grid = buildGrid(q, profile);
  // The grid reaches u >= 2 unless MAX_LOG_GAMMA stops it first (q < ~e^-40): then the tail bound is Infinity.
  const end = grid.logRight[grid.logRight.length - 1]!;
  const shift = -Math.log(2 * q);
  return Float64Array.from(orders, (alpha) => {
    if (!(alpha > 1) || !Number.isFinite(alpha) || end < Math.LN2) return Number.POSITIVE_INFINITY;
    const logIntegral = logAdd(logAdd(logWeightedSum(grid, alpha - 2), logWeightedSum(grid, -alpha - 1)), profile.logTail(alpha, end, shift));
    const logA = Math.log(alpha * (alpha - 1)) + logIntegral;
    return (logA < 30 ? Math.log1p(Math.exp(logA)) : logA + Math.log1p(Math.exp(-logA))) / (alpha - 1);
  });
}
