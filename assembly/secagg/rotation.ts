// The randomized Hadamard rotation of secure aggregation with distributed DP (src/secagg/rotation.ts;
// Kairouz, Liu, Steinke 2021, "The Distributed Discrete Gaussian Mechanism for Federated Learning with
// Secure Aggregation", arXiv 2102.06387): y = H D x / sqrt(d), with D's signs from the ChaCha20
// generator of assembly/dp/rng.ts, staged in its keystream block.
import { chachaBytes, KEYSTREAM, KEYSTREAM_BYTES } from '../dp/rng';

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
    chachaBytes(g, KEYSTREAM, 4);
    const word = load<u32>(KEYSTREAM);
    for (let i = 0; i < d; i++) {
      const p = x + (<usize>i << 2);
      store<u32>(p, load<u32>(p) ^ (((word >> <u32>i) & 1) << 31));
    }
    return;
  }
  const perBatch = KEYSTREAM_BYTES << 3; // one sign bit per float
  for (let i = 0; i < d; i += perBatch) {
    const floats = min(perBatch, d - i);
    chachaBytes(g, KEYSTREAM, floats >> 3);
    for (let w = 0; w < floats >> 5; w++) {
      let word = load<u32>(KEYSTREAM + (<usize>w << 2));
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
