// The randomized Hadamard rotation of distributed DP (Kairouz, Liu, Steinke 2021, section 4; TFF's
// HadamardTransformFactory): clients rotate their clipped update before quantizing so that its
// energy is spread evenly over the coordinates, and the server rotates the aggregate back. The
// Rademacher signs come from the ChaCha20 keystream of a public per-round seed, so every client and
// the server apply the same rotation. Kernel: hadamardRotate in assembly/quantize.ts.
import { nonFiniteError, PrivkitError } from '../errors.js';
import { createRng } from '../dp/rng.js';
import { assertBytes, assertFloat32Array, assertInteger } from '../validate.js';

/** Longest vector the rotation accepts (its padded copy lives in wasm memory: 4 bytes per value). */
export const MAX_ROTATION_LENGTH = 2 ** 28;

/**
 * ChaCha20 stream id of the sign keystream (ASCII "hada"): the signs of a seed are independent of
 * any mask drawn from stream 0 of the same seed.
 */
export const ROTATION_STREAM = 0x68616461;

/** The padded length d of the rotation of `length` values: the least power of two >= max(1, length). */
export function rotationLength(length: number): number {
  const n = assertInteger('length', length);
  if (n > MAX_ROTATION_LENGTH) {
    throw new PrivkitError('E_ARG', `length must be <= 2^28, got ${n}`, { argument: 'length' });
  }
  let d = 1;
  while (d < n) d *= 2;
  return d;
}

/**
 * y = H D [x, 0...] / sqrt(d): x padded with zeros to d = rotationLength(x.length), multiplied by the
 * Rademacher signs D of `seed` (x[i] is negated when bit i & 31 of keystream word i >> 5, words
 * little-endian, of ChaCha20 with key `seed` and stream ROTATION_STREAM, is 1), then by the d x d
 * Walsh-Hadamard matrix H over sqrt(d). The rotation is orthogonal: ||y||_2 = ||x||_2 up to float32
 * rounding (relative error <= (log2 d + 2) 2^-24). Throws E_NONFINITE for NaN/Infinity in x and
 * E_OVERFLOW if ||x||_2 exceeds the float32 range.
 */
export function randomizedHadamard(x: Float32Array, seed: Uint8Array): Float32Array {
  assertFloat32Array('x', x);
  const d = rotationLength(x.length);
  return rotate(x, 'x', seed, d, d, false);
}

/**
 * The inverse of randomizedHadamard: x = D H y / sqrt(d), truncated to its first `length` values.
 * y.length must be rotationLength(length) (E_SHAPE otherwise). A round trip returns x within
 * (2 log2 d + 4) 2^-24 ||x||_2 in L2 norm.
 */
export function inverseRandomizedHadamard(y: Float32Array, seed: Uint8Array, length: number): Float32Array {
  assertFloat32Array('y', y);
  const d = rotationLength(length);
  if (y.length !== d) {
    throw new PrivkitError('E_SHAPE', `y.length must be ${d} (the padded length of ${length} values), got ${y.length}`, {
      argument: 'y',
    });
  }
  return rotate(y, 'y', seed, d, length, true);
}

function rotate(v: Float32Array, name: string, seed: Uint8Array, d: number, outLength: number, inverse: boolean): Float32Array {
  assertBytes('seed', seed, 32);
  return createRng({ seed, stream: ROTATION_STREAM }).withGenerator((kernels, g, arena) => {
    const ptr = arena.allocF32(d);
    const view = arena.f32(ptr, d);
    view.set(v);
    view.fill(0, v.length);
    const bad = kernels.firstNonFinite(ptr, v.length);
    if (bad >= 0) throw nonFiniteError(name, bad, v[bad]!);
    kernels.hadamardRotate(g, ptr, d, inverse);
    if (kernels.firstNonFinite(ptr, d) >= 0) {
      throw new PrivkitError('E_OVERFLOW', `the rotation of ${name} overflows float32 (its L2 norm is beyond 3.4e38)`, {
        argument: name,
      });
    }
    return arena.f32(ptr, outLength).slice();
  });
}
