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
// wedge or tail draws full 64-bit words.
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

/**
 * One Ziggurat attempt for the standard normal with the given layer, sign and uniform u in [0, 1):
 * the sample, or NaN when the attempt is rejected (the caller then draws afresh).
 */
// @ts-ignore: decorator
@inline function gaussianAttempt(g: usize, layer: usize, negative: bool, u: f64): f64 {
  const x = u * load<f64>(NX + (layer << 3));
  if (x < load<f64>(NX + (layer << 3) + 8)) return negative ? -x : x;
  if (layer == 0) {
    // Tail beyond R (Marsaglia 1964): a = -ln(U1)/R, b = -ln(U2), accept when 2b >= a^2.
    let a: f64, b: f64;
    do {
      a = -Math.log(nextUniform(g)) / NORMAL_R;
      b = -Math.log(nextUniform(g));
    } while (b + b < a * a);
    return negative ? -(NORMAL_R + a) : NORMAL_R + a;
  }
  const f0 = load<f64>(NF + (layer << 3));
  const y = f0 + <f64>(<i64>(nextU64(g) >> 11)) * TWO_M53 * (load<f64>(NF + (layer << 3) + 8) - f0);
  if (y < Math.exp(-0.5 * x * x)) return negative ? -x : x;
  return NaN;
}

/** A standard normal sample from 64-bit draws: layer = bits 0-7, sign = bit 8, u = bits 11-63 (53 bits). */
// @ts-ignore: decorator
@inline function nextGaussian(g: usize): f64 {
  while (true) {
    const bits = nextU64(g);
    const v = gaussianAttempt(g, <usize>(bits & 0xff), (bits & 0x100) != 0, <f64>(<i64>(bits >> 11)) * TWO_M53);
    if (v == v) return v;
  }
}

function gaussianFresh(g: usize): f64 {
  return nextGaussian(g);
}

/**
 * A standard normal sample whose first attempt uses the 32-bit word w (layer = bits 0-7, sign = bit 8,
 * u = bits 9-31, 23 bits: the float32 kernels, where a finer u is lost in the rounding anyway).
 */
// @ts-ignore: decorator
@inline function gaussianFrom32(g: usize, w: u32): f64 {
  const v = gaussianAttempt(g, <usize>(w & 0xff), (w & 0x100) != 0, <f64>(w >> 9) * TWO_M23);
  return v == v ? v : gaussianFresh(g);
}

/** One Ziggurat attempt for the standard Laplace (sign x exponential); NaN when rejected. */
// @ts-ignore: decorator
@inline function laplaceAttempt(g: usize, layer: usize, negative: bool, u: f64): f64 {
  let x = u * load<f64>(EX + (layer << 3));
  if (x >= load<f64>(EX + (layer << 3) + 8)) {
    if (layer == 0) {
      x = EXP_R + Math.abs(laplaceFresh(g)); // the exponential is memoryless: tail = R + a fresh exponential
    } else {
      const f0 = load<f64>(EF + (layer << 3));
      const y = f0 + <f64>(<i64>(nextU64(g) >> 11)) * TWO_M53 * (load<f64>(EF + (layer << 3) + 8) - f0);
      if (y >= Math.exp(-x)) return NaN;
    }
  }
  return negative ? -x : x;
}

/** A fresh standard Laplace sample (not inlined: the tail of laplaceAttempt calls it). */
function laplaceFresh(g: usize): f64 {
  let shift: f64 = 0;
  while (true) {
    const bits = nextU64(g);
    const layer = <usize>(bits & 0xff) << 3;
    let x = <f64>(<i64>(bits >> 11)) * TWO_M53 * load<f64>(EX + layer);
    if (x >= load<f64>(EX + layer + 8)) {
      if (layer == 0) {
        shift += EXP_R;
        continue;
      }
      const f0 = load<f64>(EF + layer);
      const y = f0 + <f64>(<i64>(nextU64(g) >> 11)) * TWO_M53 * (load<f64>(EF + layer + 8) - f0);
      if (y >= Math.exp(-x)) continue;
    }
    x += shift;
    return (bits & 0x100) != 0 ? -x : x;
  }
}

