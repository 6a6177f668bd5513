// Exact discrete Laplace and discrete Gaussian samplers (Canonne, Kamath, Steinke 2020, "The Discrete
// Gaussian for Differential Privacy", Algorithms 1-3). No floating point decides anything: a scale or
// sigma given as a double is converted exactly to a dyadic rational, Bernoulli trials compare random
// bits against integers (plain numbers while every intermediate is below 2^53, BigInt beyond), and
// bounded integers are drawn by rejection (no modulo bias). The discrete Gaussian also has a fast
// 'wasm' method (assembly/dp/discrete.ts), exact up to the float64 rounding of an acceptance probability.
import { PrivkitError } from '../errors.js';
import { assertInteger, assertNumber, assertOneOf, readOptions } from '../validate.js';
import { StagingWindow } from '../wasm/boundary.js';
import { generatorOf, resolveRng } from './noise.js';
import type { Rng } from './rng.js';
import { nextUp } from './calibration.js';
import { roundedNormalError, type SamplerError } from './sampler-error.js';
import { dpWasm } from './wasm.js';

/** Largest discrete Laplace scale / discrete Gaussian sigma: samples then leave Int32 with probability < 2^-180. */
export const MAX_DISCRETE_SCALE = 2 ** 24;
/** Largest `length` of one sampler call. */
const MAX_DISCRETE_LENGTH = 2 ** 28;

/** Options of the exact discrete samplers. */
export interface DiscreteOptions {
  /** The generator; default: this thread's CSPRNG. A seeded (reproducible) Rng is for tests only, never for releases. */
  rng?: Rng;
}

const SAFE = Number.MAX_SAFE_INTEGER; // 2^53 - 1
const TWO32 = 4294967296;
const TWO52 = 2 ** 52;
const INT32_MAX = 2147483647;

/** Bit length of a non-negative safe integer. */
function bitLength(n: number): number {
  return n < TWO32 ? 32 - Math.clz32(n) : 64 - Math.clz32(Math.floor(n / TWO32));
}

/** x = m * 2^e exactly, with m an odd safe integer (x finite and > 0). */
function dyadic(x: number): { m: number; e: number } {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, x);
  const hi = view.getUint32(0);
  const biased = (hi >>> 20) & 0x7ff;
  let m = (hi & 0xfffff) * TWO32 + view.getUint32(4);
  let e = -1074;
  if (biased !== 0) {
    m += TWO52;
    e = biased - 1075;
  }
  while (m % 2 === 0) {
    m /= 2;
    e++;
  }
  return { m, e };
}

/**
 * Random bits from an Rng, buffered so that one wasm call serves thousands of draws, and the exact
 * primitives every sampler is built from.
 */
export class ExactSource {
  private readonly words: Uint32Array;
  private pos: number;
  private bitWord = 0;
  private bitCount = 0;

  constructor(
    private readonly rng: Rng,
    expectedWords: number,
  ) {
    this.words = new Uint32Array(Math.min(4096, Math.max(64, Math.ceil(expectedWords))));
    this.pos = this.words.length;
  }

  word(): number {
    if (this.pos === this.words.length) {
      this.rng.fill(this.words);
      this.pos = 0;
    }
    return this.words[this.pos++]!;
  }

  bit(): number {
    if (this.bitCount === 0) {
      this.bitWord = this.word();
      this.bitCount = 32;
    }
    const b = this.bitWord & 1;
    this.bitWord >>>= 1;
    this.bitCount--;
    return b;
  }

  /** Uniform on {0, ..., bound - 1} for an integer 1 <= bound <= 2^53: draw bitLength(bound - 1) bits, reject if >= bound. */
  below(bound: number): number {
    if (bound <= TWO32) {
      if (bound === 1) return 0;
      const shift = Math.clz32(bound - 1);
      for (;;) {
        const v = this.word() >>> shift;
        if (v < bound) return v;
      }
    }
    const shift = 64 - bitLength(bound - 1); // high word keeps bitLength - 32 bits
    for (;;) {
      const v = (this.word() >>> shift) * TWO32 + this.word();
      if (v < bound) return v;
    }
  }

