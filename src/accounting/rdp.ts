// Renyi DP of one event at each order: the Poisson-subsampled Gaussian (Mironov, Talwar, Zhang 2019),
// the Gaussian without replacement (Wang, Balle, Kasiviswanathan 2019), and the plain Gaussian,
// Laplace (Mironov 2017, Prop. 6) and zCDP mechanisms, and the distributed discrete Gaussian of secure
// aggregation (Kairouz, Liu, Steinke 2021) under either subsampling.
//
// Every function returns an upper bound on the RDP with a small relative error, at every parameter:
// tiny RDPs (small q, large sigma, alpha near 1) keep their digits because A_alpha - 1 is summed or
// integrated from non-negative terms, never obtained by cancelling against 1; results below the
// smallest double are reported as that double, and those above the largest as Infinity.
import { PrivkitError } from '../errors.js';
import { assertNumber } from '../validate.js';
import type { Neighbours, NormalizedEvent } from './events.js';
import { log1pExp, logAdd, logErfc, logExpm1, logNormalExpectation, logSub, MAX_QUADRATURE_NODES } from '../math/special.js';
import { gaussianProfile, rdpProfile, rdpReplaceOneSampled, withSlack, type LogProfile } from './replace-one.js';

/** 1.1, 1.2, ..., 10.9, 11, 12, ..., 63, 128, 256, 512, 1024 (156 orders). */
export const DEFAULT_ORDERS: readonly number[] = Object.freeze([
  ...Array.from({ length: 99 }, (_, i) => 1 + (i + 1) / 10),
  ...Array.from({ length: 53 }, (_, i) => 11 + i),
  128,
  256,
  512,
  1024,
]);

/**
 * Sums over the binomial terms i = 0..alpha run for integer orders up to this one; beyond it the
 * subsampled bounds fall back to the unsubsampled mechanism's RDP (an upper bound) when nothing cheaper applies.
 */
const MAX_BINOMIAL_ORDER = 1 << 16;
/** The fractional-order series stops once both new terms fall below e^-30 times min(1, log A), floored at 1e-22. */
const SERIES_CUTOFF = -30;
const MIN_LOG_A = 1e-22;
/** Beyond this many terms the series is abandoned (its terms decay only polynomially when q >= ~1/2 and sigma is large). */
const MAX_SERIES_TERMS = 1000;
/** The series' result is used when its estimated relative rounding error is below this. */
const SERIES_RELATIVE_ERROR = 1e-12;
/** Below this many quadrature nodes the quadrature is used directly (the series would not be cheaper). */
const CHEAP_QUADRATURE_NODES = 256;

/** Checks the arguments of the exported RDP functions (order > 1, Infinity allowed). */
function checkOrder(alpha: number): void {
  if (typeof alpha !== 'number' || !(alpha > 1)) {
    throw new PrivkitError('E_ARG', `alpha must be a number > 1, got ${alpha}`, { argument: 'alpha' });
  }
}

function checkSampleRate(q: number): void {
  assertNumber('sampleRate', q, 'positive');
  if (q > 1) throw new PrivkitError('E_ARG', `sampleRate must be in (0, 1], got ${q}`, { argument: 'sampleRate' });
}

/** A positive RDP too small for a double is reported as the smallest one, an upper bound; NaN is a bug and throws. */
function positiveResult(rdp: number): number {
  if (Number.isNaN(rdp)) throw new PrivkitError('E_OVERFLOW', 'an RDP computation produced NaN');
  return Math.max(Number.MIN_VALUE, rdp);
}

/** x / (2 sigma^2) without overflow in sigma^2 (Infinity when the result exceeds the double range). */
function overTwoSigma2(x: number, sigma: number): number {
  return x / (2 * sigma) / sigma;
}

/**
 * log(A_alpha - 1) for integer alpha >= 2: A - 1 = sum_{i >= 2} C(alpha, i) q^i (1-q)^(alpha-i) (e^{(i^2 - i) / (2 sigma^2)} - 1)
 * (MTZ19, Sec. 3.3, after subtracting the binomial sum 1), a sum of non-negative terms.
 */
