// Shamir t-of-n secret sharing (Shamir 1979, "How to share a secret") over the prime field
// GF(p), p = 2^521 - 1 by default. The secrets of secure aggregation are 32 bytes (a private key
// scalar and the self-mask seed b_u): any p > 2^256 holds one as a single field element, and the
// Mersenne prime 2^521 - 1 is a well-known prime whose size leaves no doubt, so there is no
// chunking and no chunk boundary to get wrong. A share is the point (x, f(x)) of a random
// polynomial f of degree t - 1 with f(0) = secret; shares are taken at x = 1..n (client index + 1).
import { PrivkitError } from '../errors.js';
import { mod, modInverse } from '../math/modular.js';
import { assertInteger, describe, readOptions } from '../validate.js';

/** The field of the shares: the Mersenne prime 2^521 - 1. */
export const SHAMIR_PRIME: bigint = (1n << 521n) - 1n;

/** Bytes of a share value of the default field (ceil(521 / 8)). */
export const SHAMIR_SHARE_BYTES = 66;

/** Most shares one split deals, and the largest threshold: a split costs threshold x count and a rebuild threshold^2 field multiplications. */
const MAX_SHAMIR_SHARES = 65_536;
const MAX_SHAMIR_THRESHOLD = 4_096;
/** Most field multiplications (threshold x count) one split may take. */
const MAX_SPLIT_WORK = 2 ** 24;

/** One Shamir share: the point x and the polynomial's value there. */
export interface ShamirShare {
  /** Evaluation point, an integer in [1, p). */
  x: number;
  /** f(x) mod p. */
  y: bigint;
}

/** Options of the Shamir functions: the field. */
export interface ShamirOptions {
  /** A prime modulus (default SHAMIR_PRIME); test vectors use small primes. */
  prime?: bigint;
}

/**
 * Splits `secret` (0 <= secret < p) into shares at the points `xs` (default 1..count) of a random
 * polynomial of degree threshold - 1 whose coefficients come from crypto.getRandomValues.
 *
 * @throws {PrivkitError} E_ARG when threshold or count is not a positive integer within the limits (threshold <= count, threshold x count <= 2^24), secret is not a bigint in [0, p), the prime is not a bigint >= 3, or the points are not distinct integers in [1, p).
 * @throws {PrivkitError} E_SHAPE when opts.xs does not hold `count` points.
 */
export function shamirSplit(
  secret: bigint,
  threshold: number,
  count: number,
  opts: ShamirOptions & { xs?: readonly number[] } = {},
): ShamirShare[] {
  const p = primeOf(opts);
  const t = checkThreshold(threshold);
  const n = assertInteger('count', count, 1);
  if (n > MAX_SHAMIR_SHARES) throw new PrivkitError('E_ARG', `count must be <= ${MAX_SHAMIR_SHARES}, got ${n}`, { argument: 'count' });
  if (t > n) throw new PrivkitError('E_ARG', `threshold (${t}) must be <= count (${n})`, { argument: 'threshold' });
  if (t * n > MAX_SPLIT_WORK) {
    throw new PrivkitError('E_ARG', `threshold x count = ${t * n} field multiplications exceed ${MAX_SPLIT_WORK}`, { argument: 'count' });
  }
  if (typeof secret !== 'bigint' || secret < 0n || secret >= p) {
    throw new PrivkitError('E_ARG', `secret must be a bigint in [0, p), got ${describe(secret)}`, { argument: 'secret' });
  }
  const { xs: givenXs } = readOptions(opts as (ShamirOptions & { xs?: readonly number[] }) | undefined, ['xs']);
  const xs = givenXs === undefined ? Array.from({ length: n }, (_, i) => i + 1) : givenXs;
  if (!Array.isArray(xs)) throw new PrivkitError('E_ARG', `opts.xs must be an array of points, got ${describe(xs)}`, { argument: 'xs' });
  if (xs.length !== n) throw new PrivkitError('E_SHAPE', `xs has ${xs.length} points, expected count = ${n}`, { argument: 'xs' });
  checkPoints(xs, p, 'xs');
  const coefficients = [secret];
  for (let i = 1; i < t; i++) coefficients.push(randomFieldElement(p));
  return xs.map((x) => ({ x, y: evaluate(coefficients, BigInt(x), p) }));
}