  /**
   * Bernoulli(n / d) for safe integers 0 <= n, 0 < d < 2^52: compares a uniform real, generated c bits
   * at a time, with n/d. Every product stays below 2^53, so the arithmetic is exact.
   */
  bernoulli(n: number, d: number): boolean {
    if (n <= 0) return false;
    if (n >= d) return true;
    const c = Math.min(32, 53 - bitLength(d));
    const scale = 2 ** c;
    const shift = 32 - c;
    for (;;) {
      // uniform = (w + rest) / 2^c; uniform < n/d  <=>  rest < (n 2^c - w d) / d
      const w = this.word() >>> shift;
      const a = n * scale - w * d;
      if (a <= 0) return false;
      if (a >= d) return true;
      n = a;
    }
  }

  /** Bernoulli(n / d) for BigInt 0 <= n, 0 < d, 32 random bits per round. */
  bernoulliBig(n: bigint, d: bigint): boolean {
    if (n <= 0n) return false;
    if (n >= d) return true;
    for (;;) {
      const a = (n << 32n) - BigInt(this.word()) * d;
      if (a <= 0n) return false;
      if (a >= d) return true;
      n = a;
    }
  }

  /** Bernoulli(exp(-1)) (CKS20 Algorithm 1 with gamma = 1). */
  bernoulliExp1(): boolean {
    for (let k = 2; ; k++) if (!this.bernoulli(1, k)) return k % 2 === 1;
  }

  /**
   * Bernoulli(exp(-n/d)) for 0 <= n < d (CKS20 Algorithm 1): count the leading successes of
   * Bernoulli(gamma/k), k = 1, 2, ...; accept when the first failure is at an odd k. Bernoulli(gamma/k)
   * is drawn as Bernoulli(1/k) and Bernoulli(gamma), which keeps denominators small.
   */
  private bernoulliExpFraction(n: number, d: number): boolean {
    for (let k = 1; ; k++) {
      if (!((k === 1 || this.bernoulli(1, k)) && this.bernoulli(n, d))) return k % 2 === 1;
    }
  }

  private bernoulliExpFractionBig(n: bigint, d: bigint): boolean {
    for (let k = 1; ; k++) {
      if (!((k === 1 || this.bernoulli(1, k)) && this.bernoulliBig(n, d))) return k % 2 === 1;
    }
  }

  /** Bernoulli(exp(-n/d)) for safe integers n >= 0, 0 < d < 2^52 (CKS20 Algorithm 1: floor(gamma) exp(-1) trials, then the fraction). */
  bernoulliExp(n: number, d: number): boolean {
    let whole = Math.floor(n / d);
    let rest = n - whole * d;
    if (rest < 0) {
      whole--;
      rest += d;
    } else if (rest >= d) {
      whole++;
      rest -= d;
    }
    for (let i = 0; i < whole; i++) if (!this.bernoulliExp1()) return false;
    return this.bernoulliExpFraction(rest, d);
  }

  /** Bernoulli(exp(-n/d)) for BigInt n >= 0, d > 0. */
  bernoulliExpBig(n: bigint, d: bigint): boolean {
    const whole = n / d;
    if (whole <= BigInt(SAFE)) {
      for (let i = 0, w = Number(whole); i < w; i++) if (!this.bernoulliExp1()) return false;
    } else {
      for (let i = 0n; i < whole; i++) if (!this.bernoulliExp1()) return false;
    }
    return this.bernoulliExpFractionBig(n % d, d);
  }
}

/** Parameters of the discrete Laplace sampler for scale t / 2^k (t a safe integer). */
interface LaplaceParams {
  t: number;
  tBig: bigint;
  k: number;
  /** 2^k as a double (Infinity when k > 1023). */
  pow2k: number;
  /** t = q 2^k + r with 0 <= r < 2^k. */
  q: number;
  r: number;
}

function laplaceParams(t: number, k: number): LaplaceParams {
  const pow2k = 2 ** k;
  const q = Math.floor(t / pow2k);
  return { t, tBig: BigInt(t), k, pow2k, q, r: q === 0 ? t : t - q * pow2k };
}

