// Client-side kernels of secure aggregation with distributed DP (Kairouz, Liu, Steinke 2021, "The
// Distributed Discrete Gaussian Mechanism for Federated Learning with Secure Aggregation", arXiv
// 2102.06387): the randomized Hadamard rotation, a fast discrete Gaussian sampler, and the fused
// quantizer (stochastic rounding + discrete Gaussian noise + wrap into Z_2^b). All randomness comes
// from the ChaCha20 generator of assembly/chacha.ts; the TypeScript side is src/secagg/.
import { chachaBytes, nextU64, nextUniform } from './rng';
import { nextGaussian, normalLayerX, normalLayerX53, normalMagnitudeRare } from './noise';

// Keystream staging block: sign bits of the rotation.
const SCRATCH_BYTES: i32 = 2048;
const SCRATCH: usize = memory.data(SCRATCH_BYTES, 16);

// ---- Randomized Hadamard transform: y = H D x / sqrt(d) (TFF's HadamardTransformFactory) ----
// D = diag(+-1) holds Rademacher signs: x[i] is negated when bit i & 31 of keystream word i >> 5
// (little-endian 32-bit words) is 1. H is the d x d Walsh-Hadamard matrix (H H = d I), so
// H D / sqrt(d) is orthogonal and its inverse is D H / sqrt(d).

/** SIGN_MASKS + 16 n: the v128 whose lane j is the float sign bit when bit j of the nibble n is set. */
const SIGN_MASKS: usize = memory.data(16 * 16, 16);

function buildSignMasks(): void {
  for (let n: u32 = 0; n < 16; n++) {
    for (let j: u32 = 0; j < 4; j++) store<u32>(SIGN_MASKS + (<usize>n << 4) + (<usize>j << 2), ((n >> j) & 1) << 31);
  }
}
buildSignMasks();

/** Negates x[i] (d floats, d a power of two) where keystream bit i of generator g is set: exact (a sign flip). */
function flipSigns(g: usize, x: usize, d: i32): void {
  if (d < 32) {
    chachaBytes(g, SCRATCH, 4);
    const word = load<u32>(SCRATCH);
    for (let i = 0; i < d; i++) {
      const p = x + (<usize>i << 2);
      store<u32>(p, load<u32>(p) ^ (((word >> <u32>i) & 1) << 31));
    }
    return;
  }
  const perBatch = SCRATCH_BYTES << 3; // one sign bit per float
  for (let i = 0; i < d; i += perBatch) {
    const floats = min(perBatch, d - i);
    chachaBytes(g, SCRATCH, floats >> 3);
    for (let w = 0; w < floats >> 5; w++) {
      let word = load<u32>(SCRATCH + (<usize>w << 2));
      const p = x + (<usize>(i + (w << 5)) << 2);
      for (let k: usize = 0; k < 128; k += 16) {
        v128.store(p + k, v128.xor(v128.load(p + k), v128.load(SIGN_MASKS + (<usize>(word & 15) << 4))));
        word >>= 4;
      }
    }
  }
}

/** Floats per cache block (16 KiB): the butterfly stages of span < BLOCK run block by block. */
const BLOCK: i32 = 4096;

/**
 * In-place fast Walsh-Hadamard transform of d floats (d a power of two) with the input scaled by
 * `scale` first: iterative butterflies (a, b) -> (a + b, a - b) of spans 1, 2, 4, ..., d / 2. Spans 1
 * and 2 are done inside each v128 with shuffles; wider spans two at a time (radix 4), which is the
 * same float32 arithmetic as one stage at a time in half the passes over memory.
 */
function fwht(x: usize, d: i32, scale: f32): void {
  if (d < 4) {
    const a = load<f32>(x) * scale;
    if (d == 1) {
      store<f32>(x, a);
      return;
    }
    const b = load<f32>(x, 4) * scale;
    store<f32>(x, a + b);
    store<f32>(x, a - b, 4);
    return;
  }
  const block = min(d, BLOCK);
  for (let start = 0; start < d; start += block) {
    const p = x + (<usize>start << 2);
    firstStages(p, block, scale);
    laterStages(p, block, 4, block);
  }
  laterStages(x, d, block, d);
}

/** v *= scale, then the butterflies of spans 1 and 2 within each group of four floats. */
function firstStages(x: usize, n: i32, scale: f32): void {
  const s = f32x4.splat(scale);
  const odd = i32x4(0, 0x80000000, 0, 0x80000000); // negate lanes 1 and 3
  const high = i32x4(0, 0, 0x80000000, 0x80000000); // negate lanes 2 and 3
  for (let i = 0; i < n; i += 4) {
    const p = x + (<usize>i << 2);
    let v = f32x4.mul(v128.load(p), s);
    // (a, b, c, d) -> (a + b, a - b, c + d, c - d)
    v = f32x4.add(v128.xor(v, odd), v128.shuffle<f32>(v, v, 1, 0, 3, 2));
    // (e, f, g, h) -> (e + g, f + h, e - g, f - h)
    v = f32x4.add(v128.xor(v, high), v128.shuffle<f32>(v, v, 2, 3, 0, 1));
    v128.store(p, v);
  }
}

