// The integer-lattice noise kernels of the secure mode (src/dp/secure.ts; Google, "Secure Noise
// Generation", 2020): each value v becomes (nearest(v / r) + Z) * r with Z an integer noise, two-sided
// geometric (the discrete Laplace) or the rounded Ziggurat normal of assembly/dp/ziggurat.ts, drawn
// from the ChaCha20 generator (dp/rng.ts). The caller picks r = 2^k from the noise scale, passes
// t = scale / r (noise scale in lattice units) and the bound 2^52 r on |v|, so that
// |nearest(v / r) + Z| < 2^53 and every step is exact in float64. The Laplace kernel realizes the
// discrete Laplace pmf up to relative errors near 1e-15, bounded in nextTwoSidedGeometric.
import { chachaBytes, KEYSTREAM, KEYSTREAM_BYTES } from './rng';
import { nextGaussian, TWO_M53, withSign } from './ziggurat';

const TWO_52: f64 = 4503599627370496;

// The secure Laplace kernel reads the keystream as 32-bit words from the staging block (refilled
// 2 KiB at a time; each call starts with an empty block, so words left over when a call returns are
// discarded, never reused).
const KEYSTREAM_WORDS: i32 = KEYSTREAM_BYTES >> 2;
let wordPosition: i32 = KEYSTREAM_WORDS;

// @ts-ignore: decorator
@inline function nextWord(g: usize): u32 {
  let i = wordPosition;
  if (i == KEYSTREAM_WORDS) {
    chachaBytes(g, KEYSTREAM, KEYSTREAM_BYTES);
    i = 0;
  }
  wordPosition = i + 1;
  return load<u32>(KEYSTREAM + (<usize>i << 2));
}

// Q's table. With p = e^(-M / t), QT[k - 1] = floor(p^k 2^64) for k = 1..16, computed in 128-bit
// fixed point (qTableFill; float64 has only 53 bits), so that a 64-bit uniform U (an integer over
// 2^64) gives P(U < QT[k - 1]) = QT[k - 1] 2^-64 = p^k to within 2^-64 absolute. Q >= 16 restarts
// with a fresh U (memorylessness: Q = 16 + a fresh Q), so the realized pmf is
//   P(Q = 16 j + k) = (QT[15] 2^-64)^j (QT[k - 1] - QT[k]) 2^-64   (k < 16, QT[-1] = 2^64),
// with relative errors below 2.01 / (2^64 p^k (1 - p)) in the last factor and 1.01 / (2^64 p^16)
// per restart (each entry is within 1 + 2^-51 of p^k 2^64): at most 5.0e-16 and 1.7e-16 for the
// secure mode's M / t in [1/4, 1/2) (src/dp/secure.ts). A deeper table cannot be this accurate:
// floor(p^64 2^64) is ~2^18 at p = e^(-1/2), so a 64-entry table is off by up to 4e-6 relative.
const Q_TABLE: i32 = 16;
const QT: usize = memory.data(Q_TABLE * 8, 8);

/** High words of QT XOR 2^31 (so signed SIMD compares order them as unsigned), for nextBlockCount. */
const QH: usize = memory.data(Q_TABLE * 4, 16);

// ---- 128-bit fixed point: a v128 holds x in [0, 1) as the integer x 2^128 (lane 0 the low word) ----

// @ts-ignore: decorator
@inline function fixed(high: u64, low: u64): v128 {
  return i64x2.replace_lane(i64x2.splat(low), 1, high);
}

// @ts-ignore: decorator
@inline function highWord(x: v128): u64 {
  return <u64>i64x2.extract_lane(x, 1);
}

// @ts-ignore: decorator
@inline function lowWord(x: v128): u64 {
  return <u64>i64x2.extract_lane(x, 0);
}

/** The high 64 bits of the 128-bit product a b (schoolbook on 32-bit halves). */
function mulHigh(a: u64, b: u64): u64 {
  const a0 = a & 0xffffffff;
  const a1 = a >> 32;
  const b0 = b & 0xffffffff;
  const b1 = b >> 32;
  const middle = ((a0 * b0) >> 32) + ((a1 * b0) & 0xffffffff) + ((a0 * b1) & 0xffffffff);
  return a1 * b1 + ((a1 * b0) >> 32) + ((a0 * b1) >> 32) + (middle >> 32);
}

