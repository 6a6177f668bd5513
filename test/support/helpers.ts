// Shared test helpers: a seeded PRNG (tests never depend on Math.random), generators of float32
// data with controlled magnitudes, float64 "exact-ish" oracles and tolerance checks.
import { expect } from 'vitest';
import { PrivkitError } from 'privkit';

/** Fixed seed for fast-check in every property test file (reproducible runs). */
export const FC_SEED = 0x5eed_2024;

/** sfc32: a small, well-mixed 32-bit generator. Deterministic for a given seed. */
export function seededRng(seed: number): () => number {
  let a = 0x9e3779b9 ^ seed;
  let b = 0x243f6a88 ^ Math.imul(seed | 0, 0x85ebca6b);
  let c = 0xb7e15162 | 0;
  let d = 1;
  const next = (): number => {
    let t = (a + b) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    d = (d + 1) | 0;
    t = (t + d) | 0;
    c = (c + t) | 0;
    return (t >>> 0) / 4294967296;
  };
  for (let i = 0; i < 16; i++) next();
  return next;
}

/**
 * Value profiles for random matrices:
 * - normal: |v| in [1e-3, 1e3] with random sign;
 * - mixed: per element, zero, tiny (~1e-20), huge (~1e18) or normal;
 * - huge / tiny: every non-zero element in [1e17, 1e18] / around 10^[-25, -20], one
 *   magnitude per row (float32 squares denormal or 0);
 * - sparse: mostly exact zeros;
 * - rowscaled: normal values with every row scaled by 10^[-4, 4] (some rows clip, some do not);
 * - extreme: zeros, values whose float32 squares overflow (10^[19, 36]), values whose float32
 *   squares are denormal or zero (10^[-44, -19], including float32 denormals), and normal values.
 */
export type Profile = 'normal' | 'mixed' | 'huge' | 'tiny' | 'sparse' | 'rowscaled' | 'extreme';
export const PROFILES: readonly Profile[] = ['normal', 'mixed', 'huge', 'tiny', 'sparse', 'rowscaled', 'extreme'];

function magnitude(rand: () => number, lo: number, hi: number): number {
  // log-uniform in [10^lo, 10^hi]; exp(e ln 10) rather than 10 ** e, which V8 computes ~6x slower
  // (a 10^7-value row took seconds): the two differ by a few float64 ulps, lost when stored as
  // float32 (no float32 value differed in 2 * 10^6 draws)
  return Math.exp(Math.LN10 * (lo + (hi - lo) * rand()));
}

/** A rows x cols float32 matrix drawn from `profile` with a seeded generator. */
export function randomMatrix(rows: number, cols: number, seed: number, profile: Profile = 'normal'): Float32Array {
  const rand = seededRng(seed);
  const x = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    const rowScale = profile === 'rowscaled' ? magnitude(rand, -4, 4) : 1;
    const tinyExp = -24 + 4 * rand(); // tiny rows: |v| in [10^(e-1), 10^e], e in [-24, -20]
    for (let j = 0; j < cols; j++) {
      const sign = rand() < 0.5 ? -1 : 1;
      let v: number;
      switch (profile) {
        case 'normal':
        case 'rowscaled':
          v = magnitude(rand, -3, 3) * rowScale;
          break;
        case 'huge':
          v = rand() < 0.1 ? 0 : magnitude(rand, 17, 18);
          break;
        case 'tiny':
          v = rand() < 0.1 ? 0 : magnitude(rand, tinyExp - 1, tinyExp);
          break;
        case 'sparse':
          v = rand() < 0.9 ? 0 : magnitude(rand, -2, 2);
          break;
        case 'mixed': {
          const u = rand();
          v = u < 0.2 ? 0 : u < 0.4 ? magnitude(rand, -20, -19) : u < 0.6 ? magnitude(rand, 17, 18) : magnitude(rand, -3, 3);
          break;
        }
        case 'extreme': {
          const u = rand();
          v = u < 0.1 ? 0 : u < 0.4 ? magnitude(rand, 19, 36) : u < 0.7 ? magnitude(rand, -44, -19) : magnitude(rand, -3, 3);
          break;
        }
      }
      x[r * cols + j] = sign * v;
    }
  }
  return x;
}

/** Random split of `cols` into `parts` consecutive layer sizes (zero-size layers allowed). */
export function randomLayerSizes(cols: number, parts: number, seed: number): number[] {
  const rand = seededRng(seed);
  const cuts = Array.from({ length: parts - 1 }, () => Math.floor(rand() * (cols + 1))).sort((a, b) => a - b);
  const sizes: number[] = [];
  let prev = 0;
  for (const c of cuts) {
    sizes.push(c - prev);
    prev = c;
  }
  sizes.push(cols - prev);
  return sizes;
}

/** Neumaier-compensated float64 sum. */
export function compensatedSum(values: Iterable<number>): number {
  let s = 0;
  let c = 0;
  for (const v of values) {
    const t = s + v;
    c += Math.abs(s) >= Math.abs(v) ? s - t + v : v - t + s;
    s = t;
  }
  return s + c;
}