function overflow(what: string): PrivkitError {
  return new PrivkitError('E_OVERFLOW', `a ${what} sample left the Int32 range (probability < 2^-180 per sample)`);
}

/**
 * One discrete Laplace sample, P(x) proportional to exp(-|x| 2^k / t) (CKS20 Algorithm 2): a geometric
 * magnitude assembled from U ~ Uniform{0..t-1} accepted with Bernoulli(exp(-U/t)) and V ~ Geometric(exp(-1)),
 * Y = floor((U + tV) / 2^k), a random sign, and (negative, 0) rejected.
 */
function sampleLaplace(src: ExactSource, p: LaplaceParams, what: string): number {
  for (;;) {
    const u = src.below(p.t);
    if (!(p.t < TWO52 ? src.bernoulliExp(u, p.t) : src.bernoulliExpBig(BigInt(u), p.tBig))) continue;
    let v = 0;
    while (src.bernoulliExp1()) v++;
    // floor((u + t v) / 2^k) = q v + floor((u + r v) / 2^k)
    const low = u + p.r * v; // a rounded result is > 2^53 - 1 exactly when the true one is
    const y =
      p.q * v +
      (low <= SAFE ? Math.floor(low / p.pow2k) : Number((BigInt(u) + BigInt(p.r) * BigInt(v)) >> BigInt(p.k)));
    const negative = src.bit() === 1;
    if (negative && y === 0) continue;
    if (y > INT32_MAX) throw overflow(what);
    return negative ? -y : y;
  }
}

function checkLength(length: unknown): number {
  const n = assertInteger('length', length);
  if (n > MAX_DISCRETE_LENGTH) {
    throw new PrivkitError('E_ARG', `length must be <= 2^28, got ${n}`, { argument: 'length' });
  }
  return n;
}

function checkScale(name: string, value: unknown): number {
  const x = assertNumber(name, value, 'positive');
  if (x > MAX_DISCRETE_SCALE) {
    throw new PrivkitError('E_ARG', `${name} must be <= 2^24 so that samples fit Int32, got ${x}`, { argument: name });
  }
  return x;
}

/**
 * `length` exact samples of the discrete Laplace distribution, P(x) proportional to exp(-|x| / scale)
 * over the integers (CKS20 Algorithm 2). `scale` is used exactly as the rational the double denotes.
 * Requires 0 < scale <= 2^24 (samples then fit Int32 except with probability < 2^-180, in which
 * case the call throws E_OVERFLOW rather than return a wrong value).
 *
 * @param length - how many samples (0 to 2^28).
 * @param scale - the scale b (> 0, <= {@link MAX_DISCRETE_SCALE}); for epsilon-DP of an integer query of L1 sensitivity D, b = D / epsilon.
 * @throws {PrivkitError} E_ARG when length is not an integer in [0, 2^28], scale is not finite and in (0, 2^24], or opts.rng is not an Rng from createRng.
 * @throws {PrivkitError} E_OVERFLOW when a sample leaves the Int32 range (probability < 2^-180).
 * @throws {PrivkitError} E_NOT_READY before `await ready()` (the generator runs in wasm).
 *
 * @example
 * ```ts
 * import { ready } from 'privkit';
 * import { discreteLaplace } from 'privkit/dp';
 * await ready();
 * const counts = new Int32Array([120, 45]);
 * const noise = discreteLaplace(counts.length, 1 / 0.5); // epsilon = 0.5 for a count (sensitivity 1)
 * const released = counts.map((c, i) => c + noise[i]!);
 * ```
 */
export function discreteLaplace(length: number, scale: number, opts?: DiscreteOptions): Int32Array {
  const n = checkLength(length);
  const b = checkScale('scale', scale);
  const rng = resolveRng(opts);
  const { m, e } = dyadic(b);
  // scale = t / 2^k with t a safe integer (b <= 2^24, so e >= 0 gives t = b exactly)
  const params = e >= 0 ? laplaceParams(m * 2 ** e, 0) : laplaceParams(m, -e);
  const src = new ExactSource(rng, n * 8);
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) out[i] = sampleLaplace(src, params, 'discrete Laplace');
  return out;
}