/**
 * floor(x y 2^128) 2^-128, exactly: with B = 2^64, x = x1 B + x0 and y = y1 B + y0 (times 2^-128),
 * the product's words above B^2 are x1 y1 + high(x1 y0) + high(x0 y1) plus the carry out of
 * low(x1 y0) + low(x0 y1) + high(x0 y0); the lowest word x0 y0 mod B cannot carry that far.
 */
function fixedMul(x: v128, y: v128): v128 {
  const x1 = highWord(x);
  const x0 = lowWord(x);
  const y1 = highWord(y);
  const y0 = lowWord(y);
  let middle = mulHigh(x0, y0);
  let carry: u64 = 0;
  let sum = middle + x1 * y0;
  carry += <u64>(sum < middle);
  middle = sum;
  sum = middle + x0 * y1;
  carry += <u64>(sum < middle);
  const product = fixed(mulHigh(x1, y1), x1 * y1);
  return fixedAdd(fixedAdd(product, fixed(0, mulHigh(x1, y0))), fixedAdd(fixed(0, mulHigh(x0, y1)), fixed(0, carry)));
}

/** floor(x / n) for a 32-bit n >= 1, exactly (long division by 32-bit digits). */
function fixedDiv(x: v128, n: u64): v128 {
  const high = highWord(x);
  const low = lowWord(x);
  let rest = ((high % n) << 32) | (low >> 32);
  const upper = rest / n;
  rest = ((rest % n) << 32) | (low & 0xffffffff);
  return fixed(high / n, (upper << 32) | (rest / n));
}

// @ts-ignore: decorator
@inline function fixedAdd(x: v128, y: v128): v128 {
  const low = lowWord(x) + lowWord(y);
  return fixed(highWord(x) + highWord(y) + <u64>(low < lowWord(x)), low);
}

/** x - y mod 1 (two's complement on 128 bits). */
// @ts-ignore: decorator
@inline function fixedSub(x: v128, y: v128): v128 {
  return fixed(highWord(x) - highWord(y) - <u64>(lowWord(x) < lowWord(y)), lowWord(x) - lowWord(y));
}

/**
 * QT and QH for p = e^(-M / t), M = 2^mBits, for a t with 2^mBits < t < 2^(mBits + 53). In 128-bit
 * fixed point: y = M / t by binary long division (t = m 2^e, m a 53-bit integer: y = 2^(mBits - e) / m),
 * p = 1 - S with S = y - y^2 / 2! + y^3 / 3! - ..., and p^k by repeated multiplication. Every step
 * truncates by less than 2^-128, so p^k is within 2^-115 (k <= 16, y < 1: fewer than 40 series
 * terms) and QT[k - 1] = the high word of p^k is floor(p^k 2^64), or one off when p^k 2^64 lies within
 * 2^-51 of an integer.
 */
function qTableFill(t: f64, mBits: i32): void {
  const bits = reinterpret<u64>(t);
  const m = (bits & 0xfffffffffffff) | 0x10000000000000;
  let rest = <u64>1 << <u64>(mBits - (<i32>(bits >> 52) - 1075)); // 2^(mBits - e) < m
  let yHigh: u64 = 0;
  let yLow: u64 = 0;
  for (let i = 0; i < 128; i++) {
    rest <<= 1;
    const bit = <u64>(rest >= m);
    rest -= bit * m;
    yHigh = (yHigh << 1) | (yLow >> 63);
    yLow = (yLow << 1) | bit;
  }
  const y = fixed(yHigh, yLow);
  let term = y;
  let series = y;
  for (let n: u64 = 2; highWord(term) != 0 || lowWord(term) != 0; n++) {
    term = fixedDiv(fixedMul(term, y), n);
    series = n & 1 ? fixedAdd(series, term) : fixedSub(series, term);
  }
  const p = fixedSub(fixed(0, 0), series); // 1 - S = 2^128 - S 2^128 in 128 bits
  let power = p;
  for (let k = 0; k < Q_TABLE; k++) {
    const threshold = highWord(power);
    store<u64>(QT + (<usize>k << 3), threshold);
    store<u32>(QH + (<usize>k << 2), <u32>(threshold >> 32) ^ 0x80000000);
    power = fixedMul(power, p);
  }
}

