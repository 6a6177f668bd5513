// Quantization of client updates into Z_2^b for secure aggregation with distributed DP (Kairouz, Liu,
// Steinke 2021, "The Distributed Discrete Gaussian Mechanism for Federated Learning with Secure
// Aggregation", arXiv 2102.06387): scale, round stochastically to integers, add discrete Gaussian
// noise, wrap mod 2^b; the server's sum maps back to signed values divided by the scale. The fused
// kernel (assembly/secagg/quantize.ts) streams the input through a fixed window of wasm memory.
import { nonFiniteError, PrivkitError } from '../errors.js';
import { MAX_DISCRETE_SCALE } from '../dp/discrete.js';
import { generatorOf } from '../dp/noise.js';
import type { Rng } from '../dp/rng.js';
import { dpWasm } from '../dp/wasm.js';
import { assertFloat32Array, assertNumber, describe, readOptions } from '../validate.js';
import { checkTypedArray, currentLength, StagingWindow } from '../wasm/boundary.js';
import { wordMask } from './masks.js';

/** Options of {@link quantize}. */
export interface QuantizeOptions {
  /** Quantized units per input unit (> 0): q ~ x * scale. */
  scale: number;
  /** Word size b, an integer in [1, 32]: results lie in [0, 2^b). */
  bits: number;
  /** Standard deviation (in quantized units, 0 <= noiseSigma <= 2^24) of the discrete Gaussian noise added to each value; default 0. */
  noiseSigma?: number;
  /**
   * 'stochastic' (default): unbiased randomized rounding. 'conditional': KLS21 section 4 conditional
   * randomized rounding, redrawn until ||q||_2 <= conditionalBound (the noise is added afterwards).
   */
  rounding?: 'stochastic' | 'conditional';
  /** Bound on the L2 norm of the rounded integer vector (quantized units), required by 'conditional'. */
  conditionalBound?: number;
  /** The generator; default: this thread's CSPRNG. A seeded Rng is for tests only, never for releases. */
  rng?: Rng;
}

/** Options of {@link dequantize}: the scale and word size the values were quantized with. */
export interface DequantizeOptions {
  /** The scale the values were quantized with. */
  scale: number;
  /** The word size b they were wrapped into. */
  bits: number;
}

/** Conditional rounding gives up (E_ARG on opts.conditionalBound) after this many rejected roundings. */
export const MAX_ROUNDING_ATTEMPTS = 100;
/** |x[i] * scale| must stay below this (2^52): every integer near it is then exact in float64. */
export const MAX_QUANTIZED_MAGNITUDE = 2 ** 52;


/**
 * Quantizes x into Z_2^bits: q[i] = stochasticRound(x[i] * scale) + noise[i] mod 2^bits, with
 * stochasticRound(v) = floor(v) + Bernoulli(v - floor(v)), decided exactly from ChaCha20 keystream
 * (an 8-bit word, and a fresh full-precision uniform on a tie: P(round up) = v - floor(v) to double
 * precision, so E[q] = x * scale) and noise[i] an independent discrete Gaussian N_Z(0, noiseSigma^2)
 * (exact up to float64 rounding; see assembly/dp/discrete.ts), summed in 64-bit integers and wrapped as
 * two's complement. Conditional rounding draws the noise once, with the first rounding (its keystream
 * is independent of every rounding's), and redraws only the rounding until it meets the bound.
 * Without noise, dequantize(quantize(x)) differs from x by less than 1 / scale per coordinate before
 * its final float32 rounding (stochastic rounding moves x * scale by less than 1).
 * Errors: E_NONFINITE (with the index) for NaN/Infinity in x, E_OVERFLOW (with the index) when
 * |x[i] * scale| >= 2^52, E_ARG for a bad option or a conditionalBound no rounding met in
 * MAX_ROUNDING_ATTEMPTS tries.
 *
 * @throws {PrivkitError} E_ARG when x is not an attached Float32Array, opts is not an object, scale is not finite and > 0, bits is not an integer in [1, 32], noiseSigma is not in [0, 2^24], rounding and conditionalBound do not fit together, conditional rounding fails MAX_ROUNDING_ATTEMPTS times, or opts.rng is not an Rng from createRng.
 * @throws {PrivkitError} E_NONFINITE when x holds NaN or +-Infinity (`index` names it).
 * @throws {PrivkitError} E_OVERFLOW when |x[i] x scale| >= 2^52 (`index` names it).
 * @throws {PrivkitError} E_NOT_READY before `await ready()`.
 */
