// Plain-TypeScript references of the secure-aggregation client kernels (src/secagg/rotation.ts and
// src/secagg/quantize.ts): float64 arithmetic rounded to float32 once, the rotation's signs from the
// reference ChaCha20 block function, rounding from explicitly given uniforms or keystream words.
// They are the oracles of the property tests and the JS baselines of the benchmarks.
import { PrivkitError } from '../errors.js';
import { MAX_ROTATION_LENGTH, ROTATION_STREAM } from '../secagg/rotation.js';
import { assertFloat32Array, readOptions } from '../validate.js';
import { assertBytes, checkNumber, readNumbers } from '../validate-arrays.js';
import { checkTypedArray } from '../wasm/boundary.js';
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
  assertBytes('seed', seed, 32);
  checkNumber('d', d, { integer: true, min: 0, max: MAX_ROTATION_LENGTH });
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
  assertFloat32Array('x', x);
  if (x.length > MAX_ROTATION_LENGTH) throw new PrivkitError('E_ARG', `x must have at most 2^28 values, got ${x.length}`, { argument: 'x' });
  const d = paddedLength(x.length);
  const signs = rotationSigns(seed, d);
  const v = new Float64Array(d);
  for (let i = 0; i < x.length; i++) v[i] = signs[i]! * x[i]!;
  walshHadamard(v);
  return Float32Array.from(v, (value) => value / Math.sqrt(d));
}

/** x = D H y / sqrt(d), truncated to `length` values. */
export function inverseRandomizedHadamard(y: Float32Array, seed: Uint8Array, length: number): Float32Array {
  assertFloat32Array('y', y);
  const d = y.length;
  if (d !== paddedLength(checkNumber('length', length, { integer: true, min: 0, max: MAX_ROTATION_LENGTH }))) {
    throw new PrivkitError('E_SHAPE', `y.length must be ${paddedLength(length)} (the padded length of ${length} values), got ${d}`, { argument: 'y' });
  }
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
  assertFloat32Array('x', x);
  const { scale, bits, uniforms, words, tieUniforms, noise } = quantizeOptions(opts, x.length);
  const modulus = 2 ** bits;
  const roundUp = (i: number, f: number): boolean => {
    if (words === undefined) return uniforms![i]! < f;
    const t = f * 2 ** 8;
    const top = Math.floor(t);
    const w = words[i]!;
    return w < top || (w === top && tieUniforms![i]! < t - top);
  };
  return Uint32Array.from(x, (value, i) => {
    const v = value * scale;
    const whole = Math.floor(v);
    const q = whole + (roundUp(i, v - whole) ? 1 : 0) + (noise?.[i] ?? 0);
    return ((q % modulus) + modulus) % modulus;
  });
}

/**
 * The checked options of the reference quantize: scale > 0, bits in [1, 32], and the randomness as
 * arrays of one entry per value: `uniforms` in [0, 1), or `words` (integers in [0, 255]) with
 * `tieUniforms`; integer `noise` optional.
 */
function quantizeOptions(opts: unknown, n: number) {
  const o = readOptions(opts as Record<'scale' | 'bits' | 'uniforms' | 'words' | 'tieUniforms' | 'noise', unknown> | undefined, ['scale', 'bits', 'uniforms', 'words', 'tieUniforms', 'noise']);
  const { scale, bits } = scaleAndBits(o);
  const perValue = (name: string, value: unknown, rule: Parameters<typeof readNumbers>[2]) => {
    if (value === undefined) return undefined;
    const values = readNumbers(`opts.${name}`, value, rule, n);
    if (values.length !== n) throw new PrivkitError('E_SHAPE', `opts.${name} must have one entry per value (${n}), got ${values.length}`, { argument: `opts.${name}` });
    return values;
  };
  const unit = { min: 0, below: 1 };
  const words = perValue('words', o.words, { integer: true, min: 0, max: 255 });
  const uniforms = perValue('uniforms', o.uniforms, unit);
  const tieUniforms = perValue('tieUniforms', o.tieUniforms, unit);
  if (words === undefined ? uniforms === undefined : tieUniforms === undefined) {
    const missing = words === undefined ? 'uniforms' : 'tieUniforms';
    throw new PrivkitError('E_ARG', `opts.${missing} is required (the rounding's randomness: uniforms, or words with tieUniforms)`, { argument: `opts.${missing}` });
  }
  const noise = perValue('noise', o.noise, { integer: true });
  return { scale, bits, uniforms, words, tieUniforms, noise };
}

function scaleAndBits(o: { scale?: unknown; bits?: unknown }): { scale: number; bits: number } {
  return { scale: checkNumber('opts.scale', o.scale, { above: 0 }), bits: checkNumber('opts.bits', o.bits, { integer: true, min: 1, max: 32 }) };
}

/** sum[i] mapped to [-2^(bits-1), 2^(bits-1)) and divided by scale. */
export function dequantize(sum: Uint32Array, opts: { scale: number; bits: number }): Float32Array {
  checkTypedArray('sum', sum, ['Uint32Array']);
  const { scale, bits } = scaleAndBits(readOptions(opts as { scale?: unknown; bits?: unknown } | undefined, ['scale', 'bits']));
  const modulus = 2 ** bits;
  return Float32Array.from(sum, (v) => (v >= modulus / 2 ? v - modulus : v) / scale);
}