/**
 * Q ~ Geometric, P(Q >= k) = p^k: inversion of 64-bit uniforms U = hi 2^-32 + lo 2^-64 against QT
 * (Q >= k iff U < QT[k - 1]); 16 thresholds passed (probability p^16 <= e^-4) go on with a fresh U
 * (memorylessness: Q = 16 + a fresh Q).
 */
// @ts-ignore: decorator
@inline function nextBlockCount(g: usize): f64 {
  const count = thresholdsAbove(g, nextWord(g));
  return count < Q_TABLE ? <f64>count : blockCountRestart(g);
}

/** nextBlockCount after a first U passed all 16 thresholds. */
function blockCountRestart(g: usize): f64 {
  let q: f64 = Q_TABLE;
  while (true) {
    const count = thresholdsAbove(g, nextWord(g));
    q += <f64>count;
    if (count < Q_TABLE) return q;
  }
}

/**
 * The count of thresholds QT[k] above U = hi 2^-32 + lo 2^-64, lo drawn only on a tie of high words:
 * without branches when no high word ties (the count of high words above hi), else by tieCount.
 */
// @ts-ignore: decorator
@inline function thresholdsAbove(g: usize, hi: u32): i32 {
  const h = i32x4.splat(hi ^ 0x80000000);
  const a0 = v128.load(QH), a1 = v128.load(QH, 16), a2 = v128.load(QH, 32), a3 = v128.load(QH, 48);
  const lt = i32x4.add(i32x4.add(i32x4.lt_s(h, a0), i32x4.lt_s(h, a1)), i32x4.add(i32x4.lt_s(h, a2), i32x4.lt_s(h, a3)));
  const eq = v128.or(v128.or(i32x4.eq(h, a0), i32x4.eq(h, a1)), v128.or(i32x4.eq(h, a2), i32x4.eq(h, a3)));
  if (v128.any_true(eq)) return tieCount(g, hi);
  const s = i32x4.add(lt, i32x4.shuffle(lt, lt, 2, 3, 0, 1));
  return -(i32x4.extract_lane(s, 0) + i32x4.extract_lane(s, 1));
}

/** thresholdsAbove by a scan, drawing lo at the first tie of high words (probability below 2^-28). */
function tieCount(g: usize, hi: u32): i32 {
  let lo: u32 = 0;
  let haveLo = false;
  let k = 0;
  for (; k < Q_TABLE; k++) {
    const t = load<u64>(QT + (<usize>k << 3));
    const thi = <u32>(t >> 32);
    if (hi < thi) continue;
    if (hi > thi) break;
    if (!haveLo) {
      lo = nextWord(g);
      haveLo = true;
    }
    if (lo >= <u32>t) break;
  }
  return k;
}

/**
 * Two-sided geometric (discrete Laplace) Z with P(Z = z) proportional to exp(-|z| / t), t >= 2.
 * |Z| = G, a geometric variable with q = e^(-1/t), drawn as G = M Q + R (M = 2^m < t, m <= 23):
 * Q ~ Geometric(q^M) by inversion of 64-bit uniforms against the table of floor(q^(Mk) 2^64)
 * (nextBlockCount), and R, geometric truncated to [0, M), is a uniform proposal accepted with
 * probability e^(-R/t). One
 * 32-bit word gives R (bits 0 to m-1), the sign (bit 31) and the first 8 bits of the acceptance
 * uniform u (bits 23-30); the accept test (u < e^(-R/t), squeezed between 1 - R/t and
 * 1 - R/t + (R/t)^2/2 so exp is rarely evaluated) is decided from those 8 bits when the squeeze
 * allows, and otherwise from a full 53-bit u (two more words): the same decision as with a 53-bit u
 * drawn at once. The pair (negative, 0) is rejected so zero is not counted twice.
 * Accuracy, for the secure mode's t in (2^23, 2^24] and M / t in [1/4, 1/2): Q's pmf is within
 * 5.0e-16 relative per factor (see QT); R's acceptance probability is within 4 2^-53 absolute of
 * e^(-R/t) >= e^(-1/2) (the 53-bit grid of u, the rounding of R/t and of exp, and one grid point
 * at the squeeze bounds' rounding), 7.4e-16 relative. So, up to a normalizing constant, P(Z = z)
 * is the discrete Laplace pmf times (1 + e_Q)(1 + e_R), |ln(1 + e_Q)| <= 5.0e-16 + 1.7e-16 j (j = Q's
 * restarts) and |ln(1 + e_R)| <= 7.4e-16: the privacy loss of a coordinate whose lattice input moves
 * by s exceeds the exact mechanism's by at most 2 (5.0e-16 + 7.4e-16) + 1.7e-16 (2 + s / (16 M))
 * < 3e-15 + 1.1e-17 s / M; coordinates that do not move add nothing.
 */