/**
 * Recovers f(0) from `threshold` shares (the first `threshold` of `shares` by x; more are
 * allowed and ignored) by Lagrange interpolation at 0.
 *
 * @throws {PrivkitError} E_ARG when threshold is not an integer in [1, 4096], shares is not an array of shares with distinct points in [1, p) and values in [0, p), or the prime is invalid (or not prime).
 * @throws {PrivkitError} E_THRESHOLD when fewer than `threshold` shares are given.
 */
export function shamirCombine(shares: readonly ShamirShare[], threshold: number, opts: ShamirOptions = {}): bigint {
  return shamirCombiner(threshold, opts)(shares);
}

/**
 * shamirCombine for many secrets: the Lagrange coefficients are computed once per set of points
 * and reused (with the complete graph every secret of a round is rebuilt from the same points).
 * The returned function throws as {@link shamirCombine}.
 *
 * @throws {PrivkitError} E_ARG when threshold is not an integer in [1, 4096] or the prime is invalid.
 */
export function shamirCombiner(threshold: number, opts: ShamirOptions = {}): (shares: readonly ShamirShare[]) => bigint {
  const p = primeOf(opts);
  const t = checkThreshold(threshold);
  const cache = new Map<string, bigint[]>();
  return (shares) => {
    if (!Array.isArray(shares) || shares.length > MAX_SHAMIR_SHARES) {
      throw new PrivkitError('E_ARG', `shares must be an array of at most ${MAX_SHAMIR_SHARES} shares, got ${describe(shares)}`, { argument: 'shares' });
    }
    for (let i = 0; i < shares.length; i++) {
      const share: unknown = shares[i];
      const y = typeof share === 'object' && share !== null ? (share as ShamirShare).y : undefined;
      if (typeof y !== 'bigint' || y < 0n || y >= p) {
        throw new PrivkitError('E_ARG', `shares[${i}].y must be a bigint in [0, p), got ${describe(y)}`, {
          argument: 'shares',
          index: i,
        });
      }
    }
    checkPoints(
      shares.map((s) => s.x),
      p,
      'shares',
    );
    if (shares.length < t) {
      throw new PrivkitError('E_THRESHOLD', `${shares.length} shares given, ${t} needed to reconstruct`, {
        argument: 'shares',
      });
    }
    const used = [...shares].sort((a, b) => a.x - b.x).slice(0, t);
    const key = used.map((s) => s.x).join(',');
    let lambdas = cache.get(key);
    if (lambdas === undefined) {
      lambdas = lagrangeAtZero(
        used.map((s) => s.x),
        opts,
      );
      cache.set(key, lambdas);
    }
    let secret = 0n;
    used.forEach((share, i) => (secret = (secret + lambdas[i]! * share.y) % p));
    return secret;
  };
}

/**
 * Lagrange basis coefficients at 0 for the distinct points `xs`: lambda_i = prod_{j != i} x_j / (x_j - x_i)
 * mod p, so f(0) = sum_i lambda_i f(x_i) for every f of degree < xs.length. One modular inversion
 * in all (the denominators are inverted together).
 *
 * @throws {PrivkitError} E_ARG when xs is not an array of at most 4096 distinct integers in [1, p), or the prime is invalid (or not prime).
 */
export function lagrangeAtZero(xs: readonly number[], opts: ShamirOptions = {}): bigint[] {
  const p = primeOf(opts);
  if (!Array.isArray(xs) || xs.length > MAX_SHAMIR_THRESHOLD) {
    throw new PrivkitError('E_ARG', `xs must be an array of at most ${MAX_SHAMIR_THRESHOLD} points, got ${describe(xs)}`, { argument: 'xs' });
  }
  checkPoints(xs, p, 'xs');
  const points = xs.map(BigInt);
  const numerators: bigint[] = [];
  const denominators: bigint[] = [];
  for (let i = 0; i < points.length; i++) {
    let num = 1n;
    let den = 1n;
    for (let j = 0; j < points.length; j++) {
      if (j === i) continue;
      num = (num * points[j]!) % p;
      den = (den * mod(points[j]! - points[i]!, p)) % p;
    }
    numerators.push(num);
    denominators.push(den);
  }
  // Montgomery's batch inversion: invert the product once, then peel off each factor.
  const prefix: bigint[] = [];
  let product = 1n;
  for (const d of denominators) {
    prefix.push(product);
    product = (product * d) % p;
  }
  let inverse = invert(product, p);
  const lambdas = new Array<bigint>(points.length);
  for (let i = points.length - 1; i >= 0; i--) {
    lambdas[i] = (numerators[i]! * ((inverse * prefix[i]!) % p)) % p;
    inverse = (inverse * denominators[i]!) % p;
  }
  return lambdas;
}

