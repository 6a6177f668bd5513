// Renyi DP of one event at each order: the Poisson-subsampled Gaussian (Mironov, Talwar, Zhang 2019),
// the Gaussian without replacement (Wang, Balle, Kasiviswanathan 2019), and the plain Gaussian,
// Laplace (Mironov 2017, Prop. 6) and zCDP mechanisms, and the distributed discrete Gaussian of secure
// aggregation (Kairouz, Liu, Steinke 2021) under either subsampling.
import type { Neighbours, NormalizedEvent } from './events.js';
import { logAdd, logErfc, logSub } from '../math/special.js';
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
 * The fractional-order series stops once both new terms fall below e^-30 times min(1, log A): relative
 * to the RDP itself, which is tiny for small q or alpha near 1 (a cut-off relative to A only, as in
 * Opacus, loses digits there). log A is floored at 1e-22 for the purpose.
 */
const SERIES_CUTOFF = -30;
const MIN_LOG_A = 1e-22;
/**
 * Beyond this many terms the series is abandoned for quadrature: when q >= ~1/2 and sigma is large its
 * terms decay only polynomially (|binom(alpha, i)| ~ i^(-alpha-1)).
 */
const MAX_SERIES_TERMS = 1000;

/** log A_alpha for integer alpha: log sum_i C(alpha, i) q^i (1-q)^(alpha-i) exp((i^2 - i) / (2 sigma^2)) (MTZ19, Sec. 3.3). */
function logAInteger(q: number, sigma: number, alpha: number): number {
  const logQ = Math.log(q);
  const log1mQ = Math.log1p(-q);
  const twoSigma2 = 2 * sigma * sigma;
  let logBinom = 0;
  let logA = Number.NEGATIVE_INFINITY;
  for (let i = 0; i <= alpha; i++) {
    if (i > 0) logBinom += Math.log((alpha - i + 1) / i);
    logA = logAdd(logA, logBinom + i * logQ + (alpha - i) * log1mQ + (i * i - i) / twoSigma2);
  }
  return logA;
}

/**
 * log A_alpha for fractional alpha: the exact two-sided series of MTZ19 (Sec. 3.3), with each term
 * signed by binom(alpha, i) (not the absolute-value upper bound), summed in log space.
 */
function logAFractional(q: number, sigma: number, alpha: number): number {
  const logQ = Math.log(q);
  const log1mQ = Math.log1p(-q);
  const twoSigma2 = 2 * sigma * sigma;
  const sqrt2Sigma = Math.SQRT2 * sigma;
  const z0 = sigma * sigma * Math.log(1 / q - 1) + 0.5;
  let positive = Number.NEGATIVE_INFINITY;
  let negative = Number.NEGATIVE_INFINITY;
  let logAbsBinom = 0;
  let binomSign = 1;
  for (let i = 0; ; i++) {
    if (i === MAX_SERIES_TERMS) return logAQuadrature(q, sigma, alpha);
    if (i > 0) {
      const ratio = (alpha - i + 1) / i;
      logAbsBinom += Math.log(Math.abs(ratio));
      if (ratio < 0) binomSign = -binomSign;
    }
    const j = alpha - i;
    const s0 = logAbsBinom + i * logQ + j * log1mQ + (i * i - i) / twoSigma2 + logErfc((i - z0) / sqrt2Sigma) - Math.LN2;
    const s1 = logAbsBinom + j * logQ + i * log1mQ + (j * j - j) / twoSigma2 + logErfc((z0 - j) / sqrt2Sigma) - Math.LN2;
    const term = logAdd(s0, s1);
    if (binomSign > 0) positive = logAdd(positive, term);
    else negative = logAdd(negative, term);
    const logA = logSub(positive, negative);
    if (Math.max(s0, s1) < SERIES_CUTOFF + Math.min(0, Math.log(logA > MIN_LOG_A ? logA : MIN_LOG_A))) return logA;
  }
}

/**
 * log A_alpha = log E_{z ~ N(0, sigma^2)}[(1 - q + q e^{(2z - 1) / (2 sigma^2)})^alpha] by the trapezoid rule,
 * whose error decays like e^{-2 pi d / h} for an integrand analytic in the strip |Im z| < d = pi sigma^2
 * (here e^-60 relative). Sums A - 1 directly while that can not overflow, so small RDPs keep their digits.
 */