/** The butterfly stages of spans from, 2 from, ... < to (from >= 4) over n floats at x. */
function laterStages(x: usize, n: i32, from: i32, to: i32): void {
  let h = from;
  for (; h * 4 <= to; h <<= 2) radix4(x, n, h);
  if (h < to) radix2(x, n, h);
}

/** Stages of spans h and 2h: (a, b, c, d) at offsets 0, h, 2h, 3h -> (a+b)+(c+d), (a-b)+(c-d), (a+b)-(c+d), (a-b)-(c-d). */
function radix4(x: usize, n: i32, h: i32): void {
  const step = <usize>h << 2;
  for (let base = 0; base < n; base += h << 2) {
    const end = x + (<usize>(base + h) << 2);
    for (let p = x + (<usize>base << 2); p < end; p += 16) {
      const a = v128.load(p);
      const b = v128.load(p + step);
      const c = v128.load(p + 2 * step);
      const d = v128.load(p + 3 * step);
      const s0 = f32x4.add(a, b);
      const d0 = f32x4.sub(a, b);
      const s1 = f32x4.add(c, d);
      const d1 = f32x4.sub(c, d);
      v128.store(p, f32x4.add(s0, s1));
      v128.store(p + step, f32x4.add(d0, d1));
      v128.store(p + 2 * step, f32x4.sub(s0, s1));
      v128.store(p + 3 * step, f32x4.sub(d0, d1));
    }
  }
}

/** The stage of span h alone. */
function radix2(x: usize, n: i32, h: i32): void {
  const step = <usize>h << 2;
  for (let base = 0; base < n; base += h << 1) {
    const end = x + (<usize>(base + h) << 2);
    for (let p = x + (<usize>base << 2); p < end; p += 16) {
      const a = v128.load(p);
      const b = v128.load(p + step);
      v128.store(p, f32x4.add(a, b));
      v128.store(p + step, f32x4.sub(a, b));
    }
  }
}

/**
 * The randomized Hadamard rotation of d float32 values at x in place (d a power of two): forward
 * y = H D x / sqrt(d), or with `inverse` x = D H y / sqrt(d); D's signs come from generator g.
 */
export function hadamardRotate(g: usize, x: usize, d: i32, inverse: bool): void {
  const scale = <f32>(1 / Math.sqrt(<f64>d));
  if (!inverse) flipSigns(g, x, d);
  fwht(x, d, scale);
  if (inverse) flipSigns(g, x, d);
}

// Rotations longer than the staging window run in three phases with the same arithmetic (the
// butterfly stages of H_d are the within-block stages of every block, then the stages across
// blocks, in the order fwht does them): signs and within-block stages block by block, then the
// stages across blocks on slabs (a few columns of every block, gathered by the caller), then, for
// the inverse, the signs block by block again.

/** Negates x[i] (n floats, n = 2^k >= 32 or the whole vector) where the next keystream bit of g is set. */
export function hadamardSigns(g: usize, x: usize, n: i32): void {
  flipSigns(g, x, n);
}

/** The butterfly stages of spans 1 .. n/2 over n floats (n a power of two), the input scaled by `scale` first. */
export function hadamardBlock(x: usize, n: i32, scale: f32): void {
  fwht(x, n, scale);
}

/** The butterfly stages of spans from, 2 from, ... < to over n floats at x (from a power of two >= 4). */
export function hadamardSpans(x: usize, n: i32, from: i32, to: i32): void {
  laterStages(x, n, from, to);
}

// ---- Discrete Gaussian N_Z(0, sigma^2): P(k) proportional to exp(-k^2 / (2 sigma^2)), k integer ----
// Proposal: k = round(sigma Z), Z ~ N(0, 1) from the Ziggurat of assembly/noise.ts. Writing the bin
// [k - 1/2, k + 1/2) of sigma Z as k + t,
//   P(k) = integral over |t| <= 1/2 of phi((k + t) / sigma) / sigma dt
//        = exp(-k^2 / (2 sigma^2)) g(k) / (sigma sqrt(2 pi)),
//   g(k) = integral over |t| <= 1/2 of exp(-(2 k t + t^2) / (2 sigma^2)) dt
//        = integral over |t| <= 1/2 of exp(-c t^2) cosh(a t) dt,   c = 1 / (2 sigma^2), a = k / sigma^2,
// which is smallest at k = 0 (cosh >= 1). Accepting k with probability R(k) = g(0) / g(k) <= 1 leaves
// P(k) R(k) proportional to exp(-k^2 / (2 sigma^2)): the exact discrete Gaussian.
// Squeeze: on |t| <= 1/2, cosh(a t) <= exp(a^2 t^2 / 2) <= exp(a^2 / 8), so g(k) <= exp(a^2 / 8) g(0) and
// R(k) >= exp(-a^2 / 8) >= 1 - a^2 / 8: k is accepted at once when u < 1 - a^2 / 8 is certain from the
// first 16 bits of u (for sigma >= 10, all but ~2^-16 of proposals; batched kernels read its first 8
// bits first, and the next 8 only when those do not decide). Otherwise R(k) is computed
// (acceptanceRatio, relative error below 1e-14 + 3e-16 |ln R|) and compared with u exactly:
// u = (w + U) 2^-16 with w a 16-bit word and U a fresh full-precision uniform drawn only when
// w = floor(R 2^16), so P(accept) = R to double precision even for tiny R.
// The sampler is thus exact up to the float64 rounding of R and 1 - a^2 / 8, and up to the 2^-53
// grid of the Ziggurat's uniforms (which moves each bin's probability by a relative ~sigma 2^-51).
// Proposals beyond the Int32 range are rejected (probability < exp(-2^13) for sigma <= 2^24).