/** Options of {@link discreteGaussian}. */
export interface DiscreteGaussianOptions extends DiscreteOptions {
  /**
   * 'exact' (default): CKS20 with exact rational arithmetic. 'wasm': round(sigma Z) proposals
   * (Z from the Ziggurat normal) accepted with a float64 probability, exact up to that rounding
   * (relative ~1e-14) and to the 2^-53 grid of the uniforms; about 8 ns per sample for sigma >= 10.
   */
  method?: 'exact' | 'wasm';
}

/**
 * The error of the 'wasm' discrete Gaussian at `sigma` per sample (internal; sampler-error.ts): its
 * proposals nearest(sigma N) have the rounded normal's error (eta, tau). The acceptance ratio R is
 * computed within 1e-14 + 3e-16 |ln R| relative, |ln R| <= (208 / sigma)^2 / 8 for every proposal.
 * Accepted samples are proposals renormalized, so their pmf is within (1 + eta')/(1 - eta'), eta' =
 * eta + the acceptance error, i.e. a relative error 1 - (1 - eta')^2 <= 2 eta' in the slack's terms.
 * Each attempt meets the tail set with probability <= tau, and an attempt is accepted with
 * probability >= e^(-1 / (8 sigma^2)), so the tail mass of a sample is at most e^(1 / (8 sigma^2)) tau.
 */
export function wasmDiscreteGaussianError(sigma: number): SamplerError {
  const proposal = roundedNormalError(sigma);
  const acceptance = 1e-14 + 3e-16 * ((208 / sigma) ** 2 / 8);
  return {
    pmfError: nextUp(2 * (proposal.pmfError + acceptance)),
    tailMass: proposal.tailMass === 0 ? 0 : nextUp(proposal.tailMass * Math.exp(1 / (8 * sigma * sigma))),
  };
}

/**
 * `length` exact samples of the discrete Gaussian distribution, P(x) proportional to
 * exp(-x^2 / (2 sigma^2)) over the integers (CKS20 Algorithm 3: discrete Laplace candidates with
 * scale t = floor(sigma) + 1, accepted with Bernoulli(exp(-(|y| - sigma^2/t)^2 / (2 sigma^2)))).
 * `sigma` is used exactly as the rational the double denotes; 0 < sigma <= 2^24. With
 * `method: 'wasm'`, the fast sampler of assembly/dp/discrete.ts instead (see DiscreteGaussianOptions).
 *
 * @param length - how many samples (0 to 2^28).
 * @param sigma - the scale parameter (> 0, <= {@link MAX_DISCRETE_SCALE}); the variance is slightly below sigma^2.
 * @throws {PrivkitError} E_ARG when length is not an integer in [0, 2^28], sigma is not finite and in (0, 2^24], opts.method is not 'exact' or 'wasm', or opts.rng is not an Rng from createRng.
 * @throws {PrivkitError} E_OVERFLOW when a sample leaves the Int32 range (probability < 2^-180).
 * @throws {PrivkitError} E_NOT_READY before `await ready()` (the generator runs in wasm).
 *
 * @example
 * ```ts
 * import { ready } from 'privkit';
 * import { discreteGaussian } from 'privkit/dp';
 * await ready();
 * const exact = discreteGaussian(1000, 3.5);
 * const fast = discreteGaussian(1_000_000, 40, { method: 'wasm' });
 * ```
 */
export function discreteGaussian(length: number, sigma: number, opts?: DiscreteGaussianOptions): Int32Array {
  const options = readOptions(opts, ['rng', 'method']);
  const n = checkLength(length);
  const s = checkScale('sigma', sigma);
  const rng = generatorOf(options.rng);
  const method = assertOneOf('opts.method', options.method, ['exact', 'wasm'] as const, 'exact');
  const out = new Int32Array(n);
  if (method === 'wasm') {
    rng.withGenerator(dpWasm, (kernels, g, arena) => {
      const window = new StagingWindow(arena, 4, n, true);
      window.stream(n, { output: { array: out, name: 'out' } }, (ptr, count) => kernels.discreteGaussianFill(g, ptr, count, s));
    });
    return out;
  }
  const sampler = discreteGaussianSampler(s, new ExactSource(rng, n * 12));
  for (let i = 0; i < n; i++) out[i] = sampler();
  return out;
}

