// Special functions for the accountants: log-space sums and log erfc / log Phi with full relative
// precision in the far tails (the RDP series and the PLD discretization both live there).

const LOG_SQRT_PI = 0.5 * Math.log(Math.PI);
const TWO_OVER_SQRT_PI = 2 / Math.sqrt(Math.PI);

/** log(e^a + e^b) without overflow; -Infinity stands for 0. */
export function logAdd(a: number, b: number): number {
  if (a === Number.NEGATIVE_INFINITY) return b;
  if (b === Number.NEGATIVE_INFINITY) return a;
  return a > b ? a + Math.log1p(Math.exp(b - a)) : b + Math.log1p(Math.exp(a - b));
}

/** log(e^a - e^b) for a >= b; -Infinity when they are equal. */
export function logSub(a: number, b: number): number {
  if (b === Number.NEGATIVE_INFINITY) return a;
  if (!(a >= b)) return Number.NaN;
  if (a === b) return Number.NEGATIVE_INFINITY;
  const d = b - a;
  return a + (d > -Math.LN2 ? Math.log(-Math.expm1(d)) : Math.log1p(-Math.exp(d)));
}

/** erf(x) for 0 <= x < 2.5 by the all-positive series erf x = 2/sqrt(pi) e^{-x^2} sum (2x^2)^n x / (2n+1)!!. */
function erfSeries(x: number): number {
  const x2 = 2 * x * x;
  let term = x;
  let sum = x;
  for (let n = 1; n < 200; n++) {
    term *= x2 / (2 * n + 1);
    sum += term;
    if (term < sum * 1e-17) break;
  }
  return TWO_OVER_SQRT_PI * Math.exp(-x * x) * sum;
}

/** log(erfc(x) e^{x^2} sqrt(pi)) for x >= 2.5, by the continued fraction 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + ...)))) (modified Lentz). */
function logErfcScaledCf(x: number): number {
  const tiny = 1e-300;
  let f = x;
  let c = x;
  let d = 0;
  for (let n = 1; n < 500; n++) {
    const a = n / 2;
    d = x + a * d;
    d = d === 0 ? 1 / tiny : 1 / d;
    c = x + a / c;
    if (c === 0) c = tiny;
    const delta = c * d;
    f *= delta;
    if (Math.abs(delta - 1) < 1e-16) break;
  }
  return -Math.log(f);
}

/** log(erfc(x)), accurate to a few ulps in relative terms for every real x (finite for x up to ~1e150). */
export function logErfc(x: number): number {
  if (Number.isNaN(x)) return Number.NaN;
  if (x === Number.POSITIVE_INFINITY) return Number.NEGATIVE_INFINITY;
  if (x >= 2.5) return -x * x - LOG_SQRT_PI + logErfcScaledCf(x);
  if (x >= 0) return Math.log1p(-erfSeries(x));
  if (x > -2.5) return Math.log1p(erfSeries(-x));
  return Math.log(2 - Math.exp(-x * x - LOG_SQRT_PI + logErfcScaledCf(-x)));
}

/** log Phi(x), the log of the standard normal CDF. */
export function logNormalCdf(x: number): number {
  return logErfc(-x / Math.SQRT2) - Math.LN2;
}

/** Phi(x), the standard normal CDF, with full relative precision in the lower tail. */
export function normalCdf(x: number): number {
  return Math.exp(logNormalCdf(x));
}