export function quantize(x: Float32Array, opts: QuantizeOptions): Uint32Array {
  const options = readOptions(opts, ['scale', 'bits', 'noiseSigma', 'rounding', 'conditionalBound', 'rng']);
  const scale = assertNumber('opts.scale', options.scale, 'positive');
  const mask = bitsMask(options.bits);
  const sigma = noiseSigma(options.noiseSigma);
  const bound = roundingBound(options.rounding, options.conditionalBound);
  const rng = generatorOf(options.rng);
  assertFloat32Array('x', x);
  const length = currentLength(x);
  const out = new Uint32Array(length);
  rng.withGenerator(dpWasm, (kernels, g, arena) => {
    // secret staging: the input, its rounding and noise (a window holds a multiple of the kernel's
    // 512-value batch, so chunking never changes the output)
    const window = new StagingWindow(arena, 4, length, true);
    const bitsPtr = bound === undefined ? 0 : arena.allocSecret(Math.ceil(Math.min(length, window.capacity) / 32) * 4);
    /**
     * Rounds (and noises with sigma > 0) all of x; the words go to `words` (if given), the round-up
     * bits to `bits` (if given). Returns the sum of squares of the rounded integers.
     */
    const pass = (noise: number, words: Uint32Array | undefined, bits: Uint32Array | undefined): number => {
      let squares = 0;
      const io = { input: { array: x, name: 'x' }, output: words && { array: words, name: 'out' } };
      window.stream(length, io, (ptr, count, start) => {
        const s = kernels.quantizeChunk(g, ptr, count, scale, noise, mask, bits === undefined ? 0 : bitsPtr);
        if (s < 0) throw inputError(x, start, start + count, scale);
        squares += s;
        if (bits !== undefined) bits.set(arena.u32(bitsPtr, Math.ceil(count / 32)), start / 32);
      });
      return squares;
    };
    if (bound === undefined) {
      pass(sigma, out, undefined);
      return;
    }
    // out = rounding + noise; roundUp = that rounding's round-up bits. A redrawn rounding replaces
    // them: out[i] moves by its new bit minus its old one (floor(x[i] * scale) is the same).
    const roundUp = new Uint32Array(Math.ceil(length / 32));
    let squares = pass(sigma, out, roundUp);
    if (squares <= bound * bound) return;
    const redrawn = new Uint32Array(roundUp.length);
    for (let attempt = 1; !(squares <= bound * bound); attempt++) {
      if (attempt === MAX_ROUNDING_ATTEMPTS) {
        throw new PrivkitError(
          'E_ARG',
          `opts.conditionalBound (${bound}) is too tight: no rounding of x * scale had L2 norm <= it in ${attempt} attempts`,
          { argument: 'opts.conditionalBound' },
        );
      }
      squares = pass(0, undefined, redrawn);
    }
    for (let k = 0; k < roundUp.length; k++) {
      const now = redrawn[k]!;
      for (let changed = roundUp[k]! ^ now; changed !== 0; changed &= changed - 1) {
        const bit = 31 - Math.clz32(changed & -changed);
        const i = 32 * k + bit;
        out[i] = (out[i]! + ((now >>> bit) & 1 ? 1 : mask)) & mask; // +1 or -1 mod 2^bits
      }
    }
  });
  return out;
}

