// Client-side kernels of secure aggregation with distributed DP (Kairouz, Liu, Steinke 2021, "The
// Distributed Discrete Gaussian Mechanism for Federated Learning with Secure Aggregation", arXiv
// 2102.06387): the randomized Hadamard rotation, a fast discrete Gaussian sampler, and the fused
// quantizer (stochastic rounding + discrete Gaussian noise + wrap into Z_2^b). All randomness comes
// from the ChaCha20 generator of assembly/chacha.ts; the TypeScript side is src/secagg/.
import { chachaBytes, nextU64, nextUniform } from './chacha';
import { nextGaussian } from './noise';

// Keystream staging block: sign bits of the rotation, rounding words of the quantizer.
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
// first 16 bits of u (for sigma >= 10, all but ~2^-16 of proposals). Otherwise R(k) is computed
// (acceptanceRatio, relative error below 1e-14 + 3e-16 |ln R|) and compared with u exactly: u = (w + U) 2^-16 with w a 16-bit word and U a fresh full-precision
// uniform drawn only when w = floor(R 2^16), so P(accept) = R to double precision even for tiny R.
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
 * 0.05 to 2^24 (test/discrete-gaussian-wasm.test.ts): relative error below 1e-14 + 3e-16 |ln R|, the
 * second term from exp of the rounded argument c (k - 1/4) (it matters only where R < 1e-40).
 */
function acceptanceRatio(k: f64): f64 {
  const c = dgC;
  return (dgMassZero * Math.exp(-c * (k - 0.25))) / edgeIntegral((k + k - 1) * c, c);
}

/** 16 keystream bits: each 64-bit draw serves four acceptance tests. */
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

/** One discrete Gaussian sample (prepareDiscreteGaussian first), as an integer-valued double. */
// @ts-ignore: decorator
@inline function nextDiscreteGaussian(g: usize): f64 {
  while (true) {
    const k = nearest(dgSigma * nextGaussian(g));
    if (k == 0) return 0; // R(0) = 1
    const m = Math.abs(k);
    if (m > INT32_MAX) continue;
    const word = nextWord(g);
    const ck = dgC * m; // a / 2
    if ((<f64>word + 1) * TWO_M16 <= 1 - 0.5 * ck * ck) return k;
    if (acceptSlow(g, m, word)) return k;
  }
}

/** out[i] = a discrete Gaussian sample of parameter sigma (0 < sigma <= 2^24), n int32 values. */
export function discreteGaussianFill(g: usize, out: usize, n: i32, sigma: f64): void {
  prepareDiscreteGaussian(sigma);
  for (let i = 0; i < n; i++) store<i32>(out + (<usize>i << 2), <i32>nextDiscreteGaussian(g));
}

/** The acceptance probability R(k) = g(0) / g(k) of the sampler (exported for its accuracy test). */
export function discreteGaussianAcceptance(sigma: f64, k: f64): f64 {
  prepareDiscreteGaussian(sigma);
  return k == 0 ? 1 : acceptanceRatio(Math.abs(k));
}

/** words[i] = (words[i] + a discrete Gaussian sample) mod 2^32, masked, for n uint32 values. */
export function addDiscreteGaussianWrapped(g: usize, words: usize, n: i32, sigma: f64, mask: u32): void {
  prepareDiscreteGaussian(sigma);
  addNoise(g, words, n, mask);
}

// @ts-ignore: decorator
@inline function addNoise(g: usize, words: usize, n: i32, mask: u32): void {
  for (let i = 0; i < n; i++) {
    const p = words + (<usize>i << 2);
    // 2^b divides 2^32: adding the low 32 bits of the int64 sample is exact mod 2^b.
    store<u32>(p, (load<u32>(p) + <u32>(<i64>nextDiscreteGaussian(g))) & mask);
  }
}

// ---- Quantizer: q = stochasticRound(x scale) (+ discrete Gaussian noise) mod 2^b ----
// v = x scale in float64; q = floor(v) + 1 with probability frac = v - floor(v) (exact in float64),
// decided by u < frac for a 53-bit uniform u = (bits >> 11) 2^-53 of one 64-bit keystream word, so
// E[q] = v up to 2^-53. Requires |v| < 2^52, where every integer near v is a double; then
// q mod 2^32 = q - floor(q 2^-32) 2^32 is exact and becomes a uint32 with one truncation.
// Values go in batches of QUANTIZE_BATCH: the batch's rounding words are drawn at once (8 bytes
// per value), then its noise samples; the layout depends only on the value count per call.

