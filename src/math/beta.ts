// The regularized incomplete beta function, its inverse (the beta quantile) and the binomial
// tails built on them, in double precision for parameters from 0.1 up to ~1e8, for the
// Clopper-Pearson intervals of privkit/audit and the one-run auditing test (binomial tails).
//
// Method. I_x(a, b) = x^a y^b / (a B(a, b)) * CF with y = 1 - x and CF the continued fraction of
// Numerical Recipes (3rd ed., sec. 6.4; modified Lentz), evaluated on the side of the mean where
// it converges quickly; the other tail is 1 minus it. The prefactor x^a y^b / B(a, b) is formed in
// log space without cancellation: when a and b are both large as
// a log1pmx((x - x0)/x0) + b log1pmx((y - y0)/y0) + log sqrt(ab / (2 pi (a + b))) - (D(a) + D(b) - D(a + b))
// with x0 = a/(a + b), y0 = b/(a + b), log1pmx(t) = log(1 + t) - t (the linear terms cancel
// exactly; far from x0, log1pmx(t) is evaluated as log(x) - log(x0) - t) and D the Stirling-series
// remainder of log Gamma (the approach of DiDonato and Morris 1992, TOMS 708, "brcomp"). Callers
// pass y as well as x, so a tail near x = 1 keeps its precision. Quantiles are found by bisection
// on logit(x) to the last bit.
import { PrivkitError } from '../errors.js';

const HALF_LOG_2PI = 0.91893853320467274178;
/** Stirling-series remainders are used from here on (error < 1e-17 absolute). */
const STIRLING_FROM = 8;
/** Bernoulli-number coefficients B_2k / (2k (2k - 1)) of the Stirling series, k = 1..8. */
const STIRLING = [1 / 12, -1 / 360, 1 / 1260, -1 / 1680, 1 / 1188, -691 / 360360, 1 / 156, -3617 / 122400];

/** D(x) = log Gamma(x) - ((x - 1/2) log x - x + log sqrt(2 pi)), for x >= 8. */
function stirlingRemainder(x: number): number {
  const inv2 = 1 / (x * x);
  let sum = 0;
  for (let k = STIRLING.length - 1; k >= 0; k--) sum = sum * inv2 + STIRLING[k]!;
  return sum / x;
}

/** log Gamma(x) for x > 0. */
export function logGamma(x: number): number {
  if (x >= STIRLING_FROM) return (x - 0.5) * Math.log(x) - x + HALF_LOG_2PI + stirlingRemainder(x);
  // Gamma(x) = Gamma(x + n) / (x (x + 1) ... (x + n - 1))
  let product = 1;
  let shifted = x;
  while (shifted < STIRLING_FROM) product *= shifted++;
  return logGamma(shifted) - Math.log(product);
}

/** log(1 + t) - t, accurate also for small |t| (t > -1). */
function log1pmx(t: number): number {
  if (Math.abs(t) > 0.25) return Math.log1p(t) - t;
  // -t^2/2 + t^3/3 - ... ; |t| <= 1/4 needs about 24 terms for 1e-16
  let power = t * t;
  let sum = 0;
  for (let k = 2; k < 60; k++) {
    const term = power / k;
    sum += k % 2 === 0 ? -term : term;
    if (Math.abs(term) <= 1e-17 * Math.abs(sum)) break;
    power *= t;
  }
  return sum;
}

/** log(x^a y^b / B(a, b)) for x + y = 1, without cancellation (see the file header). */
function logPrefactor(x: number, y: number, a: number, b: number): number {
  const logX = y < 0.5 ? Math.log1p(-y) : Math.log(x);
  const logY = x < 0.5 ? Math.log1p(-x) : Math.log(y);
  if (a >= STIRLING_FROM && b >= STIRLING_FROM) {
    const total = a + b;
    const x0 = a / total;
    const y0 = b / total;
    // a log(x/x0) - a t with t = (x - x0)/x0, and the same for y (a t + b (y - y0)/y0 = 0)
    const part = (weight: number, value: number, logValue: number, center: number) => {
      const t = (value - center) / center;
      return weight * (Math.abs(t) <= 0.5 ? log1pmx(t) : logValue - Math.log(center) - t);
    };
    const shape = part(a, x, logX, x0) + part(b, y, logY, y0);
    const remainder = stirlingRemainder(a) + stirlingRemainder(b) - stirlingRemainder(total);
    return shape + 0.5 * Math.log(((a / total) * b) / (2 * Math.PI)) - remainder;
  }
  return a * logX + b * logY - logBeta(a, b);
}

/** log B(a, b) = log Gamma(a) + log Gamma(b) - log Gamma(a + b), without cancellation between large terms. */
function logBeta(a: number, b: number): number {
  const small = Math.min(a, b);
  const large = Math.max(a, b);
  if (large < STIRLING_FROM) return logGamma(small) + logGamma(large) - logGamma(small + large);
  const total = small + large;
  const remainders = stirlingRemainder(large) - stirlingRemainder(total);
  if (small >= STIRLING_FROM) {
    // a log(a/(a+b)) + b log(b/(a+b)) + log sqrt(2 pi (a+b)/(ab)) + D(a) + D(b) - D(a+b)
    const shape = -small * Math.log1p(large / small) - large * Math.log1p(small / large);
    return shape + 0.5 * Math.log(((2 * Math.PI) / small) * (total / large)) + stirlingRemainder(small) + remainders;
  }
  // log Gamma(l) - log Gamma(l + s) = -s log(l + s) - (l - 1/2) log(1 + s/l) + s + D(l) - D(l + s)
  return logGamma(small) - small * Math.log(total) - (large - 0.5) * Math.log1p(small / large) + small + remainders;
}