function logAMinusOneInteger(q: number, sigma: number, alpha: number): number {
  const logQ = Math.log(q);
  const log1mQ = Math.log1p(-q);
  const logSigma = Math.log(sigma);
  let logBinom = Math.log(alpha);
  let result = Number.NEGATIVE_INFINITY;
  for (let i = 2; i <= alpha; i++) {
    logBinom += Math.log((alpha - i + 1) / i);
    // log(e^c - 1) for c = (i^2 - i) / (2 sigma^2); from log c where a huge sigma would round c to 0.
    const c = overTwoSigma2(i * (i - 1), sigma);
    const logExpm1C = c > 1e-300 ? logExpm1(c) : Math.log((i * (i - 1)) / 2) - 2 * logSigma;
    result = logAdd(result, logBinom + i * logQ + (alpha - i) * log1mQ + logExpm1C);
  }
  return result;
}

/**
 * log g(L) for g(L) = e^{alpha L} - 1 - alpha (e^L - 1) >= 0, with full relative precision: the
 * integrand of A_alpha - 1 = E[(1 + X)^alpha - 1 - alpha X] (E[X] = 0) with L = log(1 + X).
 */
function logExcess(alpha: number, L: number): number {
  const x = alpha * L;
  if (Math.abs(x) <= 1) {
    // sum_{k >= 2} (alpha^k - alpha) L^k / k!, with alpha^k - alpha = alpha expm1((k - 1) log alpha).
    const logAlpha = Math.log(alpha);
    let power = L;
    let sum = 0;
    for (let k = 2; k <= 40; k++) {
      power *= L / k;
      const term = alpha * Math.expm1((k - 1) * logAlpha) * power;
      sum += term;
      if (Math.abs(term) <= 1e-17 * Math.abs(sum)) break;
    }
    return Math.log(sum);
  }
  // e^L (e^{(alpha - 1) L} - 1) - (alpha - 1)(e^L - 1): the two terms cancel by at most a bounded factor here.
  if (x < 700) return Math.log(Math.exp(L) * Math.expm1((alpha - 1) * L) - (alpha - 1) * Math.expm1(L));
  return x + Math.log1p(-Math.exp(-x) * (1 + alpha * Math.expm1(L)));
}

/**
 * log E_{z ~ N(0, sigma^2)}[e^{logF(L(z))}] for the privacy loss L(z) = log(1 - q + q e^w), w = (2z - 1) / (2 sigma^2),
 * of (1-q) N(0, sigma^2) + q N(1, sigma^2) against N(0, sigma^2) (q < 1), and an integrand that grows at most like
 * e^{tilt w}: the trapezoid rule in t = z / sigma. The integrand is analytic for |Im t| < pi sigma (where
 * 1 - q + q e^w first vanishes); with step 0.4 min(1, sigma) the error is below e^-44 relative (balancing
 * the strip against the growth of e^{-t^2/2} off the axis). The mass of N(0, 1) tilted by up to e^{tilt w}
 * lies in [-10, tilt / sigma + 10]. Undefined when that needs MAX_QUADRATURE_NODES nodes or more (small sigma).
 */
export function logLossExpectation(q: number, sigma: number, tilt: number, logF: (loss: number) => number): number | undefined {
  if (!(lossExpectationNodes(sigma, tilt) < MAX_QUADRATURE_NODES)) return undefined;
  const shift = overTwoSigma2(1, sigma);
  const log1mQ = Math.log1p(-q);
  const logQ = Math.log(q);
  const loss = (t: number) => {
    const w = t / sigma - shift;
    return w < 30 ? Math.log1p(q * Math.expm1(w)) : logAdd(log1mQ, logQ + w);
  };
  const result = logNormalExpectation((t) => logF(loss(t)), -10, tilt / sigma + 10, 0.4 * Math.min(1, sigma));
  return Number.isNaN(result) ? undefined : result;
}

/** How many nodes logLossExpectation evaluates. */
function lossExpectationNodes(sigma: number, tilt: number): number {
  return (tilt / sigma + 20) / (0.4 * Math.min(1, sigma)) + 1;
}

/**
 * log A_alpha for fractional alpha by the exact two-sided series of MTZ19 (Sec. 3.3), each term signed
 * by binom(alpha, i), summed in log space. Its rounding error is absolute in A, so it is used only where
 * log A is large enough (small sigma, where the quadrature would need too many nodes); undefined otherwise.
 */
