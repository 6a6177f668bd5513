// Noise calibration for the Gaussian mechanism: the analytic Gaussian mechanism (Balle and Wang 2018,
// "Improving the Gaussian Mechanism for Differential Privacy", ICML, Theorem 8 / Algorithm 1) and the
// classic sqrt(2 ln(1.25/delta)) Delta/epsilon bound for comparison.
import { PrivkitError } from '../errors.js';
import { erfcx, normalCdf } from '../math/special.js';
import { assertNumber } from '../validate.js';

export interface GaussianCalibration {
  /** Privacy parameter epsilon > 0. */
  epsilon: number;
  /** Privacy parameter delta in (0, 1). */
  delta: number;
  /** L2 sensitivity Delta > 0 of the released vector. */
  l2Sensitivity: number;
}

function checkEpsilonDelta(epsilon: unknown, delta: unknown, l2Sensitivity: unknown): void {
  assertNumber('epsilon', epsilon, 'positive');
  const d = assertNumber('delta', delta, 'positive');
  if (!(d < 1)) throw new PrivkitError('E_ARG', `delta must be in (0, 1), got ${d}`, { argument: 'delta' });
  assertNumber('l2Sensitivity', l2Sensitivity, 'positive');
}

/**
 * The smallest delta for which N(0, sigma^2) noise makes a query of L2 sensitivity Delta
 * (epsilon, delta)-DP (Balle and Wang 2018, Theorem 8):
 * delta = Phi(Delta/(2 sigma) - epsilon sigma/Delta) - e^epsilon Phi(-Delta/(2 sigma) - epsilon sigma/Delta).
 * Evaluated without cancellation: when both arguments are negative the two terms share the factor
 * e^{-x^2/2}, so delta = Phi(a) (1 - erfcx(-b/sqrt 2) / erfcx(-a/sqrt 2)).
 */
export function gaussianDelta(sigma: number, params: { epsilon: number; l2Sensitivity: number }): number {
  assertNumber('sigma', sigma, 'positive');
  const epsilon = assertNumber('epsilon', params.epsilon, 'positive');
  const sensitivity = assertNumber('l2Sensitivity', params.l2Sensitivity, 'positive');
  return deltaOf(sigma / sensitivity, epsilon);
}

/** delta(s, epsilon) for sensitivity 1 and noise s (as log, to compare far tails). */
function logDeltaOf(s: number, epsilon: number): number {
  const a = 1 / (2 * s) - epsilon * s;
  const b = -1 / (2 * s) - epsilon * s;
  if (a <= 0) {
    // Phi(a) = erfc(ya)/2 = e^{-ya^2} erfcx(ya)/2, and e^eps e^{-yb^2} = e^{-ya^2} since (b^2 - a^2)/2 = eps
    const ya = -a * Math.SQRT1_2;
    const yb = -b * Math.SQRT1_2;
    const ratio = Math.log(erfcx(yb) / erfcx(ya));
    const h = Math.trunc(ya * 16) / 16;
    const logPhiA = -h * h - (ya - h) * (ya + h) + Math.log(erfcx(ya) / 2);
    return logPhiA + Math.log(-Math.expm1(ratio));
  }
  const phiA = normalCdf(a);
  const yb = -b * Math.SQRT1_2;
  const h = Math.trunc(yb * 16) / 16;
  const logSecond = epsilon - h * h - (yb - h) * (yb + h) + Math.log(erfcx(yb) / 2);
  return Math.log(phiA) + Math.log(-Math.expm1(logSecond - Math.log(phiA)));
}

function deltaOf(s: number, epsilon: number): number {
  return Math.exp(logDeltaOf(s, epsilon));
}

/**
 * Sigma of the analytic Gaussian mechanism (Balle and Wang 2018, Theorem 8 / Algorithm 1): the
 * smallest sigma with gaussianDelta(sigma) <= delta, found by bisection down to adjacent doubles,
 * so the delta equation holds to better than 1e-12 relative (about 1e-15 for moderate parameters).
 * Smaller than the classic bound for epsilon <= 1, and valid for every epsilon > 0 (the classic one
 * needs epsilon < 1).
 */
export function analyticGaussianSigma(params: GaussianCalibration): number {
  const { epsilon, delta, l2Sensitivity } = params ?? ({} as GaussianCalibration);
  checkEpsilonDelta(epsilon, delta, l2Sensitivity);
  const target = Math.log(delta);
  // bracket the root in s = sigma / Delta; logDeltaOf decreases in s
  let lo = 1;
  let hi = 1;
  while (logDeltaOf(hi, epsilon) > target) hi *= 2;
  while (lo > 1e-300 && logDeltaOf(lo, epsilon) <= target) lo /= 2;
  for (;;) {
    const mid = lo + (hi - lo) / 2;
    if (mid <= lo || mid >= hi) break;
    if (logDeltaOf(mid, epsilon) > target) lo = mid;
    else hi = mid;
  }
  // hi satisfies delta(hi) <= target; scaling by Delta rounds, so step up until it still does
  let sigma = hi * l2Sensitivity;
  while (logDeltaOf(sigma / l2Sensitivity, epsilon) > target) sigma = nextUp(sigma);
  return sigma;
}

/** The classic Gaussian mechanism bound sqrt(2 ln(1.25/delta)) Delta / epsilon (Dwork and Roth 2014, Theorem A.1; proved for epsilon < 1). */
export function classicGaussianSigma(params: GaussianCalibration): number {
  const { epsilon, delta, l2Sensitivity } = params ?? ({} as GaussianCalibration);
  checkEpsilonDelta(epsilon, delta, l2Sensitivity);
  return (Math.sqrt(2 * Math.log(1.25 / delta)) * l2Sensitivity) / epsilon;
}

/** The next double above a positive finite x. */
export function nextUp(x: number): number {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, x);
  view.setBigUint64(0, view.getBigUint64(0) + 1n);
  return view.getFloat64(0);
}
