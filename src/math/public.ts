// The special functions as exported by privkit/dp and privkit/audit: the same functions with their
// arguments checked (a PrivkitError naming the argument instead of NaN or garbage). The engine calls
// the unchecked forms in its inner loops.
import { PrivkitError } from '../errors.js';
import { optionalBoolean, readOptions } from '../validate.js';
import { checkNumber } from '../validate-arrays.js';
import * as beta from './beta.js';
import * as special from './special.js';

/** A number that is not NaN (+-Infinity allowed: the functions have limits there). */
const argument = (x: unknown): number => checkNumber('x', x, { finite: false });

/** erfc(x) for any number x (0 at +Infinity, 2 at -Infinity). */
export function erfc(x: number): number {
  return special.erfc(argument(x));
}

/** erfc(x) e^{x^2} for any number x (0 at +Infinity; +Infinity once e^{x^2} overflows, below x = -26.6). */
export function erfcx(x: number): number {
  const v = argument(x);
  if (v === Number.POSITIVE_INFINITY) return 0;
  const r = special.erfcx(v);
  return Number.isNaN(r) ? Number.POSITIVE_INFINITY : r;
}

/** The standard normal CDF at any number x. */
export function normalCdf(x: number): number {
  return special.normalCdf(argument(x));
}

/** Largest shape parameter: the continued fraction takes O(sqrt(max(a, b))) steps near the mean. */
const MAX_SHAPE = 2 ** 40;
/** Shape parameters of the beta functions: in (0, 2^40]. */
const shape = (name: string, value: unknown): number => checkNumber(name, value, { above: 0, max: MAX_SHAPE });
/** A probability in [0, 1]. */
const unit = (name: string, value: unknown): number => checkNumber(name, value, { min: 0, max: 1 });

/** Both tails of the regularized incomplete beta function at x, with y = 1 - x given exactly (see math/beta.ts). */
export function betaTails(x: number, y: number, a: number, b: number): {
  /** I_x(a, b) = P[Beta(a, b) <= x]. */
  lower: number;
  /** 1 - I_x(a, b) = P[Beta(a, b) > x]. */
  upper: number;
} {
  const xx = unit('x', x);
  const yy = unit('y', y);
  if (Math.abs(xx + yy - 1) > 2 ** -50) throw new PrivkitError('E_ARG', `y must be 1 - x, got x = ${xx}, y = ${yy}`, { argument: 'y' });
  return beta.betaTails(xx, yy, shape('a', a), shape('b', b));
}

/** The beta quantile (see math/beta.ts): p in [0, 1], a, b > 0, opts.upper a boolean. */
export function betaQuantile(p: number, a: number, b: number, opts?: { upper?: boolean }): number {
  const pp = unit('p', p);
  const aa = shape('a', a);
  const bb = shape('b', b);
  const upper = optionalBoolean('opts.upper', readOptions(opts, ['upper']).upper);
  return beta.betaQuantile(pp, aa, bb, { upper });
}