/** A discrete Gaussian sampler for a validated sigma (also used by the discrete Gaussian mechanism). */
export function discreteGaussianSampler(sigma: number, src: ExactSource): () => number {
  const { m, e } = dyadic(sigma);
  // sigma^2 = a / b exactly
  const mBig = BigInt(m);
  const a = e >= 0 ? (mBig * mBig) << BigInt(2 * e) : mBig * mBig;
  const b = e >= 0 ? 1n : 1n << BigInt(-2 * e);
  const t = Math.floor(sigma) + 1;
  const tBig = BigInt(t);
  const laplace = laplaceParams(t, 0);
  // gamma(y) = (|y| - sigma^2/t)^2 / (2 sigma^2) = (|y| b t - a)^2 / (2 a b t^2)
  const bt = b * tBig;
  const den = 2n * a * b * tBig * tBig;
  const small = den < BigInt(TWO52);
  const btNum = Number(bt);
  const aNum = Number(a);
  const denNum = Number(den);
  return () => {
    for (;;) {
      const y = sampleLaplace(src, laplace, 'discrete Gaussian');
      const abs = Math.abs(y);
      let accept: boolean;
      if (small && abs * btNum <= SAFE && Math.abs(abs * btNum - aNum) < 2 ** 26) {
        const diff = abs * btNum - aNum;
        accept = src.bernoulliExp(diff * diff, denNum);
      } else {
        const diff = BigInt(abs) * bt - a;
        accept = src.bernoulliExpBig(diff * diff, den);
      }
      if (accept) return y;
    }
  };
}

/** Bernoulli trials of `bernoulliExp`/`uniformBelow` need a rational gamma: the exact value of a double. */
function exactRational(x: number): { n: bigint; d: bigint } {
  if (x === 0) return { n: 0n, d: 1n };
  const { m, e } = dyadic(x);
  return e >= 0 ? { n: BigInt(m) << BigInt(e), d: 1n } : { n: BigInt(m), d: 1n << BigInt(-e) };
}

/**
 * `length` exact Bernoulli(exp(-gamma)) trials (1 = success) for a finite gamma >= 0 taken as the exact
 * rational the double denotes (CKS20 Algorithm 1). The building block of the discrete samplers.
 *
 * @throws {PrivkitError} E_ARG when length is not an integer in [0, 2^28], gamma is not finite and >= 0, or opts.rng is not an Rng from createRng.
 * @throws {PrivkitError} E_NOT_READY before `await ready()`.
 */
export function bernoulliExp(length: number, gamma: number, opts?: DiscreteOptions): Uint8Array {
  const n = checkLength(length);
  const g = assertNumber('gamma', gamma, 'nonnegative');
  const rng = resolveRng(opts);
  const { n: num, d: den } = exactRational(g);
  const src = new ExactSource(rng, n * 4);
  const out = new Uint8Array(n);
  if (num < BigInt(TWO52) && den < BigInt(TWO52)) {
    const nn = Number(num);
    const dd = Number(den);
    for (let i = 0; i < n; i++) out[i] = src.bernoulliExp(nn, dd) ? 1 : 0;
  } else {
    for (let i = 0; i < n; i++) out[i] = src.bernoulliExpBig(num, den) ? 1 : 0;
  }
  return out;
}

/**
 * `length` integers uniform on {0, ..., bound - 1} (1 <= bound <= 2^53), by rejection sampling on
 * bitLength(bound - 1) random bits: no modulo bias. Returned as doubles (exact below 2^53).
 *
 * @throws {PrivkitError} E_ARG when length is not an integer in [0, 2^28], bound is not a safe integer >= 1, or opts.rng is not an Rng from createRng.
 * @throws {PrivkitError} E_NOT_READY before `await ready()`.
 */
export function uniformBelow(length: number, bound: number, opts?: DiscreteOptions): Float64Array {
  const n = checkLength(length);
  const k = assertInteger('bound', bound, 1);
  const rng = resolveRng(opts);
  const src = new ExactSource(rng, n * 2);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = src.below(k);
  return out;
}