/** L2 norm of x[start, end) with exact float64 squares (float32 squares fit in 48 bits) and a compensated sum. */
export function exactNorm(x: Float32Array, start = 0, end = x.length): number {
  let s = 0;
  let c = 0;
  for (let j = start; j < end; j++) {
    const v = x[j]! * x[j]!;
    const t = s + v;
    c += s >= v ? s - t + v : v - t + s;
    s = t;
  }
  return Math.sqrt(s + c);
}

export function relativeError(actual: number, expected: number): number {
  if (expected === 0) return actual === 0 ? 0 : Infinity;
  return Math.abs(actual - expected) / Math.abs(expected);
}

/** Asserts |actual[i] - expected[i]| <= rel * |expected[i]| for all i (0 must match 0 exactly). */
export function expectRelClose(actual: ArrayLike<number>, expected: ArrayLike<number>, rel: number, what = ''): void {
  expectLength(actual, expected, what);
  for (let i = 0; i < expected.length; i++) {
    const err = relativeError(actual[i]!, expected[i]!);
    if (!(err <= rel)) {
      expect.fail(`${what}[${i}]: got ${actual[i]}, expected ${expected[i]} (relative error ${err} > ${rel})`);
    }
  }
}

/** Asserts |actual[i] - expected[i]| <= tol[i] for all i. */
export function expectWithin(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  tol: (i: number) => number,
  what = '',
): void {
  expectLength(actual, expected, what);
  for (let i = 0; i < expected.length; i++) {
    const err = Math.abs(actual[i]! - expected[i]!);
    if (!(err <= tol(i))) {
      expect.fail(`${what}[${i}]: got ${actual[i]}, expected ${expected[i]} (|error| ${err} > ${tol(i)})`);
    }
  }
}

/**
 * Bitwise equality of two float32 arrays (distinguishes -0 from 0, compares NaN payloads). `what`
 * names them in a failure; a function is called only then (callers checking 10^5 row pieces would
 * otherwise format 10^5 labels).
 */
export function expectBitEqual(actual: Float32Array, expected: Float32Array, what: string | (() => string) = ''): void {
  const label = typeof what === 'string' ? () => what : what;
  if (actual.length !== expected.length) expect.fail(`${label()} length: got ${actual.length}, expected ${expected.length}`);
  const a = new Uint32Array(actual.buffer, actual.byteOffset, actual.length);
  const b = new Uint32Array(expected.buffer, expected.byteOffset, expected.length);
  for (let i = 0; i < a.length; i++) {
    if (a[i] !== b[i]) expect.fail(`${label()}[${i}]: got ${actual[i]}, expected ${expected[i]} (bits differ)`);
  }
}

/** Equal lengths, checked without an expect() per call (the array helpers run once per row piece in the property tests). */
function expectLength(actual: ArrayLike<number>, expected: ArrayLike<number>, what: string): void {
  if (actual.length !== expected.length) expect.fail(`${what} length: got ${actual.length}, expected ${expected.length}`);
}

/**
 * Tolerance for a float32-accumulated weighted column sum: per column, (rows + 4) float32 roundings
 * of the magnitude sum_r |w_r x_rj| (float32 accumulator, float32 weights), plus a few subnormal ulps.
 */
export function columnSumTolerance(x: Float32Array, rows: number, weights: ArrayLike<number>): Float64Array {
  const cols = rows === 0 ? 0 : x.length / rows;
  const tol = new Float64Array(cols);
  for (let r = 0; r < rows; r++) {
    for (let j = 0; j < cols; j++) tol[j] += Math.abs(weights[r]! * x[r * cols + j]!);
  }
  for (let j = 0; j < cols; j++) tol[j] = tol[j]! * (rows + 4) * 2 ** -23 + 1e-44;
  return tol;
}

/** Runs `fn` and returns the PrivkitError it throws (fails the test if it does not throw one). */
export function catchPrivkitError(fn: () => unknown): PrivkitError {
  let thrown: unknown;
  try {
    fn();
  } catch (error) {
    thrown = error;
  }
  if (thrown === undefined) expect.fail('expected a PrivkitError, but the call returned normally');
  if (!(thrown instanceof PrivkitError)) expect.fail(`expected a PrivkitError, got ${String(thrown)}`);
  return thrown;
}

/** Asserts that `fn` throws a PrivkitError with this code and argument (and index, when given). */
export function expectPrivkitError(
  fn: () => unknown,
  code: string,
  argument?: string | RegExp,
  index?: number,
): PrivkitError {
  const error = catchPrivkitError(fn);
  expect(error.code, error.message).toBe(code);
  expect(error.message.startsWith(`${code}: `)).toBe(true);
  if (argument instanceof RegExp) expect(error.argument, error.message).toMatch(argument);
  else if (argument !== undefined) expect(error.argument, error.message).toBe(argument);
  if (index !== undefined) expect(error.index, error.message).toBe(index);
  return error;
}

/** The PrivkitError code `f` throws, or 'no error' (a non-PrivkitError fails the test). */
export function errorCode(f: () => unknown): string {
  try {
    f();
  } catch (error) {
    expect(error).toBeInstanceOf(PrivkitError);
    return (error as PrivkitError).code;
  }
  return 'no error';
}
