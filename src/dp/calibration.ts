// Noise calibration for the Gaussian mechanism: the analytic Gaussian mechanism (Balle and Wang 2018,
// "Improving the Gaussian Mechanism for Differential Privacy", ICML, Theorem 8 / Algorithm 1) and the
// classic sqrt(2 ln(1.25/delta)) Delta/epsilon bound for comparison.
import { PrivkitError } from '../errors.js';
import { erfcx, logNormalCdf, logSub } from '../math/special.js';
import { assertNumber, readOptions } from '../validate.js';

/** The privacy target and sensitivity a Gaussian noise scale is calibrated for. */
export interface GaussianCalibration {
  /** Privacy parameter epsilon > 0. */
  epsilon: number;
  /** Privacy parameter delta in (0, 1). */
  delta: number;
  /** L2 sensitivity Delta > 0 of the released vector. */
  l2Sensitivity: number;
}

/** The calibration parameters, checked (null or missing params: every field missing). */
function checkEpsilonDelta(params: unknown): GaussianCalibration {
  const p = readOptions(params as GaussianCalibration | undefined, ['epsilon', 'delta', 'l2Sensitivity'], 'params', true);
  const epsilon = assertNumber('epsilon', p.epsilon, 'positive');
  const delta = assertNumber('delta', p.delta, 'positive');
  if (!(delta < 1)) throw new PrivkitError('E_ARG', `delta must be in (0, 1), got ${delta}`, { argument: 'delta' });
  return { epsilon, delta, l2Sensitivity: assertNumber('l2Sensitivity', p.l2Sensitivity, 'positive') };
}

/**
 * The smallest delta for which N(0, sigma^2) noise makes a query of L2 sensitivity Delta
 * (epsilon, delta)-DP (Balle and Wang 2018, Theorem 8):
 * delta = Phi(Delta/(2 sigma) - epsilon sigma/Delta) - e^epsilon Phi(-Delta/(2 sigma) - epsilon sigma/Delta),
 * evaluated without cancellation (see logDeltaOf) to about 1e-12 relative; 0 and 1 in the limits.
 *
 * @param sigma - the noise standard deviation (> 0).
 * @param params - epsilon (> 0) and the L2 sensitivity Delta (> 0).
 * @throws {PrivkitError} E_ARG when sigma, params.epsilon or params.l2Sensitivity is not finite and > 0, or delta can not be evaluated there.
 */
export function gaussianDelta(sigma: number, params: { epsilon: number; l2Sensitivity: number }): number {
  assertNumber('sigma', sigma, 'positive');
  const p = readOptions(params, ['epsilon', 'l2Sensitivity'], 'params', true);
  const epsilon = assertNumber('epsilon', p.epsilon, 'positive');
  const sensitivity = assertNumber('l2Sensitivity', p.l2Sensitivity, 'positive');
  return Math.exp(logDeltaOf(sigma / sensitivity, epsilon));
}

const SQRT_PI = Math.sqrt(Math.PI);
const TWO_OVER_SQRT_PI = 2 / SQRT_PI;
/** From here on erfcx is summed from its asymptotic series (terms reach 1e-17 long before they grow). */
const ASYMPTOTIC_FROM = 10;
/** Half-gaps up to this use the Taylor series of erfcx around the midpoint (truncation ~gap^6). */
const TAYLOR_UP_TO = 1e-2;

/**
 * log delta(s, epsilon) for sensitivity 1 and noise s (0 <= s <= Infinity). With y0 = epsilon s / sqrt 2,
 * eta = 1 / (2 sqrt 2 s), ya = y0 - eta and yb = y0 + eta, the arguments are a = -sqrt 2 ya and
 * b = -sqrt 2 yb, epsilon = yb^2 - ya^2, and so (Phi(x) = erfc(-x / sqrt 2) / 2, erfc = e^{-y^2} erfcx)
 *   delta = (erfc(ya) - e^epsilon erfc(yb)) / 2 = e^{-ya^2} (erfcx(ya) - erfcx(yb)) / 2.
 * The erfcx difference, which cancels when eta is small (tiny epsilon: at epsilon 1e-14 the ratio
 * form lost every digit), comes from its own series (logErfcxDifference); e^{-ya^2} stays in the
 * log. For ya < -1 (a > sqrt 2, where delta > 1/2) the two Phi terms do not cancel.
 */
function logDeltaOf(s: number, epsilon: number): number {
  const m = epsilon * s;
  const h = 0.5 / s;
  if (h === Number.POSITIVE_INFINITY) return 0; // s below 2^-1024: a = +Infinity, b = -Infinity, delta = 1
  const a = centreDifference(epsilon, s, m, h); // = -sqrt 2 ya
  const ya = -a * Math.SQRT1_2;
  // e^epsilon Phi(b) = e^{-ya^2} erfcx(yb) / 2 (epsilon - yb^2 = -ya^2: no cancellation of large terms)
  const value =
    ya < -1
      ? logSub(logNormalCdf(a), -ya * ya + Math.log(erfcx((m + h) * Math.SQRT1_2)) - Math.LN2)
      : -ya * ya + logErfcxDifference(ya, m * Math.SQRT1_2, h * Math.SQRT1_2) - Math.LN2;
  if (Number.isNaN(value)) {
    throw new PrivkitError('E_ARG', `delta can not be evaluated at sigma / l2Sensitivity = ${s}, epsilon = ${epsilon}`, {
      argument: 'epsilon',
    });
  }
  return value;
}