/** A standard Laplace sample whose first attempt uses the 32-bit word w (as gaussianFrom32). */
// @ts-ignore: decorator
@inline function laplaceFrom32(g: usize, w: u32): f64 {
  const v = laplaceAttempt(g, <usize>(w & 0xff), (w & 0x100) != 0, <f64>(w >> 9) * TWO_M23);
  return v == v ? v : laplaceFresh(g);
}

// Kernels draw the first attempt of a batch of samples from keystream written straight into a
// scratch block (one chachaBytes call per batch, so the hot loop does not touch the generator's
// bookkeeping); rejected attempts, wedges and tails draw further words from the generator.
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
  let bad = -1;
  for (let i = 0; i < n; i += perBatch) {
    const m = min(perBatch, n - i);
    chachaBytes(g, SCRATCH, m * bytes);
    for (let j = 0; j < m; j++) {
      let z: f64;
      if (bytes == 8) {
        const bits = load<u64>(SCRATCH + (<usize>j << 3));
        const layer = <usize>(bits & 0xff);
        const negative = (bits & 0x100) != 0;
        const u = <f64>(<i64>(bits >> 11)) * TWO_M53;
        z = laplace ? laplaceAttempt(g, layer, negative, u) : gaussianAttempt(g, layer, negative, u);
        if (z != z) z = laplace ? laplaceFresh(g) : gaussianFresh(g);
      } else {
        const w = load<u32>(SCRATCH + (<usize>j << 2));
        z = laplace ? laplaceFrom32(g, w) : gaussianFrom32(g, w);
      }
      const q = p + (<usize>(i + j) << (bytes == 8 ? 3 : 2));
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

/**
 * Two-sided geometric (discrete Laplace) Z with P(Z = z) proportional to exp(-|z| / t), t >= 2.
 * |Z| = G, a geometric variable with q = e^(-1/t), drawn as G = M Q + R (M = 2^m <= t):
 * Q ~ Geometric(q^M) counts successes of Bernoulli(e^(-M/t)) (64-bit threshold `qThreshold`), and
 * R, geometric truncated to [0, M), is a uniform proposal accepted with probability e^(-R/t)
 * (squeezed between 1 - R/t and 1 - R/t + (R/t)^2/2 so exp is rarely evaluated). Both factors are
 * exact up to the 2^-53 relative rounding of their acceptance probabilities. A random sign is
 * attached and the pair (negative, 0) rejected so zero is not counted twice.
 */
// @ts-ignore: decorator
@inline function nextTwoSidedGeometric(g: usize, t: f64, mMask: u64, mSize: f64, qThreshold: u64): f64 {
  const invT = 1 / t;
  while (true) {
    let r: f64, negative: bool;
    while (true) {
      const bits = nextU64(g);
      r = <f64>(bits & mMask);
      negative = (bits & 0x8000000000000000) != 0;
      const u = <f64>(<i64>(nextU64(g) >> 11)) * TWO_M53;
      const x = r * invT;
      if (u < 1 - x) break;
      if (u >= 1 - x + 0.5 * x * x) continue;
      if (u < Math.exp(-x)) break;
    }
    let q: f64 = 0;
    while (nextU64(g) < qThreshold) q += 1;
    const magnitude = q * mSize + r;
    if (negative && magnitude == 0) continue;
    if (magnitude >= TWO_52) continue; // probability below e^(-2^52 / t): never in practice
    return negative ? -magnitude : magnitude;
  }
}

/**
 * values[i] <- (nearest(values[i] / r) + Z) * r, Z two-sided geometric of scale t. Returns the index
 * of the first value with !(|v| <= bound) (NaN included) or -1.
 */
export function secureLaplaceLattice(g: usize, values: usize, n: i32, r: f64, t: f64, bound: f64, mBits: i32): i32 {
  const mMask: u64 = (<u64>1 << <u64>mBits) - 1;
  const mSize = <f64>(<u64>1 << <u64>mBits);
  const qThreshold = <u64>(Math.exp(-mSize / t) * 18446744073709551616.0);
  for (let i = 0; i < n; i++) {
    const p = values + (<usize>i << 3);
    const v = load<f64>(p);
    if (!(Math.abs(v) <= bound)) return i;
    const z = nextTwoSidedGeometric(g, t, mMask, mSize, qThreshold);
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