function logASeries(q: number, sigma: number, alpha: number): number | undefined {
  const logQ = Math.log(q);
  const log1mQ = Math.log1p(-q);
  const twoSigma2 = 2 * sigma * sigma;
  const sqrt2Sigma = Math.SQRT2 * sigma;
  const z0 = sigma * sigma * Math.log(1 / q - 1) + 0.5;
  let positive = Number.NEGATIVE_INFINITY;
  let negative = Number.NEGATIVE_INFINITY;
  let logAbsBinom = 0;
  let binomSign = 1;
  for (let i = 0; i < MAX_SERIES_TERMS; i++) {
    if (i > 0) {
      const ratio = (alpha - i + 1) / i;
      logAbsBinom += Math.log(Math.abs(ratio));
      if (ratio < 0) binomSign = -binomSign;
    }
    const j = alpha - i;
    // j (j - 1), not j^2 - j, which cancels for alpha near 1.
    const s0 = logAbsBinom + i * logQ + j * log1mQ + (i * (i - 1)) / twoSigma2 + logErfc((i - z0) / sqrt2Sigma) - Math.LN2;
    const s1 = logAbsBinom + j * logQ + i * log1mQ + (j * (j - 1)) / twoSigma2 + logErfc((z0 - j) / sqrt2Sigma) - Math.LN2;
    if (!(Math.max(s0, s1) < Number.POSITIVE_INFINITY)) return undefined;
    const term = logAdd(s0, s1);
    if (binomSign > 0) positive = logAdd(positive, term);
    else negative = logAdd(negative, term);
    const logA = logSub(positive, negative);
    if (Math.max(s0, s1) < SERIES_CUTOFF + Math.min(0, Math.log(logA > MIN_LOG_A ? logA : MIN_LOG_A))) {
      // Each log-space addition errs by a few ulps of the running sums, which may dwarf A itself.
      const relativeError = (4 * (i + 2) * Number.EPSILON * (Math.exp(positive - logA) + Math.exp(negative - logA))) / logA;
      return relativeError < SERIES_RELATIVE_ERROR ? logA : undefined;
    }
  }
  return undefined;
}

/**
 * An upper bound on log A_alpha from the neighbouring integer orders: (alpha - 1) D_alpha = log A_alpha is
 * convex in alpha (a cumulant generating function), with log A_1 = 0. Infinity beyond MAX_BINOMIAL_ORDER.
 */
function logAConvexBound(q: number, sigma: number, alpha: number): number {
  const lo = Math.floor(alpha);
  if (lo + 1 > MAX_BINOMIAL_ORDER) return Number.POSITIVE_INFINITY;
  const logA = (order: number) => (order === 1 ? 0 : log1pExp(logAMinusOneInteger(q, sigma, order)));
  return (lo + 1 - alpha) * logA(lo) + (alpha - lo) * logA(lo + 1);
}

/**
 * log(A_alpha - 1) for 0 < q < 1, or an upper bound on it (Infinity when only the Gaussian bound is left).
 * A - 1 = E[g(L)] by quadrature is accurate everywhere but needs ~alpha / sigma^2 nodes; where that is
 * many, the series is tried first, which is cheap there and accurate wherever log A is not tiny.
 */
function logAMinusOne(q: number, sigma: number, alpha: number): number {
  if (Number.isInteger(alpha) && alpha <= MAX_BINOMIAL_ORDER) return logAMinusOneInteger(q, sigma, alpha);
  // The integrand g(L) grows like e^{alpha w} for large w and like e^{2 w} (g ~ L^2) near w = 0.
  const tilt = Math.max(alpha, 2);
  const series = lossExpectationNodes(sigma, tilt) > CHEAP_QUADRATURE_NODES ? logASeries(q, sigma, alpha) : undefined;
  if (series !== undefined) return logExpm1(series);
  const quadrature = logLossExpectation(q, sigma, tilt, (L) => logExcess(alpha, L));
  if (quadrature !== undefined) return quadrature;
  return logExpm1(logASeries(q, sigma, alpha) ?? logAConvexBound(q, sigma, alpha));
}