/** The continued fraction of I_x(a, b) (modified Lentz); converges fast for x < (a + 1)/(a + b + 2). */
function continuedFraction(x: number, y: number, a: number, b: number): number {
  const tiny = 1e-300;
  const maxIterations = 1000 + Math.ceil(20 * Math.sqrt(Math.max(a, b)));
  let c = 1;
  // 1 - (a + b) x / (a + 1), which cancels for x near 1: there use ((1 - b) + (a + b) y) / (a + 1)
  let d = x < 0.5 ? 1 - ((a + b) * x) / (a + 1) : (1 - b + (a + b) * y) / (a + 1);
  if (Math.abs(d) < tiny) d = tiny;
  d = 1 / d;
  let h = d;
  for (let m = 1; m <= maxIterations; m++) {
    const m2 = 2 * m;
    let coefficient = (m * (b - m) * x) / ((a + m2 - 1) * (a + m2));
    d = 1 + coefficient * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = 1 + coefficient / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    h *= d * c;
    coefficient = (-(a + m) * (a + b + m) * x) / ((a + m2) * (a + m2 + 1));
    d = 1 + coefficient * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = 1 + coefficient / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const step = d * c;
    h *= step;
    if (Math.abs(step - 1) <= 2e-16) return h;
  }
  throw new PrivkitError('E_ARG', `the incomplete beta function does not converge for x = ${x}, a = ${a}, b = ${b}`, { argument: 'a' });
}

/**
 * Both tails of the regularized incomplete beta function at x (with y = 1 - x given exactly):
 * lower = I_x(a, b) = P[Beta(a, b) <= x] and upper = 1 - I_x(a, b). The tail on the far side of
 * the mean from x is computed directly, to a relative error however small it is: about 1e-14
 * typically, at worst ~1e-9 next to the mean when one parameter is ~1e7 and the other ~1 (the
 * continued fraction is ill-conditioned there); the other tail as 1 minus it.
 */
export function betaTails(x: number, y: number, a: number, b: number): {
  /** I_x(a, b) = P[Beta(a, b) <= x]. */
  lower: number;
  /** 1 - I_x(a, b) = P[Beta(a, b) > x]. */
  upper: number;
} {
  if (x <= 0) return { lower: 0, upper: 1 };
  if (y <= 0) return { lower: 1, upper: 0 };
  if (x < (a + 1) / (a + b + 2)) {
    const lower = Math.exp(logPrefactor(x, y, a, b)) * (continuedFraction(x, y, a, b) / a);
    return { lower, upper: 1 - lower };
  }
  const upper = Math.exp(logPrefactor(y, x, b, a)) * (continuedFraction(y, x, b, a) / b);
  return { lower: 1 - upper, upper };
}

/**
 * The beta quantile: the x with P[Beta(a, b) <= x] = p (or, with `upper`, P[Beta(a, b) > x] = p),
 * for 0 <= p <= 1 and a, b > 0. Passing the small tail probability itself (rather than 1 - p)
 * keeps far-tail quantiles exact.
 */
export function betaQuantile(p: number, a: number, b: number, opts: { upper?: boolean } = {}): number {
  const upper = opts.upper === true;
  if (p <= 0) return upper ? 1 : 0;
  if (p >= 1) return upper ? 0 : 1;
  // Bisection on t = logit(x): x = 1/(1 + e^-t) and y = 1 - x = 1/(1 + e^t) are both exact-ish.
  let lo = -745;
  let hi = 745;
  for (let i = 0; i < 2000; i++) {
    const mid = 0.5 * (lo + hi);
    if (mid === lo || mid === hi) break;
    const x = 1 / (1 + Math.exp(-mid));
    const y = 1 / (1 + Math.exp(mid));
    const tails = betaTails(x, y, a, b);
    const below = upper ? tails.upper > p : tails.lower < p;
    if (below) lo = mid;
    else hi = mid;
  }
  return 1 / (1 + Math.exp(-0.5 * (lo + hi)));
}

/** P[Binomial(n, q) >= k] for integers 0 <= k <= n, with 1 - q passed exactly as `oneMinusQ`. */
export function binomialUpperTail(k: number, n: number, q: number, oneMinusQ: number): number {
  if (k <= 0) return 1;
  if (k > n) return 0;
  // P[Bin(n, q) >= k] = I_q(k, n - k + 1)
  return betaTails(q, oneMinusQ, k, n - k + 1).lower;
}

/** log P[Binomial(n, q) = k] for integers 0 <= k <= n, from log q and log(1 - q). */
export function logBinomialPmf(k: number, n: number, logQ: number, log1mQ: number): number {
  const logChoose = -Math.log(n + 1) - logBeta(k + 1, n - k + 1);
  const logK = k === 0 ? 0 : k * logQ;
  const logRest = n - k === 0 ? 0 : (n - k) * log1mQ;
  return logChoose + logK + logRest;
}
