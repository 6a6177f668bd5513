// Continuous DP noise kernels driven by the ChaCha20 generator (assembly/chacha.ts), and the
// integer-lattice kernels of the secure mode (src/dp/secure.ts).
//
// Gaussian and exponential samples use the Ziggurat method of Marsaglia and Tsang, "The Ziggurat
// Method for Generating Random Variables", J. Stat. Softw. 5(8), 2000, with 256 layers of equal
// area v. Layer i (1..255) is the box [0, X[i]] x [f(X[i]), f(X[i+1])]; layer 0 is the base box
// [0, R] x [0, f(R)] plus the tail beyond R, drawn as a box of width X[0] = v / f(R). One 64-bit
// word gives the layer (bits 0-7), the sign (bit 8) and a 53-bit uniform u (bits 11-63); the point
// x = u X[i] is accepted at once when x < X[i+1] (about 99% of draws); otherwise the wedge is tested
// against the density, or the tail is sampled exactly (Marsaglia 1964 for the normal tail;
// memorylessness for the exponential tail). The sampler is exact in distribution up to the 2^-53
// grid of u. Laplace = random sign x Exponential. Tables are computed once in the module start.
// The float32 kernels take the first attempt of each sample from 32 bits (layer, sign and a 23-bit
// u: below float32's own rounding), so two samples share one 64-bit draw; any further attempt,
// wedge or tail draws full 64-bit words. Only the magnitude is ever rejected: the sign bit is
// independent of the magnitude and of its rejection, so a redrawn magnitude keeps the first sign
// (the same distribution), applied with bit operations rather than a branch that would mispredict
// on half the samples. The secure Laplace kernel (discrete Laplace on the lattice) is exact up to
// the 2^-53 relative rounding of its float64 probabilities; see nextTwoSidedGeometric.
import { chachaBytes, nextU64, nextUniform } from './chacha';

const LAYERS = 256;
// R and v for 256 layers, solved to 20 digits so that the top layer closes (area v, ends at x = 0).
const NORMAL_R: f64 = 3.6541528853610088;
const NORMAL_V: f64 = 0.0049286732339746553;
const EXP_R: f64 = 7.6971174701310497;
const EXP_V: f64 = 0.0039496598225815572;

// Static tables (below the heap base, so the JS-side arena never overlaps them): X[0..256], f(X[0..256]).
const NX: usize = memory.data((LAYERS + 1) * 8);
const NF: usize = memory.data((LAYERS + 1) * 8);
const EX: usize = memory.data((LAYERS + 1) * 8);
const EF: usize = memory.data((LAYERS + 1) * 8);

const TWO_M53: f64 = 1.1102230246251565e-16; // 2^-53

function buildNormalTables(): void {
  let x = NORMAL_R;
  store<f64>(NX, NORMAL_V / Math.exp(-0.5 * x * x));
  for (let i = 1; i < LAYERS; i++) {
    store<f64>(NX + (<usize>i << 3), x);
    store<f64>(NF + (<usize>i << 3), Math.exp(-0.5 * x * x));
    if (i < LAYERS - 1) x = Math.sqrt(-2 * Math.log(NORMAL_V / x + Math.exp(-0.5 * x * x)));
  }
  store<f64>(NX + (<usize>LAYERS << 3), 0);
  store<f64>(NF + (<usize>LAYERS << 3), 1);
}

function buildExponentialTables(): void {
  let x = EXP_R;
  store<f64>(EX, EXP_V / Math.exp(-x));
  for (let i = 1; i < LAYERS; i++) {
    store<f64>(EX + (<usize>i << 3), x);
    store<f64>(EF + (<usize>i << 3), Math.exp(-x));
    if (i < LAYERS - 1) x = -Math.log(EXP_V / x + Math.exp(-x));
  }
  store<f64>(EX + (<usize>LAYERS << 3), 0);
  store<f64>(EF + (<usize>LAYERS << 3), 1);
}

buildNormalTables();
buildExponentialTables();

const TWO_M23: f64 = 1.1920928955078125e-7; // 2^-23

