// The fast discrete Gaussian sampler (discreteGaussian with method 'wasm' in src/dp/discrete.ts, and
// the noise of the quantizer in assembly/secagg/quantize.ts): rounded Ziggurat normals (dp/ziggurat.ts)
// accepted with a float64 probability, drawn from the ChaCha20 generator (dp/rng.ts) a batch of
// keystream at a time. Kairouz, Liu, Steinke 2021 ("The Distributed Discrete Gaussian Mechanism for
// Federated Learning with Secure Aggregation", arXiv 2102.06387) add it to quantized updates.
import { chachaBytes, nextU64, nextUniform } from './rng';
import { gaussianRare, nextGaussian, NX, NX53 } from './ziggurat';

// ---- Discrete Gaussian N_Z(0, sigma^2): P(k) proportional to exp(-k^2 / (2 sigma^2)), k integer ----
// Proposal: k = round(sigma Z), Z ~ N(0, 1) from the Ziggurat of assembly/dp/ziggurat.ts. Writing the bin
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
export function prepareDiscreteGaussian(sigma: f64): void {
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
// 6200, most of them the Ziggurat's ~1.5% of points outside the inner box, as in assembly/dp/noise.ts)
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
export const BATCH: i32 = 512;
/** The batch's keystream block: up to 6 bytes per value. */
export const KEYS: usize = memory.data(BATCH * 8, 16);

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
    const c = load<f64>(NX53 + o);
    store<f64>(ZX23 + o, c * TWO_30);
    store<f64>(ZINNER + o, load<f64>(NX + o + 8) - LOW_30 * c * (1 + SLACK) - load<f64>(NX + o) * SLACK);
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
    store<f64>(ZSPREAD + o, sigma * LOW_30 * load<f64>(NX53 + o) * (1 + SLACK) + (sigma * load<f64>(NX + o) + 1) * SLACK);
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
  let x = (<f64>(z >> 9) * TWO_30 + <f64>(<u32>bits & 0x3fffffff)) * load<f64>(NX53 + layer);
  if (x >= load<f64>(NX + layer + 8)) x = gaussianRare(g, layer, x);
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
@inline export function sampleBatch(g: usize, zig: usize, acc: usize, out: usize, m: i32): void {
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

/** Zeroes the batch's keystream block and the spare keystream bits (called when a generator's call ends). */
export function wipeDiscreteScratch(): void {
  memory.fill(KEYS, 0, BATCH * 8);
  spareBits = 0;
  spareCount = 0;
}

/** The acceptance probability R(k) = g(0) / g(k) of the sampler (exported for its accuracy test). */
export function discreteGaussianAcceptance(sigma: f64, k: f64): f64 {
  prepareDiscreteGaussian(sigma);
  return k == 0 ? 1 : acceptanceRatio(Math.abs(k));
}

