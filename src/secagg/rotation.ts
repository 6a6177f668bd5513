// The randomized Hadamard rotation of distributed DP (Kairouz, Liu, Steinke 2021, section 4; TFF's
// HadamardTransformFactory): clients rotate their clipped update before quantizing so that its
// energy is spread evenly over the coordinates, and the server rotates the aggregate back. The
// Rademacher signs come from the ChaCha20 keystream of a public per-round seed, so every client and
// the server apply the same rotation. Kernels: hadamardRotate and its blocked phases in assembly/secagg/rotation.ts.
import { nonFiniteError, PrivkitError } from '../errors.js';
import { createRng } from '../dp/rng.js';
import { dpWasm } from '../dp/wasm.js';
import { assertFloat32Array, assertInteger } from '../validate.js';
import { assertBytes } from '../validate-arrays.js';
import { currentLength, StagingWindow, WINDOW_BYTES } from '../wasm/boundary.js';
import { snapshot } from '../wasm/snapshot.js';

/** Longest vector the rotation accepts (its padded copy lives in wasm memory: 4 bytes per value). */
export const MAX_ROTATION_LENGTH = 2 ** 28;

/**
 * ChaCha20 stream id of the sign keystream (ASCII "hada"): the signs of a seed are independent of
 * any mask drawn from stream 0 of the same seed.
 */
export const ROTATION_STREAM = 0x68616461;

/**
 * The padded length d of the rotation of `length` values: the least power of two >= max(1, length).
 *
 * @throws {PrivkitError} E_ARG when length is not an integer in [0, 2^28].
 */
export function rotationLength(length: number): number {
  const n = assertInteger('length', length);
  if (n > MAX_ROTATION_LENGTH) {
    throw new PrivkitError('E_ARG', `length must be <= 2^28, got ${n}`, { argument: 'length' });
  }
  let d = 1;
  while (d < n) d *= 2;
  return d;
}

/** Floats of the staging window: longer rotations run block by block, in bounded wasm memory. */
const ROTATION_BLOCK = WINDOW_BYTES / 4;

/**
 * y = H D [x, 0...] / sqrt(d): x padded with zeros to d = rotationLength(x.length), multiplied by the
 * Rademacher signs D of `seed` (x[i] is negated when bit i & 31 of keystream word i >> 5, words
 * little-endian, of ChaCha20 with key `seed` and stream ROTATION_STREAM, is 1), then by the d x d
 * Walsh-Hadamard matrix H over sqrt(d). The rotation is orthogonal: ||y||_2 = ||x||_2 up to float32
 * rounding (relative error <= (log2 d + 2) 2^-24). Throws E_NONFINITE for NaN/Infinity in x and
 * E_OVERFLOW if ||x||_2 exceeds the float32 range.
 *
 * @throws {PrivkitError} E_ARG when x is not an attached Float32Array of at most 2^28 values or seed is not a Uint8Array of 32 bytes.
 * @throws {PrivkitError} E_NONFINITE when x holds NaN or +-Infinity; E_OVERFLOW when ||x||_2 exceeds the float32 range.
 * @throws {PrivkitError} E_NOT_READY before `await ready()`.
 */
export function randomizedHadamard(x: Float32Array, seed: Uint8Array): Float32Array {
  const key = readSeed(seed);
  assertFloat32Array('x', x);
  const length = currentLength(x);
  const d = rotationLength(length);
  return rotate(x, length, 'x', key, d, d, false);
}

/**
 * The inverse of randomizedHadamard: x = D H y / sqrt(d), truncated to its first `length` values.
 * y.length must be rotationLength(length) (E_SHAPE otherwise). A round trip returns x within
 * (2 log2 d + 4) 2^-24 ||x||_2 in L2 norm.
 *
 * @throws {PrivkitError} E_ARG when y is not an attached Float32Array, seed is not a Uint8Array of 32 bytes, or length is not an integer in [0, 2^28].
 * @throws {PrivkitError} E_SHAPE when y.length is not rotationLength(length).
 * @throws {PrivkitError} E_NONFINITE when y holds NaN or +-Infinity; E_OVERFLOW when the result exceeds the float32 range.
 * @throws {PrivkitError} E_NOT_READY before `await ready()`.
 */