/** RDP of one Poisson-subsampled Gaussian step at order alpha (Infinity allowed). */
export function rdpPoissonGaussian(q: number, sigma: number, alpha: number): number {
  checkSampleRate(q);
  assertNumber('noiseMultiplier', sigma, 'nonnegative');
  checkOrder(alpha);
  if (sigma === 0 || alpha === Number.POSITIVE_INFINITY) return Number.POSITIVE_INFINITY;
  // The unsubsampled Gaussian's RDP bounds every q (joint quasi-convexity). When it overflows, so does the
  // subsampled one, which is at least alpha / (2 sigma^2) + alpha log(q) / (alpha - 1) (the i = alpha term).
  const gaussian = overTwoSigma2(alpha, sigma);
  if (q === 1 || gaussian === Number.POSITIVE_INFINITY) return positiveResult(gaussian);
  const logAm1 = logAMinusOne(q, sigma, alpha);
  // RDP = log(1 + (A - 1)) / (alpha - 1), straight from log(A - 1) where A - 1 is below the double range.
  const rdp = logAm1 > -700 ? log1pExp(logAm1) / (alpha - 1) : Math.exp(logAm1 - Math.log(alpha - 1));
  return positiveResult(Math.min(gaussian, rdp));
}

/**
 * The cumulant bound (alpha - 1) x RDP at integer alpha >= 1 of a mechanism with RDP curve eps(j),
 * run on a batch sampled without replacement at rate q: the general upper bound of WBK19, Thm 9.
 */
function worCumulant(q: number, eps: (order: number) => number, alpha: number): number {
  if (alpha === 1) return 0;
  const logQ = Math.log(q);
  const eps2 = eps(2);
  // j = 2: q^2 C(alpha, 2) min(4 (e^eps(2) - 1), 2 e^eps(2)).
  let logBinom = Math.log((alpha * (alpha - 1)) / 2);
  const second = Math.min(Math.log(4) + logSub(eps2, 0), Math.LN2 + eps2);
  let logA = logAdd(0, 2 * logQ + logBinom + second);
  for (let j = 3; j <= alpha; j++) {
    logBinom += Math.log((alpha - j + 1) / j);
    // q^j C(alpha, j) 2 e^{(j - 1) eps(j)}
    logA = logAdd(logA, j * logQ + logBinom + Math.LN2 + (j - 1) * eps(j));
  }
  return logA;
}

/**
 * The cumulant bound (alpha - 1) x RDP at integer alpha >= 2 of a mechanism with RDP curve eps(j)
 * under Poisson subsampling at rate q: the general upper bound of Zhu & Wang 2019, Thm 6,
 * (1-q)^(a-1) (a q - q + 1) + C(a,2) q^2 (1-q)^(a-2) e^eps(2) + 3 sum_{l>=3} C(a,l) (1-q)^(a-l) q^l e^((l-1) eps(l)).
 */
function poissonCumulant(q: number, eps: (order: number) => number, alpha: number): number {
  if (alpha === 1) return 0;
  const logQ = Math.log(q);
  const log1mQ = Math.log1p(-q);
  let logA = (alpha - 1) * log1mQ + Math.log1p((alpha - 1) * q);
  let logBinom = Math.log((alpha * (alpha - 1)) / 2);
  logA = logAdd(logA, logBinom + 2 * logQ + (alpha - 2) * log1mQ + eps(2));
  for (let l = 3; l <= alpha; l++) {
    logBinom += Math.log((alpha - l + 1) / l);
    logA = logAdd(logA, Math.log(3) + logBinom + (alpha - l) * log1mQ + l * logQ + (l - 1) * eps(l));
  }
  return logA;
}

/**
 * RDP at order alpha of a mechanism with RDP curve eps, subsampled at rate q by `cumulant`. Fractional
 * orders interpolate the cumulant linearly between integers, an upper bound since the true cumulant
 * (alpha - 1) eps(alpha) is convex in alpha (WBK19, Cor. 10).
 */
function subsampledRdp(cumulant: typeof worCumulant, q: number, eps: (order: number) => number, alpha: number): number {
  if (q === 1 || alpha > MAX_BINOMIAL_ORDER) return eps(alpha);
  if (Number.isInteger(alpha)) return Math.min(eps(alpha), cumulant(q, eps, alpha) / (alpha - 1));
  const lo = Math.floor(alpha);
  const t = alpha - lo;
  const interpolated = ((1 - t) * cumulant(q, eps, lo) + t * cumulant(q, eps, lo + 1)) / (alpha - 1);
  return Math.min(eps(alpha), interpolated);
}


/** Terms of KLS21's tau summed one by one; the rest are bounded together. */
const TAU_TERMS = 4096;