// X[i] 2^-23 and X[i] 2^-53: u X[i] with u = k 2^-b is computed as k (X[i] 2^-b), the same double
// (scaling by a power of two is exact), one multiplication fewer in the hot loops.
const NX23: usize = memory.data((LAYERS + 1) * 8);
const NX53: usize = memory.data((LAYERS + 1) * 8);
const EX23: usize = memory.data((LAYERS + 1) * 8);
const EX53: usize = memory.data((LAYERS + 1) * 8);

function buildScaledTables(): void {
  for (let i = 0; i <= LAYERS; i++) {
    const o = <usize>i << 3;
    store<f64>(NX23 + o, load<f64>(NX + o) * TWO_M23);
    store<f64>(NX53 + o, load<f64>(NX + o) * TWO_M53);
    store<f64>(EX23 + o, load<f64>(EX + o) * TWO_M23);
    store<f64>(EX53 + o, load<f64>(EX + o) * TWO_M53);
  }
}
buildScaledTables();

/**
 * The magnitude |N| of a fresh standard normal from 64-bit draws: layer = bits 0-7, u = bits 11-63
 * (53 bits). The sign is the caller's (independent of the magnitude and of any rejection).
 */
function gaussianMagnitude(g: usize): f64 {
  while (true) {
    const bits = nextU64(g);
    const layer = <usize>(bits & 0xff) << 3;
    const x = <f64>(<i64>(bits >> 11)) * load<f64>(NX53 + layer);
    if (x < load<f64>(NX + layer + 8)) return x;
    const v = gaussianSlow(g, layer, x);
    if (v == v) return v;
  }
}

/**
 * The rare part of a Ziggurat attempt for the normal at layer offset `layer` (= 8 i) whose point x
 * fell outside the inner box: the tail sample when i = 0, x when the wedge test accepts it, else NaN.
 */
// @ts-ignore: decorator
@inline function gaussianSlow(g: usize, layer: usize, x: f64): f64 {
  if (layer == 0) {
    // Tail beyond R (Marsaglia 1964): a = -ln(U1)/R, b = -ln(U2), accept when 2b >= a^2.
    let a: f64, b: f64;
    do {
      a = -Math.log(nextUniform(g)) / NORMAL_R;
      b = -Math.log(nextUniform(g));
    } while (b + b < a * a);
    return NORMAL_R + a;
  }
  const f0 = load<f64>(NF + layer);
  const y = f0 + <f64>(<i64>(nextU64(g) >> 11)) * TWO_M53 * (load<f64>(NF + layer + 8) - f0);
  return y < Math.exp(-0.5 * x * x) ? x : NaN;
}

/** The magnitude of a normal whose first attempt (layer offset `layer`, point x) left the inner box. */
function gaussianRare(g: usize, layer: usize, x: f64): f64 {
  const v = gaussianSlow(g, layer, x);
  return v == v ? v : gaussianMagnitude(g);
}

// Accessors for kernels of other files (assembly/quantize.ts draws the normal Ziggurat's first
// attempt from its own keystream blocks): the tables and the rare part, unchanged.

/** X[i] 2^-53 of the normal Ziggurat, at the layer offset `layer` = 8 i (i = 0..256). */
// @ts-ignore: decorator
@inline export function normalLayerX53(layer: usize): f64 {
  return load<f64>(NX53 + layer);
}

/** X[i] of the normal Ziggurat (X[0] = v / f(R), the base box's width; X[256] = 0), at `layer` = 8 i. */
// @ts-ignore: decorator
@inline export function normalLayerX(layer: usize): f64 {
  return load<f64>(NX + layer);
}

/**
 * The magnitude of a normal whose first attempt at layer offset `layer` gave the point x >= X[i+1]
 * (outside the inner box): gaussianRare, as the kernels of this file use it.
 */
export function normalMagnitudeRare(g: usize, layer: usize, x: f64): f64 {
  return gaussianRare(g, layer, x);
}

/** A standard normal sample from 64-bit draws (sign = bit 8 of the first draw). */
// @ts-ignore: decorator
@inline export function nextGaussian(g: usize): f64 {
  const bits = nextU64(g);
  const layer = <usize>(bits & 0xff) << 3;
  let x = <f64>(<i64>(bits >> 11)) * load<f64>(NX53 + layer);
  if (x >= load<f64>(NX + layer + 8)) x = gaussianRare(g, layer, x);
  return withSign(x, bits << 55);
}

