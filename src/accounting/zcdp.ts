// Zero-concentrated DP (Bun & Steinke 2016) for the discrete Gaussian (Canonne, Kamath, Steinke 2020)
// and its conversion to (epsilon, delta) (CKS20, Cor. 13), optimized over a continuous order.
import { assertNumber, readOptions } from '../validate.js';
import { assertDelta } from './events.js';

/**
 * rho = sensitivity^2 / (2 sigma^2): the discrete Gaussian N_Z(0, sigma^2) on values with l2 sensitivity `sensitivity` is rho-zCDP (CKS20, Thm 14).
 *
 * @param options - sigma (> 0) and the L2 sensitivity (>= 0, default 1).
 * @throws {PrivkitError} E_ARG when sigma is not finite and > 0 or sensitivity is not finite and >= 0.
 */
export function discreteGaussianZcdp(options: { sigma: number; sensitivity?: number }): number {
  const o = readOptions(options, ['sigma', 'sensitivity'], 'options', true);
  const sigma = assertNumber('sigma', o.sigma, 'positive');
  const sensitivity = o.sensitivity === undefined ? 1 : assertNumber('sensitivity', o.sensitivity, 'nonnegative');
  return (sensitivity * sensitivity) / (2 * sigma * sigma);
}

/** The exponent of the CKS20 bound at order alpha: log delta(alpha) = (alpha - 1)(alpha rho - eps) + alpha log(1 - 1/alpha) - log(alpha - 1). */
function logDeltaAt(rho: number, epsilon: number, alpha: number): number {
  return (alpha - 1) * (alpha * rho - epsilon) + alpha * Math.log1p(-1 / alpha) - Math.log(alpha - 1);
}

/** eps(alpha) = alpha rho + (log(1/delta) + (alpha - 1) log(1 - 1/alpha) - log alpha) / (alpha - 1). */
function epsilonAt(rho: number, logDelta: number, alpha: number): number {
  return alpha * rho + (-logDelta - Math.log(alpha)) / (alpha - 1) + Math.log1p(-1 / alpha);
}

/** Golden-section minimum of f over log(alpha - 1) in [-20, 40]: both CKS20 bounds are unimodal there. */
function minimizeOverOrder(f: (alpha: number) => number): { value: number; order: number } {
  const ratio = (Math.sqrt(5) - 1) / 2;
  let lo = -20;
  let hi = 40;
  let x1 = hi - ratio * (hi - lo);
  let x2 = lo + ratio * (hi - lo);
  let f1 = f(1 + Math.exp(x1));
  let f2 = f(1 + Math.exp(x2));
  for (let i = 0; i < 200 && hi - lo > 1e-12; i++) {
    if (f1 <= f2) {
      hi = x2;
      x2 = x1;
      f2 = f1;
      x1 = hi - ratio * (hi - lo);
      f1 = f(1 + Math.exp(x1));
    } else {
      lo = x1;
      x1 = x2;
      f1 = f2;
      x2 = lo + ratio * (hi - lo);
      f2 = f(1 + Math.exp(x2));
    }
  }
  const order = 1 + Math.exp(f1 <= f2 ? x1 : x2);
  return { value: Math.min(f1, f2), order };
}

/**
 * The smallest epsilon with (epsilon, delta)-DP implied by rho-zCDP (CKS20, Cor. 13), and the order attaining it.
 *
 * @throws {PrivkitError} E_ARG when rho is not finite and >= 0 or delta is not in (0, 1).
 */
export function zcdpToEpsilon(rho: number, delta: number): {
  /** The epsilon. */
  epsilon: number;
  /** The Renyi order alpha attaining it (Infinity when rho = 0). */
  order: number;
} {
  assertNumber('rho', rho, 'nonnegative');
  const logDelta = Math.log(assertDelta('delta', delta));
  if (rho === 0) return { epsilon: 0, order: Number.POSITIVE_INFINITY };
  const { value, order } = minimizeOverOrder((alpha) => epsilonAt(rho, logDelta, alpha));
  return { epsilon: Math.max(0, value), order };
}

/**
 * The smallest delta with (epsilon, delta)-DP implied by rho-zCDP (CKS20, Cor. 13).
 *
 * @throws {PrivkitError} E_ARG when rho or epsilon is not finite and >= 0.
 */
export function zcdpToDelta(rho: number, epsilon: number): {
  /** The delta, in [0, 1]. */
  delta: number;
  /** The Renyi order alpha attaining it (Infinity when rho = 0). */
  order: number;
} {
  assertNumber('rho', rho, 'nonnegative');
  assertNumber('epsilon', epsilon, 'nonnegative');
  if (rho === 0) return { delta: 0, order: Number.POSITIVE_INFINITY };
  const { value, order } = minimizeOverOrder((alpha) => logDeltaAt(rho, epsilon, alpha));
  return { delta: Math.min(1, Math.exp(value)), order };
}