export function inverseRandomizedHadamard(y: Float32Array, seed: Uint8Array, length: number): Float32Array {
  const key = readSeed(seed);
  assertFloat32Array('y', y);
  const d = rotationLength(length);
  if (currentLength(y) !== d) {
    throw new PrivkitError('E_SHAPE', `y.length must be ${d} (the padded length of ${length} values), got ${currentLength(y)}`, {
      argument: 'y',
    });
  }
  return rotate(y, d, 'y', key, d, length, true);
}

/** A copy of the 32-byte seed (read before the vector, so nothing the seed runs can change the vector after its check). */
function readSeed(seed: unknown): Uint8Array {
  return snapshot(assertBytes('seed', seed, 32), 32, 'seed');
}

/**
 * The rotation (or with `inverse` its inverse) of the first `length` values of v padded to d, its
 * first `outLength` values returned. Up to `block` floats (a power of two >= 32) are rotated in one
 * window of wasm memory; longer vectors run in three phases (see assembly/secagg/rotation.ts): signs and
 * the stages within each block, block by block; the stages across blocks on slabs of `block / (d /
 * block)` columns of every block; and for the inverse the signs again. Same arithmetic, same result.
 * Exported for tests, which use a small `block`. The window is secret: it holds the update.
 */
export function rotate(
  v: Float32Array,
  length: number,
  name: string,
  seed: Uint8Array,
  d: number,
  outLength: number,
  inverse: boolean,
  block = ROTATION_BLOCK,
): Float32Array {
  return createRng({ seed, stream: ROTATION_STREAM }).withGenerator(dpWasm, (kernels, g, arena) => {
    const size = Math.min(d, block);
    const window = new StagingWindow(arena, 4, size, true);
    const { ptr } = window;
    const overflow = () =>
      new PrivkitError('E_OVERFLOW', `the rotation of ${name} overflows float32 (its L2 norm is beyond 3.4e38)`, { argument: name });
    /** Copies v[start, start + size) into the window, zero beyond v's values; E_NONFINITE for NaN/Infinity. */
    const load = (start: number) => {
      const count = Math.max(0, Math.min(size, length - start));
      if (count > 0) window.load({ array: v, name }, start, count);
      arena.f32(ptr, size).fill(0, count);
      const bad = kernels.firstNonFinite(ptr, count);
      if (bad >= 0) throw nonFiniteError(name, start + bad, arena.f32(ptr, size)[bad]!);
    };
    if (d <= block) {
      load(0);
      kernels.hadamardRotate(g, ptr, d, inverse);
      if (kernels.firstNonFinite(ptr, d) >= 0) throw overflow();
      return arena.f32(ptr, outLength).slice();
    }
    const work = new Float32Array(d);
    const blocks = d / block;
    const width = block / blocks;
    const scale = Math.fround(1 / Math.sqrt(d));
    for (let b = 0; b < blocks; b++) {
      load(b * block);
      if (!inverse) kernels.hadamardSigns(g, ptr, block);
      kernels.hadamardBlock(ptr, block, scale);
      work.set(arena.f32(ptr, block), b * block);
    }
    for (let col = 0; col < block; col += width) {
      for (let b = 0; b < blocks; b++) arena.f32(ptr + 4 * b * width, width).set(work.subarray(b * block + col, b * block + col + width));
      kernels.hadamardSpans(ptr, block, width, block);
      if (kernels.firstNonFinite(ptr, block) >= 0) throw overflow();
      for (let b = 0; b < blocks; b++) work.set(arena.f32(ptr + 4 * b * width, width), b * block + col);
    }
    if (inverse) {
      for (let b = 0; b * block < outLength; b++) {
        const view = arena.f32(ptr, block);
        view.set(work.subarray(b * block, (b + 1) * block));
        kernels.hadamardSigns(g, ptr, block);
        work.set(view, b * block);
      }
    }
    return inverse ? work.slice(0, outLength) : work;
  });
}