const QUANTIZE_BATCH: i32 = SCRATCH_BYTES >> 3;
const LIMIT: f64 = 4503599627370496; // 2^52
const TWO_M53: f64 = 1.1102230246251565e-16;

/** floor(v) + (u < v - floor(v)) for two lanes, u from the 64-bit words in `bits`. */
// @ts-ignore: decorator
@inline function roundPair(v: v128, bits: v128): v128 {
  const whole = f64x2.floor(v);
  const frac = f64x2.sub(v, whole);
  // u = (bits >> 12) 2^-52 + bit 11 of bits * 2^-53: the 1 + (bits >> 12) 2^-52 double minus 1, plus 2^-53 or 0.
  const one = f64x2.splat(1);
  const u52 = f64x2.sub(v128.or(i64x2.shr_u(bits, 12), one), one);
  const bit11 = i64x2.splat(0x800);
  const u = f64x2.add(u52, v128.and(i64x2.eq(v128.and(bits, bit11), bit11), f64x2.splat(TWO_M53)));
  return f64x2.add(whole, v128.and(f64x2.lt(u, frac), one));
}

/** q mod 2^32 for two integer-valued lanes with |q| <= 2^52, as uint32 in lanes 0 and 1. */
// @ts-ignore: decorator
@inline function wrapPair(q: v128): v128 {
  const high = f64x2.floor(f64x2.mul(q, f64x2.splat(TWO_M32)));
  return i32x4.trunc_sat_f64x2_u_zero(f64x2.sub(q, f64x2.mul(high, f64x2.splat(TWO_32))));
}

/**
 * Quantizes n float32 values at x in place into n uint32 words: q = stochasticRound(x scale), plus a
 * discrete Gaussian sample of parameter sigma when sigma > 0, reduced mod 2^32 and masked with
 * `mask` (2^b - 1). Returns the sum of squares of the rounded integers (before noise; for conditional
 * rounding), or -1 when some |x[i] scale| is not below 2^52 or is NaN (the words are then garbage).
 */
export function quantizeChunk(g: usize, x: usize, n: i32, scale: f64, sigma: f64, mask: u32): f64 {
  if (sigma > 0) prepareDiscreteGaussian(sigma);
  const scales = f64x2.splat(scale);
  const limit = f64x2.splat(LIMIT);
  const masks = i32x4.splat(mask);
  let ok = i64x2.splat(-1);
  let squares = f64x2.splat(0);
  let tail: f64 = 0;
  let bad = false;
  for (let i = 0; i < n; i += QUANTIZE_BATCH) {
    const m = min(QUANTIZE_BATCH, n - i);
    chachaBytes(g, SCRATCH, m << 3);
    const p = x + (<usize>i << 2);
    let j = 0;
    for (; j + 4 <= m; j += 4) {
      const values = v128.load(p + (<usize>j << 2));
      const v0 = f64x2.mul(f64x2.promote_low_f32x4(values), scales);
      const v1 = f64x2.mul(f64x2.promote_low_f32x4(v128.shuffle<f32>(values, values, 2, 3, 2, 3)), scales);
      ok = v128.and(ok, v128.and(f64x2.lt(f64x2.abs(v0), limit), f64x2.lt(f64x2.abs(v1), limit)));
      const bits = SCRATCH + (<usize>j << 3);
      const q0 = roundPair(v0, v128.load(bits));
      const q1 = roundPair(v1, v128.load(bits, 16));
      squares = f64x2.add(squares, f64x2.add(f64x2.mul(q0, q0), f64x2.mul(q1, q1)));
      v128.store(p + (<usize>j << 2), v128.and(i32x4.shuffle(wrapPair(q0), wrapPair(q1), 0, 1, 4, 5), masks));
    }
    for (; j < m; j++) {
      const q = p + (<usize>j << 2);
      const v = <f64>load<f32>(q) * scale;
      if (!(Math.abs(v) < LIMIT)) {
        bad = true;
        continue;
      }
      const whole = Math.floor(v);
      const r = whole + (<f64>(load<u64>(SCRATCH + (<usize>j << 3)) >> 11) * TWO_M53 < v - whole ? 1 : 0);
      tail += r * r;
      store<u32>(q, <u32>(<i64>r) & mask);
    }
    if (sigma > 0) addNoise(g, p, m, mask);
  }
  if (bad || !i64x2.all_true(ok)) return -1;
  return f64x2.extract_lane(squares, 0) + f64x2.extract_lane(squares, 1) + tail;
}