/** x (>= 0) with the sign bit set when bit 63 of s is: the sign without a branch. */
// @ts-ignore: decorator
@inline function withSign(x: f64, s: u64): f64 {
  return reinterpret<f64>(reinterpret<u64>(x) | (s & 0x8000000000000000));
}

/**
 * The magnitude of a fresh standard exponential (the Laplace magnitude) from 64-bit draws; the tail
 * beyond R is R plus a fresh exponential (memorylessness).
 */
function exponentialMagnitude(g: usize): f64 {
  let shift: f64 = 0;
  while (true) {
    const bits = nextU64(g);
    const layer = <usize>(bits & 0xff) << 3;
    const x = <f64>(<i64>(bits >> 11)) * load<f64>(EX53 + layer);
    if (x < load<f64>(EX + layer + 8)) return x + shift;
    if (layer == 0) {
      shift += EXP_R;
      continue;
    }
    const f0 = load<f64>(EF + layer);
    const y = f0 + <f64>(<i64>(nextU64(g) >> 11)) * TWO_M53 * (load<f64>(EF + layer + 8) - f0);
    if (y < Math.exp(-x)) return x + shift;
  }
}

/** The magnitude of an exponential whose first attempt (layer offset `layer`, point x) left the inner box. */
function exponentialRare(g: usize, layer: usize, x: f64): f64 {
  if (layer == 0) return EXP_R + exponentialMagnitude(g);
  const f0 = load<f64>(EF + layer);
  const y = f0 + <f64>(<i64>(nextU64(g) >> 11)) * TWO_M53 * (load<f64>(EF + layer + 8) - f0);
  return y < Math.exp(-x) ? x : exponentialMagnitude(g);
}

// Kernels draw the first attempt of a batch of samples from keystream written straight into a
// scratch block (one chachaBytes call per batch, so the hot loop does not touch the generator's
// bookkeeping); rejected attempts, wedges and tails draw further words from the generator. Each
// first attempt is layer = bits 0-7, sign = bit 8 and u = the top 23 (float32: a 32-bit word) or
// 53 bits (float64: a 64-bit word); only the magnitude is rejected, so a rejected attempt keeps
// its sign bit (independent of the magnitude and of the rejection) and redraws the magnitude.
// The sign is applied with bit operations: a branch on it would mispredict half the time.
const SCRATCH_BYTES: i32 = 2048;
const SCRATCH: usize = memory.data(SCRATCH_BYTES, 16);

/**
 * The shared kernel loop over n elements of type T at p: out = scale * noise (add = false) or
 * x += scale * noise (add = true, sum in float64, rounded to T once). Returns the index of the first
 * non-finite result (with add, the kernel stops there: a non-finite input gives one too), or -1.
 */
// @ts-ignore: decorator
@inline function noiseLoop<T>(g: usize, p: usize, n: i32, scale: f64, laplace: bool, add: bool): i32 {
  const bytes = <i32>sizeof<T>();
  const perBatch = SCRATCH_BYTES / bytes;
  const xs = bytes == 8 ? (laplace ? EX53 : NX53) : laplace ? EX23 : NX23;
  const xi = laplace ? EX : NX;
  let bad = -1;
  for (let i = 0; i < n; i += perBatch) {
    const m = min(perBatch, n - i);
    chachaBytes(g, SCRATCH, m * bytes);
    const q0 = p + (<usize>i << (bytes == 8 ? 3 : 2));
    for (let j = 0; j < m; j++) {
      let bits: u64, k: f64;
      if (bytes == 8) {
        bits = load<u64>(SCRATCH + (<usize>j << 3));
        k = <f64>(<i64>(bits >> 11));
      } else {
        const w = load<u32>(SCRATCH + (<usize>j << 2));
        bits = <u64>w;
        k = <f64>(<i32>(w >> 9));
      }
      const layer = <usize>(<u32>bits & 0xff) << 3;
      let x = k * load<f64>(xs + layer);
      if (x >= load<f64>(xi + layer + 8)) x = laplace ? exponentialRare(g, layer, x) : gaussianRare(g, layer, x);
      const z = withSign(x, bits << 55);
      const q = q0 + (<usize>j << (bytes == 8 ? 3 : 2));
      const v = add ? <T>(<f64>load<T>(q) + scale * z) : <T>(scale * z);
      if (!isFinite(v)) {
        if (add) return i + j;
        if (bad < 0) bad = i + j;
      }
      store<T>(q, v);
    }
  }
  return bad;
}