function logAQuadrature(q: number, sigma: number, alpha: number): number {
  const s2 = sigma * sigma;
  const h = Math.min(sigma / 6, (Math.PI * s2) / 10);
  const lo = -14 * sigma;
  const count = Math.ceil((alpha + 28 * sigma) / h);
  const logTilt = (z: number) => alpha * Math.log1p(q * Math.expm1((2 * z - 1) / (2 * s2)));
  const logNorm = Math.log(h / (Math.sqrt(2 * Math.PI) * sigma));
  if (logTilt(lo + count * h) < 600) {
    let sum = 0;
    for (let k = 0; k <= count; k++) {
      const z = lo + k * h;
      sum += Math.exp(-(z * z) / (2 * s2)) * Math.expm1(logTilt(z));
    }
    return Math.log1p(Math.exp(logNorm) * sum);
  }
  let logSum = Number.NEGATIVE_INFINITY;
  for (let k = 0; k <= count; k++) {
    const z = lo + k * h;
    logSum = logAdd(logSum, -(z * z) / (2 * s2) + logTilt(z));
  }
  return logSum + logNorm;
}

/** RDP of one Poisson-subsampled Gaussian step at order alpha (Infinity allowed). */
export function rdpPoissonGaussian(q: number, sigma: number, alpha: number): number {
  if (sigma === 0) return Number.POSITIVE_INFINITY;
  if (q === 1) return alpha / (2 * sigma * sigma);
  if (alpha === Number.POSITIVE_INFINITY) return Number.POSITIVE_INFINITY;
  const logA = Number.isInteger(alpha) ? logAInteger(q, sigma, alpha) : logAFractional(q, sigma, alpha);
  return Math.max(0, logA) / (alpha - 1);
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
  if (q === 1) return eps(alpha);
  if (alpha === Number.POSITIVE_INFINITY) return Number.POSITIVE_INFINITY;
  if (Number.isInteger(alpha)) return Math.min(eps(alpha), cumulant(q, eps, alpha) / (alpha - 1));
  const lo = Math.floor(alpha);
  const t = alpha - lo;
  const interpolated = ((1 - t) * cumulant(q, eps, lo) + t * cumulant(q, eps, lo + 1)) / (alpha - 1);
  return Math.min(eps(alpha), interpolated);
}


/**
 * The RDP curve of one unsampled release of the sum of `clients` vectors each carrying N_Z(0, localSigma^2)
 * noise (Kairouz, Liu, Steinke 2021, Prop. 14): the sum of n discrete Gaussians is close to N_Z(0, n sigma^2),
 * with tau = 10 sum_{k=1}^{n-1} exp(-2 pi^2 sigma^2 k / (k + 1)) measuring how close, and
 * eps(alpha) = min( alpha D2^2 / 2 + tau d,  alpha/2 (D2^2 + 2 D1 tau + tau^2 d),  alpha/2 (D2 + tau sqrt(d))^2 )
 * where D2, D1 are the sensitivities divided by sqrt(n) sigma: one client's bounds under add/remove
 * neighbours, twice them under replace-one (the difference of two clients' vectors).
 */
export function distributedDiscreteGaussianCurve(
  event: Extract<NormalizedEvent, { mechanism: 'distributed-discrete-gaussian' }>,
): (alpha: number) => number {
  const { localSigma, clients, dimension } = event;
  let tau = 0;
  for (let k = 1; k < clients; k++) tau += Math.exp((-2 * Math.PI * Math.PI * localSigma * localSigma * k) / (k + 1));
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

/** RDP of the Laplace mechanism with scale b = noiseMultiplier x l1 sensitivity (Mironov 2017, Prop. 6). */
export function rdpLaplace(noiseMultiplier: number, alpha: number): number {
  if (noiseMultiplier === 0) return Number.POSITIVE_INFINITY;
  const eps = 1 / noiseMultiplier;
  if (alpha === Number.POSITIVE_INFINITY) return eps;
  return eps + Math.log1p(((alpha - 1) * Math.expm1(eps * (1 - 2 * alpha))) / (2 * alpha - 1)) / (alpha - 1);
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
  profile?: LogProfile,
): Float64Array {
  if (q === 1) return Float64Array.from(orders, base);
  if (neighbours === 'add-remove') return Float64Array.from(orders, (alpha) => subsampledRdp(poissonCumulant, q, base, alpha));
  const symmetric = rdpReplaceOneSampled(q, profile ?? rdpProfile(base, DEFAULT_ORDERS), orders);
  return Float64Array.from(orders, (alpha, k) => Math.min(symmetric[k]!, subsampledRdp(worCumulant, q, base, alpha)));
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
        const base = (alpha: number) => alpha / (2 * sigma * sigma) + slackRdp(event.slack, alpha);
        one =
          z === 0
            ? Float64Array.from(orders, () => Number.POSITIVE_INFINITY)
            : sampledRdp(base, event.sampleRate, 'replace-one', orders, withSlack(gaussianProfile(sigma), event.slack));
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
    case 'distributed-discrete-gaussian':
      one = sampledRdp(distributedDiscreteGaussianCurve(event), event.sampleRate, event.neighbours, orders);
      break;
  }
  for (let k = 0; k < one.length; k++) one[k] = one[k]! * event.steps;
  return one;
}