let dgSigma: f64 = 1;
/** c = 1 / (2 sigma^2). */
let dgC: f64 = 0.5;
/** g(0) = integral over |t| <= 1/2 of exp(-c t^2) dt. */
let dgMassZero: f64 = 1;
/** A 64-bit keystream word whose 16-bit quarters serve the next acceptance tests, and how many are left. */
let spareBits: u64 = 0;
let spareCount = 0;

const TWO_16: f64 = 65536;
const TWO_M16: f64 = 1.52587890625e-5;
const TWO_32: f64 = 4294967296;
const TWO_M32: f64 = 2.3283064365386963e-10;
const INT32_MAX: f64 = 2147483647;

// Gauss-Legendre rule of 16 nodes on [-1, 1] (8 symmetric pairs), computed at start-up by Newton's
// method on the Legendre polynomial P_16 (three-term recurrence), weights 2 / ((1 - x^2) P_16'(x)^2).
const GL_N: i32 = 16;
const GL_PAIRS: i32 = GL_N >> 1;
const GL_X: usize = memory.data(GL_PAIRS * 8, 8);
const GL_W: usize = memory.data(GL_PAIRS * 8, 8);

function buildGaussLegendre(): void {
  for (let i = 0; i < GL_PAIRS; i++) {
    let x = Math.cos((Math.PI * (<f64>i + 0.75)) / (<f64>GL_N + 0.5));
    let derivative: f64 = 0;
    for (let iteration = 0; iteration < 8; iteration++) {
      let p0: f64 = 1;
      let p1 = x;
      for (let k = 2; k <= GL_N; k++) {
        const p2 = ((2 * <f64>k - 1) * x * p1 - (<f64>k - 1) * p0) / <f64>k;
        p0 = p1;
        p1 = p2;
      }
      derivative = (<f64>GL_N * (x * p1 - p0)) / (x * x - 1);
      x -= p1 / derivative;
    }
    store<f64>(GL_X + (<usize>i << 3), x);
    store<f64>(GL_W + (<usize>i << 3), 2 / ((1 - x * x) * derivative * derivative));
  }
}
buildGaussLegendre();

/** The sampler's constants for sigma (> 0), set once per kernel call. */
function prepareDiscreteGaussian(sigma: f64): void {
  dgSigma = sigma;
  dgC = 0.5 / (sigma * sigma);
  dgMassZero = massAtZero(dgC);
  dgSafe = squeezeSafe();
  buildSpread(sigma);
  spareCount = 0;
}

/**
 * g(0) = integral over |t| <= 1/2 of exp(-c t^2) dt = sqrt(pi / c) erf(sqrt(c) / 2)
 *      = exp(-c / 4) sum over n >= 0 of (c / 2)^n / (1 3 5 ... (2n + 1))
 * (the series of erf with positive terms, so no cancellation); for c >= 144, erf(sqrt(c) / 2) = 1 to
 * within erfc(6) = 2.2e-17 and g(0) = sqrt(pi / c).
 */
function massAtZero(c: f64): f64 {
  if (c >= 144) return Math.sqrt(Math.PI / c);
  const ratio = 0.5 * c;
  let term: f64 = 1;
  let sum: f64 = 1;
  for (let n = 1; term > sum * 1e-17; n++) {
    term *= ratio / <f64>(2 * n + 1);
    sum += term;
  }
  return Math.exp(-0.25 * c) * sum;
}

/**
 * h(b, c) = integral over [0, 1] of exp(-b s - c s^2) ds for b >= c > 0, by composite 16-point
 * Gauss-Legendre. The integrand decreases, so [0, 1] is cut at L = 40 / b when b > 40 (the rest is
 * below e^(2 - 40) of the whole, as h >= e^-2 / b for b >= 1). [0, L] is split into panels over
 * which the exponent changes by at most 6 ((b + 2 c L) L / 6 panels, at most 20): on each, mapped to
 * [-1, 1], the integrand is exp(-alpha z - gamma z^2) with alpha <= 3, gamma <= 0.75, where the
 * 16-point rule's relative error is below 1e-24 (checked with mpmath). All terms are positive: no
 * cancellation.
 */