/** Big-endian bytes -> bigint. */
export function bytesToBigInt(bytes: Uint8Array): bigint {
  let v = 0n;
  for (const b of bytes) v = (v << 8n) | BigInt(b);
  return v;
}

/** bigint (0 <= v < 2^(8 length)) -> `length` big-endian bytes. */
export function bigIntToBytes(v: bigint, length: number): Uint8Array {
  const out = new Uint8Array(length);
  let rest = v;
  for (let i = length - 1; i >= 0; i--) {
    out[i] = Number(rest & 0xffn);
    rest >>= 8n;
  }
  if (rest !== 0n) throw new PrivkitError('E_ARG', `value does not fit in ${length} bytes`, { argument: 'v' });
  return out;
}

function checkThreshold(threshold: unknown): number {
  const t = assertInteger('threshold', threshold, 1);
  if (t > MAX_SHAMIR_THRESHOLD) throw new PrivkitError('E_ARG', `threshold must be <= ${MAX_SHAMIR_THRESHOLD}, got ${t}`, { argument: 'threshold' });
  return t;
}

function primeOf(opts: unknown): bigint {
  const { prime } = readOptions(opts as ShamirOptions | undefined, ['prime']);
  const p = prime === undefined ? SHAMIR_PRIME : prime;
  if (typeof p !== 'bigint' || p < 3n) {
    throw new PrivkitError('E_ARG', `prime must be a bigint >= 3, got ${describe(p)}`, { argument: 'prime' });
  }
  return p;
}

/** Points must be distinct integers in [1, p): x = 0 would be the secret itself. */
function checkPoints(xs: readonly number[], p: bigint, argument: string): void {
  const seen = new Set<number>();
  // a for loop, not forEach: a hole is a missing point, refused rather than skipped
  for (let i = 0; i < xs.length; i++) {
    const x = xs[i]!;
    if (!Number.isSafeInteger(x) || x < 1 || BigInt(x) >= p) {
      throw new PrivkitError('E_ARG', `${argument}[${i}]: x must be an integer in [1, p), got ${describe(x)}`, {
        argument,
        index: i,
      });
    }
    if (seen.has(x)) {
      throw new PrivkitError('E_ARG', `${argument}[${i}]: duplicate x = ${x}`, { argument, index: i });
    }
    seen.add(x);
  }
}

/** Horner evaluation of sum_i c_i x^i mod p. */
function evaluate(coefficients: readonly bigint[], x: bigint, p: bigint): bigint {
  let y = 0n;
  for (let i = coefficients.length - 1; i >= 0; i--) y = (y * x + coefficients[i]!) % p;
  return y;
}

/** Uniform in [0, p) by rejection from the bit length of p. */
function randomFieldElement(p: bigint): bigint {
  const bits = p.toString(2).length;
  const bytes = new Uint8Array(Math.ceil(bits / 8));
  const topMask = 0xff >> (bytes.length * 8 - bits);
  for (;;) {
    crypto.getRandomValues(bytes);
    bytes[0] = bytes[0]! & topMask;
    const v = bytesToBigInt(bytes);
    if (v < p) return v;
  }
}

/** a^-1 mod p (a != 0 mod p): E_ARG naming the prime when there is none (p is not prime). */
function invert(a: bigint, p: bigint): bigint {
  const inverse = modInverse(a, p);
  if (inverse === undefined) throw new PrivkitError('E_ARG', 'modulus is not prime (a point difference has no inverse)', { argument: 'prime' });
  return inverse;
}
