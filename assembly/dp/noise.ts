// Continuous DP noise kernels (src/dp/noise.ts): Gaussian and Laplace noise, scaled, written out or
// added in place, in float64 and float32, from the Ziggurat samplers of assembly/dp/ziggurat.ts
// driven by the ChaCha20 generator (dp/rng.ts). Laplace = random sign x Exponential. The float32
// kernels take the first attempt of each sample from 32 bits (layer, sign and a 23-bit u: below
// float32's own rounding), so two samples share one 64-bit draw; any further attempt, wedge or tail
// draws full 64-bit words.
import { chachaBytes, KEYSTREAM, KEYSTREAM_BYTES } from './rng';
import { EX, EX23, EX53, exponentialRare, gaussianRare, NX, NX23, NX53, withSign } from './ziggurat';

// Kernels draw the first attempt of a batch of samples from keystream written straight into the
// staging block (one chachaBytes call per batch, so the hot loop does not touch the generator's
// bookkeeping); rejected attempts, wedges and tails draw further words from the generator. Each
// first attempt is layer = bits 0-7, sign = bit 8 and u = the top 23 (float32: a 32-bit word) or
// 53 bits (float64: a 64-bit word); only the magnitude is rejected, so a rejected attempt keeps
// its sign bit (independent of the magnitude and of the rejection) and redraws the magnitude.
// The sign is applied with bit operations: a branch on it would mispredict half the time.

/**
 * The shared kernel loop over n elements of type T at p: out = scale * noise (add = false) or
 * x += scale * noise (add = true, sum in float64, rounded to T once). Returns the index of the first
 * non-finite result (with add, the kernel stops there: a non-finite input gives one too), or -1.
 */
// @ts-ignore: decorator
@inline function noiseLoop<T>(g: usize, p: usize, n: i32, scale: f64, laplace: bool, add: bool): i32 {
  const bytes = <i32>sizeof<T>();
  const perBatch = KEYSTREAM_BYTES / bytes;
  const xs = bytes == 8 ? (laplace ? EX53 : NX53) : laplace ? EX23 : NX23;
  const xi = laplace ? EX : NX;
  let bad = -1;
  for (let i = 0; i < n; i += perBatch) {
    const m = min(perBatch, n - i);
    chachaBytes(g, KEYSTREAM, m * bytes);
    const q0 = p + (<usize>i << (bytes == 8 ? 3 : 2));
    for (let j = 0; j < m; j++) {
      let bits: u64, k: f64;
      if (bytes == 8) {
        bits = load<u64>(KEYSTREAM + (<usize>j << 3));
        k = <f64>(<i64>(bits >> 11));
      } else {
        const w = load<u32>(KEYSTREAM + (<usize>j << 2));
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