// @ts-ignore: decorator
@inline function nextTwoSidedGeometric(g: usize, invT: f64, mMask: u32, mSize: f64): f64 {
  while (true) {
    let r: f64, w: u32;
    while (true) {
      w = nextWord(g);
      r = <f64>(<i32>(w & mMask));
      const x = r * invT;
      const lower = 1 - x;
      const top = <f64>((w >> 23) & 0xff) * 0.00390625; // u in [top, top + 2^-8)
      if (top + 0.00390625 <= lower) break;
      const upper = lower + 0.5 * x * x;
      if (top >= upper) continue;
      const u = <f64>(<i64>(((<u64>((w >> 23) & 0xff)) << 45) | (<u64>nextWord(g) << 13) | <u64>(nextWord(g) >> 19))) * TWO_M53;
      if (u < lower) break;
      if (u >= upper) continue;
      if (u < Math.exp(-x)) break;
    }
    const magnitude = nextBlockCount(g) * mSize + r;
    const negative = (w & 0x80000000) != 0;
    if (negative && magnitude == 0) continue;
    if (magnitude >= TWO_52) continue; // probability below e^(-2^52 / t): never in practice
    return withSign(magnitude, <u64>w << 32);
  }
}

/**
 * values[i] <- (nearest(values[i] / r) + Z) * r, Z two-sided geometric of scale t. Returns the index
 * of the first value with !(|v| <= bound) (NaN included) or -1.
 */
export function secureLaplaceLattice(g: usize, values: usize, n: i32, r: f64, t: f64, bound: f64, mBits: i32): i32 {
  const mMask: u32 = (<u32>1 << <u32>mBits) - 1;
  const mSize = <f64>(<u64>1 << <u64>mBits);
  qTableFill(t, mBits);
  const invT = 1 / t;
  wordPosition = KEYSTREAM_WORDS;
  for (let i = 0; i < n; i++) {
    const p = values + (<usize>i << 3);
    const v = load<f64>(p);
    if (!(Math.abs(v) <= bound)) return i;
    const z = nextTwoSidedGeometric(g, invT, mMask, mSize);
    store<f64>(p, (nearest(v / r) + z) * r);
  }
  return -1;
}

/** Q's table for (t, mBits) into out (QT's 16 uint64 entries, floor(e^(-2^mBits k / t) 2^64)); exported for its exactness test. */
export function secureLaplaceTable(t: f64, mBits: i32, out: usize): i32 {
  qTableFill(t, mBits);
  memory.copy(out, QT, Q_TABLE << 3);
  return Q_TABLE;
}

/**
 * values[i] <- (nearest(values[i] / r) + nearest(t N)) * r with N the Ziggurat normal: integer noise
 * of standard deviation t on the lattice. Returns the index of the first value with !(|v| <= bound) or -1.
 * The noise is never -0: nearest(t N) is -0 for t N in [-1/2, 0), and -0 + nearest(v / r) stays -0
 * exactly when v is in [-r/2, 0), so a -0 output would reveal the sign of an input the lattice rounds
 * to 0 (with probability ~0.2 / t, outside any accounting). Adding +0 turns -0 into +0 only.
 */
export function secureGaussianLattice(g: usize, values: usize, n: i32, r: f64, t: f64, bound: f64): i32 {
  for (let i = 0; i < n; i++) {
    const p = values + (<usize>i << 3);
    const v = load<f64>(p);
    if (!(Math.abs(v) <= bound)) return i;
    const z = nearest(t * nextGaussian(g)) + 0;
    store<f64>(p, (nearest(v / r) + z) * r);
  }
  return -1;
}