/**
 * The RDP curve of one unsampled release of the sum of `clients` vectors each carrying N_Z(0, localSigma^2)
 * noise (Kairouz, Liu, Steinke 2021, Prop. 14): the sum of n discrete Gaussians is close to N_Z(0, n sigma^2),
 * with tau = 10 sum_{k=1}^{n-1} exp(-2 pi^2 sigma^2 k / (k + 1)) measuring how close (n = tauClients >= clients:
 * tau only grows with n, so a larger n is a valid, more conservative charge), and
 * eps(alpha) = min( alpha D2^2 / 2 + tau d,  alpha/2 (D2^2 + 2 D1 tau + tau^2 d),  alpha/2 (D2 + tau sqrt(d))^2 )
 * where D2, D1 are the sensitivities divided by sqrt(n) sigma: one client's bounds under add/remove
 * neighbours, twice them under replace-one (the difference of two clients' vectors).
 */
function distributedDiscreteGaussianCurve(
  event: Extract<NormalizedEvent, { mechanism: 'distributed-discrete-gaussian' }>,
): (alpha: number) => number {
  const { localSigma, clients, tauClients, dimension } = event;
  // The terms grow towards e^{-2 pi^2 sigma^2} with k: past the first TAU_TERMS, each is bounded by that limit.
  const exponent = -2 * Math.PI * Math.PI * localSigma * localSigma;
  let tau = 0;
  for (let k = 1; k < Math.min(tauClients, TAU_TERMS + 1); k++) tau += Math.exp((exponent * k) / (k + 1));
  if (tauClients > TAU_TERMS + 1) tau += (tauClients - 1 - TAU_TERMS) * Math.exp(exponent);
  tau *= 10;
  const centralSigma = Math.sqrt(clients) * localSigma;
  const factor = event.neighbours === 'replace-one' ? 2 : 1;
  const d2 = (factor * event.l2Sensitivity) / centralSigma;
  const d1 = (factor * event.l1Sensitivity) / centralSigma;
  return (alpha) =>
    alpha === Number.POSITIVE_INFINITY
      ? Number.POSITIVE_INFINITY
      : Math.min(
          (alpha / 2) * d2 * d2 + tau * dimension,
          (alpha / 2) * (d2 * d2 + 2 * d1 * tau + tau * tau * dimension),
          (alpha / 2) * (d2 + tau * Math.sqrt(dimension)) ** 2,
        );
}

/**
 * RDP of the Laplace mechanism with scale b = noiseMultiplier x l1 sensitivity (Mironov 2017, Prop. 6):
 * log(alpha/(2 alpha-1) e^{(alpha-1) eps} + (alpha-1)/(2 alpha-1) e^{-alpha eps}) / (alpha-1) with eps = 1/b,
 * computed as log1p(D) / (alpha - 1) for D = (alpha expm1((alpha-1) eps) + (alpha-1) expm1(-alpha eps)) / (2 alpha - 1).
 * The two terms of D cancel to first order in eps, so for alpha eps <= 1 it is summed as its Taylor series
 * alpha (alpha-1) sum_{k>=2} ((alpha-1)^(k-1) - (-alpha)^(k-1)) eps^k / k!  (over 2 alpha - 1).
 */
export function rdpLaplace(noiseMultiplier: number, alpha: number): number {
  assertNumber('noiseMultiplier', noiseMultiplier, 'nonnegative');
  checkOrder(alpha);
  if (noiseMultiplier === 0) return Number.POSITIVE_INFINITY;
  const eps = 1 / noiseMultiplier;
  if (alpha === Number.POSITIVE_INFINITY) return eps;
  const a = alpha - 1;
  if (alpha * eps <= 1) {
    let powA = 1;
    let powMinusAlpha = 1;
    let epsPower = eps;
    let sum = 0;
    for (let k = 2; k <= 60; k++) {
      powA *= a;
      powMinusAlpha *= -alpha;
      epsPower *= eps / k;
      const term = (powA - powMinusAlpha) * epsPower;
      sum += term;
      if (Math.abs(term) <= 1e-17 * Math.abs(sum)) break;
    }
    return positiveResult(Math.log1p((alpha * a * sum) / (2 * alpha - 1)) / a);
  }
  if (a * eps < 700) return Math.log1p((alpha * Math.expm1(a * eps) + a * Math.expm1(-alpha * eps)) / (2 * alpha - 1)) / a;
  return eps + Math.log1p((a * Math.expm1(-eps * (2 * alpha - 1))) / (2 * alpha - 1)) / a;
}