/** out[i] = sigma * N(0, 1) for n float64 values; returns the first non-finite index or -1. */
export function gaussianFill64(g: usize, out: usize, n: i32, sigma: f64): i32 {
  return noiseLoop<f64>(g, out, n, sigma, false, false);
}

export function gaussianFill32(g: usize, out: usize, n: i32, sigma: f64): i32 {
  return noiseLoop<f32>(g, out, n, sigma, false, false);
}

/** out[i] = scale * Laplace(0, 1) for n float64 values; returns the first non-finite index or -1. */
export function laplaceFill64(g: usize, out: usize, n: i32, scale: f64): i32 {
  return noiseLoop<f64>(g, out, n, scale, true, false);
}

export function laplaceFill32(g: usize, out: usize, n: i32, scale: f64): i32 {
  return noiseLoop<f32>(g, out, n, scale, true, false);
}

/** x[i] += sigma * N(0, 1) for n float64 values at x; stops at the first non-finite input or result. */
export function gaussianAdd64(g: usize, x: usize, n: i32, sigma: f64): i32 {
  return noiseLoop<f64>(g, x, n, sigma, false, true);
}

export function gaussianAdd32(g: usize, x: usize, n: i32, sigma: f64): i32 {
  return noiseLoop<f32>(g, x, n, sigma, false, true);
}

export function laplaceAdd64(g: usize, x: usize, n: i32, scale: f64): i32 {
  return noiseLoop<f64>(g, x, n, scale, true, true);
}

export function laplaceAdd32(g: usize, x: usize, n: i32, scale: f64): i32 {
  return noiseLoop<f32>(g, x, n, scale, true, true);
}

// ---- Secure mode: integer noise on the lattice r Z (Google, "Secure Noise Generation", 2020) ----
// Each value v becomes (nearest(v / r) + Z) * r with Z an integer; the caller (src/dp/secure.ts)
// picks r = 2^k from the noise scale, passes t = scale / r (noise scale in lattice units) and the
// bound 2^52 r on |v|, so that |nearest(v / r) + Z| < 2^53 and every step is exact in float64.

const TWO_52: f64 = 4503599627370496;

// The secure Laplace kernel reads the keystream as 32-bit words from the scratch block (refilled
// 2 KiB at a time; words left over when the kernel returns are discarded, never reused).
const SCRATCH_WORDS: i32 = SCRATCH_BYTES >> 2;
let wordPosition: i32 = SCRATCH_WORDS;

// @ts-ignore: decorator
@inline function nextWord(g: usize): u32 {
  let i = wordPosition;
  if (i == SCRATCH_WORDS) {
    chachaBytes(g, SCRATCH, SCRATCH_BYTES);
    i = 0;
  }
  wordPosition = i + 1;
  return load<u32>(SCRATCH + (<usize>i << 2));
}

/** Q thresholds: QT[k - 1] = floor(p^k 2^64), k = 1..Q_TABLE, for P(Q >= k) = p^k. */
const Q_TABLE: i32 = 64;
const QT: usize = memory.data(Q_TABLE * 8, 8);

/** High words of QT[0..16) XOR 2^31 (so signed SIMD compares order them as unsigned), for nextBlockCount. */
const QH: usize = memory.data(16 * 4, 16);

/**
 * Q ~ Geometric, P(Q >= k) = p^k: inversion of one 64-bit uniform U = hi 2^-32 + lo 2^-64 against
 * QT (Q >= k iff U < QT[k - 1]), compared lazily: lo is drawn only on a tie of the high words.
 * Usually (no tie among the first 16 high words, Q < 16) Q is the count of high words above hi,
 * found without branches.
 */
