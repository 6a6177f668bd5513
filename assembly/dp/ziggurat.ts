// Internal to the wasm (TS modules call only the samplers; zigguratNormalTables is exported for its test); its plain-TS reference is in src/reference/discrete-gaussian.ts.
// The Ziggurat samplers of the standard normal and the standard exponential, shared by the noise
// kernels (assembly/dp/noise.ts), the secure lattice Gaussian (dp/secure.ts) and the fast discrete
// Gaussian (dp/discrete.ts); every draw comes from the ChaCha20 generator (dp/rng.ts).
//
// Marsaglia and Tsang, "The Ziggurat Method for Generating Random Variables", J. Stat. Softw. 5(8),
// 2000, with 256 layers of equal area v. Layer i (1..255) is the box [0, X[i]] x [f(X[i]), f(X[i+1])];
// layer 0 is the base box [0, R] x [0, f(R)] plus the tail beyond R, drawn as a box of width
// X[0] = v / f(R). One 64-bit word gives the layer (bits 0-7), the sign (bit 8) and a 53-bit uniform
// u (bits 11-63); the point x = u X[i] is accepted at once when x < X[i+1] (about 99% of draws);
// otherwise the wedge is tested against the density, or the tail is sampled exactly (Marsaglia 1964
// for the normal tail; memorylessness for the exponential tail). The sampler is exact in
// distribution up to the 2^-53 grid of u. Tables are computed once in the module start. Kernels
// that take the first attempt of a sample from their own keystream (a batch staged at once) read
// the tables below and finish the rare attempts with gaussianRare / exponentialRare.
import { nextU64, nextUniform } from './rng';

const LAYERS = 256;
// R and v for 256 layers, solved to 20 digits so that the top layer closes (area v, ends at x = 0).
const NORMAL_R: f64 = 3.6541528853610088;
const NORMAL_V: f64 = 0.0049286732339746553;
const EXP_R: f64 = 7.6971174701310497;
const EXP_V: f64 = 0.0039496598225815572;

// Static tables (below the heap base, so the JS-side arena never overlaps them): X[0..256], f(X[0..256]).
export const NX: usize = memory.data((LAYERS + 1) * 8);
const NF: usize = memory.data((LAYERS + 1) * 8);
export const EX: usize = memory.data((LAYERS + 1) * 8);
const EF: usize = memory.data((LAYERS + 1) * 8);

export const TWO_M53: f64 = 1.1102230246251565e-16; // 2^-53

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
export const NX23: usize = memory.data((LAYERS + 1) * 8);
export const NX53: usize = memory.data((LAYERS + 1) * 8);
export const EX23: usize = memory.data((LAYERS + 1) * 8);
export const EX53: usize = memory.data((LAYERS + 1) * 8);

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
export function gaussianRare(g: usize, layer: usize, x: f64): f64 {
  const v = gaussianSlow(g, layer, x);
  return v == v ? v : gaussianMagnitude(g);
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
@inline export function withSign(x: f64, s: u64): f64 {
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
export function exponentialRare(g: usize, layer: usize, x: f64): f64 {
  if (layer == 0) return EXP_R + exponentialMagnitude(g);
  const f0 = load<f64>(EF + layer);
  const y = f0 + <f64>(<i64>(nextU64(g) >> 11)) * TWO_M53 * (load<f64>(EF + layer + 8) - f0);
  return y < Math.exp(-x) ? x : exponentialMagnitude(g);
}

/**
 * Copies the normal sampler's tables X[0..256] then f(X[0..256]) to `out` (514 doubles) and returns
 * their count: for the test that checks every layer's area against the normal (src/dp/sampler-error.ts).
 */
export function zigguratNormalTables(out: usize): i32 {
  memory.copy(out, NX, (LAYERS + 1) << 3);
  memory.copy(out + ((LAYERS + 1) << 3), NF, (LAYERS + 1) << 3);
  return (LAYERS + 1) * 2;
}
