// Noise calibration for the Gaussian mechanism: the analytic Gaussian mechanism (Balle and Wang 2018,
// "Improving the Gaussian Mechanism for Differential Privacy", ICML, Theorem 8 / Algorithm 1), the
// classic sqrt(2 ln(1.25/delta)) Delta/epsilon bound for comparison, and the double-precision erfc
// they rest on (W. J. Cody 1969, "Rational Chebyshev approximations for the error function").
import { PrivkitError } from '../errors.js';
import { assertNumber } from '../validate.js';

// Cody's coefficients: erf on |x| <= 0.5, erfc e^{x^2} on [0.5, 4], and erfc x e^{x^2} beyond 4.
const A = [3.1611237438705656, 113.86415415105016, 377.48523768530202, 3209.3775891384695, 0.18577770618460315];
const B = [23.601290952344122, 244.02463793444417, 1282.6165260773723, 2844.2368334391706];
const C = [
  0.56418849698867009, 8.8831497943883759, 66.119190637141630, 298.63513819740013, 881.95222124176909,
  1712.0476126340706, 2051.0783778260715, 1230.3393547979972, 2.1531153547440383e-8,
];
const D = [
  15.744926110709835, 117.69395089131250, 537.18110186200986, 1621.3895745666902, 3290.7992357334596,
  4362.6190901432472, 3439.3676741437216, 1230.3393548037494,
];
const P = [
  0.30532663496123236, 0.36034489994980445, 0.12578172611122925, 0.016083785148742277, 6.5874916152983678e-4,
  0.016315387137302097,
];
const Q = [2.5685201922898224, 1.8729528499234673, 0.52790510295142841, 0.060518341312441319, 2.3352049762686918e-3];
const INV_SQRT_PI = 0.56418958354775628695;

/** erf(x) for |x| <= 0.5 (Cody's first approximation). */
function erfSmall(x: number): number {
  const y = x * x;
  let num = A[4]! * y;
  let den = y;
  for (let i = 0; i < 3; i++) {
    num = (num + A[i]!) * y;
    den = (den + B[i]!) * y;
  }
  return (x * (num + A[3]!)) / (den + B[3]!);
}

/** erfc(y) e^{y^2} for y > 0.5 (Cody's second and third approximations). */
function erfcxLarge(y: number): number {
  if (y <= 4) {
    let num = C[8]! * y;
    let den = y;
    for (let i = 0; i < 7; i++) {
      num = (num + C[i]!) * y;
      den = (den + D[i]!) * y;
    }
    return (num + C[7]!) / (den + D[7]!);
  }
  const z = 1 / (y * y);
  let num = P[5]! * z;
  let den = z;
  for (let i = 0; i < 4; i++) {
    num = (num + P[i]!) * z;
    den = (den + Q[i]!) * z;
  }
  return (INV_SQRT_PI - (z * (num + P[4]!)) / (den + Q[4]!)) / y;
}

/** e^{-y^2} for y >= 0 without the rounding of y*y: y = h + l with h a multiple of 1/16, y^2 = h^2 + (y - h)(y + h). */
function expMinusSquare(y: number): number {
  const h = Math.trunc(y * 16) / 16;
  return Math.exp(-h * h) * Math.exp(-(y - h) * (y + h));
}

/** The scaled complementary error function erfc(x) e^{x^2} (finite for every finite x >= -26). */
export function erfcx(x: number): number {
  if (Math.abs(x) <= 0.5) return (1 - erfSmall(x)) * Math.exp(x * x);
  if (x > 0) return erfcxLarge(x);
  return 2 / expMinusSquare(-x) - erfcxLarge(-x);
}

/** The complementary error function, to about 1e-15 relative accuracy for every double x. */
export function erfc(x: number): number {
  if (Number.isNaN(x)) return Number.NaN;
  if (Math.abs(x) <= 0.5) return 1 - erfSmall(x);
  const y = Math.abs(x);
  const tail = y >= 27.3 ? 0 : expMinusSquare(y) * erfcxLarge(y);
  return x > 0 ? tail : 2 - tail;
}

/** The standard normal CDF Phi(x) = erfc(-x / sqrt(2)) / 2. */
export function normalCdf(x: number): number {
  return 0.5 * erfc(-x * Math.SQRT1_2);
}

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