function edgeIntegral(b: f64, c: f64): f64 {
  const length = b > 40 ? 40 / b : 1;
  const panels = Math.max(1, Math.ceil(((b + 2 * c * length) * length) / 6));
  const half = (0.5 * length) / panels;
  let total: f64 = 0;
  for (let p: f64 = 0; p < panels; p++) {
    const mid = (2 * p + 1) * half;
    for (let i = 0; i < GL_PAIRS; i++) {
      const dx = half * load<f64>(GL_X + (<usize>i << 3));
      const lo = mid - dx;
      const hi = mid + dx;
      total += load<f64>(GL_W + (<usize>i << 3)) * (Math.exp(-lo * (b + c * lo)) + Math.exp(-hi * (b + c * hi)));
    }
  }
  return total * half;
}

/**
 * R(k) = g(0) / g(k) for an integer k >= 1. With s = t + 1/2, g(k) = exp(c (k - 1/4)) h((2k - 1) c, c)
 * (the exponent -c t^2 - a t with a = 2 c k becomes -(a - c) s - c s^2 + a/2 - c/4), so
 * R(k) = g(0) exp(-c (k - 1/4)) / h((2k - 1) c, c). Checked against 60-digit mpmath values of
 * exp(-k^2 / (2 sigma^2)) g(0) / (integral of exp(-y^2 / (2 sigma^2)) over the bin of k) for sigma from
 * 0.05 to 2^24 (test/dp/discrete-gaussian-wasm.test.ts): relative error below 1e-14 + 3e-16 |ln R|, the
 * second term from exp of the rounded argument c (k - 1/4) (it matters only where R < 1e-40).
 */
function acceptanceRatio(k: f64): f64 {
  const c = dgC;
  return (dgMassZero * Math.exp(-c * (k - 0.25))) / edgeIntegral((k + k - 1) * c, c);
}

/** 16 keystream bits from the generator: each 64-bit draw serves four acceptance tests (fresh attempts after a rejection). */
// @ts-ignore: decorator
@inline function nextWord(g: usize): u32 {
  if (spareCount == 0) {
    spareBits = nextU64(g);
    spareCount = 4;
  }
  const word = <u32>spareBits & 0xffff;
  spareBits >>= 16;
  spareCount--;
  return word;
}

/** The exact test u < R(m) for u = (word + U) 2^-16, U a fresh uniform drawn only on a tie. */
function acceptSlow(g: usize, m: f64, word: u32): bool {
  const t = acceptanceRatio(m) * TWO_16;
  const whole = Math.floor(t);
  const w = <f64>word;
  if (w != whole) return w < whole;
  return nextUniform(g) < t - whole;
}

/** Whether the proposal of magnitude m (an integer-valued double) is accepted with the 16-bit word `word`: u < R(m). */
// @ts-ignore: decorator
@inline function accepts(g: usize, m: f64, word: u32): bool {
  if (m == 0) return true; // R(0) = 1
  if (m > INT32_MAX) return false;
  const ck = dgC * m; // a / 2
  if ((<f64>word + 1) * TWO_M16 <= 1 - 0.5 * ck * ck) return true;
  return acceptSlow(g, m, word);
}

/** One discrete Gaussian sample drawn from the generator (prepareDiscreteGaussian first), as an integer-valued double. */
// @ts-ignore: decorator
@inline function nextDiscreteGaussian(g: usize): f64 {
  while (true) {
    const k = nearest(dgSigma * nextGaussian(g));
    if (k == 0) return 0; // R(0) = 1
    if (accepts(g, Math.abs(k), nextWord(g))) return k;
  }
}

// ---- Batched sampling: first attempts from keystream blocks ----
// Kernels draw a block of keystream per batch of values (one chachaBytes call) and take each value's
// first attempt from it: a 32-bit Ziggurat word z (layer i = bits 0-7, sign = bit 8, the top 23 bits
// j of the 53-bit uniform u = j 2^30 + r) and an 8-bit acceptance word h, the top byte of the 16-bit
// acceptance word h 2^8 + l. Whether x = fl(u X[i] 2^-53) is in the inner box [0, X[i+1]), and the
// proposal nearest(fl(sigma x)), are monotone in u; at r = 0 they are computed, and tables bound
// how far they can move up to r = 2^30 - 1 (the interval's width plus float rounding, with 2^-40
// relative slack). When no r can leave the inner box or the integer bin, both are decided for every
// r and r is never drawn (the bin is left undecided for a fraction ~sigma X[i] 2^-23 of the values
// of layer i: ~0.1% on average at sigma 6200); when h < 0xff and the magnitude is at most dgSafe,
// the acceptance test accepts for every l, and l is never drawn. Otherwise (~2% of values at sigma
// 6200, most of them the Ziggurat's ~1.5% of points outside the inner box, as in assembly/noise.ts)
// r (30 bits) and l (8 bits) come from the generator and the attempt
// goes on as nextDiscreteGaussian's: the same function of the same 53-bit u and 16-bit word, so the
// same distribution. Rejected attempts restart from the generator (nextDiscreteGaussian). The draws
// beyond the block (r and l, wedges, tails, ties, restarts) come from the generator in value order,
// so the stream layout depends only on the values' count per call, and chunking at a multiple of
// the batch changes nothing.