/**
 * Maps each value of `sum` (in [0, 2^bits), E_ARG with the index otherwise) to its centered signed
 * representative in [-2^(bits-1), 2^(bits-1)) and divides by scale: the float64 quotient, rounded
 * to float32 once. The sum of n quantized vectors mod 2^bits dequantizes to the sum of their inputs
 * within n / scale (plus the noise), provided |sum of x * scale| + n < 2^(bits-1) (no wrap-around).
 *
 * @throws {PrivkitError} E_ARG when sum is not a Uint32Array, opts is not an object, scale is not finite and > 0, bits is not an integer in [1, 32], or a value is not below 2^bits (`index` names it).
 */
export function dequantize(sum: Uint32Array, opts: DequantizeOptions): Float32Array {
  const options = readOptions(opts, ['scale', 'bits']);
  checkTypedArray('sum', sum, ['Uint32Array']);
  const scale = assertNumber('opts.scale', options.scale, 'positive');
  const modulus = bitsMask(options.bits) + 1;
  const half = modulus / 2;
  const out = new Float32Array(sum.length);
  for (let i = 0; i < sum.length; i++) {
    const v = sum[i]!;
    if (v >= modulus) {
      throw new PrivkitError('E_ARG', `sum[${i}] is ${v}, outside [0, 2^${options.bits})`, { argument: 'sum', index: i });
    }
    out[i] = (v >= half ? v - modulus : v) / scale;
  }
  return out;
}

/** wordMask(bits) (2^bits - 1), with a bad value reported as opts.bits. */
function bitsMask(bits: unknown): number {
  try {
    return wordMask(bits as number);
  } catch (cause) {
    throw new PrivkitError('E_ARG', `opts.bits must be an integer in [1, 32], got ${describe(bits)}`, { argument: 'opts.bits', cause });
  }
}

function noiseSigma(value: unknown): number {
  if (value === undefined) return 0;
  const sigma = assertNumber('opts.noiseSigma', value, 'nonnegative');
  if (sigma > MAX_DISCRETE_SCALE) {
    throw new PrivkitError('E_ARG', `opts.noiseSigma must be <= 2^24, got ${sigma}`, { argument: 'opts.noiseSigma' });
  }
  return sigma;
}

/** The conditional-rounding bound, or undefined for stochastic rounding. */
function roundingBound(rounding: unknown, bound: unknown): number | undefined {
  if (rounding === undefined || rounding === 'stochastic') {
    if (bound !== undefined) {
      throw new PrivkitError('E_ARG', `opts.conditionalBound needs opts.rounding: 'conditional'`, { argument: 'opts.conditionalBound' });
    }
    return undefined;
  }
  if (rounding !== 'conditional') {
    throw new PrivkitError('E_ARG', `opts.rounding must be 'stochastic' or 'conditional', got ${describe(rounding)}`, {
      argument: 'opts.rounding',
    });
  }
  if (bound === undefined) {
    throw new PrivkitError('E_ARG', `opts.rounding 'conditional' needs opts.conditionalBound`, { argument: 'opts.conditionalBound' });
  }
  return assertNumber('opts.conditionalBound', bound, 'positive');
}

/** The error for a chunk x[start, end) the kernel rejected: the first NaN/Infinity, else the first |x * scale| >= 2^52. */
function inputError(x: Float32Array, start: number, end: number, scale: number): PrivkitError {
  for (let i = start; i < end; i++) if (!Number.isFinite(x[i]!)) return nonFiniteError('x', i, x[i]!);
  for (let i = start; i < end; i++) {
    if (!(Math.abs(x[i]! * scale) < MAX_QUANTIZED_MAGNITUDE)) {
      return new PrivkitError('E_OVERFLOW', `x[${i}] * scale = ${x[i]! * scale} is beyond 2^52 in magnitude`, { argument: 'x', index: i });
    }
  }
  return new PrivkitError('E_WASM', 'the quantization kernel rejected a valid chunk');
}