/**
 * a = 1/(2s) - epsilon s given m = fl(epsilon s) and h = fl(1/(2s)). When both are large and close
 * (huge epsilon: at epsilon 1e30 they are ~1e14 and their rounding errors would move a by ~0.1),
 * their exact residues are added back: epsilon s - m from Dekker's error-free product (1971) and
 * 1/(2s) - h = (1/2 - h s) / s from the exact product h s; h - m is exact there (Sterbenz).
 */
function centreDifference(epsilon: number, s: number, m: number, h: number): number {
  if (!(m > 1 && h > 1 && m < 2 ** 1000)) return h - m;
  // scale so that Dekker's splitting cannot overflow (s < 1/2 here); the product is unchanged
  const [x, y] = epsilon > 2 ** 512 ? [epsilon * 2 ** -512, s * 2 ** 512] : [epsilon, s];
  const mResidue = productError(x, y, m);
  const hs = h * s;
  const hResidue = (0.5 - hs - productError(h, s, hs)) / s;
  return h - m + (hResidue - mResidue);
}

/** x y - p exactly, for p = fl(x y) (Dekker 1971; |x|, |y| < 2^996 and no underflow). */
function productError(x: number, y: number, p: number): number {
  const [xHigh, xLow] = split(x);
  const [yHigh, yLow] = split(y);
  return xHigh * yHigh - p + xHigh * yLow + xLow * yHigh + xLow * yLow;
}

/** x = high + low with high holding the top 26 bits (Veltkamp's splitting). */
function split(x: number): [number, number] {
  const c = 134217729 * x; // 2^27 + 1
  const high = c - (c - x);
  return [high, x - high];
}

/**
 * log(erfcx(y0 - eta) - erfcx(y0 + eta)) for eta > 0 and ya = y0 - eta >= -1, without cancellation:
 * - ya >= 10: the asymptotic series erfcx(y) ~ (1/sqrt pi) sum_k c_k y^-(2k+1),
 *   c_k = (-1)^k (2k-1)!! / 2^k (Abramowitz and Stegun 7.1.23), differenced term by term:
 *   ya^-n - yb^-n = ya^-n (1 - e^{-2nA}) with A = atanh(eta / y0) = log(yb / ya) / 2;
 * - eta <= 1e-2: the odd Taylor terms around y0, -2 (f1 eta + f3 eta^3 / 3! + f5 eta^5 / 5!) with
 *   fn the n-th derivative of erfcx, f1 = 2 y f0 - 2 / sqrt pi and f(n+1) = 2 y fn + 2 n f(n-1)
 *   (every odd derivative is negative, so the terms add);
 * - otherwise the difference itself, which is then at least ~1e-3 of either term.
 * The factors 2A and 2 eta stay in the log, so nothing underflows for huge s.
 */
function logErfcxDifference(ya: number, y0: number, eta: number): number {
  if (ya >= ASYMPTOTIC_FROM) {
    const ratio = eta / y0;
    const twoA = ratio < 0.5 ? 2 * Math.atanh(ratio) : Math.log((y0 + eta) / ya);
    const inverseSquare = 1 / (ya * ya);
    // sum_k c_k ya^-2k n (1 - e^{-n 2A}) / (n 2A), n = 2k + 1: alternating, each term < 1/30 of the last
    let sum = 0;
    let coefficient = 1; // c_k ya^-2k
    for (let k = 0; k < 40; k++) {
      const n = 2 * k + 1;
      const x = n * twoA;
      const term = coefficient * n * (x > 0 ? -Math.expm1(-x) / x : 1);
      sum += term;
      if (Math.abs(term) <= 1e-17 * Math.abs(sum)) break;
      coefficient *= -0.5 * n * inverseSquare;
    }
    return Math.log(twoA) + Math.log(sum / (SQRT_PI * ya));
  }
  if (eta <= TAYLOR_UP_TO) {
    const f0 = erfcx(y0);
    const f1 = 2 * y0 * f0 - TWO_OVER_SQRT_PI;
    const f2 = 2 * y0 * f1 + 2 * f0;
    const f3 = 2 * y0 * f2 + 4 * f1;
    const f4 = 2 * y0 * f3 + 6 * f2;
    const f5 = 2 * y0 * f4 + 8 * f3;
    const e2 = eta * eta;
    return Math.log(2 * eta) + Math.log(-(f1 + e2 * (f3 / 6 + (e2 * f5) / 120)));
  }
  return Math.log(erfcx(ya) - erfcx(y0 + eta));
}

/** The bracket of the analytic sigma / Delta. */
const MIN_RATIO = 2 ** -1000;
const MAX_RATIO = 2 ** 1000;
/** The smallest sigma returned (below it, sigma / Delta loses precision). */
const MIN_NORMAL = 2 ** -1022;