const TWO_30: f64 = 1073741824;
const LOW_30: f64 = 1073741823;
const SLACK: f64 = 9.094947017729282e-13; // 2^-40
/** Values per keystream block (a power of two, dividing src/secagg/quantize.ts's CHUNK). */
const BATCH: i32 = 512;
/** The batch's keystream block: up to 6 bytes per value. */
const KEYS: usize = memory.data(BATCH * 8, 16);
/** The batch's noise samples (int32). */
const NOISE: usize = memory.data(BATCH * 4, 16);
/** The batch's rounding bits when the caller does not keep them. */
const BATCH_BITS: usize = memory.data(BATCH >> 3, 16);

/** Per layer offset 8 i: X[i] 2^-23 (= X[i] 2^-53 2^30, so j ZX23[i] = fl(j 2^30 X[i] 2^-53)). */
const ZX23: usize = memory.data(256 * 8, 16);
/** Per layer: a bound below which x at r = 0 keeps fl((j 2^30 + r) X[i] 2^-53) < X[i+1] for every r. */
const ZINNER: usize = memory.data(256 * 8, 16);
/** Per layer, for the current sigma: a bound on fl(sigma x) at r = 2^30 - 1 minus fl(sigma x) at r = 0. */
const ZSPREAD: usize = memory.data(256 * 8, 16);
let zigTables = false;

/**
 * ZX23 and ZINNER (once): with c = X[i] 2^-53 and L = 2^30 - 1, x(r) = fl((j 2^30 + r) c) is at most
 * x(0) (1 + 2^-51) + L c (1 + 2^-52), and x(0) < X[i].
 */
function buildZigTables(): void {
  for (let i = 0; i < 256; i++) {
    const o = <usize>i << 3;
    const c = normalLayerX53(o);
    store<f64>(ZX23 + o, c * TWO_30);
    store<f64>(ZINNER + o, normalLayerX(o + 8) - LOW_30 * c * (1 + SLACK) - normalLayerX(o) * SLACK);
  }
  zigTables = true;
}

/**
 * ZSPREAD for sigma: y(r) = fl(sigma x(r)) is at most y(0) (1 + 2^-49) + sigma L c (1 + 2^-51), and
 * the float test y(0) + spread < m + 1/2 errs by at most (m + 1) 2^-52; y(0) < sigma X[i].
 */
function buildSpread(sigma: f64): void {
  if (!zigTables) buildZigTables();
  for (let i = 0; i < 256; i++) {
    const o = <usize>i << 3;
    store<f64>(ZSPREAD + o, sigma * LOW_30 * normalLayerX53(o) * (1 + SLACK) + (sigma * normalLayerX(o) + 1) * SLACK);
  }
}

/**
 * The largest magnitude m (at most INT32_MAX) for which every 16-bit acceptance word up to
 * 0xfeff (top byte below 0xff) passes the squeeze (word + 1) 2^-16 <= 1 - (c m)^2 / 2 as `accepts`
 * evaluates it (monotone in m): up to it, the fast path accepts without the low byte, with the
 * same decision.
 */
function squeezeSafe(): f64 {
  const top: f64 = 65280 * TWO_M16;
  let lo: f64 = 0;
  let hi: f64 = INT32_MAX;
  const ckHi = dgC * hi;
  if (top <= 1 - 0.5 * ckHi * ckHi) return hi;
  // top <= squeeze(lo) and top > squeeze(hi) (squeeze(0) = 1)
  while (hi - lo > 1) {
    const mid = Math.floor(0.5 * (lo + hi));
    const ck = dgC * mid;
    if (top <= 1 - 0.5 * ck * ck) lo = mid;
    else hi = mid;
  }
  return lo;
}

/** The largest magnitude the fast path accepts at once (squeezeSafe for the current sigma). */
let dgSafe: f64 = 0;

/**
 * The discrete Gaussian sample whose first attempt is the Ziggurat word z and the acceptance byte
 * h from a keystream block (prepareDiscreteGaussian first).
 */
// @ts-ignore: decorator
@inline function sampleFromBlock(g: usize, z: u32, h: u32): i32 {
  const layer = <usize>(z & 0xff) << 3;
  const x = <f64>(<i32>(z >> 9)) * load<f64>(ZX23 + layer);
  const y = dgSigma * x;
  const m = nearest(y);
  if ((x < load<f64>(ZINNER + layer)) & (y + load<f64>(ZSPREAD + layer) < m + 0.5) & (m <= dgSafe) & (h != 0xff)) {
    const s = -<i32>((z >> 8) & 1);
    return (<i32>m ^ s) - s;
  }
  return sampleRest(g, z, h);
}

