// RDP -> (epsilon, delta) and back, with the conversion of Balle et al. 2020 (Thm 21), optimized over the orders.
// A NaN RDP (a bug upstream) throws rather than being skipped, which would report a smaller epsilon.
import { tailDelta } from '../dp/sampler-error.js';
import { PrivkitError } from '../errors.js';

/** An accountant's epsilon at a given delta. */
export interface EpsilonResult {
  /** The smallest epsilon over the orders (an upper bound for the PLD accountant); Infinity when no order is finite. */
  epsilon: number;
  /** The RDP order that gave `epsilon` (RDP accountant only; absent when epsilon is Infinity or nothing was spent). */
  order?: number;
  /** True when `order` is the smallest or largest order: more orders on that side may give a smaller epsilon. */
  atEdge?: boolean;
}

/** An accountant's delta at a given epsilon. */
export interface DeltaResult {
  /** The smallest delta over the orders, in [0, 1]. */
  delta: number;
  /** The RDP order that gave `delta` (absent when delta is 1 or nothing was spent). */
  order?: number;
}

function checkRdp(alpha: number, r: number): void {
  if (Number.isNaN(r) || r < 0) throw new PrivkitError('E_OVERFLOW', `the RDP at order ${alpha} is ${r}`, { argument: 'rdp' });
}

function edge(orders: readonly number[], best: number): boolean {
  let min = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  for (const alpha of orders) {
    min = Math.min(min, alpha);
    max = Math.max(max, alpha);
  }
  return best === min || best === max;
}

/** eps = rdp + log(1 - 1/alpha) - (log delta + log alpha) / (alpha - 1), minimized over alpha (Balle et al. 2020, Thm 21). */
export function rdpToEpsilon(orders: readonly number[], rdp: ArrayLike<number>, delta: number): EpsilonResult {
  if (Array.prototype.every.call(rdp, (r: number) => r === 0)) return { epsilon: 0 };
  const logDelta = Math.log(delta);
  let epsilon = Number.POSITIVE_INFINITY;
  let order = Number.NaN;
  for (let k = 0; k < orders.length; k++) {
    const alpha = orders[k]!;
    const r = rdp[k]!;
    checkRdp(alpha, r);
    if (r === Number.POSITIVE_INFINITY) continue;
    const eps = alpha === Number.POSITIVE_INFINITY ? r : r + Math.log1p(-1 / alpha) - (logDelta + Math.log(alpha)) / (alpha - 1);
    if (eps < epsilon) {
      epsilon = eps;
      order = alpha;
    }
  }
  if (epsilon === Number.POSITIVE_INFINITY) return { epsilon };
  return { epsilon: Math.max(0, epsilon), order, atEdge: edge(orders, order) };
}

/** log delta = (alpha - 1)(rdp - eps + log(1 - 1/alpha)) - log alpha, minimized over alpha (the same theorem, solved for delta). */
export function rdpToDelta(orders: readonly number[], rdp: ArrayLike<number>, epsilon: number): DeltaResult {
  if (Array.prototype.every.call(rdp, (r: number) => r === 0)) return { delta: 0 };
  let logDelta = 0;
  let order = Number.NaN;
  for (let k = 0; k < orders.length; k++) {
    const alpha = orders[k]!;
    const r = rdp[k]!;
    checkRdp(alpha, r);
    if (r === Number.POSITIVE_INFINITY) continue;
    const value =
      alpha === Number.POSITIVE_INFINITY
        ? r <= epsilon
          ? Number.NEGATIVE_INFINITY
          : 0
        : (alpha - 1) * (r - epsilon + Math.log1p(-1 / alpha)) - Math.log(alpha);
    if (value < logDelta) {
      logDelta = value;
      order = alpha;
    }
  }
  return Number.isNaN(order) ? { delta: 1 } : { delta: Math.exp(logDelta), order };
}

/**
 * The epsilon at `delta` of a mechanism whose output is within total variation `tail` of one that is
 * (epsilon, epsilonAt(delta'))-DP (a sampler's tail set, src/dp/sampler-error.ts): for every set S,
 * P_D(S) <= e^epsilon P_D'(S) + delta' + (1 + e^epsilon) tail. Returns epsilonAt(delta') for the largest
 * delta' this leaves: starting from delta' = delta - 2 tail, each pass reserves (1 + e^(epsilon + m)) tail
 * with a margin m and stops when the result is within it; Infinity when delta cannot cover the tail.
 */
export function epsilonWithTail<R extends EpsilonResult>(epsilonAt: (delta: number) => R, delta: number, tail: number, unreachable: R): R {
  if (tail === 0) return epsilonAt(delta);
  let reserved = 2 * tail;
  for (let pass = 0; pass < 64 && reserved < delta; pass++) {
    const result = epsilonAt(delta - reserved);
    if (result.epsilon === Number.POSITIVE_INFINITY) return result;
    if (tailDelta(result.epsilon, tail) <= reserved) return result;
    reserved = tailDelta(result.epsilon + Math.max(1e-3, 1e-3 * result.epsilon), tail);
  }
  return unreachable;
}

/** The delta at `epsilon` of such a mechanism: epsilon's delta plus (1 + e^epsilon) tail, at most 1. */
export function deltaWithTail(result: DeltaResult, epsilon: number, tail: number): DeltaResult {
  if (tail === 0) return result;
  return { ...result, delta: Math.min(1, result.delta + tailDelta(epsilon, tail)) };
}
