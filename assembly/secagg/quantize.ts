// The fused quantizer of secure aggregation with distributed DP (src/secagg/quantize.ts; Kairouz, Liu,
// Steinke 2021, "The Distributed Discrete Gaussian Mechanism for Federated Learning with Secure
// Aggregation", arXiv 2102.06387): stochastic rounding + discrete Gaussian noise (the batched sampler
// of assembly/dp/discrete.ts) + wrap into Z_2^b. All randomness comes from the ChaCha20 generator of
// assembly/dp/rng.ts.
import { chachaBytes, nextUniform } from '../dp/rng';
import { BATCH, KEYS, prepareDiscreteGaussian, sampleBatch } from '../dp/discrete';

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

/** The batch's noise samples (int32). */
const NOISE: usize = memory.data(BATCH * 4, 16);
/** The batch's rounding bits when the caller does not keep them. */
const BATCH_BITS: usize = memory.data(BATCH >> 3, 16);

/** Zeroes the batch's noise samples and rounding bits (called when a generator's call ends). */
export function wipeQuantizeScratch(): void {
  memory.fill(NOISE, 0, BATCH * 4);
  memory.fill(BATCH_BITS, 0, BATCH >> 3);
}

const LIMIT: f64 = 4503599627370496; // 2^52
const TWO_32: f64 = 4294967296;
const TWO_M32: f64 = 2.3283064365386963e-10;
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