/**
 * Sigma of the analytic Gaussian mechanism (Balle and Wang 2018, Theorem 8 / Algorithm 1): the
 * smallest sigma with gaussianDelta(sigma) <= delta, found by bisection down to adjacent doubles.
 * gaussianDelta is within 1e-12 relative of the exact delta (checked against 100-digit mpmath values
 * for epsilon in [1e-12, 100] and delta in [1e-300, 0.5)), so the returned sigma's true delta exceeds
 * the target by at most that. Smaller than the classic bound for epsilon <= 1, and valid for every
 * epsilon > 0 (the classic one needs epsilon < 1). E_ARG when sigma / Delta would leave
 * [2^-1000, 2^1000] (epsilon too small or too large for delta) or sigma fall below 2^-1022;
 * E_OVERFLOW when sigma exceeds the doubles.
 *
 * @param params - the target epsilon (> 0), delta in (0, 1) and L2 sensitivity (> 0).
 * @returns sigma, in the units of the sensitivity.
 * @throws {PrivkitError} E_ARG when epsilon or l2Sensitivity is not finite and > 0, delta is not in (0, 1), or sigma / l2Sensitivity would leave [2^-1000, 2^1000].
 * @throws {PrivkitError} E_OVERFLOW when sigma exceeds the largest double.
 *
 * @example
 * ```ts
 * import { analyticGaussianSigma, classicGaussianSigma } from 'privkit/dp';
 * const params = { epsilon: 1, delta: 1e-5, l2Sensitivity: 1 };
 * analyticGaussianSigma(params); // about 3.73
 * classicGaussianSigma(params); // about 4.84
 * ```
 */
export function analyticGaussianSigma(params: GaussianCalibration): number {
  const { epsilon, delta, l2Sensitivity } = checkEpsilonDelta(params);
  const target = Math.log(delta);
  // bracket the root in s = sigma / Delta; logDeltaOf decreases in s
  let lo = 1;
  let hi = 1;
  while (logDeltaOf(hi, epsilon) > target) {
    hi *= 2;
    if (hi > MAX_RATIO) throw ratioError(epsilon, delta, 'small', 'exceed 2^1000');
  }
  while (logDeltaOf(lo, epsilon) <= target) {
    lo /= 2;
    if (lo < MIN_RATIO) throw ratioError(epsilon, delta, 'large', 'be below 2^-1000');
  }
  // hi / lo <= 2: about 54 halvings reach adjacent doubles
  for (;;) {
    const mid = lo + (hi - lo) / 2;
    if (mid <= lo || mid >= hi) break;
    if (logDeltaOf(mid, epsilon) > target) lo = mid;
    else hi = mid;
  }
  // hi satisfies delta(hi) <= target; scaling by Delta rounds, so step up (by an ulp or two) until it still does
  let sigma = checkedSigma(hi * l2Sensitivity, 'l2Sensitivity');
  for (let step = 0; logDeltaOf(sigma / l2Sensitivity, epsilon) > target; step++) {
    if (step === 64) throw new PrivkitError('E_ARG', `sigma can not be scaled to l2Sensitivity ${l2Sensitivity}`, { argument: 'l2Sensitivity' });
    sigma = checkedSigma(nextUp(sigma), 'l2Sensitivity');
  }
  return sigma;
}

function ratioError(epsilon: number, delta: number, size: string, bound: string): PrivkitError {
  return new PrivkitError('E_ARG', `epsilon ${epsilon} is too ${size} for delta ${delta}: sigma / l2Sensitivity would ${bound}`, {
    argument: 'epsilon',
  });
}

/**
 * The classic Gaussian mechanism bound sqrt(2 ln(1.25/delta)) Delta / epsilon (Dwork and Roth 2014, Theorem A.1; proved for epsilon < 1).
 *
 * @throws {PrivkitError} E_ARG when epsilon or l2Sensitivity is not finite and > 0, delta is not in (0, 1), or sigma falls below 2^-1022.
 * @throws {PrivkitError} E_OVERFLOW when sigma exceeds the largest double.
 */
export function classicGaussianSigma(params: GaussianCalibration): number {
  const { epsilon, delta, l2Sensitivity } = checkEpsilonDelta(params);
  return checkedSigma((Math.sqrt(2 * Math.log(1.25 / delta)) * l2Sensitivity) / epsilon, 'epsilon');
}

/** A calibrated sigma: E_OVERFLOW beyond the doubles, E_ARG below 2^-1022 (too imprecise), naming `argument`. */
function checkedSigma(sigma: number, argument: string): number {
  if (sigma === Number.POSITIVE_INFINITY) {
    throw new PrivkitError('E_OVERFLOW', `the calibrated sigma overflows float64 (${argument} out of range)`, { argument });
  }
  if (!(sigma >= MIN_NORMAL)) {
    throw new PrivkitError('E_ARG', `the calibrated sigma ${sigma} is below 2^-1022 (${argument} out of range)`, { argument });
  }
  return sigma;
}

/** The next double above a positive finite x. */
export function nextUp(x: number): number {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, x);
  view.setBigUint64(0, view.getBigUint64(0) + 1n);
  return view.getFloat64(0);
}
