// Special functions shared by the DP calibration and the accountants: the error function in double
// precision (W. J. Cody 1969, "Rational Chebyshev approximations for the error function"), its
// scaled and logarithmic forms with full relative precision in the far tails, log-space sums, and
// Gaussian expectations by the trapezoid rule.
import { PrivkitError } from '../errors.js';

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
  if (y > 27.3) return 0; // e^{-y^2} < 2^-1074; also keeps y = Infinity from making NaN
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

/** log(erfc(x)) with full relative precision for every real x (finite for x up to ~1e150). */
export function logErfc(x: number): number {
  if (Number.isNaN(x)) return Number.NaN;
  if (x === Number.POSITIVE_INFINITY) return Number.NEGATIVE_INFINITY;
  if (Math.abs(x) <= 0.5) return Math.log1p(-erfSmall(x));
  if (x > 0) return Math.log(erfcxLarge(x)) - x * x;
  return Math.log(2 - expMinusSquare(-x) * erfcxLarge(-x));
}

/** log Phi(x), the log of the standard normal CDF. */
export function logNormalCdf(x: number): number {
  return logErfc(-x * Math.SQRT1_2) - Math.LN2;
}

/** log(e^a + e^b) without overflow; -Infinity stands for 0. */
export function logAdd(a: number, b: number): number {
  if (a === Number.NEGATIVE_INFINITY) return b;
  if (b === Number.NEGATIVE_INFINITY) return a;
  if (a === b) return a + Math.LN2; // also log(Inf + Inf) = Inf, where a - b would be NaN
  return a > b ? a + Math.log1p(Math.exp(b - a)) : b + Math.log1p(Math.exp(a - b));
}

/** log(e^a - e^b) for a >= b; -Infinity when they are equal; NaN for Infinity - Infinity. */
export function logSub(a: number, b: number): number {
  if (b === Number.NEGATIVE_INFINITY) return a;
  if (!(a >= b) || b === Number.POSITIVE_INFINITY) return Number.NaN;
  if (a === b) return Number.NEGATIVE_INFINITY;
  const d = b - a;
  return a + (d > -Math.LN2 ? Math.log(-Math.expm1(d)) : Math.log1p(-Math.exp(d)));
}

/** log(1 + e^x) without overflow, with full relative precision for very negative x. */
export function log1pExp(x: number): number {
  return x > 36 ? x + Math.log1p(Math.exp(-x)) : Math.log1p(Math.exp(x));
}

/** log(e^x - 1) for x >= 0 (-Infinity at 0), with full relative precision for tiny x. */
export function logExpm1(x: number): number {
  return x > 36 ? x + Math.log1p(-Math.exp(-x)) : Math.log(Math.expm1(x));
}

/** The most nodes `logNormalExpectation` evaluates; its callers switch to another method beyond it. */
export const MAX_QUADRATURE_NODES = 1 << 16;

/**
 * log E[e^{logF(T)}] for T ~ N(0, 1) by the trapezoid rule on the nodes lo, lo + step, ..., hi. For an
 * integrand analytic in the strip |Im t| < d the error decays like e^{-2 pi d / step} (Trefethen & Weideman
 * 2014, "The exponentially convergent trapezoidal rule"); the mass outside [lo, hi] must be negligible.
 * The sum is kept scaled by its largest term, so it neither overflows nor loses tiny integrands.
 */
export function logNormalExpectation(logF: (t: number) => number, lo: number, hi: number, step: number): number {
  const count = Math.floor((hi - lo) / step) + 1;
  if (!(count >= 1 && count <= MAX_QUADRATURE_NODES)) {
    throw new PrivkitError('E_ARG', `quadrature over [${lo}, ${hi}] with step ${step} needs more than ${MAX_QUADRATURE_NODES} nodes`, { argument: 'step' });
  }
  let max = Number.NEGATIVE_INFINITY;
  let sum = 0;
  for (let k = 0; k < count; k++) {
    const t = lo + k * step;
    const v = logF(t) - (t * t) / 2;
    if (v === Number.NEGATIVE_INFINITY) continue;
    if (v > max) {
      sum = sum * Math.exp(max - v) + 1;
      max = v;
    } else {
      sum += Math.exp(v - max);
    }
  }
  return max + Math.log((sum * step) / Math.sqrt(2 * Math.PI));
}
