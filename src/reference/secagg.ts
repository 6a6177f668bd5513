// Plain-TypeScript references of the secure-aggregation client kernels (src/secagg/rotation.ts and
// src/secagg/quantize.ts): float64 arithmetic rounded to float32 once, the rotation's signs from the
// reference ChaCha20 block function, rounding from explicitly given uniforms or keystream words.
// They are the oracles of the property tests and the JS baselines of the benchmarks.
import { ROTATION_STREAM } from '../secagg/rotation.js';
import { chachaBlock } from './chacha.js';

/** The padded length: the least power of two >= max(1, n). */
function paddedLength(n: number): number {
  let d = 1;
  while (d < n) d *= 2;
  return d;
}

/**
 * The d Rademacher signs (+1 / -1) of `seed`: -1 where bit i & 31 of little-endian word i >> 5 of
 * the ChaCha20 keystream (key seed, block counter from 0, stream ROTATION_STREAM) is set.
 */
export function rotationSigns(seed: Uint8Array, d: number): Float64Array {
  const nonce = new Uint8Array(12); // words 13-15: block counter high word 0, then the 64-bit stream id
  new DataView(nonce.buffer).setUint32(4, ROTATION_STREAM, true);
  const signs = new Float64Array(d);
  for (let block = 0; block * 512 < d; block++) {
    const words = new DataView(chachaBlock(seed, block, nonce).buffer); // 16 words: 512 signs
    for (let i = block * 512; i < Math.min(d, (block + 1) * 512); i++) {
      const word = words.getUint32(((i >> 5) & 15) * 4, true);
      signs[i] = ((word >>> (i & 31)) & 1) === 1 ? -1 : 1;
    }
  }
  return signs;
}

/** The unnormalized Walsh-Hadamard transform, in place: butterflies (a, b) -> (a + b, a - b). */
function walshHadamard(v: Float64Array): void {
  for (let h = 1; h < v.length; h *= 2) {
    for (let base = 0; base < v.length; base += 2 * h) {
      for (let j = base; j < base + h; j++) {
        const a = v[j]!;
        const b = v[j + h]!;
        v[j] = a + b;
        v[j + h] = a - b;
      }
    }
  }
}

/** y = H D [x, 0...] / sqrt(d), d the padded length of x. */
export function randomizedHadamard(x: Float32Array, seed: Uint8Array): Float32Array {
  const d = paddedLength(x.length);
  const signs = rotationSigns(seed, d);
  const v = new Float64Array(d);
  for (let i = 0; i < x.length; i++) v[i] = signs[i]! * x[i]!;
  walshHadamard(v);
  return Float32Array.from(v, (value) => value / Math.sqrt(d));
}

/** x = D H y / sqrt(d), truncated to `length` values. */
export function inverseRandomizedHadamard(y: Float32Array, seed: Uint8Array, length: number): Float32Array {
  const d = y.length;
  const signs = rotationSigns(seed, d);
  const v = Float64Array.from(y);
  walshHadamard(v);
  return Float32Array.from(v.subarray(0, length), (value, i) => (signs[i]! * value) / Math.sqrt(d));
}

/**
 * q[i] = floor(v) + up_i + noise[i] mod 2^bits, v = x[i] * scale, f = v - floor(v): stochastic
 * rounding, round up (up_i = 1) with probability f, decided by the given randomness, either
 * - `uniforms`: u_i in [0, 1), up_i = (u_i < f); or
 * - as the wasm kernel draws it, u_i = (w_i + U_i) 2^-8 compared with f exactly: `words` holds the
 *   8-bit words w_i, `tieUniforms` the uniforms U_i in [0, 1), read only on a tie. With
 *   t = f 2^8 (exact) and W = floor(t), up_i = (w_i < W), or on a tie (w_i = W) up_i = (U_i < t - W).
 * Optional integer noise is added before the reduction.
 */
export function quantize(
  x: Float32Array,
  opts: {
    scale: number;
    bits: number;
    uniforms?: ArrayLike<number>;
    words?: ArrayLike<number>;
    tieUniforms?: ArrayLike<number>;
    noise?: ArrayLike<number>;
  },
): Uint32Array {
  const modulus = 2 ** opts.bits;
  const roundUp = (i: number, f: number): boolean => {
    if (opts.words === undefined) return opts.uniforms![i]! < f;
    const t = f * 2 ** 8;
    const top = Math.floor(t);
    const w = opts.words[i]!;
    return w < top || (w === top && opts.tieUniforms![i]! < t - top);
  };
  return Uint32Array.from(x, (value, i) => {
    const v = value * opts.scale;
    const whole = Math.floor(v);
    const q = whole + (roundUp(i, v - whole) ? 1 : 0) + (opts.noise?.[i] ?? 0);
    return ((q % modulus) + modulus) % modulus;
  });
}

/** sum[i] mapped to [-2^(bits-1), 2^(bits-1)) and divided by scale. */
export function dequantize(sum: Uint32Array, opts: { scale: number; bits: number }): Float32Array {
  const modulus = 2 ** opts.bits;
  return Float32Array.from(sum, (v) => (v >= modulus / 2 ? v - modulus : v) / opts.scale);
}