// @ts-ignore: decorator
@inline function nextBlockCount(g: usize): f64 {
  const hi = nextWord(g);
  const h = i32x4.splat(hi ^ 0x80000000);
  const a0 = v128.load(QH), a1 = v128.load(QH, 16), a2 = v128.load(QH, 32), a3 = v128.load(QH, 48);
  const lt = i32x4.add(i32x4.add(i32x4.lt_s(h, a0), i32x4.lt_s(h, a1)), i32x4.add(i32x4.lt_s(h, a2), i32x4.lt_s(h, a3)));
  const eq = v128.or(v128.or(i32x4.eq(h, a0), i32x4.eq(h, a1)), v128.or(i32x4.eq(h, a2), i32x4.eq(h, a3)));
  const s = i32x4.add(lt, i32x4.shuffle(lt, lt, 2, 3, 0, 1));
  const count = -(i32x4.extract_lane(s, 0) + i32x4.extract_lane(s, 1));
  if (!v128.any_true(eq)) {
    if (count < 16) return <f64>count;
    return blockCountSlow(g, hi, 16); // Q >= 16 (probability p^16 <= e^-4)
  }
  return blockCountSlow(g, hi, 0);
}

/** nextBlockCount's exact scan, from the high word hi already drawn and known Q >= k0. */
function blockCountSlow(g: usize, hi: u32, k0: i32): f64 {
  let q: f64 = 0;
  while (true) {
    let lo: u32 = 0;
    let haveLo = false;
    let k: i32 = k0;
    k0 = 0;
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
    q += <f64>k;
    if (k < Q_TABLE) return q;
    // U < p^Q_TABLE (probability below e^-32): memorylessness, Q = Q_TABLE + a fresh Q.
    hi = nextWord(g);
  }
}

/**
 * Two-sided geometric (discrete Laplace) Z with P(Z = z) proportional to exp(-|z| / t), t >= 2.
 * |Z| = G, a geometric variable with q = e^(-1/t), drawn as G = M Q + R (M = 2^m < t, m <= 23):
 * Q ~ Geometric(q^M) by inversion of a 64-bit uniform against the table of floor(q^(Mk) 2^64), and
 * R, geometric truncated to [0, M), is a uniform proposal accepted with probability e^(-R/t). One
 * 32-bit word gives R (bits 0 to m-1), the sign (bit 31) and the first 8 bits of the acceptance
 * uniform u (bits 23-30); the accept test (u < e^(-R/t), squeezed between 1 - R/t and
 * 1 - R/t + (R/t)^2/2 so exp is rarely evaluated) is decided from those 8 bits when the squeeze
 * allows, and otherwise from a full 53-bit u (two more words): the same decision as with a 53-bit u
 * drawn at once. Both factors are exact up to the 2^-53 relative rounding of their probabilities
 * (q^(Mk) and e^(-R/t) in float64, compared with 64- and 53-bit uniforms). The pair (negative, 0)
 * is rejected so zero is not counted twice.
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
  for (let k = 0; k < Q_TABLE; k++) {
    const threshold = <u64>(Math.exp(-mSize * <f64>(k + 1) / t) * 18446744073709551616.0);
    store<u64>(QT + (<usize>k << 3), threshold);
    if (k < 16) store<u32>(QH + (<usize>k << 2), <u32>(threshold >> 32) ^ 0x80000000);
  }
  const invT = 1 / t;
  wordPosition = SCRATCH_WORDS;
  for (let i = 0; i < n; i++) {
    const p = values + (<usize>i << 3);
    const v = load<f64>(p);
    if (!(Math.abs(v) <= bound)) return i;
    const z = nextTwoSidedGeometric(g, invT, mMask, mSize);
    store<f64>(p, (nearest(v / r) + z) * r);
  }
  return -1;
}

/**
 * values[i] <- (nearest(values[i] / r) + nearest(t N)) * r with N the Ziggurat normal: integer noise
 * of standard deviation t on the lattice. Returns the index of the first value with !(|v| <= bound) or -1.
 */
export function secureGaussianLattice(g: usize, values: usize, n: i32, r: f64, t: f64, bound: f64): i32 {
  for (let i = 0; i < n; i++) {
    const p = values + (<usize>i << 3);
    const v = load<f64>(p);
    if (!(Math.abs(v) <= bound)) return i;
    const z = nearest(t * nextGaussian(g));
    store<f64>(p, (nearest(v / r) + z) * r);
  }
  return -1;
}