/** sampleFromBlock's rare part: r and l from the generator, the wedge or tail, the exact acceptance, a restart. */
function sampleRest(g: usize, z: u32, h: u32): i32 {
  const layer = <usize>(z & 0xff) << 3;
  const bits = nextU64(g);
  let x = (<f64>(z >> 9) * TWO_30 + <f64>(<u32>bits & 0x3fffffff)) * normalLayerX53(layer);
  if (x >= normalLayerX(layer + 8)) x = normalMagnitudeRare(g, layer, x);
  const m = nearest(dgSigma * x);
  if (accepts(g, m, (h << 8) | (<u32>(bits >> 30) & 0xff))) return (z >> 8) & 1 ? -<i32>m : <i32>m;
  return <i32>nextDiscreteGaussian(g);
}

/**
 * out[j] = the sample of value j (int32), j < m, from the block's Ziggurat words at `zig` and
 * acceptance bytes at `acc`: four at a time with SIMD (sampleFromBlock's fast path, the same
 * arithmetic), the lanes off it by sampleRest in order.
 */
// @ts-ignore: decorator
@inline function sampleBatch(g: usize, zig: usize, acc: usize, out: usize, m: i32): void {
  const sigmas = f64x2.splat(dgSigma);
  const safe = f64x2.splat(dgSafe);
  const half = f64x2.splat(0.5);
  const layerMask = i32x4.splat(0xff);
  const allOnes = i8x16.splat(-1);
  let j = 0;
  for (; j + 4 <= m; j += 4) {
    const z = v128.load(zig + (<usize>j << 2));
    const layers = i32x4.shl(v128.and(z, layerMask), 3);
    const l0 = <usize>i32x4.extract_lane(layers, 0);
    const l1 = <usize>i32x4.extract_lane(layers, 1);
    const l2 = <usize>i32x4.extract_lane(layers, 2);
    const l3 = <usize>i32x4.extract_lane(layers, 3);
    const prefix = i32x4.shr_u(z, 9);
    const x0 = f64x2.mul(f64x2.convert_low_i32x4_s(prefix), v128.load64_lane(ZX23 + l1, v128.load64_zero(ZX23 + l0), 1));
    const x1 = f64x2.mul(f64x2.convert_low_i32x4_s(i32x4.shuffle(prefix, prefix, 2, 3, 2, 3)), v128.load64_lane(ZX23 + l3, v128.load64_zero(ZX23 + l2), 1));
    const y0 = f64x2.mul(x0, sigmas);
    const y1 = f64x2.mul(x1, sigmas);
    const m0 = f64x2.nearest(y0);
    const m1 = f64x2.nearest(y1);
    const inner0 = f64x2.lt(x0, v128.load64_lane(ZINNER + l1, v128.load64_zero(ZINNER + l0), 1));
    const inner1 = f64x2.lt(x1, v128.load64_lane(ZINNER + l3, v128.load64_zero(ZINNER + l2), 1));
    const bin0 = f64x2.lt(f64x2.add(y0, v128.load64_lane(ZSPREAD + l1, v128.load64_zero(ZSPREAD + l0), 1)), f64x2.add(m0, half));
    const bin1 = f64x2.lt(f64x2.add(y1, v128.load64_lane(ZSPREAD + l3, v128.load64_zero(ZSPREAD + l2), 1)), f64x2.add(m1, half));
    const fast0 = v128.and(v128.and(inner0, bin0), f64x2.le(m0, safe));
    const fast1 = v128.and(v128.and(inner1, bin1), f64x2.le(m1, safe));
    const full = i8x16.eq(v128.load32_zero(acc + <usize>j), allOnes); // acceptance bytes 0xff (bytes 0-3)
    const k = i32x4.shuffle(i32x4.trunc_sat_f64x2_s_zero(m0), i32x4.trunc_sat_f64x2_s_zero(m1), 0, 1, 4, 5);
    const sign = i32x4.shr_s(i32x4.shl(z, 23), 31);
    v128.store(out + (<usize>j << 2), i32x4.sub(v128.xor(k, sign), sign));
    // lanes off the fast path (a bound not met, or acceptance byte 0xff): sampleRest in lane order,
    // the same draws as sampleFromBlock one by one
    const fastLanes = i64x2.bitmask(fast0) | (i64x2.bitmask(fast1) << 2);
    let slow = (~fastLanes | i8x16.bitmask(full)) & 15;
    while (slow != 0) {
      const i = j + ctz(slow);
      store<i32>(out + (<usize>i << 2), sampleRest(g, load<u32>(zig + (<usize>i << 2)), load<u8>(acc + <usize>i)));
      slow &= slow - 1;
    }
  }
  for (; j < m; j++) {
    store<i32>(out + (<usize>j << 2), sampleFromBlock(g, load<u32>(zig + (<usize>j << 2)), load<u8>(acc + <usize>j)));
  }
}

/**
 * out[i] = a discrete Gaussian sample of parameter sigma (0 < sigma <= 2^24), n int32 values. Per
 * batch of m values the block is 5 m bytes: m Ziggurat words, then m acceptance bytes.
 */
export function discreteGaussianFill(g: usize, out: usize, n: i32, sigma: f64): void {
  prepareDiscreteGaussian(sigma);
  for (let i = 0; i < n; i += BATCH) {
    const m = min(BATCH, n - i);
    chachaBytes(g, KEYS, m * 5);
    sampleBatch(g, KEYS, KEYS + (<usize>m << 2), out + (<usize>i << 2), m);
  }
}