/**
 * One step's RDP at each order of a mechanism with RDP curve `base` (for its neighbouring relation)
 * on a batch sampled at rate q: Poisson sampling with add/remove neighbours by the general bound of
 * Zhu & Wang 2019; without replacement with replace-one neighbours by the smaller of the general bound
 * of WBK19 and the bound from the base's privacy profile (replace-one.ts), `profile` when given (the
 * Gaussian's exact one) and otherwise the one the RDP curve implies.
 */
function sampledRdp(
  base: (alpha: number) => number,
  q: number,
  neighbours: Neighbours,
  orders: readonly number[],
  distinguishable: boolean,
  profile?: LogProfile,
): Float64Array {
  if (q === 1) return Float64Array.from(orders, (alpha) => (distinguishable ? positiveResult(base(alpha)) : base(alpha)));
  // A positive RDP (any neighbours the mechanism can tell apart) too small for a double is reported as the smallest one, never as 0.
  const positive = (_alpha: number, rdp: number) => (distinguishable ? positiveResult(rdp) : rdp);
  if (neighbours === 'add-remove') return Float64Array.from(orders, (alpha) => positive(alpha, subsampledRdp(poissonCumulant, q, base, alpha)));
  const symmetric = rdpReplaceOneSampled(q, profile ?? rdpProfile(base, DEFAULT_ORDERS), orders);
  return Float64Array.from(orders, (alpha, k) => positive(alpha, Math.min(symmetric[k]!, subsampledRdp(worCumulant, q, base, alpha))));
}

/**
 * What a sampler's pmf slack s adds to the RDP at order alpha: with the output's pmf within e^{+-s} of
 * the ideal mechanism's on both neighbours, sum P'^alpha Q'^(1-alpha) <= e^{alpha s + (alpha - 1) s} sum P^alpha Q^(1-alpha).
 */
function slackRdp(slack: number, alpha: number): number {
  if (slack === 0) return 0;
  return alpha === Number.POSITIVE_INFINITY ? 2 * slack : (slack * (2 * alpha - 1)) / (alpha - 1);
}

/** Total RDP of `event` (all its steps) at each order. */
export function eventRdp(event: NormalizedEvent, orders: readonly number[]): Float64Array {
  let one: Float64Array;
  switch (event.mechanism) {
    case 'subsampled-gaussian': {
      const z = event.noiseMultiplier;
      if (event.neighbours === 'add-remove') {
        one = Float64Array.from(orders, (alpha) => rdpPoissonGaussian(event.sampleRate, z, alpha) + slackRdp(event.slack, alpha));
      } else {
        // Replace-one neighbours move the sum by up to 2C: the Gaussian of sigma / (2C) = z / 2, its profile
        // widened by the sampler's slack (H_gamma <= e^s H_{gamma e^-2s} of the ideal pair).
        const sigma = z / 2;
        const base = (alpha: number) => overTwoSigma2(alpha, sigma) + slackRdp(event.slack, alpha);
        one =
          z === 0
            ? Float64Array.from(orders, () => Number.POSITIVE_INFINITY)
            : sampledRdp(base, event.sampleRate, 'replace-one', orders, true, withSlack(gaussianProfile(sigma), event.slack));
      }
      break;
    }
    case 'gaussian':
      one = Float64Array.from(orders, (alpha) => rdpPoissonGaussian(1, event.noiseMultiplier, alpha) + slackRdp(event.slack, alpha));
      break;
    case 'laplace':
      one = Float64Array.from(orders, (alpha) => rdpLaplace(event.noiseMultiplier, alpha));
      break;
    case 'zcdp':
      one = Float64Array.from(orders, (alpha) => (event.rho === 0 ? 0 : alpha * event.rho));
      break;
    case 'distributed-discrete-gaussian': {
      const curve = distributedDiscreteGaussianCurve(event);
      one = sampledRdp(
        (alpha) => curve(alpha) + slackRdp(event.slack, alpha),
        event.sampleRate,
        event.neighbours,
        orders,
        event.l2Sensitivity > 0,
      );
      break;
    }
  }
  for (let k = 0; k < one.length; k++) one[k] = one[k]! * event.steps;
  return one;
}