/** Zeroes every block that stages keystream or samples drawn from it, and the spare keystream bits. */
export function wipeQuantizeScratch(): void {
  memory.fill(SCRATCH, 0, SCRATCH_BYTES);
  memory.fill(KEYS, 0, BATCH * 8);
  memory.fill(NOISE, 0, BATCH * 4);
  memory.fill(BATCH_BITS, 0, BATCH >> 3);
  spareBits = 0;
  spareCount = 0;
}

/** The acceptance probability R(k) = g(0) / g(k) of the sampler (exported for its accuracy test). */
export function discreteGaussianAcceptance(sigma: f64, k: f64): f64 {
  prepareDiscreteGaussian(sigma);
  return k == 0 ? 1 : acceptanceRatio(Math.abs(k));
}

// ---- Quantizer: q = stochasticRound(x scale) (+ discrete Gaussian noise) mod 2^b ----
// v = x scale in float64; q = floor(v) + 1 with probability f = v - floor(v) (float64: exact, except
// rounded to the 2^-53 grid when -1/2 < v < 0), decided exactly as u < f for u = (w + U) 2^-8, w an
// 8-bit keystream word and U a fresh full-precision uniform (nextUniform) drawn only on a tie: with
// t = f 2^8 (exact) and W = floor(t), round up when w < W, or w = W and U < t - W (probability
// 2^-8). So P(round up) = W 2^-8 + 2^-8 (t - W) = f to double precision, and E[q] = v. Requires
// |v| < 2^52, where every integer near v is a double; then q mod 2^32 = q - floor(q 2^-32) 2^32 is
// exact and becomes a uint32 with one truncation (a direct one when |v| < 2^31 - 1). Per batch of m
// values the block is m rounding bytes without noise, and 6 m bytes with it: m Ziggurat words, m
// rounding bytes, m acceptance bytes. The noise is drawn first (with its draws beyond the block),
// then the rounding (the tie uniforms in value order).

const LIMIT: f64 = 4503599627370496; // 2^52
const SMALL: f64 = 2147483646; // below 2^31 - 1: q fits an int32
const TWO_8: f64 = 256;

/** q mod 2^32 for two integer-valued lanes with |q| <= 2^52, as uint32 in lanes 0 and 1. */
// @ts-ignore: decorator
@inline function wrapPair(q: v128): v128 {
  const high = f64x2.floor(f64x2.mul(q, f64x2.splat(TWO_M32)));
  return i32x4.trunc_sat_f64x2_u_zero(f64x2.sub(q, f64x2.mul(high, f64x2.splat(TWO_32))));
}

/** Round-up masks (all ones / zero per lane) of a pair whose tie lanes (w = W) are decided by fresh uniforms, in lane order. */
function breakTies(g: usize, up: v128, w: v128, t: v128, top: v128): v128 {
  const w0 = f64x2.extract_lane(w, 0);
  const w1 = f64x2.extract_lane(w, 1);
  if (w0 == f64x2.extract_lane(top, 0)) up = i64x2.replace_lane(up, 0, nextUniform(g) < f64x2.extract_lane(t, 0) - w0 ? -1 : 0);
  if (w1 == f64x2.extract_lane(top, 1)) up = i64x2.replace_lane(up, 1, nextUniform(g) < f64x2.extract_lane(t, 1) - w1 ? -1 : 0);
  return up;
}

// The running state of a quantizeChunk call across its batches.
let okLanes: v128 = i64x2.splat(-1);
let squareLanes: v128 = f64x2.splat(0);
let tailSquares: f64 = 0;
let tailBad = false;

/**
 * The rounding of the batch's m values at p (float32 in, uint32 out, in place), with the rounding
 * bytes at `words` and, when `noisy`, NOISE added; the round-up bits go to `bits` (bit j & 31 of
 * word j >> 5). Adds the squares of the rounded integers to squareLanes / tailSquares and clears
 * okLanes / sets tailBad for |v| >= 2^52 or NaN.
 */
// @ts-ignore: decorator
@inline function roundBatch(g: usize, p: usize, words: usize, bits: usize, m: i32, scale: f64, mask: u32, noisy: bool): void {
  const scales = f64x2.splat(scale);
  const small = f64x2.splat(SMALL);
  const masks = i32x4.splat(mask);
  const one = f64x2.splat(1);
  const two8 = f64x2.splat(TWO_8);
  let squares = squareLanes;
  let bitWord: u32 = 0;
  let j = 0;
  for (; j + 4 <= m; j += 4) {
    const values = v128.load(p + (<usize>j << 2));
    const v0 = f64x2.mul(f64x2.promote_low_f32x4(values), scales);
    const v1 = f64x2.mul(f64x2.promote_low_f32x4(v128.shuffle<f32>(values, values, 2, 3, 2, 3)), scales);
    const w = i32x4.extend_low_i16x8_u(i16x8.extend_low_i8x16_u(v128.load32_zero(words + <usize>j)));
    const w0 = f64x2.convert_low_i32x4_s(w);
    const w1 = f64x2.convert_low_i32x4_s(i32x4.shuffle(w, w, 2, 3, 2, 3));
    const whole0 = f64x2.floor(v0);
    const whole1 = f64x2.floor(v1);
    const t0 = f64x2.mul(f64x2.sub(v0, whole0), two8);
    const t1 = f64x2.mul(f64x2.sub(v1, whole1), two8);
    const top0 = f64x2.floor(t0);
    const top1 = f64x2.floor(t1);
    let up0 = f64x2.lt(w0, top0);
    let up1 = f64x2.lt(w1, top1);
    if (v128.any_true(v128.or(f64x2.eq(w0, top0), f64x2.eq(w1, top1)))) {
      up0 = breakTies(g, up0, w0, t0, top0);
      up1 = breakTies(g, up1, w1, t1, top1);
    }
    const q0 = f64x2.add(whole0, v128.and(up0, one));
    const q1 = f64x2.add(whole1, v128.and(up1, one));
    squares = f64x2.add(squares, f64x2.add(f64x2.mul(q0, q0), f64x2.mul(q1, q1)));
    bitWord |= <u32>(i64x2.bitmask(up0) | (i64x2.bitmask(up1) << 2)) << <u32>(j & 31);
    if ((j & 31) == 28) {
      store<u32>(bits + (<usize>(j >> 5) << 2), bitWord);
      bitWord = 0;
    }
    let out: v128;
    if (i64x2.all_true(v128.and(f64x2.lt(f64x2.abs(v0), small), f64x2.lt(f64x2.abs(v1), small)))) {
      out = i32x4.shuffle(i32x4.trunc_sat_f64x2_s_zero(q0), i32x4.trunc_sat_f64x2_s_zero(q1), 0, 1, 4, 5);
    } else {
      const limit = f64x2.splat(LIMIT);
      okLanes = v128.and(okLanes, v128.and(f64x2.lt(f64x2.abs(v0), limit), f64x2.lt(f64x2.abs(v1), limit)));
      out = i32x4.shuffle(wrapPair(q0), wrapPair(q1), 0, 1, 4, 5);
    }
    if (noisy) out = i32x4.add(out, v128.load(NOISE + (<usize>j << 2)));
    v128.store(p + (<usize>j << 2), v128.and(out, masks));
  }
  for (; j < m; j++) {
    const q = p + (<usize>j << 2);
    const v = <f64>load<f32>(q) * scale;
    if (!(Math.abs(v) < LIMIT)) {
      tailBad = true;
      continue;
    }
    const whole = Math.floor(v);
    const t = (v - whole) * TWO_8;
    const top = Math.floor(t);
    const w = <f64>load<u8>(words + <usize>j);
    const up = w < top || (w == top && nextUniform(g) < t - top);
    const r = whole + (up ? 1 : 0);
    tailSquares += r * r;
    bitWord |= <u32>up << <u32>(j & 31);
    let word = <u32>(<i64>r);
    if (noisy) word += load<u32>(NOISE + (<usize>j << 2));
    store<u32>(q, word & mask);
  }
  if (m & 31) store<u32>(bits + (<usize>(m >> 5) << 2), bitWord);
  squareLanes = squares;
}

/**
 * Quantizes n float32 values at x in place into n uint32 words: q = stochasticRound(x scale), plus a
 * discrete Gaussian sample of parameter sigma when sigma > 0, reduced mod 2^32 and masked with
 * `mask` (2^b - 1). When roundBits != 0, the round-up decisions go there as a bitmap (bit i & 31 of
 * uint32 word i >> 5; for conditional rounding). Returns the sum of squares of the rounded integers
 * (before noise), or -1 when some |x[i] scale| is not below 2^52 or is NaN (the words are then garbage).
 */
export function quantizeChunk(g: usize, x: usize, n: i32, scale: f64, sigma: f64, mask: u32, roundBits: usize): f64 {
  if (sigma > 0) prepareDiscreteGaussian(sigma);
  okLanes = i64x2.splat(-1);
  squareLanes = f64x2.splat(0);
  tailSquares = 0;
  tailBad = false;
  for (let i = 0; i < n; i += BATCH) {
    const m = min(BATCH, n - i);
    const p = x + (<usize>i << 2);
    const bits = roundBits != 0 ? roundBits + (<usize>i >> 3) : BATCH_BITS;
    if (sigma > 0) {
      chachaBytes(g, KEYS, m * 6);
      sampleBatch(g, KEYS, KEYS + (<usize>m * 5), NOISE, m);
      roundBatch(g, p, KEYS + (<usize>m << 2), bits, m, scale, mask, true);
    } else {
      chachaBytes(g, KEYS, m);
      roundBatch(g, p, KEYS, bits, m, scale, mask, false);
    }
  }
  if (tailBad || !i64x2.all_true(okLanes)) return -1;
  return f64x2.extract_lane(squareLanes, 0) + f64x2.extract_lane(squareLanes, 1) + tailSquares;
}
